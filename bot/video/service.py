"""The weekly family video call (亲情视频): a carer proposes a weekly time, a parent accepts it or answers with
another; the agreed time becomes calls, each with reminders before it and a question to the carer after it;
the carer's answer (done, missed and why, moved to another day) is the record teachers see in /videos.

The database is the schedule. `run_due` (a JobQueue job every 30 s) writes out the next call of every slot
whose latest call has begun, then hands each due reminder to the outbox and marks it sent, or skipped when it
comes too late to help, in the same transaction: downtime delays a reminder but cannot lose it, and a restart
cannot send it twice. Times come from bot.video.slots (APScheduler's CronTrigger in the slot's zone); each person
reads them in their own zone. Knows nothing of Telegram.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from functools import cache

from babel import Locale
from babel.dates import format_date, format_skeleton

from bot.video import slots
from bot.clock import Clock
from bot.access.consent import ConsentService
from bot.i18n import N_, translator
from bot.notices import Outbox
from bot.access.people import AlreadyAcknowledged, Actor, NoConsent, NotAllowed
from bot.access.policy import ADMIN, FAMILY_ROLES, PROXY, TEACHER, reaches, roles_for
from bot.preferences import PreferencesService
from bot.settings import Settings
from storage.audit import AuditRepository
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.outbox import Outgoing
from storage.people import PeopleRepository
from storage.preferences import PreferencesRepository
from storage.video import Call, DueReminder, Proposal, SlotRow, VideoRepository

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ARRANGERS = (ADMIN, TEACHER, PROXY)
CARER, FAMILY = "carer", "family"
DONE, MISSED, MOVED, CANCELLED = "done", "missed", "moved", "cancelled"
REASONS = {"busy": N_("the parent was busy"), "network": N_("no network"), "unwell": N_("the child was unwell"),
           "other": N_("another reason")}
DURATIONS = (15, 20, 30, 45)
# Times offered as buttons (the family's evening after a shift, the weekend's daytime); any other can be typed.
TIMES = ("08:00", "10:00", "12:00", "12:30", "17:00", "18:00", "18:30", "19:00", "19:30", "20:00", "20:30", "21:00")
# Work in batches so one transaction never holds the database for long at a busy minute.
PLAN_BATCH, SEND_BATCH = 500, 200
# After downtime only calls that can still be asked about are written out; older weeks are left unwritten.
CATCH_UP = slots.FOLLOWUP_SHELF_LIFE + timedelta(hours=slots.MAX_MINUTES // 60 + 1)
PROPOSE, ANSWER = "vp", "vc"   # callback data prefixes of the buttons in messages the outbox sends


class NoFamily(Exception):
    """No parent or guardian of the child can be reached yet: there is nobody to agree a time with."""


@dataclass(frozen=True)
class Sent:
    proposal_id: int
    child_name: str
    recipients: list[str]      # names of the people asked


@dataclass(frozen=True)
class Agreed:
    child_name: str
    slot: slots.Slot
    room: str | None
    first: datetime            # UTC


@dataclass(frozen=True)
class VideoState:
    """What /video shows for one child."""
    child: ChildRow
    slot: SlotRow | None
    proposal: Proposal | None
    next_call: Call | None
    recent: list[Call]
    may_arrange: bool


@dataclass(frozen=True)
class WeekRow:
    child: ChildRow
    status: str                # done, missed, unconfirmed, upcoming, next_week, proposed, none
    call: Call | None


@dataclass(frozen=True)
class Week:
    start: date                # Monday, in the school's zone
    rows: list[WeekRow]


class VideoService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository,
                 consent: ConsentService, outbox: Outbox, preferences: PreferencesService, clock: Clock,
                 settings: Settings) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._consent = consent
        self._outbox = outbox
        self._preferences = preferences
        self._prefs = PreferencesRepository(db)
        self._clock = clock
        self._zone = settings.timezone
        self.rooms = settings.family_rooms
        self.offsets = tuple(timedelta(minutes=m) for m in settings.video_reminders)
        self.followup = timedelta(minutes=settings.video_followup)
        self.repo = VideoRepository(db)
        # While run_due works through a busy minute: each person's chat, language and zone, and who reaches each
        # child, are read once rather than once per reminder. None outside a run, so a change made between
        # runs (a new zone, a role removed) is always seen.
        self._memo: dict | None = None

    def _now(self) -> datetime:
        return self._clock.now()

    # -- whose children -------------------------------------------------------------------------------------

    async def children(self, actor: Actor) -> list[ChildRow]:
        """Every child this person reaches, by name."""
        return await self._children.reached_by(actor.grants)

    async def _child(self, actor: Actor, child_id: int, wanted: tuple[str, ...]) -> ChildRow:
        """The child, if this person has one of the `wanted` roles for it and its family has consented."""
        child = await self._children.get(child_id)
        if child is None or actor.person_id is None or not roles_for(actor.grants, child.place) & set(wanted):
            raise NotAllowed("video")
        if not await self._consent.consented(child.id):
            raise NoConsent(child.name)
        return child

    async def state(self, actor: Actor, child_id: int) -> VideoState:
        child = await self._child(actor, child_id, (*ARRANGERS, *FAMILY_ROLES))
        now = _iso(self._now())
        return VideoState(child, await self.repo.slot(child.id), await self.repo.open_proposal(child.id),
                          await self.repo.next_call(child.id, now), await self.repo.recent_calls(child.id, now),
                          bool(roles_for(actor.grants, child.place) & set(ARRANGERS)))

    # -- agreeing a time ------------------------------------------------------------------------------------

    async def propose(self, actor: Actor, child_id: int, weekday: int, hhmm: str, minutes: int,
                      room: str | None, zone: str | None = None) -> Sent:
        """A carer proposes a weekly time to the child's parents and guardians, who answer with buttons."""
        child = await self._child(actor, child_id, ARRANGERS)
        slot = slots.parse_slot(weekday, hhmm, minutes, zone or self._zone)
        if room is not None and room not in self.rooms:
            raise slots.SlotError(N_("There is no family room called {room}."), room=room)
        await self._check_room(child, slot, room)
        family = await self._family(child)
        if not family:
            raise NoFamily()
        now = self._now()
        sender = await self._name(actor.person_id)
        async with self._db.transaction() as conn:
            proposal_id = await VideoRepository.add_proposal(
                conn, child.id, slot.weekday, _hhmm(slot.start), slot.minutes, slot.zone, room, CARER,
                actor.person_id, _iso(now))
            rows = []
            for person_id, chat, locale, zone_name in family:
                rows += self._proposal_rows(proposal_id, person_id, chat, locale, zone_name, child, slot, room,
                                            sender, now, actor.person_id)
            await self._outbox.add(conn, rows)
            await AuditRepository.record(conn, _iso(now), actor.person_id, child.id, "video_proposed",
                                         f"proposal={proposal_id}")
        log.info("video time proposed for child %s by person %s to %s people", child.id, actor.person_id,
                 len(family))
        return Sent(proposal_id, child.name, [await self._name(person_id) for person_id, *_ in family])

    async def proposal_for_answer(self, actor: Actor, proposal_id: int) -> tuple[Proposal, ChildRow]:
        """The open proposal this person may answer (the side that did not make it)."""
        proposal = await self.repo.proposal(proposal_id)
        if proposal is None:
            raise NotAllowed("video")
        wanted = FAMILY_ROLES if proposal.side == CARER else ARRANGERS
        child = await self._child(actor, proposal.child_id, wanted)
        if proposal.state != "open":
            raise AlreadyAcknowledged()
        return proposal, child

    async def accept(self, actor: Actor, proposal_id: int) -> Agreed:
        """The other side agrees: the time becomes the child's weekly slot, replacing any earlier one."""
        proposal, child = await self.proposal_for_answer(actor, proposal_id)
        slot = slot_of(proposal)
        now = self._now()
        first = slots.next_start(slot, now)
        arranger = proposal.proposed_by if proposal.side == CARER else actor.person_id
        me = await self._name(actor.person_id)
        family = await self._family(child)
        tell = [(p, c, lo, z) for p, c, lo, z in family if p != actor.person_id]
        carer = await self._carer(child, arranger)
        if carer is not None and carer[0] != actor.person_id:
            tell.append(carer)
        async with self._db.transaction() as conn:
            if not await VideoRepository.close_proposal(conn, proposal.id, "accepted", actor.person_id, _iso(now)):
                raise AlreadyAcknowledged()
            # Checked while holding the write lock: two agreements for one room cannot both pass.
            await self._check_room(child, slot, proposal.room)
            await VideoRepository.cancel_upcoming(conn, child.id, _iso(now))
            slot_id = await VideoRepository.put_slot(
                conn, child.id, child.school_id, slot.weekday, _hhmm(slot.start), slot.minutes, slot.zone,
                proposal.room, arranger, proposal.id, _iso(first), _iso(now))
            await self._write_call(conn, child.id, slot_id, slot, proposal.room, first, now, drop_past=True)
            rows = []
            for person_id, chat, locale, zone_name in tell:
                _ = translator(locale).gettext
                text = _("📹 {name} agreed: {child}'s video call is {when}, {minutes} min, {place}. "
                         "The first is {first}.").format(
                    name=me, child=child.name, when=weekly_text(_, slot, zone_name, locale, now),
                    minutes=slot.minutes, place=place_text(_, proposal.room),
                    first=moment_text(first, locale, zone_name))
                rows += Outbox.texts(f"video-agreed:{proposal.id}:{person_id}", CHANNEL, chat, text,
                                     person_id=person_id, child_id=child.id)
            if rows:
                await self._outbox.add(conn, rows)
            await AuditRepository.record(conn, _iso(now), actor.person_id, child.id, "video_agreed",
                                         f"proposal={proposal.id} slot={slot_id}")
        log.info("video slot agreed for child %s (proposal %s)", child.id, proposal.id)
        return Agreed(child.name, slot, proposal.room, first)

    async def counter(self, actor: Actor, proposal_id: int, weekday: int, hhmm: str) -> Sent:
        """The other side answers with another weekly time, given on their own clock; the first side is asked."""
        proposal, child = await self.proposal_for_answer(actor, proposal_id)
        mine = slots.parse_slot(weekday, hhmm, proposal.minutes, await self.zone_of(actor.person_id))
        # The time the person chose on their clock, as the slot's zone reads it: the slot keeps its zone.
        start = slots.local(slots.next_start(mine, self._now()), proposal.zone)
        slot = slots.Slot(start.weekday(), start.time().replace(second=0, microsecond=0), proposal.minutes,
                          proposal.zone)
        await self._check_room(child, slot, proposal.room)
        side = FAMILY if proposal.side == CARER else CARER
        if side == FAMILY:
            other = await self._carer(child, proposal.proposed_by)
            to = [other] if other else []
        else:
            to = await self._family(child)
        if not to:
            raise NoFamily()
        now = self._now()
        me = await self._name(actor.person_id)
        async with self._db.transaction() as conn:
            if not await VideoRepository.close_proposal(conn, proposal.id, "countered", actor.person_id, _iso(now)):
                raise AlreadyAcknowledged()
            new_id = await VideoRepository.add_proposal(conn, child.id, slot.weekday, _hhmm(slot.start),
                                                        slot.minutes, slot.zone, proposal.room, side,
                                                        actor.person_id, _iso(now))
            rows = []
            for person_id, chat, locale, zone_name in to:
                rows += self._proposal_rows(new_id, person_id, chat, locale, zone_name, child, slot, proposal.room,
                                            me, now, actor.person_id)
            await self._outbox.add(conn, rows)
            await AuditRepository.record(conn, _iso(now), actor.person_id, child.id, "video_countered",
                                         f"proposal={proposal.id} new={new_id}")
        return Sent(new_id, child.name, [await self._name(person_id) for person_id, *_ in to])

    def _proposal_rows(self, proposal_id: int, person_id: int, chat: str, locale: str, zone_name: str,
                       child: ChildRow, slot: slots.Slot, room: str | None, sender: str, now: datetime,
                       author_id: int | None) -> list[Outgoing]:
        _ = translator(locale).gettext
        text = _("📹 Weekly video call with {child}\n{name} suggests {when}, {minutes} min, {place}.\n"
                 "Does this time suit you?").format(
            child=child.name, name=sender, when=weekly_text(_, slot, zone_name, locale, now),
            minutes=slot.minutes, place=place_text(_, room))
        markup = {"inline_keyboard": [[{"text": _("✅ Yes, that suits"), "callback_data": f"{PROPOSE}:{proposal_id}:y"},
                                       {"text": _("🕒 Another time"), "callback_data": f"{PROPOSE}:{proposal_id}:n"}]]}
        return Outbox.texts(f"video-proposal:{proposal_id}:{person_id}", CHANNEL, chat, text, reply_markup=markup,
                            person_id=person_id, notify_person_id=author_id, child_id=child.id)

    async def _check_room(self, child: ChildRow, slot: slots.Slot, room: str | None) -> None:
        """Two children's calls cannot share a family room at the same time. The other child is not named:
        a proxy parent may not know who else uses the room."""
        if room is None:
            return
        for other in await self.repo.room_slots(child.school_id, room):
            if other.child_id != child.id and slots.overlaps(slot, slot_of(other), self._now()):
                theirs = slot_of(other)
                end = (datetime.combine(date(2000, 1, 3), theirs.start) + timedelta(minutes=theirs.minutes)).time()
                raise slots.SlotError(N_("{room} is taken then ({start}–{end}). Please choose another time or room."),
                                      room=room, start=_hhmm(theirs.start), end=_hhmm(end), weekday=theirs.weekday)

    # -- the schedule ---------------------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Write out the next calls, then send what is due. Returns the number of reminders handled."""
        now = self._now()
        await self._plan(now)
        handled = 0
        self._memo = {}
        try:
            while True:
                due = await self.repo.due_reminders(_iso(now), SEND_BATCH)
                if not due:
                    return handled
                await self._send(due, now)
                handled += len(due)
        finally:
            self._memo = None

    async def _plan(self, now: datetime) -> None:
        floor = now - CATCH_UP
        while True:
            waiting = await self.repo.slots_to_plan(_iso(now), PLAN_BATCH)
            if not waiting:
                return
            async with self._db.transaction() as conn:
                for row in waiting:
                    slot = slot_of(row)
                    start = slots.next_start(slot, max(_moment(row.planned_until), floor))
                    if await VideoRepository.set_planned(conn, row.id, row.planned_until, _iso(start)):
                        await self._write_call(conn, row.child_id, row.id, slot, row.room, start, now)

    async def _write_call(self, conn, child_id: int, slot_id: int | None, slot: slots.Slot, room: str | None,
                          start: datetime, now: datetime, moved_from: int | None = None,
                          drop_past: bool = False) -> int | None:
        call_id = await VideoRepository.add_call(conn, child_id, slot_id, _iso(start), slot.minutes, slot.zone, room,
                                                 moved_from)
        if call_id is not None:
            dues = slots.plan(slot, start, self.offsets, self.followup)
            # A call agreed or moved at short notice gets only the reminders still ahead; one written out after
            # downtime keeps them all, so that each is either sent or recorded as skipped.
            kept = [d for d in dues if not (drop_past and d.kind == slots.BEFORE and d.at <= now)]
            await VideoRepository.add_reminders(conn, call_id, [
                (d.kind, int(d.offset.total_seconds()) if d.offset else 0, _iso(d.at)) for d in kept])
        return call_id

    async def _send(self, due: list[DueReminder], now: datetime) -> None:
        prepared: list[tuple[DueReminder, str, list[Outgoing]]] = []
        for reminder in due:
            state, rows = await self._messages(reminder, now)
            prepared.append((reminder, state, rows))
        async with self._db.transaction() as conn:
            for reminder, state, rows in prepared:
                # Marked and handed over together: a crash before the commit leaves it pending, after it sent.
                if await VideoRepository.finish_reminder(conn, reminder.id, state, _iso(now)) and rows:
                    await self._outbox.add(conn, rows)
        skipped = sum(1 for _r, state, _rows in prepared if state != "sent")
        if skipped:
            log.info("video reminders: %s of %s too late to help or no longer needed", skipped, len(prepared))

    async def _messages(self, reminder: DueReminder, now: datetime) -> tuple[str, list[Outgoing]]:
        call = reminder.call
        start = _moment(call.starts_at)
        offset = timedelta(seconds=reminder.offset_s) if reminder.kind == slots.BEFORE else None
        due = slots.Due(reminder.kind, start, _moment(reminder.due_at), offset)
        if call.outcome is not None or not slots.still_useful(due, now):
            return ("skipped" if call.outcome is None else "cancelled"), []
        child = await self._children.get(call.child_id)
        if child is None:
            return "cancelled", []
        slot = await self.repo.slot(child.id)
        carer = await self._carer(child, slot.arranged_by if slot else None)
        if reminder.kind == slots.FOLLOWUP:
            return ("sent", self._question_rows(reminder, call, child, carer)) if carer else ("skipped", [])
        people = await self._family(child)
        if carer is not None and all(p != carer[0] for p, *_ in people):
            people.append(carer)
        rows = []
        for person_id, chat, locale, zone_name in people:
            _ = translator(locale).gettext
            soon = offset is not None and offset <= timedelta(hours=2)
            text = (_("⏰ Soon: {child}'s video call at {time}, {minutes} min, {place}.") if soon else
                    _("📅 Reminder: {child}'s video call is on {time}, {minutes} min, {place}.")).format(
                child=child.name, time=moment_text(start, locale, zone_name), minutes=call.minutes,
                place=place_text(_, call.room))
            item = Outbox.texts(f"video:{reminder.id}:{person_id}", CHANNEL, chat, text, person_id=person_id,
                                child_id=child.id)
            # Quiet hours hold a reminder, unless holding it would make it arrive after the call has begun.
            if await self._outbox.not_before(item[0], now) >= start:
                item = [replace(row, urgent=True) for row in item]
            rows += item
        return "sent", rows

    def _question_rows(self, reminder: DueReminder, call: Call, child: ChildRow,
                       carer: tuple[int, str, str, str]) -> list[Outgoing]:
        person_id, chat, locale, zone_name = carer
        _ = translator(locale).gettext
        text = _("📹 Did {child}'s video call at {time} happen?").format(
            child=child.name, time=moment_text(_moment(call.starts_at), locale, zone_name))
        markup = {"inline_keyboard": [
            [{"text": _("✅ Yes, it happened"), "callback_data": f"{ANSWER}:{call.id}:d"}],
            [{"text": _("❌ It was missed"), "callback_data": f"{ANSWER}:{call.id}:m"},
             {"text": _("🔁 Moved to another day"), "callback_data": f"{ANSWER}:{call.id}:v"}]]}
        return Outbox.texts(f"video:{reminder.id}:{person_id}", CHANNEL, chat, text, reply_markup=markup,
                            person_id=person_id, child_id=child.id)

    # -- after the call -------------------------------------------------------------------------------------

    async def call_for_answer(self, actor: Actor, call_id: int) -> tuple[Call, ChildRow]:
        call = await self.repo.call(call_id)
        if call is None:
            raise NotAllowed("video")
        child = await self._child(actor, call.child_id, ARRANGERS)
        return call, child

    async def record(self, actor: Actor, call_id: int, outcome: str, reason: str | None = None) -> Call:
        """The carer says whether the call happened. Once; a missed call brings a gentle word to both sides."""
        call, child = await self.call_for_answer(actor, call_id)
        if outcome not in (DONE, MISSED) or (outcome == MISSED) != (reason in REASONS):
            raise NotAllowed("outcome")
        now = self._now()
        if _moment(call.starts_at) > now:
            raise slots.SlotError(N_("This call has not begun yet; please answer after it."))
        if call.outcome is not None:
            raise AlreadyAcknowledged()
        rows = await self._missed_rows(actor, call, child, reason, now) if outcome == MISSED else []
        async with self._db.transaction() as conn:
            if not await VideoRepository.record_outcome(conn, call.id, outcome, reason, actor.person_id, _iso(now)):
                raise AlreadyAcknowledged()
            await VideoRepository.cancel_reminders(conn, call.id, _iso(now), slots.FOLLOWUP)
            if rows:
                await self._outbox.add(conn, rows)
            await AuditRepository.record(conn, _iso(now), actor.person_id, child.id, f"video_{outcome}",
                                         f"call={call.id}")
        return await self.repo.call(call.id)

    async def _missed_rows(self, actor: Actor, call: Call, child: ChildRow, reason: str,
                           now: datetime) -> list[Outgoing]:
        slot = await self.repo.slot(child.id)
        upcoming = await self.repo.next_call(child.id, _iso(now))
        carer_name = await self._name(actor.person_id)
        rows = []
        for person_id, chat, locale, zone_name in await self._family(child):
            _ = translator(locale).gettext
            text = _("📹 {child}'s video call on {time} did not happen ({reason}). {child} looks forward to "
                     "seeing you: could you find another time this week? Write to {carer} with /relay.").format(
                child=child.name, time=moment_text(_moment(call.starts_at), locale, zone_name),
                reason=_(REASONS[reason]), carer=carer_name)
            if upcoming is not None:
                text += "\n" + _("Otherwise the next call is {time}.").format(
                    time=moment_text(_moment(upcoming.starts_at), locale, zone_name))
            rows += Outbox.texts(f"video-missed:{call.id}:{person_id}", CHANNEL, chat, text, person_id=person_id,
                                 child_id=child.id)
        carer = await self._carer(child, slot.arranged_by if slot else None)
        if carer is not None and carer[0] != actor.person_id:
            person_id, chat, locale, zone_name = carer
            _ = translator(locale).gettext
            text = _("📹 {child}'s video call on {time} was missed ({reason}). Please find another time with "
                     "the family this week.").format(child=child.name, reason=_(REASONS[reason]),
                                                    time=moment_text(_moment(call.starts_at), locale, zone_name))
            markup = {"inline_keyboard": [[{"text": _("🔁 Set another time"),
                                            "callback_data": f"{ANSWER}:{call.id}:v"}]]}
            rows += Outbox.texts(f"video-missed:{call.id}:{person_id}", CHANNEL, chat, text, reply_markup=markup,
                                 person_id=person_id, child_id=child.id)
        return rows

    async def move_days(self, actor: Actor, call_id: int) -> tuple[Call, ChildRow, list[date]]:
        """The days a call can move to: from today until the day before the next weekly call."""
        call, child = await self.call_for_answer(actor, call_id)
        if call.outcome not in (None, MISSED):
            raise AlreadyAcknowledged()
        zone = ZoneInfo(call.zone)
        today = self._now().astimezone(zone).date()
        last = self._move_limit(call).astimezone(zone).date()
        return call, child, [today + timedelta(days=n) for n in range((last - today).days + 1)]

    def _move_limit(self, call: Call) -> datetime:
        """A call moves within its week: at the latest on the sixth day after its own, before the next call's
        day (local dates in the call's zone)."""
        zone = ZoneInfo(call.zone)
        last_day = _moment(call.starts_at).astimezone(zone).date() + timedelta(days=6)
        return datetime.combine(last_day + timedelta(days=1), time(0), zone) - timedelta(minutes=1)

    async def move(self, actor: Actor, call_id: int, day: date, hhmm: str) -> Call:
        """The call happens, or will, at another time this week: a new call with its own reminders and question."""
        call, child = await self.call_for_answer(actor, call_id)
        if call.outcome not in (None, MISSED):
            raise AlreadyAcknowledged()
        parsed = slots.parse_slot(day.weekday(), hhmm, call.minutes, call.zone)
        start = datetime.combine(day, parsed.start, ZoneInfo(call.zone)).astimezone(timezone.utc)
        now = self._now()
        if start <= now:
            raise slots.SlotError(N_("{time} has already passed. Please choose a time still to come."),
                                  time=hhmm)
        if start > self._move_limit(call):
            raise slots.SlotError(N_("A call can only move within its week."))
        # A one-off move is not checked against the family room's weekly plan: the carer arranging it is at
        # the school and knows whether the room is free that day.
        slot = slots.Slot(parsed.weekday, parsed.start, call.minutes, call.zone)
        family = await self._family(child)
        async with self._db.transaction() as conn:
            if call.outcome is None and not await VideoRepository.record_outcome(
                    conn, call.id, MOVED, None, actor.person_id, _iso(now)):
                raise AlreadyAcknowledged()
            await VideoRepository.cancel_reminders(conn, call.id, _iso(now))
            new_id = await self._write_call(conn, child.id, call.slot_id, slot, call.room, start, now,
                                            moved_from=call.id, drop_past=True)
            if new_id is None:
                raise slots.SlotError(N_("There is already a call at that time."))
            rows = []
            for person_id, chat, locale, zone_name in family:
                _ = translator(locale).gettext
                text = _("📹 {child}'s video call is moved to {time}, {minutes} min, {place}.").format(
                    child=child.name, time=moment_text(start, locale, zone_name), minutes=call.minutes,
                    place=place_text(_, call.room))
                rows += Outbox.texts(f"video-moved:{new_id}:{person_id}", CHANNEL, chat, text, person_id=person_id,
                                     child_id=child.id)
            if rows:
                await self._outbox.add(conn, rows)
            await AuditRepository.record(conn, _iso(now), actor.person_id, child.id, "video_moved",
                                         f"call={call.id} new={new_id}")
        return await self.repo.call(new_id)

    # -- a family's copy -------------------------------------------------------------------------------------

    async def export(self, actor: Actor, child_id: int) -> dict:
        """The child's weekly time and every call with what became of it, for /mydata (oldest first)."""
        child = await self._child(actor, child_id, (*ARRANGERS, *FAMILY_ROLES))
        slot = await self.repo.slot(child.id)
        calls = await self.repo.calls_between([child.id], "", "9999")
        return {
            "weekly_time": None if slot is None else {
                "weekday": slot.weekday, "start": slot.start, "minutes": slot.minutes, "zone": slot.zone,
                "room": slot.room, "agreed_at": slot.agreed_at},
            "calls": [{"starts_at": c.starts_at, "minutes": c.minutes, "room": c.room, "outcome": c.outcome,
                       "reason": c.reason, "moved_from_call": c.moved_from, "call": c.id} for c in calls],
        }

    # -- the weekly picture ---------------------------------------------------------------------------------

    async def week(self, actor: Actor) -> Week:
        """For each child a carer, teacher or admin reaches: this week's call (Monday to Sunday, school time)."""
        kids = [c for c in await self.children(actor)
                if any(g.role in ARRANGERS and reaches(g, c.place) for g in actor.grants)]
        if not kids:
            raise NotAllowed("videos")
        zone = ZoneInfo(self._zone)
        now = self._now()
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        start = datetime.combine(monday, time(0), zone)
        end = datetime.combine(monday + timedelta(days=7), time(0), zone)
        ids = [c.id for c in kids]
        calls: dict[int, list[Call]] = {}
        for found in await self.repo.calls_between(ids, _iso(start), _iso(end)):
            calls.setdefault(found.child_id, []).append(found)
        slot_of = await self.repo.slots(ids)
        rows = []
        for child in kids:
            mine = [c for c in calls.get(child.id, []) if c.outcome not in (MOVED, CANCELLED)]
            # A call that happened counts most; then one still to come (a missed call moved later in the week);
            # then what became of the last one.
            states = [(c.outcome or ("upcoming" if _moment(c.starts_at) > now else "unconfirmed"), c) for c in mine]
            found = next(((s, c) for rank in (DONE, "upcoming") for s, c in states if s == rank),
                         states[-1] if states else None)
            call = found[1] if found else None
            if found is not None:
                status = found[0]
            elif child.id in slot_of:
                status = "next_week"  # agreed this week, for a day already past: its first call is next week
            elif await self.repo.open_proposal(child.id):
                status = "proposed"
            else:
                status = "none"
            rows.append(WeekRow(child, status, call))
        async with self._db.transaction() as conn:
            for child in kids:
                await AuditRepository.record(conn, _iso(now), actor.person_id, child.id, "view_videos", "")
        return Week(monday, rows)

    # -- people ---------------------------------------------------------------------------------------------

    async def zone_of(self, person_id: int | None) -> str:
        chat = await self._people.external_id(person_id, CHANNEL) if person_id else None
        prefs = await self._prefs.get(int(chat)) if chat and chat.lstrip("-").isdigit() else None
        return prefs.timezone if prefs and prefs.timezone else self._zone

    async def _reachable(self, person_id: int) -> tuple[int, str, str, str] | None:
        if self._memo is not None:
            key = ("person", person_id)
            if key not in self._memo:
                self._memo[key] = await self._read_reachable(person_id)
            return self._memo[key]
        return await self._read_reachable(person_id)

    async def _grants(self, child: ChildRow):
        if self._memo is None:
            return await self._people.grants_for_child(child.id, child.school_id, child.class_id)
        key = ("child", child.id)
        if key not in self._memo:
            self._memo[key] = await self._people.grants_for_child(child.id, child.school_id, child.class_id)
        return self._memo[key]

    async def _read_reachable(self, person_id: int) -> tuple[int, str, str, str] | None:
        chat = await self._people.external_id(person_id, CHANNEL)
        if chat is None:
            return None
        locale = await self._preferences.locale_for(int(chat), None)
        prefs = await self._prefs.get(int(chat))
        return person_id, chat, locale, (prefs.timezone if prefs and prefs.timezone else self._zone)

    async def _family(self, child: ChildRow) -> list[tuple[int, str, str, str]]:
        """The child's parents and guardians the bot can reach: (person, chat, language, zone)."""
        found: dict[int, tuple[int, str, str, str]] = {}
        for grant in await self._grants(child):
            if grant.role in FAMILY_ROLES and grant.person_id not in found:
                reached = await self._reachable(grant.person_id)
                if reached:
                    found[grant.person_id] = reached
        return list(found.values())

    async def _carer(self, child: ChildRow, preferred: int | None) -> tuple[int, str, str, str] | None:
        """Who is reminded and asked after the call: the one who arranged it while they still care for the
        child, otherwise the child's proxy parent, otherwise the class teacher."""
        grants = await self._grants(child)
        order = sorted((g for g in grants if g.role in ARRANGERS),
                       key=lambda g: (g.person_id != preferred, ARRANGERS[::-1].index(g.role)))
        for grant in order:
            reached = await self._reachable(grant.person_id)
            if reached:
                return reached
        return None

    async def _name(self, person_id: int | None) -> str:
        person = await self._people.person(person_id) if person_id else None
        return person.display_name if person else ""


