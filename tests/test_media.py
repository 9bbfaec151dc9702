"""Photos and voice notes: the outbox sends them by file_id (alone or as an album) through the real transport, and
fetch_pending keeps a copy under the data directory, downloaded from the offline sandbox (no network)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import pytest
from telegram import File

from bot.services import open_services
from bot.clock import SystemClock
from bot.musts.media import MAX_DOWNLOAD_BYTES, MAX_FETCH_ATTEMPTS, MediaStore, TooLarge, fetch_pending
from bot.runtime.runner import fetch_media_job, run_bot
from bot.runtime.sender import Limits, Rates, Rejected, Unreachable
from bot.settings import Settings
from bot.runtime.telegram import SharedRateLimiter, TelegramFetcher, TelegramTransport
from storage.db import Database
from storage.outbox import OutboxRow
from tests.world import add_care_media

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    # The intake calls getUpdates through do_api_request on purpose (see bot.runtime.runner).
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
]
NOW = "2026-03-02T08:00:00+00:00"


@pytest.fixture
async def li(sb):
    user = sb.user(1001, "Li")
    await user.start()
    return user


@pytest.fixture
def store(tmp_path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def outbox_row(kind: str, recipient: int, payload: dict) -> OutboxRow:
    return OutboxRow(1, "telegram", str(recipient), None, kind, payload, False, 0, NOW, None, None)


def photo_id(message: dict) -> str:
    return message["photo"][-1]["file_id"]


# == sending ==================================================================================================

async def test_an_album_goes_out_as_one_media_group_and_returns_its_first_message(sb, bot, li):
    mother = sb.user(1002, "Mother")
    await mother.start()
    photos = [photo_id(m) for m in await li.send_album(3)]
    keep = await mother.send_text("收到")

    sent_id = await TelegramTransport(bot).send(outbox_row("media_group", mother.id, {
        "media": [{"type": "photo", "file_id": f} for f in photos], "caption": "运动会", "protect": True,
        "reply_to": str(keep["message_id"])}))

    album = mother.messages
    assert [m.kind for m in album] == ["media_group_item"] * 3
    assert sent_id == str(album[0].message_id)
    assert len({m.media_group_id for m in album}) == 1
    assert [m.file_id for m in album] == photos  # the very files Li sent, not new uploads
    assert [m.message.get("caption") for m in album] == ["运动会", None, None]
    assert all(m.protect_content and m.reply_to_message_id == keep["message_id"] for m in album)


async def test_a_photo_and_a_voice_note_go_out_by_file_id(sb, bot, li):
    photo = await li.send_photo(b"jpeg bytes")
    voice = await li.send_voice(b"ogg bytes")
    transport = TelegramTransport(bot)

    photo_sent = await transport.send(outbox_row("media", li.id, {
        "type": "photo", "file_id": photo_id(photo), "caption": "今天的作业",
        "reply_markup": {"inline_keyboard": [[{"text": "收到", "callback_data": "ack:1"}]]}}))
    voice_sent = await transport.send(outbox_row("media", li.id, {"type": "voice", "file_id": voice["voice"]["file_id"],
                                                                  "reply_to": photo_sent}))

    first, second = li.messages
    assert (first.kind, first.file_id, first.message["caption"]) == ("photo", photo_id(photo), "今天的作业")
    assert first.buttons == [["收到"]]
    assert (second.kind, second.file_id) == ("voice", voice["voice"]["file_id"])
    assert [photo_sent, voice_sent] == [str(first.message_id), str(second.message_id)]
    assert second.reply_to_message_id == first.message_id


async def test_media_failures_map_like_other_rows(sb, bot, li):
    transport = TelegramTransport(bot)
    voice = await li.send_voice()

    with pytest.raises(Rejected, match="(?i)wrong file identifier"):
        await transport.send(outbox_row("media", li.id, {"type": "photo", "file_id": "no-such-file"}))
    with pytest.raises(Rejected, match="(?i)can't use file of type Voice as Photo"):
        await transport.send(outbox_row("media", li.id, {"type": "photo", "file_id": voice["voice"]["file_id"]}))
    with pytest.raises(Rejected):  # voice notes cannot be in an album: refused before asking Telegram
        await transport.send(outbox_row("media_group", li.id, {"media": [
            {"type": "voice", "file_id": voice["voice"]["file_id"]}] * 2}))
    await li.block()
    with pytest.raises(Unreachable, match="(?i)blocked"):
        await transport.send(outbox_row("media", li.id, {"type": "voice", "file_id": voice["voice"]["file_id"]}))
    assert li.messages == []


async def test_an_album_sent_as_a_reply_draws_one_message_per_item_from_the_chats_bucket():
    limits = Limits(Rates(overall_per_second=1e6, chat_per_second=1, chat_burst=2))
    limiter = SharedRateLimiter(limits)

    async def call() -> bool:
        return True

    await limiter.process_request(call, (), {}, "sendMediaGroup", {"chat_id": 5, "media": ["a", "b", "c"]}, {})
    await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": 6, "text": "x"}, {})
    assert not limits.ready("5")  # three of the burst of two
    assert limits.ready("6")  # one of two


# == the copy under the data directory ========================================================================

async def media_row(db: Database, media_id: int):
    return await db.fetch_one("SELECT stored_path, fetch_attempts, fetch_error FROM care_media WHERE id = ?",
                              (media_id,))


async def test_fetch_pending_stores_what_the_user_sent(sb, bot, li, db, store):
    photo = await li.send_photo(b"\xff\xd8 a photo of the class")
    voice = await li.send_voice(b"OggS a voice note")
    photo_media = await add_care_media(db, 12, "photo", photo_id(photo))
    voice_media = await add_care_media(db, 12, "voice", voice["voice"]["file_id"])

    assert await fetch_pending(db, store, TelegramFetcher(bot)) == 2

    rows = [await media_row(db, m) for m in (photo_media, voice_media)]
    assert [r["stored_path"] for r in rows] == [f"12/{photo_media}.jpg", f"12/{voice_media}.ogg"]
    assert store.absolute(rows[0]["stored_path"]).read_bytes() == b"\xff\xd8 a photo of the class"
    assert store.absolute(rows[1]["stored_path"]).read_bytes() == b"OggS a voice note"
    assert sorted(p.name for p in (store.root / "12").iterdir()) == sorted(
        [f"{photo_media}.jpg", f"{voice_media}.ogg"])  # no temporary file left behind
    assert await fetch_pending(db, store, TelegramFetcher(bot)) == 0  # nothing left to do


async def test_a_failed_fetch_is_counted_by_its_class_name_and_tried_again(sb, bot, li, db, store):
    photo = await li.send_photo(b"photo")
    media_id = await add_care_media(db, 12, "photo", photo_id(photo))
    sb.inject_fault("getFile", status=502)

    now = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
    assert await fetch_pending(db, store, TelegramFetcher(bot), now=now) == 0
    row = await media_row(db, media_id)
    assert (row["stored_path"], row["fetch_attempts"], row["fetch_error"]) == (None, 1, "NetworkError")
    assert not (store.root / "12").exists() or list((store.root / "12").iterdir()) == []

    # It waits a minute before the next try, then succeeds.
    assert await fetch_pending(db, store, TelegramFetcher(bot), now=now + timedelta(seconds=59)) == 0
    assert await fetch_pending(db, store, TelegramFetcher(bot), now=now + timedelta(minutes=1)) == 1
    row = await media_row(db, media_id)
    assert (row["stored_path"], row["fetch_attempts"], row["fetch_error"]) == (f"12/{media_id}.jpg", 1, None)


class Broken:
    """A fetcher that always fails, with a message that must not be stored."""

    def __init__(self) -> None:
        self.calls = 0

    async def fetch(self, file_id: str) -> bytes:
        self.calls += 1
        raise OSError("disk full while writing 李小明's photo")


async def test_fetching_backs_off_and_gives_up_after_its_attempts(db, store):
    media_id = await add_care_media(db, 12, "photo", "some-file")
    fetcher = Broken()
    now = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
    # Every 30 s for a day: the waits double (1, 2, 4 … minutes), so only a dozen tries happen in that time.
    for step in range(2 * 60 * 24):
        await fetch_pending(db, store, fetcher, now=now + timedelta(seconds=30 * step))
    assert 10 <= fetcher.calls < MAX_FETCH_ATTEMPTS
    for day in range(1, 10):
        await fetch_pending(db, store, fetcher, now=now + timedelta(days=day))

    assert fetcher.calls == MAX_FETCH_ATTEMPTS
    row = await media_row(db, media_id)
    assert (row["stored_path"], row["fetch_attempts"], row["fetch_error"]) == (None, MAX_FETCH_ATTEMPTS, "OSError")


async def test_a_file_too_large_to_download_is_refused_at_once(sb, bot, li, db, store):
    big = await li.send_document("video.mp4", b"x" * (MAX_DOWNLOAD_BYTES + 1))
    with pytest.raises(TooLarge):  # Telegram's refusal ("file is too big")
        await TelegramFetcher(bot).fetch(big["document"]["file_id"])
    assert not store.root.exists()

    known = await add_care_media(db, 12, "photo", "a-big-photo", size=MAX_DOWNLOAD_BYTES + 1)
    fetcher = Broken()
    await fetch_pending(db, store, fetcher)
    assert fetcher.calls == 0  # the size in the message was enough to know
    row = await media_row(db, known)
    assert (row["fetch_attempts"], row["fetch_error"]) == (MAX_FETCH_ATTEMPTS, "TooLarge")  # never tried again


class BigFileBot:
    """Answers getFile with a File bigger than the limit, as Telegram would describe one."""

    async def get_file(self, file_id: str) -> File:
        return File(file_id, "u1", file_size=MAX_DOWNLOAD_BYTES + 1, file_path="documents/file_1.mp4")


async def test_a_file_described_as_too_large_is_not_downloaded(store):
    with pytest.raises(TooLarge):
        await TelegramFetcher(BigFileBot()).fetch("f")
    assert not store.root.exists()


class ErasedMeanwhile:
    """Downloads the file, while the child's record is erased before the download ends."""

    def __init__(self, db: Database, child_id: int) -> None:
        self._db = db
        self._child_id = child_id

    async def fetch(self, file_id: str) -> bytes:
        await self._db.write("DELETE FROM children WHERE id = ?", (self._child_id,))
        return b"photo"


