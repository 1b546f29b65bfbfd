"""The draft evaluator's arithmetic on a tiny handmade set with a scripted reviewer."""

from __future__ import annotations

from knowledge.review import DraftInput, Review, evaluate_drafts
from knowledge.review.models import Finding, Span


class Scripted:
    """Flags drafts containing "BAD" with reason grievance, nothing else."""

    def review(self, draft: DraftInput) -> Review:
        if "BAD" not in draft.text:
            return Review(verdict="fine")
        finding = Finding(reason="grievance", span=Span(start=0, end=3, text="BAD"), section=None, policy="p")
        return Review(verdict="check", findings=[finding])


ITEMS = [
    {"id": "a", "text": "BAD pay", "risky": True, "reasons": ["grievance"]},
    {"id": "b", "text": "BAD and rude", "risky": True, "reasons": ["grievance", "offensive"]},
    {"id": "c", "text": "sneaky", "risky": True, "reasons": ["offensive"]},
    {"id": "d", "text": "BAD but fine", "risky": False, "reasons": []},
    {"id": "e", "text": "thank you", "risky": False, "reasons": []},
    {"id": "f", "text": "well done", "risky": False, "reasons": []},
]


def test_recall_precision_and_per_reason_recall() -> None:
    report = evaluate_drafts(Scripted(), ITEMS)
    assert (report.items, report.risky, report.flagged_risky, report.flagged_fine) == (6, 3, 2, 1)
    assert report.recall == 2 / 3
    assert report.precision == 2 / 3
    assert (report.reasons["grievance"].found, report.reasons["grievance"].total) == (2, 2)
    assert (report.reasons["offensive"].found, report.reasons["offensive"].total) == (0, 2)
    assert [(m.id, m.problem) for m in report.misses] == [("b", "reason missed"), ("c", "missed"), ("d", "false alarm")]


def test_summary_lines_show_scores_and_misses() -> None:
    text = "\n".join(evaluate_drafts(Scripted(), ITEMS).summary_lines())
    assert "recall): 0.67" in text and "precision:              0.67" in text
    assert "offensive" in text and "[c] missed" in text


def test_empty_set_scores_zero_without_dividing_by_zero() -> None:
    report = evaluate_drafts(Scripted(), [])
    assert (report.recall, report.precision, report.misses) == (0.0, 0.0, [])
