"""`staffbot serve slack|teams` check the settings before serving: one line and status 2 for a malformed one.

Nothing is served and no platform is called: the checks run before the app is built, so
these tests need neither a fake Slack API nor a fake Bot Connector.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

PLATFORM_SETTINGS = {
    "slack": {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"},
    "teams": {"STAFFBOT_TEAMS_NO_AUTH": "1"},
}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def bad_settings(tmp_path: Path) -> dict[str, tuple[dict[str, str], str]]:
    """Settings that are set but wrong -> the start of the one line that must name them."""
    routing = "STAFFBOT_ROUTING"
    return {
        "unknown category": ({routing: str(write(tmp_path / "r1.toml", 'default = ["slack:C0SLT"]\n[categories]\n'
                                                 'bulying = ["slack:C0HEAD"]\n'))}, f"{routing}: {tmp_path}"),
        "not TOML": ({routing: str(write(tmp_path / "r2.toml", "default = [slack:C0SLT\n"))}, f"{routing}: "),
        "bad destination": ({routing: str(write(tmp_path / "r3.toml", 'default = ["slack:C0 SLT"]\n'))},
                            f"{routing}: {tmp_path}"),
        "category without a destination": (
            {routing: str(write(tmp_path / "r4.toml", '[categories]\nbullying = ["teams:19:x@thread.tacv2"]\n'))},
            f"{routing}: {tmp_path / 'r4.toml'}: no destination for offensive_comment"),
        "missing routing file": ({routing: str(tmp_path / "nowhere.toml"), "STAFFBOT_SLT_CHANNEL": "C0SLT"},
                                 f"{routing}: cannot read"),
        "SLT channel": ({"STAFFBOT_SLT_CHANNEL": "teams:"}, "STAFFBOT_SLT_CHANNEL"),
        "review channel": ({"STAFFBOT_SLT_CHANNEL": "C0SLT", "STAFFBOT_REVIEW_CHANNEL": "C0 REVIEW"},
                           "STAFFBOT_REVIEW_CHANNEL"),
        "policies": ({"STAFFBOT_SLT_CHANNEL": "C0SLT", "STAFFBOT_POLICIES": str(tmp_path)}, "STAFFBOT_POLICIES"),
        "do-not-publish list": ({"STAFFBOT_SLT_CHANNEL": "C0SLT", "STAFFBOT_DO_NOT_PUBLISH": str(tmp_path / "x.txt")},
                                "STAFFBOT_DO_NOT_PUBLISH: the do-not-publish list can't be read"),
    }


CASES = ["unknown category", "not TOML", "bad destination", "category without a destination", "missing routing file",
         "SLT channel", "review channel", "policies", "do-not-publish list"]


@pytest.mark.parametrize("platform", ["slack", "teams"])
@pytest.mark.parametrize("case", CASES)
def test_a_malformed_setting_stops_serve_with_one_line_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], platform: str, case: str
) -> None:
    settings, expected = bad_settings(tmp_path)[case]
    for name, value in {"STAFFBOT_DB": str(tmp_path / "bot.db"), **PLATFORM_SETTINGS[platform], **settings}.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", platform, "--host", "127.0.0.1", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"staffbot: error: {expected}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "listening" not in err


@pytest.mark.parametrize("platform", ["slack", "teams"])
def test_a_fresh_install_without_any_slt_channel_is_not_an_error(tmp_path: Path, platform: str) -> None:
    """Teams schools must run the bot to learn their SLT channel's id, so "not set up yet" only warns."""
    from bot.cli_serve import check_settings, reports_unconfigured
    from bot.config import load_settings
    from bot.services import Services

    services = Services(load_settings(STAFFBOT_DB=tmp_path / "bot.db"))
    try:
        assert reports_unconfigured(services.settings)
        check_settings(services, platform)  # no exception: the shipped routing.toml names no destination
        for task in services.outbox.periodic:  # nor on every pass of the delivery worker (reminders)
            task()
    finally:
        services.close()
