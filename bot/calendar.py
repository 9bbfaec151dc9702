"""The teachers' care calendar: recurring tasks a school admin sets for the school (monthly talks, a parent meeting
each semester, March: update the records), reminded to the people responsible with a button to mark them done;
and once a week, a digest of what the five musts (bot.musts.tracker) still want, with buttons that open the forms.
Beside them, tasks for one person about one child (`care_followups`): when a family says no to the data rules, the
class teacher is asked to talk with them (bot.access.consent writes the task with the word of the "no"), and it
stays in their /calendar until they press its button.

The database is the schedule (storage.calendar): every task row holds its next reminder time. `run_due`, called
every 30 seconds, takes each task that is due and, in one transaction, records the occurrence, writes each
person's reminder and its outbox row, and moves the task on. Next times come from APScheduler's CronTrigger in the
school's zone, never from hand-written calendar arithmetic. Reminders are not urgent: the outbox holds them
through the recipient's quiet hours.

Decided here:
- Days are 1–28 only: CronTrigger skips a month without the day, so "every 31st" would say nothing in April.
- After downtime a task's occurrence is still sent up to TASK_SHELF_LIFE (7 days) late, the digest up to
  DIGEST_SHELF_LIFE (2 days); older ones are recorded as skipped, not sent. Occurrences are weeks apart, so at
  most one is ever sent per run.
- A restart never sends twice: the task moves on in the transaction that writes its reminders, only if nobody
  moved it first, and occurrences, reminders and outbox rows are each unique.
- A reminder goes to whoever holds the role when it comes due; a role that has ended is not reminded and its
  Done button no longer works. A reminder superseded by the task's next occurrence is history, not a chore.
Knows nothing of Telegram: reminders are notices (bot.notices), their buttons the payloads declared here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from babel import Locale
from babel.dates import format_skeleton

from bot.access.people import Actor
from bot.access.policy import ADMIN, PROXY, TEACHER, roles_for
from bot.clock import Clock, stamp, unstamp
from bot.errors import AlreadyAcknowledged, NotAllowed, StaleButton, UserError
from bot.i18n import N_, translator
from bot.musts import tracker as musts
from bot.musts.buttons import open_form
from bot.musts.cards import MUST_LABELS, day_text, must_line, must_mark
from bot.musts.forms import FORMS, LETTER, SUMMARY, TALK, UPDATE, VISIT
from bot.musts.service import MustsService
from bot.notices import BULK, Action, Notice, Outbox
from bot.payloads import payload
from bot.preferences import PreferencesService
from storage.audit import AuditEntry, AuditRepository
from storage.calendar import (ACTIVE, DIGEST, DRAFT, SENT, SKIPPED, TASK, Activation, CalendarRepository, DraftChoices,
                              Followup, NewOccurrence, Reminder, Task)
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.people import PeopleRepository, School

log = logging.getLogger(__name__)

PREFIX = "cal"           # the calendar's outbox rows: cal:<task>:<occurrence>:<person>
# The digest's buttons open a care form for the child (bot.musts.buttons.open_form).
MUST_FORMS = {musts.UPDATE: UPDATE, musts.PHOTOS: UPDATE, musts.SUMMARY: SUMMARY, musts.TALK: TALK,
              musts.LETTER: LETTER, musts.VISIT: VISIT}
# A semester's letter (and home visit) is owed for months; the weekly digest brings it up only in the semester's
# last weeks.
LETTER_REMINDER_DAYS = 28

REMINDER_HOUR = 8
TASK_SHELF_LIFE = timedelta(days=7)
DIGEST_SHELF_LIFE = timedelta(days=2)
DRAFT_LIFETIME = timedelta(days=1)
MAX_TITLE = 40
MAX_TASKS = 20           # per school: the list and its buttons must fit a phone
MAX_OPEN = 8             # open reminders shown, each with its button
MAX_DIGEST_BUTTONS = 8
COMPACT_AFTER = 3       # children in a digest shown in full; beyond, a line each

MONTHLY, SEMESTER, YEARLY, WEEKLY = "monthly", "semester", "yearly", "weekly"
RECURRENCES = (MONTHLY, SEMESTER, YEARLY)
SEMESTER_MONTHS = (3, 9)  # spring term from March, autumn term from September
TEACHERS, PROXIES, BOTH = "teachers", "proxies", "both"
AUDIENCE_ROLES = {TEACHERS: frozenset({TEACHER}), PROXIES: frozenset({PROXY}), BOTH: frozenset({TEACHER, PROXY})}
AUDIENCE_LABELS = {TEACHERS: N_("class teachers"), PROXIES: N_("proxy parents"),
                   BOTH: N_("class teachers and proxy parents")}
RECURRENCE_LABELS = {MONTHLY: N_("Every month"), SEMESTER: N_("Each semester"), YEARLY: N_("Once a year")}
DAYS = range(1, 29)
MONTHS = range(1, 13)

# The steps of setting up a task of one's own, in order (after its name).
RECURRENCE_STEP, MONTH_STEP, DAY_STEP, AUDIENCE_STEP = "recurrence", "month", "day", "audience"

STALE = N_("This button is no longer valid.")
NOT_ADMIN = N_("Only the school's admins can change its calendar.")


class CalendarError(UserError):
    """Input a person can get wrong: `msgid` (N_) says why, its `params` fill the {placeholders}. Nothing changed."""


class AlreadyDone(AlreadyAcknowledged):
    """The reminder was marked done before: it counts once."""

    msgid = N_("Already marked done.")
    quiet = True


# What each button carries after its action: an id (a school, a task or a reminder) and a value (a preset's key,
# or the choice made in a step of setting up a task).
_PARTS = {"l": (False, False), "due": (False, False), "a": (True, False), "o": (True, False), "x": (True, False),
          "ok": (True, False), "p": (True, True), "r": (True, True), "m": (True, True), "d": (True, True),
          "u": (True, True)}
STEP_OF = {"r": RECURRENCE_STEP, "m": MONTH_STEP, "d": DAY_STEP, "u": AUDIENCE_STEP}
CODE_OF = {step: code for code, step in STEP_OF.items()}


@payload("cal")
class CalendarButton:
    """cal:l the calendar again · cal:a:<school> the add menu · cal:p:<school>:<preset> add a preset ·
    cal:o:<school> a task of one's own · cal:r|m|d|u:<task>:<value> setting it up: how often, month, day, who
    (which saves it) · cal:x:<task> remove · cal:ok:<reminder> mark a reminder done (under each reminder) ·
    cal:due what the five musts want now (under the weekly digest)."""

    action: Literal["l", "a", "p", "o", "r", "m", "d", "u", "x", "ok", "due"]
    id: int | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        if (self.id is not None, self.value is not None) != _PARTS[self.action]:
            raise StaleButton()


@payload("calf")
class FollowupDone:
    """Under the class teacher's word of a family's "no", and in /calendar: they have talked with the family."""

    followup: int


CONSENT_FOLLOWUP, ABSENCE_FOLLOWUP = "consent", "absence"
# An unexplained absence (bot.attendance.service): call the family within the hour, a home visit the same day.
FOLLOWUP_TITLES = {CONSENT_FOLLOWUP: N_("Talk with {child}'s family about the data rules"),
                   ABSENCE_FOLLOWUP: N_("Call {child}'s family about today's absence (a home visit if unexplained)")}
FOLLOWUP_DONE = N_("✅ I talked with the family")


@dataclass(frozen=True)
class Preset:
    key: str
    title: str             # N_
    recurrence: str
    month: int | None
    day: int
    audience: str


PRESETS = {p.key: p for p in (
    Preset("talk", N_("Heart-to-heart talks"), MONTHLY, None, 25, BOTH),
    Preset("meeting", N_("Parent meeting"), SEMESTER, None, 1, TEACHERS),
    Preset("records", N_("Update the children's records"), YEARLY, 3, 1, TEACHERS),
)}


@dataclass(frozen=True)
class SchoolTasks:
    school: School
    tasks: list[Task]


@dataclass(frozen=True)
class Agenda:
    """What /calendar shows one person."""
    schools: list[SchoolTasks]       # the schools they run, with their tasks
    carer: bool                      # a class teacher or proxy parent: reminded of tasks
    open: list[Reminder]             # their reminders not yet marked done
    upcoming: list[Task] = field(default_factory=list)  # their tasks still to come this month
    # Their open tasks about one child (a family said no: talk with them), with the child.
    followups: list[tuple[Followup, ChildRow]] = field(default_factory=list)


@dataclass
class _Letter:
    """One person's message about one due task, prepared before the transaction that sends it."""
    person_id: int
    text: str
    done_label: str | None = None    # a task's reminder: its button's data is known once the reminder is written
    actions: list[list[Action]] = field(default_factory=list)


