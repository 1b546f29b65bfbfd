"""Second opinions over Slack, end to end: the draft modal, findings, Send to SLT and decisions."""

from __future__ import annotations

import json
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from slack_fake import (  # noqa: F401
    BOT_USER, SLT_CHANNEL, SLT_USER, SLT_USER_2, STAFF_USER, fake, serving, slack, slack_settings, text_of,
)

from bot.services import Services
from handlers import actions, messages

DRAFT = "Well done to Jamie Smith in 4B for winning the race! <!channel> <https://x.example|click>"


def draft_state(text: str = DRAFT, images: bool = False) -> dict:
    return {
        "draft": {"value": {"type": "plain_text_input", "value": text}},
        "target": {"value": {"type": "plain_text_input", "value": "School Facebook"}},
        "learner_images": {"value": {"type": "checkboxes", "selected_options": [{"value": "x"}] if images else []}},
        "permission_checked": {"value": {"type": "checkboxes", "selected_options": []}},
    }


def request(slack, fake, user: str = STAFF_USER, text: str = DRAFT) -> str:
    """/secondopinion → check → Send to SLT; returns the reference."""
    slack.command("/secondopinion", DRAFT, user=user)
    view = fake.wait_for("views.open")[-1].body["view"]
    checked = slack.submit(view, draft_state(text), user=user, view_id=f"V{user}").json()
    assert checked["response_action"] == "update"
    sent = slack.submit(checked["view"], draft_state(text), user=user, view_id=f"V{user}").json()
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
    assert "```" not in rendered  # the bot's own guidance is formatted text, not a quoted draft
    [draft_input] = [b for b in checked["view"]["blocks"] if b.get("block_id") == "draft"]
    assert draft_input["element"]["initial_value"] == DRAFT  # plain-text input: shown literally, never parsed
    assert slack.services.store.db.execute("select count(*) from review_requests").fetchone()[0] == 0


def test_sending_posts_to_slt_inert_and_approval_tells_the_requester(slack, fake):
    reference = request(slack, fake)
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    sent = text_of(post)
    assert reference in sent and "&lt;!channel&gt;" in sent and "<!channel>" not in sent
    assert "<https://x.example|click>" not in sent
    texts = [b["text"]["text"] for b in post.body["blocks"] if b["type"] == "section" and "text" in b]
    [draft] = [t for t in texts if t.startswith("```") and t.endswith("```")]  # shown as typed: no *bold*, no links
    assert "Jamie Smith in 4B" in draft
    slack.click(actions.SO_APPROVE, reference, user=SLT_USER, channel=SLT_CHANNEL)
    [dm] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)
    assert "approved" in text_of(dm)
    fake.wait_for("chat.update")
    assert slack.services.reviews.get(reference).status == "approved"


def test_a_draft_with_no_findings_can_still_be_sent_and_slt_are_told_nothing_was_found(slack, fake):
    slack.command("/secondopinion")
    view = fake.wait_for("views.open")[0].body["view"]
    checked = slack.submit(view, draft_state(FINE_POST)).json()
    assert messages.CHECK_FINE in json.dumps(checked["view"]) and checked["view"]["submit"]["text"] == "Send to SLT"
    sent = slack.submit(checked["view"], draft_state(FINE_POST), view_id="VFINE").json()
    reference = json.dumps(sent["view"]).split("Your draft ")[1].split(" ")[0]
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    assert reference in text_of(post) and messages.REVIEW_NO_FINDINGS in text_of(post)


def test_a_decision_updates_the_post_replies_in_its_thread_and_a_second_click_is_told_who_was_first(slack, fake):
    reference = request(slack, fake)
    fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    slack.click(actions.SO_APPROVE, reference, user=SLT_USER, channel=SLT_CHANNEL)
    [update] = fake.wait_for("chat.update")
    assert update.body["channel"] == SLT_CHANNEL and "Approved" in text_of(update)
    assert not [b for b in update.body["blocks"] if b["type"] == "actions"]  # decided: no more buttons
    [thread] = fake.wait_for("chat.postMessage", where=lambda c: c.body.get("thread_ts") is not None)
    assert thread.body["channel"] == SLT_CHANNEL and f"{reference}: approved by uslt1" in text_of(thread)
    fake.wait_for("chat.postEphemeral")
    slack.click(actions.SO_APPROVE, reference, user=SLT_USER_2, channel=SLT_CHANNEL)
    second = fake.wait_for("chat.postEphemeral", count=2)[-1]
    assert second.body["user"] == SLT_USER_2 and "already approved by uslt1" in text_of(second)
    history = [h["action"] for h in slack.services.reviews.history(reference)]
    assert history == ["requested", "routed", "approved", "refused"]
    every_post = fake.recorded("chat.postMessage")
    assert all(c.body["unfurl_links"] is False and c.body["unfurl_media"] is False for c in every_post)


