"""Children's records through the production application: /newchild and the edit as durable dialogues (an
application built afresh over the same database goes on where the last one stopped), history, /audit, and
forged or stale buttons of every records prefix answered with a popup, never the error handler."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from datetime import timedelta

import pytest

from bot.access.policy import ADMIN, PARENT, TEACHER
from bot.records.buttons import EditChoice, EditField, NewChildAnswer, NewChildDone, OpenRecord
from bot.runtime.app import build_application, initialized
from bot.runtime.runner import telegram_handle
from tests.helpers import button, callback_update, labels, message_update, unpaced, user
from tests.world import World

STALE = "This button is no longer valid."


@pytest.fixture
async def world(app) -> World:
    world = await World.build(app.bot_data.services, classes=("三年级一班", "三年级二班"))
    await world.person("校长", ADMIN)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.child("小明", birth_date="2016-05-01", father_phone="+8613800138000")
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.consent("小明", by="李妈妈")
    return world


def en(world: World, name: str) -> dict:
    return user(world.telegram[name], "en", name)


def last(recorder, who: dict):
    return recorder.sent(chat_id=who["id"])[-1]


async def children_named(world: World) -> list[str]:
    return sorted(c.name for c in await world.services.children._children.in_school(world.school_id))


@asynccontextmanager
async def restarted(settings, clock, recorder):
    """Another application over the same database, as after a restart: nothing is carried over in memory."""
    application = build_application(settings, clock=clock, request=recorder, limits=unpaced())
    async with initialized(application):
        yield telegram_handle(application)


# -- /newchild ------------------------------------------------------------------------------------------------

async def test_newchild_asks_one_question_at_a_time_and_saves(feed, recorder, world):
    teacher = en(world, "王老师")
    await feed(message_update("/newchild", from_user=teacher))
    assert last(recorder, teacher).text.startswith("(1/13) Name?")
    await feed(message_update("小刚", from_user=teacher))
    assert labels(last(recorder, teacher)) == ["boy", "girl", "Skip"]
    await feed(callback_update(button(last(recorder, teacher), "boy"), from_user=teacher))
    await feed(message_update("2016-09-09", from_user=teacher))
    while "Save" not in labels(last(recorder, teacher)):
        await feed(callback_update(button(last(recorder, teacher), "Skip"), from_user=teacher))
    check = last(recorder, teacher)
    assert check.text == "Please check:\nName: 小刚\nSex: boy\nDate of birth: 2016-09-09"
    await feed(callback_update(button(check, "Save"), from_user=teacher))
    saved = last(recorder, teacher)
    assert saved.text == "Saved. Next, invite the child's parents or guardian with /invite."
    assert await children_named(world) == ["小刚", "小明"]
    [new] = [c for c in await world.services.children._children.in_school(world.school_id) if c.name == "小刚"]
    assert button(saved, "Open the record") == OpenRecord(new.id).pack()
    assert await world.services.dialogues.current(world.people["王老师"]) is None


async def test_newchild_goes_on_after_a_restart(settings, clock, recorder, app, feed, world):
    teacher = en(world, "王老师")
    await feed(message_update("/newchild", from_user=teacher))
    await feed(message_update("小刚", from_user=teacher))
    await feed(callback_update(button(last(recorder, teacher), "boy"), from_user=teacher))
    birth_date = last(recorder, teacher)
    assert birth_date.text.startswith("(3/13) Date of birth?")

    async with restarted(settings, clock, recorder) as feed_again:
        await feed_again(callback_update(button(birth_date, "Skip"), from_user=teacher))
        assert last(recorder, teacher).text.startswith("(4/13) Father's name?")
        await feed_again(message_update("王大力", from_user=teacher))
        while "Save" not in labels(last(recorder, teacher)):
            await feed_again(callback_update(button(last(recorder, teacher), "Skip"), from_user=teacher))
        assert last(recorder, teacher).text == "Please check:\nName: 小刚\nSex: boy\nFather's name: 王大力"
        await feed_again(callback_update(button(last(recorder, teacher), "Save"), from_user=teacher))
    assert await children_named(world) == ["小刚", "小明"]


async def test_a_button_of_an_earlier_question_is_stale(feed, recorder, world):
    teacher = en(world, "王老师")
    await feed(message_update("/newchild", from_user=teacher))
    await feed(message_update("小刚", from_user=teacher))
    sex = last(recorder, teacher)
    await feed(callback_update(button(sex, "boy"), from_user=teacher))
    recorder.clear()
    await feed(callback_update(button(sex, "girl"), from_user=teacher))
    [answer] = recorder.sent("answerCallbackQuery")
    assert answer.params["text"] == STALE
    assert recorder.sent() == []
    form = await world.services.dialogues.current(world.people["王老师"])
    assert form.state["step"] == 2 and form.state["values"] == {"name": "小刚", "sex": "male"}


async def test_a_bad_answer_asks_again_and_other_messages_pass_by(feed, recorder, world):
    teacher = en(world, "王老师")
    await feed(message_update("/newchild", from_user=teacher))
    await feed(message_update("小刚", from_user=teacher))
    await feed(callback_update(button(last(recorder, teacher), "girl"), from_user=teacher))
    await feed(message_update("2016-13-40", from_user=teacher))
    assert last(recorder, teacher).text == "Date of birth: not a date (write it like 2016-05-01). Please try again."
    await feed(message_update("/help", from_user=teacher))
    assert last(recorder, teacher).text.startswith("What you can do here")
    await feed(message_update("2016-09-09", from_user=teacher))
    assert last(recorder, teacher).text.startswith("(4/13) Father's name?")


async def test_a_teacher_of_one_class_is_not_asked_for_the_class_an_admin_is(feed, recorder, world):
    admin = en(world, "校长")
    await feed(message_update("/newchild", from_user=admin))
    which = last(recorder, admin)
    assert which.text == "Which class is the child in?" and labels(which) == ["三年级一班", "三年级二班"]
    await feed(message_update("小刚", from_user=admin))  # no class yet: not an answer
    assert last(recorder, admin).text.startswith("Sorry, I did not understand")
    await feed(callback_update(button(which, "三年级二班"), from_user=admin))
    assert last(recorder, admin).text.startswith("(1/13) Name?")
    recorder.clear()
    await feed(callback_update(button(which, "三年级一班"), from_user=admin))  # the class is chosen already
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE


async def test_save_after_someone_else_added_the_same_child(feed, recorder, world):
    teacher = en(world, "王老师")
    await feed(message_update("/newchild", from_user=teacher))
    await feed(message_update("小明", from_user=teacher))
    await feed(callback_update(button(last(recorder, teacher), "boy"), from_user=teacher))
    await feed(message_update("2016-05-01", from_user=teacher))
    while "Save" not in labels(last(recorder, teacher)):
        await feed(callback_update(button(last(recorder, teacher), "Skip"), from_user=teacher))
    await feed(callback_update(button(last(recorder, teacher), "Save"), from_user=teacher))
    assert last(recorder, teacher).text == (
        "Not saved: a child with this name and date of birth is already on the roll.")
    assert await children_named(world) == ["小明"]


async def test_cancel_ends_the_form_and_its_buttons(feed, recorder, world):
    teacher = en(world, "王老师")
    await feed(message_update("/newchild", from_user=teacher))
    await feed(message_update("小刚", from_user=teacher))
    sex = last(recorder, teacher)
    await feed(message_update("/cancel", from_user=teacher))
    assert last(recorder, teacher).text == "Cancelled. Nothing was saved."
    recorder.clear()
    await feed(callback_update(button(sex, "boy"), from_user=teacher))
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE
    assert await children_named(world) == ["小明"]


async def test_parents_and_strangers_cannot_add_children(feed, recorder, world):
    await world.person("陌生人")
    for name in ("李妈妈", "陌生人"):
        await feed(message_update("/newchild", from_user=en(world, name)))
        assert last(recorder, en(world, name)).text == "Only class teachers and school admins can add children."
    assert await world.services.dialogues.current(world.people["李妈妈"]) is None


# -- the record: view, edit, history ----------------------------------------------------------------------------

async def test_edit_a_field_with_buttons_and_the_history_shows_it_in_school_time(feed, recorder, world):
    teacher = en(world, "王老师")
    await feed(message_update("/child", from_user=teacher))
    view = last(recorder, teacher)
    assert "Date of birth: 2016-05-01" in view.text and labels(view) == ["Edit", "History", "🆘 Report a danger"]
    await feed(callback_update(button(view, "Edit"), from_user=teacher))
    await feed(callback_update(button(last(recorder, teacher), "Basic information"), from_user=teacher))
    await feed(callback_update(button(last(recorder, teacher), "Sex"), from_user=teacher))
    assert last(recorder, teacher).text == "Choose the new value for “Sex”, or send /cancel."
    await feed(callback_update(button(last(recorder, teacher), "girl"), from_user=teacher))
    saved = last(recorder, teacher)
    assert saved.text == "Saved. Sex: girl"
    assert button(saved, "Back to the record") == OpenRecord(world.children["小明"]).pack()
    await feed(callback_update(button(view, "History"), from_user=teacher))
    history = last(recorder, teacher).text.splitlines()
    # the clock stands at 08:00 UTC: 16:00 in the school's time zone (Asia/Shanghai)
    assert history[:2] == ["Latest changes:", "2026-03-02 16:00 · Sex: — → girl · 王老师"]


async def test_an_edit_waits_for_the_value_across_a_restart(settings, clock, recorder, app, feed, world):
    teacher = en(world, "王老师")
    child = world.children["小明"]
    await feed(callback_update(EditField(child, "mother_phone").pack(), from_user=teacher))
    assert last(recorder, teacher).text.startswith("Send the new value for “Mother's phone”")
    async with restarted(settings, clock, recorder) as feed_again:
        await feed_again(message_update("12345", from_user=teacher))
        assert last(recorder, teacher).text == ("“Mother's phone” was not changed: not a valid phone number (for "
                                                "example 13800138000). Try again, or send /cancel.")
        await feed_again(message_update("139 0000 1111", from_user=teacher))
        assert last(recorder, teacher).text == "Saved. Mother's phone: +86 139 0000 1111"
        await feed_again(message_update("139 0000 2222", from_user=teacher))  # the edit is over
        assert last(recorder, teacher).text.startswith("Sorry, I did not understand")
    assert (await world.services.children._children.fields(child))["mother_phone"] == "+8613900001111"


async def test_cancel_keeps_the_value_and_a_choice_pressed_later_is_stale(feed, recorder, world):
    teacher = en(world, "王老师")
    child = world.children["小明"]
    await feed(callback_update(EditField(child, "sex").pack(), from_user=teacher))
    choices = last(recorder, teacher)
    await feed(message_update("/cancel", from_user=teacher))
    assert last(recorder, teacher).text == "Cancelled. Nothing was changed."
    recorder.clear()
    await feed(callback_update(button(choices, "girl"), from_user=teacher))
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE
    assert "sex" not in await world.services.children._children.fields(child)


async def test_a_choice_for_another_field_than_the_one_being_edited_is_stale(feed, recorder, world):
    teacher = en(world, "王老师")
    child = world.children["小明"]
    await feed(callback_update(EditField(child, "sex").pack(), from_user=teacher))
    await feed(callback_update(EditField(child, "boarding").pack(), from_user=teacher))
    recorder.clear()
    await feed(callback_update(EditChoice(child, "sex", "female").pack(), from_user=teacher))
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE
    assert "sex" not in await world.services.children._children.fields(child)


async def test_the_edit_goes_with_an_erased_record(feed, recorder, world):
    teacher = en(world, "王老师")
    child = world.children["小明"]
    await feed(callback_update(EditField(child, "health").pack(), from_user=teacher))
    privacy = world.services.privacy
    request = await privacy.request_deletion(await world.actor("李妈妈"), child)
    await privacy.decide(await world.actor("校长"), request, True)
    assert await world.services.dialogues.current(world.people["王老师"]) is None
    await feed(message_update("对花生过敏", from_user=teacher))
    assert last(recorder, teacher).text.startswith("Sorry, I did not understand")


async def test_a_parent_may_not_edit_nor_read_the_history(feed, recorder, world):
    mother = en(world, "李妈妈")
    await feed(message_update("/child", from_user=mother))
    assert labels(last(recorder, mother)) == ["🆘 Ask for help"]  # nothing to edit or read back; 求助 is hers
    recorder.clear()
    await feed(callback_update(EditField(world.children["小明"], "mother_phone").pack(), from_user=mother))
    await feed(callback_update(f"hist:{world.children['小明']}", from_user=mother))
    assert [a.params["text"] for a in recorder.sent("answerCallbackQuery")] == ["You cannot do this for this child."] * 2
    assert await world.services.dialogues.current(world.people["李妈妈"]) is None


async def test_someone_from_another_class_cannot_open_the_record(feed, recorder, world):
    await world.person("赵老师", TEACHER, klass="三年级二班")
    other = en(world, "赵老师")
    await feed(callback_update(OpenRecord(world.children["小明"]).pack(), from_user=other))
    [answer] = recorder.sent("answerCallbackQuery")
    assert answer.params["text"] == "You cannot see this child's record."
    assert recorder.sent() == []


async def test_children_pages_through_names(feed, recorder, world):
    for n in range(12):
        await world.child(f"学生{n:02d}")
    teacher = en(world, "王老师")
    await feed(message_update("/children", from_user=teacher))
    listing = last(recorder, teacher)
    assert listing.text.startswith("Children you care for (13):")
    assert labels(listing)[-1] == "Next page ▶" and len(labels(listing)) == 11
    await feed(callback_update(button(listing, "Next page ▶"), from_user=teacher))
    [edit] = recorder.sent("editMessageReplyMarkup")
    assert [b["text"] for row in edit.params["reply_markup"]["inline_keyboard"] for b in row][-1] == "◀ Previous page"
    recorder.clear()
    await feed(callback_update("kids:5", from_user=teacher))  # beyond the last page
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE


# -- /audit ----------------------------------------------------------------------------------------------------

async def test_audit_shows_who_saw_and_changed_the_record(feed, recorder, world):
    teacher = en(world, "王老师")
    await feed(message_update("/child", from_user=teacher))
    await feed(callback_update(EditField(world.children["小明"], "health").pack(), from_user=teacher))
    await feed(message_update("对花生过敏", from_user=teacher))
    admin = en(world, "校长")
    await feed(message_update("/audit", from_user=admin))
    log = last(recorder, admin).text.splitlines()
    assert log[0] == "Audit log, newest first:"
    assert log[1] == "2026-03-02 16:00 · 王老师 · changed Health"
    assert log[2].startswith("2026-03-02 16:00 · 王老师 · viewed the record Name, ")
    assert last(recorder, admin).params["protect_content"] is True


async def test_audit_reads_in_words_in_school_time_with_repeats_collapsed(feed, recorder, world, clock):
    """Four views in a row are one line; times are the school's (Shanghai, UTC+8), field keys and action codes
    are words, and row ids ("proposal=2") are left out."""
    teacher = en(world, "王老师")
    for _minute in range(4):
        await feed(message_update("/child", from_user=teacher))
        clock.advance(timedelta(minutes=1))
    await world.services.db.write(
        "INSERT INTO audit_log (at, actor_id, child_id, action, detail) VALUES (?, ?, ?, 'video_agreed', 'proposal=2')",
        ("2026-03-02T09:00:00.000+00:00", world.people["王老师"], world.children["小明"]))
    admin = en(world, "校长")
    await feed(message_update("/audit", from_user=admin))
    log = last(recorder, admin).text.splitlines()
    assert log[1] == "2026-03-02 17:00 · 王老师 · agreed the video-call time"
    assert log[2].startswith("2026-03-02 16:03 (×4, since 2026-03-02 16:00) · 王老师 · viewed the record Name")
    assert len(log) == 3
    assert "_" not in last(recorder, admin).text  # no raw keys like birth_date or video_agreed


async def test_audit_is_for_admins_only(feed, recorder, world):
    for name in ("王老师", "李妈妈"):
        await feed(message_update("/audit", from_user=en(world, name)))
        assert last(recorder, en(world, name)).text == "Only a school admin can read the audit log."
    await feed(callback_update(f"audit:{world.children['小明']}", from_user=en(world, "王老师")))
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == "You cannot do this for this child."


# -- forged and stale buttons -----------------------------------------------------------------------------------

FORGED = {
    "child": ["child:²", "child:12345678901234567890123", "child:", "child:1:2", "child:x"],
    "kids": ["kids:²", "kids:12345678901234567890123", "kids:", "kids:0:1", "kids:-1"],
    "editg": ["editg:²", "editg:12345678901234567890123", "editg:", "editg:1:care:x", "editg:1:nosuchgroup"],
    "editf": ["editf:²:name", "editf:12345678901234567890123:name", "editf::", "editf:1:name:x", "editf:1:nofield"],
    "editv": ["editv:²:sex:male", "editv:12345678901234567890123:sex:male", "editv:::", "editv:1:sex:male:x",
              "editv:1:sex:亲情室"],
    "hist": ["hist:²", "hist:12345678901234567890123", "hist:", "hist:1:1", "hist:one"],
    "audit": ["audit:²", "audit:12345678901234567890123", "audit:", "audit:1:1", "audit:one"],
    "ncc": ["ncc:²", "ncc:12345678901234567890123", "ncc:", "ncc:1:1", "ncc:one"],
    "nc": ["nc:²:v:male", "nc:12345678901234567890123:skip", "nc::", "nc:0:skip:x:y", "nc:0:maybe"],
    "ncd": ["ncd:²", "ncd:12345678901234567890123", "ncd:", "ncd:save:now", "ncd:later"],
}


@pytest.mark.parametrize("prefix", sorted(FORGED))
async def test_forged_buttons_get_a_popup_and_no_error(feed, recorder, world, caplog, prefix):
    teacher = en(world, "王老师")
    with caplog.at_level(logging.INFO):
        for data in FORGED[prefix]:
            recorder.clear()
            await feed(callback_update(data, from_user=teacher))
            [answer] = recorder.sent("answerCallbackQuery")
            assert answer.params["text"] == STALE, data
            assert recorder.sent() == [], data
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("data", [NewChildAnswer(0, "skip").pack(), NewChildDone("save").pack(),
                                  EditChoice(1, "sex", "male").pack(), "ncc:1"])
async def test_well_formed_buttons_without_their_dialogue_are_stale(feed, recorder, world, caplog, data):
    await feed(callback_update(data, from_user=en(world, "王老师")))
    [answer] = recorder.sent("answerCallbackQuery")
    assert answer.params["text"] == STALE
    assert await children_named(world) == ["小明"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_the_record_uses_the_readers_colon(feed, recorder, world):
    """English lines read "Health: …", Chinese ones "健康…：…"; a Chinese colon in English was a fault."""
    mother = en(world, "李妈妈")
    await feed(message_update("/child", from_user=mother))
    text = last(recorder, mother).text
    assert "：" not in text and ": " in text
    chinese = user(world.telegram["李妈妈"], "zh-hans", "李妈妈")
    await world.services.preferences.set_locale(world.telegram["李妈妈"], "zh_CN")
    await feed(message_update("/child", from_user=chinese))
    assert "：" in last(recorder, chinese).text
