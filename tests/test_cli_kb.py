"""`staffbot kb`, `staffbot unanswered` and `staffbot eval`, through `bot.cli.main`."""

from __future__ import annotations

import json
import os

import pytest

from bot.config import load_settings
from bot.services import Services
from handlers.ask import pass_to_owner
from handlers.models import Actor
from knowledge import KnowledgeBase
from knowledge.evaluate import evaluate_qa
from knowledge.toml import tomllib
from cli_fixtures import db, run  # noqa: F401 - db is an autouse fixture
from knowledge_fixtures import POLICIES, SAMPLE_TXT, write_docx

OFF_TOPIC = ["How do I order more printer toner?", "Is there a discount for the staff gym?"]


# -- kb -------------------------------------------------------------------------------------------


def test_kb_lists_each_document_its_sections_and_chunk_counts(capsys):
    status, out, err = run(capsys, "kb")
    assert (status, err) == (0, "")
    kb = KnowledgeBase.from_folder(POLICIES)
    assert out.splitlines() == [
        f"social-media-policy.txt ({len(kb.chunks)} passages, {len(kb.chunks)} with topics)",
        *(f"  {section}: {count}" for _, section, count in kb.sections()),
    ]
    assert "  Organisational control › Roles & Responsibilities: " in out


def test_kb_writes_a_topics_template_that_loads_for_a_document_without_one(capsys, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "a-policy.txt").write_text(SAMPLE_TXT, encoding="utf-8")
    status, template, err = run(capsys, "kb", "--policies", str(folder), "--topics-template", str(folder / "a-policy.txt"))
    assert (status, err) == (0, "")
    entries = tomllib.loads(template)["passage"]
    chunks = KnowledgeBase.from_folder(folder).chunks
    assert len(entries) == len(chunks) and all(c.text.startswith(e["match"]) for e, c in zip(entries, chunks))
    (folder / "a-policy.topics.toml").write_text(template.replace("topics = []", 'topics = ["x"]'), encoding="utf-8")
    assert run(capsys, "kb", "--policies", str(folder))[1].splitlines()[0] == "a-policy.txt (7 passages, 7 with topics)"
    assert run(capsys, "kb", "--policies", str(folder), "--topics-template", "nope.docx") == (
        2, "", "staffbot: error: Invalid value for --topics-template: no loaded document is called 'nope.docx' "
               "(see `staffbot kb`)\n")


def test_kb_names_unreadable_files_while_the_others_load(capsys, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "a-policy.txt").write_text(SAMPLE_TXT, encoding="utf-8")
    write_docx(folder / "images.docx")
    (folder / "broken.docx").write_bytes(b"not a zip")
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4 truncated")
    (folder / "minutes.xlsx").write_bytes(b"whatever")
    status, out, err = run(capsys, "kb", "--policies", str(folder))
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines == KnowledgeBase.from_folder(folder).describe()
    documents = [line for line in lines if not line.startswith((" ", "problem: "))]
    assert documents == ["a-policy.txt (7 passages, no topics: found by its own wording only)",
                         "images.docx (4 passages, no topics: found by its own wording only)"]
    problems = [line for line in lines if line.startswith("problem: ")]
    assert [p.split(":")[1].strip() for p in problems] == ["broken.docx", "minutes.xlsx", "scan.pdf"]
    assert "could not be read" in problems[0] and "not a supported type" in problems[1]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("missing", "does not exist"), ("empty", "no policy documents found"), ("unusable", "could not be read")],
)
def test_kb_without_any_readable_policy_is_one_line_naming_the_folder(capsys, tmp_path, kind, reason):
    folder = tmp_path / "policies"
    if kind != "missing":
        folder.mkdir()
    if kind == "unusable":
        (folder / "broken.pdf").write_bytes(b"junk")
    status, out, err = run(capsys, "kb", "--policies", str(folder))
    assert (status, out) == (2, "")
    assert err.startswith("staffbot: error: STAFFBOT_POLICIES: ") and err.count("\n") == 1
    assert str(folder) in err and reason in err


def test_the_policies_setting_is_read_from_the_environment(capsys, monkeypatch, tmp_path):
    (tmp_path / "p.md").write_text("# Guide\n\nIntro paragraph for the guide.\n", encoding="utf-8")
    monkeypatch.setenv("STAFFBOT_POLICIES", str(tmp_path))
    assert run(capsys, "kb")[1].splitlines()[0] == "p.md (1 passage, no topics: found by its own wording only)"


# -- unanswered ------------------------------------------------------------------------------------


