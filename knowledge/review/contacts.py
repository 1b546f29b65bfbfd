"""Phone numbers and email addresses in a draft, and whether they are someone's own.

Phones are found by the phonenumbers library (default region from the data, GB). A
number is personal when it is a mobile or the sentence says so ("my", "home", ...), and
the school's own when the sentence names the office or reception. Email addresses use a
careful pattern: free webmail is always personal, role mailboxes (office@, admin@) never.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import phonenumbers

from knowledge.review.draft import Draft, Hit, Segment
from knowledge.review.rules import compile_patterns

_EMAIL = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9])?)@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})(?![\w-])"
)
_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
_DIGITS = re.compile(r"\d")


class ContactDetector:
    def __init__(self, table: Mapping[str, Any], policy: str) -> None:
        self.policy = policy
        self.region = str(table.get("region", "GB"))
        self.personal = compile_patterns(table.get("personal", []))
        self.public = compile_patterns(table.get("public", []))
        self.role_mailboxes = frozenset(m.lower() for m in table.get("role_mailboxes", []))
        self.free_mail = frozenset(d.lower() for d in table.get("free_mail", []))

    def find(self, draft: Draft, folded: str) -> Iterator[Hit]:
        for segment in draft.segments:
            sentence = folded[segment.start:segment.end]
            if "@" in sentence:
                yield from self._emails(segment, sentence)
            if len(_DIGITS.findall(sentence)) >= 10:
                yield from self._phones(segment, sentence)

    def _emails(self, segment: Segment, sentence: str) -> Iterator[Hit]:
        for match in _EMAIL.finditer(sentence):
            mailbox, domain = match.group(1).lower(), match.group(2).lower()
            if domain in self.free_mail or (mailbox not in self.role_mailboxes and self._says_personal(sentence)):
                yield self._hit(segment, match.start(), match.end())

    def _phones(self, segment: Segment, sentence: str) -> Iterator[Hit]:
        matcher = phonenumbers.PhoneNumberMatcher(sentence, self.region, leniency=phonenumbers.Leniency.POSSIBLE)
        for match in matcher:
            raw = match.raw_string
            # POSSIBLE leniency also accepts "2024-2025": a written number starts 0 or +.
            if not raw.startswith(("0", "+", "(")) or len(_DIGITS.findall(raw)) < 10:
                continue
            if self._says_personal(sentence) or (self._is_mobile(match.number) and not self._says_public(sentence)):
                yield self._hit(segment, match.start, match.end)

    def _is_mobile(self, number: phonenumbers.PhoneNumber) -> bool:
        if phonenumbers.number_type(number) in _MOBILE_TYPES:
            return True
        # Drama and example ranges (07700 900xxx) are not "valid" but are still mobiles.
        return number.country_code == 44 and str(number.national_number).startswith("7")

    def _says_personal(self, sentence: str) -> bool:
        return bool(self.personal and self.personal.search(sentence)) and not self._says_public(sentence)

    def _says_public(self, sentence: str) -> bool:
        return bool(self.public and self.public.search(sentence))

    def _hit(self, segment: Segment, start: int, end: int) -> Hit:
        return Hit("contact_details", segment.start + start, segment.start + end, self.policy)
