"""Rotating the deployment's key (bot.safekeeping.keys.rotate): from no key (the database encrypted the first time,
through sqlcipher_export and an atomic replace) and from a key to another (PRAGMA rekey), every row kept; the media
re-sealed; a running bot (an open connection) refused with nothing changed; an interrupted rotation finished by
running it again."""

from __future__ import annotations

import pytest

from bot.access.policy import TEACHER
from bot.clock import FixedClock
from bot.musts.media import MediaStore
from bot.safekeeping import crypto
from bot.safekeeping.health import check_database
from bot.safekeeping.keys import CannotRotate, keygen, rotate
from bot.services import open_services
from bot.settings import Settings
from storage.db import Database, InUse, connect
from tests.helpers import BOT_TOKEN
from tests.world import World

NAME = "王小明"
PHOTO = b"\xff\xd8\xff\xe0 a photo of " + NAME.encode()


async def _school(settings: Settings, clock) -> None:
    services = await open_services(settings, clock)
    try:
        world = await World.build(services)
        await world.child(NAME, guardian_phone="13800138000")
        await world.person("李老师", TEACHER, klass="三年级一班")
    finally:
        await services.db.close()
    MediaStore(settings.media_dir, settings.data_key).put("1/1.jpg", PHOTO)


def _dump(path: str, key: bytes | None) -> dict[str, list[tuple]]:
    """Every table's rows, and the schema's number: what a rotation must keep."""
    conn = connect(path, key)
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                 "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        dump = {table: sorted(map(tuple, conn.execute(f'SELECT * FROM "{table}"')), key=repr) for table in tables}
        dump["user_version"] = conn.execute("PRAGMA user_version").fetchall()
        return dump
    finally:
        conn.close()


@pytest.fixture
def clock():
    from datetime import datetime, timezone

    return FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))


def _settings(tmp_path, key: bytes | None) -> Settings:
    return Settings(token=BOT_TOKEN, database_path=str(tmp_path / "data" / "bot.sqlite3"), data_key=key)


async def test_rotating_from_no_key_encrypts_everything_and_keeps_every_row(tmp_path, clock):
    settings = _settings(tmp_path, None)
    await _school(settings, clock)
    before = _dump(settings.database_path, None)
    assert before["child_fields"] and NAME.encode() in (tmp_path / "data" / "bot.sqlite3").read_bytes()

    key_text = keygen()
    done = rotate(settings.database_path, settings.media_dir, None, key_text)
    key = crypto.parse_key(key_text)

    assert done.database == "encrypted" and done.media_changed == 1
    assert _dump(settings.database_path, key) == before
    on_disk = (tmp_path / "data" / "bot.sqlite3").read_bytes()
    assert NAME.encode() not in on_disk and "13800138000".encode() not in on_disk
    assert check_database(settings.database_path, None).reason == "encrypted_without_key"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["bot.sqlite3", "media"]  # no copy left behind
    assert (tmp_path / "data" / "bot.sqlite3").stat().st_mode & 0o777 == 0o600
    photo = settings.media_dir / "1" / "1.jpg"
    assert crypto.is_sealed(photo.read_bytes()) and NAME.encode() not in photo.read_bytes()
    assert MediaStore(settings.media_dir, key).read("1/1.jpg") == PHOTO

    # The bot starts on it with the new key, and the schema is as it was.
    services = await open_services(_settings(tmp_path, key), clock)
    try:
        assert (await services.db.fetch_one("SELECT value FROM child_fields WHERE field = 'name'"))[0] == NAME
    finally:
        await services.db.close()


async def test_rotating_from_a_key_to_another_keeps_every_row_and_retires_the_old_key(tmp_path, clock):
    old = crypto.parse_key(keygen())
    settings = _settings(tmp_path, old)
    await _school(settings, clock)
    before = _dump(settings.database_path, old)

    new_text = keygen()
    done = rotate(settings.database_path, settings.media_dir, old, new_text)
    new = crypto.parse_key(new_text)

    assert done.database == "rekeyed" and done.media_changed == 1
    assert _dump(settings.database_path, new) == before
    assert check_database(settings.database_path, old).reason == "wrong_key"
    assert NAME.encode() not in (tmp_path / "data" / "bot.sqlite3").read_bytes()
    with pytest.raises(crypto.Unreadable):
        MediaStore(settings.media_dir, old).read("1/1.jpg")
    assert MediaStore(settings.media_dir, new).read("1/1.jpg") == PHOTO


async def test_a_running_bot_is_refused_and_nothing_changes(tmp_path, clock):
    settings = _settings(tmp_path, None)
    await _school(settings, clock)
    photo = (settings.media_dir / "1" / "1.jpg").read_bytes()
    db = await Database.open(settings.database_path)  # the bot, running
    try:
        with pytest.raises(InUse):
            rotate(settings.database_path, settings.media_dir, None, keygen())
    finally:
        await db.close()
    assert check_database(settings.database_path, None) is None
    assert (settings.media_dir / "1" / "1.jpg").read_bytes() == photo


async def test_a_rotation_run_again_with_the_same_new_key_finishes_it(tmp_path, clock):
    old = crypto.parse_key(keygen())
    settings = _settings(tmp_path, old)
    await _school(settings, clock)
    before = _dump(settings.database_path, old)
    new_text = keygen()
    rotate(settings.database_path, settings.media_dir, old, new_text)
    # As after a power cut between the two steps: the operator runs it again, .env still holding the old key.
    again = rotate(settings.database_path, settings.media_dir, old, new_text)
    assert again.database == "already" and again.media_already == 1 and again.media_changed == 0
    assert _dump(settings.database_path, crypto.parse_key(new_text)) == before


async def test_a_file_that_is_no_database_is_not_rotated(tmp_path):
    settings = _settings(tmp_path, None)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bot.sqlite3").write_text("not a database\n")
    with pytest.raises(CannotRotate) as refused:
        rotate(settings.database_path, settings.media_dir, None, keygen())
    assert refused.value.problem.reason == "not_database"
    assert (tmp_path / "data" / "bot.sqlite3").read_text() == "not a database\n"


async def test_media_under_a_third_key_stop_the_rotation_before_the_database_is_touched(tmp_path, clock):
    from bot.musts.media import OtherKeys

    old = crypto.parse_key(keygen())
    settings = _settings(tmp_path, old)
    await _school(settings, clock)
    MediaStore(settings.media_dir, crypto.parse_key(keygen())).put("1/2.jpg", PHOTO)  # a stranger's key
    before = (tmp_path / "data" / "bot.sqlite3").read_bytes()
    with pytest.raises(OtherKeys):
        rotate(settings.database_path, settings.media_dir, old, keygen())
    assert (tmp_path / "data" / "bot.sqlite3").read_bytes() == before
    assert check_database(tmp_path / "data" / "bot.sqlite3", old) is None
