"""The composition root: every command, platform and test builds its services here."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings
from bot.questions import QuestionLogDB
from bot.store import Store

if TYPE_CHECKING:
    from knowledge import KnowledgeBase

    from bot.incidents import IncidentDB
    from bot.outbox import Outbox
    from bot.roles import SltRoster
    from bot.routing import Routing


@dataclass
class Services:
    """Settings plus the long-lived objects built from them, created on first use."""

    settings: Settings
    store: Store = field(init=False)

    def __post_init__(self) -> None:
        self.store = Store(self.settings.db_path)

    @cached_property
    def kb(self) -> KnowledgeBase:
        return load_knowledge(self.settings)

    @cached_property
    def questions(self) -> QuestionLogDB:
        return QuestionLogDB(self.store)

    @cached_property
    def roster(self) -> SltRoster:
        from bot.roles import SltRoster

        return SltRoster(self.settings)

    @cached_property
    def routing(self) -> Routing:
        from bot.routing import Routing

        return Routing.load(self.settings)

    @cached_property
    def outbox(self) -> Outbox:
        """The delivery worker: platforms `register()` their Transport, then `start()` it."""
        from bot.outbox import Outbox
        from bot.reminders import Reminders

        worker = Outbox(self.store)
        worker.periodic.append(lambda: Reminders(self.incidents, self.settings.reminder_hours).run())
        return worker

    @cached_property
    def incidents(self) -> IncidentDB:
        from bot.incidents import IncidentDB

        return IncidentDB(self.store, self.routing, self.outbox)

    def close(self) -> None:
        if "outbox" in self.__dict__:
            self.outbox.stop()
        self.store.close()


def load_knowledge(settings: Settings) -> KnowledgeBase:
    """Build the knowledge base, failing with one clear line when no policy could be read."""
    from knowledge import KnowledgeBase

    vocabulary = settings.vocabulary_path if settings.vocabulary_path.exists() else None
    try:
        kb = KnowledgeBase.from_folder(settings.policies_dir, vocabulary_path=vocabulary)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"STAFFBOT_POLICIES: {exc}") from exc
    return kb
