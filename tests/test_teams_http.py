"""End to end over loopback: `build_teams_app` served like `staffbot serve teams`, a fake Bot Connector.

Activities are POSTed to /api/messages shaped as Teams sends them; what the bot says is
whatever reached the fake connector (replies, thread posts, card updates, new chats).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from db_lock import BUSY_SECONDS, write_locked

from bot import audit
from bot.config import load_settings
from bot.routing import Routing, RoutingFile
from bot.services import Services
from bot.teams import build_teams_app
from handlers import actions, messages
from handlers.models import Actor
from teams_fake import CHANNEL, STAFF_CHANNEL, TENANT, TeamsHarness

HEAD = "aad-head"
DEPUTY = "aad-deputy"
TEACHER = "aad-teacher"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = load_settings(
        STAFFBOT_DB=tmp_path / "staffbot.db",
        STAFFBOT_TEAMS_NO_AUTH=True,
        MICROSOFT_APP_TENANT_ID=TENANT,
        STAFFBOT_SLT_CHANNEL=f"teams:{CHANNEL}",
        STAFFBOT_TEAMS_SLT_USERS=f"{HEAD},{DEPUTY}",
    )
    built = Services(settings)
    yield built
    built.close()


@pytest.fixture
def teams(services: Services) -> Iterator[TeamsHarness]:
    harness = TeamsHarness(lambda: build_teams_app(services))
    yield harness
    harness.close()


def install_in_slt_channel(teams: TeamsHarness) -> None:
    """The conversationUpdate Teams sends when the app is added to a team: the bot learns the channel."""
    update = teams.activity(kind="conversationUpdate", channel=CHANNEL, user=HEAD, name="Head")
    update["membersAdded"] = [{"id": "28:staffbot"}]
    update["channelData"]["eventType"] = "teamMemberAdded"
    status, _ = teams.post(update)
    assert status == 201


def say_hello(teams: TeamsHarness, user: str, name: str) -> None:
    """A 1:1 message, so the bot has the person's personal chat."""
    status, _ = teams.post(teams.activity(user=user, name=name, text="help"))
    assert status == 201


def report_values(**overrides: object) -> dict:
    values = {
        "category": "bullying",
        "what_happened": "A pupil posted [click here](http://evil.example) about *another* pupil.",
        "platform": "Instagram",
        "link": "",
        "when": "",
        "people": "Year 9 pupils",
        "urgent": "false",
    }
    return {**values, **overrides}


def submit_report(teams: TeamsHarness, nonce: str, form_id: str, user: str = TEACHER, **overrides: object) -> int:
    value = {"staffbot": "submit_report", "nonce": nonce, **report_values(**overrides)}
    status, _ = teams.post(teams.activity(user=user, value=value, reply_to=form_id))
    return status


def make_report(teams: TeamsHarness, services: Services) -> str:
    install_in_slt_channel(teams)
    say_hello(teams, TEACHER, "Jane Teacher")
    say_hello(teams, HEAD, "Head")
    assert submit_report(teams, "0b5f8a4e-3a7c-4a55-9d0e-2f0b1e9c7a11", "form-1") == 201
    services.outbox.run_pending()
    return services.incidents.all()[0].reference


def thread_root(services: Services, reference: str) -> str:
    """The Teams message id of the record's SLT post (its thread's root)."""
    return services.store.db.execute(
        "select result_ref from outbox where subject = ? and kind = 'post'", [reference]).fetchone()[0]


# -- questions ----------------------------------------------------------------------------


def test_question_in_a_personal_chat_gets_the_policy_passage_as_a_card(teams: TeamsHarness) -> None:
    activity = teams.activity(text="Can I accept a friend request from a former pupil?")
    status, _ = teams.post(activity)
    assert status == 201
    [reply] = teams.connector.posts()
    assert reply.conversation == f"a:personal-{TEACHER}"
    assert reply.reply_to == activity["id"]
    card = reply.card
    assert card is not None and card["type"] == "AdaptiveCard"
    assert "Here is what the policy says" in reply.text
    assert "Personal use" in reply.text  # the section of the passage
    titles = [a["title"] for a in card["actions"]]
    assert titles[:2] == ["Helpful", "Not helpful"]


def test_mention_in_a_channel_is_answered_in_the_thread_without_the_mention(teams: TeamsHarness) -> None:
    activity = teams.activity(channel=STAFF_CHANNEL, text="Can I accept a friend request from a former pupil?")
    status, _ = teams.post(activity)
    assert status == 201
    [reply] = teams.connector.posts()
    assert reply.conversation == f"{STAFF_CHANNEL};messageid={activity['id']}"
    assert reply.reply_to == activity["id"]
    assert "Personal use" in reply.text


def test_helpful_button_records_the_vote(teams: TeamsHarness, services: Services) -> None:
    teams.post(teams.activity(text="Can I accept a friend request from a former pupil?"))
    helpful = teams.connector.posts()[0].card["actions"][0]
    status, _ = teams.post(teams.activity(value=helpful["data"], reply_to="answer-1"))
    assert status == 201
    assert "Thanks, glad it helped." in teams.connector.posts()[-1].text
    assert services.questions.feedback_summary()[0]["helpful"] == 1


