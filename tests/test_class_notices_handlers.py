"""/notice through the production application: a class teacher writes a notice once; every parent and guardian of
the class whose child's consent stands gets it (bulk lane, saveable) with "✅ Received"; the teacher sees which
families have read it and reminds the rest once; a family without consent gets nothing, and nobody else can
read the teacher's list."""

from __future__ import annotations

import pytest

from bot.access.policy import ADMIN, GUARDIAN, PARENT, TEACHER
from bot.class_notices import NoticeStep
from bot.notices import BULK
from tests.helpers import callback_update, deliver_outbox, labels, last, message_update, outbox, press, who
from tests.world import World

NOTICE = "周五下午三点开家长会，请到三年级一班教室。"


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services, classes=("三年级一班", "三年级二班"))
    for name in ("小明", "小红", "小刚"):
        await world.child(name, "三年级一班")
    await world.child("小华", "三年级二班")
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("校长", ADMIN)
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother")
    await world.person("张爸爸", PARENT, child="小红", relation="father")
    await world.person("刘妈妈", PARENT, child="小刚", relation="mother")   # has not agreed to the rules
    await world.person("陈妈妈", PARENT, child="小华", relation="mother")   # another class
    await world.consent("小明", by="李妈妈")
    await world.consent("小红", by="张爸爸")
    await world.consent("小华", by="陈妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def texts_to(recorder, world, name: str) -> list:
    chat = world.telegram[name]
    return [c for c in recorder.calls if c.method in ("sendMessage", "sendVoice")
            and int(c.params.get("chat_id", 0)) == chat]


async def _send_notice(feed, recorder, world, app) -> int:
    await feed(message_update("/notice", from_user=who(world, "王老师")))
    assert "Write the notice" in last(recorder, world, "王老师").text
    await feed(message_update(NOTICE, from_user=who(world, "王老师")))
    preview = last(recorder, world, "王老师")
    assert "2 families of 三年级一班 (3 people)" in preview.text and NOTICE in preview.text
    assert "1 family cannot get it yet" in preview.text
    assert await outbox(world) == []  # a draft: nothing goes out before Send
    await press(feed, recorder, world, "王老师", "📤 Send")
    assert "Sent to 2 families" in last(recorder, world, "王老师").text
    return (await world.services.db.fetch_one("SELECT id FROM class_notices"))["id"]


async def test_every_family_with_consent_gets_it_once_in_the_bulk_lane_and_saveable(app, feed, recorder, world):
    await _send_notice(feed, recorder, world, app)
    rows = await outbox(world)
    assert {r["lane"] for r in rows} == {BULK}
    assert not any(r["payload"].get("protect") for r in rows)  # a family keeps the date of the meeting
    recorder.clear()
    await deliver_outbox(app)
    for name in ("李妈妈", "王奶奶", "张爸爸"):
        got = texts_to(recorder, world, name)
        assert len(got) == 1 and NOTICE in got[0].text and "三年级一班" in got[0].text
        assert labels(got[0]) == ["✅ Received"]
        assert not got[0].params.get("protect_content")
    assert texts_to(recorder, world, "刘妈妈") == [] and texts_to(recorder, world, "陈妈妈") == []


async def test_the_teacher_sees_who_has_read_it_and_reminds_the_rest_once(app, feed, recorder, world):
    notice_id = await _send_notice(feed, recorder, world, app)
    await deliver_outbox(app)
    await press(feed, recorder, world, "李妈妈", "✅ Received")
    assert recorder.sent("answerCallbackQuery")[-1].params["text"].startswith("✅ Received")
    await press(feed, recorder, world, "王老师", "📊 Who has read it")
    status = last(recorder, world, "王老师").text
    assert "1 of 2 families have read the notice" in status
    read, rest = status.split("Not yet:")
    assert "小明: 李妈妈 (mum)" in read and "小红" in rest.split("Not sent")[0] and "小刚" in rest.split("Not sent")[1]

    before = {name: len(texts_to(recorder, world, name)) for name in ("张爸爸", "李妈妈", "王奶奶")}
    await press(feed, recorder, world, "王老师", "🔔 Remind those who have not read it (once)")
    await deliver_outbox(app)
    assert ["Reminder" in c.text for c in texts_to(recorder, world, "张爸爸")[before["张爸爸"]:]] == [True]
    assert all(len(texts_to(recorder, world, name)) == before[name] for name in ("李妈妈", "王奶奶"))
    assert "🔔 Remind" not in " ".join(labels(last(recorder, world, "王老师")))
    await feed(callback_update(NoticeStep(notice_id, "r").pack(), from_user=who(world, "王老师")))
    assert "reminded once already" in recorder.sent("answerCallbackQuery")[-1].params["text"]
    assert len([r for r in await outbox(world) if "remind" in r["dedupe_key"]]) == 1

    await press(feed, recorder, world, "张爸爸", "✅ Received")
    await feed(callback_update(NoticeStep(notice_id, "v").pack(), from_user=who(world, "王老师")))
    assert "2 of 2 families" in last(recorder, world, "王老师").text


async def test_received_counts_once_and_a_parent_cannot_read_the_teachers_list(app, feed, recorder, world):
    notice_id = await _send_notice(feed, recorder, world, app)
    await deliver_outbox(app)
    await press(feed, recorder, world, "张爸爸", "✅ Received")
    await feed(callback_update(f"cnr:{notice_id}", from_user=who(world, "张爸爸")))
    assert "already answered" in recorder.sent("answerCallbackQuery")[-1].params["text"]
    # Not sent to her: her press is a stale button, and counts for nobody.
    await feed(callback_update(f"cnr:{notice_id}", from_user=who(world, "刘妈妈")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "This button is no longer valid."
    recorder.clear()
    for forged in ("v", "r", "s"):
        await feed(callback_update(NoticeStep(notice_id, forged).pack(), from_user=who(world, "李妈妈")))
    assert [c.params.get("text") for c in recorder.sent("answerCallbackQuery")] == ["This button is no longer valid."] * 3
    assert texts_to(recorder, world, "李妈妈") == []
    acked = await world.services.db.fetch_all(
        "SELECT child_id FROM class_notice_receipts WHERE acknowledged_at IS NOT NULL")
    assert [r["child_id"] for r in acked] == [world.children["小红"]]


async def test_an_admin_picks_the_class_and_sends_a_voice_note(app, feed, recorder, world):
    await feed(message_update("/notice", from_user=who(world, "校长")))
    assert labels(last(recorder, world, "校长"))[:2] == ["✏️ 三年级一班", "✏️ 三年级二班"]
    await press(feed, recorder, world, "校长", "✏️ 三年级二班")
    update = message_update("", from_user=who(world, "校长"))
    del update["message"]["text"]
    update["message"]["voice"] = {"file_id": "voice-notice", "file_unique_id": "vn", "duration": 5}
    await feed(update)
    assert "1 family of 三年级二班 (1 people)" in last(recorder, world, "校长").text
    await press(feed, recorder, world, "校长", "📤 Send")
    recorder.clear()
    await deliver_outbox(app)
    voice = [c for c in recorder.calls if c.method == "sendVoice"]
    assert [int(c.params["chat_id"]) for c in voice] == [world.telegram["陈妈妈"]]
    assert voice[0].params["voice"] == "voice-notice" and "三年级二班" in voice[0].params["caption"]
    assert texts_to(recorder, world, "李妈妈") == []


async def test_a_teacher_cannot_write_to_another_class_and_a_parent_has_no_notice(app, feed, recorder, world):
    other = world.class_ids["三年级二班"]
    await feed(callback_update(f"cnc:{other}", from_user=who(world, "王老师")))
    assert "cannot send notices to this class" in last(recorder, world, "王老师").text
    await feed(message_update("/notice", from_user=who(world, "李妈妈")))
    assert "class teachers and school admins" in last(recorder, world, "李妈妈").text
    assert await world.services.db.fetch_all("SELECT * FROM class_notices") == []
