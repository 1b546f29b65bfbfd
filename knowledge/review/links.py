"""Links to shortened or unknown domains.

A shortener hides where a link goes, and a domain the school has not listed as trusted
may carry anything, so both get a second look. Domains are split with tldextract using
only its bundled suffix list (`suffix_list_urls=()`): reviewing a draft never touches
the network. Bracketed link descriptions are handled by cue rules in links.toml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import tldextract

from knowledge.review.draft import Draft, Hit

_URL = re.compile(
    r"(?P<full>(?:https?://|www\.)[^\s<>\[\]()\"']+)"
    r"|(?<![@\w.-])(?P<bare>(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/[^\s<>\[\]()\"']*)?)",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)
_TRAILING = ".,;:!?'\")"


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())


class LinkDetector:
    def __init__(self, table: Mapping[str, Any], policy: str) -> None:
        self.policy = policy
        self.shorteners = frozenset(d.lower() for d in table.get("shorteners", []))
        self.trusted = tuple(d.lower() for d in table.get("trusted", []))
        _extractor()  # load the suffix list now, not on the first draft

    def find(self, draft: Draft, folded: str) -> Iterator[Hit]:
        if not draft.segments:
            return
        for match in _URL.finditer(folded, draft.segments[0].start):
            url = match.group().rstrip(_TRAILING)
            host = _host(url, bare=match.group("bare") is not None)
            if host and not self.is_trusted(host):
                yield Hit("inappropriate_link", match.start(), match.start() + len(url), self.policy)

    def is_trusted(self, host: str) -> bool:
        """Trusted domains cover their subdomains; a shortener never is."""
        parts = _extractor()(host)
        if host in self.shorteners or f"{parts.domain}.{parts.suffix}" in self.shorteners:
            return False
        return any(host == domain or host.endswith("." + domain) for domain in self.trusted)


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
