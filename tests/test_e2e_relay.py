"""End to end over the sandbox, with the real bot process and its sender: a mother and her child's proxy parent
talk through the bot in text, photos, voice notes and documents, both ways, answer each other's messages in a
chain, and press "Received". Everything arrives as a copy with a header, nothing forwarded; media are protected
except for the child's own family, who may keep them.
Then the mother writes to the grandmother, who never opened the bot: nothing is lost, and she gets it all
once she presses Start."""

from __future__ import annotations

import sqlite3

from bot.i18n import translator
from bot.access.policy import PARENT, PROXY
from bot.relay import RelayService
from sandbox import Sandbox
from tests.botprocess import BotProcess, relay_to
from tests.helpers import BOT_TOKEN
from tests.world import seed_family

MOTHER, PROXY_PARENT, GRANDMOTHER = 5001, 5002, 5003


def starts(prefix: str):
    return lambda m: (m.content or "").startswith(prefix)


async def test_a_mother_and_a_proxy_parent_talk_through_the_bot(tmp_path):
    _ = translator("zh_CN").gettext
    mum = RelayService.header(_, "小明", PARENT, "mother", "李妈妈")
    aunt = RelayService.header(_, "小明", PROXY, None, "赵阿姨")
    received = _("Received")
    sent_to = _("Sent to {name}.")

    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await seed_family(str(bot.database), mother=MOTHER, proxy=PROXY_PARENT, grandmother=GRANDMOTHER)
        await bot.start()
        mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
        proxy = sandbox.user(PROXY_PARENT, "赵阿姨", language_code="zh-hans")
        proxy.started = True
        grandmother = sandbox.user(GRANDMOTHER, "王奶奶", language_code="zh-hans")  # has not pressed Start

        # The first time, the mother is asked whom to write to (nobody is chosen for her); she presses the
        # proxy parent, and everything she sends now goes there.
        await mother.send_command("relay")
        asked = await mother.wait_message(timeout=10)
        assert asked.text == _("Whom do you want to write to about {child}?").format(child="小明")
        await mother.press("赵阿姨（代理家长）", message_id=asked.message_id)
        await mother.wait_until(lambda: "赵阿姨" in asked.text, timeout=10)  # the question becomes the answer
        relay_mode = asked
        mother.clear()
        m_text = await mother.send_text("小明最近怎么样？")
        p_text = await proxy.wait_message(timeout=10)
        assert (p_text.kind, p_text.text, p_text.buttons) == ("text", f"{mum}\n小明最近怎么样？", [[received]])
        m_photo = await mother.send_photo(caption="给小明买的新衣服")
        p_photo = await proxy.wait_message(timeout=10)
        assert (p_photo.kind, p_photo.caption) == ("photo", f"{mum}\n给小明买的新衣服")
        await mother.send_voice()
        p_voice = await proxy.wait_message(timeout=10)
        assert (p_voice.kind, p_voice.caption) == ("voice", mum)
        await mother.send_document("体检表.pdf", b"%PDF-1.4 sandbox", mime_type="application/pdf")
        p_doc = await proxy.wait_message(timeout=10)
        assert (p_doc.kind, p_doc.caption) == ("document", mum)
        sent = await mother.wait_messages(4, timeout=10)  # "Sent to 赵阿姨." for each
        assert all(m.text == sent_to.format(name="赵阿姨") for m in sent)

        # The proxy parent answers by replying, without relay mode; the chain goes three deep and back.
        r1 = await proxy.send_text("挺好的，这次考了95分", reply_to=p_text.message_id)
        q1 = await mother.wait_message(timeout=10, predicate=starts(aunt))
        assert q1.text == f"{aunt}\n挺好的，这次考了95分" and q1.reply_to_message_id == m_text["message_id"]
        r2 = await mother.send_photo(caption="太好了！", reply_to=q1.message_id)
        q2 = await proxy.wait_message(timeout=10, predicate=starts(mum))
        assert (q2.kind, q2.caption, q2.reply_to_message_id) == ("photo", f"{mum}\n太好了！", r1["message_id"])
        await proxy.send_voice(reply_to=q2.message_id)
        q3 = await mother.wait_message(timeout=10, predicate=lambda m: m.kind == "voice")
        assert (q3.caption, q3.reply_to_message_id) == (aunt, r2["message_id"])

        # The proxy parent in relay mode, to the mother: the person she last wrote to is remembered and named, not
        # asked again (issue 14, item 2).
        await proxy.send_command("relay")
        named = _("{name} ({role})").format(name="李妈妈", role=_("mum"))
        await proxy.wait_until(lambda: any(named in (m.text or "") and "/cancel" in m.text for m in proxy.messages),
                               timeout=10)
        await proxy.send_photo(caption="今天的午饭")
        await proxy.send_document("成绩单.pdf", b"%PDF-1.4 scores", mime_type="application/pdf")
        q4 = await mother.wait_message(timeout=10, predicate=lambda m: m.kind == "photo")
        q5 = await mother.wait_message(timeout=10, predicate=lambda m: m.kind == "document")
        assert (q4.caption, q5.caption) == (f"{aunt}\n今天的午饭", aunt)

        # "Received": the author is told, under their own message; the button says it was pressed (issue 14, item 3).
        await proxy.press(received, message_id=p_text.message_id)
        told = await mother.wait_message(timeout=10, predicate=starts(_("{name} received your message.").format(
            name="赵阿姨")))
        assert told.reply_to_message_id == m_text["message_id"]
        await proxy.wait_until(lambda: p_text.buttons == [[_("✅ Received ✔")]], timeout=10)
        await mother.press(received, message_id=q1.message_id)
        told = await proxy.wait_message(timeout=10, predicate=starts(_("{name} received your message.").format(
            name="李妈妈")))
        assert told.reply_to_message_id == r1["message_id"]

        copies = [p_photo, p_voice, p_doc, q2, q3, q4, q5]
        assert all(m.from_copy for m in copies)
        # The proxy parent is outside the family: what the mother sends stays protected. The mother may keep the
        # photos, voice notes and documents of her child (issue 14, item 10).
        assert all(m.protect_content for m in (p_photo, p_voice, p_doc, q2))
        assert not any(m.protect_content for m in (q3, q4, q5))
        assert all(m.buttons == [[received]] for m in copies)
        assert sandbox.count("forwardMessage") == 0
        assert m_photo["photo"][-1]["file_id"] == p_photo.file_id  # the same file, never uploaded again

        # The grandmother never opened the bot: the first message fails and the mother is told; the next is
        # kept with a clear answer; both arrive once she presses Start.
        await mother.press(_("{name} ({role})").format(name="王奶奶", role=_("grandmother (father's side)")),
                           message_id=relay_mode.message_id)
        aunt_button = _("{name} ({role})").format(name="赵阿姨", role=_("proxy parent"))
        await mother.wait_until(lambda: relay_mode.buttons == [[aunt_button], [_("🆘 Ask for help")]], timeout=10)
        await mother.send_text("妈，小明的药在柜子里")
        # handlers.delivery's notice (its wording is that module's): any message about her but the confirmation.
        await mother.wait_message(timeout=10, predicate=lambda m: "王奶奶" in (m.text or "")
                                  and m.text != sent_to.format(name="王奶奶"))
        await mother.send_text("记得按时吃")
        kept = _("{name} has not opened Qinqing Bridge yet, or has blocked it. Your message is kept and will be "
                 "delivered as soon as they open it: please ask them to press Start.").format(name="王奶奶")
        await mother.wait_message(timeout=10, predicate=lambda m: m.text == kept)
        await grandmother.start()
        first = await grandmother.wait_message(timeout=10, predicate=starts(mum))
        second = await grandmother.wait_message(timeout=10, predicate=starts(mum))
        assert (first.text, second.text) == (f"{mum}\n妈，小明的药在柜子里", f"{mum}\n记得按时吃")

        assert await bot.stop() == 0
        assert "Traceback" not in bot.log

    with sqlite3.connect(bot.database) as db:
        rows = db.execute("SELECT content_kind, file_id IS NOT NULL, in_reply_to IS NOT NULL, "
                          "acknowledged_at IS NOT NULL FROM relays ORDER BY id").fetchall()
    assert rows == [("text", 0, 0, 1), ("photo", 1, 0, 0), ("voice", 1, 0, 0), ("document", 1, 0, 0),
                    ("text", 0, 1, 1), ("photo", 1, 1, 0), ("voice", 1, 1, 0), ("photo", 1, 0, 0),
                    ("document", 1, 0, 0), ("text", 0, 0, 0), ("text", 0, 0, 0)]


