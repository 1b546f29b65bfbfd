"""The reranker: a second look at the passage model's best candidates."""

from __future__ import annotations

import math

import pytest

from knowledge import KnowledgeBase
from knowledge.answer import AMBIGUITY_RATIO
from knowledge.models import Chunk
from knowledge.rerank import DEPTH, Reranker
from knowledge_fixtures import POLICIES


def _chunk(n: int, text: str, topics: tuple[str, ...] = ()) -> Chunk:
    return Chunk(id=f"p:{n}", document="p.txt", section=(f"S{n}",), text=text, topics=topics,
                 line_start=n, line_end=n)


CHUNKS = [
    _chunk(0, "Photographs of pupils need parental consent.",
           ("photos", "can I post the sports day race photos", "do photos of pupils need consent first")),
    _chunk(1, "Reply to comments politely and promptly.", ("how fast should we reply to comments",)),
    _chunk(2, "Use an appropriate tone."),
    _chunk(3, "Keep an eye on your digital footprint.", ("what does my digital footprint say about me",)),
]


def test_features_compare_each_candidate_with_the_best_and_with_its_closest_example_questions() -> None:
    ranked = [(1, -3.0), (0, -4.5), (2, -6.0)]
    reranker = Reranker(CHUNKS)
    found = reranker.features("Can I post photos of the sports day race?", ranked, {0: 2.0, 1: 4.0})
    assert [f["likelihood"] for f in found] == [0.0, -1.5, -3.0]
    assert [f["coverage"] for f in found] == [1.0, 0.5, 0.0]  # relative to the best candidate's BM25
    # 8 of the question's 9 words are all 8 of the closest example question's: 2 * 8 / (9 + 8);
    # "do photos of pupils need consent first" shares "photos" and "of": 2 * 2 / (9 + 7)
    assert found[1]["closeness"] == pytest.approx(16 / 17)
    assert found[1]["support"] == pytest.approx((16 / 17 + 4 / 16 + 0.0) / 3)  # a third question is missing
    assert found[0]["closeness"] == found[0]["support"] == 0.0  # "how fast should we reply to comments" shares no word
    assert found[2]["closeness"] == found[2]["support"] == 0.0  # no example questions: nothing to be close to
    assert reranker._examples_of(0).sizes == [8, 7]  # "photos" alone is a phrase, not a question


def test_candidates_are_ordered_by_score_ties_in_the_passage_models_order() -> None:
    support_only = {"likelihood": 0.0, "coverage": 0.0, "support": 3.0}
    reranker = Reranker(CHUNKS, support_only)
    ranked = [(3, -1.0), (1, -2.0), (0, -3.0)]
    # 4 of its 8 words are in an 8-word question of passage 0 (2 * 4 / 16), and 1 ("photos") in a
    # 7-word one; 3 are in passage 1's only 7-word question (2 * 3 / 15)
    order = reranker.rerank("can I post photos and reply to comments", ranked, {})
    assert [i for i, _ in order] == [0, 1, 3]
    assert [s for _, s in order] == pytest.approx([8 / 16 + 2 / 15, 6 / 15, 0.0])
    assert [i for i, _ in reranker.rerank("can I post the sports day race photos", ranked, {})] == [0, 3, 1]
    assert Reranker(CHUNKS).rerank("anything", [], {}) == []


def test_a_passage_without_example_questions_is_not_outscored_for_lacking_them() -> None:
    # Any two texts are somewhat alike; a passage with example questions must not win on that.
    ranked = [(2, -1.0), (1, -2.0)]
    assert Reranker(CHUNKS).rerank("what tone do we use", ranked, {2: 1.0, 1: 1.0})[0][0] == 2
    assert Reranker(CHUNKS).rerank("what tone do we use", ranked, {2: 1.0, 1: 3.0})[0][0] == 1  # coverage still counts


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return KnowledgeBase.from_folder(POLICIES)


@pytest.mark.parametrize("question", [
    "my cousin's kid goes to the school, can I still be friends with her on insta",
    "who signs off a new account for the PE department",
    "a reporter rang me about the trip accident, what do I say",
    "can I put a pic of the choir on my own facebook",
    "what should our replies on the school page sound like",  # the reranker's pick is not the passage model's
    "can we use a song in the school tiktok",  # ambiguous by the reranker's odds, not by the passage model's
])
def test_answers_lead_with_the_rerankers_pick_and_scores_fall(shipped: KnowledgeBase, question: str) -> None:
    units = shipped.index.analyse(question)
    coverage = shipped.index.coverage(units)
    candidates = shipped.index.rank(units, DEPTH)
    scores = {shipped.chunks[i].id: s for i, s in shipped.reranker.rerank(question, candidates, coverage)}
    answer = shipped.answer(question)
    first, second = answer.matches[:2]
    assert first.chunk.id == max(scores, key=scores.__getitem__)
    shown = [m.score for m in answer.matches]
    assert shown == sorted(shown, reverse=True) and len(shown) == 3
    odds = math.exp(scores[second.chunk.id] - scores[first.chunk.id])
    assert answer.ambiguous == (answer.answered and odds >= AMBIGUITY_RATIO and second.chunk.section != first.chunk.section)
    assert [m.chunk.id for m in shipped.search(question)] == [m.chunk.id for m in answer.matches]


def test_an_unanswered_question_is_offered_three_sections_even_when_one_fills_the_candidates() -> None:
    chunks = [Chunk(id=f"d:{n}", document="d.txt", section=("Lanyards",), text=f"Lanyards must be worn on site, rule {n}.",
                    line_start=n, line_end=n) for n in range(DEPTH + 1)]
    chunks += [_chunk(10, "Visitors sign in and wear a visitor lanyard."),
               _chunk(11, "On trips staff wear a lanyard with the school name.")]
    answer = KnowledgeBase(chunks).answer("what colour is the lanyard for supply teachers")
    assert not answer.answered
    assert answer.closest_sections[0] == "Lanyards" and sorted(answer.closest_sections[1:]) == ["S10", "S11"]


def test_a_passage_the_policy_repeats_in_another_section_is_listed_once() -> None:
    repeated = "Personal accounts which do not mention the school are outside this policy."
    chunks = [_chunk(1, repeated), _chunk(2, repeated.replace("accounts", "accounts,")),
              _chunk(3, "Personal accounts must not be used to contact pupils."),
              _chunk(4, "Accounts of the school are run by the office.")]
    matches = KnowledgeBase(chunks).search("are personal accounts outside the policy")
    texts = [m.chunk.text for m in matches]
    assert texts[0] in (chunks[0].text, chunks[1].text)
    assert chunks[2].text in texts and not {chunks[0].text, chunks[1].text} <= set(texts)
