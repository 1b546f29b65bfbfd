"""Each cue family (data/review/lexicons.toml and the rules built on it) on drafts written
for these tests: a risky one the family must flag with its reason, and ordinary school
posts that share its words and must not be flagged at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.review import DraftInput, Reviewer

RULES = Path(__file__).resolve().parent.parent / "data" / "review"


@pytest.fixture(scope="module")
def reviewer() -> Reviewer:
    return Reviewer.from_folder(RULES)


def reasons(reviewer: Reviewer, text: str) -> list[str]:
    return reviewer.review(DraftInput(text=text)).reasons


FLAGGED = [
    # Insulting adjectives in any degree, said of a group.
    ("offensive", "Our Year 9s are officially the laziest lot in the building."),
    ("offensive", "Parents' evening tonight, so earplugs at the ready for the mums who never shut up."),
    # A named outside body with a rated negative judgement, in another sentence.
    ("criticism", "Our new cleaning company, Sparkle Ltd, left the hall filthy again. Frankly shoddy."),
    ("criticism", "Ella's group finished every task, which is more than can be said for the other Year 5 class."),
    ("criticism", "Whoever dumped their rubbish by the school gate: we have CCTV."),
    # A curt reply with no courtesy at all.
    ("hostile_reply", 'Reply to a comment ("The newsletter had the wrong date"): "It didn\'t. Read it again."'),
    ("hostile_reply", 'Reply to a comment ("Why no photos of Year 2?"): "Lovely to see parents setting such a fine example."'),
    # An opinion frame with a verdict.
    ("personal_opinion", "As far as I'm concerned, spelling tests are a waste of a Friday morning."),
    ("personal_opinion", "I honestly can't see why anyone would still set homework in Year 1."),
    # Money changing hands in the writer's own life.
    ("personal_gain", "My son is making bird boxes to order, £12 each. Message me and I'll bring one in!"),
    ("personal_gain", "I'm a mortgage adviser and happy to waive my fee for Oakfield families."),
    # A public question and a side taken on it.
    ("controversial", "The planning application for the new bypass will ruin our village. Object before Friday!"),
    ("controversial", "We will not be teaching the new relationships guidance, whatever Westminster says."),
    # A sensitive event in one learner's life; secrecy.
    ("confidential", "Please be gentle with Noah in Year 3, whose parents have separated this month."),
    ("confidential", "The head is leaving at Easter, but keep it to yourselves until the letter goes out."),
    # Internal matters with a complaint.
    ("grievance", "The staffroom printer has been broken since January and we are expected to pay for our own ink."),
    ("grievance", "Our head has scheduled three book scrutinies this half term. No consultation, of course."),
    # Copying whole published works.
    ("copyright", "I've photocopied every chapter of the class novel so nobody needs to buy it."),
    ("copyright", "Gorgeous seahorse picture for our ocean topic [Attached: image saved from an artist's blog, artist not credited]"),
    # Learner identification: a list of full names in a class photo.
    ("learner_identification", "Year 3 class photo, front row: Ava Brennan, Theo Marsh and Isla Okoro."),
    ("learner_identification", "Happy birthday to Lucas Fernandes, who is 8 today! Have a great day in 3P."),
    # Images: undressed, laughed at, consent not back, the family said no.
    ("image_permission", "Swimming gala fun! [Attached: photos of the Year 4 team in their swimsuits]"),
    ("image_permission", "Egg and spoon chaos 😂 [Attached: video of a boy tripping face-first into the sandpit]"),
    ("image_permission", "Welcome, new starters! [Attached: photos of the class; two consent forms still haven't come back]"),
    ("image_permission", "Harvest assembly [Attached: photo with Zara, whose mum asked us not to post her picture]"),
]

FINE = [
    "Still not booked your parents' evening slot? Book on SchoolCloud by Friday.",
    "Please pay for the Year 4 trip on ParentPay by Monday; it costs £12 per child.",
    "We've shared 20 photos from sports day below. [Attached: photos; consent checked for all]",
    "Our Year 4 trip goes to Chester Zoo on Tuesday. Packed lunches please!",
    'Reply to a comment ("Is the trip cancelled?"): "It isn\'t, it is going ahead on Friday as planned."',
    "Despite the awful weather, the referee and both teams were brilliant. Thank you all!",
    "Sadly the coach company has gone out of business, so the museum trip is postponed.",
    "Egg and spoon race photos! A few eggs fell off 😂 [Attached: photos of spoons and eggs]",
    "Photos from the disco [Attached: all children shown have photo consent, no names used]",
    "Happy birthday to our Year 6 teacher, Sarah Lee! Have a lovely day.",
    "Year 5 have been learning about Mary Anning and Charles Darwin in science.",
    "Our Eco Council is joining the fight against litter on the school field this Friday.",
    "I think everyone had a brilliant time at the Christmas fair. Thank you!",
    "I'm selling raffle tickets at the gate on Friday, all money raised goes to the PTA.",
    "Our new counsellor, Mrs Hale, is available for any pupil who is feeling worried.",
    "We can now reveal the winner of our poster competition: Year 2! 🎉",
    "Between us we raised £540 for Children in Need. Thank you, everyone!",
    "Year 8 took part in a debate about whether private schools should exist. Great arguments!",
    "It's been a rough week with the bug going round, so thank you for your patience.",
    "Whoever finds the golden ticket in their book bag wins a prize!",
]


@pytest.mark.parametrize(("reason", "text"), FLAGGED, ids=[f"{r}-{n}" for n, (r, _) in enumerate(FLAGGED)])
def test_family_flags_its_risky_draft(reviewer: Reviewer, reason: str, text: str) -> None:
    assert reason in reasons(reviewer, text)


@pytest.mark.parametrize("text", FINE, ids=[f"fine-{n}" for n in range(len(FINE))])
def test_ordinary_posts_sharing_the_words_pass(reviewer: Reviewer, text: str) -> None:
    assert reasons(reviewer, text) == []
