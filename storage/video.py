"""Video-call proposals, agreed weekly slots, calls and their reminders (migration 0006).

    async with db.transaction() as conn:
        video = repo.within(conn)
        proposal_id = await video.add_proposal(Proposal(child_id, 6, "19:30", 30, zone, None, "carer", by, stamp(now)))
        call_id = await video.add_call(Call(child_id, slot_id, stamp(start), 30, zone, None))
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class Proposal:
    """A weekly time one side proposed; a new one replaces whatever the child's last proposal still waited for."""
    child_id: int
    weekday: int         # 0 = Monday
    start: str           # 'HH:MM' on the wall clock of `zone`
    minutes: int
    zone: str
    room: str | None
    side: str            # 'carer' or 'family': who proposed it
    proposed_by: int | None
    created_at: str      # bot.clock.stamp
    state: str = "open"
    answered_by: int | None = None
    id: int | None = None  # given by the database


@dataclass(frozen=True)
class SlotRow:
    """A child's agreed weekly time (a new agreement replaces it); `planned_until` is its latest call written out."""
    child_id: int
    school_id: int
    weekday: int
    start: str
    minutes: int
    zone: str
    room: str | None
    arranged_by: int | None
    proposal_id: int | None
    planned_until: str   # bot.clock.stamp
    agreed_at: str       # bot.clock.stamp
    id: int | None = None


