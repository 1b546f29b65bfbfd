"""Second opinions on draft posts: check a draft, send it to SLT, and let SLT decide.

API for the platform adapters (Slack, Teams, console):

- `draft_error(draft)`: why a draft can't be checked (empty, too long, unreadable), or None;
  `check_draft` and `request_second_opinion` answer with it too.
- `check_draft(actor, draft, reviewer) -> Reply`: the findings, shown privately, with a
  "Send to SLT for a second opinion" button (`actions.SO_SEND`, always offered). The
  button carries no value: the adapter keeps the `DraftInput` it checked (modal state,
  card data, console memory) and passes it to `request_second_opinion` when pressed.
- `request_second_opinion(actor, draft, dedupe_key, reviewer, book) -> Submission`: the
  request (draft, findings, requester, status pending, reference `SO-2026-0007`), its
  "requested" audit row and the approvals-channel post are stored in one transaction
  before the reply says "sent". The same `dedupe_key` (`slack:view:<id>`,
  `teams:nonce:<user>:<uuid>`, `console:<uuid>`) returns the same reference.
- `decide(actor, reference, action, comment, book, roster) -> DecisionOutcome` for the SLT
  buttons `actions.SO_APPROVE` / `SO_REQUEST_CHANGES` / `SO_REJECT` (button value = the
  reference). The last two need a comment: ask with `messages.REVIEW_COMMENT_PROMPTS[action]`
  first. Only SLT decide, never on their own request, and the first decision wins; the
  update of the SLT post, the thread reply and the requester's DM are queued with it.
- `view_draft(actor, reference, book, roster)`: the whole draft, privately, for SLT
  (`actions.SO_VIEW`; the channel post shows at most `POST_DRAFT_CHARS`).
- `awaiting_decision(actor, book, roster)`: the undecided requests with their age, for
  SLT only (App Home), each with its `actions.SO_VIEW` button.
- `suggest_for_message(channel, message_id, text, reviewer, book, drafting_channels)`: a
  gentle thread reply suggesting a second opinion when a message in an opt-in drafting
  channel is flagged, once per message; None otherwise.
- `slt_post(request, now)`: the approvals-channel message, re-rendered on every change and
  whenever it is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from handlers import actions, messages
from handlers.incident_models import Event, Notice, NotStored, SltCheck
from handlers.models import Actor, Button, Fact, Passage, Reply, unreadable
from handlers.report import Submission, age, stamp, utcnow, who
from knowledge.review import DraftInput, Finding, Review
from knowledge.review.evaluate import DraftReviewer

MAX_DRAFT_CHARS = 40_000
MAX_COMMENT_CHARS = 3000
POST_DRAFT_CHARS = 2500
POLICY_DOCUMENT = "Social media policy"

ReviewStatus = Literal["pending", "approved", "changes_requested", "rejected"]

DECISIONS: dict[str, ReviewStatus] = {
    actions.SO_APPROVE: "approved",
    actions.SO_REQUEST_CHANGES: "changes_requested",
    actions.SO_REJECT: "rejected",
}
COMMENT_REQUIRED = frozenset(messages.REVIEW_COMMENT_PROMPTS)


class ReviewRequest(BaseModel):
    """A draft sent to SLT, with the findings shown to the requester and its decision."""

    model_config = ConfigDict(frozen=True)

    reference: str
    created_at: datetime
    draft: DraftInput
    findings: list[Finding]
    requester: Actor
    status: ReviewStatus = "pending"
    decided_by: str = ""
    decided_at: datetime | None = None
    comment: str = ""


class DecisionOutcome(BaseModel):
    """What a decision click did: the actor's private reply and the notices queued with it."""

    model_config = ConfigDict(frozen=True)

    reply: Reply
    request: ReviewRequest | None = None
    notices: list[Notice] = []
    changed: bool = False


