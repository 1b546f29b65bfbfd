"""Common-English word frequencies: typos versus real words, topic words versus filler."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.english import RARE, WordFrequencies, default_frequencies
from knowledge.vocabulary import PhraseTable


def test_shipped_list_knows_everyday_words_but_not_typos() -> None:
    english = default_frequencies()
    assert "stories" in english and "lovely" in english
    assert "chek" not in english and "polcy" not in english
    assert english.frequency("people") > english.frequency("sarcastic") > RARE
    assert english.frequency("chek") == RARE


def test_malformed_list_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "words.txt"
    bad.write_text("# comment\nthe 7.7\nbroken\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"words.txt line 3 is not 'word frequency'"):
        WordFrequencies.load(bad)
    with pytest.raises(ValueError, match="cannot be read"):
        WordFrequencies.load(tmp_path / "missing.txt")


def test_only_unknown_non_words_are_repaired(kb: KnowledgeBase) -> None:
    labels = {u.label for u in kb.index.analyse("local news stories on my chek list")}
    assert "stories" in labels and "strikes" not in labels  # a real word, not a typo
    assert "check" in labels


def test_rare_words_weigh_more_than_everyday_ones(kb: KnowledgeBase) -> None:
    units = {u.label: u for u in kb.index.analyse("sarcastic lovely")}
    assert kb.index.weight(units["sarcastic"]) > kb.index.weight(units["lovely"])


def test_stem_lookalikes_are_not_inflections() -> None:
    table = PhraseTable({"conversation": ["talk"], "harass": ["abuse"], "bully": ["abuse"]})
    assert table.find(["conversion"]) == []
    assert table.find(["harassed"]) == [(0, 1, ["abuse"])]
    assert table.find(["bullied"]) == [(0, 1, ["abuse"])]


def test_how_to_questions_need_a_closer_match(kb: KnowledgeBase) -> None:
    assert kb.vocabulary.asks_for_procedure(["so", "how", "do", "i", "book", "it"])
    assert not kb.vocabulary.asks_for_procedure(["who", "keeps", "the", "passwords", "how", "do", "i"])
    how_to = kb.answer("How do I keep the passwords for the school accounts safe?")
    rule = kb.answer("Should the passwords for the school accounts be kept safe?")
    assert how_to.matches[0].chunk == rule.matches[0].chunk
    assert how_to.confidence < rule.confidence
    assert not kb.answer("How do I book the minibus for a trip?").answered
