"""Children's records: where each child belongs, the fields, and the history of every change.

    async with db.transaction() as conn:
        children = repo.within(conn)
        child_id = await children.create(NewChild(school_id, class_id, actor.person_id, stamp(now)))
        changed = await children.update(RecordChange(child_id, values, actor.person_id, stamp(now)))
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class ChildPlace:
    """Where a child belongs: enough to decide who reaches them. The township is its school's (None: a school
    under no township); the village is where its home is (None: not recorded)."""

    id: int
    school_id: int
    class_id: int
    village_id: int | None = None
    township_id: int | None = None


@dataclass(frozen=True)
class ChildRow:
    id: int
    school_id: int
    class_id: int
    class_name: str
    name: str
    village_id: int | None = None
    township_id: int | None = None
    village_name: str = ""

    @property
    def place(self) -> ChildPlace:
        return ChildPlace(self.id, self.school_id, self.class_id, self.village_id, self.township_id)


@dataclass(frozen=True)
class FieldChange:
    field: str
    old_value: str | None
    new_value: str | None
    changed_at: str
    changed_by: int | None


@dataclass(frozen=True)
class NewChild:
    """A record opened in a class; its fields follow as a RecordChange."""

    school_id: int
    class_id: int
    created_by: int | None
    created_at: str   # bot.clock.stamp


@dataclass(frozen=True)
class RecordChange:
    """New values for some of a child's fields ('' clears one), by whom and when."""

    child_id: int
    values: dict[str, str]
    by: int | None
    at: str           # bot.clock.stamp


_SELECT = (
    "SELECT c.id, c.school_id, c.class_id, k.name AS class_name, COALESCE(f.value, '') AS name, c.village_id, "
    "s.township_id, COALESCE(v.name, '') AS village_name "
    "FROM children c JOIN classes k ON k.id = c.class_id JOIN schools s ON s.id = c.school_id "
    "LEFT JOIN villages v ON v.id = c.village_id "
    "LEFT JOIN child_fields f ON f.child_id = c.id AND f.field = 'name' "
)


def roster_order(child: ChildRow) -> tuple:
    """How lists of children are sorted: by class, then in the order they were imported or added (their id), the
    order of the class list the teacher keeps (a name sort would scatter it, and move a child when renamed)."""
    return child.class_name, child.class_id, child.id


def _row(r) -> ChildRow:
    return ChildRow(r["id"], r["school_id"], r["class_id"], r["class_name"], r["name"], r["village_id"],
                    r["township_id"], r["village_name"])


class ChildrenRepository(Repository):
    async def get(self, child_id: int) -> ChildRow | None:
        row = await self._one(_SELECT + "WHERE c.id = ?", (child_id,))
        return _row(row) if row else None

    async def in_class(self, class_id: int) -> list[ChildRow]:
        return [_row(r) for r in await self._all(_SELECT + "WHERE c.class_id = ? ORDER BY c.id", (class_id,))]

    async def in_school(self, school_id: int) -> list[ChildRow]:
        return [_row(r) for r in await self._all(
            _SELECT + "WHERE c.school_id = ? ORDER BY class_name, c.class_id, c.id", (school_id,))]

    async def in_township(self, township_id: int) -> list[ChildRow]:
        """Every child of every school of the township."""
        return [_row(r) for r in await self._all(
            _SELECT + "WHERE s.township_id = ? ORDER BY class_name, c.class_id, c.id", (township_id,))]

    async def in_village(self, village_id: int) -> list[ChildRow]:
        return [_row(r) for r in await self._all(
            _SELECT + "WHERE c.village_id = ? ORDER BY class_name, c.class_id, c.id", (village_id,))]

    async def for_grant(self, grant) -> list[ChildRow]:
        """The children one grant (storage.people.Grant) reaches: an admin's whole school, a teacher's class, a
        supervisor's township, a director's village, anyone else's own child."""
        if grant.role == "admin" and grant.school_id is not None:
            return await self.in_school(grant.school_id)
        if grant.role == "teacher" and grant.class_id is not None:
            return await self.in_class(grant.class_id)
        if grant.role == "supervisor" and grant.township_id is not None:
            return await self.in_township(grant.township_id)
        if grant.role == "director" and grant.village_id is not None:
            return await self.in_village(grant.village_id)
        if grant.child_id is not None:
            row = await self.get(grant.child_id)
            return [row] if row else []
        return []

    async def reached_by(self, grants, roles: set[str] | frozenset[str] | None = None) -> list[ChildRow]:
        """The children these grants reach (`for_grant`), in the roster's order. Only grants of `roles` count,
        when given."""
        found: dict[int, ChildRow] = {}
        for grant in grants:
            if roles is not None and grant.role not in roles:
                continue
            for row in await self.for_grant(grant):
                found.setdefault(row.id, row)
        return sorted(found.values(), key=roster_order)

    async def set_village(self, child_id: int, village_id: int | None) -> bool:
        """Where the child's home is (None: not recorded). True if it changed."""
        rows = await self._write("UPDATE children SET village_id = ? WHERE id = ? AND village_id IS NOT ? "
                                 "RETURNING id", (village_id, child_id, village_id))
        return bool(rows)

    async def fields(self, child_id: int) -> dict[str, str]:
        rows = await self._all("SELECT field, value FROM child_fields WHERE child_id = ?", (child_id,))
        return {r["field"]: r["value"] for r in rows}

    async def history(self, child_id: int, limit: int = 30) -> list[FieldChange]:
        rows = await self._all(
            "SELECT field, old_value, new_value, changed_at, changed_by FROM child_field_history "
            "WHERE child_id = ? ORDER BY id DESC LIMIT ?", (child_id, limit))
        return [FieldChange(r["field"], r["old_value"], r["new_value"], r["changed_at"], r["changed_by"]) for r in rows]

    async def find_duplicate(self, school_id: int, name: str, birth_date: str) -> int | None:
        """The same child already on the school's roll: same name and same date of birth. Inside the writing
        transaction (`within(conn)`), so that the answer still holds when the write follows."""
        row = await self._one(
            "SELECT c.id FROM children c JOIN child_fields n ON n.child_id = c.id AND n.field = 'name' "
            "LEFT JOIN child_fields b ON b.child_id = c.id AND b.field = 'birth_date' "
            "WHERE c.school_id = ? AND n.value = ? AND COALESCE(b.value, '') = ?", (school_id, name, birth_date))
        return row[0] if row else None

    async def create(self, child: NewChild) -> int:
        [row] = await self._write(
            "INSERT INTO children (school_id, class_id, created_at, created_by) VALUES (?, ?, ?, ?) RETURNING id",
            (child.school_id, child.class_id, child.created_at, child.created_by))
        return row[0]

    async def update(self, change: RecordChange) -> list[str]:
        """Write the values that differ from what is stored, with a history line each; returns the keys changed.
        Several statements: call it within a transaction."""
        current = await self.fields(change.child_id)
        changed = []
        for key, value in change.values.items():
            old = current.get(key)
            if (old or "") == value:
                continue
            if value == "":
                await self._write("DELETE FROM child_fields WHERE child_id = ? AND field = ?", (change.child_id, key))
            else:
                await self._write(
                    "INSERT INTO child_fields (child_id, field, value, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (child_id, field) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    (change.child_id, key, value, change.at, change.by))
            await self._write(
                "INSERT INTO child_field_history (child_id, field, old_value, new_value, changed_at, changed_by) "
                "VALUES (?, ?, ?, ?, ?, ?)", (change.child_id, key, old, value or None, change.at, change.by))
            changed.append(key)
        return changed
