"""KnowledgeBase: answer a staff question with the policy passages that cover it.

The passage model (knowledge/likelihood.py) proposes candidates and the reranker
(knowledge/rerank.py) orders them. Whether the policy
covers the question at all is a separate call: a logistic function of how well the policy's
wording covers it (BM25), how much of it the policy mentions anywhere and how close it comes
to one of the example questions of a candidate passage, with two kinds of
question held to a higher bar: how-to questions ("how do I reset...": a policy says what is
allowed, rarely how to work a system) and questions that never touch the policy's subject
(pay, parking, a dress code), the two commonest kinds the policy does not cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.index import AnalysisCache, Index, Unit
from knowledge.ingest import Library, load_folder
from knowledge.logistic import sigmoid
from knowledge.models import Answer, Chunk, Match, NextStep
from knowledge.rerank import DEPTH, Reranker
from knowledge.text import normalise, same_text, words
from knowledge.vocabulary import Vocabulary

ANSWER_THRESHOLD = 0.5  # below this confidence the policy is taken not to cover the question
# A runner-up from another section whose odds of being right are at least this share of the
# best's (a one-in-four chance that it, not the best, is right) makes the answer ambiguous:
# chosen so that about one answer in six offers alternatives, as before the reranker.
AMBIGUITY_RATIO = 0.3
# The calibration's closeness looks at the passage model's first few candidates only: among all
# DEPTH of them nearly any question, in scope or not, finds some example question like it.
CLOSENESS_DEPTH = 5
SAME_PAIRS_KEPT = 65536  # pairs of passages remembered as saying the same thing or not
MAX_MATCHES = 3
# Logistic calibration of `features` (see `confidence`), fitted by tools/fit_calibration.py
# on the dev, extra, held-out and diagnostic question sets: at most 3% of their in-scope
# questions fall below ANSWER_THRESHOLD before the fit's margin (the target for questions
# not seen is 5%).
CALIBRATION = {"coverage": 0.4317, "covered_share": 3.6937, "procedure": -3.712, "off_topic": -4.6301,
               "closeness": 6.9633}
CALIBRATION_BIAS = -7.3692
# For a question some of whose candidates have no example questions (a document without a
# topics file), closeness says nothing, so it is left out, as the reranker leaves it out.
CALIBRATION_WITHOUT_EXAMPLES = {"coverage": 0.4201, "covered_share": 4.4301, "procedure": -3.9796, "off_topic": -5.0}
CALIBRATION_WITHOUT_EXAMPLES_BIAS = -4.7828
NEXT_STEP_PRIORITY: tuple[NextStep, ...] = ("report", "second_opinion")


@dataclass(frozen=True)
class Reading:
    """One question as the knowledge base reads it, worked out once for ranking and calibration:
    its units, each chunk's BM25 score for it, the passage model's best DEPTH candidates and
    the reranker's evidence on each."""

    question: str
    units: list[Unit]
    coverage: dict[int, float]
    candidates: list[tuple[int, float]]
    evidence: list[dict[str, float]]
    described: bool  # every candidate has example questions (see Reranker.described)


