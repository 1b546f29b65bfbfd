"""What the Teams adapter remembers in SQLite: where it can post, what it has seen, drafts it checked.

- Conversations: the bot can only message a channel or a person proactively with a
  conversation reference it was given (installation, or being addressed there), so every
  incoming activity records its conversation's service URL, team and channel names, and
  for 1:1 chats the person's AAD object id (written when they change: `updated_at` is
  when a row last changed). `staffbot teams channels` lists them.
- Seen activities: Teams re-sends an activity when the bot is slow (>15 s); for SLT card
  buttons and the message action (invokes) the first insert of its id wins, later copies
  are ignored, also after a restart (a note added twice would be two notes). Messages,
  typed or form submissions, are checked in memory only: their handlers are idempotent
  (a form's nonce, a vote's upsert), so a copy after a restart costs at most a repeated
  reply, where a record would cost every message a disk sync. Ids older than SEEN_DAYS are pruned:
  Teams never re-sends that late, so the table stays small.
- Checked drafts: the "Send to SLT" button of a second-opinion check carries a nonce;
  the draft it refers to stays here rather than in the card (a 40,000-character draft
  would exceed the card size limit). Drafts not sent within DRAFT_DAYS are deleted: a
  draft may name learners, and an old check is stale anyway.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from knowledge.review.models import DraftInput

from bot import audit
from bot.store import Store

migrations = Migrations("staffbot.teams")

SEEN_DAYS = 2
DRAFT_DAYS = 7
PRUNE_EVERY_SECONDS = 3600.0


@migrations()
def create_teams_tables(db: Database) -> None:
    db["teams_conversations"].create(
        {
            "id": str,
            "kind": str,
            "service_url": str,
            "tenant_id": str,
            "bot_id": str,
            "team_id": str,
            "team_name": str,
            "channel_name": str,
            "user_aad": str,
            "user_id": str,
            "user_name": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"kind", "service_url", "updated_at"},
    )
    db["teams_conversations"].create_index(["user_aad"])
    db["teams_seen"].create({"id": str, "received_at": str}, pk="id")
    db["teams_drafts"].create({"nonce": str, "user_aad": str, "draft": str, "created_at": str}, pk="nonce")


@migrations()
def index_seen_by_age(db: Database) -> None:
    db["teams_seen"].create_index(["received_at"])
    db["teams_drafts"].create_index(["created_at"])


def now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")


def base_conversation(conversation_id: str) -> str:
    """'19:abc@thread.tacv2;messageid=17' -> '19:abc@thread.tacv2' (the channel itself)."""
    return conversation_id.split(";", 1)[0]


class TeamsDirectory:
    """Conversation references, seen activity ids and checked drafts, in the bot's database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate([audit.migrations, migrations])
        self.pruned_at: float | None = None
        self.written: dict[str, dict] = {}  # conversation rows as this process last wrote them

    @property
    def db(self) -> Database:
        return self.store.db

    def first_time(self, key: str) -> bool:
        """True the first time an activity key is seen, False for a re-sent copy."""
        cursor = self.db.execute(
            "insert into teams_seen (id, received_at) values (?, ?) on conflict(id) do nothing", [key, now_iso()]
        )
        return cursor.rowcount == 1

    def forget(self, key: str) -> None:
        """Count the activity `key` as never seen (its handling failed, so a re-sent copy is welcome)."""
        self.db.execute("delete from teams_seen where id = ?", [key])

    def admit(self, rows: list[dict], key: str | None) -> bool:
        """Remember an activity's conversations and, when it has a `key`, whether it is the first copy
        (False for a re-sent one), in one transaction. Rows this process already wrote unchanged
        are skipped, so a message from someone known, without a key, writes nothing at all."""
        changed = [row for row in rows if self.written.get(row["id"]) != row]
        if not changed and key is None:
            return True
        with self.store.immediate():  # queued with the process's other writers, not on SQLite's busy sleeps
            for row in changed:
                if row["kind"] != "user" or self.personal(row["user_aad"]) is None:
                    self.remember(row)
            first = key is None or self.first_time(key)
        self.written.update((row["id"], row) for row in changed)
        return first

    def remember(self, row: dict) -> None:
        """Upsert one conversation in one statement; empty values never overwrite known names."""
        columns = [c for c in row if c != "id"] + ["updated_at"]
        values = {**row, "updated_at": now_iso()}
        updates = ", ".join(f"{c} = coalesce(nullif(excluded.{c}, ''), {c})" for c in columns)
        self.db.execute(
            f"insert into teams_conversations (id, {', '.join(columns)}) "
            f"values (:id, {', '.join(':' + c for c in columns)}) on conflict(id) do update set {updates}",
            values,
        )

    def conversation(self, conversation_id: str) -> dict | None:
        rows = list(self.db.query("select * from teams_conversations where id = ?", [conversation_id]))
        return rows[0] if rows else None

    def personal(self, user_aad: str) -> dict | None:
        """The person's 1:1 chat with the bot, or (kind 'user') what is known about them from channels."""
        rows = list(
            self.db.query(
                "select * from teams_conversations where user_aad = ? order by kind = 'personal' desc, updated_at desc",
                [user_aad],
            )
        )
        return rows[0] if rows else None

    def any_service_url(self, tenant_id: str = "") -> str | None:
        """The newest service URL seen (for this tenant when given): where to create a conversation."""
        rows = list(
            self.db.query(
                "select service_url from teams_conversations where (? = '' or tenant_id = ?) "
                "order by updated_at desc limit 1",
                [tenant_id, tenant_id],
            )
        )
        return rows[0]["service_url"] if rows else None

    def channels(self) -> list[dict]:
        """Known channels, for `staffbot teams channels` and routing configuration."""
        return list(
            self.db.query(
                "select id, team_name, channel_name, updated_at from teams_conversations "
                "where kind = 'channel' order by team_name, channel_name, id"
            )
        )

    def keep_draft(self, nonce: str, user_aad: str, draft: DraftInput) -> None:
        """Keep a draft for this person under `nonce`: a checked form's nonce, or the id of a
        drafting-channel post the bot nudged about."""
        self.db["teams_drafts"].upsert(
            {"nonce": nonce, "user_aad": user_aad, "draft": draft.model_dump_json(), "created_at": now_iso()},
            pk="nonce",
        )

    def draft(self, nonce: str, user_aad: str) -> DraftInput | None:
        """The draft kept for this person under `nonce` (never someone else's)."""
        rows = list(self.db.query("select draft from teams_drafts where nonce = ? and user_aad = ?", [nonce, user_aad]))
        return DraftInput.model_validate_json(rows[0]["draft"]) if rows else None

    def refused(self, tenant_id: str, user_aad: str, detail: str) -> None:
        """Audit an activity refused for coming from another tenant."""
        with self.db.atomic():
            audit.record(self.db, subject=f"teams:tenant:{tenant_id or '-'}", action="refused",
                         actor=f"teams:{user_aad or '-'}", at=now_iso(), detail=detail)

    def prune(self, now: datetime | None = None) -> tuple[int, int]:
        """Forget activity ids older than SEEN_DAYS and unsent checked drafts older than DRAFT_DAYS;
        returns how many of each went."""
        now = now or datetime.now(timezone.utc)
        with self.db.atomic():
            seen = self.db.execute("delete from teams_seen where received_at < ?",
                                   [now_iso(now - timedelta(days=SEEN_DAYS))]).rowcount
            drafts = self.db.execute("delete from teams_drafts where created_at < ?",
                                     [now_iso(now - timedelta(days=DRAFT_DAYS))]).rowcount
        return seen, drafts

    def prune_now_and_then(self) -> None:
        """`prune()` at most once every PRUNE_EVERY_SECONDS: run on every pass of the outbox worker."""
        clock = time.monotonic()
        if self.pruned_at is not None and clock - self.pruned_at < PRUNE_EVERY_SECONDS:
            return
        self.pruned_at = clock
        self.prune()
