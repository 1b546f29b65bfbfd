"""Incident reports as data: the form staff fill in, the stored record, and what to send.

`ReportForm` validates one submission; `form_errors(exc)` turns its `ValidationError` into
`{field name: message}` so Slack can answer `response_action: errors` keyed by block id,
Teams can show the message next to the input and the console can ask again. Field names:
category, what_happened, platform, link, when, people, urgent.

`IncidentBook` is what the report handlers need from storage (bot/incidents.py
implements it over SQLite). A `Notice` is a message the handlers want sent, addressed by
audience rather than by channel id: the book resolves "slt" to the routed SLT
destinations (and, for thread replies and updates, to the posts already made there),
"dsl" to the designated safeguarding leads and "reporter" to the person who reported,
and enqueues them in the same transaction as the change they describe.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Literal, Protocol
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from handlers.models import Actor, Reply, unreadable

MAX_NARRATIVE_CHARS = 3000
MAX_SHORT_CHARS = 300
EARLIEST = date(1990, 1, 1)  # a year typed as "0001" or "1026" is a slip, not an incident
MAX_LINK_CHARS = 2000


class Category(str, Enum):
    """What kind of incident, after the school's social media policy."""

    OFFENSIVE_COMMENT = "offensive_comment"
    BULLYING = "bullying"
    COLLEAGUE_ABUSE = "colleague_abuse"
    DATA_BREACH = "data_breach"
    COPYRIGHT = "copyright"
    COMPROMISING_IMAGE = "compromising_image"
    MEDIA_CONTACT = "media_contact"
    PERSONAL_CONDUCT = "personal_conduct"
    LEARNER_SAFETY = "learner_safety"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.OFFENSIVE_COMMENT: "Offensive or inappropriate comment on a school account",
    Category.BULLYING: "Bullying or harassment",
    Category.COLLEAGUE_ABUSE: "Abuse by a colleague",
    Category.DATA_BREACH: "Data protection or confidentiality breach",
    Category.COPYRIGHT: "Copyright",
    Category.COMPROMISING_IMAGE: "Compromising or inappropriate image",
    Category.MEDIA_CONTACT: "Journalist or media contact",
    Category.PERSONAL_CONDUCT: "Staff conduct on personal accounts",
    Category.LEARNER_SAFETY: "Learner safety concern",
    Category.OTHER: "Other",
}

Status = Literal["new", "acknowledged", "escalated", "resolved"]
STATUS_LABELS: dict[str, str] = {
    "new": "New — not yet acknowledged",
    "acknowledged": "Acknowledged",
    "escalated": "Escalated",
    "resolved": "Resolved",
}


def _clean(text: str) -> str:
    """Strip, and refuse control characters other than line breaks and tabs."""
    text = text.strip()
    if unreadable(text):
        raise ValueError("This contains characters I can't store; please type it as plain text.")
    return text


class ReportForm(BaseModel):
    """One incident report as submitted, validated field by field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: Category
    what_happened: str
    platform: str = ""
    link: str = ""
    when: date = Field(default_factory=date.today)
    people: str = ""
    urgent: bool = False

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: object) -> object:
        if isinstance(value, str):
            key = value.strip().lower()
            for category in Category:
                if key in (category.value, category.label.lower()):
                    return category
            raise ValueError("Please choose one of the listed categories.")
        return value

    @field_validator("what_happened")
    @classmethod
    def _narrative(cls, text: str) -> str:
        text = _clean(text)
        if not text:
            raise ValueError("Please describe what happened.")
        if len(text) > MAX_NARRATIVE_CHARS:
            raise ValueError(
                f"That is {len(text):,} characters; please keep it to {MAX_NARRATIVE_CHARS:,} "
                "(the senior leadership team can ask you for more)."
            )
        return text

    @field_validator("platform")
    @classmethod
    def _platform(cls, text: str) -> str:
        text = " ".join(_clean(text).split())
        if len(text) > MAX_SHORT_CHARS:
            raise ValueError(f"Please keep this to {MAX_SHORT_CHARS:,} characters (where it happened, e.g. Instagram).")
        return text

    @field_validator("people")
    @classmethod
    def _people(cls, text: str) -> str:
        text = _clean(text)
        if len(text) > MAX_NARRATIVE_CHARS:
            raise ValueError(f"Please keep this to {MAX_NARRATIVE_CHARS:,} characters.")
        return text

    @field_validator("link")
    @classmethod
    def _link(cls, text: str) -> str:
        text = _clean(text)
        if not text:
            return text
        parsed = urlparse(text)
        if (
            len(text) > MAX_LINK_CHARS
            or parsed.scheme not in ("http", "https")
            or not parsed.hostname
            or "." not in parsed.hostname
            or any(ch.isspace() for ch in text)
        ):
            raise ValueError("That isn't a web link I can use: paste the full address, starting with https://")
        return text

    @field_validator("when", mode="before")
    @classmethod
    def _when_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return date.today()
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError("Please give the date as YYYY-MM-DD, for example 2026-03-14.") from None
        return value

    @field_validator("when")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("That date is in the future; please give the day it happened.")
        if value < EARLIEST:
            raise ValueError(f"That date is before {EARLIEST.year}; please check the year.")
        return value


def form_errors(exc: ValidationError) -> dict[str, str]:
    """`{field: message}` for each invalid field (first message per field)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        if error["type"] == "missing":
            message = "This is required."
        elif error["type"] == "enum":
            message = "Please choose one of the listed categories."
        elif error["type"] in ("bool_parsing", "bool_type"):
            message = "Please answer yes or no."
        elif error["type"] == "extra_forbidden":
            message = "This isn't a field of the report form."
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(field, message)
    return errors


