"""The staff vocabulary: how staff say things versus how the policy says them.

Loaded from a TOML file (see data/VOCABULARY.md): concept groups of interchangeable words
and phrases, generic words that say little about which passage answers, and the cue
phrases that call for an incident report or a second opinion. Everything is stored as
stem sequences so "kids", "kid's" and "Kids" all match the same entry.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.text import STOP_WORDS, stem, words

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "vocabulary.toml"

Phrase = tuple[str, ...]  # stems of every word, stop words included


def phrase(text: str) -> Phrase:
    return tuple(stem(w) for w in words(text))


def find_phrases(stems: list[str], phrases: dict[Phrase, list[str]]) -> list[tuple[int, int, list[str]]]:
    """(start, end, values) of non-overlapping phrase occurrences, longest match first."""
    longest = max((len(p) for p in phrases), default=0)
    found: list[tuple[int, int, list[str]]] = []
    i = 0
    while i < len(stems):
        for size in range(min(longest, len(stems) - i), 0, -1):
            values = phrases.get(tuple(stems[i:i + size]))
            if values is not None:
                found.append((i, i + size, values))
                i += size
                break
        else:
            i += 1
    return found


@dataclass(frozen=True)
class Vocabulary:
    # concept name -> content stems of all its terms (what a match expands to)
    concepts: dict[str, frozenset[str]] = field(default_factory=dict)
    # term stem sequence -> names of the concepts it belongs to
    terms: dict[Phrase, list[str]] = field(default_factory=dict)
    generic_stems: frozenset[str] = frozenset()
    generic_concepts: frozenset[str] = frozenset()
    cues: dict[str, list[Phrase]] = field(default_factory=dict)  # next step -> cue phrases
    surface_words: frozenset[str] = frozenset()  # every word spelled in the file, for typos

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
        concepts: dict[str, frozenset[str]] = {}
        terms: dict[Phrase, list[str]] = {}
        surface: set[str] = set()
        for name, entries in raw.get("concepts", {}).items():
            stems: set[str] = set()
            for entry in entries:
                key = phrase(entry)
                if not key:
                    continue
                terms.setdefault(key, []).append(name)
                surface.update(words(entry))
                stems.update(stem(w) for w in words(entry) if w not in STOP_WORDS)
            concepts[name] = frozenset(stems)
        generic = raw.get("generic", {})
        cues = {step: [phrase(c) for c in entries] for step, entries in raw.get("cues", {}).items()}
        for entries in raw.get("cues", {}).values():
            for entry in entries:
                surface.update(words(entry))
        return cls(
            concepts=concepts,
            terms=terms,
            generic_stems=frozenset(stem(w) for entry in generic.get("words", []) for w in words(entry)),
            generic_concepts=frozenset(generic.get("concepts", [])),
            cues=cues,
            surface_words=frozenset(w for w in surface if w not in STOP_WORDS),
        )

    @classmethod
    def default(cls) -> Vocabulary:
        """The shipped data/vocabulary.toml, or an empty vocabulary when it is not there."""
        return cls.load(DEFAULT_PATH) if DEFAULT_PATH.exists() else cls()
