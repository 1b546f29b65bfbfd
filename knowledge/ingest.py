"""Load every policy document in a folder into chunks, reporting per-file problems.

One bad file must not take the bot down: its problem is recorded with the file name and
the other documents still load. Only a folder that is missing or cannot be listed raises.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from knowledge.chunking import chunk_blocks
from knowledge.formats import PARSERS
from knowledge.models import Chunk
from knowledge.topics import attach_topics, is_sidecar, sidecar


class Library(BaseModel):
    """The documents that loaded, their chunks, and one readable line per file problem."""

    model_config = ConfigDict(frozen=True)

    documents: list[str]
    chunks: list[Chunk]
    problems: list[str]


def load_file(path: Path) -> list[Chunk]:
    """Chunks of one document; raises ValueError for an unsupported type or no text."""
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        raise ValueError(f"unsupported file type {path.suffix or '(none)'}")
    chunks = chunk_blocks(path.name, parser(path))
    if not chunks:
        raise ValueError("no text found")
    return chunks


def load_folder(path: Path | str) -> Library:
    """Every supported document directly inside `path`, in name order.

    Raises FileNotFoundError / NotADirectoryError / PermissionError (with the folder named)
    when the folder itself cannot be read; everything else becomes a problem line.
    """
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"policy folder {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"policy folder {folder} is not a folder")
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    except PermissionError as exc:
        raise PermissionError(f"policy folder {folder} cannot be read: {exc.strerror}") from exc
    documents: list[str] = []
    chunks: list[Chunk] = []
    problems: list[str] = []
    for file in files:
        if is_sidecar(file):
            continue  # read with its document below
        if file.suffix.lower() not in PARSERS:
            problems.append(f"{file.name}: skipped, not a supported type (.txt, .md, .docx, .pdf)")
            continue
        try:
            loaded = load_file(file)
        except Exception as exc:  # noqa: BLE001 - any parser failure means "this file is unreadable"
            problems.append(f"{file.name}: could not be read ({_reason(exc)})")
            continue
        if sidecar(file).is_file():
            loaded, trouble = attach_topics(loaded, sidecar(file))
            problems.extend(trouble)
        documents.append(file.name)
        chunks.extend(loaded)
    if not files:
        problems.append(f"{folder}: no policy documents found")
    return Library(documents=documents, chunks=chunks, problems=problems)


def _reason(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message and not isinstance(exc, ValueError) else message or type(exc).__name__
