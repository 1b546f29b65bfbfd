"""Handler wiring of `TeamsBot` on botbuilder's TestAdapter (no HTTP): which card answers which message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from bot.config import load_settings
from bot.services import Services
from bot.teams_bot import TeamsBot
from bot.teams_cards import CONTENT_TYPE
from bot.teams_store import TeamsDirectory


@pytest.fixture
def services(tmp_path: Path) -> Services:
    built = Services(load_settings(STAFFBOT_DB=tmp_path / "staffbot.db", STAFFBOT_SLT_CHANNEL="teams:19:slt@thread.tacv2"))
    yield built
    built.close()


def run(services: Services, *activities: Activity) -> list[Activity]:
    """Send activities through TeamsBot on a TestAdapter and return what it said."""
    directory = TeamsDirectory(services.store)
    bot = TeamsBot(services, directory, connector=None)  # type: ignore[arg-type]  # 1:1 flows never go proactive

    async def go() -> list[Activity]:
        adapter = TestAdapter(bot.on_turn)
        for activity in activities:
            await adapter.receive_activity(activity)
        return list(adapter.activity_buffer)

    return asyncio.run(go())


def message(text: str = "", value: dict | None = None) -> Activity:
    return Activity(
        type="message", text=text, value=value, channel_id="msteams",
        from_property=ChannelAccount(id="29:jane", name="Jane", aad_object_id="aad-jane"),
        conversation=ConversationAccount(id="a:jane", conversation_type="personal"),
        channel_data={"tenant": {"id": "t1"}},
    )


def card_of(activity: Activity) -> dict:
    [attachment] = activity.attachments
    assert attachment.content_type == CONTENT_TYPE
    return attachment.content


def test_help_lists_what_the_bot_does(services: Services) -> None:
    [reply] = run(services, message("help"))
    assert "What I can do" in str(card_of(reply))


def test_a_question_gets_the_answer_card_with_feedback_buttons(services: Services) -> None:
    [reply] = run(services, message("Can I accept a friend request from a former pupil?"))
    card = card_of(reply)
    assert [a["data"]["staffbot"] for a in card["actions"]][:2] == ["feedback_helpful", "feedback_not_helpful"]


def test_report_opens_the_form_with_a_fresh_nonce_each_time(services: Services) -> None:
    first, second = run(services, message("report"), message("Report"))
    nonces = {card_of(r)["actions"][0]["data"]["nonce"] for r in (first, second)}
    assert len(nonces) == 2


def test_unknown_button_data_gets_a_plain_error(services: Services) -> None:
    [reply] = run(services, message(value={"staffbot": "launch_rockets"}))
    assert "out of date" in str(card_of(reply))


def test_a_report_submission_with_a_forged_nonce_is_refused(services: Services) -> None:
    [reply] = run(services, message(value={"staffbot": "submit_report", "nonce": "x", "category": "other",
                                            "what_happened": "test"}))
    assert "out of date" in str(card_of(reply))
    assert services.incidents.all() == []


def form_inputs(activity: Activity) -> dict:
    return {b["id"]: b for b in card_of(activity)["body"] if b.get("id")}


def test_slash_report_with_text_prefills_what_happened(services: Services) -> None:
    [reply] = run(services, message("/report A parent posted a photo of pupils"))
    assert form_inputs(reply)["what_happened"]["value"] == "A parent posted a photo of pupils"


def test_second_opinion_with_a_draft_prefills_the_form_keeping_its_lines(services: Services) -> None:
    [reply] = run(services, message("second opinion: Well done Year 3!\nPhotos below"))
    assert form_inputs(reply)["text"]["value"] == "Well done Year 3!\nPhotos below"


def test_a_question_that_mentions_reporting_is_still_answered(services: Services) -> None:
    [reply] = run(services, message("How do I report a fake account pretending to be the school?"))
    assert "what_happened" not in form_inputs(reply)
    assert [a["data"]["staffbot"] for a in card_of(reply)["actions"]][0] in ("feedback_helpful", "send_to_policy_owner")
