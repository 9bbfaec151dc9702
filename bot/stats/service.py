"""/stats: the figures of a class, a school, a village or a township (whose, as for the ledgers:
bot.access.policy.ledger_scopes), the quarter so far or a quarter or year frozen at its end, as a chart (PNG) and
as an Excel table with the same numbers. Every view and every export is audited (who, which place, which
period). The periods' snapshots are taken by `take_snapshots`, a step of the schedule. Knows nothing of Telegram.

The county (every school of the database: one installation serves one county) has figures too, for the command
line and the benchmark; no role reaches it in chat."""

from __future__ import annotations

import asyncio

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.access.people import Actor
from bot.access.policy import ledger_scopes
from bot.clock import Clock, stamp, unstamp
from bot.errors import NotAllowed, UserError
from bot.i18n import N_, translator
from bot.musts import tracker
from bot.stats import charts, table
from bot.stats.figures import (ABSENCES, CALLS_HELD, CALLS_MISSED, CASES, CLASS, COMPLETE, CONSENTED, CONTACT,
                               COUNTY, MUSTS_DONE, MUSTS_OVERDUE, RECORDS, REQUIRED, SAFETY, SCHOOL, SUSPECTED,
                               TOWNSHIP, UNEXPLAINED, VILLAGE, CarerRow, Figures, Row, bounds, ended_before, quarter)
from storage.audit import AuditEntry, AuditRepository
from storage.db import Database
from storage.people import PeopleRepository
from storage.stats import Snapshot, StatsRepository, Where, where

log = logging.getLogger(__name__)

CURRENT = "now"
REFUSED = N_("You cannot see the statistics of this place.")


