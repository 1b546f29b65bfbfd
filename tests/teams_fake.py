"""A fake Bot Connector on 127.0.0.1:0, and a harness serving `build_teams_app` next to it.

The connector records every call the bot makes (the REST paths Teams' connector exposes)
and answers with ids like the real one; `fail_next()` makes it answer errors so transport
retries can be tested. `Activities` builds activities shaped as Teams sends them. The
harness runs both servers on one event loop in a thread, so tests stay synchronous and the
outbox worker (another thread) can deliver through the same loop, exactly as under
`staffbot serve teams`; `ConnectorServer` serves the connector alone, for a bot running
as its own process (the real `staffbot serve teams`, the benchmark).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TENANT = "tenant-school"
BOT_ID = "28:staffbot"
CHANNEL = "19:slt@thread.tacv2"
STAFF_CHANNEL = "19:staffroom@thread.tacv2"
WAIT_SECONDS = 20.0


@dataclass
class Call:
    method: str
    conversation: str
    reply_to: str | None
    activity_id: str | None
    body: dict[str, Any]
    authorization: str | None

    @property
    def card(self) -> dict[str, Any] | None:
        """The Adaptive Card in the posted activity (or in a create-conversation activity)."""
        activity = self.body.get("activity", self.body) if self.conversation == "" else self.body
        for attachment in (activity or {}).get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return attachment["content"]
        return None

    @property
    def text(self) -> str:
        """Every string in the posted activity's text and card, for content assertions."""
        activity = self.body.get("activity", self.body) if self.conversation == "" else self.body
        return "\n".join(_strings(activity))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@dataclass
