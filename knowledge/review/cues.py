"""The generic detector: cue rules from the data files, applied sentence by sentence.

Most reasons (grievance, criticism, copyright, ...) are "a cue, in the right company, and
not excused": that is one `CueRule`, so the families differ only in their data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from knowledge.review.draft import Draft, Hit, Segment
from knowledge.review.rules import CueRule


class CueDetector:
    def __init__(self, rules: Sequence[CueRule]) -> None:
        self.rules = tuple(rules)

    def find(self, draft: Draft, folded: str) -> Iterator[Hit]:
        """Hits in `folded` (the draft with quotes and dashes folded, same offsets)."""
        if not draft.segments:
            return
        body = folded[draft.segments[0].start:]
        for rule in self.rules:
            if rule.where == "reply" and not draft.is_reply:
                continue
            if rule.within == "draft" and not _in_company(rule, body):  # once per draft, not per sentence
                continue
            for segment in draft.segments:
                if _in_scope(rule, segment):
                    hit = _apply(rule, folded, segment)
                    if hit:
                        yield hit


def _in_scope(rule: CueRule, segment: Segment) -> bool:
    if rule.where == "media":
        return segment.media
    if rule.where == "bracket":
        return segment.bracket
    return True


def _in_company(rule: CueRule, text: str) -> bool:
    """Whether `text` has what the rule needs beside its cue (`near`) and nothing that excuses it (`unless`)."""
    return not (rule.unless and rule.unless.search(text)) and not (rule.near and not rule.near.search(text))


def _apply(rule: CueRule, folded: str, segment: Segment) -> Hit | None:
    sentence = folded[segment.start:segment.end]
    found = rule.match.search(sentence)
    if not found:
        return None
    start, end = found.span()
    if rule.within == "sentence":
        if rule.unless and rule.unless.search(sentence):
            return None
        if rule.near:
            near = rule.near.search(sentence)
            if not near:
                return None
            start, end = min(start, near.start()), max(end, near.end())
    return Hit(rule.reason, segment.start + start, segment.start + end, rule.policy)
