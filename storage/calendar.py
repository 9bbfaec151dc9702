"""The care calendar: the school's recurring tasks (and the weekly digest's row), each time one came due, and
each person's reminder of it with whether they marked it done."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database

TASK, DIGEST = "task", "digest"
DRAFT, ACTIVE, REMOVED = "draft", "active", "removed"
SENT, SKIPPED = "sent", "skipped"


@dataclass(frozen=True)
class Task:
    id: int
    kind: str
    school_id: int | None
    preset: str | None
    title: str
    recurrence: str | None
    month: int | None
    day: int | None
    audience: str | None
    state: str
    next_at: str | None       # UTC
    created_by: int | None
    created_at: str


@dataclass(frozen=True)
class Occurrence:
    id: int
    task_id: int
    due_at: str
    state: str
    recipients: int


@dataclass(frozen=True)
class Reminder:
    """One person's reminder of one occurrence of a task."""
    id: int
    person_id: int
    done_at: str | None
    due_at: str
    task: Task


def _task(r) -> Task:
    return Task(r["id"], r["kind"], r["school_id"], r["preset"], r["title"], r["recurrence"], r["month"], r["day"],
                r["audience"], r["state"], r["next_at"], r["created_by"], r["created_at"])


def _reminder(r) -> Reminder:
    return Reminder(r["mark_id"], r["person_id"], r["done_at"], r["due_at"], _task(r))


_REMINDERS = ("SELECT m.id AS mark_id, m.person_id, m.done_at, o.due_at, t.* FROM calendar_marks m "
              "JOIN calendar_occurrences o ON o.id = m.occurrence_id JOIN calendar_tasks t ON t.id = o.task_id ")


class CalendarRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- tasks ------------------------------------------------------------------------------------------

    async def task(self, task_id: int) -> Task | None:
        row = await self._db.fetch_one("SELECT * FROM calendar_tasks WHERE id = ?", (task_id,))
        return _task(row) if row else None

    async def tasks(self, school_ids: list[int]) -> list[Task]:
        """The active tasks of these schools, the next one first."""
        if not school_ids:
            return []
        marks = ",".join("?" * len(school_ids))
        rows = await self._db.fetch_all(
            f"SELECT * FROM calendar_tasks WHERE school_id IN ({marks}) AND state = 'active' AND kind = 'task' "
            "ORDER BY next_at, id", tuple(school_ids))
        return [_task(r) for r in rows]

    async def due(self, now: str) -> list[Task]:
        rows = await self._db.fetch_all(
            "SELECT * FROM calendar_tasks WHERE state = 'active' AND next_at <= ? ORDER BY next_at, id", (now,))
        return [_task(r) for r in rows]

    async def unscheduled_digest(self) -> Task | None:
        row = await self._db.fetch_one(
            "SELECT * FROM calendar_tasks WHERE kind = 'digest' AND state = 'active' AND next_at IS NULL")
        return _task(row) if row else None

    async def draft(self, person_id: int) -> Task | None:
        """The custom task this person is setting up, if any (their latest)."""
        row = await self._db.fetch_one(
            "SELECT * FROM calendar_tasks WHERE created_by = ? AND state = 'draft' ORDER BY id DESC LIMIT 1",
            (person_id,))
        return _task(row) if row else None

    @staticmethod
    async def add_task(conn: aiosqlite.Connection, school_id: int, preset: str | None, title: str,
                       recurrence: str | None, month: int | None, day: int | None, audience: str | None, state: str,
                       next_at: str | None, by: int, now: str) -> int:
        cur = await conn.execute(
            "INSERT INTO calendar_tasks (school_id, preset, title, recurrence, month, day, audience, state, next_at, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (school_id, preset, title, recurrence, month, day, audience, state, next_at, by, now))
        return cur.lastrowid

    @staticmethod
    async def delete_drafts(conn: aiosqlite.Connection, person_id: int) -> None:
        # A draft never came due, so nothing refers to it.
        await conn.execute("DELETE FROM calendar_tasks WHERE created_by = ? AND state = 'draft'", (person_id,))

    @staticmethod
    async def update_draft(conn: aiosqlite.Connection, task_id: int, title: str, recurrence: str | None,
                           month: int | None, day: int | None) -> bool:
        cur = await conn.execute(
            "UPDATE calendar_tasks SET title = ?, recurrence = ?, month = ?, day = ? WHERE id = ? AND state = 'draft'",
            (title, recurrence, month, day, task_id))
        return cur.rowcount == 1

    @staticmethod
    async def activate(conn: aiosqlite.Connection, task_id: int, audience: str, next_at: str, by: int,
                       now: str) -> bool:
        cur = await conn.execute(
            "UPDATE calendar_tasks SET audience = ?, state = 'active', next_at = ?, changed_by = ?, changed_at = ? "
            "WHERE id = ? AND state = 'draft'", (audience, next_at, by, now, task_id))
        return cur.rowcount == 1

    @staticmethod
    async def remove(conn: aiosqlite.Connection, task_id: int, by: int, now: str) -> bool:
        cur = await conn.execute(
            "UPDATE calendar_tasks SET state = 'removed', next_at = NULL, changed_by = ?, changed_at = ? "
            "WHERE id = ? AND state = 'active' AND kind = 'task'", (by, now, task_id))
        return cur.rowcount == 1

    @staticmethod
    async def advance(conn: aiosqlite.Connection, task_id: int, expected: str | None, next_at: str) -> bool:
        """Move the task on, only if nobody else has since (a second scheduler run, a removal): False then."""
        cur = await conn.execute(
            "UPDATE calendar_tasks SET next_at = ? WHERE id = ? AND state = 'active' AND next_at IS ?",
            (next_at, task_id, expected))
        return cur.rowcount == 1

    # -- occurrences and reminders ----------------------------------------------------------------------

    @staticmethod
    async def add_occurrence(conn: aiosqlite.Connection, task_id: int, due_at: str, state: str, recipients: int,
                             now: str) -> int | None:
        """None if this occurrence was handled before."""
        cur = await conn.execute(
            "INSERT OR IGNORE INTO calendar_occurrences (task_id, due_at, state, recipients, handled_at) "
            "VALUES (?, ?, ?, ?, ?)", (task_id, due_at, state, recipients, now))
        return cur.lastrowid if cur.rowcount == 1 else None

    @staticmethod
    async def add_mark(conn: aiosqlite.Connection, occurrence_id: int, person_id: int) -> int:
        cur = await conn.execute("INSERT INTO calendar_marks (occurrence_id, person_id) VALUES (?, ?)",
                                 (occurrence_id, person_id))
        return cur.lastrowid

    @staticmethod
    async def mark_done(conn: aiosqlite.Connection, mark_id: int, now: str) -> bool:
        """True the first time only: two presses racing each other count once."""
        cur = await conn.execute("UPDATE calendar_marks SET done_at = ? WHERE id = ? AND done_at IS NULL",
                                 (now, mark_id))
        return cur.rowcount == 1

    async def occurrences(self, task_id: int) -> list[Occurrence]:
        rows = await self._db.fetch_all(
            "SELECT * FROM calendar_occurrences WHERE task_id = ? ORDER BY due_at", (task_id,))
        return [Occurrence(r["id"], r["task_id"], r["due_at"], r["state"], r["recipients"]) for r in rows]

    async def reminder(self, mark_id: int) -> Reminder | None:
        row = await self._db.fetch_one(_REMINDERS + "WHERE m.id = ?", (mark_id,))
        return _reminder(row) if row else None

    async def open_reminders(self, person_id: int, limit: int) -> list[Reminder]:
        """Not yet done, of active tasks, newest first; a reminder superseded by the task's next occurrence is
        history, not a chore."""
        rows = await self._db.fetch_all(
            _REMINDERS + "WHERE m.person_id = ? AND m.done_at IS NULL AND t.state = 'active' AND o.id = "
            "(SELECT MAX(q.id) FROM calendar_occurrences q WHERE q.task_id = o.task_id AND q.state = 'sent') "
            "ORDER BY o.due_at DESC, m.id DESC LIMIT ?", (person_id, limit))
        return [_reminder(r) for r in rows]

    # -- who is reminded --------------------------------------------------------------------------------

    async def responsible(self, school_id: int, teachers: bool, proxies: bool, channel: str) -> list[tuple[int, str]]:
        """(person, chat) of the school's class teachers and/or the proxy parents of its children, with an active
        role and an identity on `channel`."""
        rows = await self._db.fetch_all(
            "SELECT DISTINCT r.person_id, i.external_id FROM roles r "
            "JOIN identities i ON i.person_id = r.person_id AND i.channel = ? "
            "LEFT JOIN children c ON c.id = r.child_id WHERE r.revoked_at IS NULL AND ("
            "(? AND r.role = 'teacher' AND r.school_id = ?) OR (? AND r.role = 'proxy' AND c.school_id = ?)) "
            "ORDER BY r.person_id", (channel, int(teachers), school_id, int(proxies), school_id))
        return _unique(rows)

    async def carers(self, channel: str) -> list[tuple[int, str]]:
        """(person, chat) of everyone who is a class teacher or a proxy parent anywhere."""
        rows = await self._db.fetch_all(
            "SELECT DISTINCT r.person_id, i.external_id FROM roles r "
            "JOIN identities i ON i.person_id = r.person_id AND i.channel = ? "
            "WHERE r.revoked_at IS NULL AND r.role IN ('teacher', 'proxy') ORDER BY r.person_id", (channel,))
        return _unique(rows)


def _unique(rows) -> list[tuple[int, str]]:
    found: dict[int, str] = {}
    for r in rows:
        found.setdefault(r["person_id"], r["external_id"])
    return list(found.items())