# -- how a task reads (shared with the handlers) -------------------------------------------------------------

def task_title(_, task: Task | Preset) -> str:
    if isinstance(task, Preset):
        return _(task.title)
    return _(PRESETS[task.preset].title) if task.preset in PRESETS else task.title


def schedule_text(_, task: Task | Preset, locale: str) -> str:
    """"每月25日", "每学期 3月1日、9月1日", "每年3月1日"."""
    if task.recurrence == MONTHLY:
        return _("monthly on day {day}").format(day=task.day)
    if task.recurrence == SEMESTER:
        days = _(", ").join(day_text(date(2000, month, task.day), locale) for month in SEMESTER_MONTHS)
        return _("each semester on {days}").format(days=days)
    if task.recurrence == YEARLY:
        return _("every year on {day}").format(day=day_text(date(2000, task.month, task.day), locale))
    return ""


def audience_text(_, audience: str | None) -> str:
    return _(AUDIENCE_LABELS[audience]) if audience in AUDIENCE_LABELS else ""


def month_name(month: int, locale: str) -> str:
    return format_skeleton("MMM", date(2000, month, 1), locale=Locale.parse(locale))


def date_text(day: date, locale: str, today: date) -> str:
    """A day, with its year when that is not this year."""
    if day.year == today.year:
        return day_text(day, locale)
    return format_skeleton("yMMMd", day, locale=Locale.parse(locale))


