"""The weekly video call through the production application: a proxy parent proposes a time with buttons, the
mother accepts or answers with another, reminders and the question after the call (read from the outbox: the
sender does not run here), the carer's answer, /videos, and the bad input the issue names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.access.policy import ADMIN, GUARDIAN, PARENT, PROXY, TEACHER
from bot.clock import stamp
from storage.preferences import PreferencesRepository, QuietHours
from tests.helpers import callback_update, message_update, user
from tests.helpers import count, labels, last, outbox, pdf_text, press, who
from tests.world import World

# The conftest clock: Monday 2 March 2026, 16:00 in Shanghai.


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services, classes=("三年级一班", "三年级二班"))
    await world.child("小明")
    await world.child("小红")
    await world.child("小刚", klass="三年级二班")
    await world.person("王老师", TEACHER, klass="三年级一班", user_id=7801)
    await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=7802)
    await world.person("奶奶", GUARDIAN, child="小明", relation="grandmother", user_id=7803)
    await world.person("赵阿姨", PROXY, child="小明", user_id=7804)
    await world.person("陈妈妈", PARENT, child="小红", relation="mother", user_id=7805)
    await world.person("钱叔叔", PROXY, child="小红", user_id=7806)
    await world.person("孙老师", TEACHER, klass="三年级二班", user_id=7807)
    await world.person("刘妈妈", PARENT, child="小刚", relation="mother", user_id=7808)
    await world.person("周校长", ADMIN, user_id=7809)
    await world.consent("小明", by="李妈妈")
    await world.consent("小刚", by="刘妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def mine(rows: list[dict], world, name: str) -> list[dict]:
    return [r for r in rows if r["recipient"] == str(world.telegram[name])]


def data_of(row: dict, label: str) -> str:
    """The data of the button labelled `label` under an outbox row."""
    for line in row["payload"]["actions"]:
        for b in line:
            if b["label"] == label:
                return b["data"]
    raise LookupError(label)


def popup(recorder) -> str:
    """What the latest answer to a button press said over the chat."""
    return recorder.sent("answerCallbackQuery")[-1].params.get("text", "")


async def propose(feed, recorder, world, carer="赵阿姨", day="Sun", at="19:30", length="30 min", room="🏫 亲情室"):
    await feed(message_update("/video", from_user=who(world, carer)))
    await press(feed, recorder, world, carer, "🗓 Set a weekly time")
    for label in (day, at, length, room):
        await press(feed, recorder, world, carer, label)


async def accept(feed, world, name="李妈妈"):
    rows = [r for r in await outbox(world) if r["dedupe_key"].startswith("video-proposal:")]
    await feed(callback_update(data_of(mine(rows, world, name)[-1], "✅ Yes, that suits"), from_user=who(world, name)))


async def asked_after_the_call(feed, recorder, world, clock) -> dict:
    """A weekly time agreed, the clock moved past the first call: the outbox row asking the carer about it."""
    await propose(feed, recorder, world)
    await accept(feed, world)
    clock.set(datetime(2026, 3, 8, 12, 20, tzinfo=timezone.utc))   # Sunday 20:20 in Shanghai
    await world.services.video.run_due()
    return [r for r in await outbox(world) if r["payload"].get("text", "").startswith("📹 Did")][0]


async def test_a_proxy_parent_proposes_with_buttons_and_the_mother_agrees(feed, recorder, world, clock):
    await propose(feed, recorder, world)
    assert "Sent to 李妈妈, 奶奶" in last(recorder, world, "赵阿姨").text
    rows = await outbox(world)
    proposal = mine(rows, world, "李妈妈")[-1]
    assert "赵阿姨 suggests every Sunday at 19:30, 30 min, in 亲情室" in proposal["payload"]["text"]
    assert [b["label"] for b in proposal["payload"]["actions"][0]] == ["✅ Yes, that suits", "🕒 Another time"]
    assert mine(rows, world, "奶奶") and not mine(rows, world, "陈妈妈")

    await accept(feed, world)
    answer = last(recorder, world, "李妈妈").text
    assert answer.startswith("✅ Agreed: 小明's video call every Sunday at 19:30, 30 min, in 亲情室")
    assert "The first is Sun, Mar 8 19:30" in answer
    told = [r for r in await outbox(world) if r["dedupe_key"].startswith("video-agreed:")]
    assert sorted(r["recipient"] for r in told) == sorted(str(world.telegram[n]) for n in ("奶奶", "赵阿姨"))
    call = await world.services.db.fetch_one("SELECT * FROM video_calls")
    assert call["starts_at"] == "2026-03-08T11:30:00.000+00:00"
    assert await count(world, "video_reminders") == 3

    # The grandmother's button on the same proposal now changes nothing.
    rows = [r for r in await outbox(world) if r["dedupe_key"].startswith("video-proposal:")]
    await feed(callback_update(data_of(mine(rows, world, "奶奶")[-1], "✅ Yes, that suits"), from_user=who(world, "奶奶")))
    assert "already answered" in popup(recorder)
    assert await count(world, "video_slots") == 1 and await count(world, "video_calls") == 1


async def test_reminders_the_question_after_the_call_and_videos(feed, recorder, world, clock):
    await propose(feed, recorder, world)
    await accept(feed, world)
    video = world.services.video
    clock.set(datetime(2026, 3, 7, 11, 31, tzinfo=timezone.utc))   # Saturday 19:31 in Shanghai
    assert await video.run_due() == 1
    day_before = [r for r in await outbox(world) if r["dedupe_key"].startswith("video:")]
    assert sorted(r["recipient"] for r in day_before) == sorted(str(world.telegram[n]) for n in ("李妈妈", "奶奶", "赵阿姨"))
    assert day_before[0]["payload"]["text"] == "📅 Reminder: 小明's video call is on Sun, Mar 8 19:30, 30 min, in 亲情室."
    assert await video.run_due() == 0   # nothing twice

    clock.set(datetime(2026, 3, 8, 11, 0, tzinfo=timezone.utc))
    await video.run_due()
    clock.set(datetime(2026, 3, 8, 12, 15, tzinfo=timezone.utc))   # 15 minutes after the call's end
    await video.run_due()
    question = [r for r in await outbox(world) if r["payload"].get("text", "").startswith("📹 Did")]
    assert [r["recipient"] for r in question] == [str(world.telegram["赵阿姨"])]
    assert question[0]["payload"]["text"] == "📹 Did 小明's video call at Sun, Mar 8 19:30 happen?"
    await feed(callback_update(data_of(question[0], "✅ Yes, it happened"), from_user=who(world, "赵阿姨")))
    assert "Recorded: the video call happened" in last(recorder, world, "赵阿姨").text
    await feed(callback_update(data_of(question[0], "✅ Yes, it happened"), from_user=who(world, "赵阿姨")))
    assert "already answered" in popup(recorder)

    await feed(message_update("/videos", from_user=who(world, "王老师")))
    picture = last(recorder, world, "王老师").text
    assert "✅ Happened (1)\n小明" in picture and "➖ No weekly time (1)\n小红" in picture
    assert "小刚" not in picture   # another class


async def test_a_missed_call_gets_a_gentle_word_to_both_sides_and_can_move(feed, recorder, world, clock):
    question = await asked_after_the_call(feed, recorder, world, clock)
    await feed(callback_update(data_of(question, "❌ It was missed"), from_user=who(world, "王老师")))
    assert labels(last(recorder, world, "王老师")) == ["the parent was busy", "no network", "the child was unwell",
                                                     "another reason"]
    await press(feed, recorder, world, "王老师", "no network")
    words = [r for r in await outbox(world) if r["dedupe_key"].startswith("video-missed:")]
    assert {r["recipient"] for r in words} == {str(world.telegram[n]) for n in ("李妈妈", "奶奶", "赵阿姨")}
    to_mother = mine(words, world, "李妈妈")[0]["payload"]["text"]
    assert "did not happen (no network)" in to_mother and "/relay" in to_mother
    assert "小明 looks forward to seeing you" in to_mother
    # The grandmother lives with 小明: she is told what happened and who finds another time, not that he longs
    # to see her (issue 14).
    to_grandmother = mine(words, world, "奶奶")[0]["payload"]["text"]
    assert to_grandmother.startswith("📹 小明's video call with the parents on ")
    assert "did not happen (no network)" in to_grandmother and "looks forward" not in to_grandmother
    # The teacher who answered moves it to Tuesday 19:00 (the week still has room).
    await press(feed, recorder, world, "王老师", "🔁 Set another time")
    await press(feed, recorder, world, "王老师", "Tue, Mar 10")
    await press(feed, recorder, world, "王老师", "19:00")
    assert "Moved to Tue, Mar 10 19:00" in last(recorder, world, "王老师").text
    moved = await world.services.db.fetch_one("SELECT * FROM video_calls WHERE moved_from IS NOT NULL")
    assert moved["starts_at"] == "2026-03-10T11:00:00.000+00:00"
    old = await world.services.db.fetch_one("SELECT * FROM video_calls WHERE id = ?", (moved["moved_from"],))
    assert (old["outcome"], old["reason"]) == ("missed", "network")
    await feed(message_update("/videos", from_user=who(world, "王老师")))
    assert "❌ Missed (1)\n小明 (no network)" in last(recorder, world, "王老师").text
    clock.set(datetime(2026, 3, 9, 1, 0, tzinfo=timezone.utc))   # Monday: the week of the moved call
    await feed(message_update("/videos", from_user=who(world, "王老师")))
    assert "⏳ Still to come (1)\n小明" in last(recorder, world, "王老师").text


async def test_the_mother_answers_with_another_time_in_her_own_zone(feed, recorder, world, clock):
    # She works in Dubai (4 hours behind Shanghai): her Saturday 20:00 is Sunday 00:00 at school.
    await PreferencesRepository(world.services.db).set_quiet_hours(
        QuietHours(world.telegram["李妈妈"], None, None, False, "Asia/Dubai", stamp(clock.now())))
    await propose(feed, recorder, world)
    rows = [r for r in await outbox(world) if r["dedupe_key"].startswith("video-proposal:")]
    assert "every Sunday at 15:30 (your time)" in mine(rows, world, "李妈妈")[-1]["payload"]["text"]
    await feed(callback_update(data_of(mine(rows, world, "李妈妈")[-1], "🕒 Another time"), from_user=who(world, "李妈妈")))
    await press(feed, recorder, world, "李妈妈", "Sat")
    await press(feed, recorder, world, "李妈妈", "20:00")
    assert "Sent to 赵阿姨" in last(recorder, world, "李妈妈").text
    back = [r for r in await outbox(world) if r["dedupe_key"].startswith("video-proposal:")][-1]
    assert back["recipient"] == str(world.telegram["赵阿姨"])
    assert "李妈妈 suggests every Sunday at 00:00, 30 min" in back["payload"]["text"]
    await feed(callback_update(data_of(back, "✅ Yes, that suits"), from_user=who(world, "赵阿姨")))
    slot = await world.services.db.fetch_one("SELECT * FROM video_slots")
    assert (slot["weekday"], slot["start"], slot["zone"], slot["arranged_by"]) == \
        (6, "00:00", "Asia/Shanghai", world.people["赵阿姨"])


@pytest.mark.parametrize("line, answer", [
    ("/video 小明 周八 19:30", "周八 is not a day of the week"),
    ("/video 小明 周日 25:30", "25:30 is not a time of day"),
    ("/video 小明 周日 晚上", "Please write the time as hours and minutes"),
    ("/video 小明 周日 19:30 500", "A call lasts from 10 to 240 minutes"),
    ("/video 小明 周日 19:30 Mars/Olympus", "There is no time zone called Mars/Olympus"),
    ("/video 小明 周日 19:30 礼堂", "There is no family room called 礼堂"),
])
async def test_bad_typed_slots_get_a_clear_answer_and_store_nothing(feed, recorder, world, line, answer):
    await feed(message_update(line, from_user=who(world, "赵阿姨")))
    assert answer in last(recorder, world, "赵阿姨").text
    assert await count(world, "video_proposals") == 0 and await count(world, "outbox") == 0


async def test_a_typed_line_proposes_at_once_in_another_zone(feed, recorder, world):
    await feed(message_update("/video 小明 星期天 18:00 45 家 Asia/Urumqi", from_user=who(world, "王老师")))
    assert "Sent to 李妈妈, 奶奶" in last(recorder, world, "王老师").text
    row = await world.services.db.fetch_one("SELECT * FROM video_proposals")
    assert (row["weekday"], row["start"], row["minutes"], row["zone"], row["room"]) == \
        (6, "18:00", 45, "Asia/Urumqi", None)


async def test_a_child_without_consent_gets_no_slot(feed, recorder, world):
    await feed(message_update("/video 小红 周日 19:30", from_user=who(world, "钱叔叔")))
    assert "have not yet agreed" in last(recorder, world, "钱叔叔").text
    assert await count(world, "video_proposals") == 0 and await count(world, "outbox") == 0


async def test_two_children_cannot_share_the_family_room_at_once(feed, recorder, world, clock):
    await propose(feed, recorder, world)
    await accept(feed, world)
    before = await count(world, "outbox")
    # 小刚's teacher wants the same room, 19:45 on Sunday: inside 小明's 19:30–20:00.
    await feed(message_update("/video 小刚 周日 19:45 30 亲情室", from_user=who(world, "孙老师")))
    text = last(recorder, world, "孙老师").text
    assert "亲情室 is taken then (19:30–20:00)" in text and "小明" not in text
    assert await count(world, "video_proposals") == 1 and await count(world, "outbox") == before
    # Right after it is fine.
    await feed(message_update("/video 小刚 周日 20:00 30 亲情室", from_user=who(world, "孙老师")))
    assert "Sent to 刘妈妈" in last(recorder, world, "孙老师").text


async def test_forged_and_foreign_buttons_change_nothing(feed, recorder, world, clock):
    await propose(feed, recorder, world)
    rows = [r for r in await outbox(world) if r["dedupe_key"].startswith("video-proposal:")]
    yes = data_of(mine(rows, world, "李妈妈")[-1], "✅ Yes, that suits")
    # Another child's mother, the proposing carer herself, and a teacher of another class cannot accept.
    for name in ("陈妈妈", "赵阿姨", "孙老师"):
        await feed(callback_update(yes, from_user=who(world, name)))
        assert "You cannot do this" in popup(recorder)
    for data in ("vp:99999:y", "vp:x:y", "vc:1:r:asleep", "vs:{}:p:6:1930:30:9".format(world.children["小明"]),
                 "vs:{}:p:6:1930:30:1".format(world.children["小刚"]), "vc:99999:d", "vv:99999"):
        await feed(callback_update(data, from_user=who(world, "赵阿姨")))
    assert await count(world, "video_slots") == 0 and await count(world, "video_proposals") == 1
    # The mother answering a day late still works: the buttons carry no state of their own.
    clock.advance(timedelta(days=1))
    await feed(callback_update(yes, from_user=who(world, "李妈妈")))
    assert await count(world, "video_slots") == 1


async def test_moving_a_call_to_a_time_already_past_is_refused(feed, recorder, world, clock):
    question = await asked_after_the_call(feed, recorder, world, clock)
    await feed(callback_update(data_of(question, "🔁 Moved to another day"), from_user=who(world, "赵阿姨")))
    assert labels(last(recorder, world, "赵阿姨"))[0] == "Sun, Mar 8"   # from today to Saturday
    await press(feed, recorder, world, "赵阿姨", "Sun, Mar 8")
    await press(feed, recorder, world, "赵阿姨", "19:00")
    assert "19:00 has already passed" in popup(recorder)
    assert await count(world, "video_calls") == 2   # the call and next week's, nothing moved
    assert (await world.services.db.fetch_one("SELECT outcome FROM video_calls ORDER BY id"))["outcome"] is None


async def test_an_erased_child_leaves_no_video_rows(feed, recorder, world):
    await propose(feed, recorder, world)
    await accept(feed, world)
    async with world.services.db.transaction() as conn:   # what bot.access.privacy's erasure does to the record
        await conn.execute("DELETE FROM children WHERE id = ?", (world.children["小明"],))
    for table in ("video_proposals", "video_slots", "video_calls", "video_reminders"):
        assert await count(world, table) == 0


async def test_the_mothers_copy_of_her_data_holds_the_weekly_time_and_the_calls(feed, recorder, world, clock):
    question = await asked_after_the_call(feed, recorder, world, clock)
    await feed(callback_update(data_of(question, "✅ Yes, it happened"), from_user=who(world, "赵阿姨")))
    await feed(message_update("/mydata", from_user=who(world, "李妈妈")))
    [document] = [c for c in recorder.calls if c.method == "sendDocument"]
    text = pdf_text(document.files["document"])
    assert "Weekly call: 19:30, 30 minutes, 亲情室" in text
    calls = [line for line in text.splitlines() if " min" in line and "·" in line]
    assert len(calls) == 2 and calls[0].endswith("happened") and "3/8/26, 7:30" in calls[0]
    assert "happened" not in calls[1] and "3/15/26, 7:30" in calls[1]


async def test_a_room_taken_while_a_proposal_waited_is_refused_when_accepted(feed, recorder, world):
    # Two carers propose the same room at the same time; the first mother to accept gets it.
    await propose(feed, recorder, world)
    await feed(message_update("/video 小刚 周日 19:45 30 亲情室", from_user=who(world, "孙老师")))
    await accept(feed, world)
    await accept(feed, world, "刘妈妈")
    assert "亲情室 is taken then (19:30–20:00)" in popup(recorder)
    assert await count(world, "video_slots") == 1
    assert (await world.services.db.fetch_one("SELECT COUNT(*) AS n FROM video_proposals WHERE state = 'open'"))["n"] == 1


async def test_forged_video_buttons_get_a_short_popup_and_never_the_error_handler(feed, recorder, world, caplog):
    child, long_id = world.children["小明"], "1" * 23
    forged = [
        "vv:²", f"vv:{long_id}", "vv:", f"vv:{child}:1", "vv:-1",
        "vs:²:w", f"vs:{long_id}:w", f"vs:{child}:", f"vs:{child}:w:3", f"vs:{child}:q", f"vs:{child}:t",
        f"vs:{child}:m:6:2460", f"vs:{child}:r:6:1930:3x", f"vs:{child}:p:6:1930:30:9", f"vs:{child}:p:6:1930:30:1:1",
        "vp:²:y", f"vp:{long_id}:y", "vp::y", "vp:1:", "vp:1:y:1", "vp:1:z", "vp:1:t:7", "vp:1:c:6",
        "vc:²:d", f"vc:{long_id}:d", "vc::d", "vc:1:", "vc:1:d:1", "vc:1:q", "vc:1:r:asleep", "vc:1:w:20261301",
        "vc:1:w:²", "vc:1:c:20260310", "vc:1:c:20260310:1900:1",
    ]
    for data in forged:
        recorder.clear()
        await feed(callback_update(data, from_user=who(world, "赵阿姨")))
        assert popup(recorder) == "This button is no longer valid.", data
        assert recorder.sent("sendMessage") == [] and recorder.sent("editMessageText") == [], data
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    assert await count(world, "video_proposals") == 0 and await count(world, "outbox") == 0


async def test_a_teacher_with_forty_children_is_told_how_to_reach_those_not_shown(feed, recorder, app):
    # Found by playing it: /video showed 30 of 40 children with no word about the other ten.
    world = await World.build(app.bot_data.services)
    for n in range(40):
        await world.child(f"学生{n:02d}")
    await world.person("王老师", TEACHER, klass="三年级一班", user_id=7901)
    await feed(message_update("/video", from_user=user(7901, "zh-hans")))
    picker = recorder.sent(chat_id=7901)[-1]
    assert picker.text == "哪个孩子？\n（第 1/2 页，共 40 个：用下面的 ◀ ▶ 翻页。）"
    assert labels(picker) == [f"学生{n:02d}" for n in range(30)] + ["下一页 ▶"]
