"""tools/confused_passages.py: confusions found from the example questions alone."""

from __future__ import annotations

import sys
from pathlib import Path

from knowledge.models import Chunk
from knowledge.vocabulary import Vocabulary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from confused_passages import confusions  # noqa: E402


def _chunk(n: int, text: str, topics: list[str]) -> Chunk:
    return Chunk(id=f"p:{n}", document="p.txt", section=(f"S{n}",), text=text, topics=tuple(topics),
                 line_start=n, line_end=n)


def test_a_question_that_reads_like_another_passage_is_a_confusion() -> None:
    photos = _chunk(1, "Photographs of pupils need parental consent.", [
        "can I put photographs of pupils on the page", "do photographs of pupils need consent first",
        "is parental consent needed for photographs of pupils", "photographs of pupils at the fair okay to share"])
    comments = _chunk(2, "Reply to comments politely and promptly.", [
        "how fast should we reply to comments", "is it ok to reply to comments late at night",
        "reply to comments about photographs of pupils at the fair", "do we reply to rude comments politely"])
    found = confusions([photos, comments], Vocabulary())
    assert set(found) <= {("p:1", "p:2"), ("p:2", "p:1")}
    assert found[("p:2", "p:1")] >= 1  # the fair question shares more words with the photos passage


def test_passages_saying_the_same_thing_are_not_confusions() -> None:
    text = "Photographs of pupils need parental consent."
    topics = ["can I put photographs of pupils on the page", "do photographs of pupils need consent first"]
    same = [_chunk(1, text, topics), _chunk(2, "*" + text + "*", topics)]
    assert confusions(same, Vocabulary()) == {}
