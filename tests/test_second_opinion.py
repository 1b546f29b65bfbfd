"""The second-opinion flow over the real reviewer and a real SQLite file."""

from __future__ import annotations

import re
import threading
from datetime import datetime

import pytest

from bot.delivery import DeliveryError
from bot.outbox import Outbox
from handlers import actions, messages
from handlers.models import Actor
from handlers.second_opinion import (
    POST_DRAFT_CHARS,
    check_draft,
    decide,
    request_second_opinion,
    slt_post,
    suggest_for_message,
    view_draft,
)
from knowledge.review import DraftInput

REQUESTER = Actor(platform="slack", user_id="U1", name="Ann")
HEAD = Actor(platform="slack", user_id="UHEAD", name="Head")
DEPUTY = Actor(platform="slack", user_id="UDEP", name="Deputy")
STRANGER = Actor(platform="slack", user_id="U9", name="Not SLT")
RISKY = DraftInput(
    text="Any worries about the coursework? Email me on my personal address, katie.m.wilson82@example.com <!channel>",
    target="@OakfieldGeography",
)
FINE = DraftInput(text="Well done to our Eco Council for organising this week's litter pick! 14 bags collected.")
DECISIONS = [
    (actions.SO_APPROVE, None, "approved"),
    (actions.SO_REQUEST_CHANGES, "Please use the school email address instead.", "changes_requested"),
    (actions.SO_REJECT, "Personal contact details must never be shared.", "rejected"),
]


class Recorder:
    platform = "slack"

    def __init__(self) -> None:
        self.sent = []

    def send(self, message):
        self.sent.append(message)
        return f"ts-{len(self.sent)}"


@pytest.fixture
def book(services):
    services.roster.grant(HEAD)
    services.roster.grant(DEPUTY)
    return services.reviews


@pytest.fixture
def reviewer(services):
    return services.reviewer


@pytest.fixture
def reference(book, reviewer):
    return request_second_opinion(REQUESTER, RISKY, "slack:view:V1", reviewer, book).reference


def jobs(services) -> list[dict]:
    return list(services.store.db.query("select * from outbox order by id"))


def trail(book, reference) -> list[tuple[str, str]]:
    return [(row["action"], row["actor"]) for row in book.history(reference)]


def test_findings_are_shown_privately_with_the_words_and_the_policy(reviewer):
    review = reviewer.review(RISKY)
    assert review.verdict == "check"
    reply = check_draft(REQUESTER, RISKY, reviewer)
    assert reply.private and reply.text == messages.CHECK_FOUND
    assert len(reply.notes) == len(review.findings)
    for note, finding in zip(reply.notes, review.findings):
        assert messages.REASONS[finding.reason] in note and f"“{finding.span.text}”" in note
    assert "katie.m.wilson82@example.com" in " ".join(reply.notes)
    assert {p.text for p in reply.passages} == {f.policy for f in review.findings}
    assert all(p.section for p in reply.passages)
    assert [b.action for b in reply.buttons] == [actions.SO_SEND]


def test_sending_to_slt_is_offered_even_when_nothing_was_found(reviewer):
    assert reviewer.review(FINE).verdict == "fine"
    reply = check_draft(REQUESTER, FINE, reviewer)
    assert reply.private and reply.text == messages.CHECK_FINE and not reply.notes
    assert [(b.action, b.label) for b in reply.buttons] == [(actions.SO_SEND, messages.SEND_TO_SLT)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", messages.DRAFT_EMPTY),
        ("  \n\t ", messages.DRAFT_EMPTY),
        ("x" * 40_001, "That draft is 40,001 characters; please keep it to 40,000."),
        ("hello\x00there", messages.DRAFT_UNREADABLE),
    ],
)
def test_bad_drafts_get_a_specific_error_and_nothing_is_stored(services, book, reviewer, text, expected):
    draft = DraftInput(text=text)
    assert check_draft(REQUESTER, draft, reviewer).text == expected
    submission = request_second_opinion(REQUESTER, draft, "k", reviewer, book)
    assert submission.reply.text == expected and submission.reply.private and not submission.stored
    assert services.store.db["review_requests"].count == 0 and not jobs(services)