def test_resent_activity_is_answered_once(teams: TeamsHarness) -> None:
    activity = teams.activity(text="Can I accept a friend request from a former pupil?")
    assert teams.post(activity)[0] == 201
    assert teams.post(activity)[0] == 201
    assert len(teams.connector.posts()) == 1


def test_copies_arriving_together_are_answered_once(teams: TeamsHarness) -> None:
    activity = json.dumps(teams.activity(text="Can I accept a friend request from a former pupil?")).encode()
    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(lambda _: teams.post_raw(activity, {"Content-Type": "application/json"})[0], range(5)))
    teams.loops.run(teams.settle())
    assert statuses == [201] * 5
    assert len(teams.connector.posts()) == 1


def test_an_slt_click_resent_after_a_restart_is_not_handled_again(services: Services) -> None:
    first = TeamsHarness(lambda: build_teams_app(services))
    try:
        reference = make_report(first, services)
        note = first.execute(actions.INCIDENT_NOTE, {"value": reference, "comment": "Called the parents"},
                             channel=CHANNEL, user=HEAD, name="Head")
        assert "Note added" in first.post(note)[1]["value"]
    finally:
        first.close()
    restarted = TeamsHarness(lambda: build_teams_app(services))  # a new process: nothing in memory
    try:
        note["serviceUrl"] = restarted.service_url
        status, body = restarted.post(note)
        assert status == 200 and body["value"] == messages.TEAMS_ALREADY_DONE
        notes = [row for row in audit.chronology(services.store.db, reference) if row["action"] == "noted"]
        assert len(notes) == 1  # a note is not idempotent: only the record of the click keeps it single
    finally:
        restarted.close()


def test_the_outbox_pass_prunes_old_activity_ids(teams: TeamsHarness, services: Services) -> None:
    reference = make_report(teams, services)
    teams.post(teams.execute(actions.INCIDENT_ACKNOWLEDGE, {"value": reference}, channel=CHANNEL, user=HEAD))
    db = services.store.db
    assert db.execute("select count(*) from teams_seen").fetchone()[0] == 1
    db.execute("update teams_seen set received_at = '2020-01-01T00:00:00+00:00'")
    for task in services.outbox.periodic:
        task()
    assert db.execute("select count(*) from teams_seen").fetchone()[0] == 0


@pytest.mark.parametrize("routing_default", [None, f"teams:{STAFF_CHANNEL}"])
def test_a_question_passed_on_in_teams_goes_to_the_routing_default_else_the_slt_channel_setting(
    teams: TeamsHarness, services: Services, routing_default: str | None
) -> None:
    if routing_default:
        services.routing = Routing(RoutingFile(default=[routing_default]), services.settings.slt_channel)
    install_in_slt_channel(teams)
    teams.post(teams.activity(channel=STAFF_CHANNEL, text="What is on the canteen menu on Tuesday?"))
    button = next(a for a in teams.connector.posts()[-1].card["actions"] if a["title"] == "Pass to the policy owner")
    teams.post(teams.activity(channel=STAFF_CHANNEL, value=button["data"]))
    services.outbox.run_pending()
    [notice] = [c for c in teams.connector.created() if messages.OWNER_NOTICE_TITLE in c.text]
    assert notice.body["channelData"]["channel"]["id"] == (STAFF_CHANNEL if routing_default else CHANNEL)


def test_unreadable_question_gets_a_specific_error(teams: TeamsHarness) -> None:
    teams.post(teams.activity(text="??? 123"))
    assert "doesn't look like a question" in teams.connector.posts()[0].text


# -- incident reports ---------------------------------------------------------------------


def test_report_form_opens_in_the_personal_chat_when_asked_in_a_channel(teams: TeamsHarness) -> None:
    say_hello(teams, TEACHER, "Jane Teacher")
    teams.post(teams.activity(channel=STAFF_CHANNEL, text="report"))
    private = [c for c in teams.connector.posts() if c.conversation == f"a:personal-{TEACHER}"]
    form = private[-1].card
    assert form is not None
    assert [b["id"] for b in form["body"] if b["type"].startswith("Input.")] == [
        "category", "what_happened", "platform", "link", "when", "people", "urgent"
    ]
    submit = form["actions"][0]["data"]
    assert submit["staffbot"] == "submit_report" and len(submit["nonce"]) == 36
    in_thread = teams.connector.to(f"{STAFF_CHANNEL};messageid={teams.connector.calls[-1].reply_to}")
    assert any("private chat" in c.text for c in in_thread)


def test_invalid_report_shows_errors_next_to_the_fields_and_stores_nothing(
    teams: TeamsHarness, services: Services
) -> None:
    nonce = "6f1de1a0-8a42-4b8e-9d71-3c0b6f5a9e21"
    assert submit_report(teams, nonce, "form-7", what_happened="  ", link="not a link", when="2999-01-01") == 201
    [update] = teams.connector.updates()
    assert update.activity_id == "form-7"
    body = update.card["body"]
    ids = [b.get("id") for b in body]
    error_after = {
        body[i]["id"]: body[i + 1]["text"]
        for i in range(len(body) - 1)
        if body[i].get("id") and body[i + 1]["type"] == "TextBlock"
    }
    assert set(error_after) == {"what_happened", "link", "when"}
    assert "Please describe what happened" in error_after["what_happened"]
    assert "web link" in error_after["link"]
    assert "future" in error_after["when"]
    assert "category" in ids and update.card["actions"][0]["data"]["nonce"] == nonce
    assert services.incidents.all() == []


