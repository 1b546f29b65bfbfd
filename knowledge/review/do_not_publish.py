"""The school's list of learners who must not be named or shown, matched fuzzily.

The list is sensitive: it is read from a path the caller passes in (never from the
repository), and neither this object's repr nor any message contains a name from it.
A draft name matches an entry when the surnames are close (rapidfuzz ratio, so "Green"
matches "Greene") and the first names are close or one is a known short form of the
other ("Tom" for "Thomas").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from knowledge.review.draft import Draft, Hit

_WORD = r"[A-Z][a-zA-Z]+(?:['-][A-Za-z]+)*"
_PAIR = re.compile(rf"(?=(?<![\w'-])({_WORD})\s+({_WORD})(?![\w'-]))")
_SINGLE = re.compile(rf"(?<![\w'-]){_WORD}(?![\w'-])")


@dataclass(frozen=True, slots=True)
class _Entry:
    first: frozenset[str]  # the first name and its short forms, lower case
    last: str  # lower case; "" for a one-word entry


class DoNotPublish:
    def __init__(
        self,
        names: Iterable[str],
        nicknames: Mapping[str, Sequence[str]],
        policy: str,
        image_policy: str,
        surname_similarity: float = 85,
        first_name_similarity: float = 80,
    ) -> None:
        groups = [{formal.lower(), *(s.lower() for s in shorts)} for formal, shorts in nicknames.items()]
        entries = []
        for name in names:
            words = name.lower().split()
            if words:
                first = words[0]
                variants = {first}.union(*(g for g in groups if first in g))
                entries.append(_Entry(frozenset(variants), words[-1] if len(words) > 1 else ""))
        self._entries = tuple(entries)
        self.policy = policy
        self.image_policy = image_policy
        self.surname_similarity = surname_similarity
        self.first_name_similarity = first_name_similarity

    @classmethod
    def from_path(cls, path: Path, table: Mapping[str, Any], policy: str, image_policy: str) -> DoNotPublish:
        """One name a line; blank lines and lines starting with # are skipped."""
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        names = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        return cls(
            names,
            table.get("nicknames", {}),
            policy=str(table.get("do_not_publish_policy", policy)),
            image_policy=image_policy,
            surname_similarity=float(table.get("surname_similarity", 85)),
            first_name_similarity=float(table.get("first_name_similarity", 80)),
        )

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"DoNotPublish({len(self._entries)} names)"

    def find(self, draft: Draft, folded: str) -> Iterator[Hit]:
        """A learner_identification hit per listed name, plus image_permission in media text."""
        if not self._entries:
            return
        for segment in draft.segments:
            sentence = folded[segment.start:segment.end]
            for start, end in self._names_in(sentence):
                yield Hit("learner_identification", segment.start + start, segment.start + end, self.policy)
                if segment.media:
                    yield Hit("image_permission", segment.start + start, segment.start + end, self.image_policy)

    def _names_in(self, sentence: str) -> Iterator[tuple[int, int]]:
        for pair in _PAIR.finditer(sentence):
            first, last = pair.group(1).lower(), pair.group(2).lower()
            if any(e.last and self._same(first, last, e) for e in self._entries):
                yield pair.start(1), pair.end(2)
        for word in _SINGLE.finditer(sentence):
            if any(not e.last and self._same_first(word.group().lower(), e) for e in self._entries):
                yield word.span()

    def _same(self, first: str, last: str, entry: _Entry) -> bool:
        return fuzz.ratio(last, entry.last) >= self.surname_similarity and self._same_first(first, entry)

    def _same_first(self, first: str, entry: _Entry) -> bool:
        return first in entry.first or max(fuzz.ratio(first, v) for v in entry.first) >= self.first_name_similarity
