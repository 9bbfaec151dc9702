"""Consent and erasure said out loud (issue 14, items 4 and 5), through the production application: a "no" reaches
the class teacher and the other parents and guardians at once, in role terms; a removed parent's decision no
longer counts; an erasure request is pushed to the school's admins, the other parents and guardians may object
before they decide, and once the record is erased no copy of the child's name is left in the inbox or in the
database files."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from bot.access.policy import ADMIN, GUARDIAN, PARENT, PROXY, TEACHER
from tests.helpers import through_intake, button, callback_update, deliver_outbox, labels, last, message_update, user
from tests.world import World

# The child's name is unique to the run, so that finding it in the database files means this child.
NAME = "欧阳" + "".join(secrets.choice("明华军丽强芳") for _ in range(3))


@pytest.fixture
async def world(app) -> World:
    world = await World.build(app.bot_data.services)
    await world.child(NAME)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("张丽", PARENT, child=NAME, relation="mother")
    await world.person("李强", PARENT, child=NAME, relation="father")
    await world.person("王奶奶", GUARDIAN, child=NAME, relation="grandmother_p")
    await world.person("赵阿姨", PROXY, child=NAME)
    await world.person("周校长", ADMIN)
    await world.consent(NAME, by="张丽")
    return world


def zh(world: World, name: str) -> dict:
    return user(world.telegram[name], "zh-hans", name)


def said_to(recorder, world: World, name: str) -> list[str]:
    return [c.text or c.params.get("caption") or "" for c in recorder.calls
            if c.method in ("sendMessage", "editMessageText") and int(c.params.get("chat_id", 0)) == world.telegram[name]]


async def state(world: World) -> str:
    return await world.services.consent.state(world.children[NAME])


# -- a "no", told at once ------------------------------------------------------------------------------------

async def test_the_fathers_refusal_reaches_the_teacher_and_the_mother_in_role_terms(app, feed, recorder, world):
    child = world.children[NAME]
    await feed(callback_update(f"consent:{child}:refused", from_user=zh(world, "李强")))
    assert await state(world) == "withdrawn"
    recorder.clear()
    await deliver_outbox(app)

    [teacher] = said_to(recorder, world, "王老师")
    assert teacher.startswith(f"{NAME}的父亲不同意信息使用规则。现在不共享关于{NAME}的任何内容")
    assert "请和这家人谈一谈。" in teacher
    for family in ("张丽", "王奶奶"):
        [told] = said_to(recorder, world, family)
        assert told.startswith(f"{NAME}的父亲不同意信息使用规则") and "/privacy" in told
    # Role terms: never the father's name; the proxy parent and the admin are not told; nor is the father himself.
    assert all("李强" not in t for name in ("王老师", "张丽", "王奶奶") for t in said_to(recorder, world, name))
    for name in ("赵阿姨", "周校长", "李强"):
        assert said_to(recorder, world, name) == []


async def test_a_withdrawal_is_told_as_a_withdrawal(app, feed, recorder, world):
    child = world.children[NAME]
    await feed(callback_update(f"withdraw:{child}:yes", from_user=zh(world, "张丽")))
    recorder.clear()
    await deliver_outbox(app)
    [teacher] = said_to(recorder, world, "王老师")
    assert teacher.startswith(f"{NAME}的母亲撤回了对信息使用规则的同意")
    # The others' refusals now say what happened, not that nobody has answered yet.
    await feed(message_update("/relay", from_user=zh(world, "赵阿姨")))
    refusal = last(recorder, world, "赵阿姨").text
    assert refusal == f"现在不能转发关于{NAME}的消息：{NAME}的母亲撤回了同意（见 /privacy）。"
    await feed(message_update("/update", from_user=zh(world, "赵阿姨")))
    assert last(recorder, world, "赵阿姨").text.startswith(f"{NAME}的母亲撤回了同意，所以现在不能记录")


async def test_a_refusal_is_told_as_a_refusal_by_whom_it_was_said(app, feed, recorder, world):
    child = world.children[NAME]
    await feed(callback_update(f"consent:{child}:refused", from_user=zh(world, "李强")))
    await feed(message_update("/relay", from_user=zh(world, "赵阿姨")))
    assert last(recorder, world, "赵阿姨").text == f"现在不能转发关于{NAME}的消息：{NAME}的父亲在 /privacy 中不同意规则。"


async def test_a_removed_parents_decision_no_longer_counts(app, feed, recorder, world):
    child = world.children[NAME]
    await feed(callback_update(f"consent:{child}:refused", from_user=zh(world, "李强")))
    assert await state(world) == "withdrawn"
    await feed(message_update("/privacy", from_user=zh(world, "张丽")))
    assert "⛔" in said_to(recorder, world, "张丽")[-1]

    # The admin removes the father's role: his "no" goes with it, and the mother's yes stands again.
    [father_grant] = world.grants["李强"]
    await feed(callback_update(f"rmrole:{father_grant}", from_user=zh(world, "周校长")))
    assert await state(world) == "given"
    await feed(message_update("/privacy", from_user=zh(world, "张丽")))
    assert f"✅ {NAME}" in said_to(recorder, world, "张丽")[-1]

    # And a removed mother's yes no longer counts either: nobody who is family now has agreed.
    [mother_grant] = world.grants["张丽"]
    await feed(callback_update(f"rmrole:{mother_grant}", from_user=zh(world, "周校长")))
    assert await state(world) == "awaiting"


# -- erasure ---------------------------------------------------------------------------------------------------

async def ask_for_erasure(feed, world: World, name: str = "张丽") -> None:
    child = world.children[NAME]
    await feed(callback_update(f"delete:{child}", from_user=zh(world, name)))
    await feed(callback_update(f"delete:{child}:yes", from_user=zh(world, name)))


async def test_an_erasure_request_is_pushed_to_the_admins_and_the_others_may_object(app, feed, recorder, world):
    await ask_for_erasure(feed, world)
    [(request_id,)] = await world.services.db.fetch_all("SELECT id FROM deletion_requests")
    recorder.clear()
    await deliver_outbox(app)

    # The admin hears of it when it is made, with the buttons to decide.
    [pushed] = [c for c in recorder.sent(chat_id=world.telegram["周校长"])]
    assert f"{NAME}的母亲" in pushed.text and NAME in pushed.text and "张丽" not in pushed.text
    assert labels(pushed) == ["🗑 删除", "不删除"]
    assert button(pushed, "🗑 删除") == f"erase:{request_id}:yes"
    # The other parents and guardians are told, and may object; the teacher and the proxy parent are not asked.
    for family in ("李强", "王奶奶"):
        [note] = recorder.sent(chat_id=world.telegram[family])
        assert f"{NAME}的母亲申请删除这里关于{NAME}的全部信息" in note.text
        assert labels(note) == ["✋ 我不想删除"]
    assert recorder.sent(chat_id=world.telegram["赵阿姨"]) == [] and recorder.sent(chat_id=world.telegram["王老师"]) == []

    note = recorder.sent(chat_id=world.telegram["王奶奶"])[0]
    await feed(callback_update(button(note, "✋ 我不想删除"), from_user=zh(world, "王奶奶")))
    assert last(recorder, world, "王奶奶").text == "谢谢。学校管理员在做决定前会知道您不想删除。"
    recorder.clear()
    await deliver_outbox(app)
    [objection] = recorder.sent(chat_id=world.telegram["周校长"])
    assert objection.text.startswith(f"申请 {request_id}：{NAME}的奶奶不想删除{NAME}的档案")
    audit = await world.services.db.fetch_all("SELECT action FROM audit_log WHERE child_id = ? ORDER BY id",
                                              (world.children[NAME],))
    assert [a["action"] for a in audit][-2:] == ["request_deletion", "object_deletion"]


async def test_an_objection_after_the_decision_is_stale(app, feed, recorder, world):
    await ask_for_erasure(feed, world)
    [(request_id,)] = await world.services.db.fetch_all("SELECT id FROM deletion_requests")
    await feed(callback_update(f"erase:{request_id}:no", from_user=zh(world, "周校长")))
    await feed(callback_update(f"keep:{request_id}", from_user=zh(world, "李强")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "这个按钮已经失效了。"
    # And a stranger to the child cannot object at all.
    await ask_for_erasure(feed, world)
    [(_first,), (second,)] = await world.services.db.fetch_all("SELECT id FROM deletion_requests ORDER BY id")
    await feed(callback_update(f"keep:{second}", from_user=zh(world, "赵阿姨")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "这个按钮已经失效了。"


def pressed_under(call, label: str, presser: dict) -> dict:
    """A press of `label` under the message the bot sent: Telegram sends the message's text along with it."""
    update = callback_update(button(call, label), from_user=presser)
    update["callback_query"]["message"].update(text=call.text, reply_markup=call.params["reply_markup"])
    return update


