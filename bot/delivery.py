"""What the outbox hands to a chat platform, and how a platform says it failed.

Each platform (Slack, Teams, console) implements `Transport`; the outbox worker stores
`OutboundMessage`s in SQLite before anything is sent and retries them until delivered,
so a report is never lost to a 5xx, a 429 or a restart.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from handlers.models import Reply

MessageKind = Literal["post", "reply", "update", "direct"]


class OutboundMessage(BaseModel):
    """One message to deliver.

    - post: a new message in channel `destination`
    - reply: a reply in the thread of message `thread` in channel `destination`
    - update: replace message `message` in channel `destination`
    - direct: a 1:1 message to user `destination`
    Ids are the platform's own, without a "slack:" / "teams:" prefix.
    """

    model_config = ConfigDict(frozen=True)

    kind: MessageKind
    destination: str
    reply: Reply
    thread: str | None = None
    message: str | None = None


class DeliveryError(Exception):
    """Sending failed. `retry_after` (seconds) when the platform said when; `permanent` when retrying is pointless."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent


class Transport(Protocol):
    """A chat platform's way of sending `OutboundMessage`s."""

    platform: str

    def send(self, message: OutboundMessage) -> str:
        """Deliver and return the platform's id of the new or updated message; raise DeliveryError."""
        ...