class StatsService:
    def __init__(self, db: Database, people: PeopleRepository, clock: Clock, zone: str) -> None:
        self._db = db
        self._people = people
        self._clock = clock
        self._tz = ZoneInfo(zone)
        self._repo = StatsRepository(db)
        self._audit = AuditRepository(db)

    # -- whose ------------------------------------------------------------------------------------------------------

    async def places(self, actor: Actor) -> list[tuple[str, int, str]]:
        """(scope, id, name) of every place whose statistics this person sees; none: refused."""
        found = []
        for scope, place in ledger_scopes(actor.grants):
            name = await self._name(scope, place)
            if name is not None:
                found.append((scope, place, name))
        if actor.person_id is None or not found:
            raise NotAllowed("stats", N_("The statistics are for class teachers, school admins, village child "
                                         "directors and township supervisors."))
        return found

    async def _check(self, actor: Actor, scope: str, place: int) -> str:
        name = await self._name(scope, place) if (scope, place) in ledger_scopes(actor.grants) else None
        if actor.person_id is None or name is None:
            raise NotAllowed("stats", REFUSED)
        return name

    async def _name(self, scope: str, place: int) -> str | None:
        if scope == COUNTY:
            return ""
        fetch = {CLASS: self._people.school_class, SCHOOL: self._people.school, VILLAGE: self._people.village,
                 TOWNSHIP: self._people.township}.get(scope)
        found = await fetch(place) if fetch else None
        return found.name if found is not None else None

    # -- what a person asks for -------------------------------------------------------------------------------------

    async def periods(self, actor: Actor, scope: str, place: int) -> list[str]:
        """The frozen periods of one of the person's places, the latest first."""
        await self._check(actor, scope, place)
        return await self._repo.periods(scope, place)

    async def view(self, actor: Actor, scope: str, place: int, period: str = CURRENT) -> Figures:
        """The figures of one of the person's places: the quarter so far, or a frozen period; audited."""
        figures = await self._figures(actor, scope, place, period)
        await self._audited(actor, "stats_view", figures)
        return figures

    async def export(self, actor: Actor, scope: str, place: int, period: str, locale: str) -> tuple[Figures, bytes]:
        """The same figures as an Excel table, in the person's language; audited."""
        figures = await self._figures(actor, scope, place, period)
        data = await table.workbook(figures, translator(locale).gettext).render()
        await self._audited(actor, "stats_export", figures)
        return figures, data

    async def chart(self, figures: Figures, locale: str) -> bytes:
        """The chart as PNG, drawn on a worker thread: a second of CPU must not hold up the event loop."""
        return await asyncio.to_thread(charts.png, figures, translator(locale).gettext)

    async def _figures(self, actor: Actor, scope: str, place: int, period: str) -> Figures:
        name = await self._check(actor, scope, place)
        if period == CURRENT:
            return await self.compute(scope, place, name)
        kept = await self._repo.snapshot(scope, place, period)
        if kept is None:
            raise UserError(N_("There are no figures kept for that period."))
        return Figures.from_json(kept.figures)

    async def _audited(self, actor: Actor, action: str, figures: Figures) -> None:
        await self._audit.record(AuditEntry(stamp(self._clock.now()), actor.person_id, None, action,
                                            f"scope={figures.scope}:{figures.place} period={figures.period}"))
        log.info("%s of %s %s (%s) by person %s", action, figures.scope, figures.place, figures.period,
                 actor.person_id)

    # -- the figures ------------------------------------------------------------------------------------------------

    def today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()

    async def compute(self, scope: str, place: int, name: str, period: str | None = None) -> Figures:
        """The figures of a place for a period: `None` is the current quarter so far (as of now); a period that
        has ended is counted as of its end."""
        now = self._clock.now()
        period = period or quarter(now.astimezone(self._tz).date())
        first, last = bounds(period)
        start = datetime.combine(first, time(0), self._tz)
        end = min(now, datetime.combine(last + timedelta(days=1), time(0), self._tz))
        at, since = stamp(end), stamp(start)
        w = where(scope, place)
        repo = self._repo
        children, complete = await repo.records(w, REQUIRED)
        consented = await repo.consented(w)
        contact = await repo.in_contact(w, stamp(end - timedelta(days=7)), at)
        calls = await repo.calls(w, since, at)
        absences, unexplained = await repo.absences(w, first.isoformat(),
                                                    min(last, end.astimezone(self._tz).date()).isoformat())
        cases, suspected = await repo.dropouts(w)
        safety = await repo.open_safety(w)
        carers = await self._carers(w, end)
        held, missed = calls.get("done", 0), calls.get("missed", 0)
        done, owed = sum(c.done for c in carers), sum(c.owed for c in carers)
        rows = (Row(RECORDS, children), Row(COMPLETE, complete, children), Row(CONSENTED, consented, children),
                Row(CONTACT, contact, children), Row(CALLS_HELD, held, held + missed), Row(CALLS_MISSED, missed),
                Row(ABSENCES, absences), Row(UNEXPLAINED, unexplained), Row(CASES, cases), Row(SUSPECTED, suspected),
                Row(SAFETY, safety), Row(MUSTS_DONE, done, owed), Row(MUSTS_OVERDUE, sum(c.overdue for c in carers)))
        return Figures(scope, place, name, period, first.isoformat(), last.isoformat(), at, rows, tuple(carers))

    async def _carers(self, w: Where, end: datetime) -> list[CarerRow]:
        """Each proxy parent's five musts (bot.musts.tracker, without the teacher's home visit) over their
        children at `end`: done, owed, overdue. Least done first."""
        pairings = await self._repo.carers(w)
        if not pairings:
            return []
        semester_first, _ = tracker.semester(end.astimezone(self._tz).date())
        window = min(end - timedelta(days=110), datetime.combine(semester_first, time(0), self._tz))
        facts: dict[int, list[tracker.Fact]] = defaultdict(list)
        for f in await self._repo.care_facts(w, stamp(window), stamp(end)):
            facts[f.child_id].append(tracker.Fact(f.kind, self._counted_at(f.kind, f.created_at, f.occurred_on),
                                                  f.photos if f.for_family else 0, f.period))
        # Seconds of CPU for a county's 30,000 pairings: on a worker thread, so the event loop stays free.
        return await asyncio.to_thread(_tally, pairings, facts, end, self._tz)

    def _counted_at(self, kind: str, created_at: str, occurred_on: str) -> datetime:
        """As bot.musts.service counts it: a talk or a visit for its day (noon, or when recorded if earlier),
        anything else for when the family got it."""
        recorded = unstamp(created_at)
        if kind in (tracker.TALK, tracker.VISIT):
            return min(datetime.combine(date.fromisoformat(occurred_on), time(12), self._tz), recorded)
        return recorded

    # -- snapshots --------------------------------------------------------------------------------------------------

    async def take_snapshots(self) -> int:
        """Freeze every place's figures for the quarter (and year) that ended last, once: a step of the
        schedule. Cheap when done: one query finds nothing missing."""
        taken = 0
        for period in ended_before(self.today()):
            have = await self._repo.taken(period)
            for scope, place in await self._repo.places():
                if (scope, place) in have:
                    continue
                name = await self._name(scope, place)
                if name is None:
                    continue
                figures = await self.compute(scope, place, name, period)
                taken += await self._repo.save(Snapshot(scope, place, period, figures.to_json(),
                                                        stamp(self._clock.now())))
        if taken:
            log.info("statistics frozen for %s places", taken)
        return taken


def _tally(pairings, facts: dict[int, list[tracker.Fact]], end: datetime, tz: ZoneInfo) -> list[CarerRow]:
    """Each proxy parent's five musts over their children at `end` (bot.musts.tracker), least done first."""
    totals: dict[int, list] = {}
    for pairing in pairings:
        musts = tracker.check(facts.get(pairing.child_id, ()), now=end, tz=tz, since=unstamp(pairing.started))
        row = totals.setdefault(pairing.person_id, [pairing.name, 0, 0, 0, 0])
        row[1] += 1
        row[2] += sum(m.state == tracker.DONE for m in musts)
        row[3] += len(musts)
        row[4] += sum(m.state == tracker.OVERDUE for m in musts)
    found = [CarerRow(*row) for row in totals.values()]
    return sorted(found, key=lambda c: (c.done / c.owed if c.owed else 1, c.name))
