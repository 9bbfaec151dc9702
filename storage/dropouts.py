"""Suspected-dropout cases (控辍保学), their persuasion attempts, the county contacts, and the absences the ladder
reads (written by the roll call, bot.attendance.service). Tables of migration 0019."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository

OPEN, SUSPECTED, RETURNED, CLOSED = "open", "suspected", "returned", "closed"
ACTIVE = (OPEN, SUSPECTED)
# An absence the ladder counts: no reason given, or nobody knows where the child is.
UNEXPLAINED = ("none", "unknown")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Case:
    id: int
    child_id: int
    school_id: int
    township_id: int | None
    first_absent_on: str
    whereabouts_unknown: bool
    state: str
    step: int
    step_at: str | None
    suspected_on: str | None
    returned_on: str | None
    watch_until: str | None
    reported_at: str | None
    opened_at: str
    closed_at: str | None


@dataclass(frozen=True)
class NewCase:
    child_id: int
    school_id: int
    township_id: int | None
    first_absent_on: str
    opened_at: str


@dataclass(frozen=True)
class Attempt:
    id: int
    case_id: int
    on_day: str
    people: str
    method: str
    attitude: str
    result: str
    next_step: str
    next_on: str | None
    recorded_by: int | None
    recorded_at: str


@dataclass(frozen=True)
class NewAttempt:
    case_id: int
    on_day: str
    people: str
    method: str
    attitude: str
    result: str
    next_step: str
    next_on: str | None
    recorded_by: int
    recorded_at: str


@dataclass(frozen=True)
class Absence:
    child_id: int
    class_id: int
    day: str
    reason: str
    family_note: str = ""


def _case(r) -> Case:
    return Case(r["id"], r["child_id"], r["school_id"], r["township_id"], r["first_absent_on"],
                bool(r["whereabouts_unknown"]), r["state"], r["step"], r["step_at"], r["suspected_on"],
                r["returned_on"], r["watch_until"], r["reported_at"], r["opened_at"], r["closed_at"])


def _attempt(r) -> Attempt:
    return Attempt(r["id"], r["case_id"], r["on_day"], r["people"], r["method"], r["attitude"], r["result"],
                   r["next_step"], r["next_on"], r["recorded_by"], r["recorded_at"])


class DropoutsRepository(Repository):
    # -- absences (read only: the roll call writes them) ----------------------------------------------------------

    async def unexplained_children(self, since: str) -> list[int]:
        """Children with an unexplained absence on or after `since`."""
        rows = await self._all("SELECT DISTINCT child_id FROM absences WHERE day >= ? AND reason IN (?, ?) "
                               "ORDER BY child_id", (since, *UNEXPLAINED))
        return [r[0] for r in rows]

    async def absences(self, child_id: int, since: str) -> dict[str, Absence]:
        """The child's absences on or after `since`, by day."""
        rows = await self._all("SELECT child_id, class_id, day, reason, family_note FROM absences "
                               "WHERE child_id = ? AND day >= ?", (child_id, since))
        return {r["day"]: Absence(r["child_id"], r["class_id"], r["day"], r["reason"], r["family_note"])
                for r in rows}

    async def unexplained_count(self, child_id: int, since: str, before: str | None = None) -> int:
        """How many days from `since` (and before `before`, when given) the child was absent without a reason."""
        row = await self._one("SELECT COUNT(*) FROM absences WHERE child_id = ? AND day >= ? AND day < ? "
                              "AND reason IN (?, ?)", (child_id, since, before or "9999-12-31", *UNEXPLAINED))
        return row[0]

    async def latest_note(self, child_id: int, since: str) -> str:
        """What the family said last about an absence of the case (the whereabouts, in the written report)."""
        row = await self._one("SELECT family_note FROM absences WHERE child_id = ? AND day >= ? AND family_note <> '' "
                              "ORDER BY day DESC LIMIT 1", (child_id, since))
        return row[0] if row else ""

    async def absence_counts(self, school_id: int, start: str, end: str) -> dict[str, int]:
        """The school's absences from `start` to `end` (days, both included), counted by reason."""
        rows = await self._all("SELECT a.reason, COUNT(*) AS n FROM absences a JOIN children c ON c.id = a.child_id "
                               "WHERE c.school_id = ? AND a.day BETWEEN ? AND ? GROUP BY a.reason",
                               (school_id, start, end))
        return {r["reason"]: r["n"] for r in rows}

    # -- cases ----------------------------------------------------------------------------------------------------

    async def get(self, case_id: int) -> Case | None:
        row = await self._one("SELECT * FROM dropout_cases WHERE id = ?", (case_id,))
        return _case(row) if row else None

    async def current(self, child_id: int) -> Case | None:
        """The child's case that is not closed (at most one: the index dropout_cases_one_open)."""
        row = await self._one("SELECT * FROM dropout_cases WHERE child_id = ? AND state <> 'closed'", (child_id,))
        return _case(row) if row else None

    async def not_closed(self) -> list[Case]:
        rows = await self._all("SELECT * FROM dropout_cases WHERE state <> 'closed' ORDER BY id")
        return [_case(r) for r in rows]

    async def in_schools(self, school_ids: list[int], states: tuple[str, ...] = ACTIVE) -> list[Case]:
        if not school_ids:
            return []
        marks = ",".join("?" * len(school_ids))
        states_marks = ",".join("?" * len(states))
        rows = await self._all(f"SELECT * FROM dropout_cases WHERE school_id IN ({marks}) "
                               f"AND state IN ({states_marks}) ORDER BY id", (*school_ids, *states))
        return [_case(r) for r in rows]

    async def of_month(self, school_id: int, start: str, end: str, end_stamp: str) -> list[Case]:
        """The school's cases open at some time from `start` to `end`: opened by the end, not closed before the
        start (closed_at is a moment, the others days)."""
        rows = await self._all("SELECT * FROM dropout_cases WHERE school_id = ? AND first_absent_on <= ? "
                               "AND (closed_at IS NULL OR closed_at >= ?) AND opened_at <= ? ORDER BY id",
                               (school_id, end, start, end_stamp))
        return [_case(r) for r in rows]

    async def suspected_in_township(self, township_id: int) -> list[Case]:
        """Every case of the township that became a suspected dropout (whatever came of it since)."""
        rows = await self._all("SELECT * FROM dropout_cases WHERE township_id = ? AND suspected_on IS NOT NULL "
                               "ORDER BY id", (township_id,))
        return [_case(r) for r in rows]

    async def open_case(self, case: NewCase) -> int | None:
        """A new case, or None if the child has one that is not closed (another run opened it a moment ago)."""
        rows = await self._write(
            "INSERT INTO dropout_cases (child_id, school_id, township_id, first_absent_on, opened_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (case.child_id, case.school_id, case.township_id, case.first_absent_on, case.opened_at))
        return rows[0][0] if rows else None

    async def climb(self, case_id: int, from_step: int, to_step: int, at: str, suspected_on: str | None,
                    unknown: bool) -> bool:
        """Move the ladder from `from_step` (compare and set: a second run finds it moved and tells nobody)."""
        rows = await self._write(
            "UPDATE dropout_cases SET step = ?, step_at = ?, "
            "state = CASE WHEN ? IS NOT NULL THEN 'suspected' ELSE state END, "
            "suspected_on = COALESCE(suspected_on, ?), whereabouts_unknown = MAX(whereabouts_unknown, ?) "
            "WHERE id = ? AND step = ? AND state IN ('open', 'suspected') RETURNING id",
            (to_step, at, suspected_on, suspected_on, int(unknown), case_id, from_step))
        return bool(rows)

    async def mark_unknown(self, case_id: int) -> None:
        await self._write("UPDATE dropout_cases SET whereabouts_unknown = 1 WHERE id = ?", (case_id,))

    async def returned(self, case_id: int, day: str, watch_until: str) -> bool:
        rows = await self._write(
            "UPDATE dropout_cases SET state = 'returned', returned_on = ?, watch_until = ? "
            "WHERE id = ? AND state IN ('open', 'suspected') RETURNING id", (day, watch_until, case_id))
        return bool(rows)

    async def reopen(self, case_id: int, returned_on: str, at: str, day: str, step: int) -> bool:
        """A new unexplained absence while watched: suspected again at once (compare and set on returned_on)."""
        rows = await self._write(
            "UPDATE dropout_cases SET state = 'suspected', step = MAX(step, ?), step_at = ?, "
            "suspected_on = COALESCE(suspected_on, ?), watch_until = NULL "
            "WHERE id = ? AND state = 'returned' AND returned_on = ? RETURNING id",
            (step, at, day, case_id, returned_on))
        return bool(rows)

    async def roll_taken(self, class_id: int, day: str) -> bool:
        return bool(await self._one("SELECT 1 FROM attendance_rolls WHERE class_id = ? AND day = ? "
                                    "AND taken_at IS NOT NULL", (class_id, day)))

    async def present_since(self, child_id: int, class_id: int, since: str, until: str) -> str | None:
        """The latest day from `since` to `until` whose roll of the class was taken with the child not absent."""
        row = await self._one(
            "SELECT r.day FROM attendance_rolls r WHERE r.class_id = ? AND r.taken_at IS NOT NULL "
            "AND r.day > ? AND r.day <= ? AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.child_id = ? "
            "AND a.day = r.day) ORDER BY r.day DESC LIMIT 1", (class_id, since, until, child_id))
        return row["day"] if row else None

    async def settle(self, case_id: int, at: str) -> bool:
        """An open case (never a suspected dropout) whose absences were explained: closed."""
        rows = await self._write("UPDATE dropout_cases SET state = 'closed', closed_at = ? "
                                 "WHERE id = ? AND state = 'open' RETURNING id", (at, case_id))
        return bool(rows)

    async def close(self, case_id: int, at: str) -> bool:
        rows = await self._write("UPDATE dropout_cases SET state = 'closed', closed_at = ? "
                                 "WHERE id = ? AND state = 'returned' RETURNING id", (at, case_id))
        return bool(rows)

    async def mark_reported(self, case_id: int, at: str) -> None:
        await self._write("UPDATE dropout_cases SET reported_at = COALESCE(reported_at, ?) WHERE id = ?",
                          (at, case_id))

    # -- persuasion attempts ----------------------------------------------------------------------------------------

    async def add_attempt(self, attempt: NewAttempt) -> int:
        [(attempt_id,)] = await self._write(
            "INSERT INTO persuasion_attempts (case_id, on_day, people, method, attitude, result, next_step, next_on, "
            "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (attempt.case_id, attempt.on_day, attempt.people, attempt.method, attempt.attitude, attempt.result,
             attempt.next_step, attempt.next_on, attempt.recorded_by, attempt.recorded_at))
        return attempt_id

    async def attempts(self, case_id: int) -> list[Attempt]:
        rows = await self._all("SELECT * FROM persuasion_attempts WHERE case_id = ? ORDER BY on_day, id", (case_id,))
        return [_attempt(r) for r in rows]

    # -- the county education bureau's contact ----------------------------------------------------------------------

    async def set_county_contact(self, township_id: int, person_id: int, at: str) -> None:
        await self._write("INSERT INTO county_contacts (township_id, person_id, set_at) VALUES (?, ?, ?) "
                          "ON CONFLICT (township_id) DO UPDATE SET person_id = excluded.person_id, "
                          "set_at = excluded.set_at", (township_id, person_id, at))

    async def township_named(self, name: str) -> int | None:
        row = await self._one("SELECT id FROM townships WHERE name = ?", (name,))
        return row[0] if row else None

    async def county_contact(self, township_id: int | None) -> int | None:
        if township_id is None:
            return None
        row = await self._one("SELECT person_id FROM county_contacts WHERE township_id = ?", (township_id,))
        return row[0] if row else None

    # -- the monthly reminder, once a month a school ------------------------------------------------------------

    async def remind_once(self, school_id: int, month: str) -> bool:
        """True the first time for this school and month (settings_kv keeps that it was done)."""
        rows = await self._write("INSERT INTO settings_kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING "
                                 "RETURNING key", (f"dropout_monthly:{school_id}", month))
        if rows:
            return True
        rows = await self._write("UPDATE settings_kv SET value = ? WHERE key = ? AND value < ? RETURNING key",
                                 (month, f"dropout_monthly:{school_id}", month))
        return bool(rows)

    async def schools_with_admins(self) -> list[int]:
        rows = await self._all("SELECT DISTINCT school_id FROM roles WHERE role = 'admin' AND revoked_at IS NULL "
                               "AND school_id IS NOT NULL ORDER BY school_id")
        return [r[0] for r in rows]
