"""What a person is in the middle of: one durable dialogue per person, channel-free.

A dialogue is a kind (`relay`, `newchild`, `edit`, `import`, `form`, `calendar-name` …), a small JSON state
and an expiry. It lives in the database, so a restart or a SIGKILL continues it where it was; starting another
replaces it; it expires after `ttl` without a step (each step renews it), and `/cancel` ends it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, stamp, unstamp
from storage.dialogues import DialogueRow, DialoguesRepository

DEFAULT_TTL = timedelta(days=1)


@dataclass(frozen=True)
class Dialogue:
    person_id: int
    kind: str
    state: dict
    child_id: int | None
    expires_at: datetime


class Dialogues:
    def __init__(self, repo: DialoguesRepository, clock: Clock) -> None:
        self._repo = repo
        self._clock = clock

    async def current(self, person_id: int | None) -> Dialogue | None:
        """The person's open dialogue, or None (nothing open, or it expired: then it is forgotten)."""
        if person_id is None:
            return None
        row = await self._repo.get(person_id)
        if row is None:
            return None
        if unstamp(row.expires_at) <= self._clock.now():
            await self._repo.delete(person_id, row.kind)
            return None
        return Dialogue(row.person_id, row.kind, row.state, row.child_id, unstamp(row.expires_at))

    async def begin(self, person_id: int, kind: str, state: dict | None = None, *, child_id: int | None = None,
                    ttl: timedelta = DEFAULT_TTL) -> Dialogue:
        """Open a dialogue, replacing whatever the person was in the middle of."""
        now = self._clock.now()
        row = DialogueRow(person_id, kind, dict(state or {}), child_id, int(ttl.total_seconds()),
                          stamp(now + ttl), stamp(now))
        await self._repo.put(row)
        return Dialogue(person_id, kind, row.state, child_id, now + ttl)

    async def save(self, dialogue: Dialogue, state: dict, *, child_id: int | None = None) -> Dialogue:
        """The next step: a new state, and the expiry renewed by the dialogue's own lifetime."""
        row = await self._repo.get(dialogue.person_id)
        ttl = timedelta(seconds=row.ttl_seconds) if row is not None and row.kind == dialogue.kind else DEFAULT_TTL
        return await self.begin(dialogue.person_id, dialogue.kind, state,
                                child_id=dialogue.child_id if child_id is None else child_id, ttl=ttl)

    async def end(self, person_id: int | None, kind: str | None = None) -> bool:
        """Close the person's dialogue (only if it is of `kind`, when given). True if one was open."""
        if person_id is None:
            return False
        return await self._repo.delete(person_id, kind)



