"""The database connection: one long-lived aiosqlite connection that every repository shares.

SQLite allows one writer at a time; a single connection behind an asyncio lock makes that explicit in
the process, so a write never waits on SQLITE_BUSY from ourselves, and each write is one transaction.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.migrations import MIGRATIONS, Migration

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


class DatabaseTooNew(RuntimeError):
    """The database was written by a newer version of the code; running old code on it could corrupt it."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(f"database schema version {found} is newer than this code knows ({known})")
        self.found = found
        self.known = known


# The errors of both drivers: the standard library's sqlite3 without a key, SQLCipher's binding with one (its
# classes are its own, not subclasses of sqlite3's). Catch these, never sqlite3's alone.
OperationalError: tuple[type[Exception], ...] = (sqlite3.OperationalError,)
DatabaseError: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)
IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
try:
    from sqlcipher3 import dbapi2 as _sqlcipher
except ImportError:  # pragma: no cover - a dependency; without it a key cannot be used (connect says so)
    _sqlcipher = None
else:
    OperationalError += (_sqlcipher.OperationalError,)
    DatabaseError += (_sqlcipher.DatabaseError,)
    IntegrityError += (_sqlcipher.IntegrityError,)


def connect(path: str, key: bytes | None = None, **kwargs: Any):
    """A DB-API connection to the database: SQLCipher's with the deployment's key (every page AES-256
    encrypted), the standard library's without. Used by `Database.open` (through aiosqlite) and by whatever
    reads the file apart from the bot (a backup, a check at start). The key is given as raw bytes (x'…'), so
    SQLCipher skips its passphrase derivation: DATA_KEY is already 32 random bytes."""
    if key is None:
        return sqlite3.connect(path, **kwargs)
    if _sqlcipher is None:
        raise RuntimeError("sqlcipher3 is not installed: the database cannot be opened with DATA_KEY")
    conn = _sqlcipher.connect(path, **kwargs)
    # A wrong key or a damaged page is an exception for the caller; SQLCipher's own log would print it again on
    # stderr, under the one translated line the command line gives.
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    return conn


def row_factory(key: bytes | None):
    """Rows readable by column name, of the driver `connect` uses."""
    return sqlite3.Row if key is None else _sqlcipher.Row


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str, key: bytes | None = None) -> None:
        self._conn = conn
        self._write_lock = asyncio.Lock()
        self.path = path
        self.key = key

    @classmethod
    async def open(cls, path: str | Path, key: bytes | None = None) -> Database:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly what we say.
        # check_same_thread=False: aiosqlite opens the connection on its own worker thread and uses it there.
        conn = aiosqlite.Connection(lambda: connect(path, key, isolation_level=None, check_same_thread=False),
                                    iter_chunk_size=64)
        await conn
        try:
            conn.row_factory = row_factory(key)
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed update or outbox row survives a power cut, not only a process crash.
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            # Deleted rows (a child's record erased on request) are overwritten, not left in free pages.
            await conn.execute("PRAGMA secure_delete = ON")
        except BaseException:
            # aiosqlite's worker thread is not a daemon: left open, it keeps the process from ever exiting (a text
            # file as DATABASE_PATH used to give a traceback and then a hang).
            await conn.close()
            raise
        return cls(conn, path, key)

    async def close(self) -> None:
        async with self._write_lock:
            await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction. BEGIN IMMEDIATE takes the write lock up front, so no upgrade deadlock."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    async def write(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """One statement as its own transaction (autocommit), for the hot path: it saves the round trips
        of BEGIN and COMMIT to the database thread. Returns the rows of a RETURNING clause, if any."""
        async with self._write_lock:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))

    # execute_fetchall is one trip to the database thread; execute + fetch + close would be three.
    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self._conn.execute_fetchall(sql, tuple(params))
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self._conn.execute_fetchall(sql, tuple(params)))

    async def checkpoint(self) -> bool:
        """Move the WAL into the database file and truncate it, so erased rows leave no copy behind
        (secure_delete has already overwritten them in the pages themselves). False when another
        connection's open read (a backup, an sqlite3 shell) kept it from completing."""
        async with self._write_lock:
            rows = await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        return rows[0][0] == 0

    async def user_version(self) -> int:
        row = await self.fetch_one("PRAGMA user_version")
        return int(row[0])

    async def migrate(self, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
        """Bring the schema up to date; returns the versions applied. Each migration is its own transaction."""
        known = migrations[-1].version if migrations else 0
        current = await self.user_version()
        if current > known:
            raise DatabaseTooNew(current, known)
        applied = []
        for migration in migrations:
            if migration.version <= current:
                continue
            async with self.transaction() as conn:
                for statement in migration.statements():
                    await conn.execute(statement)
                # user_version lives in the file header and is written inside this transaction,
                # so a crash leaves either the old schema and number or the new ones.
                await conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            log.info("applied migration %04d_%s", migration.version, migration.name)
            applied.append(migration.version)
        return applied


class Repository:
    """The base of every repository, and the one way to call one inside a transaction:

        async with db.transaction() as conn:
            await children.within(conn).update(change)
            await audit.within(conn).record(entry)

    A repository made from the Database runs each call as its own statement (reads, and single writes that
    are a transaction by themselves); `within(conn)` is the same repository bound to an open transaction, so
    several writes commit together or not at all. Repositories take and return dataclasses and `?` params."""

    def __init__(self, db: Database, conn: aiosqlite.Connection | None = None) -> None:
        self._db = db
        self._conn = conn

    def within(self, conn: aiosqlite.Connection):
        bound = copy.copy(self)
        bound._conn = conn
        return bound

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        if self._conn is not None:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))
        return await self._db.fetch_all(sql, params)

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """One write: inside the bound transaction, or else as its own (autocommit, under the write lock).
        Returns the rows of a RETURNING clause, if any."""
        if self._conn is not None:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))
        return await self._db.write(sql, params)


