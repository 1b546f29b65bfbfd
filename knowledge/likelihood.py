"""Which passage a question is about: query likelihood under each passage's language model.

Each passage is a bag of the terms staff would use for it: its own text and every example
question and topic phrase of its sidecar file, analysed exactly as a question is (stems,
vocabulary concepts, rarity weights). A question is scored by how likely each passage's
bag makes its terms (multinomial naive Bayes with additive smoothing `ALPHA`), so a word
that only the example questions of one passage use ("trolls") counts for that passage
without being drowned by a long text, and a passage whose wording shares nothing with the
question is never returned.

With n the weight of term t in passage c's bag (a sum over its texts of the term's weight
in each, as `Index.terms` gives it), N the total weight of the bag and V the vocabulary size,
log P(question | c) = sum of v_t * log((n + ALPHA) / (N + ALPHA * V)) over the question's
terms, which splits into a part only the passages containing t have,
v_t * log(1 + n / ALPHA), and a per-passage constant times the question's mass. Postings
hold the first part, so a question only walks the postings of its own terms.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

ALPHA = 0.2  # additive smoothing: how likely a passage makes a term it never uses


class QueryLikelihood:
    def __init__(self, documents: Sequence[Mapping[str, float]], alpha: float = ALPHA) -> None:
        vocabulary = {term for doc in documents for term in doc}
        size = len(vocabulary)
        # log of the smoothed probability of an unseen term, per passage
        self.unseen = [math.log(alpha / (sum(doc.values()) + alpha * size)) for doc in documents]
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, doc in enumerate(documents):
            for term, count in doc.items():
                self.postings[term].append((i, math.log1p(count / alpha)))

    def rank(self, question: Mapping[str, float], k: int) -> list[tuple[int, float]]:
        """The k passages (index, log-likelihood of the question) best first, among those that
        share at least one term with it. Terms no passage uses are left out: they cannot
        tell passages apart."""
        known = {term: weight for term, weight in question.items() if term in self.postings}
        mass = sum(known.values())
        totals: dict[int, float] = defaultdict(float)
        for term, weight in known.items():
            for doc, gain in self.postings[term]:
                totals[doc] += weight * gain
        scored = ((doc, gain + mass * self.unseen[doc]) for doc, gain in totals.items())
        return heapq.nlargest(k, scored, key=lambda item: (item[1], -item[0]))
