"""The Teams outbox transport against the fake connector: where messages go and how failures are classed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from db_lock import write_locked
from teams_fake import CHANNEL, TENANT, TeamsHarness

from bot.config import load_settings
from bot.delivery import DeliveryError, OutboundMessage, Transport
from bot.services import Services
from bot.teams import build_teams_app
from handlers.models import Fact, Reply

NOTICE = Reply(kind="incident", title="Incident report INC-2026-0001", facts=[Fact(label="Status", value="New")])


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = Services(load_settings(STAFFBOT_DB=tmp_path / "staffbot.db", STAFFBOT_TEAMS_NO_AUTH=True,
                                   MICROSOFT_APP_TENANT_ID=TENANT, STAFFBOT_SLT_CHANNEL=f"teams:{CHANNEL}"))
    yield built
    built.close()


@pytest.fixture
def teams(services: Services) -> Iterator[TeamsHarness]:
    harness = TeamsHarness(lambda: build_teams_app(services))
    install = harness.activity(kind="conversationUpdate", channel=CHANNEL, user="aad-head")
    assert harness.post(install)[0] == 201
    assert harness.post(harness.activity(user="aad-teacher", text="help"))[0] == 201
    harness.connector.calls.clear()
    yield harness
    harness.close()


@pytest.fixture
def transport(services: Services, teams: TeamsHarness) -> Transport:
    return services.outbox.transports["teams"]


def test_post_starts_a_thread_in_the_channel_and_returns_its_id(teams: TeamsHarness, transport: Transport) -> None:
    ref = transport.send(OutboundMessage(kind="post", destination=CHANNEL, reply=NOTICE))
    [created] = teams.connector.created()
    assert created.body["channelData"]["channel"]["id"] == CHANNEL
    assert created.body["isGroup"] is True
    assert ref and ref.isdigit()


def test_reply_and_update_address_the_thread(teams: TeamsHarness, transport: Transport) -> None:
    transport.send(OutboundMessage(kind="reply", destination=CHANNEL, thread="1700000000009", reply=NOTICE))
    transport.send(OutboundMessage(kind="update", destination=CHANNEL, message="1700000000009", reply=NOTICE))
    post, put = teams.connector.calls
    assert (post.method, post.conversation) == ("POST", f"{CHANNEL};messageid=1700000000009")
    assert (put.method, put.conversation, put.activity_id) == ("PUT", f"{CHANNEL};messageid=1700000000009",
                                                              "1700000000009")


def test_direct_uses_the_personal_chat_or_creates_one(teams: TeamsHarness, transport: Transport) -> None:
    transport.send(OutboundMessage(kind="direct", destination="aad-teacher", reply=NOTICE))
    assert teams.connector.calls[-1].conversation == "a:personal-aad-teacher"
    transport.send(OutboundMessage(kind="direct", destination="aad-head", reply=NOTICE))  # seen only in a channel
    created, sent = teams.connector.calls[-2:]
    assert created.conversation == "" and created.body["members"][0]["aadObjectId"] == "aad-head"
    assert sent.conversation.startswith("a:")
    transport.send(OutboundMessage(kind="direct", destination="aad-head", reply=NOTICE))
    assert teams.connector.calls[-1].conversation == sent.conversation  # the new chat is remembered


@pytest.mark.usefixtures("short_busy_wait")
def test_a_chat_opened_while_the_database_is_busy_still_gets_the_message(
    teams: TeamsHarness, transport: Transport, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with write_locked(services.store.path):
        transport.send(OutboundMessage(kind="direct", destination="aad-head", reply=NOTICE))
    created, sent = teams.connector.calls
    assert created.conversation == "" and sent.conversation.startswith("a:")
    assert "Incident report INC-2026-0001" in sent.text
    assert "opened a 1:1 chat with aad-head but could not remember it" in caplog.text


def test_429_waits_for_retry_after(teams: TeamsHarness, transport: Transport) -> None:
    teams.connector.fail_next(429, {"Retry-After": "7"})
    with pytest.raises(DeliveryError) as caught:
        transport.send(OutboundMessage(kind="reply", destination=CHANNEL, thread="1", reply=NOTICE))
    assert caught.value.retry_after == 7 and not caught.value.permanent


@pytest.mark.parametrize("status", [412, 500, 502, 503, 504])
def test_server_errors_are_retried(teams: TeamsHarness, transport: Transport, status: int) -> None:
    teams.connector.fail_next(status)
    with pytest.raises(DeliveryError) as caught:
        transport.send(OutboundMessage(kind="reply", destination=CHANNEL, thread="1", reply=NOTICE))
    assert not caught.value.permanent


@pytest.mark.parametrize("status", [403, 404])
def test_forbidden_and_not_found_are_permanent(teams: TeamsHarness, transport: Transport, status: int) -> None:
    teams.connector.fail_next(status)
    with pytest.raises(DeliveryError) as caught:
        transport.send(OutboundMessage(kind="reply", destination=CHANNEL, thread="1", reply=NOTICE))
    assert caught.value.permanent


def test_unknown_channel_is_a_clear_retryable_error(teams: TeamsHarness, transport: Transport) -> None:
    with pytest.raises(DeliveryError, match="has not been added"):
        transport.send(OutboundMessage(kind="post", destination="19:never@thread.tacv2", reply=NOTICE))
    assert teams.connector.calls == []


def test_outbox_retries_a_429_then_delivers_once(teams: TeamsHarness, services: Services) -> None:
    services.outbox.clock = lambda: 1_000.0
    teams.connector.fail_next(429, {"Retry-After": "30"})
    services.outbox.enqueue("teams", OutboundMessage(kind="post", destination=CHANNEL, reply=NOTICE), subject="X-1")
    services.outbox.run_pending()
    assert teams.connector.created() == []
    services.outbox.clock = lambda: 1_031.0
    services.outbox.run_pending()
    assert len(teams.connector.created()) == 1


def test_cards_are_serialized_exactly_as_msrest_would_only_faster() -> None:
    from datetime import datetime, timezone

    from botbuilder.schema import Activity
    from botframework.connector import models as connector_models
    from msrest.serialization import Serializer

    from bot import teams_cards as cards
    from bot.teams_connector import PlainJsonSerializer, message_activity

    models = {name: value for name, value in vars(connector_models).items() if isinstance(value, type)}
    reply = Reply(kind="answer", title="Here is what the policy says", text="[x](http://evil) *bold* {{DATE()}}",
                  facts=[Fact(label="Status", value="New")])
    card_message = message_activity(cards.reply_card(reply))
    odd = Activity(type="message", channel_data={"when": datetime(2026, 3, 11, tzinfo=timezone.utc), "n": [1, 2.5]})
    for activity in (card_message, odd):
        assert PlainJsonSerializer(models).body(activity, "Activity") == Serializer(models).body(activity, "Activity")


def test_with_an_app_id_every_connector_call_carries_the_bots_token(teams: TeamsHarness) -> None:
    from botframework.connector.aio import ConnectorClient
    from botframework.connector.auth import ConnectorFactory, MicrosoftAppCredentials

    from bot import teams_cards as cards
    from bot.teams_connector import ReusedClients, message_activity

    class Credentials(MicrosoftAppCredentials):
        """The real credentials, with only the round trip to Microsoft Entra replaced."""

        def get_access_token(self, force_refresh: bool = False) -> str:
            return "token-from-entra"

    class Factory(ConnectorFactory):
        async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
            return ConnectorClient(Credentials("app-id", "secret"), base_url=service_url)

    clients = ReusedClients()
    clients.wrap(Factory())

    async def send() -> None:
        client = await clients.create(teams.service_url)
        assert await clients.create(teams.service_url) is client  # one client per service URL
        await client.conversations.send_to_conversation("a:chat", message_activity(cards.text_card("Hello")))
        await clients.close()

    teams.loops.run(send())
    [call] = teams.connector.calls
    assert call.authorization == "Bearer token-from-entra"
    assert call.card["body"][0]["text"] == "Hello"
