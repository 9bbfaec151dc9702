"""/settings, /outbox and my_chat_member through the production application; quiet hours as a rule."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.notices import Outbox, quiet_end, split_text
from storage.outbox import Reachability
from tests.helpers import callback_update, message_update, user
from tests.world import World


async def test_quiet_hours_presets_and_time_zone_by_button(feed, recorder, app):
    me = user(5001, "zh-hans")
    await feed(message_update("/settings", from_user=me))
    first = recorder.sent()[-1]
    # Issue 14: a Chinese screen named its zones Asia/Shanghai; now in the reader's words, by Babel.
    assert "22:00–07:00" in first.text and "时区：中国（上海）时间" in first.text and "Asia/" not in first.text
    assert "中国（上海）时间" in first.buttons and "俄罗斯（莫斯科）时间" in first.buttons
    assert not any("/" in label for label in first.buttons)
    await feed(callback_update("qh:23000600", from_user=me))
    await feed(callback_update("tz:5", from_user=me))  # Europe/Moscow
    prefs = await app.bot_data.services.preferences.delivery(5001)
    assert (prefs.quiet_start, prefs.quiet_end, prefs.quiet_off, prefs.timezone) == ("23:00", "06:00", False,
                                                                                      "Europe/Moscow")
    assert "俄罗斯（莫斯科）时间" in recorder.sent("editMessageText")[-1].text
    await feed(message_update("/settings", from_user=user(5009, "en")))
    assert "Russia (Moscow) Time" in recorder.sent()[-1].buttons


async def test_the_settings_say_until_when_messages_wait(feed, recorder):
    # An afternoon rest (a proxy parent on the night shift) does not end "in the morning".
    await feed(message_update("/settings quiet 13:00 16:30", from_user=user(5004, "zh-hans")))
    said = recorder.sent()[-1].text
    assert "13:00–16:30：这段时间的消息等到 16:30 再送" in said and "早上" not in said
    # Issue 14: a typed change was saved without a word; it says so first.
    assert said.startswith("✅ 已保存。\n\n")
    await feed(message_update("/settings zone Asia/Urumqi", from_user=user(5004, "zh-hans")))
    assert recorder.sent()[-1].text.startswith("✅ 已保存。")
    await feed(message_update("/settings", from_user=user(5004, "zh-hans")))
    assert not recorder.sent()[-1].text.startswith("✅")


@pytest.mark.parametrize("args", ["quiet 25:00 07:00", "quiet 22:00 22:00", "zone Mars/Base", "nonsense"])
async def test_bad_settings_are_explained_and_change_nothing(feed, recorder, app, args):
    await feed(message_update(f"/settings {args}", from_user=user(5002, "en")))
    assert recorder.sent()[-1].text.startswith(("I do not know", "I could not read", "Write /settings"))
    assert await app.bot_data.services.preferences._repo.get(5002) is None


async def test_forged_settings_buttons_change_nothing(feed, recorder, app):
    for data in ("tz:99", "qh:9999", "qh:22000700x"):
        await feed(callback_update(data, from_user=user(5003, "en")))
    assert [c.params["text"] for c in recorder.sent("answerCallbackQuery")] == ["This button is no longer valid."] * 3
    assert await app.bot_data.services.preferences._repo.get(5003) is None


async def test_blocking_the_bot_marks_the_person_unreachable_and_unblocking_reachable(feed, app):
    def member_update(status: str, update_id: int) -> dict:
        who = user(5004)
        return {"update_id": update_id, "my_chat_member": {
            "chat": {"id": 5004, "type": "private", "first_name": "x"}, "from": who, "date": 0,
            "old_chat_member": {"status": "member", "user": {"id": 424242, "is_bot": True, "first_name": "b"}},
            "new_chat_member": {"status": status, "until_date": 0,
                                "user": {"id": 424242, "is_bot": True, "first_name": "b"}}}}

    repo = app.bot_data.services.outbox.repo
    world = await World.build(app.bot_data.services)
    await world.person("李妈妈", user_id=5004)
    await feed(member_update("kicked", 900001))
    assert await repo.reachable("telegram", "5004") is False
    await feed(member_update("member", 900002))
    assert await repo.reachable("telegram", "5004") is True


async def test_outbox_is_for_admins_and_counts_by_state(feed, recorder, app):
    world = await World.build(app.bot_data.services)
    admin = await world.person("校长", "admin")
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        await services.outbox.add(conn, Outbox.texts("k1", "telegram", "5005", "hello", urgent=True))
    await feed(message_update("/outbox", from_user=user(5006)))
    assert recorder.sent()[-1].text == "只有学校管理员可以查看发件箱。"
    await feed(message_update("/outbox", from_user=user(admin)))
    assert "等待发送: 1" in recorder.sent()[-1].text


@pytest.mark.parametrize(("local", "zone", "ends"), [
    (datetime(2026, 3, 2, 23, 30), "Asia/Shanghai", datetime(2026, 3, 3, 7, 0)),
    (datetime(2026, 3, 3, 6, 59), "Asia/Shanghai", datetime(2026, 3, 3, 7, 0)),
    (datetime(2026, 3, 3, 7, 0), "Asia/Shanghai", None),
    (datetime(2026, 3, 2, 21, 59), "Europe/Moscow", None),
    # the night Europe/Berlin moves its clocks forward: the window still ends at 07:00 local time
    (datetime(2026, 3, 29, 1, 30), "Europe/Berlin", datetime(2026, 3, 29, 7, 0)),
])
def test_quiet_end(local, zone, ends):
    zone_info = ZoneInfo(zone)
    found = quiet_end(local.replace(tzinfo=zone_info), time(22), time(7))
    assert found == (ends.replace(tzinfo=zone_info) if ends else None)


def test_long_texts_are_split_at_line_or_word_boundaries():
    text = "\n".join(f"第{n}行 " + "字" * 50 for n in range(200))
    pieces = split_text(text)
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) > 1
    assert "".join(p.replace("\n", "") for p in pieces) == text.replace("\n", "")
    assert all(p.startswith("第") for p in pieces)


async def test_what_failed_because_someone_was_unreachable_goes_out_when_they_write(feed, app):
    services = app.bot_data.services
    world = await World.build(services)
    await world.person("王奶奶", user_id=5007)
    async with services.db.transaction() as conn:
        [row_id] = await services.outbox.add(conn, Outbox.texts("k2", "telegram", "5007", "小明今天很好", urgent=True))
    await services.outbox.repo.lease(row_id)
    await services.outbox.repo.finish(row_id, "undeliverable", "Unreachable:bot can't initiate conversation", "x")
    await services.outbox.repo.set_reachable(Reachability("telegram", "5007", False, "Unreachable", "x"))

    await feed(message_update("/start", from_user=user(5007)))
    assert await services.outbox.repo.reachable("telegram", "5007") is True
    assert (await services.outbox.repo.counts()).get("pending") == 1
