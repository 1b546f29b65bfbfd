"""Findings cite the policy: section path and verbatim passage from a small chunk list."""

from __future__ import annotations

from pathlib import Path

from knowledge.models import Chunk
from knowledge.review import DraftInput, Reviewer, cite_from_chunks

RULES = Path(__file__).resolve().parent.parent / "data" / "review"

CHUNKS = [
    Chunk(id="c1", document="social-media-policy", section=("Appendix", "Managing school social media accounts", "The Do’s"),
          text="Use a disclaimer when expressing personal views", line_start=1, line_end=1),
    Chunk(id="c2", document="social-media-policy", section=("Appendix", "Managing school social media accounts", "The Don’ts"),
          text="Don’t use social media to air internal grievances", line_start=2, line_end=2),
]


def test_finding_cites_section_and_verbatim_passage() -> None:
    reviewer = Reviewer.from_folder(RULES, cite=cite_from_chunks(CHUNKS))
    [finding] = reviewer.review(DraftInput(text="In my opinion, phonics screening is pointless.")).findings
    assert finding.reason == "personal_opinion"
    assert finding.section == "Appendix › Managing school social media accounts › The Do’s"
    assert finding.policy == CHUNKS[0].text


def test_phrase_with_straight_quote_finds_curly_passage() -> None:
    cite = cite_from_chunks(CHUNKS)
    assert cite("Don't use social media to air internal grievances") is CHUNKS[1]
    assert cite("not in the policy") is None


def test_uncited_phrase_falls_back_to_the_rules_phrase() -> None:
    reviewer = Reviewer.from_folder(RULES, cite=cite_from_chunks(CHUNKS))
    [finding] = reviewer.review(DraftInput(text="Selling my old sofa, DM me for the price")).findings
    assert finding.section is None
    assert finding.policy == "School social media accounts must not be used for personal gain"


def test_every_rules_phrase_is_in_the_policy_document() -> None:
    policy = (RULES.parent / "policies" / "social-media-policy.txt").read_text(encoding="utf-8")
    from knowledge.review import load_rules

    rules = load_rules(RULES)
    phrases = {*rules.policies.values(), *(c.policy for c in rules.cues),
               rules.table("flags")["policy"], rules.table("learners")["do_not_publish_policy"]}
    missing = [p for p in phrases if p not in policy]
    assert missing == []
