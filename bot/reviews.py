"""Second-opinion requests in SQLite: the `ReviewBook` the second-opinion handlers write through.

Writes follow `bot/incidents.py`: one `BEGIN IMMEDIATE` transaction holds the change, its
audit row and its outbox jobs; references are `SO-<year>-<seq>` from a per-year counter
incremented inside it, and a UNIQUE `dedupe_key` makes a repeated request return the
first one. A decision is a single `UPDATE ... WHERE status = 'pending'`: whoever's
update changes the row decided, everyone else is told who was first.

Notices: "slt" posts go to the approvals channel (STAFFBOT_REVIEW_CHANNEL, else
STAFFBOT_SLT_CHANNEL; "slack:C0123", "teams:19:..." or a bare Slack id), "slt" replies and
updates to the post already queued for the request (none while it has failed for good: "Try
again" sends it with the decision made meanwhile), "reporter" to the requester's own
platform. A request made in the terminal goes to the console transport only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from handlers import messages
from handlers.incident_models import Event, Notice, NotStored
from handlers.models import Actor, Reply
from handlers.second_opinion import ReviewRequest
from knowledge.review import DraftInput, Finding

from bot import audit, outbox
from bot.config import ConfigError, Settings
from bot.delivery import OutboundMessage
from bot.incidents import CONSOLE_SLT, iso
from bot.outbox import Outbox
from bot.reminders import SCHOOL_TZ, working_hours_between
from bot.routing import Destination, parse_destination
from bot.store import Store

migrations = Migrations("staffbot.reviews")


@migrations()
def create_reviews(db: Database) -> None:
    db["review_requests"].create(
        {
            "reference": str,
            "year": int,
            "seq": int,
            "dedupe_key": str,
            "created_at": str,
            "draft": str,
            "target": str,
            "learner_images": int,
            "permission_checked": int,
            "findings": str,
            "requester_platform": str,
            "requester_id": str,
            "requester_name": str,
            "status": str,
            "decided_by": str,
            "decided_at": str,
            "comment": str,
            "last_reminder_at": str,
        },
        pk="reference",
        not_null={"year", "seq", "dedupe_key", "created_at", "draft", "findings", "status"},
    )
    db["review_requests"].create_index(["dedupe_key"], unique=True)
    db["review_requests"].create_index(["year", "seq"], unique=True)
    db["review_requests"].create_index(["status", "created_at"])
    db["review_counters"].create({"year": int, "last": int}, pk="year")
    db["draft_suggestions"].create(
        {"channel": str, "message_id": str, "suggested_at": str}, pk=("channel", "message_id")
    )


def approvals_channel(settings: Settings) -> Destination:
    """Where requests are posted: STAFFBOT_REVIEW_CHANNEL, else the SLT channel."""
    name = "STAFFBOT_REVIEW_CHANNEL" if settings.review_channel else "STAFFBOT_SLT_CHANNEL"
    value = settings.review_channel or settings.slt_channel
    if not value:
        raise ConfigError(
            "STAFFBOT_REVIEW_CHANNEL is not set (nor STAFFBOT_SLT_CHANNEL): second opinions have nowhere to go."
        )
    try:
        return parse_destination(value)  # type: ignore[return-value]
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def to_row(request: ReviewRequest) -> dict:
    draft = request.draft
    return {
        "reference": request.reference,
        "created_at": iso(request.created_at),
        "draft": draft.text,
        "target": draft.target,
        "learner_images": draft.contains_learner_images,
        "permission_checked": draft.permission_checked,
        "findings": json.dumps([f.model_dump(mode="json") for f in request.findings], ensure_ascii=False),
        "requester_platform": request.requester.platform,
        "requester_id": request.requester.user_id,
        "requester_name": request.requester.name,
        "status": request.status,
        "decided_by": request.decided_by,
        "decided_at": iso(request.decided_at) if request.decided_at else None,
        "comment": request.comment,
    }


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def from_row(row: dict) -> ReviewRequest:
    return ReviewRequest(
        reference=row["reference"],
        created_at=datetime.fromisoformat(row["created_at"]),
        draft=DraftInput(
            text=row["draft"],
            target=row["target"],
            contains_learner_images=_flag(row["learner_images"]),
            permission_checked=_flag(row["permission_checked"]),
        ),
        findings=[Finding.model_validate(f) for f in json.loads(row["findings"])],
        requester=Actor(
            platform=row["requester_platform"], user_id=row["requester_id"], name=row["requester_name"] or ""
        ),
        status=row["status"],
        decided_by=row["decided_by"] or "",
        decided_at=datetime.fromisoformat(row["decided_at"]) if row["decided_at"] else None,
        comment=row["comment"] or "",
    )


class ReviewDB:
    """The SQLite implementation of `handlers.second_opinion.ReviewBook`."""

    def __init__(
        self,
        store: Store,
        channel: Destination,
        outbox_worker: Outbox | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.store = store
        self.channel = channel
        self.outbox = outbox_worker
        self.clock = clock
        store.migrate([audit.migrations, outbox.migrations, migrations])

    @property
    def db(self) -> Database:
        return self.store.db

    @contextmanager
    def _writing(self) -> Iterator[Database]:
        """One immediate transaction; any SQLite failure becomes NotStored (nothing was written)."""
        try:
            with self.store.immediate() as db:
                yield db
        except sqlite3.Error as exc:
            raise NotStored(f"{self.store.path}: {exc}") from exc
        if self.outbox is not None:
            self.outbox.notify()

    # -- writes ---------------------------------------------------------------------------

    def create(
        self,
        draft: DraftInput,
        findings: list[Finding],
        requester: Actor,
        dedupe_key: str,
        announce: Callable[[ReviewRequest], list[Notice]],
    ) -> tuple[ReviewRequest, bool]:
        now = self.clock()
        with self._writing() as db:
            existing = list(db.query("select * from review_requests where dedupe_key = ?", [dedupe_key]))
            if existing:
                return from_row(existing[0]), False
            seq = db.execute(
                "insert into review_counters (year, last) values (?, 1) "
                "on conflict(year) do update set last = last + 1 returning last",
                [now.year],
            ).fetchone()[0]
            request = ReviewRequest(
                reference=f"SO-{now.year}-{seq:04d}",
                created_at=now.replace(microsecond=0),
                draft=draft,
                findings=findings,
                requester=requester,
            )
            db["review_requests"].insert({**to_row(request), "year": now.year, "seq": seq, "dedupe_key": dedupe_key})
            audit.record(
                db, subject=request.reference, action="requested", actor=requester, at=iso(now),
                detail=f"{len(findings)} finding(s)",
            )  # fmt: skip
            self._enqueue(db, request, announce(request))
        return request, True

    def decide(self, after: ReviewRequest, event: Event, notices: list[Notice]) -> bool:
        with self._writing() as db:
            cursor = db.execute(
                "update review_requests set status = ?, decided_by = ?, decided_at = ?, comment = ? "
                "where reference = ? and status = 'pending'",
                [after.status, after.decided_by, iso(after.decided_at or self.clock()), after.comment, after.reference],
            )
            if cursor.rowcount != 1:
                return False
            audit.record(db, subject=after.reference, action=event.action, actor=event.actor,
                         at=iso(self.clock()), detail=event.detail)  # fmt: skip
            self._enqueue(db, after, notices)
        return True

    def log(self, reference: str, event: Event) -> None:
        with self._writing() as db:
            audit.record(db, subject=reference, action=event.action, actor=event.actor,
                         at=iso(self.clock()), detail=event.detail)  # fmt: skip

    def remember_suggestion(self, channel: str, message_id: str) -> bool:
        with self._writing() as db:
            cursor = db.execute(
                "insert into draft_suggestions (channel, message_id, suggested_at) values (?, ?, ?) "
                "on conflict do nothing",
                [channel, message_id, iso(self.clock())],
            )
            return cursor.rowcount == 1

    def _enqueue(self, db: Database, request: ReviewRequest, notices: list[Notice]) -> None:
        now = self.clock().timestamp()
        for notice in notices:
            for platform, message, after in self._addressed(db, request, notice):
                outbox.enqueue(db, platform, message, subject=request.reference, after=after, now=now)

    def _addressed(
        self, db: Database, request: ReviewRequest, notice: Notice
    ) -> list[tuple[str, OutboundMessage, int | None]]:
        """(platform, message, job it waits for) for each recipient of a notice."""
        if notice.to == "reporter":
            who = request.requester
            return [(who.platform, OutboundMessage(kind="direct", destination=who.user_id, reply=notice.reply), None)]
        if notice.kind == "post":
            target = CONSOLE_SLT if request.requester.platform == "console" else self.channel
            return [(target.platform, OutboundMessage(kind="post", destination=target.id, reply=notice.reply), None)]
        return [
            (post["platform"], OutboundMessage(kind=notice.kind, destination=post["destination"], reply=notice.reply),
             post["id"])  # fmt: skip
            for post in outbox.threads(db, request.reference, notice.delivered_only)
        ]

    # -- reads ----------------------------------------------------------------------------

    def get(self, reference: str) -> ReviewRequest | None:
        rows = list(self.db.query("select * from review_requests where reference = ?", [reference.strip().upper()]))
        return from_row(rows[0]) if rows else None

    def history(self, reference: str) -> list[dict]:
        return audit.chronology(self.db, reference)

    def requested_by(self, requester: Actor) -> list[ReviewRequest]:
        """The requester's own requests, newest first (for App Home)."""
        rows = self.db.query(
            "select * from review_requests where requester_platform = ? and requester_id = ? "
            "order by year desc, seq desc",
            [requester.platform, requester.user_id],
        )
        return [from_row(row) for row in rows]

    def pending(self) -> list[tuple[ReviewRequest, datetime | None]]:
        """Undecided requests, oldest first, with when each was last reminded about."""
        rows = self.db.query("select * from review_requests where status = 'pending' order by year, seq")
        return [
            (from_row(row), datetime.fromisoformat(row["last_reminder_at"]) if row["last_reminder_at"] else None)
            for row in rows
        ]

    # -- reminders ------------------------------------------------------------------------

    def due_reminders(self, now: datetime, hours: float) -> list[tuple[ReviewRequest, datetime | None]]:
        """Pending requests whose last reminder (or creation) is `hours` working hours before `now`."""
        return [
            (request, reminded)
            for request, reminded in self.pending()
            if working_hours_between(reminded or request.created_at, now, SCHOOL_TZ) >= hours
        ]

    def remind(self, hours: float) -> list[str]:
        """Queue a reminder in the thread of every request due one whose approvals post has been
        delivered; returns their references.

        Safe to call on every outbox pass: the reminder time is compare-and-set, so two
        workers never remind twice for the same interval.
        """
        now = self.clock()
        reminded = []
        for request, last in self.due_reminders(now, hours):
            reply = Reply(kind="info", text=messages.review_reminder(request.reference, hours))
            if not outbox.threads(self.db, request.reference, delivered_only=True):
                continue  # nothing in the approvals channel to remind about yet
            with self._writing() as db:
                cursor = db.execute(
                    "update review_requests set last_reminder_at = ? where reference = ? and status = 'pending' "
                    "and last_reminder_at is ?",
                    [iso(now), request.reference, iso(last) if last else None],
                )
                if cursor.rowcount != 1:
                    continue
                audit.record(db, subject=request.reference, action="reminded", actor="reminders", at=iso(now),
                             detail=f"undecided after {hours:g} working hours")  # fmt: skip
                self._enqueue(db, request, [Notice(kind="reply", to="slt", reply=reply, delivered_only=True)])
            reminded.append(request.reference)
        return reminded
