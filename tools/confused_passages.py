"""Which passages the knowledge base mixes up, found from the topics files' own example questions.

    python tools/confused_passages.py [--policies DIR] [--top N]

Each example question is held out in turn (FOLDS folds) and asked of a knowledge base built
without it; a question answered with another passage is a confusion. Prints the pairs of
passages confused most often (both directions together) with the `match` phrase of each,
ready for writing contrastive questions (see data/VOCABULARY.md). Passages whose texts
overlap (the same sentence in two sections) are left out: either is a right answer.
No evaluation set is read.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from knowledge.answer import KnowledgeBase
from knowledge.ingest import load_folder
from knowledge.models import Chunk
from knowledge.rerank import example_questions
from knowledge.text import normalise, same_text
from knowledge.toml import tomllib
from knowledge.topics import is_sidecar
from knowledge.vocabulary import Vocabulary

ROOT = Path(__file__).resolve().parent.parent
FOLDS = 4


def held_out(chunks: Sequence[Chunk], vocabulary: Vocabulary, seed: int = 1
             ) -> Iterator[tuple[KnowledgeBase, Chunk, str]]:
    """(knowledge base built without the question, its passage, example question) for every
    example question of `chunks`, FOLDS knowledge bases in all. A question listed under two
    passages is held out of both, so it never meets its own copy."""
    rng = random.Random(seed)
    fold = {q: rng.randrange(FOLDS) for q in sorted({q for c in chunks for q in c.topics})}
    for k in range(FOLDS):
        kept = [c.model_copy(update={"topics": tuple(q for q in c.topics if fold[q] != k)}) for c in chunks]
        kb = KnowledgeBase(kept, vocabulary)
        for chunk in chunks:
            for question in example_questions(chunk):
                if fold[question] == k:
                    yield kb, chunk, question


def confusions(chunks: Sequence[Chunk], vocabulary: Vocabulary, seed: int = 1) -> Counter[tuple[str, str]]:
    """(asked passage id, answered passage id) -> how many held-out example questions went wrong."""
    found: Counter[tuple[str, str]] = Counter()
    for kb, chunk, question in held_out(chunks, vocabulary, seed):
        matches = kb.search(question, 1)
        if matches and not same_text(chunk.text, matches[0].chunk.text):
            found[(chunk.id, matches[0].chunk.id)] += 1
    return found


def match_phrases(folder: Path) -> list[str]:
    """Every `match` phrase of the folder's topics files."""
    phrases: list[str] = []
    for path in sorted(folder.iterdir()):
        if is_sidecar(path):
            phrases += [e["match"] for e in tomllib.loads(path.read_text(encoding="utf-8")).get("passage", [])]
    return phrases


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=Path, default=ROOT / "data" / "policies")
    parser.add_argument("--top", type=int, default=24)
    args = parser.parse_args(argv)
    chunks = load_folder(args.policies).chunks
    by_id = {c.id: c for c in chunks}
    phrases = match_phrases(args.policies)

    def phrase(chunk_id: str) -> str:
        text = normalise(by_id[chunk_id].text)
        return next((p for p in phrases if normalise(p) in text), by_id[chunk_id].text[:60])

    pairs: Counter[tuple[str, str]] = Counter()
    for (asked, answered), n in confusions(chunks, Vocabulary.default()).items():
        pairs[tuple(sorted((phrase(asked), phrase(answered))))] += n  # type: ignore[index]
    for (a, b), n in pairs.most_common(args.top):
        print(f"{n:4d}  {a!r}  <->  {b!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
