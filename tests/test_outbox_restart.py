"""A process killed (SIGKILL) after storing a report, then restarted: the SLT post goes out once.

The first process is real: it stores a report through the handlers and is killed either
before it tried to deliver, or while its transport was sending. A new process reads the
same SQLite file, as `staffbot serve` does at start, and delivers what is pending.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.outbox import Outbox
from bot.services import Services
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys, time
from bot.config import load_settings
from bot.services import Services
from handlers.incident_models import ReportForm
from handlers.models import Actor
from handlers.report import submit_report

class Hanging:
    platform = "slack"

    def send(self, message):
        print("sending", flush=True)
        time.sleep(600)

services = Services(load_settings())
services.outbox.register(Hanging())
form = ReportForm(category="bullying", what_happened="A pupil is being targeted in a group chat")
submission = submit_report(form, Actor(platform="slack", user_id="U1"), "slack:view:V1", services.incidents)
print(submission.reference, flush=True)
if sys.argv[1] == "after-storing":
    time.sleep(600)
services.outbox.run_pending()
"""


class Recording:
    """The restarted process's Slack transport."""

    platform = "slack"

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, message) -> str:
        self.sent.append(message)
        return f"1700000000.{len(self.sent):06d}"


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "staffbot.db"))
    monkeypatch.setenv("STAFFBOT_SLT_CHANNEL", "CSLT")
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def kill_after(env: dict[str, str], moment: str) -> str:
    """Run the child until it printed the reference (and "sending" if asked), SIGKILL it; the reference."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, moment], env=env, stdout=subprocess.PIPE, text=True)
    try:
        reference = child.stdout.readline().strip()
        if moment == "while-sending":
            assert child.stdout.readline().strip() == "sending"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        child.kill()
        child.stdout.close()
    assert reference.startswith("INC-")
    return reference


def restart(clock_offset: float = 0.0) -> tuple[Services, Recording, Outbox]:
    """A new process's view: services over the same file and an outbox with a working transport."""
    services = Services(load_settings())
    transport = Recording()
    outbox = Outbox(services.store, [transport], clock=lambda: time.time() + clock_offset)
    return services, transport, outbox


@pytest.mark.parametrize(
    ("moment", "clock_offset"),
    [("after-storing", 0.0), ("while-sending", 121.0)],  # a claimed job is re-sent after the 120 s lease
)
def test_killed_then_restarted_delivers_the_slt_post_exactly_once(env, moment, clock_offset):
    reference = kill_after(env, moment)
    services, transport, outbox = restart(clock_offset)
    incident = services.incidents.get(reference)
    assert incident is not None and incident.what_happened == "A pupil is being targeted in a group chat"

    outbox.run_pending()
    assert [(m.kind, m.destination) for m in transport.sent] == [("post", "CSLT")]
    assert reference in str(transport.sent[0].reply)
    assert "group chat" not in str(transport.sent[0].reply)  # the narrative stays out of the channel

    outbox.run_pending()  # a later pass and another restart send nothing again
    again, transport2, outbox2 = restart(clock_offset + 1000)
    outbox2.run_pending()
    assert len(transport.sent) == 1 and transport2.sent == []
    actions = [row["action"] for row in services.incidents.history(reference)]
    assert actions == ["created", "routed"]
    services.close()
    again.close()


def test_a_killed_process_left_the_report_and_its_pending_delivery_on_disk(env, tmp_path):
    reference = kill_after(env, "after-storing")
    store = Store(tmp_path / "staffbot.db")
    jobs = list(store.db.query("select subject, kind, destination, status, attempts from outbox"))
    assert jobs == [{"subject": reference, "kind": "post", "destination": "CSLT", "status": "pending", "attempts": 0}]
    store.close()
