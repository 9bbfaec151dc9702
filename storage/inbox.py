"""The inbox: updates as received, kept until handled, so a crash or restart loses none."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import stamp
from storage.db import Database


@dataclass(frozen=True)
class InboxItem:
    update_id: int
    payload: dict
    attempts: int


@dataclass(frozen=True)
class InboxCounts:
    pending: int
    done: int
    failed: int


class InboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def store(self, updates: list[dict], now: datetime) -> int:
        """Store a batch in one transaction; an update_id seen before is ignored. Returns how many were new."""
        if not updates:
            return 0
        async with self._db.transaction() as conn:
            before = conn.total_changes
            await conn.executemany(
                "INSERT OR IGNORE INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)",
                [(u["update_id"], json.dumps(u, ensure_ascii=False), stamp(now)) for u in updates],
            )
            return conn.total_changes - before

    async def next_offset(self) -> int | None:
        """The offset that confirms everything already stored, or None for a fresh inbox."""
        row = await self._db.fetch_one("SELECT MAX(update_id) FROM inbox")
        return None if row[0] is None else int(row[0]) + 1

    async def pending(self, limit: int = 100) -> list[InboxItem]:
        rows = await self._db.fetch_all(
            "SELECT update_id, payload, attempts FROM inbox WHERE state = 'pending' ORDER BY update_id LIMIT ?",
            (limit,),
        )
        return [InboxItem(r["update_id"], json.loads(r["payload"]), r["attempts"]) for r in rows]

    async def begin_attempt(self, update_id: int) -> int | None:
        """Count an attempt before handling, so an update that crashes the process every time is noticed.
        None when the update is no longer pending: it was finished meanwhile and must not be handled again."""
        rows = await self._db.write(
            "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ? AND state = 'pending' RETURNING attempts",
            (update_id,),
        )
        return int(rows[0][0]) if rows else None

    async def finish(self, update_id: int, now: datetime, *, failed: bool = False) -> None:
        # The payload may hold a message about a child; once handled it is not kept.
        await self._db.write(
            "UPDATE inbox SET state = ?, payload = NULL, finished_at = ? WHERE update_id = ?",
            ("failed" if failed else "done", stamp(now), update_id),
        )

    async def prune(self, now: datetime, keep: timedelta = timedelta(days=2)) -> int:
        """Forget finished rows older than `keep` (Telegram redelivers for 24 h at most); the newest row stays
        so the next offset is still known."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM inbox WHERE state != 'pending' AND finished_at < ? "
                "AND update_id < (SELECT MAX(update_id) FROM inbox)",
                (stamp(now - keep),),
            )
            return cur.rowcount

    async def counts(self) -> InboxCounts:
        rows = await self._db.fetch_all("SELECT state, COUNT(*) AS n FROM inbox GROUP BY state")
        by_state = {r["state"]: r["n"] for r in rows}
        return InboxCounts(by_state.get("pending", 0), by_state.get("done", 0), by_state.get("failed", 0))
