"""The teachers' care calendar: recurring tasks a school admin sets for the school (monthly talks, a parent meeting
each semester, March: update the records), reminded to the people responsible with a button to mark them done;
and once a week, a digest of what the five musts (bot.musts.tracker) still want, with buttons that open the forms.

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
Knows nothing of Telegram.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from babel import Locale
from babel.dates import format_skeleton

from bot.musts import tracker as musts
from bot.musts.cards import MUST_LABELS, day_text, must_line, must_mark
from bot.musts.service import CareService
from bot.clock import Clock
from bot.musts.forms import FORMS, SUMMARY, TALK, UPDATE
from bot.i18n import N_, translator
from bot.notices import Outbox
from bot.access.people import Actor, Directory, NotAllowed
from bot.access.policy import ADMIN, PROXY, TEACHER
from bot.preferences import PreferencesService
from storage.audit import AuditRepository
from storage.calendar import (ACTIVE, DIGEST, DRAFT, SENT, SKIPPED, TASK, CalendarRepository, Reminder, Task)
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.outbox import Outgoing
from storage.people import PeopleRepository, School

log = logging.getLogger(__name__)

CHANNEL = "telegram"
PREFIX = "cal"           # the calendar's buttons; the service writes "Done" under each reminder: cal:ok:<reminder>
DONE_ACTION = "ok"
DIGEST_ACTION = "due"    # cal:due, under the weekly digest: show what is due, as it stands when pressed
# The digest's buttons open a care form for the child (handlers.care: care:<child>:<kind code>:w, its CODES).
CARE_FORM = "care:{child}:{code}:w"
MUST_FORMS = {musts.UPDATE: UPDATE, musts.PHOTOS: UPDATE, musts.SUMMARY: SUMMARY, musts.TALK: TALK}
FORM_CODES = {UPDATE: "u", SUMMARY: "m", TALK: "t"}

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


class CalendarError(Exception):
    """Input a person can get wrong; `message` (N_) says why, `hint` fills its {placeholders}. Nothing changed."""

    def __init__(self, message: str, **hint: object) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class AlreadyDone(Exception):
    """The reminder was marked done before: it counts once."""


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


@dataclass
class _Letter:
    """One person's message about one due task, prepared before the transaction that sends it."""
    person_id: int
    chat: str
    text: str
    done_label: str | None = None    # a task's reminder: its button's data is known once the reminder is written
    buttons: list[list[dict]] = field(default_factory=list)


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
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository, care: CareService,
                 outbox: Outbox, preferences: PreferencesService, clock: Clock, timezone_name: str) -> None:
        self._db = db
        self._people = people
        self._directory = Directory(people)
        self._children = children
        self._care = care
        self._outbox = outbox
        self._preferences = preferences
        self._clock = clock
        self._tz = ZoneInfo(timezone_name)
        self.repo = CalendarRepository(db)

    def _now(self) -> str:
        return _iso(self._clock.now())

    def today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()

    def local_day(self, moment: str) -> date:
        """The school's date of a stored UTC moment."""
        return _moment(moment).astimezone(self._tz).date()

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

    def _require_admin(self, actor: Actor, school_id: int | None) -> None:
        if not self.may_manage(actor, school_id):
            raise NotAllowed("calendar")

    async def _admin_task(self, actor: Actor, task_id: int, state: str) -> Task:
        task = await self.repo.task(task_id)
        if task is None or task.kind != TASK:
            raise CalendarError(STALE)
        self._require_admin(actor, task.school_id)
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
        return Agenda(schools, True, open_, upcoming)

    # -- an admin's changes -----------------------------------------------------------------------------

    async def add_preset(self, actor: Actor, school_id: int, key: str) -> Task:
        self._require_admin(actor, school_id)
        preset = PRESETS.get(key)
        if preset is None:
            raise CalendarError(STALE)
        tasks = await self.repo.tasks([school_id])
        if any(t.preset == key for t in tasks):
            raise CalendarError(N_("This task is already on the calendar."))
        self._check_room(tasks)
        now = self._now()
        next_at = _iso(_next(self._trigger(preset.recurrence, preset.month, preset.day), self._clock.now()))
        async with self._db.transaction() as conn:
            task_id = await CalendarRepository.add_task(conn, school_id, key, preset.title, preset.recurrence,
                                                        preset.month, preset.day, preset.audience, ACTIVE, next_at,
                                                        actor.person_id, now)
            await AuditRepository.record(conn, now, actor.person_id, None, "calendar_add",
                                         f"task={task_id} school={school_id} preset={key}")
        log.info("calendar task %s (preset %s) added to school %s by person %s", task_id, key, school_id,
                 actor.person_id)
        return await self.repo.task(task_id)

    @staticmethod
    def _check_room(tasks: list[Task]) -> None:
        if len(tasks) >= MAX_TASKS:
            raise CalendarError(N_("A school can have at most {limit} tasks. Remove one first."), limit=MAX_TASKS)

    async def start_custom(self, actor: Actor, school_id: int) -> Task:
        """A task of the admin's own: a draft for the school, waiting for its name. Replaces an unfinished one."""
        self._require_admin(actor, school_id)
        self._check_room(await self.repo.tasks([school_id]))
        async with self._db.transaction() as conn:
            await CalendarRepository.delete_drafts(conn, actor.person_id)
            task_id = await CalendarRepository.add_task(conn, school_id, None, "", None, None, None, None, DRAFT,
                                                        None, actor.person_id, self._now())
        return await self.repo.task(task_id)

    async def awaiting_name(self, actor: Actor) -> bool:
        """Whether this admin pressed ✏️ and has not named the task yet: their next words are its name."""
        if actor.person_id is None or not self._admin_of(actor):
            return False
        draft = await self.repo.draft(actor.person_id)
        return draft is not None and not draft.title and \
            _moment(draft.created_at) >= self._clock.now() - DRAFT_LIFETIME

    async def name_custom(self, actor: Actor, title: str) -> Task:
        """The name typed for the task being set up (with a single school, no ✏️ press is needed first)."""
        schools = self._admin_of(actor)
        if not schools:
            raise NotAllowed("calendar")
        draft = await self.repo.draft(actor.person_id)
        if draft is not None and _moment(draft.created_at) < self._clock.now() - DRAFT_LIFETIME:
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
        self._require_admin(actor, draft.school_id)
        async with self._db.transaction() as conn:
            # A new name starts the choices again.
            await CalendarRepository.update_draft(conn, draft.id, clean, None, None, None)
        return await self.repo.task(draft.id)

    async def choose(self, actor: Actor, task_id: int, step: str, value: str) -> Task:
        """One button of setting up a task: how often, the month, the day, then who (which saves it)."""
        task = await self._admin_task(actor, task_id, DRAFT)
        if not task.title or next_step(task) != step:
            raise CalendarError(STALE)
        recurrence, month, day = task.recurrence, task.month, task.day
        if step == RECURRENCE_STEP and value in RECURRENCES:
            recurrence = value
        elif step == MONTH_STEP and value.isdigit() and int(value) in MONTHS:
            month = int(value)
        elif step == DAY_STEP and value.isdigit() and int(value) in DAYS:
            day = int(value)
        elif step == AUDIENCE_STEP and value in AUDIENCE_ROLES:
            return await self._activate(actor, task, value)
        else:
            raise CalendarError(STALE)
        async with self._db.transaction() as conn:
            if not await CalendarRepository.update_draft(conn, task.id, task.title, recurrence, month, day):
                raise CalendarError(STALE)
        return await self.repo.task(task.id)

    async def _activate(self, actor: Actor, task: Task, audience: str) -> Task:
        self._check_room(await self.repo.tasks([task.school_id]))
        now = self._now()
        next_at = _iso(_next(self._trigger(task.recurrence, task.month, task.day), self._clock.now()))
        async with self._db.transaction() as conn:
            if not await CalendarRepository.activate(conn, task.id, audience, next_at, actor.person_id, now):
                raise CalendarError(STALE)
            await AuditRepository.record(conn, now, actor.person_id, None, "calendar_add",
                                         f"task={task.id} school={task.school_id}")
        log.info("calendar task %s added to school %s by person %s", task.id, task.school_id, actor.person_id)
        return await self.repo.task(task.id)

    async def remove(self, actor: Actor, task_id: int) -> Task:
        task = await self._admin_task(actor, task_id, ACTIVE)
        now = self._now()
        async with self._db.transaction() as conn:
            if not await CalendarRepository.remove(conn, task.id, actor.person_id, now):
                raise CalendarError(STALE)
            await AuditRepository.record(conn, now, actor.person_id, None, "calendar_remove",
                                         f"task={task.id} school={task.school_id}")
        log.info("calendar task %s removed by person %s", task.id, actor.person_id)
        return task

    # -- "Done" -----------------------------------------------------------------------------------------

    async def mark_done(self, actor: Actor, reminder_id: int) -> Reminder:
        """The person reminded says it is done, once, while they still hold the role it was for."""
        reminder = await self.repo.reminder(reminder_id)
        if reminder is None or actor.person_id is None or reminder.person_id != actor.person_id:
            raise NotAllowed("calendar")
        roles = (await self._carer_roles(actor)).get(reminder.task.school_id, set())
        if not roles & AUDIENCE_ROLES.get(reminder.task.audience, frozenset()):
            raise NotAllowed("calendar")
        if reminder.task.state != ACTIVE:
            raise CalendarError(N_("This task is no longer on the calendar."))
        if reminder.done_at is not None:
            raise AlreadyDone()
        now = self._now()
        async with self._db.transaction() as conn:
            if not await CalendarRepository.mark_done(conn, reminder.id, now):
                raise AlreadyDone()
            await AuditRepository.record(conn, now, actor.person_id, None, "calendar_done",
                                         f"reminder={reminder.id} task={reminder.task.id}")
        log.info("calendar reminder %s marked done by person %s", reminder.id, actor.person_id)
        return reminder

    # -- the schedule -----------------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Hand every due reminder and digest to the outbox; returns how many messages were handed over."""
        now = self._clock.now()
        await self._schedule_digest(now)
        handed = 0
        for task in await self.repo.due(_iso(now)):
            try:
                handed += await self._run(task, now)
            except Exception:  # one broken task must not hold up the others; it is tried again next time
                log.exception("calendar task %s failed", task.id)
        return handed

    async def _schedule_digest(self, now: datetime) -> None:
        """The digest's row comes with the schema; its first time is set on the first run."""
        digest = await self.repo.unscheduled_digest()
        if digest is not None:
            async with self._db.transaction() as conn:
                await CalendarRepository.advance(conn, digest.id, None, _iso(_next(self._weekly(), now)))

    async def _run(self, task: Task, now: datetime) -> int:
        trigger = self._weekly() if task.kind == DIGEST else self._trigger(task.recurrence, task.month, task.day)
        shelf = DIGEST_SHELF_LIFE if task.kind == DIGEST else TASK_SHELF_LIFE
        due, moment = [], _moment(task.next_at)
        while moment <= now:
            due.append(moment)
            moment = _next(trigger, moment)
        sent = [m for m in due if now - m <= shelf]
        letters: list[_Letter] = []
        if sent:
            letters = await self._digests() if task.kind == DIGEST else await self._reminders(task)
        handled = self._now()
        rows: list[Outgoing] = []
        async with self._db.transaction() as conn:
            if not await CalendarRepository.advance(conn, task.id, task.next_at, _iso(moment)):
                return 0  # moved on meanwhile (another run, or removed): nothing to do
            for occurrence in due:
                state = SENT if occurrence in sent else SKIPPED
                occurrence_id = await CalendarRepository.add_occurrence(
                    conn, task.id, _iso(occurrence), state, len(letters) if state == SENT else 0, handled)
                if occurrence_id is None or state == SKIPPED:
                    continue
                for letter in letters:
                    buttons = letter.buttons
                    if letter.done_label is not None:
                        mark_id = await CalendarRepository.add_mark(conn, occurrence_id, letter.person_id)
                        buttons = [[{"text": letter.done_label, "callback_data": f"{PREFIX}:{DONE_ACTION}:{mark_id}"}]]
                    key = f"{PREFIX}:{task.id}:{int(occurrence.timestamp())}:{letter.person_id}"
                    markup = {"reply_markup": {"inline_keyboard": buttons}} if buttons else {}
                    rows += Outbox.texts(key, CHANNEL, letter.chat, letter.text, person_id=letter.person_id, **markup)
            if rows:
                await self._outbox.add(conn, rows)
        skipped = len(due) - len(sent)
        log.info("calendar %s %s: %s occurrence(s) sent to %s people, %s skipped as too late", task.kind, task.id,
                 len(sent), len(letters) if sent else 0, skipped)
        return len(rows)

    async def _reminders(self, task: Task) -> list[_Letter]:
        roles = AUDIENCE_ROLES[task.audience]
        letters = []
        for person_id, chat in await self.repo.responsible(task.school_id, TEACHER in roles, PROXY in roles, CHANNEL):
            locale = await self._preferences.locale_for(int(chat), None)
            _ = translator(locale).gettext
            text = "\n".join((_("⏰ Care calendar: {title}").format(title=task_title(_, task)),
                              schedule_text(_, task, locale),
                              _("When it is done, press the button below.")))
            letters.append(_Letter(person_id, chat, text, done_label=_("✅ Done")))
        return letters

    async def _digests(self) -> list[_Letter]:
        """One message for each class teacher and proxy parent who owes something of the five musts.

        The message names no child: what the outbox keeps stays behind when a child's record is erased, and
        a digest is about many children at once. Its button shows the list as it stands when pressed."""
        letters = []
        for person_id, chat in await self.repo.carers(CHANNEL):
            owed = await self._owed(await self._directory.actor(CHANNEL, chat))
            if owed:
                locale = await self._preferences.locale_for(int(chat), None)
                tr = translator(locale)
                _ = tr.gettext
                items = sum(len(late) for _child, late in owed)
                text = tr.ngettext("📋 The five musts: {items} things are still to do this week, for {children} child.",
                                   "📋 The five musts: {items} things are still to do this week, for {children} "
                                   "children.", len(owed)).format(items=items, children=len(owed))
                buttons = [[{"text": _("📋 Show what is due"), "callback_data": f"{PREFIX}:{DIGEST_ACTION}"}]]
                letters.append(_Letter(person_id, chat, text, buttons=buttons))
        return letters

    async def digest(self, actor: Actor, locale: str) -> tuple[str, list[list[dict]]] | None:
        """What the five musts still want of this person, now, with buttons that open the forms; None: nothing."""
        owed = await self._owed(actor)
        return self._digest(owed, locale) if owed else None

    async def _owed(self, actor: Actor) -> list[tuple[ChildRow, list[musts.Must]]]:
        owed = []
        for row in await self._care.due(actor):
            late = musts.late(row.musts)
            if late:
                owed.append((row.child, late))
        return owed

    def _digest(self, owed: list[tuple[ChildRow, list[musts.Must]]], locale: str) -> tuple[str, list[list[dict]]]:
        _ = translator(locale).gettext
        days = self._care.rules.update_every_days
        if len(owed) > COMPACT_AFTER:
            # A class teacher with forty children reads one line each, as in /due's table.
            body = "\n".join(f"👧 {child.name}: " + " ".join(f"{must_mark(m)}{_(MUST_LABELS[m.key])}" for m in late)
                             for child, late in owed)
        else:
            body = "\n\n".join("\n".join((f"👧 {child.name}", *(must_line(_, m, locale, days) for m in late)))
                               for child, late in owed)
        text = "\n\n".join((_("📋 The five musts: still to do this week"), body,
                             _("Press a button to write it now: it counts as soon as it is sent.")))
        # The most pressing first, across children; one button per child and form.
        pressing = sorted(((must, child) for child, late in owed for must in late),
                          key=lambda pair: (pair[0].state != musts.OVERDUE, pair[0].deadline))
        buttons, seen = [], set()
        for must, child in pressing:
            kind = MUST_FORMS[must.key]
            data = CARE_FORM.format(child=child.id, code=FORM_CODES[kind])
            if data in seen or len(buttons) >= MAX_DIGEST_BUTTONS:
                continue
            seen.add(data)
            label = f"{FORMS[kind].icon} {child.name} · {_(MUST_LABELS[must.key])}"
            buttons.append({"text": label, "callback_data": data})
        return text, [buttons[i:i + 2] for i in range(0, len(buttons), 2)]

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


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _moment(stored: str) -> datetime:
    moment = datetime.fromisoformat(stored)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