def test_a_long_draft_is_shortened_in_the_channel_and_slt_can_view_all_of_it(slack, fake):
    long_draft = "Sports day was a great success. " * 85 + "THE END <!channel>"
    reference = request(slack, fake, text=long_draft)
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    assert "THE END" not in text_of(post) and messages.full_text_in(reference) in text_of(post)
    slack.click(actions.SO_VIEW, reference, user=STAFF_USER, channel=SLT_CHANNEL)
    [refusal] = fake.wait_for("chat.postEphemeral")
    assert messages.REVIEW_SLT_ONLY in text_of(refusal)
    before = len(fake.recorded("views.open"))
    slack.click(actions.SO_VIEW, reference, user=SLT_USER, channel=SLT_CHANNEL)
    full = fake.wait_for("views.open", count=before + 1)[-1]
    assert "THE END &lt;!channel&gt;" in text_of(full) and "<!channel>" not in text_of(full)
    assert [h["action"] for h in slack.services.reviews.history(reference)][-2:] == ["refused", "viewed"]


def test_an_undecided_draft_is_reminded_in_its_slt_thread(slack, fake):
    reference = request(slack, fake)
    fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    a_week_ago = (datetime.now(timezone.utc) - timedelta(days=7)).isoformat(timespec="seconds")
    slack.services.store.db.execute("update review_requests set created_at = ? where reference = ?",
                                    [a_week_ago, reference])
    [reminder] = fake.wait_for("chat.postMessage", where=lambda c: c.body.get("thread_ts") is not None)
    assert reminder.body["channel"] == SLT_CHANNEL
    assert messages.review_reminder(reference, slack.services.settings.reminder_hours) in text_of(reminder)
    fake.pause(0.3)  # several outbox passes: once per interval, not on every pass
    assert len(fake.recorded("chat.postMessage", where=lambda c: c.body.get("thread_ts") is not None)) == 1


def test_request_changes_and_reject_ask_for_a_comment_the_requester_sees(slack, fake):
    for n, action in enumerate((actions.SO_REQUEST_CHANGES, actions.SO_REJECT)):
        reference = request(slack, fake, user=f"USTAFF{n}")
        before = len(fake.recorded("views.open"))
        slack.click(action, reference, user=SLT_USER, channel=SLT_CHANNEL)
        modal = fake.wait_for("views.open", count=before + 1)[-1].body["view"]
        empty = slack.submit(modal, {"text": {"value": {"type": "plain_text_input", "value": ""}}}, user=SLT_USER)
        assert "text" in empty.json()["errors"]
        comment = "Use initials only <!channel>"
        done = slack.submit(modal, {"text": {"value": {"type": "plain_text_input", "value": comment}}},
                            user=SLT_USER)
        assert done.json()["response_action"] == "update"
        [dm] = fake.wait_for("chat.postMessage", where=lambda c, u=f"USTAFF{n}": c.body["channel"] == u)
        assert "Use initials only &lt;!channel&gt;" in text_of(dm) and "<!channel>" not in text_of(dm)


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
    slack.settle()
    assert len(fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)) == 1


def open_home(slack, fake, user: str) -> dict:
    before = len(fake.recorded("views.publish"))
    slack.send_event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    return fake.wait_for("views.publish", count=before + 1)[-1].body["view"]


