"""Ingestion: every format, section paths, context, verbatim text, spans and problems."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.chunking import MAX_CHARS, split_text
from knowledge.ingest import load_folder
from knowledge_fixtures import POLICIES, POLICY_FILE, SAMPLE_TXT, write_docx, write_pdf


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _by_text(library, start: str):
    return next(c for c in library.chunks if c.text.startswith(start))


def test_shipped_policy_sections_and_context() -> None:
    library = load_folder(POLICIES)
    assert library.problems == []
    approve = _by_text(library, "approve account creation")
    assert approve.section == ("Organisational control", "Roles & Responsibilities")
    assert approve.context == "SLT"
    passwords = _by_text(library, "store account details")
    assert passwords.context == "Administrator / Moderator"
    closing = _by_text(library, "control the process for managing an account")
    assert closing.context == "Administrator / Moderator"  # lost indent after a blank line
    image = _by_text(library, "under no circumstances should staff share")
    assert image.context.startswith("School use of images can be assumed to be acceptable, providing")
    learners = _by_text(library, "Staff are not permitted to follow")
    assert learners.section == ("Personal use", "Pupil/Students")
    parents = _by_text(library, "Parents and carers are able to comment")
    assert parents.section == ("Personal use", "Parents/Carers")
    assert _by_text(library, "Don’t use social media to air").section[-1] == "The Don’ts"
    assert _by_text(library, "Social media (e.g. Facebook").section == ("Introduction",)
    assert not any(c.text in {"SLT", "Staff", "This policy:"} for c in library.chunks)


def test_chunks_are_verbatim_short_and_spans_point_at_their_lines() -> None:
    library = load_folder(POLICIES)
    source_lines = POLICY_FILE.read_text(encoding="utf-8").splitlines()
    source = _squash(" ".join(source_lines))
    for chunk in library.chunks:
        assert len(chunk.text) <= MAX_CHARS
        assert _squash(chunk.text) in source
        span = _squash(" ".join(source_lines[chunk.line_start - 1:chunk.line_end]))
        assert _squash(chunk.text) in span
    assert len({c.id for c in library.chunks}) == len(library.chunks)
    assert _by_text(library, "approve account creation").id == "social-media-policy.txt:37"


def test_long_text_is_split_between_sentences_verbatim() -> None:
    sentence = "Staff must keep passwords safe and never share them with anyone at all. "
    text = (sentence * 12).strip()
    pieces = split_text(text, limit=200)
    assert len(pieces) > 1
    assert all(len(p) <= 200 and p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text
    assert split_text("x" * 10, limit=200) == ["x" * 10]


def test_txt_with_nested_bullets_and_lead_in(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(SAMPLE_TXT, encoding="utf-8")
    library = load_folder(tmp_path)
    training = _by_text(library, "attend training")
    assert (training.section, training.context, training.line_start) == (("Roles",), "Staff", 9)
    ask = _by_text(library, "ask permission first")
    assert ask.section == ("Photos",)
    assert ask.context == "Photos are fine, providing the following rules are followed:"


def test_markdown_headings_and_bullets(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text(
        "# Guide\n\nIntro paragraph for the guide.\n\n## Photos\n\n* ask first\n  * even for staff\n- delete blurry ones\n",
        encoding="utf-8",
    )
    library = load_folder(tmp_path)
    nested = _by_text(library, "even for staff")
    assert nested.section == ("Guide", "Photos")
    assert nested.context == "ask first"
    assert nested.line_start == 8
    assert _by_text(library, "delete blurry ones").context == ""


def test_docx_heading_styles_and_list_paragraphs(tmp_path: Path) -> None:
    write_docx(tmp_path / "images.docx")
    library = load_folder(tmp_path)
    assert library.problems == []
    nested = _by_text(library, "delete compromising pictures")
    assert nested.section == ("Use of images",)
    assert nested.context == "ask before filming anyone"
    assert _by_text(library, "Keep posts friendly").section == ("Use of images", "Tone")


def test_pdf_text_uses_plain_text_rules(tmp_path: Path) -> None:
    write_pdf(tmp_path / "policy.pdf", [
        "Monitoring",
        "School accounts must be monitored regularly.",
        "Tone",
        "- keep it friendly",
        "- stay professional",
    ])
    library = load_folder(tmp_path)
    assert library.problems == []
    friendly = _by_text(library, "keep it friendly")
    assert friendly.section == ("Tone",)
    assert _by_text(library, "School accounts must be monitored").section == ("Monitoring",)


def test_missing_folder_raises_with_its_name(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        load_folder(missing)


def test_empty_folder_is_a_problem(tmp_path: Path) -> None:
    library = load_folder(tmp_path)
    assert library.chunks == []
    assert library.problems and "no policy documents" in library.problems[0]


def test_corrupt_files_are_named_and_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(SAMPLE_TXT, encoding="utf-8")
    (tmp_path / "broken.docx").write_bytes(b"this is not a zip file")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage without objects")
    (tmp_path / "notes.xlsx").write_bytes(b"whatever")
    (tmp_path / "blank.txt").write_text("   \n\n", encoding="utf-8")
    library = load_folder(tmp_path)
    assert library.documents == ["good.txt"]
    assert library.chunks
    problems = "\n".join(library.problems)
    for name in ("broken.docx", "broken.pdf", "notes.xlsx", "blank.txt"):
        assert name in problems
    assert "not a supported type" in next(p for p in library.problems if p.startswith("notes.xlsx"))


def test_text_files_are_read_in_the_encodings_schools_save_them_in_and_binary_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notepad-unicode.txt").write_bytes(SAMPLE_TXT.encode("utf-16"))
    (tmp_path / "windows.txt").write_bytes("Café rules\n\nStaff may not post “learner” photos.\n".encode("cp1252"))
    (tmp_path / "renamed-image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp_path / "word-export.txt").write_bytes(SAMPLE_TXT.replace("lead investigations", "lead\x0binvestigations")
                                               .encode("utf-8") + b"\x1a")  # a soft line break, a DOS end mark
    library = load_folder(tmp_path)
    assert library.documents == ["notepad-unicode.txt", "windows.txt", "word-export.txt"]
    assert "lead investigations" in {c.text for c in library.chunks if c.document == "word-export.txt"}
    assert [c.text for c in library.chunks if c.document == "notepad-unicode.txt"] == [
        c.text for c in load_folder(_single(tmp_path / "utf8", SAMPLE_TXT)).chunks]
    assert any("“learner”" in c.text for c in library.chunks if c.document == "windows.txt")
    assert library.problems == ["renamed-image.txt: could not be read (not a text file: it holds control characters)"]


def _single(folder: Path, text: str) -> Path:
    folder.mkdir()
    (folder / "p.txt").write_text(text, encoding="utf-8")
    return folder
