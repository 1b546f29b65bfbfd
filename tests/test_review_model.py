"""The learned verdict model: its weights file, its scoring, and how the reviewer uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.services import Services
from knowledge.review import DraftInput, Reviewer, load_rules
from knowledge.review.model import FORMAT, MODEL_FILE, ModelError, VerdictModel
from knowledge_fixtures import rules_folder

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "data" / "review"
SHIPPED = RULES / MODEL_FILE
UNSEEN = ROOT / "tests" / "review_fresh_drafts.json"  # never trained on

UPBEAT = [
    "Well done to everyone who ran in the cross country today!",
    "Great to see so many families at our Christmas fair. Thank you!",
    "Reminder: school closes at 1.30pm on Friday for the end of term. Have a lovely break!",
    "Congratulations to our Year 5 choir, who sang beautifully at the town hall last night.",
    "Reply to a comment (\"What time does the fair start?\"): \"Hi! It opens at 2pm, see you there.\"",
    "Our library has 200 new books thanks to the PTA's fundraising. Happy reading! 📚",
    "Sports day fun!",  # three words are too little for the model to flag on its own
    "What a fun trip to the zoo!",
]


@pytest.fixture(scope="module")
def shipped() -> VerdictModel:
    return VerdictModel.load(SHIPPED)


@pytest.fixture(scope="module")
def reviewer() -> Reviewer:
    return Reviewer.from_folder(RULES, model_path=SHIPPED)


def tiny_model(threshold: float = 1.0, contact_weight: float = 5.0) -> dict:
    """A weights file by hand: "wibble" is risky and means offensive, "fine" means nothing,
    "lovely" is reassuring; the combiner trusts a contact-details cue by `contact_weight`
    and a criticism cue barely."""
    return {
        "format": FORMAT,
        "bias": -2.0,
        "weights": {"w:wibbl": 5.0, "w:fine": 0.0, "w:love": -4.0, "w:sport": 0.0, "w:afternoon": 0.0,
                    "w:day": 0.0},
        "reasons": {
            "offensive": {"prior": -0.7, "unseen": -3.0, "weights": {"w:wibbl": 2.0}},
            "criticism": {"prior": -0.7, "unseen": -3.0, "weights": {"w:fine": 2.0}},
        },
        "combiner": {"bias": 0.0, "threshold": threshold,
                     "weights": {"risk": 1.0, "contact_details": contact_weight, "criticism": 1.5}},
    }


def write(path: Path, content: object) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_the_shipped_weights_load_with_every_reason(shipped: VerdictModel) -> None:
    from knowledge.review import REASONS

    assert set(shipped.reasons) == set(REASONS)
    assert len(shipped.weights) > 500 and -10 < shipped.combiner.threshold < 10
    assert set(shipped.combiner.weights) == {"risk", "cued", *REASONS}
    assert VerdictModel.from_json(shipped.to_json()) == shipped


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "not a JSON weights file"),
    ({"format": "something-else/9"}, "format"),
    ({**tiny_model(), "combiner": {"bias": 0, "threshold": "high", "weights": {}}}, "combiner threshold must be a number"),
    ({**tiny_model(), "combiner": {"bias": 0, "threshold": 0, "weights": {"gossip": 1}}}, "gossip"),
    ({key: value for key, value in tiny_model().items() if key != "combiner"}, "combiner must be an object"),
    ({**tiny_model(), "weights": {"w:wibbl": "5"}}, "weight of 'w:wibbl' must be a number"),
    ({**tiny_model(), "reasons": {"gossip": {"prior": 0, "unseen": 0, "weights": {}}}}, "gossip"),
    ({**tiny_model(), "reasons": {"offensive": {"prior": 0, "weights": {}}}}, "offensive unseen must be a number"),
])
def test_a_malformed_weights_file_is_named_with_its_problem(tmp_path: Path, content: object, problem: str) -> None:
    path = write(tmp_path / "weights.json", content)
    with pytest.raises(ModelError, match=problem) as error:
        VerdictModel.load(path)
    assert str(path) in str(error.value)


def test_a_malformed_weights_file_stops_the_bot_naming_the_setting_and_file(tmp_path: Path) -> None:
    rules = rules_folder(tmp_path / "rules")
    write(rules / MODEL_FILE, {**tiny_model(), "bias": None})
    services = Services(load_settings(STAFFBOT_DB=tmp_path / "s.db", STAFFBOT_REVIEW_RULES=rules))
    try:
        with pytest.raises(ConfigError, match=f"STAFFBOT_REVIEW_RULES: .*{MODEL_FILE}: bias must be a number"):
            services.reviewer
    finally:
        services.close()


SCORE = """
import sys
from pathlib import Path
from knowledge.review.draft import Draft
from knowledge.review.model import VerdictModel, draft_features
model = VerdictModel.load(Path(sys.argv[1]))
draft = Draft.parse(sys.argv[2])
print(repr(model.risk(draft_features(draft))), model.decide(draft, ()))
"""


def test_scoring_is_deterministic_across_processes() -> None:
    """Feature sets iterate in a different order in each process (string hashing): same score."""
    text = "Proud of our pupils. Anyone who disagrees with our new uniform policy can find another school."
    outputs = {
        subprocess.run([sys.executable, "-c", SCORE, str(SHIPPED), text], capture_output=True, text=True,
                       check=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(outputs) == 1 and "ModelHit" in outputs.pop()


def test_training_again_writes_the_shipped_weights() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "train_verdict_model.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("text", UPBEAT)
def test_plain_upbeat_posts_stay_fine(reviewer: Reviewer, text: str) -> None:
    assert reviewer.review(DraftInput(text=text)).verdict == "fine"


def test_the_model_adds_no_finding_of_its_own_when_the_rules_found_one(tmp_path: Path) -> None:
    rules = load_rules(RULES)
    model = VerdictModel.load(write(tmp_path / "w.json", tiny_model()))
    with_model = Reviewer(rules, model=model)
    draft = "What a wibble day. Call me on 07700 900461."
    assert with_model.review(DraftInput(text=draft)).reasons == Reviewer(rules).review(DraftInput(text=draft)).reasons
    assert with_model.review(DraftInput(text="A lovely fine day.")).verdict == "fine"


def test_the_model_finding_names_a_reason_the_sentence_and_its_policy(tmp_path: Path) -> None:
    rules = load_rules(RULES)
    model = VerdictModel.load(write(tmp_path / "w.json", tiny_model()))
    text = "Sports day was fun. What a wibble afternoon it turned out to be! [Attached: photos]"
    review = Reviewer(rules, model=model).review(DraftInput(text=text))
    [finding] = review.findings
    assert review.verdict == "check" and finding.reason == "offensive"
    assert finding.span.text == "What a wibble afternoon it turned out to be!"
    assert text[finding.span.start:finding.span.end] == finding.span.text
    assert finding.policy == rules.policies["offensive"]


def test_a_model_reason_without_a_rules_file_to_cite_is_refused(tmp_path: Path) -> None:
    rules = load_rules(RULES)
    kept = {reason: policy for reason, policy in rules.policies.items() if reason != "criticism"}
    model = VerdictModel.load(write(tmp_path / "w.json", tiny_model()))
    with pytest.raises(ModelError, match="criticism"):
        Reviewer(type(rules)(cues=rules.cues, policies=kept, tables=rules.tables), model=model)


def test_the_shipped_model_adds_findings_the_rules_miss_on_drafts_it_never_saw(reviewer: Reviewer) -> None:
    rules_only = Reviewer(load_rules(RULES))
    items = json.loads(UNSEEN.read_text(encoding="utf-8"))
    added = []
    for item in items:
        draft = DraftInput(text=item["text"])
        if rules_only.review(draft).verdict == "fine":
            review = reviewer.review(draft)
            added += [(item, finding) for finding in review.findings]
    assert added, "the model flags none of the drafts the rules pass"
    for item, finding in added:
        assert finding.span.text and finding.span.text in item["text"]
        assert finding.policy == rules_only.rules.policies[finding.reason]
    assert sum(item["risky"] for item, _ in added) > len(added) / 2


@pytest.mark.parametrize(("contact_weight", "verdict"), [(5.0, "fine"), (10.0, "check")])
def test_the_combiner_decides_how_far_a_cue_is_trusted(tmp_path: Path, contact_weight: float, verdict: str) -> None:
    # Reassuring wording (risk -6) against a contact-details cue worth 5 or 10, threshold 1.
    rules = load_rules(RULES)
    draft = DraftInput(text="Lovely day. Call me on 07700 900461.")
    assert Reviewer(rules).review(draft).reasons == ["contact_details"]
    model = VerdictModel.load(write(tmp_path / "w.json", tiny_model(contact_weight=contact_weight)))
    review = Reviewer(rules, model=model).review(draft)
    assert review.verdict == verdict
    assert review.reasons == ([] if verdict == "fine" else ["contact_details"])


def test_certain_findings_are_never_overruled(tmp_path: Path) -> None:
    model = VerdictModel.load(write(tmp_path / "w.json", tiny_model()))
    draft = DraftInput(text="Lovely day at the farm. [Attached: photos]", contains_learner_images=True,
                       permission_checked=False)
    review = Reviewer(load_rules(RULES), model=model).review(draft)
    assert review.verdict == "check" and review.reasons == ["image_permission"]


def test_a_model_finding_names_a_reason_the_draft_can_have(tmp_path: Path) -> None:
    weights = tiny_model()
    weights["reasons"]["image_permission"] = {"prior": -0.7, "unseen": -3.0, "weights": {"w:wibbl": 5.0}}
    model = VerdictModel.load(write(tmp_path / "w.json", weights))
    reviewer = Reviewer(load_rules(RULES), model=model)
    assert reviewer.review(DraftInput(text="A wibble sports day afternoon.")).reasons == ["offensive"]  # no image
    assert reviewer.review(DraftInput(text="A wibble sports day afternoon. [Attached: photo]")).reasons == [
        "image_permission"]


def test_the_model_does_not_flag_on_its_own_from_three_words_or_fewer(tmp_path: Path) -> None:
    reviewer = Reviewer(load_rules(RULES), model=VerdictModel.load(write(tmp_path / "w.json", tiny_model())))
    assert reviewer.review(DraftInput(text="Wibble!")).verdict == "fine"
    assert reviewer.review(DraftInput(text="Wibble afternoon!")).verdict == "fine"
    assert reviewer.review(DraftInput(text="Wibble sports afternoon!")).verdict == "fine"
    assert reviewer.review(DraftInput(text="Wibble sports day afternoon!")).verdict == "check"


def test_a_model_file_of_an_older_format_says_to_train_it_again(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", {**tiny_model(), "format": "staffbot-verdict-model/1"})
    with pytest.raises(ModelError, match="older format .* train it again .* or delete the file"):
        VerdictModel.load(path)
