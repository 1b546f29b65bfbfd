"""Teams endpoint under load: run `python benchmarks/bench_teams.py`.

The real `staffbot serve teams` process (no-auth mode, a fresh SQLite file) with the fake
Bot Connector of tests/teams_fake.py in a process of its own, as Teams' connector is
elsewhere, and the load generator in this one. Five bursts of 50 questions, each POSTed at
once to /api/messages, one right after the other's responses: p99 time to HTTP response
<= 100 ms, measured by the client from before each POST to the end of its response, and
every question answered once. The answers go out after the responses and take longer than
the bursts, so later bursts meet answers still being worked on; the script also prints when
the last answer reached the connector.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from teams_fake import TENANT, Activities, ConnectorServer, free_port, listening  # noqa: E402

CONCURRENT = 50
ROUNDS = 5
P99_LIMIT = 0.100
START_SECONDS = 60.0
ANSWER_SECONDS = 60.0
QUESTION = "Can I accept a friend request from a former pupil?"


def activities(service_url: str, round_: int) -> list[dict]:
    """Questions shaped as Teams sends them (see tests/teams_fake.py), one per user, fresh ids each round."""
    maker = Activities(service_url)
    return [maker.activity(user=f"aad-user-{n}", text=QUESTION, activity_id=f"{round_}-{n}") for n in range(CONCURRENT)]


async def burst(bot_url: str, batch: list[dict]) -> list[float]:
    async with aiohttp.ClientSession() as session:

        async def one(activity: dict) -> float:
            start = time.perf_counter()
            async with session.post(f"{bot_url}/api/messages", json=activity) as response:
                await response.read()
                assert response.status == 201, response.status
            return time.perf_counter() - start

        return list(await asyncio.gather(*(one(a) for a in batch)))


def serve_connector(conn: Connection) -> None:
    """The fake Bot Connector in its own process; answers "count" with how many replies it got."""
    connector = ConnectorServer()
    conn.send(connector.service_url)
    while conn.recv() == "count":
        conn.send(len(connector.connector.posts()))
    connector.close()


def start_bot(folder: str, port: int) -> subprocess.Popen:
    """`staffbot serve teams` as an operator would run it, once it accepts connections."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAFFBOT_", "MICROSOFT_", "SLACK_"))}
    env.update(STAFFBOT_DB=str(Path(folder) / "bench.db"), STAFFBOT_TEAMS_NO_AUTH="1", MICROSOFT_APP_TENANT_ID=TENANT)
    bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "teams", "--host", "127.0.0.1", "--port",
                            str(port)], env=env, cwd=folder, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and bot.poll() is None:
        if listening(port):
            return bot
        time.sleep(0.1)
    bot.kill()
    raise SystemExit("staffbot serve teams did not start")


def answered(connector: Connection, expected: int) -> int:
    """Replies at the connector once there are `expected` of them (or ANSWER_SECONDS have passed)."""
    deadline = time.monotonic() + ANSWER_SECONDS
    while True:
        connector.send("count")
        count = connector.recv()
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.01)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        parent, child = multiprocessing.Pipe()
        connector = multiprocessing.get_context("spawn").Process(target=serve_connector, args=(child,))
        connector.start()
        service_url = parent.recv()
        port = free_port()
        bot = start_bot(folder, port)
        bot_url = f"http://127.0.0.1:{port}"
        times: list[float] = []
        try:
            asyncio.run(burst(bot_url, activities(service_url, 0)))  # warm-up
            for round_ in range(1, ROUNDS + 1):
                times += asyncio.run(burst(bot_url, activities(service_url, round_)))
            last_response = time.perf_counter()
            replies = answered(parent, (ROUNDS + 1) * CONCURRENT) - CONCURRENT
            answers_done = time.perf_counter() - last_response
        finally:
            bot.terminate()
            bot.wait(30)
            parent.send("stop")
            connector.join(30)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"{len(times)} activities in bursts of {CONCURRENT}: median {statistics.median(times) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms (limit {P99_LIMIT * 1000:.0f} ms); {replies} answers, the last "
          f"{answers_done * 1000:.0f} ms after the last response")
    ok = p99 <= P99_LIMIT and replies == len(times)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
