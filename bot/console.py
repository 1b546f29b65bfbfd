"""A terminal chat through the same handlers as Slack and Teams, for local use and demos.

Like errbot's text backend: type a question, or a /command; buttons in a reply are
numbered and `/1`, `/2`... presses them.
"""

from __future__ import annotations

import getpass
import itertools
import re
import sys
import uuid
from collections.abc import Callable
from typing import TextIO

from pydantic import ValidationError

from handlers import actions, messages, report, second_opinion
from handlers.ask import ask, feedback, pass_to_owner
from handlers.incident_models import Category, ReportForm, form_errors
from handlers.models import Actor, Button, Place, Question, Reply, first_error
from knowledge.review import DraftInput

from bot.config import ConfigError
from bot.delivery import OutboundMessage
from bot.plaintext import render_text
from bot.services import Services
from bot.store import StoreError

HELP = """\
Ask me anything about the school's social media policy, in plain words.
Commands:
  /help            this list
  /report          report an incident to the senior leadership team
  /report status   your reports and where they are
  /incidents       open incidents (SLT only)
  /secondopinion   check a draft post, and ask SLT for a second opinion
  /1, /2, ...      press a numbered button from my last reply
  /quit            leave (Ctrl-D works too)"""

QUIT = ("/quit", "/exit")
CANCEL = "/cancel"
BUTTON = re.compile(r"/\d+")


