"""Care entries (updates, scores, good news, summaries, talk records), their photos and voice notes, who
received them, and the forms being filled in. All of it belongs to the child's record and is erased with it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite

from storage.db import Database


@dataclass(frozen=True)
class Entry:
    id: int
    child_id: int
    author_id: int | None
    author_role: str
    kind: str
    occurred_on: str
    period: str | None
    body: dict
    created_at: str


@dataclass(frozen=True)
class Media:
    id: int
    entry_id: int
    child_id: int
    position: int
    kind: str
    file_id: str
    file_unique_id: str
    size: int | None
    stored_path: str | None


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
    updated_at: str


def _entry(r) -> Entry:
    return Entry(r["id"], r["child_id"], r["author_id"], r["author_role"], r["kind"], r["occurred_on"], r["period"],
                 json.loads(r["body"]), r["created_at"])


def _media(r) -> Media:
    return Media(r["id"], r["entry_id"], r["child_id"], r["position"], r["kind"], r["file_id"], r["file_unique_id"],
                 r["size"], r["stored_path"])


def _delivery(r) -> Delivery:
    return Delivery(r["id"], r["entry_id"], r["recipient_id"], r["acknowledged_at"])


class CareRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- entries ----------------------------------------------------------------------------------------

    @staticmethod
    async def add_entry(conn: aiosqlite.Connection, child_id: int, author_id: int, author_role: str, kind: str,
                        occurred_on: str, period: str | None, body: dict, now: str) -> int:
        cur = await conn.execute(
            "INSERT INTO care_entries (child_id, author_id, author_role, kind, occurred_on, period, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (child_id, author_id, author_role, kind, occurred_on, period, json.dumps(body, ensure_ascii=False), now))
        return cur.lastrowid

    @staticmethod
    async def add_media(conn: aiosqlite.Connection, entry_id: int, child_id: int, position: int, kind: str,
                        file_id: str, file_unique_id: str, size: int | None) -> int | None:
        """None when the child already has this file (the same photo sent again)."""
        cur = await conn.execute(
            "INSERT OR IGNORE INTO care_media (entry_id, child_id, position, kind, file_id, file_unique_id, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (entry_id, child_id, position, kind, file_id, file_unique_id, size))
        return cur.lastrowid if cur.rowcount == 1 else None

    @staticmethod
    async def add_delivery(conn: aiosqlite.Connection, entry_id: int, recipient_id: int) -> int:
        cur = await conn.execute("INSERT INTO care_deliveries (entry_id, recipient_id) VALUES (?, ?)",
                                 (entry_id, recipient_id))
        return cur.lastrowid

    @staticmethod
    async def acknowledge(conn: aiosqlite.Connection, delivery_id: int, now: str) -> bool:
        """True the first time only: two presses racing each other confirm once."""
        cur = await conn.execute(
            "UPDATE care_deliveries SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
            (now, delivery_id))
        return cur.rowcount == 1

    async def entry(self, entry_id: int) -> Entry | None:
        row = await self._db.fetch_one("SELECT * FROM care_entries WHERE id = ?", (entry_id,))
        return _entry(row) if row else None

    async def entries(self, child_id: int, kinds: tuple[str, ...], limit: int, offset: int = 0) -> list[Entry]:
        """Newest first: by the date it is about, then by when it was written."""
        marks = ",".join("?" * len(kinds))
        rows = await self._db.fetch_all(
            f"SELECT * FROM care_entries WHERE child_id = ? AND kind IN ({marks}) "
            "ORDER BY occurred_on DESC, id DESC LIMIT ? OFFSET ?", (child_id, *kinds, limit, offset))
        return [_entry(r) for r in rows]

    async def count(self, child_id: int, kinds: tuple[str, ...]) -> int:
        marks = ",".join("?" * len(kinds))
        row = await self._db.fetch_one(
            f"SELECT COUNT(*) AS n FROM care_entries WHERE child_id = ? AND kind IN ({marks})", (child_id, *kinds))
        return row["n"]

    async def between(self, child_id: int, first_day: str, last_day: str) -> list[Entry]:
        """Entries about the days first_day..last_day (local dates), oldest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM care_entries WHERE child_id = ? AND occurred_on BETWEEN ? AND ? ORDER BY occurred_on, id",
            (child_id, first_day, last_day))
        return [_entry(r) for r in rows]

    async def since(self, child_id: int, created_after: str) -> list[tuple[Entry, int]]:
        """Entries written after a moment, each with its number of photos: what the five-musts tracker counts."""
        rows = await self._db.fetch_all(
            "SELECT e.*, (SELECT COUNT(*) FROM care_media m WHERE m.entry_id = e.id AND m.kind = 'photo') AS photos "
            "FROM care_entries e WHERE e.child_id = ? AND e.created_at >= ? ORDER BY e.created_at",
            (child_id, created_after))
        return [(_entry(r), r["photos"]) for r in rows]

    async def media(self, entry_id: int) -> list[Media]:
        rows = await self._db.fetch_all("SELECT * FROM care_media WHERE entry_id = ? ORDER BY position", (entry_id,))
        return [_media(r) for r in rows]

    async def media_counts(self, entry_ids: list[int]) -> dict[int, dict[str, int]]:
        if not entry_ids:
            return {}
        marks = ",".join("?" * len(entry_ids))
        rows = await self._db.fetch_all(
            f"SELECT entry_id, kind, COUNT(*) AS n FROM care_media WHERE entry_id IN ({marks}) GROUP BY entry_id, kind",
            tuple(entry_ids))
        counts: dict[int, dict[str, int]] = {}
        for r in rows:
            counts.setdefault(r["entry_id"], {})[r["kind"]] = r["n"]
        return counts

    async def known_files(self, child_id: int, unique_ids: list[str]) -> set[str]:
        """Which of these files the child's record already holds."""
        if not unique_ids:
            return set()
        marks = ",".join("?" * len(unique_ids))
        rows = await self._db.fetch_all(
            f"SELECT file_unique_id FROM care_media WHERE child_id = ? AND file_unique_id IN ({marks})",
            (child_id, *unique_ids))
        return {r["file_unique_id"] for r in rows}

    async def delivery(self, delivery_id: int) -> Delivery | None:
        row = await self._db.fetch_one("SELECT * FROM care_deliveries WHERE id = ?", (delivery_id,))
        return _delivery(row) if row else None

    async def deliveries(self, entry_ids: list[int]) -> dict[int, list[Delivery]]:
        if not entry_ids:
            return {}
        marks = ",".join("?" * len(entry_ids))
        rows = await self._db.fetch_all(
            f"SELECT * FROM care_deliveries WHERE entry_id IN ({marks}) ORDER BY id", tuple(entry_ids))
        found: dict[int, list[Delivery]] = {}
        for r in rows:
            found.setdefault(r["entry_id"], []).append(_delivery(r))
        return found

    async def care_started(self, child_id: int) -> str | None:
        """When the child's care began, for what is owed: the first proxy parent's pairing, else the record."""
        row = await self._db.fetch_one(
            "SELECT COALESCE((SELECT MIN(granted_at) FROM roles WHERE child_id = ? AND role = 'proxy' "
            "AND revoked_at IS NULL), (SELECT created_at FROM children WHERE id = ?)) AS started",
            (child_id, child_id))
        return row["started"] if row else None

    # -- drafts -----------------------------------------------------------------------------------------

    async def draft(self, person_id: int) -> DraftRow | None:
        row = await self._db.fetch_one("SELECT * FROM care_drafts WHERE person_id = ?", (person_id,))
        return DraftRow(row["person_id"], row["child_id"], row["kind"], json.loads(row["body"]),
                        row["updated_at"]) if row else None

    async def save_draft(self, person_id: int, child_id: int, kind: str, body: dict, now: str) -> None:
        await self._db.write(
            "INSERT INTO care_drafts (person_id, child_id, kind, body, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (person_id) DO UPDATE SET child_id = excluded.child_id, kind = excluded.kind, "
            "body = excluded.body, updated_at = excluded.updated_at",
            (person_id, child_id, kind, json.dumps(body, ensure_ascii=False), now))

    @staticmethod
    async def delete_draft(conn: aiosqlite.Connection, person_id: int) -> bool:
        cur = await conn.execute("DELETE FROM care_drafts WHERE person_id = ?", (person_id,))
        return cur.rowcount == 1
