"""One typed settings object, read from the environment or a `.env` file and validated once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import platformdirs
from dotenv.parser import parse_stream
from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import paths


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def _split_ids(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


IdList = Annotated[list[str], NoDecode]


ENV_FILE = ".env"  # in the directory the bot is run from
LINE_END = re.compile(r"\r\n|\n|\r")  # as python-dotenv counts lines

PATHS = ("db_path", "policies_dir", "vocabulary_path", "review_rules_dir", "do_not_publish_path", "routing_path",
         "cache_dir")


class Settings(BaseSettings):
    """Every setting the bot reads. Environment variable names are given by `alias`."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore",
                                      populate_by_name=True)

    db_path: Path = Field(paths.DATA / "staffbot.db", alias="STAFFBOT_DB")
    policies_dir: Path = Field(paths.POLICIES, alias="STAFFBOT_POLICIES")
    vocabulary_path: Path = Field(paths.DATA / "vocabulary.toml", alias="STAFFBOT_VOCABULARY")
    review_rules_dir: Path = Field(paths.DATA / "review", alias="STAFFBOT_REVIEW_RULES")
    do_not_publish_path: Path | None = Field(None, alias="STAFFBOT_DO_NOT_PUBLISH")
    routing_path: Path = Field(paths.DATA / "routing.toml", alias="STAFFBOT_ROUTING")
    cache_dir: Path = Field(default_factory=lambda: platformdirs.user_cache_path("staffbot"), alias="STAFFBOT_CACHE")

    slt_channel: str = Field("", alias="STAFFBOT_SLT_CHANNEL")
    review_channel: str = Field("", alias="STAFFBOT_REVIEW_CHANNEL")
    slt_users: IdList = Field(default_factory=list, alias="STAFFBOT_SLT_USERS")
    slt_usergroup: str = Field("", alias="STAFFBOT_SLT_USERGROUP")
    drafting_channels: IdList = Field(default_factory=list, alias="STAFFBOT_DRAFTING_CHANNELS")
    reminder_hours: float = Field(4.0, gt=0, allow_inf_nan=False, alias="STAFFBOT_REMINDER_HOURS")

    slack_bot_token: str = Field("", alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str = Field("", alias="SLACK_SIGNING_SECRET")
    slack_app_token: str = Field("", alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")

    microsoft_app_id: str = Field("", alias="MICROSOFT_APP_ID")
    microsoft_app_password: str = Field("", alias="MICROSOFT_APP_PASSWORD")
    microsoft_app_tenant_id: str = Field("", alias="MICROSOFT_APP_TENANT_ID")
    microsoft_app_type: str = Field("MultiTenant", alias="MICROSOFT_APP_TYPE")
    teams_no_auth: bool = Field(False, alias="STAFFBOT_TEAMS_NO_AUTH")
    teams_slt_users: IdList = Field(default_factory=list, alias="STAFFBOT_TEAMS_SLT_USERS")

    _split = field_validator("slt_users", "drafting_channels", "teams_slt_users", mode="before")(_split_ids)

    @field_validator(*PATHS, mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise PydanticUseDefault()  # STAFFBOT_POLICIES= means the default, never "the current directory"
        return value

    @field_validator(*PATHS)
    @classmethod
    def _home(cls, value: Path | None) -> Path | None:
        try:
            return value.expanduser() if value is not None else None  # "~/staffbot.db" as written in a .env file
        except RuntimeError as exc:  # "~nobody/x.db", or no home directory at all
            raise ValueError(f"cannot expand ~ ({exc})") from None

    @field_validator("slack_api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    def require(self, *names: str) -> None:
        """Raise ConfigError naming the first of these settings (by env name) that is empty."""
        for name in names:
            field = next(f for f, info in type(self).model_fields.items() if info.alias == name)
            if not getattr(self, field):
                raise ConfigError(f"{name} is not set: see the Configuration section of the README.")


def check_env_file() -> None:
    """python-dotenv skips a line it cannot parse with only a logged warning, so a mistyped
    setting would quietly keep its default: stop instead, naming the file and the line (not
    its text, which may hold a secret)."""
    path = Path(ENV_FILE)
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            if binding.error:
                text = binding.original.string  # begins with the blank lines before it, if any
                line = binding.original.line + len(LINE_END.findall(text[: len(text) - len(text.lstrip())]))
                raise ConfigError(f"{path} line {line} is not NAME=value: correct it, or make it a comment "
                                  "by starting it with #")


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation error or an unreadable `.env` line into one line that
    names the variable or the line."""
    try:
        check_env_file()
        return Settings(**overrides)
    except UnicodeDecodeError:
        raise ConfigError(".env is not UTF-8 text: save it as UTF-8") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        raise ConfigError(f"{name} is malformed: {error['msg']}") from None
