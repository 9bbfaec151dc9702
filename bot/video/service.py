"""The weekly family video call (亲情视频): a carer proposes a weekly time, a parent accepts it or answers with
another; the agreed time becomes calls, each with reminders before it and a question to the carer after it;
the carer's answer (done, missed and why, moved to another day) is the record teachers see in /videos.

The database is the schedule. `run_due` (a JobQueue job every 30 s) writes out the next call of every slot
whose latest call has begun, then hands each due reminder to the outbox and marks it sent, or skipped when it
comes too late to help, in the same transaction: downtime delays a reminder but cannot lose it, and a restart
cannot send it twice. Times come from bot.video.slots (APScheduler's CronTrigger in the slot's zone); each person
reads them in their own zone. Knows nothing of Telegram: people are told with notices (bot.notices), whose
buttons are the payloads of bot.video.buttons.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton

from bot import deadlines
from bot.access.consent import ConsentService
from bot.access.people import Actor
from bot.access.policy import ADMIN, FAMILY_ROLES, PARENT, PROXY, TEACHER, TOWNSHIP_ROLES, reaches, roles_for
from bot.clock import Clock, stamp, unstamp
from bot.errors import AlreadyAcknowledged, NotAllowed, UserError
from bot.i18n import N_, translator
from bot.notices import Action, Notice, Outbox, REMINDERS
from bot.preferences import PreferencesService
from bot.settings import Settings
from bot.video import slots
from bot.video.buttons import CallAnswer, ProposalAnswer
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.people import PeopleRepository
from storage.video import Call, DueReminder, NewReminder, Outcome, Proposal, SlotRow, VideoRepository

log = logging.getLogger(__name__)

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
# How far ahead the dispatcher plans: the widest window (2 h early for the day before) and then some.
LOOKAHEAD = timedelta(hours=3)
# After downtime only calls that can still be asked about are written out; older weeks are left unwritten.
CATCH_UP = slots.FOLLOWUP_SHELF_LIFE + timedelta(hours=slots.MAX_MINUTES // 60 + 1)


class NoFamily(UserError):
    """No parent or guardian of the child can be reached yet: there is nobody to agree a time with."""

    msgid = N_("No parent or guardian of this child has joined yet, so there is nobody to agree a time with. "
               "Invite them first: /invite.")


@dataclass(frozen=True)
class Recipient:
    """Someone told about a call, with the language and the time zone they read it in."""
    person_id: int
    locale: str
    zone: str


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
        self._clock = clock
        self._zone = settings.timezone
        self.rooms = settings.family_rooms
        self.offsets = tuple(timedelta(minutes=m) for m in settings.video_reminders)
        self.followup = timedelta(minutes=settings.video_followup)
        self._rate = deadlines.reminder_rate(settings.send_rate)
        self.repo = VideoRepository(db)
        self._audit = AuditRepository(db)
        # While run_due works through a busy minute: each person's language, zone and quiet hours, and who reaches
        # each child, are read once rather than once per reminder. None outside a run, so a change made between
        # runs (a new zone, a role removed) is always seen.
        self._memo: dict | None = None

    # -- whose children -------------------------------------------------------------------------------------

    async def children(self, actor: Actor) -> list[ChildRow]:
        """Every child this person reaches as family or carer, by name (a supervisor's township is not theirs to
        call)."""
        return await self._children.reached_by([g for g in actor.grants if g.role not in TOWNSHIP_ROLES])

    async def _child(self, actor: Actor, child_id: int, wanted: tuple[str, ...]) -> ChildRow:
        """The child, if this person has one of the `wanted` roles for it and its family has consented."""
        child = await self._children.get(child_id)
        if child is None or actor.person_id is None or not roles_for(actor.grants, child.place) & set(wanted):
            raise NotAllowed("video")
        if not await self._consent.consented(child.id):
            raise await self._consent.refusal(child)
        return child

    async def state(self, actor: Actor, child_id: int) -> VideoState:
        child = await self._child(actor, child_id, (*ARRANGERS, *FAMILY_ROLES))
        now = stamp(self._clock.now())
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
        now = self._clock.now()
        sender = await self._name(actor.person_id)
        async with self._db.transaction() as conn:
            proposal_id = await self.repo.within(conn).add_proposal(Proposal(
                child.id, slot.weekday, _hhmm(slot.start), slot.minutes, slot.zone, room, CARER, actor.person_id,
                stamp(now)))
            await self._outbox.post(conn, [self._proposal_notice(proposal_id, reader, child, slot, room, sender, now,
                                                                 actor.person_id) for reader in family])
            await self._audit.within(conn).record(AuditEntry(stamp(now), actor.person_id, child.id, "video_proposed",
                                                             f"proposal={proposal_id}"))
        log.info("video time proposed for child %s by person %s to %s people", child.id, actor.person_id,
                 len(family))
        return Sent(proposal_id, child.name, [await self._name(reader.person_id) for reader in family])

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
        now = self._clock.now()
        first = slots.next_start(slot, now)
        arranger = proposal.proposed_by if proposal.side == CARER else actor.person_id
        me = await self._name(actor.person_id)
        tell = [reader for reader in await self._family(child) if reader.person_id != actor.person_id]
        carer = await self._carer(child, arranger)
        if carer is not None and carer.person_id != actor.person_id:
            tell.append(carer)
        async with self._db.transaction() as conn:
            video = self.repo.within(conn)
            if not await video.close_proposal(proposal.id, "accepted", actor.person_id, stamp(now)):
                raise AlreadyAcknowledged()
            # Checked while holding the write lock: two agreements for one room cannot both pass.
            await self._check_room(child, slot, proposal.room)
            await video.cancel_upcoming(child.id, stamp(now))
            slot_id = await video.put_slot(SlotRow(
                child.id, child.school_id, slot.weekday, _hhmm(slot.start), slot.minutes, slot.zone, proposal.room,
                arranger, proposal.id, stamp(first), stamp(now)))
            await self._write_call(video, child.id, slot_id, slot, proposal.room, first, now, drop_past=True)
            notices = []
            for reader in tell:
                _ = translator(reader.locale).gettext
                text = _("📹 {name} agreed: {child}'s video call is {when}, {minutes} min, {place}. "
                         "The first is {first}.").format(
                    name=me, child=child.name, when=weekly_text(_, slot, reader.zone, reader.locale, now),
                    minutes=slot.minutes, place=place_text(_, proposal.room),
                    first=moment_text(first, reader.locale, reader.zone))
                notices.append(Notice(f"video-agreed:{proposal.id}:{reader.person_id}", reader.person_id, text,
                                      child_id=child.id))
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(stamp(now), actor.person_id, child.id, "video_agreed",
                                                             f"proposal={proposal.id} slot={slot_id}"))
        log.info("video slot agreed for child %s (proposal %s)", child.id, proposal.id)
        return Agreed(child.name, slot, proposal.room, first)

    async def counter(self, actor: Actor, proposal_id: int, weekday: int, hhmm: str) -> Sent:
        """The other side answers with another weekly time, given on their own clock; the first side is asked."""
        proposal, child = await self.proposal_for_answer(actor, proposal_id)
        mine = slots.parse_slot(weekday, hhmm, proposal.minutes, await self.zone_of(actor.person_id))
        # The time the person chose on their clock, as the slot's zone reads it: the slot keeps its zone.
        start = slots.local(slots.next_start(mine, self._clock.now()), proposal.zone)
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
        now = self._clock.now()
        me = await self._name(actor.person_id)
        async with self._db.transaction() as conn:
            video = self.repo.within(conn)
            if not await video.close_proposal(proposal.id, "countered", actor.person_id, stamp(now)):
                raise AlreadyAcknowledged()
            new_id = await video.add_proposal(Proposal(
                child.id, slot.weekday, _hhmm(slot.start), slot.minutes, slot.zone, proposal.room, side,
                actor.person_id, stamp(now)))
            await self._outbox.post(conn, [self._proposal_notice(new_id, reader, child, slot, proposal.room, me, now,
                                                                 actor.person_id) for reader in to])
            await self._audit.within(conn).record(AuditEntry(stamp(now), actor.person_id, child.id,
                                                             "video_countered", f"proposal={proposal.id} new={new_id}"))
        return Sent(new_id, child.name, [await self._name(reader.person_id) for reader in to])

    def _proposal_notice(self, proposal_id: int, reader: Recipient, child: ChildRow, slot: slots.Slot, room: str | None,
                         sender: str, now: datetime, author_id: int | None) -> Notice:
        _ = translator(reader.locale).gettext
        text = _("📹 Weekly video call with {child}\n{name} suggests {when}, {minutes} min, {place}.\n"
                 "Does this time suit you?").format(
            child=child.name, name=sender, when=weekly_text(_, slot, reader.zone, reader.locale, now),
            minutes=slot.minutes, place=place_text(_, room))
        return Notice(f"video-proposal:{proposal_id}:{reader.person_id}", reader.person_id, text,
                      actions=[answer_actions(_, proposal_id)], notify_person_id=author_id, child_id=child.id)

    async def _check_room(self, child: ChildRow, slot: slots.Slot, room: str | None) -> None:
        """Two children's calls cannot share a family room at the same time. The other child is not named:
        a proxy parent may not know who else uses the room."""
        if room is None:
            return
        for other in await self.repo.room_slots(child.school_id, room):
            if other.child_id != child.id and slots.overlaps(slot, slot_of(other), self._clock.now()):
                theirs = slot_of(other)
                end = (datetime.combine(date(2000, 1, 3), theirs.start) + timedelta(minutes=theirs.minutes)).time()
                raise slots.SlotError(N_("{room} is taken then ({start}–{end}). Please choose another time or room."),
                                      room=room, start=_hhmm(theirs.start), end=_hhmm(end), weekday=theirs.weekday)

    # -- the schedule ---------------------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Write out the next calls, then hand over the reminders whose time has come. Returns how many."""
        now = self._clock.now()
        await self._plan(now)
        ids = await self._to_hand_over(now)
        self._memo = {}
        try:
            for start in range(0, len(ids), SEND_BATCH):
                await self._send(await self.repo.reminders(ids[start:start + SEND_BATCH]), now)
        finally:
            self._memo = None
        return len(ids)

    async def _to_hand_over(self, now: datetime) -> list[int]:
        """The reminders to hand to the outbox now: at their time, or earlier when a busy hour needs it for all
        of them to arrive inside their windows at the rate left to reminders (bot.deadlines)."""
        windows = await self.repo.upcoming(stamp(now + LOOKAHEAD))
        if not windows:
            return []
        backlog, queued = await self._outbox.repo.backlog(REMINDERS, stamp(now))
        handed = deadlines.due_now(
            (deadlines.Timed(w, unstamp(w.earliest_at), unstamp(w.due_at), unstamp(w.latest_at), w.readers, w.count)
             for w in windows), now, self._rate, queued=[(unstamp(at), n) for at, n in queued], backlog=backlog)
        ids: list[int] = []
        for window in sorted(handed, key=lambda w: (w.latest_at, w.due_at)):
            ids += await self.repo.pending_in(window, handed[window])
        late = sum(n for window, n in handed.items() if unstamp(window.latest_at) < now)
        if late:
            log.warning("video reminders: %s handed over after their window (the bot was down or overloaded)", late)
        return ids

    async def _plan(self, now: datetime) -> None:
        floor = now - CATCH_UP
        while True:
            waiting = await self.repo.slots_to_plan(stamp(now), PLAN_BATCH)
            if not waiting:
                return
            async with self._db.transaction() as conn:
                video = self.repo.within(conn)
                for row in waiting:
                    slot = slot_of(row)
                    start = slots.next_start(slot, max(unstamp(row.planned_until), floor))
                    if await video.set_planned(row.id, row.planned_until, stamp(start)):
                        await self._write_call(video, row.child_id, row.id, slot, row.room, start, now)

    async def _write_call(self, video: VideoRepository, child_id: int, slot_id: int | None, slot: slots.Slot,
                          room: str | None, start: datetime, now: datetime, moved_from: int | None = None,
                          drop_past: bool = False) -> int | None:
        call_id = await video.add_call(Call(child_id, slot_id, stamp(start), slot.minutes, slot.zone, room,
                                               moved_from))
        if call_id is not None:
            dues = slots.plan(slot, start, self.offsets, self.followup)
            # A call agreed or moved at short notice gets only the reminders still ahead; one written out after
            # downtime keeps them all, so that each is either sent or recorded as skipped.
            kept = [d for d in dues if not (drop_past and d.kind == slots.BEFORE and d.at <= now)]
            await video.add_reminders(call_id, [
                NewReminder(d.kind, int(d.offset.total_seconds()) if d.offset else 0, stamp(d.at), stamp(d.earliest),
                            stamp(d.latest)) for d in kept])
        return call_id

    async def _send(self, due: list[DueReminder], now: datetime) -> None:
        prepared: list[tuple[DueReminder, str, list[Notice]]] = []
        for reminder in due:
            state, notices = await self._notices(reminder, now)
            prepared.append((reminder, state, notices))
        async with self._db.transaction() as conn:
            video = self.repo.within(conn)
            for reminder, state, notices in prepared:
                # Marked and handed over together: a crash before the commit leaves it pending, after it sent.
                if await video.finish_reminder(reminder.id, state, stamp(now)) and notices:
                    await self._outbox.post(conn, notices)
        skipped = sum(1 for _r, state, _notices in prepared if state != "sent")
        if skipped:
            log.info("video reminders: %s of %s too late to help or no longer needed", skipped, len(prepared))

    async def _notices(self, reminder: DueReminder, now: datetime) -> tuple[str, list[Notice]]:
        call = reminder.call
        start = unstamp(call.starts_at)
        offset = timedelta(seconds=reminder.offset_s) if reminder.kind == slots.BEFORE else None
        due = slots.Due(reminder.kind, start, unstamp(reminder.due_at), offset)
        if call.outcome is not None or not slots.still_useful(due, now):
            return ("skipped" if call.outcome is None else "cancelled"), []
        child = await self._children.get(call.child_id)
        if child is None:
            return "cancelled", []
        slot = await self.repo.slot(child.id)
        carer = await self._carer(child, slot.arranged_by if slot else None)
        if reminder.kind == slots.FOLLOWUP:
            return ("sent", [self._question(reminder, call, child, carer)]) if carer else ("skipped", [])
        people = await self._family(child)
        due_by = unstamp(reminder.latest_at) if reminder.latest_at else None
        if carer is not None and all(reader.person_id != carer.person_id for reader in people):
            people.append(carer)
        notices = []
        for reader in people:
            _ = translator(reader.locale).gettext
            soon = offset is not None and offset <= timedelta(hours=2)
            text = (_("⏰ Soon: {child}'s video call at {time}, {minutes} min, {place}.") if soon else
                    _("📅 Reminder: {child}'s video call is on {time}, {minutes} min, {place}.")).format(
                child=child.name, time=moment_text(start, reader.locale, reader.zone), minutes=call.minutes,
                place=place_text(_, call.room))
            # Quiet hours hold a reminder, unless holding it would make it arrive after the call has begun.
            notices.append(Notice(f"video:{reminder.id}:{reader.person_id}", reader.person_id, text, deadline=start,
                                  child_id=child.id, lane=REMINDERS, due_by=due_by))
        return "sent", notices

    def _question(self, reminder: DueReminder, call: Call, child: ChildRow, carer: Recipient) -> Notice:
        _ = translator(carer.locale).gettext
        text = _("📹 Did {child}'s video call at {time} happen?").format(
            child=child.name, time=moment_text(unstamp(call.starts_at), carer.locale, carer.zone))
        return Notice(f"video:{reminder.id}:{carer.person_id}", carer.person_id, text, actions=question_actions(
            _, call.id), child_id=child.id, lane=REMINDERS,
            due_by=unstamp(reminder.latest_at) if reminder.latest_at else None)

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
        now = self._clock.now()
        if unstamp(call.starts_at) > now:
            raise slots.SlotError(N_("This call has not begun yet; please answer after it."))
        if call.outcome is not None:
            raise AlreadyAcknowledged()
        notices = await self._missed_notices(actor, call, child, reason, now) if outcome == MISSED else []
        async with self._db.transaction() as conn:
            video = self.repo.within(conn)
            if not await video.record_outcome(call.id, Outcome(outcome, reason, actor.person_id, stamp(now))):
                raise AlreadyAcknowledged()
            await video.cancel_reminders(call.id, stamp(now), slots.FOLLOWUP)
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(stamp(now), actor.person_id, child.id,
                                                             f"video_{outcome}", f"call={call.id}"))
        return await self.repo.call(call.id)

    async def _missed_notices(self, actor: Actor, call: Call, child: ChildRow, reason: str,
                              now: datetime) -> list[Notice]:
        slot = await self.repo.slot(child.id)
        upcoming = await self.repo.next_call(child.id, stamp(now))
        carer_name = await self._name(actor.person_id)
        started = unstamp(call.starts_at)
        notices = []
        # The call is the parents' time with the child: a guardian who lives with the child is not told that the
        # child longs to see them, only what happened and who finds another time.
        parents = {g.person_id for g in await self._grants(child) if g.role == PARENT and g.child_id == child.id}
        for reader in await self._family(child):
            _ = translator(reader.locale).gettext
            if reader.person_id in parents:
                text = _("📹 {child}'s video call on {time} did not happen ({reason}). {child} looks forward to "
                         "seeing you: could you find another time this week? Write to {carer} with /relay.")
            else:
                text = _("📹 {child}'s video call with the parents on {time} did not happen ({reason}). {carer} will "
                         "look for another time this week; you can write to them with /relay.")
            text = text.format(child=child.name, time=moment_text(started, reader.locale, reader.zone),
                               reason=_(REASONS[reason]), carer=carer_name)
            if upcoming is not None:
                text += "\n" + _("Otherwise the next call is {time}.").format(
                    time=moment_text(unstamp(upcoming.starts_at), reader.locale, reader.zone))
            notices.append(Notice(f"video-missed:{call.id}:{reader.person_id}", reader.person_id, text,
                                  child_id=child.id))
        carer = await self._carer(child, slot.arranged_by if slot else None)
        if carer is not None and carer.person_id != actor.person_id:
            _ = translator(carer.locale).gettext
            text = _("📹 {child}'s video call on {time} was missed ({reason}). Please find another time with "
                     "the family this week.").format(child=child.name, reason=_(REASONS[reason]),
                                                    time=moment_text(started, carer.locale, carer.zone))
            notices.append(Notice(f"video-missed:{call.id}:{carer.person_id}", carer.person_id, text,
                                  actions=[[move_action(_, call.id)]], child_id=child.id))
        return notices

    async def move_days(self, actor: Actor, call_id: int) -> tuple[Call, ChildRow, list[date]]:
        """The days a call can move to: from today until the day before the next weekly call."""
        call, child = await self.call_for_answer(actor, call_id)
        if call.outcome not in (None, MISSED):
            raise AlreadyAcknowledged()
        zone = ZoneInfo(call.zone)
        today = self._clock.now().astimezone(zone).date()
        last = self._move_limit(call).astimezone(zone).date()
        return call, child, [today + timedelta(days=n) for n in range((last - today).days + 1)]

    def _move_limit(self, call: Call) -> datetime:
        """A call moves within its week: at the latest on the sixth day after its own, before the next call's
        day (local dates in the call's zone)."""
        zone = ZoneInfo(call.zone)
        last_day = unstamp(call.starts_at).astimezone(zone).date() + timedelta(days=6)
        return datetime.combine(last_day + timedelta(days=1), time(0), zone) - timedelta(minutes=1)

    async def move(self, actor: Actor, call_id: int, day: date, hhmm: str) -> Call:
        """The call happens, or will, at another time this week: a new call with its own reminders and question."""
        call, child = await self.call_for_answer(actor, call_id)
        if call.outcome not in (None, MISSED):
            raise AlreadyAcknowledged()
        parsed = slots.parse_slot(day.weekday(), hhmm, call.minutes, call.zone)
        start = datetime.combine(day, parsed.start, ZoneInfo(call.zone)).astimezone(timezone.utc)
        now = self._clock.now()
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
            video = self.repo.within(conn)
            if call.outcome is None and not await video.record_outcome(
                    call.id, Outcome(MOVED, None, actor.person_id, stamp(now))):
                raise AlreadyAcknowledged()
            await video.cancel_reminders(call.id, stamp(now))
            new_id = await self._write_call(video, child.id, call.slot_id, slot, call.room, start, now,
                                            moved_from=call.id, drop_past=True)
            if new_id is None:
                raise slots.SlotError(N_("There is already a call at that time."))
            notices = []
            for reader in family:
                _ = translator(reader.locale).gettext
                text = _("📹 {child}'s video call is moved to {time}, {minutes} min, {place}.").format(
                    child=child.name, time=moment_text(start, reader.locale, reader.zone), minutes=call.minutes,
                    place=place_text(_, call.room))
                notices.append(Notice(f"video-moved:{new_id}:{reader.person_id}", reader.person_id, text,
                                      child_id=child.id))
            await self._outbox.post(conn, notices)
            await self._audit.within(conn).record(AuditEntry(stamp(now), actor.person_id, child.id, "video_moved",
                                                             f"call={call.id} new={new_id}"))
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
        now = self._clock.now()
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        start = datetime.combine(monday, time(0), zone)
        end = datetime.combine(monday + timedelta(days=7), time(0), zone)
        ids = [c.id for c in kids]
        calls: dict[int, list[Call]] = {}
        for found in await self.repo.calls_between(ids, stamp(start), stamp(end)):
            calls.setdefault(found.child_id, []).append(found)
        slot_of = await self.repo.slots(ids)
        rows = []
        for child in kids:
            mine = [c for c in calls.get(child.id, []) if c.outcome not in (MOVED, CANCELLED)]
            # A call that happened counts most; then one still to come (a missed call moved later in the week);
            # then what became of the last one.
            states = [(c.outcome or ("upcoming" if unstamp(c.starts_at) > now else "unconfirmed"), c) for c in mine]
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
            audit = self._audit.within(conn)
            for child in kids:
                await audit.record(AuditEntry(stamp(now), actor.person_id, child.id, "view_videos", ""))
        return Week(monday, rows)

    # -- people ---------------------------------------------------------------------------------------------

    async def zone_of(self, person_id: int | None) -> str:
        """The time zone a person reads times in: theirs, or the school's."""
        reader = await self._reader(person_id) if person_id else None
        return reader.zone if reader else self._zone

    async def _reader(self, person_id: int) -> Recipient | None:
        """Someone the bot can reach, with the language and zone they read in (theirs, or the defaults)."""
        key = ("reader", person_id)
        if self._memo is not None and key in self._memo:
            return self._memo[key]
        found = await self.repo.reader(person_id)
        if found is not None:
            found = Recipient(person_id, await self._preferences.locale_of(person_id), found.zone or self._zone)
        if self._memo is not None:
            self._memo[key] = found
        return found

    async def _grants(self, child: ChildRow):
        if self._memo is None:
            return await self._people.grants_for_child(child.id, child.school_id, child.class_id)
        key = ("child", child.id)
        if key not in self._memo:
            self._memo[key] = await self._people.grants_for_child(child.id, child.school_id, child.class_id)
        return self._memo[key]

    async def _family(self, child: ChildRow) -> list[Recipient]:
        """The child's parents and guardians the bot can reach."""
        found: dict[int, Recipient] = {}
        for grant in await self._grants(child):
            if grant.role in FAMILY_ROLES and grant.person_id not in found:
                reader = await self._reader(grant.person_id)
                if reader:
                    found[grant.person_id] = reader
        return list(found.values())

    async def _carer(self, child: ChildRow, preferred: int | None) -> Recipient | None:
        """Who is reminded and asked after the call: the one who arranged it while they still care for the
        child, otherwise the child's proxy parent, otherwise the class teacher."""
        grants = await self._grants(child)
        order = sorted((g for g in grants if g.role in ARRANGERS),
                       key=lambda g: (g.person_id != preferred, ARRANGERS[::-1].index(g.role)))
        for grant in order:
            reader = await self._reader(grant.person_id)
            if reader:
                return reader
        return None

    async def _name(self, person_id: int | None) -> str:
        person = await self._people.person(person_id) if person_id else None
        return person.display_name if person else ""


# -- the buttons under what is sent ----------------------------------------------------------------------------

def answer_actions(_, proposal_id: int) -> list[Action]:
    """Under a proposal: accept it, or answer with another time."""
    return [Action(_("✅ Yes, that suits"), ProposalAnswer(proposal_id, "y")),
            Action(_("🕒 Another time"), ProposalAnswer(proposal_id, "n"))]


def question_actions(_, call_id: int) -> list[list[Action]]:
    """Under the question after a call: it happened, it was missed, it moved."""
    return [[Action(_("✅ Yes, it happened"), CallAnswer(call_id, "d"))],
            [Action(_("❌ It was missed"), CallAnswer(call_id, "m")),
             Action(_("🔁 Moved to another day"), CallAnswer(call_id, "v"))]]


def move_action(_, call_id: int) -> Action:
    """Under word of a missed call: choose the day it moves to."""
    return Action(_("🔁 Set another time"), CallAnswer(call_id, "v"))


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
