"""The audit log: append-only (the database refuses UPDATE and DELETE), ids and field names only."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor_id: int | None
    child_id: int | None
    action: str
    detail: str


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def record(conn: aiosqlite.Connection, at: str, actor_id: int | None, child_id: int | None, action: str,
                     detail: str = "") -> None:
        await conn.execute("INSERT INTO audit_log (at, actor_id, child_id, action, detail) VALUES (?, ?, ?, ?, ?)",
                           (at, actor_id, child_id, action, detail))

    async def for_child(self, child_id: int, limit: int = 50) -> list[AuditEntry]:
        rows = await self._db.fetch_all(
            "SELECT * FROM audit_log WHERE child_id = ? ORDER BY id DESC LIMIT ?", (child_id, limit))
        return [AuditEntry(r["id"], r["at"], r["actor_id"], r["child_id"], r["action"], r["detail"]) for r in rows]
