"""`staffbot ask` from process start to answer: target <= 1 s (issue #2).

Runs the installed console script as a fresh process N times (default 15, after 2
warm-up runs so the OS file cache is as a working machine would have it), for the
person's answer and for `--json`, and reports p50 and max wall time. Also lists the
slowest imports of `ask --json` (python -X importtime) so a regression names its cause.

Run: .venv/bin/python benchmarks/bench_startup.py [N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAFFBOT = Path(sys.executable).with_name("staffbot")
QUESTION = "Can I accept a friend request from a former pupil?"
TARGET_S = 1.0
WARM_UP = 2


def timed_runs(args: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for n in range(WARM_UP + runs):
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
        if n >= WARM_UP:
            times.append(time.perf_counter() - started)
    return times


def slowest_imports(env: dict[str, str], top: int = 8) -> list[tuple[float, str]]:
    """Top-level imports of `ask --json` by cumulative time (ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot.cli", "ask", "--json", QUESTION],
        env=env, capture_output=True, text=True, check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top-level only
            rows.append((int(cumulative) / 1000, name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "STAFFBOT_DB": str(Path(tmp) / "bench.db")}
        cases = {
            'ask "..."': [str(STAFFBOT), "ask", QUESTION],
            'ask --json "..."': [str(STAFFBOT), "ask", "--json", QUESTION],
        }
        met = True
        print(f"{'command':<20}{'runs':>6}{'p50 s':>8}{'max s':>8}  target")
        for name, args in cases.items():
            times = timed_runs(args, runs, env)
            p50, worst = statistics.median(times), max(times)
            ok = p50 <= TARGET_S
            met &= ok
            print(f"{name:<20}{runs:>6}{p50:>8.3f}{worst:>8.3f}  p50 <= {TARGET_S:g} s {'met' if ok else 'MISSED'}")
        print("\nslowest top-level imports of ask --json (cumulative ms):")
        for ms, module in slowest_imports(env):
            print(f"  {ms:8.1f}  {module}")
    print("\nall targets met" if met else "\nsome targets missed")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
