"""A learned second look at drafts the cue rules pass: naive Bayes over stemmed word pairs.

Hand-written cue families catch the phrasings their authors thought of; each new writer
finds others. This model is trained on the labelled drafts (tools/train_verdict_model.py)
and only speaks when the rules found nothing: it scores the draft's risk as log-odds
(a sum of per-feature weights) and, above the trained threshold, names the most likely
reason and the sentence that weighs most towards "risky".

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
from knowledge.review.models import REASONS
from knowledge.text import stem, words

MODEL_FILE = "verdict_model.json"
FORMAT = "staffbot-verdict-model/1"
REPLY = "reply"


class ModelError(ValueError):
    """The weights file is missing a part, has a wrong type or names an unknown reason."""


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
class VerdictModel:
    """Risk log-odds = `bias` + the weights of the draft's known features; flag at `threshold`."""

    bias: float
    threshold: float
    weights: Mapping[str, float]
    reasons: Mapping[str, ReasonWeights]

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
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"expected an object with \"format\": \"{FORMAT}\"")
        reasons = _table(data, "reasons")
        unknown = sorted(set(reasons) - set(REASONS))
        if unknown or not reasons:
            raise ModelError(f"reasons must be some of {REASONS}, got {unknown or 'none'}")
        return cls(
            bias=_number(data, "bias"),
            threshold=_number(data, "threshold"),
            weights=_weights(data, "weights"),
            reasons={name: ReasonWeights(_number(spec, "prior", name), _number(spec, "unseen", name),
                                         _weights(spec, "weights", name))
                     for name, spec in reasons.items()},
        )

    def to_json(self) -> dict[str, Any]:
        """The weights file's content (rounded, sorted keys: training twice writes the same bytes)."""
        return {
            "format": FORMAT,
            "bias": round(self.bias, 4),
            "threshold": round(self.threshold, 4),
            "weights": _rounded(self.weights),
            "reasons": {name: {"prior": round(r.prior, 4), "unseen": round(r.unseen, 4), "weights": _rounded(r.weights)}
                        for name, r in sorted(self.reasons.items())},
        }

    def risk(self, features: Iterable[str]) -> float:
        """Log-odds that the draft is risky; features the model never saw count for nothing.
        (`fsum`: the same total whatever order a set of features comes in.)"""
        return self.bias + math.fsum(self.weights.get(f, 0.0) for f in features)

    def check(self, draft: Draft) -> ModelHit | None:
        """A finding when the draft's risk reaches the threshold, else None."""
        own = sentences(draft)
        if not own:
            return None
        known = [f for f in draft_features(draft) if f in self.weights]
        risk = self.risk(known)
        if risk < self.threshold:
            return None
        reason = max(sorted(self.reasons), key=lambda name: self.reasons[name].score(known))
        segment = max(own, key=lambda s: math.fsum(self.weights.get(f, 0.0) for f in segment_features(s)))
        start = segment.start + len(segment.text) - len(segment.text.lstrip())
        return ModelHit(reason, start, segment.start + len(segment.text.rstrip()))


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
