"""End to end over the sandbox (控辍保学, issue 15), the bot a real process whose clock is moved between starts
(CLOCK_SHIFT_SECONDS): on Monday the class teacher marks 小明 and 小红 absent without a reason; 小明's grandmother
and mother are asked within seconds, the mother answers "sick" with a button and the teacher sees it. 小红 stays
away on Monday, Wednesday and Thursday, with Tuesday a holiday: the admin is told on day 1, the village child
director on day 2 (Wednesday), the township's supervisor and the county contact on day 3 (Thursday, not
Wednesday). Two persuasion attempts are recorded with buttons; the admin's written report (.docx) holds both.
小红 comes back; 31 days later the case is closed."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import time as clock
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import docx

from bot.access.policy import ADMIN, DIRECTOR, GUARDIAN, PARENT, SUPERVISOR, TEACHER
from bot.attendance.buttons import ANSWER_LABELS, SICK
from bot.attendance.documents import ATTITUDE_LABELS, METHOD_LABELS
from bot.attendance.service import NotSchoolDay
from bot.clock import SystemClock
from bot.i18n import translator
from bot.services import open_services
from bot.settings import Settings
from sandbox import Sandbox
from tests.botprocess import ROOT, BotProcess, until
from tests.helpers import BOT_TOKEN
from tests.world import NOW, World

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 12, 14)        # in the autumn term, a week without national holidays
HOLIDAY = MONDAY + timedelta(days=1)
ADMIN_ID, TEACHER_ID, MOTHER, GRANDMOTHER, RED_MOTHER, DIRECTOR_ID, SUPERVISOR_ID, COUNTY = range(5701, 5709)
_ = translator("zh_CN").gettext


async def _seed(database: str) -> None:
    services = await open_services(Settings(token=BOT_TOKEN, database_path=database), SystemClock())
    try:
        world = await World.build(services)
        await world.township("青山镇", ("青山村",))
        klass = next(iter(world.class_ids))
        for child in ("小明", "小红"):
            await world.child(child, klass)
            await world.home(child, "青山村")
        await world.person("周校长", ADMIN, user_id=ADMIN_ID)
        await world.person("王老师", TEACHER, klass=klass, user_id=TEACHER_ID)
        await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=MOTHER)
        await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother_p", user_id=GRANDMOTHER)
        await world.person("陈妈妈", PARENT, child="小红", relation="mother", user_id=RED_MOTHER)
        await world.person("张主任", DIRECTOR, village="青山村", user_id=DIRECTOR_ID)
        await world.person("刘督导", SUPERVISOR, user_id=SUPERVISOR_ID)
        await world.consent("小明", by="李妈妈")
        await world.consent("小红", by="陈妈妈")
        # The school marks Tuesday off (a local holiday), as an admin does in /schooldays.
        await services.schooldays.mark(await world.actor("周校长"), world.school_id, HOLIDAY, "off", "公休日")
        async with services.db.transaction() as conn:  # quiet hours off: the test must not depend on its hour
            for user_id in (ADMIN_ID, TEACHER_ID, MOTHER, GRANDMOTHER, RED_MOTHER, DIRECTOR_ID, SUPERVISOR_ID, COUNTY):
                await conn.execute("INSERT INTO user_preferences (user_id, quiet_off, updated_at) VALUES (?, 1, ?) "
                                   "ON CONFLICT (user_id) DO UPDATE SET quiet_off = 1", (user_id, NOW))
    finally:
        await services.db.close()


def _at(day: date, hour: int = 8, minute: int = 30) -> str:
    """CLOCK_SHIFT_SECONDS that puts the bot's clock at `day` `hour`:`minute` at the school."""
    target = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)
    return str((target - datetime.now(timezone.utc)).total_seconds())


