"""Load the review rules (cue lists, patterns, allowlists) from a folder of TOML files.

Every `*.toml` file in the folder names the `reason` it detects and the `policy` phrase
it rests on, and may hold `[[rules]]` (cue rules, run by `cues.CueDetector`) and named
tables read by the specialised detectors (`[contacts]`, `[links]`, `[learners]`, ...).
Two files are shared by all: `macros.toml` holds `{NAME}` regex fragments and
`lexicons.toml` holds `{NAME}` word families (see `lexicon.py`). See data/review/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from knowledge.review.lexicon import LexiconError, family_phrases, literal_pattern
from knowledge.review.models import REASONS
from knowledge.toml import tomllib

Where = Literal["all", "reply", "media", "bracket"]
Within = Literal["sentence", "draft"]
_MACRO = re.compile(r"\{([A-Z][A-Z_]*)\}")
_SHARED = ("macros", "lexicons")


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
    """Replace each {NAME} by its fragment, grouped, so "a|b" inside stays one alternative."""
    for _ in range(5):  # macros may use macros, a little
        expanded = _MACRO.sub(lambda m: f"(?:{macros[m.group(1)]})" if m.group(1) in macros else m.group(0), pattern)
        if expanded == pattern:
            break
        pattern = expanded
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


def load_rules(folder: Path) -> RuleSet:
    """Read every TOML file in `folder` into a RuleSet; raises RulesError on bad data."""
    folder = Path(folder)
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise RulesError(f"no rules files in {folder}")
    raw = {path.stem: _read(path) for path in files}
    shared = {stem: raw.pop(stem, {}) for stem in _SHARED}
    irregular = shared["lexicons"].get("irregular", {})
    macros = {k: str(v) for k, v in shared["macros"].get("macros", {}).items()}
    for name, spec in shared["lexicons"].get("lexicons", {}).items():
        pattern = literal_pattern(_phrases(spec, irregular, f"lexicons.toml {name}"))
        if not pattern:
            raise RulesError(f"lexicons.toml {name}: no words")
        macros[name] = pattern
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
            cues.append(_cue_rule(rule, reason, policy, macros, irregular, f"{stem}.toml rule {n}"))
    return RuleSet(cues=tuple(cues), policies=policies, tables=tables)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path.name}: {exc}") from exc


def _phrases(spec: Mapping[str, Any], irregular: Mapping[str, Any], where: str) -> list[str]:
    try:
        return family_phrases(spec, irregular)
    except LexiconError as exc:
        raise RulesError(f"{where}: {exc}") from exc


def _cue_rule(rule: Mapping[str, Any], reason: str, policy: str, macros: Mapping[str, str],
              irregular: Mapping[str, Any], where: str) -> CueRule:
    literal = literal_pattern(_phrases(rule, irregular, where))
    match = compile_patterns([*rule.get("match", []), literal], macros)
    if match is None:
        raise RulesError(f"{where}: needs match, words, lemmas, adjectives or wordlist")
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