async def test_a_file_whose_row_went_while_downloading_is_deleted(db, store):
    await add_care_media(db, 12, "photo", "some-file")

    assert await fetch_pending(db, store, ErasedMeanwhile(db, 12)) == 0
    assert await db.fetch_all("SELECT id FROM care_media") == []
    assert not (store.root / "12").exists()


# == the store ================================================================================================

def test_paths_are_per_child_with_the_kinds_extension(store):
    assert store.relative_path(12, 345, "photo") == "12/345.jpg"
    assert store.relative_path(12, 346, "voice") == "12/346.ogg"
    assert store.absolute("12/345.jpg") == store.root / "12" / "345.jpg"
    for outside in ("../secrets", "/etc/passwd", "12/../../x"):
        with pytest.raises(ValueError):
            store.absolute(outside)


def test_remove_child_deletes_that_childs_folder_only(store):
    for rel in ("12/1.jpg", "12/2.ogg", "13/3.jpg"):
        path = store.absolute(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"data")

    store.remove_child(12)
    store.remove_child(99)  # nothing kept for this child: nothing to do

    assert not (store.root / "12").exists()
    assert store.absolute("13/3.jpg").read_bytes() == b"data"


def test_the_media_directory_is_beside_the_database(settings):
    assert settings.media_dir == Path(settings.database_path).parent / "media"
    assert os.path.isabs(settings.media_dir) == os.path.isabs(settings.database_path)


