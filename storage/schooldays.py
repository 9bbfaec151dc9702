"""The school calendar's rows (migration 0019): each school's own terms, and the days its admins marked off or as
make-up school days. Days are 'YYYY-MM-DD' local dates in the school's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from storage.db import Repository


@dataclass(frozen=True)
class TermRow:
    school_id: int
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class OverrideRow:
    school_id: int
    day: date
    kind: str               # 'off' or 'school'
    note: str = ""
    set_by: int | None = None
    set_at: str = ""        # bot.clock.stamp


def _term(row) -> TermRow:
    return TermRow(row["school_id"], date.fromisoformat(row["starts_on"]), date.fromisoformat(row["ends_on"]))


def _override(row) -> OverrideRow:
    return OverrideRow(row["school_id"], date.fromisoformat(row["day"]), row["kind"], row["note"], row["set_by"],
                       row["set_at"])


class SchoolDaysRepository(Repository):
    async def terms(self, school_id: int, start: date, end: date) -> list[TermRow]:
        """The school's own terms that touch `start` … `end`, in order."""
        rows = await self._all(
            "SELECT school_id, starts_on, ends_on FROM school_terms WHERE school_id = ? AND starts_on <= ?"
            " AND ends_on >= ? ORDER BY starts_on", (school_id, end.isoformat(), start.isoformat()))
        return [_term(r) for r in rows]

    async def put_term(self, term: TermRow) -> None:
        await self._write("INSERT INTO school_terms (school_id, starts_on, ends_on) VALUES (?, ?, ?)",
                          (term.school_id, term.starts_on.isoformat(), term.ends_on.isoformat()))

    async def delete_term(self, school_id: int, starts_on: date) -> bool:
        rows = await self._write("DELETE FROM school_terms WHERE school_id = ? AND starts_on = ? RETURNING id",
                                 (school_id, starts_on.isoformat()))
        return bool(rows)

    async def overrides(self, school_id: int, start: date, end: date) -> list[OverrideRow]:
        rows = await self._all(
            "SELECT * FROM school_day_overrides WHERE school_id = ? AND day BETWEEN ? AND ? ORDER BY day",
            (school_id, start.isoformat(), end.isoformat()))
        return [_override(r) for r in rows]

    async def put_override(self, row: OverrideRow) -> None:
        """Mark a day (replacing an earlier mark of the same day)."""
        await self._write(
            "INSERT INTO school_day_overrides (school_id, day, kind, note, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (school_id, day) DO UPDATE SET kind = excluded.kind, note = excluded.note,"
            " set_by = excluded.set_by, set_at = excluded.set_at",
            (row.school_id, row.day.isoformat(), row.kind, row.note, row.set_by, row.set_at))

    async def delete_override(self, school_id: int, day: date) -> bool:
        rows = await self._write(
            "DELETE FROM school_day_overrides WHERE school_id = ? AND day = ? RETURNING day",
            (school_id, day.isoformat()))
        return bool(rows)
