import io

from bot.console import Console
from handlers import messages
from handlers.models import Actor

ME = Actor(platform="console", user_id="me", name="Me")


def run(services, script: str, slt: bool = False) -> str:
    if slt:
        services.roster.grant(ME)
    out = io.StringIO()
    Console(services, actor=ME, stdin=io.StringIO(script), stdout=out).run()
    return out.getvalue()


REPORT = "/report\n12\n9\n\nA pupil posted threats\nInstagram\nnot a url\nhttps://instagram.com/p/1\n2999-01-01\n\nJ. Smith\nmaybe\nyes\n"


def test_report_asks_each_field_re_asks_with_the_error_and_shows_the_slt_post(services):
    output = run(services, REPORT)
    assert "  9. Learner safety concern" in output
    for error in (
        "Please choose one of the listed categories.",
        "Please describe what happened.",
        "That isn't a web link I can use",
        "That date is in the future",
        "Please answer yes or no.",
    ):
        assert error in output
    assert "Your report INC-" in output
    assert "safeguarding lead (DSL)" in output
    assert "[SLT channel]" in output
    assert "[direct message to the safeguarding lead]" in output
    post = output.split("[SLT channel]")[1].split("[direct message")[0]
    assert "threats" not in post and "Smith" not in post
    incident = services.incidents.reported_by(ME)[0]
    assert (incident.link, incident.people, incident.urgent) == ("https://instagram.com/p/1", "J. Smith", True)


def test_slt_can_work_the_incident_with_numbered_buttons(services):
    output = run(services, REPORT + "/1\n/1\n/6\nParents told\n/report status\n", slt=True)
    assert "Incident details (confidential)" in output and "A pupil posted threats" in output
    assert "[/1] Acknowledge" in output  # the details offer the actions too
    assert "[SLT channel, post updated]" in output
    assert "[SLT channel, in thread]" in output
    assert messages.reporter_update(services.incidents.reported_by(ME)[0].reference, "resolved").split(".")[0] in output
    assert "Learner safety concern — Resolved" in output
    assert [r["action"] for r in services.incidents.history(services.incidents.reported_by(ME)[0].reference)] == [
        "created", "routed", "viewed", "acknowledged", "resolved"
    ]  # fmt: skip


def test_non_slt_pressing_a_button_is_refused(services):
    output = run(services, REPORT + "/2\n")
    assert messages.INCIDENT_SLT_ONLY in output
    assert services.incidents.reported_by(ME)[0].status == "new"


def test_non_slt_pressing_resolve_is_refused_before_being_asked_for_the_outcome(services):
    output = run(services, REPORT + "/6\nI sorted it\n")
    after_press = output.split("you> ")[-3]  # then "I sorted it" is only a question, then the end
    assert messages.INCIDENT_SLT_ONLY in after_press
    assert messages.INCIDENT_PROMPTS["incident_resolve"] not in after_press
    assert services.incidents.reported_by(ME)[0].status == "new"


def test_a_command_typed_at_a_question_is_not_taken_as_the_answer(services):
    script = "/report\n2\n /HELP\nA fake account is posting about Year 8\n/Quit\n/r/ukteachers\n\n\n\nno\n/QUIT\n"
    output = run(services, script)
    assert output.count(messages.FORM_COMMAND) == 2
    [incident] = services.incidents.reported_by(ME)
    assert (incident.what_happened, incident.platform) == ("A fake account is posting about Year 8", "/r/ukteachers")
    assert output.rstrip().endswith("Bye.")


def test_cancel_in_any_case_stops_the_form(services):
    output = run(services, "/report\n2\n/Cancel\n")
    assert messages.REPORT_CANCELLED in output and services.incidents.reported_by(ME) == []


def test_cancel_stores_nothing(services):
    output = run(services, "/report\n2\n/cancel\n/report status\n")
    assert messages.REPORT_CANCELLED in output
    assert messages.NO_REPORTS in output
    assert services.store.db["incidents"].count == 0


def test_incidents_queue_is_for_slt(services):
    assert messages.INCIDENT_SLT_ONLY in run(services, "/incidents\n")


def test_a_blank_line_at_an_slt_prompt_asks_again_so_the_note_is_never_taken_for_a_question(services):
    output = run(services, REPORT + "/1\n/1\n/6\n\nDisclosure passed to the DSL\n", slt=True)
    assert messages.INCIDENT_TEXT_MISSING.format(prompt="type it, or /cancel") in output
    assert services.incidents.reported_by(ME)[0].outcome == "Disclosure passed to the DSL"
    assert services.store.db["questions"].count == 0
