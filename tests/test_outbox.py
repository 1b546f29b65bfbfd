from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import ExitStack

import pytest
from db_lock import BUSY_SECONDS, write_locked

from bot import audit
from bot.delivery import DeliveryError, OutboundMessage
from bot.outbox import Outbox, enqueue, migrations, posts
from bot.routing import Destination
from bot.store import Store
from handlers.models import Reply


class FakeTransport:
    """Records what it was asked to send; `script` lists the errors to raise first."""

    def __init__(self, platform: str = "slack", script: list[Exception] | None = None) -> None:
        self.platform = platform
        self.script = list(script or [])
        self.sent: list[OutboundMessage] = []
        self.calls = 0

    def send(self, message: OutboundMessage) -> str:
        self.calls += 1
        if self.script:
            raise self.script.pop(0)
        self.sent.append(message)
        return f"ts-{len(self.sent)}"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def post(text: str = "New incident") -> OutboundMessage:
    return OutboundMessage(kind="post", destination="CSLT", reply=Reply(kind="incident", text=text))


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "o.db")
    yield s
    s.close()


def make(store, transport, clock=None, **kw) -> Outbox:
    return Outbox(store, [transport], backoff_base=1.0, backoff_cap=8.0, clock=clock or Clock(), **kw)


def statuses(store) -> list[str]:
    return [r["status"] for r in store.db.query("select status from outbox order by id")]


def test_job_is_delivered_once_and_its_ref_kept(store):
    transport = FakeTransport()
    outbox = make(store, transport)
    job = outbox.enqueue("slack", post(), subject="INC-2026-0001")
    assert outbox.run_pending() == 1
    assert outbox.run_pending() == 0
    assert [m.reply.text for m in transport.sent] == ["New incident"]
    assert posts(store.db, "INC-2026-0001") == [
        {"id": job, "platform": "slack", "destination": "CSLT", "status": "sent", "result_ref": "ts-1"}
    ]
    assert [r["action"] for r in audit.chronology(store.db, "INC-2026-0001")] == ["routed"]


def test_enqueue_joins_the_callers_transaction(store):
    outbox = make(store, FakeTransport())
    with pytest.raises(RuntimeError):
        with store.db.atomic():
            enqueue(store.db, "slack", post(), subject="INC-2026-0001")
            raise RuntimeError("the record change failed")
    assert statuses(store) == []
    assert outbox.run_pending() == 0


def test_replies_and_updates_wait_for_the_post_and_target_it(store):
    transport = FakeTransport(script=[DeliveryError("rate limited", retry_after=30)])
    clock = Clock()
    outbox = make(store, transport, clock)
    with store.db.atomic():
        first = enqueue(store.db, "slack", post(), subject="S", now=clock())
        reply = OutboundMessage(kind="reply", destination="CSLT", reply=Reply(kind="info", text="ack"))
        update = OutboundMessage(kind="update", destination="CSLT", reply=Reply(kind="incident", text="v2"))
        enqueue(store.db, "slack", reply, subject="S", after=first, now=clock())
        enqueue(store.db, "slack", update, subject="S", after=first, now=clock())
    outbox.run_pending()
    assert transport.sent == []  # the post is waiting for its retry, and so are its dependants
    clock.now += 29
    assert outbox.run_pending() == 0
    clock.now += 1
    assert outbox.run_pending() == 3
    kinds = [(m.kind, m.thread, m.message) for m in transport.sent]
    assert kinds == [("post", None, None), ("reply", "ts-1", None), ("update", None, "ts-1")]


def test_a_newer_update_supersedes_a_pending_one(store):
    transport = FakeTransport()
    outbox = make(store, transport)
    first = outbox.enqueue("slack", post(), subject="S")
    outbox.run_pending()
    for text in ("acknowledged", "resolved"):
        update = OutboundMessage(kind="update", destination="CSLT", reply=Reply(kind="incident", text=text))
        outbox.enqueue("slack", update, subject="S", after=first)
    outbox.run_pending()
    assert [m.reply.text for m in transport.sent] == ["New incident", "resolved"]
    assert statuses(store) == ["sent", "superseded", "sent"]


