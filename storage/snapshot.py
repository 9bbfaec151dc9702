"""A consistent copy of the database file, for backups (bot.safekeeping.backup): SQLite's online backup API from a
connection of its own, and the checks a restored copy must pass. Synchronous: run on a worker thread."""

from __future__ import annotations

from pathlib import Path

from storage.db import DatabaseError, connect


def snapshot(database: Path, dest: Path, key: bytes | None) -> tuple[int, list[tuple[int, str]]]:
    """Copy the database to `dest` in one step (pages=-1): one read transaction, which under WAL never blocks the
    bot's writer. The copy is keyed like the database, so no plaintext page touches the disk. Returns the copy's
    schema version and its tombstones (child id, erased at)."""
    source = connect(str(database), key)
    try:
        target = connect(str(dest), key)
        try:
            source.backup(target, pages=-1)
            # One file, no WAL beside it: the restored database is this file alone.
            target.execute("PRAGMA journal_mode = DELETE")
            schema = int(target.execute("PRAGMA user_version").fetchone()[0])
            tombstones = []
            if target.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'erasures'").fetchone():
                tombstones = [(int(r[0]), str(r[1])) for r in
                              target.execute("SELECT child_id, erased_at FROM erasures ORDER BY erased_at")]
        finally:
            target.close()
    finally:
        source.close()
    return schema, tombstones


def intact(path: Path, key: bytes | None) -> bool:
    """Whether the file is a database this key opens and PRAGMA quick_check finds whole."""
    try:
        conn = connect(str(path), key)
        try:
            return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    except DatabaseError:
        return False
