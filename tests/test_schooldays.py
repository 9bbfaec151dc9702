"""The school calendar service: weekends and terms, China's public holidays and make-up days (调休) by default
without anyone doing anything, an admin's marks overriding any day both ways, term dates changed, a year whose
official schedule the holidays package does not carry, and typed dates read as people write them."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.access.policy import ADMIN, TEACHER
from bot.attendance import schooldays as sd
from bot.attendance.schooldays import OFF, SCHOOL, SchoolDaysError, read_dates
from bot.errors import NotAllowed
from tests.world import World


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.person("校长", ADMIN)
    await world.person("王老师", TEACHER, klass="三年级一班")
    return world


@pytest.fixture
def service(world):
    return world.services.schooldays


def at(clock, day: date) -> None:
    """Move the clock to 9:00 on `day` in Shanghai."""
    clock.set(datetime(day.year, day.month, day.day, 1, 0, tzinfo=timezone.utc))


async def audit_actions(world) -> list[str]:
    return [r["action"] for r in await world.services.db.fetch_all("SELECT action FROM audit_log ORDER BY id")]


async def test_weekdays_in_term_are_school_days_and_weekends_and_breaks_are_not(world, service):
    school = world.school_id
    # A plain week in the spring term (2026-03-09 is a Monday).
    assert await service.school_days(school, date(2026, 3, 9), date(2026, 3, 15)) == [
        date(2026, 3, d) for d in range(9, 14)]
    # The summer break (default terms end on July 10, begin again on September 1).
    assert await service.school_days(school, date(2026, 7, 11), date(2026, 8, 31)) == []
    assert await service.is_school_day(school, date(2026, 7, 10))
    assert await service.is_school_day(school, date(2026, 9, 1))
    # The three school days before Monday March 16 are Friday, Thursday, Wednesday (the weekend is skipped).
    assert await service.previous_school_days(school, date(2026, 3, 16), 3) == [
        date(2026, 3, 13), date(2026, 3, 12), date(2026, 3, 11)]


async def test_public_holidays_are_off_by_default(world, service):
    school = world.school_id
    # National Day 2026: October 1 to 7 off (Thursday to Wednesday, with the swapped days).
    assert await service.school_days(school, date(2026, 9, 28), date(2026, 10, 9)) == [
        date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9)]
    # Mid-Autumn (Friday September 25) and Labour Day (May 1 to 5).
    assert not await service.is_school_day(school, date(2026, 9, 25))
    assert [d for d in await service.school_days(school, date(2026, 4, 27), date(2026, 5, 8))] == [
        date(2026, 4, 27), date(2026, 4, 28), date(2026, 4, 29), date(2026, 4, 30),
        date(2026, 5, 6), date(2026, 5, 7), date(2026, 5, 8)]
    # The Spring Festival falls in the winter break of the default terms; a school whose term covers it is off on it.
    actor = await world.actor("校长")
    await service.set_term(actor, school, date(2026, 3, 1), date(2026, 2, 9), date(2026, 7, 10))
    assert await service.school_days(school, date(2026, 2, 9), date(2026, 2, 27)) == [
        date(2026, 2, 9), date(2026, 2, 10), date(2026, 2, 11), date(2026, 2, 12), date(2026, 2, 13),
        date(2026, 2, 14), date(2026, 2, 24), date(2026, 2, 25), date(2026, 2, 26), date(2026, 2, 27)]
    # (Saturday February 14 is the official make-up day for the week off; Monday February 23 is swapped off.)


async def test_an_official_make_up_saturday_is_a_school_day(world, service):
    school = world.school_id
    assert date(2026, 10, 10).weekday() == 5 and date(2026, 9, 20).weekday() == 6
    assert await service.is_school_day(school, date(2026, 10, 10))   # 调休: Saturday after National Day
    assert await service.is_school_day(school, date(2026, 9, 20))    # 调休: the Sunday before it
    assert not await service.is_school_day(school, date(2026, 10, 17))   # an ordinary Saturday
    # Counting back over National Day: the make-up Saturday counts, the week off does not.
    assert await service.previous_school_days(school, date(2026, 10, 12), 3) == [
        date(2026, 10, 10), date(2026, 10, 9), date(2026, 10, 8)]


async def test_an_admin_overrides_any_day_both_ways_and_it_is_audited(world, service, clock):
    school = world.school_id
    actor = await world.actor("校长")
    at(clock, date(2026, 9, 1))
    # A school day off (a sports day), with a note.
    await service.mark(actor, school, date(2026, 11, 12), OFF, "运动会")
    assert not await service.is_school_day(school, date(2026, 11, 12))
    # An ordinary Saturday made a school day.
    await service.mark(actor, school, date(2026, 11, 14), SCHOOL)
    assert await service.is_school_day(school, date(2026, 11, 14))
    # The official make-up Saturday not kept by this school, and a national holiday kept as a school day.
    await service.mark(actor, school, date(2026, 10, 10), OFF)
    await service.mark(actor, school, date(2026, 10, 8), OFF)
    await service.mark(actor, school, date(2026, 10, 7), SCHOOL)
    assert not await service.is_school_day(school, date(2026, 10, 10))
    assert await service.is_school_day(school, date(2026, 10, 7))
    assert await service.overrides(school, date(2026, 10, 1), date(2026, 11, 30)) == {
        date(2026, 10, 7): SCHOOL, date(2026, 10, 8): OFF, date(2026, 10, 10): OFF, date(2026, 11, 12): OFF,
        date(2026, 11, 14): SCHOOL}
    # Marking 10/10 a school day again is what the national schedule says: the mark goes, the default is back.
    await service.mark(actor, school, date(2026, 10, 10), SCHOOL)
    assert date(2026, 10, 10) not in await service.overrides(school, date(2026, 10, 10), date(2026, 10, 10))
    assert await service.is_school_day(school, date(2026, 10, 10))
    # Removing a mark.
    assert await service.unmark(actor, school, date(2026, 11, 14)) == OFF
    assert not await service.is_school_day(school, date(2026, 11, 14))
    coming = await service.coming(school, date(2026, 11, 1), locale="zh_CN")
    assert [(m.day, m.kind, m.national, m.name) for m in coming][:1] == [(date(2026, 11, 12), OFF, False, "运动会")]
    assert await audit_actions(world) == ["schooldays_mark"] * 6 + ["schooldays_unmark"]


async def test_bad_marks_are_refused_and_change_nothing(world, service, clock):
    school = world.school_id
    actor = await world.actor("校长")
    at(clock, date(2026, 9, 1))
    with pytest.raises(NotAllowed):
        await service.mark(await world.actor("王老师"), school, date(2026, 11, 12), OFF)
    with pytest.raises(SchoolDaysError) as refused:
        await service.mark(actor, school, date(2026, 8, 1), SCHOOL)          # the summer break
    assert refused.value.msgid == sd.OUTSIDE_TERMS
    with pytest.raises(SchoolDaysError) as refused:
        await service.mark(actor, school, date(2026, 10, 1), OFF)            # already off
    assert refused.value.msgid == sd.ALREADY_OFF
    with pytest.raises(SchoolDaysError) as refused:
        await service.mark(actor, school, date(2031, 10, 13), OFF)           # years ahead
    assert refused.value.msgid == sd.OUT_OF_RANGE
    with pytest.raises(SchoolDaysError) as refused:
        await service.unmark(actor, school, date(2026, 11, 12))              # no mark there
    assert refused.value.msgid == sd.NOT_MARKED
    assert await service.overrides(school, date(2020, 1, 1), date(2035, 1, 1)) == {}
    assert await audit_actions(world) == []


async def test_term_dates_replace_the_default_term_only(world, service, clock):
    school = world.school_id
    actor = await world.actor("校长")
    at(clock, date(2026, 8, 20))
    term = await service.set_term(actor, school, date(2026, 9, 1), date(2026, 8, 31), date(2027, 1, 22))
    assert (term.starts_on, term.ends_on, term.own) == (date(2026, 8, 31), date(2027, 1, 22), True)
    assert await service.is_school_day(school, date(2026, 8, 31))
    assert await service.is_school_day(school, date(2027, 1, 22))
    assert not await service.is_school_day(school, date(2027, 1, 25))
    # Next spring keeps its default dates.
    assert await service.is_school_day(school, date(2027, 3, 1))
    terms = await service.terms(school, 2027)
    assert [(t.starts_on, t.own) for t in terms] == [
        (date(2026, 8, 31), True), (date(2027, 3, 1), False), (date(2027, 9, 1), False)]
    # Changing it again replaces the school's own row.
    await service.set_term(actor, school, date(2026, 8, 31), date(2026, 9, 1), date(2027, 1, 15))
    assert [(r["starts_on"], r["ends_on"]) for r in await world.services.db.fetch_all(
        "SELECT starts_on, ends_on FROM school_terms")] == [("2026-09-01", "2027-01-15")]
    assert await audit_actions(world) == ["schooldays_term", "schooldays_term"]


@pytest.mark.parametrize("start, end, msgid", [
    (date(2027, 1, 15), date(2026, 9, 1), sd.END_BEFORE_START),
    (date(2026, 9, 1), date(2026, 9, 10), sd.TERM_LENGTH),
    (date(2026, 9, 1), date(2027, 6, 1), sd.TERM_LENGTH),
    (date(2026, 9, 1), date(2027, 3, 5), sd.TERM_OVERLAP),        # runs into next spring's term
    (date(2030, 9, 1), date(2031, 1, 15), sd.OUT_OF_RANGE),
])
async def test_bad_term_dates_are_refused(world, service, clock, start, end, msgid):
    at(clock, date(2026, 8, 20))
    with pytest.raises(SchoolDaysError) as refused:
        await service.set_term(await world.actor("校长"), world.school_id, date(2026, 9, 1), start, end)
    assert refused.value.msgid == msgid
    assert await world.services.db.fetch_all("SELECT * FROM school_terms") == []


async def test_a_year_without_an_official_schedule_keeps_the_rule_based_holidays(world, service, clock):
    school = world.school_id
    # 2035's schedule is not published: the lunar festivals are still computed (the Dragon Boat Festival of 2035
    # is on Sunday June 10, so Monday June 11 is off), National Day is its three days, there are no make-up days,
    # and an admin's marks count as in any year.
    assert not await service.is_school_day(school, date(2035, 6, 11))
    assert await service.is_school_day(school, date(2035, 6, 12))
    assert not await service.is_school_day(school, date(2035, 6, 16))    # a Saturday
    assert await service.school_days(school, date(2035, 10, 1), date(2035, 10, 7)) == [
        date(2035, 10, 4), date(2035, 10, 5)]
    at(clock, date(2035, 9, 1))
    actor = await world.actor("校长")
    await service.mark(actor, school, date(2035, 10, 4), OFF)
    await service.mark(actor, school, date(2035, 10, 6), SCHOOL)
    assert await service.school_days(school, date(2035, 10, 1), date(2035, 10, 7)) == [
        date(2035, 10, 5), date(2035, 10, 6)]


async def test_a_year_the_package_cannot_do_falls_back_to_weekdays_and_marks(world, service, clock, monkeypatch):
    def broken(*args, **kwargs):
        raise NotImplementedError("no data for this year")

    sd._national_year.cache_clear()
    monkeypatch.setattr(sd.holidays, "China", broken)
    try:
        school = world.school_id
        # National Day is then an ordinary Thursday: nothing breaks, the count goes on.
        assert await service.is_school_day(school, date(2026, 10, 1))
        assert not await service.is_school_day(school, date(2026, 10, 10))
        at(clock, date(2026, 9, 1))
        await service.mark(await world.actor("校长"), school, date(2026, 10, 1), OFF)
        assert not await service.is_school_day(school, date(2026, 10, 1))
    finally:
        sd._national_year.cache_clear()


@pytest.mark.parametrize("typed, expected, note", [
    ("2026-10-01", [date(2026, 10, 1)], ""),
    ("2026/10/1", [date(2026, 10, 1)], ""),
    ("2026年10月1日", [date(2026, 10, 1)], ""),
    ("10月1日 运动会", [date(2027, 10, 1)], "运动会"),
    ("１０月８日", [date(2026, 10, 8)], ""),    # full-width, 59 days back: this year's
    ("11/20", [date(2026, 11, 20)], ""),        # two weeks back: this year's
    ("1/5", [date(2027, 1, 5)], ""),            # next January
    ("2026-09-01 至 2027-01-15", [date(2026, 9, 1), date(2027, 1, 15)], ""),
    ("3月1日-7月10日", [date(2027, 3, 1), date(2027, 7, 10)], ""),
    ("明天 运动会", [date(2026, 12, 7)], "运动会"),  # the words people say for a day
    ("后天", [date(2026, 12, 8)], ""),
])
def test_typed_dates_are_read(typed, expected, note):
    assert read_dates(typed, date(2026, 12, 6)) == (expected, note)


@pytest.mark.parametrize("typed", ["hello", "2026-02-30", "13/45", "", "下个月"])
def test_what_is_not_a_date_is_refused(typed):
    with pytest.raises(SchoolDaysError) as refused:
        read_dates(typed, date(2026, 12, 6))
    assert refused.value.msgid == sd.NOT_A_DATE

