"""The staff vocabulary: how staff say things versus how the policy says them.

Loaded from a TOML file (see data/VOCABULARY.md): concept groups of interchangeable words
and phrases, generic words that say little about which passage answers, and the cue
phrases that call for an incident report or a second opinion. Everything is stored as
stem sequences so "kids", "kid's" and "Kids" all match the same entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.text import STOP_WORDS, stem, words
from knowledge.toml import tomllib

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "vocabulary.toml"
PROCEDURE_OPENING = 2  # a how-to phrase counts when it starts within the first three words

_ENDINGS = frozenset({"", "s", "es", "ed", "d", "ing", "e", "y", "ies", "ied", "ying", "'s", "ly"})


def _inflections(a: str, b: str) -> bool:
    """Whether two words differ only by an inflectional ending ("bullied"/"bully")."""
    common = len(os.path.commonprefix([a, b]))
    return a[common:] in _ENDINGS and b[common:] in _ENDINGS


class PhraseTable:
    """Phrases (each with values) found in token lists, longest first, without overlaps.

    An exact word match wins over a stem match, so "reporter" finds the journalist entry
    rather than everything filed under the stem "report".
    """

    def __init__(self, entries: dict[str, list[str]] | None = None) -> None:
        self.exact: dict[tuple[str, ...], list[str]] = {}
        self.stemmed: dict[tuple[str, ...], list[tuple[tuple[str, ...], list[str]]]] = {}
        sizes: dict[str, set[int]] = {}
        for text, values in (entries or {}).items():
            tokens = tuple(words(text))
            if tokens:
                known = self.exact.setdefault(tokens, [])
                known.extend(v for v in values if v not in known)
                stems = tuple(stem(w) for w in tokens)
                self.stemmed.setdefault(stems, []).append((tokens, values))
                sizes.setdefault(stems[0], set()).add(len(tokens))
        # first stem -> lengths of the phrases it starts, longest first
        self.sizes = {first: tuple(sorted(lengths, reverse=True)) for first, lengths in sizes.items()}

    def _by_stem(self, tokens: tuple[str, ...], stems: tuple[str, ...]) -> list[str]:
        """Values of the entries that are inflections of `tokens` ("harassed" for "harass"),
        not merely stem-alike ("conversion" is not "conversation")."""
        values: list[str] = []
        for entry, entry_values in self.stemmed.get(stems, ()):
            if all(_inflections(a, b) for a, b in zip(tokens, entry)):
                values.extend(v for v in entry_values if v not in values)
        return values

    def find(self, tokens: list[str], stems: list[str] | None = None) -> list[tuple[int, int, list[str]]]:
        """(start, end, values) of each phrase occurrence in `tokens` (lowercase words), whose
        stems the caller may pass when it has them."""
        stems = stems if stems is not None else [stem(t) for t in tokens]
        found: list[tuple[int, int, list[str]]] = []
        i = 0
        while i < len(tokens):
            for size in self.sizes.get(stems[i], ()):
                if i + size > len(tokens):
                    continue
                values = self.exact.get(tuple(tokens[i:i + size]))
                if not values and (size > 1 or tokens[i] not in STOP_WORDS):  # "year" is not "yearly"
                    values = self._by_stem(tuple(tokens[i:i + size]), tuple(stems[i:i + size]))
                if values:
                    found.append((i, i + size, values))
                    i += size
                    break
            else:
                i += 1
        return found


@dataclass(frozen=True)
class Vocabulary:
    concepts: PhraseTable = field(default_factory=PhraseTable)  # term -> concept names
    cues: PhraseTable = field(default_factory=PhraseTable)  # cue phrase -> next steps
    procedures: PhraseTable = field(default_factory=PhraseTable)  # "how do I" openings -> "procedure"
    generic_stems: frozenset[str] = frozenset()
    generic_concepts: frozenset[str] = frozenset()
    topic_stems: frozenset[str] = frozenset()  # words that say a question is about this policy's subject
    topic_concepts: frozenset[str] = frozenset()
    topic_phrases: PhraseTable = field(default_factory=PhraseTable)  # "this policy": about it too
    surface_words: frozenset[str] = frozenset()  # every word spelled in the file, for typos
    fingerprint: str = ""  # a digest of the file's entries, so an index built with them can be reused; "" if unknown

    @classmethod
    def load(cls, path: Path | str) -> Vocabulary:
        """Parse a vocabulary file; raises ValueError naming the file when it is malformed."""
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(raw)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, TypeError, AttributeError) as exc:
            raise ValueError(f"vocabulary file {path} is malformed: {exc}") from exc

    @classmethod
    def from_dict(cls, raw: dict) -> Vocabulary:
        concepts: dict[str, list[str]] = {}
        for name, entries in raw.get("concepts", {}).items():
            for entry in entries:
                concepts.setdefault(entry, []).append(name)
        cues: dict[str, list[str]] = {}
        for step, entries in raw.get("cues", {}).items():
            for entry in entries:
                cues.setdefault(entry, []).append(step)
        questions = raw.get("questions", {})
        openings = {entry: ["procedure"] for entry in questions.get("procedure", [])}
        generic = raw.get("generic", {})
        known = raw.get("words", {}).get("known", [])
        surface = {w for entry in [*concepts, *cues, *known, *openings] for w in words(entry)}
        return cls(
            concepts=PhraseTable(concepts),
            cues=PhraseTable(cues),
            procedures=PhraseTable(openings),
            generic_stems=frozenset(stem(w) for entry in generic.get("words", []) for w in words(entry)),
            generic_concepts=frozenset(generic.get("concepts", [])),
            topic_stems=frozenset(stem(w) for entry in questions.get("topic", []) if len(words(entry)) == 1
                                  for w in words(entry)),
            topic_phrases=PhraseTable({entry: ["topic"] for entry in questions.get("topic", [])
                                       if len(words(entry)) > 1}),
            topic_concepts=frozenset(questions.get("topic_concepts", [])),
            surface_words=frozenset(w for w in surface if w not in STOP_WORDS),
            fingerprint=hashlib.sha256(json.dumps(raw, default=str).encode()).hexdigest(),  # in file order, as read
        )

    def names_the_topic(self, tokens: list[str]) -> bool:
        """Whether the question uses one of the topic phrases ("this policy")."""
        return bool(self.topic_phrases.find(tokens))

    def asks_for_procedure(self, tokens: list[str]) -> bool:
        """Whether a question opens like a how-to ("how do I", "where can I"): policies say
        what is allowed or required, rarely how to work a system, so such questions are more
        often outside the policy."""
        return any(start <= PROCEDURE_OPENING for start, _, _ in self.procedures.find(tokens))

    @classmethod
    def default(cls) -> Vocabulary:
        """The shipped data/vocabulary.toml, or an empty vocabulary when it is not there."""
        return cls.load(DEFAULT_PATH) if DEFAULT_PATH.exists() else cls()