def files_holding(path: str, needle: str) -> list[str]:
    return [p.name for suffix in ("", "-wal", "-shm", "-journal") if (p := Path(path + suffix)).exists()
            and needle.encode() in p.read_bytes()]


async def test_after_the_erasure_no_copy_of_the_childs_name_is_left_in_the_inbox_or_the_files(app, settings, recorder,
                                                                                               world):
    services = app.bot_data.services
    admin = zh(world, "周校长")
    # The family writes about the child by name, and the admin decides from the pushed message, which names the
    # child; each press carries that text into the inbox.
    await through_intake(app, message_update(f"{NAME}今天很乖", from_user=zh(world, "王奶奶")))
    await through_intake(app, callback_update(f"delete:{world.children[NAME]}", from_user=zh(world, "张丽")))
    await through_intake(app, callback_update(f"delete:{world.children[NAME]}:yes", from_user=zh(world, "张丽")))
    await deliver_outbox(app)
    [pushed] = recorder.sent(chat_id=admin["id"])
    await through_intake(app, pressed_under(pushed, "🗑 删除", admin))
    confirm = last(recorder, world, "周校长")
    assert NAME in confirm.text and labels(confirm) == ["🗑 是，彻底删除", "取消"]
    assert files_holding(settings.database_path, NAME)  # the scan finds what is there

    await through_intake(app, pressed_under(confirm, labels(confirm)[0], admin))
    assert await services.db.fetch_one("SELECT id FROM children WHERE id = ?", (world.children[NAME],)) is None
    assert NAME not in last(recorder, world, "周校长").text

    inbox = [r["payload"] for r in await services.db.fetch_all("SELECT payload FROM inbox") if r["payload"]]
    assert not [p for p in inbox if NAME in p]
    for table in ("dialogues", "outbox", "audit_log"):
        rows = await services.db.fetch_all(f"SELECT * FROM {table}")
        assert not [r for r in rows if NAME in json.dumps(dict(r), ensure_ascii=False)], table
    # What the carers are told afterwards names the class, never the child.
    await deliver_outbox(app)
    for carer in ("王老师", "赵阿姨", "李强", "王奶奶"):
        assert any("一份孩子档案已删除" in t and NAME not in t for t in said_to(recorder, world, carer)), carer
    assert files_holding(settings.database_path, NAME) == []


