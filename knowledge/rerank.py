"""A second look at the passage model's best candidates, with evidence it cannot weigh.

The passage model (knowledge/likelihood.py) adds up word evidence over a passage's whole bag
(its text, topics and every example question at once). Two things it misses decide many
close calls: how well the policy's own wording covers the question as a whole (BM25, which
saturates repeated words and normalises for length), and whether one example question of a
passage is close to the question as a whole (a staff question usually resembles one way of
asking, not the average of thirty). The reranker scores each of the top `DEPTH` candidates
by a weighted sum of four features and orders them by it:

- likelihood: the candidate's log-likelihood minus the best one's (0 for the best);
- coverage: its BM25 score over the question's units, relative to the best candidate's;
- wording: the closest example question's likeness to the question with word order ignored
  (rapidfuzz ratio of the sorted words, 0..1);
- overlap: the largest share of the shorter side's content words (stems) that the question
  and one example question have in common.

The weights are a pairwise logistic regression (the odds that one candidate is the right
one rather than another are e^(score difference)) fitted by tools/fit_reranker.py on the
topics files' own example questions, each asked of an index built without it. No
evaluation set is fitted on. When a candidate has no example questions (its document has no
topics file), the last two features cannot be compared across candidates, and only the first
two count, with weights fitted for them alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from rapidfuzz import fuzz, process

from knowledge.models import Chunk
from knowledge.text import STOP_WORDS, stem, words

DEPTH = 5  # candidates the passage model hands over
QUESTION_MIN_WORDS = 5  # shorter topic entries are phrases ("friend request"), not questions
WEIGHTS = {"likelihood": 0.4853, "coverage": 2.7883, "wording": 9.4465, "overlap": 2.34}
# For candidates of which some have no example questions (a document without a topics file):
# those could not be compared with the others on wording and overlap.
WEIGHTS_WITHOUT_EXAMPLES = {"likelihood": 0.618, "coverage": 3.0315}


def _forms(text: str) -> tuple[str, frozenset[str]]:
    """A text as the two features compare it: its words sorted, and its content stems."""
    found = words(text)
    return " ".join(sorted(found)), frozenset(stem(w) for w in found if w not in STOP_WORDS)


def example_questions(chunk: Chunk) -> list[str]:
    """The questions among a chunk's topics entries."""
    return [entry for entry in chunk.topics if len(entry.split()) >= QUESTION_MIN_WORDS]


class Reranker:
    def __init__(self, chunks: list[Chunk], weights: Mapping[str, float] = WEIGHTS,
                 without_examples: Mapping[str, float] = WEIGHTS_WITHOUT_EXAMPLES) -> None:
        self.weights = dict(weights)
        self.without_examples = dict(without_examples)
        self.chunks = chunks
        self._examples: dict[int, tuple[list[str], list[frozenset[str]]]] = {}

    def _examples_of(self, i: int) -> tuple[list[str], list[frozenset[str]]]:
        """Chunk i's example questions as `_forms` (sorted words, content stems), read when first
        needed: one question meets only a few passages, and start-up should not pay for all."""
        found = self._examples.get(i)
        if found is None:
            forms = [_forms(q) for q in example_questions(self.chunks[i])]
            found = self._examples[i] = ([wording for wording, _ in forms], [stems for _, stems in forms])
        return found

    def features(self, question: str, ranked: list[tuple[int, float]],
                 coverage: Mapping[int, float]) -> list[dict[str, float]]:
        """The features of each candidate of `ranked` ((chunk index, log-likelihood), best
        first), given each chunk's BM25 score in `coverage`."""
        if not ranked:
            return []
        best = ranked[0][1]
        top = max(coverage.get(i, 0.0) for i, _ in ranked) or 1.0
        asked, own = _forms(question)
        found = []
        for i, likelihood in ranked:
            wordings, stems = self._examples_of(i)
            closest = process.extractOne(asked, wordings, scorer=fuzz.ratio)
            shared = (len(own & theirs) / (min(len(own), len(theirs)) or 1) for theirs in stems)
            found.append({"likelihood": likelihood - best, "coverage": coverage.get(i, 0.0) / top,
                          "wording": closest[1] / 100 if closest else 0.0, "overlap": max(shared, default=0.0)})
        return found

    def rerank(self, question: str, ranked: list[tuple[int, float]],
               coverage: Mapping[int, float]) -> list[tuple[int, float]]:
        """`ranked` as (chunk index, score) pairs: the best-scored first, then the others in the
        passage model's order. The weights were fitted to tell the right candidate from each
        wrong one, never one wrong candidate from another, so they say nothing about the
        runners-up's order: the passage model's is the better guess."""
        weights = self.weights if all(self._examples_of(i)[0] for i, _ in ranked) else self.without_examples
        scored = [(i, sum(weight * found[name] for name, weight in weights.items()))
                  for (i, _), found in zip(ranked, self.features(question, ranked, coverage))]
        best = max(scored, key=lambda item: item[1], default=None)
        return [best, *(item for item in scored if item is not best)] if best else []
