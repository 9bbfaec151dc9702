"""Backups that restore (issue 17, part C): a sealed snapshot of the database and the media, checked whole before a
restore puts it into an empty data folder; a backup from a newer schema is refused; erasures made after a backup are
made again, so a restore cannot bring an erased child back. The file modes are owner-only under umask 022."""

from __future__ import annotations

import base64
import os
import stat
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.__main__ import _restore
from bot.clock import FixedClock, stamp
from bot.i18n import translator
from bot.safekeeping import crypto
from bot.safekeeping.backup import (ERASURE_LOG, BackupRefused, DailyBackups, Tombstone, read_erasures,
                                    restore_backup, take_backup, to_prune)
from bot.services import open_services
from bot.settings import Settings
from storage.db import connect
from storage.migrations import MIGRATIONS
from tests.helpers import BOT_TOKEN
from tests.world import World

KEY = crypto.parse_key(crypto.generate_key())
KNOWN = MIGRATIONS[-1].version
ZONE = Settings(token=BOT_TOKEN).tz


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def keyed(folder: Path, backups: Path | None = None) -> Settings:
    return Settings(token=BOT_TOKEN, database_path=str(folder / "bot.sqlite3"), poll_timeout=1, data_key=KEY,
                    backup_dir=str(backups or folder / "backups"))


@pytest.fixture
async def school(tmp_path, clock):
    """The seeded school in a keyed database, with two stored media files (one child's) and one of another child."""
    settings = keyed(tmp_path / "data", tmp_path / "drive")
    services = await open_services(settings, clock)
    world = await World.seeded(services)
    for child, name, body in (("ming", "1.jpg", b"\xff\xd8photo of ming" * 100), ("lan", "2.ogg", b"OggS voice"),
                              ("lan", "3.jpg", os.urandom(200_000))):
        folder = settings.media_dir / str(world.children[child])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(crypto.seal(body, KEY))
    yield settings, services, world
    await services.db.close()


def tables(settings: Settings) -> dict[str, list[tuple]]:
    """Every table's rows, in a stable order."""
    conn = connect(settings.database_path, settings.data_key)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {name: sorted(map(tuple, conn.execute(f'SELECT * FROM "{name}"')), key=repr) for name in names}
    finally:
        conn.close()


def media(settings: Settings) -> dict[str, bytes]:
    root = settings.media_dir
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def owner_only(*roots: Path) -> dict[str, str]:
    """Whatever under these paths anyone but the owner may touch (empty when all is owner-only)."""
    wide = {}
    for root in roots:
        for item in [root, *root.rglob("*")] if root.is_dir() else [root]:
            expected = 0o700 if item.is_dir() else 0o600
            if mode(item) != expected:
                wide[str(item)] = oct(mode(item))
    return wide


def backup(settings: Settings, when: datetime | None = None):
    return take_backup(Path(settings.database_path), settings.media_dir, settings.backups, settings.data_key,
                       when or datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc), settings.tz)


async def test_a_restore_into_an_empty_folder_gives_the_same_rows_and_media(school, tmp_path, umask022, capsys):
    settings, services, world = school
    before_rows, before_media = tables(settings), media(settings)
    made = backup(settings)
    assert made.path.parent == settings.backups and made.path.name == "qinqing-20260302-160000.qqb"
    assert made.media == 3 and made.schema == KNOWN
    assert owner_only(settings.backups) == {}
    # The file is sealed whole: no child's name, no media byte, not even the database's pages in the clear.
    raw = made.path.read_bytes()
    assert crypto.is_sealed(raw) and world.canary("ming", "name").value.encode() not in raw
    assert b"photo of ming" not in raw and b"SQLite format 3" not in raw

    elsewhere = keyed(tmp_path / "restored", tmp_path / "drive")
    assert await _restore(elsewhere, translator("en"), str(made.path), None) == 0
    out = capsys.readouterr().out
    assert "Restored the backup taken 2026-03-02 16:00 (schema %d): the database and 3 media files" % KNOWN in out
    assert "Erasures made after this backup, made again: 0." in out
    assert tables(elsewhere) == before_rows
    assert media(elsewhere) == before_media
    assert owner_only(tmp_path / "restored") == {}
    # A second restore into the same folder is refused: it is not empty any more.
    with pytest.raises(BackupRefused) as refused:
        restore_backup(made.path, Path(elsewhere.database_path), elsewhere.media_dir, KEY, KNOWN)
    assert refused.value.reason == "not_empty"


