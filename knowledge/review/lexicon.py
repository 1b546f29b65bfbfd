"""Word families for the cue rules: literal phrases, their inflections, and shipped word lists.

A cue family is written once as base forms ("trip", "dim") and matches every regular
inflection ("trips", "tripped", "tripping"; "dimmer", "dimmest") plus the irregular forms
listed in the data, so a school extends a family with a word, not with every spelling of
it. Word lists shipped by installed packages (better-profanity's list, VADER's rated
sentiment lexicon) are families too. All of a family's phrases become one regex built as
a trie, so a list of thousands of words costs about as much to match as a single word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

# Character-for-character, so offsets into the folded text are offsets into the draft.
FOLD = str.maketrans({"‘": "'", "’": "'", "‛": "'", "“": '"', "”": '"', "–": "-",
                      "—": "-", "\u00a0": " "})
_VOWELS = frozenset("aeiou")
_VADER_ENTRY = re.compile(r"[a-z][a-z' -]*[a-z]")


class LexiconError(ValueError):
    """A word family names an unknown word list or has bad settings."""


def _read_lines(package: str, filename: str) -> list[tuple[str, float | None]]:
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return [(line.strip(), None) for line in text.splitlines() if line.strip()]


def _read_vader() -> list[tuple[str, float | None]]:
    """VADER's lexicon: `word<TAB>mean valence<TAB>...`, valence from -4 (worst) to +4."""
    text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if "\t" in line)
    return [(row[0], float(row[1])) for row in rows if _VADER_ENTRY.fullmatch(row[0])]


WORDLISTS = {
    "better_profanity": lambda: _read_lines("better_profanity", "profanity_wordlist.txt"),
    "vader": _read_vader,
}


def read_wordlist(name: str, min_valence: float | None = None, max_valence: float | None = None) -> list[str]:
    """The entries of a shipped word list, optionally only those rated within a valence range."""
    if name not in WORDLISTS:
        raise LexiconError(f"unknown wordlist {name!r} (known: {sorted(WORDLISTS)})")
    entries = WORDLISTS[name]()
    if min_valence is not None or max_valence is not None:
        if any(valence is None for _, valence in entries[:1]):
            raise LexiconError(f"wordlist {name!r} has no valence ratings")
        low = -99.0 if min_valence is None else min_valence
        high = 99.0 if max_valence is None else max_valence
        entries = [(word, valence) for word, valence in entries if valence is not None and low <= valence <= high]
    return [word for word, _ in entries]


def _cvc(word: str) -> bool:
    """Ends consonant-vowel-consonant ("trip", "dim"): the last letter may double."""
    return (len(word) >= 3 and word[-1] not in _VOWELS and word[-1] not in "wxy"
            and word[-2] in _VOWELS and word[-3] not in _VOWELS)


def _y_after_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == "y" and word[-2] not in _VOWELS


def word_forms(word: str) -> set[str]:
    """A noun's or verb's regular forms: -s/-es, -ed, -ing (with e-drop, y->i, doubling)."""
    w = word.lower()
    forms = {w}
    if w.endswith(("s", "x", "z", "ch", "sh")):
        forms.add(w + "es")
    elif _y_after_consonant(w):
        forms.add(w[:-1] + "ies")
    else:
        forms.add(w + "s")
    if w.endswith("e"):
        forms.add(w + "d")
    elif _y_after_consonant(w):
        forms.add(w[:-1] + "ied")
    else:
        forms.add(w + "ed")
    if w.endswith("ie"):
        forms.add(w[:-2] + "ying")
    elif w.endswith("e") and not w.endswith(("ee", "ye", "oe")):
        forms.add(w[:-1] + "ing")
    else:
        forms.add(w + "ing")
    if _cvc(w):
        forms.update({w + w[-1] + "ed", w + w[-1] + "ing"})
    return forms


def adjective_forms(word: str) -> set[str]:
    """An adjective's degrees and adverb: dim/dimmer/dimmest/dimly, lazy/lazier/laziest/lazily."""
    w = word.lower()
    if w.endswith("e"):
        forms = {w + "r", w + "st"}
    elif _y_after_consonant(w):
        forms = {w[:-1] + "ier", w[:-1] + "iest"}
    else:
        forms = {w + "er", w + "est"}
        if _cvc(w):
            forms.update({w + w[-1] + "er", w + w[-1] + "est"})
    if _y_after_consonant(w):
        forms.add(w[:-1] + "ily")
    elif w.endswith("le"):
        forms.add(w[:-1] + "y")
    elif w.endswith("ic"):
        forms.add(w + "ally")
    else:
        forms.add(w + "ly")
    return forms | {w}


def inflect_phrase(phrase: str, irregular: Mapping[str, Iterable[str]], adjective: bool = False) -> set[str]:
    """Every form of a phrase whose FIRST word inflects ("split up" -> "splitting up", "split up")."""
    first, _, rest = phrase.lower().strip().partition(" ")
    heads = adjective_forms(first) if adjective else word_forms(first)
    heads.update(form.lower() for form in irregular.get(first, ()))
    return {f"{head} {rest}".strip() for head in heads}


def family_phrases(spec: Mapping[str, Any], irregular: Mapping[str, Iterable[str]]) -> list[str]:
    """The literal phrases of a family: `words` as written, `lemmas` and `adjectives` with their
    forms, `wordlist` entries (within `min_valence`/`max_valence`), less anything in `ignore`."""
    phrases: set[str] = {w.lower() for w in spec.get("words", [])}
    for lemma in spec.get("lemmas", []):
        phrases |= inflect_phrase(lemma, irregular)
    for adjective in spec.get("adjectives", []):
        phrases |= inflect_phrase(adjective, irregular, adjective=True)
    if "wordlist" in spec:
        phrases.update(w.lower() for w in read_wordlist(
            spec["wordlist"], spec.get("min_valence"), spec.get("max_valence")))
    ignore = {w.lower() for w in spec.get("ignore", [])}
    return sorted(p for p in phrases if p and p not in ignore)


def literal_pattern(phrases: Iterable[str]) -> str:
    """One regex matching any of the phrases (longest first), factored as a trie.

    Words are separated by any run of whitespace; quotes and dashes are folded like drafts.
    Returns "" for no phrases.
    """
    trie: dict[str, dict] = {}
    for phrase in phrases:
        words = phrase.translate(FOLD).lower().split()
        if not words:
            continue
        node = trie
        for unit in _units(words):
            node = node.setdefault(unit, {})
        node[""] = {}
    return _emit(trie)


def _units(words: list[str]) -> Iterable[str]:
    for n, word in enumerate(words):
        if n:
            yield " "
        yield from word


def _emit(node: Mapping[str, Any]) -> str:
    branches = [(r"\s+" if unit == " " else re.escape(unit)) + _emit(child)
                for unit, child in sorted(node.items()) if unit]
    if not branches:
        return ""
    if len(branches) == 1 and "" not in node:
        return branches[0]
    group = "(?:" + "|".join(branches) + ")"
    return group + "?" if "" in node else group
