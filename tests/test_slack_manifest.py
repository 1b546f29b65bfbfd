"""manifest.json against what the app handles: nothing missing, nothing extra, never a 404."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from slack_fake import STAFF_USER, fake, slack  # noqa: F401

from bot import paths
from bot.slack import COMMANDS, EVENTS, SHORTCUTS

MANIFEST = json.loads((paths.ROOT / "manifest.json").read_text(encoding="utf-8"))
FEATURES = MANIFEST["features"]

EVENT_SAMPLES = {
    "app_mention": {"type": "app_mention", "text": "<@UBOT> help", "user": STAFF_USER, "ts": "1.2", "channel": "C1"},
    "message.im": {"type": "message", "channel_type": "im", "text": "help", "user": STAFF_USER, "ts": "1.3",
                   "channel": "D1"},
    "message.channels": {"type": "message", "channel_type": "channel", "text": "Lunch?", "user": STAFF_USER,
                         "ts": "1.4", "channel": "C1"},
    "message.groups": {"type": "message", "channel_type": "group", "text": "Lunch?", "user": STAFF_USER,
                       "ts": "1.5", "channel": "G1"},
    "app_home_opened": {"type": "app_home_opened", "user": STAFF_USER, "channel": "D1", "tab": "home"},
}


def test_the_manifest_names_exactly_what_the_code_handles():
    assert sorted(c["command"] for c in FEATURES["slash_commands"]) == sorted(COMMANDS)
    assert sorted(s["callback_id"] for s in FEATURES["shortcuts"]) == sorted(SHORTCUTS)
    assert sorted(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == sorted(EVENTS)
    assert set(EVENT_SAMPLES) == set(EVENTS)


# The scope Slack requires before it delivers each event.
EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.im": "im:history",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
}


def test_the_manifest_asks_for_home_tab_messages_interactivity_and_modest_scopes():
    assert FEATURES["app_home"]["home_tab_enabled"] and FEATURES["app_home"]["messages_tab_enabled"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"]
    assert "socket_mode_enabled" in MANIFEST["settings"]
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write"} | {EVENT_SCOPES[e] for e in EVENTS if e in EVENT_SCOPES} <= scopes
    # reading messages only where an event needs it: DMs, and channels the bot is invited to (drafting channels)
    assert {s for s in scopes if s.endswith((":history", ":read")) and s != "usergroups:read"} == {
        EVENT_SCOPES[e] for e in EVENTS if e in EVENT_SCOPES
    }
    assert all(c["command"].islower() and len(c["description"]) <= 100 for c in FEATURES["slash_commands"])


@pytest.mark.parametrize("event", EVENTS)
def test_every_subscribed_event_has_a_listener(slack, event):
    assert slack.send_event(EVENT_SAMPLES[event]).status == 200


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_listener(slack, command):
    assert slack.command(command).status == 200


def test_every_shortcut_has_a_listener(slack, fake):
    payload = {
        "type": "message_action", "callback_id": SHORTCUTS[0], "trigger_id": "t.1", "team": {"id": "T111"},
        "user": {"id": STAFF_USER, "username": "staff"}, "channel": {"id": "C1"},
        "message": {"type": "message", "user": STAFF_USER, "ts": "1.1", "text": "Our trip to the zoo!"},
        "response_url": fake.response_url(), "message_ts": "1.1",
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    assert slack.post(body, "application/x-www-form-urlencoded").status == 200
