"""The copy of care entries' photos and voice notes under the data directory, so a child's record outlives
the channel's copy (Telegram's file_ids stay valid for the bot, but nothing promises it keeps the files).

Files live at <media root>/<child id>/<media id>.<ext>: a child's folder goes as a whole when the record is
erased. The download is the channel's (bot.runtime.telegram.TelegramFetcher); nothing here knows Telegram.

With the deployment's key (DATA_KEY) every file is sealed (bot.safekeeping.crypto, the one format for media and
backups) before it touches the disk: a copied disk or a stolen backup drive shows no child's photo. Files stored
before a key was set stay readable as they are (`read` tells them by their first bytes) until `reseal` seals them.
Folders and files are owner-only whatever the umask.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from bot.clock import stamp
from bot.safekeeping import crypto
from bot.safekeeping.files import FILE_MODE, private_dir
from storage.db import Database
from storage.musts import MustsRepository

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the Bot API's getFile limit
MAX_FETCH_ATTEMPTS = 15
# Telegram re-encodes photos as JPEG and voice notes as Ogg Opus.
_EXTENSIONS = {"photo": ".jpg", "voice": ".ogg"}
_PART = ".part"  # a file being written: never one the database points to


class TooLarge(Exception):
    """The file is bigger than a bot may download: it stays only with Telegram."""


class Fetcher(Protocol):
    async def fetch(self, file_id: str) -> bytes:
        """The file's content (at most MAX_DOWNLOAD_BYTES: held in memory, so no plaintext copy is ever
        written to disk; the store seals and writes it)."""


class OtherKeys(Exception):
    """Some stored files are sealed under neither key given to `reseal`: nothing was changed."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} media files are sealed under another key")
        self.count = count


@dataclass
class Resealed:
    """What `reseal` did: files rewritten under the new key, files already so (a rotation interrupted and run
    again), and the relative paths of files that could not be opened (changed or cut: no key reads them)."""

    changed: int = 0
    already: int = 0
    damaged: list[str] = field(default_factory=list)


class MediaStore:
    def __init__(self, root: Path, key: bytes | None = None) -> None:
        self.root = Path(root)
        self.key = key

    def relative_path(self, child_id: int, media_id: int, kind: str) -> str:
        return f"{int(child_id)}/{int(media_id)}{_EXTENSIONS[kind]}"

    def absolute(self, rel: str) -> Path:
        path = Path(rel)
        # Only paths made by relative_path come here; anything else must not reach outside the root.
        if path.is_absolute() or ".." in path.parts:
            raise ValueError("a stored media path must be relative to the media root")
        return self.root / path

    def put(self, rel: str, data: bytes) -> int:
        """Store `data` under `rel`, sealed if there is a key: all of it or nothing under that name (a temporary
        name beside it, fsync, rename). Returns the bytes written to disk."""
        dest = self.absolute(rel)
        private_dir(self.root)
        private_dir(dest.parent)
        return _write_atomically(dest, crypto.seal(data, self.key) if self.key else data)

    def read(self, rel: str) -> bytes:
        """The content stored under `rel`, unsealed: the one way any code reads a stored file back. A file from
        before the key was set is returned as it is. crypto.Unreadable if it is sealed and cannot be opened
        ('other_key' also when no key is configured, 'damaged')."""
        return _open(self.absolute(rel).read_bytes(), self.key)

    def remove_child(self, child_id: int) -> None:
        """Delete everything kept for this child (their record is being erased)."""
        folder = self.root / str(int(child_id))
        if folder.exists():
            shutil.rmtree(folder)

    def reseal(self, old_key: bytes | None, new_key: bytes | None) -> Resealed:
        """Rewrite every stored file under `new_key` (None: plaintext), for a key rotation with the bot stopped.
        Files sealed under `old_key`, plaintext files (stored before any key) and files already under `new_key`
        (a rotation that stopped half way and is run again) are all accepted; each file is replaced atomically.
        If any file is sealed under a third key, OtherKeys is raised before anything changes. Leftover temporary
        files of an interrupted write are removed."""
        foreign = self.under_other_keys(old_key, new_key)
        if foreign:
            raise OtherKeys(foreign)
        if self.root.exists():
            for part in self.root.rglob(f"*{_PART}"):
                part.unlink(missing_ok=True)  # a write a crash interrupted: no row points to it
        files = list(self._stored_files())
        result = Resealed()
        for path in files:
            data = path.read_bytes()
            if _is_final(data, new_key):
                result.already += 1
                continue
            try:
                plain = data if not crypto.is_sealed(data) else crypto.unseal(data, old_key)
            except crypto.Unreadable:
                result.damaged.append(path.relative_to(self.root).as_posix())
                continue
            _write_atomically(path, crypto.seal(plain, new_key) if new_key else plain)
            result.changed += 1
        if self.root.exists():
            private_dir(self.root)
        return result

    def under_other_keys(self, old_key: bytes | None, new_key: bytes | None) -> int:
        """How many stored files are sealed under neither key (their first bytes only: quick). A rotation asks
        before it changes anything, the database included."""
        foreign = 0
        for path in self._stored_files():
            with path.open("rb") as handle:
                head = handle.read(crypto.HEADER_BYTES)
            if crypto.is_sealed(head) and not any(k and _sealed_under(head, k) for k in (old_key, new_key)):
                foreign += 1
        return foreign

    def _stored_files(self) -> Iterator[Path]:
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.endswith(_PART):
                yield path


def _sealed_under(head: bytes, key: bytes) -> bool:
    return head[len(crypto.MAGIC):len(crypto.MAGIC) + crypto.KEY_ID_BYTES] == crypto.key_id(key)


def _is_final(data: bytes, new_key: bytes | None) -> bool:
    """Whether a file is already as the new key wants it (sealed under it, or plaintext when there is none)."""
    if new_key is None:
        return not crypto.is_sealed(data)
    return crypto.is_sealed(data) and _sealed_under(data, new_key)


def _open(data: bytes, key: bytes | None) -> bytes:
    if not crypto.is_sealed(data):
        return data
    if key is None:
        raise crypto.Unreadable("other_key")
    return crypto.unseal(data, key)


def _write_atomically(dest: Path, data: bytes) -> int:
    """A temporary name beside the final one (same file system, so the rename is atomic), created owner-only,
    made durable before the rename: a crash or a power cut never leaves a half or empty file under the name the
    database points to."""
    part = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}{_PART}")
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(part, FILE_MODE)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    _sync_dir(dest.parent)
    return len(data)


def _sync_dir(folder: Path) -> None:
    """The rename itself is durable only once the folder is synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
        try:
            if media.size is not None and media.size > MAX_DOWNLOAD_BYTES:
                raise TooLarge()  # known from the message already: no need to ask Telegram
            data = await fetcher.fetch(media.file_id)
            if len(data) > MAX_DOWNLOAD_BYTES:
                raise TooLarge()
            # Sealing and the fsync are disk and CPU work: off the event loop.
            await asyncio.to_thread(store.put, rel, data)
        except Exception as exc:
            await _failed(repo, media.id, exc, now)
            continue
        if await repo.stored(media.id, rel):
            stored += 1
        else:
            # The row went while the file was downloading (the child's record was erased): so does the file.
            await asyncio.to_thread(_discard, store.absolute(rel))
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
