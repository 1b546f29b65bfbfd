"""Incident reports over Slack, end to end: the modal, storage, the SLT post and SLT actions."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
from slack_fake import (  # noqa: F401
    SLT_CHANNEL, SLT_USER, SLT_USER_2, STAFF_USER, fake, serving, slack, slack_settings, text_of,
)

from bot import slack_blocks as blocks
from bot.services import Services
from handlers import actions, messages, report
from handlers.incident_models import ReportForm
from handlers.models import Actor

NARRATIVE = "A parent posted a photo of Year 7 pupils with their names on the class page."


def report_state(category: str | None = "bullying", what: str = NARRATIVE, link: str = "", urgent: bool = False,
                 when: str | None = None) -> dict:
    return {
        "category": {"value": {"type": "static_select",
                               "selected_option": {"value": category} if category else None}},
        "what_happened": {"value": {"type": "plain_text_input", "value": what}},
        "platform": {"value": {"type": "plain_text_input", "value": "Facebook"}},
        "link": {"value": {"type": "plain_text_input", "value": link or None}},
        "when": {"value": {"type": "datepicker", "selected_date": when or date.today().isoformat()}},
        "people": {"value": {"type": "plain_text_input", "value": None}},
        "urgent": {"value": {"type": "checkboxes", "selected_options": [{"value": "urgent"}] if urgent else []}},
    }


def open_report(slack, fake, text: str = "") -> dict:
    assert slack.command("/report", text).status == 200
    return fake.wait_for("views.open")[-1].body["view"]


def submit_report(slack, fake, view_id: str = "VREPORT", **fields) -> dict:
    """The report modal filled in and sent: the confirmation view."""
    view = open_report(slack, fake)
    response = slack.submit(view, report_state(**fields), view_id=view_id)
    assert response.status == 200 and response.json()["response_action"] == "update", response.body
    return response.json()["view"]


def file_report(slack, fake, view_id: str = "VREPORT", **fields) -> str:
    return json.dumps(submit_report(slack, fake, view_id, **fields)).split("Your report ")[1].split(" ")[0]


def slt_posts(fake) -> list:
    return fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL and "thread_ts" not in c.body)


def test_report_opens_the_modal_at_once_with_every_field(slack, fake):
    view = open_report(slack, fake, "someone posted our pupils' photos")
    assert view["callback_id"] and len(view["title"]["text"]) <= 24
    ids = [b["block_id"] for b in view["blocks"]]
    assert ids == ["category", "what_happened", "platform", "link", "when", "people", "urgent"]
    narrative = view["blocks"][1]["element"]
    assert narrative["multiline"] and narrative["max_length"] == 3000
    assert narrative["initial_value"] == "someone posted our pupils' photos"
    assert view["blocks"][4]["element"]["initial_date"] == date.today().isoformat()
    assert not slack.services.store.db["incidents"].exists() or slack.services.incidents.all() == []


def test_a_submission_is_stored_then_routed_to_slt_without_the_narrative(slack, fake):
    reference = file_report(slack, fake, category="bullying", what=NARRATIVE + " <!channel>")
    incident = slack.services.incidents.get(reference)
    assert incident is not None and incident.what_happened.startswith(NARRATIVE)
    assert incident.reporter.user_id == STAFF_USER
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    sent = text_of(post)
    assert reference in sent and "Bullying or harassment" in sent and "Not marked urgent" in sent
    assert "Year 7" not in sent and "photo" not in sent
    ids = {e["action_id"] for b in post.body["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {actions.INCIDENT_VIEW, actions.INCIDENT_ACKNOWLEDGE, actions.INCIDENT_RESOLVE} <= ids
    assert post.body["unfurl_links"] is False


def test_modal_errors_come_back_per_field_and_nothing_is_stored(slack, fake):
    view = open_report(slack, fake)
    response = slack.submit(view, report_state(category=None, what="   ", link="not a link", when="2999-01-01"))
    assert response.status == 200
    errors = response.json()["errors"]
    assert set(errors) == {"category", "what_happened", "link", "when"}
    assert "web link" in errors["link"] and "future" in errors["when"]
    assert slack.services.incidents.all() == []
    slack.settle()
    assert not slt_posts(fake)


OLD_STATE = {"narrative": {"value": {"type": "plain_text_input", "value": NARRATIVE}}}  # a block no form has now


@pytest.mark.parametrize("form", ["report", "note", "question", "draft", "comment"])
def test_a_form_without_the_blocks_it_needs_is_refused_on_one_of_its_own_and_nothing_is_stored(
    slack, fake, caplog, form
):
    reference = file_report(slack, fake) if form == "note" else "SO-2026-0001"
    view = {
        "report": lambda: open_report(slack, fake),
        "note": lambda: blocks.incident_text_modal(actions.INCIDENT_NOTE, reference),
        "question": blocks.ask_modal,
        "draft": blocks.second_opinion_modal,
        "comment": lambda: blocks.comment_modal(actions.SO_REJECT, reference),
    }[form]()
    slack.settle()  # the report's own rows (routed) are written first
    audit = slack.services.incidents.db["audit"]
    before = audit.count
    with caplog.at_level(logging.WARNING, logger="bot.slack"):
        response = slack.submit(view, OLD_STATE, user=SLT_USER)
    assert response.status == 200, response.body
    assert response.json() == {"response_action": "errors",
                               "errors": {view["blocks"][0]["block_id"]: messages.FORM_OUT_OF_DATE}}
    assert "cannot read" in caplog.text and view["callback_id"] in caplog.text
    slack.settle()
    assert len(slack.services.incidents.all()) == (form == "note")
    assert audit.count == before
    assert not fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == SLT_USER)


@pytest.mark.parametrize("metadata", ["not json", '{"action": 1, "reference": "INC-2026-0001"}', ""])
@pytest.mark.parametrize("form", ["note", "comment"])
def test_a_text_form_whose_metadata_this_version_did_not_write_is_refused_and_nothing_is_stored(
    slack, fake, form, metadata
):
    reference = file_report(slack, fake) if form == "note" else "SO-2026-0001"
    view = (blocks.incident_text_modal(actions.INCIDENT_NOTE, reference) if form == "note"
            else blocks.comment_modal(actions.SO_REJECT, reference)) | {"private_metadata": metadata}
    slack.settle()
    before = slack.services.incidents.db["audit"].count
    text = {"text": {"value": {"type": "plain_text_input", "value": "Called the parent."}}}
    response = slack.submit(view, text, user=SLT_USER)
    assert response.status == 200, response.body
    assert response.json() == {"response_action": "errors", "errors": {"text": messages.FORM_OUT_OF_DATE}}
    slack.settle()
    assert slack.services.incidents.db["audit"].count == before


def test_a_form_with_no_input_block_left_is_closed_and_the_person_told_by_dm(slack, fake):
    old = blocks.modal("Report an incident", [blocks.section("What happened?")],
                       callback_id=blocks.REPORT_CALLBACK, submit="Send report")
    response = slack.submit(old, {})
    assert response.status == 200 and response.json() == {"response_action": "clear"}
    [dm] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)
    assert messages.FORM_OUT_OF_DATE in text_of(dm)
    assert slack.services.incidents.all() == []


def test_the_same_submission_three_times_is_one_incident(slack, fake):
    view = open_report(slack, fake)
    answers = [slack.submit(view, report_state(), view_id="VSAME").json() for _ in range(3)]
    references = {json.dumps(a["view"]).split("Your report ")[1].split(" ")[0] for a in answers}
    assert len(references) == 1
    assert len(slack.services.incidents.all()) == 1
    fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    slack.settle()
    assert len(slt_posts(fake)) == 1


def test_slack_failing_then_rate_limiting_then_recovering_gives_exactly_one_slt_post(slack, fake):
    fake.fail("chat.postMessage", times=2, status=500)
    reference = file_report(slack, fake)
    fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    fake.fail("chat.postMessage", times=2, status=429, retry_after=1)
    slack.click(actions.INCIDENT_ACKNOWLEDGE, reference, user=SLT_USER, channel=SLT_CHANNEL)
    fake.wait_for("chat.postMessage", where=lambda c: c.body.get("thread_ts") is not None, timeout=10)
    slack.settle()
    assert len(slt_posts(fake)) == 1
    failed = [c for c in fake.calls if c.method == "chat.postMessage" and "_failed" in c.body]
    assert [c.body["_failed"] for c in failed] == [500, 500, 429, 429]
    assert slack.services.outbox.failed() == []


def test_a_permanent_slack_error_on_the_slt_post_is_not_retried_but_shown_to_slt_who_can_try_again(slack, fake):
    fake.fail("chat.postMessage", times=1, status=200, error="not_in_channel")  # Slack's way: HTTP 200, ok false
    reference = file_report(slack, fake)
    [failed] = fake.wait_until(slack.services.outbox.failed)
    assert (failed["subject"], failed["destination"]) == (reference, SLT_CHANNEL)
    assert failed["last_error"] == "not_in_channel"
    fake.pause(0.3)  # the outbox would retry after 0.05 s: a retry would show up here
    assert not fake.recorded("chat.postMessage")
    assert slack.services.incidents.get(reference) is not None  # the report itself is kept
    trail = slack.services.incidents.history(reference)
    assert [t["action"] for t in trail] == ["created", "delivery_failed"] and "not_in_channel" in trail[-1]["detail"]

    slack.send_event({"type": "app_home_opened", "user": STAFF_USER, "channel": "D1", "tab": "home"})
    staff = fake.wait_for("views.publish")[-1]
    assert messages.FAILED_DELIVERIES_TITLE not in json.dumps(staff.body["view"])
    slack.send_event({"type": "app_home_opened", "user": SLT_USER, "channel": "D1", "tab": "home"})
    home = fake.wait_for("views.publish", count=2)[-1].body["view"]
    shown = json.dumps(home)
    assert messages.FAILED_DELIVERIES_TITLE in shown and reference in shown and "not_in_channel" in shown
    [retry] = [e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["action_id"] == "retry_delivery"]
    assert retry["text"]["text"] == f"{messages.TRY_AGAIN}: {reference}"

    # the bot has been invited to the channel; staff can't press it, SLT can
    slack.click("retry_delivery", retry["value"], user=STAFF_USER, view={"id": "VHOME", "type": "home"})
    [refusal] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)
    assert messages.INCIDENT_SLT_ONLY in text_of(refusal)
    assert slack.services.incidents.history(reference)[-1] | {"at": ""} == {
        "at": "", "action": "refused", "actor": f"slack:{STAFF_USER}", "detail": f"retry of job {failed['id']}"}
    slack.click("retry_delivery", retry["value"], user=SLT_USER, view={"id": "VHOME", "type": "home"})
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    assert reference in text_of(post)
    republished = fake.wait_for("views.publish", count=3)[-1]
    assert republished.body["user_id"] == SLT_USER
    slack.settle()
    assert len(fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)) == 1
    assert slack.services.outbox.failed() == []
    trail = slack.services.incidents.history(reference)
    assert [t["action"] for t in trail][-2:] == ["delivery_retried", "routed"]
    assert trail[-2]["actor"] == f"slack:{SLT_USER}"


def test_try_again_after_the_slt_channel_id_was_corrected_posts_to_the_channel_named_now(tmp_path, fake):
    fake.fail("chat.postMessage", times=1, status=200, error="channel_not_found", channel="CTYPO")
    with serving(Services(slack_settings(tmp_path, fake, STAFFBOT_SLT_CHANNEL="CTYPO")), fake) as slack:
        reference = file_report(slack, fake)
        [failed] = fake.wait_until(slack.services.outbox.failed)
    with serving(Services(slack_settings(tmp_path, fake)), fake) as restarted:  # the admin corrected the id
        restarted.click("retry_delivery", str(failed["id"]), user=SLT_USER, view={"id": "VHOME", "type": "home"})
        [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
        assert reference in text_of(post)
        restarted.settle()
        to_old = [c for c in fake.calls if c.method == "chat.postMessage" and c.body["channel"] == "CTYPO"]
        assert len(to_old) == 1  # the old id was tried once, never again
        retried = restarted.services.incidents.history(reference)[-2]
        assert (retried["action"], retried["detail"]) == (
            "delivery_retried", f"job {failed['id']}, now to {SLT_CHANNEL} (was CTYPO)")


def test_try_again_posts_the_incident_as_it_is_now_and_replays_nothing_queued_behind_the_failed_post(slack, fake):
    fake.fail("chat.postMessage", times=10**6, status=500, channel=SLT_CHANNEL)  # Slack down for that channel
    reference = file_report(slack, fake)
    fake.wait_until(lambda: [c for c in fake.calls if c.body.get("_failed") and c.body["channel"] == SLT_CHANNEL])
    slack.click(actions.INCIDENT_ACKNOWLEDGE, reference, user=SLT_USER, channel="DHOME")  # not from the post
    [told] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)
    assert reference in text_of(told)  # the reporter hears of it at once
    fake.fail("chat.postMessage", times=1, status=200, error="not_in_channel", channel=SLT_CHANNEL)
    [failed] = fake.wait_until(slack.services.outbox.failed)
    slack.click(actions.INCIDENT_ASSIGN, reference, user=SLT_USER_2, channel="DHOME")
    fake.wait_until(lambda: slack.services.incidents.get(reference).assignee)
    slack.settle()
    assert [(f["id"], f["kind"]) for f in slack.services.outbox.failed()] == [(failed["id"], "post")]

    slack.send_event({"type": "app_home_opened", "user": SLT_USER, "channel": "D1", "tab": "home"})
    home = fake.wait_for("views.publish")[-1].body["view"]
    retries = [e["value"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["action_id"] == "retry_delivery"]
    assert retries == [str(failed["id"])]
    slack.click("retry_delivery", retries[0], user=SLT_USER, view={"id": "VHOME", "type": "home"})
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    slack.settle()
    shown = text_of(post)
    assert "Acknowledged" in shown and "uslt2" in shown  # status and assignee as they are now
    assert "not yet acknowledged" not in shown and "Nobody yet" not in shown
    assert len(slt_posts(fake)) == 1
    assert not fake.recorded("chat.update")  # no stale update replayed over it...
    assert not fake.recorded("chat.postMessage", where=lambda c: "thread_ts" in c.body)  # ...nor the meantime's replies
    assert slack.services.outbox.failed() == []
    trail = [t["action"] for t in slack.services.incidents.history(reference)]
    assert trail == ["created", "acknowledged", "delivery_failed", "assigned", "delivery_retried", "routed"]


def test_two_hundred_concurrent_reports_get_two_hundred_unique_references(slack, fake):
    view = open_report(slack, fake)

    def submit(n: int) -> str:
        answer = slack.submit(view, report_state(what=f"Report number {n}"), view_id=f"VC{n}").json()
        return json.dumps(answer["view"]).split("Your report ")[1].split(" ")[0]

    with ThreadPoolExecutor(max_workers=20) as pool:
        references = list(pool.map(submit, range(200)))
    assert len(set(references)) == 200
    stored = slack.services.incidents.all()
    assert len(stored) == 200 and {i.reference for i in stored} == set(references)


def test_a_broken_database_is_an_explicit_failure_not_a_receipt(slack, fake):
    slack.services.incidents.db.execute(
        "create trigger broken before insert on incidents begin select raise(abort, 'disk I/O error'); end"
    )
    view = open_report(slack, fake)
    response = slack.submit(view, report_state())
    assert response.json()["response_action"] == "errors"
    assert response.json()["errors"]["what_happened"] == messages.REPORT_NOT_RECEIVED


def test_mentions_and_links_in_a_report_arrive_inert_in_the_details(slack, fake):
    evil = f"<!channel> <@{SLT_USER_2}> <https://x.example|click> & more"
    reference = file_report(slack, fake, what=evil)
    slack.settle()  # the SLT post's "routed" row first, so "viewed" is the last
    slack.click(actions.INCIDENT_VIEW, reference, user=SLT_USER, channel=SLT_CHANNEL)
    opened = fake.wait_for("views.open", count=2)[-1]
    details = text_of(opened)
    assert "&lt;!channel&gt; &lt;@USLT2&gt; &lt;https://x.example|click&gt; &amp; more" in details
    for live in ("<!channel>", "<@USLT2>", "<https://x.example|click>"):
        assert live not in details
    history = slack.services.incidents.history(reference)
    assert [h["action"] for h in history][-1] == "viewed"


def test_staff_who_are_not_slt_are_refused_every_action_and_it_is_audited(slack, fake):
    reference = file_report(slack, fake)
    for action in (actions.INCIDENT_VIEW, actions.INCIDENT_ACKNOWLEDGE, actions.INCIDENT_ASSIGN,
                   actions.INCIDENT_NOTE, actions.INCIDENT_ESCALATE, actions.INCIDENT_RESOLVE):
        slack.click(action, reference, user=STAFF_USER, channel=SLT_CHANNEL)
    refusals = fake.wait_for("chat.postEphemeral", count=6)
    assert all(messages.INCIDENT_SLT_ONLY in text_of(r) and r.body["user"] == STAFF_USER for r in refusals)
    assert len(fake.recorded("views.open")) == 1  # only the report form itself
    assert slack.services.incidents.get(reference).status == "new"
    refused = [h for h in slack.services.incidents.history(reference) if h["action"] == "refused"]
    assert len(refused) == 6


def test_slt_acknowledge_updates_the_post_replies_in_thread_and_tells_the_reporter(slack, fake):
    reference = file_report(slack, fake)
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    slack.click(actions.INCIDENT_ACKNOWLEDGE, reference, user=SLT_USER, channel=SLT_CHANNEL)
    [update] = fake.wait_for("chat.update")
    assert update.body["channel"] == SLT_CHANNEL and "Acknowledged" in text_of(update)
    [thread] = fake.wait_for("chat.postMessage", where=lambda c: c.body.get("thread_ts") is not None)
    assert thread.body["channel"] == SLT_CHANNEL and "acknowledged by uslt1" in text_of(thread)
    [dm] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)
    assert messages.reporter_update(reference, "acknowledged") in text_of(dm)
    [confirmation] = fake.wait_for("chat.postEphemeral")
    assert confirmation.body["user"] == SLT_USER
    assert slack.services.incidents.get(reference).acknowledged_by == "uslt1"


def test_assign_to_me_records_the_assignee(slack, fake):
    reference = file_report(slack, fake)
    slack.click(actions.INCIDENT_ASSIGN, reference, user=SLT_USER_2, channel=SLT_CHANNEL)
    fake.wait_for("chat.postEphemeral")
    assert slack.services.incidents.get(reference).assignee == "uslt2"


def test_note_escalate_and_resolve_ask_for_text_in_a_modal(slack, fake):
    reference = file_report(slack, fake)
    for action, text in ((actions.INCIDENT_NOTE, "Called the parent."),
                         (actions.INCIDENT_ESCALATE, "LADO, because a colleague is involved"),
                         (actions.INCIDENT_RESOLVE, "Post removed; parent spoken to.")):
        before = len(fake.recorded("views.open"))
        slack.click(action, reference, user=SLT_USER, channel=SLT_CHANNEL)
        modal = fake.wait_for("views.open", count=before + 1)[-1].body["view"]
        assert messages.INCIDENT_PROMPTS[action] in text_of(fake.recorded("views.open")[-1])
        empty = slack.submit(modal, {"text": {"value": {"type": "plain_text_input", "value": " "}}}, user=SLT_USER)
        assert empty.json()["response_action"] == "errors" and "text" in empty.json()["errors"]
        done = slack.submit(modal, {"text": {"value": {"type": "plain_text_input", "value": text}}}, user=SLT_USER)
        assert done.json()["response_action"] == "update"
    incident = slack.services.incidents.get(reference)
    assert (incident.status, incident.escalated_to, incident.outcome) == (
        "resolved", "LADO, because a colleague is involved", "Post removed; parent spoken to.")
    assert [h["action"] for h in slack.services.incidents.history(reference)][-3:] == ["noted", "escalated", "resolved"]
    threads = fake.wait_for("chat.postMessage", count=3, where=lambda c: c.body.get("thread_ts") is not None)
    assert not any("Called the parent" in text_of(t) or "LADO" in text_of(t) for t in threads)
    again = slack.click(actions.INCIDENT_RESOLVE, reference, user=SLT_USER_2, channel=SLT_CHANNEL)
    assert again.status == 200


RECORDED_AS = {actions.INCIDENT_NOTE: "noted", actions.INCIDENT_ESCALATE: "escalated", actions.INCIDENT_RESOLVE: "resolved"}


@pytest.mark.parametrize("action", list(RECORDED_AS))
def test_the_same_note_form_sent_again_even_after_a_restart_is_recorded_once(tmp_path, fake, action):
    """Slack re-sends a view_submission it had no answer to in time, and a double click sends two."""
    def submit(slack, modal) -> dict:
        text = {"text": {"value": {"type": "plain_text_input", "value": "Called the parent."}}}
        answer = slack.submit(modal, text, user=SLT_USER, view_id="VNOTE")
        assert answer.status == 200 and answer.json()["response_action"] == "update", answer.body
        return answer.json()["view"]

    with serving(Services(slack_settings(tmp_path, fake)), fake) as slack:
        reference = file_report(slack, fake)
        slack.click(action, reference, user=SLT_USER, channel=SLT_CHANNEL)
        modal = fake.wait_for("views.open", count=2)[-1].body["view"]
        with ThreadPoolExecutor(2) as pool:  # a double click: both at once
            first, second = pool.map(lambda _: submit(slack, modal), range(2))
        assert first == second
    with serving(Services(slack_settings(tmp_path, fake)), fake) as restarted:
        assert submit(restarted, modal) == first
        restarted.settle()
        trail = restarted.services.incidents.history(reference)
        assert [h["action"] for h in trail].count(RECORDED_AS[action]) == 1
        assert len(fake.recorded("chat.postMessage", where=lambda c: c.body.get("thread_ts") is not None)) == 1
        told = fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)
        assert len(told) == (action != actions.INCIDENT_NOTE)  # a change of status tells the reporter, once


def test_report_status_lists_only_my_reports(slack, fake):
    mine = file_report(slack, fake, view_id="VMINE")
    slack.submit(open_report(slack, fake), report_state(), user=SLT_USER, view_id="VOTHER")
    slack.command("/report", "status")
    [status] = fake.wait_for("response")
    assert status.body["response_type"] == "ephemeral"
    assert mine in text_of(status) and text_of(status).count("INC-") == 1


def test_slt_see_open_incidents_on_app_home(slack, fake):
    reference = file_report(slack, fake)
    slack.send_event({"type": "app_home_opened", "user": SLT_USER, "channel": "D1", "tab": "home"})
    [publish] = fake.wait_for("views.publish")
    view = json.dumps(publish.body["view"])
    assert messages.OPEN_INCIDENTS_TITLE in view and reference in view and "just now" in view
    assert "Year 7" not in view


def test_the_report_button_on_an_answer_opens_the_form_with_the_question(slack, fake):
    question = "Someone posted an offensive comment on the school Facebook page"
    slack.direct_message(question)
    [answer] = fake.wait_for("chat.postMessage")
    button = next(e for b in answer.body["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"] == actions.OPEN_REPORT)
    slack.click(actions.OPEN_REPORT, button["value"], channel="DSTAFF")
    fake.wait_for("views.open")
    [update] = fake.wait_for("views.update")
    assert update.body["view"]["blocks"][1]["element"]["initial_value"] == question


def test_slt_membership_can_come_from_the_user_group(tmp_path, fake):
    from bot.slack import build_slack_app

    fake.usergroup = ["UGROUP"]
    services = Services(slack_settings(tmp_path, fake, STAFFBOT_SLT_USERGROUP="S0SLT", STAFFBOT_SLT_USERS=""))
    try:
        build_slack_app(services)
        assert services.roster.is_slt(Actor(platform="slack", user_id="UGROUP"))
        assert not services.roster.is_slt(Actor(platform="slack", user_id=STAFF_USER))
        assert len(fake.recorded("usergroups.users.list")) == 1  # cached
        assert fake.recorded("usergroups.users.list")[0].body["usergroup"] == "S0SLT"
    finally:
        services.close()


# -- routing, safeguarding leads and restarts ----------------------------------------------


@pytest.fixture
def routed(tmp_path, fake):
    """Learner-safety reports go to their own channel; urgent and learner-safety ones also DM the DSL."""
    routing = tmp_path / "routing.toml"
    routing.write_text('dsl = ["slack:UDSL"]\n[categories]\nlearner_safety = ["slack:CSAFE"]\n', encoding="utf-8")
    with serving(Services(slack_settings(tmp_path, fake, STAFFBOT_ROUTING=routing)), fake) as bot:
        yield bot


def test_learner_safety_goes_to_its_channel_alerts_the_dsl_and_reminds_the_reporter(routed, fake):
    confirmation = json.dumps(submit_report(routed, fake, category="learner_safety"))
    assert messages.REMINDER_LEARNER_SAFETY in confirmation
    reference = confirmation.split("Your report ")[1].split(" ")[0]
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == "CSAFE")
    [alert] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == "UDSL")
    assert reference in text_of(post) and reference in text_of(alert) and messages.DSL_ALERT in text_of(alert)
    assert "Year 7" not in text_of(alert)
    routed.settle()
    assert not fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)


def test_urgent_reports_alert_the_dsl_and_image_reports_remind_not_to_share(routed, fake):
    urgent = json.dumps(submit_report(routed, fake, view_id="VURGENT", category="other", urgent=True))
    assert messages.REMINDER_URGENT in urgent
    fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == "UDSL")
    image = json.dumps(submit_report(routed, fake, view_id="VIMAGE", category="compromising_image"))
    assert messages.REMINDER_COMPROMISING_IMAGE in image
    fake.wait_for("chat.postMessage", count=2, where=lambda c: c.body["channel"] == SLT_CHANNEL)
    routed.settle()
    assert len(fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == "UDSL")) == 1


@pytest.mark.parametrize("killed", ["before sending", "while sending"])
def test_a_report_stored_by_a_process_that_died_is_posted_once_after_a_restart(tmp_path, fake, killed):
    dead = Services(slack_settings(tmp_path, fake))
    form = ReportForm(category="bullying", what_happened=NARRATIVE)
    reference = report.submit_report(form, Actor(platform="slack", user_id=STAFF_USER), "slack:view:VDEAD",
                                     dead.incidents).reference
    if killed == "while sending":  # claimed by the dead worker, its lease long expired
        dead.store.db.execute("update outbox set status = 'sending', attempts = 1, claimed_at = ?",
                              [time.time() - 3600])
    dead.close()
    assert not fake.recorded("chat.postMessage")
    with serving(Services(slack_settings(tmp_path, fake)), fake) as restarted:
        [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
        assert reference in text_of(post)
        restarted.settle()
        assert len(fake.recorded("chat.postMessage")) == 1
        assert [h["action"] for h in restarted.services.incidents.history(reference)] == ["created", "routed"]


def test_my_reports_are_on_my_app_home_with_their_status_and_nobody_elses(slack, fake):
    picked_up = file_report(slack, fake, view_id="VFIRST")
    waiting = file_report(slack, fake, view_id="VSECOND")
    slack.click(actions.INCIDENT_ACKNOWLEDGE, picked_up, user=SLT_USER, channel=SLT_CHANNEL)
    fake.wait_for("chat.update")
    slack.send_event({"type": "app_home_opened", "user": STAFF_USER, "channel": "D1", "tab": "home"})
    home = json.dumps(fake.wait_for("views.publish")[0].body["view"], ensure_ascii=False)
    assert messages.MY_REPORTS_TITLE in home and "Year 7" not in home
    assert f"{picked_up}*\\nBullying or harassment — Acknowledged" in home
    assert f"{waiting}*\\nBullying or harassment — New" in home
    slack.send_event({"type": "app_home_opened", "user": SLT_USER_2, "channel": "D1", "tab": "home"})
    slt = json.dumps(fake.wait_for("views.publish", count=2)[-1].body["view"], ensure_ascii=False)
    assert messages.NO_REPORTS in slt  # their own list is empty; the reports are in the SLT queue below it
    assert slt.index(messages.MY_REPORTS_TITLE) < slt.index(messages.OPEN_INCIDENTS_TITLE) < slt.index(waiting)


def test_an_unacknowledged_report_is_reminded_in_its_slt_thread(slack, fake):
    reference = file_report(slack, fake)
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    a_week_ago = (datetime.now(timezone.utc) - timedelta(days=7)).isoformat(timespec="seconds")
    slack.services.store.db.execute("update incidents set created_at = ? where reference = ?", [a_week_ago, reference])
    [reminder] = fake.wait_for("chat.postMessage", where=lambda c: c.body.get("thread_ts") is not None)
    assert reminder.body["channel"] == SLT_CHANNEL and reminder.body["thread_ts"].startswith("1700000000.")
    assert messages.reminder(reference, slack.services.settings.reminder_hours) in text_of(reminder)
    fake.pause(0.3)  # several outbox passes: once per interval, not on every pass
    assert len(fake.recorded("chat.postMessage", where=lambda c: c.body.get("thread_ts") is not None)) == 1
    assert [h["action"] for h in slack.services.incidents.history(reference)][-1] == "reminded"
