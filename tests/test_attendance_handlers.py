"""/attendance through the production application: the class teacher takes the roll with taps (40 children, 3
absent: at most 5), the families of the children absent without a reason are asked at once and their first answer
reaches the teacher, a late child is corrected the same day, "whereabouts unknown" offers the mandatory report, the
teacher who has not taken the roll by the reminder time is reminded once, and nobody else can touch the roll."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timezone

import pytest

from bot.access.policy import ADMIN, GUARDIAN, PARENT, TEACHER
from bot.attendance.buttons import FamilyAnswer, RollButton
from bot.notices import INTERACTIVE, REMINDERS
from tests.helpers import callback_update, deliver_outbox, labels, last, message_update, outbox, press, who
from tests.world import World

MONDAY = "20260302"
_ids = itertools.count(900_000)


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services, classes=("三年级一班", "三年级二班"))
    for n in range(1, 41):
        await world.child(f"学生{n:02d}", "三年级一班")
    await world.child("小华", "三年级二班")
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("李老师", TEACHER, klass="三年级二班")
    await world.person("校长", ADMIN)
    await world.person("李妈妈", PARENT, child="学生02", relation="mother")
    await world.person("王奶奶", GUARDIAN, child="学生02", relation="grandmother")
    await world.person("陈妈妈", PARENT, child="小华", relation="mother")
    await world.consent("学生02", by="李妈妈")
    await world.consent("小华", by="陈妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def counting(feed):
    """The feed, counting the button presses (taps) it hands over."""
    async def fed(update: dict) -> None:
        fed.taps += "callback_query" in update
        await feed(update)
    fed.taps = 0
    return fed


def popup(recorder) -> str:
    return recorder.sent("answerCallbackQuery")[-1].params.get("text", "")


def voice_update(sender: dict, file_id: str) -> dict:
    chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "from": sender,
               "voice": {"file_id": file_id, "file_unique_id": file_id, "duration": 4}}
    return {"update_id": next(_ids), "message": message}


def sent_to(recorder, world, name: str, method: str = "sendMessage") -> list:
    return [c for c in recorder.calls if c.method == method and int(c.params.get("chat_id", 0)) == world.telegram[name]]


async def absences(world) -> list[dict]:
    return [dict(r) for r in await world.services.db.fetch_all("SELECT * FROM absences ORDER BY child_id")]


async def tables(world) -> list:
    db = world.services.db
    return [[tuple(r) for r in await db.fetch_all(f"SELECT * FROM {t}")]
            for t in ("absences", "attendance_rolls", "care_followups", "outbox")]


async def test_forty_children_three_absent_take_five_taps_and_the_family_is_asked_at_once(app, feed, recorder, world):
    tapping = counting(feed)
    await tapping(message_update("/attendance", from_user=who(world, "王老师")))
    roll = last(recorder, world, "王老师")
    assert "Roll call · 三年级一班" in roll.text and "Page 1 of 2, 40 in all" in roll.text
    assert labels(roll)[:3] == ["学生01", "学生02", "学生03"] and "✅ Everyone is here" in labels(roll)
    for name in ("学生02", "学生17"):
        await press(tapping, recorder, world, "王老师", name)
    assert "✖ 学生02" in labels(last(recorder, world, "王老师"))
    await press(tapping, recorder, world, "王老师", "Next page ▶")
    await press(tapping, recorder, world, "王老师", "学生35")
    assert await absences(world) == []  # a draft until Done: the dropout ladder must not count it yet
    await press(tapping, recorder, world, "王老师", "✔ Done: 3 absent")
    assert tapping.taps == 5
    saved = last(recorder, world, "王老师")
    assert "saved. Absent:" in saved.text and "✖ 学生02: ❔ No reason" in saved.text
    assert [(a["child_id"], a["reason"]) for a in await absences(world)] == [
        (world.children[n], "none") for n in ("学生02", "学生17", "学生35")]
    roll_row = await world.services.db.fetch_one("SELECT * FROM attendance_rolls")
    assert roll_row["taken_by"] == world.people["王老师"] and roll_row["taken_at"]
    asked = [r for r in await outbox(world) if r["dedupe_key"].startswith("absq:")]
    assert {r["person_id"] for r in asked} == {world.people["李妈妈"], world.people["王奶奶"]}
    assert {r["lane"] for r in asked} == {INTERACTIVE}
    recorder.clear()
    await deliver_outbox(app)
    for name in ("李妈妈", "王奶奶"):
        [question] = sent_to(recorder, world, name)
        assert "学生02 did not come to school today. Could you tell us why?" in question.text
        assert labels(question) == ["🤒 Ill (sick leave)", "📝 Something came up (personal leave)",
                                    "💬 Other: tell us by voice or text"]
        assert "学生17" not in question.text and "学生35" not in question.text  # only their own child
    assert sent_to(recorder, world, "陈妈妈") == []
    followups = await world.services.db.fetch_all("SELECT * FROM care_followups WHERE reason = 'absence'")
    assert {(f["child_id"], f["person_id"]) for f in followups} == {
        (world.children[n], world.people["王老师"]) for n in ("学生02", "学生17", "学生35")}


async def test_everyone_here_is_one_tap_and_a_known_reason_asks_nobody(app, feed, recorder, world):
    tapping = counting(feed)
    await tapping(message_update("/attendance", from_user=who(world, "王老师")))
    await press(tapping, recorder, world, "王老师", "✅ Everyone is here")
    assert tapping.taps == 1
    assert "everyone is here" in last(recorder, world, "王老师").text
    assert await absences(world) == [] and (await world.services.db.fetch_one(
        "SELECT taken_at FROM attendance_rolls"))["taken_at"]
    # A correction the same day: a child marked with a known reason; the family is not asked.
    await feed(message_update("/attendance", from_user=who(world, "王老师")))
    assert "Saved already today" in last(recorder, world, "王老师").text
    await press(feed, recorder, world, "王老师", "学生02")
    # The reasons of a marked child, under the names: its name on the first, the chosen one ticked.
    assert labels(last(recorder, world, "王老师"))[-5:-1] == [
        "学生02 · 🤒 Sick leave", "📝 Personal leave", "✔ ❔ No reason", "🚨 Whereabouts unknown"]
    await press(feed, recorder, world, "王老师", "学生02 · 🤒 Sick leave")
    assert labels(last(recorder, world, "王老师"))[-5:-3] == ["学生02 · ✔ 🤒 Sick leave", "📝 Personal leave"]
    await press(feed, recorder, world, "王老师", "✔ Done: 1 absent")
    assert [(a["child_id"], a["reason"]) for a in await absences(world)] == [(world.children["学生02"], "sick")]
    assert not [r for r in await outbox(world) if r["dedupe_key"].startswith("absq:")]
    assert await world.services.db.fetch_all("SELECT * FROM care_followups") == []


async def _absent_without_reason(feed, recorder, world, child: str = "学生02", reason: str | None = None) -> None:
    await feed(message_update("/attendance", from_user=who(world, "王老师")))
    await press(feed, recorder, world, "王老师", child)
    if reason:
        await press(feed, recorder, world, "王老师", reason)
    await press(feed, recorder, world, "王老师", "✔ Done: 1 absent")


async def test_the_first_answer_fills_the_reason_and_reaches_the_teacher(app, feed, recorder, world):
    await _absent_without_reason(feed, recorder, world)
    await deliver_outbox(app)
    await press(feed, recorder, world, "李妈妈", "🤒 Ill (sick leave)")
    assert popup(recorder) == "Thank you! The class teacher has been told."
    [absence] = await absences(world)
    assert (absence["reason"], absence["family_reason"], absence["family_by"]) == (
        "sick", "sick", world.people["李妈妈"])
    assert (await world.services.db.fetch_one("SELECT done_at FROM care_followups"))["done_at"]  # explained
    recorder.clear()
    await deliver_outbox(app)
    [told] = sent_to(recorder, world, "王老师")
    assert "学生02's mother answered about today's absence: 🤒 Ill (sick leave)." in told.text
    assert sent_to(recorder, world, "陈妈妈") == [] and sent_to(recorder, world, "李老师") == []
    # The grandmother presses her own copy afterwards: it was answered, by whom and how; nothing changes.
    before = await tables(world)
    await feed(callback_update(FamilyAnswer(absence["id"], "personal").pack(), from_user=who(world, "王奶奶")))
    assert popup(recorder) == "学生02's mother has already answered: 🤒 Ill (sick leave). Thank you!"
    assert await tables(world) == before


async def test_other_by_voice_note_reaches_the_teacher_and_keeps_the_reason(app, feed, recorder, world):
    await _absent_without_reason(feed, recorder, world)
    await deliver_outbox(app)
    await press(feed, recorder, world, "王奶奶", "💬 Other: tell us by voice or text")
    assert "send a voice note" in last(recorder, world, "王奶奶").text
    await feed(voice_update(who(world, "王奶奶"), "grandma-voice"))
    assert "Thank you" in last(recorder, world, "王奶奶").text
    [absence] = await absences(world)
    assert (absence["reason"], absence["family_reason"]) == ("none", "other")  # still unexplained
    recorder.clear()
    await deliver_outbox(app)
    [voice] = sent_to(recorder, world, "王老师", "sendVoice")
    assert voice.params["voice"] == "grandma-voice" and "Still unexplained" in voice.params["caption"]
    # The next message of the grandmother is hers again: the relay offers to pass it on.
    await feed(message_update("明天见", from_user=who(world, "王奶奶")))
    assert (await absences(world))[0]["family_note"] == ""


async def test_a_late_child_marked_present_deletes_the_absence_and_closes_the_question(app, feed, recorder, world):
    await _absent_without_reason(feed, recorder, world)
    await deliver_outbox(app)
    await feed(message_update("/attendance", from_user=who(world, "王老师")))
    await press(feed, recorder, world, "王老师", "✖ 学生02")
    await press(feed, recorder, world, "王老师", "✅ Everyone is here")
    assert await absences(world) == []
    assert (await world.services.db.fetch_one("SELECT done_at FROM care_followups"))["done_at"]
    await press(feed, recorder, world, "李妈妈", "🤒 Ill (sick leave)")
    assert popup(recorder) == "This question is closed; nothing more is needed. Thank you!"
    assert await absences(world) == []


async def test_whereabouts_unknown_offers_the_mandatory_report(app, feed, recorder, world):
    await _absent_without_reason(feed, recorder, world, "学生05", "🚨 Whereabouts unknown")
    saved = last(recorder, world, "王老师")
    assert "学生05: 🚨 Whereabouts unknown" in saved.text
    assert "🆘 Report 学生05 missing" in labels(saved)
    await press(feed, recorder, world, "王老师", "🆘 Report 学生05 missing")
    assert "学生05" in last(recorder, world, "王老师").text  # /report, with the child chosen


async def test_the_follow_up_is_in_the_teachers_calendar(app, feed, recorder, world):
    await _absent_without_reason(feed, recorder, world)
    await feed(message_update("/calendar", from_user=who(world, "王老师")))
    assert "Call 学生02's family about today's absence" in last(recorder, world, "王老师").text


async def test_an_admin_chooses_the_class_and_a_parent_cannot_take_the_roll(app, feed, recorder, world):
    await feed(message_update("/attendance", from_user=who(world, "校长")))
    assert labels(last(recorder, world, "校长")) == ["三年级一班", "三年级二班"]
    await press(feed, recorder, world, "校长", "三年级二班")
    assert "Roll call · 三年级二班" in last(recorder, world, "校长").text
    await press(feed, recorder, world, "校长", "小华")
    await press(feed, recorder, world, "校长", "✔ Done: 1 absent")
    assert [(a["child_id"], a["marked_by"]) for a in await absences(world)] == [
        (world.children["小华"], world.people["校长"])]
    recorder.clear()
    await deliver_outbox(app)
    # The class teacher, who did not mark it, is told with the task's button.
    [task] = sent_to(recorder, world, "李老师")
    assert "小华 is absent today" in task.text and labels(task) == ["✅ I talked with the family"]
    await feed(message_update("/attendance", from_user=who(world, "李妈妈")))
    assert last(recorder, world, "李妈妈").text == "The roll is taken by class teachers and school admins."


async def test_another_class_a_forged_child_and_a_stale_day_are_refused_and_change_nothing(app, feed, recorder, world):
    class1, class2 = world.class_ids["三年级一班"], world.class_ids["三年级二班"]
    before = await tables(world)
    pressed = [
        ("李老师", RollButton("t", class1, MONDAY, world.children["学生02"]), "You cannot take the roll of this class."),
        ("李老师", RollButton("ok", class1, MONDAY, 0), "You cannot take the roll of this class."),
        ("王老师", RollButton("t", class1, MONDAY, world.children["小华"]), "You cannot do this for this child."),
        ("王老师", RollButton("t", class1, MONDAY, 999_999), "You cannot do this for this child."),
        ("王老师", RollButton("t", class2, MONDAY, world.children["小华"]), "You cannot take the roll of this class."),
        ("王老师", RollButton("ok", class1, "20260227", 0), "That roll was for another day"),
        ("王老师", RollButton("o", class1, "20261399"), "This button is no longer valid."),
        ("王老师", RollButton("o", class1, "2026030x"), "This button is no longer valid."),
        ("陈妈妈", RollButton("ok", class2, MONDAY, 0), "You cannot take the roll of this class."),
        ("陈妈妈", FamilyAnswer(1, "sick"), "This question is closed"),
    ]
    for name, payload, said in pressed:
        await feed(callback_update(payload.pack(), from_user=who(world, name)))
        assert popup(recorder).startswith(said), (name, payload)
    assert await tables(world) == before
    # Another family's question: a mother of another child cannot answer it, and learns nothing of it.
    await _absent_without_reason(feed, recorder, world)
    absence = (await absences(world))[0]["id"]
    before = await tables(world)
    await feed(callback_update(FamilyAnswer(absence, "sick").pack(), from_user=who(world, "陈妈妈")))
    assert popup(recorder) == "This button is no longer valid."
    assert await tables(world) == before


async def test_not_a_school_day_is_a_clear_answer(app, feed, recorder, world, clock):
    clock.set(datetime(2026, 3, 7, 2, 0, tzinfo=timezone.utc))  # Saturday
    await feed(message_update("/attendance", from_user=who(world, "王老师")))
    assert "not a school day" in last(recorder, world, "王老师").text
    clock.set(datetime(2026, 8, 3, 2, 0, tzinfo=timezone.utc))  # a Monday in the summer holidays
    await feed(message_update("/attendance", from_user=who(world, "王老师")))
    assert "not a school day" in last(recorder, world, "王老师").text
    assert await absences(world) == []


async def test_the_teacher_who_has_not_taken_the_roll_is_reminded_once(app, feed, recorder, world, clock):
    services = world.services
    clock.set(datetime(2026, 3, 3, 1, 0, tzinfo=timezone.utc))  # Tuesday 09:00 in Shanghai
    assert await services.attendance.run_due() == 0
    clock.set(datetime(2026, 3, 3, 1, 31, tzinfo=timezone.utc))
    await feed(message_update("/attendance", from_user=who(world, "李老师")))
    await press(feed, recorder, world, "李老师", "✅ Everyone is here")  # 三年级二班 is taken: no reminder
    assert await services.attendance.run_due() == 1
    assert await services.attendance.run_due() == 0  # once
    [row] = [r for r in await outbox(world) if r["dedupe_key"].startswith("roll-remind:")]
    assert (row["person_id"], row["lane"]) == (world.people["王老师"], REMINDERS)
    recorder.clear()
    await deliver_outbox(app)
    [reminder] = sent_to(recorder, world, "王老师")
    assert "The roll of 三年级一班 has not been taken today" in reminder.text
    await press(feed, recorder, world, "王老师", "📋 Take the roll")
    assert "Roll call · 三年级一班" in last(recorder, world, "王老师").text


async def test_no_reminder_is_written_once_the_school_day_is_over(world, clock):
    # A bot started in the evening (or a clock that jumped) must not tell a teacher at night that today's roll
    # "has not been taken": the day is over.
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc))  # Tuesday 18:00 in Shanghai
    assert await world.services.attendance.run_due() == 0
    clock.set(datetime(2026, 3, 3, 9, 59, tzinfo=timezone.utc))
    assert await world.services.attendance.run_due() == 2


async def test_a_teacher_who_types_names_marks_those_children_and_other_words_change_nothing(feed, recorder, world):
    teacher = who(world, "王老师")
    await feed(message_update("/attendance", from_user=teacher))
    await feed(message_update("学生05、学生12", from_user=teacher))
    roll = last(recorder, world, "王老师")
    assert "✖ Absent (2): 学生05, 学生12" in roll.text and "✔ Done: 2 absent" in labels(roll)
    await feed(message_update("学生05", from_user=teacher))  # typed again: present after all
    assert "✖ Absent (1): 学生12" in last(recorder, world, "王老师").text
    await feed(message_update("今天下雨", from_user=teacher))
    assert last(recorder, world, "王老师").text.startswith("Tap the names of the absent children")
    assert await absences(world) == []  # nothing saved before Done


async def test_a_grandmother_who_answers_in_her_own_words_is_offered_to_send_them_as_the_answer(app, feed, recorder,
                                                                                               world):
    """She types (or speaks) instead of pressing: her words are not a dead end, not relayed silently, and one
    press makes them the answer the class teacher sees."""
    await feed(message_update("/attendance", from_user=who(world, "王老师")))
    await press(feed, recorder, world, "王老师", "学生02")
    await press(feed, recorder, world, "王老师", "✔ Done: 1 absent")
    await deliver_outbox(app)
    recorder.clear()
    await feed(message_update("他发烧了，在家躺着", from_user=who(world, "王奶奶")))
    offer = last(recorder, world, "王奶奶")
    assert offer.text == "Whom should I send this to?"
    assert labels(offer)[0] == "📋 This is why 学生02 is not at school today"
    await press(feed, recorder, world, "王奶奶", "📋 This is why 学生02 is not at school today")
    assert last(recorder, world, "王奶奶").text == "Thank you! The class teacher has been told."
    [absence] = await absences(world)
    assert absence["family_reason"] == "other" and absence["family_note"] == "他发烧了，在家躺着"
    recorder.clear()
    await deliver_outbox(app)
    [told] = sent_to(recorder, world, "王老师")
    assert "💬 Another reason" in told.text and "他发烧了，在家躺着" in told.text
    # Answered: her next words are offered to be passed on, no longer as the answer.
    await feed(message_update("谢谢老师", from_user=who(world, "王奶奶")))
    assert not any(label.startswith("📋") for label in labels(last(recorder, world, "王奶奶")))
