"""Neutral `Reply` objects and forms rendered as Slack Block Kit data.

Every string that comes from a `Reply` (or from a person) goes through `escape()`, so a
`<!channel>`, `<@U…>` or `<https://x|click>` typed by a user arrives as inert text. The
only markup that is not escaped is what this module writes itself (bold labels, quotes,
a mention of a Slack user id taken from Slack's own payload). Block Kit limits are kept
here too: 3,000 characters per section, 10 fields per section, 50 blocks per message
(100 per view), 75 characters per button label, 24 per modal title.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from handlers import actions, messages
from handlers.incident_models import MAX_LINK_CHARS, MAX_NARRATIVE_CHARS, MAX_SHORT_CHARS, Category, ReportForm
from handlers.models import MAX_QUESTION_CHARS, Button, Fact, Passage, Reply
from knowledge.review.models import DraftInput

Block = dict[str, Any]

SECTION_CHARS = 3000
FIELD_CHARS = 2000
HEADER_CHARS = 150
BUTTON_LABEL_CHARS = 75
BUTTON_VALUE_CHARS = 2000
FIELDS_PER_SECTION = 10
BUTTONS_PER_BLOCK = 25
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MODAL_TITLE_CHARS = 24
FALLBACK_CHARS = 3000

REPORT_CALLBACK = "report_modal"
INCIDENT_TEXT_CALLBACK = "incident_text"
ASK_CALLBACK = "ask_modal"
CHECK_CALLBACK = "second_opinion_check"
SEND_CALLBACK = "second_opinion_send"
COMMENT_CALLBACK = "second_opinion_comment"
VALUE = "value"  # the action_id of every input element: block ids carry the field name
REPORT_BLOCKS = tuple(ReportForm.model_fields)  # the input blocks each submitted modal must carry
DRAFT_BLOCKS = ("draft", "target", "learner_images", "permission_checked")

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def escape(text: str) -> str:
    """Neutralise Slack's three control characters, and nothing else (Slack's escaping rule)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What the person typed, from Slack's encoding of message text (`&amp;` etc.), so it is not escaped twice.

    Slack's own markup (`<@U123>`, `<!channel>`, `<https://x|label>`) stays as it is: it is
    ordinary text to the handlers and `escape()` neutralises it wherever it is echoed.
    """
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis, never inside an `&amp;`-style entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def pieces(text: str, limit: int = SECTION_CHARS, prefix: str = "") -> list[str]:
    """Escape `text` line by line (each line after `prefix`) and pack the lines into strings of at most `limit`."""
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        lines += _split_line(prefix + escape(line), limit, len(prefix))
    out: list[str] = []
    for line in lines:
        if out and len(out[-1]) + 1 + len(line) <= limit:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def _split_line(line: str, limit: int, keep: int) -> list[str]:
    """An escaped line longer than `limit` cut at spaces (or hard), never inside an entity; `keep` repeats the prefix."""
    parts: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", keep + 1, limit)
        if cut == -1:
            cut = limit
        amp = line.rfind("&", 0, cut)
        if amp > keep and ";" not in line[amp:cut]:
            cut = amp
        parts.append(line[:cut])
        line = line[:keep] + line[cut:].lstrip(" ")
    parts.append(line)
    return parts


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": False}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def sections(text: str, prefix: str = "") -> list[Block]:
    return [section(piece) for piece in pieces(text, prefix=prefix)]


def verbatim(text: str) -> list[Block]:
    """Someone's draft shown exactly as typed: in a code block, where *bold*, _italic_ and links do
    not render (a draft must not be able to dress itself up as the post's own fields); a run of
    backticks in it cannot close the block early."""
    fenced = text.replace("`", "`\u200b")  # no two backticks touch, nor a fence
    return [section(f"```\u200b{piece}\u200b```") for piece in pieces(fenced, SECTION_CHARS - 8)]


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(clip(text, FIELD_CHARS))]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_CHARS)}


def fact_blocks(facts: list[Fact]) -> list[Block]:
    fields = [mrkdwn(clip(f"*{escape(f.label)}*\n{escape(f.value)}", FIELD_CHARS)) for f in facts]
    return [
        {"type": "section", "fields": fields[i : i + FIELDS_PER_SECTION]}
        for i in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def passage_blocks(passage: Passage, best: bool) -> list[Block]:
    label = "Best match" if best else "Related"
    return [
        *sections("\n".join(passage.lines), prefix="> "),
        context(f"{label} — *{escape(passage.document)}* › {escape(passage.section)}"),
    ]


def button(b: Button, action_id: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(b.label, BUTTON_LABEL_CHARS),
        "value": b.value[:BUTTON_VALUE_CHARS],
    }
    if b.style:
        element["style"] = b.style
    return element


def action_id_for(action: str, seen: dict[str, int]) -> str:
    """Action ids must be unique in a message: the second "incident_view" becomes "incident_view#2"."""
    seen[action] = seen.get(action, 0) + 1
    return action if seen[action] == 1 else f"{action}#{seen[action]}"


def action_of(action_id: str) -> str:
    """The `handlers.actions` name behind a (possibly numbered) action id."""
    return action_id.split("#", 1)[0]


def button_blocks(buttons: list[Button]) -> list[Block]:
    seen: dict[str, int] = {}
    elements = [button(b, action_id_for(b.action, seen)) for b in buttons]
    return [
        {"type": "actions", "elements": elements[i : i + BUTTONS_PER_BLOCK]}
        for i in range(0, len(elements), BUTTONS_PER_BLOCK)
    ]


def render(reply: Reply, *, limit: int = MESSAGE_BLOCKS) -> list[Block]:
    """The blocks for a reply, at most `limit` of them (buttons are always kept)."""
    body: list[Block] = []
    if reply.title:
        body.append(header(reply.title))
    if reply.text:
        body += verbatim(reply.text) if reply.verbatim else sections(reply.text)
    for i, passage in enumerate(reply.passages):
        body += passage_blocks(passage, best=i == 0)
    body += fact_blocks(reply.facts)
    if reply.notes:
        body += sections("\n".join(reply.notes))
    controls = button_blocks(reply.buttons)
    room = limit - len(controls)
    if len(body) > room:
        body = body[: room - 1] + [context("(Shortened to fit in Slack; the full record is kept.)")]
    return body + controls


def fallback(reply: Reply) -> str:
    """The notification text shown where blocks are not (phones, screen readers)."""
    return clip(escape(reply.title or reply.text or (reply.notes[0] if reply.notes else " ")), FALLBACK_CHARS)


def message(reply: Reply, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage / chat.update / respond(): text, blocks, no unfurling."""
    return {"text": fallback(reply), "blocks": render(reply), "unfurl_links": False, "unfurl_media": False, **extra}


def shared_blocks(user_id: str, question: str, reply: Reply) -> list[Block]:
    """An answer shared in a channel: who shared it (a real mention of a Slack id) and the question."""
    who = f"<@{user_id}>" if _USER_ID.match(user_id) else escape(user_id)
    top = [context(messages.shared_by(who)), *sections(f"{messages.YOUR_QUESTION}: {question}")]
    return top + render(reply, limit=MESSAGE_BLOCKS - len(top))


def without_actions(blocks: list[Block], drop: set[str], note: str) -> list[Block]:
    """A message's blocks minus the buttons whose action is in `drop`, ending with `note`."""
    kept: list[Block] = []
    for block in blocks:
        if block.get("type") == "actions":
            elements = [e for e in block.get("elements", []) if action_of(e.get("action_id", "")) not in drop]
            if not elements:
                continue
            block = {**block, "elements": elements}
        kept.append(block)
    return kept[: MESSAGE_BLOCKS - 1] + [context(escape(note))]


# -- help and home ------------------------------------------------------------------------


def help_reply() -> Reply:
    return Reply(kind="info", title=messages.HELP_TITLE, text=messages.HELP_TEXT, notes=[messages.SLACK_USAGE])


def start_buttons(question_ref: str = "") -> list[Button]:
    return [
        Button(action=actions.ASK_QUESTION, label=messages.ASK_A_QUESTION, style="primary"),
        Button(action=actions.OPEN_REPORT, label="Report an incident", value=question_ref),
        Button(action=actions.OPEN_SECOND_OPINION, label="Ask for a second opinion", value=question_ref),
    ]


def home_view(parts: list[Reply]) -> dict[str, Any]:
    """The App Home tab: what the bot does, the three actions, then each part (reports, SLT queue)."""
    blocks = render(help_reply().model_copy(update={"buttons": start_buttons()}))
    for part in parts:
        blocks += [{"type": "divider"}, *render(part, limit=VIEW_BLOCKS - len(blocks) - 1)]
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}