def test_report_is_stored_and_posted_to_the_slt_channel_without_the_narrative(
    teams: TeamsHarness, services: Services
) -> None:
    reference = make_report(teams, services)
    [incident] = services.incidents.all()
    assert incident.reporter.user_id == TEACHER and incident.what_happened.startswith("A pupil posted")
    form_update = teams.connector.updates()[0]
    assert form_update.activity_id == "form-1" and reference in form_update.text
    [thread] = teams.connector.created()
    assert thread.body["channelData"]["channel"]["id"] == CHANNEL
    assert reference in thread.text and "Bullying" in thread.text
    assert "A pupil posted" not in thread.text and "Year 9" not in thread.text
    verbs = [a.get("verb") for a in thread.card["actions"]]
    assert actions.INCIDENT_ACKNOWLEDGE in verbs and actions.INCIDENT_RESOLVE in verbs


def test_same_nonce_resent_with_a_new_activity_id_is_one_incident(teams: TeamsHarness, services: Services) -> None:
    nonce = "0b5f8a4e-3a7c-4a55-9d0e-2f0b1e9c7a11"
    assert submit_report(teams, nonce, "form-1") == 201
    assert submit_report(teams, nonce, "form-1") == 201
    assert len(services.incidents.all()) == 1


def test_slt_acknowledge_updates_the_card_replies_in_thread_and_tells_the_reporter(
    teams: TeamsHarness, services: Services
) -> None:
    reference = make_report(teams, services)
    root = thread_root(services, reference)
    assert root == teams.connector.created()[0].body.get("activityId", root)
    status, body = teams.post(teams.execute(actions.INCIDENT_ACKNOWLEDGE, {"value": reference}, channel=CHANNEL,
                                            user=HEAD, name="Head", reply_to=root))
    assert status == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Acknowledged" in json.dumps(body["value"])
    services.outbox.run_pending()
    thread = teams.connector.to(f"{CHANNEL};messageid={root}")
    assert any(f"{reference}: acknowledged by Head" in c.text for c in thread if c.method == "POST")
    assert any(c.method == "PUT" and c.activity_id == root for c in thread)
    to_reporter = teams.connector.to(f"a:personal-{TEACHER}")
    assert any("has been picked up" in c.text for c in to_reporter)
    assert services.incidents.get(reference).status == "acknowledged"


def test_resolve_needs_the_outcome_text(teams: TeamsHarness, services: Services) -> None:
    reference = make_report(teams, services)
    status, body = teams.post(teams.execute(actions.INCIDENT_RESOLVE, {"value": reference}, channel=CHANNEL, user=HEAD))
    assert status == 200 and body["type"] == "application/vnd.microsoft.activity.message"
    assert "What was the outcome?" in body["value"]
    status, body = teams.post(teams.execute(
        actions.INCIDENT_RESOLVE, {"value": reference, "comment": "Posts removed"}, channel=CHANNEL, user=HEAD))
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert services.incidents.get(reference).outcome == "Posts removed"


def test_non_slt_member_is_refused_and_the_attempt_audited(teams: TeamsHarness, services: Services) -> None:
    reference = make_report(teams, services)
    status, body = teams.post(teams.execute(actions.INCIDENT_ACKNOWLEDGE, {"value": reference}, channel=CHANNEL,
                                            user=TEACHER))
    assert status == 200
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "Only the senior leadership team" in body["value"]
    assert services.incidents.get(reference).status == "new"
    actions_logged = [row["action"] for row in audit.chronology(services.store.db, reference)]
    assert "refused" in actions_logged


def test_view_details_goes_to_the_slt_members_private_chat(teams: TeamsHarness, services: Services) -> None:
    reference = make_report(teams, services)
    status, body = teams.post(teams.execute(actions.INCIDENT_VIEW, {"value": reference}, channel=CHANNEL, user=HEAD))
    assert status == 200 and "private chat" in body["value"]
    details = teams.connector.to(f"a:personal-{HEAD}")[-1]
    assert "A pupil posted" in details.text


def test_report_text_is_markdown_neutralised_in_cards(teams: TeamsHarness, services: Services) -> None:
    reference = make_report(teams, services)
    teams.post(teams.execute(actions.INCIDENT_VIEW, {"value": reference}, channel=CHANNEL, user=HEAD))
    details = teams.connector.to(f"a:personal-{HEAD}")[-1]
    assert r"\[click here\]\(http://evil.example\)" in details.text
    assert r"\*another\*" in details.text


# -- second opinions ----------------------------------------------------------------------


