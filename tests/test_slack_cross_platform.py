"""Both platforms at once (issue 6 §2): made in Teams, handled by SLT in Slack because routing says so.

One `Services` serves the Slack app (fake Slack Web API) and the Teams app (fake Bot
Connector) as `staffbot serve slack` and `staffbot serve teams` would over one database;
STAFFBOT_SLT_CHANNEL names a Slack channel, so Teams reports and drafts are posted there,
and the Teams reporter hears about SLT's decisions in their Teams chat.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from slack_fake import SLT_CHANNEL, SLT_USER, SLT_USER_2, SlackBot, fake, serving, slack_settings, text_of  # noqa: F401
from teams_fake import TENANT, TeamsHarness

from bot.services import Services
from bot.teams import build_teams_app
from handlers import actions, messages

TEACHER = "aad-teacher"
TEACHER_CHAT = f"a:personal-{TEACHER}"
NARRATIVE = "A pupil posted a photo of a colleague with a rude caption."


@pytest.fixture
def both(tmp_path, fake) -> Iterator[tuple[SlackBot, TeamsHarness]]:
    settings = slack_settings(tmp_path, fake, STAFFBOT_TEAMS_NO_AUTH=True, MICROSOFT_APP_TENANT_ID=TENANT)
    with serving(Services(settings), fake) as slack:
        teams = TeamsHarness(lambda: build_teams_app(slack.services))
        try:
            status, _ = teams.post(teams.activity(user=TEACHER, name="Jane Teacher", text="help"))
            assert status == 201  # the bot now knows Jane's Teams chat
            yield slack, teams
        finally:
            teams.close()


def told_in_teams(slack: SlackBot, teams: TeamsHarness, text: str) -> list:
    return slack.fake.wait_until(lambda: [c for c in teams.connector.to(TEACHER_CHAT) if text in c.text])


def test_a_report_made_in_teams_is_posted_to_slack_and_slt_acting_there_tells_the_reporter_in_teams(both, fake):
    slack, teams = both
    value = {"staffbot": "submit_report", "nonce": str(uuid.uuid4()), "category": "bullying",
             "what_happened": NARRATIVE, "platform": "Instagram", "link": "", "when": "", "people": "",
             "urgent": "false"}
    status, _ = teams.post(teams.activity(user=TEACHER, name="Jane Teacher", value=value, reply_to="form-1"))
    assert status == 201
    [incident] = slack.services.incidents.all()
    assert incident.reporter.platform == "teams" and incident.reporter.user_id == TEACHER
    reference = incident.reference
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    assert reference in text_of(post) and "rude caption" not in text_of(post)

    slack.click(actions.INCIDENT_ACKNOWLEDGE, reference, user=SLT_USER, channel=SLT_CHANNEL)
    [update] = fake.wait_for("chat.update")
    assert "Acknowledged" in text_of(update)
    fake.wait_for("chat.postMessage", where=lambda c: c.body.get("thread_ts") is not None)
    told_in_teams(slack, teams, messages.reporter_update(reference, "acknowledged"))
    assert not fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == TEACHER)  # not in Slack
    assert slack.services.outbox.failed() == []


def test_a_draft_sent_from_teams_is_decided_in_slack_and_the_requester_told_in_teams(both, fake):
    slack, teams = both
    teams.post(teams.activity(user=TEACHER, name="Jane Teacher", text="second opinion"))
    form = teams.connector.to(TEACHER_CHAT)[-1].card
    nonce = form["actions"][0]["data"]["nonce"]
    value = {"staffbot": "check_draft", "nonce": nonce, "text": "Well done to Jamie Smith in 4B for winning!",
             "account": "@school", "learner_images": "false", "permission_checked": "false"}
    teams.post(teams.activity(user=TEACHER, name="Jane Teacher", value=value, reply_to="so-form"))
    send = next(a for a in teams.connector.to(TEACHER_CHAT)[-1].card["actions"]
                if a["data"].get("staffbot") == actions.SO_SEND)
    teams.post(teams.activity(user=TEACHER, name="Jane Teacher", value=send["data"], reply_to="so-check"))
    [(reference,)] = slack.services.store.db.execute("select reference from review_requests").fetchall()
    request = slack.services.reviews.get(reference)
    assert request.requester.platform == "teams" and request.requester.user_id == TEACHER
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    assert request.reference in text_of(post) and "Jamie Smith" in text_of(post)

    slack.click(actions.SO_APPROVE, request.reference, user=SLT_USER_2, channel=SLT_CHANNEL)
    fake.wait_for("chat.update")
    told_in_teams(slack, teams, "was approved by")
    assert slack.services.reviews.get(request.reference).status == "approved"
