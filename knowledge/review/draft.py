"""Split a draft into the pieces the detectors look at.

Reply drafts are written as `Reply to a comment ("the comment"): "our reply"`: the quoted
comment is someone else's words, so it tells us the draft is a reply but is never checked.
Bracketed descriptions (`[Attached: ...]`, `[link to ...]`) stand for media the reviewer
cannot see, so they are segments of their own and are checked like text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REPLY_HEADER = re.compile(
    r"^\s*(?:re(?:ply|plying|sponse|sponding)|answer(?:ing)?)\s+to\b[^:(]*?(?:\(.*?\)\s*)?:",
    re.IGNORECASE | re.DOTALL,
)
_AT_REPLY = re.compile(r"^\s*@\w+")
_BRACKET = re.compile(r"\[[^\[\]]*\]")
# A sentence ends at . ! ? followed by a space or the end: "5.30pm" and "bit.ly/x" stay whole.
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?]+(?=[^\s.!?]))+[.!?]*")
_MEDIA_WORDS = re.compile(r"\b(?:photo|picture|pic|image|video|clip|film|footage|selfie)s?\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Segment:
    """A sentence or bracketed description, with offsets into the original draft."""

    start: int
    end: int
    text: str
    bracket: bool
    media: bool


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    is_reply: bool
    segments: tuple[Segment, ...]

    @classmethod
    def parse(cls, text: str, target: str | None = None) -> Draft:
        header = _REPLY_HEADER.match(text)
        body_start = header.end() if header else 0
        is_reply = bool(header or _AT_REPLY.match(text)
                        or (target and re.search(r"\b(?:comment|reply)", target, re.IGNORECASE)))
        segments: list[Segment] = []
        cursor = body_start
        for bracket in _BRACKET.finditer(text, body_start):
            segments.extend(_sentences(text, cursor, bracket.start()))
            segments.append(_segment(text, bracket.start(), bracket.end(), bracket=True))
            cursor = bracket.end()
        segments.extend(_sentences(text, cursor, len(text)))
        return cls(text=text, is_reply=is_reply, segments=tuple(segments))


def _segment(text: str, start: int, end: int, bracket: bool) -> Segment:
    piece = text[start:end]
    return Segment(start, end, piece, bracket, bracket or bool(_MEDIA_WORDS.search(piece)))


def _sentences(text: str, start: int, end: int) -> list[Segment]:
    return [
        _segment(text, start + m.start(), start + m.end(), bracket=False)
        for m in _SENTENCE.finditer(text[start:end])
        if m.group().strip()
    ]


@dataclass(frozen=True, slots=True)
class Hit:
    """A detector's raw finding: a reason, the draft span and the policy phrase it rests on."""

    reason: str
    start: int
    end: int
    policy: str
