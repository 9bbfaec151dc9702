"""Schools, classes, people, their channel identities and their roles."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class Grant:
    """One active role of one person: the school, and the class or child it is for; a supervisor's role is for a
    township and a child director's for a village (of a township), with no school."""

    id: int
    person_id: int
    role: str
    school_id: int | None
    class_id: int | None = None
    child_id: int | None = None
    relation: str | None = None
    township_id: int | None = None
    village_id: int | None = None


@dataclass(frozen=True)
class NewGrant:
    """A role to give: to whom, which, where, on whose invitation (None: the command line), when (stamped)."""

    person_id: int
    role: str
    school_id: int | None
    class_id: int | None
    child_id: int | None
    relation: str | None
    granted_by: int | None
    granted_at: str
    township_id: int | None = None
    village_id: int | None = None


@dataclass(frozen=True)
class NewPerson:
    """Someone arriving on a channel: their identity there and the name they go by."""

    channel: str
    external_id: str
    display_name: str
    created_at: str


@dataclass(frozen=True)
class School:
    id: int
    name: str
    township_id: int | None = None


@dataclass(frozen=True)
class Township:
    id: int
    name: str


@dataclass(frozen=True)
class Village:
    id: int
    township_id: int
    name: str


@dataclass(frozen=True)
class SchoolClass:
    id: int
    school_id: int
    name: str


@dataclass(frozen=True)
class Person:
    id: int
    display_name: str


def _grant(row) -> Grant:
    return Grant(row["id"], row["person_id"], row["role"], row["school_id"], row["class_id"], row["child_id"],
                 row["relation"], row["township_id"], row["village_id"])


def _school(row) -> School:
    return School(row["id"], row["name"], row["township_id"])


