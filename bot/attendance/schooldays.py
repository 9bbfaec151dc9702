"""Which days are school days, per school: what the roll call, the dropout ladder ("3 consecutive school days")
and the monthly report count in.

A day is a school day when it lies in one of the school's terms and
1. the school's admins marked it as one ('school', a make-up day) — or not, when they marked it off ('off');
2. else, when it is one of China's public holidays it is off, and when it is an official make-up working day
   (调休, a Saturday or Sunday) it is a school day: the national defaults, applied without anyone doing anything;
3. else, Monday to Friday are school days.
A school's admin can so override any day, both ways. Days are local dates in the school's zone.

Terms: a school with no terms of its own has China's two semesters (DEFAULT_TERMS). A term the admins set replaces
the default term it overlaps; the other defaults stay (setting this autumn's dates does not empty next spring).

The national defaults come from the `holidays` package (see pyproject.toml for why that one): the public holidays by
the State Council's rules for any year (the lunar festivals computed), and for the years whose official schedule it
carries, the swapped days off and the make-up working days. A year beyond that has the rule-based holidays and no
make-up days; should the package fail for a year, that year falls back to Monday to Friday and the admins' marks.
Only the holidays of everyone (PUBLIC) count: Women's Day, Youth Day, Children's Day and Army Day are half days
for some groups, and schools hold their 六一 activities at school.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import holidays

from bot.access.people import Actor
from bot.access.policy import ADMIN, TEACHER
from bot.clock import Clock, stamp
from bot.errors import NotAllowed, StaleButton, UserError
from bot.i18n import N_
from bot.payloads import payload
from storage.audit import AuditEntry, AuditRepository
from storage.db import Database
from storage.people import PeopleRepository, School
from storage.schooldays import OverrideRow, SchoolDaysRepository, TermRow

log = logging.getLogger(__name__)

OFF, SCHOOL = "off", "school"
KINDS = (OFF, SCHOOL)

# China's two semesters when a school has set none: autumn from September 1 to January 20, spring from March 1
# to July 10 (month, day). Schools adjust them to the county's calendar in /schooldays.
DEFAULT_TERMS = (((9, 1), (1, 20)), ((3, 1), (7, 10)))

# What an admin may set: a term of one to seven months; a day marked from a year back (a closure entered late
# still corrects the ladder's count) to two years ahead.
MIN_TERM_DAYS, MAX_TERM_DAYS = 28, 213
MARK_BACK, AHEAD = timedelta(days=366), timedelta(days=731)
# A date typed without its year is the one within this many days back (a closure last week), else ahead.
YEARLESS_BACK = timedelta(days=60)
MAX_NOTE = 40
COMING_DAYS = 120   # how far ahead the coming holidays and make-up days are looked for
COMING_LIMIT = 8

# The holidays package names the holidays in these languages (its codes); others get the Chinese names.
HOLIDAY_LANGUAGES = {"zh_CN": "zh_CN", "en": "en_US"}

NOT_ADMIN = N_("Only the school's admins can change its school days.")
NOT_STAFF = N_("The school calendar is for the school's teachers and admins.")
NOT_A_DATE = N_("That is not a date I understand. Send it like 2026-10-01, 10月1日 or 10/1.")
OUT_OF_RANGE = N_("Please give a date from a year back to two years ahead.")
OUTSIDE_TERMS = N_("{day} is outside the school's terms, so it is no school day anyway. Change the term's dates "
                   "first if it belongs to a term.")
ALREADY_OFF = N_("{day} is already a day off. Nothing was changed.")
ALREADY_SCHOOL = N_("{day} is already a school day. Nothing was changed.")
NOT_MARKED = N_("{day} has no mark of the school. Nothing was changed.")
END_BEFORE_START = N_("The term cannot end before it starts. Nothing was changed.")
TERM_LENGTH = N_("A term lasts from {least} to {most} days. Nothing was changed.")
TERM_OVERLAP = N_("These dates overlap the term from {start} to {end}. Change that term first. Nothing was changed.")


# Which buttons carry a day: a day to mark off or as a school day, a term's first day, a mark to remove.
_WITH_DAY = {"v": False, "off": False, "mk": False, "o": True, "s": True, "t": True, "x": True}


@payload("sd")
class SchoolDaysButton:
    """sd:v:<school> the calendar again · sd:off|mk:<school> pick a day to mark off / as a make-up school day ·
    sd:o|s:<school>:<day> mark that day off / a school day · sd:t:<school>:<first day> change that term's dates ·
    sd:x:<school>:<day> remove the school's mark of that day. Days are 2026-10-01."""

    action: Literal["v", "off", "mk", "o", "s", "t", "x"]
    school: int
    day: Annotated[str, 10] | None = None

    def __post_init__(self) -> None:
        if (self.day is not None) != _WITH_DAY[self.action]:
            raise StaleButton()
        if self.day is not None:
            try:
                date.fromisoformat(self.day)
            except ValueError:
                raise StaleButton() from None

    @property
    def on(self) -> date:
        return date.fromisoformat(self.day)


