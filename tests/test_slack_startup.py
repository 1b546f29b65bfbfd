"""`staffbot serve slack` refuses to start with one line naming the setting that is wrong."""

from __future__ import annotations

import socket

import pytest
from slack_fake import fake, slack_settings  # noqa: F401

from bot.config import ConfigError
from bot.services import Services
from bot.slack import build_slack_app


def build(tmp_path, fake, **overrides) -> None:
    services = Services(slack_settings(tmp_path, fake, **overrides))
    try:
        build_slack_app(services)
    finally:
        services.close()


def test_a_token_slack_refuses_is_named(tmp_path, fake):
    fake.fail("auth.test", times=1, status=200, error="invalid_auth")
    with pytest.raises(ConfigError, match=r"^SLACK_BOT_TOKEN: Slack refused this token"):
        build(tmp_path, fake)


def test_an_unreachable_web_api_is_named(tmp_path, fake):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ConfigError, match=rf"^SLACK_API_URL: cannot reach http://127.0.0.1:{port}/"):
        build(tmp_path, fake, SLACK_API_URL=f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize("name", ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"])
def test_a_missing_secret_is_named(tmp_path, fake, name):
    with pytest.raises(ConfigError, match=rf"^{name} is not set"):
        build(tmp_path, fake, **{name: ""})
    assert not fake.recorded("auth.test")


def test_a_malformed_drafting_channel_is_named(tmp_path, fake):
    with pytest.raises(ConfigError, match=r"^STAFFBOT_DRAFTING_CHANNELS: 'slack:' is not a destination"):
        build(tmp_path, fake, STAFFBOT_DRAFTING_CHANNELS="C0DRAFTS,slack:")
