"""Neutral `Reply` objects and forms rendered as Adaptive Cards (as data dicts).

A TextBlock renders a markdown subset, so every string that comes from a `Reply` or a
person goes through `escape()`: `[x](http://evil)` shows as typed instead of becoming a
disguised link, `*`/`_` do not turn into emphasis, and `{{DATE(...)}}` is not expanded.
Cards stay well under Teams' ~28 KB message limit by clipping long texts.

Buttons: SLT actions on incidents and second opinions are `Action.Execute` (an
`adaptiveCard/action` invoke the bot answers with the updated card, so the post changes in
place for everyone); everything else is `Action.Submit` with `{"staffbot": action,
"value": value}` data. Forms carry a `nonce` so a re-sent submission stores one record.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from handlers import actions, messages, report, second_opinion
from handlers.incident_models import EARLIEST, MAX_LINK_CHARS, MAX_NARRATIVE_CHARS, MAX_SHORT_CHARS, Category
from handlers.models import Button, Passage, Reply

Card = dict[str, Any]

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
TEXT_CHARS = 4000
PASSAGE_CHARS = 1500
FORM = "staffbot"  # the data key naming what an Action.Submit does
REPORT_SUBMIT = "submit_report"
SECOND_OPINION_CHECK = "check_draft"
COMMENT = "comment"  # the id of the SLT card's text input (note, outcome, reason)

EXECUTE_ACTIONS = frozenset(
    {
        actions.INCIDENT_VIEW,
        actions.INCIDENT_ACKNOWLEDGE,
        actions.INCIDENT_ASSIGN,
        actions.INCIDENT_NOTE,
        actions.INCIDENT_ESCALATE,
        actions.INCIDENT_RESOLVE,
        actions.SO_APPROVE,
        actions.SO_REQUEST_CHANGES,
        actions.SO_REJECT,
        actions.SO_VIEW,
    }
)
NEEDS_TEXT = report.TEXT_ACTIONS | second_opinion.COMMENT_REQUIRED

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~<>])")
_LIST_START = re.compile(r"^(\s*)(\d+)\.(\s)|^(\s*)([-+*])(\s)", re.MULTILINE)


def escape(text: str) -> str:
    """Make `text` render literally in a TextBlock: no links, emphasis, lists or DATE/TIME functions."""
    text = _MARKDOWN.sub(r"\\\1", text)
    text = _LIST_START.sub(lambda m: f"{m[1]}{m[2]}\\.{m[3]}" if m[2] else f"{m[4]}\\{m[5]}{m[6]}", text)
    return text.replace("{{", "{\u200b{")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def block(text: str, **style: Any) -> Card:
    """A wrapping TextBlock showing `text` literally."""
    return {"type": "TextBlock", "text": escape(text), "wrap": True, **style}


def card(body: list[Card], card_actions: list[Card] | None = None) -> Card:
    result: Card = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if card_actions:
        result["actions"] = card_actions
    return result


def passage_blocks(passage: Passage, best: bool) -> list[Card]:
    label = "Best match" if best else "Related"
    return [
        {
            "type": "Container",
            "style": "emphasis",
            "separator": True,
            "items": [
                block(f"{label} — {passage.document} › {passage.section}", size="Small", isSubtle=True),
                *(block(clip(line, PASSAGE_CHARS // len(passage.lines))) for line in passage.lines),
            ],
        }
    ]


def button(b: Button, extra: dict[str, Any] | None = None) -> Card:
    action: Card
    if b.action in EXECUTE_ACTIONS:
        action = {"type": "Action.Execute", "title": b.label, "verb": b.action, "data": {"value": b.value}}
    else:
        action = {"type": "Action.Submit", "title": b.label, "data": {FORM: b.action, "value": b.value, **(extra or {})}}
    if b.style == "primary":
        action["style"] = "positive"
    elif b.style == "danger":
        action["style"] = "destructive"
    return action


def reply_card(reply: Reply, *, error: str = "") -> Card:
    """One reply as a card; `error` is shown above the buttons (e.g. a missing SLT comment)."""
    body: list[Card] = []
    if reply.title:
        body.append(block(reply.title, size="Medium", weight="Bolder"))
    if reply.text:
        body.append(block(clip(reply.text, TEXT_CHARS), color="Attention" if reply.kind == "error" else "Default"))
    for i, passage in enumerate(reply.passages):
        body += passage_blocks(passage, i == 0)
    if reply.facts:
        body.append({"type": "FactSet", "facts": [{"title": escape(f.label), "value": escape(f.value)} for f in reply.facts]})
    for note in reply.notes:
        body.append(block(note, spacing="Medium"))
    if any(b.action in NEEDS_TEXT for b in reply.buttons):
        body.append({
            "type": "Input.Text",
            "id": COMMENT,
            "label": messages.TEAMS_COMMENT_LABEL,
            "isMultiline": True,
            "maxLength": MAX_NARRATIVE_CHARS,
        })
    if error:
        body.append(block(error, color="Attention", weight="Bolder"))
    return card(body, [button(b) for b in reply.buttons])


def text_card(text: str) -> Card:
    return card([block(text)])


def _input(kind: str, field: str, label: str, errors: dict[str, str], **props: Any) -> list[Card]:
    element: Card = {"type": kind, "id": field, "label": label, **props}
    blocks = [element]
    if field in errors:
        blocks.append(block(errors[field], color="Attention", size="Small", spacing="None"))
    return blocks


def _text_value(values: dict[str, Any], field: str) -> dict[str, Any]:
    value = values.get(field)
    return {"value": str(value)} if value not in (None, "") else {}


def report_form(nonce: str, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                today: date | None = None) -> Card:
    """The incident report form: the Slack modal's fields, limits and defaults (today), errors shown
    next to each field; `values` pre-fill it (a question, or what was sent with errors)."""
    values, errors = values or {}, errors or {}
    labels = messages.SLACK_LABELS
    body: list[Card] = [block(messages.INCIDENT_TITLE, size="Medium", weight="Bolder")]
    if errors:
        body.append(block(messages.REPORT_INVALID, color="Attention"))
    body += _input("Input.ChoiceSet", "category", labels["category"], errors, isRequired=True, style="compact",
                   choices=[{"title": c.label, "value": c.value} for c in Category], **_text_value(values, "category"))
    body += _input("Input.Text", "what_happened", labels["what_happened"], errors, isRequired=True, isMultiline=True,
                   maxLength=MAX_NARRATIVE_CHARS, **_text_value(values, "what_happened"))
    body += _input("Input.Text", "platform", labels["platform"], errors, maxLength=MAX_SHORT_CHARS,
                   **_text_value(values, "platform"))
    body += _input("Input.Text", "link", labels["link"], errors, style="Url", maxLength=MAX_LINK_CHARS,
                   **_text_value(values, "link"))
    today = today or date.today()
    body += _input("Input.Date", "when", labels["when"], errors, isRequired=True,
                   min=EARLIEST.isoformat(), max=today.isoformat(),
                   value=str(values.get("when") or today.isoformat()))
    body += _input("Input.Text", "people", labels["people"], errors, isMultiline=True, maxLength=MAX_NARRATIVE_CHARS,
                   **_text_value(values, "people"))
    body += _input("Input.Toggle", "urgent", labels["urgent"], errors, title=messages.URGENT_OPTION,
                   valueOn="true", valueOff="false", value="true" if values.get("urgent") in (True, "true") else "false")
    submit = {"type": "Action.Submit", "title": messages.TEAMS_SEND_REPORT, "style": "positive",
              "data": {FORM: REPORT_SUBMIT, "nonce": nonce}}
    return card(body, [submit])


def second_opinion_form(nonce: str, values: dict[str, Any] | None = None, error: str = "") -> Card:
    """The draft-check form: the draft, its account and the two image questions."""
    values = values or {}
    prompts = messages.TEAMS_SECOND_OPINION_LABELS
    body: list[Card] = [block(messages.CHECK_TITLE, size="Medium", weight="Bolder")]
    errors = {"text": error} if error else {}
    body += _input("Input.Text", "text", prompts["text"], errors, isRequired=True, isMultiline=True,
                   maxLength=second_opinion.MAX_DRAFT_CHARS, **_text_value(values, "text"))
    body += _input("Input.Text", "account", prompts["account"], {}, maxLength=MAX_SHORT_CHARS,
                   **_text_value(values, "account"))
    for field in ("learner_images", "permission_checked"):
        body += _input("Input.Toggle", field, prompts[field], {}, title=prompts[field], valueOn="true",
                       valueOff="false", value="true" if values.get(field) in (True, "true") else "false")
    check = {"type": "Action.Submit", "title": messages.TEAMS_CHECK_DRAFT, "style": "positive",
             "data": {FORM: SECOND_OPINION_CHECK, "nonce": nonce}}
    return card(body, [check])
