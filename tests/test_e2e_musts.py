"""End to end over the sandbox, with the real bot process and its sender: a proxy parent posts an update with
three photos (an album) and a voice note; the mother and the grandmother each receive it once, as the album, the
voice note and the card with the "Received" button; the mother confirms and the proxy parent is told; the
mother's /timeline shows it, confirmed; and the copies of the photos land under the data directory."""

from __future__ import annotations

import sqlite3

from bot.i18n import translator
from sandbox import Sandbox
from tests.botprocess import BotProcess, until
from tests.helpers import BOT_TOKEN
from tests.world import seed_family

MOTHER, PROXY_PARENT, GRANDMOTHER = 5101, 5102, 5103


async def test_an_update_with_an_album_and_a_voice_note_reaches_the_family_once(tmp_path):
    _ = translator("zh_CN").gettext
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await seed_family(str(bot.database), mother=MOTHER, proxy=PROXY_PARENT, grandmother=GRANDMOTHER)
        await bot.start()
        try:
            mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
            proxy = sandbox.user(PROXY_PARENT, "赵阿姨", language_code="zh-hans")
            grandmother = sandbox.user(GRANDMOTHER, "王奶奶", language_code="zh-hans")
            for person in (mother, proxy, grandmother):
                person.started = True

            await proxy.send_command("update")
            await proxy.wait_message(timeout=10, predicate=lambda m: "小明" in (m.text or "") and bool(m.buttons))
            await proxy.press("📚 " + _("Study"))
            await proxy.wait_until(lambda: any(_("Making progress") in str(m.reply_markup) for m in proxy.messages),
                                   timeout=10)
            await proxy.press(_("Making progress"))
            await proxy.wait_until(lambda: any("✔ 📚" in str(m.reply_markup) for m in proxy.messages), timeout=10)
            sent = await proxy.send_album(3, caption="运动会跳绳第一名")
            await proxy.send_voice()
            media_line = _("📷 {n} photos").format(n=3)
            await proxy.wait_until(lambda: any(media_line in (m.text or "") and "🎤" in (m.text or "")
                                               for m in proxy.messages), timeout=10)
            await proxy.press(_("📤 Send"))

            received = _("✅ Received")
            for person in (mother, grandmother):
                card = await person.wait_message(timeout=15, predicate=lambda m: bool(m.buttons))
                assert card.buttons == [[received]]
                assert card.text.startswith("📒 " + _("{child}'s {what}").format(child="小明", what=_("update")))
                assert "运动会跳绳第一名" in card.text and _("Making progress") in card.text
                album = [m for m in person.messages if m.media_group_id]
                assert len(album) == 3 and len({m.media_group_id for m in album}) == 1
                assert [m.file_id for m in album] == [s["photo"][-1]["file_id"] for s in sent]
                assert not any(m.protect_content for m in album)  # the family keeps their child's photos
                assert len([m for m in person.messages if m.kind == "voice"]) == 1
                assert len([m for m in person.messages if m.buttons]) == 1  # once

            await mother.press(received)
            told = await proxy.wait_message(timeout=10, predicate=lambda m: (m.text or "").startswith("✅ 李妈妈"))
            assert "小明" in told.text

            await mother.send_command("timeline")
            page = await mother.wait_message(timeout=10, predicate=lambda m: (m.text or "").startswith("📖"))
            assert _("✅ Received by {names}").format(names="李妈妈") in page.text
            assert "运动会跳绳第一名" in page.text

            # The photos and the voice note are copied under the data directory by the bot's fetch job (every
            # 30 s). Under a loaded machine one download can time out; it is tried again a minute later, so the
            # wait allows for one retry: 30 s + 60 s + 30 s, and a margin.
            media_dir = bot.database.parent / "media"
            await until(lambda: _stored(bot.database) == 4, timeout=150)  # not a chat event: polled
            assert len([p for p in media_dir.rglob("*") if p.is_file()]) == 4
        finally:
            await bot.stop()


def _stored(database) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT COUNT(*) FROM care_media WHERE stored_path IS NOT NULL").fetchone()[0]
