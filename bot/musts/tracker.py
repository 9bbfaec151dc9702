"""The "five musts" (五个必须) as a tracker: for one child, what the people caring for them have done and what is
due in the current period. Pure: it takes plain facts and a moment, and knows nothing of Telegram or storage.

Tracked: an update on study and daily life every 14 days (rolling), 2 photos and a heart-to-heart talk (谈心)
each calendar month, a summary of each month, and a child's letter to the parents (亲情书信) each semester; for
the class teacher (`visits=True`), a home visit (家访) each semester too.
Test scores and good news are "as they happen": they are
never due, but photos attached to them count.

Corners decided here:
- Every date is the local date in the school's zone (`tz`). Only instants matter: the zone an author's
  device wrote a timestamp in is irrelevant, and a day is a calendar day, so a rolling deadline is a count of
  days, never of 24-hour periods (DST cannot move it).
- Facts recorded after `now` are ignored, so that the tracker can be asked about any past moment.
- `since` (the start of care) limits what is owed, not what counts: an update or photos sent before it
  (by an earlier proxy parent, say) still reached the family. A `since` after `now` is taken as `now`.
- A month is owed when care started on or before its last day: paired on the 31st, that month's photos,
  talk and summary are still owed, as for any other day of the month.
- Monthly photos and talks are about the current month only: DUE until done, never OVERDUE (their deadline
  is today or later); last month's shortfall is history, not a reminder.
- A semester is February to July or August to January (the spring and autumn terms with their holidays), so
  every day belongs to one. Its letter is DUE until written, never OVERDUE, like the monthly musts; so is its home
  visit, which counts for the semester of the day it was made (a Fact's `at` is the visit's day).
- A child whose guardianship was assessed poor (差, `poor=True`) is flagged for visits: the class teacher's home
  visit is owed every month instead (DUE until a visit of the current month is recorded, `Must.flagged`).
- Summaries: the oldest owed month without a summary is shown until it is written, DUE up to its grace day
  and OVERDUE after, so a missing summary never vanishes, not on the 6th and not when the next month
  begins; a new pairing (a later `since`) does not inherit the old one's debts. When nothing is missing,
  this month's summary is shown: DUE until written (deadline: the grace day of next month), then DONE.
  A summary counts for the month in its `period` (or, without one, the local month it was recorded in) and
  only if recorded on or after that month's first day: a summary of a month not yet begun is a mistake.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

UPDATE, PHOTOS, SUMMARY, TALK, LETTER, VISIT = "update", "photos", "summary", "talk", "letter", "visit"
DONE, DUE, OVERDUE = "done", "due", "overdue"


@dataclass(frozen=True)
class Rules:
    """The periods, configurable per school."""

    update_every_days: int = 14
    photos_per_month: int = 2
    summaries_per_month: int = 1
    talks_per_month: int = 1
    letters_per_semester: int = 1
    visits_per_semester: int = 1  # home visits (家访) by the class teacher
    summary_grace_days: int = 5  # a month's summary may be written until the 5th of the next month
    soon_days: int = 3  # a rolling deadline is "due" (rather than fine) this many days before it

    def __post_init__(self) -> None:
        if self.update_every_days < 1:
            raise ValueError("update_every_days must be at least 1")
        for name in ("photos_per_month", "summaries_per_month", "talks_per_month", "letters_per_semester",
                     "visits_per_semester", "summary_grace_days", "soon_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True)
class Fact:
    """One recorded entry as the tracker sees it."""

    kind: str  # "update" | "summary" | "talk" | "letter" | "visit" | "score" | "goodnews"; any other kind only brings its photos
    at: datetime  # when it was recorded, timezone-aware
    photos: int = 0  # photos attached to it (any kind of entry may carry photos)
    period: str | None = None  # for a summary: the month it covers, "YYYY-MM"


@dataclass(frozen=True)
class Must:
    key: str  # UPDATE | PHOTOS | SUMMARY | TALK | LETTER | VISIT
    state: str  # DONE | DUE | OVERDUE
    done: int  # how many counted in the period: updates in the window, photos this month, summaries of `period`
    needed: int
    deadline: date  # the last local day to do it in the period shown
    last: date | None  # local date of the latest one of its kind (any period), if any
    # "YYYY-MM" for the monthly musts (for SUMMARY: the month whose summary is shown); for LETTER and VISIT the
    # semester's first month
    period: str | None = None
    # VISIT only: owed this month because the child's guardianship was assessed poor (差)
    flagged: bool = False


def check(facts: Iterable[Fact], *, now: datetime, tz: ZoneInfo, since: datetime,
          rules: Rules = Rules(), visits: bool = False, poor: bool = False) -> list[Must]:
    """What is done and due for one child at `now`, in the order UPDATE, PHOTOS, SUMMARY, TALK, LETTER, and
    VISIT when `visits` (the home visit is the class teacher's duty, not the proxy parent's); monthly when `poor`."""
    _aware(now, "now")
    _aware(since, "since")
    today = now.astimezone(tz).date()
    start = min(since, now).astimezone(tz).date()
    dated = [(fact.at.astimezone(tz).date(), fact) for fact in facts if _aware(fact.at, "Fact.at") <= now]
    return [_update(dated, today, start, rules), _photos(dated, today, rules), _summary(dated, today, start, rules),
            _talk(dated, today, rules), _semesterly(LETTER, dated, today, rules.letters_per_semester),
            *([_poor_visit(dated, today) if poor else _semesterly(VISIT, dated, today, rules.visits_per_semester)]
              if visits else [])]


def late(musts: Iterable[Must]) -> list[Must]:
    """The musts not DONE, most pressing first: OVERDUE, then the nearest deadline; ties keep their order."""
    return sorted((m for m in musts if m.state != DONE), key=lambda m: (m.state != OVERDUE, m.deadline))


def _update(dated: list[tuple[date, Fact]], today: date, start: date, rules: Rules) -> Must:
    days = [day for day, fact in dated if fact.kind == UPDATE]
    last = max(days, default=None)
    # The clock runs from the last update, or from the start of care if that is later (nothing owed before it).
    base = start if last is None else max(last, start)
    deadline = base + timedelta(days=rules.update_every_days)
    left = (deadline - today).days
    state = DONE if left > rules.soon_days else DUE if left >= 0 else OVERDUE
    # The window is the last update_every_days local days, today included.
    done = sum(1 for day in days if (today - day).days < rules.update_every_days)
    return Must(UPDATE, state, done, 1, deadline, last)


def _photos(dated: list[tuple[date, Fact]], today: date, rules: Rules) -> Must:
    month = today.replace(day=1)
    done = sum(fact.photos for day, fact in dated if day.replace(day=1) == month)
    last = max((day for day, fact in dated if fact.photos > 0), default=None)
    return _monthly(PHOTOS, done, rules.photos_per_month, month, last)


def _talk(dated: list[tuple[date, Fact]], today: date, rules: Rules) -> Must:
    month = today.replace(day=1)
    days = [day for day, fact in dated if fact.kind == TALK]
    done = sum(1 for day in days if day.replace(day=1) == month)
    return _monthly(TALK, done, rules.talks_per_month, month, max(days, default=None))


def semester(day: date) -> tuple[date, date]:
    """The first and last day of the semester `day` is in: February to July, or August to January."""
    if 2 <= day.month <= 7:
        return date(day.year, 2, 1), date(day.year, 7, 31)
    year = day.year if day.month >= 8 else day.year - 1
    return date(year, 8, 1), date(year + 1, 1, 31)


def _semesterly(kind: str, dated: list[tuple[date, Fact]], today: date, needed: int) -> Must:
    first, end = semester(today)
    days = [day for day, fact in dated if fact.kind == kind]
    done = sum(1 for day in days if first <= day <= end)
    state = DONE if done >= needed else DUE
    return Must(kind, state, done, needed, end, max(days, default=None), _label(first))


def _poor_visit(dated: list[tuple[date, Fact]], today: date) -> Must:
    """A home visit this month: the flag stays until one is recorded."""
    month = today.replace(day=1)
    days = [day for day, fact in dated if fact.kind == VISIT]
    done = sum(1 for day in days if day.replace(day=1) == month)
    must = _monthly(VISIT, done, 1, month, max(days, default=None))
    return Must(must.key, must.state, must.done, must.needed, must.deadline, must.last, must.period, flagged=True)


def _monthly(key: str, done: int, needed: int, month: date, last: date | None) -> Must:
    return Must(key, DONE if done >= needed else DUE, done, needed, _month_end(month), last, _label(month))


def _summary(dated: list[tuple[date, Fact]], today: date, start: date, rules: Rules) -> Must:
    written: Counter[date] = Counter()
    for day, fact in dated:
        if fact.kind == SUMMARY:
            month = _parse_month(fact.period) if fact.period else day.replace(day=1)
            if day >= month:
                written[month] += 1
    this = today.replace(day=1)
    shown = this
    month = start.replace(day=1)
    while month < this:  # the oldest owed month without its summary, if any
        if written[month] < rules.summaries_per_month:
            shown = month
            break
        month = _month_end(month) + timedelta(days=1)
    deadline = _month_end(shown) + timedelta(days=rules.summary_grace_days)
    done = written[shown]
    state = DONE if done >= rules.summaries_per_month else DUE if today <= deadline else OVERDUE
    last = max((day for day, fact in dated if fact.kind == SUMMARY), default=None)
    return Must(SUMMARY, state, done, rules.summaries_per_month, deadline, last, _label(shown))


def _aware(moment: datetime, what: str) -> datetime:
    # A naive datetime would be read in the server's zone: a silent, zone-dependent error.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _parse_month(period: str) -> date:
    return datetime.strptime(period, "%Y-%m").date()


def _label(first: date) -> str:
    return f"{first:%Y-%m}"
