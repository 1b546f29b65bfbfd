"""Action ids carried by buttons: the one list every renderer and listener agrees on."""

FEEDBACK_HELPFUL = "feedback_helpful"
FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"
OPEN_REPORT = "open_report"
OPEN_SECOND_OPINION = "open_second_opinion"
SEND_TO_OWNER = "send_to_policy_owner"
SHARE_ANSWER = "share_answer"

# Incident buttons on the SLT post; the button value is the incident reference.
INCIDENT_VIEW = "incident_view"
INCIDENT_ACKNOWLEDGE = "incident_acknowledge"
INCIDENT_ASSIGN = "incident_assign"
INCIDENT_NOTE = "incident_note"
INCIDENT_ESCALATE = "incident_escalate"
INCIDENT_RESOLVE = "incident_resolve"

# Second opinions: the requester's "send" button carries no value (the adapter keeps the
# draft it checked); the SLT buttons' value is the review reference (SO-2026-0007).
SO_SEND = "second_opinion_send"
SO_APPROVE = "second_opinion_approve"
SO_REQUEST_CHANGES = "second_opinion_request_changes"
SO_REJECT = "second_opinion_reject"
SO_VIEW = "second_opinion_view"
ASK_QUESTION = "ask_question"