def test_app_home_shows_my_requests_and_slt_the_drafts_waiting_with_their_age(slack, fake):
    reference = request(slack, fake)
    mine = json.dumps(open_home(slack, fake, STAFF_USER))
    assert messages.MY_REQUESTS_TITLE in mine and reference in mine and "Waiting for a decision" in mine
    assert messages.PENDING_REVIEWS_TITLE not in mine  # not SLT
    home = open_home(slack, fake, SLT_USER)
    queue = json.dumps(home)
    assert messages.PENDING_REVIEWS_TITLE in queue and "just now" in queue and "1 finding(s)" in queue
    view = next(e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"].startswith(actions.SO_VIEW))
    assert view["value"] == reference
    slack.click(view["action_id"], reference, user=SLT_USER, view={"id": "VHOME", "type": "home"})
    [full] = fake.wait_for("views.open", where=lambda c: messages.REVIEW_FULL_TITLE in text_of(c))
    assert "&lt;!channel&gt;" in text_of(full) and "<!channel>" not in text_of(full)
    assert slack.services.reviews.history(reference)[-1]["action"] == "viewed"
    slack.click(actions.SO_APPROVE, reference, user=SLT_USER_2, channel=SLT_CHANNEL)
    fake.wait_for("chat.postEphemeral")
    after = json.dumps(open_home(slack, fake, SLT_USER))
    assert messages.NO_PENDING_REVIEWS in after and reference not in after


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


# -- opt-in drafting channels ---------------------------------------------------------------

RISKY_POST = "Well done to Jamie Smith in 4B for winning the race! Fish &amp; chips for everyone after."
FINE_POST = "Reminder: the school fair is on Saturday from 10am. Everyone welcome!"


@pytest.fixture
def drafting(tmp_path, fake):
    """The bot with a public and a private drafting channel (and a Teams one, which Slack ignores)."""
    channels = "CDRAFTS, slack:GDRAFTS, teams:19:x@thread.tacv2"
    settings = slack_settings(tmp_path, fake, STAFFBOT_DRAFTING_CHANNELS=channels)
    with serving(Services(settings), fake) as bot:
        yield bot


def suggestions(fake) -> list:
    return fake.recorded("chat.postMessage", where=lambda c: messages.SUGGEST_SECOND_OPINION in text_of(c))


def test_a_flagged_message_in_a_drafting_channel_gets_one_gentle_thread_reply(drafting, fake):
    response, ts = drafting.channel_message(RISKY_POST, channel="CDRAFTS")
    assert response.status == 200
    [nudge] = fake.wait_for("chat.postMessage")
    assert nudge.body["channel"] == "CDRAFTS" and nudge.body["thread_ts"] == ts
    assert nudge.body["unfurl_links"] is False
    [button] = [e for b in nudge.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == actions.OPEN_SECOND_OPINION and button["value"] == ts
    assert "Jamie" not in text_of(nudge)  # the suggestion does not repeat the draft in the channel
    event = {"type": "message", "channel_type": "channel", "channel": "CDRAFTS", "user": STAFF_USER,
             "text": RISKY_POST, "ts": ts, "event_ts": ts}
    drafting.send_event(event, event_id="EvRETRY", retry=1)  # Slack's retry of an event it never saw answered
    drafting.send_event(event, event_id="EvRETRY", retry=2)
    drafting.settle()
    assert len(fake.recorded("chat.postMessage")) == 1


def test_private_drafting_channels_are_checked_too(drafting, fake):
    _, ts = drafting.channel_message(RISKY_POST, channel="GDRAFTS", channel_type="group")
    [nudge] = fake.wait_for("chat.postMessage")
    assert (nudge.body["channel"], nudge.body["thread_ts"]) == ("GDRAFTS", ts)


def test_a_post_with_a_photo_is_checked_by_its_caption(drafting, fake):
    drafting.direct_message("Can I post photos of a school trip?", subtype="file_share")  # a DM file: not a draft
    _, ts = drafting.channel_message(RISKY_POST, channel="CDRAFTS", subtype="file_share")
    [nudge] = fake.wait_for("chat.postMessage")
    assert nudge.body["thread_ts"] == ts and messages.SUGGEST_SECOND_OPINION in text_of(nudge)
    drafting.settle()
    assert len(fake.recorded("chat.postMessage")) == 1


def test_fine_posts_other_channels_replies_bots_and_questions_get_no_suggestion(drafting, fake):
    drafting.channel_message(FINE_POST, channel="CDRAFTS")
    drafting.channel_message(RISKY_POST, channel="CSTAFFROOM")
    drafting.channel_message(RISKY_POST, channel="CDRAFTS", thread_ts="1690000000.000001")
    drafting.channel_message(RISKY_POST, channel="CDRAFTS", bot_id="BOTHER")
    drafting.channel_message(RISKY_POST, channel="CDRAFTS", subtype="message_changed")
    drafting.channel_message(f"<@{BOT_USER}> {RISKY_POST}", channel="CDRAFTS")  # a question: app_mention answers it
    drafting.channel_message(RISKY_POST, channel="CDRAFTS")  # the one that is flagged
    fake.wait_for("chat.postMessage")
    drafting.settle()
    assert len(fake.recorded("chat.postMessage")) == 1
    db = drafting.services.store.db
    assert db.execute("select count(*) from draft_suggestions").fetchone()[0] == 1
    # only the two new top-level posts in the drafting channel were looked at; nothing else is even remembered
    assert db.execute("select count(*) from slack_events").fetchone()[0] == 2


def test_the_suggestion_button_opens_the_form_with_the_message_as_typed(drafting, fake):
    _, ts = drafting.channel_message(RISKY_POST, channel="CDRAFTS")
    [nudge] = fake.wait_for("chat.postMessage")
    drafting.click(actions.OPEN_SECOND_OPINION, ts, channel="CDRAFTS",
                   message={"ts": "1700000000.000001", "thread_ts": ts, "blocks": nudge.body["blocks"]})
    [opened] = fake.wait_for("views.open")
    assert opened.body["view"]["callback_id"] == "second_opinion_check"
    [update] = fake.wait_for("views.update")
    [draft] = [b for b in update.body["view"]["blocks"] if b.get("block_id") == "draft"]
    assert draft["element"]["initial_value"] == RISKY_POST.replace("&amp;", "&")
    [read] = fake.recorded("conversations.replies")
    assert (read.body["channel"], read.body["ts"]) == ("CDRAFTS", ts)


def test_the_button_under_an_answer_opens_an_empty_form(slack, fake):
    slack.direct_message("Should I reply to a parent complaint on the school Facebook page?")
    [answer] = fake.wait_for("chat.postMessage")
    button = next((e for b in answer.body["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == actions.OPEN_SECOND_OPINION), None)
    assert button is not None, text_of(answer)
    slack.click(actions.OPEN_SECOND_OPINION, button["value"], channel="DSTAFF")
    [opened] = fake.wait_for("views.open")
    assert opened.body["view"]["callback_id"] == "second_opinion_check"
    slack.settle()
    assert not fake.recorded("views.update") and not fake.recorded("conversations.replies")
