"""The durable outbox: messages are stored with the change that caused them, then delivered.

Usage (any feature, e.g. incidents or second opinions)::

    with db.atomic():
        ...change the record, audit.record(...)...
        post = enqueue(db, "slack", OutboundMessage(kind="post", destination="C0123", reply=r),
                       subject="INC-2026-0042")
        enqueue(db, "slack", OutboundMessage(kind="reply", destination="C0123", reply=r2),
                subject="INC-2026-0042", after=post)
    outbox.notify()          # optional: wake the worker now rather than at its next poll

A job with `after=<job id>` waits until that job is sent and then takes its result as the
message's `thread` (kind "reply") or `message` (kind "update") when those are not given,
so a thread reply queued a second after the SLT post still lands in the post's thread.
The result of every sent job (the platform's message id) is kept in `outbox.result_ref`:
`posts(db, subject)` returns them, which is how a record finds "its" SLT posts.

A record's channel post shows the record as it is when the post is sent, not as it was
when queued: `current_post(subject)` (wired in `bot.services`) renders it again for every
"post" and "update" job of a record it knows, so a post sent after an outage, or again
after "Try again", never shows a state the record has left (if rendering fails, which is a
bug, the queued copy is sent and the error logged: a stale post beats none).

Delivery: `Outbox.run_pending()` sends every due job once (tests, CLI); `start()`/`stop()`
run it on a background thread that wakes on `notify()`, on its poll interval, or when the
next retry is due. A job is claimed (status "sending", a claim token, attempts+1) in one
statement before the transport is called, and marked "sent" together with its result in
one statement guarded by that claim, so two workers never both send it. A process killed
between the transport call and the "sent" update leaves the job in "sending": after
`lease` seconds another worker re-claims it and sends it again. That edge is
at-least-once (a duplicate message is possible, a lost one is not); a database too busy
for the "sent" update is tried again until the lease runs out, so it costs no duplicate.

Failures: `DeliveryError(retry_after=s)` -> due again after s seconds; other errors ->
exponential backoff `base * 2**(attempts-1)` capped at `cap`. A platform outage
(`DeliveryError`) is retried for as long as it lasts; `permanent=True`, or an unexpected
exception (a transport bug) more than `max_attempts` times -> status "failed", logged at
ERROR and audited "delivery_failed". The updates and thread replies waiting on a failed
post are superseded with it, not failed: the post, when sent again, carries the record's
current state, and the audit trail holds what they said (who acknowledged, a reminder),
so only the post itself is listed in `failed()` and nothing stale is replayed after it.
`requeue()` sends a failed job again once the cause is fixed (audited "delivery_retried").
A newer "update" of the same message supersedes an older one still pending, so a late
retry never shows a stale state.
Jobs for a platform with no registered `Transport` stay pending (e.g. Slack jobs while
only the console runs).
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from handlers.models import Reply

from bot import audit
from bot.delivery import DeliveryError, OutboundMessage, Transport
from bot.routing import Destination
from bot.store import Store

log = logging.getLogger(__name__)

migrations = Migrations("staffbot.outbox")

PENDING, SENDING, SENT, FAILED, SUPERSEDED = "pending", "sending", "sent", "failed", "superseded"
MARK_SENT_PAUSE = 0.5  # seconds between attempts to mark a sent job while the database is busy

CurrentPost = Callable[[str], Reply | None]
"""A record's channel post as the record is now, by its reference; None for a subject that is no such record."""
Channels = Callable[[str], list[Destination] | None]
"""Where a record's channel post goes by the settings now, by its reference; None for a subject that is no such record."""


@migrations()
def create_outbox(db: Database) -> None:
    db["outbox"].create(
        {
            "id": int,
            "created_at": str,
            "subject": str,
            "platform": str,
            "kind": str,
            "destination": str,
            "thread": str,
            "message": str,
            "reply": str,
            "after": int,
            "status": str,
            "attempts": int,
            "due": float,
            "claim": str,
            "claimed_at": float,
            "result_ref": str,
            "last_error": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"created_at", "platform", "kind", "destination", "reply", "status", "attempts", "due"},
        defaults={"status": PENDING, "attempts": 0, "subject": ""},
        foreign_keys=[("after", "outbox", "id")],
    )
    db["outbox"].create_index(["status", "due"])
    db["outbox"].create_index(["subject"])
    db["outbox"].create_index(["after"])


@migrations()
def supersede_jobs_behind_failed_posts(db: Database) -> None:
    """Jobs that failed with the post they waited on (before a post was sent again as it is now)."""
    db.execute(
        "update outbox set status = ? where status in (?, ?) and after in (select id from outbox where status = ?)",
        [SUPERSEDED, PENDING, FAILED, FAILED],
    )


