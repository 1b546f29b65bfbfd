"""Sending to Teams: Bot Connector clients, proactive posts, and the outbox transport.

The bot can only message a channel or a person with a conversation reference it was
given (`bot/teams_store.py`). `Connector` turns the outbox's neutral messages into Bot
Connector calls: a new thread in a channel, a reply in it, an in-place update, a 1:1
chat (created when needed). `TeamsTransport` is the outbox's blocking face of it,
scheduled onto the server's event loop; `delivery_error` maps Teams' answers to retry
decisions (429 waits for Retry-After, 412/5xx retry, other 4xx are final).

botbuilder's connector clients send with `requests` on the event loop's default thread
pool, one blocked thread per call; `ReusedClients` gives each service URL one client that
sends on the loop with aiohttp instead, so replies never queue behind the thread pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
from typing import Any

import aiohttp
from botbuilder.core import CardFactory
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationParameters
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import AuthenticationConstants, ConnectorFactory
from msrest.exceptions import ClientRequestError, HttpOperationError
from msrest.pipeline import AsyncHTTPPolicy, AsyncPipeline, Request, Response
from msrest.pipeline.aiohttp import AioHTTPSender
from msrest.pipeline.universal import RawDeserializer
from msrest.serialization import Serializer
from msrest.universal_http import ClientRequest
from msrest.universal_http.aiohttp import AioHTTPSender as AioHTTPDriver
from msrest.universal_http.aiohttp import AioHttpClientResponse

from bot import teams_cards as cards
from bot.delivery import DeliveryError, OutboundMessage
from bot.store import StoreError
from bot.teams_store import TeamsDirectory, base_conversation

log = logging.getLogger(__name__)

SEND_TIMEOUT = 30.0
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 413})
# What a connector call can raise: Teams' error answers, and a connection that failed or timed out.
SEND_ERRORS = (HttpOperationError, ClientRequestError, aiohttp.ClientError, asyncio.TimeoutError, OSError)


def message_activity(content: cards.Card) -> Activity:
    """A message carrying one Adaptive Card (everything the bot says is a card)."""
    return Activity(type=ActivityTypes.message, attachments=[CardFactory.adaptive_card(content)])


class AiohttpDriver(AioHTTPDriver):
    """Sends a connector request with a shared aiohttp session (msrest's own aiohttp driver drops the
    request's headers and body)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> None:
        """The session belongs to `ReusedClients`, which closes it."""

    async def __aexit__(self, *exc_details: Any) -> None:
        """See `__aenter__`."""

    async def send(self, request: ClientRequest, **config: Any) -> AioHttpClientResponse:
        raw = await self.session.request(request.method, request.url, headers=dict(request.headers), data=request.data)
        response = AioHttpClientResponse(request, raw)
        await response.load_body()
        return response


class BearerToken(AsyncHTTPPolicy):
    """Signs each request with the bot's token; MSAL caches it, but a refresh is a blocking HTTP call,
    so it is fetched off the event loop. No App ID (local no-auth mode): no token."""

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self.credentials = credentials

    async def send(self, request: Request, **kwargs: Any) -> Response:
        app_id = getattr(self.credentials, "microsoft_app_id", None)
        if app_id and app_id != AuthenticationConstants.ANONYMOUS_SKILL_APP_ID:
            token = await asyncio.to_thread(self.credentials.get_access_token)
            request.http_request.headers["Authorization"] = f"Bearer {token}"
        return await self.next.send(request, **kwargs)


JSON_SCALARS = (str, int, float, bool, type(None))


def plain_json(value: Any) -> bool:
    """True for dicts and lists of strings, numbers, booleans and None (an Adaptive Card's content)."""
    if type(value) is dict:
        return all(type(key) is str and plain_json(item) for key, item in value.items())
    if type(value) is list:
        return all(plain_json(item) for item in value)
    return type(value) in JSON_SCALARS


class PlainJsonSerializer(Serializer):
    """msrest's serializer, passing plain JSON through as it is: msrest rebuilds an Adaptive Card
    string by string, a quarter of the bot's CPU per answer."""

    def serialize_object(self, attr: Any, **kwargs: Any) -> Any:
        if type(attr) in (dict, list) and plain_json(attr):
            return attr
        return super().serialize_object(attr, **kwargs)


class ReusedClients(ConnectorFactory):
    """One connector client per service URL, sending on the event loop with aiohttp.

    botbuilder builds a fresh msrest client on every turn (~3 ms of CPU) whose calls each
    hold a thread of the loop's default pool, and serializes cards slowly; under a burst
    of 50 activities all three made requests queue for a quarter of a second.
    """

    def __init__(self) -> None:
        self.inner: ConnectorFactory | None = None
        self.clients: dict[tuple[str, str | None], ConnectorClient] = {}
        self.session: aiohttp.ClientSession | None = None

    def wrap(self, factory: ConnectorFactory) -> ConnectorFactory:
        """Use `factory` (the bot's own credentials) to make clients that are then reused."""
        self.inner = self.inner or factory
        return self

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        assert self.inner is not None, "wrap() a connector factory first"
        key = (service_url, audience)
        if key not in self.clients:
            client = await self.inner.create(service_url, audience)
            if self.session is None:
                self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT))
            config = client.config
            policies = [config.user_agent_policy, BearerToken(config.credentials), RawDeserializer(),
                        config.http_logger_policy]
            config.pipeline = AsyncPipeline(policies, AioHTTPSender(AiohttpDriver(self.session)))
            operations = client.conversations
            operations._serialize = PlainJsonSerializer(operations._serialize.dependencies)
            self.clients[key] = client
        return self.clients[key]

    async def close(self) -> None:
        self.clients.clear()
        if self.session is not None:
            await self.session.close()
            self.session = None


