"""Adaptive Card rendering: user text is inert markdown, SLT buttons are Action.Execute, cards stay small."""

from __future__ import annotations

import json

from bot import teams_cards as cards
from handlers import actions
from handlers.models import Button, Passage, Reply


def test_escape_neutralises_links_emphasis_lists_and_date_functions() -> None:
    text = "[click](http://evil.example) *bold* _it_\n- item\n1. first\n{{DATE(2017-02-14T06:08:39Z, SHORT)}}"
    escaped = cards.escape(text)
    assert "[click](" not in escaped and r"\[click\]\(http://evil.example\)" in escaped
    assert r"\*bold\*" in escaped and r"\_it\_" in escaped
    assert "\n\\- item" in escaped and "\n1\\. first" in escaped
    assert "{{" not in escaped


def test_slt_buttons_execute_and_others_submit() -> None:
    reply = Reply(kind="incident", buttons=[
        Button(action=actions.INCIDENT_RESOLVE, label="Resolve", value="INC-2026-0001"),
        Button(action=actions.FEEDBACK_HELPFUL, label="Helpful", value="7"),
    ])
    card = cards.reply_card(reply)
    execute, submit = card["actions"]
    assert execute == {"type": "Action.Execute", "title": "Resolve", "verb": actions.INCIDENT_RESOLVE,
                       "data": {"value": "INC-2026-0001"}}
    assert submit["type"] == "Action.Submit" and submit["data"] == {"staffbot": actions.FEEDBACK_HELPFUL, "value": "7"}
    assert any(b.get("id") == cards.COMMENT for b in card["body"])  # Resolve needs the outcome text


def test_a_bullet_is_quoted_under_its_lead_in_on_both_platforms() -> None:
    from bot import slack_blocks

    reply = Reply(kind="answer", passages=[Passage(text="approve <!channel> creation", document="P", section="Roles",
                                                   lead_in="SLT")])
    card_texts = [item["text"] for block in cards.reply_card(reply)["body"] for item in block.get("items", ())]
    assert card_texts == ["Best match — P › Roles", "SLT", r"• approve \<\!channel\> creation"]
    quoted = [b["text"]["text"] for b in slack_blocks.render(reply) if b["type"] == "section"]
    assert quoted == ["> SLT\n> • approve &lt;!channel&gt; creation"]


def test_long_texts_are_clipped_below_the_teams_size_limit() -> None:
    reply = Reply(kind="answer", text="x" * 50_000,
                  passages=[Passage(text="y" * 50_000, document="Policy", section=f"S{i}", lead_in="z" * 50_000)
                            for i in range(5)])
    assert len(json.dumps(cards.reply_card(reply)).encode()) < 28_000
    [container] = cards.passage_blocks(reply.passages[0], best=True)
    assert sum(len(item["text"]) for item in container["items"][1:]) <= cards.PASSAGE_CHARS  # lead-in included


def test_the_report_form_has_the_slack_modals_fields_limits_and_defaults() -> None:
    from datetime import date

    from bot import slack_blocks

    today = date(2026, 3, 11)
    modal = slack_blocks.report_modal(today=today)
    form = cards.report_form("0b5f8a4e-3a7c-4a55-9d0e-2f0b1e9c7a11", today=today)
    inputs = {b["id"]: b for b in form["body"] if b["type"].startswith("Input.")}
    slack_fields = {b["block_id"]: b for b in modal["blocks"] if b["type"] == "input"}
    assert list(inputs) == list(slack_fields)
    for field, block in slack_fields.items():
        assert inputs[field].get("isRequired", False) == (not block.get("optional", False)), field
        if "max_length" in block["element"]:
            assert inputs[field]["maxLength"] == block["element"]["max_length"], field
        assert inputs[field]["label"] == block["label"]["text"]
    assert inputs["when"]["value"] == slack_fields["when"]["element"]["initial_date"] == "2026-03-11"
    assert (inputs["when"]["min"], inputs["when"]["max"]) == ("1990-01-01", "2026-03-11")  # as the form checks
    choices = [c["value"] for c in inputs["category"]["choices"]]
    assert choices == [o["value"] for o in slack_fields["category"]["element"]["options"]]
