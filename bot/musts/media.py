"""The copy of care entries' photos and voice notes under the data directory, so a child's record outlives
the channel's copy (Telegram's file_ids stay valid for the bot, but nothing promises it keeps the files).

Files live at <media root>/<child id>/<media id>.<ext>: a child's folder goes as a whole when the record is
erased. The download is Telegram's (TelegramFetcher); everything else here knows nothing of Telegram.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from storage.db import Database

if TYPE_CHECKING:
    from telegram import Bot

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the Bot API's getFile limit
MAX_FETCH_ATTEMPTS = 15
# Telegram re-encodes photos as JPEG and voice notes as Ogg Opus.
_EXTENSIONS = {"photo": ".jpg", "voice": ".ogg"}


class TooLarge(Exception):
    """The file is bigger than a bot may download: it stays only with Telegram."""


class Fetcher(Protocol):
    async def fetch(self, file_id: str, dest: Path) -> int:
        """Write the file to `dest` (all of it or nothing under that name); return the bytes written."""


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def relative_path(self, child_id: int, media_id: int, kind: str) -> str:
        return f"{int(child_id)}/{int(media_id)}{_EXTENSIONS[kind]}"

    def absolute(self, rel: str) -> Path:
        path = Path(rel)
        # Only paths made by relative_path come here; anything else must not reach outside the root.
        if path.is_absolute() or ".." in path.parts:
            raise ValueError("a stored media path must be relative to the media root")
        return self.root / path

    def remove_child(self, child_id: int) -> None:
        """Delete everything kept for this child (their record is being erased)."""
        folder = self.root / str(int(child_id))
        if folder.exists():
            shutil.rmtree(folder)


class TelegramFetcher:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def fetch(self, file_id: str, dest: Path) -> int:
        # Imported here: the store and fetch_pending serve services, which do not import telegram.
        from telegram.error import BadRequest

        try:
            file = await self._bot.get_file(file_id)
        except BadRequest as exc:
            if "too big" in exc.message.lower():  # Telegram's own refusal: "file is too big"
                raise TooLarge() from None
            raise
        if file.file_size is not None and file.file_size > MAX_DOWNLOAD_BYTES:
            raise TooLarge()
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A temporary name beside the final one (same file system, so the rename is atomic): a crash or a broken
        # download never leaves a half file under the name the database points to.
        part = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        try:
            await file.download_to_drive(part)
            return await asyncio.to_thread(_commit, part, dest)
        finally:
            part.unlink(missing_ok=True)


def _commit(part: Path, dest: Path) -> int:
    """Make the data durable before the rename, or a power cut could leave the new name on an empty file."""
    with part.open("rb") as handle:
        os.fsync(handle.fileno())
    size = part.stat().st_size
    os.replace(part, dest)
    return size


async def fetch_pending(db: Database, store: MediaStore, fetcher: Fetcher, limit: int = 20,
                        now: datetime | None = None) -> int:
    """Copy up to `limit` media files not yet stored; returns how many were stored. A failure is counted on
    its row (by the exception's class name only) and the row is tried again later, each time waiting twice
    as long (1 minute, 2, 4 … at most 6 hours), up to MAX_FETCH_ATTEMPTS times: about a day and a half in
    all, so a Telegram outage does not leave a record without its photos."""
    now = now or datetime.now(timezone.utc)
    rows = await db.fetch_all(
        "SELECT id, child_id, kind, file_id, size FROM care_media WHERE stored_path IS NULL AND fetch_attempts < ? "
        "AND (fetch_after IS NULL OR fetch_after <= ?) ORDER BY id LIMIT ?",
        (MAX_FETCH_ATTEMPTS, now.isoformat(timespec="seconds"), limit))
    stored = 0
    for row in rows:
        rel = store.relative_path(row["child_id"], row["id"], row["kind"])
        dest = store.absolute(rel)
        try:
            if row["size"] is not None and row["size"] > MAX_DOWNLOAD_BYTES:
                raise TooLarge()  # known from the message already: no need to ask Telegram
            await fetcher.fetch(row["file_id"], dest)
        except Exception as exc:
            await _failed(db, row["id"], exc, now)
            continue
        kept = await db.write("UPDATE care_media SET stored_path = ?, fetch_error = NULL WHERE id = ? RETURNING id",
                              (rel, row["id"]))
        if kept:
            stored += 1
        else:
            # The row went while the file was downloading (the child's record was erased): so does the file.
            await asyncio.to_thread(_discard, dest)
    return stored


async def _failed(db: Database, media_id: int, exc: Exception, now: datetime) -> None:
    error = type(exc).__name__
    log.warning("care media %s: fetch failed (%s)", media_id, error)
    # A file too large now is too large at every try: it uses up its attempts at once.
    floor = MAX_FETCH_ATTEMPTS if isinstance(exc, TooLarge) else 0
    rows = await db.write(
        "UPDATE care_media SET fetch_attempts = MAX(fetch_attempts + 1, ?), fetch_error = ? WHERE id = ? "
        "RETURNING fetch_attempts", (floor, error, media_id))
    if rows:
        wait = timedelta(minutes=min(2 ** (rows[0]["fetch_attempts"] - 1), 6 * 60))
        await db.write("UPDATE care_media SET fetch_after = ? WHERE id = ?",
                       ((now + wait).isoformat(timespec="seconds"), media_id))


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()  # the child's folder, if this was all it held
    except OSError:
        pass