class KnowledgeBase:
    def __init__(self, chunks: list[Chunk], vocabulary: Vocabulary | None = None,
                 problems: list[str] | None = None, cache: AnalysisCache | None = None) -> None:
        self.chunks = list(chunks)
        self.vocabulary = vocabulary if vocabulary is not None else Vocabulary.default()
        self.problems = list(problems or [])
        self.index = Index(self.chunks, self.vocabulary, cache=cache)
        self.reranker = Reranker(self.chunks)
        # Answers compare the same few passages again and again; bounded, as pairs are many.
        self._same = lru_cache(maxsize=SAME_PAIRS_KEPT)(self._says_the_same)

    @classmethod
    def from_folder(cls, path: Path | str, vocabulary: Vocabulary | None = None,
                    cache: AnalysisCache | None = None) -> KnowledgeBase:
        """Load every policy in `path` (with the shipped vocabulary unless one is given, and the
        index's analysis from `cache` when it holds this policy's); raises ValueError when no
        document could be read."""
        library: Library = load_folder(path)
        if not library.chunks:
            detail = "; ".join(library.problems) or "no text found"
            raise ValueError(f"no policy could be loaded from {path}: {detail}")
        return cls(library.chunks, vocabulary, library.problems, cache)

    def search(self, question: str, k: int = MAX_MATCHES) -> list[Match]:
        """The k (at most DEPTH) best passages, each scored by its odds relative to the best (1.0)."""
        ranked = self.rank(self.read(question))
        return [Match(chunk=self.chunks[i], score=score) for i, score in self._shown(ranked, k)]

    def read(self, question: str) -> Reading:
        """What ranking and calibration need to know about `question`, each worked out once."""
        units = self.index.analyse(question)
        coverage = self.index.coverage(units)
        candidates = self.index.rank(units, DEPTH)
        return Reading(question, units, coverage, candidates, self.reranker.features(question, candidates, coverage),
                       self.reranker.described(candidates))

    def rank(self, reading: Reading) -> list[tuple[int, float]]:
        """The passage model's best candidates, the reranker's pick first: (chunk index, score)."""
        return self.reranker.order(reading.candidates, reading.evidence)

    def _says_the_same(self, i: int, j: int) -> bool:
        return same_text(self.chunks[i].text, self.chunks[j].text)

    def _shown(self, ranked: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
        """The first k of `ranked` (chunk index, reranker score, best first) as (chunk index, odds
        of being right relative to the first), leaving out a passage that repeats one listed
        before it (the policy says some things in two sections)."""
        kept: list[tuple[int, float]] = []
        for i, score in ranked:
            if len(kept) == k:
                break
            if not any(self._same(min(i, j), max(i, j)) for j, _ in kept):
                kept.append((i, math.exp(score - ranked[0][1])))
        return kept

    def answer(self, question: str) -> Answer:
        reading = self.read(question)
        ranked = self.rank(reading)
        next_step = self.next_step(question)
        if not ranked:
            return Answer(question=question, answered=False, confidence=0.0, next_step=next_step)
        confidence = self.confidence(self.features(reading), reading.described)
        shown = self._shown(ranked, MAX_MATCHES)
        matches = [Match(chunk=self.chunks[i], score=round(confidence * s, 4)) for i, s in shown]
        answered = confidence >= ANSWER_THRESHOLD
        ambiguous = answered and len(shown) > 1 and shown[1][1] >= AMBIGUITY_RATIO and (
            self.chunks[shown[1][0]].section != self.chunks[shown[0][0]].section)
        closest: list[str] = []
        if not answered:
            closest = self._sections(ranked)
            if len(closest) < MAX_MATCHES:  # the candidates share a section or two: look further down
                closest = self._sections(ranked + self.index.rank(reading.units, len(self.chunks)))
        return Answer(question=question, answered=answered, confidence=confidence, matches=matches,
                      ambiguous=ambiguous, closest_sections=closest, next_step=next_step)

    def _sections(self, ranked: list[tuple[int, float]]) -> list[str]:
        """The first MAX_MATCHES different section paths of the passages of `ranked`."""
        found: list[str] = []
        for i, _ in ranked:
            path = self.chunks[i].section_path
            if path not in found:
                found.append(path)
                if len(found) == MAX_MATCHES:
                    break
        return found

    def on_topic(self, question: str, units: list[Unit]) -> bool:
        """Whether the question mentions what the policy is about (the vocabulary's `topic`
        words, phrases such as "this policy", and concepts), in its own words or through a
        concept. A vocabulary without a topic cannot tell, so every question counts as on topic."""
        vocab = self.vocabulary
        if not vocab.topic_stems and not vocab.topic_concepts and not vocab.topic_phrases.exact:
            return True
        return vocab.names_the_topic(words(question)) or any(
            term in vocab.topic_stems or term[1:] in vocab.topic_concepts for unit in units for term in unit.alternatives)

    def features(self, reading: Reading) -> dict[str, float]:
        """What the calibration weighs: how well the policy's wording covers the question (the
        best of the chunks' BM25 scores), the share of the question's words and concepts the
        policy uses at all, whether it opens like a how-to, whether it is off the policy's
        subject, and how close it comes to an example question of one of the passage model's
        first candidates (a question the policy answers usually resembles one way staff ask
        about a passage)."""
        return {
            "coverage": max(reading.coverage.values(), default=0.0),
            "covered_share": self.index.covered_share(reading.units),
            "procedure": float(self.vocabulary.asks_for_procedure(words(reading.question))),
            "off_topic": float(not self.on_topic(reading.question, reading.units)),
            "closeness": max((found["closeness"] for found in reading.evidence[:CLOSENESS_DEPTH]), default=0.0),
        }

    @staticmethod
    def confidence(features: dict[str, float], described: bool = True) -> float:
        """Logistic calibration of the features (see CALIBRATION, and CALIBRATION_WITHOUT_EXAMPLES
        when not every candidate is `described`); at ANSWER_THRESHOLD in-scope and out-of-scope
        questions part."""
        weights, bias = ((CALIBRATION, CALIBRATION_BIAS) if described
                         else (CALIBRATION_WITHOUT_EXAMPLES, CALIBRATION_WITHOUT_EXAMPLES_BIAS))
        z = bias + math.fsum(weight * features[name] for name, weight in weights.items())
        return round(sigmoid(z), 4)

    def next_step(self, question: str) -> NextStep | None:
        """"report" or "second_opinion" when the question contains one of the vocabulary's cues."""
        found = {step for _, _, steps in self.vocabulary.cues.find(words(question)) for step in steps}
        return next((step for step in NEXT_STEP_PRIORITY if step in found), None)

    def find_passage(self, phrase: str) -> Chunk | None:
        """The chunk whose text contains `phrase`, ignoring case, spacing and curly quotes."""
        wanted = normalise(phrase)
        if not wanted:
            return None
        return next((c for c in self.chunks if wanted in normalise(c.text)), None)

    def sections(self) -> list[tuple[str, str, int]]:
        """(document, section path, chunk count) in reading order."""
        counts: dict[tuple[str, str], int] = {}
        for chunk in self.chunks:
            key = (chunk.document, chunk.section_path)
            counts[key] = counts.get(key, 0) + 1
        return [(doc, section, n) for (doc, section), n in counts.items()]

    def describe(self) -> list[str]:
        """Human-readable lines for `staffbot kb`: documents (with how many passages a topics file
        describes: without one, staff wording finds far less), sections and chunk counts, problems."""
        lines: list[str] = []
        current = None
        for document, section, count in self.sections():
            if document != current:
                own = [c for c in self.chunks if c.document == document]
                described = sum(1 for c in own if c.topics)
                note = f"{described} with topics" if described else "no topics: found by its own wording only"
                lines.append(f"{document} ({len(own)} passage{'' if len(own) == 1 else 's'}, {note})")
                current = document
            lines.append(f"  {section}: {count}")
        lines.extend(f"problem: {p}" for p in self.problems)
        return lines
