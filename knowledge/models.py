"""The data that flows out of the knowledge base: chunks, matches and answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SECTION_SEPARATOR = " › "

NextStep = Literal["report", "second_opinion"]


class Chunk(BaseModel):
    """One retrievable passage of a policy document.

    `text` is verbatim policy text (at most 600 characters) and is what users are shown;
    `context` carries the parent bullet or lead-in sentence so a nested bullet such as
    "approve account creation" is still found as "SLT: approve account creation".
    """

    model_config = ConfigDict(frozen=True)

    id: str
    document: str
    section: tuple[str, ...]
    text: str = Field(max_length=600)
    context: str = ""
    topics: tuple[str, ...] = ()  # staff wording and questions the passage answers, from a sidecar file; indexed, never shown
    line_start: int
    line_end: int

    @property
    def section_path(self) -> str:
        return SECTION_SEPARATOR.join(self.section)


class Match(BaseModel):
    """A chunk with its relevance to one question, in 0..1."""

    model_config = ConfigDict(frozen=True)

    chunk: Chunk
    score: float


class Answer(BaseModel):
    """What the knowledge base says about one question.

    `matches` are best first (at most 3). `answered` is false when `confidence` is below
    the threshold: the policy does not cover the question and `closest_sections` are the
    "did you mean" suggestions. `ambiguous` is true when the top matches are too close to
    pick one, so they are offered as alternatives. `next_step` names the flow the question
    calls for (an incident report or a second opinion on a draft), if any.
    """

    model_config = ConfigDict(frozen=True)

    question: str
    answered: bool
    confidence: float = Field(ge=0.0, le=1.0)
    matches: list[Match] = Field(default_factory=list)
    ambiguous: bool = False
    closest_sections: list[str] = Field(default_factory=list)
    next_step: NextStep | None = None
