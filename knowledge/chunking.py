"""Blocks -> chunks: one chunk per bullet or paragraph, with its section path and context.

A policy answer is usually one bullet, so a bullet is the unit of retrieval. A nested
bullet keeps its parent ("SLT") as context; bullets after a lead-in sentence ending in ":"
keep that sentence as context. Short label bullets that only group nested ones ("SLT")
become context rather than chunks of their own. Text longer than the limit is split at
sentence boundaries, always verbatim.
"""

from __future__ import annotations

from knowledge.formats import Block
from knowledge.models import Chunk
from knowledge.text import split_sentences

MAX_CHARS = 600
INTRODUCTION = "Introduction"  # section of text that comes before the first heading
_LABEL_WORDS = 6


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Verbatim pieces of `text` of at most `limit` characters, cut between sentences.

    Consecutive sentences are packed together while they fit; a single sentence longer than
    the limit is cut between words.
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for sentence in split_sentences(text):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if pieces and len(pieces[-1]) + 1 + len(sentence) <= limit:
            pieces[-1] = f"{pieces[-1]} {sentence}"
        else:
            pieces.append(sentence)
    return pieces


def _is_label(blocks: list[Block], i: int) -> bool:
    """A short capitalised bullet directly followed by bullets nested under it ("SLT",
    "Administrator / Moderator") is only a group label."""
    block = blocks[i]
    following = blocks[i + 1] if i + 1 < len(blocks) else None
    return (
        block.kind == "bullet"
        and block.text[:1].isupper()
        and len(block.text.split()) <= _LABEL_WORDS
        and following is not None
        and following.kind == "bullet"
        and following.level > block.level
    )


def chunk_blocks(document: str, blocks: list[Block], limit: int = MAX_CHARS) -> list[Chunk]:
    """Chunks of one document, in reading order, with ids `document:line[.n]`."""
    chunks: list[Chunk] = []
    path: list[str] = []
    lead_in = ""
    parents: list[str] = []  # text of the open bullet at each depth
    lowercase_group = False  # the open top-level bullet is a label whose children start lowercase
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            path = path[: max(block.level - 1, 0)] + [block.text]
            lead_in, parents, lowercase_group = "", [], False
            continue
        level = block.level
        if block.kind == "bullet":
            # A lowercase top-level bullet after a blank line that follows a group of lowercase
            # nested bullets was meant to continue that group (a lost indent).
            gap = i > 0 and block.line_start > blocks[i - 1].line_end + 1
            if level == 0 and lowercase_group and gap and block.text[:1].islower():
                level = 1
            del parents[level:]
            context = parents[-1] if parents else lead_in
            parents.append(block.text)
            if _is_label(blocks, i):
                if level == 0:
                    lowercase_group = blocks[i + 1].text[:1].islower()
                continue
            if level == 0:
                lowercase_group = False
        else:
            context, parents, lowercase_group = "", [], False
            lead_in = block.text if block.text.rstrip("*").endswith(":") else ""
            if lead_in and len(lead_in.split()) <= _LABEL_WORDS:
                continue  # "This policy:" only introduces the bullets below it
        for n, piece in enumerate(split_text(block.text, limit)):
            chunks.append(
                Chunk(
                    id=f"{document}:{block.line_start}" + (f".{n + 1}" if n else ""),
                    document=document,
                    section=tuple(path) or (INTRODUCTION,),
                    text=piece,
                    context=context,
                    line_start=block.line_start,
                    line_end=block.line_end,
                )
            )
    return chunks
