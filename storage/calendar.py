"""The care calendar: the school's recurring tasks (and the weekly digest's row), each time one came due, and
each person's reminder of it with whether they marked it done.

    async with db.transaction() as conn:
        calendar = repo.within(conn)
        if await calendar.advance(task.id, task.next_at, stamp(next_time)):
            occurrence_id = await calendar.add_occurrence(NewOccurrence(task.id, stamp(due), SENT, 3, stamp(now)))
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository

TASK, DIGEST = "task", "digest"
DRAFT, ACTIVE, REMOVED = "draft", "active", "removed"
SENT, SKIPPED = "sent", "skipped"


@dataclass(frozen=True)
class Task:
    """A school's task: a preset added (active at once) or a custom one being set up (a draft); or the digest."""
    school_id: int | None
    preset: str | None
    title: str
    recurrence: str | None
    month: int | None
    day: int | None
    audience: str | None
    state: str
    next_at: str | None       # bot.clock.stamp
    created_by: int | None
    created_at: str           # bot.clock.stamp
    kind: str = TASK
    id: int | None = None     # given by the database


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


@dataclass(frozen=True)
class DraftChoices:
    """What a custom task being set up has so far: its name, how often, the month, the day."""
    task_id: int
    title: str
    recurrence: str | None
    month: int | None
    day: int | None


@dataclass(frozen=True)
class Activation:
    """A draft saved: who is reminded, and when first."""
    task_id: int
    audience: str
    next_at: str              # bot.clock.stamp
    changed_by: int | None
    changed_at: str           # bot.clock.stamp


@dataclass(frozen=True)
class NewOccurrence:
    task_id: int
    due_at: str               # bot.clock.stamp: when it was due, not when it was handled
    state: str                # SENT or SKIPPED
    recipients: int
    handled_at: str           # bot.clock.stamp


@dataclass(frozen=True)
class Followup:
    """A task for one person about one child (the class teacher: talk with the family after a "no")."""
    id: int
    child_id: int
    person_id: int
    reason: str
    created_at: str           # bot.clock.stamp
    done_at: str | None


def _followup(r) -> Followup:
    return Followup(r["id"], r["child_id"], r["person_id"], r["reason"], r["created_at"], r["done_at"])


def _task(r) -> Task:
    return Task(r["school_id"], r["preset"], r["title"], r["recurrence"], r["month"], r["day"], r["audience"], r["state"],
                r["next_at"], r["created_by"], r["created_at"], r["kind"], r["id"])


def _reminder(r) -> Reminder:
    return Reminder(r["mark_id"], r["person_id"], r["done_at"], r["due_at"], _task(r))


_REMINDERS = ("SELECT m.id AS mark_id, m.person_id, m.done_at, o.due_at, t.* FROM calendar_marks m "
              "JOIN calendar_occurrences o ON o.id = m.occurrence_id JOIN calendar_tasks t ON t.id = o.task_id ")


