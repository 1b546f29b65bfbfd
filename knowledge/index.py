"""The searchable index: the query analysis (typo repair, vocabulary concepts) that maps
staff wording onto the policy, a passage model that picks the passage a question is about
(knowledge/likelihood.py), and BM25 over the same passages, whose best score says how well
the policy's wording covers the question at all (the confidence calibration's input).

Every vocabulary concept found in a chunk is indexed as a token of its own ("@images" for
"photos", "pictures", "video recordings"...). A query becomes a list of units, one per
content word or vocabulary phrase; a unit scores a chunk by its best alternative (the word
itself at full weight, its concepts at `CONCEPT_WEIGHT`) and units add up, so a pile of
synonyms cannot outvote one distinctive word. Generic units count for `GENERIC_WEIGHT`.

Building works out an `Analysis` of the chunks' texts (their term bags, the words typos are
repaired to): most of a process's start. A caller may pass an `AnalysisCache` to keep it for
the next process, under a digest of every input, code included.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ValidationError

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from knowledge.bm25 import BM25
from knowledge.english import WordFrequencies, default_frequencies
from knowledge.likelihood import QueryLikelihood
from knowledge.models import Chunk
from knowledge.text import STOP_WORDS, stem, words
from knowledge.vocabulary import Vocabulary

TEXT_WEIGHT = 1.0
CONTEXT_WEIGHT = 0.5  # the parent bullet / lead-in sentence
TOPICS_WEIGHT = 0.5  # staff wording for the passage, from its document's topics file
SECTION_WEIGHT = 0.5  # each heading on the chunk's section path
CONCEPT_WEIGHT = 0.7  # a word's concept, relative to the word itself
GENERIC_WEIGHT = 0.4  # low-information units ("school", "post", "who") in ranking
# A word's weight falls from 1 to GENERIC_WEIGHT as its Zipf frequency in English rises past
# EVERYDAY_ZIPF - EVERYDAY_SPAN (about once per 30,000 words) towards EVERYDAY_ZIPF.
EVERYDAY_ZIPF = 7.0
EVERYDAY_SPAN = 2.5
TYPO_MIN_LENGTH = 4
TYPO_LONG_WORD = 8  # from this length two slips (edits or swaps) are taken as typos, below it one
REPAIRS_KEPT = 65536  # typo repairs remembered (words of at most about 30 letters: under 15 MB)


@dataclass(frozen=True)
class Unit:
    """One thing the question asks about: a word, or a vocabulary phrase and its concept."""

    label: str
    alternatives: dict[str, float]  # stem -> weight
    generic: bool  # a low-information word ("school", "post") or an intent word ("who")


def concept_token(name: str) -> str:
    return f"@{name}"


def _fields(chunk: Chunk) -> list[tuple[str, float]]:
    """The texts a chunk is found by, each with its weight."""
    return [(chunk.text, TEXT_WEIGHT), (chunk.context, CONTEXT_WEIGHT), (" ".join(chunk.section), SECTION_WEIGHT),
            *((topic, TOPICS_WEIGHT) for topic in chunk.topics)]


def _merge(units: list[Unit]) -> list[Unit]:
    """One unit per idea: words of the same concepts ("summer holidays") count once."""
    merged: dict[frozenset[str], Unit] = {}
    for unit in units:
        concepts = frozenset(t for t in unit.alternatives if t.startswith("@"))
        key = concepts or frozenset(unit.alternatives)
        if key in merged:
            kept = merged[key]
            alternatives = dict(kept.alternatives)
            for term, weight in unit.alternatives.items():
                alternatives[term] = max(weight, alternatives.get(term, 0.0))
            unit = Unit(f"{kept.label} {unit.label}", alternatives, kept.generic and unit.generic)
        merged[key] = unit
    return list(merged.values())


class Analysis(BaseModel):
    """What building an index works out from the chunks' texts, kept so the next process that
    loads the same policy need not work it out again (the bulk of `staffbot ask`'s start)."""

    known_stems: list[str]
    surface: list[str]  # the words typos are repaired to
    bags: list[tuple[dict[str, float], dict[str, float]]]  # per chunk: BM25's and the passage model's


class AnalysisCache(Protocol):
    """Somewhere to keep an `Analysis` as JSON text, under a key that changes with every input."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, text: str) -> None: ...


ANALYSED_BY = ("index.py", "text.py", "vocabulary.py", "english.py")  # this package's modules an analysis depends on
ANALYSED_WITH = ("snowballstemmer", "PyStemmer", "rapidfuzz")  # the stemmer (PyStemmer's when installed), typo repair


def _code_digest() -> str:
    """The analysing code's own digest, so another version of it never reads an old analysis;
    "" (nothing kept) when its source or a library's version cannot be read. Taken at import,
    from the code that runs rather than whatever is on disk when the first index is built."""
    digest = hashlib.sha256()
    try:
        for library in ANALYSED_WITH:
            try:
                digest.update(f"{library} {importlib.metadata.version(library)}\0".encode())
            except importlib.metadata.PackageNotFoundError:
                digest.update(f"{library} none\0".encode())
        for name in ANALYSED_BY:
            digest.update((Path(__file__).parent / name).read_bytes())
    except (OSError, ValueError):
        return ""
    return digest.hexdigest()


CODE_DIGEST = _code_digest()


class Index:
    def __init__(self, chunks: list[Chunk], vocabulary: Vocabulary,
                 english: WordFrequencies | None = None, cache: AnalysisCache | None = None) -> None:
        self.chunks = chunks
        self.vocabulary = vocabulary
        self.english = english if english is not None else default_frequencies()
        texts = [_fields(c) for c in chunks]
        key = self._key(texts) if cache is not None else ""
        analysis = self._saved(cache.get(key)) if cache is not None and key else None
        if analysis is None:
            analysis = self._analyse(texts)
            if cache is not None and key:
                cache.put(key, analysis.model_dump_json())
        else:
            self._learn_words(analysis.known_stems, analysis.surface)
        self.bm25 = BM25([lexical for lexical, _ in analysis.bags])
        self.passages = QueryLikelihood([passage for _, passage in analysis.bags])

    def _key(self, texts: list[list[tuple[str, float]]]) -> str:
        """A digest of everything an analysis depends on; "" when the code, vocabulary or word
        list came from nowhere a digest was taken of."""
        if not (CODE_DIGEST and self.vocabulary.fingerprint and self.english.fingerprint):
            return ""
        digest = hashlib.sha256("\0".join([CODE_DIGEST, self.vocabulary.fingerprint,
                                            self.english.fingerprint]).encode())
        for chunk_texts in texts:
            for text, weight in chunk_texts:
                digest.update(f"\1{weight}\0{text}".encode())
        return digest.hexdigest()

    def _saved(self, text: str | None) -> Analysis | None:
        """A kept analysis, unless it is missing, unreadable or of another number of chunks."""
        if text is None:
            return None
        try:
            analysis = Analysis.model_validate_json(text)
        except ValidationError:
            return None
        return analysis if len(analysis.bags) == len(self.chunks) else None

    def _analyse(self, texts: list[list[tuple[str, float]]]) -> Analysis:
        fields = [[(words(text), weight) for text, weight in chunk_texts] for chunk_texts in texts]
        known_stems = {stem(w) for chunk_fields in fields for tokens, _ in chunk_fields for w in tokens}
        surface = {w for chunk_fields in fields for w in chunk_fields[0][0]} | self.vocabulary.surface_words  # [0]: its own text
        self._learn_words(known_stems, surface)
        return Analysis(known_stems=sorted(known_stems), surface=sorted(surface),
                        bags=[self._bags(chunk_fields) for chunk_fields in fields])

    def _learn_words(self, known_stems: Iterable[str], surface: Iterable[str]) -> None:
        """What typo repair compares a question's words with."""
        self._known_stems = frozenset(known_stems)
        self._known_words = frozenset(surface)
        # Texts repeat their words; bounded, as questions bring words without end. A word longer
        # than every known word by more than two letters cannot be a slip away from one.
        self._repair = lru_cache(maxsize=REPAIRS_KEPT)(self._closest)
        self._repairable = max(map(len, self._known_words), default=0) + 2
        self._typo_choices: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self._known_words):
            if len(word) >= TYPO_MIN_LENGTH and word not in STOP_WORDS:
                self._typo_choices[word[0]].append(word)

    def _bags(self, texts: list[tuple[list[str], float]]) -> tuple[dict[str, float], dict[str, float]]:
        """A chunk's weighted term counts, from the words of its texts, for BM25 (its stems and
        the concepts its phrases belong to) and for the passage model (its texts analysed as
        questions are)."""
        lexical: dict[str, float] = defaultdict(float)
        passage: dict[str, float] = defaultdict(float)
        for text_words, weight in texts:
            tokens, stems, found = self._read(text_words)
            for word, word_stem in zip(tokens, stems):
                if word not in STOP_WORDS:
                    lexical[word_stem] += weight
            for _, _, names in found:
                for name in names:
                    lexical[concept_token(name)] += weight
            for term, value in self.terms(self._units(tokens, stems, found)).items():
                passage[term] += weight * value
        return lexical, passage

    def _closest(self, word: str) -> str:
        """A word that is neither known to the policy nor common English, replaced by the
        closest known word if one is a slip or two away."""
        if (word in STOP_WORDS or word in self._known_words or word in self.english
                or len(word) < TYPO_MIN_LENGTH):
            return word
        if stem(word) in self._known_stems:
            return word
        # Typos rarely hit the first letter: "wear" must not become "swear".
        choices = self._typo_choices.get(word[0], ())
        limit = 2 if len(word) >= TYPO_LONG_WORD else 1
        best = process.extractOne(word, choices, scorer=DamerauLevenshtein.distance, score_cutoff=limit)
        return best[0] if best else word

    def _read(self, text_words: list[str]) -> tuple[list[str], list[str], list[tuple[int, int, list[str]]]]:
        """The words of a text after typo repair, their stems, and its vocabulary phrases."""
        tokens = [self._repair(w) if len(w) <= self._repairable else w for w in text_words]
        stems = [stem(w) for w in tokens]
        return tokens, stems, self.vocabulary.concepts.find(tokens, stems)

    def analyse(self, question: str) -> list[Unit]:
        """The units of a question, after typo repair and vocabulary matching."""
        return self._units(*self._read(words(question)))

    def _units(self, tokens: list[str], stems: list[str], found: list[tuple[int, int, list[str]]]) -> list[Unit]:
        vocab = self.vocabulary
        units: list[Unit] = []
        covered: set[int] = set()
        for start, end, concepts in found:
            covered.update(range(start, end))
            own = [s for w, s in zip(tokens[start:end], stems[start:end]) if w not in STOP_WORDS]
            # A single word also matches itself; a phrase ("keep an eye on") only as a concept.
            single = end - start == 1
            alternatives = {concept_token(name): CONCEPT_WEIGHT if single else 1.0 for name in concepts}
            if single and own:
                alternatives[own[0]] = 1.0
            generic = any(name in vocab.generic_concepts for name in concepts) or bool(own) and all(
                s in vocab.generic_stems for s in own)
            units.append(Unit(" ".join(tokens[start:end]), alternatives, generic))
        for i, word in enumerate(tokens):
            if i not in covered and word not in STOP_WORDS and not word.isdigit():  # "Year 7": the 7 says nothing
                units.append(Unit(word, {stems[i]: TEXT_WEIGHT}, stems[i] in vocab.generic_stems))
        return _merge(units)

    def unit_scores(self, unit: Unit) -> dict[int, float]:
        """Chunk index -> this unit's score there: the word itself or the sum of its concepts
        ("sarcastic" is about both tone and respect), whichever is higher."""
        best: dict[int, float] = {}
        concepts: dict[int, float] = defaultdict(float)
        for term, weight in unit.alternatives.items():
            postings = self.bm25.postings.get(term, ())
            if term.startswith("@"):
                for doc, score in postings:
                    concepts[doc] += weight * score
            elif not best:  # the commonest case: a unit's first word
                best = {doc: weight * score for doc, score in postings}
            else:
                for doc, score in postings:
                    if weight * score > best.get(doc, 0.0):
                        best[doc] = weight * score
        for doc, score in concepts.items():
            if score > best.get(doc, 0.0):
                best[doc] = score
        return best

    def weight(self, unit: Unit) -> float:
        """How much a unit counts: low for generic words, and for single words by how rare they
        are in everyday English ("sarcastic" says more than "people")."""
        if unit.generic:
            return GENERIC_WEIGHT
        if " " in unit.label:
            return 1.0
        everyday = (EVERYDAY_ZIPF - self.english.frequency(unit.label)) / EVERYDAY_SPAN
        return min(max(everyday, GENERIC_WEIGHT), 1.0)

    def terms(self, units: list[Unit]) -> dict[str, float]:
        """Each term of the units (stem or concept) with the weight it counts for."""
        found: dict[str, float] = {}
        for unit in units:
            weight = self.weight(unit)
            for term, share in unit.alternatives.items():
                found[term] = max(found.get(term, 0.0), weight * share)
        return found

    def rank(self, units: list[Unit], k: int) -> list[tuple[int, float]]:
        """The k passages most likely to be what the question is about, as (chunk index,
        log-likelihood) pairs, best first."""
        return self.passages.rank(self.terms(units), k)

    def coverage(self, units: list[Unit]) -> dict[int, float]:
        """Chunk index -> its BM25 score for the question: how much of the question the
        policy's wording covers there (chunks sharing nothing with it are left out)."""
        totals: dict[int, float] = defaultdict(float)
        for unit in units:
            weight = self.weight(unit)
            for doc, score in self.unit_scores(unit).items():
                totals[doc] += weight * score
        return dict(totals)

    def covered_share(self, units: list[Unit]) -> float:
        """The weighted share of the question's units that some chunk contains: "whiteboard"
        in "who fixes a broken whiteboard" is a part of the question no passage speaks to."""
        total = sum(self.weight(u) for u in units)
        covered = sum(self.weight(u) for u in units if any(t in self.bm25.postings for t in u.alternatives))
        return covered / total if total else 0.0