class Connector:
    """Proactive sends through the Bot Connector: new channel threads, thread replies, updates, 1:1 chats."""

    def __init__(self, clients: ReusedClients, app_id: str, directory: TeamsDirectory, tenant_id: str) -> None:
        self.clients = clients
        self.app_id = app_id
        self.directory = directory
        self.tenant_id = tenant_id

    async def client(self, service_url: str) -> ConnectorClient:
        return await self.clients.create(service_url, None)

    def _known(self, conversation_id: str) -> dict:
        row = self.directory.conversation(base_conversation(conversation_id))
        if row is None:
            raise LookupError(f"the bot has not been added to Teams conversation {base_conversation(conversation_id)}")
        return row

    async def post_in(self, conversation_id: str, activity: Activity) -> str:
        """Post into a known conversation (a channel thread when the id carries ;messageid=)."""
        client = await self.client(self._known(conversation_id)["service_url"])
        response = await client.conversations.send_to_conversation(conversation_id, activity)
        return response.id if response and response.id else ""

    async def update(self, conversation_id: str, activity_id: str, activity: Activity) -> str:
        client = await self.client(self._known(conversation_id)["service_url"])
        activity.id = activity_id
        await client.conversations.update_activity(conversation_id, activity_id, activity)
        return activity_id

    async def new_thread(self, channel_id: str, activity: Activity) -> str:
        """Start a thread in a channel; returns the root message id (threads are '<channel>;messageid=<id>')."""
        row = self._known(channel_id)
        client = await self.client(row["service_url"])
        parameters = ConversationParameters(
            is_group=True,
            bot=ChannelAccount(id=row["bot_id"] or self.app_id),
            channel_data={"channel": {"id": channel_id}, "tenant": {"id": row["tenant_id"] or self.tenant_id}},
            activity=activity,
            tenant_id=row["tenant_id"] or self.tenant_id,
        )
        result = await client.conversations.create_conversation(parameters)
        return result.activity_id or result.id.partition(";messageid=")[2] or result.id

    async def direct(self, user: str, activity: Activity) -> str:
        """Message a person 1:1 by AAD object id, creating the chat when the bot has none with them."""
        row = self.directory.personal(user)
        if row is None:
            raise LookupError(f"the bot has never seen Teams user {user}, so it cannot message them")
        if row["kind"] != "personal":
            row = await self._open_chat(row, user)
        client = await self.client(row["service_url"])
        response = await client.conversations.send_to_conversation(row["id"], activity)
        return response.id if response and response.id else ""

    async def _open_chat(self, known: dict, user: str) -> dict:
        """Create the 1:1 chat and remember it, best effort: the chat is open either way, so a failed
        write (a busy database) costs only creating it again next time, never this message."""
        tenant = known["tenant_id"] or self.tenant_id
        client = await self.client(known["service_url"])
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=known["bot_id"] or self.app_id),
            members=[ChannelAccount(id=known["user_id"] or user, aad_object_id=user)],
            channel_data={"tenant": {"id": tenant}},
            tenant_id=tenant,
        )
        result = await client.conversations.create_conversation(parameters)
        row = {**known, "id": result.id, "kind": "personal"}
        try:
            await asyncio.to_thread(self.directory.remember, row)
        except (sqlite3.Error, StoreError) as exc:
            log.warning("opened a 1:1 chat with %s but could not remember it: %s", user, exc)
        return row

    async def deliver(self, message: OutboundMessage) -> str:
        """One outbox message; destinations are Teams ids without the 'teams:' prefix."""
        activity = message_activity(cards.reply_card(message.reply))
        if message.kind == "post":
            return await self.new_thread(message.destination, activity)
        if message.kind == "reply":
            assert message.thread, "a reply needs the thread's root message id"
            return await self.post_in(f"{message.destination};messageid={message.thread}", activity)
        if message.kind == "update":
            assert message.message, "an update needs the message id"
            return await self.update(f"{message.destination};messageid={message.message}", message.message, activity)
        return await self.direct(message.destination, activity)


def delivery_error(exc: BaseException) -> DeliveryError:
    """Teams' answers as the outbox understands them: 429 waits, 5xx/412 retry, 4xx are final."""
    if isinstance(exc, HttpOperationError):
        response = exc.response
        status = getattr(response, "status_code", None) or getattr(response, "status", None) or 0
        headers = getattr(response, "headers", {}) or {}
        if status == 429:
            try:
                wait = float(headers.get("Retry-After", ""))
            except ValueError:
                wait = None
            return DeliveryError("Teams rate limit (429)", retry_after=wait)
        return DeliveryError(f"Teams answered {status}", permanent=status in PERMANENT_STATUSES)
    return DeliveryError(f"Teams unreachable: {exc!r}")


class TeamsTransport:
    """The outbox's Teams `Transport`: a blocking `send()` run on the server's event loop."""

    platform = "teams"

    def __init__(self, connector: Connector, timeout: float = SEND_TIMEOUT) -> None:
        self.connector = connector
        self.timeout = timeout
        self.loop: asyncio.AbstractEventLoop | None = None

    def send(self, message: OutboundMessage) -> str:
        loop = self.loop
        if loop is None or not loop.is_running():
            raise DeliveryError("the Teams server is not running")
        future = asyncio.run_coroutine_threadsafe(self.connector.deliver(message), loop)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeliveryError("Teams did not answer in time") from None
        except SEND_ERRORS as exc:
            raise delivery_error(exc) from exc
        except LookupError as exc:
            raise DeliveryError(str(exc)) from exc
