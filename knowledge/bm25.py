"""Okapi BM25 over weighted term frequencies, with postings precomputed at build time.

Documents are bags of stems whose counts may be fractional (a chunk's section heading and
context count for less than its own text). Each posting stores the finished BM25 weight of
its term in its document, so a query only walks the postings of its own terms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

K1 = 1.2
B = 0.5


class BM25:
    def __init__(self, documents: Sequence[Mapping[str, float]], k1: float = K1, b: float = B) -> None:
        lengths = [sum(doc.values()) for doc in documents]
        average = (sum(lengths) / len(lengths)) if lengths and sum(lengths) else 1.0
        frequency: dict[str, int] = {}
        for doc in documents:
            for term in doc:
                frequency[term] = frequency.get(term, 0) + 1
        n = len(documents)
        idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}
        self.postings: dict[str, list[tuple[int, float]]] = {t: [] for t in frequency}
        for i, (doc, length) in enumerate(zip(documents, lengths)):
            norm = k1 * (1 - b + b * length / average)
            for term, tf in doc.items():
                self.postings[term].append((i, idf[term] * tf * (k1 + 1) / (tf + norm)))

