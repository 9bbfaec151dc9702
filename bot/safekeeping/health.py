"""The data folder at process start: owner-only files, and a clear stop on a database that cannot be used.

A damaged database (a bad page after a power cut or a failing disk), a file that is not a database at all (a
wrong DATABASE_PATH), or a key that does not fit it must stop the process with one line that says what is wrong
and how to restore from a backup, before anything opens the file for writing: the file is left exactly as it
was, for a restore or for someone who can repair it. The check opens the file read-only (mode=ro: no
checkpoint, no journal, no WAL switch) and runs SQLite's `PRAGMA quick_check`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bot.safekeeping.files import tighten
from storage.db import DatabaseError, OperationalError, connect

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
# SQLCipher's pages are whole multiples of 512 bytes (4096 by default) and look random from the first byte on
# (a 16-byte salt, then ciphertext): that tells an encrypted database from a text file or a truncated copy.
_PAGE_QUANTUM = 512
_REASONS = ("not_database", "plaintext_with_key", "encrypted_without_key", "wrong_key", "damaged", "unreadable",
            "busy")


@dataclass(frozen=True)
class Problem:
    """Why the database cannot be used: one of _REASONS, and the path it is about."""

    reason: str
    path: str


def data_paths(settings) -> list[Path]:
    """Everything that holds children's data on disk: the database and its side files, the media, the backups."""
    db = Path(settings.database_path)
    paths = [db, *(db.with_name(db.name + side) for side in ("-wal", "-shm", "-journal"))]
    return [*paths, settings.media_dir, settings.backups] if settings.database_path != ":memory:" else paths[:0]


def tighten_data(settings) -> int:
    """Make the data owner-only and say in ONE log line how many paths were wider (never which child's files):
    the operator learns that another local user could have read them until now."""
    wider = tighten(data_paths(settings))
    if wider:
        log.warning("%d data files or folders were readable by other local users; they are owner-only now",
                    len(wider))
    return len(wider)


def tighten_env(path: Path = Path(".env")) -> bool:
    """`.env` holds the bot's token and DATA_KEY: whoever reads it reads every child's data. Made owner-only (it
    is the operator's own file, so they keep reading and writing it), with one warning if it was wider."""
    if tighten([path]):
        log.warning(".env was readable by other local users (it holds the token and DATA_KEY); it is owner-only now")
        return True
    return False


def announce_encryption(settings) -> None:
    if settings.data_key is None:
        log.warning("DATA_KEY is not set: the database, the media and the backups are NOT encrypted at rest "
                    "(`python -m bot keygen`, then `python -m bot rotate-key`)")


def check_database(path: str | Path, key: bytes | None) -> Problem | None:
    """None if the database at `path` can be used with `key` (or does not exist yet: it will be created);
    otherwise what is wrong with it. Never writes to it."""
    path = str(path)
    if path == ":memory:":
        return None
    file = Path(path)
    if not file.exists():
        return None
    if not file.is_file():
        return Problem("not_database", path)
    try:
        with file.open("rb") as handle:
            head = handle.read(4096)
        size = file.stat().st_size
    except OSError:
        return Problem("unreadable", path)
    if size == 0:
        return None  # an empty file is an empty database to SQLite: the migrations fill it
    plain = head.startswith(SQLITE_HEADER)
    if plain and key is not None:
        return Problem("plaintext_with_key", path)
    if not plain:
        encrypted = _looks_encrypted(head, size)
        if key is None:
            return Problem("encrypted_without_key" if encrypted else "not_database", path)
        if not encrypted:
            return Problem("not_database", path)
    # Read-only. Without a WAL beside it no process has the database open, and immutable=1 keeps SQLite from
    # creating side files next to a damaged file; with one (a running bot, a backup) the WAL must be read.
    wal = file.with_name(file.name + "-wal").exists()
    uri = f"file:{quote(file.resolve().as_posix())}?mode=ro" + ("" if wal else "&immutable=1")
    try:
        conn = connect(uri, key, uri=True, timeout=2.0)
    except DatabaseError:
        return Problem("unreadable", path)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except OperationalError as exc:
        return Problem("busy" if "locked" in str(exc) or "busy" in str(exc) else "damaged", path)
    except DatabaseError as exc:
        if "not a database" in str(exc):  # SQLCipher: page 1 does not decrypt (its HMAC fails)
            return Problem("wrong_key" if key is not None else "not_database", path)
        return Problem("damaged", path)
    finally:
        conn.close()
    if [tuple(row) for row in rows] != [("ok",)]:
        return Problem("damaged", path)
    return None


def _looks_encrypted(head: bytes, size: int) -> bool:
    if size < _PAGE_QUANTUM or size % _PAGE_QUANTUM:
        return False
    # Ciphertext uses nearly every byte value within its first kilobyte; text, and most other files, do not.
    return len(set(head[:1024])) > 200


def explain(problem: Problem, _) -> str:
    """The one line the command line prints (in the operator's language): what is wrong, and what to do."""
    path = problem.path
    restore = "python -m bot restore FILE"
    if problem.reason == "not_database":
        return _("{path} is not a Qinqing Bridge database (not an SQLite file at all). Check DATABASE_PATH in .env, "
                 "or restore a backup into an empty data folder: {restore}").format(path=path, restore=restore)
    if problem.reason == "plaintext_with_key":
        return _("{path} is not encrypted, but DATA_KEY is set. To encrypt it, remove DATA_KEY from .env and run "
                 "python -m bot rotate-key; or restore a backup: {restore}").format(path=path, restore=restore)
    if problem.reason == "encrypted_without_key":
        return _("{path} is encrypted, but DATA_KEY is not set: put the key it was encrypted with in .env as "
                 "DATA_KEY, or restore a backup: {restore} --key KEY").format(path=path, restore=restore)
    if problem.reason == "wrong_key":
        return _("{path} cannot be opened with this DATA_KEY (a key from before a rotation?): set the key it was "
                 "encrypted with, or restore a backup: {restore}").format(path=path, restore=restore)
    if problem.reason == "damaged":
        return _("{path} is damaged (SQLite's integrity check failed). Leave the file as it is and restore the "
                 "newest backup into an empty data folder: {restore}").format(path=path, restore=restore)
    if problem.reason == "busy":
        return _("{path} is locked by another program (a key rotation or a restore?): wait until it ends, then "
                 "start again.").format(path=path)
    return _("{path} cannot be read: run the bot as the user who owns the data folder.").format(path=path)