async def test_a_backup_from_a_newer_schema_is_refused_and_nothing_is_restored(school, tmp_path, capsys):
    settings, services, _world = school
    await services.db.write(f"PRAGMA user_version = {KNOWN + 1}")
    made = backup(settings)
    elsewhere = keyed(tmp_path / "restored")
    assert await _restore(elsewhere, translator("en"), str(made.path), None) == 3
    assert capsys.readouterr().err.strip() == (
        f"{made.path} comes from a newer version of Qinqing Bridge (schema {KNOWN + 1}, this version knows {KNOWN}): "
        "nothing was restored. Update the program first.")
    assert not Path(elsewhere.database_path).exists() and not elsewhere.media_dir.exists()
    assert [p.name for p in (tmp_path / "restored").iterdir()] == []  # the unsealed copy went too


async def test_a_damaged_or_foreign_file_is_refused_whole(school, tmp_path):
    settings, _services, _world = school
    made = backup(settings)
    target = tmp_path / "restored"
    data = bytearray(made.path.read_bytes())
    cases = {"damaged": bytes(data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:]),
             "not_sealed": b"not a backup at all\n" * 10}
    cut = bytes(data[:-crypto.CHUNK // 2])  # cut inside the last chunk
    cases["damaged_cut"] = cut
    for reason, content in cases.items():
        path = tmp_path / f"{reason}.qqb"
        path.write_bytes(content)
        with pytest.raises(BackupRefused) as refused:
            restore_backup(path, target / "bot.sqlite3", target / "media", KEY, KNOWN)
        assert refused.value.reason == reason.split("_cut")[0]
        assert list(target.iterdir()) == []
    with pytest.raises(BackupRefused) as refused:
        restore_backup(made.path, target / "bot.sqlite3", target / "media", crypto.parse_key(crypto.generate_key()),
                       KNOWN)
    assert refused.value.reason == "other_key"


async def test_a_restore_after_an_erasure_does_not_bring_the_child_back(school, tmp_path, clock, capsys):
    settings, services, world = school
    made = backup(settings)
    lan = world.children["lan"]
    clock.advance(timedelta(hours=2))
    request_id = await services.privacy.request_deletion(await world.actor("grandfather"), lan)
    assert (await services.privacy.decide(await world.actor("admin"), request_id, erase=True)).erased
    # The tombstone (id and time only) in the database, and in the log beside the backups.
    erased_at = stamp(clock.now())
    assert list(map(tuple, await services.db.fetch_all("SELECT * FROM erasures"))) == [(lan, erased_at)]
    assert read_erasures(settings.backups) == [Tombstone(lan, erased_at)]
    assert (settings.backups / ERASURE_LOG).read_text() == f"{erased_at} {lan}\n"
    assert mode(settings.backups / ERASURE_LOG) == 0o600
    after_erasure = tables(settings)

    # The machine is lost: the backup from before the erasure is restored elsewhere, with the drive's log.
    elsewhere = keyed(tmp_path / "new-machine", settings.backups)
    assert await _restore(elsewhere, translator("en"), str(made.path), None) == 0
    assert "Erasures made after this backup, made again: 1." in capsys.readouterr().out
    restored = tables(elsewhere)
    assert [r for r in restored["children"] if r[0] == lan] == []
    assert [r for r in restored["child_fields"] if r[0] == lan] == []
    assert {p.split("/")[0] for p in media(elsewhere)} == {str(world.children["ming"])}
    assert restored["erasures"] == [(lan, erased_at)]
    for name in ("children", "child_fields", "consents", "people"):
        assert restored[name] == after_erasure[name], name
    raw = b"".join(p.read_bytes() for p in Path(elsewhere.database_path).parent.glob("bot.sqlite3*"))
    assert world.canary("lan", "name").value.encode() not in raw  # nor in the clear (the pages are keyed anyway)


async def test_a_tombstone_does_not_erase_a_later_child_given_the_same_id(school, clock):
    settings, services, world = school
    ming = world.children["ming"]
    created = (await services.db.fetch_one("SELECT created_at FROM children WHERE id = ?", (ming,)))[0]
    before = stamp(datetime.fromisoformat(created) - timedelta(days=1))
    assert await services.privacy.reapply([Tombstone(ming, before)], after="") == []
    assert await services.db.fetch_one("SELECT id FROM children WHERE id = ?", (ming,)) is not None


def test_retention_keeps_seven_daily_and_four_weekly():
    start = datetime(2026, 1, 1, 2, 0)
    names = [Path(f"qinqing-{start + timedelta(days=d, hours=h):%Y%m%d-%H%M%S}.qqb")
             for d in range(60) for h in (0, 9)]
    newest_first = sorted(names, key=lambda p: p.name, reverse=True)
    kept = [p.name for p in newest_first if p not in to_prune(newest_first)]
    # The newest of each of the last 7 days (the morning's backups go), and of the 4 latest ISO weeks: 1 March is
    # a Sunday, the newest of its week; then the Sundays of the three weeks before.
    assert kept == ["qinqing-20260301-110000.qqb"] + [
        f"qinqing-202602{d:02d}-110000.qqb" for d in (28, 27, 26, 25, 24, 23, 22, 15, 8)]


async def test_the_daily_backup_runs_once_a_day_across_restarts(school, tmp_path):
    settings, _services, _world = school
    clock = FixedClock(datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc))  # 23:00 in Shanghai

    def daily():
        return DailyBackups(Path(settings.database_path), settings.media_dir, settings.backups, KEY, clock, ZONE)

    job = daily()
    assert await job.run_due() == 1
    await job.wait()
    assert [p.name for p in settings.backups.glob("*.qqb")] == ["qinqing-20260302-230000.qqb"]
    assert await job.run_due() == 0
    clock.advance(timedelta(minutes=30))  # 23:30: the same school day, and a restart
    assert await daily().run_due() == 0
    clock.advance(timedelta(minutes=31))  # 00:01 the next day
    restarted = daily()
    assert await restarted.run_due() == 1
    await restarted.wait()
    assert len(list(settings.backups.glob("*.qqb"))) == 2


async def test_without_a_key_there_is_no_backup(school, caplog):
    settings, services, _world = school
    with pytest.raises(BackupRefused) as refused:
        take_backup(Path(settings.database_path), settings.media_dir, settings.backups, None,
                    datetime.now(timezone.utc), ZONE)
    assert refused.value.reason == "no_key"
    job = DailyBackups(Path(settings.database_path), settings.media_dir, settings.backups, None, services.clock,
                       ZONE)
    assert await job.run_due() == 0 and await job.run_due() == 0
    assert [r.message for r in caplog.records if "no daily backups" in r.message] == [
        "no daily backups: DATA_KEY is not set (backups are always encrypted)"]
    assert not list(settings.backups.glob("*.qqb"))


async def test_restore_needs_a_key(tmp_path, capsys):
    settings = replace(keyed(tmp_path), data_key=None)
    assert await _restore(settings, translator("en"), str(tmp_path / "x.qqb"), None) == 2
    assert "Restoring needs the key the backup was made with" in capsys.readouterr().err


async def test_a_backup_from_before_a_key_rotation_restores_onto_the_current_key(school, tmp_path, capsys):
    settings, _services, _world = school
    made = backup(settings)
    expected_media = {rel: crypto.unseal(data, KEY) for rel, data in media(settings).items()}
    current = crypto.parse_key(crypto.generate_key())  # DATA_KEY after a rotation; the backup has the old key
    target = replace(keyed(tmp_path / "new"), data_key=current)
    text_old = base64.urlsafe_b64encode(KEY).decode()
    assert await _restore(target, translator("en"), str(made.path), text_old) == 0
    assert "now encrypted with DATA_KEY" in capsys.readouterr().out
    assert tables(target)["children"] == tables(settings)["children"]  # opened with the current key
    assert {rel: crypto.unseal(data, current) for rel, data in media(target).items()} == expected_media


async def test_the_backup_line_counts_media_in_the_readers_grammar(tmp_path, clock, capsys):
    from bot.__main__ import _backup

    settings = keyed(tmp_path / "data")
    services = await open_services(settings, clock)
    await services.db.close()
    (settings.media_dir / "1").mkdir(parents=True)
    (settings.media_dir / "1" / "1.jpg").write_bytes(crypto.seal(b"a photo", KEY))
    assert _backup(settings, translator("en")) == 0
    assert "the database and 1 media file, encrypted." in capsys.readouterr().out