@pytest.mark.parametrize("text", ["Our family fun day 👨‍👩‍👧 was brilliant!", "Happy Pride month 🏳️‍🌈",
                                  "Copied from Word:\xa0a no-break space", "A brand-new emoji \U0001FACE"])
def test_emoji_sequences_and_no_break_spaces_are_text(reviewer, text):
    assert check_draft(REQUESTER, DraftInput(text=text), reviewer).text != messages.DRAFT_UNREADABLE


def test_the_request_its_audit_row_and_the_slt_post_are_stored_together(services, book, reviewer):
    submission = request_second_opinion(REQUESTER, RISKY, "slack:view:V1", reviewer, book)
    year = datetime.now().year
    assert submission.stored and submission.created and submission.reference == f"SO-{year}-0001"
    assert submission.reply.private and submission.reference in submission.reply.text
    stored = book.get(submission.reference)
    assert stored.status == "pending" and stored.draft == RISKY and stored.requester == REQUESTER
    assert stored.findings == reviewer.review(RISKY).findings
    assert trail(book, submission.reference) == [("requested", "slack:U1")]
    [job] = jobs(services)
    assert (job["platform"], job["kind"], job["destination"]) == ("slack", "post", "CSLT")
    assert job["subject"] == stored.reference


def test_a_failed_write_stores_neither_the_request_nor_its_post(services, book, reviewer):
    services.store.db.execute(
        "create trigger outbox_broken before insert on outbox begin select raise(abort, 'disk full'); end"
    )
    submission = request_second_opinion(REQUESTER, RISKY, "slack:view:V1", reviewer, book)
    assert not submission.stored and submission.reply.text == messages.REQUEST_NOT_SENT
    assert services.store.db["review_requests"].count == 0
    assert services.store.db.execute("select count(*) from audit").fetchone()[0] == 0


def test_the_same_request_delivered_twice_is_stored_once(services, book, reviewer):
    first = request_second_opinion(REQUESTER, RISKY, "teams:nonce:abc", reviewer, book)
    again = request_second_opinion(REQUESTER, RISKY, "teams:nonce:abc", reviewer, book)
    assert (again.reference, again.created, again.stored) == (first.reference, False, True)
    assert services.store.db["review_requests"].count == 1 and len(jobs(services)) == 1


def test_concurrent_requests_get_unique_references(services, book, reviewer):
    references: list[str] = []
    barrier = threading.Barrier(20)

    def send(n: int) -> None:
        barrier.wait()
        references.append(request_second_opinion(REQUESTER, FINE, f"k{n}", reviewer, book).reference)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(references)) == 20 and None not in references
    assert sorted(int(r.rsplit("-", 1)[1]) for r in references) == list(range(1, 21))


def test_the_slt_post_shows_the_draft_findings_and_decision_buttons(book, reference):
    request = book.get(reference)
    post = slt_post(request, request.created_at)
    assert post.text == RISKY.text and not post.private
    facts = {f.label: f.value for f in post.facts}
    assert facts["Reference"] == reference and facts["Requested by"] == "Ann"
    assert facts["Account"] == "@OakfieldGeography" and facts["Status"] == "Waiting for a decision"
    assert post.notes and post.passages
    assert [b.action for b in post.buttons] == [actions.SO_APPROVE, actions.SO_REQUEST_CHANGES, actions.SO_REJECT]
    assert {b.value for b in post.buttons} == {reference}


def test_a_long_draft_is_shortened_in_the_channel_and_shown_whole_to_slt(services, book, reviewer):
    text = ("Our summer term newsletter. " * 1500)[:40_000]
    reference = request_second_opinion(REQUESTER, DraftInput(text=text), "k", reviewer, book).reference
    post = slt_post(book.get(reference), datetime.now().astimezone())
    assert post.text.endswith("…") and len(post.text) <= POST_DRAFT_CHARS + 1 and post.verbatim
    assert post.notes[0] == messages.full_text_in(reference)  # said beside the draft, not inside it
    assert post.buttons[0].action == actions.SO_VIEW
    full = view_draft(HEAD, reference, book, services.roster)
    assert full.private and full.text == text
    refused = view_draft(STRANGER, reference, book, services.roster)
    assert refused.text == messages.REVIEW_SLT_ONLY and text[:50] not in refused.text
    assert trail(book, reference)[1:] == [("viewed", "slack:UHEAD"), ("refused", "slack:U9")]


