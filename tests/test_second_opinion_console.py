"""`/secondopinion` in the terminal, through the Console class with StringIO."""

from __future__ import annotations

import io

from bot.console import Console
from handlers import messages
from handlers.models import Actor

ME = Actor(platform="console", user_id="me", name="Me")
DRAFT = "Any worries about the coursework?\nEmail me on my personal address, katie.m.wilson82@example.com\n"
FLOW = f"/secondopinion\n.\n{DRAFT}.\n@Year8Geography\nmaybe\ny\nn\n"


def run(services, script: str, slt: bool = False) -> str:
    if slt:
        services.roster.grant(ME)
    out = io.StringIO()
    Console(services, actor=ME, stdin=io.StringIO(script), stdout=out).run()
    return out.getvalue()


def test_the_draft_is_read_until_a_full_stop_and_the_findings_shown(services):
    output = run(services, FLOW)
    assert messages.DRAFT_EMPTY in output and messages.YES_OR_NO in output
    assert messages.CHECK_TITLE in output and "“katie.m.wilson82@example.com”" in output
    assert f"[/1] {messages.SEND_TO_SLT}" in output
    assert services.reviews.requested_by(ME) == []  # checking stores nothing


def test_sending_stores_the_request_and_shows_the_slt_post(services):
    output = run(services, FLOW + "/1\n/1\n")
    [request] = services.reviews.requested_by(ME)
    assert request.draft.text == DRAFT.rstrip("\n")
    assert request.draft.target == "@Year8Geography"
    assert (request.draft.contains_learner_images, request.draft.permission_checked) == (True, False)
    assert f"Your draft {request.reference} has been sent" in output
    post = output.split("[SLT channel]")[1]
    assert "Yes — permission NOT checked" in post and "[/1] Approve" in post and "[/3] Reject" in post
    assert services.store.db["review_requests"].count == 1  # the second /1 pressed Approve, refused below
    assert messages.REVIEW_SLT_ONLY in output and request.status == "pending"


def test_an_slt_console_user_can_decide_with_a_comment(services):
    output = run(services, FLOW + "/1\n/2\nUse the school address instead.\n", slt=True)
    [request] = services.reviews.requested_by(ME)
    stored = services.reviews.get(request.reference)
    assert (stored.status, stored.decided_by, stored.comment) == (
        "changes_requested", "Me (SLT)", "Use the school address instead."
    )  # fmt: skip
    assert "[SLT channel, post updated]" in output and "[SLT channel, in thread]" in output
    dm = output.split("[direct message to me]")[1]
    assert "asked for changes to your draft" in dm and "Comment: Use the school address instead." in dm


def test_cancelling_stores_nothing(services):
    output = run(services, "/secondopinion\nhalf a draft\n/cancel\n/secondopinion\nDraft\n.\n/cancel\n")
    assert output.count(messages.SECOND_OPINION_CANCELLED) == 2
    assert services.reviews.requested_by(ME) == []