@dataclass(frozen=True)
class Call:
    child_id: int
    slot_id: int | None
    starts_at: str       # bot.clock.stamp
    minutes: int
    zone: str
    room: str | None
    moved_from: int | None = None
    outcome: str | None = None
    reason: str | None = None
    recorded_by: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What the carer answered about a call: done, missed (with a reason), moved; or cancelled."""
    outcome: str
    reason: str | None
    recorded_by: int | None
    recorded_at: str     # bot.clock.stamp


@dataclass(frozen=True)
class NewReminder:
    kind: str            # 'before' or 'followup'
    offset_s: int        # seconds before the start; 0 for the followup
    due_at: str          # bot.clock.stamp: when it is aimed at
    earliest_at: str     # the window it may arrive in (bot.video.slots.Due.earliest, .latest)
    latest_at: str


@dataclass(frozen=True)
class DueReminder:
    id: int
    kind: str
    offset_s: int
    due_at: str
    call: Call
    latest_at: str | None = None


@dataclass(frozen=True)
class Upcoming:
    """Reminders still to hand over that share one window, as the dispatcher plans them: how many, and how many
    people they tell in all."""
    earliest_at: str
    due_at: str
    latest_at: str
    count: int
    readers: int


@dataclass(frozen=True)
class Reader:
    """Someone the bot can reach, and the time zone they chose to read times in (None: not chosen)."""
    person_id: int
    zone: str | None


def _proposal(r) -> Proposal:
    return Proposal(r["child_id"], r["weekday"], r["start"], r["minutes"], r["zone"], r["room"], r["side"],
                    r["proposed_by"], r["created_at"], r["state"], r["answered_by"], r["id"])


def _slot(r) -> SlotRow:
    return SlotRow(r["child_id"], r["school_id"], r["weekday"], r["start"], r["minutes"], r["zone"], r["room"],
                   r["arranged_by"], r["proposal_id"], r["planned_until"], r["agreed_at"], r["id"])


def _call(r) -> Call:
    return Call(r["child_id"], r["slot_id"], r["starts_at"], r["minutes"], r["zone"], r["room"], r["moved_from"],
                r["outcome"], r["reason"], r["recorded_by"], r["id"])


class VideoRepository(Repository):
    # -- proposals ------------------------------------------------------------------------------------------

    async def proposal(self, proposal_id: int) -> Proposal | None:
        row = await self._one("SELECT * FROM video_proposals WHERE id = ?", (proposal_id,))
        return _proposal(row) if row else None

    async def open_proposal(self, child_id: int) -> Proposal | None:
        row = await self._one(
            "SELECT * FROM video_proposals WHERE child_id = ? AND state = 'open' ORDER BY id DESC LIMIT 1",
            (child_id,))
        return _proposal(row) if row else None

    async def add_proposal(self, new: Proposal) -> int:
        # One open proposal per child: a new one replaces whatever was still waiting for an answer.
        await self._write("UPDATE video_proposals SET state = 'withdrawn', answered_at = ? "
                          "WHERE child_id = ? AND state = 'open'", (new.created_at, new.child_id))
        rows = await self._write(
            "INSERT INTO video_proposals (child_id, weekday, start, minutes, zone, room, side, proposed_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (new.child_id, new.weekday, new.start, new.minutes, new.zone, new.room, new.side, new.proposed_by,
             new.created_at))
        return rows[0][0]

    async def close_proposal(self, proposal_id: int, state: str, by: int | None, at: str) -> bool:
        """Only an open proposal can be answered, and only once: two parents pressing at once, one wins."""
        rows = await self._write(
            "UPDATE video_proposals SET state = ?, answered_by = ?, answered_at = ? WHERE id = ? AND state = 'open' "
            "RETURNING id", (state, by, at, proposal_id))
        return len(rows) == 1

    # -- slots ----------------------------------------------------------------------------------------------

    async def slot(self, child_id: int) -> SlotRow | None:
        row = await self._one("SELECT * FROM video_slots WHERE child_id = ?", (child_id,))
        return _slot(row) if row else None

    async def slots(self, child_ids: list[int]) -> dict[int, SlotRow]:
        found: dict[int, SlotRow] = {}
        for chunk in _chunks(child_ids):
            rows = await self._all(
                f"SELECT * FROM video_slots WHERE child_id IN ({','.join('?' * len(chunk))})", tuple(chunk))
            found.update((r["child_id"], _slot(r)) for r in rows)
        return found

    async def room_slots(self, school_id: int, room: str) -> list[SlotRow]:
        rows = await self._all("SELECT * FROM video_slots WHERE school_id = ? AND room = ?", (school_id, room))
        return [_slot(r) for r in rows]

    async def put_slot(self, slot: SlotRow) -> int:
        rows = await self._write(
            "INSERT INTO video_slots (child_id, school_id, weekday, start, minutes, zone, room, arranged_by, "
            "proposal_id, planned_until, agreed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (child_id) DO UPDATE SET school_id = excluded.school_id, weekday = excluded.weekday, "
            "start = excluded.start, minutes = excluded.minutes, zone = excluded.zone, room = excluded.room, "
            "arranged_by = excluded.arranged_by, proposal_id = excluded.proposal_id, "
            "planned_until = excluded.planned_until, agreed_at = excluded.agreed_at RETURNING id",
            (slot.child_id, slot.school_id, slot.weekday, slot.start, slot.minutes, slot.zone, slot.room,
             slot.arranged_by, slot.proposal_id, slot.planned_until, slot.agreed_at))
        return rows[0][0]

    async def slots_to_plan(self, now: str, limit: int) -> list[SlotRow]:
        """Slots whose latest written-out call has begun: the next one is due to be written out."""
        rows = await self._all(
            "SELECT * FROM video_slots WHERE planned_until <= ? ORDER BY planned_until LIMIT ?", (now, limit))
        return [_slot(r) for r in rows]

    async def set_planned(self, slot_id: int, old: str, new: str) -> bool:
        """Advance a slot's plan, unless someone else (a new agreement) changed it meanwhile."""
        rows = await self._write("UPDATE video_slots SET planned_until = ? WHERE id = ? AND planned_until = ? "
                                 "RETURNING id", (new, slot_id, old))
        return len(rows) == 1

    # -- calls ----------------------------------------------------------------------------------------------

    async def call(self, call_id: int) -> Call | None:
        row = await self._one("SELECT * FROM video_calls WHERE id = ?", (call_id,))
        return _call(row) if row else None

    async def calls_between(self, child_ids: list[int], start: str, end: str) -> list[Call]:
        found = []
        for chunk in _chunks(child_ids):
            rows = await self._all(
                f"SELECT * FROM video_calls WHERE child_id IN ({','.join('?' * len(chunk))}) "
                "AND starts_at >= ? AND starts_at < ? ORDER BY starts_at, id", (*chunk, start, end))
            found += [_call(r) for r in rows]
        return found

    async def next_call(self, child_id: int, now: str) -> Call | None:
        row = await self._one(
            "SELECT * FROM video_calls WHERE child_id = ? AND outcome IS NULL AND starts_at > ? "
            "ORDER BY starts_at LIMIT 1", (child_id, now))
        return _call(row) if row else None

    async def recent_calls(self, child_id: int, before: str, limit: int = 4) -> list[Call]:
        rows = await self._all(
            "SELECT * FROM video_calls WHERE child_id = ? AND starts_at <= ? AND (outcome IS NULL OR outcome != "
            "'cancelled') ORDER BY starts_at DESC LIMIT ?", (child_id, before, limit))
        return [_call(r) for r in rows]

    async def add_call(self, new: Call) -> int | None:
        """The new call's id, or None when the child already has a call starting then."""
        rows = await self._write(
            "INSERT OR IGNORE INTO video_calls (child_id, slot_id, starts_at, minutes, zone, room, moved_from) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (new.child_id, new.slot_id, new.starts_at, new.minutes, new.zone, new.room, new.moved_from))
        return rows[0][0] if rows else None

    async def add_reminders(self, call_id: int, reminders: list[NewReminder]) -> None:
        if reminders:  # one statement: a busy minute writes out hundreds of calls
            await self._write(
                "INSERT OR IGNORE INTO video_reminders (call_id, kind, offset_s, due_at, earliest_at, latest_at) "
                "VALUES " + ", ".join("(?, ?, ?, ?, ?, ?)" for _ in reminders),
                [value for r in reminders
                 for value in (call_id, r.kind, r.offset_s, r.due_at, r.earliest_at, r.latest_at)])

    async def record_outcome(self, call_id: int, outcome: Outcome) -> bool:
        """Once: a second answer about the same call changes nothing."""
        rows = await self._write(
            "UPDATE video_calls SET outcome = ?, reason = ?, recorded_by = ?, recorded_at = ? "
            "WHERE id = ? AND outcome IS NULL RETURNING id",
            (outcome.outcome, outcome.reason, outcome.recorded_by, outcome.recorded_at, call_id))
        return len(rows) == 1

    async def cancel_upcoming(self, child_id: int, now: str) -> None:
        """A new weekly time replaces the old one: calls not yet begun are cancelled with their reminders."""
        await self._write(
            "UPDATE video_reminders SET state = 'cancelled', done_at = ? WHERE state = 'pending' AND call_id IN "
            "(SELECT id FROM video_calls WHERE child_id = ? AND outcome IS NULL AND starts_at > ?)",
            (now, child_id, now))
        await self._write(
            "UPDATE video_calls SET outcome = 'cancelled', recorded_at = ? "
            "WHERE child_id = ? AND outcome IS NULL AND starts_at > ?", (now, child_id, now))

    async def cancel_reminders(self, call_id: int, now: str, kind: str | None = None) -> None:
        await self._write(
            "UPDATE video_reminders SET state = 'cancelled', done_at = ? WHERE call_id = ? AND state = 'pending' "
            "AND kind = COALESCE(?, kind)", (now, call_id, kind))

    # -- reminders ------------------------------------------------------------------------------------------

    async def upcoming(self, until: str) -> list[Upcoming]:
        """Reminders still to hand over that may go by `until`, grouped by window (a busy minute is one group),
        with how many people they tell (each child's family and proxy parents: a count of its roles, at least
        one a reminder)."""
        rows = await self._all(
            "SELECT earliest_at, due_at, latest_at, COUNT(*), SUM(readers) FROM (SELECT r.earliest_at, r.due_at, "
            "r.latest_at, MAX(1, (SELECT COUNT(*) FROM roles g WHERE g.child_id = c.child_id AND "
            "g.revoked_at IS NULL)) AS readers FROM video_reminders r JOIN video_calls c ON c.id = r.call_id "
            "WHERE r.state = 'pending' AND r.earliest_at <= ?) GROUP BY earliest_at, due_at, latest_at", (until,))
        return [Upcoming(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def pending_in(self, window: Upcoming, limit: int) -> list[int]:
        """Up to `limit` of the reminders in this window still to hand over, the first written first."""
        rows = await self._all(
            "SELECT id FROM video_reminders WHERE state = 'pending' AND earliest_at = ? AND due_at = ? "
            "AND latest_at = ? ORDER BY id LIMIT ?", (window.earliest_at, window.due_at, window.latest_at, limit))
        return [r[0] for r in rows]

    async def reminders(self, ids: list[int]) -> list[DueReminder]:
        """These reminders with their calls, soonest deadline first."""
        found: list[DueReminder] = []
        for chunk in _chunks(ids):
            rows = await self._all(
                "SELECT r.id AS rid, r.kind AS rkind, r.offset_s, r.due_at, r.latest_at, c.* FROM video_reminders r "
                f"JOIN video_calls c ON c.id = r.call_id WHERE r.id IN ({', '.join('?' * len(chunk))})", chunk)
            found += [DueReminder(r["rid"], r["rkind"], r["offset_s"], r["due_at"], _call(r), r["latest_at"])
                      for r in rows]
        return sorted(found, key=lambda r: (r.latest_at or r.due_at, r.id))

    async def finish_reminder(self, reminder_id: int, state: str, now: str) -> bool:
        rows = await self._write(
            "UPDATE video_reminders SET state = ?, done_at = ? WHERE id = ? AND state = 'pending' RETURNING id",
            (state, now, reminder_id))
        return len(rows) == 1

    # -- the people told ------------------------------------------------------------------------------------

    async def reader(self, person_id: int) -> Reader | None:
        """This person, if the bot can reach them at all (an identity on some channel: the first, as the outbox
        addresses them), with the zone they chose (preferences are kept under that identity's id)."""
        row = await self._one(
            "SELECT i.person_id, p.timezone FROM identities i "
            "LEFT JOIN user_preferences p ON p.user_id = i.external_id WHERE i.person_id = ? ORDER BY i.rowid LIMIT 1",
            (person_id,))
        return Reader(row["person_id"], row["timezone"]) if row else None


def _chunks(ids: list[int], size: int = 500):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]
