"""Index analyses kept between processes: reused only for the very inputs they came from."""

from __future__ import annotations

import importlib.metadata
import json
import os
from pathlib import Path

import pytest
from knowledge_fixtures import POLICIES, SAMPLE_TXT

from bot.index_cache import KEPT, IndexCache
from knowledge import KnowledgeBase, index
from knowledge.index import Index
from knowledge.vocabulary import DEFAULT_PATH, Vocabulary

QUESTIONS = ["Can I accept a friend request from a former pupil?", "who approves a new school account",
             "A journalist rang me about the trip", "What's for lunch on Tuesday?"]


def answers(kb: KnowledgeBase) -> list[str]:
    return [kb.answer(q).model_dump_json() for q in QUESTIONS]


def kept(folder: Path) -> list[Path]:
    return sorted(folder.glob("index-*.json"))


def never_analyse(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self, texts):
        raise AssertionError("the analysis was worked out again")

    monkeypatch.setattr(Index, "_analyse", fail)


def small_policy(folder: Path, extra: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "policy.txt").write_text(SAMPLE_TXT + extra, encoding="utf-8")
    return folder


def test_a_policy_loaded_again_reads_its_analysis_and_answers_exactly_as_before(tmp_path, monkeypatch):
    cache = IndexCache(tmp_path / "cache")
    expected = answers(KnowledgeBase.from_folder(POLICIES, cache=cache))
    assert len(kept(tmp_path / "cache")) == 1
    never_analyse(monkeypatch)
    assert answers(KnowledgeBase.from_folder(POLICIES, cache=cache)) == expected


def test_an_edited_policy_is_analysed_afresh_and_answers_from_its_new_text(tmp_path):
    cache = IndexCache(tmp_path / "cache")
    folder = small_policy(tmp_path / "policy")
    before = KnowledgeBase.from_folder(folder, cache=cache)
    assert all("minibus" not in m.chunk.text for m in before.answer("Who may drive the minibus?").matches)
    small_policy(folder, "\nTransport\n\nOnly staff with a D1 licence may drive the minibus on trips.\n")
    after = KnowledgeBase.from_folder(folder, cache=cache)
    assert "drive the minibus" in after.answer("Who may drive the minibus?").matches[0].chunk.text
    assert len(kept(tmp_path / "cache")) == 2


def test_an_edited_vocabulary_is_not_served_the_old_analysis(tmp_path, monkeypatch):
    cache = IndexCache(tmp_path / "cache")
    folder = small_policy(tmp_path / "policy")
    KnowledgeBase.from_folder(folder, cache=cache)
    edited = tmp_path / "vocabulary.toml"
    edited.write_text(DEFAULT_PATH.read_text(encoding="utf-8") + '\n[concepts.minibus]\n"bus" = []\n', encoding="utf-8")
    KnowledgeBase.from_folder(folder, Vocabulary.load(edited), cache=cache)
    assert len(kept(tmp_path / "cache")) == 2


def test_a_damaged_analysis_is_worked_out_again_and_replaced(tmp_path):
    cache = IndexCache(tmp_path / "cache")
    folder = small_policy(tmp_path / "policy")
    expected = answers(KnowledgeBase.from_folder(folder, cache=cache))
    [path] = kept(tmp_path / "cache")
    path.write_text(path.read_text(encoding="utf-8")[:1000], encoding="utf-8")
    assert answers(KnowledgeBase.from_folder(folder, cache=cache)) == expected
    assert json.loads(path.read_text(encoding="utf-8"))["bags"]


def test_an_analysis_of_another_number_of_passages_is_not_used(tmp_path):
    cache = IndexCache(tmp_path / "cache")
    folder = small_policy(tmp_path / "policy")
    expected = answers(KnowledgeBase.from_folder(folder, cache=cache))
    [path] = kept(tmp_path / "cache")
    analysis = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**analysis, "bags": analysis["bags"][:1]}), encoding="utf-8")
    assert answers(KnowledgeBase.from_folder(folder, cache=cache)) == expected


def test_a_folder_that_cannot_be_written_costs_only_speed(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    kb = KnowledgeBase.from_folder(small_policy(tmp_path / "policy"), cache=IndexCache(blocked / "cache"))
    assert kb.answer("who approves account creation").answered
    assert blocked.read_text(encoding="utf-8") == "not a folder"


def test_without_a_digest_of_the_vocabulary_nothing_is_kept(tmp_path):
    folder = small_policy(tmp_path / "policy")
    chunks = KnowledgeBase.from_folder(folder).chunks
    KnowledgeBase(chunks, Vocabulary(), cache=IndexCache(tmp_path / "cache"))
    assert kept(tmp_path / "cache") == []


def test_only_the_newest_analyses_and_nothing_else_in_the_folder_are_kept(tmp_path):
    cache = IndexCache(tmp_path / "cache")
    keys = [f"{n:064x}" for n in range(KEPT + 3)]
    for n, key in enumerate(keys[:-1]):
        cache.put(key, "{}")
        os.utime(cache.folder / f"index-{key}.json", (1_000_000 + n, 1_000_000 + n))
    theirs = [cache.folder / "index-notes.json", cache.folder / "index.json"]
    for path in theirs:
        path.write_text("someone else's", encoding="utf-8")
    abandoned, recent = cache.folder / ".index-abandoned.tmp", cache.folder / ".index-writing.tmp"
    abandoned.write_text("{", encoding="utf-8")
    os.utime(abandoned, (1_000_000, 1_000_000))
    recent.write_text("{", encoding="utf-8")
    cache.put(keys[-1], "{}")
    assert [p.name for p in kept(cache.folder) if p not in theirs] == [f"index-{key}.json" for key in keys[-KEPT:]]
    assert all(p.exists() for p in theirs)
    assert cache.get(keys[-1]) == "{}" and cache.get(keys[0]) is None
    assert not abandoned.exists() and recent.exists()


def test_the_bot_keeps_its_analysis_where_staffbot_cache_says(tmp_path, monkeypatch):
    from bot.config import load_settings
    from bot.services import load_knowledge

    monkeypatch.setenv("STAFFBOT_POLICIES", str(small_policy(tmp_path / "policy")))
    monkeypatch.setenv("STAFFBOT_CACHE", str(tmp_path / "cache"))
    load_knowledge(load_settings())
    assert len(kept(tmp_path / "cache")) == 1


def test_another_version_of_the_stemmer_or_typo_repair_is_not_served_the_old_analysis(monkeypatch):
    version = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0" if name == "PyStemmer" else version(name))
    assert index._code_digest() not in ("", index.CODE_DIGEST)


def test_code_whose_source_cannot_be_read_keeps_nothing_and_still_answers(tmp_path, monkeypatch):
    monkeypatch.setattr(index, "ANALYSED_BY", ("no-such-module.py",))
    assert index._code_digest() == ""
    monkeypatch.setattr(index, "CODE_DIGEST", "")
    kb = KnowledgeBase.from_folder(small_policy(tmp_path / "policy"), cache=IndexCache(tmp_path / "cache"))
    assert kb.answer("who approves account creation").answered
    assert kept(tmp_path / "cache") == []
