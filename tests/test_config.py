from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_point_at_shipped_data():
    settings = load_settings()
    assert settings.policies_dir.name == "policies"
    assert (settings.policies_dir / "social-media-policy.txt").is_file()
    assert settings.slack_api_url == "https://slack.com/api/"


def test_comma_separated_ids_are_split(monkeypatch):
    monkeypatch.setenv("STAFFBOT_SLT_USERS", " U1, U2 ,,U3")
    assert load_settings().slt_users == ["U1", "U2", "U3"]


def test_malformed_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("STAFFBOT_REMINDER_HOURS", "soon")
    with pytest.raises(ConfigError, match="^STAFFBOT_REMINDER_HOURS is malformed"):
        load_settings()


def test_api_url_must_be_http(monkeypatch):
    monkeypatch.setenv("SLACK_API_URL", "ftp://example")
    with pytest.raises(ConfigError, match="SLACK_API_URL"):
        load_settings()


def test_require_names_the_missing_variable(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    settings = load_settings()
    settings.require("SLACK_BOT_TOKEN")
    with pytest.raises(ConfigError, match="^SLACK_SIGNING_SECRET is not set"):
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


def test_dotenv_file_is_read(tmp_path: Path):
    (tmp_path / ".env").write_text("STAFFBOT_SLT_CHANNEL=C42\n")
    assert load_settings().slt_channel == "C42"
