"""A second look at the passage model's best candidates, with evidence it cannot weigh.

The passage model (knowledge/likelihood.py) adds up word evidence over a passage's whole bag
(its text, topics and every example question at once). Two things it misses decide many
close calls: how well the policy's own wording covers the question as a whole (BM25, which
saturates repeated words and normalises for length), and whether one example question of a
passage is close to the question as a whole (a staff question usually resembles one way of
asking, not the average of thirty; its small words count too: "what do I do if" asks for a
procedure, "can I" for a permission). The reranker scores each of the top `DEPTH` candidates
by a weighted sum of three features and orders them by it:

- likelihood: the candidate's log-likelihood minus the best one's (0 for the best);
- coverage: its BM25 score over the question's units, relative to the best candidate's;
- support: the mean Dice coefficient of the question's words and those of the candidate's
  `SUPPORT` closest example questions (0..1; a missing one counts 0). Several ways of asking
  that resemble the question are firmer evidence than one: a single close example question
  often shares only the question's framing ("can I ... on my own account").

Each candidate's closeness (the Dice coefficient with its closest example question alone) is
worked out too: the calibration weighs it (knowledge/answer.py).

The weights are a pairwise logistic regression (the odds that one candidate is the right
one rather than another are e^(score difference)) fitted by tools/fit_reranker.py on the
topics files' own example questions, each asked of an index built without it. No
evaluation set is fitted on. When a candidate has no example questions (its document has no
topics file, or its entry lists only short phrases), support cannot be compared across
candidates, and only the first two features count, with weights fitted for them alone.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from itertools import repeat
from operator import truediv

from knowledge.models import Chunk
from knowledge.text import words

# Candidates the passage model hands over: deep enough that the right passage is nearly always
# among them (it is sometimes 6th to 20th there, and the reranker can lift it into the top three).
DEPTH = 20
QUESTION_MIN_WORDS = 5  # shorter topic entries are phrases ("friend request"), not questions
SUPPORT = 3  # example questions averaged for the support feature
WEIGHTS = {"likelihood": 0.4244, "coverage": 2.8748, "support": 25.3263}
# For candidates of which some have no example questions (a document without a topics file):
# those could not be compared with the others on support.
WEIGHTS_WITHOUT_EXAMPLES = {"likelihood": 0.6827, "coverage": 2.7404}
_FIELD_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}  # bytes per count -> its memoryview format


def example_questions(chunk: Chunk) -> list[str]:
    """The questions among a chunk's topics entries."""
    return [entry for entry in chunk.topics if len(entry.split()) >= QUESTION_MIN_WORDS]


class Examples:
    """One passage's example questions as sets of words, for the closeness and support features.

    Each word is held as one integer with a field per question, 2 where that question has the
    word: adding up the integers of the asked words gives every question's Dice numerator (twice
    the words it shares) at once, without a Python step per question (the reranker's hottest loop).
    """

    def __init__(self, questions: list[str]) -> None:
        sets = [frozenset(words(q)) for q in questions]
        self.sizes = [len(found) for found in sets]
        # A field holds up to twice the longest question's word count: the most words it can share.
        self._width = next(w for w in _FIELD_FORMATS if 2 * max(self.sizes, default=0) < 1 << 8 * w)
        self._masks: dict[str, int] = {}  # word -> 2 in the field of each question that has it
        for n, found in enumerate(sets):
            for word in found:
                self._masks[word] = self._masks.get(word, 0) | 2 << 8 * self._width * n

    def _twice_shared(self, asked: frozenset[str]) -> memoryview:
        """Twice the number of the words of `asked` each question has, in question order."""
        total = sum(map(self._masks.get, asked, repeat(0)))
        fields = total.to_bytes(self._width * len(self.sizes), sys.byteorder)
        return memoryview(fields).cast(_FIELD_FORMATS[self._width])

    def closest(self, asked: frozenset[str], n: int) -> list[float]:
        """The Dice coefficients of `asked` and the `n` closest questions' words, highest first,
        padded with 0 to `n`."""
        if not asked:
            return [0.0] * n
        dice = map(truediv, self._twice_shared(asked), map(len(asked).__add__, self.sizes))
        found = sorted(dice, reverse=True)[:n]
        return found + [0.0] * (n - len(found))


class Reranker:
    def __init__(self, chunks: list[Chunk], weights: Mapping[str, float] = WEIGHTS,
                 without_examples: Mapping[str, float] = WEIGHTS_WITHOUT_EXAMPLES) -> None:
        self.weights = dict(weights)
        self.without_examples = dict(without_examples)
        self.chunks = chunks
        self._examples: dict[int, Examples] = {}

    def _examples_of(self, i: int) -> Examples:
        """Chunk i's example questions, read when first needed: one question meets only a few
        passages, and start-up should not pay for them all."""
        found = self._examples.get(i)
        if found is None:
            found = self._examples[i] = Examples(example_questions(self.chunks[i]))
        return found

    def described(self, ranked: list[tuple[int, float]]) -> bool:
        """Whether every candidate has example questions, so that support compares them all."""
        return all(self._examples_of(i).sizes for i, _ in ranked)

    def features(self, question: str, ranked: list[tuple[int, float]],
                 coverage: Mapping[int, float]) -> list[dict[str, float]]:
        """The features of each candidate of `ranked` ((chunk index, log-likelihood), best
        first), given each chunk's BM25 score in `coverage`."""
        if not ranked:
            return []
        best = ranked[0][1]
        top = max(coverage.get(i, 0.0) for i, _ in ranked) or 1.0
        asked = frozenset(words(question))
        found = []
        for i, likelihood in ranked:
            closest = self._examples_of(i).closest(asked, SUPPORT)
            found.append({"likelihood": likelihood - best, "coverage": coverage.get(i, 0.0) / top,
                          "closeness": closest[0], "support": sum(closest) / SUPPORT})
        return found

    def rerank(self, question: str, ranked: list[tuple[int, float]],
               coverage: Mapping[int, float]) -> list[tuple[int, float]]:
        """`order` with the features of `ranked` worked out here."""
        return self.order(ranked, self.features(question, ranked, coverage))

    def order(self, ranked: list[tuple[int, float]], evidence: list[dict[str, float]]) -> list[tuple[int, float]]:
        """`ranked` as (chunk index, score) pairs, given each one's `features`, best-scored first
        (ties in the passage model's order)."""
        weights = self.weights if self.described(ranked) else self.without_examples
        scored = [(i, sum(weight * found[name] for name, weight in weights.items()))
                  for (i, _), found in zip(ranked, evidence)]
        return sorted(scored, key=lambda item: -item[1])
