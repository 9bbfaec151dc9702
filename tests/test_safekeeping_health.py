"""The database's health at start (bot.safekeeping.health): what is wrong with a file that cannot be used is told
apart, the file is never touched, and the data folder is made owner-only with one warning line."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from bot.i18n import translator
from bot.safekeeping import crypto
from bot.safekeeping.health import Problem, check_database, explain, tighten_data, tighten_env
from bot.settings import Settings
from storage.db import Database
from tests.helpers import BOT_TOKEN

KEY = crypto.parse_key(crypto.generate_key())


async def _database(path: Path, key: bytes | None = None) -> Path:
    db = await Database.open(path, key)
    await db.migrate()
    await db.write("INSERT INTO townships (name, created_at) VALUES ('青山镇', '2026-03-02T08:00:00.000+00:00')")
    await db.close()
    return path


def _damage(path: Path, page: int = 3) -> None:
    with path.open("r+b") as handle:
        handle.seek(4096 * page)
        handle.write(os.urandom(4096))


def _fingerprint(path: Path) -> tuple[str, list[str]]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in path.parent.iterdir())


def _reason(path, key):
    problem = check_database(path, key)
    return problem.reason if problem else None


async def test_a_healthy_database_passes_with_and_without_a_key(tmp_path):
    assert _reason(await _database(tmp_path / "plain.sqlite3"), None) is None
    assert _reason(await _database(tmp_path / "keyed.sqlite3", KEY), KEY) is None
    assert _reason(tmp_path / "missing.sqlite3", None) is None  # created at the first start
    (tmp_path / "empty.sqlite3").touch()
    assert _reason(tmp_path / "empty.sqlite3", KEY) is None


async def test_each_kind_of_unusable_file_is_told_apart(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("DATABASE_PATH pointed here by mistake\n" * 200)
    assert _reason(text, None) == "not_database"
    assert _reason(text, KEY) == "not_database"
    assert _reason(tmp_path, None) == "not_database"  # a folder

    plain = await _database(tmp_path / "plain.sqlite3")
    assert _reason(plain, KEY) == "plaintext_with_key"

    keyed = await _database(tmp_path / "keyed.sqlite3", KEY)
    assert _reason(keyed, None) == "encrypted_without_key"
    assert _reason(keyed, crypto.parse_key(crypto.generate_key())) == "wrong_key"


@pytest.mark.parametrize("key", [None, KEY], ids=["plaintext", "keyed"])
async def test_a_corrupt_page_is_damage_and_the_file_is_left_as_it_was(tmp_path, key):
    path = await _database(tmp_path / "bot.sqlite3", key)
    _damage(path)
    before = _fingerprint(path)
    assert _reason(path, key) == "damaged"
    assert _fingerprint(path) == before  # not a byte changed, no side file made beside it


async def test_the_check_reads_a_database_a_running_bot_has_open(tmp_path):
    db = await Database.open(tmp_path / "bot.sqlite3", KEY)
    try:
        await db.migrate()
        assert _reason(tmp_path / "bot.sqlite3", KEY) is None
    finally:
        await db.close()


async def test_opening_a_text_file_fails_and_leaves_no_thread_behind(tmp_path):
    """aiosqlite's worker thread is not a daemon: left open, the process never exits (the hang of the issue)."""
    text = tmp_path / "bot.sqlite3"
    text.write_text("not a database\n")
    before = set(threading.enumerate())
    with pytest.raises(sqlite3.DatabaseError):
        await Database.open(text)
    for thread in set(threading.enumerate()) - before:
        if not thread.daemon:
            thread.join(timeout=5)  # ends once its connection is closed; a left-open one would wait forever
            assert not thread.is_alive(), thread


def test_every_problem_has_its_own_translated_line_naming_the_way_back():
    _ = translator("zh_CN").gettext
    lines = {reason: explain(Problem(reason, "/srv/qq/bot.sqlite3"), _)
             for reason in ("not_database", "plaintext_with_key", "encrypted_without_key", "wrong_key", "damaged",
                            "unreadable", "busy")}
    assert len(set(lines.values())) == len(lines)
    for reason, line in lines.items():
        assert "\n" not in line and "/srv/qq/bot.sqlite3" in line
        assert any("\u4e00" <= ch <= "\u9fff" for ch in line), reason  # translated, not the English msgid
    for reason in ("not_database", "encrypted_without_key", "wrong_key", "damaged"):
        assert "python -m bot restore" in lines[reason]


async def test_wide_data_files_are_made_owner_only_with_one_warning(tmp_path, caplog):
    settings = Settings(token=BOT_TOKEN, database_path=str(tmp_path / "data" / "bot.sqlite3"))
    old = os.umask(0o022)
    try:
        await _database(Path(settings.database_path))
        sides = [Path(settings.database_path + side) for side in ("-wal", "-shm")]
        for side in sides:
            side.touch()
        photo = settings.media_dir / "3" / "1.jpg"
        photo.parent.mkdir(parents=True)
        photo.write_bytes(b"jpeg")
        settings.backups.mkdir()
        for path in (Path(settings.database_path), *sides, photo):
            path.chmod(0o644)
    finally:
        os.umask(old)
    with caplog.at_level(logging.WARNING, logger="bot.safekeeping.health"):
        assert tighten_data(settings) == 7  # the database, 2 side files, media, its folder, the photo, backups
        assert tighten_data(settings) == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.safekeeping.health"]
    assert len(warnings) == 1 and warnings[0].startswith("7 ") and "1.jpg" not in warnings[0]
    for path in (Path(settings.database_path), *sides, photo):
        assert path.stat().st_mode & 0o777 == 0o600, path
    for folder in (settings.media_dir, photo.parent, settings.backups):
        assert folder.stat().st_mode & 0o777 == 0o700, folder
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o755  # the folder around them is the operator's


def test_a_world_readable_env_file_is_made_owner_only_with_a_warning(tmp_path, caplog):
    env = tmp_path / ".env"
    env.write_text("TELEGRAM_BOT_TOKEN=1:x\nDATA_KEY=k\n")
    env.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="bot.safekeeping.health"):
        assert tighten_env(env) is True
        assert tighten_env(env) is False
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert [r.getMessage()[:5] for r in caplog.records if r.name == "bot.safekeeping.health"] == [".env "]
    assert tighten_env(tmp_path / "none") is False  # no .env (settings from the environment): nothing to do