def command_of(line: str) -> str:
    """A typed line as a command is matched: any case, any spacing ("/Report  Status")."""
    return " ".join(line.lower().split())


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
        self.draft: tuple[DraftInput, str] | None = None
        self.commands: dict[str, Callable[[], None]] = {
            "/help": self.help,
            "/report": self.report,
            "/report status": self.report_status,
            "/incidents": self.incidents,
            "/secondopinion": self.second_opinion,
        }

    def say(self, reply: Reply) -> None:
        self.buttons = list(reply.buttons)
        print(render_text(reply), file=self.stdout, flush=True)

    def help(self) -> None:
        print(HELP, file=self.stdout)

    def is_command(self, line: str) -> bool:
        """Whether a line is one of the console's commands or a button press ("/2")."""
        command = command_of(line)
        return command in self.commands or command in QUIT or BUTTON.fullmatch(command) is not None

    def run(self) -> None:
        print(f"staffbot — {messages.HELP_TEXT}\nType /help for commands, /quit to leave.", file=self.stdout)
        while True:
            print("\nyou> ", end="", file=self.stdout, flush=True)
            line = self.stdin.readline()
            if not line or command_of(line) in QUIT:
                print("Bye.", file=self.stdout)
                return
            self.handle(line.strip())

    def handle(self, line: str) -> None:
        """Answer one typed line; whatever goes wrong, the person gets a sentence and the chat goes on."""
        try:
            self.dispatch(line)
        except (ConfigError, StoreError) as exc:
            print(f"{messages.INTERNAL_ERROR}\n({exc})", file=self.stdout)
        except Exception as exc:  # a bug must not end the chat with a traceback
            print(f"{messages.INTERNAL_ERROR}\n({type(exc).__name__}: {exc})", file=self.stdout)

    def dispatch(self, line: str) -> None:
        """A command (any case and spacing: "/Report  Status"), a button press or a question (an
        empty line gets the hint on how to ask)."""
        command = command_of(line)
        if command in self.commands:
            self.commands[command]()
        elif BUTTON.fullmatch(command):
            self.press(int(command[1:]))
        elif line.startswith("/"):
            print(f"I don't know the command {line.split()[0]}. Type /help for what I can do.", file=self.stdout)
        else:
            self.ask(line)

    def ask(self, text: str) -> None:
        try:
            question = Question(actor=self.actor, text=text, place=Place(direct=True))
        except ValidationError as exc:
            self.say(Reply(kind="error", text=first_error(exc)))
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
            actions.OPEN_REPORT: lambda v: self.report(prefill=log.question_text(int(v))),
            **{action: self._incident_action(action) for action in INCIDENT_ACTIONS},
            actions.OPEN_SECOND_OPINION: lambda v: self.second_opinion(),
            actions.SO_SEND: lambda v: self._send_draft(),
            actions.SO_VIEW: lambda v: self.say(
                second_opinion.view_draft(self._decider(), v, self.services.reviews, self.services.roster)
            ),
            **{action: self._decision(action) for action in second_opinion.DECISIONS},
        }

    def _send_to_owner(self, value: str) -> None:
        confirmation, notice = pass_to_owner(self.actor, int(value), self.services.questions)
        self.say(confirmation)
        if notice is not None:
            print("\n[posted to the SLT channel]\n" + render_text(notice), file=self.stdout)

    # -- incident reports -----------------------------------------------------------------

    def read(self, prompt: str) -> str | None:
        """One answer from the person; None when they cancel or the input ends. A command typed
        at a question ("/help", "/quit") is not taken as the answer: the question is asked again."""
        while True:
            print(f"{prompt}\n> ", end="", file=self.stdout, flush=True)
            line = self.stdin.readline()
            if not line or command_of(line) == CANCEL:
                return None
            if not self.is_command(line):  # "/r/ukteachers" is an answer
                return line.strip()
            print(messages.FORM_COMMAND, file=self.stdout)

    def read_text(self, prompt: str, missing: str) -> str | None:
        """A required answer, asked again while it is blank (a blank line must not end the form:
        the person's next line, often the confidential note itself, would be taken as a question)."""
        while (answer := self.read(prompt)) is not None and not answer:
            print(missing.format(prompt="type it, or /cancel"), file=self.stdout)
        return answer

    def report(self, prefill: str | None = None) -> None:
        """Ask the report questions one by one, re-asking with the specific error.

        `prefill` (the question behind a "Report an incident" button) is offered as what happened.
        """
        try:
            book = self.services.incidents
        except ConfigError as exc:
            print(f"Reports are not set up: {exc}", file=self.stdout)
            return
        print(messages.REPORT_INTRO, file=self.stdout)
        answers: dict[str, object] = {}
        for field, prompt in messages.REPORT_PROMPTS.items():
            if field == "category":
                prompt += "\n" + "\n".join(f"  {n}. {c.label}" for n, c in enumerate(Category, 1))
            if field == "what_happened" and prefill:
                prompt += f"\n(Enter to use your question: “{prefill}”)"
            while True:
                answer = self.read(prompt)
                if answer is None:
                    print(messages.REPORT_CANCELLED, file=self.stdout)
                    return
                if field == "what_happened" and prefill and not answer:
                    answer = prefill
                value: object = _category_choice(answer) if field == "category" else answer
                if field == "urgent" and not answer:
                    value = False
                error = _field_error(field, value)
                if error is None:
                    answers[field] = value
                    break
                print(error, file=self.stdout)
        form = ReportForm.model_validate(answers)
        submission = report.submit_report(form, self.actor, f"console:{uuid.uuid4()}", book)
        self.say(submission.reply)
        self.deliver()

    def report_status(self) -> None:
        self.say(report.reports_for(self.actor, self.services.incidents))

    def incidents(self) -> None:
        self.say(report.open_incidents(self.actor, self.services.incidents, self.services.roster))

    def _incident_action(self, action: str) -> Callable[[str], None]:
        def press(reference: str) -> None:
            text = None
            if action in report.TEXT_ACTIONS and self.services.roster.is_slt(self.actor):  # others: refused
                text = self.read_text(messages.INCIDENT_PROMPTS[action], messages.INCIDENT_TEXT_MISSING)
                if text is None:
                    return
            outcome = report.act(self.actor, reference, action, self.services.incidents, self.services.roster, text)
            self.say(outcome.reply)
            self.deliver()

        return press

    # -- second opinions -------------------------------------------------------------------

    def read_draft(self) -> str | None:
        """Lines up to one holding only "."; None when the person cancels or the input ends."""
        print(messages.SECOND_OPINION_PROMPTS["text"], file=self.stdout, flush=True)
        lines: list[str] = []
        while True:
            line = self.stdin.readline()
            if not line or command_of(line) == CANCEL:
                return None
            if line.strip() == ".":
                return "\n".join(lines)
            lines.append(line.rstrip("\r\n"))

    def read_yes_no(self, prompt: str) -> bool | None:
        """yes / no (Enter for no); None when the person cancels."""
        while True:
            answer = self.read(prompt)
            if answer is None:
                return None
            if answer.lower() in ("", "n", "no"):
                return False
            if answer.lower() in ("y", "yes"):
                return True
            print(messages.YES_OR_NO, file=self.stdout)

    def second_opinion(self) -> None:
        """Ask for the draft and its details, then show the findings with the button to send it to SLT."""
        print(messages.SECOND_OPINION_INTRO, file=self.stdout)
        draft = self._read_draft_input()
        if draft is None:
            print(messages.SECOND_OPINION_CANCELLED, file=self.stdout)
            return
        self.draft = (draft, f"console:{uuid.uuid4()}")
        self.say(second_opinion.check_draft(self.actor, draft, self.services.reviewer))

    def _read_draft_input(self) -> DraftInput | None:
        prompts = messages.SECOND_OPINION_PROMPTS
        while (text := self.read_draft()) is not None:
            error = second_opinion.draft_error(DraftInput(text=text))
            if error is None:
                break
            print(error, file=self.stdout)
        if text is None or (account := self.read(prompts["account"])) is None:
            return None
        images = self.read_yes_no(prompts["learner_images"])
        if images is None:
            return None
        permission = self.read_yes_no(prompts["permission_checked"]) if images else None
        if images and permission is None:
            return None
        return DraftInput(
            text=text, target=account or None, contains_learner_images=images, permission_checked=permission
        )

    def _send_draft(self) -> None:
        if self.draft is None:
            print(messages.NO_DRAFT_TO_SEND, file=self.stdout)
            return
        try:
            book = self.services.reviews
        except ConfigError as exc:
            print(f"Second opinions are not set up: {exc}", file=self.stdout)
            return
        draft, key = self.draft
        self.say(second_opinion.request_second_opinion(self.actor, draft, key, self.services.reviewer, book).reply)
        self.deliver()

    def _decider(self) -> Actor:
        """Who presses SLT buttons here: one person plays both parts in a terminal, so with `chat --slt`
        SLT decisions are made by an SLT persona distinct from the requester (no self-approval still holds)."""
        roster = self.services.roster
        if not roster.is_slt(self.actor):
            return self.actor
        persona = Actor(platform="console", user_id=f"{self.actor.user_id}:slt", name=f"{self.actor.name} (SLT)")
        roster.grant(persona)
        return persona

    def _decision(self, action: str) -> Callable[[str], None]:
        def press(reference: str) -> None:
            comment = None
            if action in second_opinion.COMMENT_REQUIRED and self.services.roster.is_slt(self.actor):
                comment = self.read_text(messages.REVIEW_COMMENT_PROMPTS[action], messages.REVIEW_COMMENT_MISSING)
                if comment is None:
                    return
            book, roster = self.services.reviews, self.services.roster
            self.say(second_opinion.decide(self._decider(), reference, action, comment, book, roster).reply)
            self.deliver()

        return press

    def deliver(self) -> None:
        """Send what the last action queued, so the terminal shows the SLT side straight away."""
        outbox = self.services.outbox
        if "console" not in outbox.transports:
            outbox.register(ConsoleTransport(self))
        outbox.run_pending(patience=self.services.store.timeout)  # a busy database: fail as fast as writing would