def test_retry_after_is_honoured_then_exactly_one_post(store):
    transport = FakeTransport(script=[DeliveryError("429", retry_after=2), DeliveryError("429", retry_after=2)])
    clock = Clock()
    outbox = make(store, transport, clock)
    outbox.enqueue("slack", post())
    outbox.run_pending()
    assert outbox.next_due() == clock.now + 2
    clock.now += 2
    outbox.run_pending()
    clock.now += 2
    outbox.run_pending()
    outbox.run_pending()
    assert transport.calls == 3
    assert len(transport.sent) == 1


def test_server_errors_back_off_exponentially_up_to_the_cap(store):
    errors = [DeliveryError("HTTP 500") for _ in range(6)]
    transport = FakeTransport(script=errors)
    clock = Clock()
    outbox = make(store, transport, clock)
    outbox.enqueue("slack", post())
    delays = []
    for _ in range(6):
        outbox.run_pending()
        delays.append(outbox.next_due() - clock.now)
        clock.now = outbox.next_due()
    assert delays == [1, 2, 4, 8, 8, 8]
    outbox.run_pending()
    assert len(transport.sent) == 1
    assert statuses(store) == ["sent"]


def test_permanent_failure_is_marked_logged_and_audited_and_what_waits_on_it_superseded(store, caplog):
    transport = FakeTransport(script=[DeliveryError("channel_not_found", permanent=True)])
    outbox = make(store, transport)
    first = outbox.enqueue("slack", post(), subject="INC-2026-0009")
    reply = OutboundMessage(kind="reply", destination="CSLT", reply=Reply(kind="info", text="ack"))
    update = OutboundMessage(kind="update", destination="CSLT", reply=Reply(kind="incident", text="Acknowledged"))
    outbox.enqueue("slack", reply, subject="INC-2026-0009", after=first)
    outbox.enqueue("slack", update, subject="INC-2026-0009", after=first)
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        outbox.run_pending()
    assert statuses(store) == ["failed", "superseded", "superseded"]
    assert "channel_not_found" in caplog.text
    assert [f["id"] for f in outbox.failed()] == [first]  # one failure, one Try again
    trail = audit.chronology(store.db, "INC-2026-0009")
    assert [r["action"] for r in trail] == ["delivery_failed"]
    assert trail[0]["detail"].endswith("channel_not_found; 2 waiting on it not sent")


def test_requeue_sends_a_failed_post_again_once_as_the_record_is_now(store):
    state = {"INC-2026-0010": "New"}
    transport = FakeTransport(script=[DeliveryError("not_in_channel", permanent=True)])
    outbox = make(store, transport, current_post=lambda subject: (
        Reply(kind="incident", text=state[subject]) if subject in state else None))
    first = outbox.enqueue("slack", post("New"), subject="INC-2026-0010")
    update = OutboundMessage(kind="update", destination="CSLT", reply=Reply(kind="incident", text="Acknowledged"))
    outbox.enqueue("slack", update, subject="INC-2026-0010", after=first)
    outbox.run_pending()
    state["INC-2026-0010"] = "Resolved"  # SLT carried on meanwhile
    assert outbox.requeue(first, "slack:UHEAD") is True
    assert outbox.requeue(first, "slack:UHEAD") is False  # a second press finds nothing failed
    outbox.run_pending()
    assert statuses(store) == ["sent", "superseded"]
    assert [(m.kind, m.reply.text) for m in transport.sent] == [("post", "Resolved")]
    trail = [r["action"] for r in audit.chronology(store.db, "INC-2026-0010")]
    assert trail == ["delivery_failed", "delivery_retried", "routed"]


