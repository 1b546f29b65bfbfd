"""Links to shortened or unknown domains.

A shortener hides where a link goes, so it is always flagged (the verdict model then weighs
it like any other cue). A domain the school has not listed as trusted is flagged too with `unknown = "all"`; with the default
`unknown = "suspicious"` only when it looks like the links that cause trouble: a suffix
favoured by spam and phishing (.xyz, .ru, .co), a bait word in the name (free, login,
claim), letters mixed with digits ("senda1d"), or a download of a program. A school links
every week to its own website, exam boards and the local paper, none of which anyone can
list in advance. Domains are split with tldextract using only its bundled suffix list
(`suffix_list_urls=()`): reviewing a draft never touches the network. Bracketed link
descriptions are handled by cue rules in links.toml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import tldextract

from knowledge.review.draft import Draft, Hit
from knowledge.review.rules import RulesError

URL = re.compile(
    r"(?P<full>(?:https?://|www\.)[^\s<>\[\]()\"']+)"
    r"|(?<![@\w.-])(?P<bare>(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/[^\s<>\[\]()\"']*)?)",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)
_TRAILING = ".,;:!?'\")"
_NAME_PARTS = re.compile(r"[a-z]+")
_LETTERS_AND_DIGITS = re.compile(r"[a-z][0-9]|[0-9][a-z]")
UNKNOWN_MODES = ("suspicious", "all")


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())


class LinkDetector:
    def __init__(self, table: Mapping[str, Any], policy: str) -> None:
        self.policy = policy
        self.shorteners = frozenset(d.lower() for d in table.get("shorteners", []))
        self.trusted = tuple(d.lower() for d in table.get("trusted", []))
        unknown = table.get("unknown", UNKNOWN_MODES[0])
        if unknown not in UNKNOWN_MODES:
            raise RulesError(f"links.toml: unknown must be one of {UNKNOWN_MODES}, got {unknown!r}")
        self.flag_every_unknown = unknown == "all"
        self.suspicious_suffixes = frozenset(s.lower() for s in table.get("suspicious_suffixes", []))
        self.bait_words = frozenset(w.lower() for w in table.get("bait_words", []))
        self.downloads = tuple(f".{ext.lower()}" for ext in table.get("downloads", []))
        _extractor()  # load the suffix list now, not on the first draft

    def find(self, draft: Draft, folded: str) -> Iterator[Hit]:
        if not draft.segments:
            return
        for match in URL.finditer(folded, draft.segments[0].start):
            url = match.group().rstrip(_TRAILING)
            host = _host(url, bare=match.group("bare") is not None)
            if host and self.needs_a_look(host, url):
                yield Hit("inappropriate_link", match.start(), match.start() + len(url), self.policy)

    def needs_a_look(self, host: str, url: str) -> bool:
        """A shortener always; an untrusted domain when every unknown one is flagged or it
        looks suspicious."""
        parts = _extractor()(host)
        if host in self.shorteners or f"{parts.domain}.{parts.suffix}" in self.shorteners:
            return True
        if any(host == domain or host.endswith("." + domain) for domain in self.trusted):
            return False
        return self.flag_every_unknown or self.suspicious(parts, url)

    def suspicious(self, parts: tldextract.tldextract.ExtractResult, url: str) -> bool:
        """Whether an unknown domain looks like trouble: a spam suffix, a bait word in its
        name, letters mixed with digits in the registered name ("www2." is fine), or a
        download of a program."""
        words = _NAME_PARTS.findall(f"{parts.subdomain}.{parts.domain}")
        path = url.split("?")[0].lower()
        return (parts.suffix.rsplit(".", 1)[-1] in self.suspicious_suffixes
                or any(word in self.bait_words for word in words)
                or bool(_LETTERS_AND_DIGITS.search(parts.domain))
                or "/" in path.split("//")[-1] and path.endswith(self.downloads))


def _host(url: str, bare: bool) -> str | None:
    """The lower-cased host of a URL, or None when "words.joined" is not a real domain."""
    host = _SCHEME.sub("", url).split("/")[0].split(":")[0].lower()
    parts = _extractor()(host)
    if not parts.suffix or not parts.domain:
        return None
    # "Sports.Day" has a real suffix too: a bare domain needs a path or a short suffix.
    if bare and "/" not in url and len(parts.suffix) > 3 and "." not in parts.suffix:
        return None
    return host
