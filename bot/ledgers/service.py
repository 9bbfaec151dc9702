"""The ledgers (台账) of a class, a school, a village or a township, as Excel workbooks: the left-behind children's
ledger in the official form's column order with its summary (bot.records.official), the five musts per carer and
child by month, the video calls held and missed, and the care calendar's completion by person.

Who exports which place is bot.access.policy.ledger_scopes; what a ledger holds of each child is what the person
may export of it (`fields_allowed(…, EXPORT)`, `entry_access`), and before a parent or guardian has consented,
only the child's name (the school's roll). Every export is audited: who, which scope, which ledger, how many rows,
and a line per child in the children's ledger. Knows nothing of Telegram."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.access.consent import ConsentService
from bot.access.people import Actor
from bot.access.policy import (CLASS, EXPORT, PROXY, SCHOOL, TEACHER, TOWNSHIP, VILLAGE, ROLE_LABELS, entry_access,
                               fields_allowed, ledger_scopes)
from bot.calendar import task_title
from bot.clock import Clock, stamp, unstamp
from bot.errors import NotAllowed
from bot.i18n import N_, translator
from bot.ledgers.workbook import Workbook
from bot.musts.forms import SCORE, SUMMARY, TALK, UPDATE
from bot.records import official
from bot.stats.figures import SCOPE_LABELS  # one name for a place, in the ledgers and the statistics
from bot.video.service import CANCELLED, DONE, MISSED, MOVED, REASONS
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildrenRepository, ChildRow, roster_order
from storage.db import Database
from storage.ledgers import LedgersRepository
from storage.people import PeopleRepository
from storage.video import VideoRepository

log = logging.getLogger(__name__)

CHILDREN, MUSTS, VIDEO, CALENDAR = "children", "musts", "video", "calendar"
KINDS = (CHILDREN, MUSTS, VIDEO, CALENDAR)
KIND_LABELS = {CHILDREN: N_("Left-behind children's ledger"), MUSTS: N_("Five musts ledger"),
               VIDEO: N_("Video call ledger"), CALENDAR: N_("Care calendar completion")}
# The activity ledgers cover the last twelve months, the current one included: a school year and its summer.
MONTHS = 12
REFUSED = N_("You cannot export the ledgers of this place.")
MUSTS_KINDS = (UPDATE, "photos", SCORE, SUMMARY, TALK)
OUTCOME_LABELS = {DONE: N_("Held"), MISSED: N_("Missed"), MOVED: N_("Moved"), CANCELLED: N_("Cancelled"),
                  None: N_("Not yet answered")}


@dataclass(frozen=True)
class Scope:
    scope: str      # CLASS, SCHOOL, VILLAGE or TOWNSHIP
    place: int      # the class's, school's, village's or township's id
    name: str


@dataclass(frozen=True)
class LedgerFile:
    """An exported ledger: the .xlsx, how many rows it has, and the summary's cross-check violations (the
    children's ledger only; empty when the sums agree)."""

    data: bytes
    rows: int
    violations: list[str]


