"""Every sentence staff read from the bot, in one place to review and to test against."""

from __future__ import annotations

from handlers.models import Actor

ANSWER_TITLE = "Here is what the policy says"
AMBIGUOUS = "A few parts of the policy could answer this; here they are, closest first."
NEXT_STEP_REPORT = (
    "Next step: this sounds like something to report. Use “Report an incident” and SLT will be told straight away."
)
NEXT_STEP_SECOND_OPINION = (
    "Next step: before you publish, ask for a second opinion. SLT will look at your draft against the policy."
)
NOT_COVERED_TITLE = "The policy doesn't cover this"
NOT_COVERED = (
    "I couldn't find an answer to this in the school's policies. Please ask a member of the senior "
    "leadership team (SLT). I've noted the question for the policy owner."
)
UNKNOWN_QUESTION = "I couldn't find that question any more; please ask it again."
THANKS_HELPFUL = "Thanks, glad it helped."
THANKS_NOT_HELPFUL = "Thanks for telling me. The policy owner will see that this answer missed the mark."
PASSED_ON = "Thanks, I've passed your question to the policy owner."
ALREADY_PASSED_ON = "This question has already been passed to the policy owner."
OWNER_NOTICE_TITLE = "A question the policy doesn't answer"
INTERNAL_ERROR = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."

HELP_TITLE = "What I can do"
HELP_TEXT = (
    "I answer questions about the school's social media policy with the exact passage and its section, "
    "take incident reports for the senior leadership team, and check draft posts before you publish."
)


def did_you_mean(sections: list[str]) -> str:
    return "Did you mean: " + "; ".join(sections) + "?"


def owner_notice_asked_by(actor: Actor) -> str:
    who = actor.name or actor.user_id
    return f"Asked by {who} on {actor.platform}."


# -- incident reports ---------------------------------------------------------------------

REPORT_RECEIVED_TITLE = "Report received"
REPORT_NOT_RECEIVED = (
    "Your report was NOT received: I couldn't save it just now. Please try again in a minute; "
    "if it keeps failing, tell a member of the senior leadership team (SLT) in person."
)
REPORT_INVALID = "Please check the highlighted answers and send the report again."
REMINDER_LEARNER_SAFETY = (
    "Because this is about a learner's safety, please also tell the designated safeguarding lead (DSL) "
    "in person today and record it in the school's safeguarding system."
)
REMINDER_COMPROMISING_IMAGE = (
    "Do not attach, forward or share the image, even to report it. The policy says you must delete it "
    "immediately; SLT will ask you for any detail they need."
)
REMINDER_URGENT = (
    "You marked this as urgent or possibly illegal: SLT and the safeguarding lead have been alerted. "
    "If anyone is in immediate danger, call 999."
)
INCIDENT_TITLE = "Incident report"
INCIDENT_DETAILS_TITLE = "Incident details (confidential)"
INCIDENT_SLT_ONLY = "Only the senior leadership team can see or act on incident reports."
INCIDENT_UNKNOWN = "I can't find an incident with that reference. Check it and try again."
INCIDENT_UNKNOWN_ACTION = "I don't know that action on an incident."
INCIDENT_CHANGED_MEANWHILE = "Someone else updated this incident at the same moment; please look again and retry."
INCIDENT_ALREADY_RESOLVED = "This incident is already resolved, so it can't be changed."
NO_REPORTS = "You haven't made any reports."
MY_REPORTS_TITLE = "Your reports"
OPEN_INCIDENTS_TITLE = "Open incidents"
NO_OPEN_INCIDENTS = "There are no open incidents."
DSL_ALERT = "Urgent or learner-safety report: please look at it now (View details is confidential to SLT)."
INCIDENT_PROMPTS = {
    "incident_note": "Add a note for the record (SLT only; the reporter doesn't see it).",
    "incident_escalate": "Escalated to whom, and why? (e.g. police, LADO, children's social care, ICO)",
    "incident_resolve": "What was the outcome? (kept in the record; the reporter is told it is resolved)",
}
INCIDENT_TEXT_MISSING = "Please add some text: {prompt}"
INCIDENT_TEXT_TOO_LONG = "Please keep this to {limit:,} characters."


def report_received(reference: str) -> str:
    return (
        f"Thank you. Your report {reference} has been received and stored, and the senior leadership "
        "team has been told. You'll hear here when it is picked up. Keep the reference."
    )


def reminder(reference: str, hours: float) -> str:
    return f"Reminder: {reference} has not been acknowledged after {hours:g} working hours."


def already_done(what: str, by: str, at: str) -> str:
    return f"This incident was already {what} by {by} at {at}."


def slt_action_done(action: str, reference: str, by: str) -> str:
    """The thread reply under the SLT post for one action (never the note or outcome text)."""
    return f"{reference}: {action} by {by}."