def _moved(db: Database, job_id: int, subject: str, destination: str, named: list[str]) -> str | None:
    """The channel a record's failed post should go to instead, when the settings (`named`) no
    longer name the one it was queued for (its id was mistyped, say): the first named channel
    that no other post job of the record has (a failed one included: it can be tried again
    itself). None to keep the channel: named still, or no channel is free."""
    if not named or destination in named:
        return None
    taken = {p["destination"] for p in posts(db, subject) if p["id"] != job_id and p["status"] != SUPERSEDED}
    return next((channel for channel in named if channel not in taken), None)


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def enqueue(
    db: Database,
    platform: str,
    message: OutboundMessage,
    *,
    subject: str = "",
    after: int | None = None,
    now: float | None = None,
) -> int:
    """Store one message to deliver and return its job id; join the caller's `db.atomic()`.

    `platform` names the `Transport` ("slack", "teams", "console"); `subject` is the
    record's reference, for `posts()` and the audit trail; `after` a job this one waits for.
    """
    at = time.time() if now is None else now
    with db.atomic():
        if message.kind == "update" and after is not None:
            db.execute(
                "update outbox set status = ? where status = ? and kind = 'update' and after = ? and destination = ?",
                [SUPERSEDED, PENDING, after, message.destination],
            )
        return db["outbox"].insert(
            {
                "created_at": utc_iso(at),
                "subject": subject,
                "platform": platform,
                "kind": message.kind,
                "destination": message.destination,
                "thread": message.thread,
                "message": message.message,
                "reply": message.reply.model_dump_json(),
                "after": after,
                "status": PENDING,
                "attempts": 0,
                "due": at,
            }
        ).last_pk


def threads(db: Database, subject: str, delivered_only: bool = False) -> list[dict]:
    """The record's posts a thread reply or an update can go under: those sent and, unless
    `delivered_only`, those still on their way (the reply then waits for its post). A reminder
    is delivered only: SLT have nothing to be reminded of in a channel the post has not reached,
    and it would pile up behind a post that is retrying."""
    wanted = (SENT,) if delivered_only else (PENDING, SENDING, SENT)
    return [post for post in posts(db, subject) if post["status"] in wanted]


def posts(db: Database, subject: str) -> list[dict]:
    """The "post" jobs of one record with their status and delivered message id (`result_ref`)."""
    return list(
        db.query(
            "select id, platform, destination, status, result_ref from outbox "
            "where subject = ? and kind = 'post' order by id",
            [subject],
        )
    )


