"""`Services.reviewer`: the rules folder, the do-not-publish list and citations from the policy."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from bot.services import Services
from knowledge.review import DraftInput

POST = "Massive well done to Tyler Brooks for his SATs results!"


def reviewer_for(tmp_path, **env):
    services = Services(load_settings(STAFFBOT_DB=tmp_path / "s.db", **env))
    try:
        return services.reviewer
    finally:
        services.close()


def test_findings_cite_the_policy_passage_and_its_section(tmp_path):
    review = reviewer_for(tmp_path).review(DraftInput(text="Email me at katie.m.wilson82@example.com"))
    [finding] = [f for f in review.findings if f.span.text == "katie.m.wilson82@example.com"]
    assert finding.section and finding.section.startswith("Appendix")
    assert finding.policy == "Keep your personal information private"


def test_the_do_not_publish_list_is_used_when_configured(tmp_path):
    listed = tmp_path / "dnp.txt"
    listed.write_text("# learners whose names must not be published\nTyler Brooks\n", encoding="utf-8")
    flagged = reviewer_for(tmp_path, STAFFBOT_DO_NOT_PUBLISH=listed).review(DraftInput(text=POST))
    assert "learner_identification" in flagged.reasons


def test_an_unreadable_do_not_publish_list_is_a_config_error_that_never_names_it(tmp_path):
    secret = tmp_path / "safeguarding-names-do-not-share.txt"
    with pytest.raises(ConfigError, match="STAFFBOT_DO_NOT_PUBLISH") as missing:
        reviewer_for(tmp_path, STAFFBOT_DO_NOT_PUBLISH=secret)
    secret.write_bytes(b"\xff\xfe not text")
    with pytest.raises(ConfigError, match="STAFFBOT_DO_NOT_PUBLISH") as garbled:
        reviewer_for(tmp_path, STAFFBOT_DO_NOT_PUBLISH=secret)
    for error in (missing.value, garbled.value):
        assert "safeguarding-names" not in str(error)


def test_bad_rules_are_a_config_error_naming_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="STAFFBOT_REVIEW_RULES: no rules files"):
        reviewer_for(tmp_path, STAFFBOT_REVIEW_RULES=tmp_path / "nowhere")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "odd.toml").write_text('reason = "gossip"\npolicy = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="STAFFBOT_REVIEW_RULES: odd.toml"):
        reviewer_for(tmp_path, STAFFBOT_REVIEW_RULES=rules)
