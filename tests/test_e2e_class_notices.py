"""End to end over the sandbox, with the real bot process and its sender: a class teacher writes a notice of the
parents' meeting once (/notice), two families receive it with "收到" and may keep it (not protected); the mother
presses it, the teacher's list counts one family of two, and the teacher reminds the other once."""

from __future__ import annotations

from bot.access.policy import PARENT, TEACHER
from bot.clock import SystemClock
from bot.i18n import translator
from bot.services import open_services
from bot.settings import Settings
from sandbox import Sandbox
from tests.botprocess import BotProcess
from tests.helpers import BOT_TOKEN
from tests.world import NOW, World

TEACHER_ID, MOTHER, FATHER = 5301, 5302, 5303
NOTICE = "本周五下午三点开家长会，请到三年级一班教室。"


async def _seed(database: str) -> None:
    services = await open_services(Settings(token=BOT_TOKEN, database_path=database), SystemClock())
    try:
        world = await World.build(services)
        await world.child("小明")
        await world.child("小红")
        await world.person("王老师", TEACHER, klass="三年级一班", user_id=TEACHER_ID)
        await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=MOTHER)
        await world.person("张爸爸", PARENT, child="小红", relation="father", user_id=FATHER)
        await world.consent("小明", by="李妈妈")
        await world.consent("小红", by="张爸爸")
        async with services.db.transaction() as conn:
            for user_id in (TEACHER_ID, MOTHER, FATHER):
                await conn.execute("INSERT INTO user_preferences (user_id, quiet_off, updated_at) VALUES (?, 1, ?)",
                                   (user_id, NOW))
    finally:
        await services.db.close()


async def test_a_class_notice_reaches_every_family_and_counts_who_read_it(tmp_path):
    _ = translator("zh_CN").gettext
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await _seed(str(bot.database))
        await bot.start()
        try:
            teacher = sandbox.user(TEACHER_ID, "王老师", language_code="zh-hans")
            mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
            father = sandbox.user(FATHER, "张爸爸", language_code="zh-hans")
            for person in (teacher, mother, father):
                person.started = True

            await teacher.send_command("notice")
            await teacher.wait_message(timeout=10, predicate=lambda m: "三年级一班" in (m.text or ""))
            await teacher.send_text(NOTICE)
            await teacher.wait_message(timeout=10, predicate=lambda m: NOTICE in (m.text or "") and bool(m.buttons))
            await teacher.press(_("📤 Send"))

            received = _("✅ Received")
            copies = {}
            for person in (mother, father):
                copies[person.id] = await person.wait_message(timeout=15, predicate=lambda m: bool(m.buttons))
                assert NOTICE in copies[person.id].text and copies[person.id].buttons == [[received]]
                assert not copies[person.id].protect_content

            await mother.press(received)
            await mother.wait_until(lambda: any(_("✅ Received ✔") in str(m.buttons) for m in mother.messages),
                                    timeout=10)
            await teacher.press(_("📊 Who has read it"))
            counted = _("📊 {klass}: {read} of {reached} families have read the notice.").format(
                klass="三年级一班", read=1, reached=2)
            await teacher.wait_until(lambda: any(counted in (m.text or "") for m in teacher.messages), timeout=10)

            father.clear()
            await teacher.press(_("🔔 Remind those who have not read it (once)"))
            reminder = await father.wait_message(timeout=15, predicate=lambda m: NOTICE in (m.text or ""))
            assert reminder.text.startswith(_("⏰ Reminder: please read this notice and press “✅ Received”."))
            await father.press(received, message_id=reminder.message_id)
            await teacher.press(_("🔄 Refresh"))
            every = _("📊 {klass}: {read} of {reached} families have read the notice.").format(
                klass="三年级一班", read=2, reached=2)
            await teacher.wait_until(lambda: any(every in (m.text or "") for m in teacher.messages), timeout=10)
            assert len([m for m in mother.messages if NOTICE in (m.text or "")]) == 1  # she read it: no reminder
        finally:
            await bot.stop()