INCIDENT_ACTIONS = (
    actions.INCIDENT_VIEW,
    actions.INCIDENT_ACKNOWLEDGE,
    actions.INCIDENT_ASSIGN,
    actions.INCIDENT_NOTE,
    actions.INCIDENT_ESCALATE,
    actions.INCIDENT_RESOLVE,
)


def _category_choice(answer: str) -> object:
    """'3' -> the third category; anything else is validated as a name."""
    categories = list(Category)
    if answer.isdigit() and 1 <= int(answer) <= len(categories):
        return categories[int(answer) - 1]
    return answer if not answer.isdigit() else "?"


_VALID = {"category": Category.OTHER, "what_happened": "placeholder"}


def _field_error(field: str, value: object) -> str | None:
    """The error for one answer, checked alongside valid placeholders for the other fields."""
    try:
        ReportForm.model_validate({**_VALID, field: value})
    except ValidationError as exc:
        return form_errors(exc).get(field)
    return None


class ConsoleTransport:
    """Shows outbox messages in the terminal, labelled with where they would have gone."""

    platform = "console"

    def __init__(self, console: Console) -> None:
        self.console = console
        self.count = itertools.count(1)

    def send(self, message: OutboundMessage) -> str:
        where = {"slt": "SLT channel", "dsl": "direct message to the safeguarding lead"}.get(
            message.destination, f"direct message to {message.destination}"
        )
        label = {"post": where, "reply": f"{where}, in thread", "update": f"{where}, post updated"}.get(
            message.kind, where
        )
        out = self.console.stdout
        print(f"\n[{label}]\n{render_text(message.reply)}", file=out, flush=True)
        if message.reply.buttons:
            self.console.buttons = list(message.reply.buttons)
        return message.message or f"console-{next(self.count)}"