def next_step(task: Task) -> str | None:
    """What a task being set up still needs, or None when it is complete."""
    if task.recurrence is None:
        return RECURRENCE_STEP
    if task.recurrence == YEARLY and task.month is None:
        return MONTH_STEP
    if task.day is None:
        return DAY_STEP
    if task.state == DRAFT:
        return AUDIENCE_STEP
    return None


class CalendarService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository,
                 musts_service: MustsService, outbox: Outbox, preferences: PreferencesService, clock: Clock,
                 timezone_name: str) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._musts = musts_service
        self._outbox = outbox
        self._preferences = preferences
        self._clock = clock
        self._tz = ZoneInfo(timezone_name)
        self.repo = CalendarRepository(db)
        self._audit = AuditRepository(db)

    def today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()

    def local_day(self, moment: str) -> date:
        """The school's date of a stored UTC moment."""
        return unstamp(moment).astimezone(self._tz).date()

    # -- who may do what --------------------------------------------------------------------------------

    @staticmethod
    def _admin_of(actor: Actor) -> list[int]:
        return sorted({g.school_id for g in actor.grants if g.role == ADMIN})

    async def _carer_roles(self, actor: Actor) -> dict[int, set[str]]:
        """School → the roles this person is reminded as there: class teacher, proxy parent of a child in it."""
        found: dict[int, set[str]] = {}
        for grant in actor.grants:
            if grant.role == TEACHER:
                found.setdefault(grant.school_id, set()).add(TEACHER)
            elif grant.role == PROXY and grant.child_id is not None:
                child = await self._children.get(grant.child_id)
                if child is not None:
                    found.setdefault(child.school_id, set()).add(PROXY)
        return found

    def may_manage(self, actor: Actor, school_id: int | None) -> bool:
        """Only the school's admins set its calendar."""
        return actor.person_id is not None and school_id in self._admin_of(actor)

    def require_admin(self, actor: Actor, school_id: int | None) -> None:
        if not self.may_manage(actor, school_id):
            raise NotAllowed("calendar", NOT_ADMIN)

    async def _admin_task(self, actor: Actor, task_id: int, state: str) -> Task:
        task = await self.repo.task(task_id)
        if task is None or task.kind != TASK:
            raise CalendarError(STALE)
        self.require_admin(actor, task.school_id)
        if task.state != state or (state == DRAFT and task.created_by != actor.person_id):
            raise CalendarError(STALE)
        return task

    # -- what /calendar shows ---------------------------------------------------------------------------

    async def agenda(self, actor: Actor) -> Agenda:
        schools = []
        for school_id in self._admin_of(actor):
            school = await self._people.school(school_id)
            if school is not None:
                schools.append(SchoolTasks(school, await self.repo.tasks([school_id])))
        roles = await self._carer_roles(actor)
        if not roles or actor.person_id is None:
            return Agenda(schools, False, [])
        open_ = [r for r in await self.repo.open_reminders(actor.person_id, MAX_OPEN)
                 if roles.get(r.task.school_id, set()) & AUDIENCE_ROLES[r.task.audience]]
        month = self.today().replace(day=1)
        upcoming = [t for t in await self.repo.tasks(sorted(roles))
                    if roles[t.school_id] & AUDIENCE_ROLES[t.audience]
                    and self.local_day(t.next_at).replace(day=1) == month]
        return Agenda(schools, True, open_, upcoming, await self._followups(actor))

    async def _followups(self, actor: Actor) -> list[tuple[Followup, ChildRow]]:
        """Their open tasks about a child they are still the class teacher of."""
        found = []
        for followup in await self.repo.open_followups(actor.person_id, MAX_OPEN):
            child = await self._children.get(followup.child_id)
            if child is not None and TEACHER in roles_for(actor.grants, child.place):
                found.append((followup, child))
        return found

    async def followup_done(self, actor: Actor, followup_id: int) -> Followup:
        """The person asked says it is done, once, while they are still the child's class teacher; anyone else's
        press is a stale button."""
        followup = await self.repo.followup(followup_id)
        if followup is None or actor.person_id is None or followup.person_id != actor.person_id:
            raise NotAllowed("calendar", STALE)
        child = await self._children.get(followup.child_id)
        if child is None or TEACHER not in roles_for(actor.grants, child.place):
            raise NotAllowed("calendar", STALE)
        if followup.done_at is not None:
            raise AlreadyDone()
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).followup_done(followup.id, now):
                raise AlreadyDone()
            await self._audit.within(conn).record(AuditEntry(
                now, actor.person_id, child.id, "followup_done", f"followup={followup.id} reason={followup.reason}"))
        log.info("follow-up %s marked done by person %s", followup.id, actor.person_id)
        return followup

    # -- an admin's changes -----------------------------------------------------------------------------

    async def add_preset(self, actor: Actor, school_id: int, key: str) -> Task:
        self.require_admin(actor, school_id)
        preset = PRESETS.get(key)
        if preset is None:
            raise CalendarError(STALE)
        tasks = await self.repo.tasks([school_id])
        if any(t.preset == key for t in tasks):
            raise CalendarError(N_("This task is already on the calendar."))
        self._check_room(tasks)
        now = stamp(self._clock.now())
        next_at = stamp(_next(self._trigger(preset.recurrence, preset.month, preset.day), self._clock.now()))
        async with self._db.transaction() as conn:
            task_id = await self.repo.within(conn).add_task(Task(
                school_id, key, preset.title, preset.recurrence, preset.month, preset.day, preset.audience, ACTIVE,
                next_at, actor.person_id, now))
            await self._audit.within(conn).record(AuditEntry(
                now, actor.person_id, None, "calendar_add", f"task={task_id} school={school_id} preset={key}"))
        log.info("calendar task %s (preset %s) added to school %s by person %s", task_id, key, school_id,
                 actor.person_id)
        return await self.repo.task(task_id)

    @staticmethod
    def _check_room(tasks: list[Task]) -> None:
        if len(tasks) >= MAX_TASKS:
            raise CalendarError(N_("A school can have at most {limit} tasks. Remove one first."), limit=MAX_TASKS)

    async def start_custom(self, actor: Actor, school_id: int) -> Task:
        """A task of the admin's own: a draft for the school, waiting for its name. Replaces an unfinished one."""
        self.require_admin(actor, school_id)
        self._check_room(await self.repo.tasks([school_id]))
        async with self._db.transaction() as conn:
            calendar = self.repo.within(conn)
            await calendar.delete_drafts(actor.person_id)
            task_id = await calendar.add_task(Task(school_id, None, "", None, None, None, None, DRAFT, None,
                                                   actor.person_id, stamp(self._clock.now())))
        return await self.repo.task(task_id)

    async def name_custom(self, actor: Actor, title: str) -> Task:
        """The name typed for the task being set up (with a single school, no ✏️ press is needed first)."""
        schools = self._admin_of(actor)
        if not schools:
            raise NotAllowed("calendar", N_("Only a school's admins can add tasks to its care calendar."))
        draft = await self.repo.draft(actor.person_id)
        if draft is not None and unstamp(draft.created_at) < self._clock.now() - DRAFT_LIFETIME:
            draft = None  # set aside a day ago: what is typed now is not meant for it
        if draft is None and len(schools) > 1:
            raise CalendarError(N_("Which school is it for? Press ➕ under the school in /calendar, then ✏️."))
        clean = " ".join(title.split())
        if not clean:
            raise CalendarError(N_("The task needs a name."))
        if len(clean) > MAX_TITLE:
            raise CalendarError(N_("A task's name can be at most {limit} characters; this one has {length}."),
                                limit=MAX_TITLE, length=len(clean))
        if draft is None:
            draft = await self.start_custom(actor, schools[0])
        self.require_admin(actor, draft.school_id)
        # A new name starts the choices again.
        await self.repo.update_draft(DraftChoices(draft.id, clean, None, None, None))
        return await self.repo.task(draft.id)

    async def choose(self, actor: Actor, task_id: int, step: str, value: str) -> Task:
        """One button of setting up a task: how often, the month, the day, then who (which saves it)."""
        task = await self._admin_task(actor, task_id, DRAFT)
        if not task.title or next_step(task) != step:
            raise CalendarError(STALE)
        recurrence, month, day = task.recurrence, task.month, task.day
        number = int(value) if value.isascii() and value.isdigit() else None
        if step == RECURRENCE_STEP and value in RECURRENCES:
            recurrence = value
        elif step == MONTH_STEP and number in MONTHS:
            month = number
        elif step == DAY_STEP and number in DAYS:
            day = number
        elif step == AUDIENCE_STEP and value in AUDIENCE_ROLES:
            return await self._activate(actor, task, value)
        else:
            raise CalendarError(STALE)
        if not await self.repo.update_draft(DraftChoices(task.id, task.title, recurrence, month, day)):
            raise CalendarError(STALE)
        return await self.repo.task(task.id)

    async def _activate(self, actor: Actor, task: Task, audience: str) -> Task:
        self._check_room(await self.repo.tasks([task.school_id]))
        now = stamp(self._clock.now())
        next_at = stamp(_next(self._trigger(task.recurrence, task.month, task.day), self._clock.now()))
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).activate(Activation(task.id, audience, next_at, actor.person_id, now)):
                raise CalendarError(STALE)
            await self._audit.within(conn).record(AuditEntry(
                now, actor.person_id, None, "calendar_add", f"task={task.id} school={task.school_id}"))
        log.info("calendar task %s added to school %s by person %s", task.id, task.school_id, actor.person_id)
        return await self.repo.task(task.id)

    async def remove(self, actor: Actor, task_id: int) -> Task:
        task = await self._admin_task(actor, task_id, ACTIVE)
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).remove(task.id, actor.person_id, now):
                raise CalendarError(STALE)
            await self._audit.within(conn).record(AuditEntry(
                now, actor.person_id, None, "calendar_remove", f"task={task.id} school={task.school_id}"))
        log.info("calendar task %s removed by person %s", task.id, actor.person_id)
        return task

    # -- "Done" -----------------------------------------------------------------------------------------

    async def mark_done(self, actor: Actor, reminder_id: int) -> Reminder:
        """The person reminded says it is done, once, while they still hold the role it was for. Anyone else's
        press is told what a stale button is told: it says nothing of whose reminder it was."""
        reminder = await self.repo.reminder(reminder_id)
        if reminder is None or actor.person_id is None or reminder.person_id != actor.person_id:
            raise NotAllowed("calendar", STALE)
        roles = (await self._carer_roles(actor)).get(reminder.task.school_id, set())
        if not roles & AUDIENCE_ROLES.get(reminder.task.audience, frozenset()):
            raise NotAllowed("calendar", STALE)
        if reminder.task.state != ACTIVE:
            raise CalendarError(N_("This task is no longer on the calendar."))
        if reminder.done_at is not None:
            raise AlreadyDone()
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).mark_done(reminder.id, now):
                raise AlreadyDone()
            await self._audit.within(conn).record(AuditEntry(
                now, actor.person_id, None, "calendar_done", f"reminder={reminder.id} task={reminder.task.id}"))
        log.info("calendar reminder %s marked done by person %s", reminder.id, actor.person_id)
        return reminder

    # -- the schedule -----------------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Hand every due reminder and digest to the outbox; returns how many messages were handed over."""
        now = self._clock.now()
        await self._schedule_digest(now)
        handed = 0
        for task in await self.repo.due(stamp(now)):
            try:
                handed += await self._run(task, now)
            except Exception:  # one broken task must not hold up the others; it is tried again next time
                log.exception("calendar task %s failed", task.id)
        return handed

    async def _schedule_digest(self, now: datetime) -> None:
        """The digest's row comes with the schema; its first time is set on the first run."""
        digest = await self.repo.unscheduled_digest()
        if digest is not None:
            await self.repo.advance(digest.id, None, stamp(_next(self._weekly(), now)))

    async def _run(self, task: Task, now: datetime) -> int:
        trigger = self._weekly() if task.kind == DIGEST else self._trigger(task.recurrence, task.month, task.day)
        shelf = DIGEST_SHELF_LIFE if task.kind == DIGEST else TASK_SHELF_LIFE
        due, moment = [], unstamp(task.next_at)
        while moment <= now:
            due.append(moment)
            moment = _next(trigger, moment)
        sent = [m for m in due if now - m <= shelf]
        letters: list[_Letter] = []
        if sent:
            letters = await self._digests() if task.kind == DIGEST else await self._reminders(task)
        handled = stamp(self._clock.now())
        notices: list[Notice] = []
        async with self._db.transaction() as conn:
            calendar = self.repo.within(conn)
            if not await calendar.advance(task.id, task.next_at, stamp(moment)):
                return 0  # moved on meanwhile (another run, or removed): nothing to do
            for occurrence in due:
                state = SENT if occurrence in sent else SKIPPED
                occurrence_id = await calendar.add_occurrence(NewOccurrence(
                    task.id, stamp(occurrence), state, len(letters) if state == SENT else 0, handled))
                if occurrence_id is None or state == SKIPPED:
                    continue
                for letter in letters:
                    actions = letter.actions
                    if letter.done_label is not None:
                        mark_id = await calendar.add_mark(occurrence_id, letter.person_id)
                        actions = [[Action(letter.done_label, CalendarButton("ok", mark_id))]]
                    key = f"{PREFIX}:{task.id}:{int(occurrence.timestamp())}:{letter.person_id}"
                    notices.append(Notice(key, letter.person_id, letter.text, actions=actions, lane=BULK))
            handed = await self._outbox.post(conn, notices)
        skipped = len(due) - len(sent)
        log.info("calendar %s %s: %s occurrence(s) sent to %s people, %s skipped as too late", task.kind, task.id,
                 len(sent), len(letters) if sent else 0, skipped)
        return len(handed)

    async def _reminders(self, task: Task) -> list[_Letter]:
        roles = AUDIENCE_ROLES[task.audience]
        letters = []
        for person_id in await self.repo.responsible(task.school_id, TEACHER in roles, PROXY in roles):
            locale = await self._preferences.locale_of(person_id)
            _ = translator(locale).gettext
            text = "\n".join((_("⏰ Care calendar: {title}").format(title=task_title(_, task)),
                              schedule_text(_, task, locale),
                              _("When it is done, press the button below.")))
            letters.append(_Letter(person_id, text, done_label=_("✅ Done")))
        return letters

    async def _digests(self) -> list[_Letter]:
        """One message for each class teacher and proxy parent who owes something of the five musts.

        The message names no child: what the outbox keeps stays behind when a child's record is erased, and
        a digest is about many children at once. Its button shows the list as it stands when pressed."""
        letters = []
        for person_id in await self.repo.carers():
            owed = await self._owed(Actor(person_id, tuple(await self._people.grants(person_id))))
            if owed:
                tr = translator(await self._preferences.locale_of(person_id))
                items = sum(len(late) for _child, late in owed)
                text = tr.ngettext("📋 The five musts: {items} things are still to do this week, for {children} child.",
                                   "📋 The five musts: {items} things are still to do this week, for {children} "
                                   "children.", len(owed)).format(items=items, children=len(owed))
                actions = [[Action(tr.gettext("📋 Show what is due"), CalendarButton("due"))]]
                letters.append(_Letter(person_id, text, actions=actions))
        return letters

    async def digest(self, actor: Actor, locale: str) -> tuple[str, list[list[Action]]] | None:
        """What the five musts still want of this person, now, with buttons that open the forms; None: nothing."""
        owed = await self._owed(actor)
        return self._digest(owed, locale) if owed else None

    async def _owed(self, actor: Actor) -> list[tuple[ChildRow, list[musts.Must]]]:
        owed = []
        # A child whose family has not consented is left out: the digest lists only what can be done.
        for row in await self._musts.due(actor, writable_only=True):
            today = self._musts.today()
            late = [m for m in musts.late(row.musts)
                    if m.key not in (musts.LETTER, musts.VISIT) or m.flagged
                    or (m.deadline - today).days < LETTER_REMINDER_DAYS]
            if late:
                owed.append((row.child, late))
        return owed

    def _digest(self, owed: list[tuple[ChildRow, list[musts.Must]]], locale: str) -> tuple[str, list[list[Action]]]:
        _ = translator(locale).gettext
        days = self._musts.rules.update_every_days
        if len(owed) > COMPACT_AFTER:
            # A class teacher with forty children reads one line each, as in /due's table.
            body = "\n".join(f"🧒 {child.name}: " + " ".join(f"{must_mark(m)}{_(MUST_LABELS[m.key])}"
                                                            + ("⚠️" if m.flagged else "") for m in late)
                             for child, late in owed)
        else:
            body = "\n\n".join("\n".join((f"🧒 {child.name}", *(must_line(_, m, locale, days) for m in late)))
                               for child, late in owed)
        text = "\n\n".join((_("📋 The five musts: still to do this week"), body,
                             _("Press a button to write it now: it counts as soon as it is sent.")))
        # The most pressing first, across children; one button per child and form.
        pressing = sorted(((must, child) for child, late in owed for must in late),
                          key=lambda pair: (pair[0].state != musts.OVERDUE, pair[0].deadline))
        actions: list[Action] = []
        for must, child in pressing:
            kind = MUST_FORMS[must.key]
            opens = open_form(child.id, kind, below=True)
            if any(a.payload == opens for a in actions) or len(actions) >= MAX_DIGEST_BUTTONS:
                continue
            actions.append(Action(f"{FORMS[kind].icon} {child.name} · {_(MUST_LABELS[must.key])}", opens))
        return text, [actions[i:i + 2] for i in range(0, len(actions), 2)]

    def _trigger(self, recurrence: str, month: int | None, day: int | None) -> CronTrigger:
        months = {MONTHLY: "*", SEMESTER: ",".join(str(m) for m in SEMESTER_MONTHS), YEARLY: month}[recurrence]
        return CronTrigger(month=months, day=day, hour=REMINDER_HOUR, minute=0, timezone=self._tz)

    def _weekly(self) -> CronTrigger:
        return CronTrigger(day_of_week="mon", hour=REMINDER_HOUR, minute=0, timezone=self._tz)


def _next(trigger: CronTrigger, after: datetime) -> datetime:
    """The first fire time strictly after `after`, in UTC. A UTC `now` and no previous fire time, as in
    bot.video.slots: sidesteps APScheduler #1021 (a loop on fold=1 times). The trigger rounds up to whole seconds."""
    fire = trigger.get_next_fire_time(None, after.astimezone(timezone.utc) + timedelta(microseconds=1))
    return fire.astimezone(timezone.utc)