# -- reading what people type and how times read ---

_WEEKDAYS = {**{name: n for n, name in enumerate("一二三四五六日")}, "天": 6, "七": 6,
             **{name: n for n, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
             **{name: n for n, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                                  "sunday"))},
             **{str(n + 1): n for n in range(7)}}


def parse_weekday(text: str) -> int:
    """周日, 星期天, 礼拜三, Sun, sunday or 1-7 (Monday = 1) as 0 = Monday … 6 = Sunday."""
    word = text.strip().lower()
    for prefix in ("星期", "礼拜", "周"):
        if word.startswith(prefix) and len(word) > len(prefix):
            word = word[len(prefix):]
            break
    if word not in _WEEKDAYS:
        raise slots.SlotError(N_("{day} is not a day of the week. Write it like 周日 or Sunday."), day=text.strip())
    return _WEEKDAYS[word]


def weekday_name(weekday: int, locale: str, width: str = "EEE") -> str:
    """周一 / Mon for 0; any Monday serves to name the day."""
    return format_date(date(2024, 1, 1) + timedelta(days=weekday), width, locale=_babel_locale(locale))


# -- how times read ---------------------------------------------------------------------------------------------

def weekly_text(_, slot: slots.Slot, zone: str, locale: str, now: datetime) -> str:
    """"every Sunday at 19:30", on the reader's clock: the weekday can differ from the slot's own."""
    start = slots.local(slots.next_start(slot, now), zone)
    # "每周二 19:30" reads better in Chinese than "每星期二"; English wants the whole name.
    width = "EEE" if locale.startswith("zh") else "EEEE"
    text = _("every {weekday} at {time}").format(weekday=format_date(start.date(), width, locale=_babel_locale(locale)),
                                                 time=start.strftime("%H:%M"))
    return text if zone == slot.zone else _("{when} (your time)").format(when=text)


def weekday_day(day: date, locale: str) -> str:
    """"3月8日周日" / "Sun, Mar 8"."""
    return format_skeleton("MMMEd", day, locale=_babel_locale(locale))


def moment_text(moment: datetime, locale: str, zone: str) -> str:
    """"3月8日周日 19:30" / "Sun, Mar 8, 19:30", on the reader's clock."""
    local = slots.local(moment, zone)
    return f"{weekday_day(local, locale)} {local:%H:%M}"


def place_text(_, room: str | None) -> str:
    return _("in {room}").format(room=room) if room else _("from home")


def slot_of(row: Proposal | SlotRow) -> slots.Slot:
    return slots.Slot(row.weekday, time.fromisoformat(row.start), row.minutes, row.zone)


@cache
def _babel_locale(locale: str) -> Locale:
    """Babel reads its locale files on every parse; a busy minute formats thousands of times."""
    return Locale.parse(locale)


def _hhmm(moment: time) -> str:
    return moment.strftime("%H:%M")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _moment(stored: str) -> datetime:
    moment = datetime.fromisoformat(stored)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
