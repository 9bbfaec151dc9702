"""Invitations: single-use, expiring, bound to a role, a school and where it applies a class or a child."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database


@dataclass(frozen=True)
class Invitation:
    id: int
    role: str
    school_id: int
    class_id: int | None
    child_id: int | None
    relation: str | None
    created_by: int | None
    created_at: str
    expires_at: str
    used_at: str | None
    used_by: int | None
    revoked_at: str | None

    def state(self, now: str) -> str:
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.expires_at <= now:
            return "expired"
        return "open"


def _row(r) -> Invitation:
    return Invitation(r["id"], r["role"], r["school_id"], r["class_id"], r["child_id"], r["relation"],
                      r["created_by"], r["created_at"], r["expires_at"], r["used_at"], r["used_by"], r["revoked_at"])


class InvitationsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def create(conn: aiosqlite.Connection, code_hash: str, role: str, school_id: int, class_id: int | None,
                     child_id: int | None, relation: str | None, created_by: int | None, now: str,
                     expires_at: str) -> int:
        cur = await conn.execute(
            "INSERT INTO invitations (code_hash, role, school_id, class_id, child_id, relation, created_by, "
            "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (code_hash, role, school_id, class_id, child_id, relation, created_by, now, expires_at))
        return cur.lastrowid

    async def by_hash(self, code_hash: str) -> Invitation | None:
        row = await self._db.fetch_one("SELECT * FROM invitations WHERE code_hash = ?", (code_hash,))
        return _row(row) if row else None

    async def get(self, invitation_id: int) -> Invitation | None:
        row = await self._db.fetch_one("SELECT * FROM invitations WHERE id = ?", (invitation_id,))
        return _row(row) if row else None

    async def open_in_school(self, school_id: int, now: str) -> list[Invitation]:
        rows = await self._db.fetch_all(
            "SELECT * FROM invitations WHERE school_id = ? AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > ? ORDER BY id", (school_id, now))
        return [_row(r) for r in rows]

    @staticmethod
    async def mark_used(conn: aiosqlite.Connection, invitation_id: int, person_id: int, now: str) -> bool:
        """Single use, even against two people pressing Accept at once: only one UPDATE matches."""
        cur = await conn.execute(
            "UPDATE invitations SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > ?", (now, person_id, invitation_id, now))
        return cur.rowcount == 1

    @staticmethod
    async def revoke(conn: aiosqlite.Connection, invitation_id: int, by: int, now: str) -> bool:
        cur = await conn.execute(
            "UPDATE invitations SET revoked_at = ?, revoked_by = ? WHERE id = ? AND used_at IS NULL "
            "AND revoked_at IS NULL", (now, by, invitation_id))
        return cur.rowcount == 1
