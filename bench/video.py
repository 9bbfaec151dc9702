"""The video-call schedule at scale: with N children's weekly slots in the database (default 100,000), start-up
time, resident memory and the due-finding job at its peak minute, for our design (the database is the schedule:
nothing is loaded at start-up, one JobQueue job every 30 s runs VideoService.run_due) and, in the same run on a
copy of the same data, the naive design (one APScheduler CronTrigger job on PTB's JobQueue per slot and reminder
kind, all loaded at start-up, each doing its own lookups and outbox transaction when it fires).

Each design runs in a fresh process of its own, so its memory is its own. Start-up is timed from just before
the process is spawned (interpreter and imports included) to "ready": the services open, the JobQueue running
with its jobs. Neither process talks to a network: the Bot API is answered by tests.helpers.RecordingRequest,
and the outbox's sender is not started, so what the peak minute writes stays in the outbox to be counted."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time as clock_time, timedelta, timezone
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import apscheduler.executors.base
import apscheduler.schedulers.base
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.triggers.cron import CronTrigger

from bot import deadlines
from bot.access.consent import RULES_VERSION
from bot.clock import FixedClock, stamp
from bot.i18n import translator
from bot.notices import Notice
from bot.runtime.app import build_application, initialized
from bot.runtime.context import CHANNEL, BotContext
from bot.runtime.logs import configure_logging
from bot.runtime.runner import SCHEDULE_INTERVAL, maintenance_job, schedule_job
from bot.services import open_services
from bot.settings import Settings
from bot.video import slots
from bot.video.service import DURATIONS, TIMES, moment_text, place_text, question_actions
from storage.children import ChildrenRepository
from storage.db import Database
from tests.helpers import RecordingRequest

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "5000000005:BENCH-video-token-not-a-real-one"
SCHOOL_ZONE = "Asia/Shanghai"
# Sunday 22 November 2026, 18:30 in Shanghai: half an hour before the busiest weekly time (Sunday 19:00), so all
# of its "soon" reminders fall due at once, with the day-before reminders of Monday 18:30 and the questions
# after Sunday's 15-minute calls at 18:00; Sunday's 18:30 slots begin, so their next week is written out.
PEAK = datetime(2026, 11, 22, 18, 30, tzinfo=ZoneInfo(SCHOOL_ZONE)).astimezone(timezone.utc)
# The seeded database is as the schedule left it after its run half a minute earlier: nothing is due then.
BEFORE_PEAK = PEAK - timedelta(seconds=SCHEDULE_INTERVAL)

# How families choose (assumed, not measured): mostly the weekend, mostly the evening after a shift.
WEEKDAY_WEIGHTS = (8, 8, 8, 8, 8, 25, 35)  # Monday … Sunday
TIME_WEIGHTS = {"08:00": 2, "10:00": 4, "12:00": 3, "12:30": 2, "17:00": 3, "18:00": 8, "18:30": 10, "19:00": 14,
                "19:30": 12, "20:00": 12, "20:30": 9, "21:00": 6}
DURATION_WEIGHTS = {15: 20, 20: 30, 30: 40, 45: 10}
# A handful of slots kept in another zone (a room abroad, a school in the west using Xinjiang time).
OTHER_ZONES = ("Asia/Urumqi", "Asia/Kolkata", "Europe/Berlin", "America/New_York")
OTHER_ZONE_SHARE = 0.005
CLASS_SIZE = 40
CHILDREN_PER_PROXY = 5
TELEGRAM_IDS = 10_000_000  # a person's Telegram user id is this plus their person id

# The naive design's jobs per slot: before the call by these wall-clock minutes, and the question after it.
NAIVE_KINDS = (("day_before", 24 * 60), ("soon", 30), ("followup", None))


def _monotonic() -> float:
    # CLOCK_MONOTONIC is one clock for every process on the machine, so a child's reading can be compared with
    # the parent's reading from before the child was spawned.
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _memory() -> dict[str, float]:
    """Resident memory now and at its highest so far, MiB (Linux /proc)."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def _settings(database: str | Path) -> Settings:
    return Settings(token=TOKEN, database_path=str(database), timezone=SCHOOL_ZONE, log_level="WARNING")


# -- the seeded school ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Week:
    """One slot's calls in the seeded state: last week's and the one written out next, with their reminders."""
    previous: datetime
    current: datetime
    previous_dues: tuple[slots.Due, ...]
    current_dues: tuple[slots.Due, ...]


@cache
def _week(slot: slots.Slot, as_of: datetime = BEFORE_PEAK) -> Week:
    # A few hundred distinct slots among 100,000: their times come from bot.video.slots once each, so the seed agrees
    # with what the schedule itself would have written.
    settings = _settings(":memory:")
    offsets = tuple(timedelta(minutes=m) for m in settings.video_reminders)
    followup = timedelta(minutes=settings.video_followup)
    current = slots.next_start(slot, as_of)
    previous = slots.next_start(slot, as_of - timedelta(days=7))
    return Week(previous, current, tuple(slots.plan(slot, previous, offsets, followup)),
                tuple(slots.plan(slot, current, offsets, followup)))


