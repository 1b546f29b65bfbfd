"""`staffbot chat`: questions, /help, buttons (next steps included) and bad input, through Console.

Console runs over StringIO against the shipped policy and a real SQLite file; the last
tests start the real `staffbot chat` on the embedded default, as the README's first
command does.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from db_lock import write_locked

from bot.console import HELP, Console
from bot.store import Store
from handlers import messages
from handlers.models import Actor

ME = Actor(platform="console", user_id="me", name="Me")
STAFFBOT = Path(sys.executable).with_name("staffbot")
REPORTABLE = "Someone is posting racist comments under our page, what do I do?"
PUBLISHING = "Can I post this photo of the football team?"
OFF_TOPIC = "How do I order more printer toner?"
DRAFT = "Well done to our Eco Council for organising this week's litter pick! 14 bags collected."


def run(services, script: str | bytes) -> str:
    out = io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(script if isinstance(script, bytes) else script.encode()),
                             encoding="utf-8", errors="surrogateescape")  # as `staffbot chat` reads stdin
    Console(services, actor=ME, stdin=stdin, stdout=out).run()
    return out.getvalue()


def button(output: str, label: str) -> str:
    """The `/n` that presses the button `label` in the last reply that offered it."""
    row = next(line for line in reversed(output.splitlines()) if f"] {label}" in line)
    return row.split(f"] {label}")[0].rsplit("[", 1)[1]


def test_help_lists_every_command_the_console_knows(services):
    output = run(services, "/help\n")
    assert HELP in output
    console = Console(services, actor=ME)
    for command in console.commands:
        assert f"  {command} " in HELP


def test_commands_are_read_whatever_their_case_and_spacing(services):
    output = run(services, "/HELP\n/Report   Status\n")
    assert HELP in output and "I don't know the command" not in output
    assert messages.NO_REPORTS in output


def test_a_question_gets_the_passage_and_numbered_buttons(services):
    output = run(services, "How often should school accounts be monitored?\n/1\n")
    assert messages.ANSWER_TITLE in output and "Best match — Social media policy › " in output
    assert "[/1] Helpful  [/2] Not helpful" in output
    assert messages.THANKS_HELPFUL in output
    assert [r["helpful"] for r in services.store.db["feedback"].rows] == [1]


def test_an_uncovered_question_can_be_passed_to_the_policy_owner(services):
    output = run(services, f"{OFF_TOPIC}\n/1\n")
    assert messages.NOT_COVERED_TITLE in output and "[/1] Pass to the policy owner" in output
    assert messages.PASSED_ON in output and "[posted to the SLT channel]" in output
    [row] = services.questions.unanswered()
    assert row["question"] == OFF_TOPIC and row["sent_to_owner_at"]


def test_the_second_opinion_next_step_opens_the_draft_check(services):
    first = run(services, f"{PUBLISHING}\n")
    assert messages.NEXT_STEP_SECOND_OPINION.split(",")[0] in first
    press = button(first, "Ask for a second opinion")
    output = run(services, f"{PUBLISHING}\n{press}\n{DRAFT}\n.\n@Oakfield\nno\n/1\n")
    assert messages.SECOND_OPINION_INTRO in output
    assert messages.CHECK_TITLE in output
    [request] = services.reviews.requested_by(ME)
    assert (request.draft.text, request.draft.target, request.status) == (DRAFT, "@Oakfield", "pending")
    assert f"Your draft {request.reference} has been sent" in output and "[SLT channel]" in output


def test_the_report_next_step_opens_the_form_with_the_question_as_what_happened(services):
    first = run(services, f"{REPORTABLE}\n")
    press = button(first, "Report an incident")
    output = run(services, f"{REPORTABLE}\n{press}\n1\n\n\n\n\n\nno\n/report status\n")
    assert f"(Enter to use your question: “{REPORTABLE}”)" in output
    [incident] = services.incidents.reported_by(ME)
    assert (incident.category.value, incident.what_happened) == ("offensive_comment", REPORTABLE)
    assert f"Your report {incident.reference}" in output and "[SLT channel]" in output
    assert f"{incident.reference}: Offensive or inappropriate comment on a school account — New" in output


def test_the_prefilled_question_can_be_replaced(services):
    press = button(run(services, f"{REPORTABLE}\n"), "Report an incident")
    run(services, f"{REPORTABLE}\n{press}\n1\nA parent posted a racist comment at 9pm\n\n\n\n\nno\n")
    assert services.incidents.reported_by(ME)[0].what_happened == "A parent posted a racist comment at 9pm"


def test_bad_input_gets_a_polite_reply_and_the_chat_goes_on(services):
    script = b"".join([
        b"\n",
        b"   \t \n",
        b"\x00\x01\x02\x1b[2J\n",
        b"caf\xe9 cr\xe8me?\n",                      # not UTF-8
        b"x" * (10 * 1024 * 1024) + b"\n",          # a 10 MB line
        b"/bogus\n",
        b"/42\n",
        b"How often should school accounts be monitored?\n",
    ])  # fmt: skip
    output = run(services, script)
    assert output.count("Please type a question, for example") == 2
    assert output.count("That doesn't look like a question I can read") == 2
    assert "That question is 10,485,760 characters long; please keep it under 1,000." in output
    assert "I don't know the command /bogus. Type /help for what I can do." in output
    assert "There is no such button in my last reply." in output
    assert messages.ANSWER_TITLE in output and output.rstrip().endswith("Bye.")
    assert services.store.db["questions"].count == 1


@pytest.mark.usefixtures("short_busy_wait")
def test_a_locked_database_is_an_explicit_failure_and_the_chat_goes_on(services):
    services.incidents  # tables exist before the lock
    with write_locked(services.store.path):
        output = run(services, f"/report\n1\nA rude comment under the fair post\n\n\n\n\nno\n{OFF_TOPIC}\n/report status\n")
    assert messages.REPORT_NOT_RECEIVED in " ".join(output.split())  # wrapped for the terminal
    assert "has been received" not in output and "Your report INC-" not in output
    assert messages.INTERNAL_ERROR in output  # the question could not be logged either
    assert messages.NO_REPORTS in output and output.rstrip().endswith("Bye.")
    assert services.store.db["incidents"].count == 0


# -- the real `staffbot chat` -------------------------------------------------------------------


def chat(tmp_path: Path, script: bytes) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAFFBOT_", "SLACK_", "MICROSOFT_"))}
    env["STAFFBOT_DB"] = str(tmp_path / "chat.db")
    return subprocess.run([str(STAFFBOT), "chat"], input=script, capture_output=True, timeout=60, env=env, cwd=tmp_path)


def test_chat_on_the_embedded_default_answers_and_takes_a_trial_report(tmp_path):
    done = chat(tmp_path, f"{REPORTABLE}\n/report\n2\nA group chat is targeting a colleague\n\n\n\n\nno\n"
                          "/report status\n/incidents\n".encode() + b"caf\xe9?\n/quit\n")
    assert (done.returncode, done.stderr) == (0, b"")
    output = done.stdout.decode()
    assert messages.ANSWER_TITLE in output
    assert "Your report INC-" in output and "[SLT channel]" in output
    assert "Bullying or harassment — New" in output
    assert messages.INCIDENT_SLT_ONLY in output
    assert "That doesn't look like a question I can read" in output
    assert output.rstrip().endswith("Bye.")
    store = Store(tmp_path / "chat.db")
    assert store.db["incidents"].count == 1
    store.close()


def test_chat_as_slt_can_see_the_queue(tmp_path):
    done = subprocess.run(
        [str(STAFFBOT), "chat", "--slt"], input=b"/report\n10\nTest\n\n\n\n\nno\n/incidents\n",
        capture_output=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "STAFFBOT_DB": str(tmp_path / "chat.db")},
    )
    assert done.returncode == 0 and done.stderr == b""
    assert messages.OPEN_INCIDENTS_TITLE in done.stdout.decode() and "[/1] View INC-" in done.stdout.decode()


def test_chat_on_a_database_it_cannot_open_stops_at_once_with_one_line(tmp_path):
    (tmp_path / "chat.db").mkdir()  # a folder where the database file should be
    done = chat(tmp_path, b"Can I post photos of a school trip?\n")
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().startswith("staffbot: error: Cannot open the database") and done.stderr.count(b"\n") == 1