@pytest.mark.parametrize(("action", "comment", "status"), DECISIONS)
def test_each_decision_updates_the_post_replies_in_thread_and_tells_the_requester(
    services, book, reference, action, comment, status
):
    outcome = decide(HEAD, reference, action, comment, book, services.roster)
    assert outcome.changed and outcome.reply.private
    stored = book.get(reference)
    assert (stored.status, stored.decided_by, stored.comment) == (status, "Head", comment or "")
    assert trail(book, reference) == [("requested", "slack:U1"), (status, "slack:UHEAD")]

    transport = Recorder()
    Outbox(services.store, [transport]).run_pending()
    assert len(transport.sent) == 4
    by_kind = {m.kind: m for m in transport.sent}
    post, update, thread, dm = (by_kind[k] for k in ("post", "update", "reply", "direct"))
    assert post.kind == "post" and post.destination == "CSLT"
    assert (update.kind, update.destination, update.message) == ("update", "CSLT", "ts-1")
    assert not {b.action for b in update.reply.buttons} & {actions.SO_APPROVE, actions.SO_REJECT}
    facts = {f.label: f.value for f in update.reply.facts}
    assert facts["Status"] == messages.REVIEW_STATUS_LABELS[status]
    assert facts["Decision"].startswith(f"{messages.DECISION_LABELS[status]} by Head")
    assert (thread.kind, thread.thread) == ("reply", "ts-1")
    assert thread.reply.text == f"{reference}: {messages.DECISION_LABELS[status]} by Head."
    assert (dm.kind, dm.destination) == ("direct", "U1")
    assert reference in dm.reply.text and "Head" in dm.reply.text
    if comment:
        assert f"Comment: {comment}" in thread.reply.notes and f"Comment: {comment}" in dm.reply.notes
        assert facts["Comment"] == comment


def test_a_post_that_failed_is_sent_again_with_the_decision_made_meanwhile(services, book, reference):
    class NotInChannel(Recorder):
        """Refuses the approvals channel until the bot is invited (`invited`)."""

        invited = False

        def send(self, message):
            if message.destination == "CSLT" and not self.invited:
                raise DeliveryError("not_in_channel", permanent=True)
            return super().send(message)

    transport = NotInChannel()
    services.outbox.register(transport)
    services.outbox.run_pending()
    comment = "Personal contact details must never be shared."
    assert decide(HEAD, reference, actions.SO_REJECT, comment, book, services.roster).changed
    services.outbox.run_pending()
    [failed] = services.outbox.failed()
    assert (failed["subject"], failed["kind"]) == (reference, "post")

    transport.invited = True
    assert services.outbox.requeue(failed["id"], "slack:UHEAD")
    services.outbox.run_pending()
    assert [m.kind for m in transport.sent] == ["direct", "post"]  # the requester was told; nothing replayed
    post = transport.sent[1].reply
    facts = {f.label: f.value for f in post.facts}
    assert facts["Status"] == messages.REVIEW_STATUS_LABELS["rejected"] and facts["Comment"] == comment
    assert not {b.action for b in post.buttons} & {actions.SO_APPROVE, actions.SO_REJECT}
    assert [a for a, _ in trail(book, reference)] == [
        "requested", "delivery_failed", "rejected", "delivery_retried", "routed"]


@pytest.mark.parametrize("action", [actions.SO_REQUEST_CHANGES, actions.SO_REJECT])
def test_request_changes_and_reject_need_a_comment(services, book, reference, action):
    for comment in (None, "   "):
        outcome = decide(HEAD, reference, action, comment, book, services.roster)
        assert not outcome.changed and outcome.reply.private
        assert outcome.reply.text == messages.REVIEW_COMMENT_MISSING.format(
            prompt=messages.REVIEW_COMMENT_PROMPTS[action]
        )
    assert book.get(reference).status == "pending" and len(jobs(services)) == 1


