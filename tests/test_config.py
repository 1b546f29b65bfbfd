import re
from pathlib import Path

import platformdirs
import pytest

from bot.config import ConfigError, load_settings


def test_defaults_point_at_shipped_data():
    settings = load_settings()
    assert settings.policies_dir.name == "policies"
    assert (settings.policies_dir / "social-media-policy.txt").is_file()
    assert settings.slack_api_url == "https://slack.com/api/"


def test_index_analyses_are_kept_in_the_users_cache_folder_unless_staffbot_cache_says(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("STAFFBOT_CACHE")
    assert load_settings().cache_dir == platformdirs.user_cache_path("staffbot")
    monkeypatch.setenv("STAFFBOT_CACHE", "")
    assert load_settings().cache_dir == platformdirs.user_cache_path("staffbot")
    monkeypatch.setenv("STAFFBOT_CACHE", str(tmp_path / "c"))
    assert load_settings().cache_dir == tmp_path / "c"


def test_comma_separated_ids_are_split(monkeypatch):
    monkeypatch.setenv("STAFFBOT_SLT_USERS", " U1, U2 ,,U3")
    assert load_settings().slt_users == ["U1", "U2", "U3"]


def test_require_names_the_missing_variable(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    settings = load_settings()
    settings.require("SLACK_BOT_TOKEN")
    with pytest.raises(ConfigError, match="^SLACK_SIGNING_SECRET is not set"):
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


def test_dotenv_file_is_read(tmp_path: Path):
    (tmp_path / ".env").write_text("STAFFBOT_SLT_CHANNEL=C42\n")
    assert load_settings().slt_channel == "C42"


def test_a_dotenv_file_that_is_not_utf8_is_named(tmp_path: Path):
    (tmp_path / ".env").write_bytes(b"STAFFBOT_SLT_CHANNEL=caf\xe9\n")
    with pytest.raises(ConfigError, match=r"^\.env is not UTF-8 text"):
        load_settings()


def test_a_dotenv_line_that_cannot_be_read_stops_startup_naming_the_file_and_line(tmp_path: Path, capsys):
    from bot.cli import main

    (tmp_path / ".env").write_text("# Slack\nSTAFFBOT_SLT_CHANNEL=C42\n\n\nSLACK_SIGNING_SECRET s3cret-value\n"
                                   "STAFFBOT_REMINDER_HOURS=2\n")
    with pytest.raises(ConfigError, match=r"^\.env line 5 is not NAME=value: correct it, or make it a comment"):
        load_settings()
    assert main(["kb"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("staffbot: error: .env line 5 ") and err.count("\n") == 1 and "s3cret" not in err


def test_a_valid_dotenv_file_with_comments_blank_lines_export_quotes_and_crlf_still_loads(tmp_path: Path):
    (tmp_path / ".env").write_bytes(
        b"\xef\xbb\xbf# staffbot settings\r\n\r\n  # indented comment\r\nexport STAFFBOT_SLT_CHANNEL=C42\r\n"
        b"STAFFBOT_SLT_USERS=\"U1, U2\"  # SLT\r\nSTAFFBOT_REMINDER_HOURS='2.5'\r\nSLACK_APP_TOKEN=\r\n\r\n")
    settings = load_settings()
    assert (settings.slt_channel, settings.slt_users, settings.reminder_hours) == ("C42", ["U1", "U2"], 2.5)
    assert settings.slack_app_token == ""


def test_an_empty_path_setting_means_the_default_and_a_home_path_is_expanded(monkeypatch, tmp_path: Path):
    (tmp_path / ".env").write_text("SLACK_APP_TOKEN=xapp-from-the-file\n")
    monkeypatch.setenv("SLACK_APP_TOKEN", "")  # an empty variable still overrides .env where it means "off"
    monkeypatch.setenv("STAFFBOT_POLICIES", "")
    monkeypatch.setenv("STAFFBOT_DB", "~/staffbot.db")
    settings = load_settings()
    assert settings.slack_app_token == ""
    assert (settings.policies_dir / "social-media-policy.txt").is_file()  # the shipped folder, not the working one
    assert settings.db_path == Path.home() / "staffbot.db"


@pytest.mark.parametrize(("vocabulary", "message"), [
    ("missing.toml", "STAFFBOT_VOCABULARY: cannot read .*missing.toml: No such file or directory"),
    ("bad.toml", "STAFFBOT_VOCABULARY: vocabulary file .*bad.toml is malformed"),
])
def test_a_bad_vocabulary_setting_is_named(tmp_path: Path, monkeypatch, vocabulary, message):
    from bot.services import load_knowledge

    (tmp_path / "bad.toml").write_text("[concepts\n", encoding="utf-8")
    monkeypatch.setenv("STAFFBOT_VOCABULARY", str(tmp_path / vocabulary))
    with pytest.raises(ConfigError, match=message):
        load_knowledge(load_settings())


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("STAFFBOT_REMINDER_HOURS", "soon", "Input should be a valid number"),
    ("STAFFBOT_REMINDER_HOURS", "inf", "finite number"),
    ("STAFFBOT_REMINDER_HOURS", "nan", "finite number"),
    ("STAFFBOT_REMINDER_HOURS", "0", "greater than 0"),
    ("SLACK_API_URL", "ftp://example", "must start with http:// or https://"),
    ("STAFFBOT_DB", "~no-such-user-here/x.db", "cannot expand ~"),
])
def test_a_malformed_setting_is_one_line_naming_the_variable(monkeypatch, name, value, problem):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name} is malformed: .*{re.escape(problem)}"):
        load_settings()
