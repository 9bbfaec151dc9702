"""End to end over the sandbox, with the real bot process: the proxy parent sets 小明's weekly video call with
buttons, the mother agrees; the bot is stopped and started again a day before the call (its clock shifted,
CLOCK_SHIFT_SECONDS) and the family and the proxy parent get the reminder once; started again after the call,
the proxy parent is asked, confirms it happened, and sees it in /videos."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.i18n import translator
from bot.video.service import weekday_name
from sandbox import Sandbox
from tests.botprocess import BotProcess
from tests.helpers import BOT_TOKEN
from tests.world import seed_family

MOTHER, PROXY_PARENT, GRANDMOTHER = 5201, 5202, 5203


async def test_a_slot_agreed_reminded_confirmed_and_seen_in_videos(tmp_path):
    _ = translator("zh_CN").gettext
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await seed_family(str(bot.database), mother=MOTHER, proxy=PROXY_PARENT, grandmother=GRANDMOTHER)
        mother = sandbox.user(MOTHER, "李妈妈", language_code="zh-hans")
        proxy = sandbox.user(PROXY_PARENT, "赵阿姨", language_code="zh-hans")
        grandmother = sandbox.user(GRANDMOTHER, "王奶奶", language_code="zh-hans")
        for person in (mother, proxy, grandmother):
            person.started = True
        # Two days ahead, so that even late in the evening the day-before reminder is still to come.
        day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)).weekday()

        await bot.start()
        try:
            await proxy.send_command("video")
            await proxy.wait_message(timeout=10, predicate=lambda m: bool(m.buttons))
            for label in (_("🗓 Set a weekly time"), weekday_name(day, "zh_CN"), "19:30",
                          _("{minutes} min").format(minutes=30), "🏫 亲情室"):
                await proxy.wait_until(lambda label=label: _has_button(proxy, label), timeout=10)
                await proxy.press(label)
            await proxy.wait_until(lambda: any((m.text or "").startswith("📨") for m in proxy.messages), timeout=10)
            proposal = await mother.wait_message(timeout=15, predicate=lambda m: bool(m.buttons))
            assert "赵阿姨" in proposal.text and "19:30" in proposal.text and "亲情室" in proposal.text
            await mother.press(_("✅ Yes, that suits"))
            await mother.wait_until(lambda: any((m.text or "").startswith("✅") for m in mother.messages), timeout=10)
            await proxy.wait_message(timeout=15, predicate=lambda m: "李妈妈" in (m.text or "") and "19:30" in m.text)
        finally:
            assert await bot.stop() == 0

        start = _first_call(bot.database)
        # Started again a day (and a minute) before the call: the reminder goes out at once, and only once.
        bot.env["CLOCK_SHIFT_SECONDS"] = str((start - timedelta(days=1, seconds=-60) - _now()).total_seconds())
        reminder = _("📅 Reminder: {child}'s video call is on {time}, {minutes} min, {place}.").split("{")[0]
        await bot.start()
        try:
            for person in (mother, grandmother, proxy):
                await person.wait_until(lambda p=person: _count(p, reminder) >= 1, timeout=15)
        finally:
            assert await bot.stop() == 0
        await bot.start()   # and again: the schedule runs two seconds after a start; nothing is due twice
        try:
            await asyncio.sleep(4)
        finally:
            assert await bot.stop() == 0
        for person in (mother, grandmother, proxy):
            assert _count(person, reminder) == 1

        # Started again 20 minutes after the call's end: the short reminder is too late and is skipped; the
        # proxy parent is asked whether the call happened.
        bot.env["CLOCK_SHIFT_SECONDS"] = str((start + timedelta(minutes=50) - _now()).total_seconds())
        await bot.start()
        try:
            question = await proxy.wait_message(timeout=15, predicate=lambda m: bool(m.buttons) and "小明" in m.text)
            assert question.text.startswith("📹")
            await proxy.press(_("✅ Yes, it happened"))
            await proxy.wait_until(lambda: any(_("✅ Recorded: the video call happened. Thank you.") == m.text
                                               for m in proxy.messages), timeout=10)
            await proxy.send_command("videos")
            picture = await proxy.wait_message(timeout=10, predicate=lambda m: (m.text or "").startswith("📹"))
            assert _("✅ Happened ({n})").format(n=1) + "\n小明" in picture.text
            assert not any("⏰" in (m.text or "") for m in mother.messages)
        finally:
            assert await bot.stop() == 0


def _has_button(person, label: str) -> bool:
    return any(label in [b for row in m.buttons for b in row] for m in person.messages if m.buttons)


def _count(person, prefix: str) -> int:
    return sum(1 for m in person.messages if (m.text or "").startswith(prefix))


def _first_call(database) -> datetime:
    with sqlite3.connect(database) as conn:
        return datetime.fromisoformat(conn.execute("SELECT MIN(starts_at) FROM video_calls").fetchone()[0])


def _now() -> datetime:
    return datetime.now(timezone.utc)
