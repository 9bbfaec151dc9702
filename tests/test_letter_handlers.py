"""亲情书信 (issue 14, item 11): a proxy parent sends the child's letter (photos of the handwritten pages and the
child reading it aloud), the family receives it with the photos theirs to keep and answers through the relay; /due
asks for one letter a semester; the letter stays in the timeline. Driven through the production application."""

from __future__ import annotations

import itertools
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.access.policy import GUARDIAN, PARENT, PROXY, TEACHER
from bot.musts.tracker import DONE, DUE, LETTER, Fact, Must, check
from tests.helpers import callback_update, last, message_update, outbox, press, who
from tests.world import World

_ids = itertools.count(90_000)


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.person("王老师", TEACHER, klass="三年级一班", user_id=9801)
    await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=9802)
    await world.person("奶奶", GUARDIAN, child="小明", relation="grandmother", user_id=9803)
    await world.person("赵阿姨", PROXY, child="小明", user_id=9804)
    await world.consent("小明", by="李妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def raw(sender: dict, **fields) -> dict:
    chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "from": sender, **fields}
    return {"update_id": next(_ids), "message": message}


def photo(n: int) -> dict:
    return {"photo": [{"file_id": f"lp{n}", "file_unique_id": f"lu{n}", "width": 800, "height": 800,
                       "file_size": 50_000}]}


def voice(n: int) -> dict:
    return {"voice": {"file_id": f"lv{n}", "file_unique_id": f"luv{n}", "duration": 40, "file_size": 90_000}}


async def _send_letter(feed, recorder, world) -> dict:
    proxy = who(world, "赵阿姨")
    await feed(message_update("/letter", from_user=proxy))
    assert last(recorder, world, "赵阿姨").text.startswith("✉️ Letter for 小明")
    album = {"media_group_id": "letter-1"}
    await feed(raw(proxy, **photo(1), **album))
    await feed(raw(proxy, **photo(2), **album))
    await feed(raw(proxy, **voice(1)))
    assert "📷 2 photos · 🎤 1 voice note" in last(recorder, world, "赵阿姨").text
    await press(feed, recorder, world, "赵阿姨", "📤 Send")
    assert "on its way to 李妈妈, 奶奶" in last(recorder, world, "赵阿姨").text
    return proxy


async def test_a_proxy_parents_letter_reaches_the_mother_with_its_photos_and_she_writes_back(feed, recorder, world):
    proxy = await _send_letter(feed, recorder, world)
    mine = [r for r in await outbox(world) if r["recipient"] == str(world.telegram["李妈妈"])]
    assert [r["kind"] for r in mine] == ["media_group", "media", "text"]
    assert [m["file_id"] for m in mine[0]["payload"]["media"]] == ["lp1", "lp2"]
    # The child's own family keeps the letter's photos and the child's voice (issue 14, item 10).
    assert "protect" not in mine[0]["payload"] and "protect" not in mine[1]["payload"]
    assert mine[1]["payload"]["type"] == "voice"
    card = mine[2]["payload"]["text"]
    assert card.startswith("✉️ 小明's letter · Mar 2\nproxy parent 赵阿姨")
    buttons = [b for row in mine[2]["payload"]["actions"] for b in row]
    assert [b["label"] for b in buttons] == ["✅ Received", "✍️ Write back"]

    # "Write back" opens the relay to whoever sent the letter; the mother's answer reaches the proxy parent.
    mother = who(world, "李妈妈")
    await feed(callback_update(buttons[1]["data"], from_user=mother))
    await feed(message_update("小明，妈妈收到你的信了，想你！", from_user=mother))
    to_proxy = [r for r in await outbox(world) if r["recipient"] == str(proxy["id"])]
    assert any("妈妈收到你的信了" in (r["payload"].get("text") or "") for r in to_proxy)


async def test_due_asks_for_one_letter_a_semester(feed, recorder, world, clock):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/due", from_user=proxy))
    assert "⏰ Child's letter this semester 0/1 · by Jul 31" in last(recorder, world, "赵阿姨").text
    await _send_letter(feed, recorder, world)
    await feed(message_update("/due", from_user=proxy))
    assert "✅ Child's letter this semester 1/1" in last(recorder, world, "赵阿姨").text
    # The autumn semester asks again.
    clock.advance(timedelta(days=160))
    await feed(message_update("/due", from_user=proxy))
    assert "⏰ Child's letter this semester 0/1 · by Jan 31" in last(recorder, world, "赵阿姨").text
    # Never overdue: last semester's missing letter is history, not a reminder.
    await feed(message_update("/due", from_user=who(world, "王老师")))
    assert "⏰ Child's letter this semester 0/1" in last(recorder, world, "王老师").text


async def test_the_letter_stays_in_the_childs_timeline(feed, recorder, world):
    await _send_letter(feed, recorder, world)
    await feed(message_update("/timeline", from_user=who(world, "李妈妈")))
    page = last(recorder, world, "李妈妈").text
    assert page.startswith("📖 小明's timeline (1/1)")
    assert "✉️ 小明's letter · Mar 2" in page and "📷 2 photos · 🎤 1 voice note" in page


def test_a_semester_is_february_to_july_or_august_to_january():
    tz = ZoneInfo("Asia/Shanghai")
    since = datetime(2025, 8, 1, tzinfo=tz)

    def letter(now: datetime, *written: datetime) -> Must:
        found = check([Fact(LETTER, at) for at in written], now=now, tz=tz, since=since)
        return next(m for m in found if m.key == LETTER)

    # A letter of late January counts for the autumn semester, not the spring one that begins in February.
    january = datetime(2026, 1, 31, 20, tzinfo=tz)
    assert letter(january, january).state == DONE
    spring = letter(datetime(2026, 2, 1, 9, tzinfo=tz), january)
    assert (spring.state, spring.done, spring.deadline, spring.period) == (DUE, 0, date(2026, 7, 31), "2026-02")
    assert letter(datetime(2026, 8, 1, 9, tzinfo=tz), january).deadline == date(2027, 1, 31)
