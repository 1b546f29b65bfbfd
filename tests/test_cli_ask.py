"""`staffbot ask`: the person's answer, the `--json` contract, `--batch`, `--policies` and bad input.

Run through `bot.cli.main` (what the console script calls) against the shipped policy and
a real SQLite file; the last tests start the real console script as a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import MAX_LINE_BYTES
from bot.store import Store
from handlers import messages
from cli_fixtures import db, run  # noqa: F401 - db is an autouse fixture
from knowledge_fixtures import POLICY_FILE, SAMPLE_TXT

STAFFBOT = Path(sys.executable).with_name("staffbot")
REPORTABLE = "Someone is posting racist comments under our page, what do I do?"
ACCOUNT = "Who approves creating a new school account?"
OFF_TOPIC = "How do I order more printer toner?"


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def logged_questions(db: Path) -> list[dict]:
    store = Store(db)
    try:
        return list(store.db.query("select question, answered from questions")) if store.db["questions"].exists() else []
    finally:
        store.close()


# -- for a person --------------------------------------------------------------------------


def test_ask_for_a_person_shows_the_passage_its_section_and_the_next_step(capsys, db, kb):
    status, out, err = run(capsys, "ask", REPORTABLE)
    assert (status, err) == (0, "")
    best = kb.answer(REPORTABLE).matches[0].chunk
    assert f"Best match — Social media policy › {best.section_path}" in out
    assert squash(best.text)[:60] in squash(out)
    assert squash(messages.NEXT_STEP_REPORT) in squash(out)
    assert "[/1]" not in out  # no buttons to press on a command line
    assert logged_questions(db) == [{"question": REPORTABLE, "answered": 1}]


def test_a_question_the_policy_does_not_cover_is_said_plainly_and_logged_for_the_owner(capsys, db):
    status, out, _ = run(capsys, "ask", OFF_TOPIC)
    assert status == 0
    assert out.startswith(messages.NOT_COVERED_TITLE)
    assert "senior" in out and "Did you mean:" in out
    assert logged_questions(db) == [{"question": OFF_TOPIC, "answered": 0}]
    assert run(capsys, "unanswered")[1].endswith(f"{OFF_TOPIC}\n")


# -- the --json contract --------------------------------------------------------------------


def test_ask_json_is_exactly_the_documented_shape(capsys, db, kb):
    status, out, err = run(capsys, "ask", "--json", ACCOUNT)
    assert (status, err) == (0, "")
    assert out.count("\n") == 1
    data = json.loads(out)
    assert list(data) == ["question", "answered", "confidence", "matches"]
    assert data["question"] == ACCOUNT and data["answered"] is True
    assert isinstance(data["confidence"], float) and 0.0 <= data["confidence"] <= 1.0
    assert 1 <= len(data["matches"]) <= 3
    policy = squash(POLICY_FILE.read_text(encoding="utf-8"))
    for match in data["matches"]:
        assert list(match) == ["document", "section", "text", "score"]
        assert match["document"] == "social-media-policy.txt"
        assert squash(match["text"]) in policy and len(match["text"]) <= 600
    scores = [m["score"] for m in data["matches"]]
    assert scores == sorted(scores, reverse=True)
    answer = kb.answer(ACCOUNT)
    assert [(m["text"], m["section"]) for m in data["matches"]] == [
        (m.chunk.text, m.chunk.section_path) for m in answer.matches[:3]
    ]
    assert data["confidence"] == round(answer.confidence, 4)
    assert logged_questions(db) == []  # scripts don't fill the policy owner's list


def test_ask_json_for_an_uncovered_question_says_answered_false(capsys):
    data = json.loads(run(capsys, "ask", "--json", OFF_TOPIC)[1])
    assert data["answered"] is False and data["confidence"] < 0.5
    assert len(data["matches"]) <= 3


def test_the_question_is_given_back_with_its_spacing_tidied(capsys):
    data = json.loads(run(capsys, "ask", "--json", f"  {ACCOUNT.replace(' ', '   ')}\n")[1])
    assert data["question"] == ACCOUNT


# -- --batch ----------------------------------------------------------------------------------


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_batch_prints_one_object_per_line_in_order_identical_to_single_asks(capsys, tmp_path):
    questions = [ACCOUNT, OFF_TOPIC, REPORTABLE]
    batch = write_lines(tmp_path / "q.txt", [q.encode() for q in questions])
    status, out, err = run(capsys, "ask", "--json", "--batch", str(batch))
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 3
    singles = [run(capsys, "ask", "--json", q)[1].rstrip("\n") for q in questions]
    assert lines == singles


def test_bad_batch_lines_become_error_objects_in_place_and_the_rest_are_answered(capsys, tmp_path):
    batch = write_lines(tmp_path / "q.txt", [
        ACCOUNT.encode(),
        b"",                                     # blank: skipped
        b"   ",                                  # whitespace only: skipped
        b"\x00\x01\x02\x7f",                     # binary junk
        "café photos?".encode("latin-1"),       # not UTF-8
        b"a" * (10 * 1024 * 1024),               # a 10 MB line
        b"why " * 400,                           # 1,600 characters
        (OFF_TOPIC + "\r").encode(),             # a Windows line ending is fine
    ])  # fmt: skip
    status, out, err = run(capsys, "ask", "--json", "--batch", str(batch))
    assert status == 1
    assert err == 'staffbot: error: 4 of 6 lines could not be answered; see their "error"\n'
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == 6
    assert results[0]["question"] == ACCOUNT and results[0]["answered"] is True
    assert results[1] == {"line": 4, "error": "That doesn't look like a question I can read: please type it in plain words."}
    assert results[2] == {"line": 5, "error": "line is not UTF-8 text (byte 4)"}
    assert results[3] == {"line": 6, "error": f"line is longer than {MAX_LINE_BYTES:,} bytes"}
    assert results[4]["line"] == 7 and "1,599 characters long" in results[4]["error"]
    assert results[5]["question"] == OFF_TOPIC and list(results[5]) == ["question", "answered", "confidence", "matches"]


def test_lines_may_end_in_a_lone_cr_as_old_mac_files_do_or_any_mix_of_endings(capsys, tmp_path):
    batch = tmp_path / "q.txt"
    batch.write_bytes(ACCOUNT.encode() + b"\r\r" + b"caf\xe9?\r" + OFF_TOPIC.encode() + b"\r\n" + REPORTABLE.encode()
                      + b"\n" + b"a" * (MAX_LINE_BYTES + 1) + b"\r" + ACCOUNT.encode() + b"\r")
    status, out, err = run(capsys, "ask", "--json", "--batch", str(batch))
    assert status == 1, err
    assert [r.get("question", r.get("line")) for r in map(json.loads, out.splitlines())] == [
        ACCOUNT, 3, OFF_TOPIC, REPORTABLE, 6, ACCOUNT]


def test_a_byte_order_mark_is_not_part_of_the_first_question(capsys, tmp_path):
    batch = write_lines(tmp_path / "q.txt", [b"\xef\xbb\xbf" + ACCOUNT.encode()])
    assert json.loads(run(capsys, "ask", "--json", "--batch", str(batch))[1])["question"] == ACCOUNT


@pytest.mark.parametrize(
    ("name", "expected_status", "message"),
    [
        ("missing.txt", 1, "cannot read {path}: No such file or directory"),
        ("folder", 2, "Invalid value for '--batch': File '{path}' is a directory."),
    ],
)
def test_an_unreadable_batch_file_is_one_line_and_no_output(capsys, tmp_path, name, expected_status, message):
    path = tmp_path / name
    if name == "folder":
        path.mkdir()
    assert run(capsys, "ask", "--json", "--batch", str(path)) == (
        expected_status, "", f"staffbot: error: {message.format(path=path)}\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_a_batch_file_without_read_permission_is_one_line(capsys, tmp_path):
    path = write_lines(tmp_path / "q.txt", [ACCOUNT.encode()])
    path.chmod(0)
    assert run(capsys, "ask", "--json", "--batch", str(path))[1:] == ("", f"staffbot: error: cannot read {path}: Permission denied\n")


# -- bad input and usage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "Please type a question, for example: can I post photos of a school trip?"),
        ("   \t  ", "Please type a question, for example: can I post photos of a school trip?"),
        ("\x00\x01\x02\x1b[31m", "That doesn't look like a question I can read: please type it in plain words."),
        ("caf\udce9 photos?", "That question is not UTF-8 text; please type it in plain words."),
        ("x" * (10 * 1024 * 1024), "That question is 10,485,760 characters long; please keep it under 1,000."),
    ],
    ids=["empty", "whitespace", "binary", "undecodable", "10MB"],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["person", "json"])
def test_bad_questions_are_one_line_on_stderr_and_exit_1(capsys, db, question, message, as_json):
    args = ["ask", "--json", question] if as_json else ["ask", question]
    assert run(capsys, *args) == (1, "", f"staffbot: error: {message}\n")
    assert logged_questions(db) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "--bogus", "q?"], "No such option '--bogus'."),
        (["ask"], "give a QUESTION, or --batch FILE with one question per line"),
        (["ask", "q?", "--batch", "f.txt"], "give either a QUESTION or --batch FILE, not both"),
        (["ask", "--batch", "f.txt"], "--batch needs --json"),
        (["ask", "one", "two"], "Got unexpected extra argument (two)"),
        (["asks", "q?"], "No such command 'asks'. Did you mean 'ask'?"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, args, message):
    assert run(capsys, *args) == (2, "", f"staffbot: error: {message}\n")


@pytest.mark.parametrize("args", [[], ["incidents"]])
def test_a_command_group_alone_prints_its_help(capsys, args):
    status, out, err = run(capsys, *args)
    assert (status, err) == (0, "") and out.startswith(f"Usage: staffbot {' '.join(args)}".rstrip() + " [OPTIONS] COMMAND")


# -- --policies -----------------------------------------------------------------------------------


@pytest.fixture
def own_policies(tmp_path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "p.txt").write_text(SAMPLE_TXT, encoding="utf-8")
    return folder


def test_policies_folder_works_with_single_and_batch(capsys, tmp_path, own_policies):
    data = json.loads(run(capsys, "ask", "--json", "--policies", str(own_policies), "Who can approve account creation?")[1])
    assert data["matches"][0] == data["matches"][0] | {"document": "p.txt", "section": "Roles", "text": "approve account creation"}
    batch = write_lines(tmp_path / "q.txt", [b"Who can approve account creation?", b"Should I delete compromising pictures?"])
    status, out, _ = run(capsys, "ask", "--json", "--batch", str(batch), "--policies", str(own_policies))
    assert status == 0
    assert [json.loads(line)["matches"][0]["document"] for line in out.splitlines()] == ["p.txt", "p.txt"]
    status, out, _ = run(capsys, "ask", "--policies", str(own_policies), "Who can approve account creation?")
    assert status == 0 and "Best match — P › Roles\n  > SLT\n  > • approve account creation\n" in out


def test_a_corrupt_document_is_a_warning_naming_it_while_the_others_answer(capsys, own_policies):
    (own_policies / "broken.docx").write_bytes(b"this is not a zip file")
    (own_policies / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    status, out, err = run(capsys, "ask", "--json", "--policies", str(own_policies), "Who can approve account creation?")
    assert status == 0
    assert json.loads(out)["matches"][0]["document"] == "p.txt"
    warnings = err.splitlines()
    assert len(warnings) == 2 and all(w.startswith("staffbot: warning: ") for w in warnings)
    assert "broken.docx: could not be read" in warnings[0] and "broken.pdf: could not be read" in warnings[1]


@pytest.mark.parametrize("kind", ["missing", "empty", "a file"])
def test_a_policies_folder_with_nothing_to_read_is_one_line_naming_it(capsys, tmp_path, kind):
    folder = tmp_path / "nothing"
    if kind == "empty":
        folder.mkdir()
    if kind == "a file":
        folder.write_text(SAMPLE_TXT, encoding="utf-8")
    status, out, err = run(capsys, "ask", "--json", "--policies", str(folder), ACCOUNT)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("staffbot: error: ") and str(folder) in err


# -- the real console script ----------------------------------------------------------------------


def staffbot(*args: str | bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(STAFFBOT), *args], input=stdin, capture_output=True, timeout=60, env=os.environ.copy())


def test_a_batch_can_come_on_standard_input(db):
    done = staffbot("ask", "--json", "--batch", "-", stdin=b"Who approves a new school account?\n\nparking permit?\n")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["question"] for line in done.stdout.splitlines()] == [
        "Who approves a new school account?", "parking permit?"]


def test_standard_input_splits_lines_as_a_file_does_a_lone_cr_included(db):
    done = staffbot("ask", "--json", "--batch", "-", stdin=b"Who approves a new school account?\r\rparking permit?\r")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["question"] for line in done.stdout.splitlines()] == [
        "Who approves a new school account?", "parking permit?"]


def test_undecodable_bytes_in_the_argument_are_one_line_not_a_traceback():
    done = staffbot("ask", b"caf\xe9 photos?")
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr == b"staffbot: error: That question is not UTF-8 text; please type it in plain words.\n"


def test_a_closed_pipe_ends_a_batch_quietly(tmp_path):
    batch = write_lines(tmp_path / "q.txt", [ACCOUNT.encode()] * 300)  # more than a pipe buffer of output
    process = subprocess.Popen([str(STAFFBOT), "ask", "--json", "--batch", str(batch)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert json.loads(process.stdout.readline())["question"] == ACCOUNT
    process.stdout.close()
    assert process.wait(timeout=60) == 1
    assert process.stderr.read() == b""


def test_ask_loads_neither_a_chat_sdk_nor_the_reviewer(db):
    probe = (
        "import sys; from bot.cli import main; status = main(['ask', '--json', sys.argv[1]]); "
        "heavy = ('slack_bolt', 'slack_sdk', 'botbuilder', 'aiohttp', 'knowledge.review', 'bot.incidents', "
        "'bot.console', 'handlers.second_opinion', 'docx', 'pypdf'); "
        "print(sorted(m for m in sys.modules if m.startswith(heavy)), status, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe, ACCOUNT], capture_output=True, text=True, timeout=60)
    assert done.stderr == "[] 0\n"
    assert json.loads(done.stdout)["answered"] is True