def test_a_retried_post_goes_to_a_channel_the_settings_name_now_that_has_none_of_the_record_yet(store):
    named = {"INC-2026-0014": [Destination(platform="slack", id="CA"), Destination(platform="teams", id="19:x"),
                               Destination(platform="slack", id="CB")]}
    transport = FakeTransport(script=[DeliveryError("channel_not_found", permanent=True)])
    outbox = make(store, transport, channels=named.get)
    sent = outbox.enqueue("slack", OutboundMessage(kind="post", destination="CA", reply=Reply(kind="incident")),
                          subject="INC-2026-0014")
    outbox.run_pending()  # the first (to CA) fails
    store.db.execute("update outbox set status = 'sent' where id = ?", [sent])  # pretend CA has it after all
    typo = outbox.enqueue("slack", OutboundMessage(kind="post", destination="CTYPO", reply=Reply(kind="incident")),
                          subject="INC-2026-0014")
    transport.script = [DeliveryError("channel_not_found", permanent=True)]
    outbox.run_pending()
    assert outbox.requeue(typo, "cli:admin")
    outbox.run_pending()
    assert [m.destination for m in transport.sent] == ["CB"]  # CA already has its post; teams is another platform
    detail = audit.chronology(store.db, "INC-2026-0014")[-2]["detail"]
    assert detail == f"job {typo}, now to CB (was CTYPO)"


def test_a_retried_post_never_takes_a_channel_another_post_of_the_record_has_even_a_failed_one(store):
    named = [Destination(platform="slack", id="C1"), Destination(platform="slack", id="C2")]
    transport = FakeTransport(script=[DeliveryError("not_in_channel", permanent=True),
                                      DeliveryError("channel_not_found", permanent=True)])
    outbox = make(store, transport, channels=lambda subject: named)
    first = outbox.enqueue("slack", OutboundMessage(kind="post", destination="C1", reply=Reply(kind="incident")),
                           subject="INC-2026-0016")
    typo = outbox.enqueue("slack", OutboundMessage(kind="post", destination="C2TYPO", reply=Reply(kind="incident")),
                          subject="INC-2026-0016")
    outbox.run_pending()  # both fail: C1 has not invited the bot, C2TYPO does not exist
    assert outbox.requeue(typo, "cli:admin") and outbox.requeue(first, "cli:admin")
    outbox.run_pending()
    assert sorted(m.destination for m in transport.sent) == ["C1", "C2"]


def test_a_direct_message_that_failed_is_never_moved_into_a_channel(store):
    transport = FakeTransport(script=[DeliveryError("user_not_found", permanent=True)])
    outbox = make(store, transport, channels=lambda subject: [Destination(platform="slack", id="CSLT")])
    dm = outbox.enqueue("slack", OutboundMessage(kind="direct", destination="U1", reply=Reply(kind="info")),
                        subject="INC-2026-0017")
    outbox.run_pending()
    assert outbox.requeue(dm, "cli:admin")
    outbox.run_pending()
    assert [m.destination for m in transport.sent] == ["U1"]


def test_a_retried_post_keeps_a_channel_the_settings_still_name(store):
    transport = FakeTransport(script=[DeliveryError("not_in_channel", permanent=True)])
    outbox = make(store, transport, channels=lambda subject: [Destination(platform="slack", id="CSLT")])
    job = outbox.enqueue("slack", post(), subject="INC-2026-0015")
    outbox.run_pending()
    assert outbox.requeue(job, "cli:admin")
    outbox.run_pending()
    assert [m.destination for m in transport.sent] == ["CSLT"]


def test_posts_and_updates_of_a_known_record_are_sent_as_it_is_now_other_jobs_as_queued(store):
    transport = FakeTransport()
    outbox = make(store, transport, current_post=lambda subject: (
        Reply(kind="incident", text="now") if subject == "INC-2026-0011" else None))
    first = outbox.enqueue("slack", post("then"), subject="INC-2026-0011")
    for kind, text, after in (("reply", "ack", first), ("update", "then", first), ("direct", "dm", None)):
        message = OutboundMessage(kind=kind, destination="CSLT", reply=Reply(kind="info", text=text))
        outbox.enqueue("slack", message, subject="INC-2026-0011", after=after)
    outbox.enqueue("slack", post("owner"), subject="question-4")
    outbox.run_pending()
    assert sorted((m.kind, m.reply.text) for m in transport.sent) == [
        ("direct", "dm"), ("post", "now"), ("post", "owner"), ("reply", "ack"), ("update", "now")]


