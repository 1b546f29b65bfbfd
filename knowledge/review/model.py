"""The learned verdict: naive Bayes over stemmed word pairs, combined with what the rules found.

Hand-written cue families catch the phrasings their authors thought of; each new writer
finds others, and some cues also fire on harmless posts ("the full report on the Ofsted
website"). Two parts, both trained on labelled drafts (tools/train_verdict_model.py):
naive Bayes scores the draft's wording as log-odds of being risky (a sum of per-feature
weights), and a logistic combiner weighs that score together with which reasons the cue
rules found, learned on drafts the rules were never tuned on, so it knows how far each
kind of cue is to be trusted. Below the combiner's threshold the draft is fine whatever
the cues said; above it with no cue finding, the model names the most likely reason and
the sentence that weighs most towards "risky".

Features are what `knowledge.text` calls the same words: each of the author's sentences
(as `Draft.parse` splits them) gives its word stems and adjacent stem pairs, and being a
reply is a feature. Bracketed media descriptions (`[Attached: ...]`, `[link to ...]`) are
left to the rules' image, link and copyright detectors: in the labelled drafts they mostly
came with risky posts, so a model reading them learns "has a photo" as a risk.
Pure: the weights come from a JSON file (data/review/verdict_model.json).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.review.draft import Draft, Segment
from knowledge.review.links import URL
from knowledge.review.models import REASONS
from knowledge.text import STOP_WORDS, stem, words

MODEL_FILE = "verdict_model.json"
FORMAT = "staffbot-verdict-model/2"
RISK = "risk"  # the combiner's weight for the naive Bayes log-odds
MIN_EVIDENCE = 4  # content words the model must know to flag a draft on its own ("Sports day fun!" has three)
CUED = "cued"  # the combiner's weight for any cue finding at all; the others are reason codes
REPLY = "reply"


class ModelError(ValueError):
    """The weights file is missing a part, has a wrong type or names an unknown reason."""


_FUNCTION_WORDS = frozenset(f"w:{stem(w)}" for w in STOP_WORDS)


def segment_features(segment: Segment) -> frozenset[str]:
    """Word stems ("w:stem") and adjacent pairs ("b:stem stem") of one sentence."""
    stems = [stem(w) for w in words(segment.text)]
    return frozenset({f"w:{s}" for s in stems} | {f"b:{a} {b}" for a, b in zip(stems, stems[1:])})


def draft_features(draft: Draft) -> frozenset[str]:
    """Every feature of the draft: its sentences' features, and whether it is a reply."""
    features = {REPLY} if draft.is_reply else set()
    for segment in sentences(draft):
        features |= segment_features(segment)
    return frozenset(features)


def sentences(draft: Draft) -> list[Segment]:
    """The author's own sentences: not the quoted comment, not bracketed media descriptions."""
    return [s for s in draft.segments if not s.bracket]


@dataclass(frozen=True, slots=True)
class ReasonWeights:
    """Multinomial naive Bayes for one reason: log prior, the log-probability of a known
    feature never seen with this reason (`unseen`), and how much more each seen one adds."""

    prior: float
    unseen: float
    weights: Mapping[str, float]

    def score(self, features: Iterable[str]) -> float:
        return self.prior + math.fsum(self.unseen + self.weights.get(f, 0.0) for f in features)


@dataclass(frozen=True, slots=True)
class ModelHit:
    """The model's finding: a reason and the span of the most indicative sentence."""

    reason: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Combiner:
    """Log-odds of "risky" = `bias` + weights["risk"] * the naive Bayes risk + weights["cued"]
    if the cue rules found anything + the weight of each reason they found; the draft needs a
    look from `threshold` up."""

    bias: float
    threshold: float
    weights: Mapping[str, float]

    def log_odds(self, risk: float, reasons: Iterable[str]) -> float:
        found = sorted(set(reasons))
        return (self.bias + self.weights.get(RISK, 0.0) * risk + self.weights.get(CUED, 0.0) * bool(found)
                + math.fsum(self.weights.get(r, 0.0) for r in found))


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the draft needs a look, and the model's own finding when the rules had none."""

    check: bool
    hit: ModelHit | None = None