def check_and_send(teams: TeamsHarness, services: Services, draft: str) -> str:
    install_in_slt_channel(teams)
    say_hello(teams, HEAD, "Head")
    teams.post(teams.activity(text="second opinion"))
    form = teams.connector.posts()[-1].card
    nonce = form["actions"][0]["data"]["nonce"]
    value = {"staffbot": "check_draft", "nonce": nonce, "text": draft, "account": "@school",
             "learner_images": "true", "permission_checked": "false"}
    teams.post(teams.activity(value=value, reply_to="so-form"))
    checked = teams.connector.posts()[-1].card
    send = next(a for a in checked["actions"] if a["data"].get("staffbot") == actions.SO_SEND)
    assert send["data"]["value"] != nonce  # each check is kept under a key of its own
    teams.post(teams.activity(value=send["data"], reply_to="so-check"))
    services.outbox.run_pending()
    return services.store.db.execute("select reference from review_requests order by rowid desc").fetchone()[0]


def test_second_opinion_approved_by_slt(teams: TeamsHarness, services: Services) -> None:
    reference = check_and_send(teams, services, "Great day at the zoo with Year 3! Photos of the class below.")
    thread = teams.connector.created()[-1]
    assert reference in thread.text
    root = thread_root(services, reference)
    status, body = teams.post(teams.execute(actions.SO_APPROVE, {"value": reference}, channel=CHANNEL, user=DEPUTY,
                                            name="Deputy"))
    assert status == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Approved" in json.dumps(body["value"])
    services.outbox.run_pending()
    assert services.reviews.get(reference).status == "approved"
    assert any("was approved by Deputy" in c.text for c in teams.connector.to(f"a:personal-{TEACHER}"))
    assert any(c.method == "PUT" and c.activity_id == root for c in teams.connector.calls)


def test_a_draft_revised_in_the_same_form_after_changes_were_asked_for_is_a_new_request(
        teams: TeamsHarness, services: Services) -> None:
    first = check_and_send(teams, services, "Great day at the zoo with Year 3! Photos of the class below.")
    teams.post(teams.execute(actions.SO_REQUEST_CHANGES, {"value": first, "comment": "Crop the faces"},
                             channel=CHANNEL, user=DEPUTY))
    [nonce] = {a["data"]["nonce"] for c in teams.connector.posts() if c.card  # the same, still live form card
               for a in c.card.get("actions", ()) if "nonce" in a.get("data", {})}
    value = {"staffbot": "check_draft", "nonce": nonce, "text": "Great day at the zoo with Year 3!", "account": "@school",
             "learner_images": "false", "permission_checked": "false"}
    teams.post(teams.activity(value=value, reply_to="so-form"))
    teams.post(teams.activity(value=value, reply_to="so-form"))  # Check pressed twice: still one request
    sends = [a["data"] for c in teams.connector.posts()[-2:] for a in c.card["actions"]
             if a["data"].get("staffbot") == actions.SO_SEND]
    assert len(sends) == 2 and sends[0] == sends[1]
    teams.post(teams.activity(value=sends[0], reply_to="so-check-2"))
    teams.post(teams.activity(value=sends[1], reply_to="so-check-3"))
    rows = list(services.store.db.query("select reference, status from review_requests order by rowid"))
    assert [r["status"] for r in rows] == ["changes_requested", "pending"] and rows[1]["reference"] != first
    assert services.reviews.get(rows[1]["reference"]).draft.text == "Great day at the zoo with Year 3!"


def test_another_persons_nonce_makes_their_own_report(teams: TeamsHarness, services: Services) -> None:
    nonce = "0b5f8a4e-3a7c-4a55-9d0e-2f0b1e9c7a11"
    assert submit_report(teams, nonce, "form-1") == 201
    assert submit_report(teams, nonce, "form-2", user=DEPUTY, what_happened="Something else") == 201
    reports = {i.reporter.user_id: i.what_happened for i in services.incidents.all()}
    assert set(reports) == {TEACHER, DEPUTY} and reports[DEPUTY] == "Something else"


def test_second_opinion_rejected_with_a_reason(teams: TeamsHarness, services: Services) -> None:
    reference = check_and_send(teams, services, "Great day at the zoo with Year 3! Photos of the class below.")
    status, body = teams.post(teams.execute(actions.SO_REJECT, {"value": reference}, channel=CHANNEL, user=DEPUTY))
    assert "Why shouldn't this be published?" in body["value"]
    status, body = teams.post(teams.execute(
        actions.SO_REJECT, {"value": reference, "comment": "No photo permission"}, channel=CHANNEL, user=DEPUTY))
    assert status == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    services.outbox.run_pending()
    request = services.reviews.get(reference)
    assert request.status == "rejected" and request.comment == "No photo permission"
    assert any("should not be published" in c.text for c in teams.connector.to(f"a:personal-{TEACHER}"))


# -- the endpoint -------------------------------------------------------------------------


def test_activity_from_another_tenant_is_refused_and_audited(teams: TeamsHarness, services: Services) -> None:
    status, _ = teams.post(teams.activity(text="Can I post photos?", tenant="tenant-elsewhere"))
    assert status == 403
    assert teams.connector.calls == []
    rows = audit.chronology(services.store.db, "teams:tenant:tenant-elsewhere")
    assert [row["action"] for row in rows] == ["refused"]


