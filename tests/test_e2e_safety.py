"""End to end over the sandbox, in Chinese: a proxy parent reports a child in danger at 02:00 while 5,000 bulk
messages wait and the school's admin is in her quiet hours. The admin, the class teacher and the township's
supervisor have it within seconds; nobody acknowledges, so 15 minutes later they are told again and after an
hour every admin of the township is told; the admin acknowledges and the reporter sees it. The family and
another child's proxy parent receive nothing about it. Three days after the police accepted the case without
feedback the reminder goes out, and one person alone cannot close it.

The clock is moved by restarting the bot with CLOCK_SHIFT_SECONDS, as an operator rehearsing would."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.access.policy import ADMIN, GUARDIAN, PARENT, PROXY, SUPERVISOR, TEACHER
from bot.clock import FixedClock, stamp
from bot.i18n import translator
from bot.services import open_services
from bot.settings import Settings
from sandbox import Sandbox
from tests.botprocess import BotProcess, until
from tests.helpers import BOT_TOKEN
from tests.world import World

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMIN_ID, TEACHER_ID, MOTHER, GRANDMOTHER, PROXY_ID, SUPERVISOR_ID, OTHER_PROXY, OTHER_ADMIN = (
    5301, 5302, 5303, 5304, 5305, 5306, 5307, 5308)
BULK = 5_000
CONCERN = "孩子说邻居喝酒后打她，胳膊上有淤青"
_ = translator("zh_CN").gettext


def _two_in_the_morning() -> datetime:
    """The next 02:00 in Shanghai after now."""
    now = datetime.now(SHANGHAI)
    moment = now.replace(hour=2, minute=0, second=0, microsecond=0)
    return moment if moment > now else moment + timedelta(days=1)


def _shift(moment: datetime) -> str:
    return str((moment - datetime.now(timezone.utc)).total_seconds())


async def _seed(database: str, at: datetime) -> None:
    services = await open_services(Settings(token=BOT_TOKEN, database_path=database), FixedClock(at))
    try:
        world = await World.build(services)
        await world.township("青山镇", ("青山村",))
        other = await World.build(services, school="红星小学", classes=("一年级一班",))
        await other.township("青山镇", ())
        await world.child("小明")
        await world.child("小红")
        await world.person("王校长", ADMIN, user_id=ADMIN_ID)
        await world.person("陈老师", TEACHER, klass="三年级一班", user_id=TEACHER_ID)
        await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=MOTHER)
        await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother", user_id=GRANDMOTHER)
        await world.person("赵阿姨", PROXY, child="小明", user_id=PROXY_ID)
        await world.person("孙督导", SUPERVISOR, user_id=SUPERVISOR_ID)
        await world.person("钱阿姨", PROXY, child="小红", user_id=OTHER_PROXY)
        await other.person("周校长", ADMIN, user_id=OTHER_ADMIN)
        await world.consent("小明", by="李妈妈")
        await world.consent("小红", by="李妈妈")  # the other proxy parent may work with 小红
    finally:
        await services.db.close()
    # 5,000 bulk notices already waiting (a class-wide digest), to people whose quiet hours are off so that they
    # really compete; their chats do not exist, so each ends undeliverable after its try.
    with sqlite3.connect(database) as db:
        now = stamp(at)
        db.executemany(
            "INSERT INTO outbox (dedupe_key, channel, recipient, kind, payload, not_before, created_at, lane) "
            "VALUES (?, 'telegram', ?, 'text', ?, ?, ?, 3)",
            [(f"bulk:{n}", str(900_000 + n), '{"text": "本周汇总"}', now, now) for n in range(BULK)])
        db.executemany("INSERT INTO user_preferences (user_id, quiet_off, updated_at) VALUES (?, 1, ?)",
                       [(900_000 + n, now) for n in range(BULK)])


def _about_it(person) -> list[str]:
    """What this person received that mentions the report."""
    return [m.text or m.caption or "" for m in person.messages
            if CONCERN in (m.text or m.caption or "") or "强制报告" in (m.text or "") or "报告" in (m.text or "")]


def _alerts(person) -> list:
    """The report's alerts this person got (the first, and each telling again): each has a "✅ 收到" button."""
    return [m for m in person.messages if "🆘" in (m.text or "") and any("收到" in label for row in m.buttons
                                                                         for label in row)]


