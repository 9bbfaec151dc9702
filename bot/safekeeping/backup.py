"""Backups that restore: one sealed file holding a consistent snapshot of the database and the media folder, and
its restore into an empty data folder.

A backup is a tar stream sealed with the deployment's key (bot.safekeeping.crypto, the one format of sealed files):

    database.sqlite3   SQLite's online backup of the database, taken from a connection of its own in one step (one
                       read transaction: under WAL the bot's writer is never blocked); keyed like the database
    media/...          the media folder as stored (sealed already when a key was set when they were stored)
    manifest.json      schema version, when it was taken, and the sha256 of every member above

Nothing in plaintext touches the disk on the way: the tar is sealed as it is written (a pipe between two threads),
and a restore unseals it as it reads. A restore checks the whole file (every chunk's tag, every member's hash)
before anything is put in place.

Erasures reach backups: every erasure is a tombstone (the `erasures` table, by child id and time) and a line in
<backups>/erasures.log, which lives with the backups (a mounted drive) and so outlives the machine. After a restore
the erasures made after the backup was taken are made again (bot.access.privacy.PrivacyService.reapply).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from bot.clock import Clock, stamp
from bot.safekeeping import crypto
from bot.safekeeping.files import FILE_MODE, private_dir, tighten
from storage.snapshot import intact, snapshot

log = logging.getLogger(__name__)

SUFFIX = ".qqb"
DATABASE_MEMBER = "database.sqlite3"
MANIFEST_MEMBER = "manifest.json"
FORMAT = 1
ERASURE_LOG = "erasures.log"
KEEP_DAILY = 7
KEEP_WEEKLY = 4
_NAME = re.compile(r"^qinqing-(\d{8}-\d{6})(?:-(\d+))?\.qqb$")
# Media members: the store's own layout (<child id>/<file>), nothing that could reach outside the folder.
_MEDIA_MEMBER = re.compile(r"^media/\d+/[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_MANIFEST_LIMIT = 16 * 1024 * 1024
# After a failed daily backup (a drive unplugged, a full disk) the next try waits this long, not every schedule run.
RETRY_AFTER = timedelta(hours=1)


class BackupRefused(Exception):
    """A backup that cannot be made or restored; `reason` is one of: no_key, not_sealed, other_key, damaged,
    not_backup, too_new, not_empty, missing. `found` and `known` are the schema versions for too_new."""

    def __init__(self, reason: str, found: int = 0, known: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.found = found
        self.known = known


@dataclass(frozen=True)
class Made:
    path: Path
    size: int
    media: int     # media files in it
    schema: int


@dataclass(frozen=True)
class Restored:
    taken_at: str  # when the backup was taken (bot.clock.stamp)
    schema: int
    media: int


@dataclass(frozen=True)
class Tombstone:
    child_id: int
    erased_at: str  # bot.clock.stamp


# -- the erasure log ---------------------------------------------------------------------------------------------

def record_erasure(backups: Path, child_id: int, erased_at: str) -> None:
    """One line `<erased_at> <child id>` appended to <backups>/erasures.log and forced to disk: called inside the
    erasure's transaction, so an erasure that commits is always in it. Ids only: nothing about the child."""
    private_dir(backups)
    fd = os.open(backups / ERASURE_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        os.write(fd, f"{erased_at} {int(child_id)}\n".encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_erasures(backups: Path) -> list[Tombstone]:
    """The erasures in <backups>/erasures.log (a line that does not parse, say one cut by a power cut, is skipped)."""
    path = backups / ERASURE_LOG
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return []
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            found.append(Tombstone(int(parts[1]), parts[0]))
    return found


def _complete_log(backups: Path, tombstones: list[Tombstone]) -> None:
    """Tombstones the log lacks (a new BACKUP_DIR, a log deleted by hand) are appended, so it is whole again."""
    have = set(read_erasures(backups))
    for stone in tombstones:
        if stone not in have:
            record_erasure(backups, stone.child_id, stone.erased_at)


# -- taking a backup ---------------------------------------------------------------------------------------------

def take_backup(database: Path, media: Path, backups: Path, key: bytes | None, when: datetime, tz) -> Made:
    """Write `<backups>/qinqing-YYYYMMDD-HHMMSS.qqb` (`when`, an aware moment, named in the school's time zone
    `tz`) under a temporary name, fsync, rename; owner-only. Blocking: run it on a worker thread."""
    if key is None:
        raise BackupRefused("no_key")
    private_dir(backups)
    base = f"qinqing-{when.astimezone(tz):%Y%m%d-%H%M%S}"
    final, n = backups / f"{base}{SUFFIX}", 0
    while final.exists():  # two backups in the same second
        n += 1
        final = backups / f"{base}-{n}{SUFFIX}"
    partial = backups / f".{final.name}.{os.getpid()}.{threading.get_ident()}"
    snapshot = partial.with_name(partial.name + ".sqlite3")
    try:
        schema, tombstones = _snapshot(database, snapshot, key)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            files = _sealed_tar(out, key, lambda tar, digests: _members(tar, digests, snapshot, media, schema, when))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
        _sync_dir(backups)
    finally:
        partial.unlink(missing_ok=True)
        snapshot.unlink(missing_ok=True)
    _complete_log(backups, tombstones)
    return Made(final, final.stat().st_size, files, schema)


def _snapshot(database: Path, dest: Path, key: bytes) -> tuple[int, list[Tombstone]]:
    if not database.exists():
        raise BackupRefused("missing")
    schema, tombstones = snapshot(database, dest, key)
    return schema, [Tombstone(child_id, erased_at) for child_id, erased_at in tombstones]


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it (tarfile reads the member's bytes through it)."""

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._fp.read(size)
        self.sha.update(data)
        return data


def _members(tar: tarfile.TarFile, digests: dict[str, str], snapshot: Path, media: Path, schema: int,
             when: datetime) -> int:
    _add(tar, digests, DATABASE_MEMBER, snapshot)
    files = 0
    if media.is_dir():
        for path in sorted(media.rglob("*")):
            rel = "media/" + path.relative_to(media).as_posix()
            # Temporary names of a download being written (dot files) are not stored media yet.
            if not _MEDIA_MEMBER.match(rel) or path.name.startswith("."):
                continue
            try:
                _add(tar, digests, rel, path)
            except FileNotFoundError:
                continue  # erased while the backup ran: its tombstone is in erasures.log
            files += 1
    manifest = json.dumps({"format": FORMAT, "schema": schema, "created_at": stamp(when),
                           "files": digests}, sort_keys=True).encode()
    info = tarfile.TarInfo(MANIFEST_MEMBER)
    info.size, info.mode, info.mtime = len(manifest), FILE_MODE, int(when.timestamp())
    tar.addfile(info, io.BytesIO(manifest))
    return files


def _add(tar: tarfile.TarFile, digests: dict[str, str], name: str, path: Path) -> None:
    with open(path, "rb") as fp:
        st = os.fstat(fp.fileno())  # stored files are replaced by rename, never rewritten: this inode is stable
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = st.st_size, FILE_MODE, int(st.st_mtime)
        reader = _Hashing(fp)
        tar.addfile(info, reader)
        digests[name] = reader.sha.hexdigest()


def _sealed_tar(out: BinaryIO, key: bytes, write: Callable[[tarfile.TarFile, dict[str, str]], int]) -> int:
    """The tar that `write` builds, sealed into `out` as it is produced (through a pipe)."""
    r, w = os.pipe()
    result: list = []

    def produce() -> None:
        try:
            with os.fdopen(w, "wb") as sink, tarfile.open(fileobj=sink, mode="w|") as tar:
                result.append(write(tar, {}))
        except BaseException as exc:  # re-raised below, on the caller's thread
            result.append(exc)

    thread = threading.Thread(target=produce, name="backup-tar", daemon=True)
    thread.start()
    try:
        # Closing the read end first makes a producer blocked on a full pipe fail (and end) if sealing failed.
        with os.fdopen(r, "rb") as source:
            crypto.seal_stream(source, out, key)
    finally:
        thread.join()
    if not result or isinstance(result[0], BaseException):
        raise result[0] if result else RuntimeError("backup writer ended without a result")
    return result[0]


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- retention ---------------------------------------------------------------------------------------------------

def taken_at(path: Path) -> datetime | None:
    """When a backup was taken, from its name (naive: the school's time)."""
    match = _NAME.match(path.name)
    return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S") if match else None


def backups_in(folder: Path) -> list[Path]:
    """The backups in the folder, newest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and taken_at(p) is not None]
    return sorted(found, key=lambda p: (taken_at(p), p.name), reverse=True)


def to_prune(paths: list[Path]) -> list[Path]:
    """Keep the newest backup of each of the last KEEP_DAILY days that have one, and of each of the last
    KEEP_WEEKLY ISO weeks; the rest go."""
    keep: set[Path] = set()
    for bucket, count in ((lambda d: d.date(), KEEP_DAILY), (lambda d: d.isocalendar()[:2], KEEP_WEEKLY)):
        seen = []
        for path in paths:  # newest first: the first of each bucket is its newest
            b = bucket(taken_at(path))
            if b not in seen:
                seen.append(b)
                if len(seen) > count:
                    break
                keep.add(path)
    return [p for p in paths if p not in keep]


def prune(folder: Path) -> list[Path]:
    gone = to_prune(backups_in(folder))
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


# -- restoring ---------------------------------------------------------------------------------------------------

def is_empty(database: Path, media: Path) -> bool:
    """A data folder a restore may write into: no database (nor its side files) and no stored media. Other things
    (the backups folder itself, .env) may be there."""
    side = [database, Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-journal")]
    return not any(p.exists() for p in side) and not (media.is_dir() and any(media.iterdir())) \
        and not (media.exists() and not media.is_dir())


def restore_backup(file: Path, database: Path, media: Path, key: bytes, known: int) -> Restored:
    """Unseal `file` into a temporary folder beside the database, check every member against the manifest, the
    schema against what this code knows and the database's integrity; only then move it into place. Owner-only.
    Blocking."""
    if not file.is_file():
        raise BackupRefused("missing")
    if not is_empty(database, media):
        raise BackupRefused("not_empty")
    private_dir(database.parent)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=database.parent))  # 0700
    try:
        manifest = _unpack(file, staging, key)
        schema = int(manifest["schema"])
        if schema > known:
            raise BackupRefused("too_new", schema, known)
        _check_database(staging / DATABASE_MEMBER, key)
        os.replace(staging / DATABASE_MEMBER, database)
        if media.is_dir():
            media.rmdir()  # empty: checked above
        if (staging / "media").is_dir():
            os.replace(staging / "media", media)
        else:
            private_dir(media)
        _sync_dir(database.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    tighten([database, media])
    count = sum(1 for name in manifest["files"] if name.startswith("media/"))
    return Restored(str(manifest["created_at"]), schema, count)


def _unpack(file: Path, staging: Path, key: bytes) -> dict:
    r, w = os.pipe()
    failed: list[BaseException] = []

    def unseal() -> None:
        try:
            with open(file, "rb") as src, os.fdopen(w, "wb") as sink:
                crypto.open_stream(src, sink, key)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=unseal, name="restore-unseal", daemon=True)
    thread.start()
    digests: dict[str, str] = {}
    manifest = None
    problem: BaseException | None = None
    try:
        with os.fdopen(r, "rb") as source:
            try:
                with tarfile.open(fileobj=source, mode="r|") as tar:
                    for member in tar:
                        manifest = _extract(tar, member, staging, digests) or manifest
            except (tarfile.TarError, BackupRefused, ValueError, OSError) as exc:
                problem = exc
    finally:
        thread.join()
    if failed:
        reason = failed[0].reason if isinstance(failed[0], crypto.Unreadable) else "damaged"
        raise BackupRefused(reason)
    if problem is not None or manifest is None or manifest.get("format") != FORMAT:
        raise BackupRefused("not_backup")
    expected = manifest.get("files")
    if not isinstance(expected, dict) or expected != digests or DATABASE_MEMBER not in digests:
        raise BackupRefused("damaged")
    return manifest


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, staging: Path, digests: dict[str, str]) -> dict | None:
    """Write one member under `staging` (only the names a backup has, only regular files); the manifest is
    returned, not written."""
    name = member.name
    if not member.isfile() or not (name in (DATABASE_MEMBER, MANIFEST_MEMBER) or _MEDIA_MEMBER.match(name)):
        raise BackupRefused("not_backup")
    source = tar.extractfile(member)
    if name == MANIFEST_MEMBER:
        if member.size > _MANIFEST_LIMIT:
            raise BackupRefused("not_backup")
        return json.loads(source.read())
    dest = staging / name
    private_dir(dest.parent)
    sha = hashlib.sha256()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(crypto.CHUNK):
            sha.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    digests[name] = sha.hexdigest()
    return None


def _check_database(path: Path, key: bytes) -> None:
    if not intact(path, key):
        raise BackupRefused("damaged")


# -- the daily backup --------------------------------------------------------------------------------------------

class DailyBackups:
    """The daily backup, a step of the schedule (bot.runtime.runner.schedule_job): due when the backups folder has
    none of today (the school's date), so a restart neither skips nor repeats a day, and a school PC switched off
    at night makes it at its first run of the day. The work runs on a worker thread in a task of its own, so
    neither the event loop nor the schedule's other steps (a safety escalation) wait for it."""

    def __init__(self, database: Path, media: Path, backups: Path, key: bytes | None, clock: Clock,
                 tz) -> None:
        self._database, self._media, self._backups, self._key = database, media, backups, key
        self._clock = clock
        self._tz = tz
        self._running: asyncio.Task | None = None
        self._failed_at: datetime | None = None
        self._said_no_key = False

    def due(self, now: datetime) -> bool:
        newest = next(iter(backups_in(self._backups)), None)
        return newest is None or taken_at(newest).date() < now.astimezone(self._tz).date()

    async def run_due(self) -> int:
        """Starts today's backup if due; returns 1 when it started one."""
        if self._key is None:
            if not self._said_no_key:
                log.warning("no daily backups: DATA_KEY is not set (backups are always encrypted)")
                self._said_no_key = True
            return 0
        now = self._clock.now()
        if self._running is not None and not self._running.done():
            return 0
        if self._failed_at is not None and now - self._failed_at < RETRY_AFTER:
            return 0
        if not await asyncio.to_thread(self.due, now):
            return 0
        self._running = asyncio.create_task(self._backup(now), name="daily-backup")
        return 1

    async def wait(self) -> None:
        """Until a backup started by run_due has ended (tests; the bot's stop)."""
        if self._running is not None:
            await asyncio.gather(self._running, return_exceptions=True)

    async def _backup(self, now: datetime) -> None:
        try:
            made = await asyncio.to_thread(take_backup, self._database, self._media, self._backups, self._key, now,
                                           self._tz)
            gone = await asyncio.to_thread(prune, self._backups)
        except Exception as exc:
            self._failed_at = now
            log.error("the daily backup failed (%s); tried again in an hour", type(exc).__name__)
            return
        self._failed_at = None
        log.info("daily backup written (%s bytes, %s media files); %s old backups removed", made.size, made.media,
                 len(gone))
