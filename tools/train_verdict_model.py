"""Train the draft reviewer's verdict model, or measure it on drafts it was not trained on.

    python tools/train_verdict_model.py             # write data/review/verdict_model.json
    python tools/train_verdict_model.py --check     # exit 1 if the shipped file is stale
    python tools/train_verdict_model.py --evaluate  # leave-one-batch-out table

Training data: data/eval/drafts_dev.json, tests/review_extra_drafts.json (drafts the cue
rules were tuned on) and tests/review_untuned_drafts.json (ten batches of 120, each written
by a different session from the policy alone, which the cue rules were never tuned on; the
exceptions are the link detector's suspicious-domain test and the contact rule for one's
own phone or account, both written after reading the first five batches' false alarms). An untuned batch is
the letters its ids start with.

Two parts (knowledge/review/model.py):
- naive Bayes on binary word features seen in at least two drafts, on every labelled draft;
- a logistic combiner of the naive Bayes risk and the reasons the cue rules found, on the
  untuned batches only: on drafts they were tuned on the rules look perfect, and the combiner
  would learn to trust them blindly. Each untuned draft's risk comes from a naive Bayes
  trained without its batch, as a new draft's would. The combiner's threshold is the highest
  at which it still flags RECALL of the risky drafts of all batches together, each batch
  scored by a naive Bayes and a combiner trained without it.

`--evaluate` holds out each untuned batch in turn, trains both parts without it, and scores
it for: the cue rules alone, and the rules with the model.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from knowledge.review import REASONS, DraftInput, Reviewer, load_rules
from knowledge.review.draft import Draft
from knowledge.review.model import CUED, MODEL_FILE, RISK, Combiner, ReasonWeights, VerdictModel, draft_features
from knowledge.logistic import sigmoid
from fit_logistic import logistic_regression

ROOT = Path(__file__).resolve().parent.parent
TUNED = (ROOT / "data" / "eval" / "drafts_dev.json", ROOT / "tests" / "review_extra_drafts.json")
UNTUNED = ROOT / "tests" / "review_untuned_drafts.json"
OUTPUT = ROOT / "data" / "review" / MODEL_FILE
RISKY, FINE = "risky", "fine"  # the naive Bayes labels (reason codes are the others)
MIN_DRAFTS = 2  # a feature must occur in this many training drafts
ALPHA = 1.0  # Laplace smoothing
PENALTY = 1.0  # the combiner's L2 penalty (scikit-learn's C = 1)
RECALL = 0.93  # share of risky held-out drafts the combiner's threshold must still flag
COMBINED = (RISK, CUED, *REASONS)  # the combiner's inputs, in order

Item = dict[str, Any]


def load_items() -> list[Item]:
    """The labelled drafts, each with its untuned `batch` (None for drafts the rules were
    tuned on), its parsed `draft`, its `features` and the reasons today's cue rules `found`."""
    rules = Reviewer(load_rules(ROOT / "data" / "review"))
    items: list[Item] = []
    for path in (*TUNED, UNTUNED):
        for item in json.loads(path.read_text(encoding="utf-8")):
            text, target = str(item["text"]), item.get("target")
            draft = Draft.parse(text, target)
            items.append({
                **item,
                "batch": re.match(r"[a-z]*", str(item["id"])).group() if path == UNTUNED else None,
                "draft": draft,
                "features": draft_features(draft),
                "found": frozenset(f.reason for f in rules.review(DraftInput(text=text, target=target)).findings),
            })
    return items


def batches(items: Iterable[Item]) -> list[str]:
    """The untuned batches, in order of first appearance."""
    return [b for b in dict.fromkeys(item["batch"] for item in items) if b is not None]


def fit_bayes(items: Sequence[Item]) -> VerdictModel:
    """Naive Bayes for risky vs fine, and for each reason among the risky drafts; its
    combiner is a placeholder (the naive Bayes risk alone, at even odds)."""
    seen_in = Counter(f for item in items for f in item["features"])
    vocabulary = {f for f, n in seen_in.items() if n >= MIN_DRAFTS}
    per_label: dict[str, Counter[str]] = defaultdict(Counter)
    drafts: Counter[str] = Counter()
    for item in items:
        known = [f for f in item["features"] if f in vocabulary]
        labels = [RISKY, *item["reasons"]] if item["risky"] else [FINE]
        for label in labels:
            drafts[label] += 1
            per_label[label].update(known)
    log_p = {label: _log_probabilities(per_label[label], vocabulary) for label in drafts}
    reasons = sorted(set(drafts) - {RISKY, FINE})
    labelled = sum(drafts[r] for r in reasons)
    return VerdictModel(
        bias=round(math.log(drafts[RISKY] / drafts[FINE]), 4),
        weights={f: round(log_p[RISKY][0][f] - log_p[FINE][0][f], 4) for f in sorted(vocabulary)},
        reasons={r: ReasonWeights(
            prior=round(math.log((drafts[r] + 1) / (labelled + len(reasons))), 4),
            unseen=round(log_p[r][1], 4),
            weights={f: round(log_p[r][0][f] - log_p[r][1], 4) for f in sorted(per_label[r])},
        ) for r in reasons},
        combiner=Combiner(bias=0.0, threshold=0.0, weights={RISK: 1.0}),
    )


