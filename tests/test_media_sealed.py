"""Care media sealed at rest: with DATA_KEY a stored photo holds none of its plaintext on disk and reads back
intact through MediaStore.read; folders and files are owner-only whatever the umask; files stored before a key
was set are read as they are and sealed by reseal, which also moves every file from one key to another."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from types import SimpleNamespace

import pytest

from bot.clock import SystemClock
from bot.musts.media import OtherKeys, MediaStore, fetch_pending
from bot.runtime.runner import fetch_media_job
from bot.runtime.telegram import TelegramFetcher
from bot.safekeeping import crypto
from bot.services import open_services
from tests.world import add_care_media

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
]

KEY = crypto.parse_key(crypto.generate_key())
OTHER = crypto.parse_key(crypto.generate_key())
# Bytes that cannot be confused with the sealed format's own: a JPEG start, then a pattern with no repeats.
PHOTO = b"\xff\xd8\xff\xe0 JFIF " + bytes((i * 7 + i // 256) % 256 for i in range(8192)) + "小明在运动会".encode()


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leaks(plain: bytes, stored: bytes, window: int = 16) -> bool:
    """Whether any `window` bytes of the plaintext appear in the stored file."""
    return any(plain[i:i + window] in stored for i in range(0, len(plain) - window + 1))


@pytest.fixture
def wide_umask():
    """The umask of a typical shell (022): what the bot must not rely on."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def put_plain(store: MediaStore, rel: str, data: bytes) -> None:
    """A file as stored before a key was set."""
    MediaStore(store.root).put(rel, data)


# == sealed on disk ===========================================================================================

async def test_with_a_key_a_fetched_photo_holds_none_of_its_plaintext_and_reads_back_intact(sb, bot, db, tmp_path,
                                                                                          wide_umask):
    store = MediaStore(tmp_path / "media", KEY)
    li = sb.user(1001, "Li")
    await li.start()
    photo = await li.send_photo(PHOTO)
    media_id = await add_care_media(db, 12, "photo", photo["photo"][-1]["file_id"])

    assert await fetch_pending(db, store, TelegramFetcher(bot)) == 1

    rel = (await db.fetch_one("SELECT stored_path FROM care_media WHERE id = ?", (media_id,)))["stored_path"]
    on_disk = store.absolute(rel).read_bytes()
    assert crypto.is_sealed(on_disk)
    assert not leaks(PHOTO, on_disk)
    assert store.read(rel) == PHOTO
    # Owner-only under a 022 umask: the media root, the child's folder and the file.
    assert (mode(store.root), mode(store.root / "12"), mode(store.absolute(rel))) == (0o700, 0o700, 0o600)
    assert [p.name for p in (store.root / "12").iterdir()] == [f"{media_id}.jpg"]  # no temporary file left


async def test_without_a_key_a_photo_is_stored_as_sent_and_still_owner_only(tmp_path, wide_umask):
    store = MediaStore(tmp_path / "media")
    store.put("12/1.jpg", PHOTO)
    assert store.absolute("12/1.jpg").read_bytes() == PHOTO
    assert store.read("12/1.jpg") == PHOTO
    assert (mode(store.root), mode(store.root / "12"), mode(store.absolute("12/1.jpg"))) == (0o700, 0o700, 0o600)


async def test_the_running_configuration_seals_what_the_fetch_job_stores(settings, clock, tmp_path):
    services = await open_services(replace(settings, data_key=KEY), clock)
    try:
        assert services.media.key == KEY
        media_id = await add_care_media(services.db, 12, "photo", "a-photo")

        class Fixed:
            async def fetch(self, file_id: str) -> bytes:
                return PHOTO

        await fetch_media_job(SimpleNamespace(services=services, job=SimpleNamespace(data=Fixed())))
    finally:
        await services.db.close()

    stored = settings.media_dir / "12" / f"{media_id}.jpg"
    assert not leaks(PHOTO, stored.read_bytes())
    assert MediaStore(settings.media_dir, KEY).read(f"12/{media_id}.jpg") == PHOTO


def test_a_sealed_file_is_not_read_without_its_key_nor_when_changed(tmp_path):
    store = MediaStore(tmp_path / "media", KEY)
    store.put("12/1.jpg", PHOTO)

    for other in (MediaStore(store.root), MediaStore(store.root, OTHER)):
        with pytest.raises(crypto.Unreadable) as refused:
            other.read("12/1.jpg")
        assert refused.value.reason == "other_key"

    path = store.absolute("12/1.jpg")
    changed = bytearray(path.read_bytes())
    changed[100] ^= 1
    path.write_bytes(bytes(changed))
    with pytest.raises(crypto.Unreadable) as refused:
        store.read("12/1.jpg")
    assert refused.value.reason == "damaged"


def test_a_file_from_before_the_key_is_read_as_it_is(tmp_path):
    store = MediaStore(tmp_path / "media", KEY)
    put_plain(store, "12/1.jpg", PHOTO)
    assert store.read("12/1.jpg") == PHOTO


