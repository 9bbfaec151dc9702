"""Home visits (家访, issue 15, item 4) through the production application: /visit's form and its buttons, what the
author is told, what reaches the family (nothing, unless the visit is shared), the timelines, /due's visit for the
class teacher, and the menus."""

from __future__ import annotations

import itertools
import time

import pytest

from bot.access.policy import ADMIN, GUARDIAN, PARENT, PROXY, TEACHER
from handlers.commands import commands_for
from tests.helpers import deliver_outbox, labels, last, message_update, outbox, press, who
from tests.world import World

_ids = itertools.count(95_000)


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.person("王老师", TEACHER, klass="三年级一班", user_id=9901)
    await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=9902)
    await world.person("奶奶", GUARDIAN, child="小明", relation="grandmother", user_id=9903)
    await world.person("赵阿姨", PROXY, child="小明", user_id=9904)
    await world.person("校长", ADMIN, user_id=9905)
    await world.consent("小明", by="李妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def voice(sender: dict, n: int) -> dict:
    chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "from": sender,
               "voice": {"file_id": f"hv{n}", "file_unique_id": f"huv{n}", "duration": 30, "file_size": 60_000}}
    return {"update_id": next(_ids), "message": message}


async def fill(feed, recorder, world, name: str) -> None:
    """/visit, whom they met by buttons, what they found typed and by voice."""
    me = who(world, name)
    await feed(message_update("/visit", from_user=me))
    form = last(recorder, world, name)
    assert form.text.startswith("🏡 Home visit for 小明\n📅 Date: Mar 2\n🚶 Who went: " + name)
    assert "🔐 Who reads it: 🔒 Staff only" in form.text
    assert labels(form) == ["✔ 📅 Date", "✔ 🚶 Who went", "👥 Met", "🔎 Found", "🤝 Agreed", "✔ 🔐 Who reads it",
                            "💾 Save", "✖ Cancel"]
    await press(feed, recorder, world, name, "👥 Met")
    assert labels(last(recorder, world, name))[:4] == ["Grandparents", "Parents", "Other relatives", "The child"]
    await press(feed, recorder, world, name, "Grandparents")
    await press(feed, recorder, world, name, "The child")
    assert "✔ Grandparents" in labels(last(recorder, world, name))
    await press(feed, recorder, world, name, "Done")
    await feed(message_update("奶奶腿脚不便，孩子作业按时完成", from_user=me))
    await feed(voice(me, 1))
    form = last(recorder, world, name)
    assert "👥 Met: Grandparents, The child" in form.text and "🔎 Found: 奶奶腿脚不便，孩子作业按时完成" in form.text
    assert "🎤 1 voice note" in form.text


async def test_a_teachers_visit_is_kept_for_the_staff_and_never_reaches_the_family(app, feed, recorder, world):
    await fill(feed, recorder, world, "王老师")
    await press(feed, recorder, world, "王老师", "💾 Save")
    said = last(recorder, world, "王老师")
    assert said.text == "💾 The home visit for 小明 is recorded, for the staff only: the family is not sent it."
    assert labels(said) == []
    assert [r for r in await outbox(world) if r["key"].startswith("care:")] == []
    recorder.clear()
    await deliver_outbox(app)
    family = {world.telegram["李妈妈"], world.telegram["奶奶"]}
    assert not any("奶奶腿脚不便" in str(c.params) for c in recorder.calls if int(c.params.get("chat_id", 0)) in family)

    for name in ("李妈妈", "奶奶"):
        await feed(message_update("/timeline", from_user=who(world, name)))
        assert last(recorder, world, name).text == "Nothing has been recorded for 小明 yet."
    for name in ("王老师", "赵阿姨", "校长"):
        await feed(message_update("/timeline", from_user=who(world, name)))
        page = last(recorder, world, name)
        assert "🏡 小明's home visit · Mar 2\nclass teacher 王老师" in page.text
        assert "🔎 Found: 奶奶腿脚不便，孩子作业按时完成" in page.text
        assert labels(page) == ["📷 Mar 2"]  # the voice note, a press away


async def test_a_shared_visit_reaches_the_family_with_received(app, feed, recorder, world):
    await fill(feed, recorder, world, "赵阿姨")
    await press(feed, recorder, world, "赵阿姨", "✔ 🔐 Who reads it")
    assert labels(last(recorder, world, "赵阿姨"))[:2] == ["🔒 Staff only", "👪 Staff and family"]
    await press(feed, recorder, world, "赵阿姨", "👪 Staff and family")
    assert "🔐 Who reads it: 👪 Staff and family" in last(recorder, world, "赵阿姨").text
    await press(feed, recorder, world, "赵阿姨", "💾 Save")
    assert last(recorder, world, "赵阿姨").text.startswith(
        "📤 The home visit about 小明 is on its way to 李妈妈, 奶奶.")
    recorder.clear()
    await deliver_outbox(app)
    for name in ("李妈妈", "奶奶"):
        chat = world.telegram[name]
        mine = [c for c in recorder.calls if int(c.params.get("chat_id", 0)) == chat]
        assert [c.method for c in mine] == ["sendVoice", "sendMessage"]
        card = mine[-1]
        assert card.params["text"].startswith("🏡 小明's home visit · Mar 2\nproxy parent 赵阿姨")
        assert "🤝" not in card.params["text"]  # nothing agreed was written: no empty line for it
        assert labels(card) == ["✅ Received"]
    await press(feed, recorder, world, "李妈妈", "✅ Received")
    await feed(message_update("/timeline", from_user=who(world, "李妈妈")))
    page = last(recorder, world, "李妈妈").text
    assert "🏡 小明's home visit · Mar 2" in page and "✅ Received by 李妈妈" in page


async def test_nobody_in_the_family_nor_the_admin_writes_a_visit(feed, recorder, world):
    for name in ("李妈妈", "校长"):
        await feed(message_update("/visit", from_user=who(world, name)))
        assert last(recorder, world, name).text == ("Only the proxy parent or the class teacher of a child can send "
                                                     "this, and you are neither for any child here.")


async def test_due_asks_the_class_teacher_for_one_visit_a_semester(app, feed, recorder, world):
    teacher = who(world, "王老师")
    await feed(message_update("/due", from_user=teacher))
    assert "⏰ Home visit this semester 0/1 · by Jul 31" in last(recorder, world, "王老师").text
    await feed(message_update("/due", from_user=who(world, "赵阿姨")))
    assert "Home visit" not in last(recorder, world, "赵阿姨").text  # the proxy parent owes no visit
    await fill(feed, recorder, world, "王老师")
    await press(feed, recorder, world, "王老师", "💾 Save")
    await feed(message_update("/due", from_user=teacher))
    assert "✅ Home visit this semester 1/1 · last Mar 2" in last(recorder, world, "王老师").text
    # With a class of several children, the table has a column for it.
    await world.child("小红")
    await world.consent("小红", by="李妈妈")
    await feed(message_update("/due", from_user=teacher))
    table = last(recorder, world, "王老师").text.splitlines()
    assert table[3] == "Update Photos Summary Talk Letter Visit"
    assert table[4].endswith("✅  小明") and table[5].endswith("⏰  小红")


def test_visit_is_in_the_carers_menus_only():
    for roles in ({TEACHER}, {PROXY}):
        assert ("visit", "Record a home visit") in commands_for(roles)
    for roles in ({PARENT}, {GUARDIAN}, {ADMIN}, set()):
        assert "visit" not in dict(commands_for(roles))