class InUse(Exception):
    """Another connection has the database open (the bot is running): it cannot be re-keyed now."""


def rekey(path: str, old: bytes | None, new: bytes) -> None:
    """Re-key the database file at `path` from `old` (None: plaintext) to `new`, with the bot stopped. InUse if
    another process has it open.

    A keyed database: SQLCipher's `PRAGMA rekey` rewrites every page under the new key in one transaction (a crash
    leaves the old key or the new, never a mixture). A plaintext one: SQLCipher cannot encrypt a file in place, so
    `sqlcipher_export` writes a keyed copy beside it (owner-only, synced), which then replaces it atomically.
    Either way the database leaves WAL mode first: that needs the only connection, which is how a running bot is
    noticed, and it folds the WAL into the file so no plaintext page stays behind in it (the next open turns WAL
    on again)."""
    conn = connect(path, old, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("PRAGMA journal_mode = DELETE").fetchall()
        except OperationalError:
            raise InUse() from None
        if old is not None:
            conn.execute(f"PRAGMA rekey = \"x'{new.hex()}'\"")
            return
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()
    _export_encrypted(path, new, version)


def _export_encrypted(path: str, key: bytes, version: int) -> None:
    if _sqlcipher is None:  # pragma: no cover
        raise RuntimeError("sqlcipher3 is not installed: the database cannot be encrypted")
    target = Path(path)
    copy_path = target.with_name(target.name + ".rekey")
    copy_path.unlink(missing_ok=True)  # a copy an earlier, interrupted run left: never pointed to
    try:
        # Made owner-only before a single page is written, whatever the umask (SQLite then opens it as empty; its
        # journal takes the same mode).
        os.close(os.open(copy_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.chmod(copy_path, 0o600)
        # SQLCipher's connection without a key reads a plaintext database as SQLite does.
        conn = _sqlcipher.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA cipher_log_level = NONE")
            conn.execute("ATTACH DATABASE ? AS keyed KEY ?", (str(copy_path), f"x'{key.hex()}'"))
            conn.execute("SELECT sqlcipher_export('keyed')").fetchall()
            # sqlcipher_export copies the schema and the rows, not the header's user_version (the schema's number)
            conn.execute(f"PRAGMA keyed.user_version = {int(version)}")
            conn.execute("DETACH DATABASE keyed")
        finally:
            conn.close()
        with copy_path.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(copy_path, target)
    finally:
        copy_path.unlink(missing_ok=True)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself is durable only once the folder is
    finally:
        os.close(folder)
