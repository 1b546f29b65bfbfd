"""Shared helpers for the knowledge tests: the shipped policy and small handmade documents."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "data" / "policies"
POLICY_FILE = POLICIES / "social-media-policy.txt"
REVIEW_RULES = ROOT / "data" / "review"

SAMPLE_TXT = """Sample policy introduction sentence that is long enough to be a paragraph.

Roles

- SLT
 - approve account creation
 - lead investigations
- Staff
 - attend training

Photos

Photos are fine, providing the following rules are followed:

- ask permission first
- delete compromising pictures
"""


def policy_folder(folder: Path, topics: str | None = None) -> Path:
    """A copy of the shipped policy in `folder`, with `topics` as its topics file (none when None),
    to see what the vocabulary or a topics file does on its own."""
    folder.mkdir(parents=True)
    shutil.copy(POLICY_FILE, folder)
    if topics is not None:
        (folder / "social-media-policy.topics.toml").write_text(topics, encoding="utf-8")
    return folder


def write_docx(path: Path) -> None:
    """A small Word policy: a heading, a paragraph and a nested list."""
    import docx

    document = docx.Document()
    document.add_heading("Use of images", level=1)
    document.add_paragraph("Images on school accounts need care.")
    document.add_paragraph("ask before filming anyone", style="List Bullet")
    document.add_paragraph("delete compromising pictures", style="List Bullet 2")
    document.add_heading("Tone", level=2)
    document.add_paragraph("Keep posts friendly and professional.")
    document.save(str(path))


def write_pdf(path: Path, lines: list[str]) -> None:
    """A one-page PDF holding `lines` as separate text lines."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def rules_folder(folder: Path, replace: tuple[str, str] | None = None) -> Path:
    """A copy of the shipped review rules (the .toml files) in `folder`, with one text
    replacement applied to every file, to try a school's own settings."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in REVIEW_RULES.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        (folder / path.name).write_text(text.replace(*replace) if replace else text, encoding="utf-8")
    return folder