class FakeConnector:
    """Records `POST /v3/conversations`, `POST .../activities[/{replyTo}]`, `PUT .../activities/{id}`."""

    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1700000000001))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conv}/activities", self._post)
        app.router.add_post("/v3/conversations/{conv}/activities/{reply_to}", self._post)
        app.router.add_put("/v3/conversations/{conv}/activities/{activity_id}", self._put)
        return app

    def fail_next(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.failures.append((status, headers or {}))

    def _failure(self) -> web.Response | None:
        if not self.failures:
            return None
        status, headers = self.failures.pop(0)
        return web.json_response({"error": {"code": "Failure", "message": "fake"}}, status=status, headers=headers)

    async def _record(self, request: web.Request, conversation: str) -> Call:
        call = Call(
            method=request.method,
            conversation=conversation,
            reply_to=request.match_info.get("reply_to"),
            activity_id=request.match_info.get("activity_id"),
            body=await request.json(),
            authorization=request.headers.get("Authorization"),
        )
        self.calls.append(call)
        return call

    async def _create(self, request: web.Request) -> web.Response:
        failure = self._failure()
        if failure:
            return failure
        call = await self._record(request, "")
        new_id = str(next(self.ids))
        channel = ((call.body.get("channelData") or {}).get("channel") or {}).get("id")
        if channel:
            return web.json_response({"id": f"{channel};messageid={new_id}", "activityId": new_id}, status=201)
        return web.json_response({"id": f"a:{uuid.uuid4().hex[:12]}"}, status=201)

    async def _post(self, request: web.Request) -> web.Response:
        failure = self._failure()
        if failure:
            return failure
        await self._record(request, request.match_info["conv"])
        return web.json_response({"id": str(next(self.ids))}, status=201)

    async def _put(self, request: web.Request) -> web.Response:
        failure = self._failure()
        if failure:
            return failure
        await self._record(request, request.match_info["conv"])
        return web.json_response({"id": request.match_info["activity_id"]}, status=200)

    # -- what tests look at ----------------------------------------------------------------

    def posts(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.conversation]

    def updates(self) -> list[Call]:
        return [c for c in self.calls if c.method == "PUT"]

    def created(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and not c.conversation]

    def to(self, conversation: str) -> list[Call]:
        return [c for c in self.calls if c.conversation == conversation]


class LoopThread:
    """An asyncio event loop running in a daemon thread, for servers under synchronous tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="teams-test-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app` on 127.0.0.1 with a free port; returns the runner and base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


class Activities:
    """Activities shaped as Teams sends them, for a bot whose replies go to `service_url`."""

    def __init__(self, service_url: str) -> None:
        self.service_url = service_url
        self.ids = itertools.count(1)

    def next_id(self) -> str:
        return f"17100000{next(self.ids):05d}"

    def activity(
        self,
        *,
        user: str = "aad-teacher",
        name: str = "Jane Teacher",
        channel: str | None = None,
        text: str = "",
        value: dict[str, Any] | None = None,
        tenant: str = TENANT,
        kind: str = "message",
        reply_to: str | None = None,
        activity_id: str | None = None,
        mention: bool = True,
    ) -> dict[str, Any]:
        activity_id = activity_id or self.next_id()
        if channel:
            conversation = {
                "isGroup": True,
                "conversationType": "channel",
                "tenantId": tenant,
                "id": f"{channel};messageid={reply_to or activity_id}",
            }
            channel_data: dict[str, Any] = {
                "tenant": {"id": tenant},
                "team": {"id": "19:team@thread.tacv2", "name": "Staff"},
                "channel": {"id": channel, "name": "SLT" if channel == CHANNEL else "Staffroom"},
            }
        else:
            conversation = {"conversationType": "personal", "tenantId": tenant, "id": f"a:personal-{user}"}
            channel_data = {"tenant": {"id": tenant}}
        activity: dict[str, Any] = {
            "type": kind,
            "id": activity_id,
            "timestamp": "2026-03-11T14:16:47.0093935Z",
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "from": {"id": f"29:{user}", "name": name, "aadObjectId": user},
            "conversation": conversation,
            "recipient": {"id": BOT_ID, "name": "StaffBot"},
            "channelData": channel_data,
            "locale": "en-GB",
        }
        if kind == "message":
            activity["textFormat"] = "plain"
            activity["text"] = text
            if channel and text and mention:
                activity["text"] = f"<at>StaffBot</at> {text}"
                activity["entities"] = [
                    {"type": "mention", "mentioned": {"id": BOT_ID, "name": "StaffBot"}, "text": "<at>StaffBot</at>"}
                ]
        if value is not None:
            activity["value"] = value
        if reply_to:
            activity["replyToId"] = reply_to
        return activity

    def message_action(self, command: str, html: str, **kwargs: Any) -> dict[str, Any]:
        """A `composeExtension/fetchTask` invoke, as Teams sends when someone picks a message action."""
        activity = self.activity(kind="invoke", **kwargs)
        activity["name"] = "composeExtension/fetchTask"
        activity["value"] = {
            "commandId": command,
            "commandContext": "message",
            "context": {"theme": "default"},
            "messagePayload": {"id": "1710000000999", "messageType": "message",
                               "body": {"contentType": "html", "content": html},
                               "from": {"user": {"id": "aad-colleague", "displayName": "A Colleague"}}},
        }
        return activity

    def execute(self, verb: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """An `adaptiveCard/action` invoke, as Teams sends for an Action.Execute button."""
        activity = self.activity(kind="invoke", **kwargs)
        activity["name"] = "adaptiveCard/action"
        activity["value"] = {
            "action": {"type": "Action.Execute", "id": verb, "verb": verb, "data": data},
            "trigger": "manual",
        }
        return activity


class ConnectorServer(Activities):
    """The fake connector alone on loopback (on a loop thread), with activities addressed to it."""

    def __init__(self) -> None:
        self.loops = LoopThread()
        self.connector = FakeConnector()
        self.connector_runner, service_url = self.loops.run(serve(self.connector.app()))
        super().__init__(service_url + "/")

    def close(self) -> None:
        self.loops.run(self.connector_runner.cleanup())
        self.loops.close()

    def wait_for(self, found: Callable[[FakeConnector], Any], timeout: float = WAIT_SECONDS) -> Any:
        """`found(connector)` once it is truthy, for a bot in another process (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while not (result := found(self.connector)):
            assert time.monotonic() < deadline, f"not sent in time; the connector saw {self.connector.calls}"
            time.sleep(0.05)
        return result


class TeamsHarness(ConnectorServer):
    """The Teams app (as `staffbot serve teams` builds it) next to the fake connector, on one loop."""

    def __init__(self, build: Callable[[], web.Application]) -> None:
        super().__init__()
        self.app = build()

        async def start_bot() -> tuple[web.AppRunner, str]:
            return await serve(self.app)

        self.bot_runner, self.bot_url = self.loops.run(start_bot())

    def close(self) -> None:
        self.loops.run(self.bot_runner.cleanup())
        super().close()

    def post_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        return post_raw(f"{self.bot_url}/api/messages", body, headers)

    def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """POST one activity, then wait for the turns answered after their response (questions)."""
        status, body = self.post_raw(
            json.dumps(activity).encode(), {"Content-Type": "application/json", **(headers or {})}
        )
        self.loops.run(self.settle())
        return status, json.loads(body) if body else None

    async def settle(self) -> None:
        from bot.teams import PENDING_TURNS

        while pending := set(self.app[PENDING_TURNS]):
            await asyncio.wait(pending)


def post_raw(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST `body` to `url`; the status and body, also for error statuses."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def free_port() -> int:
    """A loopback port nobody listens on, for a bot started as its own process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something accepts connections on loopback `port` (the bot process has started)."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
