"""Confirmed written notices of entrusted care (委托照护书面告知), one row per confirmation (migration 0022)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class ConfirmedNotice:
    id: int
    child_id: int
    person_id: int
    role: str
    confirmed_at: str       # bot.clock.stamp
    fields_hash: str
    fields: dict[str, str]  # the values confirmed


@dataclass(frozen=True)
class NewConfirmation:
    child_id: int
    person_id: int
    role: str
    confirmed_at: str
    fields_hash: str
    fields: dict[str, str]


def _row(r) -> ConfirmedNotice:
    return ConfirmedNotice(r["id"], r["child_id"], r["person_id"], r["role"], r["confirmed_at"], r["fields_hash"],
                           json.loads(r["fields"]))


class EntrustedRepository(Repository):
    async def add(self, new: NewConfirmation) -> int:
        [row] = await self._write(
            "INSERT INTO entrusted_notices (child_id, person_id, role, confirmed_at, fields_hash, fields) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (new.child_id, new.person_id, new.role, new.confirmed_at, new.fields_hash,
             json.dumps(new.fields, ensure_ascii=False, sort_keys=True)))
        return row[0]

    async def get(self, notice_id: int) -> ConfirmedNotice | None:
        row = await self._one("SELECT * FROM entrusted_notices WHERE id = ?", (notice_id,))
        return _row(row) if row else None

    async def for_child(self, child_id: int) -> list[ConfirmedNotice]:
        """Every confirmation of the child's notice, the latest first."""
        return [_row(r) for r in await self._all(
            "SELECT * FROM entrusted_notices WHERE child_id = ? ORDER BY id DESC", (child_id,))]