# == the job ==================================================================================================

class Recorder:
    """Writes a fixed content for any file, and remembers what it was asked for."""

    def __init__(self) -> None:
        self.file_ids: list[str] = []

    async def fetch(self, file_id: str) -> bytes:
        self.file_ids.append(file_id)
        return b"content"


async def test_the_job_stores_under_the_settings_media_directory(app, settings):
    services = app.bot_data.services
    media_id = await add_care_media(services.db, 12, "photo", "a-photo")
    fetcher = Recorder()

    await fetch_media_job(SimpleNamespace(services=services, job=SimpleNamespace(data=fetcher)))

    assert fetcher.file_ids == ["a-photo"]
    assert (settings.media_dir / "12" / f"{media_id}.jpg").read_bytes() == b"content"


async def test_the_running_bot_fetches_media_from_telegram(sb, li, tmp_path):
    """run_bot schedules the job with a fetcher over the real Bot: its first run (after 5 s) stores the photo."""
    photo = await li.send_photo(b"\xff\xd8 sports day")
    sb.updates.drop_all()
    settings = Settings(token=sb.token, base_url=sb.base_url, base_file_url=sb.base_file_url,
                        database_path=str(tmp_path / "bot.sqlite3"), poll_timeout=1)
    services = await open_services(settings, SystemClock())
    try:
        media_id = await add_care_media(services.db, 12, "photo", photo_id(photo))
    finally:
        await services.db.close()

    def stored_path() -> str | None:
        with closing(sqlite3.connect(settings.database_path)) as conn:
            return conn.execute("SELECT stored_path FROM care_media WHERE id = ?", (media_id,)).fetchone()[0]

    stop = asyncio.Event()
    running = asyncio.create_task(run_bot(settings, stop=stop, install_signal_handlers=False))
    try:
        async with asyncio.timeout(30):
            while stored_path() is None:
                assert not running.done(), running.exception()
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)

    assert (settings.media_dir / stored_path()).read_bytes() == b"\xff\xd8 sports day"
