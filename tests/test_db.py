"""The database: pragmas, migrations keyed on user_version, refusing a newer schema, one write per transaction."""

from __future__ import annotations

import pytest

from storage.db import Database, DatabaseTooNew
from storage.migrations import MIGRATIONS, Migration


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.sqlite3")
    yield database
    await database.close()


async def test_connection_is_durable_and_strict(db):
    assert (await db.fetch_one("PRAGMA journal_mode"))[0] == "wal"
    assert (await db.fetch_one("PRAGMA synchronous"))[0] == 2  # FULL
    assert (await db.fetch_one("PRAGMA foreign_keys"))[0] == 1
    assert (await db.fetch_one("PRAGMA secure_delete"))[0] == 1
    assert (await db.fetch_one("PRAGMA busy_timeout"))[0] > 0


async def test_migrate_applies_all_then_nothing(db):
    assert await db.migrate() == [m.version for m in MIGRATIONS]
    assert await db.user_version() == MIGRATIONS[-1].version
    assert await db.migrate() == []


async def test_a_database_newer_than_the_code_is_refused(db):
    await db.migrate()
    async with db.transaction() as conn:
        await conn.execute(f"PRAGMA user_version = {MIGRATIONS[-1].version + 1}")
    with pytest.raises(DatabaseTooNew):
        await db.migrate()


async def test_a_failing_migration_leaves_the_previous_version(db):
    broken = MIGRATIONS + (Migration(len(MIGRATIONS) + 1, "broken", "CREATE TABLE ok (x);\nINSERT INTO nope VALUES (1);"),)
    with pytest.raises(Exception):
        await db.migrate(broken)
    assert await db.user_version() == MIGRATIONS[-1].version
    assert await db.fetch_one("SELECT name FROM sqlite_master WHERE name = 'ok'") is None


async def test_a_failed_transaction_writes_nothing(db):
    await db.migrate()
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO user_preferences (user_id, locale, updated_at) VALUES (1, 'en', 'x')")
            raise RuntimeError("halfway")
    assert await db.fetch_all("SELECT * FROM user_preferences") == []


def test_statements_split_keeps_trigger_bodies_whole():
    sql = (
        "CREATE TABLE a (x);\n"
        "CREATE TRIGGER a_no_update BEFORE UPDATE ON a BEGIN\n"
        "  SELECT RAISE(ABORT, 'append-only');\n"
        "END;\n"
    )
    assert len(Migration(1, "t", sql).statements()) == 2


async def test_moments_written_before_the_one_format_get_milliseconds(db):
    from bot.clock import stamp, unstamp

    before = next(m.version for m in MIGRATIONS if m.name == "one_time_format") - 1
    await db.migrate(tuple(m for m in MIGRATIONS if m.version <= before))
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO schools (name, created_at) VALUES ('希望小学', '2026-03-02T08:00:00+00:00')")
        await conn.execute("INSERT INTO people (display_name, created_at) VALUES ('x', '2026-03-02T08:00:00.250+00:00')")
    await db.migrate()
    [school] = await db.fetch_all("SELECT created_at FROM schools")
    [person] = await db.fetch_all("SELECT created_at FROM people")
    assert school[0] == "2026-03-02T08:00:00.000+00:00" == stamp(unstamp(school[0]))
    assert person[0] == "2026-03-02T08:00:00.250+00:00"  # already in the one format: untouched
