"""The copy of care entries' photos and voice notes under the data directory, so a child's record outlives
the channel's copy (Telegram's file_ids stay valid for the bot, but nothing promises it keeps the files).

Files live at <media root>/<child id>/<media id>.<ext>: a child's folder goes as a whole when the record is
erased. The download is the channel's (bot.runtime.telegram.TelegramFetcher); nothing here knows Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from bot.clock import stamp
from storage.db import Database
from storage.musts import MustsRepository

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


async def fetch_pending(db: Database, store: MediaStore, fetcher: Fetcher, limit: int = 20,
                        now: datetime | None = None) -> int:
    """Copy up to `limit` media files not yet stored; returns how many were stored. A failure is counted on
    its row (by the exception's class name only) and the row is tried again later, each time waiting twice
    as long (1 minute, 2, 4 … at most 6 hours), up to MAX_FETCH_ATTEMPTS times: about a day and a half in
    all, so a Telegram outage does not leave a record without its photos."""
    now = now or datetime.now(timezone.utc)
    repo = MustsRepository(db)
    stored = 0
    for media in await repo.to_fetch(stamp(now), MAX_FETCH_ATTEMPTS, limit):
        rel = store.relative_path(media.child_id, media.id, media.kind)
        dest = store.absolute(rel)
        try:
            if media.size is not None and media.size > MAX_DOWNLOAD_BYTES:
                raise TooLarge()  # known from the message already: no need to ask Telegram
            await fetcher.fetch(media.file_id, dest)
        except Exception as exc:
            await _failed(repo, media.id, exc, now)
            continue
        if await repo.stored(media.id, rel):
            stored += 1
        else:
            # The row went while the file was downloading (the child's record was erased): so does the file.
            await asyncio.to_thread(_discard, dest)
    return stored


async def _failed(repo: MustsRepository, media_id: int, exc: Exception, now: datetime) -> None:
    error = type(exc).__name__
    log.warning("care media %s: fetch failed (%s)", media_id, error)
    # A file too large now is too large at every try: it uses up its attempts at once.
    attempts = await repo.fetch_failed(media_id, error, MAX_FETCH_ATTEMPTS if isinstance(exc, TooLarge) else 0)
    if attempts is not None:
        wait = timedelta(minutes=min(2 ** (attempts - 1), 6 * 60))
        await repo.fetch_after(media_id, stamp(now + wait))


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()  # the child's folder, if this was all it held
    except OSError:
        pass
