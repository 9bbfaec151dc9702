"""What the ledgers (台账) count, read in bulk for a list of children: their fields, the care entries and photos
per author and month, the care calendar's reminders per person. Read only: the ledgers change nothing but the
audit log."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository

CHUNK = 500  # SQLite's limit on ? parameters is far above this; a county's children go in several queries


@dataclass(frozen=True)
class CareCount:
    """How many entries of one kind one author wrote about one child in one month, and their photos."""

    child_id: int
    author_id: int | None
    author_role: str
    author_name: str
    month: str              # "YYYY-MM", of the day the entry is about
    kind: str
    entries: int
    photos: int


@dataclass(frozen=True)
class MarkCount:
    """One person's reminders of one calendar task since a day, and how many they marked done."""

    person_id: int
    person_name: str
    task_id: int
    preset: str | None
    title: str
    reminders: int
    done: int
    last_done_at: str | None


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


class LedgersRepository(Repository):
    async def fields(self, child_ids: list[int]) -> dict[int, dict[str, str]]:
        found: dict[int, dict[str, str]] = {child_id: {} for child_id in child_ids}
        for chunk in _chunks(child_ids):
            rows = await self._all(f"SELECT child_id, field, value FROM child_fields WHERE child_id IN "
                                   f"({_marks(len(chunk))})", chunk)
            for r in rows:
                found[r["child_id"]][r["field"]] = r["value"]
        return found

    async def care_counts(self, child_ids: list[int], first_day: str) -> list[CareCount]:
        """Entries about these children from `first_day` (YYYY-MM-DD) on, by child, author, month and kind."""
        found = []
        for chunk in _chunks(child_ids):
            rows = await self._all(
                "SELECT e.child_id, e.author_id, e.author_role, COALESCE(p.display_name, '') AS author_name, "
                "substr(e.occurred_on, 1, 7) AS month, e.kind, COUNT(*) AS entries, "
                "COALESCE(SUM((SELECT COUNT(*) FROM care_media m WHERE m.entry_id = e.id AND m.kind = 'photo')), 0) "
                "AS photos FROM care_entries e LEFT JOIN people p ON p.id = e.author_id "
                f"WHERE e.child_id IN ({_marks(len(chunk))}) AND e.occurred_on >= ? "
                "GROUP BY e.child_id, e.author_id, e.author_role, month, e.kind", (*chunk, first_day))
            found += [CareCount(r["child_id"], r["author_id"], r["author_role"], r["author_name"], r["month"],
                                r["kind"], r["entries"], r["photos"]) for r in rows]
        return found

    async def carers_of(self, child_ids: list[int]) -> list[tuple[int, str]]:
        """The class teachers of these children's classes and their proxy parents (active roles): (person, role)."""
        found: set[tuple[int, str]] = set()
        for chunk in _chunks(child_ids):
            rows = await self._all(
                "SELECT DISTINCT r.person_id, r.role FROM roles r WHERE r.revoked_at IS NULL AND ("
                f"(r.role = 'proxy' AND r.child_id IN ({_marks(len(chunk))})) OR (r.role = 'teacher' AND r.class_id "
                f"IN (SELECT c.class_id FROM children c WHERE c.id IN ({_marks(len(chunk))}))))", (*chunk, *chunk))
            found |= {(r["person_id"], r["role"]) for r in rows}
        return sorted(found)

    async def marks(self, school_ids: list[int], person_ids: list[int], since: str) -> list[MarkCount]:
        """The reminders these people got of their schools' tasks due from `since` (a stamp) on, per task."""
        found = []
        for chunk in _chunks(person_ids):
            rows = await self._all(
                "SELECT m.person_id, COALESCE(p.display_name, '') AS person_name, t.id AS task_id, t.preset, t.title, "
                "COUNT(*) AS reminders, COUNT(m.done_at) AS done, MAX(m.done_at) AS last_done_at "
                "FROM calendar_marks m JOIN calendar_occurrences o ON o.id = m.occurrence_id "
                "JOIN calendar_tasks t ON t.id = o.task_id LEFT JOIN people p ON p.id = m.person_id "
                f"WHERE t.school_id IN ({_marks(len(school_ids))}) AND m.person_id IN ({_marks(len(chunk))}) "
                "AND o.due_at >= ? GROUP BY m.person_id, t.id ORDER BY person_name, m.person_id, t.id",
                (*school_ids, *chunk, since))
            found += [MarkCount(r["person_id"], r["person_name"], r["task_id"], r["preset"], r["title"],
                                r["reminders"], r["done"], r["last_done_at"]) for r in rows]
        return found