def test_malformed_json_is_400_and_wrong_content_type_415(teams: TeamsHarness) -> None:
    assert teams.post_raw(b"{not json", {"Content-Type": "application/json"})[0] == 400
    assert teams.post_raw(b"[1, 2]", {"Content-Type": "application/json"})[0] == 400
    assert teams.post_raw(b"hello", {"Content-Type": "text/plain"})[0] == 415
    assert teams.post_raw(b"{}", {})[0] == 415
    assert teams.connector.calls == []


@pytest.mark.parametrize("sender", [None, {"name": "Head"}], ids=["no from", "from without an id"])
def test_a_click_form_or_message_naming_no_sender_is_a_bad_request_and_nothing_is_recorded(
    teams: TeamsHarness, services: Services, sender: dict | None
) -> None:
    reference = make_report(teams, services)
    calls, audited = len(teams.connector.calls), audit.chronology(services.store.db, reference)
    conversations = services.store.db["teams_conversations"].count
    click = teams.execute(actions.INCIDENT_ACKNOWLEDGE, {"value": reference}, channel=CHANNEL, user=HEAD)
    form = teams.activity(user=HEAD, value={"staffbot": "submit_report", "nonce": "2f0b1e9c-7a11-4a55-9d0e-0b5f8a4e3a7c",
                                            **report_values()}, reply_to="form-2")
    typed = teams.activity(user=HEAD, text="Can I post photos?")
    answers = []
    for activity in (click, form, typed):
        activity["from"] = sender
        answers.append(teams.post(activity))
    assert [status for status, _ in answers] == [400, 400, 400]
    assert answers[0][1]["type"] == "application/vnd.microsoft.error" and answers[0][1]["statusCode"] == 400
    assert answers[2][1] == {"error": "the activity has no sender (from)"}
    assert services.incidents.get(reference).status == "new" and len(services.incidents.all()) == 1
    assert audit.chronology(services.store.db, reference) == audited
    assert services.store.db["teams_conversations"].count == conversations
    assert len(teams.connector.calls) == calls


# -- the report form, as the Slack modal -------------------------------------------------


def test_the_report_button_on_an_answer_opens_the_form_with_the_question(teams: TeamsHarness) -> None:
    question = "Someone posted an offensive comment on the school Facebook page"
    teams.post(teams.activity(text=question))
    button = next(a for a in teams.connector.posts()[0].card["actions"]
                  if a["data"].get("staffbot") == actions.OPEN_REPORT)
    teams.post(teams.activity(value=button["data"], reply_to="answer-1"))
    form = teams.connector.posts()[-1].card
    [what] = [b for b in form["body"] if b.get("id") == "what_happened"]
    assert what["value"] == question


def test_report_status_lists_only_my_reports_privately(teams: TeamsHarness, services: Services) -> None:
    reference = make_report(teams, services)
    assert submit_report(teams, "9c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f", "form-2", user=HEAD) == 201
    teams.post(teams.activity(text="report status"))
    mine = teams.connector.posts()[-1]
    assert mine.conversation == f"a:personal-{TEACHER}"
    assert reference in mine.text and "INC-" in mine.text
    [other] = [i.reference for i in services.incidents.all() if i.reference != reference]
    assert other not in mine.text
    asked = teams.activity(channel=STAFF_CHANNEL, text="report status")
    teams.post(asked)
    private, in_thread = teams.connector.posts()[-2:]
    assert private.conversation == f"a:personal-{TEACHER}" and reference in private.text
    assert in_thread.conversation == f"{STAFF_CHANNEL};messageid={asked['id']}"  # the channel sees no references
    assert "private chat" in in_thread.text and reference not in in_thread.text


def test_learner_safety_reminds_the_reporter_and_alerts_the_safeguarding_lead_in_teams(
    tmp_path: Path, services: Services
) -> None:
    from bot import teams_cards as cards

    routing = tmp_path / "routing.toml"
    routing.write_text(f'default = ["teams:{CHANNEL}"]\ndsl = ["teams:aad-dsl"]\n')
    services.settings.routing_path = routing
    teams = TeamsHarness(lambda: build_teams_app(services))
    try:
        install_in_slt_channel(teams)
        say_hello(teams, "aad-dsl", "Safeguarding Lead")
        say_hello(teams, TEACHER, "Jane Teacher")
        assert submit_report(teams, "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", "form-3", category="learner_safety") == 201
        [confirmation] = teams.connector.updates()
        assert cards.escape(messages.REMINDER_LEARNER_SAFETY) in confirmation.text
        services.outbox.run_pending()
        [alert] = [c for c in teams.connector.to("a:personal-aad-dsl") if "INC-" in c.text]
        assert "Learner safety" in alert.text and "A pupil posted" not in alert.text
    finally:
        teams.close()


# -- every SLT action, as the Slack tests do --------------------------------------------------


