"""End to end over the sandbox, with the real bot process and its sender (issue 14, items 1, 4 and 5): the
grandmother's text and voice note are offered to be passed on and reach the mother with one press each; a father
joins and agrees by typing "好" and "同意"; a father's "no" reaches the class teacher and the mother at once; a
mother's erasure request reaches the school's admin when she makes it."""

from __future__ import annotations

import sqlite3

from bot.access.policy import ADMIN, GUARDIAN, PARENT, PROXY, TEACHER
from bot.clock import SystemClock
from bot.services import open_services
from bot.settings import Settings
from sandbox import Sandbox
from tests.botprocess import BotProcess
from tests.helpers import BOT_TOKEN
from tests.world import NOW, World

MOTHER, GRANDMOTHER, PROXY_PARENT, TEACHER_ID, ADMIN_ID, FATHER = 5101, 5102, 5103, 5104, 5105, 5106
NOT_UNDERSTOOD = "抱歉，我没看懂"


async def seed(database: str) -> str:
    """小明's family and carers, as they stand after their invitations (the mother agreed), and an invitation for
    the father, whose code is returned. Quiet hours are off, so a test does not depend on the hour it runs at."""
    services = await open_services(Settings(token=BOT_TOKEN, database_path=database), SystemClock())
    try:
        world = await World.build(services)
        await world.child("小明")
        await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=MOTHER)
        await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother_p", user_id=GRANDMOTHER)
        await world.person("赵阿姨", PROXY, child="小明", user_id=PROXY_PARENT)
        await world.person("王老师", TEACHER, klass="三年级一班", user_id=TEACHER_ID)
        await world.person("周校长", ADMIN, user_id=ADMIN_ID)
        await world.consent("小明", by="李妈妈")
        issued = await services.invitations.create(await world.actor("王老师"), PARENT,
                                                   child_id=world.children["小明"], relation="father")
        async with services.db.transaction() as conn:
            for user_id in (MOTHER, GRANDMOTHER, PROXY_PARENT, TEACHER_ID, ADMIN_ID, FATHER):
                await conn.execute(
                    "INSERT INTO user_preferences (user_id, quiet_off, updated_at) VALUES (?, 1, ?) "
                    "ON CONFLICT (user_id) DO UPDATE SET quiet_off = 1", (user_id, NOW))
        return issued.code
    finally:
        await services.db.close()


def texts(person) -> list[str]:
    return [m.text or m.caption or "" for m in person.messages]


async def running(sandbox, tmp_path) -> tuple[BotProcess, str]:
    bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
    code = await seed(str(bot.database))
    await bot.start()
    return bot, code


async def stopped(bot: BotProcess) -> None:
    if bot.proc is not None and bot.proc.returncode is None:
        assert await bot.stop() == 0
    assert "Traceback" not in bot.log


