"""Weekly family video calls (亲情视频): when the next calls are, and when to remind whom.

A slot is a weekday, a wall-clock start and a duration in the slot's own zone (the school's or the family
room's). Occurrences come from APScheduler's CronTrigger in that zone, never from hand-written calendar
arithmetic; everything returned is an aware UTC datetime, and `local()` turns one into a reader's wall clock.

Daylight saving, as decided here (APScheduler 3.11 behaviour, checked in tests/test_slots.py):
- A start that does not exist on a spring-forward day (02:30 in Europe/Berlin on the last Sunday of March)
  still happens that week: CronTrigger hands back the nonexistent wall time, which PEP 495 reads with the
  offset from before the change, so the call is at 03:30 summer time, the same instant 02:30 winter time
  would have been. The trigger only finds it if the search starts before the gap, so `occurrences` searches
  from over a week before `after` and drops what is not strictly later.
- Where the gap swallows midnight (America/Havana, America/Santiago), CronTrigger 3.11 skips that week's call
  altogether, even one at 00:30. `occurrences` notices two starts 14 days apart and puts the missing one back,
  read the same way (00:30 becomes 01:30 daylight time).
- A start that happens twice on a fall-back day (02:30 in Europe/Berlin on the last Sunday of October) is
  returned by CronTrigger twice, once per fold; the call is the first one (summer time) and the repeat
  (fold=1) is dropped, so a week never has two calls.
- Reminders are absolute durations before the start: "the day before" is 24 real hours earlier, so when a
  change falls in between it reads an hour off on the wall clock (18:00 the day before a 19:00 call).

Each message has a window, not an instant (`Due.earliest`, `Due.latest`): at a busy minute the scheduler hands
a reminder to the outbox early enough to arrive inside it (bot.deadlines), and one sent after it is recorded as
late. "30 minutes before" may arrive from 40 to 25 minutes before; "the day before" from 26 to 23 hours before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.errors import UserError
from bot.i18n import N_

MIN_MINUTES, MAX_MINUTES = 10, 240
DEFAULT_OFFSETS = (timedelta(days=1), timedelta(minutes=30))
DEFAULT_FOLLOWUP = timedelta(minutes=15)
# A carer asked days later no longer remembers whether the call happened; better to ask nothing.
FOLLOWUP_SHELF_LIFE = timedelta(days=3)
BEFORE, FOLLOWUP = "before", "followup"
# A reminder may come up to a third of its offset early and a sixth late, within these bounds: early enough
# that a busy minute can be spread out, late enough that "in 30 minutes" still reads true.
MAX_EARLY, MAX_LATE = timedelta(hours=2), timedelta(hours=1)
# The question after a call may wait this long behind the reminders of the next calls.
FOLLOWUP_LATE = timedelta(hours=1)

# Searching from over a week back shows the week before the first answer, so a skipped week is noticed,
# and a start moved later by a DST gap is found even when `after` falls inside the gap.
_LOOK_BACK = timedelta(days=8)
_WEEK_MINUTES = 7 * 24 * 60
# 19:30, 7:05, 19.30, 19：30 (a Chinese keyboard's colon) or 1930.
_HHMM = re.compile(r"(\d{1,2})[:.：](\d{2})|(\d{2})(\d{2})")


class SlotError(UserError):
    """Input a user can get wrong: `msgid` (N_) says why, its `params` fill the {placeholders}. Nothing changed."""


@dataclass(frozen=True)
class Slot:
    weekday: int   # 0 = Monday … 6 = Sunday
    start: time    # local wall-clock time in `zone`
    minutes: int   # duration, MIN_MINUTES..MAX_MINUTES
    zone: str      # IANA name


@dataclass(frozen=True)
class Due:
    """One message to send for one occurrence of a slot."""
    kind: str                  # BEFORE (with offset) or FOLLOWUP (after the call should have ended)
    occurrence: datetime       # the start (UTC) it belongs to
    at: datetime               # when to send (UTC)
    offset: timedelta | None   # how long before the start; None for a followup

    @property
    def earliest(self) -> datetime:
        """The first moment it may arrive."""
        return self.at - min(self.offset / 3, MAX_EARLY) if self.offset is not None else self.at

    @property
    def latest(self) -> datetime:
        """The last moment it arrives on time (for a reminder, always before its call: a sixth of the offset)."""
        return self.at + (FOLLOWUP_LATE if self.offset is None else min(self.offset / 6, MAX_LATE))


def parse_slot(weekday: int, hhmm: str, minutes: int, zone: str) -> Slot:
    if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise SlotError(N_("The day must be a weekday from Monday to Sunday."), weekday=weekday)
    match = _HHMM.fullmatch(hhmm.strip())
    if match is None:
        raise SlotError(N_("Please write the time as hours and minutes, like 19:30."), time=hhmm)
    hour, minute = (int(g) for g in match.groups() if g is not None)
    if hour > 23 or minute > 59:
        raise SlotError(N_("{time} is not a time of day."), time=hhmm.strip())
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise SlotError(N_("A call lasts from {low} to {high} minutes."), low=MIN_MINUTES, high=MAX_MINUTES)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: "", an absolute path or ".." in the name
        raise SlotError(N_("There is no time zone called {zone}."), zone=zone) from None
    return Slot(weekday=weekday, start=time(hour, minute), minutes=minutes, zone=zone)


def occurrences(slot: Slot, after: datetime, count: int = 1) -> list[datetime]:
    """The next `count` starts strictly after `after`, aware UTC, one per week."""
    after = _utc(after)
    trigger = _trigger(slot)
    found: list[datetime] = []
    last_day: date | None = None
    cursor = after - _LOOK_BACK
    while len(found) < count:
        # A UTC `now` and no previous fire time: sidesteps APScheduler #1021, a loop on fold=1 times.
        fire = trigger.get_next_fire_time(None, cursor)
        cursor = fire.astimezone(timezone.utc) + timedelta(seconds=1)
        if _repeat(fire):
            continue
        starts = [fire]
        if last_day is not None and (fire.date() - last_day).days > 7:
            starts.insert(0, _missed(slot, fire))
        last_day = fire.date()
        found.extend(start for start in (s.astimezone(timezone.utc) for s in starts) if start > after)
    return found[:count]


def next_start(slot: Slot, after: datetime) -> datetime:
    return occurrences(slot, after)[0]


def plan(slot: Slot, occurrence: datetime, offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS,
         followup_after: timedelta = DEFAULT_FOLLOWUP) -> list[Due]:
    """The reminders before `occurrence` and the question after it, in the order they are sent."""
    start = _utc(occurrence)
    if any(offset <= timedelta(0) for offset in offsets) or followup_after < timedelta(0):
        raise ValueError("reminder offsets must be positive and the followup delay not negative")
    dues = [Due(BEFORE, start, start - offset, offset) for offset in set(offsets)]
    end = start + timedelta(minutes=slot.minutes)
    dues.append(Due(FOLLOWUP, start, end + followup_after, None))
    return sorted(dues, key=lambda due: due.at)


def local(moment: datetime, zone: str) -> datetime:
    """`moment` on the wall clock of someone living in `zone`."""
    return _utc(moment).astimezone(ZoneInfo(zone))


def overlaps(a: Slot, b: Slot, reference: datetime | None = None) -> bool:
    """Whether the two weekly calls share any minute; a call ending as the other starts does not overlap.

    In one zone the answer never changes, so wall-clock minutes of the week are compared. Across zones it can
    change with daylight saving, so the week starting at `reference` (required then) is compared in UTC.
    """
    if a.zone == b.zone:
        start_a, start_b = _week_minute(a), _week_minute(b)
        # Shifting b by a week either way catches a Sunday-night call running into Monday.
        return any(start_a < start_b + shift + b.minutes and start_b + shift < start_a + a.minutes
                   for shift in (-_WEEK_MINUTES, 0, _WEEK_MINUTES))
    if reference is None:
        raise ValueError("slots in different zones need a reference moment to compare")
    start_a = next_start(a, reference)
    end_a = start_a + timedelta(minutes=a.minutes)
    # b's starts from a week before a's start cover every b call that could reach into a's.
    return any(start_b < end_a and start_a < start_b + timedelta(minutes=b.minutes)
               for start_b in occurrences(b, start_a - timedelta(days=7), count=3))


def still_useful(due: Due, now: datetime) -> bool:
    """After downtime: is this message still worth sending at `now`?"""
    if due.kind == BEFORE:
        return _utc(now) < due.occurrence
    return _utc(now) < due.at + FOLLOWUP_SHELF_LIFE


@cache
def _trigger(slot: Slot) -> CronTrigger:
    return CronTrigger(day_of_week=slot.weekday, hour=slot.start.hour, minute=slot.start.minute,
                       timezone=ZoneInfo(slot.zone))


def _repeat(fire: datetime) -> bool:
    """The second pass of a wall time that a fall-back change repeats."""
    return fire.fold == 1 and fire.replace(fold=0).utcoffset() != fire.utcoffset()


def _missed(slot: Slot, fire: datetime) -> datetime:
    """The start CronTrigger skipped the week before `fire`: its day began inside a DST gap.

    The one hand-built time here, because the trigger cannot express it: the wall time is read as PEP 495
    reads any nonexistent time (fold=0, the offset from before the change), as the trigger does elsewhere.
    """
    day = fire.date() - timedelta(days=7)
    return datetime.combine(day, slot.start, tzinfo=fire.tzinfo)


def _week_minute(slot: Slot) -> int:
    return (slot.weekday * 24 + slot.start.hour) * 60 + slot.start.minute


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("slot times must be timezone-aware")
    return moment.astimezone(timezone.utc)