async def test_the_teacher_gets_a_task_to_talk_with_the_family_until_they_mark_it_done(app, feed, recorder, world):
    child = world.children[NAME]
    await feed(callback_update(f"consent:{child}:refused", from_user=zh(world, "李强")))
    # The mother's withdrawal afterwards does not make a second task: one is open already.
    await feed(callback_update(f"withdraw:{child}:yes", from_user=zh(world, "张丽")))
    recorder.clear()
    await deliver_outbox(app)
    first, second = recorder.sent(chat_id=world.telegram["王老师"])
    assert labels(first) == labels(second) == ["✅ 我已经和家人谈过了"]
    assert button(first, "✅ 我已经和家人谈过了") == button(second, "✅ 我已经和家人谈过了")
    assert "/calendar" in first.text

    await feed(message_update("/calendar", from_user=zh(world, "王老师")))
    agenda = last(recorder, world, "王老师")
    assert f"和{NAME}的家人谈谈信息使用规则" in agenda.text
    done = button(first, "✅ 我已经和家人谈过了")
    assert done in [b["callback_data"] for row in agenda.params["reply_markup"]["inline_keyboard"] for b in row]

    # Only the teacher may mark it; then it leaves the calendar, and a second press changes nothing.
    await feed(callback_update(done, from_user=zh(world, "张丽")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "这个按钮已经失效了。"
    await feed(callback_update(done, from_user=zh(world, "王老师")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "已标记完成，辛苦了！"
    await feed(callback_update(done, from_user=zh(world, "王老师")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "已经标记完成了。"
    await feed(message_update("/calendar", from_user=zh(world, "王老师")))
    assert NAME not in last(recorder, world, "王老师").text
    audit = await world.services.db.fetch_all("SELECT action FROM audit_log WHERE child_id = ?", (child,))
    assert "followup_done" in [a["action"] for a in audit]