def reporter_update(reference: str, status: str) -> str:
    return {
        "acknowledged": f"Your report {reference} has been picked up by the senior leadership team.",
        "escalated": (
            f"Your report {reference} has been passed by the senior leadership team to the appropriate "
            "external agency. They may contact you."
        ),
        "resolved": (
            f"Your report {reference} has been closed by the senior leadership team. "
            "If you have any further concerns, speak to a member of SLT."
        ),
    }[status]

REPORT_INTRO = "Reporting an incident to the senior leadership team. Type /cancel at any question to stop."
FORM_COMMAND = "That's a command: answer the question, or type /cancel to stop."
REPORT_CANCELLED = "Report cancelled: nothing was stored."
REPORT_PROMPTS = {
    "category": "What kind of incident is it? Type its number.",
    "what_happened": "What happened? (up to 3,000 characters)",
    "platform": "Where did it happen: which platform or account? (Enter to skip)",
    "link": "A link to it, if there is one (Enter to skip)",
    "when": "When did it happen? YYYY-MM-DD (Enter for today)",
    "people": "Who was involved? (optional; Enter to skip)",
    "urgent": "Is it urgent, or might it be illegal? yes / no (Enter for no)",
}

# -- Slack --------------------------------------------------------------------------------

SLACK_USAGE = (
    "How to use me:\n"
    "• Send me a direct message, or mention me in a channel, with your question.\n"
    "• /policy QUESTION answers privately; you can then share the answer in the channel.\n"
    "• /report opens the incident report form; /report status lists your reports.\n"
    "• /secondopinion checks a draft post before you publish it."
)
SHARE_IN_CHANNEL = "Share in channel"
ASK_A_QUESTION = "Ask a question"
ASK_QUESTION_LABEL = "Your question about the social media policy"
REPORTS_NOT_SET_UP = (
    "Incident reports are not set up on this workspace yet. Please tell a member of the senior "
    "leadership team (SLT) in person."
)
NOT_A_BUTTON_VALUE = "That button is out of date; please ask your question again."
FORM_OUT_OF_DATE = "This form is out of date, so nothing was saved. Please open a new one and fill it in again."
SLACK_LABELS = {
    "category": "What kind of incident is it?",
    "what_happened": "What happened?",
    "platform": "Where did it happen (platform or account)?",
    "link": "A link to it, if there is one",
    "when": "When did it happen?",
    "people": "Who was involved?",
    "urgent": "Urgent, or might be illegal",
}
URGENT_OPTION = "This is urgent or might be illegal"
YOUR_QUESTION = "Your question"


def shared_by(mention: str) -> str:
    """`mention` is a platform-rendered mention of the person (e.g. Slack's <@U123>)."""
    return f"Shared by {mention} from the social media policy."

# -- second opinions on draft posts -------------------------------------------------------

CHECK_TITLE = "Checking your draft against the policy"
CHECK_FINE = (
    "I didn't spot anything the policy warns about. I can miss things, so if you're unsure "
    "you can still ask SLT for a second opinion."
)
CHECK_FOUND = "Before you publish, look at these points. You can change the draft, or ask SLT for a second opinion."
SEND_TO_SLT = "Send to SLT for a second opinion"
DRAFT_EMPTY = "Please paste the draft post you'd like checked."
DRAFT_UNREADABLE = "This draft contains characters I can't store; please paste it as plain text."
REQUEST_NOT_SENT = (
    "Your draft was NOT sent: I couldn't save it just now. Please try again in a minute, "
    "or ask a member of the senior leadership team (SLT) in person."
)
REVIEW_TITLE = "Second opinion requested"
REVIEW_FULL_TITLE = "Full draft"
REVIEW_UNKNOWN = "I can't find a second-opinion request with that reference. Check it and try again."
REVIEW_UNKNOWN_ACTION = "I don't know that decision on a draft."
REVIEW_SLT_ONLY = "Only the senior leadership team can decide on second-opinion requests."
REVIEW_OWN_REQUEST = "You asked for this second opinion yourself, so another member of SLT needs to decide on it."
REVIEW_NO_FINDINGS = "The automatic check found nothing; the requester would still like a second opinion."
REVIEW_COMMENT_PROMPTS = {
    "second_opinion_request_changes": "What should be changed? (the requester sees this)",
    "second_opinion_reject": "Why shouldn't this be published? (the requester sees this)",
}
REVIEW_COMMENT_MISSING = "Please add a comment: {prompt}"
REVIEW_COMMENT_TOO_LONG = "Please keep the comment to {limit:,} characters."
SUGGEST_SECOND_OPINION = (
    "This draft may touch on something in the social media policy. If you'd like, ask SLT for a "
    "second opinion before it goes out."
)
SECOND_OPINION_INTRO = "Checking a draft post. Type /cancel at any question to stop."
SECOND_OPINION_PROMPTS = {
    "text": "Paste the draft; finish with a line containing only a full stop (.)",
    "account": "Which account will it go on? (Enter to skip)",
    "learner_images": "Does it include images of learners? yes / no (Enter for no)",
    "permission_checked": "Have you checked permission for them? yes / no (Enter for no)",
}
SECOND_OPINION_CANCELLED = "Cancelled: nothing was sent."
YES_OR_NO = "Please answer yes or no."
DECISION_LABELS = {"approved": "approved", "changes_requested": "changes requested", "rejected": "rejected"}
REVIEW_STATUS_LABELS = {
    "pending": "Waiting for a decision",
    "approved": "Approved",
    "changes_requested": "Changes requested",
    "rejected": "Rejected",
}


