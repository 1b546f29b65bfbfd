"""Request and reply models shared by every chat platform.

Every string in a `Reply` is plain text: renderers escape it for their platform (Slack
mrkdwn, Adaptive Card markdown, the terminal) and add their own formatting, so user text
can never smuggle in a mention or a disguised link.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Platform = Literal["console", "slack", "teams"]

MAX_QUESTION_CHARS = 1000


def unreadable(text: str) -> bool:
    """Whether `text` holds what is not text: control characters other than line breaks and tabs,
    or lone surrogates. Emoji joiners and variation selectors (in family and flag emoji), no-break
    spaces and characters newer than Python's Unicode tables are text."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\r\t" for ch in text)


class Actor(BaseModel):
    """Who is speaking: a user id on one platform (Slack user id, Teams AAD object id)."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    user_id: str = Field(min_length=1)
    name: str = ""

    @property
    def key(self) -> str:
        """A platform-qualified id, unique across Slack and Teams."""
        return f"{self.platform}:{self.user_id}"


class Place(BaseModel):
    """Where a message was said, so the reply can go back to the same thread."""

    model_config = ConfigDict(frozen=True)

    channel_id: str | None = None
    thread_id: str | None = None
    direct: bool = True


class Question(BaseModel):
    """A staff member's policy question, validated before it reaches the knowledge base."""

    model_config = ConfigDict(frozen=True)

    actor: Actor
    text: str
    place: Place = Place()

    @field_validator("text")
    @classmethod
    def _readable(cls, text: str) -> str:
        text = " ".join(text.split())
        if not text:
            raise ValueError("Please type a question, for example: can I post photos of a school trip?")
        if len(text) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"That question is {len(text):,} characters long; please keep it under {MAX_QUESTION_CHARS:,}."
            )
        if unreadable(text) or not any(ch.isalpha() for ch in text):
            raise ValueError("That doesn't look like a question I can read: please type it in plain words.")
        return text


def first_error(exc: ValidationError) -> str:
    """The sentence to show the person: the first error's message, without pydantic's prefix."""
    return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")


class Passage(BaseModel):
    """A verbatim policy passage with where it comes from.

    `lead_in` is the verbatim line the passage sits under, when it is a bullet of a list
    ("SLT" over "approve account creation"): without it such a bullet reads as a fragment.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    document: str
    section: str
    score: float | None = None
    lead_in: str = ""

    @property
    def lines(self) -> list[str]:
        """The passage as it is quoted to staff: under its lead-in, as a bullet."""
        return [self.lead_in, f"• {self.text}"] if self.lead_in else [self.text]


class Fact(BaseModel):
    """A labelled value shown as a field (e.g. Reference: INC-2026-0042)."""

    model_config = ConfigDict(frozen=True)

    label: str
    value: str


class Button(BaseModel):
    """An action the person can take; `action` is one of `handlers.actions`."""

    model_config = ConfigDict(frozen=True)

    action: str
    label: str
    value: str = ""
    style: Literal["primary", "danger"] | None = None


ReplyKind = Literal["answer", "not_covered", "info", "error", "confirmation", "incident", "review"]


class Reply(BaseModel):
    """What a handler says back, before any platform renders it.

    `private` asks the platform to show it only to the person (Slack ephemeral); `notes`
    are short follow-ups such as the next step; `passages` are policy quotes. `verbatim` says
    `text` is someone's own words (a draft), to be shown exactly as typed, never formatted.
    """

    model_config = ConfigDict(frozen=True)

    kind: ReplyKind
    title: str = ""
    text: str = ""
    passages: list[Passage] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    buttons: list[Button] = Field(default_factory=list)
    private: bool = False
    verbatim: bool = False
