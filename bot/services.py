"""The composition root: every command, platform and test builds its services here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from bot.config import ConfigError, Settings
from bot.questions import QuestionLogDB
from bot.store import Store

if TYPE_CHECKING:
    from handlers.incident_models import Incident
    from handlers.models import Reply
    from handlers.second_opinion import ReviewRequest
    from knowledge import KnowledgeBase
    from knowledge.review import Cite, Reviewer

    from bot.incidents import IncidentDB
    from bot.outbox import Outbox
    from bot.reviews import ReviewDB
    from bot.roles import SltRoster
    from bot.routing import Destination, Routing

log = logging.getLogger(__name__)
T = TypeVar("T")


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

        worker = Outbox(self.store, current_post=self.current_post, channels=self.channels)
        hours = self.settings.reminder_hours
        worker.periodic.append(unless_unconfigured(lambda: Reminders(self.incidents, hours).run()))
        worker.periodic.append(unless_unconfigured(lambda: self.reviews.remind(hours)))
        return worker

    @cached_property
    def incidents(self) -> IncidentDB:
        from bot.incidents import IncidentDB

        return IncidentDB(self.store, self.routing, self.outbox)

    @cached_property
    def reviewer(self) -> Reviewer:
        """The draft checker; the do-not-publish list's path and contents are never logged."""
        return load_reviewer(self.settings, cite=self.kb.find_passage)

    @cached_property
    def reviews(self) -> ReviewDB:
        from bot.reviews import ReviewDB, approvals_channel

        return ReviewDB(self.store, approvals_channel(self.settings), self.outbox)

    def current_post(self, subject: str) -> Reply | None:
        """The SLT post of incident or second-opinion request `subject` as the record is now (None for
        another subject): the outbox sends this for the record's post and its updates rather than what
        was queued, so a post sent late or again ("Try again") never shows a state the record has left
        (unless this fails: see `Outbox._current`)."""
        from handlers import report, second_opinion
        from handlers.incident_models import Incident

        record = self._record(subject)
        if isinstance(record, Incident):
            return report.slt_post(record, report.utcnow())
        return second_opinion.slt_post(record, report.utcnow()) if record is not None else None

    def channels(self, subject: str) -> list[Destination] | None:
        """Where the SLT post of incident or second-opinion request `subject` goes by the settings
        now (None for another subject, or a terminal trial): "Try again" after a channel id was
        corrected posts there rather than to the old id."""
        from handlers.incident_models import Incident

        record = self._record(subject)
        if isinstance(record, Incident):
            return None if record.reporter.platform == "console" else self.routing.destinations(record.category)
        if record is not None:
            return None if record.requester.platform == "console" else [self.reviews.channel]
        return None

    def _record(self, subject: str) -> Incident | ReviewRequest | None:
        """The incident or second-opinion request with reference `subject`, while they are set up."""
        incidents = configured(lambda: self.incidents)
        if incidents is not None and (incident := incidents.get(subject)) is not None:
            return incident
        reviews = configured(lambda: self.reviews)
        return reviews.get(subject) if reviews is not None else None

    def notify_owner(self, question_id: int, notice: Reply) -> None:
        """Queue the policy owner's notice (durably, through the outbox) for the routing `default`: the
        routing file's `default` list, else STAFFBOT_SLT_CHANNEL, where reports without a route of their
        own go, on whichever platform the question was asked. With neither set, or a routing file that
        cannot be read, only a warning: the question is still marked passed on and listed by
        `staffbot unanswered`."""
        from bot.delivery import OutboundMessage

        try:
            destinations = self.routing.default
        except ConfigError as exc:
            log.warning("question %s passed to the policy owner, but there is nowhere to post it: %s", question_id, exc)
            return
        if not destinations:  # a routing file that names every category but no default, and no SLT channel
            log.warning("question %s passed to the policy owner, but neither the routing file's default "
                        "nor STAFFBOT_SLT_CHANNEL says where to post it", question_id)
        for target in destinations:
            message = OutboundMessage(kind="post", destination=target.id, reply=notice)
            self.outbox.enqueue(target.platform, message, subject=f"question-{question_id}")

    def suggest_second_opinion(self, channel: str, message_id: str, text: str,
                               drafting: Collection[str]) -> Reply | None:
        """The nudge for a post in a drafting channel, if the reviewer flags it (once per post);
        None, with a warning in the log, while second opinions are not set up."""
        from handlers.second_opinion import suggest_for_message

        try:
            reviewer, book = self.reviewer, self.reviews
        except ConfigError as exc:
            log.warning("drafting channels are on, but second opinions are not set up: %s", exc)
            return None
        return suggest_for_message(channel, message_id, text, reviewer, book, drafting)

    def close(self) -> None:
        if "outbox" in self.__dict__:
            self.outbox.stop()
        self.store.close()


def configured(build: Callable[[], T]) -> T | None:
    """A service that needs settings (reports, second opinions), or None when they are not set up."""
    try:
        return build()
    except ConfigError:
        return None


def unless_unconfigured(task: Callable[[], object]) -> Callable[[], None]:
    """`task`, skipped while reports or second opinions are not set up (the serve commands warn once,
    rather than the outbox worker logging a traceback on every pass)."""

    def run() -> None:
        with suppress(ConfigError):
            task()

    return run


def load_knowledge(settings: Settings) -> KnowledgeBase:
    """Build the knowledge base, failing with one clear line naming the setting at fault."""
    from knowledge import KnowledgeBase
    from knowledge.vocabulary import Vocabulary

    from bot.index_cache import IndexCache

    try:
        vocabulary = Vocabulary.load(settings.vocabulary_path)
    except OSError as exc:
        raise ConfigError(f"STAFFBOT_VOCABULARY: cannot read {settings.vocabulary_path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"STAFFBOT_VOCABULARY: {exc}") from None
    try:
        return KnowledgeBase.from_folder(settings.policies_dir, vocabulary, IndexCache(settings.cache_dir))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"STAFFBOT_POLICIES: {exc}") from exc


def load_reviewer(settings: Settings, cite: Cite | None = None) -> Reviewer:
    """Build the draft reviewer, failing with one clear line; the do-not-publish list is never named.

    The rules folder's verdict_model.json, when there, makes the learned verdict from the
    draft's wording and the cues found."""
    from knowledge.review import Reviewer
    from knowledge.review.model import MODEL_FILE

    secret = settings.do_not_publish_path
    model = settings.review_rules_dir / MODEL_FILE
    try:
        return Reviewer.from_folder(settings.review_rules_dir, secret, cite, model if model.exists() else None)
    except OSError as exc:
        if secret is not None and exc.filename == str(secret):
            reason = f"the do-not-publish list can't be read ({exc.strerror})"
            raise ConfigError(f"STAFFBOT_DO_NOT_PUBLISH: {reason}") from None
        raise ConfigError(f"STAFFBOT_REVIEW_RULES: cannot read {exc.filename}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError("STAFFBOT_DO_NOT_PUBLISH: the do-not-publish list is not UTF-8 text") from None
    except ValueError as exc:  # RulesError
        raise ConfigError(f"STAFFBOT_REVIEW_RULES: {exc}") from None
