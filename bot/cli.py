"""The `staffbot` command line.

Scripts outside the project rely on `ask --json` and `review --json`: their output shapes
are a contract, documented in the README. With `--batch FILE` both print one JSON object
per non-blank line, in order; a line that can't be used gives `{"line": n, "error": "..."}`
in its place, the rest are still processed, and the exit status is then 1. Every failure
is one line on stderr (`staffbot: error: ...`) and a non-zero status, never a traceback:
1 bad input, 2 usage or configuration, 70 a bug, 130 interrupted.
"""

from __future__ import annotations

import codecs
import importlib
import io
import json
import logging
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from handlers.models import Actor, Question, first_error

from bot.config import ConfigError, load_settings
from bot.services import Services
from bot.store import StoreError

if TYPE_CHECKING:
    from knowledge import KnowledgeBase

# Subcommands imported only when run, so `staffbot ask` never loads the reviewer, the
# incident models or a chat platform SDK (see benchmarks/bench_startup.py).
LAZY_COMMANDS = {
    "deliveries": "bot.cli_deliveries:deliveries",
    "incidents": "bot.cli_incidents:incidents",
    "review": "bot.cli_review:review",
    "eval-drafts": "bot.cli_review:eval_drafts",
    "serve": "bot.cli_serve:serve",
    "teams": "bot.cli_teams:teams",
    "teams-package": "bot.cli_teams:teams_package",
}

MAX_LINE_BYTES = 64 * 1024  # a batch line longer than this is refused without reading it all
CONSOLE_SLT_CHANNEL = "console:slt"  # `chat` trials need no SLT channel: they show SLT's side in the terminal
NOT_UTF8 = "That question is not UTF-8 text; please type it in plain words."


class LazyGroup(click.Group):
    """A group whose `LAZY_COMMANDS` are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, _, name = LAZY_COMMANDS[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)


MAX_LISTED = 1_000_000  # beyond any log; also keeps the number within SQLite's integers

policies_option = click.option(
    "--policies",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of policy documents (default: the shipped data/policies).",
)


def make_services(policies: Path | None = None) -> Services:
    overrides: dict[str, Any] = {"STAFFBOT_POLICIES": policies} if policies else {}
    return Services(load_settings(**overrides))


def load_kb(services: Services, warn: bool = True) -> KnowledgeBase:
    """The knowledge base, with one warning line on stderr for each document that could not be read."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its parser chatter would repeat the problem line
    kb = services.kb
    for problem in kb.problems if warn else []:
        click.echo(f"staffbot: warning: {problem}", err=True)
    return kb


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="staffbot")
def cli() -> None:
    """Staff guidance bot: policy answers, incident reports and second opinions.

    Example:

        staffbot ask "Can I accept a friend request from a former pupil?"
    """


@cli.command()
@click.option("--slt", is_flag=True, help="Act as a member of SLT, to try the incident buttons.")
def chat(slt: bool) -> None:
    """Chat with the bot in this terminal, through the same handlers as Slack and Teams.

    Reports and second opinions made here are trials: they are stored, and what would go
    to SLT is shown in the terminal, so no SLT channel needs to be configured.
    """
    from bot.console import Console

    services = make_services()
    if not services.settings.slt_channel:
        services.settings = services.settings.model_copy(update={"slt_channel": CONSOLE_SLT_CHANNEL})
    load_kb(services)  # load before the first prompt so problems show up front
    services.questions  # and open the database: one that cannot be used stops here, not at every answer
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="surrogateescape")  # undecodable bytes get a polite reply, not a crash
    console = Console(services)
    if slt:
        services.roster.grant(console.actor)
    console.run()


def check_question(text: str) -> Question:
    """The validated question; ValueError carries the sentence to show the person."""
    if any("\udc80" <= ch <= "\udcff" for ch in text):  # bytes the OS could not decode (surrogateescape)
        raise ValueError(NOT_UTF8)
    try:
        return Question(actor=Actor(platform="console", user_id="cli"), text=text)
    except ValidationError as exc:
        raise ValueError(first_error(exc)) from None


def answer_json(question: Question, kb: KnowledgeBase) -> dict[str, Any]:
    """The `ask --json` contract: exactly these keys, up to 3 matches best first, verbatim text."""
    answer = kb.answer(question.text)
    return {
        "question": question.text,
        "answered": answer.answered,
        "confidence": round(answer.confidence, 4),
        "matches": [
            {
                "document": m.chunk.document,
                "section": m.chunk.section_path,
                "text": m.chunk.text,
                "score": round(m.score, 4),
            }
            for m in answer.matches[:3]
        ],
    }


