"""The daily roll and the absences (migration 0019): a roll row per class and day (taken, reminded), one absence
row per child absent on a day, with the family's answer beside the school's reason."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class Absence:
    id: int
    child_id: int
    class_id: int
    day: str                      # 'YYYY-MM-DD', the school's local date
    reason: str                   # 'sick', 'personal', 'none', 'unknown'
    marked_by: int | None
    marked_at: str
    family_reason: str | None = None
    family_note: str = ""
    family_by: int | None = None
    family_at: str | None = None


@dataclass(frozen=True)
class Roll:
    class_id: int
    day: str
    taken_by: int | None
    taken_at: str | None
    reminded_at: str | None


@dataclass(frozen=True)
class RollDue:
    """A class whose roll of the day is not taken, with its school: what the reminder looks at."""

    class_id: int
    school_id: int
    class_name: str


def _absence(r) -> Absence:
    return Absence(r["id"], r["child_id"], r["class_id"], r["day"], r["reason"], r["marked_by"], r["marked_at"],
                   r["family_reason"], r["family_note"], r["family_by"], r["family_at"])


class AttendanceRepository(Repository):
    async def roll(self, class_id: int, day: str) -> Roll | None:
        row = await self._one("SELECT * FROM attendance_rolls WHERE class_id = ? AND day = ?", (class_id, day))
        return Roll(row["class_id"], row["day"], row["taken_by"], row["taken_at"], row["reminded_at"]) if row else None

    async def absences(self, class_id: int, day: str) -> list[Absence]:
        rows = await self._all("SELECT * FROM absences WHERE class_id = ? AND day = ? ORDER BY child_id",
                               (class_id, day))
        return [_absence(r) for r in rows]

    async def absence(self, absence_id: int) -> Absence | None:
        row = await self._one("SELECT * FROM absences WHERE id = ?", (absence_id,))
        return _absence(row) if row else None

    async def absence_of(self, child_id: int, day: str) -> Absence | None:
        row = await self._one("SELECT * FROM absences WHERE child_id = ? AND day = ?", (child_id, day))
        return _absence(row) if row else None

    async def mark(self, child_id: int, class_id: int, day: str, reason: str, by: int, at: str) -> Absence:
        """The child is absent that day for this reason: one row per child and day whoever marks it (UNIQUE), the
        later press changing the reason of the earlier."""
        rows = await self._write(
            "INSERT INTO absences (child_id, class_id, day, reason, marked_by, marked_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (child_id, day) DO UPDATE SET reason = excluded.reason, marked_by = excluded.marked_by, "
            "marked_at = excluded.marked_at RETURNING *", (child_id, class_id, day, reason, by, at))
        return _absence(rows[0])

    async def unmark(self, child_id: int, day: str) -> Absence | None:
        """A late child is at school after all: the absence goes. Returns it, if there was one."""
        rows = await self._write("DELETE FROM absences WHERE child_id = ? AND day = ? RETURNING *", (child_id, day))
        return _absence(rows[0]) if rows else None

    async def taken(self, class_id: int, day: str, by: int, at: str) -> bool:
        """The roll is taken (the first time counts; a correction keeps it). True if this was the first time."""
        rows = await self._write(
            "INSERT INTO attendance_rolls (class_id, day, taken_by, taken_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (class_id, day) DO UPDATE SET taken_by = excluded.taken_by, taken_at = excluded.taken_at "
            "WHERE attendance_rolls.taken_at IS NULL RETURNING class_id", (class_id, day, by, at))
        return bool(rows)

    async def family_answer(self, absence_id: int, family_reason: str, reason: str, note: str, by: int,
                            at: str) -> bool:
        """The first answer of the family counts: False if someone of the family answered first."""
        rows = await self._write(
            "UPDATE absences SET family_reason = ?, reason = ?, family_note = ?, family_by = ?, family_at = ? "
            "WHERE id = ? AND family_at IS NULL RETURNING id", (family_reason, reason, note, by, at, absence_id))
        return bool(rows)

    async def untaken(self, day: str) -> list[RollDue]:
        """Classes with a class teacher and children whose roll of `day` is neither taken nor reminded."""
        rows = await self._all(
            "SELECT k.id, k.school_id, k.name FROM classes k "
            "WHERE EXISTS (SELECT 1 FROM roles r WHERE r.role = 'teacher' AND r.class_id = k.id "
            "              AND r.revoked_at IS NULL) "
            "AND EXISTS (SELECT 1 FROM children c WHERE c.class_id = k.id) "
            "AND NOT EXISTS (SELECT 1 FROM attendance_rolls a WHERE a.class_id = k.id AND a.day = ? "
            "                AND (a.taken_at IS NOT NULL OR a.reminded_at IS NOT NULL)) "
            "ORDER BY k.id", (day,))
        return [RollDue(r["id"], r["school_id"], r["name"]) for r in rows]

    async def reminded(self, class_id: int, day: str, at: str) -> bool:
        """Once: False if the roll was taken or reminded meanwhile."""
        rows = await self._write(
            "INSERT INTO attendance_rolls (class_id, day, reminded_at) VALUES (?, ?, ?) "
            "ON CONFLICT (class_id, day) DO UPDATE SET reminded_at = excluded.reminded_at "
            "WHERE attendance_rolls.taken_at IS NULL AND attendance_rolls.reminded_at IS NULL RETURNING class_id",
            (class_id, day, at))
        return bool(rows)

    async def close_followups(self, child_id: int, at: str) -> int:
        """The class teacher's follow-up of the child's absence is done: the absence is explained, or the child came."""
        rows = await self._write("UPDATE care_followups SET done_at = ? WHERE child_id = ? AND reason = 'absence' "
                                 "AND done_at IS NULL RETURNING id", (at, child_id))
        return len(rows)

    async def teachers(self, class_id: int) -> list[int]:
        """The class teachers of the class (their person ids)."""
        rows = await self._all("SELECT DISTINCT person_id FROM roles WHERE role = 'teacher' AND class_id = ? "
                               "AND revoked_at IS NULL ORDER BY person_id", (class_id,))
        return [r["person_id"] for r in rows]
