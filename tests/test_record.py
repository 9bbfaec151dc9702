from __future__ import annotations

from datetime import date

import pytest

from bot.records.fields import FIELDS, FieldError, display, id_number_is_valid, normalise

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(("raw", "stored"), [("13800138000", "+8613800138000"), ("138 0013 8000", "+8613800138000"),
                                              ("+86 138-0013-8000", "+8613800138000"), (13800138000.0, "+8613800138000")])
def test_phones_are_normalised_to_e164(raw, stored):
    assert normalise("father_phone", raw, today=TODAY) == stored


@pytest.mark.parametrize("raw", ["12345", "1380013800", "电话", "+86 999 0000 0000"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(FieldError) as caught:
        normalise("mother_phone", raw, today=TODAY)
    assert caught.value.code == "phone"


@pytest.mark.parametrize("raw", ["2016-05-01", "2016/5/1", "2016.05.01", "2016年5月1日", "20160501", date(2016, 5, 1)])
def test_dates_in_the_forms_people_write(raw):
    assert normalise("birth_date", raw, today=TODAY) == "2016-05-01"


@pytest.mark.parametrize(("raw", "code"), [("2016-13-01", "date"), ("tomorrow", "date"), ("2027-01-01", "date_range"),
                                           ("1990-01-01", "date_range")])
def test_bad_dates(raw, code):
    with pytest.raises(FieldError) as caught:
        normalise("birth_date", raw, today=TODAY)
    assert caught.value.code == code


def test_id_numbers_are_checked_by_their_check_digit():
    assert id_number_is_valid("11010519491231002X")
    assert not id_number_is_valid("110105194912310021")  # wrong check digit
    assert not id_number_is_valid("110105194913310028")  # no 13th month
    assert normalise("id_number", "11010519491231002x", today=TODAY) == "11010519491231002X"
    with pytest.raises(FieldError):
        normalise("id_number", "110105194912310021", today=TODAY)


@pytest.mark.parametrize(("key", "raw", "stored"), [("sex", "女", "female"), ("sex", "boy", "male"),
                                                    ("boarding", "住校", "yes"), ("guardianship", "无人监护", "unsupervised")])
def test_choices_accept_both_languages(key, raw, stored):
    assert normalise(key, raw, today=TODAY) == stored


def test_required_and_length_limits():
    with pytest.raises(FieldError) as caught:
        normalise("name", "  ", today=TODAY)
    assert caught.value.code == "required"
    with pytest.raises(FieldError) as caught:
        normalise("name", "很" * 41, today=TODAY)
    assert (caught.value.code, caught.value.params) == ("too_long", {"limit": 40})
    assert normalise("interests", "", today=TODAY) == ""


def test_every_field_has_a_group_and_choices_display_translated():
    assert all(f.group for f in FIELDS)
    assert display("sex", "female", lambda s: {"girl": "女孩"}.get(s, s)) == "女孩"
    assert display("father_phone", "+8613800138000", str) == "+86 138 0013 8000"