class ReviewBook(Protocol):
    """What second opinions need from storage (bot/reviews.py implements it over SQLite).

    Notices are addressed like incident notices: "slt" is the approvals channel (its
    post for replies and updates), "reporter" the person who asked for the opinion.
    """

    def create(
        self,
        draft: DraftInput,
        findings: list[Finding],
        requester: Actor,
        dedupe_key: str,
        announce: Callable[[ReviewRequest], list[Notice]],
    ) -> tuple[ReviewRequest, bool]:
        """Store a pending request with its "requested" audit row and `announce`'s notices in one
        transaction; a `dedupe_key` seen before returns that request and False. Raises NotStored."""
        ...

    def get(self, reference: str) -> ReviewRequest | None: ...

    def decide(self, after: ReviewRequest, event: Event, notices: list[Notice]) -> bool:
        """Record `after`'s decision only if the request is still pending (compare-and-set),
        with its audit row and notices; False when someone decided first."""
        ...

    def log(self, reference: str, event: Event) -> None:
        """Append an audit row that changes nothing: viewed, refused."""
        ...

    def pending(self) -> list[tuple[ReviewRequest, datetime | None]]:
        """Undecided requests, oldest first, each with when it was last reminded about."""
        ...

    def remember_suggestion(self, channel: str, message_id: str) -> bool:
        """Note that a message was nudged; False if it was already."""
        ...


def _private(kind: str, text: str, title: str = "") -> Reply:
    return Reply(kind=kind, title=title, text=text, private=True)  # type: ignore[arg-type]


def draft_error(draft: DraftInput) -> str | None:
    """Why this draft can't be checked or sent, in words for the person who typed it."""
    text = draft.text.strip()
    if not text:
        return messages.DRAFT_EMPTY
    if len(text) > MAX_DRAFT_CHARS:
        return f"That draft is {len(text):,} characters; please keep it to {MAX_DRAFT_CHARS:,}."
    if unreadable(text):
        return messages.DRAFT_UNREADABLE
    return None


def finding_notes(findings: list[Finding]) -> list[str]:
    """One line per finding: the reason in plain words, the words that triggered it and where the policy says so."""
    return [
        f"{n}. {messages.REASONS[f.reason]}: “{f.span.text}”" + (f" (policy: {f.section})" if f.section else "")
        for n, f in enumerate(findings, 1)
    ]


def finding_passages(findings: list[Finding]) -> list[Passage]:
    """The policy passages the findings cite, each once, in the order first cited."""
    seen: dict[tuple[str, str], Passage] = {}
    for f in findings:
        section = f.section or POLICY_DOCUMENT
        seen.setdefault((section, f.policy), Passage(text=f.policy, document=POLICY_DOCUMENT, section=section))
    return list(seen.values())


def send_button() -> Button:
    return Button(action=actions.SO_SEND, label=messages.SEND_TO_SLT, style="primary")


def check_draft(actor: Actor, draft: DraftInput, reviewer: DraftReviewer) -> Reply:
    """The findings for `actor`'s eyes only, always with the button to ask SLT (even when nothing was found)."""
    error = draft_error(draft)
    if error:
        return _private("error", error)
    return findings_reply(reviewer.review(draft)).model_copy(update={"buttons": [send_button()]})


def findings_reply(review: Review) -> Reply:
    """The findings of one review as a private reply (no buttons)."""
    return Reply(
        kind="review",
        title=messages.CHECK_TITLE,
        text=messages.CHECK_FOUND if review.findings else messages.CHECK_FINE,
        notes=finding_notes(review.findings),
        passages=finding_passages(review.findings),
        private=True,
    )


def draft_facts(request: ReviewRequest, now: datetime) -> list[Fact]:
    draft = request.draft
    images = "No"
    if draft.contains_learner_images:
        images = "Yes — permission checked" if draft.permission_checked else "Yes — permission NOT checked"
    elif draft.contains_learner_images is None:
        images = "Not said"
    facts = [
        Fact(label="Reference", value=request.reference),
        Fact(label="Requested by", value=who(request.requester)),
        Fact(label="Account", value=draft.target or "Not given"),
        Fact(label="Images of learners", value=images),
        Fact(label="Status", value=messages.REVIEW_STATUS_LABELS[request.status]),
        Fact(label="Requested", value=f"{stamp(request.created_at)} ({age(request.created_at, now)})"),
    ]
    if request.decided_at is not None:
        what = messages.DECISION_LABELS[request.status]
        facts.append(Fact(label="Decision", value=f"{what} by {request.decided_by} at {stamp(request.decided_at)}"))
    if request.comment:
        facts.append(Fact(label="Comment", value=request.comment))
    return facts