@dataclass(frozen=True, slots=True)
class VerdictModel:
    """Naive Bayes risk log-odds = `bias` + the weights of the draft's known features,
    `reasons` to name a reason, and the `combiner` that decides."""

    bias: float
    weights: Mapping[str, float]
    reasons: Mapping[str, ReasonWeights]
    combiner: Combiner

    @classmethod
    def load(cls, path: Path) -> VerdictModel:
        """Read a weights file; a malformed one raises ModelError naming the file and the problem."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: not a JSON weights file ({exc})") from exc
        try:
            return cls.from_json(data)
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from None

    @classmethod
    def from_json(cls, data: Any) -> VerdictModel:
        if isinstance(data, dict) and str(data.get("format", "")).startswith(FORMAT.rsplit("/", 1)[0] + "/") and (
                data.get("format") != FORMAT):
            raise ModelError(f"{data['format']} is an older format than {FORMAT}: train it again "
                             f"(python tools/train_verdict_model.py) or delete the file to use the rules alone")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"expected an object with \"format\": \"{FORMAT}\"")
        reasons = _table(data, "reasons")
        unknown = sorted(set(reasons) - set(REASONS))
        if unknown or not reasons:
            raise ModelError(f"reasons must be some of {REASONS}, got {unknown or 'none'}")
        combiner = _table(data, "combiner")
        combined = _weights(combiner, "weights", "combiner")
        strange = sorted(set(combined) - {RISK, CUED, *REASONS})
        if strange:
            raise ModelError(f"combiner weights must be {RISK!r}, {CUED!r} or reason codes, got {strange}")
        return cls(
            bias=_number(data, "bias"),
            weights=_weights(data, "weights"),
            reasons={name: ReasonWeights(_number(spec, "prior", name), _number(spec, "unseen", name),
                                         _weights(spec, "weights", name))
                     for name, spec in reasons.items()},
            combiner=Combiner(_number(combiner, "bias", "combiner"), _number(combiner, "threshold", "combiner"),
                              combined),
        )

    def to_json(self) -> dict[str, Any]:
        """The weights file's content (rounded, sorted keys: training twice writes the same bytes)."""
        return {
            "format": FORMAT,
            "bias": round(self.bias, 4),
            "weights": _rounded(self.weights),
            "reasons": {name: {"prior": round(r.prior, 4), "unseen": round(r.unseen, 4), "weights": _rounded(r.weights)}
                        for name, r in sorted(self.reasons.items())},
            "combiner": {"bias": round(self.combiner.bias, 4), "threshold": round(self.combiner.threshold, 4),
                         "weights": _rounded(self.combiner.weights)},
        }

    def risk(self, features: Iterable[str]) -> float:
        """Log-odds that the draft is risky; features the model never saw count for nothing.
        (`fsum`: the same total whatever order a set of features comes in.)"""
        return self.bias + math.fsum(self.weights.get(f, 0.0) for f in features)

    def decide(self, draft: Draft, found: Iterable[str]) -> Decision:
        """Whether a draft in which the cue rules found the reasons `found` needs a look, with
        the model's own finding when they found none."""
        found = set(found)
        known = [f for f in draft_features(draft) if f in self.weights]
        if self.combiner.log_odds(self.risk(known), found) < self.combiner.threshold:
            return Decision(check=False)
        own = sentences(draft)
        if found or len({f for f in known if f.startswith("w:")} - _FUNCTION_WORDS) < MIN_EVIDENCE:
            return Decision(check=bool(found))
        possible = [name for name in sorted(self.reasons) if _possible(name, draft)] or sorted(self.reasons)
        reason = max(possible, key=lambda name: self.reasons[name].score(known))
        segment = max(own, key=lambda s: math.fsum(self.weights.get(f, 0.0) for f in segment_features(s)))
        start = segment.start + len(segment.text) - len(segment.text.lstrip())
        return Decision(check=True, hit=ModelHit(reason, start, segment.start + len(segment.text.rstrip())))


def _possible(reason: str, draft: Draft) -> bool:
    """Whether the draft has what a reason is about: a photo or video for image permission,
    a link for links, a number or address for contact details (the model reads words only)."""
    if reason == "image_permission":
        return any(s.media for s in draft.segments)
    if reason == "inappropriate_link":
        return bool(URL.search(draft.text)) or any(s.bracket and "link" in s.text.lower() for s in draft.segments)
    if reason == "contact_details":
        return any(c.isdigit() or c == "@" for c in draft.text)
    return True


def _table(data: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ModelError(f"{where + ' ' if where else ''}{key} must be an object")
    return value


def _number(data: Any, key: str, where: str = "") -> float:
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelError(f"{where + ' ' if where else ''}{key} must be a number")
    return float(value)


def _weights(data: Mapping[str, Any], key: str, where: str = "") -> dict[str, float]:
    table = _table(data, key, where)
    bad = next((k for k, v in table.items() if isinstance(v, bool) or not isinstance(v, (int, float))), None)
    if bad is not None:
        raise ModelError(f"{where + ' ' if where else ''}{key}: weight of {bad!r} must be a number")
    return {k: float(v) for k, v in table.items()}


def _rounded(weights: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in sorted(weights.items())}
