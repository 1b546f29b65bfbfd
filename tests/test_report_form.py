from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from handlers.incident_models import Category, ReportForm, form_errors


def errors(**fields) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        ReportForm.model_validate(fields)
    return form_errors(info.value)


def test_a_minimal_report_defaults_to_today_and_not_urgent():
    form = ReportForm(category="bullying", what_happened="  Nasty replies under our post  ")
    assert form.category is Category.BULLYING
    assert form.what_happened == "Nasty replies under our post"
    assert form.when == date.today()
    assert form.urgent is False


def test_category_accepts_code_or_label_and_rejects_others():
    assert ReportForm(category="Copyright", what_happened="x").category is Category.COPYRIGHT
    assert errors(category="gossip", what_happened="x") == {"category": "Please choose one of the listed categories."}
    assert errors(what_happened="x") == {"category": "This is required."}


def test_every_category_has_a_label():
    assert len({c.label for c in Category}) == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Please describe what happened."),
        ("   \n ", "Please describe what happened."),
        ("x" * 3001, "That is 3,001 characters; please keep it to 3,000"),
        ("bad\x00byte", "characters I can't store"),
    ],
)
def test_what_happened_is_required_and_bounded(text, message):
    assert message in errors(category="other", what_happened=text)["what_happened"]


def test_what_happened_may_hold_emoji_sequences_and_no_break_spaces():
    text = "A parent posted 👨‍👩‍👧 and 🏳️‍🌈 under our post,\xa0then deleted it"
    assert ReportForm(category="other", what_happened=text).what_happened == text


def test_what_happened_of_exactly_3000_characters_is_kept_in_full():
    assert len(ReportForm(category="other", what_happened="y" * 3000).what_happened) == 3000


@pytest.mark.parametrize("link", ["not a url", "ftp://x.org/a", "https://localhost/x", "javascript:alert(1)", "https://a b.com"])
def test_links_must_be_web_addresses(link):
    assert "isn't a web link" in errors(category="other", what_happened="x", link=link)["link"]


def test_a_long_platform_gets_a_plain_limit():
    assert errors(category="other", what_happened="x", platform="Instagram " * 40) == {
        "platform": "Please keep this to 300 characters (where it happened, e.g. Instagram)."}


def test_a_good_link_and_platform_are_kept():
    form = ReportForm(category="other", what_happened="x", platform=" X  (Twitter) ", link="https://x.com/s/1?a=b")
    assert (form.platform, form.link) == ("X (Twitter)", "https://x.com/s/1?a=b")


def test_dates_are_iso_and_not_in_the_future():
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert "future" in errors(category="other", what_happened="x", when=tomorrow)["when"]
    assert "YYYY-MM-DD" in errors(category="other", what_happened="x", when="last tuesday")["when"]
    assert ReportForm(category="other", what_happened="x", when="").when == date.today()
    assert ReportForm(category="other", what_happened="x", when="2026-01-05").when == date(2026, 1, 5)
    assert errors(category="other", what_happened="x", when="0001-01-01")["when"] == (
        "That date is before 1990; please check the year.")


def test_urgent_takes_yes_or_no():
    assert ReportForm(category="other", what_happened="x", urgent="yes").urgent is True
    assert errors(category="other", what_happened="x", urgent="maybe") == {"urgent": "Please answer yes or no."}


def test_errors_are_keyed_by_field_so_each_platform_can_show_them_in_place():
    found = errors(category="nope", what_happened="", link="x", when="2999-01-01", extra="?")
    assert set(found) == {"category", "what_happened", "link", "when", "extra"}