def _pick(rng: random.Random, weights: dict) -> object:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def population(count: int, rng: random.Random,
               as_of: datetime = BEFORE_PEAK) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    """Every row of a school with `count` children, table by table: (columns, rows), in insertion order.

    Each child has a mother (a parent, reachable on Telegram, who consented) and a proxy parent shared with four
    other children, who arranged the weekly call; each class of 40 a teacher, the school one admin. Each child's
    slot is as VideoService.accept leaves it, moved on by the schedule to the state after its run at `as_of`:
    last week's call (answered, unless its question is still to come) and the next one written out, every
    reminder due by then sent and the rest pending."""
    assert set(TIME_WEIGHTS) == set(TIMES) and set(DURATION_WEIGHTS) == set(DURATIONS)
    made, agreed = stamp(PEAK - timedelta(days=30)), stamp(PEAK - timedelta(days=10))
    tables: dict[str, tuple[tuple[str, ...], list[tuple]]] = {
        "schools": (("id", "name", "created_at"), []),
        "classes": (("id", "school_id", "name"), []),
        "people": (("id", "display_name", "created_at"), []),
        "identities": (("person_id", "channel", "external_id"), []),
        "user_preferences": (("user_id", "locale", "timezone", "updated_at"), []),
        "children": (("id", "school_id", "class_id", "created_at", "created_by"), []),
        "child_fields": (("child_id", "field", "value", "updated_at", "updated_by"), []),
        "roles": (("person_id", "role", "school_id", "class_id", "child_id", "relation", "granted_by",
                   "granted_at"), []),
        "consents": (("child_id", "person_id", "decision", "rules_version", "decided_at"), []),
        "video_proposals": (("id", "child_id", "weekday", "start", "minutes", "zone", "room", "side", "proposed_by",
                             "state", "answered_by", "created_at", "answered_at"), []),
        "video_slots": (("id", "child_id", "school_id", "weekday", "start", "minutes", "zone", "room", "arranged_by",
                         "proposal_id", "planned_until", "agreed_at"), []),
        "video_calls": (("id", "child_id", "slot_id", "starts_at", "minutes", "zone", "room", "outcome", "reason",
                         "recorded_by", "recorded_at"), []),
        "video_reminders": (("call_id", "kind", "offset_s", "due_at", "earliest_at", "latest_at", "state", "done_at"),
                            []),
    }

    def add(table: str, *row) -> None:
        tables[table][1].append(row)

    ids = itertools.count(1)

    def person(name: str) -> int:
        person_id = next(ids)
        add("people", person_id, name, made)
        add("identities", person_id, CHANNEL, str(TELEGRAM_IDS + person_id))
        return person_id

    def reminders(call_id: int, dues: tuple[slots.Due, ...]) -> bool:
        """Writes the call's reminders; whether its question is still pending."""
        for due in dues:
            sent = due.at <= as_of
            add("video_reminders", call_id, due.kind, int(due.offset.total_seconds()) if due.offset else 0,
                stamp(due.at), stamp(due.earliest), stamp(due.latest), "sent" if sent else "pending",
                stamp(due.at) if sent else None)
        return any(due.kind == slots.FOLLOWUP and due.at > as_of for due in dues)

    add("schools", 1, "希望小学", made)
    admin = person("校长")
    add("roles", admin, "admin", 1, None, None, None, None, made)
    for class_id in range(1, -(-count // CLASS_SIZE) + 1):
        add("classes", class_id, 1, f"{class_id:04d}班")
        add("roles", person(f"老师{class_id}"), "teacher", 1, class_id, None, None, admin, made)
    proxies = [person(f"代理家长{n + 1}") for n in range(-(-count // CHILDREN_PER_PROXY))]

    for child in range(1, count + 1):
        proxy = proxies[(child - 1) // CHILDREN_PER_PROXY]
        add("children", child, 1, (child - 1) // CLASS_SIZE + 1, made, admin)
        add("child_fields", child, "name", f"孩子{child}", made, admin)
        mother = person(f"妈妈{child}")
        add("roles", mother, "parent", 1, None, child, "mother", admin, made)
        add("roles", proxy, "proxy", 1, None, child, None, admin, made)
        add("consents", child, mother, "given", RULES_VERSION, made)
        # Most mothers have chosen a language (joining stores it); a few work abroad and set their zone.
        if rng.random() < 0.95:
            abroad = rng.random() < 0.02
            add("user_preferences", TELEGRAM_IDS + mother, "zh_CN" if rng.random() < 0.97 else "en",
                rng.choice(("Asia/Dubai", "Europe/Rome", "Asia/Tokyo")) if abroad else None, made)

        zone = rng.choice(OTHER_ZONES) if rng.random() < OTHER_ZONE_SHARE else SCHOOL_ZONE
        weekday = rng.choices(range(7), weights=WEEKDAY_WEIGHTS)[0]
        start, minutes = _pick(rng, TIME_WEIGHTS), _pick(rng, DURATION_WEIGHTS)
        slot = slots.Slot(weekday, clock_time.fromisoformat(start), minutes, zone)
        week = _week(slot, as_of)
        # The family room holds one call at a time, so only a few dozen slots could use it: all are from home.
        add("video_proposals", child, child, weekday, start, minutes, zone, None, "carer", proxy, "accepted", mother,
            made, agreed)
        add("video_slots", child, child, 1, weekday, start, minutes, zone, None, proxy, child, stamp(week.current),
            agreed)
        previous_call, current_call = 2 * child - 1, 2 * child
        if reminders(previous_call, week.previous_dues):
            outcome = (None, None, None, None)
        else:
            answered = stamp(week.previous + timedelta(minutes=minutes + 20))
            outcome = ("done", None, proxy, answered) if rng.random() < 0.9 else ("missed", "busy", proxy, answered)
        add("video_calls", previous_call, child, child, stamp(week.previous), minutes, zone, None, *outcome)
        add("video_calls", current_call, child, child, stamp(week.current), minutes, zone, None, None, None, None,
            None)
        reminders(current_call, week.current_dues)
    return tables


@dataclass(frozen=True)
class Seeded:
    slots: int
    seconds: float
    megabytes: float
    busiest: tuple[int, str, str, int]   # weekday, start, zone, slots
    due: dict[str, int]                  # reminders pending and due by PEAK, by kind
    to_plan: int                         # slots whose next call is written out at PEAK
    reused: bool                         # found already seeded in the work directory


SEED_KEY = "bench_video_seed"


async def seed(path: Path, count: int, rng_seed: int, as_of: datetime = BEFORE_PEAK) -> Seeded:
    """The school in one transaction, one executemany per table; reused when `path` already holds this seed."""
    started = time.perf_counter()
    db = await Database.open(path)
    try:
        await db.migrate()
        wanted = f"{count}:{rng_seed}:{stamp(as_of)}"
        row = await db.fetch_one("SELECT value FROM settings_kv WHERE key = ?", (SEED_KEY,))
        reused = row is not None
        if row is None:
            if await db.fetch_one("SELECT 1 FROM children LIMIT 1"):
                raise SystemExit(f"{path} holds another database; remove it or choose another --dir")
            tables = population(count, random.Random(rng_seed), as_of)
            async with db.transaction() as conn:
                for table, (columns, rows) in tables.items():
                    await conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                                           f"VALUES ({', '.join('?' * len(columns))})", rows)
                await conn.execute("INSERT INTO settings_kv (key, value) VALUES (?, ?)", (SEED_KEY, wanted))
            del tables
        elif row["value"] != wanted:
            raise SystemExit(f"{path} was seeded with {row['value']} (slots:seed:as of), not {wanted}")
        seconds = time.perf_counter() - started
        busiest = await db.fetch_one("SELECT weekday, start, zone, COUNT(*) AS n FROM video_slots "
                                     "GROUP BY weekday, start, zone ORDER BY n DESC LIMIT 1")
        due = await db.fetch_all(
            "SELECT kind, offset_s, COUNT(*) AS n FROM video_reminders WHERE state = 'pending' AND due_at <= ? "
            "GROUP BY kind, offset_s", (stamp(PEAK),))
        to_plan = await db.fetch_one("SELECT COUNT(*) AS n FROM video_slots WHERE planned_until <= ?", (stamp(PEAK),))
        await db.checkpoint()
    finally:
        await db.close()
    return Seeded(count, seconds, path.stat().st_size / 2**20, tuple(busiest),
                  {_kind_name(r["kind"], r["offset_s"]): r["n"] for r in due}, to_plan["n"], reused)


def _kind_name(kind: str, offset_s: int) -> str:
    if kind == slots.FOLLOWUP:
        return "followup"
    return "day_before" if offset_s >= 12 * 3600 else "soon"


# -- our design -------------------------------------------------------------------------------------------------

async def ours(database: str) -> dict:
    """Start as bot.runtime.runner.run_bot does (without the intake and the sender), then time run_due at a moment when
    nothing is due and at the peak minute."""
    main_at = _monotonic()
    clock = FixedClock(BEFORE_PEAK)
    app = build_application(_settings(database), clock=clock, request=RecordingRequest(), register_commands=False)
    async with initialized(app):
        await app.start()
        try:
            app.job_queue.run_repeating(maintenance_job, interval=timedelta(hours=1), first=timedelta(seconds=30))
            app.job_queue.run_repeating(schedule_job, interval=timedelta(seconds=SCHEDULE_INTERVAL),
                                        first=timedelta(seconds=2), name="schedule")
            ready_at = _monotonic()
            memory = _memory()
            jobs = len(app.job_queue.jobs())
            # From here on the timed calls are the only ones: the schedule job must not run beside them.
            app.job_queue.scheduler.pause()
            video, db = app.bot_data.services.video, app.bot_data.services.db

            started = time.perf_counter()
            quiet_handled = await video.run_due()
            quiet = time.perf_counter() - started

            clock.set(PEAK)
            outbox, calls = await _count(db, "outbox"), await _count(db, "video_calls")
            started = time.perf_counter()
            handled = await video.run_due()
            peak = time.perf_counter() - started
            written = await _count(db, "outbox") - outbox
            planned = await _count(db, "video_calls") - calls
            # Anything due by the peak and still pending after the run would be a reminder the run missed.
            left = await db.fetch_one("SELECT COUNT(*) FROM video_reminders WHERE state = 'pending' AND due_at <= ?",
                                      (stamp(PEAK),))
        finally:
            await app.stop()
    return {"main_at": main_at, "ready_at": ready_at, "memory": memory, "jobs": jobs, "quiet_s": quiet,
            "quiet_handled": quiet_handled, "peak_s": peak, "handled": handled, "outbox_rows": written,
            "calls_written": planned, "lost": left[0], "memory_after": _memory()}


async def _count(db: Database, table: str) -> int:
    row = await db.fetch_one(f"SELECT COUNT(*) FROM {table}")
    return row[0]


# -- the naive design -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NaiveReminder:
    """What one naive job carries: which slot, and which of its messages it sends."""
    slot_id: int
    child_id: int
    kind: str                    # day_before, soon, followup
    before: timedelta | None     # how long before the start it fires; None: the question after the call
    minutes: int
    room: str | None
    arranged_by: int | None


def naive_times(weekday: int, start: str, minutes: int, followup: int) -> list[tuple[str, int, int, int]]:
    """Each job's weekly (weekday, hour, minute) on the slot's wall clock, by plain arithmetic on the minutes of
    the week, as a bot without our slot code would do it (and wrong by an hour across a DST change)."""
    hour, minute = (int(part) for part in start.split(":"))
    at = (weekday * 24 + hour) * 60 + minute
    found = []
    for kind, before in NAIVE_KINDS:
        fire = (at - before if before is not None else at + minutes + followup) % (7 * 24 * 60)
        found.append((kind, fire // (24 * 60), fire // 60 % 24, fire % 60))
    return found


async def naive_reminder_job(context: BotContext) -> None:
    """One slot's reminder or question, when its own job fires: find the people, write their messages in a
    transaction of its own. The lookups are VideoService's own (its _carer and _family, as _messages uses
    them), so the two designs differ in how the due work is found and batched, not in the queries per child."""
    job: NaiveReminder = context.job.data
    services = context.services
    video = services.video
    now = services.clock.now().replace(second=0, microsecond=0)
    start = now + job.before if job.before is not None else now - timedelta(minutes=job.minutes) - video.followup
    child = await ChildrenRepository(services.db).get(job.child_id)
    if child is None:
        return
    carer = await video._carer(child, job.arranged_by)
    key = f"naive:{job.slot_id}:{job.kind}:{stamp(start)}"
    notices = []
    if job.before is None:
        if carer is None:
            return
        _ = translator(carer.locale).gettext
        text = _("📹 Did {child}'s video call at {time} happen?").format(
            child=child.name, time=moment_text(start, carer.locale, carer.zone))
        notices = [Notice(f"{key}:{carer.person_id}", carer.person_id, text,
                          actions=question_actions(_, job.slot_id), child_id=child.id)]
    else:
        people = await video._family(child)
        if carer is not None and all(reader.person_id != carer.person_id for reader in people):
            people.append(carer)
        for reader in people:
            _ = translator(reader.locale).gettext
            text = (_("⏰ Soon: {child}'s video call at {time}, {minutes} min, {place}.") if job.kind == "soon" else
                    _("📅 Reminder: {child}'s video call is on {time}, {minutes} min, {place}.")).format(
                child=child.name, time=moment_text(start, reader.locale, reader.zone), minutes=job.minutes,
                place=place_text(_, job.room))
            notices.append(Notice(f"{key}:{reader.person_id}", reader.person_id, text, deadline=start,
                                  child_id=child.id))
    async with services.db.transaction() as conn:
        await services.outbox.post(conn, notices)


async def _load_naive_jobs(app, kinds: int, late: bool) -> None:
    """At start-up: every slot in the database becomes `kinds` jobs, each with its own CronTrigger. `late`: the
    jobs run however late they start, instead of APScheduler's default of dropping a run over 1 s late."""
    services = app.bot_data.services
    rows = await services.db.fetch_all(
        "SELECT id, child_id, weekday, start, minutes, zone, room, arranged_by FROM video_slots ORDER BY id")
    befores = dict(NAIVE_KINDS)
    grace = {"misfire_grace_time": None} if late else {}
    for row in rows:
        zone = ZoneInfo(row["zone"])
        times = naive_times(row["weekday"], row["start"], row["minutes"], services.settings.video_followup)
        for kind, weekday, hour, minute in times[:kinds]:
            before = befores[kind]
            data = NaiveReminder(row["id"], row["child_id"], kind,
                                 timedelta(minutes=before) if before is not None else None, row["minutes"],
                                 row["room"], row["arranged_by"])
            app.job_queue.run_custom(
                naive_reminder_job, data=data, name=f"video:{row['id']}:{kind}",
                job_kwargs={"trigger": CronTrigger(day_of_week=weekday, hour=hour, minute=minute, timezone=zone),
                            **grace})


class SchedulerClock(datetime):
    """APScheduler reads the time only through `datetime.now()` in its scheduler and executor modules; this class
    stands in for `datetime` there, so the naive design's jobs fire at the seeded peak minute instead of on
    today's date. Frozen at a moment, or running like real time from a chosen moment, never past `ceiling`
    (so the jobs of the next minute never come due while the peak is measured)."""

    frozen: datetime | None = None
    shift = timedelta(0)
    ceiling: datetime | None = None

    @classmethod
    def now(cls, tz=None):
        if cls.frozen is not None:
            moment = cls.frozen
        else:
            moment = datetime.now(timezone.utc) + cls.shift
            moment = min(moment, cls.ceiling) if cls.ceiling else moment
        return moment.astimezone(tz) if tz else moment

    @classmethod
    def install(cls, frozen: datetime) -> None:
        cls.frozen = frozen
        apscheduler.schedulers.base.datetime = cls
        apscheduler.executors.base.datetime = cls

    @classmethod
    def run_from(cls, moment: datetime, ceiling: datetime) -> None:
        cls.shift = moment - datetime.now(timezone.utc)
        cls.ceiling = ceiling
        cls.frozen = None


async def naive(database: str, kinds: int, late: bool) -> dict:
    """Load a job per slot and kind at start-up, then let APScheduler fire the peak minute's jobs itself."""
    main_at = _monotonic()
    clock = FixedClock(BEFORE_PEAK)
    SchedulerClock.install(BEFORE_PEAK)
    app = build_application(_settings(database), clock=clock, request=RecordingRequest(), register_commands=False)
    async with initialized(app):
        loading_at = _monotonic()
        await _load_naive_jobs(app, kinds, late)
        maintenance = app.job_queue.run_repeating(maintenance_job, interval=timedelta(hours=1),
                                                  first=timedelta(seconds=30))
        starting_at = _monotonic()
        await app.start()  # the scheduler starts: here every job's first run time is computed and stored
        try:
            ready_at = _monotonic()
            memory = _memory()
            scheduler = app.job_queue.scheduler
            loaded = len(scheduler.get_jobs())
            # Its first run would fall at the peak minute too (30 s after the start); in ours it does not run
            # beside the timed calls either.
            maintenance.schedule_removal()
            firing = {job.id for job in scheduler.get_jobs() if job.next_run_time == PEAK}
            db = app.bot_data.services.db
            outbox = await _count(db, "outbox")

            outcomes: Counter = Counter()
            finished = asyncio.Event()

            def count(event) -> None:
                if event.job_id in firing and event.scheduled_run_time == PEAK:
                    outcomes[event.code] += 1
                    if sum(outcomes.values()) == len(firing):
                        finished.set()

            scheduler.add_listener(count, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
            # How long the scheduler holds the event loop in one pass over its due jobs: a job it submits waits
            # for the pass to end, and APScheduler drops a run that starts over misfire_grace_time (1 s) late.
            passes: list[float] = []
            process_jobs = scheduler._process_jobs

            def timed_pass():
                started = time.perf_counter()
                try:
                    return process_jobs()
                finally:
                    passes.append(time.perf_counter() - started)

            scheduler._process_jobs = timed_pass
            lead = 2.0
            clock.set(PEAK)
            SchedulerClock.run_from(PEAK - timedelta(seconds=lead), ceiling=PEAK + timedelta(seconds=59))
            peak_at = time.perf_counter() + lead
            scheduler.wakeup()
            await asyncio.wait_for(finished.wait(), timeout=3600)
            peak = time.perf_counter() - peak_at
            written = await _count(db, "outbox") - outbox
        finally:
            await app.stop()
    return {"main_at": main_at, "ready_at": ready_at, "memory": memory, "jobs": loaded,
            "quiet_s": None, "peak_s": peak, "handled": outcomes[EVENT_JOB_EXECUTED], "firing": len(firing),
            "lost": outcomes[EVENT_JOB_MISSED], "errors": outcomes[EVENT_JOB_ERROR], "outbox_rows": written,
            "longest_pass_s": max(passes, default=0.0), "memory_after": _memory(),
            "load_s": starting_at - loading_at, "scheduler_start_s": ready_at - starting_at}


# -- arrivals: when each reminder reaches its reader at the peak ----------------------------------------------

# The Sunday evening, from before the first window of the busy hours opens until after the last one closes: the
# schedule as left at 17:29:30, then four hours of the dispatcher and the outbox on a simulated clock.
ARRIVALS_FROM = PEAK - timedelta(hours=1, seconds=SCHEDULE_INTERVAL)
ARRIVALS_TO = PEAK + timedelta(hours=3, minutes=30)
STEP = 5  # seconds of simulated sending per reading of the outbox


async def arrivals(database: str, hand_over: str) -> dict:
    """The dispatcher as the JobQueue runs it (VideoService.run_due every 30 s) and the outbox's order as the
    sender reads it (OutboxRepository.due, quiet hours decided by Outbox.held_until), on a simulated clock.
    Sending itself is simulated: at the rate left to reminders (SEND_RATE less the interactive share, 20 a
    second at the default 25), each row taking 1/rate seconds, with no network. `hand_over`: "windows" (ours,
    bot.deadlines) or "nominal" (each reminder handed over at its own time, as before windows)."""
    settings = _settings(database)
    clock = FixedClock(ARRIVALS_FROM)
    services = await open_services(settings, clock)
    video, outbox, db = services.video, services.outbox, services.db
    rate = deadlines.reminder_rate(settings.send_rate)
    if hand_over == "nominal":
        async def at_their_time(now: datetime) -> list[int]:
            ids = []
            for window in sorted(await video.repo.upcoming(stamp(now)), key=lambda w: (w.due_at, w.latest_at)):
                if window.due_at <= stamp(now):
                    ids += await video.repo.pending_in(window, window.count)
            return ids
        video._to_hand_over = at_their_time
    started = time.perf_counter()
    now, next_run, held, runs = ARRIVALS_FROM, ARRIVALS_FROM, 0, 0
    dispatch_s = 0.0
    try:
        while now < ARRIVALS_TO:
            clock.set(now)
            if now >= next_run:
                began = time.perf_counter()
                await video.run_due()
                dispatch_s = max(dispatch_s, time.perf_counter() - began)
                runs += 1
                next_run += timedelta(seconds=SCHEDULE_INTERVAL)
            sent = []
            for row in await outbox.repo.due(stamp(now), limit=int(rate * STEP)):
                until = await outbox.held_until(row, now)
                if until is not None:
                    await outbox.repo.hold(row.id, stamp(until), stamp(now))
                    held += 1
                    continue
                sent.append((stamp(now + timedelta(seconds=(len(sent) + 1) / rate)), row.id))
            async with db.transaction() as conn:
                await conn.executemany("UPDATE outbox SET state = 'sent', sent_at = ?1, "
                                       "late = (due_by IS NOT NULL AND due_by < ?1) WHERE id = ?2", sent)
            now += timedelta(seconds=STEP)
        simulated_s = time.perf_counter() - started
        rows = await db.fetch_all("SELECT dedupe_key, state, sent_at, held_at FROM outbox WHERE dedupe_key LIKE 'video:%'")
        by_reminder: dict[int, list] = {}
        for r in rows:
            by_reminder.setdefault(int(r["dedupe_key"].split(":")[1]), []).append(r)
        windows = await db.fetch_all(
            "SELECT r.id, r.kind, r.offset_s, r.earliest_at, r.latest_at, c.starts_at FROM video_reminders r "
            "JOIN video_calls c ON c.id = r.call_id WHERE r.earliest_at >= ? AND r.latest_at <= ?",
            (stamp(ARRIVALS_FROM), stamp(ARRIVALS_TO)))
    finally:
        await db.close()
    kinds: dict[str, dict] = {}
    for w in windows:
        kind = kinds.setdefault(_kind_name(w["kind"], w["offset_s"]), {
            "reminders": 0, "messages": 0, "inside": 0, "early": 0, "late": 0, "unsent": 0, "quiet": 0,
            "before_call_min": []})
        kind["reminders"] += 1
        for message in by_reminder.get(w["id"], []):
            kind["messages"] += 1
            if message["held_at"] is not None:
                kind["quiet"] += 1  # waited for its reader's quiet hours: when it arrives is their choice
            elif message["state"] != "sent":
                kind["unsent"] += 1
            elif message["sent_at"] < w["earliest_at"]:
                kind["early"] += 1
            elif message["sent_at"] > w["latest_at"]:
                kind["late"] += 1
            else:
                kind["inside"] += 1
            if message["state"] == "sent" and message["held_at"] is None:
                kind["before_call_min"].append(
                    (datetime.fromisoformat(w["starts_at"]) - datetime.fromisoformat(message["sent_at"])
                     ).total_seconds() / 60)
    for kind in kinds.values():
        spread = sorted(kind.pop("before_call_min"))
        # The first to arrive is the one most minutes before its call.
        kind["spread"] = [spread[-1], spread[len(spread) // 2], spread[0]] if spread else []
    return {"hand_over": hand_over, "rate": rate, "runs": runs, "held": held, "kinds": kinds,
            "simulated_s": simulated_s, "dispatch_max_s": dispatch_s}


def _arrivals_report(results: list[dict], slots_count: int) -> None:
    print(f"arrivals, Sunday {ARRIVALS_FROM.astimezone(ZoneInfo(SCHOOL_ZONE)):%H:%M:%S}–"
          f"{ARRIVALS_TO.astimezone(ZoneInfo(SCHOOL_ZONE)):%H:%M} {SCHOOL_ZONE}, {slots_count:,} slots, reminders "
          f"whose window lies in that time; sending simulated at {results[0]['rate']:.0f}/s")
    print(f"{'hand-over':10} {'kind':11} {'reminders':>9} {'messages':>8} {'inside':>8} {'early':>6} {'late':>6} "
          f"{'unsent':>6} {'quiet':>6}  minutes before the call (first, median, last)")
    names = {"day_before": "day before", "soon": "30 min", "followup": "question"}
    for r in results:
        for kind in ("day_before", "soon", "followup"):
            k = r["kinds"].get(kind)
            if not k:
                continue
            timed = k["messages"] - k["quiet"]
            share = f"{100 * k['inside'] / timed:7.2f}%" if timed else f"{'-':>8}"
            spread = ", ".join(f"{m:.1f}" for m in k["spread"])
            print(f"{r['hand_over']:10} {names[kind]:11} {k['reminders']:9,} {k['messages']:8,} {share} "
                  f"{k['early']:6,} {k['late']:6,} {k['unsent']:6,} {k['quiet']:6,}  {spread}")
        print(f"  {r['hand_over']}: {r['runs']} dispatcher runs, the longest {r['dispatch_max_s']:.2f} s; "
              f"{r['simulated_s']:.0f} s to simulate")
    ours = next((r for r in results if r["hand_over"] == "windows"), None)
    if ours:
        soon, day = ours["kinds"].get("soon", {}), ours["kinds"].get("day_before", {})
        met = all(k and k["inside"] == k["messages"] - k["quiet"] for k in (soon, day))
        print(f"target: 100% of '30 minutes before' inside [T-40, T-25 min] and of 'the day before' inside "
              f"[T-26 h, T-23 h]: {'met' if met else 'NOT met'}")


# -- the run ----------------------------------------------------------------------------------------------------

def _spawn(design: str, database: Path, kinds: int, log: Path) -> dict:
    """One design in a fresh process; start-up counted from just before the spawn."""
    command = [sys.executable, "-m", "bench.video", "--worker", design, "--kinds", str(kinds), str(database)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as errors:
        spawned_at = _monotonic()
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {design} process failed ({done.returncode}); see {log}")
    result = json.loads(done.stdout.decode().splitlines()[-1])
    result["startup_s"] = result["ready_at"] - spawned_at
    result["imports_s"] = result["main_at"] - spawned_at
    return result


def _remove(database: Path) -> None:
    for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        path.unlink(missing_ok=True)


DESIGNS = {
    "ours": "ours: database + one 30 s job",
    "naive": "naive, APScheduler's defaults",
    "naive-late": "naive, runs however late",
}


def _report(seeded: Seeded, results: dict[str, dict], kinds: int, total: float) -> None:
    weekday, start, zone, busiest = seeded.busiest
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    how = "reused from an earlier run" if seeded.reused else f"seeded in {seeded.seconds:.1f} s"
    print(f"video schedule: {seeded.slots:,} weekly slots, {how} ({seeded.megabytes:.0f} MiB database); "
          f"busiest time {days[weekday]} {start} {zone}: {busiest:,} slots; naive: {kinds} job(s) a slot")
    due = ", ".join(f"{n:,} {kind}" for kind, n in sorted(seeded.due.items()))
    print(f"peak minute {PEAK.astimezone(ZoneInfo(SCHOOL_ZONE)):%a %Y-%m-%d %H:%M} {SCHOOL_ZONE}: "
          f"{sum(seeded.due.values()):,} reminders due ({due}); {seeded.to_plan:,} slots' next calls to write out")
    print(f"{'design':31} {'jobs':>8} {'start-up':>9} {'imports':>8} {'RSS':>8} {'HWM':>8} {'quiet':>8} "
          f"{'peak':>8} {'handled':>8} {'lost':>6} {'outbox':>7} {'rows/s':>7}")
    for design, r in results.items():
        quiet = f"{r['quiet_s'] * 1000:6.1f}ms" if r["quiet_s"] is not None else f"{'-':>8}"
        print(f"{DESIGNS[design]:31} {r['jobs']:8,} {r['startup_s']:8.2f}s {r['imports_s']:7.2f}s "
              f"{r['memory']['VmRSS']:6.0f}Mi {r['memory']['VmHWM']:6.0f}Mi {quiet} {r['peak_s']:7.2f}s "
              f"{r['handled']:8,} {r['lost']:6,} {r['outbox_rows']:7,} {r['outbox_rows'] / r['peak_s']:7.0f}")
    for design, r in results.items():
        if design == "ours":
            detail = (f"the quiet run handled {r['quiet_handled']} reminders; wrote out {r['calls_written']:,} calls "
                      f"at the peak")
        else:
            detail = (f"{r['load_s']:.1f} s reading slots and adding jobs, {r['scheduler_start_s']:.1f} s starting "
                      f"the scheduler; {r['firing']:,} jobs due at the peak, longest scheduler pass "
                      f"{r['longest_pass_s']:.2f} s, {r['errors']} errors")
        print(f"  {design}: {detail}; RSS after the peak {r['memory_after']['VmRSS']:.0f} MiB")
    if "ours" in results:
        mine = results["ours"]
        met = mine["startup_s"] < 2 and mine["memory"]["VmRSS"] < 150
        print(f"targets for ours at {seeded.slots:,} slots: start-up < 2 s, memory < 150 MB: "
              f"{'met' if met else 'NOT met'}")
    print(f"({total:.0f} s in all)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench video", description=__doc__)
    parser.add_argument("--slots", type=int, default=100_000, help="children, each with one weekly slot")
    parser.add_argument("--seed", type=int, default=6, help="random seed of the population")
    parser.add_argument("--dir", type=Path, help="work directory (default: a new temporary one); a seeded "
                        "database found there for the same --slots and --seed is reused")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and each design's database")
    parser.add_argument("--kinds", type=int, choices=(1, 2, 3), default=3,
                        help="naive jobs per slot: day-before, soon, followup (the first N)")
    parser.add_argument("--designs", default=",".join(DESIGNS),
                        help=f"which to run, comma-separated, from {', '.join(DESIGNS)} (default: all)")
    parser.add_argument("--arrivals", default="windows,nominal",
                        help="when reminders reach their readers on the Sunday evening, for these ways of handing "
                        "them over, comma-separated: windows (ours), nominal (each at its own time); 'none' skips")
    parser.add_argument("--worker", choices=tuple(DESIGNS), help=argparse.SUPPRESS)
    parser.add_argument("database", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        configure_logging("WARNING", token=TOKEN)
        work = (ours(args.database) if args.worker == "ours"
                else naive(args.database, args.kinds, late=args.worker == "naive-late"))
        print(json.dumps(asyncio.run(work)))
        return 0
    designs = [d.strip() for d in args.designs.split(",") if d.strip() and d.strip() != "none"]
    if set(designs) - set(DESIGNS):
        parser.error(f"--designs: choose from {', '.join(DESIGNS)}, or none")
    hand_overs = [h.strip() for h in args.arrivals.split(",") if h.strip() and h.strip() != "none"]
    if set(hand_overs) - {"windows", "nominal"}:
        parser.error("--arrivals: choose from windows, nominal, or none")

    started = time.monotonic()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="qinqing-video-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = {}
        if designs:
            seeded = asyncio.run(seed(workdir / "seed.sqlite3", args.slots, args.seed))
            print(f"{'reused' if seeded.reused else 'seeded'} {seeded.slots:,} slots in {seeded.seconds:.1f} s",
                  flush=True)
            # One throw-away process first, so that no design pays for a cold page cache of the interpreter and
            # the libraries.
            subprocess.run([sys.executable, "-c", "import bench.video"], cwd=ROOT, check=True)
        for design in designs:
            copy = workdir / f"{design}.sqlite3"
            _remove(copy)   # a WAL left by an interrupted run would be replayed onto the fresh copy
            shutil.copyfile(workdir / "seed.sqlite3", copy)   # every design starts from identical data
            results[design] = _spawn(design, copy, args.kinds, workdir / f"{design}.log")
            if not args.keep:
                _remove(copy)
            print(f"{design}: done", flush=True)
        if results:
            _report(seeded, results, args.kinds, time.monotonic() - started)
        if hand_overs:
            evening = workdir / "arrivals-seed.sqlite3"
            asyncio.run(seed(evening, args.slots, args.seed, ARRIVALS_FROM))
            found = []
            for hand_over in hand_overs:
                copy = workdir / f"arrivals-{hand_over}.sqlite3"
                _remove(copy)
                shutil.copyfile(evening, copy)
                configure_logging("ERROR", token=TOKEN)  # a late reminder is counted below, not logged 10,000 times
                found.append(asyncio.run(arrivals(str(copy), hand_over)))
                (workdir / f"arrivals-{hand_over}.json").write_text(json.dumps(found[-1]))
                if not args.keep:
                    _remove(copy)
                print(f"arrivals {hand_over}: done", flush=True)
            _arrivals_report(found, args.slots)
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work directory: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
