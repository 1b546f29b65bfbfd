"""Load the review rules (cue lists, patterns, allowlists) from a folder of TOML files.

Every `*.toml` file in the folder names the `reason` it detects and the `policy` phrase
it rests on, and may hold `[[rules]]` (cue rules, run by `cues.CueDetector`) and named
tables read by the specialised detectors (`[contacts]`, `[links]`, `[learners]`, ...).
`macros.toml` holds `{NAME}` fragments shared by patterns. See data/review/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from knowledge.review.models import REASONS
from knowledge.toml import tomllib

Where = Literal["all", "reply", "media", "bracket"]
Within = Literal["sentence", "draft"]
_MACRO = re.compile(r"\{([A-Z][A-Z_]*)\}")
# Character-for-character, so offsets into the folded text are offsets into the draft.
FOLD = str.maketrans({"‘": "'", "’": "'", "‛": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                      "\u00a0": " "})
WORDLISTS = {"better_profanity": ("better_profanity", "profanity_wordlist.txt")}


class RulesError(ValueError):
    """A rules file is missing, malformed or names an unknown reason."""


@dataclass(frozen=True, slots=True)
class CueRule:
    """Flag `reason` where `match` hits, if `near` also hits and `unless` does not.

    `near` and `unless` are looked for in the same sentence (or anywhere in the draft when
    `within` is "draft"); `where` limits the rule to replies, media sentences or bracketed
    descriptions.
    """

    reason: str
    policy: str
    match: re.Pattern[str]
    near: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None
    within: Within = "sentence"
    where: Where = "all"


@dataclass(frozen=True, slots=True)
class RuleSet:
    cues: tuple[CueRule, ...]
    policies: Mapping[str, str]
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def table(self, name: str) -> Mapping[str, Any]:
        return self.tables.get(name, {})


def expand(pattern: str, macros: Mapping[str, str]) -> str:
    for _ in range(3):  # macros may use macros, a little
        pattern = _MACRO.sub(lambda m: macros.get(m.group(1), m.group(0)), pattern)
    return pattern


def compile_patterns(patterns: Iterable[str], macros: Mapping[str, str] | None = None) -> re.Pattern[str] | None:
    """Join patterns into one regex, each held to word boundaries at both ends."""
    parts = [f"(?<!\\w)(?:{expand(p, macros or {})})(?!\\w)" for p in patterns if p]
    if not parts:
        return None
    try:
        return re.compile("|".join(parts), re.IGNORECASE)
    except re.error as exc:
        raise RulesError(f"bad pattern: {exc}: {exc.pattern[:200] if exc.pattern else ''}") from exc


def phrase_pattern(phrase: str) -> str:
    """A literal word or phrase as a pattern: any run of spaces matches any whitespace."""
    return r"\s+".join(re.escape(word) for word in phrase.translate(FOLD).split())


def read_wordlist(name: str) -> list[str]:
    """A word list shipped by an installed package (one entry a line), e.g. better-profanity's."""
    if name not in WORDLISTS:
        raise RulesError(f"unknown wordlist {name!r} (known: {sorted(WORDLISTS)})")
    package, filename = WORDLISTS[name]
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def load_rules(folder: Path) -> RuleSet:
    """Read every TOML file in `folder` into a RuleSet; raises RulesError on bad data."""
    folder = Path(folder)
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise RulesError(f"no rules files in {folder}")
    raw = {path.stem: _read(path) for path in files}
    macros = {k: str(v) for k, v in raw.pop("macros", {}).get("macros", {}).items()}
    policies: dict[str, str] = {}
    cues: list[CueRule] = []
    tables: dict[str, Mapping[str, Any]] = {}
    for stem, data in raw.items():
        reason, policy = data.get("reason"), data.get("policy")
        if reason not in REASONS or not isinstance(policy, str):
            raise RulesError(f"{stem}.toml: needs reason (one of {REASONS}) and policy")
        policies.setdefault(reason, policy)
        tables.update({k: v for k, v in data.items() if isinstance(v, dict)})
        for n, rule in enumerate(data.get("rules", []), start=1):
            cues.append(_cue_rule(rule, reason, policy, macros, f"{stem}.toml rule {n}"))
    return RuleSet(cues=tuple(cues), policies=policies, tables=tables)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path.name}: {exc}") from exc


def _cue_rule(rule: Mapping[str, Any], reason: str, policy: str, macros: Mapping[str, str], where: str) -> CueRule:
    ignore = {w.lower() for w in rule.get("ignore", [])}
    words = list(rule.get("words", []))
    if "wordlist" in rule:
        words += [w for w in read_wordlist(rule["wordlist"]) if w.lower() not in ignore]
    # Longest first, so "blow job" wins over "blow" and spans cover the whole phrase.
    literal = sorted((phrase_pattern(w) for w in words), key=len, reverse=True)
    match = compile_patterns([*rule.get("match", []), *literal], macros)
    if match is None:
        raise RulesError(f"{where}: needs match, words or wordlist")
    within, scope = rule.get("within", "sentence"), rule.get("where", "all")
    if within not in ("sentence", "draft") or scope not in ("all", "reply", "media", "bracket"):
        raise RulesError(f"{where}: within must be sentence|draft, where all|reply|media|bracket")
    return CueRule(
        reason=reason,
        policy=rule.get("policy", policy),
        match=match,
        near=compile_patterns(rule.get("near", []), macros),
        unless=compile_patterns(rule.get("unless", []), macros),
        within=within,
        where=scope,
    )