def _shortened(request: ReviewRequest) -> tuple[str, bool]:
    text = request.draft.text.strip()
    if len(text) <= POST_DRAFT_CHARS:
        return text, False
    return text[:POST_DRAFT_CHARS].rstrip() + "…", True


def slt_post(request: ReviewRequest, now: datetime) -> Reply:
    """The approvals-channel message: the draft (shortened), the findings, and the decision buttons while pending."""
    text, shortened = _shortened(request)
    ref = request.reference
    buttons = [Button(action=actions.SO_VIEW, label="View full draft", value=ref)] if shortened else []
    if request.status == "pending":
        buttons += [
            Button(action=actions.SO_APPROVE, label="Approve", value=ref, style="primary"),
            Button(action=actions.SO_REQUEST_CHANGES, label="Request changes", value=ref),
            Button(action=actions.SO_REJECT, label="Reject", value=ref, style="danger"),
        ]
    return Reply(
        kind="review",
        title=f"{messages.REVIEW_TITLE} {ref}",
        text=text,
        verbatim=True,
        facts=draft_facts(request, now),
        notes=[*([messages.full_text_in(ref)] if shortened else []),
               *(finding_notes(request.findings) or [messages.REVIEW_NO_FINDINGS])],
        passages=finding_passages(request.findings),
        buttons=buttons,
    )


def _announce(request: ReviewRequest) -> list[Notice]:
    return [Notice(kind="post", to="slt", reply=slt_post(request, request.created_at))]


def request_second_opinion(
    actor: Actor, draft: DraftInput, dedupe_key: str, reviewer: DraftReviewer, book: ReviewBook
) -> Submission:
    """Store the request with its SLT post queued; only then say it was sent.

    The findings are worked out again here rather than trusted from the client.
    """
    error = draft_error(draft)
    if error:
        return Submission(reply=_private("error", error))
    findings = reviewer.review(draft).findings
    try:
        request, created = book.create(draft, findings, actor, dedupe_key, _announce)
    except NotStored:
        return Submission(reply=_private("error", messages.REQUEST_NOT_SENT))
    reply = Reply(
        kind="confirmation",
        title=messages.REVIEW_TITLE,
        text=messages.request_sent(request.reference),
        facts=[Fact(label="Reference", value=request.reference)],
        private=True,
    )
    return Submission(reply=reply, reference=request.reference, created=created, stored=True)


def _refuse(book: ReviewBook, reference: str, actor: Actor, text: str, detail: str) -> DecisionOutcome:
    book.log(reference, Event(action="refused", actor=actor, detail=detail))
    return DecisionOutcome(reply=_private("error", text))


def _already(request: ReviewRequest) -> str:
    assert request.decided_at is not None
    return messages.review_already_decided(
        messages.DECISION_LABELS[request.status], request.decided_by, stamp(request.decided_at)
    )


def decide(
    actor: Actor,
    reference: str,
    action: str,
    comment: str | None,
    book: ReviewBook,
    roster: SltCheck,
    now: datetime | None = None,
) -> DecisionOutcome:
    """Apply one SLT decision button (see the module docstring)."""
    now = now or utcnow()
    request = book.get(reference)
    if request is None:
        return DecisionOutcome(reply=_private("error", messages.REVIEW_UNKNOWN))
    if action not in DECISIONS:
        return DecisionOutcome(reply=_private("error", messages.REVIEW_UNKNOWN_ACTION))
    ref = request.reference
    if not roster.is_slt(actor):
        return _refuse(book, ref, actor, messages.REVIEW_SLT_ONLY, f"{action}: not SLT")
    if actor.key == request.requester.key:
        return _refuse(book, ref, actor, messages.REVIEW_OWN_REQUEST, f"{action}: own request")
    if request.status != "pending":
        return _refuse(book, ref, actor, _already(request), f"{action}: already {request.status}")
    comment = (comment or "").strip()
    if action in COMMENT_REQUIRED and not comment:
        prompt = messages.REVIEW_COMMENT_PROMPTS[action]
        return DecisionOutcome(reply=_private("error", messages.REVIEW_COMMENT_MISSING.format(prompt=prompt)))
    if len(comment) > MAX_COMMENT_CHARS:
        return DecisionOutcome(
            reply=_private("error", messages.REVIEW_COMMENT_TOO_LONG.format(limit=MAX_COMMENT_CHARS))
        )
    status = DECISIONS[action]
    decided = {"status": status, "decided_by": who(actor), "decided_at": now.replace(microsecond=0), "comment": comment}
    after = request.model_copy(update=decided)
    notices = _decision_notices(after, now)
    if not book.decide(after, Event(action=status, actor=actor, detail=comment), notices):
        latest = book.get(ref)
        assert latest is not None and latest.status != "pending"
        return _refuse(book, ref, actor, _already(latest), f"{action}: already {latest.status}")
    done = messages.review_decided(ref, messages.DECISION_LABELS[status], "you")
    return DecisionOutcome(reply=_private("confirmation", done), request=after, notices=notices, changed=True)


