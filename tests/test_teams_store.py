"""What the Teams adapter keeps in SQLite: seen activity ids and checked drafts are pruned, conversations stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import teams_store
from bot.config import load_settings
from bot.services import Services
from bot.teams_store import TeamsDirectory, now_iso
from knowledge.review.models import DraftInput

NOW = datetime(2026, 3, 11, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = Services(load_settings(STAFFBOT_DB=tmp_path / "staffbot.db"))
    yield built
    built.close()


@pytest.fixture
def directory(services: Services) -> TeamsDirectory:
    return TeamsDirectory(services.store)


def seen_at(directory: TeamsDirectory, key: str, when: datetime) -> None:
    directory.db["teams_seen"].insert({"id": key, "received_at": now_iso(when)})


def ids(directory: TeamsDirectory, table: str, column: str) -> set[str]:
    return {row[column] for row in directory.db.query(f"select {column} from {table}")}


def test_prune_forgets_old_activity_ids_and_stale_drafts_only(directory: TeamsDirectory) -> None:
    seen_at(directory, "old", NOW - timedelta(days=teams_store.SEEN_DAYS, minutes=1))
    seen_at(directory, "recent", NOW - timedelta(days=teams_store.SEEN_DAYS) + timedelta(minutes=1))
    draft = DraftInput(text="Well done Year 3!")
    directory.keep_draft("stale", "aad-teacher", draft)
    directory.keep_draft("fresh", "aad-teacher", draft)
    directory.db.execute("update teams_drafts set created_at = ? where nonce = 'stale'",
                         [now_iso(NOW - timedelta(days=teams_store.DRAFT_DAYS, minutes=1))])
    directory.db.execute("update teams_drafts set created_at = ? where nonce = 'fresh'", [now_iso(NOW)])
    directory.remember({"id": "19:slt@thread.tacv2", "kind": "channel", "service_url": "https://smba.example/"})

    assert directory.prune(NOW) == (1, 1)
    assert ids(directory, "teams_seen", "id") == {"recent"}
    assert ids(directory, "teams_drafts", "nonce") == {"fresh"}
    assert directory.conversation("19:slt@thread.tacv2") is not None  # never pruned: needed to post
    assert directory.prune(NOW) == (0, 0)


def test_a_pruned_id_no_longer_counts_as_seen(directory: TeamsDirectory) -> None:
    assert directory.first_time("19:a|1")
    assert not directory.first_time("19:a|1")
    directory.prune(datetime.now(timezone.utc) + timedelta(days=teams_store.SEEN_DAYS + 1))
    assert directory.first_time("19:a|1")


def test_pruning_now_and_then_runs_at_most_once_an_hour(directory: TeamsDirectory) -> None:
    long_ago = datetime.now(timezone.utc) - timedelta(days=30)
    seen_at(directory, "first", long_ago)
    directory.prune_now_and_then()
    assert ids(directory, "teams_seen", "id") == set()
    seen_at(directory, "second", long_ago)
    directory.prune_now_and_then()
    assert ids(directory, "teams_seen", "id") == {"second"}  # pruned a moment ago: not again yet
    directory.pruned_at -= teams_store.PRUNE_EVERY_SECONDS  # type: ignore[operator]
    directory.prune_now_and_then()
    assert ids(directory, "teams_seen", "id") == set()


def test_admit_remembers_the_conversation_and_says_whether_the_copy_is_first(directory: TeamsDirectory) -> None:
    rows = [{"id": "a:chat", "kind": "personal", "service_url": "https://smba.example/", "user_aad": "u1"}]
    assert directory.admit(rows, "a:chat|1")
    assert not directory.admit(rows, "a:chat|1")
    assert directory.admit(rows, None)  # conversation updates have no id to de-duplicate on
    assert directory.personal("u1")["id"] == "a:chat"