def full_text_in(reference: str) -> str:
    return f"(full text in {reference})"


def request_sent(reference: str) -> str:
    return (
        f"Thank you. Your draft {reference} has been sent to the senior leadership team for a second "
        "opinion. You'll hear here when someone decides. Please don't publish it until then."
    )


def review_already_decided(what: str, by: str, at: str) -> str:
    return f"This draft was already {what} by {by} at {at}."


def review_decided(reference: str, what: str, by: str) -> str:
    return f"{reference}: {what} by {by}."


def requester_decision(reference: str, status: str, by: str) -> str:
    return {
        "approved": f"Good news: your draft {reference} was approved by {by}. You can publish it.",
        "changes_requested": f"{by} asked for changes to your draft {reference} before it is published.",
        "rejected": f"{by} decided your draft {reference} should not be published.",
    }[status]


def review_reminder(reference: str, hours: float) -> str:
    return f"Reminder: {reference} has been waiting for a decision for {hours:g} working hours."


PENDING_REVIEWS_TITLE = "Drafts waiting for a decision"
NO_PENDING_REVIEWS = "No drafts are waiting for a decision."
FAILED_DELIVERIES_TITLE = "Messages I couldn't deliver"
FAILED_DELIVERIES = (
    "The chat platform refused these for good, so I stopped retrying; the reports and requests themselves "
    "are stored. The usual cause is that the bot is not in the channel (invite it) or a channel id in the "
    "settings or routing.toml is wrong. Fix the cause, then press Try again."
)
TRY_AGAIN = "Try again"

# Draft review reasons (knowledge.review.models.Reason) in plain words.
REASONS = {
    "learner_identification": "It could identify a learner (a full name, or a name with a photo or class)",
    "contact_details": "It shares personal contact details",
    "confidential": "It mentions something confidential",
    "grievance": "It airs a workplace grievance",
    "offensive": "It contains offensive language",
    "criticism": "It criticises or judges a colleague, parent or the school",
    "controversial": "It takes a side on a controversial topic",
    "copyright": "It may share content the school doesn't have the rights to",
    "hostile_reply": "It replies to a complaint in public in a way that could escalate it",
    "inappropriate_link": "It links to content that may not suit every audience of a school account",
    "personal_opinion": "It gives a personal view without saying it is your own",
    "personal_gain": "It promotes something for personal gain",
    "image_permission": "It includes images of learners without permission being checked",
}
NO_DRAFT_TO_SEND = "There's no checked draft to send: type /secondopinion first."

# -- Microsoft Teams ----------------------------------------------------------------------

TEAMS_USAGE = (
    "How to use me in Teams:\n"
    "- Chat with me, or @mention me in a channel, with your question.\n"
    "- Type report to report an incident (the form opens in our private chat), report status to see yours.\n"
    "- Type second opinion to check a draft post before you publish it."
)
TEAMS_NO_AUTH_WARNING = (
    "WARNING: STAFFBOT_TEAMS_NO_AUTH is set and MICROSOFT_APP_ID is empty: Teams requests are NOT "
    "authenticated and anyone who can reach this port can act as any user. Use this for local testing only."
)
TEAMS_SENT_PRIVATELY = "I've sent you the rest in our private chat."
TEAMS_FORM_SENT_PRIVATELY = "I've sent you the second-opinion form in our private chat, with this message as the draft."
TEAMS_OPEN_CHAT_FIRST = (
    "I can't message you privately yet: open a chat with me (search for the app in Teams) and try again."
)
TEAMS_UNKNOWN_BUTTON = "That button is out of date or not one of mine; please start again."
TEAMS_ALREADY_DONE = "Already done: I had received this click."
TEAMS_DRAFT_GONE = "I can't find the draft you checked any more; please type second opinion and check it again."
TEAMS_COMMENT_LABEL = "Note, escalation, outcome or reason (needed for some buttons)"
TEAMS_SEND_REPORT = "Send report"
TEAMS_CHECK_DRAFT = "Check my draft"
TEAMS_SECOND_OPINION_LABELS = {
    "text": "Paste the draft post",
    "account": "Which account will it go on?",
    "learner_images": "It includes images of learners",
    "permission_checked": "I have checked permission for them",
}
SLACK_DRAFT_LABELS = {
    "draft": "Paste the draft post (up to 3,000 characters here)",
    "target": "Which account will it go on?",
    "learner_images": "It includes images of learners",
    "permission_checked": "I have checked permission for them",
}
MY_REQUESTS_TITLE = "Your second-opinion requests"
