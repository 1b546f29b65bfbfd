"""Topic descriptors: the words staff use for what a passage answers, kept beside the policy.

A policy says "engage with current or prior learners"; staff ask about "a friend request
from a Year 9" or "my nephew at the school". A sidecar file `NAME.topics.toml` next to a
document `NAME.txt` lists, per passage (found by a verbatim phrase), such `topics` and
example `questions`; they are indexed with the passage as a field of their own but never
shown. See data/VOCABULARY.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.models import Chunk
from knowledge.text import normalise
from knowledge.toml import tomllib

SUFFIX = ".topics.toml"


def sidecar(document: Path) -> Path:
    """Where the topics of `document` live: `policy.docx` -> `policy.topics.toml`."""
    return document.with_name(document.stem + SUFFIX)


def is_sidecar(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIX)


def attach_topics(chunks: list[Chunk], path: Path) -> tuple[list[Chunk], list[str]]:
    """`chunks` with the topics of `path` added to the passages their `match` phrase is in,
    and one problem line per entry that is malformed or matches no passage."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return chunks, [f"{path.name}: could not be read ({exc})"]
    topics: dict[str, list[str]] = {}
    problems: list[str] = []
    texts = [(c.id, normalise(c.text)) for c in chunks]
    entries = raw.get("passage", [])
    for n, entry in enumerate(entries if isinstance(entries, list) else [], 1):
        match = entry.get("match") if isinstance(entry, dict) else None
        lists = [entry.get(key, []) for key in ("topics", "questions")] if isinstance(entry, dict) else [None]
        if not isinstance(match, str) or not all(
                isinstance(items, list) and all(isinstance(item, str) for item in items) for items in lists):
            problems.append(f"{path.name}: passage {n} needs a 'match' phrase and lists of 'topics' or 'questions'")
            continue
        wanted = normalise(match)
        hits = [chunk_id for chunk_id, text in texts if wanted and wanted in text]
        if not hits:
            problems.append(f"{path.name}: passage {n} matches no passage ({match[:60]!r})")
        for chunk_id in hits:
            topics.setdefault(chunk_id, []).extend(item for items in lists for item in items)
    updated = [c.model_copy(update={"topics": tuple(topics[c.id])}) if c.id in topics else c for c in chunks]
    return updated, problems


MATCH_WORDS = 6  # a template's match phrase starts this long and grows until only its passage has it


def match_phrase(chunk: Chunk, chunks: list[Chunk]) -> str:
    """The shortest opening of the chunk's text, from MATCH_WORDS words, that no other chunk of
    its document contains (its whole text when another chunk says the same)."""
    others = [normalise(c.text) for c in chunks if c.document == chunk.document and c.id != chunk.id]
    words = chunk.text.split()
    for size in range(min(MATCH_WORDS, len(words)), len(words) + 1):
        phrase = " ".join(words[:size])
        if not any(normalise(phrase) in text for text in others):
            return phrase
    return chunk.text


def template(document: str, chunks: list[Chunk]) -> str:
    """A topics file to fill in for `document`: one entry per passage that has no topics yet,
    each with a match phrase that finds only that passage and its section as a comment (so it
    can also be appended to a topics file that describes some passages already)."""
    lines = [f"# Topics for {document}: fill in how staff ask about each passage (see data/VOCABULARY.md)."]
    for chunk in chunks:
        if chunk.document == document and not chunk.topics:
            heading = "".join(ch for ch in " ".join(chunk.section_path.split()) if ch.isprintable())
            match = json.dumps(match_phrase(chunk, chunks), ensure_ascii=False).replace("\x7f", "\\u007f")
            lines += ["", f"# {heading}", "[[passage]]", f"match = {match}", "topics = []", "questions = []"]
    return "\n".join(lines) + "\n"
