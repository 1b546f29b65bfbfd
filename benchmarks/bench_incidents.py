"""Incident store and outbox under load: run `python benchmarks/bench_incidents.py`.

1. 200 reports submitted at once from 20 threads: every one stored, unique references,
   p99 submit latency <= 500 ms.
2. A transport that fails for 2 s then recovers: the pending SLT post is delivered within
   5 s of recovery by the background worker (backoff capped at 1 s here).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.delivery import DeliveryError, OutboundMessage
from bot.incidents import IncidentDB
from bot.outbox import Outbox
from bot.routing import Routing, RoutingFile
from bot.store import Store
from handlers.incident_models import ReportForm
from handlers.models import Actor
from handlers.report import submit_report

FORM = ReportForm(category="bullying", what_happened="Benchmark report " * 50)


def concurrent_submissions(folder: Path) -> bool:
    store = Store(folder / "bench.db", timeout=30)
    book = IncidentDB(store, Routing(RoutingFile(), slt_channel="CSLT"))

    def submit(n: int) -> tuple[float, str | None]:
        start = time.perf_counter()
        submission = submit_report(FORM, Actor(platform="slack", user_id=f"U{n}"), f"bench:{n}", book)
        return time.perf_counter() - start, submission.reference

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(200)))
    latencies = sorted(r[0] for r in results)
    references = [r[1] for r in results]
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    ok = None not in references and len(set(references)) == 200 and p99 <= 0.5
    print(
        f"200 concurrent submissions: stored={sum(r is not None for r in references)} "
        f"unique={len(set(references))} median={statistics.median(latencies) * 1000:.1f} ms "
        f"p99={p99 * 1000:.1f} ms -> {'OK' if ok else 'FAIL'}"
    )
    store.close()
    return ok


class Flaky:
    platform = "slack"

    def __init__(self, down_until: float) -> None:
        self.down_until = down_until
        self.delivered = threading.Event()

    def send(self, message: OutboundMessage) -> str:
        if time.monotonic() < self.down_until:
            raise DeliveryError("HTTP 503")
        self.delivered.set()
        return "ts-1"


def delivery_after_recovery(folder: Path) -> bool:
    store = Store(folder / "outbox.db")
    recovers_at = time.monotonic() + 2.0
    transport = Flaky(recovers_at)
    outbox = Outbox(store, [transport], backoff_base=0.1, backoff_cap=1.0, poll_interval=1.0)
    book = IncidentDB(store, Routing(RoutingFile(), slt_channel="CSLT"), outbox)
    outbox.start()
    submit_report(FORM, Actor(platform="slack", user_id="U1"), "bench:recovery", book)
    transport.delivered.wait(15)
    outbox.stop()
    store.close()
    lag = time.monotonic() - recovers_at if transport.delivered.is_set() else float("inf")
    ok = lag <= 5.0
    print(f"delivery after the transport recovered: {lag:.2f} s -> {'OK' if ok else 'FAIL'}")
    return ok


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        results = [concurrent_submissions(Path(tmp)), delivery_after_recovery(Path(tmp))]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
