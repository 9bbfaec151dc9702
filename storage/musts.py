"""The five musts' records (updates, scores, good news, summaries, talk records), their photos and voice notes
with the copies kept of them, who received them, and the forms being filled in. All of it belongs to the
child's record and is erased with it. The tables keep their first name, care_*.

    async with db.transaction() as conn:
        entry_id = await musts.within(conn).add_entry(Entry(child_id, author_id, PROXY, "update", …))
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class Entry:
    child_id: int
    author_id: int | None
    author_role: str
    kind: str
    occurred_on: str        # the local date it is about
    period: str | None      # a summary's month, "YYYY-MM"
    body: dict
    created_at: str         # bot.clock.stamp
    id: int | None = None   # given by the database
    for_family: bool = True  # False: staff only (a home visit its author did not share with the family)


@dataclass(frozen=True)
class Media:
    entry_id: int
    child_id: int
    position: int
    kind: str               # "photo" | "voice"
    file_id: str
    file_unique_id: str
    size: int | None
    id: int | None = None   # given by the database
    stored_path: str | None = None  # where the copy is kept, under the media root


@dataclass(frozen=True)
class Delivery:
    id: int
    entry_id: int
    recipient_id: int
    acknowledged_at: str | None


@dataclass(frozen=True)
class DraftRow:
    person_id: int
    child_id: int
    kind: str
    body: dict
    updated_at: str         # bot.clock.stamp


def _entry(r) -> Entry:
    return Entry(r["child_id"], r["author_id"], r["author_role"], r["kind"], r["occurred_on"], r["period"],
                 json.loads(r["body"]), r["created_at"], r["id"], bool(r["for_family"]))


def _media(r) -> Media:
    return Media(r["entry_id"], r["child_id"], r["position"], r["kind"], r["file_id"], r["file_unique_id"], r["size"],
                 r["id"], r["stored_path"])


def _delivery(r) -> Delivery:
    return Delivery(r["id"], r["entry_id"], r["recipient_id"], r["acknowledged_at"])


def _marks(values) -> str:
    return ",".join("?" * len(values))


def _readable(kinds: tuple[str, ...], family_only: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The condition for entries of `kinds`, those of `family_only` only when marked for the family."""
    where = f"kind IN ({_marks(kinds)})"
    if family_only:
        where = f"({where} AND (for_family = 1 OR kind NOT IN ({_marks(family_only)})))"
    return where, (*kinds, *family_only)


