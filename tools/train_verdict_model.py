"""Train the draft reviewer's verdict model, or measure what it adds to the cue rules.

    python tools/train_verdict_model.py             # write data/review/verdict_model.json
    python tools/train_verdict_model.py --check     # exit 1 if the shipped file is stale
    python tools/train_verdict_model.py --evaluate  # leave-one-batch-out table

Training data: data/eval/drafts_dev.json and tests/review_extra_drafts.json, nothing else.
The extra drafts came in batches, each written by a different session (id prefixes; a
batch's risky and fine drafts had different letters at first). The model is multinomial
naive Bayes on binary features (knowledge/review/model.py) seen in at least two drafts.
Its threshold is the lowest risk at which its out-of-batch predictions on the training
drafts (each batch scored by a model trained without it) are at least 90% precise.

`--evaluate` holds out each batch in turn, trains on the rest (the dev set always in),
chooses the threshold inside the training folds as above, and scores the held-out batch
for: the rules alone, the model alone, and rules OR model (the model speaks only when the
rules found nothing). The current rules were tuned on every batch, so the rules used for a
batch are the reviewer as committed before that batch was used to tune it (git archive
of that commit, run in a subprocess). Batch x+f has no such commit: its rules are shown
for reference but it is left out of the averages. A batch not listed in RULES_BEFORE is
scored with today's rules: right for a new batch, until the rules are tuned on it (then
list the commit before that tuning).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from knowledge.review import DraftInput, Reviewer, load_rules
from knowledge.review.draft import Draft
from knowledge.review.model import MODEL_FILE, ReasonWeights, VerdictModel, draft_features

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "data" / "eval" / "drafts_dev.json", ROOT / "tests" / "review_extra_drafts.json")
OUTPUT = ROOT / "data" / "review" / MODEL_FILE
DEV = "dev"
RISKY, FINE = "risky", "fine"  # the verdict labels (reason codes are the others)
MIN_DRAFTS = 2  # a feature must occur in this many training drafts
ALPHA = 1.0  # Laplace smoothing
PRECISION = 0.90  # out-of-batch precision the threshold must reach
# Fine drafts written by the same session as the risky batch they follow.
SAME_BATCH = {"f": "x", "g": "y", "h": "z", "e": "w", "p": "w"}
# The reviewer as committed before each batch was used to tune the rules.
RULES_BEFORE = {
    "y+g": "ccfcf06ad70f332fd0f61fc3c2f24b453209fea6",
    "z+h": "e5c69f43c3e80bb608c0819ef0f0b8925cea7273",
    "w+e+p": "a8f6fada837bbcc08e50c7489b49626d555f3f78",
    "n": "23a8ca7895cdb4e3e59f646832353a0adc8c2d24",
    "v": "683cdcd45e6817ba3babb33510a31879af99b4a5",
    "u": "bac2144f5b13f1505b55ba38294cc0ee7f7b8bc6",
}
REFERENCE_RULES = {"x+f": RULES_BEFORE["y+g"]}  # already tuned on x+f: shown, not averaged
_SNAPSHOT_REVIEW = """
import json, sys
from pathlib import Path
from knowledge.review import DraftInput, Reviewer
reviewer = Reviewer.from_folder(Path("data/review"))
print(json.dumps([reviewer.review(DraftInput(text=t)).verdict == "check" for t in json.load(sys.stdin)]))
"""

Item = dict[str, Any]


def load_items() -> list[Item]:
    """The labelled drafts, each with its `batch` and its `features`."""
    items: list[Item] = []
    for path in SOURCES:
        for item in json.loads(path.read_text(encoding="utf-8")):
            letters = re.match(r"[a-z]*", str(item["id"])).group()
            first = SAME_BATCH.get(letters, letters)
            members = [first, *sorted(k for k, v in SAME_BATCH.items() if v == first)]
            batch = DEV if path.name == "drafts_dev.json" else "+".join(members)
            draft = Draft.parse(str(item["text"]), item.get("target"))
            items.append({**item, "batch": batch, "features": draft_features(draft)})
    return items


def batches(items: Iterable[Item]) -> list[str]:
    """Held-out batches, in order of first appearance (the dev set is always trained on)."""
    return [b for b in dict.fromkeys(item["batch"] for item in items) if b != DEV]


def fit(items: Sequence[Item], threshold: float = 0.0) -> VerdictModel:
    """Naive Bayes for risky vs fine, and for each reason among the risky drafts."""
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
        threshold=threshold,
        weights={f: round(log_p[RISKY][0][f] - log_p[FINE][0][f], 4) for f in sorted(vocabulary)},
        reasons={r: ReasonWeights(
            prior=round(math.log((drafts[r] + 1) / (labelled + len(reasons))), 4),
            unseen=round(log_p[r][1], 4),
            weights={f: round(log_p[r][0][f] - log_p[r][1], 4) for f in sorted(per_label[r])},
        ) for r in reasons},
    )


def _log_probabilities(counts: Counter[str], vocabulary: set[str]) -> tuple[dict[str, float], float]:
    """Smoothed log P(feature | class) for the vocabulary, and the value for an unseen feature."""
    total = sum(counts.values()) + ALPHA * len(vocabulary)
    return {f: math.log((counts[f] + ALPHA) / total) for f in vocabulary}, math.log(ALPHA / total)


def out_of_batch_risks(items: Sequence[Item]) -> list[tuple[bool, float]]:
    """(risky, risk) for every non-dev draft, scored by a model trained without its batch."""
    scored: list[tuple[bool, float]] = []
    for held in batches(items):
        model = fit([i for i in items if i["batch"] != held])
        scored += [(bool(i["risky"]), model.risk(i["features"])) for i in items if i["batch"] == held]
    return scored


def choose_threshold(scored: Sequence[tuple[bool, float]]) -> float:
    """The lowest risk whose calls (risk >= it) are at least PRECISION precise."""
    for threshold in sorted({risk for _, risk in scored}):
        called = [risky for risky, risk in scored if risk >= threshold]
        if sum(called) >= PRECISION * len(called):
            return threshold
    return math.inf


def train(items: Sequence[Item]) -> VerdictModel:
    return fit(items, round(choose_threshold(out_of_batch_risks(items)), 4))


def model_json(model: VerdictModel) -> str:
    return json.dumps(model.to_json(), indent=0, sort_keys=True, ensure_ascii=False) + "\n"


def snapshot_verdicts(commit: str, texts: Sequence[str]) -> list[bool]:
    """The rules as committed at `commit`, run in a subprocess on the texts."""
    archive = subprocess.run(["git", "archive", commit, "knowledge", "data/review"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        done = subprocess.run([sys.executable, "-c", _SNAPSHOT_REVIEW], cwd=folder, env={"PYTHONPATH": folder},
                              input=json.dumps(list(texts)), capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def scores(rows: Sequence[tuple[bool, bool]]) -> tuple[float, float]:
    """(recall, precision) of the calls on risky drafts."""
    risky = sum(r for r, _ in rows)
    hits = sum(r and c for r, c in rows)
    called = sum(c for _, c in rows)
    return hits / risky if risky else math.nan, hits / called if called else math.nan


def evaluate(items: Sequence[Item]) -> list[str]:
    """The leave-one-batch-out table, one line per held-out batch, then the averages."""
    lines = ["| held out | drafts (risky) | rules R / P | model R / P | rules OR model R / P | model reason right |",
             "| --- | --- | --- | --- | --- | --- |"]
    averaged: dict[str, list[float]] = defaultdict(list)
    for held in batches(items):
        test = [i for i in items if i["batch"] == held]
        training = [i for i in items if i["batch"] != held]
        model = train(training)
        commit = RULES_BEFORE.get(held) or REFERENCE_RULES.get(held)
        rules = snapshot_verdicts(commit, [i["text"] for i in test]) if commit else rule_verdicts(test)
        hits = [model.check(Draft.parse(i["text"], i.get("target"))) for i in test]
        columns = {
            "rules": scores([(i["risky"], r) for i, r in zip(test, rules)]),
            "model": scores([(i["risky"], h is not None) for i, h in zip(test, hits)]),
            "both": scores([(i["risky"], r or h is not None) for i, r, h in zip(test, rules, hits)]),
        }
        added = [(i, h) for i, r, h in zip(test, rules, hits) if i["risky"] and not r and h]
        right = sum(h.reason in i["reasons"] for i, h in added)
        note = " (rules had seen it)" if held in REFERENCE_RULES else "" if commit else " (today's rules)"
        lines.append(f"| {held}{note} | {len(test)} ({sum(i['risky'] for i in test)}) | "
                     + " | ".join(f"{r:.2f} / {p:.2f}" for r, p in columns.values())
                     + f" | {right}/{len(added)} |")
        if held not in REFERENCE_RULES:
            for name, (recall, precision) in columns.items():
                averaged[f"{name} R"].append(recall)
                averaged[f"{name} P"].append(precision)
    mean = {k: sum(v) / len(v) for k, v in averaged.items()}
    lines.append(f"| mean of {len(averaged['rules R'])} | | " + " | ".join(
        f"{mean[f'{n} R']:.2f} / {mean[f'{n} P']:.2f}" for n in ("rules", "model", "both")) + " | |")
    return lines


def rule_verdicts(items: Sequence[Item]) -> list[bool]:
    """Today's rules (without the model) on the drafts: True where they flag it."""
    reviewer = Reviewer(load_rules(ROOT / "data" / "review"))
    return [reviewer.review(DraftInput(text=i["text"])).verdict == "check" for i in items]


def current_rules_line(items: Sequence[Item]) -> str:
    """The shipped rules on all the drafts (all seen while tuning them), for reference."""
    recall, precision = scores([(bool(i["risky"]), flagged) for i, flagged in zip(items, rule_verdicts(items))])
    return f"current rules on every labelled draft (all seen while tuning): recall {recall:.2f}, precision {precision:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the shipped weights differ from a fresh training")
    mode.add_argument("--evaluate", action="store_true", help="print the leave-one-batch-out table")
    args = parser.parse_args(argv)
    items = load_items()
    if args.evaluate:
        print("\n".join([*evaluate(items), "", current_rules_line(items)]))
        return 0
    text = model_json(train(items))
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        print(f"{OUTPUT.relative_to(ROOT)}: {'up to date' if current == text else 'STALE: run tools/train_verdict_model.py'}")
        return 0 if current == text else 1
    OUTPUT.write_text(text, encoding="utf-8")
    model = VerdictModel.from_json(json.loads(text))
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(model.weights)} features, {len(model.reasons)} reasons, "
          f"threshold {model.threshold}, from {len(items)} drafts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
