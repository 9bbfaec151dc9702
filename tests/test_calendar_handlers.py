"""/calendar through the production application: an admin adds tasks with buttons and removes them, a teacher
marks a reminder done once, the digest's buttons open the care forms, and forged or bad input gets a clear
answer and changes nothing."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.access.policy import ADMIN, PARENT, PROXY, TEACHER
from bot.runtime.app import build_application, initialized
from bot.runtime.runner import telegram_handle
from tests.helpers import RecordingRequest, callback_update, message_update, unpaced, user
from tests.world import World

SCHOOL_TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.person("校长", ADMIN, user_id=7901)
    await world.person("王老师", TEACHER, klass="三年级一班", user_id=7902)
    await world.person("赵阿姨", PROXY, child="小明", user_id=7903)
    await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=7904)
    await world.consent("小明", by="李妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def who(world, name: str) -> dict:
    return user(world.telegram[name], "en", name)


def last(recorder, world, name: str):
    chat = world.telegram[name]
    return [c for c in recorder.calls if c.method in ("sendMessage", "editMessageText")
            and int(c.params.get("chat_id", 0)) == chat][-1]


def keyboard(call) -> list[dict]:
    return [b for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


async def press(feed, recorder, world, name: str, label: str) -> None:
    """Press the button whose text starts with `label` on the latest message with buttons in this chat."""
    chat = world.telegram[name]
    calls = [c for c in recorder.calls if c.method in ("sendMessage", "editMessageText")
             and int(c.params.get("chat_id", 0)) == chat and c.params.get("reply_markup")]
    found = [b for b in keyboard(calls[-1]) if b["text"].startswith(label)]
    assert found, f"{label!r} not in {[b['text'] for b in keyboard(calls[-1])]}"
    await feed(callback_update(found[0]["callback_data"], from_user=who(world, name)))


def answered(recorder) -> str:
    return recorder.sent("answerCallbackQuery")[-1].params.get("text", "")


async def state(world) -> list[tuple]:
    """Everything the calendar and the audit hold."""
    found = []
    for table in ("calendar_tasks", "calendar_occurrences", "calendar_marks", "audit_log", "outbox"):
        found += [(table, *tuple(r)) for r in await world.services.db.fetch_all(f"SELECT * FROM {table}")]
    return found


async def active_tasks(world) -> list[str]:
    rows = await world.services.db.fetch_all(
        "SELECT title FROM calendar_tasks WHERE state = 'active' AND kind = 'task' ORDER BY id")
    return [r["title"] for r in rows]


async def test_an_admin_adds_a_preset_with_two_presses_and_sees_it_listed(feed, recorder, world):
    admin = who(world, "校长")
    await feed(message_update("/calendar", from_user=admin))
    assert "No tasks yet" in last(recorder, world, "校长").text
    await press(feed, recorder, world, "校长", "➕ Add a task")
    menu = last(recorder, world, "校长")
    assert [b["text"] for b in keyboard(menu)][:3] == [
        "Heart-to-heart talks · monthly on day 25", "Parent meeting · each semester on Mar 1, Sep 1",
        "Update the children's records · every year on Mar 1"]
    await press(feed, recorder, world, "校长", "Heart-to-heart talks")
    shown = last(recorder, world, "校长").text
    assert shown.startswith("Added: Heart-to-heart talks. The first reminder is on Mar 25.")
    assert "1. Heart-to-heart talks: monthly on day 25, for class teachers and proxy parents; next Mar 25" in shown
    assert await active_tasks(world) == ["Heart-to-heart talks"]

    # The same preset again (the menu's button pressed twice) is refused, with nothing added.
    await press(feed, recorder, world, "校长", "➕ Add a task")
    await press(feed, recorder, world, "校长", "Heart-to-heart talks")
    assert answered(recorder) == "This task is already on the calendar."
    assert await active_tasks(world) == ["Heart-to-heart talks"]

    # Removing it.
    await feed(message_update("/calendar", from_user=admin))
    await press(feed, recorder, world, "校长", "🗑 1.")
    assert last(recorder, world, "校长").text.startswith("Removed: Heart-to-heart talks.")
    assert await active_tasks(world) == []


async def test_an_admin_sets_up_a_task_of_their_own_with_its_name_typed(feed, recorder, world):
    admin = who(world, "校长")
    await feed(message_update("/calendar", from_user=admin))
    await press(feed, recorder, world, "校长", "➕ Add a task")
    await press(feed, recorder, world, "校长", "✏️ Another task")
    assert "Send its name, for example: Water safety lesson" in last(recorder, world, "校长").text
    await feed(message_update("Water safety lesson", from_user=admin))   # just typed, no command
    assert last(recorder, world, "校长").text == "✏️ Water safety lesson\n\nHow often?"
    # Named: what the admin types now is not taken as the name again (it goes to the features as usual).
    await feed(message_update("hello", from_user=admin))
    assert last(recorder, world, "校长").text.startswith("Sorry, I did not understand")
    await press(feed, recorder, world, "校长", "Once a year")
    await press(feed, recorder, world, "校长", "Jun")
    assert len(keyboard(last(recorder, world, "校长"))) == 28 + 1  # days 1–28, and Cancel
    await press(feed, recorder, world, "校长", "15")
    assert "every year on Jun 15" in last(recorder, world, "校长").text
    await press(feed, recorder, world, "校长", "class teachers")
    shown = last(recorder, world, "校长").text
    assert shown.startswith("Added: Water safety lesson. The first reminder is on Jun 15.")
    row = await world.services.db.fetch_one("SELECT * FROM calendar_tasks WHERE title = 'Water safety lesson'")
    assert (row["state"], row["recurrence"], row["month"], row["day"], row["audience"], row["next_at"]) == (
        "active", "yearly", 6, 15, "teachers", "2026-06-15T00:00:00.000+00:00")


async def test_the_name_can_also_follow_the_command(feed, recorder, world):
    await feed(message_update("/calendar Water safety lesson", from_user=who(world, "校长")))
    assert last(recorder, world, "校长").text == "✏️ Water safety lesson\n\nHow often?"


async def test_nobody_but_the_schools_admins_can_press_its_buttons(feed, recorder, world):
    admin = who(world, "校长")
    await feed(message_update("/calendar", from_user=admin))
    await press(feed, recorder, world, "校长", "➕ Add a task")
    await press(feed, recorder, world, "校长", "Parent meeting")
    task = (await world.services.db.fetch_one(
        "SELECT id FROM calendar_tasks WHERE state = 'active' AND kind = 'task'"))["id"]
    await feed(message_update("/calendar Drill", from_user=admin))
    draft = (await world.services.db.fetch_one("SELECT id FROM calendar_tasks WHERE state = 'draft'"))["id"]
    school = world.school_id
    before = await state(world)
    for name in ("王老师", "赵阿姨", "李妈妈"):
        for data in (f"cal:a:{school}", f"cal:p:{school}:talk", f"cal:o:{school}", f"cal:x:{task}",
                     f"cal:r:{draft}:monthly"):
            recorder.clear()
            await feed(callback_update(data, from_user=who(world, name)))
            assert answered(recorder) == "Only the school's admins can change its calendar.", (name, data)
            assert recorder.sent("editMessageText") == [] and recorder.sent("sendMessage") == []
        await feed(message_update("/calendar My own task", from_user=who(world, name)))
        assert last(recorder, world, name).text == "Only a school's admins can add tasks to its care calendar."
    assert await state(world) == before


async def test_a_teacher_marks_a_reminder_done_once(feed, recorder, world, clock):
    services = world.services
    await services.calendar.add_preset(await world.actor("校长"), world.school_id, "talk")
    clock.set(datetime(2026, 3, 25, 8, 0, tzinfo=SCHOOL_TZ))
    await services.calendar.run_due()
    rows = await services.db.fetch_all("SELECT * FROM outbox WHERE recipient = ? AND dedupe_key LIKE 'cal:%'",
                                       (str(world.telegram["王老师"]),))
    [reminder] = [json.loads(r["payload"]) for r in rows]
    data = reminder["actions"][0][0]["data"]

    # /calendar shows it open, with its button.
    await feed(message_update("/calendar", from_user=who(world, "王老师")))
    view = last(recorder, world, "王老师")
    assert "⏰ Your reminders (press when done):\n• Heart-to-heart talks · Mar 25" in view.text
    assert [b["callback_data"] for b in keyboard(view)] == [data]

    # Someone else's press changes nothing.
    await feed(callback_update(data, from_user=who(world, "赵阿姨")))
    assert answered(recorder) == "This button is no longer valid."
    teacher = who(world, "王老师")
    await feed(callback_update(data, from_user=teacher))
    assert answered(recorder) == "Marked as done. Thank you!"
    await feed(callback_update(data, from_user=teacher))
    assert answered(recorder) == "Already marked done."
    marks = await services.db.fetch_all("SELECT done_at FROM calendar_marks m JOIN people p ON p.id = m.person_id "
                                        "WHERE done_at IS NOT NULL")
    assert len(marks) == 1
    audit = await services.db.fetch_all("SELECT * FROM audit_log WHERE action = 'calendar_done'")
    assert len(audit) == 1
    await feed(message_update("/calendar", from_user=teacher))
    assert "Your reminders" not in last(recorder, world, "王老师").text


async def test_bad_input_gets_a_clear_answer_and_writes_nothing(feed, recorder, world):
    admin = who(world, "校长")
    await feed(message_update("/calendar", from_user=admin))
    await press(feed, recorder, world, "校长", "➕ Add a task")
    await press(feed, recorder, world, "校长", "✏️ Another task")
    before = await state(world)
    await feed(message_update("/calendar " + "长" * 41, from_user=admin))
    assert last(recorder, world, "校长").text == "A task's name can be at most 40 characters; this one has 41."
    assert await state(world) == before

    await feed(message_update("/calendar Drill", from_user=admin))
    draft = (await world.services.db.fetch_one("SELECT id FROM calendar_tasks WHERE state = 'draft'"))["id"]
    digest = (await world.services.db.fetch_one("SELECT id FROM calendar_tasks WHERE kind = 'digest'"))["id"]
    before = await state(world)
    for data in (f"cal:x:{digest}", "cal:x:99999", "cal:ok:99999", f"cal:d:{draft}:5", f"cal:r:{draft}:weekly",
                 "cal:r:99999:monthly",
                 "cal:x:abc", "cal:zz", "cal:", f"cal:p:{world.school_id}:nonsense", f"cal:u:{draft}:both:extra"):
        await feed(callback_update(data, from_user=admin))
        assert answered(recorder) == "This button is no longer valid.", data
    assert await state(world) == before


async def test_someone_with_no_care_role_is_told_what_the_calendar_is_for(feed, recorder, world):
    await feed(message_update("/calendar", from_user=who(world, "李妈妈")))
    assert last(recorder, world, "李妈妈").text == \
        "The care calendar is for class teachers, proxy parents and school admins."


async def test_the_digests_buttons_open_the_care_form(feed, recorder, world, clock):
    services = world.services
    await services.calendar.run_due()
    clock.set(datetime(2026, 3, 9, 8, 0, tzinfo=SCHOOL_TZ))
    await services.calendar.run_due()
    row = await services.db.fetch_one(
        "SELECT o.payload FROM outbox o WHERE o.recipient = ? AND o.dedupe_key LIKE 'cal:%'",
        (str(world.telegram["赵阿姨"]),))
    [[show]] = json.loads(row["payload"])["actions"]
    await feed(callback_update(show["data"], from_user=who(world, "赵阿姨")))
    digest = last(recorder, world, "赵阿姨")
    assert digest.text.startswith("📋 The five musts: still to do this week\n\n🧒 小明")
    buttons = [b for r in digest.params["reply_markup"]["inline_keyboard"] for b in r]
    talk = next(b for b in buttons if b["text"] == "💬 小明 · Talk")
    # A parent pressing the digest's button learns nothing.
    await feed(callback_update(show["data"], from_user=who(world, "李妈妈")))
    assert "小明" not in last(recorder, world, "李妈妈").text
    await feed(callback_update(talk["callback_data"], from_user=who(world, "赵阿姨")))
    assert last(recorder, world, "赵阿姨").text.startswith("💬 Talk record for 小明")


async def test_forged_calendar_buttons_get_a_short_popup_and_never_the_error_handler(feed, recorder, world, caplog):
    school, long_id = world.school_id, "1" * 23
    forged = ["cal:a:²", f"cal:a:{long_id}", "cal:a:", f"cal:a:{school}:x", "cal:zz", "cal:", "cal", "cal:ok",
              "cal:ok:²", "cal:due:1", "cal:l:1", f"cal:p:{school}", "cal:r:1:²", f"cal:x:{long_id}", "cal:u:1:a b",
              f"cal:o:{school}:1:2"]
    before = await state(world)
    for data in forged:
        recorder.clear()
        await feed(callback_update(data, from_user=who(world, "校长")))
        assert answered(recorder) == "This button is no longer valid.", data
        assert recorder.sent("editMessageText") == [] and recorder.sent("sendMessage") == [], data
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    assert await state(world) == before


async def naming(world) -> str | None:
    row = await world.services.db.fetch_one("SELECT kind FROM dialogues WHERE person_id = ?", (world.people["校长"],))
    return row["kind"] if row else None


async def test_naming_a_task_is_a_dialogue_that_cancel_ends(feed, recorder, world):
    admin = who(world, "校长")
    for cancel in ("/cancel", "✖ Cancel"):
        await feed(message_update("/calendar", from_user=admin))
        await press(feed, recorder, world, "校长", "➕ Add a task")
        await press(feed, recorder, world, "校长", "✏️ Another task")
        assert await naming(world) == "calendar-name"
        if cancel == "/cancel":
            await feed(message_update("/cancel", from_user=admin))
            assert last(recorder, world, "校长").text == "Cancelled. Nothing was saved."
        else:
            await press(feed, recorder, world, "校长", cancel)
            assert last(recorder, world, "校长").text.startswith("📅 Care calendar of")
        assert await naming(world) is None
        await feed(message_update("Water safety lesson", from_user=admin))   # no longer taken as a name
        assert last(recorder, world, "校长").text.startswith("Sorry, I did not understand")


async def test_a_name_refused_leaves_the_dialogue_open_and_a_restart_keeps_it(feed, recorder, world, settings, clock):
    admin = who(world, "校长")
    await feed(message_update("/calendar", from_user=admin))
    await press(feed, recorder, world, "校长", "➕ Add a task")
    await press(feed, recorder, world, "校长", "✏️ Another task")
    await feed(message_update("长" * 41, from_user=admin))
    assert last(recorder, world, "校长").text == "A task's name can be at most 40 characters; this one has 41."
    assert await naming(world) == "calendar-name"
    # Another process over the same database (a restart): the next line typed is still the name.
    again = RecordingRequest()
    restarted = build_application(settings, clock=clock, request=again, limits=unpaced())
    async with initialized(restarted):
        await telegram_handle(restarted)(message_update("Water safety lesson", from_user=admin))
    assert again.sent()[-1].text == "✏️ Water safety lesson\n\nHow often?"
    assert await naming(world) is None


async def test_the_digest_lists_only_what_can_be_done_and_a_refusal_is_a_popup(feed, recorder, world, clock):
    # Issue 14: the digest counted a child without consent, and a refused press replaced the whole digest.
    services = world.services
    await world.child("小红")  # in 王老师's class; nobody has consented for her
    await services.calendar.run_due()
    clock.set(datetime(2026, 3, 9, 8, 0, tzinfo=SCHOOL_TZ))
    await services.calendar.run_due()
    row = await services.db.fetch_one(
        "SELECT o.payload FROM outbox o WHERE o.recipient = ? AND o.dedupe_key LIKE 'cal:%'",
        (str(world.telegram["王老师"]),))
    notice = json.loads(row["payload"])
    assert "for 1 child." in notice["text"]
    [[show]] = notice["actions"]
    await feed(callback_update(show["data"], from_user=who(world, "王老师")))
    digest = last(recorder, world, "王老师")
    assert "小红" not in digest.text and all("小红" not in b["text"] for b in keyboard(digest))
    talk = next(b for b in keyboard(digest) if b["text"] == "💬 小明 · Talk")

    # The form opens under the digest, which stays with its other buttons.
    recorder.clear()
    await feed(callback_update(talk["callback_data"], from_user=who(world, "王老师")))
    assert recorder.sent("editMessageText") == []
    assert last(recorder, world, "王老师").text.startswith("💬 Talk record for 小明")

    # Consent withdrawn since Monday: the press is refused in a popup, and the digest is left as it is.
    await world.consent("小明", by="李妈妈", decision="withdrawn")
    recorder.clear()
    await feed(callback_update(talk["callback_data"], from_user=who(world, "王老师")))
    assert recorder.sent("editMessageText") == [] and recorder.sent("sendMessage") == []
    [answer] = recorder.sent("answerCallbackQuery")
    assert "小明" in answer.params["text"] and answer.params.get("show_alert")