def _decision_notices(after: ReviewRequest, now: datetime) -> list[Notice]:
    """The post without its decision buttons, a thread reply and the requester's DM, each with the comment."""
    what = messages.DECISION_LABELS[after.status]
    comment = [f"Comment: {after.comment}"] if after.comment else []
    thread = Reply(kind="info", text=messages.review_decided(after.reference, what, after.decided_by), notes=comment)
    dm = Reply(
        kind="info",
        text=messages.requester_decision(after.reference, after.status, after.decided_by),
        notes=comment,
    )
    return [
        Notice(kind="update", to="slt", reply=slt_post(after, now)),
        Notice(kind="reply", to="slt", reply=thread),
        Notice(kind="direct", to="reporter", reply=dm),
    ]


def view_draft(actor: Actor, reference: str, book: ReviewBook, roster: SltCheck) -> Reply:
    """The whole draft, privately, for SLT (audited as viewed)."""
    request = book.get(reference)
    if request is None:
        return _private("error", messages.REVIEW_UNKNOWN)
    if not roster.is_slt(actor):
        return _refuse(book, request.reference, actor, messages.REVIEW_SLT_ONLY, "view: not SLT").reply
    book.log(request.reference, Event(action="viewed", actor=actor))
    return Reply(
        kind="review",
        title=f"{messages.REVIEW_FULL_TITLE} — {request.reference}",
        text=request.draft.text,
        verbatim=True,
        facts=draft_facts(request, utcnow()),
        private=True,
    )


def awaiting_decision(actor: Actor, book: ReviewBook, roster: SltCheck, now: datetime | None = None) -> Reply:
    """The SLT queue of undecided requests (oldest first) with their age; refused to anyone else."""
    if not roster.is_slt(actor):
        return _private("error", messages.REVIEW_SLT_ONLY)
    now = now or utcnow()
    queue = [request for request, _ in book.pending()]
    if not queue:
        return _private("info", messages.NO_PENDING_REVIEWS, messages.PENDING_REVIEWS_TITLE)
    facts = [
        Fact(
            label=r.reference,
            value=f"{who(r.requester)} — {len(r.findings)} finding(s) — {age(r.created_at, now)}",
        )
        for r in queue
    ]
    buttons = [Button(action=actions.SO_VIEW, label=f"View {r.reference}", value=r.reference) for r in queue]
    return Reply(kind="info", title=messages.PENDING_REVIEWS_TITLE, facts=facts, buttons=buttons, private=True)


def suggest_for_message(
    channel: str,
    message_id: str,
    text: str,
    reviewer: DraftReviewer,
    book: ReviewBook,
    drafting_channels: Collection[str],
) -> Reply | None:
    """A gentle thread reply when a message in an opt-in drafting channel is flagged; once per message."""
    if channel not in drafting_channels:
        return None
    draft = DraftInput(text=text)
    if draft_error(draft) or reviewer.review(draft).verdict == "fine":
        return None
    if not book.remember_suggestion(channel, message_id):
        return None
    return Reply(
        kind="info",
        text=messages.SUGGEST_SECOND_OPINION,
        buttons=[Button(action=actions.OPEN_SECOND_OPINION, label="Ask for a second opinion", value=message_id)],
    )
