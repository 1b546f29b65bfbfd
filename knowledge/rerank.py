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
topics file, or its entry lists only short phrases), the last two features cannot be compared
across candidates, and only the first two count, with weights fitted for them alone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from rapidfuzz import fuzz, process

from knowledge.models import Chunk
from knowledge.text import STOP_WORDS, stem, words

DEPTH = 5  # candidates the passage model hands over
QUESTION_MIN_WORDS = 5  # shorter topic entries are phrases ("friend request"), not questions
WEIGHTS = {"likelihood": 0.4643, "coverage": 3.0644, "wording": 9.2733, "overlap": 2.4335}
# For candidates of which some have no example questions (a document without a topics file):
# those could not be compared with the others on wording and overlap.
WEIGHTS_WITHOUT_EXAMPLES = {"likelihood": 0.6014, "coverage": 3.1859}


def _forms(text: str) -> tuple[str, frozenset[str]]:
    """A text as the two features compare it: its words sorted, and its content stems."""
    found = words(text)
    return " ".join(sorted(found)), frozenset(stem(w) for w in found if w not in STOP_WORDS)


def example_questions(chunk: Chunk) -> list[str]:
    """The questions among a chunk's topics entries."""
    return [entry for entry in chunk.topics if len(entry.split()) >= QUESTION_MIN_WORDS]


class Examples:
    """One passage's example questions, held for the wording and overlap features."""

    def __init__(self, questions: list[str]) -> None:
        forms = [_forms(q) for q in questions]
        self.wordings = [wording for wording, _ in forms]
        self.sizes = [len(stems) for _, stems in forms]
        self.postings: dict[str, list[int]] = defaultdict(list)  # stem -> the questions that have it
        for n, (_, stems) in enumerate(forms):
            for found in stems:
                self.postings[found].append(n)

    def wording(self, asked: str) -> float:
        """The closest question's likeness to `asked` (sorted words), 0..1."""
        closest = process.extractOne(asked, self.wordings, scorer=fuzz.ratio)
        return closest[1] / 100 if closest else 0.0

    def overlap(self, stems: frozenset[str]) -> float:
        """The largest share of the shorter side's content stems that `stems` and one question
        have in common (counted through the postings: a question meets few of them)."""
        shared: Counter[int] = Counter()
        for found in stems:
            shared.update(self.postings.get(found, ()))
        return max((n / min(len(stems), self.sizes[q]) for q, n in shared.items()), default=0.0)


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
            examples = self._examples_of(i)
            found.append({"likelihood": likelihood - best, "coverage": coverage.get(i, 0.0) / top,
                          "wording": examples.wording(asked), "overlap": examples.overlap(own)})
        return found

    def rerank(self, question: str, ranked: list[tuple[int, float]],
               coverage: Mapping[int, float]) -> list[tuple[int, float]]:
        """`ranked` as (chunk index, score) pairs: the best-scored first, then the others in the
        passage model's order. The weights were fitted to tell the right candidate from each
        wrong one, never one wrong candidate from another, so they say nothing about the
        runners-up's order: the passage model's is the better guess."""
        weights = self.weights if all(self._examples_of(i).wordings for i, _ in ranked) else self.without_examples
        scored = [(i, sum(weight * found[name] for name, weight in weights.items()))
                  for (i, _), found in zip(ranked, self.features(question, ranked, coverage))]
        best = max(scored, key=lambda item: item[1], default=None)
        return [best, *(item for item in scored if item is not best)] if best else []