class Incident(BaseModel):
    """A stored report with its current state; `version` changes on every state change."""

    model_config = ConfigDict(frozen=True)

    reference: str
    created_at: datetime
    category: Category
    what_happened: str
    platform: str = ""
    link: str = ""
    when: date
    people: str = ""
    urgent: bool = False
    reporter: Actor
    status: Status = "new"
    acknowledged_by: str = ""
    acknowledged_at: datetime | None = None
    assignee: str = ""
    escalated_to: str = ""
    outcome: str = ""
    resolved_by: str = ""
    resolved_at: datetime | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


Audience = Literal["slt", "dsl", "reporter"]


class Notice(BaseModel):
    """A message to send about an incident: `post`, thread `reply`, `update` of the posts, or `direct`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["post", "reply", "update", "direct"]
    to: Audience
    reply: Reply
    delivered_only: bool = False  # a reminder: only in the threads of posts already delivered


class Event(BaseModel):
    """One audit entry: `action` is a `bot.audit.ACTIONS` name, `actor` who did it. `once_key` names
    the submission it came from (`slack:view:<view id>`) when that can arrive twice (a retry, a
    double click): it is recorded once."""

    model_config = ConfigDict(frozen=True)

    action: str
    actor: Actor
    detail: str = ""
    once_key: str = ""


class NotStored(Exception):
    """The store could not write the change (locked, full, broken): nothing was saved."""


class Repeated(Exception):
    """The event's `once_key` was recorded before: this is the same submission again, nothing was saved."""


class IncidentBook(Protocol):
    def create(
        self,
        form: ReportForm,
        reporter: Actor,
        dedupe_key: str,
        announce: Callable[[Incident], list[Notice]],
    ) -> tuple[Incident, bool]:
        """Store a new report with its "created" audit row and the notices `announce` returns,
        in one transaction; a `dedupe_key` seen before returns that incident and False."""
        ...

    def get(self, reference: str) -> Incident | None: ...

    def save(self, before: Incident, after: Incident, event: Event, notices: list[Notice]) -> bool:
        """Replace `before` by `after` with its audit row and notices, only if nobody changed
        it since `before` was read (compare-and-set on `version`); False otherwise. Raises
        Repeated for an `event.once_key` recorded before."""
        ...

    def log(self, reference: str, event: Event, notices: list[Notice] | None = None) -> None:
        """Append an audit row (and notices) that change no state: viewed, refused, noted.
        Raises Repeated for an `event.once_key` recorded before."""
        ...

    def history(self, reference: str) -> list[dict]:
        """The audit chronology, oldest first: dicts with at, action, actor, detail."""
        ...

    def recorded(self, once_key: str) -> str | None:
        """The action already recorded from the submission `once_key` (a form sent twice), if any."""
        ...

    def reported_by(self, reporter: Actor) -> list[Incident]: ...

    def open_incidents(self) -> list[Incident]: ...


class SltCheck(Protocol):
    def is_slt(self, actor: Actor) -> bool: ...
