"""Score a reviewer on labelled drafts (data/eval/drafts_dev.json shape).

Each item has `text`, `risky` and `reasons` (optionally `id`, `target`,
`contains_learner_images`, `permission_checked`). Verdict recall and precision treat
"check" as the positive call on risky drafts; per-reason recall counts a risky draft's
reason as found when a finding carries that reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from knowledge.review.models import DraftInput, Review


class DraftReviewer(Protocol):
    def review(self, draft: DraftInput) -> Review: ...


class ReasonScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    found: int
    total: int

    @property
    def recall(self) -> float:
        return self.found / self.total if self.total else 0.0


class DraftMiss(BaseModel):
    """A draft the reviewer got wrong: a risky one passed, a fine one flagged, or a reason missed."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    problem: str  # "missed", "false alarm" or "reason missed"
    expected: list[str]
    got: list[str]


class DraftReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: int
    risky: int
    flagged_risky: int
    flagged_fine: int
    reasons: dict[str, ReasonScore]
    misses: list[DraftMiss]

    @property
    def recall(self) -> float:
        return self.flagged_risky / self.risky if self.risky else 0.0

    @property
    def precision(self) -> float:
        flagged = self.flagged_risky + self.flagged_fine
        return self.flagged_risky / flagged if flagged else 0.0

    def summary_lines(self) -> list[str]:
        lines = [
            f"drafts: {self.items} ({self.risky} risky, {self.items - self.risky} fine)",
            f"  risky flagged (recall): {self.recall:.2f}  ({self.flagged_risky}/{self.risky})",
            f"  precision:              {self.precision:.2f}  ({self.flagged_fine} fine drafts flagged)",
            "recall per reason:",
        ]
        lines.extend(
            f"  {reason:<24}{score.recall:.2f}  ({score.found}/{score.total})"
            for reason, score in sorted(self.reasons.items())
        )
        if self.misses:
            lines.append("misses:")
            lines.extend(
                f"  [{m.id}] {m.problem}: expected {m.expected or ['fine']}, got {m.got or ['fine']}\n"
                f"      {m.text[:110]}"
                for m in self.misses
            )
        return lines


def evaluate_drafts(reviewer: DraftReviewer, items: Iterable[Mapping[str, Any]]) -> DraftReport:
    count = risky = flagged_risky = flagged_fine = 0
    found: dict[str, int] = {}
    total: dict[str, int] = {}
    misses: list[DraftMiss] = []
    for n, item in enumerate(items, start=1):
        count += 1
        draft = DraftInput(
            text=str(item["text"]),
            target=item.get("target"),
            contains_learner_images=item.get("contains_learner_images"),
            permission_checked=item.get("permission_checked"),
        )
        review = reviewer.review(draft)
        expected = [str(r) for r in item.get("reasons", [])]
        got = review.reasons
        flagged = review.verdict == "check"
        problem = None
        if item["risky"]:
            risky += 1
            flagged_risky += flagged
            for reason in expected:
                total[reason] = total.get(reason, 0) + 1
                found[reason] = found.get(reason, 0) + (reason in got)
            if not flagged:
                problem = "missed"
            elif not set(expected) <= set(got):
                problem = "reason missed"
        elif flagged:
            flagged_fine += 1
            problem = "false alarm"
        if problem:
            misses.append(DraftMiss(id=str(item.get("id", n)), text=draft.text, problem=problem, expected=expected, got=got))
    return DraftReport(
        items=count,
        risky=risky,
        flagged_risky=flagged_risky,
        flagged_fine=flagged_fine,
        reasons={r: ReasonScore(found=found.get(r, 0), total=t) for r, t in total.items()},
        misses=misses,
    )
