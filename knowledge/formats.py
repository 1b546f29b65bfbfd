"""Turn each supported file format into the same flat list of blocks.

A block is a heading (with its depth), a paragraph or a bullet (with its nesting depth),
plus the 1-based line span it came from (paragraph index for .docx, extracted line for .pdf).
Chunking then only has to understand blocks, not formats. python-docx and pypdf are
imported lazily so answering a question from a .txt policy stays fast to start.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

BlockKind = Literal["heading", "paragraph", "bullet"]

_BULLET = re.compile(r"^(\s*)(?:[-*+•·▪◦]|\d{1,2}[.)])\s+(\S.*)$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SENTENCE_PUNCTUATION = (".", ",", ";", "!", "?", ":")
_MAX_HEADING_WORDS = 10
_MAX_HEADING_CHARS = 80


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    line_start: int
    line_end: int
    level: int = 0  # heading depth (1 = top) or bullet depth (0 = top-level bullet)


def _short(line: str) -> bool:
    return len(line) <= _MAX_HEADING_CHARS and len(line.split()) <= _MAX_HEADING_WORDS


def _alike(first: str, other: str) -> bool:
    """Sibling headings tend to share a shape: the same word count or the same first word."""
    a, b = first.split(), other.split()
    return len(a) == len(b) or a[0].casefold() == b[0].casefold()


def _infer_heading_levels(blocks: list[Block]) -> list[Block]:
    """Nest plain-text headings, which carry no level markup.

    A heading directly under another heading opens a deeper level; a heading after content
    stays at the deepest open level whose first heading it resembles (see `_alike`),
    otherwise it closes levels back up to the top.
    """
    firsts: list[str] = []  # first heading seen at each open depth
    out: list[Block] = []
    previous_heading: Block | None = None
    for block in blocks:
        if block.kind != "heading":
            out.append(block)
            previous_heading = None
            continue
        if previous_heading is not None:
            del firsts[previous_heading.level:]
            firsts.append(block.text)
        else:
            while len(firsts) > 1 and not _alike(firsts[-1], block.text):
                firsts.pop()
            if not firsts:
                firsts.append(block.text)
        block = replace(block, level=len(firsts))
        out.append(block)
        previous_heading = block
    return out


def parse_plain(text: str, *, loose: bool = False) -> list[Block]:
    """Blocks of a plain-text policy laid out like the shipped sample.

    Headings are short lines without final punctuation standing alone between blank lines
    (or, with `loose` for PDF text where blank lines are lost, after a finished sentence);
    a short line ending in ":" right after a heading is a sub-heading. `- ` bullets nest by
    indentation and unmarked lines continue the block above them.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    indents: list[int] = []
    previous = ""  # the previous line, stripped ("" when blank)
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        following = lines[number].strip() if number < len(lines) else ""
        last = blocks[-1] if blocks else None
        if not line:
            previous = ""
            continue
        bullet = _BULLET.match(raw)
        if bullet:
            indent = len(bullet.group(1).expandtabs(4))
            while indents and indent < indents[-1]:
                indents.pop()
            if not indents or indent > indents[-1]:
                indents.append(indent)
            blocks.append(Block("bullet", bullet.group(2).strip(), number, number, len(indents) - 1))
        elif _is_heading(line, previous, following, last, loose):
            indents.clear()
            blocks.append(Block("heading", line.rstrip(":").strip(), number, number))
        elif previous and last is not None and last.kind != "heading":
            blocks[-1] = replace(last, text=f"{last.text} {line}", line_end=number)
        else:
            indents.clear()
            blocks.append(Block("paragraph", line, number, number))
        previous = line
    return _infer_heading_levels(blocks)


def _is_heading(line: str, previous: str, following: str, last: Block | None, loose: bool) -> bool:
    if not _short(line):
        return False
    if line.endswith(":"):  # "Managing your personal use of Social Media:", not a lead-in sentence
        return "," not in line and last is not None and last.kind == "heading" and (not previous or loose)
    if line.endswith(_SENTENCE_PUNCTUATION):
        return False
    if not loose:
        return not previous and not following
    return not previous or previous.endswith((".", "!", "?", ":")) or (last is not None and last.kind == "heading")