async def test_relay_mode_outlives_sigkills_and_a_burst_across_them_all_reaches_the_carer(tmp_path):
    """Relay mode is a row: a mother in relay mode, the bot SIGKILLed and restarted, and her next text reaches
    the carer. Then a burst she types at once, with two SIGKILLs while the bot works through it: every message
    reaches the carer (the one a kill lands on may arrive twice) and she never hears "我没看懂"."""
    _ = translator("zh_CN").gettext
    mum = RelayService.header(_, "小明", PARENT, "mother", "李妈妈")
    not_understood = _("Sorry, I did not understand that. Send /help to see what you can do.")

    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await seed_family(str(bot.database), mother=MOTHER, proxy=PROXY_PARENT, grandmother=GRANDMOTHER)
        mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
        proxy = sandbox.user(PROXY_PARENT, "赵阿姨", language_code="zh-hans")
        proxy.started = True
        try:
            await bot.start()
            await relay_to(mother, _("{name} ({role})").format(name="赵阿姨", role=_("proxy parent")))
            await bot.kill()
            await bot.start()
            await mother.send_text("重启以后还能收到吗？")
            arrived = await proxy.wait_message(timeout=10, predicate=starts(mum))
            assert arrived.text == f"{mum}\n重启以后还能收到吗？"

            burst = [f"第{n}条：小明的事" for n in range(1, 13)]
            for text in burst:
                await mother.send_text(text)

            def received() -> list[str]:
                return [m.text.removeprefix(f"{mum}\n") for m in proxy.messages if starts(mum)(m)]

            for kill_after in (4, 8):  # the bot answers a chat about once a second: each kill lands mid-burst
                await proxy.wait_until(lambda: len(set(received()) & set(burst)) >= kill_after, timeout=20)
                await bot.kill()
                assert len(set(received()) & set(burst)) < len(burst), "the kill must land mid-burst"
                await bot.start()
            await proxy.wait_until(lambda: set(burst) <= set(received()), timeout=30)
            assert await bot.stop() == 0
            assert "Traceback" not in bot.log, bot.log[bot.log.index("Traceback") - 300:][:3000]
        finally:
            if bot.proc is not None and bot.proc.returncode is None:
                await bot.kill()

    assert not [m for m in mother.messages if m.text == not_understood]
    assert len([t for t in received() if t in burst]) - len(burst) <= 2, "more than one message per kill repeated"
    with sqlite3.connect(bot.database) as db:
        assert db.execute("SELECT COUNT(*) FROM relays").fetchone()[0] == 1 + len(burst)
