"""Who counts as senior leadership (SLT): the only people who see and act on reports."""

from __future__ import annotations

from collections.abc import Callable

from handlers.models import Actor

from bot.config import Settings


class SltRoster:
    """SLT membership from settings, plus an optional platform lookup (e.g. a Slack user group).

    `extra` is a callable returning the current member ids for a platform, consulted when
    the static lists do not name the person; platforms register it at startup.
    """

    def __init__(self, settings: Settings) -> None:
        self.static = {"slack": set(settings.slt_users), "teams": set(settings.teams_slt_users), "console": set()}
        self.extra: dict[str, Callable[[], set[str]]] = {}

    def grant(self, actor: Actor) -> None:
        """Count `actor` as SLT for this process (e.g. the console user with `chat --slt`)."""
        self.static.setdefault(actor.platform, set()).add(actor.user_id)

    def is_slt(self, actor: Actor) -> bool:
        if actor.user_id in self.static.get(actor.platform, set()):
            return True
        lookup = self.extra.get(actor.platform)
        return bool(lookup and actor.user_id in lookup())
