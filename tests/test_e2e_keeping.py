"""End to end over the sandbox, with the real bot process and its sender (issue 14, item 10: what families keep):
the proxy parent's photo of 小明 reaches the mother unprotected (she may save it), while the mother's photo to the
proxy parent, who is outside the family, stays protected; then the mother's /mydata is a PDF she may keep, with the
record, their messages and who viewed or changed the record."""

from __future__ import annotations

from bot.i18n import translator
from bot.relay import RelayService
from bot.access.policy import PARENT, PROXY
from sandbox import Sandbox
from tests.botprocess import BotProcess, relay_to
from tests.helpers import BOT_TOKEN, pdf_text
from tests.world import seed_family

MOTHER, PROXY_PARENT, GRANDMOTHER = 5401, 5402, 5403


async def test_the_mother_keeps_her_childs_photo_and_her_data_as_a_pdf(tmp_path):
    _ = translator("zh_CN").gettext
    mum = RelayService.header(_, "小明", PARENT, "mother", "李妈妈")
    aunt = RelayService.header(_, "小明", PROXY, None, "赵阿姨")
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await seed_family(str(bot.database), mother=MOTHER, proxy=PROXY_PARENT, grandmother=GRANDMOTHER)
        await bot.start()
        try:
            mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
            proxy = sandbox.user(PROXY_PARENT, "赵阿姨", language_code="zh-hans")
            for person in (mother, proxy):
                person.started = True

            # The mother writes to the proxy parent (relay mode); the proxy parent answers with a photo.
            await relay_to(mother, "赵阿姨（代理家长）")
            await mother.send_text("小明这周吃得好吗？")
            asked = await proxy.wait_message(timeout=10, predicate=lambda m: (m.text or "").startswith(mum))
            await proxy.send_photo(caption="今天的午饭", reply_to=asked.message_id)
            to_mother = await mother.wait_message(timeout=10, predicate=lambda m: m.kind == "photo")
            assert to_mother.caption == f"{aunt}\n今天的午饭"
            assert not to_mother.protect_content  # her child's photo: hers to keep

            # The same kind of message the other way, to someone outside the family: protected.
            await mother.send_photo(caption="新买的书包", reply_to=to_mother.message_id)
            to_proxy = await proxy.wait_message(timeout=10, predicate=lambda m: m.kind == "photo")
            assert to_proxy.caption == f"{mum}\n新买的书包" and to_proxy.protect_content

            await mother.send_command("mydata")
            document = await mother.wait_message(timeout=15, predicate=lambda m: m.kind == "document")
            assert not document.protect_content and document.caption and "小明" in document.caption
            stored = sandbox.files.get(document.file_id)
            assert stored is not None and stored.data.startswith(b"%PDF")
            text = "".join(pdf_text(stored.data).split())
            for shown in (_("Everything Qinqing Bridge stores about {name}").format(name="小明"), _("The record"),
                          "小明这周吃得好吗？", "今天的午饭", "新买的书包",
                          _("Who viewed or changed the record"), _("received a copy of the record")):
                assert "".join(shown.split()) in text, shown
        finally:
            assert await bot.stop() == 0