async def test_a_report_at_two_in_the_morning_reaches_the_school_at_once_and_escalates_until_acknowledged(tmp_path):
    start = _two_in_the_morning()
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN, CLOCK_SHIFT_SECONDS=_shift(start))
        await _seed(str(bot.database), start.astimezone(timezone.utc))
        people = {i: sandbox.user(i, name, language_code="zh-hans") for i, name in (
            (ADMIN_ID, "王校长"), (TEACHER_ID, "陈老师"), (MOTHER, "李妈妈"), (GRANDMOTHER, "王奶奶"),
            (PROXY_ID, "赵阿姨"), (SUPERVISOR_ID, "孙督导"), (OTHER_PROXY, "钱阿姨"), (OTHER_ADMIN, "周校长"))}
        for person in people.values():
            person.started = True
        proxy, admin = people[PROXY_ID], people[ADMIN_ID]
        told = (people[ADMIN_ID], people[TEACHER_ID], people[SUPERVISOR_ID])
        await bot.start()
        try:
            await proxy.send_command("report")
            await proxy.wait_message(timeout=10, predicate=lambda m: bool(m.buttons))
            for label in (_("No danger right now"), "疑似家庭暴力", _("Next ▶"), _("Just now")):
                await proxy.wait_until(lambda label=label: _has_button(proxy, label), timeout=10)
                await proxy.press(label)
            await proxy.wait_until(lambda: _has_button(proxy, _("Skip")), timeout=10)
            await proxy.send_text("家里")
            await proxy.wait_until(lambda: any("📝" not in (m.text or "") and _("Skip") in str(m.buttons)
                                               and "发生了什么" in (m.text or "") for m in proxy.messages), timeout=10)
            await proxy.send_text(CONCERN)
            await proxy.wait_until(lambda: _has_button(proxy, _("Next ▶")), timeout=10)
            await proxy.press(_("Next ▶"))
            await proxy.wait_until(lambda: any("照片" in (m.text or "") for m in proxy.messages), timeout=10)
            await proxy.press(_("Skip"))
            await proxy.wait_until(lambda: _has_button(proxy, _("Not yet")), timeout=10)
            await proxy.press(_("Not yet"))
            await proxy.wait_until(lambda: _has_button(proxy, _("Asking the school for help first")), timeout=10)
            await proxy.press(_("Asking the school for help first"))
            await proxy.wait_until(lambda: _has_button(proxy, _("📤 Send the report")), timeout=10)

            sent_at = time.monotonic()
            await proxy.press(_("📤 Send the report"))
            for person in told:
                await person.wait_until(lambda p=person: bool(_alerts(p)), timeout=10)
            took = time.monotonic() - sent_at
            assert took < 5, f"the alerts took {took:.1f} s"
            alert = _alerts(admin)[0]
            assert CONCERN in alert.text and _("✅ Received").lstrip("✅ ") in str(alert.buttons)
            # 02:00 is inside the admin's quiet hours (22:00-07:00 by default): a report is never held for them.
            with sqlite3.connect(bot.database) as db:
                waiting = db.execute("SELECT COUNT(*) FROM outbox WHERE lane = 3 AND state = 'pending'").fetchone()[0]
            assert waiting > BULK / 2   # the bulk backlog was still there while the report overtook it
        finally:
            assert await bot.stop() == 0

        # 15 minutes later, nobody has pressed 收到: everyone told is told again.
        bot.env["CLOCK_SHIFT_SECONDS"] = _shift(start + timedelta(minutes=15, seconds=40))
        await bot.start()
        try:
            for person in told:
                await person.wait_until(lambda p=person: len(_alerts(p)) >= 2, timeout=20)
            assert not _alerts(people[OTHER_ADMIN])
        finally:
            assert await bot.stop() == 0

        # An hour later, still nobody: every admin of the township is told (the other school's too).
        bot.env["CLOCK_SHIFT_SECONDS"] = _shift(start + timedelta(minutes=60, seconds=40))
        await bot.start()
        try:
            await people[OTHER_ADMIN].wait_until(lambda: bool(_alerts(people[OTHER_ADMIN])), timeout=20)
            # The admin acknowledges; the reporter sees who did.
            latest = _alerts(admin)[-1]
            await admin.press("✅ " + _("Received"), message_id=latest.message_id)
            await proxy.wait_until(lambda: any((m.text or "").startswith("✅ 王校长") for m in proxy.messages),
                                   timeout=10)
            # The police accepted the case (the admin records it from the case).
            await admin.press("📂 " + _("Open the case"), message_id=latest.message_id)
            await admin.wait_until(lambda: _has_button(admin, _("🚓 Police accepted")), timeout=10)
            await admin.press(_("🚓 Police accepted"))
            prompt = _("The police accepted the case. Add a note (the station, the case number), or press Skip.")
            await admin.wait_until(lambda: any(prompt in (m.text or "") for m in admin.messages), timeout=10)
            await admin.send_text("青山派出所，案号 2026-118")   # typed: the station and the case number
            await until(lambda: _one(bot.database, "SELECT accepted_at FROM safety_reports") is not None)
        finally:
            assert await bot.stop() == 0

        # 72 hours after the police accepted it, no feedback is recorded: the reporter and the admins are reminded.
        accepted = _one(bot.database, "SELECT accepted_at FROM safety_reports")
        due = datetime.fromisoformat(accepted) + timedelta(hours=72, seconds=40)
        bot.env["CLOCK_SHIFT_SECONDS"] = _shift(due)
        before = {p: len(p.messages) for p in (proxy, admin)}
        await bot.start()
        try:
            for person in (proxy, admin):
                await person.wait_until(lambda p=person: any(
                    "反馈" in (m.text or "") for m in p.messages[before[p]:]), timeout=20)
            # Closing needs a second person: the admin asks, and cannot confirm it herself.
            await admin.send_command("reports")
            await admin.wait_until(lambda: _has_button(admin, "#1 小明"), timeout=10)
            await admin.press("#1 小明")
            await admin.wait_until(lambda: _has_button(admin, _("📁 Ask to close")), timeout=10)
            await admin.press(_("📁 Ask to close"))
            why = _("Why can the case be closed? Press a reason, or type it. A second person must confirm.")
            await admin.wait_until(lambda: any(why in (m.text or "") for m in admin.messages), timeout=10)
            await admin.send_text("孩子已由民政临时监护，警方已处理")
            await admin.wait_until(lambda: _has_button(admin, _("✅ Confirm the closing")), timeout=10)
            query = await admin.press(_("✅ Confirm the closing"))
            answer = await _answered(admin, query)
            refusal = _("Closing needs a second person: someone else handling the case must confirm.")
            assert (answer and answer.get("text") == refusal) or any(m.text == refusal for m in admin.messages[-3:])
            with sqlite3.connect(bot.database) as db:
                assert db.execute("SELECT state FROM safety_reports").fetchone()[0] != "closed"

            # The family and another child's proxy parent received nothing about it; the mother's timeline and
            # data show nothing of it.
            mother = people[MOTHER]
            await mother.send_command("timeline")
            await mother.wait_message(timeout=10)
            await mother.send_command("mydata")
            await mother.wait_until(lambda: any(m.kind == "document" for m in mother.messages), timeout=15)
            for person in (mother, people[GRANDMOTHER], people[OTHER_PROXY]):
                assert not _about_it(person), person
                for m in person.messages:
                    assert CONCERN not in (m.text or m.caption or "")
                    if m.kind == "document":
                        stored = sandbox.files.get(m.file_id)
                        assert stored is not None and CONCERN.encode() not in stored.data
                        assert "强制报告".encode() not in stored.data
        finally:
            assert await bot.stop() == 0


def _one(database, sql: str):
    with sqlite3.connect(database) as db:
        return db.execute(sql).fetchone()[0]



def _has_button(person, label: str) -> bool:
    return any(label in row for m in person.messages if not m.deleted for row in (m.buttons or []))


async def _answered(person, query: str) -> dict | None:
    for _attempt in range(50):
        answer = person.callback_answer(query)
        if answer is not None:
            return answer
        await asyncio.sleep(0.1)
    return None
