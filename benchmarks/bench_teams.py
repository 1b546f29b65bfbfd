"""Teams endpoint under load: run `python benchmarks/bench_teams.py`.

Five bursts of 50 questions, each POSTed at once to /api/messages, one burst right after
the other's responses (no-auth mode, real SQLite file, fake Bot Connector on loopback in
the bot's process): p99 time to HTTP response <= 100 ms, measured by the client from
before each POST to the end of its response, and every question answered once. The
answers are sent after the responses and take longer than the bursts, so later bursts
meet answers still being worked on; the script also prints when the last answer reached
the connector. The bot runs in its own process so the load generator does not share its
GIL. Uses the fake connector and activity shapes from tests/teams_fake.py.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from teams_fake import TENANT, Activities, TeamsHarness  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.teams import build_teams_app  # noqa: E402

CONCURRENT = 50
ROUNDS = 5
P99_LIMIT = 0.100
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


def serve_bot(folder: str, conn: Connection) -> None:
    """The bot and the fake connector in their own process, as in production (the client is elsewhere)."""
    services = Services(load_settings(STAFFBOT_DB=Path(folder) / "bench.db", STAFFBOT_TEAMS_NO_AUTH=True,
                                      MICROSOFT_APP_TENANT_ID=TENANT))
    teams = TeamsHarness(lambda: build_teams_app(services))
    conn.send((teams.bot_url, teams.service_url))
    while conn.recv() == "settle":
        teams.loops.run(teams.settle())
        conn.send(len(teams.connector.posts()))
    teams.close()
    services.close()


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        parent, child = multiprocessing.Pipe()
        server = multiprocessing.get_context("spawn").Process(target=serve_bot, args=(folder, child))
        server.start()
        bot_url, service_url = parent.recv()
        times: list[float] = []
        try:
            asyncio.run(burst(bot_url, activities(service_url, 0)))  # warm-up
            for round_ in range(1, ROUNDS + 1):
                times += asyncio.run(burst(bot_url, activities(service_url, round_)))
            last_response = time.perf_counter()
            parent.send("settle")
            answered = parent.recv() - CONCURRENT
            answers_done = time.perf_counter() - last_response
        finally:
            parent.send("stop")
            server.join(30)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"{len(times)} activities in bursts of {CONCURRENT}: median {statistics.median(times) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms (limit {P99_LIMIT * 1000:.0f} ms); {answered} answers, the last "
          f"{answers_done * 1000:.0f} ms after the last response")
    ok = p99 <= P99_LIMIT and answered == len(times)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
