"""Invitations: single-use, expiring, bound to a role and a place: a school and where it applies a class or a
child; a township (a supervisor's) or a village (a child director's)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class Invitation:
    id: int
    role: str
    school_id: int | None
    class_id: int | None
    child_id: int | None
    relation: str | None
    created_by: int | None
    created_at: str
    expires_at: str
    used_at: str | None
    used_by: int | None
    revoked_at: str | None
    township_id: int | None = None
    village_id: int | None = None

    def state(self, now: str) -> str:
        """open, used, revoked or expired at `now` (a stamped moment: stamps compare as text)."""
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.expires_at <= now:
            return "expired"
        return "open"


@dataclass(frozen=True)
class NewInvitation:
    """An invitation to store: only the hash of its code is kept."""

    code_hash: str
    role: str
    school_id: int | None
    class_id: int | None
    child_id: int | None
    relation: str | None
    created_by: int | None
    created_at: str
    expires_at: str
    township_id: int | None = None
    village_id: int | None = None


def _row(r) -> Invitation:
    return Invitation(r["id"], r["role"], r["school_id"], r["class_id"], r["child_id"], r["relation"],
                      r["created_by"], r["created_at"], r["expires_at"], r["used_at"], r["used_by"], r["revoked_at"],
                      r["township_id"], r["village_id"])


class InvitationsRepository(Repository):
    async def create(self, new: NewInvitation) -> Invitation:
        [row] = await self._write(
            "INSERT INTO invitations (code_hash, role, school_id, class_id, child_id, relation, created_by, "
            "created_at, expires_at, township_id, village_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (new.code_hash, new.role, new.school_id, new.class_id, new.child_id, new.relation, new.created_by,
             new.created_at, new.expires_at, new.township_id, new.village_id))
        return _row(row)

    async def by_hash(self, code_hash: str) -> Invitation | None:
        row = await self._one("SELECT * FROM invitations WHERE code_hash = ?", (code_hash,))
        return _row(row) if row else None

    async def get(self, invitation_id: int) -> Invitation | None:
        row = await self._one("SELECT * FROM invitations WHERE id = ?", (invitation_id,))
        return _row(row) if row else None

    async def for_child(self, child_id: int) -> list[Invitation]:
        """Every invitation made for a child's family and carers, oldest first (a class's onboarding view)."""
        rows = await self._all("SELECT * FROM invitations WHERE child_id = ? ORDER BY id", (child_id,))
        return [_row(r) for r in rows]

    async def open_in_school(self, school_id: int, now: str) -> list[Invitation]:
        rows = await self._all(
            "SELECT * FROM invitations WHERE school_id = ? AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > ? ORDER BY id", (school_id, now))
        return [_row(r) for r in rows]

    async def open_in_township(self, township_id: int, now: str) -> list[Invitation]:
        """The open invitations a township's supervisors made or manage: its supervisors', its villages'
        directors' and its schools' admins' (an admin's invitation from a supervisor names the township)."""
        rows = await self._all(
            "SELECT * FROM invitations WHERE township_id = ? AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > ? ORDER BY id", (township_id, now))
        return [_row(r) for r in rows]

    async def mark_used(self, invitation_id: int, person_id: int, now: str) -> bool:
        """Single use, even against two people pressing Accept at once: only one UPDATE matches."""
        rows = await self._write(
            "UPDATE invitations SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > ? RETURNING id", (now, person_id, invitation_id, now))
        return bool(rows)

    async def revoke(self, invitation_id: int, by: int, now: str) -> bool:
        rows = await self._write(
            "UPDATE invitations SET revoked_at = ?, revoked_by = ? WHERE id = ? AND used_at IS NULL "
            "AND revoked_at IS NULL RETURNING id", (now, by, invitation_id))
        return bool(rows)
