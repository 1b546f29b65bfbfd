"""Microsoft Teams: the Bot Framework endpoint `/api/messages`, composed by `build_teams_app`.

Everything that touches the (archived) Bot Framework SDK lives in `bot/teams*.py`, so
moving to the Microsoft 365 Agents SDK changes nothing else: this module (HTTP endpoint,
authentication), `teams_bot.py` (activities -> handlers), `teams_connector.py` (sending,
outbox transport), `teams_cards.py` (Adaptive Cards) and `teams_store.py` (what Teams
needs remembered). The handlers, store and outbox are the same as for Slack.

Safety: no App ID means no authentication, so the app refuses to start without one unless
STAFFBOT_TEAMS_NO_AUTH is set (for local tests). Authentication failures are 401, bad
bodies 400/415 (as is a message or click that names no sender), activities from another
tenant 403 (and audited); re-sent activities are ignored by id.

Speed: Teams expects an answer within 15 s and re-sends otherwise, and a burst of staff
questions must not queue. A typed message costs the request path only parsing,
authentication, the tenant check and an in-memory duplicate check; it is recorded and
answered after its 201. Card submissions and button clicks are recorded and handled
before the response, so a report is stored before Teams hears back; the card confirming
it replaces the form just after.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes
from msrest.exceptions import DeserializationError

from handlers import messages

from bot import teams_cards as cards
from bot.config import ConfigError, Settings
from bot.services import Services
from bot.store import StoreError
from bot.teams_bot import TeamsBot, invoke_error, message_response, nobody_sent, typed
from bot.teams_connector import SEND_TIMEOUT, Connector, ReusedClients, TeamsTransport, message_activity
from bot.teams_store import TeamsDirectory

log = logging.getLogger(__name__)

PENDING_TURNS = web.AppKey("teams_pending_turns", set)  # what runs after the 201: answers, confirmations
ANSWERING = 4  # typed messages answered at once
LULL = 0.01  # seconds without a new request before answers start...
PATIENCE = 1.0  # ...or this long after the message came in, whichever is first
APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI"}


def auth_config(settings: Settings) -> SimpleNamespace:
    """The attribute names ConfigurationBotFrameworkAuthentication reads (no App ID: anonymous, multi-tenant)."""
    return SimpleNamespace(
        APP_ID=settings.microsoft_app_id,
        APP_PASSWORD=settings.microsoft_app_password,
        APP_TYPE=APP_TYPES[settings.microsoft_app_type.lower()] if settings.microsoft_app_id else "MultiTenant",
        APP_TENANTID=settings.microsoft_app_tenant_id,
    )


def check_auth_settings(settings: Settings) -> None:
    """Refuse to run unauthenticated unless explicitly asked to, and credentials the Bot Framework
    would reject at the first message."""
    app_type = settings.microsoft_app_type.lower()
    if app_type not in APP_TYPES:
        raise ConfigError(f"MICROSOFT_APP_TYPE is {settings.microsoft_app_type!r}: use one of "
                          f"{', '.join(APP_TYPES.values())}.")
    if settings.microsoft_app_id:
        if app_type != "userassignedmsi":
            settings.require("MICROSOFT_APP_PASSWORD")
        if app_type != "multitenant" and not settings.microsoft_app_tenant_id:
            raise ConfigError(f"MICROSOFT_APP_TENANT_ID is not set: MICROSOFT_APP_TYPE={APP_TYPES[app_type]} needs it.")
        return
    if not settings.teams_no_auth:
        raise ConfigError(
            "MICROSOFT_APP_ID is not set: Teams requests could not be authenticated. "
            "Set it (and MICROSOFT_APP_PASSWORD), or STAFFBOT_TEAMS_NO_AUTH=1 for local testing only."
        )


class TeamsAuthentication(ConfigurationBotFrameworkAuthentication):
    """The configured authentication, with the (unused) user-token client built once rather than per turn."""

    _user_tokens: Any = None

    async def create_user_token_client(self, claims_identity: Any) -> Any:
        if self._user_tokens is None:
            self._user_tokens = await super().create_user_token_client(claims_identity)
        return self._user_tokens


# -- the HTTP endpoint --------------------------------------------------------------------


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _duplicate(activity: Activity) -> web.Response:
    """What a re-sent copy gets: success, and for a click the same "already done" Teams shows."""
    if activity.type == ActivityTypes.invoke:
        return web.json_response(message_response(messages.TEAMS_ALREADY_DONE))
    return web.Response(status=201)


class Backlog:
    """Typed messages waiting to be answered: Teams is owed its HTTP response first.

    An answer starts once no request has come in for LULL seconds (PATIENCE after its
    message at the latest, so a steady stream cannot starve answers), ANSWERING at a time,
    so a burst of requests is not kept waiting by the work its own messages caused.
    """

    def __init__(self) -> None:
        self.slots = asyncio.Semaphore(ANSWERING)
        self.last_request = 0.0

    def arrived(self) -> None:
        self.last_request = asyncio.get_running_loop().time()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE
        async with self.slots:
            while (wait := min(self.last_request + LULL, deadline) - loop.time()) > 0:
                await asyncio.sleep(wait)
            yield


def messages_endpoint(adapter: CloudAdapter, bot: TeamsBot, clients: ReusedClients,
                      background: set[asyncio.Task]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """POST /api/messages: authenticate, check the tenant and for copies, then run the turn (typed
    messages after the 201, see `Backlog`); every failure is a status, never a traceback."""
    backlog = Backlog()
    later = in_background(background)
    bot.after_response = later

    async def turn(auth: Any, activity: Activity) -> InvokeResponse | None:
        return await adapter.process_activity(auth, activity, bot.on_turn)

    async def answer_later(auth: Any, activity: Activity) -> None:
        async with backlog.turn():
            try:
                await asyncio.to_thread(bot.admit, activity)
            except (sqlite3.Error, StoreError):
                log.exception("could not record where Teams activity %s came from; answering it anyway", activity.id)
            await turn(auth, activity)

    async def handle(request: web.Request) -> web.Response:
        backlog.arrived()
        if request.content_type != "application/json":
            return _error(415, "expected Content-Type: application/json")
        try:
            body = json.loads(await request.read())
            if not isinstance(body, dict) or not isinstance(body.get("type"), str):
                raise ValueError("not an activity")
            activity = Activity().deserialize(body)
        except (ValueError, DeserializationError):
            return _error(400, "the body is not a Bot Framework activity in JSON")
        try:
            auth = await adapter.bot_framework_authentication.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except Exception as exc:  # PermissionError, jwt's DecodeError, unreachable key endpoint...
            log.warning("refused a Teams request: %s", type(exc).__name__)
            return _error(401, "unauthorized")
        if auth.connector_factory is not None:
            auth.connector_factory = clients.wrap(auth.connector_factory)
        if bot.other_tenant(activity):
            try:
                await asyncio.to_thread(bot.refuse, activity)
            except (sqlite3.Error, StoreError):
                log.exception("could not audit a Teams activity from another tenant")
            return _error(403, "this bot serves another tenant")
        if bot.overhears(activity):
            return web.Response(status=201)
        if nobody_sent(activity):
            log.warning("refused a Teams %s activity with no sender (from)", activity.type)
            if activity.type == ActivityTypes.invoke:
                refused = invoke_error("the activity has no sender (from)")
                return web.json_response(refused.body, status=refused.status)
            return _error(400, "the activity has no sender (from)")
        if not bot.first_here(activity):
            return _duplicate(activity)
        if typed(activity):
            later(answer_later(auth, activity))
            return web.Response(status=201)
        try:
            if not await asyncio.to_thread(bot.admit, activity):
                return _duplicate(activity)
            invoke = await turn(auth, activity)
        except Exception:
            log.exception("Teams turn failed")
            with suppress(sqlite3.Error, StoreError):
                await bot.forget(activity)
            return _error(500, "internal error")
        if invoke is not None:
            return web.json_response(invoke.body, status=invoke.status)
        return web.Response(status=201)

    return handle


def in_background(background: set[asyncio.Task]) -> Callable[[Coroutine[Any, Any, None]], None]:
    """Run coroutines after the response, kept in `background` until done (shutdown waits for them)."""

    def done(task: asyncio.Task) -> None:
        background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Teams turn failed", exc_info=task.exception())

    def start(step: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(step)
        background.add(task)
        task.add_done_callback(done)

    return start


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """Tell the person plainly that nothing happened; the details go to the log."""
    log.error("Teams turn failed", exc_info=error)
    if turn_context.activity.type == ActivityTypes.message:
        await turn_context.send_activity(message_activity(cards.text_card(messages.INTERNAL_ERROR)))


def build_teams_app(services: Services) -> web.Application:
    """The aiohttp application behind `staffbot serve teams`; registers the outbox transport on startup."""
    settings = services.settings
    check_auth_settings(settings)
    if not settings.microsoft_app_id:
        print(messages.TEAMS_NO_AUTH_WARNING, file=sys.stderr, flush=True)  # not only to a log: loudly
    services.kb, services.questions  # built (and migrated) once here, not by racing handler threads
    with suppress(ConfigError):  # reports not set up: the bot says so when asked, see prepare()
        services.incidents, services.reviews
    auth = TeamsAuthentication(auth_config(settings))
    adapter = CloudAdapter(auth)
    adapter.on_turn_error = _on_turn_error
    directory = TeamsDirectory(services.store)
    clients = ReusedClients()
    clients.wrap(auth.create_connector_factory(adapter.create_claims_identity(settings.microsoft_app_id)))
    connector = Connector(clients, settings.microsoft_app_id, directory, settings.microsoft_app_tenant_id)
    bot = TeamsBot(services, directory, connector)
    transport = TeamsTransport(connector)
    services.outbox.periodic.append(directory.prune_now_and_then)
    background: set[asyncio.Task] = set()

    async def started(app: web.Application) -> None:
        transport.loop = asyncio.get_running_loop()
        services.outbox.register(transport)

    async def stopping(app: web.Application) -> None:
        if background:
            await asyncio.wait(set(background), timeout=SEND_TIMEOUT)
        transport.loop = None
        await clients.close()

    app = web.Application()
    app.router.add_post("/api/messages", messages_endpoint(adapter, bot, clients, background))
    app[PENDING_TURNS] = background
    app.on_startup.append(started)
    app.on_cleanup.append(stopping)
    return app
