"""End to end over the sandbox, with the real bot process and DATA_KEY set: a proxy parent's update with a photo
reaches the mother with the very bytes the proxy parent uploaded, while the copy the bot keeps under the data
directory holds none of them (sealed), is owner-only, and opens with the key to the same photo."""

from __future__ import annotations

import os
import stat
from contextlib import closing

from bot.i18n import translator
from bot.musts.media import MediaStore
from bot.safekeeping import crypto
from sandbox import Sandbox
from storage.db import connect
from tests.botprocess import BotProcess, until
from tests.helpers import BOT_TOKEN
from tests.world import seed_family

MOTHER, PROXY_PARENT, GRANDMOTHER = 5201, 5202, 5203
# A JPEG start, then bytes with no repeats, so any 16 of them found on disk would be a leak.
PHOTO = b"\xff\xd8\xff\xe0 JFIF " + bytes((i * 7 + i // 256) % 256 for i in range(8192)) + "小明跳绳".encode()


async def test_with_a_key_the_kept_photo_is_sealed_and_the_mother_gets_it_intact(tmp_path):
    _ = translator("zh_CN").gettext
    text_key = crypto.generate_key()
    key = crypto.parse_key(text_key)
    old_umask = os.umask(0o022)  # a typical shell's: the bot must not rely on the umask it is started with
    try:
        async with Sandbox(token=BOT_TOKEN) as sandbox:
            bot = BotProcess(sandbox, tmp_path, BOT_TOKEN, DATA_KEY=text_key)
            await seed_family(str(bot.database), mother=MOTHER, proxy=PROXY_PARENT, grandmother=GRANDMOTHER,
                              key=key)
            await bot.start()
            try:
                mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
                proxy = sandbox.user(PROXY_PARENT, "赵阿姨", language_code="zh-hans")
                for person in (mother, proxy):
                    person.started = True

                await proxy.send_command("update")
                await proxy.wait_message(timeout=10, predicate=lambda m: "小明" in (m.text or "") and bool(m.buttons))
                await proxy.press("📚 " + _("Study"))
                await proxy.wait_until(
                    lambda: any(_("Making progress") in str(m.reply_markup) for m in proxy.messages), timeout=10)
                await proxy.press(_("Making progress"))
                await proxy.wait_until(lambda: any("✔ 📚" in str(m.reply_markup) for m in proxy.messages),
                                       timeout=10)
                sent = await proxy.send_photo(PHOTO, caption="运动会跳绳第一名")
                await proxy.wait_until(lambda: any("📷" in (m.text or "") for m in proxy.messages), timeout=10)
                await proxy.press(_("📤 Send"))

                await mother.wait_message(timeout=15, predicate=lambda m: bool(m.buttons))
                photos = [m for m in mother.messages if m.kind == "photo"]
                assert len(photos) == 1
                uploaded = sandbox.files.get(sent["photo"][-1]["file_id"]).data
                assert uploaded == PHOTO
                assert sandbox.files.get(photos[0].file_id).data == uploaded  # what the mother's phone shows

                # The fetch job (first after 5 s, then every 30 s) keeps a copy: sealed.
                await until(lambda: _stored(bot.database, key) is not None, timeout=100)
                rel = _stored(bot.database, key)
                kept = (tmp_path / "media") / rel
                on_disk = kept.read_bytes()
                assert crypto.is_sealed(on_disk)
                assert not any(PHOTO[i:i + 16] in on_disk for i in range(len(PHOTO) - 15))
                assert MediaStore(tmp_path / "media", key).read(rel) == PHOTO
                for path in [tmp_path / "media", *(tmp_path / "media").rglob("*")]:
                    assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
            finally:
                await bot.stop()
    finally:
        os.umask(old_umask)


def _stored(database, key: bytes) -> str | None:
    with closing(connect(str(database), key)) as conn:
        row = conn.execute("SELECT stored_path FROM care_media WHERE stored_path IS NOT NULL").fetchone()
    return row[0] if row else None
