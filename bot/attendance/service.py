"""The daily roll call (点名) and the same-day follow-up of an unexplained absence (控辍保学).

The class teacher (or an admin of the school) opens the class's roll of today: the children as buttons, one tap
marks a child absent (✖) or present again. A child marked absent has the reason "no reason" until the teacher taps
another (sick leave, personal leave, whereabouts unknown), so a roll of 40 with 3 absences is 3 taps, at most one
page turn and "✔ 完成"; the whole class present is "✅ 全班都到了", one tap. Why "no reason" is the default: an
absence nobody explained must be followed up the same day, so the safe default is the one that asks; a teacher who
knows the reason spends one tap on it.

What is marked is a draft (`RollDraft`, kept by the Telegram layer in the person's durable dialogue) until it is
saved: the dropout ladder (bot.attendance.dropouts) reads the absences, and must not count a child the teacher is
still tapping. Saving applies what the draft changed since it began (`base`): a correction the same day (a late
child marked present deletes the absence) and a second teacher's save meet in one row per child and day.

On saving, for each newly unexplained absence, in the same transaction: the child's parents and guardians are
asked why (interactive lane, buttons for the common answers and "other", answered by voice or text), and each class
teacher of the child gets a follow-up task (care_followups 'absence', shown in /calendar): call the family within
the hour, a home visit the same day if it stays unexplained. The first answer of the family fills the reason (an
"other" answer keeps the school's) and reaches the class teachers at once; an explained absence closes the task.

A teacher who has not taken the roll of a school day by ROLL_REMINDER_TIME (the school's zone) is reminded once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.access.consent import who_said
from bot.access.people import Actor, class_run_by, classes_run_by
from bot.access.policy import FAMILY_ROLES, TEACHER
from bot.attendance.buttons import (ANSWER_LABELS, ANSWER_WORDS, ANSWERS, OTHER, REASON_LABELS, REASONS, UNEXPLAINED,
                                    FamilyAnswer, RollButton)
from bot.attendance.schooldays import SchoolDays
from bot.clock import Clock, stamp
from bot.errors import NotAllowed, StaleButton, UserError
from bot.i18n import N_, translator
from bot.notices import INTERACTIVE, REMINDERS, Action, Media, Notice, Outbox
from bot.preferences import PreferencesService
from bot.settings import Settings
from storage.attendance import Absence, AttendanceRepository
from storage.audit import AuditEntry, AuditRepository
from storage.calendar import CalendarRepository
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.people import PeopleRepository, SchoolClass

log = logging.getLogger(__name__)

MAX_NOTE = 500  # the family's own words on "other": a sentence or two


class NotSchoolDay(UserError):
    msgid = N_("Today is not a school day at your school (a weekend, a holiday, or outside term): there is no roll "
               "to take. Nothing was recorded.")


class AnotherDay(UserError):
    msgid = N_("That roll was for another day; nothing was changed. Send /attendance for today's.")
    quiet = True


class EmptyClass(UserError):
    msgid = N_("{klass} has no children on its roster yet: add them with /import or /newchild.")


class AlreadySaved(UserError):
    msgid = N_("This roll was saved already. Send /attendance to correct it.")
    quiet = True


class QuestionClosed(UserError):
    """The absence is gone (the child came after all) or of another day: nothing more is asked."""

    msgid = N_("This question is closed; nothing more is needed. Thank you!")


class AlreadyAnswered(UserError):
    msgid = N_("{who} has already answered: {answer}. Thank you!")


class EmptyAnswer(UserError):
    msgid = N_("Please tell us why in a text or a voice note.")


def day_key(day: date) -> str:
    """A day as buttons carry it: "20260302"."""
    return day.strftime("%Y%m%d")


@dataclass
class RollDraft:
    """The roll being taken: who is marked absent and why, and the record as it was when the draft began."""

    class_id: int
    day: date
    marks: dict[int, str] = field(default_factory=dict)
    base: dict[int, str] = field(default_factory=dict)

    def as_state(self) -> dict:
        return {"class": self.class_id, "day": self.day.isoformat(),
                "marks": {str(k): v for k, v in self.marks.items()},
                "base": {str(k): v for k, v in self.base.items()}}

    @classmethod
    def from_state(cls, state: dict) -> RollDraft:
        return cls(int(state["class"]), date.fromisoformat(state["day"]),
                   {int(k): v for k, v in state.get("marks", {}).items() if v in REASONS},
                   {int(k): v for k, v in state.get("base", {}).items() if v in REASONS})

    def changes(self) -> dict[int, str | None]:
        """What saving would change: child → the new reason, or None (present after all)."""
        return {child: self.marks.get(child) for child in sorted(set(self.marks) | set(self.base))
                if self.marks.get(child) != self.base.get(child)}


@dataclass(frozen=True)
class RollView:
    klass: SchoolClass
    day: date
    children: list[ChildRow]
    draft: RollDraft
    taken: bool                      # saved before today: the draft is a correction

    def page_of(self, child_id: int, size: int) -> int:
        ids = [c.id for c in self.children]
        return ids.index(child_id) // size if child_id in ids else 0

    @property
    def absent(self) -> list[ChildRow]:
        return [c for c in self.children if c.id in self.draft.marks]


@dataclass(frozen=True)
class Saved:
    klass: SchoolClass
    day: date
    absent: list[tuple[ChildRow, Absence]]   # the day's absences after the save, in roster order
    asked: int                               # family members asked why
    corrected: bool                          # a correction of a roll taken before


@dataclass(frozen=True)
class Answered:
    child_name: str
    answer: str


class AttendanceService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository, outbox: Outbox,
                 preferences: PreferencesService, schooldays: SchoolDays, clock: Clock, settings: Settings) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._outbox = outbox
        self._preferences = preferences
        self._schooldays = schooldays
        self._clock = clock
        hours, minutes = settings.roll_reminder_time.split(":")
        self.reminder_time = time(int(hours), int(minutes))
        self._zone = ZoneInfo(settings.timezone)
        self.repo = AttendanceRepository(db)
        self._audit = AuditRepository(db)
        self._followups = CalendarRepository(db)

    # -- whose roll ---------------------------------------------------------------------------------------

    async def classes(self, actor: Actor) -> list[SchoolClass]:
        """The classes whose roll this person takes (bot.access.people.classes_run_by)."""
        return await classes_run_by(self._people, actor)

    async def _class(self, actor: Actor, class_id: int) -> SchoolClass:
        return await class_run_by(self._people, actor, class_id, NotAllowed("attendance", N_("You cannot take the roll of this class.")))

    def today(self) -> date:
        return self._schooldays.today()

    async def _open(self, actor: Actor, class_id: int, day: date) -> tuple[SchoolClass, list[ChildRow]]:
        """The class and its children, if this person takes its roll and `day` is today and a school day."""
        klass = await self._class(actor, class_id)
        if day != self.today():
            raise AnotherDay()
        if not await self._schooldays.is_school_day(klass.school_id, day):
            raise NotSchoolDay()
        kids = await self._children.in_class(klass.id)
        if not kids:
            raise EmptyClass(klass=klass.name)
        return klass, kids

    async def start(self, actor: Actor, class_id: int, day: date | None = None) -> RollView:
        """Today's roll of the class as recorded, as a new draft."""
        day = day or self.today()
        klass, kids = await self._open(actor, class_id, day)
        recorded = {a.child_id: a.reason for a in await self.repo.absences(klass.id, day.isoformat())}
        roll = await self.repo.roll(klass.id, day.isoformat())
        draft = RollDraft(klass.id, day, dict(recorded), dict(recorded))
        return RollView(klass, day, kids, draft, roll is not None and roll.taken_at is not None)

    async def view(self, actor: Actor, draft: RollDraft) -> RollView:
        klass, kids = await self._open(actor, draft.class_id, draft.day)
        roll = await self.repo.roll(klass.id, draft.day.isoformat())
        ids = {k.id for k in kids}
        kept = RollDraft(draft.class_id, draft.day, {c: r for c, r in draft.marks.items() if c in ids},
                         dict(draft.base))
        return RollView(klass, draft.day, kids, kept, roll is not None and roll.taken_at is not None)

    async def toggle(self, actor: Actor, draft: RollDraft, child_id: int) -> RollView:
        """Mark the child absent (no reason yet), or present again."""
        view = await self.view(actor, draft)
        if child_id not in {k.id for k in view.children}:
            raise NotAllowed("child")
        marks = dict(view.draft.marks)
        if marks.pop(child_id, None) is None:
            marks[child_id] = draft.base.get(child_id) or UNEXPLAINED[0]
        return replace(view, draft=replace(view.draft, marks=marks))

    async def set_reason(self, actor: Actor, draft: RollDraft, child_id: int, reason: str) -> RollView:
        view = await self.view(actor, draft)
        if child_id not in {k.id for k in view.children}:
            raise NotAllowed("child")
        if child_id not in view.draft.marks or reason not in REASONS:
            raise StaleButton()
        return replace(view, draft=replace(view.draft, marks={**view.draft.marks, child_id: reason}))

    # -- saving -------------------------------------------------------------------------------------------

    async def save(self, actor: Actor, draft: RollDraft) -> Saved:
        """Apply what the draft changed, mark the roll taken, and in the same transaction ask the families of the
        newly unexplained absences and give the class teachers their follow-up tasks."""
        view = await self.view(actor, draft)
        klass, day, kids = view.klass, view.day.isoformat(), {k.id: k for k in view.children}
        now = stamp(self._clock.now())
        asked = 0
        async with self._db.transaction() as conn:
            repo, audit = self.repo.within(conn), self._audit.within(conn)
            corrected = not await repo.taken(klass.id, day, actor.person_id, now)
            notices: list[Notice] = []
            for child_id, reason in view.draft.changes().items():
                child = kids.get(child_id)
                if child is None:
                    continue
                before = await repo.absence_of(child_id, day)
                if reason is None:
                    if before is not None:
                        await repo.unmark(child_id, day)
                        await repo.close_followups(child_id, now)
                        await audit.record(AuditEntry(now, actor.person_id, child_id, "absence_removed",
                                                      f"absence={before.id}"))
                    continue
                absence = await repo.mark(child_id, klass.id, day, reason, actor.person_id, now)
                await audit.record(AuditEntry(now, actor.person_id, child_id, "absence_marked",
                                              f"absence={absence.id} reason={reason}"))
                if reason not in UNEXPLAINED:
                    await repo.close_followups(child_id, now)
                elif before is None or before.reason not in UNEXPLAINED:
                    family = await self._ask_family(child, absence)
                    asked += len(family)
                    notices += family + await self._followup(conn, actor, child, absence, now)
            await self._outbox.post(conn, notices)
            final = await repo.absences(klass.id, day)
        by_child = {a.child_id: a for a in final}
        absent = [(kids[c], by_child[c]) for c in kids if c in by_child]
        log.info("roll of class %s on %s saved by person %s: %s absent, %s family members asked", klass.id, day,
                 actor.person_id, len(absent), asked)
        return Saved(klass, view.day, absent, asked, corrected)

    async def _family(self, child: ChildRow) -> list:
        grants = await self._people.grants_for_child(child.id, child.school_id, child.class_id)
        seen, found = set(), []
        for grant in grants:
            if grant.role in FAMILY_ROLES and grant.child_id == child.id and grant.person_id not in seen:
                seen.add(grant.person_id)
                found.append(grant)
        return found

    async def _teachers(self, child: ChildRow) -> list[int]:
        grants = await self._people.grants_for_child(child.id, child.school_id, child.class_id)
        return list(dict.fromkeys(g.person_id for g in grants if g.role == TEACHER and g.class_id == child.class_id))

    async def _ask_family(self, child: ChildRow, absence: Absence) -> list[Notice]:
        """"小明今天没有到校，请问是什么原因？" to each parent and guardian, with big buttons, one a row."""
        notices = []
        for grant in await self._family(child):
            _ = translator(await self._preferences.locale_of(grant.person_id)).gettext
            text = (_("{child} did not come to school today. Could you tell us why?").format(child=child.name)
                    + "\n" + _("Press a button, or press “Other” and tell us by voice or text. The class teacher "
                               "sees your answer at once."))
            actions = [[Action(_(ANSWER_LABELS[a]), FamilyAnswer(absence.id, a))] for a in ANSWERS]
            notices.append(Notice(f"absq:{absence.id}:{grant.person_id}", grant.person_id, text=text,
                                  actions=actions, child_id=child.id, lane=INTERACTIVE))
        return notices

    async def _followup(self, conn, actor: Actor, child: ChildRow, absence: Absence, now: str) -> list[Notice]:
        """Each class teacher's task, and a word to those who did not mark the absence themselves."""
        from bot.calendar import ABSENCE_FOLLOWUP, FOLLOWUP_DONE, FollowupDone  # the calendar imports the services' modules

        followups = self._followups.within(conn)
        notices = []
        for person_id in await self._teachers(child):
            task = await followups.add_followup(child.id, person_id, ABSENCE_FOLLOWUP, now)
            if person_id == actor.person_id:
                continue  # they see it in the answer to their save, and in /calendar
            _ = translator(await self._preferences.locale_of(person_id)).gettext
            text = _("📋 {child} is absent today: {reason}. The family has been asked why.").format(
                child=child.name, reason=_(REASON_LABELS[absence.reason])) + "\n" + _(FOLLOWUP_TASK)
            notices.append(Notice(f"absence-task:{absence.id}:{person_id}", person_id, text=text,
                                  actions=[[Action(_(FOLLOWUP_DONE), FollowupDone(task))]], child_id=child.id,
                                  needs_consent=False))
        return notices

    # -- the family's answer ------------------------------------------------------------------------------

    async def open_questions(self, actor: Actor) -> list[tuple[Absence, ChildRow]]:
        """Today's questions to this parent or guardian still unanswered: what they send outside a conversation
        may be their answer (the relay's offer shows it as a choice, never takes it silently)."""
        found = []
        today = self.today().isoformat()
        for child_id in sorted({g.child_id for g in actor.grants if g.role in FAMILY_ROLES and g.child_id}):
            absence = await self.repo.absence_of(child_id, today)
            if absence is None or absence.family_at is not None or absence.reason not in UNEXPLAINED:
                continue
            child = await self._children.get(child_id)
            if child is not None:
                found.append((absence, child))
        return found

    async def question(self, actor: Actor, absence_id: int) -> tuple[Absence, ChildRow]:
        """The absence a family member is asked about, while it is open; anything else says so and discloses
        nothing of other children."""
        absence = await self.repo.absence(absence_id)
        if absence is None or actor.person_id is None:
            raise QuestionClosed()
        child = await self._children.get(absence.child_id)
        if child is None or not any(g.role in FAMILY_ROLES and g.child_id == child.id for g in actor.grants):
            raise StaleButton()
        if absence.day != self.today().isoformat():
            raise QuestionClosed()
        if absence.family_at is not None:
            _ = translator(await self._preferences.locale_of(actor.person_id)).gettext
            grant = next((g for g in await self._family(child) if g.person_id == absence.family_by), None)
            raise AlreadyAnswered(who=who_said(_, child.name, grant),
                                  answer=_(ANSWER_WORDS[absence.family_reason or OTHER]))
        return absence, child

    async def answer(self, actor: Actor, absence_id: int, answer: str, *, note: str = "",
                     voice: str | None = None) -> Answered:
        """The first answer of the family fills the reason ('other' keeps the school's) and reaches the class
        teachers (and whoever marked the absence) at once."""
        if answer not in ANSWERS:
            raise StaleButton()
        absence, child = await self.question(actor, absence_id)
        note = note.strip()[:MAX_NOTE]
        if answer == OTHER and not note and not voice:
            raise EmptyAnswer()
        reason = absence.reason if answer == OTHER else answer
        now = stamp(self._clock.now())
        grant = next((g for g in await self._family(child) if g.person_id == actor.person_id), None)
        whom = list(dict.fromkeys([*await self._teachers(child), *([absence.marked_by] if absence.marked_by else [])]))
        notices = []
        for person_id in whom:
            _ = translator(await self._preferences.locale_of(person_id)).gettext
            text = _("📋 {who} answered about today's absence: {answer}.").format(
                who=who_said(_, child.name, grant), answer=_(ANSWER_WORDS[answer]))
            if note:
                text += "\n" + _("In their words: “{note}”").format(note=note)
            if reason in UNEXPLAINED:
                text += "\n" + _("Still unexplained: call the family; a home visit today if need be.")
            notices.append(Notice(f"absence-answer:{absence.id}:{person_id}", person_id, text=text,
                                  media=[Media("voice", voice)] if voice else [], caption=bool(voice),
                                  child_id=child.id, needs_consent=False))
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            first = await repo.family_answer(absence.id, answer, reason, note, actor.person_id, now)
            if not first:
                notices = []
            elif reason not in UNEXPLAINED:
                await repo.close_followups(child.id, now)
            if first:
                await self._audit.within(conn).record(AuditEntry(
                    now, actor.person_id, child.id, "absence_answered",
                    f"absence={absence.id} answer={answer}" + (" voice" if voice else "")))
            await self._outbox.post(conn, notices)
        if not first:
            await self.question(actor, absence_id)  # another member of the family answered in the meantime
            raise QuestionClosed()
        log.info("absence %s answered by person %s (%s)", absence.id, actor.person_id, answer)
        return Answered(child.name, answer)

    # -- the reminder -------------------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Once a school day, after the reminder time: the class teachers of every class whose roll is not taken
        are reminded, once, with a button that opens it. Returns how many reminders were written."""
        now = self._clock.now()
        day = self.today()
        local = now.astimezone(self._zone)
        if local.time() < self.reminder_time or local >= _end_of(day, local):
            return 0  # before the reminder time, or the school day is over: a reminder then only misleads
        school_days: dict[int, bool] = {}
        written = 0
        for due in await self.repo.untaken(day.isoformat()):
            if due.school_id not in school_days:
                school_days[due.school_id] = await self._schooldays.is_school_day(due.school_id, day)
            if not school_days[due.school_id]:
                continue
            notices = []
            for person_id in await self.repo.teachers(due.class_id):
                _ = translator(await self._preferences.locale_of(person_id)).gettext
                notices.append(Notice(
                    f"roll-remind:{due.class_id}:{day.isoformat()}:{person_id}", person_id,
                    text=_("⏰ The roll of {klass} has not been taken today.").format(klass=due.class_name),
                    actions=[[Action(_("📋 Take the roll"), RollButton("o", due.class_id, day_key(day)))]],
                    lane=REMINDERS, due_by=_end_of(day, local)))
            async with self._db.transaction() as conn:
                if await self.repo.within(conn).reminded(due.class_id, day.isoformat(), stamp(now)):
                    written += len(await self._outbox.post(conn, notices))
        return written


def _end_of(day: date, local: datetime) -> datetime:
    """The end of the school day the reminder is for (its lane serves the soonest first)."""
    return datetime.combine(day, time(18, 0), tzinfo=local.tzinfo)


FOLLOWUP_TASK = N_("Please call the family within the hour; if the absence is still unexplained, a home visit "
                   "today. The task is in /calendar.")
