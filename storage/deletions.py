"""Requests to erase a child's record, and the erasure itself."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database


@dataclass(frozen=True)
class DeletionRequest:
    id: int
    child_id: int
    school_id: int
    requested_by: int
    requested_at: str
    decision: str | None


def _row(r) -> DeletionRequest:
    return DeletionRequest(r["id"], r["child_id"], r["school_id"], r["requested_by"], r["requested_at"], r["decision"])


class DeletionsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def request(conn: aiosqlite.Connection, child_id: int, school_id: int, by: int, now: str) -> int:
        open_ = await conn.execute_fetchall(
            "SELECT id FROM deletion_requests WHERE child_id = ? AND decision IS NULL", (child_id,))
        if open_:
            return open_[0][0]
        cur = await conn.execute(
            "INSERT INTO deletion_requests (child_id, school_id, requested_by, requested_at) VALUES (?, ?, ?, ?)",
            (child_id, school_id, by, now))
        return cur.lastrowid

    async def get(self, request_id: int) -> DeletionRequest | None:
        row = await self._db.fetch_one("SELECT * FROM deletion_requests WHERE id = ?", (request_id,))
        return _row(row) if row else None

    async def open_in_school(self, school_id: int) -> list[DeletionRequest]:
        rows = await self._db.fetch_all(
            "SELECT * FROM deletion_requests WHERE school_id = ? AND decision IS NULL ORDER BY id", (school_id,))
        return [_row(r) for r in rows]

    @staticmethod
    async def decide(conn: aiosqlite.Connection, request_id: int, by: int, decision: str, now: str) -> bool:
        cur = await conn.execute(
            "UPDATE deletion_requests SET decided_by = ?, decided_at = ?, decision = ? WHERE id = ? AND decision IS NULL",
            (by, now, decision, request_id))
        return cur.rowcount == 1

    @staticmethod
    async def erase_child(conn: aiosqlite.Connection, child_id: int) -> None:
        """The record, its history, consents, roles and invitations for the child (ON DELETE CASCADE)."""
        await conn.execute("DELETE FROM children WHERE id = ?", (child_id,))
