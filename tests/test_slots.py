from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.video.slots import (BEFORE, FOLLOWUP, Due, Slot, SlotError, local, next_start, occurrences, overlaps,
                       parse_slot, plan, still_useful)

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


SHANGHAI_SUNDAY = Slot(weekday=6, start=time(19, 30), minutes=30, zone="Asia/Shanghai")


# --- parse_slot ---

@pytest.mark.parametrize("hhmm, start", [
    ("19:30", time(19, 30)), ("7:05", time(7, 5)), ("19.30", time(19, 30)), ("1930", time(19, 30)),
    ("19：30", time(19, 30)), (" 08:00 ", time(8, 0)), ("0:00", time(0, 0)), ("23:59", time(23, 59)),
])
def test_parse_slot_reads_the_usual_ways_of_writing_a_time(hhmm, start):
    assert parse_slot(6, hhmm, 30, "Asia/Shanghai") == Slot(6, start, 30, "Asia/Shanghai")


@pytest.mark.parametrize("weekday, hhmm, minutes, zone, message, hint", [
    (6, "19:30", 30, "Asia/Beijing", "There is no time zone called {zone}.", {"zone": "Asia/Beijing"}),
    (6, "19:30", 30, "", "There is no time zone called {zone}.", {"zone": ""}),
    (6, "19:30", 30, "../etc/passwd", "There is no time zone called {zone}.", {"zone": "../etc/passwd"}),
    (6, "24:00", 30, "Asia/Shanghai", "{time} is not a time of day.", {"time": "24:00"}),
    (6, "19:60", 30, "Asia/Shanghai", "{time} is not a time of day.", {"time": "19:60"}),
    (6, "25:00", 30, "Asia/Shanghai", "{time} is not a time of day.", {"time": "25:00"}),
    (6, "evening", 30, "Asia/Shanghai", "Please write the time as hours and minutes, like 19:30.",
     {"time": "evening"}),
    (6, "19:3", 30, "Asia/Shanghai", "Please write the time as hours and minutes, like 19:30.", {"time": "19:3"}),
    (6, "19:30", 0, "Asia/Shanghai", "A call lasts from {low} to {high} minutes.", {"low": 10, "high": 240}),
    (6, "19:30", 500, "Asia/Shanghai", "A call lasts from {low} to {high} minutes.", {"low": 10, "high": 240}),
    (7, "19:30", 30, "Asia/Shanghai", "The day must be a weekday from Monday to Sunday.", {"weekday": 7}),
    (-1, "19:30", 30, "Asia/Shanghai", "The day must be a weekday from Monday to Sunday.", {"weekday": -1}),
])
def test_parse_slot_rejects_bad_input_with_a_translatable_reason(weekday, hhmm, minutes, zone, message, hint):
    with pytest.raises(SlotError) as caught:
        parse_slot(weekday, hhmm, minutes, zone)
    assert (caught.value.msgid, caught.value.params) == (message, hint)
    assert message.format(**hint)  # every placeholder is filled


def test_parse_slot_accepts_the_duration_limits():
    assert parse_slot(0, "19:30", 10, "UTC").minutes == 10
    assert parse_slot(0, "19:30", 240, "UTC").minutes == 240


# --- occurrences ---

def test_shanghai_slot_falls_every_sunday_at_the_same_utc_time():
    # Sunday 19:30 in Shanghai (UTC+8, no DST) is Sunday 11:30 UTC, week after week.
    assert occurrences(SHANGHAI_SUNDAY, utc(2024, 3, 20), count=3) == [
        utc(2024, 3, 24, 11, 30), utc(2024, 3, 31, 11, 30), utc(2024, 4, 7, 11, 30)]


def test_occurrences_are_strictly_after_the_given_moment():
    at_start = utc(2024, 3, 24, 11, 30)
    assert next_start(SHANGHAI_SUNDAY, at_start) == utc(2024, 3, 31, 11, 30)
    assert next_start(SHANGHAI_SUNDAY, at_start - timedelta(seconds=1)) == at_start