def test_every_incident_action_updates_replies_in_thread_tells_the_reporter_and_is_audited(
    teams: TeamsHarness, services: Services
) -> None:
    reference = make_report(teams, services)
    root = thread_root(services, reference)

    def press(verb: str, comment: str | None = None) -> dict:
        data = {"value": reference, **({"comment": comment} if comment else {})}
        status, body = teams.post(teams.execute(verb, data, channel=CHANNEL, user=HEAD, name="Head", reply_to=root))
        assert status == 200
        services.outbox.run_pending()
        return body

    assert press(actions.INCIDENT_ASSIGN)["type"] == "application/vnd.microsoft.card.adaptive"
    assert messages.INCIDENT_PROMPTS[actions.INCIDENT_ESCALATE] in press(actions.INCIDENT_ESCALATE)["value"]
    escalated = press(actions.INCIDENT_ESCALATE, "Police, crime ref 123")
    assert "Escalated" in json.dumps(escalated["value"])
    note = press(actions.INCIDENT_NOTE, "Parents called; SECRET-NOTE")
    assert note["type"] == "application/vnd.microsoft.activity.message" and "Note added" in note["value"]
    press(actions.INCIDENT_RESOLVE, "Posts removed, parents met")
    assert "already resolved" in press(actions.INCIDENT_ACKNOWLEDGE)["value"]

    thread = [c.text for c in teams.connector.to(f"{CHANNEL};messageid={root}") if c.method == "POST"]
    for what in ("assigned", "escalated", "note added", "resolved"):
        assert any(f"{reference}: {what} by Head" in text for text in thread), what
    updates = [c for c in teams.connector.updates() if c.activity_id == root]
    assert "Resolved" in updates[-1].text
    told = [c.text for c in teams.connector.to(f"a:personal-{TEACHER}")]
    for status in ("acknowledged", "escalated", "resolved"):
        assert any(messages.reporter_update(reference, status) in text for text in told), status
    assert not any("SECRET-NOTE" in text for text in told)  # SLT notes never reach the reporter
    history = [(row["action"], row["actor"]) for row in audit.chronology(services.store.db, reference)]
    assert [a for a, _ in history] == ["created", "routed", "assigned", "escalated", "noted", "resolved"]
    assert all(actor == f"teams:{HEAD}" for action, actor in history[2:])


def test_second_opinion_decisions_refuse_the_requester_and_the_second_click(
    teams: TeamsHarness, services: Services
) -> None:
    reference = check_and_send(teams, services, "Great day at the zoo with Year 3! Photos of the class below.")
    root = thread_root(services, reference)
    services.roster.grant(Actor(platform="teams", user_id=TEACHER))  # even SLT may not decide their own draft
    status, body = teams.post(teams.execute(actions.SO_APPROVE, {"value": reference}, channel=CHANNEL, user=TEACHER))
    assert body["type"] == "application/vnd.microsoft.activity.message" and "yourself" in body["value"]
    status, body = teams.post(teams.execute(actions.SO_APPROVE, {"value": reference}, channel=CHANNEL, user=DEPUTY,
                                            name="Deputy", reply_to=root))
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    status, body = teams.post(teams.execute(actions.SO_REJECT, {"value": reference, "comment": "No"}, channel=CHANNEL,
                                            user=HEAD, name="Head"))
    assert "already approved by Deputy" in body["value"]
    services.outbox.run_pending()
    thread = [c.text for c in teams.connector.to(f"{CHANNEL};messageid={root}") if c.method == "POST"]
    assert any("approved by Deputy" in text for text in thread)
    assert services.reviews.get(reference).status == "approved"
    actions_logged = [row["action"] for row in audit.chronology(services.store.db, reference)]
    assert actions_logged == ["requested", "routed", "refused", "approved", "refused"]  # both refusals audited


def test_the_message_action_sends_the_form_with_that_message_as_the_draft(teams: TeamsHarness) -> None:
    from bot.teams_package import SECOND_OPINION_COMMAND

    say_hello(teams, TEACHER, "Jane Teacher")
    html = "<p>Well done to Jamie Smith in 4B &amp; his team!</p><p>Photos <b>below</b></p>"
    status, body = teams.post(teams.message_action(SECOND_OPINION_COMMAND, html, channel=STAFF_CHANNEL))
    assert status == 200
    assert body == {"task": {"type": "message", "value": messages.TEAMS_FORM_SENT_PRIVATELY}}
    form = teams.connector.to(f"a:personal-{TEACHER}")[-1].card
    [draft] = [b for b in form["body"] if b.get("id") == "text"]
    assert draft["value"] == "Well done to Jamie Smith in 4B & his team!\nPhotos below"
    assert not [c for c in teams.connector.calls if c.conversation.startswith(STAFF_CHANNEL)]  # nothing in the channel


def test_the_message_action_without_a_private_chat_says_how_to_open_one(teams: TeamsHarness) -> None:
    from bot.teams_package import SECOND_OPINION_COMMAND

    teams.connector.fail_next(403)  # Teams refuses to create the chat (e.g. the app is not installed for them)
    status, body = teams.post(teams.message_action(SECOND_OPINION_COMMAND, "<p>Draft</p>", channel=STAFF_CHANNEL))
    assert status == 200 and body["task"]["value"] == messages.TEAMS_OPEN_CHAT_FIRST