async def test_the_grandmothers_text_and_voice_note_reach_the_mother_with_one_press_each(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot, _code = await running(sandbox, tmp_path)
        try:
            grandmother = sandbox.user(GRANDMOTHER, "王奶奶", language_code="zh-hans")
            mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
            mother.started = True

            # She types, outside any conversation: she is asked whom it is for, a button per carer.
            await grandmother.send_text("小明今天有点发烧，已经吃了药")
            asked = await grandmother.wait_message(timeout=10)
            assert asked.text == "要发给谁？"
            assert [row[0] for row in asked.buttons] == ["发给赵阿姨（代理家长）", "发给王老师（班主任）",
                                                         "发给李妈妈（妈妈）", "不用发"]
            await grandmother.press("发给李妈妈（妈妈）", message_id=asked.message_id)
            text = await mother.wait_message(timeout=10)
            assert (text.kind, text.text, text.buttons) == ("text", "小明的奶奶：\n小明今天有点发烧，已经吃了药",
                                                            [["收到"]])
            await grandmother.wait_until(lambda: asked.text == "已发给李妈妈。", timeout=10)

            # A voice note: the same question, with her last choice shown first; one press again.
            await grandmother.send_voice(duration=6)
            again = await grandmother.wait_message(timeout=10, predicate=lambda m: bool(m.buttons))
            assert again.text == "要发给李妈妈（妈妈）吗？" and again.buttons[0] == ["✅ 发给李妈妈（妈妈）"]
            await grandmother.press("✅ 发给李妈妈（妈妈）", message_id=again.message_id)
            voice = await mother.wait_message(timeout=10)
            assert (voice.kind, voice.caption, voice.from_copy) == ("voice", "小明的奶奶：", True)
            assert not voice.protect_content  # the child's mother may keep her mother-in-law's voice
            await grandmother.wait_until(lambda: again.text == "已发给李妈妈。", timeout=10)

            # She presses 收到 on the mother's answer: the button says so, and nothing unasked follows.
            await mother.send_text("谢谢妈，辛苦了", reply_to=text.message_id)
            answer = await grandmother.wait_message(timeout=10, predicate=lambda m: "谢谢妈" in (m.text or ""))
            await grandmother.press("收到", message_id=answer.message_id)
            await grandmother.wait_until(lambda: answer.buttons == [["✅ 已收到"]], timeout=10)
            assert not [t for t in texts(grandmother) if NOT_UNDERSTOOD in t or "已退出" in t]
        finally:
            await stopped(bot)

    with sqlite3.connect(bot.database) as db:
        rows = db.execute("SELECT content_kind, recipient_id = (SELECT person_id FROM identities WHERE external_id "
                          "= ?) FROM relays WHERE author_id = (SELECT person_id FROM identities WHERE external_id = ?) "
                          "ORDER BY id", (str(MOTHER), str(GRANDMOTHER))).fetchall()
    assert rows == [("text", 1), ("voice", 1)]


async def test_a_father_joins_and_agrees_by_typing(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot, code = await running(sandbox, tmp_path)
        try:
            father = sandbox.user(FATHER, "李爸爸", language_code="zh-hans")
            await father.start(payload=code)
            offer = await father.wait_message(timeout=10)
            assert offer.buttons == [["接受", "暂不加入"]]
            await father.send_text("好")  # typed, not pressed
            question = await father.wait_message(timeout=10, predicate=lambda m: "您同意吗" in (m.text or ""))
            assert len(question.text.splitlines()) == 3  # the short version first
            assert question.buttons == [["同意"], ["不同意"], ["📖 看完整的规则"]]
            await father.send_text("同意")
            await father.wait_until(lambda: question.text.startswith("谢谢您。已记录您对小明的同意"), timeout=10)
            assert not [t for t in texts(father) if NOT_UNDERSTOOD in t]
        finally:
            await stopped(bot)

    with sqlite3.connect(bot.database) as db:
        decisions = db.execute("SELECT c.decision FROM consents c JOIN identities i ON i.person_id = c.person_id "
                               "WHERE i.external_id = ?", (str(FATHER),)).fetchall()
    assert decisions == [("given",)]


async def test_the_fathers_refusal_reaches_the_teacher_and_the_mother(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot, code = await running(sandbox, tmp_path)
        try:
            teacher = sandbox.user(TEACHER_ID, "王老师", language_code="zh-hans")
            mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
            proxy = sandbox.user(PROXY_PARENT, "赵阿姨", language_code="zh-hans")
            for person in (teacher, mother, proxy):
                person.started = True
            father = sandbox.user(FATHER, "李爸爸", language_code="zh-hans")
            await father.start(payload=code)
            offer = await father.wait_message(timeout=10)
            await father.press("接受", message_id=offer.message_id)
            question = await father.wait_message(timeout=10, predicate=lambda m: "您同意吗" in (m.text or ""))
            await father.press("不同意", message_id=question.message_id)

            said_no = "小明的父亲不同意信息使用规则。现在不共享关于小明的任何内容"
            told = await teacher.wait_message(timeout=10, predicate=lambda m: said_no in (m.text or ""))
            assert "请和这家人谈一谈。" in told.text and "李爸爸" not in told.text
            # The talk is a task on the teacher's care calendar, with its button under the message.
            assert told.buttons == [["✅ 我已经和家人谈过了"]]
            told = await mother.wait_message(timeout=10, predicate=lambda m: said_no in (m.text or ""))
            assert "/privacy" in told.text and "李爸爸" not in told.text

            # What the others try about 小明 now says what happened, not that nobody has answered yet.
            await proxy.send_command("relay")
            refused = await proxy.wait_message(timeout=10)
            assert refused.text == "现在不能转发关于小明的消息：小明的父亲在 /privacy 中不同意规则。"
        finally:
            await stopped(bot)


async def test_an_erasure_request_reaches_the_admin_when_it_is_made(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot, _code = await running(sandbox, tmp_path)
        try:
            admin = sandbox.user(ADMIN_ID, "周校长", language_code="zh-hans")
            grandmother = sandbox.user(GRANDMOTHER, "王奶奶", language_code="zh-hans")
            admin.started = grandmother.started = True
            mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
            await mother.send_command("privacy")
            menu = await mother.wait_message(timeout=10, predicate=lambda m: bool(m.buttons))
            await mother.press("🗑 申请删除", message_id=menu.message_id)
            await mother.wait_until(lambda: "🗑 是，申请删除" in str(menu.buttons), timeout=10)
            await mother.press("🗑 是，申请删除", message_id=menu.message_id)

            # Pushed to the admin at once, with the buttons to decide; nobody had to open /deletions.
            pushed = await admin.wait_message(timeout=10, predicate=lambda m: "小明" in (m.text or ""))
            assert "小明的母亲" in pushed.text and "李妈妈" not in pushed.text
            assert pushed.buttons == [["🗑 删除", "不删除"]]
            # The grandmother may object before the admin decides; the admin hears it.
            note = await grandmother.wait_message(timeout=10, predicate=lambda m: bool(m.buttons))
            assert "小明的母亲申请删除" in note.text
            await grandmother.press("✋ 我不想删除", message_id=note.message_id)
            objection = await admin.wait_message(timeout=10, predicate=lambda m: "不想删除" in (m.text or ""))
            assert "小明的奶奶" in objection.text

            # The admin decides from the pushed message itself.
            await admin.press("🗑 删除", message_id=pushed.message_id)
            await admin.wait_until(lambda: "🗑 是，彻底删除" in str(pushed.buttons), timeout=10)
            await admin.press("🗑 是，彻底删除", message_id=pushed.message_id)
            await mother.wait_message(timeout=10, predicate=lambda m: "您申请删除的孩子档案已经删除" in (m.text or ""))
            await grandmother.wait_message(timeout=10, predicate=lambda m: "一份孩子档案已删除" in (m.text or ""))
            assert "小明" not in pushed.text
        finally:
            await stopped(bot)

    with sqlite3.connect(bot.database) as db:
        assert db.execute("SELECT COUNT(*) FROM children").fetchone()[0] == 0
        assert not [r for r in db.execute("SELECT payload FROM inbox WHERE payload IS NOT NULL") if "小明" in r[0]]