class PeopleRepository(Repository):
    # schools and classes
    async def school_by_name(self, name: str) -> School | None:
        row = await self._one("SELECT id, name, township_id FROM schools WHERE name = ?", (name,))
        return _school(row) if row else None

    async def school(self, school_id: int) -> School | None:
        row = await self._one("SELECT id, name, township_id FROM schools WHERE id = ?", (school_id,))
        return _school(row) if row else None

    async def ensure_school(self, name: str, created_at: str, township_id: int | None = None) -> int:
        """The school of this name, created (under `township_id`) if new. An existing school keeps its township:
        whoever moves a school between townships does it with `place_school`."""
        await self._write("INSERT OR IGNORE INTO schools (name, created_at, township_id) VALUES (?, ?, ?)",
                          (name, created_at, township_id))
        return (await self._one("SELECT id FROM schools WHERE name = ?", (name,)))[0]

    async def place_school(self, school_id: int, township_id: int) -> None:
        """Put a school under a township (the operator's command line: a school that was under none)."""
        await self._write("UPDATE schools SET township_id = ? WHERE id = ?", (township_id, school_id))

    async def schools_in_township(self, township_id: int) -> list[School]:
        rows = await self._all("SELECT id, name, township_id FROM schools WHERE township_id = ? ORDER BY name",
                               (township_id,))
        return [_school(r) for r in rows]

    # townships and their villages
    async def ensure_township(self, name: str, created_at: str) -> int:
        await self._write("INSERT OR IGNORE INTO townships (name, created_at) VALUES (?, ?)", (name, created_at))
        return (await self._one("SELECT id FROM townships WHERE name = ?", (name,)))[0]

    async def township(self, township_id: int) -> Township | None:
        row = await self._one("SELECT id, name FROM townships WHERE id = ?", (township_id,))
        return Township(row["id"], row["name"]) if row else None

    async def ensure_village(self, township_id: int, name: str) -> int:
        await self._write("INSERT OR IGNORE INTO villages (township_id, name) VALUES (?, ?)", (township_id, name))
        return (await self._one("SELECT id FROM villages WHERE township_id = ? AND name = ?",
                                (township_id, name)))[0]

    async def village(self, village_id: int) -> Village | None:
        row = await self._one("SELECT id, township_id, name FROM villages WHERE id = ?", (village_id,))
        return Village(row["id"], row["township_id"], row["name"]) if row else None

    async def villages(self, township_id: int) -> list[Village]:
        rows = await self._all("SELECT id, township_id, name FROM villages WHERE township_id = ? ORDER BY name, id",
                               (township_id,))
        return [Village(r["id"], r["township_id"], r["name"]) for r in rows]

    async def ensure_class(self, school_id: int, name: str) -> int:
        await self._write("INSERT OR IGNORE INTO classes (school_id, name) VALUES (?, ?)", (school_id, name))
        return (await self._one("SELECT id FROM classes WHERE school_id = ? AND name = ?", (school_id, name)))[0]

    async def classes(self, school_id: int) -> list[SchoolClass]:
        rows = await self._all("SELECT id, school_id, name FROM classes WHERE school_id = ? ORDER BY name",
                               (school_id,))
        return [SchoolClass(r["id"], r["school_id"], r["name"]) for r in rows]

    async def school_class(self, class_id: int) -> SchoolClass | None:
        row = await self._one("SELECT id, school_id, name FROM classes WHERE id = ?", (class_id,))
        return SchoolClass(row["id"], row["school_id"], row["name"]) if row else None

    # people
    async def by_identity(self, channel: str, external_id: str) -> Person | None:
        row = await self._one(
            "SELECT p.id, p.display_name FROM identities i JOIN people p ON p.id = i.person_id "
            "WHERE i.channel = ? AND i.external_id = ?", (channel, external_id))
        return Person(row["id"], row["display_name"]) if row else None

    async def person(self, person_id: int) -> Person | None:
        row = await self._one("SELECT id, display_name FROM people WHERE id = ?", (person_id,))
        return Person(row["id"], row["display_name"]) if row else None

    async def identities(self, person_id: int) -> list[tuple[str, str]]:
        rows = await self._all("SELECT channel, external_id FROM identities WHERE person_id = ?", (person_id,))
        return [(r["channel"], r["external_id"]) for r in rows]

    async def external_id(self, person_id: int, channel: str) -> str | None:
        """Where the person is reached on `channel` (their chat), if they have an identity there."""
        return next((ext for ch, ext in await self.identities(person_id) if ch == channel), None)

    async def ensure_person(self, person: NewPerson) -> int:
        """The person with this identity, created with it if they are new. Within a transaction: two writes."""
        found = await self._one("SELECT person_id FROM identities WHERE channel = ? AND external_id = ?",
                                (person.channel, person.external_id))
        if found:
            return found[0]
        [(person_id,)] = await self._write("INSERT INTO people (display_name, created_at) VALUES (?, ?) RETURNING id",
                                           (person.display_name, person.created_at))
        await self._write("INSERT INTO identities (person_id, channel, external_id) VALUES (?, ?, ?)",
                          (person_id, person.channel, person.external_id))
        return person_id

    # roles
    async def grants(self, person_id: int) -> list[Grant]:
        rows = await self._all("SELECT * FROM roles WHERE person_id = ? AND revoked_at IS NULL ORDER BY id",
                               (person_id,))
        return [_grant(r) for r in rows]

    async def grant_by_id(self, grant_id: int) -> Grant | None:
        row = await self._one("SELECT * FROM roles WHERE id = ? AND revoked_at IS NULL", (grant_id,))
        return _grant(row) if row else None

    async def grants_for_child(self, child_id: int, school_id: int, class_id: int) -> list[Grant]:
        """Everyone who reaches this child: its own carers, its class teacher, its school's admins, the supervisors
        of the township its school is in and the director of its village (where there are such)."""
        # Each branch names `revoked_at IS NULL` and the order is `+id`, or SQLite scans the whole table
        # instead of using one index a branch (migrations 0008 and 0014). A school under no township and a child
        # without a village give NULL, which matches nobody.
        rows = await self._all(
            "SELECT * FROM roles WHERE (child_id = ? AND revoked_at IS NULL) "
            "OR (role = 'teacher' AND class_id = ? AND revoked_at IS NULL) "
            "OR (role = 'admin' AND school_id = ? AND revoked_at IS NULL) "
            "OR (role = 'supervisor' AND township_id = (SELECT township_id FROM schools WHERE id = ?) "
            "AND revoked_at IS NULL) "
            "OR (role = 'director' AND village_id = (SELECT village_id FROM children WHERE id = ?) "
            "AND revoked_at IS NULL) ORDER BY +id",
            (child_id, class_id, school_id, school_id, child_id))
        return [_grant(r) for r in rows]

    async def township_admins(self, township_id: int) -> list[Grant]:
        """The township's supervisors and every admin of every school of the township: who is told when a
        matter goes above one school."""
        rows = await self._all(
            "SELECT * FROM roles WHERE (role = 'supervisor' AND township_id = ? AND revoked_at IS NULL) "
            "OR (role = 'admin' AND school_id IN (SELECT id FROM schools WHERE township_id = ?) "
            "AND revoked_at IS NULL) ORDER BY +id", (township_id, township_id))
        return [_grant(r) for r in rows]

    async def grants_in_township(self, township_id: int) -> list[Grant]:
        """The township's own roles: its supervisors and its villages' child directors."""
        rows = await self._all("SELECT * FROM roles WHERE revoked_at IS NULL AND township_id = ? ORDER BY id",
                               (township_id,))
        return [_grant(r) for r in rows]

    async def grants_in_school(self, school_id: int) -> list[Grant]:
        rows = await self._all("SELECT * FROM roles WHERE revoked_at IS NULL AND school_id = ? ORDER BY id",
                               (school_id,))
        return [_grant(r) for r in rows]

    async def add_grant(self, grant: NewGrant) -> int:
        """The role's id; an identical active role is not given twice."""
        existing = await self._one(
            "SELECT id FROM roles WHERE person_id = ? AND role = ? AND school_id IS ? AND class_id IS ? "
            "AND child_id IS ? AND township_id IS ? AND village_id IS ? AND revoked_at IS NULL",
            (grant.person_id, grant.role, grant.school_id, grant.class_id, grant.child_id, grant.township_id,
             grant.village_id))
        if existing:
            return existing[0]
        [(grant_id,)] = await self._write(
            "INSERT INTO roles (person_id, role, school_id, class_id, child_id, relation, granted_by, granted_at, "
            "township_id, village_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (grant.person_id, grant.role, grant.school_id, grant.class_id, grant.child_id, grant.relation,
             grant.granted_by, grant.granted_at, grant.township_id, grant.village_id))
        return grant_id

    async def revoke_grant(self, grant_id: int, by: int, at: str) -> bool:
        rows = await self._write("UPDATE roles SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL "
                                 "RETURNING id", (at, by, grant_id))
        return bool(rows)

    async def set_meta(self, key: str, value: str) -> None:
        await self._write("INSERT INTO settings_kv (key, value) VALUES (?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    async def meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM settings_kv WHERE key = ?", (key,))
        return row["value"] if row else None
