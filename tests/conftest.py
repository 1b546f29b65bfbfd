"""Shared fixtures: a clean environment, settings pointing at a temporary database, the shipped knowledge base."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from db_lock import BUSY_SECONDS

import bot.services
from bot.config import Settings, load_settings
from bot.services import Services
from bot.store import Store
from knowledge import KnowledgeBase
from knowledge_fixtures import POLICIES

ENV_PREFIXES = ("STAFFBOT_", "SLACK_", "MICROSOFT_")


@pytest.fixture(scope="session")
def analysis_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of index analyses for the whole run, never the user's own cache."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, analysis_cache: Path) -> None:
    """No real token or local `.env` can leak into a test (as bolt's tests/utils.py does)."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("STAFFBOT_CACHE", str(analysis_cache))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def short_busy_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Services built after this give up on a locked database after BUSY_SECONDS instead of 5 s. It
    must come before the fixtures that build them (`services`, `teams`, `slack`): use
    `@pytest.mark.usefixtures("short_busy_wait")`, which pytest sets up before a test's arguments."""
    monkeypatch.setattr(bot.services, "Store", partial(Store, timeout=BUSY_SECONDS))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(STAFFBOT_DB=tmp_path / "staffbot.db", STAFFBOT_SLT_CHANNEL="CSLT")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = Services(settings)
    yield built
    built.close()


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The shipped policy and vocabulary, built once: answering questions does not change it."""
    return KnowledgeBase.from_folder(POLICIES)
