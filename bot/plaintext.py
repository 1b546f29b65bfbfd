"""Replies as plain text, for the terminal chat and the command line.

Kept apart from bot/console.py so `staffbot ask` can print an answer without importing
the console's report and second-opinion machinery.
"""

from __future__ import annotations

import textwrap

from handlers.models import Reply

WIDTH = 78


def render_text(reply: Reply) -> str:
    """Plain-text rendering of a reply for the terminal."""
    lines: list[str] = []
    if reply.title:
        lines += [reply.title, "=" * len(reply.title)]
    if reply.text:
        lines += textwrap.wrap(reply.text, WIDTH) or [""]
    for i, passage in enumerate(reply.passages):
        lines.append("")
        label = "Best match" if i == 0 else "Related"
        lines.append(f"{label} — {passage.document} › {passage.section}")
        for line in passage.lines:
            lines += textwrap.wrap(line, WIDTH - 4, initial_indent="  > ", subsequent_indent="    ")
    for fact in reply.facts:
        lines.append(f"{fact.label}: {fact.value}")
    for note in reply.notes:
        lines.append("")
        lines += textwrap.wrap(note, WIDTH)
    if reply.buttons:
        lines.append("")
        lines.append("  ".join(f"[/{n}] {b.label}" for n, b in enumerate(reply.buttons, 1)))
    return "\n".join(lines)