def test_a_comment_that_is_too_long_is_refused(services, book, reference):
    outcome = decide(HEAD, reference, actions.SO_REJECT, "x" * 3001, book, services.roster)
    assert outcome.reply.text == messages.REVIEW_COMMENT_TOO_LONG.format(limit=3000)
    assert book.get(reference).status == "pending"


def test_non_slt_cannot_decide_and_the_attempt_is_audited(services, book, reference):
    outcome = decide(STRANGER, reference, actions.SO_APPROVE, None, book, services.roster)
    assert outcome.reply.text == messages.REVIEW_SLT_ONLY and outcome.reply.private and not outcome.changed
    assert book.get(reference).status == "pending" and len(jobs(services)) == 1
    assert trail(book, reference) == [("requested", "slack:U1"), ("refused", "slack:U9")]


def test_nobody_decides_on_their_own_request(services, book, reviewer):
    reference = request_second_opinion(HEAD, RISKY, "k", reviewer, book).reference
    outcome = decide(HEAD, reference, actions.SO_APPROVE, None, book, services.roster)
    assert outcome.reply.text == messages.REVIEW_OWN_REQUEST and not outcome.changed
    assert book.get(reference).status == "pending"
    assert trail(book, reference) == [("requested", "slack:UHEAD"), ("refused", "slack:UHEAD")]
    assert decide(DEPUTY, reference, actions.SO_APPROVE, None, book, services.roster).changed


def test_a_second_decision_is_told_who_decided_first(services, book, reference):
    assert decide(HEAD, reference, actions.SO_APPROVE, None, book, services.roster).changed
    late = decide(DEPUTY, reference, actions.SO_REJECT, None, book, services.roster)  # no comment asked for in vain
    assert not late.changed
    assert re.fullmatch(r"This draft was already approved by Head at \d\d \w{3} \d{4} \d\d:\d\d UTC\.", late.reply.text)
    assert book.get(reference).status == "approved"
    assert trail(book, reference)[-1] == ("refused", "slack:UDEP")


def test_unknown_reference_or_action_is_a_clear_error(services, book, reference):
    assert decide(HEAD, "SO-1999-0001", actions.SO_APPROVE, None, book, services.roster).reply.text == (
        messages.REVIEW_UNKNOWN
    )
    assert decide(HEAD, reference, "delete", None, book, services.roster).reply.text == messages.REVIEW_UNKNOWN_ACTION
    assert book.get(reference).status == "pending"


