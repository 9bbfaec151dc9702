"""Class-wide notices and their receipts (migration 0016): a draft, then one receipt per family member and child
once it is sent, acknowledged when they press "收到"."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Repository


@dataclass(frozen=True)
class ClassNotice:
    school_id: int
    class_id: int
    author_id: int
    kind: str                  # 'text' or 'voice'
    body: str
    voice_ref: str | None
    created_at: str            # bot.clock.stamp
    sent_at: str | None = None
    reminded_at: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class Receipt:
    notice_id: int
    child_id: int
    person_id: int
    acknowledged_at: str | None = None


def _notice(r) -> ClassNotice:
    return ClassNotice(r["school_id"], r["class_id"], r["author_id"], r["kind"], r["body"], r["voice_ref"],
                       r["created_at"], r["sent_at"], r["reminded_at"], r["id"])


class ClassNoticesRepository(Repository):
    async def add(self, notice: ClassNotice) -> int:
        rows = await self._write(
            "INSERT INTO class_notices (school_id, class_id, author_id, kind, body, voice_ref, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (notice.school_id, notice.class_id, notice.author_id, notice.kind, notice.body, notice.voice_ref,
             notice.created_at))
        return rows[0][0]

    async def get(self, notice_id: int) -> ClassNotice | None:
        row = await self._one("SELECT * FROM class_notices WHERE id = ?", (notice_id,))
        return _notice(row) if row else None

    async def recent(self, class_ids: list[int], limit: int = 5) -> list[ClassNotice]:
        """The latest notices sent to these classes, newest first."""
        if not class_ids:
            return []
        marks = ",".join("?" * len(class_ids))
        rows = await self._all(f"SELECT * FROM class_notices WHERE class_id IN ({marks}) AND sent_at IS NOT NULL "
                               "ORDER BY id DESC LIMIT ?", (*class_ids, limit))
        return [_notice(r) for r in rows]

    async def mark_sent(self, notice_id: int, at: str) -> bool:
        """False if it was sent already (a second press of Send)."""
        rows = await self._write("UPDATE class_notices SET sent_at = ? WHERE id = ? AND sent_at IS NULL RETURNING id",
                                 (at, notice_id))
        return bool(rows)

    async def mark_reminded(self, notice_id: int, at: str) -> bool:
        """False if the families were reminded already: once is enough."""
        rows = await self._write(
            "UPDATE class_notices SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL RETURNING id",
            (at, notice_id))
        return bool(rows)

    async def delete_draft(self, notice_id: int) -> bool:
        rows = await self._write("DELETE FROM class_notices WHERE id = ? AND sent_at IS NULL RETURNING id",
                                 (notice_id,))
        return bool(rows)

    async def add_receipt(self, receipt: Receipt) -> None:
        await self._write("INSERT OR IGNORE INTO class_notice_receipts (notice_id, child_id, person_id) "
                          "VALUES (?, ?, ?)", (receipt.notice_id, receipt.child_id, receipt.person_id))

    async def receipts(self, notice_id: int) -> list[Receipt]:
        rows = await self._all("SELECT * FROM class_notice_receipts WHERE notice_id = ? ORDER BY child_id, person_id",
                               (notice_id,))
        return [Receipt(r["notice_id"], r["child_id"], r["person_id"], r["acknowledged_at"]) for r in rows]

    async def acknowledge(self, notice_id: int, person_id: int, at: str) -> int:
        """Every copy of the notice this person was sent, acknowledged; how many were still open."""
        rows = await self._write(
            "UPDATE class_notice_receipts SET acknowledged_at = ? WHERE notice_id = ? AND person_id = ? "
            "AND acknowledged_at IS NULL RETURNING child_id", (at, notice_id, person_id))
        return len(rows)
