"""Second opinions over Slack, end to end: the draft modal, findings, Send to SLT and decisions."""

from __future__ import annotations

import json
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from slack_fake import SLT_CHANNEL, SLT_USER, SLT_USER_2, STAFF_USER, fake, slack, text_of  # noqa: F401

from handlers import actions, messages

DRAFT = "Well done to Jamie Smith in 4B for winning the race! <!channel> <https://x.example|click>"


def draft_state(text: str = DRAFT, images: bool = False) -> dict:
    return {
        "draft": {"value": {"type": "plain_text_input", "value": text}},
        "target": {"value": {"type": "plain_text_input", "value": "School Facebook"}},
        "learner_images": {"value": {"type": "checkboxes", "selected_options": [{"value": "x"}] if images else []}},
        "permission_checked": {"value": {"type": "checkboxes", "selected_options": []}},
    }


def request(slack, fake, user: str = STAFF_USER) -> str:
    """/secondopinion → check → Send to SLT; returns the reference."""
    slack.command("/secondopinion", DRAFT, user=user)
    view = fake.wait_for("views.open")[-1].body["view"]
    checked = slack.submit(view, draft_state(), user=user, view_id=f"V{user}").json()
    assert checked["response_action"] == "update"
    sent = slack.submit(checked["view"], draft_state(), user=user, view_id=f"V{user}").json()
    assert sent["response_action"] == "update", sent
    return json.dumps(sent["view"]).split("Your draft ")[1].split(" ")[0]


def test_the_command_opens_the_modal_with_the_draft_then_shows_findings_before_sending(slack, fake):
    slack.command("/secondopinion", DRAFT)
    view = fake.wait_for("views.open")[0].body["view"]
    assert view["blocks"][0]["element"]["initial_value"] == DRAFT
    empty = slack.submit(view, draft_state(text="  "))
    assert empty.json()["errors"] == {"draft": messages.DRAFT_EMPTY}
    checked = slack.submit(view, draft_state()).json()
    shown = json.dumps(checked["view"])
    assert messages.CHECK_TITLE in shown and "Send to SLT" in shown
    rendered = json.dumps([b for b in checked["view"]["blocks"] if b["type"] != "input"])
    assert "Jamie Smith" in rendered and "<!channel>" not in rendered  # findings quote the draft, inert
    [draft_input] = [b for b in checked["view"]["blocks"] if b.get("block_id") == "draft"]
    assert draft_input["element"]["initial_value"] == DRAFT  # plain-text input: shown literally, never parsed
    assert slack.services.store.db.execute("select count(*) from review_requests").fetchone()[0] == 0


def test_sending_posts_to_slt_inert_and_approval_tells_the_requester(slack, fake):
    reference = request(slack, fake)
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    sent = text_of(post)
    assert reference in sent and "&lt;!channel&gt;" in sent and "<!channel>" not in sent
    assert "<https://x.example|click>" not in sent
    slack.click(actions.SO_APPROVE, reference, user=SLT_USER, channel=SLT_CHANNEL)
    [dm] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)
    assert "approved" in text_of(dm)
    fake.wait_for("chat.update")
    assert slack.services.reviews.get(reference).status == "approved"


def test_request_changes_and_reject_ask_for_a_comment_the_requester_sees(slack, fake):
    for n, action in enumerate((actions.SO_REQUEST_CHANGES, actions.SO_REJECT)):
        reference = request(slack, fake, user=f"USTAFF{n}")
        before = len(fake.recorded("views.open"))
        slack.click(action, reference, user=SLT_USER, channel=SLT_CHANNEL)
        modal = fake.wait_for("views.open", count=before + 1)[-1].body["view"]
        empty = slack.submit(modal, {"text": {"value": {"type": "plain_text_input", "value": ""}}}, user=SLT_USER)
        assert "text" in empty.json()["errors"]
        done = slack.submit(modal, {"text": {"value": {"type": "plain_text_input", "value": "Use initials only"}}},
                            user=SLT_USER)
        assert done.json()["response_action"] == "update"
        [dm] = fake.wait_for("chat.postMessage", where=lambda c, u=f"USTAFF{n}": c.body["channel"] == u)
        assert "Use initials only" in text_of(dm)


def test_non_slt_and_self_approval_are_refused(slack, fake):
    mine = request(slack, fake, user=SLT_USER)
    slack.click(actions.SO_APPROVE, mine, user=SLT_USER, channel=SLT_CHANNEL)
    slack.click(actions.SO_APPROVE, mine, user=STAFF_USER, channel=SLT_CHANNEL)
    refusals = fake.wait_for("chat.postEphemeral", count=2)
    said = " ".join(text_of(r) for r in refusals)
    assert messages.REVIEW_OWN_REQUEST in said and messages.REVIEW_SLT_ONLY in said
    assert slack.services.reviews.get(mine).status == "pending"


def test_two_simultaneous_decisions_record_one(slack, fake):
    reference = request(slack, fake)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda u: slack.click(actions.SO_APPROVE, reference, user=u, channel=SLT_CHANNEL),
                      (SLT_USER, SLT_USER_2)))
    fake.wait_for("chat.postEphemeral", count=2)
    history = [h["action"] for h in slack.services.reviews.history(reference)]
    assert history.count("approved") == 1
    fake.settle()
    assert len(fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)) == 1


def test_the_message_shortcut_prefills_the_draft(slack, fake):
    payload = {
        "type": "message_action", "callback_id": "second_opinion_shortcut", "trigger_id": "t.1",
        "team": {"id": "T111"}, "user": {"id": STAFF_USER, "username": "staff"}, "channel": {"id": "C1"},
        "message": {"type": "message", "user": STAFF_USER, "ts": "1.1", "text": "Our trip to the zoo!"},
        "response_url": fake.response_url(), "message_ts": "1.1",
    }
    slack.post(urllib.parse.urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
    [opened] = fake.wait_for("views.open")
    assert opened.body["view"]["blocks"][0]["element"]["initial_value"] == "Our trip to the zoo!"