# -- modals -------------------------------------------------------------------------------


def modal(title: str, blocks: list[Block], *, callback_id: str = "", submit: str = "", metadata: str = "") -> dict:
    view: dict[str, Any] = {
        "type": "modal",
        "title": plain(title, MODAL_TITLE_CHARS),
        "close": plain("Close" if not submit else "Cancel", MODAL_TITLE_CHARS),
        "blocks": blocks[:VIEW_BLOCKS],
    }
    if callback_id:
        view["callback_id"] = callback_id
    if submit:
        view["submit"] = plain(submit, MODAL_TITLE_CHARS)
    if metadata:
        view["private_metadata"] = metadata
    return view


def text_input(
    block_id: str,
    label: str,
    *,
    multiline: bool = False,
    max_length: int = MAX_NARRATIVE_CHARS,
    optional: bool = False,
    initial: str = "",
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": VALUE,
        "multiline": multiline,
        "max_length": min(max_length, MAX_NARRATIVE_CHARS),
    }
    if initial:
        element["initial_value"] = initial[: element["max_length"]]
    return {"type": "input", "block_id": block_id, "label": plain(label, FIELD_CHARS), "element": element, "optional": optional}


def result_view(reply: Reply, title: str) -> dict:
    """A modal that just shows a reply (a confirmation, incident details)."""
    return modal(title, render(reply, limit=VIEW_BLOCKS))


