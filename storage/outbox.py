"""The outbox: rows to deliver, leased one at a time by the sender, recovered after a crash."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite

from storage.db import Repository


@dataclass(frozen=True)
class Outgoing:
    """A message to enqueue. `dedupe_key` makes enqueueing the same thing twice harmless."""

    dedupe_key: str
    channel: str
    recipient: str
    kind: str
    payload: dict
    person_id: int | None = None
    urgent: bool = False
    notify_person_id: int | None = None
    child_id: int | None = None
    lane: int | None = None  # None: safety (0) if urgent, else interactive (1); see bot.notices
    needs_consent: bool = True
    due_by: str | None = None  # the end of its window: sent soonest-first within its lane, late if after


@dataclass(frozen=True)
class OutboxRow:
    id: int
    channel: str
    recipient: str
    person_id: int | None
    kind: str
    payload: dict
    urgent: bool
    attempts: int
    not_before: str
    notify_person_id: int | None
    child_id: int | None
    lane: int = 1
    needs_consent: bool = True
    created_at: str = ""
    due_by: str | None = None


def _row(r) -> OutboxRow:
    return OutboxRow(r["id"], r["channel"], r["recipient"], r["person_id"], r["kind"], json.loads(r["payload"]),
                     bool(r["urgent"]), r["attempts"], r["not_before"], r["notify_person_id"], r["child_id"],
                     r["lane"], bool(r["needs_consent"]), r["created_at"], r["due_by"])


WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Reachability:
    """Whether a chat on a channel can be reached (False: blocked the bot, never started it), and since when."""

    channel: str
    external_id: str
    reachable: bool
    reason: str
    changed_at: str


class OutboxRepository(Repository):
    def transaction(self):
        return self._db.transaction()

    @staticmethod
    async def address(conn: aiosqlite.Connection, person_id: int) -> tuple[str, str] | None:
        """Where a person is reached: (channel, their id there). Their first identity; one channel for now."""
        rows = await conn.execute_fetchall(
            "SELECT channel, external_id FROM identities WHERE person_id = ? ORDER BY rowid LIMIT 1", (person_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    async def address_of(self, person_id: int) -> tuple[str, str] | None:
        """address(), outside a transaction."""
        rows = await self._all(
            "SELECT channel, external_id FROM identities WHERE person_id = ? ORDER BY rowid LIMIT 1", (person_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    @staticmethod
    async def enqueue(conn: aiosqlite.Connection, items: list[Outgoing], not_before: list[str], now: str) -> list[int]:
        """Inside the caller's transaction. Returns the row ids (of the existing row for a repeated key)."""
        ids = []
        for item, when in zip(items, not_before, strict=True):
            await conn.execute(
                "INSERT OR IGNORE INTO outbox (dedupe_key, channel, recipient, person_id, kind, payload, urgent, "
                "not_before, created_at, notify_person_id, child_id, lane, needs_consent, due_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item.dedupe_key, item.channel, item.recipient, item.person_id, item.kind,
                 json.dumps(item.payload, ensure_ascii=False), int(item.urgent), when, now, item.notify_person_id,
                 item.child_id, (0 if item.urgent else 1) if item.lane is None else item.lane,
                 int(item.needs_consent), item.due_by))
            rows = await conn.execute_fetchall("SELECT id FROM outbox WHERE dedupe_key = ?", (item.dedupe_key,))
            ids.append(rows[0][0])
        return ids

    async def due(self, now: str, limit: int = 500) -> list[OutboxRow]:
        """What may be chosen now, lane by lane (safety, interactive, reminders, bulk); within a lane, soonest
        deadline first (reminders), then oldest first.
        Within a lane each recipient's rows go in order: only the oldest pending one per recipient, lane and
        urgency is a candidate (an urgent row queues apart, so it never waits behind one held for quiet hours),
        if its time has come. A row the sender held for quiet hours comes back at once when the recipient's
        preferences changed after it was held, so a new setting is decided afresh."""
        rows = await self._db.fetch_all(
            "SELECT * FROM outbox o WHERE state = 'pending' AND (not_before <= ? OR (held_at IS NOT NULL AND "
            "EXISTS (SELECT 1 FROM user_preferences p WHERE p.user_id = CAST(o.recipient AS INTEGER) "
            "AND p.updated_at > o.held_at))) AND id = (SELECT MIN(id) FROM outbox q WHERE q.recipient = o.recipient "
            "AND q.channel = o.channel AND q.lane = o.lane AND q.urgent = o.urgent AND q.state = 'pending') "
            "ORDER BY lane, urgent DESC, due_by IS NULL, due_by, id LIMIT ?",
            (now, limit))
        return [_row(r) for r in rows]

    async def hold(self, row_id: int, until: str, now: str) -> None:
        """The recipient is in their quiet hours: the row waits until they end (or their preferences change)."""
        await self._db.write("UPDATE outbox SET not_before = ?, held_at = ? WHERE id = ? AND state = 'pending'",
                             (until, now, row_id))

    async def lease(self, row_id: int) -> bool:
        """Taken for sending. A crash leaves it leased; recover() returns it to pending on the next start."""
        rows = await self._db.write(
            "UPDATE outbox SET state = 'leased', attempts = attempts + 1 WHERE id = ? AND state = 'pending' "
            "RETURNING id", (row_id,))
        return bool(rows)

    async def mark_sent(self, row_id: int, external_id: str | None, now: str) -> None:
        """Sent; recorded as late if it missed the end of its window."""
        await self._db.write("UPDATE outbox SET state = 'sent', sent_at = ?, external_message_id = ?, error = NULL, "
                             "late = (due_by IS NOT NULL AND due_by < ?) WHERE id = ?", (now, external_id, now, row_id))

    async def backlog(self, lane: int, now: str) -> tuple[int, list[tuple[str, int]]]:
        """What a new row of `lane` would wait behind: the rows of earlier lanes that may go now, and those
        rows of this lane that have no deadline; and this lane's rows with a deadline, counted by deadline
        (served among the new one by deadline)."""
        ahead = await self._one(
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND not_before <= ? AND (lane < ? OR "
            "(lane = ? AND due_by IS NULL))", (now, lane, lane))
        queued = await self._all(
            "SELECT due_by, COUNT(*) FROM outbox WHERE state = 'pending' AND lane = ? AND due_by IS NOT NULL "
            "GROUP BY due_by", (lane,))
        return ahead[0], [(r[0], r[1]) for r in queued]

    async def late(self, since: str) -> int:
        """Rows sent after the end of their window since `since`."""
        row = await self._one("SELECT COUNT(*) FROM outbox WHERE late = 1 AND sent_at >= ?", (since,))
        return row[0]

    async def retry_at(self, row_id: int, when: str, error: str, *, count_attempt: bool = True) -> None:
        """Back to pending, due at `when`. A flood wait is not the row's fault: it does not use up an attempt."""
        await self._db.write(
            "UPDATE outbox SET state = 'pending', not_before = ?, error = ?, attempts = attempts - ?, held_at = NULL "
            "WHERE id = ?",
            (when, error, 0 if count_attempt else 1, row_id))

    async def finish(self, row_id: int, state: str, error: str, now: str) -> None:
        """Ends as undeliverable (the recipient cannot be reached, or Telegram refuses it) or parked (gave up
        retrying; an admin sees it in /outbox)."""
        async with self._db.transaction() as conn:
            await self.finish_in(conn, row_id, state, error, now)

    @staticmethod
    async def finish_in(conn: aiosqlite.Connection, row_id: int, state: str, error: str, now: str) -> None:
        """finish(), inside a transaction that also tells the people concerned: both happen or neither."""
        await conn.execute("UPDATE outbox SET state = ?, error = ?, sent_at = ? WHERE id = ?",
                           (state, error, now, row_id))

    async def recent_sends(self, since: str) -> list[tuple[str, str | None, str, dict]]:
        """What may have reached the channel since `since`: rows sent since then, and rows leased when the
        process stopped (they may have gone out). (recipient, sent_at or None, kind, payload)."""
        rows = await self._db.fetch_all(
            "SELECT recipient, sent_at, kind, payload FROM outbox "
            "WHERE state = 'leased' OR (state = 'sent' AND sent_at >= ?)", (since,))
        return [(r["recipient"], r["sent_at"], r["kind"], json.loads(r["payload"])) for r in rows]

    async def recover(self) -> int:
        """After a crash: whatever was leased may or may not have gone out; send it again rather than lose it."""
        rows = await self._db.write("UPDATE outbox SET state = 'pending' WHERE state = 'leased' RETURNING id")
        return len(rows)

    async def counts(self) -> dict[str, int]:
        rows = await self._db.fetch_all("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        return {r["state"]: r["n"] for r in rows}

    async def undeliverable_recipients(self, limit: int = 50) -> list[tuple[int | None, str, str, int]]:
        """(person id, recipient, last error, how many) for what could not be delivered."""
        rows = await self._db.fetch_all(
            "SELECT person_id, recipient, MAX(error) AS error, COUNT(*) AS n FROM outbox "
            "WHERE state IN ('undeliverable', 'parked') GROUP BY person_id, recipient ORDER BY n DESC LIMIT ?",
            (limit,))
        return [(r["person_id"], r["recipient"], r["error"] or "", r["n"]) for r in rows]

    async def external_id(self, row_id: int) -> str | None:
        row = await self._db.fetch_one("SELECT external_message_id FROM outbox WHERE id = ?", (row_id,))
        return row[0] if row else None

    # -- reachability: whether a chat can be reached, and what waited only because it could not ------------

    async def set_reachable(self, state: Reachability) -> None:
        await self._write(
            "INSERT INTO reachability (channel, external_id, reachable, reason, changed_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (channel, external_id) DO UPDATE SET reachable = excluded.reachable, "
            "reason = excluded.reason, changed_at = excluded.changed_at",
            (state.channel, state.external_id, int(state.reachable), state.reason, state.changed_at))

    async def requeue_unreachable(self, channel: str, recipient: str, now: str, since: str) -> int:
        """The person can be reached again: what failed only because they could not be, no earlier than `since`
        (older rows have expired), is sent after all."""
        rows = await self._write(
            "UPDATE outbox SET state = 'pending', not_before = ?, error = NULL, held_at = NULL WHERE channel = ? "
            "AND recipient = ? AND state = 'undeliverable' AND error LIKE 'Unreachable%' AND sent_at >= ? "
            "RETURNING id", (now, channel, recipient, since))
        return len(rows)

    # -- entitlement: rows that must not go out after all ----------------------------------------------------

    async def withdraw(self, row_id: int, reason: str, now: str) -> None:
        """The recipient is no longer entitled to this row: it ends as withdrawn, and nobody is told."""
        await self._write("UPDATE outbox SET state = 'withdrawn', error = ?, sent_at = ? WHERE id = ? "
                          "AND state IN ('pending', 'leased')", (reason, now, row_id))

    async def pending_children(self, person_id: int) -> list[int]:
        """The children this person has rows waiting about."""
        rows = await self._all("SELECT DISTINCT child_id FROM outbox WHERE person_id = ? AND state = 'pending' "
                               "AND child_id IS NOT NULL ORDER BY child_id", (person_id,))
        return [r[0] for r in rows]

    async def withdraw_pending(self, person_id: int, child_id: int, reason: str, now: str, *,
                               consent_only: bool = False) -> int:
        """End this person's pending rows about this child (only those that need consent, if `consent_only`)."""
        rows = await self._write(
            "UPDATE outbox SET state = 'withdrawn', error = ?, sent_at = ? WHERE child_id = ? AND person_id = ? "
            "AND state = 'pending' AND (needs_consent = 1 OR ? = 0) RETURNING id",
            (reason, now, child_id, person_id, int(consent_only)))
        return len(rows)

    async def reachable(self, channel: str, external_id: str) -> bool:
        row = await self._one("SELECT reachable FROM reachability WHERE channel = ? AND external_id = ?",
                              (channel, external_id))
        return True if row is None else bool(row[0])

    async def person_reachable(self, person_id: int) -> bool:
        """Whether the person can be reached where the outbox addresses them (their first identity)."""
        row = await self._one(
            "SELECT (SELECT reachable FROM reachability r WHERE r.channel = i.channel "
            "AND r.external_id = i.external_id) FROM identities i WHERE i.person_id = ? ORDER BY i.rowid LIMIT 1",
            (person_id,))
        return row is not None and row[0] != 0
