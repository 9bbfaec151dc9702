"""Which days are school days, per school: what the roll call, the dropout ladder ("3 consecutive school days")
and the monthly report count in.

A day is a school day when it lies in one of the school's terms and is Monday to Friday, unless the school marked
it off (a holiday), or when it is a weekend day the school marked as a school day (调休, a make-up day). A school
with no terms of its own has the default two semesters (DEFAULT_TERMS). Days are local dates in the school's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from storage.db import Database

OFF, SCHOOL = "off", "school"

# China's two semesters when a school has set none: autumn from September 1 to January 20, spring from March 1
# to July 10 (month, day). Schools adjust them to the county's calendar in /schooldays.
DEFAULT_TERMS = (((9, 1), (1, 20)), ((3, 1), (7, 10)))


@dataclass(frozen=True)
class Term:
    starts_on: date
    ends_on: date

    def __contains__(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def default_terms(year: int) -> list[Term]:
    """The default terms that touch `year`: last year's autumn term, this spring's and this autumn's."""
    (a_start, a_end), (s_start, s_end) = DEFAULT_TERMS
    return [Term(date(year - 1, *a_start), date(year, *a_end)),
            Term(date(year, *s_start), date(year, *s_end)),
            Term(date(year, *a_start), date(year + 1, *a_end))]


class SchoolDays:
    def __init__(self, db: Database, clock: Clock, zone: str) -> None:
        self._db = db
        self._clock = clock
        self._zone = ZoneInfo(zone)

    def today(self) -> date:
        """Today at the school."""
        return self._clock.now().astimezone(self._zone).date()

    def local(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()

    async def terms(self, school_id: int, year: int) -> list[Term]:
        rows = await self._db.fetch_all(
            "SELECT starts_on, ends_on FROM school_terms WHERE school_id = ? AND starts_on <= ? AND ends_on >= ?"
            " ORDER BY starts_on", (school_id, f"{year}-12-31", f"{year}-01-01"))
        if rows:
            return [Term(date.fromisoformat(r["starts_on"]), date.fromisoformat(r["ends_on"])) for r in rows]
        has_any = await self._db.fetch_one("SELECT 1 FROM school_terms WHERE school_id = ? LIMIT 1", (school_id,))
        return [] if has_any else default_terms(year)

    async def overrides(self, school_id: int, start: date, end: date) -> dict[date, str]:
        rows = await self._db.fetch_all(
            "SELECT day, kind FROM school_day_overrides WHERE school_id = ? AND day BETWEEN ? AND ?",
            (school_id, start.isoformat(), end.isoformat()))
        return {date.fromisoformat(r["day"]): r["kind"] for r in rows}

    async def school_days(self, school_id: int, start: date, end: date) -> list[date]:
        """The school days from `start` to `end`, both included, in order."""
        if end < start:
            return []
        terms = []
        for year in range(start.year, end.year + 1):
            terms += [t for t in await self.terms(school_id, year) if t not in terms]
        marked = await self.overrides(school_id, start, end)
        days, day = [], start
        while day <= end:
            if any(day in t for t in terms) and marked.get(day, SCHOOL if day.weekday() < 5 else OFF) == SCHOOL:
                days.append(day)
            day += timedelta(days=1)
        return days

    async def is_school_day(self, school_id: int, day: date) -> bool:
        return bool(await self.school_days(school_id, day, day))

    async def previous_school_days(self, school_id: int, day: date, n: int, *, within: int = 60) -> list[date]:
        """Up to `n` school days before `day` (not included), the latest first, looking back at most `within`
        days."""
        found = await self.school_days(school_id, day - timedelta(days=within), day - timedelta(days=1))
        return list(reversed(found))[:n]
