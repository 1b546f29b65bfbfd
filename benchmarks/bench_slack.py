"""The Slack endpoint under load: run `python benchmarks/bench_slack.py`.

`staffbot serve slack` runs as a subprocess against the fake Web API (tests/slack_fake.py).

1. Idle memory once it listens: VmRSS from /proc/<pid>/status <= 150 MB.
2. 50 signed requests at once on loopback (mentions, DMs, /policy, button clicks, posts
   in a drafting channel): p99 time to the HTTP response <= 100 ms. Slack needs the ack
   within 3 s; the answers themselves follow on bolt's listener threads.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from slack_fake import SECRET, FakeSlack, SlackBot  # noqa: E402

REQUESTS = 50
P99_LIMIT_MS = 100.0
RSS_LIMIT_MB = 150.0


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(folder: Path, fake: FakeSlack, port: int) -> subprocess.Popen:
    """`staffbot serve slack` as a subprocess against the fake Web API, once it accepts connections."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STAFFBOT_"))},
        "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url(),
        "STAFFBOT_DB": str(folder / "serve.db"), "STAFFBOT_SLT_CHANNEL": "CSLT",
        "STAFFBOT_DRAFTING_CHANNELS": "CDRAFTS",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "slack", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("staffbot serve slack did not start")


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


def concurrent_requests(bot: SlackBot) -> bool:
    senders: list[Any] = [
        lambda: bot.mention("Can I accept a friend request from a former pupil?"),
        lambda: bot.direct_message("Who approves a new school account?"),
        lambda: bot.command("/policy", "Can I post photos of a school trip?"),
        lambda: bot.click("feedback_helpful", "1", message={"ts": "1.1", "text": "x", "blocks": []}),
        lambda: bot.channel_message("Well done to Jamie Smith in 4B for winning the race!", channel="CDRAFTS")[0],
    ]
    def timed(n: int) -> tuple[float, int]:
        start = time.perf_counter()
        response = senders[n % len(senders)]()
        return (time.perf_counter() - start) * 1000, response.status

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        list(pool.map(timed, range(REQUESTS)))  # warm-up: lazy imports, each thread's SQLite connection
        time.sleep(2.0)
        results = list(pool.map(timed, range(REQUESTS)))
    latencies = [ms for ms, _ in results]
    statuses = {status for _, status in results}
    worst = p99(latencies)
    print(f"{REQUESTS} concurrent signed requests: statuses {sorted(statuses)}, "
          f"median {statistics.median(latencies):.1f} ms, p99 {worst:.1f} ms (limit {P99_LIMIT_MS:.0f} ms)")
    return statuses == {200} and worst <= P99_LIMIT_MS


def main() -> int:
    fake = FakeSlack().start()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        process = serve(Path(tmp), fake, port)
        try:
            time.sleep(1.0)  # let startup settle before measuring idle memory
            idle = rss_mb(process.pid)
            print(f"idle `staffbot serve slack`: VmRSS {idle:.1f} MB (limit {RSS_LIMIT_MB:.0f} MB)")
            bot = SlackBot(url=f"http://127.0.0.1:{port}/slack/events", services=None, fake=fake)  # type: ignore[arg-type]
            ok = concurrent_requests(bot) and idle <= RSS_LIMIT_MB
        finally:
            process.terminate()
            process.wait(10)
            fake.stop()
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
