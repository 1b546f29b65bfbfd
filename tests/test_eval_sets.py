"""The question sets the README scores: every expected phrase is a passage of the shipped policy,
so a miss is the bot's, never the set's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
SETS = sorted([*ROOT.glob("tests/knowledge_*_qa.json"), ROOT / "data" / "eval" / "qa_dev.json"])


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_each_in_scope_question_expects_phrases_of_the_shipped_policy(kb: KnowledgeBase, path: Path) -> None:
    items = json.loads(path.read_text(encoding="utf-8"))
    assert len({item["id"] for item in items}) == len(items)
    missing = [(item["id"], phrase) for item in items if item["in_scope"]
               for phrase in item["expected"] if kb.find_passage(phrase) is None]
    assert missing == []
    assert all(item["expected"] for item in items if item["in_scope"])
    assert not any(item["expected"] for item in items if not item["in_scope"])
