"""Requests to erase a child's record, and the erasure itself."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class DeletionRequest:
    id: int
    child_id: int
    school_id: int
    requested_by: int
    requested_at: str
    decision: str | None


@dataclass(frozen=True)
class NewDeletionRequest:
    child_id: int
    school_id: int
    requested_by: int
    requested_at: str


@dataclass(frozen=True)
class DeletionDecision:
    request_id: int
    decided_by: int
    decision: str  # erased, declined
    decided_at: str


def _row(r) -> DeletionRequest:
    return DeletionRequest(r["id"], r["child_id"], r["school_id"], r["requested_by"], r["requested_at"], r["decision"])


class DeletionsRepository(Repository):
    async def request(self, new: NewDeletionRequest) -> int:
        """The id of the child's open request: this one, or the one already waiting."""
        waiting = await self._one("SELECT id FROM deletion_requests WHERE child_id = ? AND decision IS NULL",
                                  (new.child_id,))
        if waiting:
            return waiting[0]
        [(request_id,)] = await self._write(
            "INSERT INTO deletion_requests (child_id, school_id, requested_by, requested_at) VALUES (?, ?, ?, ?) "
            "RETURNING id", (new.child_id, new.school_id, new.requested_by, new.requested_at))
        return request_id

    async def get(self, request_id: int) -> DeletionRequest | None:
        row = await self._one("SELECT * FROM deletion_requests WHERE id = ?", (request_id,))
        return _row(row) if row else None

    async def open_in_school(self, school_id: int) -> list[DeletionRequest]:
        rows = await self._all(
            "SELECT * FROM deletion_requests WHERE school_id = ? AND decision IS NULL ORDER BY id", (school_id,))
        return [_row(r) for r in rows]

    async def decide(self, decision: DeletionDecision) -> bool:
        """False if the request was decided already (or is gone)."""
        rows = await self._write(
            "UPDATE deletion_requests SET decided_by = ?, decided_at = ?, decision = ? WHERE id = ? "
            "AND decision IS NULL RETURNING id",
            (decision.decided_by, decision.decided_at, decision.decision, decision.request_id))
        return bool(rows)

    async def erase_child(self, child_id: int) -> None:
        """The record, its history, consents, roles and invitations for the child (ON DELETE CASCADE). Updates
        in the inbox that name the child go too: the admin's own press of "erase" carries the message it was
        pressed under, which names the child, and is still being handled (its row is emptied only after). So do
        dialogues that hold the name without being the child's (words a family member with several children
        sent, still waiting for "whom should I send this to?")."""
        names = [r["value"] for r in await self._all(
            "SELECT DISTINCT value FROM child_fields WHERE child_id = ? AND field = 'name' "
            "UNION SELECT DISTINCT old_value FROM child_field_history WHERE child_id = ? AND field = 'name'",
            (child_id, child_id)) if r["value"]]
        await self._write("DELETE FROM children WHERE id = ?", (child_id,))
        for name in names:
            # The update_id stays, so the next offset is still known; a pending update is left with nothing
            # to handle.
            await self._write("UPDATE inbox SET payload = json_object('update_id', update_id) "
                              "WHERE payload IS NOT NULL AND instr(payload, ?) > 0", (name,))
            await self._write("DELETE FROM dialogues WHERE instr(state, ?) > 0", (name,))

    async def tombstone(self, child_id: int, erased_at: str) -> None:
        """The erased child's id and when (0023_erasures.sql): what a restore of an older backup erases again."""
        await self._write("INSERT OR IGNORE INTO erasures (child_id, erased_at) VALUES (?, ?)", (child_id, erased_at))

    async def created_before(self, child_id: int, moment: str) -> bool:
        """Whether the child's record exists and was created before `moment`: a record created after an erasure is
        another child who was given the same id, not the one erased."""
        return await self._one("SELECT 1 FROM children WHERE id = ? AND created_at <= ?", (child_id, moment)) \
            is not None
