"""evaluate_qa scoring on a tiny handmade knowledge base."""

from __future__ import annotations

from knowledge import KnowledgeBase
from knowledge.evaluate import evaluate_qa, is_hit
from knowledge.models import Chunk
from knowledge.vocabulary import Vocabulary


def _chunk(line: int, section: str, text: str) -> Chunk:
    return Chunk(id=f"p.txt:{line}", document="p.txt", section=(section,), text=text,
                 line_start=line, line_end=line)


def _kb() -> KnowledgeBase:
    chunks = [
        _chunk(1, "Passwords", "Store account passwords securely in the vault."),
        _chunk(2, "Images", "Delete compromising pictures immediately."),
        _chunk(3, "Tone", "Use a friendly, professional tone."),
    ]
    return KnowledgeBase(chunks, Vocabulary())


def test_is_hit_ignores_case_whitespace_and_quote_style() -> None:
    assert is_hit("Don’t  breach\ncopyright", ["don't breach copyright"])
    assert not is_hit("Don’t breach copyright", ["data protection", ""])


def test_evaluate_counts_hits_rejections_and_misses() -> None:
    items = [
        {"id": "a", "question": "where do I store account passwords vault", "in_scope": True,
         "expected": ["passwords securely"]},
        {"id": "b", "question": "compromising pictures delete", "in_scope": True,
         "expected": ["friendly, professional tone"]},
        {"id": "c", "question": "parking permit car park", "in_scope": False, "expected": []},
        {"id": "d", "question": "vault passwords store account securely", "in_scope": False, "expected": []},
    ]
    report = evaluate_qa(_kb(), items)
    assert (report.in_scope, report.out_of_scope) == (2, 2)
    assert report.top1 == 0.5  # a hits, b's expected text is not what it retrieves first
    assert report.out_of_scope_rejected == 0.5  # c rejected, d answered
    problems = {(m.id, m.problem) for m in report.misses}
    assert ("d", "wrongly answered") in problems
    assert any(m.id == "b" and m.problem.startswith("not in top") for m in report.misses)
    assert ("c", "wrongly answered") not in problems
    lines = report.summary_lines()
    assert any("top-1" in line and "0.50" in line for line in lines)
    assert any("[d] wrongly answered" in line for line in lines)


def test_empty_item_list_gives_zero_rates() -> None:
    report = evaluate_qa(_kb(), [])
    assert report.top1 == report.top3 == report.out_of_scope_rejected == 0.0
    assert report.misses == []