class CalendarRepository(Repository):
    # -- tasks ------------------------------------------------------------------------------------------

    async def task(self, task_id: int) -> Task | None:
        row = await self._one("SELECT * FROM calendar_tasks WHERE id = ?", (task_id,))
        return _task(row) if row else None

    async def tasks(self, school_ids: list[int]) -> list[Task]:
        """The active tasks of these schools, the next one first."""
        if not school_ids:
            return []
        marks = ",".join("?" * len(school_ids))
        rows = await self._all(
            f"SELECT * FROM calendar_tasks WHERE school_id IN ({marks}) AND state = 'active' AND kind = 'task' "
            "ORDER BY next_at, id", tuple(school_ids))
        return [_task(r) for r in rows]

    async def due(self, now: str) -> list[Task]:
        rows = await self._all(
            "SELECT * FROM calendar_tasks WHERE state = 'active' AND next_at <= ? ORDER BY next_at, id", (now,))
        return [_task(r) for r in rows]

    async def unscheduled_digest(self) -> Task | None:
        row = await self._one(
            "SELECT * FROM calendar_tasks WHERE kind = 'digest' AND state = 'active' AND next_at IS NULL")
        return _task(row) if row else None

    async def draft(self, person_id: int) -> Task | None:
        """The custom task this person is setting up, if any (their latest)."""
        row = await self._one(
            "SELECT * FROM calendar_tasks WHERE created_by = ? AND state = 'draft' ORDER BY id DESC LIMIT 1",
            (person_id,))
        return _task(row) if row else None

    async def add_task(self, new: Task) -> int:
        rows = await self._write(
            "INSERT INTO calendar_tasks (school_id, preset, title, recurrence, month, day, audience, state, next_at, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (new.school_id, new.preset, new.title, new.recurrence, new.month, new.day, new.audience, new.state,
             new.next_at, new.created_by, new.created_at))
        return rows[0][0]

    async def delete_drafts(self, person_id: int) -> None:
        # A draft never came due, so nothing refers to it.
        await self._write("DELETE FROM calendar_tasks WHERE created_by = ? AND state = 'draft'", (person_id,))

    async def update_draft(self, choices: DraftChoices) -> bool:
        rows = await self._write(
            "UPDATE calendar_tasks SET title = ?, recurrence = ?, month = ?, day = ? WHERE id = ? AND state = 'draft' "
            "RETURNING id", (choices.title, choices.recurrence, choices.month, choices.day, choices.task_id))
        return len(rows) == 1

    async def activate(self, activation: Activation) -> bool:
        rows = await self._write(
            "UPDATE calendar_tasks SET audience = ?, state = 'active', next_at = ?, changed_by = ?, changed_at = ? "
            "WHERE id = ? AND state = 'draft' RETURNING id",
            (activation.audience, activation.next_at, activation.changed_by, activation.changed_at,
             activation.task_id))
        return len(rows) == 1

    async def remove(self, task_id: int, by: int | None, at: str) -> bool:
        rows = await self._write(
            "UPDATE calendar_tasks SET state = 'removed', next_at = NULL, changed_by = ?, changed_at = ? "
            "WHERE id = ? AND state = 'active' AND kind = 'task' RETURNING id", (by, at, task_id))
        return len(rows) == 1

    async def advance(self, task_id: int, expected: str | None, next_at: str) -> bool:
        """Move the task on, only if nobody else has since (a second scheduler run, a removal): False then."""
        rows = await self._write(
            "UPDATE calendar_tasks SET next_at = ? WHERE id = ? AND state = 'active' AND next_at IS ? RETURNING id",
            (next_at, task_id, expected))
        return len(rows) == 1

    # -- occurrences and reminders ----------------------------------------------------------------------

    async def add_occurrence(self, new: NewOccurrence) -> int | None:
        """None if this occurrence was handled before."""
        rows = await self._write(
            "INSERT OR IGNORE INTO calendar_occurrences (task_id, due_at, state, recipients, handled_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id", (new.task_id, new.due_at, new.state, new.recipients, new.handled_at))
        return rows[0][0] if rows else None

    async def add_mark(self, occurrence_id: int, person_id: int) -> int:
        rows = await self._write("INSERT INTO calendar_marks (occurrence_id, person_id) VALUES (?, ?) RETURNING id",
                                 (occurrence_id, person_id))
        return rows[0][0]

    async def mark_done(self, mark_id: int, at: str) -> bool:
        """True the first time only: two presses racing each other count once."""
        rows = await self._write("UPDATE calendar_marks SET done_at = ? WHERE id = ? AND done_at IS NULL RETURNING id",
                                 (at, mark_id))
        return len(rows) == 1

    async def occurrences(self, task_id: int) -> list[Occurrence]:
        rows = await self._all("SELECT * FROM calendar_occurrences WHERE task_id = ? ORDER BY due_at", (task_id,))
        return [Occurrence(r["id"], r["task_id"], r["due_at"], r["state"], r["recipients"]) for r in rows]

    async def reminder(self, mark_id: int) -> Reminder | None:
        row = await self._one(_REMINDERS + "WHERE m.id = ?", (mark_id,))
        return _reminder(row) if row else None

    async def open_reminders(self, person_id: int, limit: int) -> list[Reminder]:
        """Not yet done, of active tasks, newest first; a reminder superseded by the task's next occurrence is
        history, not a chore."""
        rows = await self._all(
            _REMINDERS + "WHERE m.person_id = ? AND m.done_at IS NULL AND t.state = 'active' AND o.id = "
            "(SELECT MAX(q.id) FROM calendar_occurrences q WHERE q.task_id = o.task_id AND q.state = 'sent') "
            "ORDER BY o.due_at DESC, m.id DESC LIMIT ?", (person_id, limit))
        return [_reminder(r) for r in rows]

    # -- a person's tasks about one child ---------------------------------------------------------------

    async def add_followup(self, child_id: int, person_id: int, reason: str, at: str) -> int:
        """The person's open task about the child for this reason: a new one, or the one still open."""
        rows = await self._write(
            "INSERT OR IGNORE INTO care_followups (child_id, person_id, reason, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING id", (child_id, person_id, reason, at))
        if rows:
            return rows[0][0]
        row = await self._one("SELECT id FROM care_followups WHERE child_id = ? AND person_id = ? AND reason = ? "
                              "AND done_at IS NULL", (child_id, person_id, reason))
        return row["id"]

    async def followup(self, followup_id: int) -> Followup | None:
        row = await self._one("SELECT * FROM care_followups WHERE id = ?", (followup_id,))
        return _followup(row) if row else None

    async def open_followups(self, person_id: int, limit: int) -> list[Followup]:
        rows = await self._all("SELECT * FROM care_followups WHERE person_id = ? AND done_at IS NULL "
                               "ORDER BY created_at DESC, id DESC LIMIT ?", (person_id, limit))
        return [_followup(r) for r in rows]

    async def followup_done(self, followup_id: int, at: str) -> bool:
        """True the first time only."""
        rows = await self._write("UPDATE care_followups SET done_at = ? WHERE id = ? AND done_at IS NULL "
                                 "RETURNING id", (at, followup_id))
        return len(rows) == 1

    # -- who is reminded --------------------------------------------------------------------------------

    async def responsible(self, school_id: int, teachers: bool, proxies: bool) -> list[int]:
        """The school's class teachers and/or the proxy parents of its children, with an active role and an
        identity the bot can reach them at."""
        rows = await self._all(
            "SELECT DISTINCT r.person_id FROM roles r "
            "JOIN identities i ON i.person_id = r.person_id "
            "LEFT JOIN children c ON c.id = r.child_id WHERE r.revoked_at IS NULL AND ("
            "(? AND r.role = 'teacher' AND r.school_id = ?) OR (? AND r.role = 'proxy' AND c.school_id = ?)) "
            "ORDER BY r.person_id", (int(teachers), school_id, int(proxies), school_id))
        return [r["person_id"] for r in rows]

    async def carers(self) -> list[int]:
        """Everyone who is a class teacher or a proxy parent anywhere, and can be reached."""
        rows = await self._all(
            "SELECT DISTINCT r.person_id FROM roles r JOIN identities i ON i.person_id = r.person_id "
            "WHERE r.revoked_at IS NULL AND r.role IN ('teacher', 'proxy') ORDER BY r.person_id")
        return [r["person_id"] for r in rows]
