"""Children's records: where each child belongs, the fields, and the history of every change."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database


@dataclass(frozen=True)
class ChildPlace:
    """Where a child belongs: enough to decide who reaches them."""

    id: int
    school_id: int
    class_id: int


@dataclass(frozen=True)
class ChildRow:
    id: int
    school_id: int
    class_id: int
    class_name: str
    name: str

    @property
    def place(self) -> ChildPlace:
        return ChildPlace(self.id, self.school_id, self.class_id)


@dataclass(frozen=True)
class FieldChange:
    field: str
    old_value: str | None
    new_value: str | None
    changed_at: str
    changed_by: int | None


_SELECT = (
    "SELECT c.id, c.school_id, c.class_id, k.name AS class_name, COALESCE(f.value, '') AS name "
    "FROM children c JOIN classes k ON k.id = c.class_id "
    "LEFT JOIN child_fields f ON f.child_id = c.id AND f.field = 'name' "
)


def _row(r) -> ChildRow:
    return ChildRow(r["id"], r["school_id"], r["class_id"], r["class_name"], r["name"])


class ChildrenRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, child_id: int) -> ChildRow | None:
        row = await self._db.fetch_one(_SELECT + "WHERE c.id = ?", (child_id,))
        return _row(row) if row else None

    async def in_class(self, class_id: int) -> list[ChildRow]:
        return [_row(r) for r in await self._db.fetch_all(_SELECT + "WHERE c.class_id = ? ORDER BY name, c.id",
                                                           (class_id,))]

    async def in_school(self, school_id: int) -> list[ChildRow]:
        return [_row(r) for r in await self._db.fetch_all(
            _SELECT + "WHERE c.school_id = ? ORDER BY class_name, name, c.id", (school_id,))]

    async def reached_by(self, grants, roles: set[str] | frozenset[str] | None = None) -> list[ChildRow]:
        """The children these grants (storage.people.Grant) reach, by name: an admin's whole school, a teacher's
        class, anyone else's own child. Only grants of `roles` count, when given."""
        found: dict[int, ChildRow] = {}
        for grant in grants:
            if roles is not None and grant.role not in roles:
                continue
            if grant.role == "admin":
                rows = await self.in_school(grant.school_id)
            elif grant.role == "teacher" and grant.class_id is not None:
                rows = await self.in_class(grant.class_id)
            elif grant.child_id is not None:
                row = await self.get(grant.child_id)
                rows = [row] if row else []
            else:
                rows = []
            for row in rows:
                found.setdefault(row.id, row)
        return sorted(found.values(), key=lambda c: (c.name, c.id))

    async def fields(self, child_id: int) -> dict[str, str]:
        rows = await self._db.fetch_all("SELECT field, value FROM child_fields WHERE child_id = ?", (child_id,))
        return {r["field"]: r["value"] for r in rows}

    async def history(self, child_id: int, limit: int = 30) -> list[FieldChange]:
        rows = await self._db.fetch_all(
            "SELECT field, old_value, new_value, changed_at, changed_by FROM child_field_history "
            "WHERE child_id = ? ORDER BY id DESC LIMIT ?", (child_id, limit))
        return [FieldChange(r["field"], r["old_value"], r["new_value"], r["changed_at"], r["changed_by"]) for r in rows]

    async def find_duplicate(self, conn: aiosqlite.Connection, school_id: int, name: str,
                             birth_date: str) -> int | None:
        """The same child already on the school's roll: same name and same date of birth."""
        rows = await conn.execute_fetchall(
            "SELECT c.id FROM children c JOIN child_fields n ON n.child_id = c.id AND n.field = 'name' "
            "LEFT JOIN child_fields b ON b.child_id = c.id AND b.field = 'birth_date' "
            "WHERE c.school_id = ? AND n.value = ? AND COALESCE(b.value, '') = ?", (school_id, name, birth_date))
        return rows[0][0] if rows else None

    @staticmethod
    async def create(conn: aiosqlite.Connection, school_id: int, class_id: int, by: int | None, now: str) -> int:
        cur = await conn.execute("INSERT INTO children (school_id, class_id, created_at, created_by) VALUES (?, ?, ?, ?)",
                                 (school_id, class_id, now, by))
        return cur.lastrowid

    @staticmethod
    async def move(conn: aiosqlite.Connection, child_id: int, class_id: int) -> None:
        await conn.execute("UPDATE children SET class_id = ? WHERE id = ?", (class_id, child_id))

    @staticmethod
    async def set_fields(conn: aiosqlite.Connection, child_id: int, values: dict[str, str], by: int | None,
                         now: str) -> list[str]:
        """Write the values that differ from what is stored, with a history line each; returns the keys changed."""
        current = {r[0]: r[1] for r in await conn.execute_fetchall(
            "SELECT field, value FROM child_fields WHERE child_id = ?", (child_id,))}
        changed = []
        for key, value in values.items():
            old = current.get(key)
            if (old or "") == value:
                continue
            if value == "":
                await conn.execute("DELETE FROM child_fields WHERE child_id = ? AND field = ?", (child_id, key))
            else:
                await conn.execute(
                    "INSERT INTO child_fields (child_id, field, value, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (child_id, field) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    (child_id, key, value, now, by))
            await conn.execute(
                "INSERT INTO child_field_history (child_id, field, old_value, new_value, changed_at, changed_by) "
                "VALUES (?, ?, ?, ?, ?, ?)", (child_id, key, old, value or None, now, by))
            changed.append(key)
        return changed
