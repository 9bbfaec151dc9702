"""The outbox end to end: `python -m bot run` drains an outbox filled beforehand, against the sandbox.

The issue's reliability checks, and the sizes run here (the suite must stay within minutes on two cores; the
full sizes are in `python -m bench broadcast`, results in docs/benchmarks.md):

* SIGKILL at a random moment (10 seeds) during a broadcast, restart, drain: every message ends sent or
  undeliverable, none is lost, at most the messages in flight (SEND_CONCURRENCY) are delivered twice. Issue:
  2,000 messages to 500 recipients per seed; here 200 messages to 50 recipients (4 each, as in the issue),
  SEND_RATE=30 with the sandbox's limits off, the kill drawn from the seed.
* Two SIGKILLs during a broadcast with Telegram's limits enforced, each just after the restart's first sends:
  no 429 (the limiter starts as if the killed process had used up every bucket).
* With the sandbox answering 300 ms late, as Telegram does from far away, several sends are in flight at once,
  each chat's messages still arrive in order, and there is no 429.
* With Telegram's limits enforced, a broadcast, 20 photos to one parent and messages to a group get no 429 and
  each message arrives exactly once (a run without a kill repeats nothing). Issue: a 2,000-message broadcast;
  here 200 messages to 50 recipients, 20 photos, 24 group messages (more than the group's bucket of 20).
* An injected 429 with retry_after=3 stops every send for 3 s, then everything is delivered (40 messages).
* Injected 403 (and a recipient who blocked the bot), 400 and 500: the first two end undeliverable after one
  try and the author is told; a 500 is tried again until it goes through.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.services import open_services
from bot.clock import ShiftedClock, SystemClock, stamp
from bot.services import Services
from bot.settings import Settings
from sandbox import Sandbox
from sandbox.users import SimUser
from storage.outbox import Outgoing
from storage.people import NewPerson
from storage.preferences import PreferencesRepository, QuietHours
from tests.botprocess import BotProcess, daytime_shift
from tests.helpers import BOT_TOKEN

SEND_METHODS = ("sendMessage", "copyMessage")
IN_FLIGHT = Settings(token=BOT_TOKEN).send_concurrency  # the most a kill can repeat


async def fill_outbox(database: Path, items: list[Outgoing],
                      setup: Callable[[Services], Awaitable[None]] | None = None, shift: str = "") -> None:
    """Write the rows into the bot's database before it starts, as a service would in its own transaction. The
    bot decides quiet hours when it sends, on the real clock: the recipients have them off, so these tests of
    delivery run the same at any hour."""
    clock = ShiftedClock(SystemClock(), timedelta(seconds=float(shift))) if shift else SystemClock()
    services = await open_services(Settings(token=BOT_TOKEN, database_path=str(database)), clock)
    try:
        if setup is not None:
            await setup(services)
        async with services.db.transaction() as conn:
            await quiet_off(PreferencesRepository(services.db).within(conn), items, stamp(services.clock.now()))
            await services.outbox.add(conn, items)
    finally:
        await services.db.close()


async def quiet_off(preferences: PreferencesRepository, items: list[Outgoing], now: str) -> None:
    for chat in sorted({item.recipient for item in items if item.recipient.isdigit()}):
        await preferences.set_quiet_hours(QuietHours(int(chat), None, None, True, None, now))


def broadcast(tag: str, recipients: list[SimUser], rounds: int) -> list[Outgoing]:
    """`rounds` notices, each to every recipient in turn; every row has its own text, so deliveries can be
    counted one by one."""
    return [Outgoing(f"{tag}:{n}:{u.id}", "telegram", str(u.id), "text", {"text": f"{tag} notice {n} for {u.id}"})
            for n in range(rounds) for u in recipients]


def people(sandbox: Sandbox, first_id: int, count: int) -> list[SimUser]:
    users = [sandbox.user(first_id + n, f"P{n}") for n in range(count)]
    for user in users:
        user.started = True  # they pressed Start long ago
    return users


def deliveries(chats) -> Counter:
    return Counter(m.content for chat in chats for m in chat.messages)


def states(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        return dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())


async def eventually(condition: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.fixture
async def bots():
    """Makes BotProcesses, and kills whatever one is still running when the test ends (a failed test too)."""
    made: list[BotProcess] = []

    def make(sandbox: Sandbox, workdir: Path, **env: str) -> BotProcess:
        # The real clock: the rows are written with it before the bot starts, and their recipients have quiet
        # hours off (a test with a group, which has none to turn off, moves the clock to the day itself).
        made.append(BotProcess(sandbox, workdir, BOT_TOKEN, **{"CLOCK_SHIFT_SECONDS": "", **env}))
        return made[-1]

    yield make
    for bot in made:
        if bot.proc is not None and bot.proc.returncode is None:
            await bot.kill()


async def drained(database: Path, timeout: float) -> None:
    """Until every row has ended (sent, undeliverable or parked)."""
    await eventually(lambda: not {"pending", "leased"} & set(states(database)), timeout)


@pytest.mark.parametrize("seed", range(10))
async def test_a_sigkill_during_a_broadcast_loses_nothing_and_repeats_only_what_was_in_flight(bots, tmp_path,
                                                                                                seed):
    rng = random.Random(seed)
    rate, recipients, rounds = 30, 50, 4
    async with Sandbox(token=BOT_TOKEN, enforce_limits=False) as sandbox:
        users = people(sandbox, 20_000, recipients)
        strangers = rng.sample(users, 2)  # never pressed Start: every message to them is undeliverable
        for user in strangers:
            user.started = False
        items = broadcast(f"s{seed}", users, rounds)
        bot = bots(sandbox, tmp_path, SEND_RATE=str(rate))
        await fill_outbox(bot.database, items)

        await bot.start()
        await eventually(lambda: sum(deliveries(users).values()) > 0, timeout=20)
        # After the first delivery: the opening burst, then `rate` a second; the kill lands before the end.
        await asyncio.sleep(rng.uniform(0, 0.8 * (len(items) - rate) / rate))
        await bot.kill()
        delivered_before = sum(deliveries(users).values())
        assert 0 < delivered_before < len(items) - rounds * len(strangers), "the kill must land mid-broadcast"

        await bot.start()
        await drained(bot.database, timeout=60)
        assert await bot.stop() == 0

    counts = deliveries(users)
    undeliverable = [i for i in items if int(i.recipient) in {u.id for u in strangers}]
    assert states(bot.database) == {"sent": len(items) - len(undeliverable), "undeliverable": len(undeliverable)}
    assert [i.payload["text"] for i in items if i not in undeliverable and counts[i.payload["text"]] == 0] == [], \
        "a message was lost"
    assert sum(counts.values()) - len(counts) <= IN_FLIGHT, "more than the messages in flight were sent twice"
    assert all(not user.messages for user in strangers)


async def test_restarts_after_sigkill_get_no_429(bots, tmp_path):
    async with Sandbox(token=BOT_TOKEN, enforce_limits=True) as sandbox:
        users = people(sandbox, 25_000, 50)
        items = broadcast("restart", users, 4)
        bot = bots(sandbox, tmp_path)
        await fill_outbox(bot.database, items)

        await bot.start()
        for _ in range(2):  # killed twice, each time right after a burst: the buckets on Telegram's side are empty
            delivered = sum(deliveries(users).values())
            await eventually(lambda: sum(deliveries(users).values()) >= delivered + 10, timeout=20)
            await bot.kill()
            await bot.start()
        await drained(bot.database, timeout=60)
        assert await bot.stop() == 0

        assert sandbox.count(status=429) == 0
    counts = deliveries(users)
    assert sorted(counts) == sorted(i.payload["text"] for i in items)
    assert sum(counts.values()) - len(counts) <= 2 * IN_FLIGHT


async def test_with_telegram_300_ms_away_each_chat_keeps_its_order_and_gets_no_429(bots, tmp_path):
    async with Sandbox(token=BOT_TOKEN, enforce_limits=True, answer_delay=0.3) as sandbox:
        users = people(sandbox, 26_000, 50)
        items = broadcast("far", users, 4)
        bot = bots(sandbox, tmp_path)
        await fill_outbox(bot.database, items)

        await bot.start()
        await drained(bot.database, timeout=90)
        assert await bot.stop() == 0

        assert sandbox.count(status=429) == 0
        sends = [c for c in sandbox.calls if c.method in SEND_METHODS]
    # One at a time, each call would arrive only after the previous one was answered, 0.3 s later.
    assert any(later.at - earlier.at < 0.3 for earlier, later in zip(sends, sends[1:])), "never two in flight"
    assert states(bot.database) == {"sent": len(items)}
    assert all([m.text for m in u.messages] == [f"far notice {n} for {u.id}" for n in range(4)] for u in users)


async def test_telegrams_limits_are_never_exceeded(bots, tmp_path):
    async with Sandbox(token=BOT_TOKEN, enforce_limits=True) as sandbox:
        users = people(sandbox, 30_000, 50)
        parent = sandbox.user(31_000, "Mother")
        parent.started = True
        teacher = sandbox.user(31_001, "Teacher")
        photo = await teacher.send_photo()  # stored in the teacher's chat; the outbox copies it from there
        group = sandbox.group(-100_310_000, "三年级二班家长群", members=users[:5])
        # The photos and the group first: the outbox is first come, first served, and these two chats, at
        # about one message a second and 20 a minute, are what takes longest.
        items = [Outgoing(f"photo:{n}", "telegram", str(parent.id), "copy",
                          {"from_chat_id": teacher.id, "message_id": photo["message_id"], "caption": f"photo {n}"})
                 for n in range(20)]
        items += [Outgoing(f"group:{n}", "telegram", str(group.id), "text", {"text": f"group notice {n}"})
                  for n in range(24)]
        items += broadcast("limits", users, 4)
        # 10:00 at the school for the rows and the bot alike: the group's notices (a group has no quiet hours of
        # its own to turn off) are not held for the night, whatever the hour the tests run.
        shift = daytime_shift()
        bot = bots(sandbox, tmp_path, CLOCK_SHIFT_SECONDS=shift)
        await fill_outbox(bot.database, items, shift=shift)

        await bot.start()
        await drained(bot.database, timeout=90)
        assert await bot.stop() == 0

        assert sandbox.count(status=429) == 0
    assert states(bot.database) == {"sent": len(items)}
    counts = deliveries([*users, parent, group])
    assert sorted(counts) == sorted(i.payload.get("text") or i.payload["caption"] for i in items)
    assert set(counts.values()) == {1}, "a run without a kill sent something twice"
    assert [m.caption for m in parent.messages] == [f"photo {n}" for n in range(20)]
    assert all(m.kind == "photo" and m.from_copy for m in parent.messages)
    assert [m.text for m in group.messages] == [f"group notice {n}" for n in range(24)]
    assert all([m.text for m in u.messages] == [f"limits notice {n} for {u.id}" for n in range(4)] for u in users)


async def test_a_flood_wait_stops_every_send_for_its_seconds(bots, tmp_path):
    async with Sandbox(token=BOT_TOKEN, enforce_limits=False) as sandbox:
        users = people(sandbox, 40_000, 40)
        items = broadcast("flood", users, 1)
        bot = bots(sandbox, tmp_path)
        await fill_outbox(bot.database, items)

        await bot.start()
        await eventually(lambda: sum(deliveries(users).values()) >= 10, timeout=20)
        sandbox.inject_fault("sendMessage", status=429, retry_after=3)
        await drained(bot.database, timeout=30)
        assert await bot.stop() == 0

        sends = [c for c in sandbox.calls if c.method in SEND_METHODS]
    [flood] = [c for c in sends if c.status == 429]
    after = [c.at - flood.at for c in sends if c.at > flood.at]
    assert after, "nothing was sent after the flood wait"
    # Sends already on their way when the 429 came back (several are in flight at once) may still arrive just
    # after it; nothing new may start during the wait.
    in_flight = [gap for gap in after if gap < 3.0]
    assert all(gap < 0.5 for gap in in_flight), "a message was sent during the flood wait"
    assert len(in_flight) < Settings(token=BOT_TOKEN).send_concurrency
    assert any(gap >= 3.0 for gap in after), "nothing was sent after the flood wait"
    assert deliveries(users) == Counter(i.payload["text"] for i in items)


async def test_403_400_and_500_are_each_handled_and_the_author_is_told(bots, tmp_path):
    async with Sandbox(token=BOT_TOKEN, enforce_limits=True) as sandbox:
        teacher = sandbox.user(50_001, "Zhao")
        teacher.started = True
        blocked, refused, flaky, gone = people(sandbox, 50_002, 4)
        await blocked.block()
        sandbox.inject_fault("sendMessage", status=400, chat_id=refused.id)
        sandbox.inject_fault("sendMessage", status=500, count=2, chat_id=flaky.id)
        sandbox.inject_fault("sendMessage", status=403, chat_id=gone.id)
        names = {blocked.id: "王芳", refused.id: "李娜", flaky.id: "陈杰", gone.id: "周敏"}
        person_of: dict[int, int] = {}

        async def register(services: Services) -> None:
            now = services.clock.now().isoformat()
            async with services.db.transaction() as conn:
                for user_id, name in {teacher.id: "赵老师", **names}.items():
                    person_of[user_id] = await services.people.within(conn).ensure_person(
                        NewPerson("telegram", str(user_id), name, now))
            await services.preferences.set_locale(teacher.id, "en")
            # The notices are written by the running bot, on the real clock: keep the evening out of it.
            await PreferencesRepository(services.db).set_quiet_hours(
                QuietHours(teacher.id, None, None, True, None, stamp(services.clock.now())))

        bot = bots(sandbox, tmp_path)
        await fill_outbox(bot.database, [], register)
        items = [Outgoing(f"note:{u}", "telegram", str(u), "text", {"text": f"note for {names[u]}"},
                          person_id=person_of[u], notify_person_id=person_of[teacher.id]) for u in names]
        await fill_outbox(bot.database, items)

        await bot.start()
        await eventually(lambda: flaky.messages and len(teacher.messages) >= 3, timeout=30)
        await drained(bot.database, timeout=10)
        assert await bot.stop() == 0

        def statuses(user: SimUser) -> list[int]:
            return [c.status for c in sandbox.calls if c.method == "sendMessage" and c.params.get("chat_id") == user.id]

        assert statuses(blocked) == [403]
        assert statuses(gone) == [403]
        assert statuses(refused) == [400]  # final: one call
        assert statuses(flaky) == [500, 500, 200]
    assert [m.text for m in flaky.messages] == ["note for 陈杰"]
    assert not blocked.messages and not refused.messages and not gone.messages

    told = sorted(m.text for m in teacher.messages)
    assert len(told) == 3
    assert told == sorted([
        "A message to 李娜 could not be delivered: Telegram refused it.",
        *[f"A message to {name} could not be delivered: they have blocked Qinqing Bridge or have not opened it "
          "yet. Please ask them to open the bot and press Start." for name in ("周敏", "王芳")],
    ])
    assert states(bot.database) == {"sent": 1 + 3, "undeliverable": 3}
