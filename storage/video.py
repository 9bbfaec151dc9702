"""Video-call proposals, agreed weekly slots, calls and their reminders (migration 0006)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database


@dataclass(frozen=True)
class Proposal:
    id: int
    child_id: int
    weekday: int
    start: str
    minutes: int
    zone: str
    room: str | None
    side: str            # 'carer' or 'family': who proposed it
    proposed_by: int | None
    state: str
    answered_by: int | None
    created_at: str


@dataclass(frozen=True)
class SlotRow:
    id: int
    child_id: int
    school_id: int
    weekday: int
    start: str
    minutes: int
    zone: str
    room: str | None
    arranged_by: int | None
    planned_until: str
    agreed_at: str


@dataclass(frozen=True)
class Call:
    id: int
    child_id: int
    slot_id: int | None
    starts_at: str
    minutes: int
    zone: str
    room: str | None
    moved_from: int | None
    outcome: str | None
    reason: str | None
    recorded_by: int | None


@dataclass(frozen=True)
class DueReminder:
    id: int
    kind: str
    offset_s: int
    due_at: str
    call: Call


def _proposal(r) -> Proposal:
    return Proposal(r["id"], r["child_id"], r["weekday"], r["start"], r["minutes"], r["zone"], r["room"], r["side"],
                    r["proposed_by"], r["state"], r["answered_by"], r["created_at"])


def _slot(r) -> SlotRow:
    return SlotRow(r["id"], r["child_id"], r["school_id"], r["weekday"], r["start"], r["minutes"], r["zone"], r["room"],
                   r["arranged_by"], r["planned_until"], r["agreed_at"])


def _call(r) -> Call:
    return Call(r["id"], r["child_id"], r["slot_id"], r["starts_at"], r["minutes"], r["zone"], r["room"],
                r["moved_from"], r["outcome"], r["reason"], r["recorded_by"])


class VideoRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- proposals ------------------------------------------------------------------------------------------

    async def proposal(self, proposal_id: int) -> Proposal | None:
        row = await self._db.fetch_one("SELECT * FROM video_proposals WHERE id = ?", (proposal_id,))
        return _proposal(row) if row else None

    async def open_proposal(self, child_id: int) -> Proposal | None:
        row = await self._db.fetch_one(
            "SELECT * FROM video_proposals WHERE child_id = ? AND state = 'open' ORDER BY id DESC LIMIT 1",
            (child_id,))
        return _proposal(row) if row else None

    @staticmethod
    async def add_proposal(conn: aiosqlite.Connection, child_id: int, weekday: int, start: str, minutes: int,
                           zone: str, room: str | None, side: str, proposed_by: int | None, now: str) -> int:
        # One open proposal per child: a new one replaces whatever was still waiting for an answer.
        await conn.execute("UPDATE video_proposals SET state = 'withdrawn', answered_at = ? "
                           "WHERE child_id = ? AND state = 'open'", (now, child_id))
        cur = await conn.execute(
            "INSERT INTO video_proposals (child_id, weekday, start, minutes, zone, room, side, proposed_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (child_id, weekday, start, minutes, zone, room, side, proposed_by, now))
        return cur.lastrowid

    @staticmethod
    async def close_proposal(conn: aiosqlite.Connection, proposal_id: int, state: str, by: int | None,
                             now: str) -> bool:
        """Only an open proposal can be answered, and only once: two parents pressing at once, one wins."""
        cur = await conn.execute(
            "UPDATE video_proposals SET state = ?, answered_by = ?, answered_at = ? WHERE id = ? AND state = 'open'",
            (state, by, now, proposal_id))
        return cur.rowcount == 1

    # -- slots ----------------------------------------------------------------------------------------------

    async def slot(self, child_id: int) -> SlotRow | None:
        row = await self._db.fetch_one("SELECT * FROM video_slots WHERE child_id = ?", (child_id,))
        return _slot(row) if row else None

    async def slots(self, child_ids: list[int]) -> dict[int, SlotRow]:
        found: dict[int, SlotRow] = {}
        for chunk in _chunks(child_ids):
            rows = await self._db.fetch_all(
                f"SELECT * FROM video_slots WHERE child_id IN ({','.join('?' * len(chunk))})", tuple(chunk))
            found.update((r["child_id"], _slot(r)) for r in rows)
        return found

    async def room_slots(self, school_id: int, room: str) -> list[SlotRow]:
        rows = await self._db.fetch_all("SELECT * FROM video_slots WHERE school_id = ? AND room = ?", (school_id, room))
        return [_slot(r) for r in rows]

    @staticmethod
    async def put_slot(conn: aiosqlite.Connection, child_id: int, school_id: int, weekday: int, start: str,
                       minutes: int, zone: str, room: str | None, arranged_by: int | None, proposal_id: int | None,
                       planned_until: str, now: str) -> int:
        await conn.execute(
            "INSERT INTO video_slots (child_id, school_id, weekday, start, minutes, zone, room, arranged_by, "
            "proposal_id, planned_until, agreed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (child_id) DO UPDATE SET school_id = excluded.school_id, weekday = excluded.weekday, "
            "start = excluded.start, minutes = excluded.minutes, zone = excluded.zone, room = excluded.room, "
            "arranged_by = excluded.arranged_by, proposal_id = excluded.proposal_id, "
            "planned_until = excluded.planned_until, agreed_at = excluded.agreed_at",
            (child_id, school_id, weekday, start, minutes, zone, room, arranged_by, proposal_id, planned_until, now))
        rows = await conn.execute_fetchall("SELECT id FROM video_slots WHERE child_id = ?", (child_id,))
        return rows[0][0]

    async def slots_to_plan(self, now: str, limit: int) -> list[SlotRow]:
        """Slots whose latest written-out call has begun: the next one is due to be written out."""
        rows = await self._db.fetch_all(
            "SELECT * FROM video_slots WHERE planned_until <= ? ORDER BY planned_until LIMIT ?", (now, limit))
        return [_slot(r) for r in rows]

    @staticmethod
    async def set_planned(conn: aiosqlite.Connection, slot_id: int, old: str, new: str) -> bool:
        """Advance a slot's plan, unless someone else (a new agreement) changed it meanwhile."""
        cur = await conn.execute("UPDATE video_slots SET planned_until = ? WHERE id = ? AND planned_until = ?",
                                 (new, slot_id, old))
        return cur.rowcount == 1

    # -- calls ----------------------------------------------------------------------------------------------

    async def call(self, call_id: int) -> Call | None:
        row = await self._db.fetch_one("SELECT * FROM video_calls WHERE id = ?", (call_id,))
        return _call(row) if row else None

    async def calls_between(self, child_ids: list[int], start: str, end: str) -> list[Call]:
        found = []
        for chunk in _chunks(child_ids):
            rows = await self._db.fetch_all(
                f"SELECT * FROM video_calls WHERE child_id IN ({','.join('?' * len(chunk))}) "
                "AND starts_at >= ? AND starts_at < ? ORDER BY starts_at, id", (*chunk, start, end))
            found += [_call(r) for r in rows]
        return found

    async def next_call(self, child_id: int, now: str) -> Call | None:
        row = await self._db.fetch_one(
            "SELECT * FROM video_calls WHERE child_id = ? AND outcome IS NULL AND starts_at > ? "
            "ORDER BY starts_at LIMIT 1", (child_id, now))
        return _call(row) if row else None

    async def recent_calls(self, child_id: int, before: str, limit: int = 4) -> list[Call]:
        rows = await self._db.fetch_all(
            "SELECT * FROM video_calls WHERE child_id = ? AND starts_at <= ? AND (outcome IS NULL OR outcome != "
            "'cancelled') ORDER BY starts_at DESC LIMIT ?", (child_id, before, limit))
        return [_call(r) for r in rows]

    @staticmethod
    async def add_call(conn: aiosqlite.Connection, child_id: int, slot_id: int | None, starts_at: str, minutes: int,
                       zone: str, room: str | None, moved_from: int | None = None) -> int | None:
        """The new call's id, or None when the child already has a call starting then."""
        cur = await conn.execute(
            "INSERT OR IGNORE INTO video_calls (child_id, slot_id, starts_at, minutes, zone, room, moved_from) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (child_id, slot_id, starts_at, minutes, zone, room, moved_from))
        return cur.lastrowid if cur.rowcount == 1 else None

    @staticmethod
    async def add_reminders(conn: aiosqlite.Connection, call_id: int, dues: list[tuple[str, int, str]]) -> None:
        await conn.executemany(
            "INSERT OR IGNORE INTO video_reminders (call_id, kind, offset_s, due_at) VALUES (?, ?, ?, ?)",
            [(call_id, kind, offset, due_at) for kind, offset, due_at in dues])

    @staticmethod
    async def record_outcome(conn: aiosqlite.Connection, call_id: int, outcome: str, reason: str | None,
                             by: int | None, now: str) -> bool:
        """Once: a second answer about the same call changes nothing."""
        cur = await conn.execute(
            "UPDATE video_calls SET outcome = ?, reason = ?, recorded_by = ?, recorded_at = ? "
            "WHERE id = ? AND outcome IS NULL", (outcome, reason, by, now, call_id))
        return cur.rowcount == 1

    @staticmethod
    async def cancel_upcoming(conn: aiosqlite.Connection, child_id: int, now: str) -> None:
        """A new weekly time replaces the old one: calls not yet begun are cancelled with their reminders."""
        await conn.execute(
            "UPDATE video_reminders SET state = 'cancelled', done_at = ? WHERE state = 'pending' AND call_id IN "
            "(SELECT id FROM video_calls WHERE child_id = ? AND outcome IS NULL AND starts_at > ?)",
            (now, child_id, now))
        await conn.execute(
            "UPDATE video_calls SET outcome = 'cancelled', recorded_at = ? "
            "WHERE child_id = ? AND outcome IS NULL AND starts_at > ?", (now, child_id, now))

    @staticmethod
    async def cancel_reminders(conn: aiosqlite.Connection, call_id: int, now: str, kind: str | None = None) -> None:
        await conn.execute(
            "UPDATE video_reminders SET state = 'cancelled', done_at = ? WHERE call_id = ? AND state = 'pending' "
            "AND kind = COALESCE(?, kind)", (now, call_id, kind))

    # -- reminders ------------------------------------------------------------------------------------------

    async def due_reminders(self, now: str, limit: int) -> list[DueReminder]:
        rows = await self._db.fetch_all(
            "SELECT r.id AS rid, r.kind AS rkind, r.offset_s, r.due_at, c.* FROM video_reminders r "
            "JOIN video_calls c ON c.id = r.call_id WHERE r.state = 'pending' AND r.due_at <= ? "
            "ORDER BY r.due_at, r.id LIMIT ?", (now, limit))
        return [DueReminder(r["rid"], r["rkind"], r["offset_s"], r["due_at"], _call(r)) for r in rows]

    @staticmethod
    async def finish_reminder(conn: aiosqlite.Connection, reminder_id: int, state: str, now: str) -> bool:
        cur = await conn.execute(
            "UPDATE video_reminders SET state = ?, done_at = ? WHERE id = ? AND state = 'pending'",
            (state, now, reminder_id))
        return cur.rowcount == 1


def _chunks(ids: list[int], size: int = 500):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]
