"""The searchable index: chunk text, context and headings as weighted BM25 fields, and the
query analysis (typo repair, vocabulary expansion) that maps staff wording onto it.

A query becomes a list of units, one per content word or vocabulary phrase. A unit scores a
chunk by its best alternative (the word itself at full weight, its concept's other terms
at `EXPANSION_WEIGHT`), and units add up, so a pile of synonyms cannot outvote one
distinctive word.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.bm25 import BM25
from knowledge.models import Chunk
from knowledge.text import STOP_WORDS, stem, words
from knowledge.vocabulary import Vocabulary, find_phrases

TEXT_WEIGHT = 1.0
CONTEXT_WEIGHT = 0.5  # the parent bullet / lead-in sentence
SECTION_WEIGHT = 0.5  # each heading on the chunk's section path
EXPANSION_WEIGHT = 0.6
TYPO_CUTOFF = 84  # rapidfuzz ratio (0..100) for mapping an unknown word to a known one
TYPO_MIN_LENGTH = 4


@dataclass(frozen=True)
class Unit:
    """One thing the question asks about: a word, or a vocabulary phrase and its concept."""

    label: str
    alternatives: dict[str, float]  # stem -> weight
    generic: bool  # a low-information word ("school", "post") or an intent word ("who")


def _bag(chunk: Chunk) -> dict[str, float]:
    bag: dict[str, float] = defaultdict(float)
    for text, weight in ((chunk.text, TEXT_WEIGHT), (chunk.context, CONTEXT_WEIGHT),
                         (" ".join(chunk.section), SECTION_WEIGHT)):
        for word in words(text):
            if word not in STOP_WORDS:
                bag[stem(word)] += weight
    return bag


class Index:
    def __init__(self, chunks: list[Chunk], vocabulary: Vocabulary) -> None:
        self.chunks = chunks
        self.vocabulary = vocabulary
        bags = [_bag(c) for c in chunks]
        self.bm25 = BM25(bags)
        self.terms = [frozenset(b) for b in bags]
        surface = {w for c in chunks for w in words(c.text)} | vocabulary.surface_words
        self._known_words = frozenset(surface)
        self._typo_choices = sorted(w for w in surface if len(w) >= TYPO_MIN_LENGTH and w not in STOP_WORDS)

    def _repair(self, word: str) -> str:
        """An unknown word replaced by the closest known word, if one is close enough."""
        if word in STOP_WORDS or word in self._known_words or len(word) < TYPO_MIN_LENGTH:
            return word
        if stem(word) in self.bm25.idf:
            return word
        best = process.extractOne(word, self._typo_choices, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
        return best[0] if best else word

    def analyse(self, question: str) -> list[Unit]:
        """The units of a question, after typo repair and vocabulary matching."""
        tokens = [self._repair(w) for w in words(question)]
        stems = [stem(w) for w in tokens]
        vocab = self.vocabulary
        units: list[Unit] = []
        covered: set[int] = set()
        for start, end, concepts in find_phrases(stems, vocab.terms):
            covered.update(range(start, end))
            own = [stem(w) for w in tokens[start:end] if w not in STOP_WORDS]
            alternatives = {s: EXPANSION_WEIGHT for name in concepts for s in vocab.concepts[name]}
            alternatives.update({s: TEXT_WEIGHT for s in own})
            generic = not own or all(s in vocab.generic_stems for s in own) or any(
                name in vocab.generic_concepts for name in concepts)
            units.append(Unit(" ".join(tokens[start:end]), alternatives, generic))
        for i, word in enumerate(tokens):
            if i not in covered and word not in STOP_WORDS:
                units.append(Unit(word, {stems[i]: TEXT_WEIGHT}, stems[i] in vocab.generic_stems))
        unique: dict[tuple[str, ...], Unit] = {}
        for unit in units:
            unique.setdefault(tuple(sorted(unit.alternatives)), unit)
        return list(unique.values())

    def unit_scores(self, unit: Unit) -> dict[int, float]:
        """Chunk index -> this unit's score there (its best alternative)."""
        best: dict[int, float] = {}
        for term, weight in unit.alternatives.items():
            for doc, score in self.bm25.postings.get(term, ()):
                value = weight * score
                if value > best.get(doc, 0.0):
                    best[doc] = value
        return best

    def rank(self, units: list[Unit], k: int) -> list[tuple[int, float]]:
        """The k best (chunk index, score) pairs, best first."""
        totals: dict[int, float] = defaultdict(float)
        for unit in units:
            for doc, score in self.unit_scores(unit).items():
                totals[doc] += score
        return heapq.nlargest(k, totals.items(), key=lambda item: (item[1], -item[0]))
