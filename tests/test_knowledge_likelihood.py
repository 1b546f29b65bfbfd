"""The passage model: query likelihood over passages' term bags."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.likelihood import QueryLikelihood
from knowledge_fixtures import policy_folder

BAGS = [
    {"photo": 3.0, "consent": 2.0, "parent": 1.0},
    {"troll": 1.0, "comment": 4.0, "parent": 1.0},
    {"comment": 1.0, "tone": 2.0},
    {"parking": 5.0},
]


def _naive(bags: list[dict[str, float]], question: dict[str, float], alpha: float) -> list[float]:
    """log P(question | passage) straight from the smoothed multinomial, every term counted."""
    vocabulary = {t for bag in bags for t in bag}
    scores = []
    for bag in bags:
        total = sum(bag.values()) + alpha * len(vocabulary)
        scores.append(sum(w * math.log((bag.get(t, 0.0) + alpha) / total)
                          for t, w in question.items() if t in vocabulary))
    return scores


@pytest.mark.parametrize("question", [
    {"comment": 1.0, "parent": 0.4},
    {"troll": 1.0, "comment": 0.7},
    {"photo": 1.0, "tone": 1.0, "unknown": 1.0},
])
def test_ranking_is_the_smoothed_multinomial_likelihood(question: dict[str, float]) -> None:
    model = QueryLikelihood(BAGS, alpha=0.2)
    naive = _naive(BAGS, question, 0.2)
    ranked = model.rank(question, 10)
    assert [doc for doc, _ in ranked] == sorted((d for d, _ in ranked), key=lambda d: -naive[d])
    for doc, score in ranked:
        assert score == pytest.approx(naive[doc])


def test_passages_sharing_no_term_are_never_returned() -> None:
    model = QueryLikelihood(BAGS)
    assert {doc for doc, _ in model.rank({"comment": 1.0}, 10)} == {1, 2}
    assert model.rank({"whiteboard": 1.0}, 10) == []


def test_a_word_one_passage_owns_outweighs_a_shared_word() -> None:
    # "comment" is four times as common in passage 1, but only passage 2 speaks of tone.
    model = QueryLikelihood(BAGS)
    assert model.rank({"comment": 1.0, "tone": 1.0}, 1)[0][0] == 2


def test_the_passage_model_learns_from_example_questions(tmp_path: Path) -> None:
    topics = '[[passage]]\nmatch = "Be respectful to all parties"\nquestions = ["what do we do about flamers?"]\n'
    question = "Flamers again?"
    for sidecar, found in ((topics, True), (None, False)):
        kb = KnowledgeBase.from_folder(policy_folder(tmp_path / str(found), sidecar))
        top = [m.chunk.text for m in kb.answer(question).matches[:1]]
        assert (top == ["Be respectful to all parties"]) is found