def test_a_post_that_cannot_be_rendered_as_it_is_now_is_sent_as_queued(store, caplog):
    def broken(subject: str) -> Reply:
        raise ValueError("unreadable row")

    transport = FakeTransport()
    outbox = make(store, transport, current_post=broken)
    outbox.enqueue("slack", post("as queued"), subject="INC-2026-0013")
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        outbox.run_pending()
    assert [m.reply.text for m in transport.sent] == ["as queued"] and statuses(store) == ["sent"]
    assert "could not render INC-2026-0013" in caplog.text


def test_jobs_that_failed_with_their_post_before_the_upgrade_are_superseded(tmp_path):
    store = Store(tmp_path / "o.db")
    migrations.apply(store.db, stop_before="supersede_jobs_behind_failed_posts")
    first = enqueue(store.db, "slack", post(), subject="INC-2026-0012")
    reply = OutboundMessage(kind="reply", destination="CSLT", reply=Reply(kind="info", text="ack"))
    enqueue(store.db, "slack", reply, subject="INC-2026-0012", after=first)
    enqueue(store.db, "slack", reply, subject="INC-2026-0012", after=first)
    store.db.execute("update outbox set status = 'failed' where id < 3")
    outbox = make(store, FakeTransport())
    assert statuses(store) == ["failed", "superseded", "superseded"]
    assert [f["id"] for f in outbox.failed()] == [first]
    store.close()


def test_an_outage_is_waited_out_however_many_attempts_it_takes(store):
    transport = FakeTransport(script=[DeliveryError("HTTP 503") for _ in range(12)])
    clock = Clock()
    outbox = make(store, transport, clock, max_attempts=3)
    outbox.enqueue("slack", post())
    for _ in range(12):
        outbox.run_pending()
        assert statuses(store) == ["pending"]
        clock.now += 400  # past the capped backoff
    outbox.run_pending()
    assert statuses(store) == ["sent"]
    assert len(transport.sent) == 1


def test_a_transport_bug_fails_the_job_after_max_attempts(store):
    transport = FakeTransport(script=[TypeError("bug") for _ in range(3)])
    clock = Clock()
    outbox = make(store, transport, clock, max_attempts=3)
    outbox.enqueue("slack", post())
    for _ in range(3):
        outbox.run_pending()
        clock.now += 400
    assert statuses(store) == ["failed"]
    assert transport.sent == []


def test_unexpected_transport_errors_are_retried(store):
    transport = FakeTransport(script=[ConnectionResetError("peer reset")])
    clock = Clock()
    outbox = make(store, transport, clock)
    outbox.enqueue("slack", post())
    outbox.run_pending()
    assert statuses(store) == ["pending"]
    clock.now += 1
    outbox.run_pending()
    assert statuses(store) == ["sent"]


def test_jobs_without_a_transport_wait(store):
    outbox = make(store, FakeTransport("console"))
    outbox.enqueue("teams", post())
    assert outbox.run_pending() == 0
    assert statuses(store) == ["pending"]


def test_a_restart_delivers_pending_and_abandoned_jobs(tmp_path):
    first = Store(tmp_path / "o.db")
    clock = Clock()
    outbox = make(first, FakeTransport(script=[DeliveryError("down")]), clock)
    outbox.enqueue("slack", post("pending"))
    outbox.enqueue("slack", post("abandoned"))
    outbox.run_pending()  # first fails and is pending; the second is sent...
    first.db.execute("update outbox set status = 'sending', claimed_at = ? where id = 2", [clock.now])
    first.close()  # ...or rather, the process died while sending it

    second = Store(tmp_path / "o.db")
    transport = FakeTransport()
    clock.now += 200  # past the lease and the backoff
    restarted = make(second, transport, clock, lease=120)
    restarted.run_pending()
    assert sorted(m.reply.text for m in transport.sent) == ["abandoned", "pending"]
    assert statuses(second) == ["sent", "sent"]
    second.close()


def test_a_job_being_sent_is_not_taken_by_another_worker(store):
    clock = Clock()
    outbox = make(store, FakeTransport(), clock, lease=120)
    outbox.enqueue("slack", post())
    store.db.execute("update outbox set status = 'sending', claimed_at = ?", [clock.now])
    assert outbox.run_pending() == 0


