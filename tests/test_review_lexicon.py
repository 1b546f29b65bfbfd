"""Word families: inflections, shipped word lists, the trie regex, and lexicons.toml loading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.review import DraftInput, Reviewer, RulesError, load_rules
from knowledge.review.lexicon import (
    LexiconError, adjective_forms, family_phrases, inflect_phrase, literal_pattern, read_wordlist, word_forms,
)
from knowledge_fixtures import rules_folder

RULES = Path(__file__).resolve().parent.parent / "data" / "review"


def test_word_forms_follow_english_spelling_rules() -> None:
    assert {"trips", "tripped", "tripping"} <= word_forms("trip")
    assert {"bakes", "baked", "baking"} <= word_forms("bake")
    assert {"carries", "carried", "carrying"} <= word_forms("carry")
    assert {"watches", "watched", "watching"} <= word_forms("watch")
    assert {"lies", "lying"} <= word_forms("lie")
    assert "agreing" not in word_forms("agree")


def test_adjective_forms_give_degrees_and_adverb() -> None:
    assert {"dimmer", "dimmest", "dimly"} <= adjective_forms("dim")
    assert {"lazier", "laziest", "lazily"} <= adjective_forms("lazy")
    assert {"ruder", "rudest", "rudely"} <= adjective_forms("rude")
    assert "simply" in adjective_forms("simple")


def test_phrases_inflect_their_first_word_and_irregular_forms_count() -> None:
    forms = inflect_phrase("fall over", {"fall": ["fell", "fallen"]})
    assert {"falls over", "falling over", "fell over", "fallen over"} <= forms
    assert "fall overs" not in forms


def test_family_phrases_merge_sources_and_drop_ignored() -> None:
    phrases = family_phrases({"words": ["Brick Wall"], "lemmas": ["moan"], "ignore": ["moaned"]}, {})
    assert "brick wall" in phrases and "moaning" in phrases and "moaned" not in phrases


def test_vader_wordlist_is_filtered_by_valence() -> None:
    negative = set(read_wordlist("vader", max_valence=-1.5))
    assert {"unacceptable", "disgrace", "pathetic"} <= negative
    assert not {"lovely", "proud", "fine"} & negative
    with pytest.raises(LexiconError, match="no valence"):
        read_wordlist("better_profanity", max_valence=-1)
    with pytest.raises(LexiconError, match="unknown wordlist"):
        read_wordlist("nope")


def test_literal_pattern_prefers_longest_phrase_and_matches_any_spacing() -> None:
    pattern = re.compile(rf"(?<!\w)(?:{literal_pattern(['blow', 'blow job', 'brick  wall', 'a+b'])})(?!\w)", re.I)
    assert pattern.search("a Blow job").group() == "Blow job"
    assert pattern.search("like a brick\nwall").group() == "brick\nwall"
    assert pattern.search("a+b").group() == "a+b"
    assert not pattern.search("blowing")
    assert literal_pattern([]) == ""


def test_a_lexicon_is_a_macro_every_rule_can_use(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path)
    with (folder / "lexicons.toml").open("a", encoding="utf-8") as extra:
        extra.write('\n[lexicons.SCHOOL_PET]\nlemmas = ["hamster", "gerbil"]\n')
    with (folder / "offensive.toml").open("a", encoding="utf-8") as extra:
        extra.write('\n[[rules]]\nmatch = ["{SCHOOL_PET}"]\nnear = ["stinks?"]\n')
    reviewer = Reviewer.from_folder(folder)
    assert reviewer.review(DraftInput(text="The gerbils stink.")).reasons == ["offensive"]
    assert reviewer.review(DraftInput(text="Meet our gerbils!")).reasons == []


def test_bad_lexicons_are_refused_with_the_family_named(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path)
    (folder / "lexicons.toml").write_text('[lexicons.EMPTY]\nwords = []\n', encoding="utf-8")
    with pytest.raises(RulesError, match="EMPTY"):
        load_rules(folder)
    (folder / "lexicons.toml").write_text('[lexicons.ODD]\nwordlist = "nope"\n', encoding="utf-8")
    with pytest.raises(RulesError, match="ODD"):
        load_rules(folder)
