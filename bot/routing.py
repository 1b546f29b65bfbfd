"""Which SLT channels and safeguarding leads hear about each category of incident.

Read from `data/routing.toml` (or STAFFBOT_ROUTING) once at startup and validated
strictly, so a typo in a category name or a destination stops the bot with a message
naming the file, rather than sending a safeguarding report nowhere. See the shipped
file's comments for the format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from handlers.incident_models import Category
from knowledge.toml import tomllib

from bot.config import ConfigError, Settings

PLATFORMS = ("slack", "teams", "console")


class Destination(BaseModel):
    """A channel or person on one platform; `id` is the platform's own id."""

    model_config = ConfigDict(frozen=True)

    platform: str
    id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.id}"


def parse_destination(value: object) -> object:
    """'slack:C0123' / 'teams:19:abc@thread.tacv2' / bare 'C0123' (Slack) or '19:abc@thread.tacv2'
    (Teams: its channel ids start so, Slack's never) -> Destination."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    platform, _, rest = text.partition(":")
    if platform == "19":
        platform, rest = "teams", text
    elif platform not in PLATFORMS:
        platform, rest = "slack", text
    if not rest or any(ch.isspace() for ch in rest):
        raise ValueError(f"{value!r} is not a destination like 'slack:C0123' or 'teams:19:abc@thread.tacv2'")
    return Destination(platform=platform, id=rest)


Target = Annotated[Destination, BeforeValidator(parse_destination)]


def drafting_channels(settings: Settings, platform: str) -> frozenset[str]:
    """One platform's ids among STAFFBOT_DRAFTING_CHANNELS, which may name several ("C0123",
    "slack:C0123", "teams:19:abc@thread.tacv2")."""
    try:
        found = [parse_destination(value) for value in settings.drafting_channels]
    except ValueError as exc:
        raise ConfigError(f"STAFFBOT_DRAFTING_CHANNELS: {exc}") from None
    return frozenset(d.id for d in found if d.platform == platform)  # type: ignore[union-attr]


class RoutingFile(BaseModel):
    """The shape of routing.toml."""

    model_config = ConfigDict(extra="forbid")

    default: list[Target] = Field(default_factory=list)
    dsl: list[Target] = Field(default_factory=list)
    categories: dict[Category, list[Target]] = Field(default_factory=dict)


def read_routing_file(path: Path) -> RoutingFile:
    """The routing file as written, its shape checked (not yet that every category has a destination)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"STAFFBOT_ROUTING: cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"STAFFBOT_ROUTING: {path} is not valid TOML: {exc}") from None
    try:
        return RoutingFile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ConfigError(f"STAFFBOT_ROUTING: {path}: {where}: {error['msg']}") from None


class Routing:
    """Destinations per category, with the SLT channel setting as the fallback."""

    def __init__(self, table: RoutingFile, slt_channel: str = "", source: str = "routing") -> None:
        self.table = table
        fallback = table.default or ([parse_destination(slt_channel)] if slt_channel else [])
        self.default: list[Destination] = fallback  # type: ignore[assignment]
        missing = [c.value for c in Category if not self.destinations(c)]
        if missing:
            raise ConfigError(
                f"{source}: no destination for {', '.join(missing)}: "
                "set STAFFBOT_SLT_CHANNEL or `default` in the routing file"
            )

    @classmethod
    def load(cls, settings: Settings) -> Routing:
        """Read and check the routing file named by STAFFBOT_ROUTING."""
        path: Path = settings.routing_path
        table = read_routing_file(path)
        try:
            return cls(table, settings.slt_channel, source=f"STAFFBOT_ROUTING: {path}")
        except ValueError as exc:  # a malformed STAFFBOT_SLT_CHANNEL
            raise ConfigError(f"STAFFBOT_SLT_CHANNEL: {exc}") from None

    def destinations(self, category: Category) -> list[Destination]:
        return self.table.categories.get(category) or self.default

    @property
    def dsl(self) -> list[Destination]:
        return self.table.dsl