class MustsRepository(Repository):
    # -- entries ----------------------------------------------------------------------------------------

    async def add_entry(self, entry: Entry) -> int:
        rows = await self._write(
            "INSERT INTO care_entries (child_id, author_id, author_role, kind, occurred_on, period, body, created_at, "
            "for_family) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (entry.child_id, entry.author_id, entry.author_role, entry.kind, entry.occurred_on, entry.period,
             json.dumps(entry.body, ensure_ascii=False), entry.created_at, int(entry.for_family)))
        return rows[0]["id"]

    async def add_media(self, media: Media) -> int | None:
        """None when the child already has this file (the same photo sent again)."""
        rows = await self._write(
            "INSERT OR IGNORE INTO care_media (entry_id, child_id, position, kind, file_id, file_unique_id, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (media.entry_id, media.child_id, media.position, media.kind, media.file_id, media.file_unique_id,
             media.size))
        return rows[0]["id"] if rows else None

    async def add_delivery(self, entry_id: int, recipient_id: int) -> int:
        rows = await self._write("INSERT INTO care_deliveries (entry_id, recipient_id) VALUES (?, ?) RETURNING id",
                                 (entry_id, recipient_id))
        return rows[0]["id"]

    async def acknowledge(self, delivery_id: int, at: str) -> bool:
        """True the first time only: two presses racing each other confirm once."""
        rows = await self._write(
            "UPDATE care_deliveries SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL RETURNING id",
            (at, delivery_id))
        return bool(rows)

    async def entry(self, entry_id: int) -> Entry | None:
        row = await self._one("SELECT * FROM care_entries WHERE id = ?", (entry_id,))
        return _entry(row) if row else None

    async def entries(self, child_id: int, kinds: tuple[str, ...], limit: int, offset: int = 0,
                      family_only: tuple[str, ...] = ()) -> list[Entry]:
        """Newest first: by the date it is about, then by when it was written. Of the `family_only` kinds, only
        the entries marked for the family."""
        where, params = _readable(kinds, family_only)
        rows = await self._all(f"SELECT * FROM care_entries WHERE child_id = ? AND {where} "
                               "ORDER BY occurred_on DESC, id DESC LIMIT ? OFFSET ?", (child_id, *params, limit, offset))
        return [_entry(r) for r in rows]

    async def count(self, child_id: int, kinds: tuple[str, ...], family_only: tuple[str, ...] = ()) -> int:
        where, params = _readable(kinds, family_only)
        row = await self._one(f"SELECT COUNT(*) AS n FROM care_entries WHERE child_id = ? AND {where}",
                              (child_id, *params))
        return row["n"]

    async def between(self, child_id: int, first_day: str, last_day: str) -> list[Entry]:
        """Entries about the days first_day..last_day (local dates), oldest first."""
        rows = await self._all(
            "SELECT * FROM care_entries WHERE child_id = ? AND occurred_on BETWEEN ? AND ? ORDER BY occurred_on, id",
            (child_id, first_day, last_day))
        return [_entry(r) for r in rows]

    async def since(self, child_id: int, created_after: str) -> list[tuple[Entry, int]]:
        """Entries written after a moment, each with its number of photos: what the five-musts tracker counts."""
        rows = await self._all(
            "SELECT e.*, (SELECT COUNT(*) FROM care_media m WHERE m.entry_id = e.id AND m.kind = 'photo') AS photos "
            "FROM care_entries e WHERE e.child_id = ? AND e.created_at >= ? ORDER BY e.created_at",
            (child_id, created_after))
        return [(_entry(r), r["photos"]) for r in rows]

    async def care_started(self, child_id: int) -> str | None:
        """When the child's care began, for what is owed: the first proxy parent's pairing, else the record."""
        row = await self._one(
            "SELECT COALESCE((SELECT MIN(granted_at) FROM roles WHERE child_id = ? AND role = 'proxy' "
            "AND revoked_at IS NULL), (SELECT created_at FROM children WHERE id = ?)) AS started",
            (child_id, child_id))
        return row["started"] if row else None

    # -- photos and voice notes -------------------------------------------------------------------------

    async def media(self, entry_id: int) -> list[Media]:
        rows = await self._all("SELECT * FROM care_media WHERE entry_id = ? ORDER BY position", (entry_id,))
        return [_media(r) for r in rows]

    async def media_counts(self, entry_ids: list[int]) -> dict[int, dict[str, int]]:
        if not entry_ids:
            return {}
        rows = await self._all(
            f"SELECT entry_id, kind, COUNT(*) AS n FROM care_media WHERE entry_id IN ({_marks(entry_ids)}) "
            "GROUP BY entry_id, kind", tuple(entry_ids))
        counts: dict[int, dict[str, int]] = {}
        for r in rows:
            counts.setdefault(r["entry_id"], {})[r["kind"]] = r["n"]
        return counts

    async def known_files(self, child_id: int, unique_ids: list[str]) -> set[str]:
        """Which of these files the child's record already holds."""
        if not unique_ids:
            return set()
        rows = await self._all(
            f"SELECT file_unique_id FROM care_media WHERE child_id = ? AND file_unique_id IN ({_marks(unique_ids)})",
            (child_id, *unique_ids))
        return {r["file_unique_id"] for r in rows}

    async def to_fetch(self, now: str, max_attempts: int, limit: int) -> list[Media]:
        """Files not yet copied under the data directory whose next try is due."""
        rows = await self._all(
            "SELECT * FROM care_media WHERE stored_path IS NULL AND fetch_attempts < ? "
            "AND (fetch_after IS NULL OR fetch_after <= ?) ORDER BY id LIMIT ?", (max_attempts, now, limit))
        return [_media(r) for r in rows]

    async def stored(self, media_id: int, path: str) -> bool:
        """The copy is kept at `path`. False when the row went meanwhile (the child's record was erased)."""
        rows = await self._write(
            "UPDATE care_media SET stored_path = ?, fetch_error = NULL WHERE id = ? RETURNING id", (path, media_id))
        return bool(rows)

    async def fetch_failed(self, media_id: int, error: str, at_least: int) -> int | None:
        """One more failed try (at least `at_least` in all), by the error's class name; the tries so far."""
        rows = await self._write(
            "UPDATE care_media SET fetch_attempts = MAX(fetch_attempts + 1, ?), fetch_error = ? WHERE id = ? "
            "RETURNING fetch_attempts", (at_least, error, media_id))
        return rows[0]["fetch_attempts"] if rows else None

    async def fetch_after(self, media_id: int, when: str) -> None:
        await self._write("UPDATE care_media SET fetch_after = ? WHERE id = ?", (when, media_id))

    # -- deliveries -------------------------------------------------------------------------------------

    async def delivery(self, delivery_id: int) -> Delivery | None:
        row = await self._one("SELECT * FROM care_deliveries WHERE id = ?", (delivery_id,))
        return _delivery(row) if row else None

    async def deliveries(self, entry_ids: list[int]) -> dict[int, list[Delivery]]:
        if not entry_ids:
            return {}
        rows = await self._all(
            f"SELECT * FROM care_deliveries WHERE entry_id IN ({_marks(entry_ids)}) ORDER BY id", tuple(entry_ids))
        found: dict[int, list[Delivery]] = {}
        for r in rows:
            found.setdefault(r["entry_id"], []).append(_delivery(r))
        return found

    # -- drafts -----------------------------------------------------------------------------------------

    async def draft(self, person_id: int) -> DraftRow | None:
        row = await self._one("SELECT * FROM care_drafts WHERE person_id = ?", (person_id,))
        return DraftRow(row["person_id"], row["child_id"], row["kind"], json.loads(row["body"]),
                        row["updated_at"]) if row else None

    async def save_draft(self, draft: DraftRow) -> None:
        await self._write(
            "INSERT INTO care_drafts (person_id, child_id, kind, body, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (person_id) DO UPDATE SET child_id = excluded.child_id, kind = excluded.kind, "
            "body = excluded.body, updated_at = excluded.updated_at",
            (draft.person_id, draft.child_id, draft.kind, json.dumps(draft.body, ensure_ascii=False),
             draft.updated_at))

    async def delete_draft(self, person_id: int) -> bool:
        rows = await self._write("DELETE FROM care_drafts WHERE person_id = ? RETURNING person_id", (person_id,))
        return bool(rows)