def test_unanswered_lists_what_people_asked_that_the_policy_missed_newest_first(capsys, db):
    assert run(capsys, "unanswered") == (0, f"No unanswered questions logged (no database at {db} yet).\n", "")
    assert not db.exists()
    for question in [*OFF_TOPIC, "Who approves creating a new school account?"]:
        assert run(capsys, "ask", question)[0] == 0
    status, out, _ = run(capsys, "unanswered")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 2
    assert lines[0].startswith("#2  ") and lines[0].endswith(OFF_TOPIC[1])
    assert lines[1].startswith("#1  ") and lines[1].endswith(OFF_TOPIC[0])
    services = Services(load_settings())
    pass_to_owner(Actor(platform="slack", user_id="U1"), 1, services.questions)
    services.close()
    assert run(capsys, "unanswered", "--limit", "1")[1].splitlines() == [lines[0]]
    assert run(capsys, "unanswered")[1].splitlines()[1].endswith(f"{OFF_TOPIC[0]} [passed to owner]")


@pytest.mark.parametrize("limit", ["0", "99999999999999999999999"])
def test_unanswered_refuses_a_limit_out_of_range(capsys, limit):
    status, out, err = run(capsys, "unanswered", "--limit", limit)
    assert (status, out) == (2, "") and err.startswith("staffbot: error: Invalid value for '--limit'")


# -- eval -------------------------------------------------------------------------------------------


ITEMS = [
    {"id": "a", "question": "Who approves creating a new school account?", "in_scope": True,
     "expected": ["approve account creation", "create the account following SLT approval"]},
    {"id": "b", "question": "How often should school accounts be monitored?", "in_scope": True,
     "expected": ["monitored regularly and frequently"]},
    {"id": "c", "question": OFF_TOPIC[0], "in_scope": False, "expected": []},
]  # fmt: skip


def test_eval_prints_the_scores_of_the_shipped_knowledge_base(capsys, tmp_path):
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(ITEMS), encoding="utf-8")
    status, out, err = run(capsys, "eval", str(path))
    assert (status, err) == (0, "")
    report = evaluate_qa(KnowledgeBase.from_folder(POLICIES), ITEMS)
    assert out.splitlines() == report.summary_lines()
    assert out.startswith("in-scope questions:      2\n") and "out-of-scope questions:  1" in out


def test_eval_with_another_policies_folder(capsys, tmp_path):
    (tmp_path / "p.txt").write_text(SAMPLE_TXT, encoding="utf-8")
    path = tmp_path / "qa.json"
    path.write_text(json.dumps([{"question": "who approves account creation", "in_scope": True, "expected": ["approve account"]}]))
    status, out, _ = run(capsys, "eval", "--policies", str(tmp_path), str(path))
    assert status == 0 and "  top-1 hit rate:        1.00" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read {path}: No such file or directory"),
        (b"{oops", "cannot read {path}: not JSON text"),
        (b"\xff\xfe[]", "cannot read {path}: not JSON text"),
        (b'{"question": "x"}', "{path} must hold a JSON list of objects"),
        (b'[{"id": "a"}]', "{path}: item 1: question: Field required"),
        (b'[{"question": "q"}]', "{path}: item 1: in_scope: Field required"),
        (b'[{"question": "q", "in_scope": true, "expected": [" "]}]',
         "{path}: item 1: an in-scope question needs its expected phrases (a hit is a passage holding one)"),
        (b"[" * 100_000, "cannot read {path}: nested too deeply to be an eval file"),
        (b'[{"question": ""}]', "{path}: item 1: question: String should have at least 1 character"),
        (b'[{"question": "q", "in_scope": false}, {"question": "q", "in_scope": "maybe"}]', "{path}: item 2: in_scope: Input should be a valid boolean"),
        (b'[{"question": "q", "in_scope": true, "expected": "abc"}]', "{path}: item 1: expected: Input should be a valid list"),
    ],
)
def test_eval_refuses_a_malformed_file_in_one_line(capsys, tmp_path, content, message):
    path = tmp_path / "qa.json"
    if content is not None:
        path.write_bytes(content)
    status, out, err = run(capsys, "eval", str(path))
    assert (status, out) == (1, "")
    assert err.startswith(f"staffbot: error: {message.format(path=path)}") and err.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_folder_and_file_are_named(capsys, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "a-policy.txt").write_text(SAMPLE_TXT, encoding="utf-8")
    locked = folder / "locked.txt"
    locked.write_text(SAMPLE_TXT, encoding="utf-8")
    locked.chmod(0)
    status, out, _ = run(capsys, "kb", "--policies", str(folder))
    assert status == 0 and out.startswith("a-policy.txt (") and "problem: locked.txt: could not be read" in out
    folder.chmod(0)
    try:
        status, out, err = run(capsys, "kb", "--policies", str(folder))
    finally:
        folder.chmod(0o755)
    assert (status, out) == (2, "")
    assert err == f"staffbot: error: STAFFBOT_POLICIES: policy folder {folder} cannot be read: Permission denied\n"