def report_modal(prefill: str = "", today: date | None = None) -> dict:
    """The /report form; block ids are `ReportForm` field names so errors map back by name."""
    labels = messages.SLACK_LABELS
    options = [{"text": plain(c.label, 75), "value": c.value} for c in Category]
    blocks = [
        {
            "type": "input",
            "block_id": "category",
            "label": plain(labels["category"], FIELD_CHARS),
            "element": {"type": "static_select", "action_id": VALUE, "options": options},
        },
        text_input("what_happened", labels["what_happened"], multiline=True, initial=prefill),
        text_input("platform", labels["platform"], max_length=MAX_SHORT_CHARS, optional=True),
        text_input("link", labels["link"], max_length=MAX_LINK_CHARS, optional=True),
        {
            "type": "input",
            "block_id": "when",
            "label": plain(labels["when"], FIELD_CHARS),
            "element": {"type": "datepicker", "action_id": VALUE, "initial_date": (today or date.today()).isoformat()},
        },
        text_input("people", labels["people"], multiline=True, optional=True),
        {
            "type": "input",
            "block_id": "urgent",
            "optional": True,
            "label": plain(labels["urgent"], FIELD_CHARS),
            "element": {
                "type": "checkboxes",
                "action_id": VALUE,
                "options": [{"text": plain(messages.URGENT_OPTION, 75), "value": "urgent"}],
            },
        },
    ]
    return modal("Report an incident", blocks, callback_id=REPORT_CALLBACK, submit="Send report")


class StaleForm(ValueError):
    """A submitted modal without the input blocks this version reads: malformed, or opened before
    an update changed the form. It cannot be read, so nothing may be done with it."""


