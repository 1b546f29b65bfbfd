"""Authentication at /api/messages: refused starts without an App ID, 401 for missing or garbage tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from teams_fake import TENANT, TeamsHarness

from bot.config import ConfigError, load_settings
from bot.services import Services
from bot.teams import build_teams_app


def make_services(tmp_path: Path, **settings: object) -> Services:
    return Services(load_settings(**{"STAFFBOT_DB": tmp_path / "staffbot.db", "MICROSOFT_APP_TENANT_ID": TENANT,
                                     **settings}))


@pytest.fixture
def authenticated(tmp_path: Path) -> Iterator[TeamsHarness]:
    services = make_services(tmp_path, MICROSOFT_APP_ID="00000000-0000-0000-0000-00000000b07a",
                             MICROSOFT_APP_PASSWORD="secret")
    harness = TeamsHarness(lambda: build_teams_app(services))
    yield harness
    harness.close()
    services.close()


def test_without_an_app_id_it_refuses_to_start(tmp_path: Path) -> None:
    services = make_services(tmp_path)
    with pytest.raises(ConfigError, match="MICROSOFT_APP_ID"):
        build_teams_app(services)
    services.close()


def test_no_auth_mode_is_announced_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    services = make_services(tmp_path, STAFFBOT_TEAMS_NO_AUTH=True)
    build_teams_app(services)
    assert "NOT authenticated" in capsys.readouterr().err
    services.close()


def test_request_without_a_token_is_401(authenticated: TeamsHarness) -> None:
    status, body = authenticated.post(authenticated.activity(text="Can I post photos?"))
    assert status == 401 and body == {"error": "unauthorized"}
    assert authenticated.connector.calls == []


@pytest.mark.parametrize("token", ["Bearer garbage", "Bearer a.b.c", "Basic dXNlcjpwYXNz"])
def test_request_with_a_malformed_token_is_401(authenticated: TeamsHarness, token: str) -> None:
    status, _ = authenticated.post(authenticated.activity(text="Can I post photos?"), {"Authorization": token})
    assert status == 401
    assert authenticated.connector.calls == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"MICROSOFT_APP_TYPE": "SingleTennant", "STAFFBOT_TEAMS_NO_AUTH": True},
         "MICROSOFT_APP_TYPE is 'SingleTennant'"),
        ({"MICROSOFT_APP_ID": "app"}, "MICROSOFT_APP_PASSWORD is not set"),
        ({"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "secret", "MICROSOFT_APP_TYPE": "SingleTenant",
          "MICROSOFT_APP_TENANT_ID": ""}, "MICROSOFT_APP_TENANT_ID is not set: MICROSOFT_APP_TYPE=SingleTenant"),
    ],
)
def test_credentials_teams_would_reject_stop_it_from_starting(tmp_path: Path, settings: dict, message: str) -> None:
    services = make_services(tmp_path, **settings)
    with pytest.raises(ConfigError, match=message):
        build_teams_app(services)
    services.close()


def test_no_auth_mode_ignores_the_app_type(tmp_path: Path) -> None:
    """Without an App ID there are no credentials to type: SingleTenant must not need a password."""
    services = make_services(tmp_path, STAFFBOT_TEAMS_NO_AUTH=True, MICROSOFT_APP_TYPE="SingleTenant")
    harness = TeamsHarness(lambda: build_teams_app(services))
    try:
        status, _ = harness.post(harness.activity(text="Can I accept a friend request from a former pupil?"))
        assert status == 201
        [reply] = harness.connector.posts()
        assert reply.authorization is None  # anonymous: no token is sent to the connector
    finally:
        harness.close()
        services.close()
