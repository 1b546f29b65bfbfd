"""Text normalisation shared by ingestion, indexing, querying and evaluation.

One place decides what "the same words" means: curly quotes equal straight ones, case and
runs of whitespace do not matter, and words are compared by their English Snowball stem.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"',
                         "–": "-", "—": "-", "\u00a0": " "})
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A sentence ends at . ! or ? (optionally followed by a closing quote or asterisk) before a
# space and a capital, digit or opening quote: keeps "e.g. Facebook" in one piece.
_SENTENCE_END = re.compile(r"(?<=[.!?])([\"'”’*]?)\s+(?=[A-Z0-9“‘\"'*])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "Mr.", "Mrs.", "Ms.", "Dr.", "vs.")

# Function words and question scaffolding that say nothing about which passage answers.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been being
below between both but by can can't cannot could couldn't d did didn't do does doesn't doing
don't down during each few for from further had hadn't has hasn't have haven't having he he'd
he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into
is isn't it it's its itself just let's ll me might more most mustn't my myself no nor not now of
off on once only or other ought our ours ourselves out over own re s same shan't she she'd
she'll she's should shouldn't so some such t than that that's the their theirs them themselves
then there there's these they they'd they'll they're they've this those through to too under
until up us ve very was wasn't we we'd we'll we're we've were weren't what what's when when's
where where's which while who who's whom why why's will with won't would wouldn't you you'd
you'll you're you've your yours yourself yourselves ok okay okey please thanks hi hello really
actually just bit also still get got getting go going gonna want wanna need needs like e g eg
whens whats hows whos wheres one ones someone something anything thing things anyone lot lots
year years many
""".split())

_stemmer = snowballstemmer.stemmer("english")
SAME_TEXT = 95  # rapidfuzz partial ratio from which two passages say the same thing


def normalise(text: str) -> str:
    """Casefolded text with straight quotes and single spaces, for phrase comparison."""
    return _SPACE.sub(" ", text.translate(_QUOTES)).strip().casefold()


def same_text(a: str, b: str) -> bool:
    """Whether one passage is (all but a comma or an asterisk of) a part of the other: a policy
    repeats a sentence in two sections, and either is the same answer."""
    return fuzz.partial_ratio(normalise(a), normalise(b)) >= SAME_TEXT


def words(text: str) -> list[str]:
    """Lowercase word tokens with possessive/contraction tails dropped ("school's" -> "school")."""
    return [w[:-2] if w.endswith("'s") else w for w in _WORD.findall(normalise(text))]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem of one lowercase word (cached: queries repeat the same words)."""
    return _stemmer.stemWord(word)


def content_stems(text: str) -> list[str]:
    """Stems of the words in `text` that are not stop words, in order."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS]


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, each a verbatim slice of it (abbreviations like "e.g." kept whole)."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if text[start:match.start()].endswith(_ABBREVIATIONS):
            continue
        pieces.append(text[start:match.start() + len(match.group(1))])
        start = match.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]
