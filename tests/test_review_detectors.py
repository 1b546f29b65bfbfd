"""Each detector family on drafts written for these tests: one that must be flagged with
the family's reason, one close to it that must not be flagged at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.review import DraftInput, Reviewer
from knowledge_fixtures import rules_folder

RULES = Path(__file__).resolve().parent.parent / "data" / "review"


@pytest.fixture(scope="module")
def reviewer() -> Reviewer:
    return Reviewer.from_folder(RULES)


def reasons(reviewer: Reviewer, text: str, **flags: bool | None) -> list[str]:
    return reviewer.review(DraftInput(text=text, **flags)).reasons


CASES = [
    ("learner_identification",
     "Star reader of the week: Poppy Marsh-Allen, 8, from 3K!",
     "Star reader of the week: Poppy in Year 3, who has read 40 books!"),
    ("contact_details",
     "Any questions about the residential? Ring me on my mobile, 07700 900461.",
     "Any questions about the residential? Please ring the school office on 01632 960100."),
    ("contact_details",
     "Send your photos to sam.r.teacher@hotmail.co.uk and I'll add them to the album.",
     "Send your photos to office@hillview.sch.uk and we'll add them to the album."),
    ("confidential",
     "Well done to Kai, one of our looked-after children, on his first swimming badge!",
     "Our looked-after children lead is Mrs Ford: please speak to her if you have any questions."),
    ("confidential",
     "The grounds contract went to GreenCut at £9,500, beating Parkway's quote.",
     "Thank you to GreenCut for keeping our field looking lovely all summer."),
    ("grievance",
     "Marking until midnight every night this week. The workload is completely unmanageable.",
     "Marking week! Thank you to our English team for all their hard work on the mocks."),
    ("offensive",
     "Our Year 9s are such a bunch of numpties when it comes to fire drills.",
     "Our Year 9s were calm and sensible during this morning's fire drill."),
    ("criticism",
     "Thanks to all the helpers at the disco, apart from Mr Rowe, who 'supervised' from the car park.",
     "Thanks to all the helpers at the disco, especially Mr Rowe, who ran the tuck shop."),
    ("controversial",
     "Vote Labour on Thursday if you care about schools. The Tories have had their chance.",
     "School will be closed on Thursday as the hall is a polling station for the local elections."),
    ("copyright",
     "Here are the complete song lyrics for the Year 6 leavers' song, copied from the musical's official songbook.",
     "Here's the Year 6 leavers' song, shared with the composer's permission and credited in the video."),
    ("hostile_reply",
     'Reply to a comment ("Why is the car park always chaos?"): "Frankly, if parents '
     'bothered to read the newsletter it wouldn\'t be."',
     'Reply to a comment ("Why is the car park always chaos?"): "Thanks for raising this. '
     'We\'re looking at it and would welcome your ideas - please pop into the office."'),
    ("inappropriate_link",
     "Lovely craft ideas for the holidays: tinyurl.com/craftz4kids",
     "Lovely craft ideas for the holidays from the BBC: https://www.bbc.co.uk/tiny-happy-people"),
    ("inappropriate_link",
     "End-of-term treat! [link to a gaming stream with strong language and gambling adverts]",
     "End-of-term treat! [link to the Year 4 class blog]"),
    ("personal_opinion",
     "If you ask me, the new spelling tests are a waste of everyone's time.",
     "We hope you enjoy our new spelling games - let us know what you think!"),
    ("personal_gain",
     "Selling my son's old bike, barely used - DM me for the price!",
     "The PTA are selling raffle tickets at the gate, all money raised goes to the library."),
    ("image_permission",
     "Bath time in the nursery! [Attached: photo of toddlers in their nappies at the water tray]",
     "Water play in the nursery! [Attached: photo of aprons and splashes; photo consent checked]"),
]


@pytest.mark.parametrize(("reason", "risky", "fine"), CASES, ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_family_flags_risky_draft_and_passes_near_miss(reviewer: Reviewer, reason: str, risky: str, fine: str) -> None:
    assert reason in reasons(reviewer, risky)
    assert reasons(reviewer, fine) == []


def test_form_flags_learner_images_without_confirmed_permission(reviewer: Reviewer) -> None:
    text = "Sports day fun! [Attached: photos of the egg and spoon race]"
    assert reasons(reviewer, text, contains_learner_images=True, permission_checked=None) == ["image_permission"]
    assert reasons(reviewer, text, contains_learner_images=True, permission_checked=False) == ["image_permission"]
    assert reasons(reviewer, text, contains_learner_images=True, permission_checked=True) == []
    assert reasons(reviewer, text, contains_learner_images=None) == []


def test_quoted_comment_in_a_reply_is_not_reviewed(reviewer: Reviewer) -> None:
    draft = ('Reply to a comment ("The head is useless and this school is a joke"): '
             '"We\'re sorry you feel that way. Please contact the office so we can talk."')
    assert reasons(reviewer, draft) == []


def test_hostile_cues_only_count_in_replies(reviewer: Reviewer) -> None:
    assert reasons(reviewer, "Frankly, what a brilliant concert!") == []


def test_disclaimer_excuses_personal_view(reviewer: Reviewer) -> None:
    assert reasons(reviewer, "I think reading for pleasure matters more than any test. Views my own.") == []


def test_finding_span_is_the_draft_text_it_points_at(reviewer: Reviewer) -> None:
    text = "Great day out! Full pictures at bit.ly/trip24 later."
    [finding] = reviewer.review(DraftInput(text=text)).findings
    assert finding.reason == "inappropriate_link"
    assert text[finding.span.start:finding.span.end] == finding.span.text == "bit.ly/trip24"
    assert finding.policy.startswith("Consider the appropriateness")


def test_verdict_is_check_exactly_when_there_are_findings(reviewer: Reviewer) -> None:
    fine = reviewer.review(DraftInput(text="Reminder: non-uniform day on Friday, £1 for Children in Need."))
    risky = reviewer.review(DraftInput(text="Reminder: non-uniform day on Friday. Management never listen anyway."))
    assert (fine.verdict, fine.findings) == ("fine", [])
    assert risky.verdict == "check" and risky.findings


@pytest.mark.parametrize(("url", "flagged"), [
    ("https://www.greenfieldprimary.org.uk/news", False),  # the school's own site, never listed
    ("www.aqa.org.uk/past-papers", False),
    ("www2.stmarys-school.org.uk/newsletter", False),  # a numbered subdomain is not a disguise
    ("photos-share-free.ru/album/88", True),  # spam suffix and a bait word
    ("www.senda1d-claims.co.uk", True),  # letters mixed with digits, and a bait word
    ("kingsmead.org.uk/setup.exe", True),  # a program to download
    ("amzn.to/3Kx9pQ", True),  # a shortener
])
def test_unknown_domains_are_flagged_when_they_look_suspicious(reviewer: Reviewer, url: str, flagged: bool) -> None:
    assert reasons(reviewer, f"All the details are here: {url}") == (["inappropriate_link"] if flagged else [])


def test_a_school_can_flag_every_unknown_domain(tmp_path: Path) -> None:
    strict = Reviewer.from_folder(rules_folder(tmp_path, ('unknown = "suspicious"', 'unknown = "all"')))
    assert reasons(strict, "Revision guides: www.aqa.org.uk/past-papers") == ["inappropriate_link"]
    assert reasons(strict, "Revision help: https://www.bbc.co.uk/bitesize") == []  # still trusted


def test_a_wrong_unknown_setting_names_the_file_and_choices(tmp_path: Path) -> None:
    from knowledge.review import RulesError

    with pytest.raises(RulesError, match="links.toml: unknown must be one of"):
        Reviewer.from_folder(rules_folder(tmp_path, ('unknown = "suspicious"', 'unknown = "some"')))


@pytest.mark.parametrize(("text", "flagged"), [
    ("Any questions, drop me a message on my personal Instagram!", True),
    ("Text my mobile if the coach is late.", True),
    ("Parents, add my personal account @missjones_teach for updates", True),
    ("My mobile is 07700 900461 if anyone needs me.", True),
    ("Photo taken on my own phone on 3 May 2024 at the gala.", False),
    ("Personal account, views my own: reading for pleasure beats any scheme.", False),
    ("What a match! Photo taken on my own phone of the winning try [Attached: photo of the ball on the line]", False),
])
def test_ones_own_phone_or_account_is_contact_details_only_when_it_invites_contact(
        reviewer: Reviewer, text: str, flagged: bool) -> None:
    assert ("contact_details" in reasons(reviewer, text)) is flagged
