"""How common an English word is, from data/english_words.txt (derived from wordfreq).

Two questions the policy's own text cannot answer: is an unknown word a typo or a real
word ("chek" versus "stories"), and does a word the policy never uses name the question's
topic ("whiteboard", "maternity") or is it everyday filler ("lovely", "took")?
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "english_words.txt"
RARE = 2.5  # Zipf frequency taken for a word that is not in the list (below its 3.0 floor)


@dataclass(frozen=True)
class WordFrequencies:
    """Zipf frequency (log10 uses per billion words, about 1..8) of common English words."""

    zipf: dict[str, float] = field(default_factory=dict)
    fingerprint: str = ""  # a digest of the list, so an index built with it can be reused; "" if unknown

    @classmethod
    def load(cls, path: Path | str) -> WordFrequencies:
        """Parse `word zipf` lines ('#' comments allowed); raises ValueError naming the file."""
        table: dict[str, float] = {}
        try:
            text = Path(path).read_text(encoding="utf-8")
            for number, line in enumerate(text.splitlines(), 1):
                if line and not line.startswith("#"):
                    word, value = line.split()
                    table[word] = float(value)
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"word list {path} cannot be read: {exc}") from exc
        except ValueError as exc:
            raise ValueError(f"word list {path} line {number} is not 'word frequency': {exc}") from exc
        return cls(table, hashlib.sha256(text.encode()).hexdigest())

    def __contains__(self, word: str) -> bool:
        return word in self.zipf

    def frequency(self, word: str) -> float:
        return self.zipf.get(word, RARE)


@lru_cache(maxsize=1)
def default_frequencies() -> WordFrequencies:
    """The shipped list, loaded once per process; empty when it is not there."""
    return WordFrequencies.load(DEFAULT_PATH) if DEFAULT_PATH.exists() else WordFrequencies()
