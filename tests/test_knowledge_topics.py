"""Topic descriptors beside a policy: attached to the passage they name, never shown."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge import KnowledgeBase, load_folder
from knowledge.toml import tomllib
from knowledge_fixtures import POLICY_FILE, policy_folder

NEPHEW = "My nephew is in Year 9 here. Can I keep following him on Instagram?"


def _folder(tmp_path: Path, topics: str | None) -> Path:
    return policy_folder(tmp_path / "policies", topics)


def test_topics_reach_the_passage_their_phrase_is_in(tmp_path: Path) -> None:
    topics = '[[passage]]\nmatch = "not permitted to follow or engage"\ntopics = ["nephew", "niece", "relative at the school"]\n'
    with_topics = KnowledgeBase.from_folder(_folder(tmp_path, topics))
    without = KnowledgeBase.from_folder(_folder(tmp_path / "bare", None))
    assert "prior learners" in with_topics.answer(NEPHEW).matches[0].chunk.text
    assert all("nephew" not in m.chunk.text for m in with_topics.answer(NEPHEW).matches)  # indexed, not shown
    assert with_topics.answer(NEPHEW).matches[0].score > without.answer(NEPHEW).matches[0].score


def test_the_sidecar_is_not_reported_as_a_document(tmp_path: Path) -> None:
    library = load_folder(_folder(tmp_path, '[[passage]]\nmatch = "approve account creation"\ntopics = ["sign off a new page"]\n'))
    assert library.documents == ["social-media-policy.txt"]
    assert library.problems == []
    chunk = next(c for c in library.chunks if c.text == "approve account creation")
    assert chunk.topics == ("sign off a new page",)


def test_an_entry_matching_no_passage_is_a_problem_naming_the_file(tmp_path: Path) -> None:
    library = load_folder(_folder(tmp_path, '[[passage]]\nmatch = "words the policy never says"\ntopics = ["x"]\n'))
    assert library.problems == ["social-media-policy.topics.toml: passage 1 matches no passage ('words the policy never says')"]
    assert library.chunks  # the policy itself still loads


def test_malformed_topics_keep_the_document(tmp_path: Path) -> None:
    library = load_folder(_folder(tmp_path, "[[passage]\nmatch = "))
    assert len(library.problems) == 1 and library.problems[0].startswith("social-media-policy.topics.toml: could not be read")
    assert library.documents == ["social-media-policy.txt"]
    library = load_folder(_folder(tmp_path / "b", '[[passage]]\nmatch = "approve account creation"\ntopics = "not a list"\n'))
    assert library.problems == ["social-media-policy.topics.toml: passage 1 needs a 'match' phrase and lists of 'topics' or 'questions'"]


def test_shipped_topics_all_find_their_passage() -> None:
    assert load_folder(POLICY_FILE.parent).problems == []


def test_a_template_has_one_entry_per_passage_each_finding_only_its_own(tmp_path: Path) -> None:
    from knowledge.topics import attach_topics, template

    chunks = load_folder(_folder(tmp_path, None)).chunks
    filled = template("social-media-policy.txt", chunks).replace("topics = []", 'topics = ["marker"]')
    entries = tomllib.loads(filled)["passage"]
    assert len(entries) == len(chunks)
    path = tmp_path / "t.topics.toml"
    for n, entry in enumerate(entries):  # each entry alone reaches its own passage only
        path.write_text(f"[[passage]]\nmatch = {json.dumps(entry['match'])}\ntopics = ['x']\n", encoding="utf-8")
        updated, problems = attach_topics(chunks, path)
        assert problems == []
        reached = {c.text for c in updated if c.topics}
        assert chunks[n].text in reached
        assert reached == {chunks[n].text} or entry["match"] == chunks[n].text  # unless another says it all too
    path.write_text(filled, encoding="utf-8")
    assert attach_topics(chunks, path)[1] == []
    described = attach_topics(chunks, path)[0]
    assert template("social-media-policy.txt", described).count("[[passage]]") == 0  # nothing left to describe


def test_a_template_stays_valid_toml_whatever_the_heading_and_text_hold() -> None:
    from knowledge.models import Chunk
    from knowledge.topics import template

    chunk = Chunk(id="p.docx:1", document="p.docx", section=("Use of\nimages\x0b",), line_start=1, line_end=1,
                  text='Say "no" \\ C:\\x \x7f')  # five words: the whole text is the match
    [entry] = tomllib.loads(template("p.docx", [chunk]))["passage"]
    assert entry["match"] == chunk.text