# == reseal ===================================================================================================

def test_reseal_seals_the_files_stored_before_a_key(tmp_path, wide_umask):
    plain = MediaStore(tmp_path / "media")
    plain.put("12/1.jpg", PHOTO)
    plain.put("12/2.ogg", b"OggS a voice note")
    plain.put("13/3.jpg", b"\xff\xd8 another")

    done = plain.reseal(None, KEY)

    assert (done.changed, done.already, done.damaged) == (3, 0, [])
    sealed = MediaStore(plain.root, KEY)
    assert sealed.read("12/1.jpg") == PHOTO
    assert sealed.read("12/2.ogg") == b"OggS a voice note"
    assert sealed.read("13/3.jpg") == b"\xff\xd8 another"
    assert not leaks(PHOTO, sealed.absolute("12/1.jpg").read_bytes())
    assert all(mode(p) == (0o700 if p.is_dir() else 0o600) for p in plain.root.rglob("*"))
    assert sorted(p.name for p in plain.root.rglob("*") if p.is_file()) == ["1.jpg", "2.ogg", "3.jpg"]


def test_reseal_moves_every_file_from_one_key_to_another(tmp_path):
    old = MediaStore(tmp_path / "media", KEY)
    old.put("12/1.jpg", PHOTO)
    old.put("12/2.ogg", b"OggS a voice note")
    put_plain(old, "13/3.jpg", b"\xff\xd8 from before any key")

    done = old.reseal(KEY, OTHER)

    assert (done.changed, done.already, done.damaged) == (3, 0, [])
    new = MediaStore(old.root, OTHER)
    assert [new.read(r) for r in ("12/1.jpg", "12/2.ogg", "13/3.jpg")] == [
        PHOTO, b"OggS a voice note", b"\xff\xd8 from before any key"]
    with pytest.raises(crypto.Unreadable):
        old.read("12/1.jpg")  # the old key opens nothing any more


def test_a_reseal_run_again_after_an_interruption_finishes_the_work(tmp_path):
    """A rotation that stopped half way leaves files under both keys: running it again finishes it."""
    old = MediaStore(tmp_path / "media", KEY)
    old.put("12/1.jpg", PHOTO)
    MediaStore(old.root, OTHER).put("12/2.jpg", b"already moved")
    (old.root / "12" / ".3.jpg.0a1b2c3d.part").write_bytes(b"half a write")

    done = old.reseal(KEY, OTHER)

    assert (done.changed, done.already) == (1, 1)
    new = MediaStore(old.root, OTHER)
    assert (new.read("12/1.jpg"), new.read("12/2.jpg")) == (PHOTO, b"already moved")
    assert sorted(p.name for p in (old.root / "12").iterdir()) == ["1.jpg", "2.jpg"]  # the leftover is gone


def test_reseal_refuses_before_changing_anything_when_a_file_is_under_a_third_key(tmp_path):
    store = MediaStore(tmp_path / "media", KEY)
    store.put("12/1.jpg", PHOTO)
    third = crypto.parse_key(crypto.generate_key())
    MediaStore(store.root, third).put("13/2.jpg", b"under a lost key")
    before = {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()}
    assert (store.under_other_keys(KEY, OTHER), store.under_other_keys(third, OTHER)) == (1, 1)
    assert store.under_other_keys(KEY, third) == 0

    with pytest.raises(OtherKeys) as refused:
        store.reseal(KEY, OTHER)

    assert refused.value.count == 1
    assert {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()} == before


def test_a_damaged_file_is_reported_and_the_others_are_resealed(tmp_path):
    store = MediaStore(tmp_path / "media", KEY)
    store.put("12/1.jpg", PHOTO)
    store.put("12/2.jpg", b"a second photo")
    damaged = store.absolute("12/2.jpg")
    damaged.write_bytes(damaged.read_bytes()[:-1])  # cut short

    done = store.reseal(KEY, OTHER)

    assert (done.changed, done.damaged) == (1, ["12/2.jpg"])
    assert MediaStore(store.root, OTHER).read("12/1.jpg") == PHOTO


def test_reseal_to_no_key_writes_the_files_back_as_sent(tmp_path):
    store = MediaStore(tmp_path / "media", KEY)
    store.put("12/1.jpg", PHOTO)

    assert store.reseal(KEY, None).changed == 1
    assert store.absolute("12/1.jpg").read_bytes() == PHOTO


def test_reseal_of_an_empty_or_missing_folder_does_nothing(tmp_path):
    done = MediaStore(tmp_path / "no-media-yet").reseal(None, KEY)
    assert (done.changed, done.already, done.damaged) == (0, 0, [])
    assert not (tmp_path / "no-media-yet").exists()


async def test_services_without_a_key_keep_media_as_today(settings):
    services = await open_services(settings, SystemClock())
    try:
        assert services.media.key is None
    finally:
        await services.db.close()