def test_a_thread_root_refused_by_teams_is_posted_as_the_incident_is_now_when_tried_again(
    teams: TeamsHarness, services: Services
) -> None:
    install_in_slt_channel(teams)
    say_hello(teams, TEACHER, "Jane Teacher")
    say_hello(teams, HEAD, "Head")
    assert submit_report(teams, "0b5f8a4e-3a7c-4a55-9d0e-2f0b1e9c7a11", "form-1") == 201
    teams.connector.fail_next(403)  # the bot was removed from the team
    services.outbox.run_pending()
    [failed] = services.outbox.failed()
    reference = failed["subject"]
    status, _ = teams.post(teams.execute(actions.INCIDENT_ASSIGN, {"value": reference}, user=HEAD, name="Head"))
    assert status == 200  # from the details card in Head's own chat: the channel post does not exist
    services.outbox.run_pending()
    assert [f["id"] for f in services.outbox.failed()] == [failed["id"]]

    assert services.outbox.requeue(failed["id"], f"teams:{HEAD}")
    services.outbox.run_pending()
    [thread] = teams.connector.created()
    assert reference in thread.text and "Acknowledged" in thread.text and "Head" in thread.text
    assert not teams.connector.to(f"{CHANNEL};messageid={thread_root(services, reference)}")  # nothing replayed
    assert services.outbox.failed() == []


def test_an_unacknowledged_report_is_reminded_in_its_teams_thread(teams: TeamsHarness, services: Services) -> None:
    from datetime import datetime, timedelta, timezone

    from bot.reminders import Reminders

    reference = make_report(teams, services)
    root = thread_root(services, reference)
    a_week_later = datetime.now(timezone.utc) + timedelta(days=7)
    assert Reminders(services.incidents, 4.0, clock=lambda: a_week_later).run() == [reference]
    services.outbox.run_pending()
    thread = [c.text for c in teams.connector.to(f"{CHANNEL};messageid={root}") if c.method == "POST"]
    assert any(messages.reminder(reference, 4.0) in text for text in thread)


