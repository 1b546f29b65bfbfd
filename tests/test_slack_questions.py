"""Policy questions over Slack, end to end: signed requests in, Web API calls out to the fake."""

from __future__ import annotations

import json

import pytest

from slack_fake import BOT_USER, SLT_CHANNEL, STAFF_USER, SLT_USER, fake, slack, text_of  # noqa: F401

from bot.routing import Routing, RoutingFile
from handlers import actions, messages

COVERED = "Can I accept a friend request from a former pupil?"
NOT_COVERED = "What is on the canteen menu on Tuesday?"


def buttons(call) -> dict[str, dict]:
    """The buttons of a recorded message, by action id."""
    return {
        element["action_id"]: element
        for block in call.body["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


def test_url_verification_echoes_the_challenge(slack):
    response = slack.send_json({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                                "type": "url_verification"})
    assert response.status == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_the_app_checks_its_token_at_startup(slack, fake):
    assert fake.recorded("auth.test")


def test_a_mention_is_answered_in_its_thread_with_the_passage_and_feedback_buttons(slack, fake):
    response = slack.mention(COVERED, channel="CSTAFFROOM")
    assert response.status == 200
    [post] = fake.wait_for("chat.postMessage")
    assert post.body["channel"] == "CSTAFFROOM"
    assert post.body["thread_ts"].startswith("1690000000.")
    assert post.body["unfurl_links"] is False and post.body["unfurl_media"] is False
    quoted = [b["text"]["text"] for b in post.body["blocks"] if b["type"] == "section"]
    assert any(t.startswith("&gt; ") or t.startswith("> ") for t in quoted)
    assert "current or prior learners" in text_of(post)
    assert "Personal use › Pupil/Students" in text_of(post)
    assert {actions.FEEDBACK_HELPFUL, actions.FEEDBACK_NOT_HELPFUL} <= set(buttons(post))
    question_id = int(buttons(post)[actions.FEEDBACK_HELPFUL]["value"])
    assert slack.services.questions.question_text(question_id) == COVERED


def test_a_direct_message_is_answered_in_the_dm_and_bot_messages_are_ignored(slack, fake):
    slack.direct_message("Someone posted an offensive comment on the school Facebook page")
    slack.direct_message("edited", subtype="message_changed")
    slack.direct_message("I am a bot", bot_id="BOTHER")
    slack.direct_message("From a workflow", user="")  # no person to answer
    slack.mention("From a workflow too", user="", channel="CSTAFFROOM")
    [post] = fake.wait_for("chat.postMessage")
    assert post.body["channel"] == "DSTAFF"
    assert post.body.get("thread_ts") is None
    assert actions.OPEN_REPORT in buttons(post)  # the answer calls for a report
    assert messages.NEXT_STEP_REPORT in text_of(post)
    slack.settle()
    assert len(fake.recorded("chat.postMessage")) == 1


def test_an_empty_mention_or_help_shows_what_the_bot_does(slack, fake):
    slack.mention("")
    [post] = fake.wait_for("chat.postMessage")
    assert messages.HELP_TEXT in text_of(post)


def test_an_unreadable_question_gets_the_specific_error(slack, fake):
    slack.direct_message("x" * 1200)
    [post] = fake.wait_for("chat.postMessage")
    assert "please keep it under 1,000" in text_of(post)


def test_the_same_event_delivered_three_times_is_answered_once(slack, fake):
    for retry in (None, 1, 2):
        assert slack.mention(COVERED, event_id="EvSAME", retry=retry).status == 200
    fake.wait_for("chat.postMessage")
    slack.settle()
    assert len(fake.recorded("chat.postMessage")) == 1
    assert slack.services.store.db.execute("select count(*) from questions").fetchone()[0] == 1


def test_a_retry_of_an_event_never_seen_is_handled(slack, fake):
    slack.mention(COVERED, event_id="EvLOST", retry=1)
    fake.wait_for("chat.postMessage")


def test_mentions_and_links_in_a_question_are_not_echoed_live(slack, fake):
    # as Slack encodes it: markup stays markup, a typed "&" or "<" arrives as an entity
    slack.mention(f"What is on the canteen menu on Tuesday? <!here> <@{SLT_USER}> <https://evil.example|click> "
                  "&amp; more &lt;3")
    [post] = fake.wait_for("chat.postMessage")
    question_id = int(buttons(post)[actions.SEND_TO_OWNER]["value"])
    assert slack.services.questions.question_text(question_id).endswith("<https://evil.example|click> & more <3")
    slack.click(actions.SEND_TO_OWNER, str(question_id), message=post.body | {"ts": "1700000000.000009"})
    [notice] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    notice_text = text_of(notice)
    assert "&lt;!here&gt;" in notice_text and "&amp; more &lt;3" in notice_text
    assert "&amp;amp;" not in notice_text and "&amp;lt;" not in notice_text  # escaped once, not twice
    for live in ("<!here>", f"<@{SLT_USER}>", "<https://evil.example|click>"):
        assert live not in notice_text


def test_a_shared_question_is_echoed_inert(slack, fake):
    slack.command("/policy", "<!channel> Can I accept a friend request from a former pupil?")
    [private] = fake.wait_for("response")
    share = next(e for b in private.body["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == actions.SHARE_ANSWER)
    slack.click(actions.SHARE_ANSWER, share["value"], ephemeral=True)
    public = fake.wait_for("response", where=lambda c: c.body.get("response_type") == "in_channel")[0]
    assert "&lt;!channel&gt; Can I accept" in text_of(public)
    assert "<!channel>" not in text_of(public)


def test_helpful_feedback_is_stored_and_the_message_thanks_the_person(slack, fake):
    slack.mention(COVERED, channel="CSTAFFROOM")
    [post] = fake.wait_for("chat.postMessage")
    question_id = buttons(post)[actions.FEEDBACK_HELPFUL]["value"]
    message = {"ts": "1700000000.000001", "text": post.body["text"], "blocks": post.body["blocks"]}
    assert slack.click(actions.FEEDBACK_NOT_HELPFUL, question_id, message=message, channel="CSTAFFROOM").status == 200
    [update] = fake.wait_for("chat.update")
    assert update.body["channel"] == "CSTAFFROOM" and update.body["ts"] == "1700000000.000001"
    assert messages.THANKS_NOT_HELPFUL in text_of(update)
    remaining = {e["action_id"] for b in update.body["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert not remaining & {actions.FEEDBACK_HELPFUL, actions.FEEDBACK_NOT_HELPFUL}
    votes = list(slack.services.store.db.query("select * from feedback"))
    assert [(v["question_id"], v["voter"], v["helpful"]) for v in votes] == [(int(question_id), f"slack:{STAFF_USER}", 0)]


def test_feedback_on_an_unknown_question_is_refused_privately(slack, fake):
    slack.click(actions.FEEDBACK_HELPFUL, "99999", message={"ts": "1700000000.000001", "blocks": []})
    [ephemeral] = fake.wait_for("chat.postEphemeral")
    assert ephemeral.body["user"] == STAFF_USER
    assert messages.UNKNOWN_QUESTION in text_of(ephemeral)
    assert not list(slack.services.store.db.query("select * from feedback"))


def test_not_covered_offers_the_owner_and_passing_it_posts_to_slt_once(slack, fake):
    slack.mention(NOT_COVERED)
    [post] = fake.wait_for("chat.postMessage")
    assert messages.NOT_COVERED in text_of(post)
    question_id = buttons(post)[actions.SEND_TO_OWNER]["value"]
    message = {"ts": "1700000000.000001", "text": post.body["text"], "blocks": post.body["blocks"]}
    slack.click(actions.SEND_TO_OWNER, question_id, message=message)
    slack.click(actions.SEND_TO_OWNER, question_id, message=message)  # a double click
    [notice] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    assert NOT_COVERED in text_of(notice) and messages.OWNER_NOTICE_TITLE in text_of(notice)
    updates = fake.wait_for("chat.update", count=2)  # the second click says it was already passed on
    assert {messages.PASSED_ON in text_of(u) for u in updates} == {True, False}
    assert any(messages.ALREADY_PASSED_ON in text_of(u) for u in updates)
    slack.settle()
    assert len(fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)) == 1
    row = slack.services.store.db.execute(
        "select sent_to_owner_by from questions where id = ?", [int(question_id)]
    ).fetchone()
    assert row[0] == f"slack:{STAFF_USER}"


def test_policy_command_answers_privately_and_share_posts_publicly_crediting_who_shared(slack, fake):
    response = slack.command("/policy", COVERED)
    assert response.status == 200
    [private] = fake.wait_for("response")
    assert private.body["response_type"] == "ephemeral"
    shared = {e["action_id"]: e for b in private.body["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert actions.SHARE_ANSWER in shared
    slack.click(actions.SHARE_ANSWER, shared[actions.SHARE_ANSWER]["value"], ephemeral=True)
    public = fake.wait_for("response", where=lambda c: c.body.get("response_type") == "in_channel")[0]
    assert f"<@{STAFF_USER}>" in text_of(public)
    assert COVERED in text_of(public) and "current or prior learners" in text_of(public)
    fake.wait_for("response", where=lambda c: c.body.get("delete_original") is True)


def test_policy_alone_or_help_shows_what_the_bot_does(slack, fake):
    slack.command("/policy")
    slack.command("/policy", "help")
    calls = fake.wait_for("response", count=2)
    assert all(messages.HELP_TEXT in text_of(c) and c.body["response_type"] == "ephemeral" for c in calls)


def test_app_home_shows_what_the_bot_does_and_the_three_actions(slack, fake):
    slack.send_event({"type": "app_home_opened", "user": STAFF_USER, "channel": "DSTAFF", "tab": "home",
                      "event_ts": "1700000000.1"})
    slack.send_event({"type": "app_home_opened", "user": STAFF_USER, "channel": "DSTAFF", "tab": "messages",
                      "event_ts": "1700000000.2"})
    [publish] = fake.wait_for("views.publish")
    assert publish.body["user_id"] == STAFF_USER
    view = publish.body["view"]
    assert view["type"] == "home"
    ids = {e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {actions.ASK_QUESTION, actions.OPEN_REPORT, actions.OPEN_SECOND_OPINION} <= ids
    assert messages.NO_REPORTS in json.dumps(view)
    assert messages.OPEN_INCIDENTS_TITLE not in json.dumps(view)  # not SLT
    slack.settle()
    assert len(fake.recorded("views.publish")) == 1


def test_ask_button_opens_a_modal_and_the_answer_arrives_by_dm(slack, fake):
    slack.click(actions.ASK_QUESTION, "", view={"id": "VHOME", "type": "home"})
    [opened] = fake.wait_for("views.open")
    view = opened.body["view"]
    empty = slack.submit(view, {"question": {"value": {"type": "plain_text_input", "value": "   "}}})
    assert empty.status == 200 and "question" in empty.json()["errors"]
    ok = slack.submit(view, {"question": {"value": {"type": "plain_text_input", "value": COVERED}}})
    assert ok.status == 200
    [dm] = fake.wait_for("chat.postMessage")
    assert dm.body["channel"] == STAFF_USER and "current or prior learners" in text_of(dm)


def test_bad_signature_stale_or_garbled_timestamp_is_refused_and_nothing_is_done(slack, fake):
    event = {"type": "app_mention", "text": f"<@{BOT_USER}> {COVERED}", "user": STAFF_USER, "ts": "1.1",
             "channel": "C1", "event_ts": "1.1"}
    payload = {"type": "event_callback", "event_id": "EvBAD", "team_id": "T111", "event": event}
    stale = str(int(__import__("time").time()) - 301)
    assert slack.send_json(payload, signature="v0=" + "0" * 64).status == 401
    assert slack.send_json(payload, timestamp=stale).status == 401
    assert slack.send_json(payload, timestamp="not-a-number", signature="v0=abc").status == 401
    assert slack.send_json(payload, timestamp="", signature="").status == 401
    slack.settle()
    assert not fake.recorded("chat.postMessage")
    db = slack.services.store.db
    assert db.execute("select count(*) from questions").fetchone()[0] == 0
    assert db.execute("select count(*) from slack_events").fetchone()[0] == 0


@pytest.mark.parametrize("routing_default", [None, "slack:C0ROUTED"])
def test_a_question_passed_on_in_slack_goes_to_the_routing_default_else_the_slt_channel_setting(slack, fake, routing_default):
    if routing_default:
        slack.services.routing = Routing(RoutingFile(default=[routing_default]), SLT_CHANNEL)
    slack.mention(NOT_COVERED)
    [post] = fake.wait_for("chat.postMessage")
    message = {"ts": "1700000000.000001", "text": post.body["text"], "blocks": post.body["blocks"]}
    slack.click(actions.SEND_TO_OWNER, buttons(post)[actions.SEND_TO_OWNER]["value"], message=message)
    [notice] = fake.wait_for("chat.postMessage", where=lambda c: messages.OWNER_NOTICE_TITLE in text_of(c))
    assert notice.body["channel"] == ("C0ROUTED" if routing_default else SLT_CHANNEL)