class Outbox:
    """Delivers stored jobs through the registered transports, with retries and backoff."""

    def __init__(
        self,
        store: Store,
        transports: list[Transport] | None = None,
        *,
        backoff_base: float = 2.0,
        backoff_cap: float = 300.0,
        max_attempts: int = 10,
        lease: float = 120.0,
        poll_interval: float = 5.0,
        clock: Callable[[], float] = time.time,
        current_post: CurrentPost | None = None,
        channels: Channels | None = None,
    ) -> None:
        self.store = store
        store.migrate([audit.migrations, migrations])
        self.transports: dict[str, Transport] = {transport.platform: transport for transport in transports or []}
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_attempts = max_attempts
        self.lease = lease
        self.poll_interval = poll_interval
        self.clock = clock
        self.current_post = current_post
        self.channels = channels
        self.periodic: list[Callable[[], None]] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, transport: Transport) -> None:
        """Send jobs for `transport.platform` through it (replacing any earlier one)."""
        self.transports[transport.platform] = transport
        self.notify()

    def enqueue(self, platform: str, message: OutboundMessage, *, subject: str = "", after: int | None = None) -> int:
        """`enqueue()` on this store in its own transaction, then wake the worker."""
        job = enqueue(self.store.db, platform, message, subject=subject, after=after, now=self.clock())
        self.notify()
        return job

    def notify(self) -> None:
        """Wake the background worker: something was enqueued or a transport was registered."""
        self._wake.set()

    # -- one pass -------------------------------------------------------------------------

    def run_pending(self, patience: float | None = None) -> int:
        """Attempt every due job once (dependants right after their parent); return how many were attempted.

        A job sent while the database is too busy to mark it so is tried again for `patience`
        seconds at most, by default its whole lease (the worker: a job left "sending" is sent
        twice); a person waiting on the call (the console) passes less."""
        attempted: set[int] = set()
        while True:
            jobs = [job for job in self._due() if job["id"] not in attempted]
            if not jobs:
                return len(attempted)
            for job in jobs:
                if self._stopping.is_set():  # `stop()` waits for the current job only
                    return len(attempted)
                attempted.add(job["id"])
                self._deliver(job, self.lease if patience is None else min(patience, self.lease))

    def next_due(self) -> float | None:
        """When the earliest pending job (with a transport) becomes due, or None."""
        platforms = list(self.transports)
        if not platforms:
            return None
        marks = ",".join("?" * len(platforms))
        row = self.store.db.execute(
            "select min(o.due) from outbox o left join outbox p on p.id = o.after "
            f"where o.status = ? and o.platform in ({marks}) and (o.after is null or p.status = ?)",
            [PENDING, *platforms, SENT],
        ).fetchone()
        return row[0]

    def _due(self) -> list[dict]:
        platforms = list(self.transports)
        if not platforms:
            return []
        now = self.clock()
        marks = ",".join("?" * len(platforms))
        return list(
            self.store.db.query(
                "select o.*, p.result_ref as parent_ref from outbox o left join outbox p on p.id = o.after "
                f"where o.platform in ({marks}) and ("
                "  (o.status = ? and o.due <= ?) or (o.status = ? and o.claimed_at <= ?)"
                ") and (o.after is null or p.status = ?) order by o.id",
                [*platforms, PENDING, now, SENDING, now - self.lease, SENT],
            )
        )

    def _claim(self, job: dict, now: float) -> str | None:
        token = secrets.token_hex(8)
        cursor = self.store.db.execute(
            "update outbox set status = ?, claim = ?, claimed_at = ?, attempts = attempts + 1 "
            "where id = ? and (status = ? or (status = ? and claimed_at <= ?))",
            [SENDING, token, now, job["id"], PENDING, SENDING, now - self.lease],
        )
        return token if cursor.rowcount == 1 else None

    def _deliver(self, job: dict, patience: float) -> None:
        claimed_at = self.clock()
        token = self._claim(job, claimed_at)
        if token is None:
            return  # another worker got it first
        attempts = job["attempts"] + 1
        try:
            message = OutboundMessage(
                kind=job["kind"],
                destination=job["destination"],
                reply=self._current(job) or Reply.model_validate_json(job["reply"]),
                thread=job["thread"] or (job["parent_ref"] if job["kind"] == "reply" else None),
                message=job["message"] or (job["parent_ref"] if job["kind"] == "update" else None),
            )
            ref = self.transports[job["platform"]].send(message)
        except DeliveryError as exc:
            if exc.permanent:  # an outage, however long, is waited out: reports are never dropped
                self._fail(job, str(exc) or "delivery failed", token)
            else:
                delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempts)
                self._retry(job, token, delay, str(exc))
            return
        except Exception as exc:  # a bug (or the database failing): retried, but only max_attempts times
            log.exception("outbox job %s: unexpected error sending it to %s", job["id"], job["platform"])
            if attempts >= self.max_attempts:
                self._fail(job, repr(exc), token)
            else:
                self._retry(job, token, self._backoff(attempts), repr(exc))
            return
        self._mark_sent(job, token, ref, until=claimed_at + patience)

    def _current(self, job: dict) -> Reply | None:
        """The record's post as it is now, for a post or update of one (see the module docstring).
        If that cannot be rendered (a bug, an unreadable row), the queued copy is better than none."""
        if self.current_post is None or job["kind"] not in ("post", "update") or not job["subject"]:
            return None
        try:
            return self.current_post(job["subject"])
        except Exception:  # noqa: BLE001 - any failure here must not stop the post
            log.exception("outbox job %s: could not render %s as it is now; sending it as queued",
                          job["id"], job["subject"])
            return None

    def _backoff(self, attempts: int) -> float:
        return min(self.backoff_cap, self.backoff_base * 2 ** (attempts - 1))

    def _mark_sent(self, job: dict, token: str, ref: str, until: float) -> None:
        """Record that the job was sent. While the database is busy, try again until `until` (at most
        the end of its lease: after that another worker may take the job and send it again) or the
        outbox stops: a job left "sending" is sent a second time. Giving up raises the database's error."""
        while True:
            try:
                self._record_sent(job, token, ref)
                return
            except sqlite3.OperationalError as exc:
                if self.clock() + MARK_SENT_PAUSE >= until or self._stopping.wait(MARK_SENT_PAUSE):
                    raise
                log.warning("outbox job %s was sent but cannot be marked sent yet (%s); trying again", job["id"], exc)

    def _record_sent(self, job: dict, token: str, ref: str) -> None:
        db = self.store.db
        now = self.clock()
        with db.atomic():
            cursor = db.execute(
                "update outbox set status = ?, result_ref = ?, sent_at = ?, last_error = null "
                "where id = ? and claim = ?",
                [SENT, ref, utc_iso(now), job["id"], token],
            )
            if cursor.rowcount == 1 and job["kind"] == "post" and job["subject"]:
                audit.record(
                    db,
                    subject=job["subject"],
                    action="routed",
                    actor="outbox",
                    at=utc_iso(now),
                    detail=f"{job['platform']}:{job['destination']}",
                )

    def _retry(self, job: dict, token: str, delay: float, error: str) -> None:
        log.warning("outbox job %s (%s): %s; retrying in %.1fs", job["id"], job["platform"], error, delay)
        self.store.db.execute(
            "update outbox set status = ?, due = ?, last_error = ? where id = ? and claim = ?",
            [PENDING, self.clock() + delay, error, job["id"], token],
        )

    def _fail(self, job: dict, error: str, token: str) -> None:
        """Fail the job for good, superseding what waits on it (see the module docstring)."""
        db = self.store.db
        log.error("outbox job %s for %s failed permanently: %s", job["id"], job["subject"] or "-", error)
        with db.atomic():
            cursor = db.execute(
                "update outbox set status = ?, last_error = ? where id = ? and claim = ?",
                [FAILED, error, job["id"], token],
            )
            if cursor.rowcount != 1:
                return  # its lease ran out and another worker has it now
            dropped = db.execute(
                "update outbox set status = ? where after = ? and status = ?", [SUPERSEDED, job["id"], PENDING]
            ).rowcount
            audit.record(
                db,
                subject=job["subject"] or f"outbox:{job['id']}",
                action="delivery_failed",
                actor="outbox",
                at=utc_iso(self.clock()),
                detail=f"job {job['id']}: {error}" + (f"; {dropped} waiting on it not sent" if dropped else ""),
            )

    def failed(self) -> list[dict]:
        """Jobs that will not be retried: the alert list for whoever runs the bot."""
        return list(
            self.store.db.query(
                "select id, created_at, subject, platform, kind, destination, attempts, last_error "
                "from outbox where status = ? order by id",
                [FAILED],
            )
        )

    def requeue(self, job_id: int, by: str) -> bool:
        """Make failed job `job_id` due again now; False when it is not failed (someone pressed first).

        For a cause someone has fixed (the bot invited to the channel, a channel id corrected); a
        record's post goes out as the record is then, to the channel the settings name now (see
        `_moved`). Compare-and-set on the status: two SLT members pressing at once must not both
        put the job back (the second would reset a job the worker may already be sending).
        """
        now = self.clock()
        job = self.store.db.execute(
            "select subject, platform, kind, destination from outbox where id = ?", [job_id]).fetchone()
        if job is None:
            return False
        subject, platform, kind, destination = job
        named = self._named(subject, platform, kind)  # read first: it may build services, which write
        with self.store.immediate() as db:
            moved = _moved(db, job_id, subject, destination, named)
            cursor = db.execute(
                "update outbox set status = ?, attempts = 0, due = ?, claim = null, destination = ? "
                "where id = ? and status = ?",
                [PENDING, now, moved or destination, job_id, FAILED],
            )
            if cursor.rowcount != 1:
                return False
            detail = f"job {job_id}" + (f", now to {moved} (was {destination})" if moved else "")
            audit.record(db, subject=subject or f"outbox:{job_id}", action="delivery_retried", actor=by,
                         at=utc_iso(now), detail=detail)  # fmt: skip
        self.notify()
        return True

    def _named(self, subject: str, platform: str, kind: str) -> list[str]:
        """The channels on `platform` the settings name now for a record's post; [] for other jobs."""
        if self.channels is None or kind != "post" or not subject:
            return []
        return [d.id for d in self.channels(subject) or () if d.platform == platform]

    def refuse_requeue(self, job_id: int, by: str) -> None:
        """Audit a "Try again" from someone who may not press it, under the record the job is for."""
        with self.store.db.atomic() as db:
            row = db.execute("select subject from outbox where id = ?", [job_id]).fetchone()
            subject = row[0] if row and row[0] else f"outbox:{job_id}"
            audit.record(db, subject=subject, action="refused", actor=by, at=utc_iso(self.clock()),
                         detail=f"retry of job {job_id}")

    # -- background worker ----------------------------------------------------------------

    def start(self) -> None:
        """Deliver in a background thread until `stop()`."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="staffbot-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current job, then end the worker thread."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.run_pending()
                if self._stopping.is_set():  # reminders and pruning wait for the next start
                    break
                for task in self.periodic:
                    task()
                wait = self.poll_interval
                due = self.next_due()
                if due is not None:
                    wait = max(0.0, min(wait, due - self.clock()))
            except Exception:  # the worker must outlive a locked database or a bad row
                log.exception("outbox worker pass failed; retrying")
                wait = self.poll_interval
            self._wake.wait(wait)
