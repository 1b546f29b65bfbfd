"""What goes into and comes out of a draft review ("second opinion" on a post)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Reason = Literal[
    "learner_identification", "contact_details", "confidential", "grievance", "offensive",
    "criticism", "controversial", "copyright", "hostile_reply", "inappropriate_link",
    "personal_opinion", "personal_gain", "image_permission",
]
REASONS: tuple[str, ...] = Reason.__args__  # type: ignore[attr-defined]

Verdict = Literal["fine", "check"]


class DraftInput(BaseModel):
    """A draft post for a school account.

    The two image flags come from the form: `None` means the author did not say, which is
    not treated as a problem on its own (the text and attachment descriptions still are).
    """

    model_config = ConfigDict(frozen=True)

    text: str
    target: str | None = None
    contains_learner_images: bool | None = None
    permission_checked: bool | None = None


class Span(BaseModel):
    """The part of the draft that triggered a finding: `text == draft[start:end]`."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class Finding(BaseModel):
    """One reason to check a draft, with the policy passage it rests on.

    `section` is the policy section path when the passage was found in the knowledge base,
    else None; `policy` is then the verbatim phrase from the rules data.
    """

    model_config = ConfigDict(frozen=True)

    reason: Reason
    span: Span
    section: str | None
    policy: str


class Review(BaseModel):
    """The second opinion: "check" (send to SLT) exactly when there is at least one finding."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    findings: list[Finding] = Field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Distinct reason codes in order of first appearance."""
        return list(dict.fromkeys(f.reason for f in self.findings))
