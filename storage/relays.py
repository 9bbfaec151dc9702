"""Relayed messages between a child's family and carers: each original, where it went, and whether the
recipient confirmed it. Kept with the child's record (erased with it)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database

# Every outbox row of a relay has the dedupe key "relay:<relay id>:<part>", so a reply to any of them
# (the header above a sticker, the copy, the rest of a long caption) finds its relay.
KEY_PREFIX = "relay:"


@dataclass(frozen=True)
class Relay:
    id: int
    child_id: int
    author_id: int
    recipient_id: int
    source_chat: str
    source_message_id: str
    content_kind: str
    text: str | None
    file_id: str | None
    in_reply_to: int | None
    outbox_id: int | None
    created_at: str
    acknowledged_at: str | None


def _relay(r) -> Relay:
    return Relay(r["id"], r["child_id"], r["author_id"], r["recipient_id"], r["source_chat"], r["source_message_id"],
                 r["content_kind"], r["text"], r["file_id"], r["in_reply_to"], r["outbox_id"], r["created_at"],
                 r["acknowledged_at"])


def outbox_key(relay_id: int, part: str) -> str:
    return f"{KEY_PREFIX}{relay_id}:{part}"


class RelaysRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def add(conn: aiosqlite.Connection, child_id: int, author_id: int, recipient_id: int, source_chat: str,
                  source_message_id: str, content_kind: str, text: str | None, file_id: str | None,
                  in_reply_to: int | None, now: str) -> int:
        cur = await conn.execute(
            "INSERT INTO relays (child_id, author_id, recipient_id, source_chat, source_message_id, content_kind, "
            "text, file_id, in_reply_to, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (child_id, author_id, recipient_id, source_chat, source_message_id, content_kind, text, file_id,
             in_reply_to, now))
        return cur.lastrowid

    @staticmethod
    async def set_outbox(conn: aiosqlite.Connection, relay_id: int, outbox_id: int) -> None:
        await conn.execute("UPDATE relays SET outbox_id = ? WHERE id = ?", (outbox_id, relay_id))

    @staticmethod
    async def acknowledge(conn: aiosqlite.Connection, relay_id: int, now: str) -> bool:
        """True the first time only: two presses racing each other confirm once."""
        cur = await conn.execute("UPDATE relays SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
                                 (now, relay_id))
        return cur.rowcount == 1

    async def get(self, relay_id: int) -> Relay | None:
        row = await self._db.fetch_one("SELECT * FROM relays WHERE id = ?", (relay_id,))
        return _relay(row) if row else None

    async def delivered_as(self, channel: str, chat: str, message_id: str) -> Relay | None:
        """The relay that became message `message_id` in `chat` (any of its parts), if any."""
        row = await self._db.fetch_one(
            "SELECT r.* FROM outbox o JOIN relays r ON r.id = CAST(substr(o.dedupe_key, ?, "
            "instr(substr(o.dedupe_key, ?), ':') - 1) AS INTEGER) "
            "WHERE o.channel = ? AND o.recipient = ? AND o.external_message_id = ? AND o.dedupe_key LIKE ? "
            "ORDER BY o.id DESC LIMIT 1",
            (len(KEY_PREFIX) + 1, len(KEY_PREFIX) + 1, channel, chat, message_id, KEY_PREFIX + "%"))
        return _relay(row) if row else None

    async def for_child(self, child_id: int, limit: int = 100) -> list[Relay]:
        """The child's conversations, newest first."""
        rows = await self._db.fetch_all("SELECT * FROM relays WHERE child_id = ? ORDER BY id DESC LIMIT ?",
                                        (child_id, limit))
        return [_relay(r) for r in rows]
