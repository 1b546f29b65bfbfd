"""Knowledge base speed and memory: index build and per-question latency.

Runs on the shipped policy and on a synthetic library of ~10,000 chunks written to a temp
folder. Run: .venv/bin/python benchmarks/bench_knowledge.py
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge import KnowledgeBase  # noqa: E402

POLICIES = ROOT / "data" / "policies"
QUESTIONS = ROOT / "data" / "eval" / "qa_dev.json"
TARGETS_MS = {"shipped policy": 1.0, "synthetic 10k chunks": 20.0}
SYNTHETIC_CHUNKS = 10_000
BULLETS_PER_SECTION = 10


def write_synthetic(folder: Path, chunks: int, seed: int = 7) -> None:
    """Policy-like .txt documents built from the shipped policy's vocabulary, 10 bullets a section."""
    rng = random.Random(seed)
    source = (POLICIES / "social-media-policy.txt").read_text(encoding="utf-8")
    vocabulary = sorted({w.strip(".,;:()*“”‘’'\"") for w in source.split() if len(w) > 3})
    vocabulary += [f"term{i}" for i in range(3000)]  # a realistically large, long-tailed lexicon
    per_document = 500
    for d in range(chunks // per_document):
        lines: list[str] = []
        for s in range(per_document // BULLETS_PER_SECTION):
            lines += [f"Section {d} {s} {rng.choice(vocabulary)}", ""]
            for _ in range(BULLETS_PER_SECTION):
                lines.append("- " + " ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 30))) + ".")
            lines.append("")
        (folder / f"doc{d:03}.txt").write_text("\n".join(lines), encoding="utf-8")


def measure(name: str, folder: Path, questions: list[str]) -> dict[str, float | str]:
    tracemalloc.start()
    started = time.perf_counter()
    kb = KnowledgeBase.from_folder(folder)
    build_ms = (time.perf_counter() - started) * 1000
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for question in questions[:5]:  # warm caches (stemmer, typo choices) as a running bot would
        kb.answer(question)
    latencies = []
    for _ in range(5):
        for question in questions:
            started = time.perf_counter()
            kb.answer(question)
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "name": name,
        "chunks": len(kb.chunks),
        "build_ms": build_ms,
        "peak_mb": peak / 1e6,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def main() -> int:
    questions = [item["question"] for item in json.loads(QUESTIONS.read_text(encoding="utf-8"))]
    results = [measure("shipped policy", POLICIES, questions)]
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic(Path(tmp), SYNTHETIC_CHUNKS)
        results.append(measure("synthetic 10k chunks", Path(tmp), questions))
    print(f"{'library':<22}{'chunks':>8}{'build ms':>10}{'peak MB':>9}{'p50 ms':>8}{'p99 ms':>8}  target p50")
    met = True
    for r in results:
        target = TARGETS_MS[str(r["name"])]
        ok = float(r["p50_ms"]) <= target
        met &= ok
        print(f"{r['name']:<22}{r['chunks']:>8}{r['build_ms']:>10.1f}{r['peak_mb']:>9.1f}"
              f"{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}  <= {target:g} ms {'met' if ok else 'MISSED'}")
    print("all targets met" if met else "some targets missed")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