def _log_probabilities(counts: Counter[str], vocabulary: set[str]) -> tuple[dict[str, float], float]:
    """Smoothed log P(feature | class) for the vocabulary, and the value for an unseen feature."""
    total = sum(counts.values()) + ALPHA * len(vocabulary)
    return {f: math.log((counts[f] + ALPHA) / total) for f in vocabulary}, math.log(ALPHA / total)


def combiner_rows(items: Sequence[Item]) -> list[tuple[Item, list[float]]]:
    """Each untuned draft with its combiner inputs, its risk from a naive Bayes trained
    without its batch."""
    rows: list[tuple[Item, list[float]]] = []
    for held in batches(items):
        bayes = fit_bayes([i for i in items if i["batch"] != held])
        for item in items:
            if item["batch"] == held:
                rows.append((item, [bayes.risk(item["features"]), float(bool(item["found"])),
                                    *(float(r in item["found"]) for r in REASONS)]))
    return rows


def fit_combiner(items: Sequence[Item], threshold: float = 0.0) -> Combiner:
    rows = combiner_rows(items)
    bias, *weights = logistic_regression([x for _, x in rows], [bool(i["risky"]) for i, _ in rows], PENALTY)
    return Combiner(bias=round(bias, 4), threshold=threshold,
                    weights={name: round(w, 4) for name, w in zip(COMBINED, weights)})


def choose_threshold(items: Sequence[Item]) -> float:
    """The highest log-odds at which RECALL of the risky untuned drafts are flagged, each
    batch scored by a naive Bayes and a combiner trained without it."""
    scored: list[float] = []
    for held in batches(items):
        rest = [i for i in items if i["batch"] != held]
        bayes, combiner = fit_bayes(rest), fit_combiner(rest)
        scored += [combiner.log_odds(bayes.risk(i["features"]), i["found"])
                   for i in items if i["batch"] == held and i["risky"]]
    if not scored:
        raise ValueError(f"no risky drafts in {UNTUNED.name} to choose a threshold on")
    scored.sort()
    return math.floor(scored[int((1 - RECALL) * len(scored))] * 10**4) / 10**4


def train(items: Sequence[Item]) -> VerdictModel:
    bayes = fit_bayes(items)
    combiner = fit_combiner(items, choose_threshold(items))
    return VerdictModel(bias=bayes.bias, weights=bayes.weights, reasons=bayes.reasons, combiner=combiner)


def model_json(model: VerdictModel) -> str:
    return json.dumps(model.to_json(), indent=0, sort_keys=True, ensure_ascii=False) + "\n"


def scores(rows: Sequence[tuple[bool, bool]]) -> tuple[float, float]:
    """(recall, precision) of the calls on risky drafts."""
    risky = sum(r for r, _ in rows)
    hits = sum(r and c for r, c in rows)
    called = sum(c for _, c in rows)
    return hits / risky if risky else math.nan, hits / called if called else math.nan


def evaluate(items: Sequence[Item]) -> list[str]:
    """The leave-one-batch-out table, one line per held-out untuned batch, then the means."""
    lines = ["| held out | drafts (risky) | rules R / P | rules + model R / P |", "| --- | --- | --- | --- |"]
    columns: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for held in batches(items):
        test = [i for i in items if i["batch"] == held]
        model = train([i for i in items if i["batch"] != held])
        flagged = [model.decide(i["draft"], i["found"]).check for i in test]
        result = {"rules": scores([(i["risky"], bool(i["found"])) for i in test]),
                  "model": scores([(i["risky"], f) for i, f in zip(test, flagged)])}
        for name, value in result.items():
            columns[name].append(value)
        lines.append(f"| {held} | {len(test)} ({sum(i['risky'] for i in test)}) | "
                     + " | ".join(f"{r:.2f} / {p:.2f}" for r, p in result.values()) + " |")
    means = [tuple(sum(v[k] for v in values) / len(values) for k in (0, 1)) for values in columns.values()]
    lines.append(f"| mean of {len(batches(items))} | | " + " | ".join(f"{r:.2f} / {p:.2f}" for r, p in means) + " |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the shipped weights differ from a fresh training")
    mode.add_argument("--evaluate", action="store_true", help="print the leave-one-batch-out table")
    args = parser.parse_args(argv)
    items = load_items()
    if args.evaluate:
        print("\n".join(evaluate(items)))
        return 0
    text = model_json(train(items))
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        print(f"{OUTPUT.relative_to(ROOT)}: {'up to date' if current == text else 'STALE: run tools/train_verdict_model.py'}")
        return 0 if current == text else 1
    OUTPUT.write_text(text, encoding="utf-8")
    model = VerdictModel.from_json(json.loads(text))
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(model.weights)} features, {len(model.reasons)} reasons, "
          f"combiner threshold {model.combiner.threshold} (probability {sigmoid(model.combiner.threshold):.2f}), "
          f"from {len(items)} drafts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