def _case(database) -> tuple[str, int] | None:
    with sqlite3.connect(database) as conn:
        row = conn.execute("SELECT state, step FROM dropout_cases ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


async def _roll(teacher, absent: list[str]) -> None:
    """/attendance, a tap on each absent child, then Done."""
    await teacher.send_command("attendance")
    roll = await teacher.wait_message(timeout=10, predicate=lambda m: (m.text or "").startswith("📋"))
    for name in absent:
        await teacher.press(name, message_id=roll.message_id)
        await teacher.wait_until(lambda name=name: f"✖ {name}" in str(roll.buttons), timeout=10)
    done = _("✔ Done: {n} absent").format(n=len(absent))
    await teacher.press(done, message_id=roll.message_id)
    await teacher.wait_until(lambda: roll.text.startswith("✅"), timeout=10)


async def _attempt(teacher, case_label: str, method: str, attitude: str, result: str) -> None:
    await teacher.send_command("dropouts")
    listed = await teacher.wait_message(timeout=10, predicate=lambda m: case_label in str(m.buttons))
    await teacher.press(case_label, message_id=listed.message_id)
    await teacher.wait_until(lambda: _("✍️ Record a persuasion attempt") in str(listed.buttons), timeout=10)
    await teacher.press(_("✍️ Record a persuasion attempt"), message_id=listed.message_id)
    await teacher.wait_until(lambda: method in str(listed.buttons), timeout=10)
    await teacher.press(method, message_id=listed.message_id)
    await teacher.wait_until(lambda: attitude in str(listed.buttons), timeout=10)
    await teacher.press(attitude, message_id=listed.message_id)
    await teacher.wait_until(lambda: listed.text == _("What came of it? Write the result."), timeout=10)
    await teacher.send_text(result)
    await teacher.wait_message(timeout=10, predicate=lambda m: m.text == _("What is the next step?"))
    await teacher.send_text("下周再去家访")
    skip = await teacher.wait_message(timeout=10, predicate=lambda m: _("Skip") in str(m.buttons))
    await teacher.press(_("Skip"), message_id=skip.message_id)
    await teacher.wait_message(timeout=10, predicate=lambda m: (m.text or "").startswith(
        _("Recorded: the persuasion attempt.")))


async def test_an_absence_is_asked_about_at_once_and_three_school_days_make_a_suspected_dropout(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await _seed(str(bot.database))
        county = subprocess.run(
            [sys.executable, "-m", "bot", "county-contact", "--township", "青山镇", "--telegram", str(COUNTY),
             "--name", "县教育局控辍保学办"], env=bot.env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert county.returncode == 0, county.stderr
        users = {uid: sandbox.user(uid, name, language_code="zh-hans") for uid, name in (
            (ADMIN_ID, "周校长"), (TEACHER_ID, "王老师"), (MOTHER, "李妈妈"), (GRANDMOTHER, "王奶奶"),
            (RED_MOTHER, "陈妈妈"), (DIRECTOR_ID, "张主任"), (SUPERVISOR_ID, "刘督导"), (COUNTY, "县教育局"))}
        for user in users.values():
            user.started = True
        admin, teacher, mother, grandmother = (users[i] for i in (ADMIN_ID, TEACHER_ID, MOTHER, GRANDMOTHER))
        director, supervisor, contact = users[DIRECTOR_ID], users[SUPERVISOR_ID], users[COUNTY]
        told_red = lambda m: "小红" in (m.text or "")  # noqa: E731

        # Monday: both absent without a reason; 小明's family is asked at once, the mother answers "sick".
        bot.env["CLOCK_SHIFT_SECONDS"] = _at(MONDAY)
        await bot.start()
        try:
            await _roll(teacher, ["小明", "小红"])
            began = clock.monotonic()
            asked = _("{child} did not come to school today. Could you tell us why?").format(child="小明")
            question = await mother.wait_message(timeout=5, predicate=lambda m: asked in (m.text or ""))
            await grandmother.wait_message(timeout=5, predicate=lambda m: asked in (m.text or ""))
            assert clock.monotonic() - began < 5
            assert _(ANSWER_LABELS[SICK]) in str(question.buttons)
            await mother.press(_(ANSWER_LABELS[SICK]), message_id=question.message_id)
            answered = await teacher.wait_message(timeout=10, predicate=lambda m: "小明" in (m.text or "")
                                                  and _(ANSWER_LABELS[SICK]) in (m.text or ""))
            assert "李妈妈" in answered.text or "母亲" in answered.text or "妈妈" in answered.text
            # Day 1 of 小红's streak: the school's admin is told; nobody outside the school yet.
            await admin.wait_message(timeout=15, predicate=told_red)
            assert _case(bot.database) == ("open", 1)
            assert not any(told_red(m) for m in director.messages + supervisor.messages + contact.messages)
            # The family of 小红 is asked too, and never hears of 小明.
            assert not any("小明" in (m.text or "") for m in users[RED_MOTHER].messages)
        finally:
            assert await bot.stop() == 0

        # Tuesday is the school's holiday: no roll, and it does not count.
        bot.env["CLOCK_SHIFT_SECONDS"] = _at(HOLIDAY)
        await bot.start()
        try:
            await teacher.send_command("attendance")
            closed = await teacher.wait_message(timeout=10)
            assert closed.text == _(NotSchoolDay.msgid)
        finally:
            assert await bot.stop() == 0

        # Wednesday, day 2: the village child director is asked for a joint visit.
        bot.env["CLOCK_SHIFT_SECONDS"] = _at(MONDAY + timedelta(days=2))
        await bot.start()
        try:
            await _roll(teacher, ["小红"])
            await director.wait_message(timeout=15, predicate=told_red)
            assert _case(bot.database) == ("open", 2)
            assert not any(m.text for m in supervisor.messages + contact.messages)
        finally:
            assert await bot.stop() == 0

        # Thursday, day 3: a suspected dropout; the township's supervisor and the county contact are told.
        bot.env["CLOCK_SHIFT_SECONDS"] = _at(MONDAY + timedelta(days=3))
        await bot.start()
        try:
            await _roll(teacher, ["小红"])
            await supervisor.wait_message(timeout=15, predicate=told_red)
            await contact.wait_message(timeout=15, predicate=lambda m: "⚠️" in (m.text or ""))
            assert _case(bot.database) == ("suspected", 3)

            # Two persuasion attempts, by buttons and a few typed words.
            with sqlite3.connect(bot.database) as conn:
                case_id = conn.execute("SELECT id FROM dropout_cases").fetchone()[0]
            label = _("#{id} {child}").format(id=case_id, child="小红")
            await _attempt(teacher, label, _(METHOD_LABELS["visit"]), _(ATTITUDE_LABELS["hesitant"]),
                           "奶奶说孩子不想上学，答应周末再谈")
            await _attempt(teacher, label, _(METHOD_LABELS["video"]), _(ATTITUDE_LABELS["supportive"]),
                           "和在外打工的妈妈视频，妈妈同意送回学校")

            # The admin makes the written report: a Word document with both attempts.
            await admin.send_command("dropouts")
            listed = await admin.wait_message(timeout=10, predicate=lambda m: label in str(m.buttons))
            await admin.press(label, message_id=listed.message_id)
            await admin.wait_until(lambda: _("📄 Written report") in str(listed.buttons), timeout=10)
            await admin.press(_("📄 Written report"), message_id=listed.message_id)
            report = await admin.wait_message(timeout=15, predicate=lambda m: m.kind == "document"
                                              and (m.message.get("document", {}).get("file_name", "")
                                                   .endswith(".docx")))
            document = docx.Document(io.BytesIO(sandbox.files.get(report.file_id).data))
            text = "\n".join(p.text for p in document.paragraphs)
            cells = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
            assert "小红" in text + cells
            assert "奶奶说孩子不想上学" in cells and "妈妈同意送回学校" in cells

            # 小红 comes back: the teacher marks it.
            await teacher.send_command("dropouts")
            listed = await teacher.wait_message(timeout=10, predicate=lambda m: label in str(m.buttons))
            await teacher.press(label, message_id=listed.message_id)
            await teacher.wait_until(lambda: _("🏫 Back at school") in str(listed.buttons), timeout=10)
            await teacher.press(_("🏫 Back at school"), message_id=listed.message_id)
            await teacher.wait_until(lambda: _("✅ Yes, back at school") in str(listed.buttons), timeout=10)
            await teacher.press(_("✅ Yes, back at school"), message_id=listed.message_id)
            await teacher.wait_until(lambda: _case(bot.database)[0] == "returned", timeout=10)
        finally:
            assert await bot.stop() == 0

        # 31 quiet days later the case is closed.
        bot.env["CLOCK_SHIFT_SECONDS"] = _at(MONDAY + timedelta(days=3 + 31), 10)
        await bot.start()
        try:
            await until(lambda: _case(bot.database)[0] == "closed", timeout=15)
        finally:
            assert await bot.stop() == 0
        assert "Traceback" not in bot.log, bot.log[bot.log.index("Traceback") - 300:][:3000]
