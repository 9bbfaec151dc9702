"""Suspected dropouts (控辍保学): the ladder of people told, persuasion to return (劝返), the return and its watch,
the written report (辍学学生情况报告表) and the ledgers. Knows nothing of Telegram.

Decided here:
- The streak is counted in school days (bot.attendance.schooldays) backwards from today: today counts when the
  child is marked absent without a reason, and is skipped while nothing is marked yet (the roll may come later), so
  a streak does not break every morning. It ends at a school day the child was there, or absent with a reason.
- A case opens at the first unexplained absence; its step climbs and never falls: step 1 the school's admins are
  told (DROPOUT_ADMINS_DAY), step 2 the village child director and the class teacher are asked for a joint home
  visit (the admins told too), step 3 (DROPOUT_SUSPECTED_DAY, or any 'unknown' absence) the case is a suspected
  dropout and the township's supervisors and the county education bureau's contact are told (the school's and the
  village's people too). Each step is moved with a compare-and-set in the transaction that posts its notices, so
  a restart or a second run never tells anyone twice; crossing several steps at once tells each person once.
- The county contact holds no role: their notice names the school, the class and the case, never the child (the
  township's supervisor and the school hold the details, and the written report goes through them).
- Notices about a case are INTERACTIVE (not a danger report: the safety lane is for those). Whereabouts unknown adds
  the mandatory-report button (bot.safety.buttons.ReportAbout): a missing child is one of its situations.
- Who handles a case: the school's admins, the child's class teacher, the township's supervisors and the village's
  child director, while their role reaches the child. Anyone else, a forged id and a missing case get the same
  refusal. The written report and the ledgers are exports: admins and supervisors only (bot.access.policy gives
  the teacher and the director no export), with the record's fields the person may export, and audited.
- The written report is offered once persuasion has failed: PERSUASION_ATTEMPTS_BEFORE_REPORT attempts, or a
  suspected dropout for DROPOUT_REPORT_AFTER_DAYS days. A case reported in writing and not returned counts as a
  confirmed dropout in the monthly report.
- "Back at school" ends the ladder and starts a watch of DROPOUT_WATCH_DAYS (calendar) days; a new unexplained
  absence after the return reopens the case at once as a suspected dropout and everyone of step 3 is told again;
  after a quiet watch run_due closes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from bot.access.consent import ConsentService
from bot.access.people import Actor
from bot.access.policy import ADMIN, DIRECTOR, EXPORT, SUPERVISOR, TEACHER, fields_allowed, roles_for
from bot.attendance.documents import (ATTITUDE_LABELS, METHOD_LABELS, AttemptLine, LedgerRow, Person, WrittenReport,
                                      ledger_xlsx, monthly_xlsx, written_report_docx)
from bot.attendance.documents import REASON_LABELS as _REASONS
from bot.attendance.schooldays import SchoolDays
from bot.clock import Clock, stamp
from bot.errors import NotAllowed, UserError
from bot.i18n import N_, translator
from bot.notices import INTERACTIVE, REMINDERS, Action, Notice, Outbox
from bot.payloads import payload
from bot.preferences import PreferencesService
from bot.records.fields import SEX
from bot.safety.buttons import ReportAbout
from bot.settings import Settings
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildRow, ChildrenRepository
from storage.db import Database
from storage.dropouts import (ACTIVE, CLOSED, OPEN, RETURNED, UNEXPLAINED, UNKNOWN, Attempt, Case,
                              DropoutsRepository, NewAttempt, NewCase)
from storage.people import NewPerson, PeopleRepository

__all__ = ["AttemptDraft", "CaseLine", "CaseView", "DropoutAction", "DropoutExport", "DropoutList", "DropoutService"]

log = logging.getLogger(__name__)

STAFF = (ADMIN, TEACHER, SUPERVISOR, DIRECTOR)
EXPORTERS = (ADMIN, SUPERVISOR)
# The papers are for the Chinese education authority, whatever language the person reads the bot in.
PAPER_LOCALE = "zh_CN"
# Candidates for the ladder: children with an unexplained absence this recently; a streak is looked for this far.
CANDIDATES = timedelta(days=21)
LOOKBACK = timedelta(days=60)
MAX_TEXT = 1000

HIDDEN = N_("This case does not exist or is not open to you.")
STAFF_ONLY = N_("Only the school's and the township's staff follow children absent from school.")
NOT_ACTIVE = N_("This child is back at school or the case is closed; nothing was changed.")


# -- buttons (bot.payloads): every id is checked again here on every press ---------------------------------------

# open the case; try record a persuasion attempt (m its method, a the parents' attitude, skip no next date); ret
# "back at school" (retok confirms it); doc the written report with the case's ledger row.
DropoutAct = Literal["open", "try", "m", "a", "skip", "ret", "retok", "doc"]


@payload("dro")
class DropoutAction:
    case: int
    act: DropoutAct
    choice: Annotated[str, 16] | None = None


@payload("drox")
class DropoutExport:
    """The school's monthly report (admins) or the township's ledger (supervisors)."""

    kind: Literal["month", "town"]


@payload("drol")
class DropoutList:
    pass


@dataclass(frozen=True)
class AttemptDraft:
    method: str
    attitude: str
    result: str
    next_step: str
    next_on: date | None = None


@dataclass(frozen=True)
class CaseLine:
    case_id: int
    child_name: str
    class_name: str
    state: str
    step: int
    days: int
    attempts: int


@dataclass(frozen=True)
class CaseView:
    case: Case
    child_name: str
    class_name: str
    school: str
    days: int
    attempts: list[Attempt]
    report_due: bool
    may_export: bool
    active: bool


class DropoutService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository, consent: ConsentService,
                 outbox: Outbox, preferences: PreferencesService, schooldays: SchoolDays, clock: Clock,
                 settings: Settings) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._consent = consent
        self._outbox = outbox
        self._preferences = preferences
        self._days = schooldays
        self._clock = clock
        self._settings = settings
        self.repo = DropoutsRepository(db)
        self._audit = AuditRepository(db)

    # -- the ladder (the schedule job, every 30 s) ------------------------------------------------------------------

    async def run_due(self) -> int:
        """Open cases, climb their ladders, reopen or close watched ones, remind of the monthly report. Returns how
        many notices were written."""
        today = self._days.today()
        candidates = set(await self.repo.unexplained_children((today - CANDIDATES).isoformat()))
        cases = {c.child_id: c for c in await self.repo.not_closed()}
        sent = 0
        for child_id in sorted(candidates | cases.keys()):
            child = await self._children.get(child_id)
            if child is None:
                continue
            case = cases.get(child_id)
            if case is not None and case.state == RETURNED:
                sent += await self._watch(case, child, today)
                continue
            streak = await self.streak(child, today)
            if not streak:
                if case is not None:
                    sent += await self._settle(case, child, today)
                continue
            if case is None:
                case = await self._open(child, streak)
                if case is None:
                    continue
            target = self._target(streak)
            if target > case.step:
                sent += await self._climb(case, child, target, streak, today)
        return sent + await self._monthly_reminders(today)

    async def streak(self, child: ChildRow, today: date) -> list[tuple[date, str]]:
        """The child's unexplained absences on consecutive school days up to today, the latest first."""
        days = await self._days.school_days(child.school_id, today - LOOKBACK, today)
        absences = await self.repo.absences(child.id, (today - LOOKBACK).isoformat())
        found = []
        for day in reversed(days):
            absence = absences.get(day.isoformat())
            if absence is None and day == today and not await self.repo.roll_taken(child.class_id, day.isoformat()):
                continue  # today's roll is not taken yet
            if absence is None or absence.reason not in UNEXPLAINED:
                break
            found.append((day, absence.reason))
        return found

    def _target(self, streak: list[tuple[date, str]]) -> int:
        s, n = self._settings, len(streak)
        if n >= s.dropout_suspected_day or any(reason == UNKNOWN for _, reason in streak):
            return 3
        if n >= s.dropout_village_day:
            return 2
        return 1 if n >= s.dropout_admins_day else 0

    async def _open(self, child: ChildRow, streak) -> Case | None:
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            case_id = await repo.open_case(NewCase(child.id, child.school_id, child.township_id,
                                                   streak[-1][0].isoformat(), at))
            if case_id is None:
                return None
            await self._audit.within(conn).record(AuditEntry(at, None, child.id, "dropout_open", f"case={case_id}"))
        log.info("dropout case %s opened for child %s", case_id, child.id)
        return await self.repo.get(case_id)

    async def _audience(self, child: ChildRow, case: Case) -> dict[str, list[int]]:
        """The people of the ladder by role (each list in role order, without repeats)."""
        found: dict[str, list[int]] = {role: [] for role in STAFF}
        for grant in await self._people.grants_for_child(child.id, child.school_id, child.class_id):
            if grant.role in found and grant.person_id not in found[grant.role]:
                found[grant.role].append(grant.person_id)
        county = await self.repo.county_contact(case.township_id)
        found["county"] = [county] if county is not None else []
        return found

    async def _climb(self, case: Case, child: ChildRow, target: int, streak, today: date) -> int:
        audience = await self._audience(child, case)
        # Who hears what: each person once, in the words of the highest step crossed now.
        plan: dict[int, tuple[int, str]] = {}
        for step in range(case.step + 1, target + 1):
            roles = {1: (ADMIN,), 2: (ADMIN, TEACHER, DIRECTOR),
                     3: (ADMIN, TEACHER, DIRECTOR, SUPERVISOR, "county")}[step]
            for role in roles:
                for person_id in audience[role]:
                    plan[person_id] = (step, role)
        unknown = any(reason == UNKNOWN for _, reason in streak)
        first = streak[-1][0]
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).climb(case.id, case.step, target, at,
                                                      today.isoformat() if target >= 3 else None, unknown):
                return 0
            notices = []
            for person_id, (step, role) in plan.items():
                notices.append(await self._step_notice(case, child, person_id, step, role, len(streak), first,
                                                       unknown, audience))
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(at, None, child.id, "dropout_step",
                                                             f"case={case.id} step={target} told={len(notices)}"))
        log.info("dropout case %s: step %s, %s told", case.id, target, len(notices))
        return len(notices)

    async def _step_notice(self, case: Case, child: ChildRow, person_id: int, step: int, role: str, days: int,
                           first: date, unknown: bool, audience) -> Notice:
        _, locale = await self._reader(person_id)
        school = await self._school_name(child.school_id)
        since = self._date(first, locale)
        if role == "county":
            township = await self._people.township(case.township_id) if case.township_id else None
            text = _("⚠️ Suspected dropout (控辍保学) at {school}, {township}: a child of {klass}, absent without a "
                     "reason for {days} school days since {since} (case #{case}). The township's child-welfare "
                     "supervisor and the school hold the details and record each attempt to bring the child "
                     "back.").format(school=school, township=township.name if township else "", klass=child.class_name,
                                     days=days, since=since, case=case.id)
            if unknown:
                text += "\n" + _("Whereabouts unknown.")
            return Notice(f"dropout:{case.id}:step{step}:{person_id}", person_id, text=text, lane=INTERACTIVE,
                          needs_consent=False)
        names = {"child": child.name, "klass": child.class_name, "school": school, "days": days, "since": since}
        if step == 1:
            text = _("📋 {child} ({klass}) has been absent without a reason since {since} ({days} school days). The "
                     "class teacher follows it up today: a call, then a home visit.").format(**names)
        elif step == 2 and role == DIRECTOR:
            text = _("🏠 {child} ({klass}, {school}), whose home is in your village, has been absent without a reason "
                     "for {days} school days since {since}. Please visit the family together with the class teacher "
                     "({teacher}) and record what you found.").format(
                teacher=await self._names(audience[TEACHER]), **names)
        elif step == 2 and role == TEACHER:
            text = _("🏠 {child} has been absent without a reason for {days} school days since {since}. Please visit "
                     "the family together with the village child director ({director}) and record each attempt to "
                     "bring the child back.").format(director=await self._names(audience[DIRECTOR]), **names)
        elif step == 2:
            text = _("🏠 {child} ({klass}) has been absent without a reason for {days} school days since {since}: the "
                     "village child director is asked to visit the family with the class teacher.").format(**names)
        else:
            text = _("⚠️ Suspected dropout: {child} ({klass}, {school}) has been absent without a reason for {days} "
                     "school days since {since}. The case is registered; the township's child-welfare supervisor "
                     "and the county education bureau are told. Record each attempt to bring the child back "
                     "(劝返).").format(**names)
        actions = [[Action("📂 " + _("Open the case"), DropoutAction(case.id, "open"))]]
        if unknown and step == 3:
            text += "\n" + _("Whereabouts unknown: a missing child is a mandatory report. Call 110 if the child may be "
                             "in danger.")
            actions.append([Action(_("🆘 Report a danger"), ReportAbout(child.id))])
        return Notice(f"dropout:{case.id}:step{step}:{person_id}", person_id, text=text, actions=actions,
                      lane=INTERACTIVE, child_id=child.id)

    async def _watch(self, case: Case, child: ChildRow, today: date) -> int:
        """A returned child: a new unexplained absence after the return reopens the case; a quiet watch closes it."""
        after = date.fromisoformat(case.returned_on) + timedelta(days=1)
        absences = await self.repo.absences(child.id, after.isoformat())
        again = sorted(day for day, a in absences.items() if a.reason in UNEXPLAINED)
        at = stamp(self._clock.now())
        if again:
            audience = await self._audience(child, case)
            day = date.fromisoformat(again[0])
            async with self._db.transaction() as conn:
                if not await self.repo.within(conn).reopen(case.id, case.returned_on, at, again[0], 3):
                    return 0
                notices = []
                for role in (ADMIN, TEACHER, DIRECTOR, SUPERVISOR, "county"):
                    for person_id in audience[role]:
                        notices.append(await self._reopen_notice(case, child, person_id, role, day))
                notices = list({n.key: n for n in notices}.values())
                await self._outbox.post(conn, notices)
                await self._audit.within(conn).record(AuditEntry(at, None, child.id, "dropout_reopen",
                                                                 f"case={case.id}"))
            log.info("dropout case %s reopened", case.id)
            return len(notices)
        if case.watch_until and today > date.fromisoformat(case.watch_until):
            async with self._db.transaction() as conn:
                if await self.repo.within(conn).close(case.id, at):
                    await self._audit.within(conn).record(AuditEntry(at, None, child.id, "dropout_close",
                                                                     f"case={case.id}"))
                    log.info("dropout case %s closed after its watch", case.id)
        return 0

    async def _reopen_notice(self, case: Case, child: ChildRow, person_id: int, role: str, day: date) -> Notice:
        _, locale = await self._reader(person_id)
        key = f"dropout:{case.id}:reopen:{day.isoformat()}:{person_id}"
        returned = self._date(date.fromisoformat(case.returned_on), locale)
        if role == "county":
            text = _("⚠️ Suspected dropout case #{case} at {school} ({klass}) is open again: the child came back to "
                     "school on {returned} and is absent without a reason again since {day}.").format(
                case=case.id, school=await self._school_name(child.school_id), klass=child.class_name,
                returned=returned, day=self._date(day, locale))
            return Notice(key, person_id, text=text, lane=INTERACTIVE, needs_consent=False)
        text = _("⚠️ {child} ({klass}) came back to school on {returned} and is absent without a reason again since "
                 "{day}: the case is open again as a suspected dropout.").format(
            child=child.name, klass=child.class_name, returned=returned, day=self._date(day, locale))
        return Notice(key, person_id, text=text, lane=INTERACTIVE, child_id=child.id,
                      actions=[[Action("📂 " + _("Open the case"), DropoutAction(case.id, "open"))]])

    async def _monthly_reminders(self, today: date) -> int:
        """On the report day (or the first run after it) each school's admins are reminded once a month, in months
        with school days."""
        if today.day < self._settings.dropout_monthly_day:
            return 0
        month = today.strftime("%Y-%m")
        sent = 0
        for school_id in await self.repo.schools_with_admins():
            if not await self._days.school_days(school_id, today.replace(day=1), today):
                continue
            admins = [g.person_id for g in await self._people.grants_in_school(school_id) if g.role == ADMIN]
            async with self._db.transaction() as conn:
                if not await self.repo.within(conn).remind_once(school_id, month):
                    continue
                notices = []
                for person_id in dict.fromkeys(admins):
                    _, _locale = await self._reader(person_id)
                    notices.append(Notice(
                        f"dropout:monthly:{school_id}:{month}:{person_id}", person_id, lane=REMINDERS,
                        text=_("📊 The school's monthly report on keeping children in school (控辍保学) is due: "
                               "absences, suspected and confirmed dropouts, children back at school, persuasion "
                               "attempts."),
                        actions=[[Action(_("📊 Monthly report"), DropoutExport("month"))]]))
                await self._outbox.post(conn, notices)
                sent += len(notices)
        return sent

    # -- the county education bureau's contact (the operator's command line) -------------------------------------

    async def set_county_contact(self, township: str, telegram_id: str, name: str) -> tuple[int, int]:
        """The person the bot tells of every suspected dropout of the township's schools: (township id, person id).
        The township must exist (its supervisor's invitation makes it): a typo must not make a second one."""
        at = stamp(self._clock.now())
        township_id = await self.repo.township_named(township)
        if township_id is None:
            raise UserError(N_("There is no township named {township}. Invite its supervisor first: python -m bot "
                               "invite --township {township}"), township=township)
        if not telegram_id.lstrip("-").isdigit():
            raise UserError(N_("The Telegram chat id is a number (the contact can learn it from @userinfobot)."))
        async with self._db.transaction() as conn:
            person_id = await self._people.within(conn).ensure_person(NewPerson("telegram", telegram_id, name, at))
            await self.repo.within(conn).set_county_contact(township_id, person_id, at)
            await self._audit.within(conn).record(AuditEntry(at, None, None, "county_contact",
                                                             f"township={township_id} person={person_id}"))
        return township_id, person_id

    # -- the cases, for their staff ---------------------------------------------------------------------------------

    async def cases(self, actor: Actor) -> list[CaseLine]:
        """The cases not closed of the children this person follows (admins, class teachers, supervisors, village
        directors)."""
        if actor.person_id is None or not actor.has_role(*STAFF):
            raise NotAllowed("dropout", STAFF_ONLY)
        lines = []
        for case in await self.repo.not_closed():
            child = await self._children.get(case.child_id)
            if child is None or not roles_for(actor.grants, child.place) & set(STAFF):
                continue
            lines.append(CaseLine(case.id, child.name, child.class_name, case.state, case.step,
                                  await self._days_absent(case), len(await self.repo.attempts(case.id))))
        return lines

    async def case(self, actor: Actor, case_id: int) -> CaseView:
        case, child, roles = await self._open_to(actor, case_id)
        await self._audit.record(AuditEntry(stamp(self._clock.now()), actor.person_id, child.id, "dropout_view",
                                            f"case={case.id}"))
        return await self._view(case, child, roles)

    async def record_attempt(self, actor: Actor, case_id: int, draft: AttemptDraft) -> CaseView:
        case, child, roles = await self._open_to(actor, case_id)
        if case.state not in ACTIVE:
            raise UserError(NOT_ACTIVE)
        if draft.method not in METHOD_LABELS or draft.attitude not in ATTITUDE_LABELS:
            raise UserError(N_("Choose the method and the parents' attitude with the buttons."))
        result, next_step = draft.result.strip(), draft.next_step.strip()
        if not result:
            raise UserError(N_("Write what came of it."))
        if len(result) > MAX_TEXT or len(next_step) > MAX_TEXT:
            raise UserError(N_("Each answer can be at most {limit} characters."), limit=MAX_TEXT)
        today = self._days.today()
        if draft.next_on is not None and draft.next_on < today:
            raise UserError(N_("The next step's date is in the past; give a day from today on."))
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            attempt = await self.repo.within(conn).add_attempt(NewAttempt(
                case.id, today.isoformat(), await self._name(actor.person_id), draft.method, draft.attitude, result,
                next_step, draft.next_on.isoformat() if draft.next_on else None, actor.person_id, at))
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "dropout_attempt",
                                                             f"case={case.id} attempt={attempt}"))
        log.info("dropout case %s: attempt %s recorded by person %s", case.id, attempt, actor.person_id)
        return await self._view(await self.repo.get(case.id), child, roles)

    async def mark_returned(self, actor: Actor, case_id: int) -> CaseView:
        """The child is back at school today: the ladder ends, the watch begins; whoever was told hears it."""
        case, child, roles = await self._open_to(actor, case_id)
        if case.state not in ACTIVE:
            raise UserError(NOT_ACTIVE)
        name = await self._name(actor.person_id)
        if not await self._returned(case, child, self._days.today(), actor.person_id, lambda _: name):
            raise UserError(NOT_ACTIVE)
        return await self._view(await self.repo.get(case.id), child, roles)

    async def _returned(self, case: Case, child: ChildRow, day: date, by: int | None, name) -> bool:
        """Back at school on `day` (pressed by `by`, or seen on the roll): the watch begins and whoever was told
        hears it; `name(_)` says who recorded it, in the reader's language. False if the case moved meanwhile."""
        watch = day + timedelta(days=self._settings.dropout_watch_days)
        at = stamp(self._clock.now())
        audience = await self._audience(child, case)
        told = list(audience[ADMIN])
        if case.step >= 2:
            told += audience[TEACHER] + audience[DIRECTOR]
        if case.step >= 3:
            told += audience[SUPERVISOR]
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).returned(case.id, day.isoformat(), watch.isoformat()):
                return False
            notices = []
            for person_id in dict.fromkeys(told):
                if person_id == by:
                    continue
                _, locale = await self._reader(person_id)
                notices.append(Notice(
                    f"dropout:{case.id}:returned:{day.isoformat()}:{person_id}", person_id, lane=INTERACTIVE,
                    child_id=child.id,
                    text=_("✅ {child} ({klass}) is back at school since {day} (recorded by {name}). The child is "
                           "watched for {n} days: a new absence without a reason reopens the case.").format(
                        child=child.name, klass=child.class_name, day=self._date(day, locale), name=name(_),
                        n=self._settings.dropout_watch_days)))
            if case.step >= 3:
                for person_id in audience["county"]:
                    _, locale = await self._reader(person_id)
                    notices.append(Notice(
                        f"dropout:{case.id}:returned:{day.isoformat()}:{person_id}", person_id, lane=INTERACTIVE,
                        needs_consent=False,
                        text=_("✅ Suspected dropout case #{case} at {school}: the child is back at school since "
                               "{day}.").format(case=case.id, school=await self._school_name(child.school_id),
                                                day=self._date(day, locale))))
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(at, by, child.id, "dropout_returned",
                                                             f"case={case.id} day={day.isoformat()}"))
        log.info("dropout case %s: back at school", case.id)
        return True

    async def _settle(self, case: Case, child: ChildRow, today: date) -> int:
        """A case whose streak has ended: the roll shows the child at school again (back at school, watched), or,
        before it was a suspected dropout, the absences were explained (closed: it was never a dropout)."""
        present = await self.repo.present_since(child.id, child.class_id, case.first_absent_on, today.isoformat())
        if present is not None:
            return int(await self._returned(case, child, date.fromisoformat(present), None,
                                            lambda _: _("the roll call")))
        if case.state == OPEN and await self.repo.settle(case.id, stamp(self._clock.now())):
            log.info("dropout case %s closed: the absences were explained", case.id)
        return 0

    # -- the papers -------------------------------------------------------------------------------------------------

    async def written_report(self, actor: Actor, case_id: int) -> tuple[bytes, bytes]:
        """辍学学生情况报告表 (.docx) and the same case as a ledger row (.xlsx), once persuasion has failed."""
        case, child, roles = await self._open_to(actor, case_id)
        if not roles & set(EXPORTERS):
            raise NotAllowed("dropout", N_("The school's admins and the township's supervisor make the written "
                                           "report."))
        attempts = await self.repo.attempts(case.id)
        if not self._report_due(case, attempts):
            raise UserError(N_("Persuasion is still under way: the written report is made after {n} recorded "
                               "attempts, or {days} days after the child became a suspected dropout."),
                            n=self._settings.persuasion_attempts_before_report,
                            days=self._settings.dropout_report_after_days)
        _ = translator(PAPER_LOCALE).gettext
        fields = await self._fields(actor, child)
        teachers = [g.person_id for g in await self._people.grants_in_school(child.school_id)
                    if g.role == TEACHER and g.class_id == child.class_id]
        township = await self._people.township(case.township_id) if case.township_id else None
        days = await self._days_absent(case)
        measures = [_("Followed up by the class teacher from {day}: a call, then a home visit.").format(
            day=_paper_day(case.first_absent_on))]
        if case.step >= 1:
            measures.append(_("The school's admins were told."))
        if case.step >= 2:
            measures.append(_("The village child director was asked for a joint home visit with the class teacher."))
        if case.suspected_on:
            measures.append(_("Registered as a suspected dropout on {day}; the township's child-welfare supervisor and "
                              "the county education bureau were told.").format(day=_paper_day(case.suspected_on)))
        if case.whereabouts_unknown:
            measures.append(_("Whereabouts unknown: the mandatory-report flow was offered."))
        measures.append(_("Persuasion attempts recorded: {n} (see the table above).").format(n=len(attempts)))
        report = WrittenReport(
            school=await self._school_name(child.school_id), klass=child.class_name, name=child.name,
            sex=_(SEX[fields["sex"]]) if fields.get("sex") in SEX else "", birth_date=fields.get("birth_date", ""),
            id_number=fields.get("id_number", ""), household="",
            address=fields.get("guardian_address", ""),
            guardian=Person(fields.get("guardian_name", ""), fields.get("guardian_phone", ""),
                            fields.get("guardian_relation", "")),
            father=Person(fields.get("father_name", ""), fields.get("father_phone", "")),
            mother=Person(fields.get("mother_name", ""), fields.get("mother_phone", "")),
            left_behind=True, first_absent_on=date.fromisoformat(case.first_absent_on), days=days,
            reason=UNKNOWN if case.whereabouts_unknown else "none",
            whereabouts=_("Unknown") if case.whereabouts_unknown else await self.repo.latest_note(
                child.id, case.first_absent_on),
            teacher=await self._names(teachers), township=township.name if township else "",
            made_on=self._days.today(), attempts=[_line(a) for a in attempts], measures=measures)
        docx = written_report_docx(report, _)
        row = await self._ledger_row(case, child, fields)
        xlsx = ledger_xlsx([row], _, _("Dropout ledger"))
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            await self.repo.within(conn).mark_reported(case.id, at)
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "dropout_report",
                                                             f"case={case.id} fields={len(fields)}"))
        log.info("dropout case %s: written report made by person %s", case.id, actor.person_id)
        return docx, xlsx

    async def monthly_report(self, actor: Actor) -> bytes:
        """The school's monthly report (控辍保学月报), this month to today: a summary sheet and one row per case."""
        schools = sorted({g.school_id for g in actor.grants if g.role == ADMIN and g.school_id is not None})
        if actor.person_id is None or not schools:
            raise NotAllowed("dropout", N_("The school's admins make the monthly report."))
        _ = translator(PAPER_LOCALE).gettext
        today = self._days.today()
        start = today.replace(day=1)
        first, last, end = start.isoformat(), today.isoformat(), stamp(self._clock.now())
        rows, counts = [], {}
        opened = suspected = confirmed = returned = attempts = 0
        for school_id in schools:
            for reason, n in (await self.repo.absence_counts(school_id, first, last)).items():
                counts[reason] = counts.get(reason, 0) + n
            for case in await self.repo.of_month(school_id, first, last, end):
                child = await self._children.get(case.child_id)
                if child is None:
                    continue
                rows.append(await self._ledger_row(case, child, await self._fields(actor, child)))
                opened += first <= case.first_absent_on <= last
                suspected += bool(case.suspected_on and case.suspected_on <= last)
                confirmed += bool(case.reported_at and case.state in ACTIVE)
                returned += bool(case.returned_on and first <= case.returned_on <= last)
                attempts += sum(first <= a.on_day <= last for a in await self.repo.attempts(case.id))
        summary = [(_(label), counts.get(reason, 0)) for reason, label in _REASONS.items()]
        summary += [(_("Cases opened this month"), opened), (_("Suspected dropouts"), suspected),
                    (_("Dropouts reported in writing, not back"), confirmed),
                    (_("Back at school this month"), returned), (_("Persuasion attempts this month"), attempts)]
        title = _("Monthly report on keeping children in school, {month}").format(month=today.strftime("%Y-%m"))
        data = monthly_xlsx(rows, summary, _, title)
        await self._audit_export(actor, "dropout_monthly", f"schools={','.join(map(str, schools))}", rows)
        return data

    async def township_ledger(self, actor: Actor) -> bytes:
        """The township's ledger of suspected dropouts and dropouts across its schools: one row per case."""
        townships = sorted(actor.townships(SUPERVISOR))
        if actor.person_id is None or not townships:
            raise NotAllowed("dropout", N_("The township's child-welfare supervisor keeps the township's ledger."))
        _ = translator(PAPER_LOCALE).gettext
        rows = []
        for township_id in townships:
            for case in await self.repo.suspected_in_township(township_id):
                child = await self._children.get(case.child_id)
                if child is not None:
                    rows.append(await self._ledger_row(case, child, await self._fields(actor, child)))
        data = ledger_xlsx(rows, _, _("Suspected dropouts and dropouts"))
        await self._audit_export(actor, "dropout_ledger", f"townships={','.join(map(str, townships))}", rows)
        return data

    async def _audit_export(self, actor: Actor, action: str, detail: str, rows: list[LedgerRow]) -> None:
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            audit = self._audit.within(conn)
            await audit.record(AuditEntry(at, actor.person_id, None, action, f"{detail} rows={len(rows)}"))
            for row in rows:
                case = await self.repo.within(conn).get(row.case_id)
                await audit.record(AuditEntry(at, actor.person_id, case.child_id, f"{action}_row", f"case={case.id}"))
        log.info("%s exported by person %s: %s rows", action, actor.person_id, len(rows))

    async def _ledger_row(self, case: Case, child: ChildRow, fields: dict[str, str]) -> LedgerRow:
        _ = translator(PAPER_LOCALE).gettext
        attempts = await self.repo.attempts(case.id)
        last = ""
        if attempts:
            a = attempts[-1]
            last = "{day} {method} · {attitude} · {result}".format(
                day=a.on_day, method=_(METHOD_LABELS[a.method]), attitude=_(ATTITUDE_LABELS[a.attitude]),
                result=a.result)
        township = await self._people.township(case.township_id) if case.township_id else None
        state = "reported" if case.reported_at and case.state in ACTIVE else case.state
        return LedgerRow(
            case.id, await self._school_name(child.school_id), child.class_name, child.name,
            _(SEX[fields["sex"]]) if fields.get("sex") in SEX else "", fields.get("birth_date", ""),
            date.fromisoformat(case.first_absent_on), await self._days_absent(case),
            UNKNOWN if case.whereabouts_unknown else "none", state, _as_day(case.suspected_on),
            _as_day(case.returned_on), len(attempts), last, _as_day(case.reported_at),
            _as_day(case.closed_at), township.name if township else "")

    async def _fields(self, actor: Actor, child: ChildRow) -> dict[str, str]:
        """The child's record as this person may export it (bot.access.policy): nothing before consent."""
        consented = await self._consent.consented(child.id)
        allowed = fields_allowed(actor.grants, child.place, EXPORT, consented=consented)
        return {k: v for k, v in (await self._children.fields(child.id)).items() if k in allowed}

    # -- who may see a case -----------------------------------------------------------------------------------------

    async def _open_to(self, actor: Actor, case_id: int) -> tuple[Case, ChildRow, set[str]]:
        """The case, its child and the actor's staff roles for the child; one refusal for a case that does not
        exist and one that is not theirs."""
        case = await self.repo.get(case_id) if actor.person_id is not None else None
        child = await self._children.get(case.child_id) if case else None
        roles = roles_for(actor.grants, child.place) & set(STAFF) if child else set()
        if not roles:
            raise NotAllowed("dropout", HIDDEN)
        return case, child, roles

    async def _view(self, case: Case, child: ChildRow, roles: set[str]) -> CaseView:
        attempts = await self.repo.attempts(case.id)
        return CaseView(case, child.name, child.class_name, await self._school_name(child.school_id),
                        await self._days_absent(case), attempts, self._report_due(case, attempts),
                        bool(roles & set(EXPORTERS)), case.state in ACTIVE)

    def _report_due(self, case: Case, attempts: list[Attempt]) -> bool:
        if case.reported_at:
            return True
        if len(attempts) >= self._settings.persuasion_attempts_before_report:
            return True
        return bool(case.suspected_on and self._days.today() - date.fromisoformat(case.suspected_on)
                    >= timedelta(days=self._settings.dropout_report_after_days))

    async def _days_absent(self, case: Case) -> int:
        """School days absent without a reason in this case (until the return, when the child came back)."""
        return await self.repo.unexplained_count(case.child_id, case.first_absent_on,
                                                 case.returned_on if case.state in (RETURNED, CLOSED) else None)

    # -- how it reads -----------------------------------------------------------------------------------------------

    async def _reader(self, person_id: int):
        locale = await self._preferences.locale_of(person_id)
        return translator(locale).gettext, locale

    @staticmethod
    def _date(day: date, locale: str) -> str:
        from babel.dates import format_date

        return format_date(day, "medium", locale=locale)

    async def _name(self, person_id: int | None) -> str:
        person = await self._people.person(person_id) if person_id is not None else None
        return person.display_name if person else "?"

    async def _names(self, person_ids: list[int]) -> str:
        return "、".join([await self._name(p) for p in person_ids]) or "—"

    async def _school_name(self, school_id: int) -> str:
        school = await self._people.school(school_id)
        return school.name if school else ""


def _line(a: Attempt) -> AttemptLine:
    return AttemptLine(date.fromisoformat(a.on_day), a.people, a.method, a.attitude, a.result, a.next_step,
                       _as_day(a.next_on))


def _as_day(value: str | None) -> date | None:
    """A stored day or moment as a date (a moment's UTC date is close enough for a ledger's column)."""
    return date.fromisoformat(value[:10]) if value else None


def _paper_day(value: str) -> str:
    day = date.fromisoformat(value[:10])
    return f"{day.year}年{day.month}月{day.day}日"

