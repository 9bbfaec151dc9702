"""/schooldays through the production application: an admin sees the term and the coming holidays, marks a day off
and a make-up school day with buttons or a typed date, removes a mark and changes a term's dates; bad input gets a
clear answer and changes nothing; a teacher only reads; anyone else, or a forged button, is refused."""

from __future__ import annotations

from datetime import date

import pytest

from bot.access.policy import ADMIN, PARENT, TEACHER
from tests.helpers import callback_update, message_update, user
from tests.world import World


@pytest.fixture
async def world(app):
    # The clock stands at Monday 2026-03-02, 16:00 in Shanghai: the spring term's second day.
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.person("校长", ADMIN, user_id=8101)
    await world.person("王老师", TEACHER, klass="三年级一班", user_id=8102)
    await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=8103)
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def who(world, name: str, language: str = "en") -> dict:
    return user(world.telegram[name], language, name)


def last(recorder, world, name: str):
    chat = world.telegram[name]
    return [c for c in recorder.calls if c.method in ("sendMessage", "editMessageText")
            and int(c.params.get("chat_id", 0)) == chat][-1]


def buttons(call) -> list[dict]:
    return [b for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


async def press(feed, recorder, world, name: str, label: str) -> None:
    """Press the button whose text starts with `label` on the latest message with buttons in this chat."""
    chat = world.telegram[name]
    calls = [c for c in recorder.calls if c.method in ("sendMessage", "editMessageText")
             and int(c.params.get("chat_id", 0)) == chat and c.params.get("reply_markup")]
    found = [b for b in buttons(calls[-1]) if b["text"].startswith(label)]
    assert found, f"{label!r} not in {[b['text'] for b in buttons(calls[-1])]}"
    await feed(callback_update(found[0]["callback_data"], from_user=who(world, name)))


def answered(recorder) -> str:
    return recorder.sent("answerCallbackQuery")[-1].params.get("text", "")


async def state(world) -> list[tuple]:
    found = []
    for table in ("school_terms", "school_day_overrides", "audit_log"):
        found += [(table, *tuple(r)) for r in await world.services.db.fetch_all(f"SELECT * FROM {table}")]
    return found


async def marks(world) -> dict[str, str]:
    rows = await world.services.db.fetch_all("SELECT day, kind FROM school_day_overrides ORDER BY day")
    return {r["day"]: r["kind"] for r in rows}


async def test_the_admin_sees_the_term_and_the_coming_holidays_with_buttons(feed, recorder, world):
    await feed(message_update("/schooldays", from_user=who(world, "校长")))
    shown = last(recorder, world, "校长")
    assert shown.text.startswith("📅 School days of 希望小学\nThis term: Sun, Mar 1 – Fri, Jul 10 (default dates)\n"
                                 "Next term: Tue, Sep 1 – Wed, Jan 20, 2027 (default dates)\n"
                                 "Today is a school day.\nComing holidays and make-up days:\n")
    assert "• Mon, Apr 6: day off Tomb-Sweeping Day (observed) (national)" in shown.text
    assert "• Sat, May 9: make-up school day (national)" in shown.text
    assert [b["text"] for b in buttons(shown)] == [
        "🏖 Mark a day off", "📚 Mark a make-up school day", "✏️ Change this term's dates",
        "✏️ Change the next term's dates"]


async def test_chinese_first_the_holidays_are_named_in_chinese(feed, recorder, world):
    await world.services.preferences.set_locale(world.telegram["校长"], "zh_CN")
    await feed(message_update("/schooldays", from_user=who(world, "校长", "zh-hans")))
    text = last(recorder, world, "校长").text
    assert "清明节" in text and "劳动节" in text


async def test_the_admin_marks_a_day_off_with_two_presses_and_removes_it(feed, recorder, world):
    admin = who(world, "校长")
    await feed(message_update("/schooldays", from_user=admin))
    await press(feed, recorder, world, "校长", "🏖 Mark a day off")
    pick = last(recorder, world, "校长")
    assert pick.text.startswith("Which day is off? Press it, or type the date")
    assert [b["text"] for b in buttons(pick)][:3] == ["Mon, Mar 2", "Tue, Mar 3", "Wed, Mar 4"]
    await press(feed, recorder, world, "校长", "Wed, Mar 4")
    shown = last(recorder, world, "校长").text
    assert shown.startswith("Marked: Wed, Mar 4 is a day off. It is not counted as a school day.")
    assert "• Wed, Mar 4: day off (set by the school)" in shown
    assert await marks(world) == {"2026-03-04": "off"}
    assert not await world.services.schooldays.is_school_day(world.school_id, date(2026, 3, 4))

    await press(feed, recorder, world, "校长", "🗑 Remove the mark of Wed, Mar 4")
    assert last(recorder, world, "校长").text.startswith("Removed the mark of Wed, Mar 4: it is a school day again.")
    assert await marks(world) == {}
    actions = [r["action"] for r in await world.services.db.fetch_all("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["schooldays_mark", "schooldays_unmark"]


async def test_a_make_up_day_typed_after_a_line_that_is_not_a_date(feed, recorder, world):
    admin = who(world, "校长")
    await feed(message_update("/schooldays", from_user=admin))
    await press(feed, recorder, world, "校长", "📚 Mark a make-up school day")
    pick = last(recorder, world, "校长")
    assert [b["text"] for b in buttons(pick)][:2] == ["Sat, Mar 7", "Sun, Mar 8"]
    before = await state(world)
    await feed(message_update("next saturday", from_user=admin))
    assert last(recorder, world, "校长").text == \
        "That is not a date I understand. Send it like 2026-10-01, 10月1日 or 10/1."
    await feed(message_update("2026-08-15", from_user=admin))   # the summer break
    assert last(recorder, world, "校长").text.startswith("2026-08-15 is outside the school's terms")
    await feed(message_update("2029-03-10", from_user=admin))
    assert last(recorder, world, "校长").text == "Please give a date from a year back to two years ahead."
    assert await state(world) == before
    # The dialogue is still open: the right date now.
    await feed(message_update("3月14日 补周五的课", from_user=admin))
    assert last(recorder, world, "校长").text.startswith("Marked: Sat, Mar 14 is a school day.")
    assert "• Sat, Mar 14: make-up school day 补周五的课 (set by the school)" in last(recorder, world, "校长").text
    assert await marks(world) == {"2026-03-14": "school"}
    # Closed: a date typed now is not taken as a mark.
    await feed(message_update("3月21日", from_user=admin))
    assert await marks(world) == {"2026-03-14": "school"}


async def test_the_admin_changes_the_term_dates_and_bad_dates_change_nothing(feed, recorder, world):
    admin = who(world, "校长")
    await feed(message_update("/schooldays", from_user=admin))
    await press(feed, recorder, world, "校长", "✏️ Change this term's dates")
    assert last(recorder, world, "校长").text.startswith(
        "The term now: Sun, Mar 1 – Fri, Jul 10 (default dates).\nSend its first and last day")
    before = await state(world)
    await feed(message_update("2026-07-05 2026-02-24", from_user=admin))
    assert last(recorder, world, "校长").text == "The term cannot end before it starts. Nothing was changed."
    await feed(message_update("2026-02-24 2026-09-15", from_user=admin))
    assert last(recorder, world, "校长").text == ("These dates overlap the term from 2026-09-01 to 2027-01-20. "
                                                  "Change that term first. Nothing was changed.")
    assert await state(world) == before
    # One date a line: the first day, then the last.
    await feed(message_update("2月24日", from_user=admin))
    assert last(recorder, world, "校长").text == "First day: Tue, Feb 24. Now send the last day of the term."
    await feed(message_update("7/5", from_user=admin))
    assert last(recorder, world, "校长").text.startswith("Saved: the term is Tue, Feb 24 – Sun, Jul 5.")
    rows = await world.services.db.fetch_all("SELECT starts_on, ends_on FROM school_terms")
    assert [tuple(r) for r in rows] == [("2026-02-24", "2026-07-05")]
    assert "This term: Tue, Feb 24 – Sun, Jul 5\n" in last(recorder, world, "校长").text


async def test_a_teacher_reads_and_cannot_change(feed, recorder, world, app):
    await feed(message_update("/schooldays", from_user=who(world, "王老师")))
    shown = last(recorder, world, "王老师")
    assert shown.text.startswith("📅 School days of 希望小学\nThis term:")
    assert buttons(shown) == []
    before = await state(world)
    for data in (f"sd:o:{world.school_id}:2026-03-04", f"sd:off:{world.school_id}",
                 f"sd:t:{world.school_id}:2026-03-01", f"sd:x:{world.school_id}:2026-03-04"):
        await feed(callback_update(data, from_user=who(world, "王老师")))
        assert answered(recorder) == "Only the school's admins can change its school days."
    assert await state(world) == before


async def test_a_parent_and_forged_buttons_are_refused(feed, recorder, world):
    await feed(message_update("/schooldays", from_user=who(world, "李妈妈")))
    assert last(recorder, world, "李妈妈").text == "The school calendar is for the school's teachers and admins."
    before = await state(world)
    await feed(callback_update(f"sd:o:{world.school_id}:2026-03-04", from_user=who(world, "李妈妈")))
    assert answered(recorder) == "Only the school's admins can change its school days."
    for data in ("sd:o:1:2026-13-01", "sd:o:1", "sd:v:1:2026-03-04", "sd:zz:1"):
        await feed(callback_update(data, from_user=who(world, "校长")))
        assert answered(recorder) == "This button is no longer valid."
    # Another school's id: the admin of this one is not its admin.
    await feed(callback_update("sd:o:999:2026-03-04", from_user=who(world, "校长")))
    assert answered(recorder) == "Only the school's admins can change its school days."
    # A term that does not start on the day the button names.
    await feed(callback_update(f"sd:t:{world.school_id}:2026-03-02", from_user=who(world, "校长")))
    assert answered(recorder).startswith("This term's dates have changed since.")
    assert await state(world) == before