def test_background_worker_wakes_on_notify(store):
    delivered = threading.Event()

    class Signalling(FakeTransport):
        def send(self, message):
            ref = super().send(message)
            delivered.set()
            return ref

    outbox = Outbox(store, [Signalling()], poll_interval=60)
    outbox.start()
    try:
        outbox.enqueue("slack", post())
        assert delivered.wait(10)
    finally:
        outbox.stop()
    assert statuses(store) == ["sent"]


def test_stopping_the_worker_finishes_the_job_in_hand_and_leaves_the_rest_and_the_periodic_tasks(store):
    sending, go_on = threading.Event(), threading.Event()

    class Held(FakeTransport):
        def send(self, message):
            sending.set()
            assert go_on.wait(10)
            return super().send(message)

    transport = Held()
    outbox = Outbox(store, [transport], poll_interval=60)
    periodic: list[str] = []
    outbox.periodic.append(lambda: periodic.append("ran"))
    for text in ("first", "second", "third"):
        outbox.enqueue("slack", post(text))
    outbox.start()
    assert sending.wait(10)
    stopper = threading.Thread(target=outbox.stop)
    stopper.start()
    while not outbox._stopping.is_set():
        time.sleep(0.01)
    go_on.set()
    stopper.join(10)
    assert [m.reply.text for m in transport.sent] == ["first"]
    assert statuses(store) == ["sent", "pending", "pending"]
    assert periodic == []  # nor reminders: shutting down, not a pass


class BusyAfterSending(FakeTransport):
    """Sends, then another connection takes the database's write lock, so the job is sent but cannot be
    marked so: for `seconds`, or until `release()`."""

    def __init__(self, path, seconds: float | None = None) -> None:
        super().__init__()
        self.path, self.seconds = path, seconds
        self.lock = ExitStack()
        self.busy = threading.Event()

    def send(self, message):
        ref = super().send(message)
        self.lock.enter_context(write_locked(self.path))
        if self.seconds is not None:
            threading.Timer(self.seconds, self.release).start()
        self.busy.set()
        return ref

    def release(self) -> None:
        self.lock.close()


def test_a_job_sent_while_the_database_is_busy_is_marked_sent_when_it_is_free_and_not_sent_again(tmp_path):
    store = Store(tmp_path / "o.db", timeout=BUSY_SECONDS)
    transport = BusyAfterSending(store.path, seconds=10 * BUSY_SECONDS)  # ten of the store's busy waits
    outbox = make(store, transport, clock=time.time, lease=60.0)
    outbox.enqueue("slack", post(), subject="INC-2026-0001")
    assert outbox.run_pending() == 1
    assert statuses(store) == ["sent"]
    assert outbox.run_pending() == 0
    assert transport.calls == 1
    assert [r["action"] for r in audit.chronology(store.db, "INC-2026-0001")] == ["routed"]
    store.close()


def test_a_caller_that_cannot_wait_gives_up_marking_a_busy_job_after_its_patience(tmp_path):
    store = Store(tmp_path / "o.db", timeout=BUSY_SECONDS)
    transport = BusyAfterSending(store.path)  # busy until released
    outbox = make(store, transport, clock=time.time, lease=600.0)
    outbox.enqueue("slack", post())
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            outbox.run_pending(patience=BUSY_SECONDS)  # as the console does, not the lease's ten minutes
    finally:
        transport.release()
    assert statuses(store) == ["sending"] and transport.calls == 1
    store.close()


def test_stopping_the_outbox_ends_the_wait_to_mark_a_job_sent(tmp_path):
    store = Store(tmp_path / "o.db", timeout=BUSY_SECONDS)
    transport = BusyAfterSending(store.path)
    outbox = make(store, transport, clock=time.time, lease=600.0)
    outbox.enqueue("slack", post())
    outbox.start()
    worker = outbox._thread
    try:
        assert transport.busy.wait(30)
        outbox.stop(timeout=30)  # far less than the lease it would otherwise wait out
        assert worker is not None and not worker.is_alive()
    finally:
        transport.release()
    assert statuses(store) == ["sending"]  # sent; another worker sends it again after the lease
    store.close()
