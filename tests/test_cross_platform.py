"""Both platforms at once, routing deciding per category: made in Slack, handled by SLT in Teams.

One `Services` serves the Slack app (fake Slack Web API) and the Teams app (fake Bot
Connector) over one database, as `staffbot serve slack` and `staffbot serve teams` would.
The routing file sends bullying reports to the Teams SLT channel and everything else to
the Slack one; second opinions go to Teams (STAFFBOT_REVIEW_CHANNEL). SLT act with the
Teams card buttons and the Slack reporter hears about it in Slack. (Made in Teams and
handled in Slack: tests/test_slack_cross_platform.py.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from slack_fake import SLT_CHANNEL, STAFF_USER, FakeSlack, SlackBot, fake, serving, slack_settings, text_of  # noqa: F401
from teams_fake import CHANNEL, TENANT, TeamsHarness

from bot.services import Services
from bot.teams import build_teams_app
from handlers import actions, messages

HEAD = "aad-head"
TEACHER = "aad-teacher"
NARRATIVE = "Pupils made a group chat mocking a classmate's photo."


@pytest.fixture
def both(tmp_path: Path, fake: FakeSlack) -> Iterator[tuple[SlackBot, TeamsHarness]]:
    routing = tmp_path / "routing.toml"
    routing.write_text(f'default = ["slack:{SLT_CHANNEL}"]\n[categories]\nbullying = ["teams:{CHANNEL}"]\n')
    settings = slack_settings(tmp_path, fake, STAFFBOT_ROUTING=routing, STAFFBOT_REVIEW_CHANNEL=f"teams:{CHANNEL}",
                              STAFFBOT_TEAMS_NO_AUTH=True, MICROSOFT_APP_TENANT_ID=TENANT,
                              STAFFBOT_TEAMS_SLT_USERS=HEAD)
    with serving(Services(settings), fake) as slack:
        teams = TeamsHarness(lambda: build_teams_app(slack.services))
        try:
            install = teams.activity(kind="conversationUpdate", channel=CHANNEL, user=HEAD, name="Head")
            assert teams.post(install)[0] == 201  # the bot now knows the Teams SLT channel
            yield slack, teams
        finally:
            teams.close()


def report_in_slack(slack: SlackBot, category: str) -> str:
    assert slack.command("/report").status == 200
    view = slack.fake.wait_for("views.open")[-1].body["view"]
    state = {
        "category": {"value": {"type": "static_select", "selected_option": {"value": category}}},
        "what_happened": {"value": {"type": "plain_text_input", "value": NARRATIVE}},
        "platform": {"value": {"type": "plain_text_input", "value": "WhatsApp"}},
        "link": {"value": {"type": "plain_text_input", "value": None}},
        "when": {"value": {"type": "datepicker", "selected_date": date.today().isoformat()}},
        "people": {"value": {"type": "plain_text_input", "value": None}},
        "urgent": {"value": {"type": "checkboxes", "selected_options": []}},
    }
    answer = slack.submit(view, state, view_id=f"V{category}").json()
    assert answer["response_action"] == "update", answer
    return json.dumps(answer["view"]).split("Your report ")[1].split(" ")[0]


def thread_root(slack: SlackBot, reference: str) -> str:
    """The Teams message id of the record's SLT post, once the outbox has delivered it."""
    rows = slack.fake.wait_until(lambda: slack.services.store.db.execute(
        "select result_ref from outbox where subject = ? and kind = 'post' and status = 'sent'", [reference]
    ).fetchall())
    return rows[0][0]


def test_a_slack_report_routed_to_teams_is_acknowledged_there_and_the_reporter_told_in_slack(both, fake):
    slack, teams = both
    reference = report_in_slack(slack, "bullying")
    root = thread_root(slack, reference)
    [post] = teams.connector.created()
    assert post.body["channelData"]["channel"]["id"] == CHANNEL
    assert reference in post.text and NARRATIVE not in post.text
    assert not fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)

    status, card = teams.post(teams.execute(actions.INCIDENT_ACKNOWLEDGE, {"value": reference}, channel=CHANNEL,
                                            user=HEAD, name="Head", reply_to=root))
    assert status == 200 and card["type"] == "application/vnd.microsoft.card.adaptive"  # updated in place
    assert "Acknowledged" in json.dumps(card["value"])
    [dm] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)
    assert messages.reporter_update(reference, "acknowledged") in text_of(dm)
    in_thread = teams.wait_for(lambda c: [x for x in c.to(f"{CHANNEL};messageid={root}") if x.method == "POST"])
    assert any(f"{reference}: acknowledged by Head" in x.text for x in in_thread)
    assert slack.services.incidents.get(reference).status == "acknowledged"
    assert slack.services.outbox.failed() == []


def test_routing_decides_per_category_which_platform_hears(both, fake):
    slack, teams = both
    in_teams = report_in_slack(slack, "bullying")
    in_slack = report_in_slack(slack, "other")
    thread_root(slack, in_teams)
    thread_root(slack, in_slack)
    [teams_post] = teams.connector.created()
    [slack_post] = fake.recorded("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL
                                 and "thread_ts" not in c.body)
    assert in_teams in teams_post.text and in_slack not in teams_post.text
    assert in_slack in text_of(slack_post) and in_teams not in text_of(slack_post)


def test_a_slack_draft_is_rejected_in_teams_and_the_requester_told_in_slack(both, fake):
    slack, teams = both
    draft = "Huge thanks to Amy Jones in 6C for her brilliant poster!"
    slack.command("/secondopinion", draft)
    view = fake.wait_for("views.open")[-1].body["view"]
    state = {
        "draft": {"value": {"type": "plain_text_input", "value": draft}},
        "target": {"value": {"type": "plain_text_input", "value": "School Facebook"}},
        "learner_images": {"value": {"type": "checkboxes", "selected_options": []}},
        "permission_checked": {"value": {"type": "checkboxes", "selected_options": []}},
    }
    checked = slack.submit(view, state, view_id="VDRAFT").json()
    sent = slack.submit(checked["view"], state, view_id="VDRAFT").json()
    reference = json.dumps(sent["view"]).split("Your draft ")[1].split(" ")[0]
    root = thread_root(slack, reference)
    [post] = teams.connector.created()
    assert reference in post.text and "Amy Jones" in post.text

    status, body = teams.post(teams.execute(actions.SO_REJECT, {"value": reference}, channel=CHANNEL, user=STAFF_USER))
    assert "Only the senior leadership team" in body["value"]  # a Slack id is nobody in Teams
    status, body = teams.post(teams.execute(actions.SO_REJECT, {"value": reference, "comment": "Full name and class"},
                                            channel=CHANNEL, user=HEAD, name="Head", reply_to=root))
    assert status == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    [dm] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == STAFF_USER)
    assert "should not be published" in text_of(dm) and "Full name and class" in text_of(dm)
    request = slack.services.reviews.get(reference)
    assert request.status == "rejected" and request.decided_by == "Head"


def test_a_teams_report_of_another_category_goes_to_slack(both, fake):
    slack, teams = both
    value = {"staffbot": "submit_report", "nonce": str(uuid.uuid4()), "category": "copyright",
             "what_happened": "Our logo is on a stranger's page.", "urgent": "false"}
    assert teams.post(teams.activity(user=TEACHER, value=value, reply_to="form-1"))[0] == 201
    [incident] = slack.services.incidents.all()
    [post] = fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == SLT_CHANNEL)
    assert incident.reference in text_of(post)
    assert teams.connector.created() == []
