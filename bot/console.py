"""A terminal chat through the same handlers as Slack and Teams, for local use and demos.

Like errbot's text backend: type a question, or a /command; buttons in a reply are
numbered and `/1`, `/2`... presses them.
"""

from __future__ import annotations

import getpass
import sys
import textwrap
from collections.abc import Callable
from typing import TextIO

from pydantic import ValidationError

from handlers import actions, messages
from handlers.ask import ask, feedback, pass_to_owner
from handlers.models import Actor, Button, Place, Question, Reply

from bot.services import Services

WIDTH = 78

HELP = """\
Ask me anything about the school's social media policy, in plain words.
Commands:
  /help            this list
  /1, /2, ...      press a numbered button from my last reply
  /quit            leave (Ctrl-D works too)"""


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
        lines += textwrap.wrap(passage.text, WIDTH - 4, initial_indent="  > ", subsequent_indent="    ")
    for fact in reply.facts:
        lines.append(f"{fact.label}: {fact.value}")
    for note in reply.notes:
        lines.append("")
        lines += textwrap.wrap(note, WIDTH)
    if reply.buttons:
        lines.append("")
        lines.append("  ".join(f"[/{n}] {b.label}" for n, b in enumerate(reply.buttons, 1)))
    return "\n".join(lines)


class Console:
    """One person chatting with the bot in a terminal."""

    def __init__(
        self,
        services: Services,
        *,
        actor: Actor | None = None,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
    ) -> None:
        self.services = services
        self.actor = actor or Actor(platform="console", user_id=getpass.getuser(), name=getpass.getuser())
        self.stdin = stdin
        self.stdout = stdout
        self.buttons: list[Button] = []
        self.commands: dict[str, Callable[[], None]] = {"/help": self.help}

    def say(self, reply: Reply) -> None:
        self.buttons = list(reply.buttons)
        print(render_text(reply), file=self.stdout, flush=True)

    def help(self) -> None:
        print(HELP, file=self.stdout)

    def run(self) -> None:
        print(f"staffbot — {messages.HELP_TEXT}\nType /help for commands, /quit to leave.", file=self.stdout)
        while True:
            print("\nyou> ", end="", file=self.stdout, flush=True)
            line = self.stdin.readline()
            if not line or line.strip() in {"/quit", "/exit"}:
                print("Bye.", file=self.stdout)
                return
            self.handle(line.strip())

    def handle(self, line: str) -> None:
        """Answer one typed line: a command, a button press or a question."""
        if not line:
            return
        if line in self.commands:
            self.commands[line]()
        elif line[1:].isdigit() and line.startswith("/"):
            self.press(int(line[1:]))
        elif line.startswith("/"):
            print(f"I don't know the command {line.split()[0]}. Type /help for what I can do.", file=self.stdout)
        else:
            self.ask(line)

    def ask(self, text: str) -> None:
        try:
            question = Question(actor=self.actor, text=text, place=Place(direct=True))
        except ValidationError as exc:
            self.say(Reply(kind="error", text=exc.errors()[0]["msg"].removeprefix("Value error, ")))
            return
        self.say(ask(question, self.services.kb, self.services.questions))

    def press(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            print("There is no such button in my last reply.", file=self.stdout)
            return
        button = self.buttons[number - 1]
        handler = self.button_handlers().get(button.action)
        if handler is None:
            print(f"“{button.label}” isn't available in the console yet.", file=self.stdout)
            return
        handler(button.value)

    def button_handlers(self) -> dict[str, Callable[[str], None]]:
        log = self.services.questions
        return {
            actions.FEEDBACK_HELPFUL: lambda v: self.say(feedback(self.actor, int(v), True, log)),
            actions.FEEDBACK_NOT_HELPFUL: lambda v: self.say(feedback(self.actor, int(v), False, log)),
            actions.SEND_TO_OWNER: self._send_to_owner,
        }

    def _send_to_owner(self, value: str) -> None:
        confirmation, notice = pass_to_owner(self.actor, int(value), self.services.questions)
        self.say(confirmation)
        if notice is not None:
            print("\n[posted to the SLT channel]\n" + render_text(notice), file=self.stdout)