def test_occurrences_are_aware_utc_whatever_zone_after_is_given_in():
    after = datetime(2024, 3, 24, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    start = next_start(SHANGHAI_SUNDAY, after)
    assert start == utc(2024, 3, 24, 11, 30) and start.tzinfo is UTC


def test_naive_moments_are_refused():
    with pytest.raises(ValueError):
        next_start(SHANGHAI_SUNDAY, datetime(2024, 3, 20))


def test_a_berlin_parent_sees_the_fixed_shanghai_call_move_on_their_wall_clock_across_their_dst_change():
    # Berlin springs forward on 2024-03-31: the call stays at 11:30 UTC, 12:30 then 13:30 in Berlin.
    before, after = occurrences(SHANGHAI_SUNDAY, utc(2024, 3, 20), count=2)
    assert (before, after) == (utc(2024, 3, 24, 11, 30), utc(2024, 3, 31, 11, 30))
    assert local(before, "Europe/Berlin").time() == time(12, 30)
    assert local(after, "Europe/Berlin").time() == time(13, 30)
    assert local(after, "Asia/Shanghai").time() == time(19, 30)


def test_a_new_york_slot_moves_by_an_hour_in_utc_across_the_dst_change():
    slot = Slot(weekday=5, start=time(9, 0), minutes=45, zone="America/New_York")  # Saturdays 09:00
    assert occurrences(slot, utc(2024, 3, 1), count=2) == [utc(2024, 3, 2, 14, 0), utc(2024, 3, 9, 14, 0)]
    assert next_start(slot, utc(2024, 3, 10)) == utc(2024, 3, 16, 13, 0)
    assert local(utc(2024, 3, 16, 13, 0), "America/New_York").time() == time(9, 0)


BERLIN_NIGHT = Slot(weekday=6, start=time(2, 30), minutes=30, zone="Europe/Berlin")


@pytest.mark.parametrize("after", [utc(2024, 3, 29), utc(2024, 3, 31, 0, 59), utc(2024, 3, 31, 1, 0),
                                   utc(2024, 3, 31, 1, 29)])
def test_a_start_that_does_not_exist_on_spring_forward_day_happens_an_hour_later_on_the_wall_clock(after):
    # 02:30 does not exist in Berlin on 2024-03-31; the call is at 03:30 CEST (= 02:30 CET), even when
    # `after` falls inside the missing hour (01:00-02:00 UTC): that week is not skipped.
    assert occurrences(BERLIN_NIGHT, after, count=2) == [utc(2024, 3, 31, 1, 30), utc(2024, 4, 7, 0, 30)]
    assert local(utc(2024, 3, 31, 1, 30), "Europe/Berlin").time() == time(3, 30)


@pytest.mark.parametrize("after", [utc(2024, 10, 25), utc(2024, 10, 27, 0, 29)])
def test_a_start_that_occurs_twice_on_fall_back_day_is_one_call_at_the_first(after):
    # 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET); CronTrigger returns both.
    assert occurrences(BERLIN_NIGHT, after, count=2) == [utc(2024, 10, 27, 0, 30), utc(2024, 11, 3, 1, 30)]


@pytest.mark.parametrize("after", [utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 15), utc(2024, 10, 27, 1, 29)])
def test_the_repeated_hour_does_not_make_a_second_call_in_the_same_week(after):
    assert next_start(BERLIN_NIGHT, after) == utc(2024, 11, 3, 1, 30)


@pytest.mark.parametrize("zone, after, expected", [
    # Havana skips 00:00-01:00 on 2024-03-10: 00:30 is read as 01:30 CDT (05:30 UTC).
    ("America/Havana", utc(2024, 3, 8), [utc(2024, 3, 10, 5, 30), utc(2024, 3, 17, 4, 30)]),
    # Santiago skips 00:00-01:00 on 2024-09-08: 00:30 is read as 01:30 -03 (04:30 UTC).
    ("America/Santiago", utc(2024, 9, 5), [utc(2024, 9, 8, 4, 30), utc(2024, 9, 15, 3, 30)]),
])
def test_a_week_whose_day_begins_in_a_dst_gap_is_not_skipped(zone, after, expected):
    # CronTrigger 3.11 on its own jumps to the following week here.
    slot = Slot(weekday=6, start=time(0, 30), minutes=30, zone=zone)
    assert occurrences(slot, after, count=2) == expected


def test_occurrences_across_a_year_come_one_per_week():
    starts = occurrences(BERLIN_NIGHT, utc(2024, 1, 1), count=53)
    days = [local(start, "Europe/Berlin").date() for start in starts]
    assert all((b - a).days == 7 for a, b in zip(days, days[1:]))


# --- plan ---

def test_plan_sends_the_day_before_then_30_minutes_before_then_asks_after_the_end():
    start = utc(2024, 3, 24, 11, 30)
    assert plan(SHANGHAI_SUNDAY, start) == [
        Due(BEFORE, start, utc(2024, 3, 23, 11, 30), timedelta(days=1)),
        Due(BEFORE, start, utc(2024, 3, 24, 11, 0), timedelta(minutes=30)),
        Due(FOLLOWUP, start, utc(2024, 3, 24, 12, 15), None),  # 30-minute call + 15 minutes
    ]


