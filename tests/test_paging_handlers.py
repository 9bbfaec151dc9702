"""Lists of children at class scale (issue 14, item 9): every picker reaches the 31st child and beyond with ◀ ▶,
children come in the roster's order (the order they were imported), and an admin's school is grouped by class."""

from __future__ import annotations

import pytest

from bot.access.policy import ADMIN, PARENT, PROXY, TEACHER
from tests.helpers import callback_update, labels, last, message_update, press, who
from tests.world import World

# Imported in this order: a name sort would put 学生01 first and hide the first-imported children on page 2.
NAMES = [f"学生{n:02d}" for n in range(35, 0, -1)]
NEXT, PREVIOUS = "Next page ▶", "◀ Previous page"


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services, classes=("三年级一班", "三年级二班"))
    for name in NAMES:
        await world.child(name, "三年级一班")
    await world.child("小红", "三年级二班")
    await world.person("王老师", TEACHER, klass="三年级一班", user_id=7901)
    await world.person("家长", PARENT, child="学生01", relation="mother", user_id=7902)
    await world.person("赵阿姨", PROXY, child="学生01", user_id=7903)
    await world.person("周校长", ADMIN, user_id=7904)
    await world.consent("学生01", by="家长")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


async def say(feed, world, name: str, text: str) -> None:
    await feed(message_update(text, from_user=who(world, name)))


@pytest.mark.parametrize("command", ["/talk", "/update", "/timeline", "/video"])
async def test_a_teacher_of_thirty_five_reaches_the_last_child_in_roster_order(feed, recorder, world, command):
    await say(feed, world, "王老师", command)
    first = labels(last(recorder, world, "王老师"))
    assert first == [*NAMES[:30], NEXT]
    assert "Page 1 of 2" in last(recorder, world, "王老师").params["text"]

    await press(feed, recorder, world, "王老师", NEXT)
    second = last(recorder, world, "王老师")
    assert second.method == "editMessageText"  # the page turns in place
    assert labels(second) == [*NAMES[30:], PREVIOUS]

    await press(feed, recorder, world, "王老师", "学生01")
    assert "学生01" in last(recorder, world, "王老师").params["text"]


async def test_the_report_form_pages_its_children_and_stays_on_the_step(feed, recorder, world):
    await say(feed, world, "王老师", "/report")
    await press(feed, recorder, world, "王老师", "No danger right now")
    assert NAMES[0] in labels(last(recorder, world, "王老师"))
    assert "学生01" not in labels(last(recorder, world, "王老师"))
    await press(feed, recorder, world, "王老师", NEXT)
    assert "Page 2 of 2" in last(recorder, world, "王老师").params["text"]
    await press(feed, recorder, world, "王老师", "学生01")
    assert "学生01" in last(recorder, world, "王老师").params["text"]
    assert "What is happening" in last(recorder, world, "王老师").params["text"]


async def test_an_admin_sees_the_school_grouped_by_class_on_every_page(feed, recorder, world):
    await say(feed, world, "周校长", "/audit")
    call = last(recorder, world, "周校长")
    assert labels(call)[:2] == [f"{NAMES[0]} · 三年级一班", f"{NAMES[1]} · 三年级一班"]
    await press(feed, recorder, world, "周校长", NEXT)
    rows = last(recorder, world, "周校长").params["reply_markup"]["inline_keyboard"]
    texts = [[b["text"] for b in row] for row in rows]
    # The last of 一班 and the one child of 二班 are not on one row: a new class starts a new row.
    assert texts[-2] == ["小红 · 三年级二班"]
    assert texts[-3][-1] == "学生01 · 三年级一班"
    assert texts[-1] == [PREVIOUS]


async def test_a_forged_page_is_a_stale_button(feed, recorder, world):
    await feed(callback_update("pg:video:²", from_user=who(world, "王老师")))
    assert recorder.sent("answerCallbackQuery")[-1].params.get("text")