def submitted(view: dict[str, Any], block_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The element state of each named input block in a submitted view (`view.state.values`);
    StaleForm names the blocks that are missing rather than a KeyError deep in a listener."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for block_id in block_ids:
        block = values.get(block_id) if isinstance(values, dict) else None
        element = block.get(VALUE) if isinstance(block, dict) else None
        if isinstance(element, dict):
            found[block_id] = element
        else:
            missing.append(block_id)
    if missing:
        raise StaleForm(f"{view.get('callback_id')!r} submitted without {', '.join(missing)}")
    return found


def first_input(view: dict[str, Any]) -> str | None:
    """The block id of the view's first input block: where a form-wide error can be shown."""
    return next((b["block_id"] for b in view.get("blocks") or () if isinstance(b, dict)
                 and b.get("type") == "input" and isinstance(b.get("block_id"), str)), None)


def text_value(view: dict[str, Any], block_id: str) -> str:
    """What was typed in one text box of a submitted modal ("" when left empty)."""
    return submitted(view, (block_id,))[block_id].get("value") or ""


def report_values(view: dict[str, Any]) -> dict[str, Any]:
    """`ReportForm` input from a submitted report modal."""
    values: dict[str, Any] = {}
    for field, element in submitted(view, REPORT_BLOCKS).items():
        kind = element.get("type")
        if kind == "static_select":
            chosen = element.get("selected_option")
            if chosen:
                values[field] = chosen.get("value", "")
        elif kind == "datepicker":
            if element.get("selected_date"):
                values[field] = element["selected_date"]
        elif kind == "checkboxes":
            values[field] = bool(element.get("selected_options"))
        elif element.get("value") is not None:
            values[field] = element["value"]
    return values


def text_target(view: dict[str, Any]) -> tuple[str, str]:
    """(action, reference) of a submitted `text_modal`, from its metadata; StaleForm when that is
    not what this version writes (an older modal's, or none)."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
    except ValueError:
        meta = None
    if not (isinstance(meta, dict) and isinstance(meta.get("action"), str) and isinstance(meta.get("reference"), str)):
        raise StaleForm(f"unreadable metadata on a {view.get('callback_id')!r} form")
    return meta["action"], meta["reference"]


def text_modal(callback_id: str, title: str, prompt: str, action: str, reference: str) -> dict:
    """One text box (a note, an outcome, a comment) for an SLT button; the metadata says which."""
    blocks = [text_input("text", prompt, multiline=True)]
    metadata = json.dumps({"action": action, "reference": reference})
    return modal(f"{title} {reference}", blocks, callback_id=callback_id, submit=title, metadata=metadata)


def incident_text_modal(action: str, reference: str) -> dict:
    title = {actions.INCIDENT_NOTE: "Add note", actions.INCIDENT_ESCALATE: "Escalate"}.get(action, "Resolve")
    return text_modal(INCIDENT_TEXT_CALLBACK, title, messages.INCIDENT_PROMPTS[action], action, reference)


def comment_modal(action: str, reference: str) -> dict:
    title = "Reject" if action == actions.SO_REJECT else "Request changes"
    return text_modal(COMMENT_CALLBACK, title, messages.REVIEW_COMMENT_PROMPTS[action], action, reference)


def _checkbox(block_id: str, label: str, checked: bool) -> Block:
    option = {"text": plain(label, 75), "value": block_id}
    element: dict[str, Any] = {"type": "checkboxes", "action_id": VALUE, "options": [option]}
    if checked:
        element["initial_options"] = [option]
    return {"type": "input", "block_id": block_id, "optional": True, "label": plain(label, FIELD_CHARS),
            "element": element}


def second_opinion_modal(draft: DraftInput | None = None, findings: Reply | None = None) -> dict:
    """The draft form; with `findings` it shows them above the (still editable) draft and sends to SLT."""
    draft = draft or DraftInput(text="")
    labels = messages.SLACK_DRAFT_LABELS
    inputs = [
        text_input("draft", labels["draft"], multiline=True, initial=draft.text),
        text_input("target", labels["target"], max_length=MAX_SHORT_CHARS, optional=True, initial=draft.target or ""),
        _checkbox("learner_images", labels["learner_images"], bool(draft.contains_learner_images)),
        _checkbox("permission_checked", labels["permission_checked"], bool(draft.permission_checked)),
    ]
    if findings is None:
        return modal("Second opinion", inputs, callback_id=CHECK_CALLBACK, submit="Check draft")
    shown = render(findings.model_copy(update={"buttons": []}), limit=VIEW_BLOCKS - len(inputs) - 1)
    return modal("Second opinion", [*shown, {"type": "divider"}, *inputs], callback_id=SEND_CALLBACK,
                 submit="Send to SLT")


def draft_values(view: dict[str, Any]) -> DraftInput:
    """The `DraftInput` in a submitted second-opinion modal."""
    state = submitted(view, DRAFT_BLOCKS)
    return DraftInput(
        text=state["draft"].get("value") or "",
        target=(state["target"].get("value") or "").strip() or None,
        contains_learner_images=bool(state["learner_images"].get("selected_options")),
        permission_checked=bool(state["permission_checked"].get("selected_options")),
    )


def ask_modal() -> dict:
    blocks = [text_input("question", messages.ASK_QUESTION_LABEL, multiline=True, max_length=MAX_QUESTION_CHARS)]
    return modal(messages.ASK_A_QUESTION, blocks, callback_id=ASK_CALLBACK, submit="Ask")