def test_plan_is_in_time_order_whatever_order_the_offsets_come_in():
    start = utc(2024, 3, 24, 11, 30)
    offsets = (timedelta(minutes=30), timedelta(hours=2), timedelta(minutes=30), timedelta(days=2))
    dues = plan(SHANGHAI_SUNDAY, start, offsets=offsets, followup_after=timedelta(0))
    assert [due.offset for due in dues] == [timedelta(days=2), timedelta(hours=2), timedelta(minutes=30), None]
    assert dues[-1].at == utc(2024, 3, 24, 12, 0)


def test_the_day_before_reminder_across_a_dst_change_is_24_real_hours_earlier():
    # Berlin Sunday 19:00 on spring-forward day: the reminder is at 18:00 on Saturday's wall clock.
    slot = Slot(weekday=6, start=time(19, 0), minutes=30, zone="Europe/Berlin")
    start = next_start(slot, utc(2024, 3, 30))
    day_before = plan(slot, start)[0]
    assert start - day_before.at == timedelta(hours=24)
    assert local(start, "Europe/Berlin") == datetime(2024, 3, 31, 19, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    # Not 19:00 Saturday: that would be only 23 hours before.
    assert local(day_before.at, "Europe/Berlin") == datetime(2024, 3, 30, 18, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_plan_refuses_a_reminder_that_is_not_before_the_call():
    with pytest.raises(ValueError):
        plan(SHANGHAI_SUNDAY, utc(2024, 3, 24, 11, 30), offsets=(timedelta(0),))


# --- overlaps ---

def slot(weekday: int, hhmm: str, minutes: int, zone: str = "Asia/Shanghai") -> Slot:
    return parse_slot(weekday, hhmm, minutes, zone)


@pytest.mark.parametrize("a, b, expected", [
    (slot(6, "19:30", 30), slot(6, "19:45", 30), True),    # same room, same evening, intersecting
    (slot(6, "19:00", 120), slot(6, "19:30", 10), True),   # one inside the other
    (slot(6, "19:30", 30), slot(6, "20:00", 30), False),   # touching end to start
    (slot(6, "20:00", 30), slot(6, "19:30", 30), False),   # touching, the other way round
    (slot(5, "19:30", 30), slot(6, "19:30", 30), False),   # different weekdays
    (slot(6, "23:30", 60), slot(0, "00:15", 30), True),    # Sunday night runs into Monday morning
    (slot(6, "23:30", 30), slot(0, "00:00", 30), False),   # … or ends as it begins
])
def test_overlaps_in_one_zone_compares_the_weekly_wall_clock_ranges(a, b, expected):
    assert overlaps(a, b) is expected
    assert overlaps(b, a) is expected


def test_overlaps_across_zones_compares_the_week_after_the_reference_in_utc():
    # Sunday 19:30 Shanghai is 12:30 in Berlin in winter, 13:30 in summer.
    berlin = slot(6, "13:00", 60, "Europe/Berlin")
    assert overlaps(SHANGHAI_SUNDAY, berlin, utc(2024, 3, 20)) is False   # 11:30-12:00 vs 12:00-13:00 UTC
    assert overlaps(SHANGHAI_SUNDAY, berlin, utc(2024, 4, 1)) is True     # 11:30-12:00 vs 11:00-12:00 UTC
    assert overlaps(berlin, SHANGHAI_SUNDAY, utc(2024, 4, 1)) is True


def test_overlaps_across_zones_needs_a_reference_moment():
    with pytest.raises(ValueError):
        overlaps(SHANGHAI_SUNDAY, slot(6, "13:00", 60, "Europe/Berlin"))


# --- still_useful ---

START = utc(2024, 3, 24, 11, 30)
REMINDER = Due(BEFORE, START, START - timedelta(minutes=30), timedelta(minutes=30))
FOLLOW = Due(FOLLOWUP, START, utc(2024, 3, 24, 12, 15), None)


@pytest.mark.parametrize("due, now, expected", [
    (REMINDER, START - timedelta(hours=2), True),         # not yet due: still worth it when it is
    (REMINDER, START - timedelta(seconds=1), True),       # late, but the call has not begun
    (REMINDER, START, False),                             # the call has begun: a reminder is pointless
    (FOLLOW, FOLLOW.at + timedelta(days=3) - timedelta(seconds=1), True),
    (FOLLOW, FOLLOW.at + timedelta(days=3), False),       # three days on, nobody remembers
])
def test_still_useful_after_downtime(due, now, expected):
    assert still_useful(due, now) is expected