def test_a_stored_report_whose_form_cannot_be_replaced_is_confirmed_in_a_new_message(
    teams: TeamsHarness, services: Services
) -> None:
    say_hello(teams, TEACHER, "Jane Teacher")
    teams.connector.fail_next(404)  # the form's message is gone (deleted, or too old to edit)
    assert submit_report(teams, "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "form-gone") == 201
    [incident] = services.incidents.all()
    confirmation = teams.connector.posts()[-1]
    assert confirmation.conversation == f"a:personal-{TEACHER}" and incident.reference in confirmation.text
    assert teams.connector.updates() == []


def test_a_click_whose_handling_failed_is_handled_when_teams_sends_it_again(teams: TeamsHarness) -> None:
    teams.post(teams.activity(text="Can I accept a friend request from a former pupil?"))
    helpful = teams.connector.posts()[0].card["actions"][0]
    click = teams.activity(value=helpful["data"], reply_to="answer-1")
    teams.connector.fail_next(502)  # the thanks...
    teams.connector.fail_next(502)  # ...and the apology both fail: Teams is told 500
    assert teams.post(click)[0] == 500
    assert teams.post(click)[0] == 201  # Teams' retry is not mistaken for a copy
    assert "Thanks, glad it helped." in teams.connector.posts()[-1].text


@pytest.mark.usefixtures("short_busy_wait")
@pytest.mark.parametrize("busy_after_the_answer", [False, True])
def test_an_slt_click_that_found_the_database_busy_is_handled_when_teams_sends_it_again(
    teams: TeamsHarness, services: Services, monkeypatch: pytest.MonkeyPatch, busy_after_the_answer: bool
) -> None:
    reference = make_report(teams, services)
    save = services.incidents.save

    def save_while_busy(*args: object) -> bool:  # another process holds the database, this once
        monkeypatch.setattr(services.incidents, "save", save)
        lock = ExitStack()
        lock.enter_context(write_locked(services.store.path))
        if not busy_after_the_answer:
            with lock:
                return save(*args)
        threading.Timer(2.5 * BUSY_SECONDS, lock.close).start()  # freed after the answer, while the click is forgotten
        return save(*args)

    monkeypatch.setattr(services.incidents, "save", save_while_busy)
    click = teams.execute(actions.INCIDENT_ACKNOWLEDGE, {"value": reference}, channel=CHANNEL, user=HEAD, name="Head")
    status, body = teams.post(click)
    assert status == 200 and body["value"] == messages.INTERNAL_ERROR
    assert services.incidents.get(reference).status == "new"
    status, body = teams.post(click)  # Teams sends the same click again
    assert status == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    acknowledged = [r for r in audit.chronology(services.store.db, reference) if r["action"] == "acknowledged"]
    assert len(acknowledged) == 1


def test_a_report_is_stored_even_when_teams_cannot_take_its_confirmation(
    teams: TeamsHarness, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    say_hello(teams, TEACHER, "Jane Teacher")
    teams.connector.fail_next(503)  # replacing the form...
    teams.connector.fail_next(503)  # ...and the new message both fail
    assert submit_report(teams, "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "form-x") == 201
    assert len(services.incidents.all()) == 1
    assert "what it confirms is stored all the same" in caplog.text and "Traceback" not in caplog.text
    teams.post(teams.activity(text="report status"))  # and the reporter can still see it
    assert services.incidents.all()[0].reference in teams.connector.posts()[-1].text


@pytest.fixture
def drafting(tmp_path: Path) -> Iterator[tuple[TeamsHarness, Services]]:
    """The bot with the staffroom as a drafting channel (and a Slack one, which Teams ignores)."""
    settings = load_settings(
        STAFFBOT_DB=tmp_path / "staffbot.db", STAFFBOT_TEAMS_NO_AUTH=True, MICROSOFT_APP_TENANT_ID=TENANT,
        STAFFBOT_SLT_CHANNEL=f"teams:{CHANNEL}", STAFFBOT_DRAFTING_CHANNELS=f"slack:C0DRAFTS,teams:{STAFF_CHANNEL}",
    )
    services = Services(settings)
    harness = TeamsHarness(lambda: build_teams_app(services))
    yield harness, services
    harness.close()
    services.close()


RISKY_POST = "Well done to Jamie Smith in 4B for his medal! Photos of the whole class below"


def posted_in(teams: TeamsHarness, channel: str) -> list:
    return [c for c in teams.connector.calls if c.conversation.startswith(channel)]


def test_a_risky_new_post_in_a_drafting_channel_gets_one_nudge_whose_button_opens_the_form_privately(
        drafting: tuple[TeamsHarness, Services]) -> None:
    teams, services = drafting
    say_hello(teams, TEACHER, "Jane Teacher")
    post = teams.activity(channel=STAFF_CHANNEL, text=RISKY_POST, mention=False)
    assert teams.post(post)[0] == 201
    [nudge] = posted_in(teams, STAFF_CHANNEL)
    assert nudge.conversation == f"{STAFF_CHANNEL};messageid={post['id']}" and nudge.reply_to == post["id"]
    assert messages.SUGGEST_SECOND_OPINION in nudge.text
    [button] = nudge.card["actions"]
    assert button["data"] == {"staffbot": actions.OPEN_SECOND_OPINION, "value": post["id"]}  # not the post itself

    teams.post(teams.activity(channel=STAFF_CHANNEL, text=RISKY_POST, mention=False, reply_to=post["id"]))  # a reply
    teams.post(teams.activity(channel=STAFF_CHANNEL, text="Anyone seen the staffroom kettle?", mention=False))
    restarted = Services(services.settings)
    again = TeamsHarness(lambda: build_teams_app(restarted))
    try:
        assert again.post(post)[0] == 201  # Teams sends the post again, to a restarted bot
        assert not again.connector.calls
    finally:
        again.close()
        restarted.close()
    assert len(posted_in(teams, STAFF_CHANNEL)) == 1

    teams.post(teams.activity(channel=STAFF_CHANNEL, value=button["data"], reply_to=nudge.activity_id))
    form = teams.connector.to(f"a:personal-{TEACHER}")[-1].card
    assert [b["value"] for b in form["body"] if b.get("id") == "text"] == [RISKY_POST]
    say_hello(teams, HEAD, "Head")
    teams.post(teams.activity(channel=STAFF_CHANNEL, value=button["data"], user=HEAD, name="Head"))
    form = teams.connector.to(f"a:personal-{HEAD}")[-1].card  # someone else: the form, not the author's post
    assert [b.get("value", "") for b in form["body"] if b.get("id") == "text"] == [""]


def test_channel_chatter_is_neither_answered_nor_recorded(drafting: tuple[TeamsHarness, Services]) -> None:
    teams, services = drafting
    teams.post(teams.activity(channel=CHANNEL, text=RISKY_POST, user="aad-chatty", name="Chatty", mention=False))
    teams.post(teams.activity(channel=CHANNEL, text="lunch anyone?", user="aad-chatty", name="Chatty", mention=False))
    teams.post(teams.activity(channel=CHANNEL, kind="messageUpdate", user="aad-chatty", name="Chatty"))
    assert not teams.connector.calls
    assert services.store.db["teams_conversations"].count == 0
    assert services.store.db["questions"].count == 0


def test_a_post_is_checked_as_people_see_it_and_a_refused_nudge_is_only_logged(
        drafting: tuple[TeamsHarness, Services]) -> None:
    teams, services = drafting
    post = teams.activity(channel=STAFF_CHANNEL, text="<at>Mr Jones</at> " + RISKY_POST, mention=False)
    post["entities"] = [{"type": "mention", "mentioned": {"id": "29:jones", "name": "Mr Jones"},
                         "text": "<at>Mr Jones</at>"}]  # a colleague is mentioned, not the bot
    teams.connector.fail_next(413)
    assert teams.post(post)[0] == 201
    assert not [c for c in posted_in(teams, STAFF_CHANNEL) if messages.INTERNAL_ERROR in c.text]  # not in the thread
    kept = services.store.db.execute("select draft from teams_drafts where nonce = ?", [post["id"]]).fetchone()[0]
    assert json.loads(kept)["text"] == "Mr Jones " + RISKY_POST

    html = teams.activity(channel=STAFF_CHANNEL, text="ignored", mention=False)
    html["attachments"] = [{"contentType": "text/html",
                            "content": "<p>Well done&nbsp;<b>Jamie Smith</b> in 4B!\u200b</p><p>Photos of the class below</p>"}]
    teams.post(html)
    kept = services.store.db.execute("select draft from teams_drafts where nonce = ?", [html["id"]]).fetchone()[0]
    assert json.loads(kept)["text"] == "Well done Jamie Smith in 4B!\nPhotos of the class below"
