"""End to end over the sandbox: a teacher is half-way through /newchild (the name and the sex answered) when the
bot process is SIGKILLed. Started again, it goes on with the form: the Skip pressed on the question asked before
the crash answers it, the next questions follow, and the record is saved at the end."""

from __future__ import annotations

import sqlite3

from bot.access.policy import TEACHER
from bot.clock import SystemClock
from bot.services import open_services
from bot.settings import Settings
from sandbox import Sandbox
from tests.botprocess import BotProcess
from tests.helpers import BOT_TOKEN
from tests.world import World

TEACHER_ID = 6001


async def seed_teacher(database: str) -> None:
    services = await open_services(Settings(token=BOT_TOKEN, database_path=database), SystemClock())
    try:
        world = await World.build(services)
        await world.person("王老师", TEACHER, klass="三年级一班", user_id=TEACHER_ID)
    finally:
        await services.db.close()


def question(n: int):
    """The form's question n of 13 ("（3/13）出生日期？")."""
    return lambda m: f"{n}/13）" in (m.text or "")


async def test_newchild_goes_on_after_a_sigkill(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await seed_teacher(str(bot.database))
        await bot.start()
        teacher = sandbox.user(TEACHER_ID, "王老师", language_code="zh-hans")

        await teacher.send_command("newchild")
        await teacher.wait_message(timeout=10, predicate=question(1))
        await teacher.send_text("小刚")
        await teacher.wait_message(timeout=10, predicate=question(2))
        await teacher.press("男孩")
        birth_date = await teacher.wait_message(timeout=10, predicate=question(3))

        await bot.kill()
        await bot.start()

        await teacher.press("跳过", message_id=birth_date.message_id)
        await teacher.wait_message(timeout=10, predicate=question(4))
        await teacher.send_text("王大力")
        for n in range(5, 14):
            await teacher.wait_message(timeout=10, predicate=question(n))
            await teacher.press("跳过")
        check = await teacher.wait_message(timeout=10, predicate=lambda m: bool(m.buttons))
        assert "小刚" in check.text and "男孩" in check.text and "王大力" in check.text
        await teacher.press("保存", message_id=check.message_id)
        saved = await teacher.wait_message(timeout=10, predicate=lambda m: (m.text or "").startswith("已保存"))
        assert "/invite" in saved.text

        assert await bot.stop() == 0
        assert "Traceback" not in bot.log

    with sqlite3.connect(bot.database) as db:
        fields = dict(db.execute("SELECT f.field, f.value FROM child_fields f JOIN child_fields n "
                                 "ON n.child_id = f.child_id AND n.field = 'name' AND n.value = '小刚'").fetchall())
        open_dialogues = db.execute("SELECT COUNT(*) FROM dialogues").fetchone()[0]
    assert fields == {"name": "小刚", "sex": "male", "father_name": "王大力"}
    assert open_dialogues == 0