class SchoolDaysError(UserError):
    """Input a person can get wrong: `msgid` (N_) says why, its `params` fill the {placeholders} (dates show as
    2026-10-01, the same in every language). Nothing changed."""


@dataclass(frozen=True)
class Term:
    starts_on: date
    ends_on: date
    own: bool = True        # set by the school's admins (False: the default dates)

    def __contains__(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def overlaps(self, other: Term) -> bool:
        return self.starts_on <= other.ends_on and other.starts_on <= self.ends_on


@dataclass(frozen=True)
class Mark:
    """A day that is not what its weekday says: a holiday or a make-up day, national or the school's own."""

    day: date
    kind: str               # OFF or SCHOOL
    national: bool          # the national default (the holidays package), not a mark of the school
    name: str = ""          # the holiday's name (national) or the admin's note


@dataclass(frozen=True)
class Calendar:
    """What /schooldays shows of one school."""

    school: School
    may_change: bool
    today: date
    today_is_school_day: bool
    current: Term | None    # the term today is in, else the next one
    following: Term | None  # the term after `current`
    coming: list[Mark]      # the coming days that differ from their weekday, within terms


def default_terms(year: int) -> list[Term]:
    """The default terms that touch `year`: last year's autumn term, this spring's and this autumn's."""
    (a_start, a_end), (s_start, s_end) = DEFAULT_TERMS
    return [Term(date(year - 1, *a_start), date(year, *a_end), False),
            Term(date(year, *s_start), date(year, *s_end), False),
            Term(date(year, *a_start), date(year + 1, *a_end), False)]


@functools.lru_cache(maxsize=64)
def _national_year(year: int, language: str) -> tuple[dict[date, str], frozenset[date]]:
    """China's public holidays of `year` with their names, and its official make-up working days."""
    try:
        found = holidays.China(years=year, categories=(holidays.PUBLIC,), language=language)
        offs = {day: str(name) for day, name in found.items() if day.year == year}
        workdays = frozenset(d for d in getattr(found, "weekend_workdays", ()) if d.year == year)
    except Exception:  # a year or a release the package cannot do: weekdays and the admins' marks only
        log.warning("no national holidays for %s", year, exc_info=True)
        return {}, frozenset()
    return offs, workdays


def national(start: date, end: date, locale: str = "zh_CN") -> dict[date, Mark]:
    """The national defaults from `start` to `end`: each public holiday (off) and each make-up working day."""
    language = HOLIDAY_LANGUAGES.get(locale, "zh_CN")
    found: dict[date, Mark] = {}
    for year in range(start.year, end.year + 1):
        offs, workdays = _national_year(year, language)
        for day, name in offs.items():
            if start <= day <= end:
                found[day] = Mark(day, OFF, True, name)
        for day in workdays:
            if start <= day <= end:
                found[day] = Mark(day, SCHOOL, True)
    return found


# -- reading dates as people type them ---------------------------------------------------------------------

_FULL = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_SHORT = re.compile(r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")


def _yearless(month: int, day: int, near: date, back: timedelta) -> date:
    """The date of this month and day from `back` before `near` on (the year is left out: the next one)."""
    for year in (near.year - 1, near.year, near.year + 1):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found >= near - back:
            return found
    raise SchoolDaysError(NOT_A_DATE)


# Days named by the words people use instead of a date (Chinese, and English for the English screens).
_RELATIVE_DAYS = {"大后天": 3, "后天": 2, "明天": 1, "今天": 0, "昨天": -1, "前天": -2,
                  "tomorrow": 1, "today": 0, "yesterday": -1}


def read_dates(text: str, today: date, *, back: timedelta = YEARLESS_BACK) -> tuple[list[date], str]:
    """The dates in a typed line (2026-10-01, 2026年10月1日, 10月1日, 10/1 …; full-width digits too) and what
    follows the last one (a note). A date without its year is the next one from `back` before today on; a second
    one without a year comes after the first."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    for word, shift in _RELATIVE_DAYS.items():  # "明天 运动会": the words people say, first
        if text.startswith(word):
            return [today + timedelta(days=shift)], text[len(word):].strip(" ,，:：")
    days: list[date] = []
    position = 0
    while len(days) < 2:
        rest = text[position:]
        lead = re.match(r"\s*(?:[至到~～—–,，、-]|to\b)?\s*", rest)
        at = lead.end()
        full, short = _FULL.match(rest, at), _SHORT.match(rest, at)
        if full:
            try:
                days.append(date(int(full[1]), int(full[2]), int(full[3])))
            except ValueError:
                raise SchoolDaysError(NOT_A_DATE) from None
            position += full.end()
        elif short:
            near = days[-1] + timedelta(days=1) if days else today
            days.append(_yearless(int(short[1]), int(short[2]), near, timedelta(0) if days else back))
            position += short.end()
        else:
            break
    if not days:
        raise SchoolDaysError(NOT_A_DATE)
    return days, text[position:].strip(" ,，:：")


class SchoolDays:
    def __init__(self, db: Database, clock: Clock, zone: str) -> None:
        self._db = db
        self._clock = clock
        self._zone = ZoneInfo(zone)
        self._repo = SchoolDaysRepository(db)
        self._people = PeopleRepository(db)
        self._audit = AuditRepository(db)

    def today(self) -> date:
        """Today at the school."""
        return self._clock.now().astimezone(self._zone).date()

    def local(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()

    # -- reading ---------------------------------------------------------------------------------------------

    async def _terms_between(self, school_id: int, start: date, end: date) -> list[Term]:
        """The school's terms that touch `start` … `end`: its own, and the defaults none of its own overlaps."""
        own = [Term(r.starts_on, r.ends_on) for r in await self._repo.terms(
            school_id, start - timedelta(days=400), end + timedelta(days=400))]
        defaults = []
        for year in range(start.year - 1, end.year + 2):
            defaults += [t for t in default_terms(year) if t not in defaults]
        found = own + [t for t in defaults if not any(t.overlaps(o) for o in own)]
        return sorted((t for t in found if t.starts_on <= end and t.ends_on >= start), key=lambda t: t.starts_on)

    async def terms(self, school_id: int, year: int) -> list[Term]:
        """The school's terms that touch `year`, in order."""
        return await self._terms_between(school_id, date(year, 1, 1), date(year, 12, 31))

    async def overrides(self, school_id: int, start: date, end: date) -> dict[date, str]:
        """The school's own marks from `start` to `end`: day → OFF or SCHOOL."""
        return {r.day: r.kind for r in await self._repo.overrides(school_id, start, end)}

    @staticmethod
    def _default_kind(day: date, defaults: dict[date, Mark]) -> str:
        mark = defaults.get(day)
        if mark is not None:
            return mark.kind
        return SCHOOL if day.weekday() < 5 else OFF

    async def school_days(self, school_id: int, start: date, end: date) -> list[date]:
        """The school days from `start` to `end`, both included, in order."""
        if end < start:
            return []
        terms = await self._terms_between(school_id, start, end)
        marked = await self.overrides(school_id, start, end)
        defaults = national(start, end)
        days, day = [], start
        while day <= end:
            if any(day in t for t in terms) and marked.get(day, self._default_kind(day, defaults)) == SCHOOL:
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

    async def coming(self, school_id: int, start: date, *, locale: str = "zh_CN", days: int = COMING_DAYS,
                     limit: int = COMING_LIMIT) -> list[Mark]:
        """From `start` on, the days within terms that are not what their weekday says (holidays on weekdays,
        make-up days on weekends: national or the school's), and every mark of the school, in order."""
        end = start + timedelta(days=days)
        terms = await self._terms_between(school_id, start, end)
        own = {r.day: r for r in await self._repo.overrides(school_id, start, end)}
        defaults = national(start, end, locale)
        found = []
        for day in sorted(set(own) | set(defaults)):
            if day in own:
                found.append(Mark(day, own[day].kind, False, own[day].note))
            elif any(day in t for t in terms) and defaults[day].kind != (SCHOOL if day.weekday() < 5 else OFF):
                found.append(defaults[day])
        return found[:limit]

    # -- who may ---------------------------------------------------------------------------------------------

    @staticmethod
    def may_change(actor: Actor, school_id: int | None) -> bool:
        return school_id is not None and any(g.role == ADMIN and g.school_id == school_id for g in actor.grants)

    def require_admin(self, actor: Actor, school_id: int | None) -> None:
        if not self.may_change(actor, school_id):
            raise NotAllowed("schooldays", NOT_ADMIN)

    @staticmethod
    def schools_of(actor: Actor) -> list[int]:
        """The schools whose calendar this person sees: where they are an admin or a class teacher."""
        return sorted({g.school_id for g in actor.grants if g.role in (ADMIN, TEACHER) and g.school_id is not None})

    async def calendars(self, actor: Actor, locale: str = "zh_CN") -> list[Calendar]:
        """What /schooldays shows: each of the person's schools. Refused for anyone but its teachers and admins."""
        school_ids = self.schools_of(actor)
        if not school_ids:
            raise NotAllowed("schooldays", NOT_STAFF)
        today = self.today()
        found = []
        for school_id in school_ids:
            school = await self._people.school(school_id)
            if school is None:
                continue
            terms = [t for t in await self._terms_between(school_id, today, today + timedelta(days=400))
                     if t.ends_on >= today]
            current = terms[0] if terms else None
            following = terms[1] if len(terms) > 1 else None
            found.append(Calendar(school, self.may_change(actor, school_id), today,
                                  await self.is_school_day(school_id, today), current, following,
                                  await self.coming(school_id, today, locale=locale)))
        return found

    async def term_starting(self, school_id: int, starts_on: date) -> Term:
        """The term (the school's own or a default) that starts on `starts_on`; a stale button if none does."""
        for term in await self._terms_between(school_id, starts_on, starts_on):
            if term.starts_on == starts_on:
                return term
        raise SchoolDaysError(N_("This term's dates have changed since. Send /schooldays to see them now."))

    async def pickable(self, school_id: int, kind: str, *, limit: int = 10) -> list[date]:
        """Days to offer as buttons for marking `kind`: the next school days (to mark off) or the next days
        within terms that are not school days (to mark as make-up days), from today on."""
        today = self.today()
        end = today + timedelta(days=COMING_DAYS)
        school = set(await self.school_days(school_id, today, end))
        terms = await self._terms_between(school_id, today, end)
        found, day = [], today
        while day <= end and len(found) < limit:
            if any(day in t for t in terms) and ((day in school) == (kind == OFF)):
                found.append(day)
            day += timedelta(days=1)
        return found

    # -- changing --------------------------------------------------------------------------------------------

    def _check_range(self, day: date, back: timedelta) -> None:
        today = self.today()
        if not today - back <= day <= today + AHEAD:
            raise SchoolDaysError(OUT_OF_RANGE)

    async def mark(self, actor: Actor, school_id: int, day: date, kind: str, note: str = "") -> Mark:
        """Mark `day` off or as a school day. A mark that says what the day would be anyway is removed, so the
        national defaults apply again (a make-up Saturday marked off, then marked school again)."""
        self.require_admin(actor, school_id)
        if kind not in KINDS:
            raise SchoolDaysError()
        self._check_range(day, MARK_BACK)
        terms = await self._terms_between(school_id, day, day)
        if not any(day in t for t in terms):
            raise SchoolDaysError(OUTSIDE_TERMS, day=day)
        now = self._clock.now()
        note = " ".join(note.split())[:MAX_NOTE]
        async with self._db.transaction() as conn:
            repo = self._repo.within(conn)
            present = {r.day: r for r in await repo.overrides(school_id, day, day)}.get(day)
            default = self._default_kind(day, national(day, day))
            if (present.kind if present else default) == kind and (present is None or present.note == note):
                raise SchoolDaysError(ALREADY_OFF if kind == OFF else ALREADY_SCHOOL, day=day)
            if default == kind and not note:
                await repo.delete_override(school_id, day)
            else:
                await repo.put_override(OverrideRow(school_id, day, kind, note, actor.person_id, stamp(now)))
            await self._audit.within(conn).record(AuditEntry(
                stamp(now), actor.person_id, None, "schooldays_mark", f"school={school_id} day={day} kind={kind}"))
        return Mark(day, kind, False, note)

    async def unmark(self, actor: Actor, school_id: int, day: date) -> str:
        """Remove the school's mark of `day`: it is what the defaults say again (returned: OFF or SCHOOL)."""
        self.require_admin(actor, school_id)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            if not await self._repo.within(conn).delete_override(school_id, day):
                raise SchoolDaysError(NOT_MARKED, day=day)
            await self._audit.within(conn).record(AuditEntry(
                stamp(now), actor.person_id, None, "schooldays_unmark", f"school={school_id} day={day}"))
        return self._default_kind(day, national(day, day))

    async def set_term(self, actor: Actor, school_id: int, replacing: date, starts_on: date, ends_on: date) -> Term:
        """Give the term that started on `replacing` (the school's own, or a default) new dates."""
        self.require_admin(actor, school_id)
        self._check_range(starts_on, MARK_BACK)
        self._check_range(ends_on, MARK_BACK)
        if ends_on < starts_on:
            raise SchoolDaysError(END_BEFORE_START)
        if not MIN_TERM_DAYS <= (ends_on - starts_on).days + 1 <= MAX_TERM_DAYS:
            raise SchoolDaysError(TERM_LENGTH, least=MIN_TERM_DAYS, most=MAX_TERM_DAYS)
        old = await self.term_starting(school_id, replacing)
        new = Term(starts_on, ends_on)
        around = await self._terms_between(school_id, min(starts_on, old.starts_on) - timedelta(days=1),
                                           max(ends_on, old.ends_on) + timedelta(days=1))
        for other in around:
            if other != old and other.overlaps(new):
                raise SchoolDaysError(TERM_OVERLAP, start=other.starts_on, end=other.ends_on)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            repo = self._repo.within(conn)
            if old.own:
                await repo.delete_term(school_id, old.starts_on)
            await repo.put_term(TermRow(school_id, starts_on, ends_on))
            await self._audit.within(conn).record(AuditEntry(
                stamp(now), actor.person_id, None, "schooldays_term",
                f"school={school_id} from={old.starts_on}..{old.ends_on} to={starts_on}..{ends_on}"))
        return new
