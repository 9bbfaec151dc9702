"""End to end: `python -m bot` as a process, talking to the offline Bot API sandbox over loopback."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from bot.runtime.intake import Intake
from sandbox import Sandbox
from tests.botprocess import BotProcess
from tests.helpers import BOT_TOKEN


@pytest.fixture
async def sandbox():
    async with Sandbox(token=BOT_TOKEN) as sb:
        yield sb


@pytest.fixture
async def bot(sandbox, tmp_path):
    process = BotProcess(sandbox, tmp_path, BOT_TOKEN)
    await process.start()
    yield process
    if process.proc.returncode is None:
        await process.stop()


async def eventually(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    ("language_code", "start", "help_line", "prompt"),
    [
        ("zh-hans", "亲情桥只对受邀请的人开放", "/language — 切换语言", "请选择语言："),
        ("en", "Qinqing Bridge is by invitation only", "/language — Change the language", "Choose your language:"),
    ],
)
async def test_start_help_and_language_over_the_wire(sandbox, bot, language_code, start, help_line, prompt):
    person = sandbox.user(3001, "Wang", language_code=language_code)
    await person.start()
    assert start in (await person.wait_message(timeout=10)).text

    await person.send_command("help")
    assert help_line in (await person.wait_message(timeout=10)).text

    await person.send_command("language")
    choice = await person.wait_message(timeout=10)
    assert choice.text == prompt
    assert choice.buttons == [["中文"], ["English"]]


async def test_a_language_choice_survives_a_restart(sandbox, bot):
    person = sandbox.user(3002, "Aziz", language_code="zh-hans")
    await person.start()
    await person.wait_message(timeout=10)
    await person.send_command("language")
    choice = await person.wait_message(timeout=10)
    await person.press("English", message_id=choice.message_id)
    await eventually(lambda: choice.text == "From now on I will write to you in English.")
    [menu] = [c for c in sandbox.calls if c.method == "setMyCommands" and c.params.get("scope", {}).get("type") == "chat"]
    assert menu.params["scope"]["chat_id"] == person.id
    assert menu.params["commands"][1]["description"] == "What this bot can do"

    assert await bot.stop() == 0
    await bot.start()
    await person.send_command("help")
    assert (await person.wait_message(timeout=10)).text.startswith("What you can do here:")


async def test_the_command_menu_is_registered_in_both_languages(sandbox, bot):
    menus = {lang: [c["description"] for c in commands] for (scope, lang), commands in sandbox.commands.items()
             if scope == "default"}
    assert menus["zh"][0] == "开始，或凭邀请加入"
    assert menus["en"][0] == "Start, or join with an invitation"
    assert menus[""] == menus["zh"]  # Chinese for apps in any other language


async def test_sigterm_finishes_cleanly(sandbox, bot):
    person = sandbox.user(3003, "Li")
    await person.start()
    await person.wait_message(timeout=10)
    started = time.monotonic()
    assert await bot.stop() == 0
    assert time.monotonic() - started < 10
    assert "Traceback" not in bot.log


async def test_sigkill_in_flight_loses_nothing_and_repeats_nothing_finished(tmp_path):
    """Kill the bot while it works through a queue of updates, restart it, and count the answers."""
    async with Sandbox(token=BOT_TOKEN, enforce_limits=False) as sandbox:
        people = [sandbox.user(10_000 + i, f"P{i}") for i in range(300)]
        for person in people:
            person.started = True  # they pressed Start long ago; only their next message matters here
        update_of = {}
        for n, person in enumerate(people):
            message = {"message_id": 1, "date": int(time.time()), "from": person.user, "chat": person.chat,
                       "text": f"hello {n}"}
            update_of[person.id] = sandbox.push_update({"message": message})

        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await bot.start()
        await eventually(lambda: sum(1 for p in people if p.messages) >= 60, timeout=30)
        await bot.kill()

        with sqlite3.connect(bot.database) as db:
            finished = {row[0] for row in db.execute("SELECT update_id FROM inbox WHERE state = 'done'")}
        answered_before = sum(1 for p in people if p.messages)
        assert 0 < len(finished) < len(people), "the kill must land while updates are in flight"
        assert answered_before < len(people)

        await bot.start()
        await eventually(lambda: all(p.messages for p in people), timeout=60)
        assert await bot.stop() == 0

        replies = {p.id: len(p.messages) for p in people}
        assert all(count >= 1 for count in replies.values()), "an update was lost"
        assert [p for p in replies if update_of[p] in finished and replies[p] != 1] == [], \
            "an update that had finished was handled again"
        repeated = sum(count - 1 for count in replies.values())
        assert repeated <= Intake.MAX_IN_HAND, "more than the updates in hand were handled again"
        with sqlite3.connect(bot.database) as db:
            states = dict(db.execute("SELECT state, COUNT(*) FROM inbox GROUP BY state").fetchall())
        assert states == {"done": len(people)}


async def test_debug_logs_carry_neither_the_token_nor_names_nor_texts(sandbox, tmp_path):
    bot = BotProcess(sandbox, tmp_path, BOT_TOKEN, LOG_LEVEL="DEBUG")
    await bot.start()
    person = sandbox.user(3004, "CanaryName小明", username="canary_user", language_code="en")
    await person.start()
    await person.wait_message(timeout=10)
    await person.send_text("canary text 小明发烧了 13800138000")
    await person.wait_message(timeout=10)
    await person.send_command("language")
    choice = await person.wait_message(timeout=10)
    await person.press("中文", message_id=choice.message_id)
    await eventually(lambda: choice.edits)
    assert await bot.stop() == 0

    log = bot.log
    assert "DEBUG bot.runtime.intake: handled update" in log  # it really ran at DEBUG
    secret = BOT_TOKEN.split(":", 1)[1]
    for leak in (BOT_TOKEN, secret, "CanaryName", "canary_user", "canary text", "小明", "13800138000"):
        assert leak not in log, leak


async def test_a_write_lock_held_by_another_process_delays_answers_but_loses_none(sandbox, bot):
    """A backup or an `sqlite3` shell holds the write lock for 10 s (past the busy timeout) while people write:
    the inbox write fails, is logged once and retried without confirming the offset; when the lock goes,
    every update is answered by the same process."""
    people = [sandbox.user(3100 + i, f"L{i}", language_code="en") for i in range(6)]
    other = sqlite3.connect(bot.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        for person in people:
            await person.start()
        await asyncio.sleep(10)
        assert not any(p.messages for p in people)  # nothing could be stored, so nothing was handled
        other.execute("ROLLBACK")
    finally:
        other.close()
    await eventually(lambda: all(p.messages for p in people), timeout=30)
    assert all("Qinqing Bridge is by invitation only" in p.messages[0].text for p in people)
    assert bot.proc.returncode is None
    assert await bot.stop() == 0
    assert bot.log.count("the inbox cannot be used") == 1
    assert "the inbox works again" in bot.log and "Traceback" not in bot.log


async def test_a_fetch_task_that_dies_ends_the_process_with_an_error(sandbox, bot):
    """A fault that waiting cannot mend (here the inbox refuses every row) ends the fetch task: the process
    says so and exits non-zero, so that a supervisor starts it again, instead of staying up deaf."""
    with sqlite3.connect(bot.database) as db:
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON inbox BEGIN SELECT RAISE(ABORT, 'refused'); END")
    await sandbox.user(3200, "F").start()
    async with asyncio.timeout(20):
        code = await bot._finish()
    assert code == 5
    assert "CRITICAL bot.runtime.intake: the fetch task ended (IntegrityError)" in bot.log
