"""Dialogues: the one row per person that says what they are in the middle of."""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class DialogueRow:
    person_id: int
    kind: str
    state: dict
    child_id: int | None
    ttl_seconds: int
    expires_at: str
    updated_at: str


class DialoguesRepository(Repository):
    async def get(self, person_id: int) -> DialogueRow | None:
        row = await self._one("SELECT * FROM dialogues WHERE person_id = ?", (person_id,))
        if row is None:
            return None
        return DialogueRow(row["person_id"], row["kind"], json.loads(row["state"]), row["child_id"],
                           row["ttl_seconds"], row["expires_at"], row["updated_at"])

    async def put(self, dialogue: DialogueRow) -> None:
        """Open or replace the person's dialogue (a person is in the middle of one thing at a time)."""
        await self._write(
            "INSERT INTO dialogues (person_id, kind, state, child_id, ttl_seconds, expires_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET kind = excluded.kind, "
            "state = excluded.state, child_id = excluded.child_id, ttl_seconds = excluded.ttl_seconds, "
            "expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            (dialogue.person_id, dialogue.kind, json.dumps(dialogue.state, ensure_ascii=False), dialogue.child_id,
             dialogue.ttl_seconds, dialogue.expires_at, dialogue.updated_at))

    async def delete(self, person_id: int, kind: str | None = None) -> bool:
        if kind is None:
            rows = await self._write("DELETE FROM dialogues WHERE person_id = ? RETURNING person_id", (person_id,))
        else:
            rows = await self._write("DELETE FROM dialogues WHERE person_id = ? AND kind = ? RETURNING person_id",
                                        (person_id, kind))
        return bool(rows)