def parse_markdown(text: str) -> list[Block]:
    """Blocks of a Markdown file: `#` headings give depth, `-`/`*` bullets nest by indent."""
    blocks: list[Block] = []
    plain: list[str] = []
    offset = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        heading = _MD_HEADING.match(raw)
        if heading:
            if plain:
                blocks.extend(_shift(parse_plain("\n".join(plain)), offset))
            blocks.append(Block("heading", heading.group(2).strip(), number, number, len(heading.group(1))))
            plain, offset = [], number
        else:
            plain.append(raw)
    if plain:
        blocks.extend(_shift(parse_plain("\n".join(plain)), offset))
    return blocks


def _shift(blocks: list[Block], offset: int) -> list[Block]:
    """Body blocks of a Markdown section; their text never holds headings of its own."""
    return [
        replace(b, kind="paragraph" if b.kind == "heading" else b.kind, level=0 if b.kind == "heading" else b.level,
                line_start=b.line_start + offset, line_end=b.line_end + offset)
        for b in blocks
    ]


def parse_docx(path: Path) -> list[Block]:
    """Blocks of a Word file: "Heading N"/"Title" styles are headings, list paragraphs bullets.

    Line numbers are 1-based paragraph indexes.
    """
    import docx  # lazy: only needed when a .docx policy is present

    blocks: list[Block] = []
    for number, paragraph in enumerate(docx.Document(str(path)).paragraphs, start=1):
        text = paragraph.text.strip()
        if not text:
            continue
        style = paragraph.style.name if paragraph.style is not None else ""
        heading = re.match(r"Heading (\d)", style)
        if heading or style == "Title":
            level = int(heading.group(1)) if heading else 1
            blocks.append(Block("heading", text.rstrip(":"), number, number, level))
        elif "List" in style or paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None:
            blocks.append(Block("bullet", text, number, number, _list_depth(paragraph, style)))
        else:
            blocks.append(Block("paragraph", text, number, number))
    return blocks


def _list_depth(paragraph: object, style: str) -> int:
    """Nesting depth of a list paragraph, from its numbering level or a "List Bullet 2" style."""
    numbering = paragraph._p.pPr.numPr if paragraph._p.pPr is not None else None  # type: ignore[attr-defined]
    if numbering is not None and numbering.ilvl is not None:
        return int(numbering.ilvl.val)
    suffix = re.search(r"(\d)$", style)
    return int(suffix.group(1)) - 1 if suffix else 0


def parse_pdf(path: Path) -> list[Block]:
    """Blocks of a PDF's extracted text (pages in order), read with the plain-text rules."""
    from pypdf import PdfReader  # lazy: only needed when a .pdf policy is present

    pages = [page.extract_text() or "" for page in PdfReader(str(path)).pages]
    return parse_plain("\n".join(pages), loose=True)


STRAY_SHARE = 0.01  # control characters a text file may hold, as a share of its characters (binary: ~12%)


def _read_text(path: Path) -> str:
    """File text as UTF-8 (with or without BOM), UTF-16 with its BOM (Notepad's "Unicode"), or
    else Windows-1252; raises ValueError for what is not text at all (a NUL, or more than a few
    control characters), so the file is named as unreadable rather than indexed as noise. A few
    stray ones (Word's soft line break, a DOS end-of-file mark) become spaces."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    stray = [ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t"]
    if "\x00" in stray or len(stray) > len(text) * STRAY_SHARE:
        raise ValueError("not a text file: it holds control characters")
    return text.translate(dict.fromkeys(map(ord, stray), " "))


PARSERS: dict[str, Callable[[Path], list[Block]]] = {
    ".txt": lambda path: parse_plain(_read_text(path)),
    ".md": lambda path: parse_markdown(_read_text(path)),
    ".markdown": lambda path: parse_markdown(_read_text(path)),
    ".docx": parse_docx,
    ".pdf": parse_pdf,
}
