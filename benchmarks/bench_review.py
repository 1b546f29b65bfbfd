"""Draft review latency: run `python benchmarks/bench_review.py [DRAFTS.json] [REPEATS]`.

Reviews every dev draft (data/eval/drafts_dev.json) REPEATS times (default 40) with one
Reviewer loaded from data/review (rules and verdict model, as the bot runs it), and checks
p50 per draft <= 5 ms.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from knowledge.review import DraftInput, Reviewer
from knowledge.review.model import MODEL_FILE

ROOT = Path(__file__).resolve().parent.parent
TARGET_P50_MS = 5.0


def main(argv: list[str]) -> int:
    drafts_path = Path(argv[1]) if len(argv) > 1 else ROOT / "data" / "eval" / "drafts_dev.json"
    repeats = int(argv[2]) if len(argv) > 2 else 40
    start = time.perf_counter()
    reviewer = Reviewer.from_folder(ROOT / "data" / "review", model_path=ROOT / "data" / "review" / MODEL_FILE)
    load_ms = (time.perf_counter() - start) * 1000
    drafts = [DraftInput(text=item["text"]) for item in json.loads(drafts_path.read_text(encoding="utf-8"))]
    timings: list[float] = []
    for _ in range(repeats):
        for draft in drafts:
            began = time.perf_counter()
            reviewer.review(draft)
            timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    p50 = timings[len(timings) // 2]
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    ok = p50 <= TARGET_P50_MS
    print(f"rules loaded in {load_ms:.0f} ms; {len(timings)} reviews of {len(drafts)} drafts")
    print(f"p50 {p50:.2f} ms  p99 {p99:.2f} ms  (target p50 <= {TARGET_P50_MS:.0f} ms) -> {'target met' if ok else 'target NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
