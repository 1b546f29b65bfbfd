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
