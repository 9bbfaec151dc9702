"""The care forms as plain rules: what a typed value may be (dates, scores, grades, notes), what a button stands
for, and which field a form asks next. No Telegram, no database."""

from __future__ import annotations

from datetime import date

import pytest

from bot.errors import UserError
from bot.i18n import translator
from bot.musts.forms import (FORMS, GOODNEWS, SCORE, SUMMARY, TALK, TEXT_LIMIT, UPDATE, BadValue, chosen_value,
                             missing, next_field, parse_date, parse_grade, typed_value)

TODAY = date(2026, 3, 2)


def refusal(call, *args) -> str:
    """The English text a person is shown when `call(*args)` refuses."""
    with pytest.raises(BadValue) as refused:
        call(*args)
    return refused.value.text(translator("en").gettext)


@pytest.mark.parametrize("typed, day", [
    ("2026-02-27", "2026-02-27"), ("2-27", "2026-02-27"), ("02/27", "2026-02-27"), ("2月27日", "2026-02-27"),
    ("2.27", "2026-02-27"), (" 3-2 ", "2026-03-02"),
    ("12-31", "2025-12-31"),      # no year, and after today: last year's
    ("2025年3月3日", "2025-03-03"),
])
def test_a_date_is_read_in_the_ways_people_type_it(typed, day):
    assert parse_date(typed.strip(), TODAY) == date.fromisoformat(day)


@pytest.mark.parametrize("typed, said", [
    ("13-45", "⚠️ There is no such date: 13-45."),
    ("2026-03-09", "⚠️ That date is in the future."),
    ("2024-03-01", "⚠️ That date is more than a year ago."),
    ("next week", "⚠️ Type the date as month-day, for example 11-20 or 11月20日."),
])
def test_a_date_that_cannot_be_is_refused_with_a_reason(typed, said):
    assert refusal(parse_date, typed, TODAY) == said


def test_the_29th_of_february_typed_without_a_year_after_a_leap_year_is_refused():
    assert refusal(parse_date, "2-29", date(2025, 2, 10)) == "⚠️ There is no such date: 2-29."
    assert parse_date("2-29", date(2028, 3, 1)) == date(2028, 2, 29)


@pytest.mark.parametrize("typed, kept", [
    ("92", "92"), ("92.5", "92.5"), ("92/100", "92/100"), ("92分", "92"), ("92 / 100", "92/100"), ("120", "120"),
    ("a", "A"), ("B+", "B+"), ("优", "优"), ("合格", "合格"),
])
def test_a_score_or_a_grade_is_kept_as_it_should_be_shown(typed, kept):
    assert parse_grade(typed) == kept


def test_a_score_above_the_full_mark_or_not_a_score_is_refused():
    assert refusal(parse_grade, "200") == "⚠️ 200 is more than the full mark 150."
    assert refusal(parse_grade, "95/90") == "⚠️ 95 is more than the full mark 90."
    assert refusal(parse_grade, "lots").startswith("⚠️ Type a score such as 92")
    assert refusal(parse_grade, "50/500").startswith("⚠️ Type a score such as 92")


def test_typed_values_are_checked_against_the_field():
    update, score, talk = FORMS[UPDATE], FORMS[SCORE], FORMS[TALK]
    assert typed_value(update.field("study"), "  喜欢数学  ", TODAY) == "喜欢数学"
    assert typed_value(talk.field("topics"), "想妈妈", TODAY) == ["想妈妈"]
    assert typed_value(score.field("date"), "2-27", TODAY) == "2026-02-27"
    assert refusal(typed_value, update.field("mood"), "开心", TODAY) == "⚠️ Please choose one of the buttons."
    assert refusal(typed_value, update.field("note"), "   ", TODAY).startswith("⚠️ That was empty.")
    assert refusal(typed_value, update.field("note"), "字" * (TEXT_LIMIT + 1), TODAY) == (
        f"⚠️ That is too long ({TEXT_LIMIT + 1} characters; at most {TEXT_LIMIT}). A voice note can say more.")


def test_a_refusal_is_a_user_error_shown_in_the_readers_language():
    with pytest.raises(UserError) as refused:
        parse_grade("200")
    assert refused.value.text(translator("zh_CN").gettext).startswith("⚠️ 200")
    assert "200" not in str(refused.value)  # what reaches a log names the class only


def test_a_button_stands_for_its_key_or_the_day_or_month_it_names():
    score, summary, update = FORMS[SCORE], FORMS[SUMMARY], FORMS[UPDATE]
    assert chosen_value(update.field("mood"), "happy", TODAY) == "happy"
    assert chosen_value(score.field("date"), "today", TODAY) == "2026-03-02"
    assert chosen_value(score.field("date"), "yesterday", TODAY) == "2026-03-01"
    assert chosen_value(summary.field("month"), "this", TODAY) == "2026-03"
    assert chosen_value(summary.field("month"), "last", date(2026, 1, 15)) == "2025-12"
    assert refusal(chosen_value, update.field("mood"), "furious", TODAY) == "⚠️ That button is no longer valid."


def test_a_sequential_form_asks_its_fields_in_order_and_a_free_one_lets_the_person_choose():
    score = FORMS[SCORE]
    assert next_field(score, {}).key == "subject"
    assert next_field(score, {"subject": "maths", "score": "92"}).key == "test"
    filled = {"subject": "maths", "score": "92", "test": "unit", "date": "2026-03-01", "evaluation": "none"}
    assert next_field(score, filled) is None
    assert next_field(FORMS[UPDATE], {}) is None and next_field(FORMS[GOODNEWS], {}) is None


def test_what_is_missing_is_the_required_fields_without_an_answer():
    assert [f.key for f in missing(FORMS[SCORE], {"subject": "maths"})] == ["score", "test", "date"]
    assert [f.key for f in missing(FORMS[SUMMARY], {"month": "2026-03"})] == ["note"]
    assert missing(FORMS[UPDATE], {}) == []