def test_two_simultaneous_decisions_record_exactly_one(services, book, reviewer):
    for round_ in range(8):
        reference = request_second_opinion(REQUESTER, RISKY, f"race{round_}", reviewer, book).reference
        barrier = threading.Barrier(2)
        outcomes = {}

        def click(actor: Actor, action: str, comment: str | None) -> None:
            barrier.wait()
            outcomes[actor.user_id] = decide(actor, reference, action, comment, book, services.roster)

        threads = [
            threading.Thread(target=click, args=(HEAD, actions.SO_APPROVE, None)),
            threading.Thread(target=click, args=(DEPUTY, actions.SO_REJECT, "Not this one")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [o for o in outcomes.values() if o.changed]
        losers = [o for o in outcomes.values() if not o.changed]
        assert len(winners) == 1 and len(losers) == 1
        assert losers[0].reply.text.startswith("This draft was already ")
        actions_taken = [a for a, _ in trail(book, reference)]
        assert sorted(actions_taken) == sorted(["requested", winners[0].request.status, "refused"])
        stored = book.get(reference)
        assert stored.status == winners[0].request.status
        decision_jobs = [j for j in jobs(services) if j["subject"] == reference and j["kind"] != "post"]
        assert len(decision_jobs) == 3


def test_undecided_requests_are_reminded_after_working_hours_once_per_interval(services, book, reviewer):
    from bot.reviews import ReviewDB

    clock = {"now": datetime.fromisoformat("2026-02-27T16:00:00+00:00")}  # a Friday, 4 pm in London
    timed = ReviewDB(services.store, book.channel, clock=lambda: clock["now"])
    reference = request_second_opinion(REQUESTER, RISKY, "k", reviewer, timed).reference
    decided = request_second_opinion(REQUESTER, FINE, "k2", reviewer, timed).reference
    decide(HEAD, decided, actions.SO_APPROVE, None, timed, services.roster)
    services.outbox.register(Recorder())
    services.outbox.run_pending()  # the approvals posts are in the channel: there is a thread to remind in

    for now, expected in [
        ("2026-03-02T09:59:00+00:00", []),  # Fri 16-18 and Mon 8-9:59: 3 h 59 working hours
        ("2026-03-02T10:00:00+00:00", [reference]),
        ("2026-03-02T10:00:00+00:00", []),
        ("2026-03-02T13:59:00+00:00", []),
        ("2026-03-02T14:00:00+00:00", [reference]),  # the clock restarts at each reminder
    ]:
        clock["now"] = datetime.fromisoformat(now)
        assert timed.remind(4) == expected, now
    reminders = [j for j in jobs(services) if j["subject"] == reference and j["kind"] == "reply"]
    post = next(j for j in jobs(services) if j["subject"] == reference and j["kind"] == "post")
    assert len(reminders) == 2 and {r["after"] for r in reminders} == {post["id"]}
    assert messages.review_reminder(reference, 4) in reminders[0]["reply"]
    assert [a for a, _ in trail(timed, reference)].count("reminded") == 2
    assert "reminded" not in [a for a, _ in trail(timed, decided)]


def test_drafting_channels_get_one_gentle_suggestion_per_flagged_message(services, book, reviewer):
    channels = ["CDRAFT"]
    assert suggest_for_message("COTHER", "m1", RISKY.text, reviewer, book, channels) is None
    assert suggest_for_message("CDRAFT", "m1", FINE.text, reviewer, book, channels) is None
    assert suggest_for_message("CDRAFT", "m1", "", reviewer, book, channels) is None
    reply = suggest_for_message("CDRAFT", "m2", RISKY.text, reviewer, book, channels)
    assert reply is not None and reply.text == messages.SUGGEST_SECOND_OPINION and not reply.private
    assert [b.action for b in reply.buttons] == [actions.OPEN_SECOND_OPINION]
    assert "katie" not in reply.text
    assert suggest_for_message("CDRAFT", "m2", RISKY.text + " edited", reviewer, book, channels) is None
    assert suggest_for_message("CDRAFT", "m3", RISKY.text, reviewer, book, channels) is not None


def test_no_reminder_is_due_while_the_approvals_post_is_undelivered(services, book, reviewer):
    from bot.reviews import ReviewDB

    class NotInChannel(Recorder):
        invited = False

        def send(self, message):
            if not self.invited:
                raise DeliveryError("not_in_channel", permanent=True)
            return super().send(message)

    clock = {"now": datetime.fromisoformat("2026-03-02T09:00:00+00:00")}
    timed = ReviewDB(services.store, book.channel, clock=lambda: clock["now"])
    reference = request_second_opinion(REQUESTER, RISKY, "k", reviewer, timed).reference
    transport = NotInChannel()
    services.outbox.register(transport)
    services.outbox.run_pending()
    clock["now"] = datetime.fromisoformat("2026-03-02T13:00:00+00:00")
    assert timed.remind(4) == []
    assert [j["kind"] for j in jobs(services) if j["subject"] == reference] == ["post"]  # nothing queued behind it
    assert "reminded" not in [a for a, _ in trail(timed, reference)]
    transport.invited = True
    [failed] = services.outbox.failed()
    services.outbox.requeue(failed["id"], "slack:UHEAD")
    services.outbox.run_pending()
    assert timed.remind(4) == [reference]  # the post has landed: the reminder goes in its thread