LINE_END = re.compile(rb"\r\n?|\n")  # Unix, Windows and old Mac line endings alike


def split_lines(handle: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """Each line of `handle` without its ending (LF, CRLF or a lone CR: old Mac files have only
    CRs), read in pieces as they come (a pipe is answered line by line); None in place of a
    line over `limit` bytes, whose bytes are skipped rather than kept."""
    buffer, overlong = b"", False
    while chunk := handle.read1(limit):
        buffer += chunk
        start = 0
        for end in LINE_END.finditer(buffer):
            if end.group() == b"\r" and end.end() == len(buffer):
                break  # perhaps the first half of a CRLF: wait for the next piece
            line = buffer[start : end.start()]
            yield None if overlong or len(line) > limit else line
            overlong, start = False, end.end()
        buffer = buffer[start:]
        if len(buffer.removesuffix(b"\r")) > limit:
            overlong, buffer = True, b"\r" if buffer.endswith(b"\r") else b""
    if buffer or overlong:
        line = buffer.removesuffix(b"\r")
        yield None if overlong or len(line) > limit else line


def batch_lines(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, problem) for each non-blank line of `path` ("-": standard input, read
    the same way), in bounded pieces; see `split_lines` for where a line ends.

    A line over MAX_LINE_BYTES or not UTF-8 comes with its problem, so the caller reports
    it in place and carries on with the next line; a file that can't be opened stops here.
    """
    try:
        handle = click.open_file("-", "rb") if str(path) == "-" else path.open("rb")
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        for number, raw in enumerate(split_lines(handle, MAX_LINE_BYTES), start=1):
            if raw is None:
                yield number, "", f"line is longer than {MAX_LINE_BYTES:,} bytes"
                continue
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, "", f"line is not UTF-8 text (byte {exc.start + 1})"
                continue
            if text.strip():
                yield number, text, None


def finish_batch(bad: int, total: int, outcome: str) -> None:
    """After a batch: one stderr line and exit status 1 when any line was refused."""
    if bad:
        raise click.ClickException(f"{bad} of {total} lines could not be {outcome}; see their \"error\"")


@cli.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see README for the shape).")
@click.option("--batch", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="File with one question per line ('-': standard input).")
@policies_option
def ask(question: str | None, as_json: bool, batch: Path | None, policies: Path | None) -> None:
    """Answer a policy question.

    Example:

        staffbot ask --json "Who approves a new school account?"
    """
    if batch is None and question is None:
        raise click.UsageError("give a QUESTION, or --batch FILE with one question per line")
    if batch is not None and question is not None:
        raise click.UsageError("give either a QUESTION or --batch FILE, not both")
    if batch is not None and not as_json:
        raise click.UsageError("--batch needs --json")
    if batch is not None:
        ask_batch(batch, make_services(policies))
        return
    assert question is not None
    try:
        checked = check_question(question)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    services = make_services(policies)
    if as_json:
        click.echo(json.dumps(answer_json(checked, load_kb(services)), ensure_ascii=False))
        return
    from bot.plaintext import render_text
    from handlers.ask import ask as ask_handler

    reply = ask_handler(checked, load_kb(services), services.questions)
    click.echo(render_text(reply.model_copy(update={"buttons": []})))


def ask_batch(path: Path, services: Services) -> None:
    """One JSON object per non-blank line, in order; a bad line gives {"line", "error"} in its place."""
    kb = load_kb(services)
    total = bad = 0
    for number, text, problem in batch_lines(path):
        total += 1
        try:
            if problem:
                raise ValueError(problem)
            result = answer_json(check_question(text), kb)
        except ValueError as exc:
            bad += 1
            result = {"line": number, "error": str(exc)}
        click.echo(json.dumps(result, ensure_ascii=False))
    finish_batch(bad, total, "answered")


@cli.command()
@policies_option
@click.option("--topics-template", "template_for", metavar="DOCUMENT",
              help="Print topics entries to fill in for DOCUMENT's passages that have none "
                   "(DOCUMENT: a file name in the policies folder).")
def kb(policies: Path | None, template_for: str | None) -> None:
    """List the policy documents, their sections and chunk counts (and files that could not be read).

    Example, to add an entry to a document's topics file (created if there is none) for each
    passage it does not describe yet (">>" appends: ">" would empty the file before it is read):

        staffbot kb --topics-template acceptable-use.docx >> data/policies/acceptable-use.topics.toml
    """
    from knowledge.topics import template

    knowledge = load_kb(make_services(policies), warn=False)
    if template_for is not None:
        template_for = Path(template_for).name  # "data/policies/x.docx" names x.docx too
        if template_for not in {c.document for c in knowledge.chunks}:
            raise click.BadParameter(f"no loaded document is called {template_for!r} (see `staffbot kb`)",
                                     param_hint="--topics-template")
        click.echo(template(template_for, knowledge.chunks), nl=False)
        return
    for line in knowledge.describe():  # problems are listed here
        click.echo(line)


@cli.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1, max=MAX_LISTED),
              help="How many, newest first.")
def unanswered(limit: int) -> None:
    """Questions the policy did not cover, for the policy owner."""
    services = make_services()
    if not services.settings.db_path.exists():  # say where, so a mistyped STAFFBOT_DB shows
        click.echo(f"No unanswered questions logged (no database at {services.settings.db_path} yet).")
        return
    rows = services.questions.unanswered(limit)
    if not rows:
        click.echo("No unanswered questions logged.")
    for row in rows:
        flag = " [passed to owner]" if row["sent_to_owner_at"] else ""
        click.echo(f"#{row['id']}  {row['asked_at']}  {row['question']}{flag}")


class QAItem(BaseModel):
    """What `evaluate_qa` reads from each item of a qa_dev.json-shaped file, checked up front."""

    model_config = ConfigDict(extra="allow", strict=True)

    question: str = Field(min_length=1)
    in_scope: bool
    expected: list[str] = []

    @model_validator(mode="after")
    def _scored(self) -> QAItem:
        if self.in_scope and not any(phrase.strip() for phrase in self.expected):
            raise ValueError("an in-scope question needs its expected phrases (a hit is a passage holding one)")
        return self


def load_eval_items(path: Path, shape: type[BaseModel]) -> list[dict[str, Any]]:
    """The items of a JSON eval file, each checked against `shape`; a bad one is named with its number."""
    try:
        items = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: not JSON text ({exc})") from None
    except RecursionError:
        raise click.ClickException(f"cannot read {path}: nested too deeply to be an eval file") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise click.ClickException(f"{path} must hold a JSON list of objects")
    for number, item in enumerate(items, 1):
        try:
            shape.model_validate(item)
        except ValidationError as exc:
            loc = ".".join(str(part) for part in exc.errors()[0]["loc"])
            where = f"{loc}: " if loc else ""  # a check of the whole item has no field
            raise click.ClickException(f"{path}: item {number}: {where}{first_error(exc)}") from None
    return items


@cli.command(name="eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@policies_option
def eval_qa(file: Path, policies: Path | None) -> None:
    """Score answers against a file shaped like data/eval/qa_dev.json."""
    from knowledge.evaluate import evaluate_qa

    items = load_eval_items(file, QAItem)
    report = evaluate_qa(load_kb(make_services(policies)), items)
    for line in report.summary_lines():
        click.echo(line)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI, turning every failure into one line on stderr and a non-zero status, never a traceback."""
    try:
        status = cli.main(args=argv, prog_name="staffbot", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("staffbot: aborted", err=True)
        return 130
    except click.exceptions.NoArgsIsHelpError as exc:  # `staffbot`, `staffbot incidents`: the help, asked for
        click.echo(exc.format_message())
        return 0
    except click.ClickException as exc:
        click.echo(f"staffbot: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except (ConfigError, StoreError) as exc:
        click.echo(f"staffbot: error: {exc}", err=True)
        return 2
    except sqlite3.Error as exc:
        click.echo(f"staffbot: error: the database failed ({exc}); nothing was changed", err=True)
        return 2
    except BrokenPipeError:  # e.g. `staffbot ask --json --batch f | head -1`
        sys.stdout = None  # type: ignore[assignment]  # nothing more can be written; don't fail again at exit
        return 1
    except Exception as exc:  # a bug: still one line, with what to report
        click.echo(f"staffbot: internal error: {type(exc).__name__}: {exc} (please report this)", err=True)
        return 70
    return status if isinstance(status, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