class LedgerService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository,
                 consent: ConsentService, clock: Clock, zone: str) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._consent = consent
        self._clock = clock
        self._zone = ZoneInfo(zone)
        self._repo = LedgersRepository(db)
        self._video = VideoRepository(db)
        self._audit = AuditRepository(db)

    # -- scopes ---------------------------------------------------------------------------------------------------

    async def scopes(self, actor: Actor) -> list[Scope]:
        """The places whose ledgers this person may export; none: refused."""
        found = [await self._named(scope, place) for scope, place in ledger_scopes(actor.grants)]
        found = [s for s in found if s is not None]
        if actor.person_id is None or not found:
            raise NotAllowed("ledger", N_("The ledgers are for class teachers, school admins, village child "
                                          "directors and township supervisors."))
        return found

    async def scope(self, actor: Actor, scope: str, place: int) -> Scope:
        """The scope if it is one of the person's; the same refusal for another place and one that does not exist."""
        named = await self._named(scope, place) if (scope, place) in ledger_scopes(actor.grants) else None
        if actor.person_id is None or named is None:
            raise NotAllowed("ledger", REFUSED)
        return named

    async def _named(self, scope: str, place: int) -> Scope | None:
        if scope == CLASS:
            found = await self._people.school_class(place)
        elif scope == SCHOOL:
            found = await self._people.school(place)
        elif scope == VILLAGE:
            found = await self._people.village(place)
        else:
            found = await self._people.township(place)
        return Scope(scope, place, found.name) if found is not None else None

    async def _children_of(self, scope: Scope) -> list[ChildRow]:
        fetch = {CLASS: self._children.in_class, SCHOOL: self._children.in_school,
                 VILLAGE: self._children.in_village, TOWNSHIP: self._children.in_township}[scope.scope]
        return sorted(await fetch(scope.place), key=roster_order)

    # -- the exports ----------------------------------------------------------------------------------------------

    async def export(self, actor: Actor, scope: str, place: int, kind: str, locale: str) -> LedgerFile:
        """One ledger of one of the person's places, as .xlsx, in the person's language; audited."""
        where = await self.scope(actor, scope, place)
        if kind not in KINDS:
            raise NotAllowed("ledger", REFUSED)
        _ = translator(locale).gettext
        children = await self._children_of(where)
        consented = {c.id: await self._consent.consented(c.id) for c in children}
        make = {CHILDREN: self._children_ledger, MUSTS: self._musts_ledger, VIDEO: self._video_ledger,
                CALENDAR: self._calendar_ledger}[kind]
        made = await make(actor, children, consented, _)
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            audit = self._audit.within(conn)
            await audit.record(AuditEntry(at, actor.person_id, None, "ledger_export",
                                          f"scope={scope}:{place} kind={kind} rows={made.rows}"))
            if kind == CHILDREN:
                for child in children:
                    await audit.record(AuditEntry(at, actor.person_id, child.id, "ledger_row",
                                                  f"scope={scope}:{place}"))
        log.info("ledger %s of %s %s exported by person %s: %s rows", kind, scope, place, actor.person_id, made.rows)
        return made

    def _today(self) -> date:
        return self._clock.now().astimezone(self._zone).date()

    def _first_month(self) -> date:
        return first_month(self._today())

    async def _children_ledger(self, actor: Actor, children: list[ChildRow], consented: dict[int, bool],
                               _) -> LedgerFile:
        values = await self._repo.fields([c.id for c in children])
        schools: dict[int, str] = {}
        for school_id in sorted({c.school_id for c in children}):
            school = await self._people.school(school_id)
            schools[school_id] = school.name if school else ""
        records = []
        for child in children:
            allowed = fields_allowed(actor.grants, child.place, EXPORT, consented=consented[child.id])
            if not consented[child.id]:
                allowed = {"name"}  # the school's roll: staff hold the names before consent
            records.append(official.Record(child, {k: v for k, v in values[child.id].items() if k in allowed},
                                           schools[child.school_id]))
        header = [_(label) for _key, label in official.OFFICIAL_COLUMNS]
        rows = official.official_rows(records, _)
        counts, violations = official.official_summary(records, self._today(), _)
        waiting = [n for n, child in enumerate(children, start=1) if not consented[child.id]]
        if waiting:  # say why their rows are missing from the breakdowns, before the admin goes looking
            violations = [_("The family has not agreed to the data rules yet, so the ledger holds only the name "
                            "(row {rows})").format(rows=official.rows_text(waiting, _)), *violations]
        book = Workbook()
        book.sheet(_("Children"), header, rows)
        book.sheet(_("Ledger summary"), [_("Item"), _("Number")], counts)
        if violations:
            book.sheet(_("Cross-check problems"), [_("Problem")], [[v] for v in violations])
        return LedgerFile(await book.render(), len(rows), list(violations))

    async def _musts_ledger(self, actor: Actor, children: list[ChildRow], consented: dict[int, bool],
                            _) -> LedgerFile:
        first = self._first_month()
        by_id = {c.id: c for c in children}
        readable = {c.id: {kind for kind in (UPDATE, SCORE, SUMMARY, TALK)
                           if entry_access(actor.grants, c.place, kind, consented=consented[c.id])}
                    for c in children}
        table: dict[tuple, dict[str, int]] = {}
        for count in await self._repo.care_counts([c.id for c in children if consented[c.id]], first.isoformat()):
            if count.kind not in readable[count.child_id]:
                continue  # what the person may not read of this child is not counted either
            child = by_id[count.child_id]
            key = (count.month, roster_order(child), child.id, count.author_name, count.author_id, count.author_role)
            line = table.setdefault(key, dict.fromkeys(MUSTS_KINDS, 0))
            line[count.kind] += count.entries
            line["photos"] += count.photos
        header = [_("Month"), _("Class"), _("Child"), _("Carer"), _("Role"), _("Updates"), _("Photos"), _("Scores"),
                  _("Monthly summaries"), _("Talks")]
        rows = []
        for key in sorted(table, key=lambda k: (k[0], k[1], k[3], k[4] or 0)):
            month, _order, child_id, author, _author_id, role = key
            child = by_id[child_id]
            label = ROLE_LABELS.get(role)
            rows.append([month, child.class_name, child.name, author, _(label) if label else role,
                         *(table[key][kind] for kind in MUSTS_KINDS)])
        book = Workbook()
        book.sheet(_("Five musts"), header, rows)
        return LedgerFile(await book.render(), len(rows), [])

    async def _video_ledger(self, actor: Actor, children: list[ChildRow], consented: dict[int, bool],
                            _) -> LedgerFile:
        first = datetime.combine(self._first_month(), datetime.min.time(), self._zone)
        by_id = {c.id: c for c in children}
        calls = await self._video.calls_between([c.id for c in children if consented[c.id]], stamp(first),
                                                stamp(self._clock.now()))
        rows, totals = [], {}
        for call in calls:
            child = by_id[call.child_id]
            reason = _(REASONS[call.reason]) if call.outcome == MISSED and call.reason in REASONS else ""
            rows.append([unstamp(call.starts_at).astimezone(self._zone).replace(tzinfo=None), child.class_name,
                         child.name, call.minutes, _(OUTCOME_LABELS.get(call.outcome, OUTCOME_LABELS[None])), reason])
            line = totals.setdefault(child.id, {DONE: 0, MISSED: 0, **dict.fromkeys(REASONS, 0)})
            if call.outcome in (DONE, MISSED):
                line[call.outcome] += 1
            if call.outcome == MISSED and call.reason in REASONS:
                line[call.reason] += 1
        book = Workbook()
        book.sheet(_("Video calls"), [_("Time"), _("Class"), _("Child"), _("Minutes"), _("Outcome"), _("Reason")],
                   rows)
        book.sheet(_("By child"), [_("Class"), _("Child"), _("Held"), _("Missed"),
                                   *(_(REASONS[r]) for r in REASONS)],
                   [[by_id[c].class_name, by_id[c].name, t[DONE], t[MISSED], *(t[r] for r in REASONS)]
                    for c, t in sorted(totals.items(), key=lambda item: roster_order(by_id[item[0]]))])
        return LedgerFile(await book.render(), len(rows), [])

    async def _calendar_ledger(self, actor: Actor, children: list[ChildRow], consented: dict[int, bool],
                               _) -> LedgerFile:
        first = datetime.combine(self._first_month(), datetime.min.time(), self._zone)
        carers = await self._repo.carers_of([c.id for c in children])
        roles: dict[int, set[str]] = {}
        for person_id, role in carers:
            roles.setdefault(person_id, set()).add(role)
        schools = sorted({c.school_id for c in children})
        marks = await self._repo.marks(schools, sorted(roles), stamp(first)) if schools and roles else []
        rows = []
        for mark in marks:
            rate = round(100 * mark.done / mark.reminders) if mark.reminders else 0
            last = unstamp(mark.last_done_at).astimezone(self._zone).date() if mark.last_done_at else None
            who = ", ".join(_(ROLE_LABELS[r]) for r in (TEACHER, PROXY) if r in roles.get(mark.person_id, ()))
            rows.append([mark.person_name, who, task_title(_, mark), mark.reminders, mark.done, rate, last])
        book = Workbook()
        book.sheet(_("Care calendar"), [_("Person"), _("Role"), _("Task"), _("Reminders"), _("Marked done"), _("Done (%)"),
                                        _("Last done")], rows)
        return LedgerFile(await book.render(), len(rows), [])


def scope_label(_, scope: Scope) -> str:
    return _(SCOPE_LABELS[scope.scope]).format(name=scope.name)


def first_month(today: date) -> date:
    """The first day the activity ledgers cover: the first of the month MONTHS - 1 months before today's."""
    month = today.year * 12 + today.month - 1 - (MONTHS - 1)
    return date(month // 12, month % 12 + 1, 1)
