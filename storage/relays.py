"""Relayed messages between a child's family and carers: each original, where it went, whether the recipient
confirmed it, and the messages it was delivered as. Kept with the child's record (erased with it).

Which outbox rows carry a relay (the header above a sticker, the copy, the rest of a long caption) is written
with them, in the relay's own transaction (`relay_messages`, migration 0010), so no crash separates a relay
from its messages. The sender writes on each row the channel's id of the message it became
(`outbox.external_message_id`); a reply to any of them finds its relay through the two."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class Relay:
    child_id: int
    author_id: int
    recipient_id: int
    source_chat: str
    source_message_id: str
    content_kind: str
    text: str | None
    file_id: str | None
    in_reply_to: int | None
    created_at: str
    acknowledged_at: str | None = None
    id: int | None = None  # given when stored


def _relay(r) -> Relay:
    return Relay(r["child_id"], r["author_id"], r["recipient_id"], r["source_chat"], r["source_message_id"],
                 r["content_kind"], r["text"], r["file_id"], r["in_reply_to"], r["created_at"], r["acknowledged_at"],
                 r["id"])


class RelaysRepository(Repository):
    async def add(self, relay: Relay) -> int:
        [(relay_id,)] = await self._write(
            "INSERT INTO relays (child_id, author_id, recipient_id, source_chat, source_message_id, content_kind, "
            "text, file_id, in_reply_to, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (relay.child_id, relay.author_id, relay.recipient_id, relay.source_chat, relay.source_message_id,
             relay.content_kind, relay.text, relay.file_id, relay.in_reply_to, relay.created_at))
        return relay_id

    async def already_relayed(self, relay: Relay) -> int | None:
        """The relay of this same message to this same recipient, if it was stored before (the update that
        brought it is handled again after a crash)."""
        row = await self._one(
            "SELECT id FROM relays WHERE source_chat = ? AND source_message_id = ? AND recipient_id = ?",
            (relay.source_chat, relay.source_message_id, relay.recipient_id))
        return row["id"] if row else None

    async def carried_by(self, relay_id: int, outbox_ids: Iterable[int]) -> None:
        """The outbox rows that deliver this relay."""
        for outbox_id in outbox_ids:
            await self._write("INSERT OR IGNORE INTO relay_messages (outbox_id, relay_id) VALUES (?, ?)",
                              (outbox_id, relay_id))

    async def make_urgent(self, relay_id: int, now: str) -> int:
        """Mark the relay's messages still waiting as urgent and due now (urgent rows never wait for quiet
        hours, and one the sender already held must not keep its hold); how many."""
        rows = await self._write(
            "UPDATE outbox SET urgent = 1, not_before = MIN(not_before, ?), held_at = NULL "
            "WHERE state = 'pending' AND urgent = 0 "
            "AND id IN (SELECT outbox_id FROM relay_messages WHERE relay_id = ?) RETURNING id", (now, relay_id))
        return len(rows)

    async def acknowledge(self, relay_id: int, at: str) -> bool:
        """True the first time only: two presses racing each other confirm once."""
        rows = await self._write(
            "UPDATE relays SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL RETURNING id",
            (at, relay_id))
        return bool(rows)

    async def get(self, relay_id: int) -> Relay | None:
        row = await self._one("SELECT * FROM relays WHERE id = ?", (relay_id,))
        return _relay(row) if row else None

    async def delivered_as(self, channel: str, chat: str, message_id: str) -> Relay | None:
        """The relay that became message `message_id` in `chat` on `channel` (any of its messages), if any."""
        row = await self._one(
            "SELECT r.* FROM outbox o JOIN relay_messages m ON m.outbox_id = o.id JOIN relays r ON r.id = m.relay_id "
            "WHERE o.recipient = ? AND o.external_message_id = ? AND o.channel = ? ORDER BY o.id DESC LIMIT 1",
            (chat, message_id, channel))
        return _relay(row) if row else None

    async def for_child(self, child_id: int, limit: int = 100) -> list[Relay]:
        """The child's conversations, newest first."""
        rows = await self._all("SELECT * FROM relays WHERE child_id = ? ORDER BY id DESC LIMIT ?", (child_id, limit))
        return [_relay(r) for r in rows]

    async def last_recipient(self, child_id: int, author_id: int) -> int | None:
        """Whom this person last wrote to about the child: the choice the relay remembers and shows."""
        row = await self._one("SELECT recipient_id FROM relays WHERE child_id = ? AND author_id = ? "
                              "ORDER BY id DESC LIMIT 1", (child_id, author_id))
        return row["recipient_id"] if row else None
