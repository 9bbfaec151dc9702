"""Mandatory reporting (强制报告): when a child is found harmed or in danger, the bot never replaces the call to 110;
it makes sure the right people know, acknowledge and act, with every time recorded (SAFETY_API.md is the
contract with the handlers).

Decided here:
- A report reaches everyone of level 1 at once, in one transaction with the report: the school's admins, the
  child's class teacher, the township's supervisors and the village's child director (whoever of them exists;
  never the reporter). Safety lane, urgent, never held for quiet hours nor consent. Nobody approves or holds it.
- Escalation stops at the first acknowledgement by anyone: a case someone has in hand is not a case nobody
  acts on. Until then, a level not acknowledged within REPORT_RETELL_MINUTES is told again (once), and at
  REPORT_ESCALATE_MINUTES the township above the school is told (its supervisors and every school's admins,
  PeopleRepository.township_admins). A school under no township has no level above it.
- Acting on a case (its state, a note, the police feedback, closing) counts as that person's acknowledgement.
- A report is seen by its reporter, the people told and those a supervisor added, each only while they keep a
  role that brings them to it; anyone else, a forged id and a missing report get the same refusal.
- The child's family and proxy parent are never told (unless one of them reported, and then only what is theirs:
  their answers, the state, who acknowledged, the police feedback; not the handlers' notes).
- A notice names the child only to someone who reaches the child by their role; the township's admins of other
  schools read the school and the situation, and the child's name in the case (audited). The outbox withdraws a
  row about a child from anyone who no longer reaches it, and such rows go with an erased record.
- Times in notices and in the ledger are in the school's zone (TIMEZONE): the people told are the school's and
  the township's staff.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


from bot.access.people import Actor
from bot.access.policy import (ADMIN, DIRECTOR, FAMILY_ROLES, GUARDIAN, HANDLER_ROLES, PARENT, PROXY,
                               REPORTER_ROLES, ROLE_LABELS, SUPERVISOR, TEACHER, reaches, roles_for)
from bot.clock import Clock, stamp, unstamp
from bot.errors import AlreadyAcknowledged, NotAllowed, UserError
from bot.i18n import N_, format_datetime, translator
from bot.ledgers.workbook import Workbook
from bot.notices import SAFETY, Action, Notice, Outbox
from bot.preferences import PreferencesService
from bot.safety.buttons import Acknowledge, OpenCase
from bot.safety.situations import SITUATIONS, labels
from bot.settings import Settings
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.people import PeopleRepository
from storage.safety import (ACCEPTED, ADDED, CLOSE_REQUEST, CLOSED, CLOSED_EVENT, FEEDBACK, HELP, HELPING, NOTE,
                            REPORT, REPORTED, STATE, VISIT, Acked, CaseEvent, CaseLine, CaseRecipient, CaseView,
                            NewEvent, NewReport, Report, ReportDraft, SafetyRepository, Submitted, Told, moment)

__all__ = ["Acked", "CaseLine", "CaseView", "ReportDraft", "SafetyService", "Submitted"]

log = logging.getLogger(__name__)

KIND_LABELS = {REPORT: N_("Safety report"), HELP: N_("Request for help")}
STATE_LABELS = {REPORTED: N_("reported"), ACCEPTED: N_("police accepted the case"), HELPING: N_("help under way"),
                CLOSED: N_("closed")}
# What /reports shows as overdue on an open case.
NO_ACK, NO_POLICE, FEEDBACK_DUE = "no_ack", "no_police", "feedback_due"
OVERDUE_LABELS = {NO_ACK: N_("no acknowledgement"), NO_POLICE: N_("no police report"),
                  FEEDBACK_DUE: N_("police feedback due")}

# The law says "immediately": more than this between finding and the police report is flagged.
POLICE_WITHIN = timedelta(hours=1)
# The police tell the reporting unit within 3 days of accepting a case (2020 opinion).
FEEDBACK_AFTER = timedelta(hours=72)
# A found_at a little ahead of the server's clock is a phone's clock, not a mistake.
CLOCK_SKEW = timedelta(minutes=10)
MEDIA_KINDS = ("photo", "voice", "video")
MAX_MEDIA = 20
MAX_DESCRIPTION = 3000
MAX_SHORT = 200
MAX_NOTE = 2000
# States a case moves through by set_state, in order; closing has its own two steps.
ORDER = (REPORTED, ACCEPTED, HELPING)
LEVEL_ROLES = frozenset(HANDLER_ROLES)
# The role a person is named by, when they hold several for the child.
_ROLE_ORDER = (TEACHER, PROXY, ADMIN, SUPERVISOR, DIRECTOR, PARENT, GUARDIAN)

HIDDEN = N_("This report does not exist or is not open to you.")
HANDLERS_ONLY = N_("Only the people handling this case can do this.")
CLOSED_ALREADY = N_("This case is closed; nothing was changed.")

HANDLER, REPORTER = "handler", "reporter"


def _clean(text: str, limit: int, what: str) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise UserError(N_("{what} can be at most {limit} characters; this has {length}."), what=what, limit=limit,
                        length=len(text))
    return text


class SafetyService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository, outbox: Outbox,
                 preferences: PreferencesService, clock: Clock, settings: Settings) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._outbox = outbox
        self._preferences = preferences
        self._clock = clock
        self._zone = settings.timezone
        self._retell = timedelta(minutes=settings.report_retell_minutes)
        self._escalate = timedelta(minutes=settings.report_escalate_minutes)
        self.repo = SafetyRepository(db)
        self._audit = AuditRepository(db)

    # -- who may report -----------------------------------------------------------------------------------------

    async def reporting_children(self, actor: Actor) -> list[ChildRow]:
        """The children this person may report about (staff, proxy parents) or ask help for (family)."""
        if actor.person_id is None:
            return []
        return await self._children.reached_by(actor.grants, set(REPORTER_ROLES) | set(FAMILY_ROLES))

    async def may_report(self, actor: Actor) -> bool:
        return actor.known and actor.has_role(*REPORTER_ROLES, *FAMILY_ROLES)

    # -- the report ---------------------------------------------------------------------------------------------

    async def submit(self, actor: Actor, draft: ReportDraft) -> Submitted:
        child = await self._children.get(draft.child_id) if actor.person_id is not None else None
        roles = roles_for(actor.grants, child.place) if child else set()
        if child is None or not roles & (set(REPORTER_ROLES) | set(FAMILY_ROLES)):
            raise NotAllowed("safety")
        draft = self._checked(draft)
        now = self._clock.now()
        kind = REPORT if roles & set(REPORTER_ROLES) else HELP
        late = self._late(draft.found_at, draft.police_called_at, now)
        level1 = await self._level_one(child, actor.person_id)
        at = stamp(now)
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            report_id = await repo.create(NewReport(draft, kind, actor.person_id, child.school_id, child.township_id,
                                                    at, late))
            await repo.tell(report_id, level1, at)
            report = await repo.get(report_id)
            notices = await self._tellings(report, child, level1, "tell", lambda _: "")
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "safety_report",
                                                             f"report={report_id} kind={kind} told={len(level1)}"))
        log.info("safety report %s (%s) for child %s: %s told", report_id, kind, child.id, len(level1))
        return Submitted(report_id, kind, [await self._name(t.person_id) for t in level1], late)

    def _checked(self, draft: ReportDraft) -> ReportDraft:
        codes = tuple(dict.fromkeys(draft.situations))
        if not codes:
            raise UserError(N_("Choose at least one situation."))
        if any(code not in SITUATIONS for code in codes):
            raise UserError(N_("This situation is not on the list; nothing was changed."))
        now = self._clock.now()
        for when in (draft.found_at, draft.police_called_at):
            if when is None:
                continue
            if when.tzinfo is None:
                raise ValueError("ReportDraft times must be aware")
            if when > now + CLOCK_SKEW:
                raise UserError(N_("That time is in the future; please give the time it happened."))
        if len(draft.media) > MAX_MEDIA:
            raise UserError(N_("A report can hold at most {limit} photos and voice notes."), limit=MAX_MEDIA)
        if any(kind not in MEDIA_KINDS or not ref for kind, ref in draft.media):
            raise UserError(N_("Only photos, videos and voice notes can be added to a report."))
        return replace(
            draft, situations=codes,
            place=_clean(draft.place, MAX_SHORT, N_("Where it was found")),
            description=_clean(draft.description, MAX_DESCRIPTION, N_("What happened")),
            police_station=_clean(draft.police_station, MAX_SHORT, N_("The police station")),
            police_receipt=_clean(draft.police_receipt, MAX_SHORT, N_("The receipt or incident number")),
            not_yet_reason=_clean(draft.not_yet_reason, MAX_SHORT, N_("Why not yet")))

    @staticmethod
    def _late(found_at: datetime, police_called_at: datetime | None, now: datetime) -> bool:
        if police_called_at is not None:
            return police_called_at - found_at > POLICE_WITHIN
        return now - found_at > POLICE_WITHIN

    async def _level_one(self, child: ChildRow, reporter_id: int) -> list[Told]:
        """The school's admins, the class teacher, the township's supervisors and the village's child director."""
        told: dict[int, Told] = {}
        for grant in await self._people.grants_for_child(child.id, child.school_id, child.class_id):
            if grant.role in LEVEL_ROLES and grant.person_id != reporter_id and grant.person_id not in told:
                told[grant.person_id] = Told(grant.person_id, grant.role, 1)
        return list(told.values())

    # -- acknowledgement ----------------------------------------------------------------------------------------

    async def acknowledge(self, actor: Actor, report_id: int) -> Acked:
        report, child, standing = await self._open_to(actor, report_id)
        recipient = await self.repo.recipient(report.id, actor.person_id)
        if standing != HANDLER or recipient is None:
            raise NotAllowed("safety", N_("Only the people told about this report acknowledge it."))
        if recipient.acked_at is not None:
            raise AlreadyAcknowledged()
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            told = await self._ack(conn, report, child, actor.person_id, at)
            if told is None:
                raise AlreadyAcknowledged()
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "safety_ack",
                                                             f"report={report.id}"))
        log.info("safety report %s acknowledged by person %s", report.id, actor.person_id)
        return Acked(report.id, await self._name(actor.person_id), told)

    async def _ack(self, conn, report: Report, child: ChildRow, person_id: int, at: str) -> bool | None:
        """Record the acknowledgement and tell the reporter, inside the caller's transaction: whether the reporter
        was told, or None if this person had acknowledged already."""
        if not await self.repo.within(conn).acknowledge(report.id, person_id, at):
            return None
        if report.reporter_id == person_id:
            return False
        _, locale = await self._reader(report.reporter_id)
        role = await self._role_label(report.id, person_id, _)
        text = _("✅ {name} ({role}) received your report about {child} at {time}.").format(
            name=await self._name(person_id), role=role, child=child.name, time=self._when(unstamp(at), locale))
        notice = self._notice(f"safety:{report.id}:ack:{person_id}", report.reporter_id, text,
                              [[Action("📂 " + _("Open the case"), OpenCase(report.id))]], child.id)
        return bool(await self._outbox.post(conn, [notice]))

    async def _ack_if_told(self, conn, report: Report, child: ChildRow, person_id: int, at: str) -> None:
        """Acting on a case acknowledges it, for someone told who had not pressed ✅ yet."""
        recipient = await self.repo.within(conn).recipient(report.id, person_id)
        if recipient is not None and recipient.acked_at is None:
            await self._ack(conn, report, child, person_id, at)
            await self._audit.within(conn).record(AuditEntry(at, person_id, child.id, "safety_ack",
                                                             f"report={report.id} by=acting"))

    # -- escalation (the schedule job, every 30 s) --------------------------------------------------------------

    async def escalate(self, now: datetime | None = None) -> int:
        """Tell again, tell the level above, remind of missing police feedback: each once. Returns how many people
        were sent something."""
        now = now or self._clock.now()
        sent = 0
        for report in await self.repo.open_unacknowledged():
            child = await self._children.get(report.child_id)
            if child is None:
                continue
            since = unstamp(report.level_at)
            if report.retold_at is None and now - since >= self._retell:
                sent += await self._retell_level(report, child, now)
            if report.level == 1 and now - since >= self._escalate:
                sent += await self._next_level(report, child, now)
        for report in await self.repo.feedback_due(stamp(now - FEEDBACK_AFTER)):
            child = await self._children.get(report.child_id)
            if child is not None:
                sent += await self._remind_feedback(report, child, now)
        return sent

    async def _retell_level(self, report: Report, child: ChildRow, now: datetime) -> int:
        minutes = int((now - unstamp(report.level_at)).total_seconds() // 60)
        people = [r for r in await self.repo.recipients(report.id) if r.level == report.level]
        told = [Told(r.person_id, r.role, r.level) for r in people]
        at = stamp(now)
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).mark_retold(report.id, report.level, at):
                return 0
            notices = await self._tellings(
                report, child, told, f"retell{report.level}",
                lambda _: _("⏰ Nobody has acknowledged this report for {minutes} minutes. Please press ✅ "
                            "Received, and act on it.").format(minutes=minutes))
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(at, None, child.id, "safety_retell",
                                                             f"report={report.id} level={report.level}"))
        log.info("safety report %s: level %s told again (%s people)", report.id, report.level, len(notices))
        return len(notices)

    async def _next_level(self, report: Report, child: ChildRow, now: datetime) -> int:
        minutes = int((now - unstamp(report.level_at)).total_seconds() // 60)
        already = {r.person_id for r in await self.repo.recipients(report.id)} | {report.reporter_id}
        above: dict[int, Told] = {}
        if report.township_id is not None:
            for grant in await self._people.township_admins(report.township_id):
                if grant.person_id not in already and grant.person_id not in above:
                    above[grant.person_id] = Told(grant.person_id, grant.role, 2)
        told = list(above.values())
        at = stamp(now)
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            if not await repo.raise_level(report.id, 2, at):
                return 0
            await repo.tell(report.id, told, at)
            notices = await self._tellings(
                report, child, told, "tell",
                lambda _: _("⬆️ Nobody at the school acknowledged this report within {minutes} minutes, so the "
                            "township is told.").format(minutes=minutes))
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(at, None, child.id, "safety_escalate",
                                                             f"report={report.id} level=2 told={len(told)}"))
        log.info("safety report %s: escalated to the township (%s people)", report.id, len(told))
        return len(notices)

    async def _remind_feedback(self, report: Report, child: ChildRow, now: datetime) -> int:
        people = [report.reporter_id] + [g.person_id for g in await self._people.grants_in_school(report.school_id)
                                         if g.role == ADMIN]
        at = stamp(now)
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).mark_feedback_reminded(report.id, at):
                return 0
            notices = []
            for person_id in dict.fromkeys(people):
                _, locale = await self._reader(person_id)
                text = _("📮 The police accepted the case about {child} on {time}, and no feedback has been recorded "
                         "in 72 hours. The police should tell the reporting unit within 3 days: please ask them, and "
                         "record their answer in the case.").format(
                    child=child.name, time=self._when(unstamp(report.accepted_at), locale))
                notices.append(self._notice(f"safety:{report.id}:feedback:{person_id}", person_id, text,
                                            [[Action("📂 " + _("Open the case"), OpenCase(report.id))]], child.id))
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(at, None, child.id, "safety_feedback_reminder",
                                                             f"report={report.id}"))
        log.info("safety report %s: reminded to ask for police feedback", report.id)
        return len(notices)

    # -- the case -----------------------------------------------------------------------------------------------

    async def case(self, actor: Actor, report_id: int) -> CaseView:
        report, child, standing = await self._open_to(actor, report_id)
        await self._audit.record(AuditEntry(stamp(self._clock.now()), actor.person_id, child.id, "safety_view",
                                            f"report={report.id}"))
        return await self._view(actor, report, child, standing)

    async def open_cases(self, actor: Actor) -> list[CaseLine]:
        if actor.person_id is None:
            return []
        now = self._clock.now()
        lines = []
        for report in await self.repo.of_person(actor.person_id):
            child = await self._children.get(report.child_id)
            if child is None or await self._standing(actor, report, child) is None:
                continue
            recipients = await self.repo.recipients(report.id)
            lines.append(CaseLine(report.id, report.kind, child.name, report.situations, report.state,
                                  unstamp(report.reported_at), self._overdue(report, recipients, now),
                                  mine=report.reporter_id == actor.person_id,
                                  acked=any(r.acked_at for r in recipients if r.person_id == actor.person_id),
                                  close_requested=report.close_requested_by is not None))
        return lines

    async def set_state(self, actor: Actor, report_id: int, state: str, note: str) -> CaseView:
        report, child = await self._handled(actor, report_id)
        if state not in ORDER or ORDER.index(state) <= ORDER.index(report.state):
            raise UserError(N_("The case cannot go back to an earlier state, nor stay where it is; nothing was "
                               "changed."))
        note = _clean(note, MAX_NOTE, N_("The note"))
        if state == HELPING and not note:
            raise UserError(N_("Say which help is under way (temporary guardianship by civil affairs, school "
                               "measures, counselling, a warning to the guardians …)."))
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            if not await repo.set_state(report.id, report.state, state, at):
                raise UserError(N_("Someone changed this case a moment ago; please look again."))
            await repo.add_event(NewEvent(report.id, at, actor.person_id, STATE, state=state, note=note))
            await self._ack_if_told(conn, report, child, actor.person_id, at)
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "safety_state",
                                                             f"report={report.id} state={state}"))
        log.info("safety report %s: state %s by person %s", report.id, state, actor.person_id)
        return await self._after(actor, report.id, child)

    async def record_feedback(self, actor: Actor, report_id: int, note: str) -> CaseView:
        """What the police said about the case (the law obliges them to tell the reporting unit); the reporter is
        told it."""
        report, child = await self._handled(actor, report_id)
        note = _clean(note, MAX_NOTE, N_("The police feedback"))
        if not note:
            raise UserError(N_("Write what the police said."))
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            await repo.record_feedback(report.id, note, at)
            event = await repo.add_event(NewEvent(report.id, at, actor.person_id, FEEDBACK, note=note))
            await self._ack_if_told(conn, report, child, actor.person_id, at)
            if report.reporter_id != actor.person_id:
                _, _locale = await self._reader(report.reporter_id)
                text = _("📮 Police feedback on your report about {child}: {note}").format(child=child.name, note=note)
                await self._outbox.post(conn, [self._notice(
                    f"safety:{report.id}:feedback-told:{event}", report.reporter_id, text,
                    [[Action("📂 " + _("Open the case"), OpenCase(report.id))]], child.id)])
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "safety_feedback",
                                                             f"report={report.id}"))
        return await self._after(actor, report.id, child)

    async def add_note(self, actor: Actor, report_id: int, note: str, visit: bool = False,
                       visited_on: date | None = None, outcome: str = "") -> CaseView:
        report, child = await self._handled(actor, report_id)
        note = _clean(note, MAX_NOTE, N_("The note"))
        outcome = _clean(outcome, MAX_NOTE, N_("The outcome"))
        if not note and not outcome:
            raise UserError(N_("The note is empty; nothing was changed."))
        today = self._clock.now().astimezone(ZoneInfo(self._zone)).date()
        if visit:
            visited_on = visited_on or today
            if visited_on > today:
                raise UserError(N_("A visit is recorded once it has taken place."))
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            await self.repo.within(conn).add_event(NewEvent(report.id, at, actor.person_id, VISIT if visit else NOTE,
                                                            note=note, visited_on=visited_on if visit else None,
                                                            outcome=outcome))
            await self._ack_if_told(conn, report, child, actor.person_id, at)
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "safety_note",
                                                             f"report={report.id} visit={int(visit)}"))
        return await self._after(actor, report.id, child)

    async def request_close(self, actor: Actor, report_id: int, reason: str) -> CaseView:
        report, child = await self._handled(actor, report_id)
        reason = _clean(reason, MAX_NOTE, N_("The reason"))
        if not reason:
            raise UserError(N_("Closing a case needs a reason."))
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            if not await repo.request_close(report.id, actor.person_id, reason, at):
                raise UserError(CLOSED_ALREADY)
            event = await repo.add_event(NewEvent(report.id, at, actor.person_id, CLOSE_REQUEST, note=reason))
            await self._ack_if_told(conn, report, child, actor.person_id, at)
            notices = []
            name = await self._name(actor.person_id)
            for person_id in await self._handlers(report, child, exclude=actor.person_id):
                _, _locale = await self._reader(person_id)
                text = _("{name} asks to close the case about {child}: {reason}\nClosing needs a second person: open "
                         "the case to confirm.").format(name=name, child=child.name, reason=reason)
                notices.append(self._notice(f"safety:{report.id}:close-request:{event}:{person_id}", person_id, text,
                                            [[Action("📂 " + _("Open the case"), OpenCase(report.id))]], child.id))
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "safety_close_request",
                                                             f"report={report.id}"))
        return await self._after(actor, report.id, child)

    async def confirm_close(self, actor: Actor, report_id: int) -> CaseView:
        report, child = await self._handled(actor, report_id)
        if report.close_requested_by is None:
            raise UserError(N_("Nobody has asked to close this case; ask first, with a reason."))
        if report.close_requested_by == actor.person_id:
            raise UserError(N_("Closing needs a second person: someone else handling the case must confirm."))
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            if not await repo.close(report.id, report.close_requested_by, actor.person_id, at):
                raise UserError(N_("Someone changed this case a moment ago; please look again."))
            await repo.add_event(NewEvent(report.id, at, actor.person_id, CLOSED_EVENT, state=CLOSED,
                                          note=report.close_reason))
            notices = []
            handlers = await self._handlers(report, child, exclude=actor.person_id)
            if await self._handles(await self._people.grants(report.reporter_id), report, child):
                handlers.append(report.reporter_id)
            for person_id in [report.reporter_id] + handlers:
                if person_id == actor.person_id:
                    continue
                _, _locale = await self._reader(person_id)
                if person_id in handlers:
                    text = _("The case about {child} is closed: {reason}").format(child=child.name,
                                                                                  reason=report.close_reason)
                else:
                    # A reporter who does not handle the case reads that it is closed, not the handlers' reason (as
                    # in the case itself).
                    text = _("The case about {child} is closed.").format(child=child.name)
                notices.append(self._notice(f"safety:{report.id}:closed:{person_id}", person_id, text, (), child.id))
            await self._outbox.post(conn, list({n.key: n for n in notices}.values()))
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "safety_close",
                                                             f"report={report.id} requested_by="
                                                             f"{report.close_requested_by}"))
        log.info("safety report %s closed by person %s", report.id, actor.person_id)
        return await self._after(actor, report.id, child)

    async def add_person(self, actor: Actor, report_id: int, person_id: int) -> CaseView:
        """A township's supervisor brings someone into the case: a person with a staff role in the township."""
        report, child = await self._handled(actor, report_id)
        if report.township_id is None or report.township_id not in actor.townships(SUPERVISOR):
            raise NotAllowed("safety", N_("Only the township's child-welfare supervisor can add people to a case."))
        grants = await self._people.grants(person_id)
        if not await self._handles(grants, report, child):
            raise UserError(N_("Only staff of the township's schools and villages can be added to a case."))
        role = next((r for r in _ROLE_ORDER for g in grants if g.role == r), grants[0].role)
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            told = [Told(person_id, role, 0, actor.person_id)]
            if not await repo.tell(report.id, told, at):
                raise UserError(N_("This person already knows of the case."))
            await repo.add_event(NewEvent(report.id, at, actor.person_id, ADDED, note=str(person_id)))
            name = await self._name(actor.person_id)
            await self._outbox.post(conn, await self._tellings(
                report, child, told, "tell", lambda _: _("{name} added you to this case.").format(name=name)))
            await self._audit.within(conn).record(AuditEntry(at, actor.person_id, child.id, "safety_add_person",
                                                             f"report={report.id} person={person_id}"))
        return await self._after(actor, report.id, child)

    async def addable(self, actor: Actor, report_id: int) -> list[tuple[int, str, str]]:
        """Whom the township's supervisor may bring into the case: (person id, name, role) of the staff of the
        township's schools and villages and of the child's class who do not know of it yet."""
        report, child = await self._handled(actor, report_id)
        if report.township_id is None or report.township_id not in actor.townships(SUPERVISOR):
            raise NotAllowed("safety", N_("Only the township's child-welfare supervisor can add people to a case."))
        known = {r.person_id for r in await self.repo.recipients(report.id)} | {report.reporter_id}
        grants = (await self._people.township_admins(report.township_id)
                  + await self._people.grants_in_township(report.township_id)
                  + await self._people.grants_for_child(child.id, child.school_id, child.class_id))
        found: dict[int, str] = {}
        for grant in grants:
            if grant.role in LEVEL_ROLES and grant.person_id not in known and grant.person_id not in found:
                found[grant.person_id] = grant.role
        return [(person_id, await self._name(person_id), role) for person_id, role in found.items()]

    async def has_open_case(self, child_id: int) -> bool:
        return await self.repo.has_open(child_id)

    # -- the ledger ---------------------------------------------------------------------------------------------

    async def ledger(self, actor: Actor, locale: str = "zh_CN") -> bytes:
        """强制报告台账: one row per case of the actor's school (admins) or township (supervisors), as an .xlsx."""
        schools = sorted({g.school_id for g in actor.grants if g.role == ADMIN and g.school_id is not None})
        townships = sorted(actor.townships(SUPERVISOR))
        if actor.person_id is None or not (schools or townships):
            raise NotAllowed("safety", N_("Only school admins and township supervisors can export the ledger."))
        found = {r.id: r for r in await self.repo.in_schools(schools) + await self.repo.in_townships(townships)}
        reports = sorted(found.values(), key=lambda r: (r.reported_at, r.id))
        _ = translator(locale).gettext
        zone = ZoneInfo(self._zone)
        lines = []
        children: dict[int, ChildRow | None] = {}
        for report in reports:
            if report.child_id not in children:
                children[report.child_id] = await self._children.get(report.child_id)
            child = children[report.child_id]
            found_at = unstamp(report.found_at)
            police = moment(report.police_called_at)
            feedback = ""
            if report.feedback_at:
                feedback = f"{_local(report.feedback_at, zone):%Y-%m-%d %H:%M} {report.feedback_note}"
            situation = labels(report.situations, _)
            if report.kind == HELP:
                situation = f"{_(KIND_LABELS[HELP])}: {situation}"
            lines.append([
                _local(report.reported_at, zone).date(), child.name if child else "", situation,
                _local(report.found_at, zone), _local(report.police_called_at, zone),
                round((police - found_at).total_seconds() / 3600, 1) if police else None,
                feedback, _(STATE_LABELS[report.state]), _local(report.closed_at, zone)])
        # bot.ledgers.workbook: a name or a note typed as a formula stays text.
        book = Workbook()
        book.sheet(_("Mandatory reporting ledger"), [_(h) for h in LEDGER_HEADER], lines,
                   widths=(12, 12, 40, 17, 17, 10, 40, 16, 17))
        data = await book.render()
        at = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            audit = self._audit.within(conn)
            await audit.record(AuditEntry(at, actor.person_id, None, "safety_ledger",
                                          f"schools={','.join(map(str, schools))} "
                                          f"townships={','.join(map(str, townships))} rows={len(reports)}"))
            for report in reports:
                await audit.record(AuditEntry(at, actor.person_id, report.child_id, "safety_ledger_row",
                                              f"report={report.id}"))
        log.info("safety ledger exported by person %s: %s rows", actor.person_id, len(reports))
        return data

    # -- who may see a case -------------------------------------------------------------------------------------

    async def _open_to(self, actor: Actor, report_id: int) -> tuple[Report, ChildRow, str]:
        """The report, its child and how the actor stands to it; the same refusal for a report that does not
        exist and one that is not theirs."""
        report = await self.repo.get(report_id) if actor.person_id is not None else None
        child = await self._children.get(report.child_id) if report else None
        standing = await self._standing(actor, report, child) if child else None
        if standing is None:
            raise NotAllowed("safety", HIDDEN)
        return report, child, standing

    async def _handled(self, actor: Actor, report_id: int) -> tuple[Report, ChildRow]:
        """For changes: the case is open and the actor handles it."""
        report, child, standing = await self._open_to(actor, report_id)
        if standing != HANDLER:
            raise NotAllowed("safety", HANDLERS_ONLY)
        if report.state == CLOSED:
            raise UserError(CLOSED_ALREADY)
        return report, child

    async def _standing(self, actor: Actor, report: Report, child: ChildRow) -> str | None:
        """HANDLER: told or added (or the reporter, by a staff role), and still holding a role that brings them to
        the case; REPORTER: reported it and still reaches the child; else None."""
        if actor.person_id is None:
            return None
        told = await self.repo.recipient(report.id, actor.person_id) is not None
        reporter = actor.person_id == report.reporter_id
        if (told or reporter) and await self._handles(actor.grants, report, child):
            return HANDLER
        if reporter and roles_for(actor.grants, child.place):
            return REPORTER
        return None

    async def _handles(self, grants, report: Report, child: ChildRow) -> bool:
        """A staff role that reaches the child, or one in the report's township (its supervisors, its villages'
        directors, its schools' admins)."""
        township_schools: set[int] | None = None
        for grant in grants:
            if grant.role not in LEVEL_ROLES:
                continue
            if reaches(grant, child.place):
                return True
            if report.township_id is None:
                continue
            if grant.role in (SUPERVISOR, DIRECTOR) and grant.township_id == report.township_id:
                return True
            if grant.role == ADMIN:
                if township_schools is None:
                    township_schools = {s.id for s in await self._people.schools_in_township(report.township_id)}
                if grant.school_id in township_schools:
                    return True
        return False

    async def _handlers(self, report: Report, child: ChildRow, exclude: int | None = None) -> list[int]:
        """The people told or added who still handle the case."""
        found = []
        for recipient in await self.repo.recipients(report.id):
            if recipient.person_id != exclude and await self._handles(
                    await self._people.grants(recipient.person_id), report, child):
                found.append(recipient.person_id)
        return found

    # -- how it reads -------------------------------------------------------------------------------------------

    async def _after(self, actor: Actor, report_id: int, child: ChildRow) -> CaseView:
        """The case as it stands after a change (the change was audited; this is no new view)."""
        report = await self.repo.get(report_id)
        return await self._view(actor, report, child, HANDLER)

    async def _view(self, actor: Actor, report: Report, child: ChildRow, standing: str) -> CaseView:
        handler = standing == HANDLER
        now = self._clock.now()
        recipients = await self.repo.recipients(report.id)
        shown = []
        for r in recipients:
            shown.append(CaseRecipient(r.person_id, await self._name(r.person_id), r.role, r.level, unstamp(r.told_at),
                                       moment(r.retold_at), moment(r.acked_at)))
        events = []
        for e in await self.repo.events(report.id):
            if not handler and e.kind not in (STATE, FEEDBACK, CLOSED_EVENT):
                continue
            note = e.note if handler or e.kind == FEEDBACK else ""
            if e.kind == ADDED:
                note = await self._name(int(e.note)) if e.note.isdigit() else ""
            events.append(CaseEvent(unstamp(e.at), await self._name(e.person_id), e.kind, e.state, note,
                                    e.visited_on, e.outcome if handler else ""))
        mine = report.reporter_id == actor.person_id
        return CaseView(
            report.id, report.kind, child.id, child.name, child.class_name, report.situations, report.danger_now,
            unstamp(report.found_at), report.place, report.description, report.media, moment(report.police_called_at),
            report.police_station, report.police_receipt, report.not_yet_reason, report.late_police,
            unstamp(report.reported_at), report.state, moment(report.accepted_at), moment(report.feedback_at),
            report.feedback_note, await self._name(report.reporter_id) if handler or mine else None, shown, events,
            self._overdue(report, recipients, now),
            await self._name(report.close_requested_by) if report.close_requested_by and handler else None,
            report.close_reason if handler else "", moment(report.closed_at), handler, mine, report.level)

    def _overdue(self, report: Report, recipients, now: datetime) -> tuple[str, ...]:
        if report.state == CLOSED:
            return ()
        found = []
        if not any(r.acked_at for r in recipients) and now - unstamp(report.reported_at) >= self._retell:
            found.append(NO_ACK)
        if report.police_called_at is None and report.state == REPORTED and \
                now - unstamp(report.found_at) > POLICE_WITHIN:
            found.append(NO_POLICE)
        if report.accepted_at and not report.feedback_at and now - unstamp(report.accepted_at) >= FEEDBACK_AFTER:
            found.append(FEEDBACK_DUE)
        return tuple(found)

    async def _tellings(self, report: Report, child: ChildRow, told: list[Told], step: str, header) -> list[Notice]:
        """The report as each of these people is to read it, with ✅ Received and 📂 Open the case. `header(_)` is a
        line put above it (why they are told now)."""
        reach = {g.person_id for g in await self._people.grants_for_child(child.id, child.school_id, child.class_id)}
        school = await self._people.school(report.school_id)
        reporter = await self._name(report.reporter_id)
        notices = []
        for person in told:
            _, locale = await self._reader(person.person_id)
            named = person.person_id in reach
            text = self._report_text(report, child if named else None, school.name if school else "", reporter,
                                     await self._role_of(report.reporter_id, child, _), _, locale)
            top = header(_)
            notices.append(self._notice(
                f"safety:{report.id}:{step}:{person.person_id}", person.person_id,
                f"{top}\n\n{text}" if top else text,
                [[Action("✅ " + _("Received"), Acknowledge(report.id)),
                  Action("📂 " + _("Open the case"), OpenCase(report.id))]],
                child.id if named else None))
        return notices

    def _report_text(self, report: Report, child: ChildRow | None, school: str, reporter: str, role: str, _,
                     locale: str) -> str:
        """The report as a notice. Without `child` (a reader who does not reach the child) it names the school and
        the situation only; the case shows the rest."""
        if child is not None:
            title = _("🆘 {kind}: {child} ({klass}, {school})").format(
                kind=_(KIND_LABELS[report.kind]), child=child.name, klass=child.class_name, school=school)
        else:
            title = _("🆘 {kind} at {school}").format(kind=_(KIND_LABELS[report.kind]), school=school)
        lines = [title, _("Situation: {situations}").format(situations=labels(report.situations, _))]
        if report.danger_now:
            lines.append(_("⚠️ The child is in danger now."))
        found = self._when(unstamp(report.found_at), locale)
        if child is not None and report.place:
            lines.append(_("Found: {time}, {place}").format(time=found, place=report.place))
        else:
            lines.append(_("Found: {time}").format(time=found))
        if child is not None and report.description:
            lines.append(_("What happened: {text}").format(text=report.description))
        if report.police_called_at:
            police = _("Police: called at {time}").format(time=self._when(unstamp(report.police_called_at), locale))
            details = [d for d in (report.police_station, report.police_receipt) if d]
            lines.append(police + (_(", ") + _(", ").join(details) if details else ""))
        elif report.not_yet_reason:
            lines.append(_("Police: not called yet ({reason})").format(reason=report.not_yet_reason))
        else:
            lines.append(_("Police: not called yet"))
        if report.late_police:
            lines.append(_("⏱ More than an hour between finding and the police report."))
        if child is not None and report.media:
            lines.append(_("Photos and voice notes: {count} (in the case)").format(count=len(report.media)))
        lines.append(_("Reported by {name} ({role}) at {time}.").format(
            name=reporter, role=role, time=self._when(unstamp(report.reported_at), locale)))
        lines.append(_("Press ✅ Received so the reporter knows it reached you. Nobody approves or holds a report: "
                       "act on it, and call 110 if the child is in danger."))
        return "\n".join(lines)

    @staticmethod
    def _notice(key: str, person_id: int, text: str, actions, child_id: int | None) -> Notice:
        # Safety lane, urgent: never held for quiet hours or waiting behind bulk. Not saved or forwarded (the law
        # keeps a child's identity in a case confidential). Never waiting for consent.
        return Notice(key, person_id, text=text, actions=actions, protect=True, urgent=True, lane=SAFETY,
                      child_id=child_id, needs_consent=False)

    async def _reader(self, person_id: int):
        locale = await self._preferences.locale_of(person_id)
        return translator(locale).gettext, locale

    def _when(self, moment_: datetime, locale: str) -> str:
        return format_datetime(moment_, locale, self._zone, "short")

    async def _name(self, person_id: int | None) -> str:
        person = await self._people.person(person_id) if person_id is not None else None
        return person.display_name if person else "?"

    async def _role_of(self, person_id: int, child: ChildRow, _) -> str:
        roles = {g.role for g in await self._people.grants(person_id) if reaches(g, child.place)}
        role = next((r for r in _ROLE_ORDER if r in roles), None)
        return _(ROLE_LABELS[role]) if role else "?"

    async def _role_label(self, report_id: int, person_id: int, _) -> str:
        recipient = await self.repo.recipient(report_id, person_id)
        return _(ROLE_LABELS[recipient.role]) if recipient and recipient.role in ROLE_LABELS else "?"


# 强制报告台账's columns, in order.
LEDGER_HEADER = (N_("Date"), N_("Child"), N_("Situation"), N_("Found at"), N_("Police called at"),
                 N_("Finding to police (hours)"), N_("Police feedback"), N_("State"), N_("Closed at"))


def _local(stored: str | None, zone: ZoneInfo) -> datetime | None:
    """A stored moment as the school's wall-clock time (a spreadsheet has no time zones)."""
    return unstamp(stored).astimezone(zone).replace(tzinfo=None) if stored else None
