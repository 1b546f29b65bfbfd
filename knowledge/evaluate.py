"""Score a knowledge base against questions with known answers (data/eval/qa_dev.json shape).

An in-scope item is a hit when a returned passage contains one of its `expected` phrases
(ignoring case, whitespace runs and curly vs straight quotes). Out-of-scope items should
come back unanswered; in-scope items should not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from knowledge.models import Answer
from knowledge.text import normalise


class Answerer(Protocol):
    def answer(self, question: str) -> Answer: ...


class Miss(BaseModel):
    """One item the knowledge base got wrong, with what it said instead."""

    model_config = ConfigDict(frozen=True)

    id: str
    question: str
    problem: str  # "not in top 1", "not in top 3", "wrongly rejected", "wrongly answered"
    got: str  # the top passage (or "" when there was none)
    confidence: float


class QAReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    in_scope: int
    out_of_scope: int
    top1: float
    top3: float
    out_of_scope_rejected: float
    in_scope_rejected: float
    misses: list[Miss]

    def summary_lines(self) -> list[str]:
        lines = [
            f"in-scope questions:      {self.in_scope}",
            f"  top-1 hit rate:        {self.top1:.2f}",
            f"  top-3 hit rate:        {self.top3:.2f}",
            f"  wrongly rejected:      {self.in_scope_rejected:.2f}",
            f"out-of-scope questions:  {self.out_of_scope}",
            f"  rejected:              {self.out_of_scope_rejected:.2f}",
        ]
        if self.misses:
            lines.append("misses:")
            lines.extend(
                f"  [{m.id}] {m.problem} (confidence {m.confidence:.2f}): {m.question}"
                + (f"\n      got: {m.got[:100]}" if m.got else "")
                for m in self.misses
            )
        return lines


def is_hit(text: str, expected: Iterable[str]) -> bool:
    """True when `text` contains any expected phrase, compared after `normalise`."""
    haystack = normalise(text)
    return any(normalise(phrase) and normalise(phrase) in haystack for phrase in expected)


def _rate(count: int, total: int) -> float:
    return count / total if total else 0.0


def evaluate_qa(kb: Answerer, items: Iterable[Mapping[str, Any]]) -> QAReport:
    """Top-1/top-3 hit rates over in-scope items and rejection rates, with every miss listed."""
    in_scope = out_scope = top1 = top3 = rejected_in = rejected_out = 0
    misses: list[Miss] = []
    for n, item in enumerate(items, start=1):
        question = str(item["question"])
        answer = kb.answer(question)
        texts = [m.chunk.text for m in answer.matches]
        got = texts[0] if texts else ""
        ident = str(item.get("id", n))

        def miss(problem: str) -> None:
            misses.append(Miss(id=ident, question=question, problem=problem, got=got,
                               confidence=answer.confidence))

        if item.get("in_scope", True):
            in_scope += 1
            expected = item.get("expected", [])
            hits = [is_hit(t, expected) for t in texts[:3]]
            top1 += bool(hits[:1] and hits[0])
            top3 += any(hits)
            if not answer.answered:
                rejected_in += 1
                miss("wrongly rejected")
            if not any(hits):
                miss("not in top 3")
            elif not hits[0]:
                miss("not in top 1")
        else:
            out_scope += 1
            if answer.answered:
                miss("wrongly answered")
            else:
                rejected_out += 1
    return QAReport(
        in_scope=in_scope,
        out_of_scope=out_scope,
        top1=_rate(top1, in_scope),
        top3=_rate(top3, in_scope),
        out_of_scope_rejected=_rate(rejected_out, out_scope),
        in_scope_rejected=_rate(rejected_in, in_scope),
        misses=misses,
    )
