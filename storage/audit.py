"""The audit log: append-only (the database refuses UPDATE and DELETE), ids and field names only.

    async with db.transaction() as conn:
        await audit.within(conn).record(AuditEntry(stamp(now), actor.person_id, child_id, "edit", "mother_phone"))
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class AuditEntry:
    at: str                 # bot.clock.stamp
    actor_id: int | None
    child_id: int | None
    action: str
    detail: str = ""        # ids and field names, never a value or a name
    id: int | None = None   # given by the database


class AuditRepository(Repository):
    async def record(self, entry: AuditEntry) -> None:
        await self._write("INSERT INTO audit_log (at, actor_id, child_id, action, detail) VALUES (?, ?, ?, ?, ?)",
                          (entry.at, entry.actor_id, entry.child_id, entry.action, entry.detail))

    async def for_child(self, child_id: int, limit: int = 50) -> list[AuditEntry]:
        rows = await self._all(
            "SELECT * FROM audit_log WHERE child_id = ? ORDER BY id DESC LIMIT ?", (child_id, limit))
        return [AuditEntry(r["at"], r["actor_id"], r["child_id"], r["action"], r["detail"], r["id"]) for r in rows]
