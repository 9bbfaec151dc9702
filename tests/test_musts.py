"""The five musts tracker: what is done and due for a child at a given moment, in the school's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.musts.tracker import (DONE, DUE, LETTER, OVERDUE, PHOTOS, SUMMARY, TALK, UPDATE, Fact, Must, Rules, check,
                               late)

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
LONG_AGO = "2024-01-01 00:00"


def local(text: str, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def day(text: str) -> date:
    return date.fromisoformat(text)


def musts(now: str | datetime, *facts: Fact, since: str = LONG_AGO, tz: ZoneInfo = SHANGHAI,
          rules: Rules = Rules()) -> dict[str, Must]:
    """check() at a local `now` (text) or an instant, keyed by must."""
    moment = local(now, tz) if isinstance(now, str) else now
    return {m.key: m for m in check(facts, now=moment, tz=tz, since=local(since, tz), rules=rules)}


def fact(kind: str, when: str, photos: int = 0, period: str | None = None, tz: ZoneInfo = SHANGHAI) -> Fact:
    return Fact(kind, local(when, tz), photos, period)


def test_check_answers_every_must_in_a_fixed_order():
    found = check([], now=local("2026-03-10 12:00"), tz=SHANGHAI, since=local("2026-03-01 00:00"))
    assert [m.key for m in found] == [UPDATE, PHOTOS, SUMMARY, TALK, LETTER]


# --- month ends, leap years --------------------------------------------------------------------------------

def test_an_update_on_january_20_is_due_on_february_3():
    update = musts("2026-01-25 09:00", fact(UPDATE, "2026-01-20 18:00"))[UPDATE]
    assert (update.state, update.deadline, update.last, update.done) == (DONE, day("2026-02-03"), day("2026-01-20"), 1)


@pytest.mark.parametrize("now, deadline", [
    ("2028-02-10 12:00", "2028-02-29"),  # leap year
    ("2027-02-10 12:00", "2027-02-28"),
    ("2026-04-10 12:00", "2026-04-30"),
    ("2026-12-31 23:59", "2026-12-31"),
])
def test_photos_and_talks_are_due_by_the_last_day_of_the_month(now, deadline):
    found = musts(now)
    assert found[PHOTOS].deadline == found[TALK].deadline == day(deadline)
    assert found[PHOTOS].period == now[:7]


@pytest.mark.parametrize("last_update, deadline", [
    ("2028-02-20 10:00", "2028-03-05"),  # 29 days in February 2028
    ("2027-02-20 10:00", "2027-03-06"),
    ("2026-12-25 10:00", "2027-01-08"),  # across the year end
])
def test_the_rolling_update_deadline_counts_calendar_days_across_month_ends(last_update, deadline):
    assert musts(last_update, fact(UPDATE, last_update))[UPDATE].deadline == day(deadline)


# --- time zones and DST ------------------------------------------------------------------------------------

INSTANT = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)  # 1 February 01:00 in Shanghai, 31 January 09:00 in Los Angeles


@pytest.mark.parametrize("tz, period, photos", [(SHANGHAI, "2026-02", 2), (LOS_ANGELES, "2026-02", 0)])
def test_the_schools_zone_decides_which_month_an_entry_counts_for(tz, period, photos):
    # A day later it is February in both zones; only Shanghai counted the entry in February.
    found = musts(INSTANT + timedelta(days=1), Fact("score", INSTANT, photos=2), tz=tz)[PHOTOS]
    assert (found.period, found.done) == (period, photos)


@pytest.mark.parametrize("tz, period", [(SHANGHAI, "2026-02"), (LOS_ANGELES, "2026-01")])
def test_the_same_instant_is_in_different_months_in_different_zones(tz, period):
    found = musts(INSTANT, Fact(UPDATE, INSTANT, photos=2), tz=tz)[PHOTOS]
    assert (found.period, found.state, found.done) == (period, DONE, 2)


def test_the_zone_the_author_wrote_the_timestamp_in_is_irrelevant():
    in_new_york = datetime(2026, 1, 31, 12, 0, tzinfo=ZoneInfo("America/New_York"))  # the same instant as INSTANT
    assert in_new_york == INSTANT
    now = datetime(2026, 2, 2, 0, 0, tzinfo=UTC)
    assert musts(now, Fact(TALK, in_new_york)) == musts(now, Fact(TALK, INSTANT))
    assert musts(now, Fact(TALK, in_new_york))[TALK].state == DONE


@pytest.mark.parametrize("update_utc, deadline, due_until, overdue_from", [
    # 23:30 CET on Saturday 28 March, the night before summer time: 14 x 24 h would end on 12 April.
    ("2026-03-28 22:30", "2026-04-11", "2026-04-11 21:59", "2026-04-11 22:00"),
    # 00:30 CEST on Saturday 24 October, the night before winter time: 14 x 24 h would end on 6 November.
    ("2026-10-23 22:30", "2026-11-07", "2026-11-07 22:59", "2026-11-07 23:00"),
])
def test_a_rolling_deadline_is_a_count_of_calendar_days_across_dst(update_utc, deadline, due_until, overdue_from):
    update = Fact(UPDATE, local(update_utc, UTC))
    assert musts(local(due_until, UTC), update, tz=BERLIN)[UPDATE].deadline == day(deadline)
    assert musts(local(due_until, UTC), update, tz=BERLIN)[UPDATE].state == DUE
    assert musts(local(overdue_from, UTC), update, tz=BERLIN)[UPDATE].state == OVERDUE


# --- the rolling update: soon_days, the window -------------------------------------------------------------

@pytest.mark.parametrize("now, state", [
    ("2026-01-30 23:59:59", DONE),  # 4 days left
    ("2026-01-31 00:00", DUE),  # 3 days left: soon
    ("2026-02-03 23:59:59", DUE),  # the deadline day itself
    ("2026-02-04 00:00", OVERDUE),
])
def test_an_update_is_due_from_soon_days_before_its_deadline_and_overdue_after_it(now, state):
    assert musts(now, fact(UPDATE, "2026-01-20 08:00"))[UPDATE].state == state


def test_done_counts_the_updates_of_the_last_fourteen_local_days_today_included():
    updates = [fact(UPDATE, when) for when in ("2026-03-01 12:00", "2026-03-02 00:00", "2026-03-15 20:00")]
    update = musts("2026-03-15 21:00", *updates)[UPDATE]
    assert (update.done, update.needed, update.last, update.deadline) == (2, 1, day("2026-03-15"), day("2026-03-29"))


def test_scores_and_good_news_are_not_updates():
    update = musts("2026-03-15 12:00", fact("score", "2026-03-14 12:00"), fact("goodnews", "2026-03-14 13:00"),
                   since="2026-02-20 00:00")[UPDATE]
    assert (update.state, update.done, update.last, update.deadline) == (OVERDUE, 0, None, day("2026-03-06"))


# --- since: nothing owed before care started ---------------------------------------------------------------

def test_paired_mid_month_photos_and_talk_are_still_owed_by_month_end():
    found = musts("2026-03-21 10:00", since="2026-03-20 15:00")
    assert (found[PHOTOS].state, found[PHOTOS].done, found[PHOTOS].deadline) == (DUE, 0, day("2026-03-31"))
    assert (found[TALK].state, found[TALK].deadline) == (DUE, day("2026-03-31"))


def test_without_an_update_the_rolling_deadline_counts_from_the_start_of_care():
    update = musts("2026-03-21 10:00", since="2026-03-20 15:00")[UPDATE]
    assert (update.state, update.deadline, update.last, update.done) == (DONE, day("2026-04-03"), None, 0)


def test_an_update_before_a_new_pairing_still_counts_but_the_clock_restarts_at_the_pairing():
    update = musts("2026-03-21 10:00", fact(UPDATE, "2026-03-01 10:00"), since="2026-03-20 15:00")[UPDATE]
    assert (update.state, update.deadline, update.last) == (DONE, day("2026-04-03"), day("2026-03-01"))


def test_photos_sent_before_the_pairing_in_the_same_month_count():
    found = musts("2026-03-21 10:00", fact("goodnews", "2026-03-05 10:00", photos=2), since="2026-03-20 15:00")
    assert found[PHOTOS].state == DONE


def test_a_month_that_ended_before_care_started_owes_no_summary():
    summary = musts("2026-03-02 10:00", since="2026-03-01 09:00")[SUMMARY]
    assert (summary.period, summary.state, summary.deadline) == ("2026-03", DUE, day("2026-04-05"))


def test_care_starting_on_a_months_last_day_owes_that_months_summary():
    summary = musts("2026-03-02 10:00", since="2026-02-28 16:00")[SUMMARY]
    assert (summary.period, summary.state, summary.deadline) == ("2026-02", DUE, day("2026-03-05"))


def test_a_start_of_care_after_now_owes_nothing_yet():
    found = musts("2026-03-10 10:00", since="2026-03-12 10:00")
    assert found[UPDATE].deadline == day("2026-03-24")
    assert found[SUMMARY].period == "2026-03"


# --- photos and talks --------------------------------------------------------------------------------------

def test_photos_on_any_kind_of_entry_add_up_within_the_local_month():
    found = musts("2026-03-20 10:00", fact("score", "2026-03-03 10:00", photos=1),
                  fact("goodnews", "2026-03-10 10:00", photos=1), fact(UPDATE, "2026-02-28 10:00", photos=5))[PHOTOS]
    assert (found.state, found.done, found.needed, found.last) == (DONE, 2, 2, day("2026-03-10"))


def test_one_photo_is_not_enough_and_last_months_photos_do_not_carry_over():
    found = musts("2026-03-01 08:00", fact(UPDATE, "2026-02-27 10:00", photos=9),
                  fact(UPDATE, "2026-03-01 07:00", photos=1))[PHOTOS]
    assert (found.state, found.done, found.period) == (DUE, 1, "2026-03")


def test_a_talk_this_month_is_done_and_last_months_talk_is_not():
    assert musts("2026-03-31 23:00", fact(TALK, "2026-03-31 22:00"))[TALK].state == DONE
    talk = musts("2026-04-01 00:30", fact(TALK, "2026-03-31 22:00"))[TALK]
    assert (talk.state, talk.done, talk.last, talk.period) == (DUE, 0, day("2026-03-31"), "2026-04")


def test_entries_recorded_after_now_are_ignored():
    found = musts("2026-03-10 10:00", fact(TALK, "2026-03-10 10:01"), fact(UPDATE, "2026-03-11 10:00", photos=2))
    assert found[TALK].state == found[PHOTOS].state == DUE
    assert found[UPDATE].last is None


# --- summaries: grace days, overdue, periods ---------------------------------------------------------------

SINCE_JANUARY = "2026-01-01 00:00"


@pytest.mark.parametrize("now, period, state, deadline", [
    ("2026-01-15 10:00", "2026-01", DUE, "2026-02-05"),
    ("2026-02-01 00:00", "2026-01", DUE, "2026-02-05"),  # the grace days: January's summary first
    ("2026-02-05 23:59", "2026-01", DUE, "2026-02-05"),
    ("2026-02-06 00:00", "2026-01", OVERDUE, "2026-02-05"),  # does not vanish on the 6th
    ("2026-02-28 23:59", "2026-01", OVERDUE, "2026-02-05"),
    ("2026-03-02 10:00", "2026-01", OVERDUE, "2026-02-05"),  # nor when February's is due too
])
def test_a_missing_summary_is_shown_until_written(now, period, state, deadline):
    summary = musts(now, since=SINCE_JANUARY)[SUMMARY]
    assert (summary.period, summary.state, summary.deadline, summary.done) == (period, state, day(deadline), 0)


def test_last_months_summary_written_in_the_grace_days_brings_this_months_forward():
    summary = musts("2026-02-03 10:00", fact(SUMMARY, "2026-02-02 10:00", period="2026-01"),
                    since=SINCE_JANUARY)[SUMMARY]
    assert (summary.period, summary.state, summary.deadline, summary.last) == (
        "2026-02", DUE, day("2026-03-05"), day("2026-02-02"))


def test_a_summary_written_late_still_closes_its_month():
    written = fact(SUMMARY, "2026-03-03 10:00", period="2026-01")
    summary = musts("2026-03-04 10:00", written, since=SINCE_JANUARY)[SUMMARY]
    assert (summary.period, summary.state, summary.deadline) == ("2026-02", DUE, day("2026-03-05"))


def test_this_months_summary_once_written_is_done():
    summary = musts("2026-03-30 10:00", fact(SUMMARY, "2026-03-29 10:00", period="2026-03"),
                    since="2026-03-01 00:00")[SUMMARY]
    assert (summary.period, summary.state, summary.done, summary.deadline) == ("2026-03", DONE, 1, day("2026-04-05"))


def test_a_summary_without_a_period_covers_the_local_month_it_was_recorded_in():
    # 31 March 17:00 UTC is 1 April in Shanghai: the summary covers April, so March's is still missing.
    april = Fact(SUMMARY, datetime(2026, 3, 31, 17, 0, tzinfo=UTC))
    summary = musts("2026-04-02 10:00", april, since="2026-03-01 00:00")[SUMMARY]
    assert (summary.period, summary.state) == ("2026-03", DUE)
    march = fact(SUMMARY, "2026-03-31 10:00", period="2026-03")
    summary = musts("2026-04-02 10:00", april, march, since="2026-03-01 00:00")[SUMMARY]
    assert (summary.period, summary.state, summary.done) == ("2026-04", DONE, 1)


def test_a_summary_of_a_month_not_yet_begun_does_not_count():
    summary = musts("2026-04-01 10:00", fact(SUMMARY, "2026-03-30 10:00", period="2026-04"),
                    since="2026-03-01 00:00")[SUMMARY]
    assert (summary.period, summary.state, summary.done) == ("2026-03", DUE, 0)
    this_month = musts("2026-04-20 10:00", fact(SUMMARY, "2026-03-30 10:00", period="2026-03"),
                       fact(SUMMARY, "2026-03-30 10:01", period="2026-04"), since="2026-03-01 00:00")[SUMMARY]
    assert (this_month.period, this_month.state, this_month.done) == ("2026-04", DUE, 0)


# --- configurable rules ------------------------------------------------------------------------------------

def test_the_periods_are_configurable():
    rules = Rules(update_every_days=7, photos_per_month=4, summary_grace_days=0, talks_per_month=2, soon_days=1)
    facts = [fact(UPDATE, "2026-03-10 10:00", photos=3), fact(TALK, "2026-03-11 10:00")]
    found = musts("2026-03-16 10:00", *facts, since="2026-02-01 00:00", rules=rules)
    assert (found[UPDATE].state, found[UPDATE].deadline) == (DUE, day("2026-03-17"))
    assert (found[PHOTOS].state, found[PHOTOS].done, found[PHOTOS].needed) == (DUE, 3, 4)
    assert (found[TALK].state, found[TALK].done, found[TALK].needed) == (DUE, 1, 2)
    # No grace: February's summary was due on 28 February.
    assert (found[SUMMARY].period, found[SUMMARY].state, found[SUMMARY].deadline) == (
        "2026-02", OVERDUE, day("2026-02-28"))
    assert musts("2026-03-15 10:00", *facts, since="2026-02-01 00:00", rules=rules)[UPDATE].state == DONE


def test_a_must_asked_zero_times_is_always_done():
    found = musts("2026-03-16 10:00", rules=Rules(photos_per_month=0, talks_per_month=0, summaries_per_month=0))
    assert found[PHOTOS].state == found[TALK].state == found[SUMMARY].state == DONE


@pytest.mark.parametrize("bad", [{"update_every_days": 0}, {"photos_per_month": -1}, {"soon_days": -1}])
def test_impossible_rules_are_refused(bad):
    with pytest.raises(ValueError):
        Rules(**bad)


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 3, 10, 12, 0)
    with pytest.raises(ValueError):
        check([], now=naive, tz=SHANGHAI, since=local(LONG_AGO))
    with pytest.raises(ValueError):
        check([Fact(UPDATE, naive)], now=local("2026-03-10 12:00"), tz=SHANGHAI, since=local(LONG_AGO))


# --- late() ------------------------------------------------------------------------------------------------

def must(key: str, state: str, deadline: str) -> Must:
    return Must(key, state, 0, 1, day(deadline), None)


def test_late_puts_overdue_first_then_the_nearest_deadline_and_drops_what_is_done():
    # Musts gathered from different moments: an overdue one goes first even if a due one's deadline is earlier.
    musts_ = [must(UPDATE, DUE, "2026-03-20"), must(PHOTOS, DUE, "2026-02-28"), must(SUMMARY, OVERDUE, "2026-03-05"),
              must(TALK, DONE, "2026-02-01"), must("extra", OVERDUE, "2026-03-01")]
    assert [m.key for m in late(musts_)] == ["extra", SUMMARY, PHOTOS, UPDATE]


def test_late_keeps_the_check_order_between_equal_deadlines():
    found = check([], now=local("2026-03-29 10:00"), tz=SHANGHAI, since=local("2026-03-20 00:00"),
                  rules=Rules(update_every_days=2))
    assert [(m.key, m.state) for m in late(found)] == [(UPDATE, OVERDUE), (PHOTOS, DUE), (TALK, DUE), (SUMMARY, DUE),
                                                      (LETTER, DUE)]
