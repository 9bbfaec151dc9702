"""The township through the production application: a supervisor invites a school's admin and a village's child
director with buttons, they join; a teacher records where a child's home is and the director then reaches the
child; what each new role may press and is offered."""

from __future__ import annotations

import json
import logging

import pytest

from bot.access.buttons import InviteNewPlace, InviteToSchool, InviteToVillage, RemoveRole
from bot.access.policy import ADMIN, DIRECTOR, PARENT, SUPERVISOR, TEACHER
from bot.records.buttons import ChildVillage
from handlers.commands import commands_for
from tests.helpers import button, callback_update, labels, message_update, user
from tests.world import World


@pytest.fixture
async def world(app):
    """希望小学 under 青山镇 with the village 青山村; 别的学校 under 别的镇 with its own supervisor."""
    world = await World.build(app.bot_data.services)
    await world.township("青山镇", ("青山村",))
    async with world.services.db.transaction() as conn:
        world.other_school = await world.services.people.within(conn).ensure_school("别的学校",
                                                                                   "2026-03-02T08:00:00.000+00:00")
    world.other_township = await world.township("别的镇", ("别的村",), school_id=world.other_school)
    await world.person("督导员", SUPERVISOR, display="刘督导", language="zh-hans")
    await world.person("别的督导员", SUPERVISOR, township_id=world.other_township, language="zh-hans")
    await world.person("王老师", TEACHER, klass="三年级一班", language="zh-hans")
    await world.child("小明", birth_date="2016-05-01", personality="开朗", father_phone="+8613800138000",
                      id_number="11010519491231002X", support="低保")
    await world.person("李妈妈", PARENT, child="小明", relation="mother", language="zh-hans")
    return world


def last(recorder, chat: int):
    return [c for c in recorder.calls if c.method in ("sendMessage", "editMessageText")
            and int(c.params.get("chat_id", 0)) == chat][-1]


async def say(feed, world, name: str, text: str) -> None:
    await feed(message_update(text, from_user=world.user(name)))


async def press(feed, recorder, world, name: str, label: str) -> None:
    await feed(callback_update(button(last(recorder, world.telegram[name]), label), from_user=world.user(name)))


async def join(feed, recorder, code: str, user_id: int) -> str:
    """A newcomer opens the link and accepts; returns what the offer said."""
    newcomer = user(user_id, "zh-hans", "新人")
    await feed(message_update(f"/start {code}", from_user=newcomer))
    offer = last(recorder, user_id)
    await feed(callback_update(button(offer, "接受"), from_user=newcomer))
    return offer.text


def decoded(value):
    return json.loads(value) if isinstance(value, str) else value


def code_in(text: str) -> str:
    return text.split("/start ")[1].split()[0]


async def test_a_supervisor_invites_the_admin_of_a_new_school_with_buttons(feed, recorder, world):
    await say(feed, world, "督导员", "/invite")
    assert labels(last(recorder, world.telegram["督导员"])) == ["邀请学校管理员", "邀请村儿童主任"]
    await press(feed, recorder, world, "督导员", "邀请学校管理员")
    # The township's schools, and one that is not listed yet: 别的学校 belongs to another township.
    assert labels(last(recorder, world.telegram["督导员"])) == ["希望小学", "➕ 列表中没有的学校"]
    await press(feed, recorder, world, "督导员", "➕ 列表中没有的学校")
    assert "学校名称" in last(recorder, world.telegram["督导员"]).text
    await say(feed, world, "督导员", "新华小学")
    invitation = last(recorder, world.telegram["督导员"]).text
    assert "学校管理员" in invitation and "新华小学" in invitation
    assert recorder.sent("sendPhoto", chat_id=world.telegram["督导员"])  # the QR code

    offer = await join(feed, recorder, code_in(invitation), 880101)
    assert offer == "刘督导 邀请您加入亲情桥，身份是新华小学的管理员。"
    assert "/newclass" in last(recorder, 880101).text
    school = await world.services.people.school_by_name("新华小学")
    assert school.township_id == world.township_id
    admin = await world.services.directory.actor("telegram", "880101")
    assert [(g.role, g.school_id) for g in admin.grants] == [(ADMIN, school.id)]


async def test_a_supervisor_invites_a_village_director_who_then_reaches_the_villages_children(feed, recorder, world):
    await say(feed, world, "督导员", "/invite")
    await press(feed, recorder, world, "督导员", "邀请村儿童主任")
    assert labels(last(recorder, world.telegram["督导员"])) == ["青山村", "➕ 列表中没有的村"]
    await press(feed, recorder, world, "督导员", "青山村")
    invitation = last(recorder, world.telegram["督导员"]).text
    assert "村儿童主任" in invitation and "青山村" in invitation

    offer = await join(feed, recorder, code_in(invitation), 880102)
    assert offer == "刘督导 邀请您加入亲情桥，身份是青山镇青山村的村儿童主任。"
    [menu] = [c for c in recorder.calls if c.method == "setMyCommands"
              and decoded(c.params["scope"])["chat_id"] == 880102]
    names = [c["command"] for c in decoded(menu.params["commands"])]
    assert "children" in names and "relay" not in names and "invite" not in names
    director = user(880102, "zh-hans")

    # Nobody's home is recorded yet: the director reaches nobody.
    await feed(message_update("/children", from_user=director))
    assert "小明" not in last(recorder, 880102).text

    # The teacher records it on the record, with buttons.
    await say(feed, world, "王老师", "/child")
    assert "🏠 所在村" in labels(last(recorder, world.telegram["王老师"]))
    await press(feed, recorder, world, "王老师", "🏠 所在村")
    assert labels(last(recorder, world.telegram["王老师"])) == ["青山村", "未登记所在村", "返回档案"]
    await press(feed, recorder, world, "王老师", "青山村")
    assert last(recorder, world.telegram["王老师"]).text == "已保存。所在村：青山村"

    # Before consent the director sees the name only, like a school's staff.
    await feed(message_update("/child", from_user=director))
    view = last(recorder, 880102).text
    assert "小明" in view and "青山村" in view and "开朗" not in view and "138" not in view
    await world.consent("小明", by="李妈妈")
    await feed(message_update("/child", from_user=director))
    view = last(recorder, 880102)
    assert "开朗" in view.text and "+86 138 0013 8000" in view.text
    assert "11010519491231002X" not in view.text and "低保" not in view.text
    assert not {"修改", "修改记录", "🏠 所在村"} & set(labels(view))  # nothing to edit, no history, no village


async def test_the_supervisor_reads_the_townships_records_and_edits_none(feed, recorder, world):
    await world.consent("小明", by="李妈妈")
    await say(feed, world, "督导员", "/child")
    view = last(recorder, world.telegram["督导员"])
    assert "开朗" in view.text and "11010519491231002X" in view.text and "低保" in view.text
    assert "修改记录" in labels(view) and not {"修改", "🏠 所在村"} & set(labels(view))
    await say(feed, world, "别的督导员", "/child")
    assert "小明" not in last(recorder, world.telegram["别的督导员"]).text


async def test_a_supervisor_who_types_the_schools_name_instead_of_pressing_gets_the_invitation(feed, recorder,
                                                                                                world):
    await say(feed, world, "督导员", "/invite")
    await press(feed, recorder, world, "督导员", "邀请学校管理员")
    assert "或直接发送学校名称" in last(recorder, world.telegram["督导员"]).text
    await say(feed, world, "督导员", "河口小学")
    invitation = last(recorder, world.telegram["督导员"]).text
    assert "河口小学" in invitation and "/start " in invitation
    # A press on a listed place instead ends the offer: a later word is not taken for a name.
    await say(feed, world, "督导员", "/invite")
    await press(feed, recorder, world, "督导员", "邀请村儿童主任")
    await press(feed, recorder, world, "督导员", "青山村")
    await say(feed, world, "督导员", "谢谢")
    assert [v.name for v in await world.services.people.villages(world.township_id)] == ["青山村"]


async def test_a_one_line_invitation_and_a_refused_name_asked_again(feed, recorder, world):
    await say(feed, world, "督导员", "/invite 校长 别的学校")
    refusal = last(recorder, world.telegram["督导员"]).text
    assert "别的学校" in refusal and "另一个名称" in refusal
    assert await world.services.db.fetch_all("SELECT id FROM invitations") == []
    await say(feed, world, "督导员", "河口小学")  # the same dialogue takes the next name
    assert "河口小学" in last(recorder, world.telegram["督导员"]).text
    await say(feed, world, "督导员", "/invite 儿童主任 河口村")
    assert "河口村" in last(recorder, world.telegram["督导员"]).text
    assert [v.name for v in await world.services.people.villages(world.township_id)] == ["河口村", "青山村"]
    assert len(await world.services.db.fetch_all("SELECT id FROM invitations")) == 2


async def test_a_supervisor_manages_its_people(feed, recorder, world):
    await world.person("青山村主任", DIRECTOR, village="青山村", language="zh-hans")
    await say(feed, world, "督导员", "/people")
    listing = last(recorder, world.telegram["督导员"])
    assert "青山村主任 · 村儿童主任 · 青山村" in listing.text and "王老师" not in listing.text
    director = world.grants["青山村主任"][0]
    await feed(callback_update(RemoveRole(director).pack(), from_user=world.user("督导员")))
    assert "已移除" in last(recorder, world.telegram["督导员"]).text
    assert (await world.actor("青山村主任")).grants == ()


async def test_township_buttons_pressed_by_who_may_not_change_nothing(feed, recorder, world, caplog):
    before = await world.services.db.fetch_all("SELECT * FROM invitations")
    village, other_village = world.villages["青山村"], world.villages["别的村"]
    presses = [
        ("别的督导员", InviteToSchool(world.school_id)),          # a school of another township
        ("别的督导员", InviteToVillage(village)),
        ("督导员", InviteToSchool(world.other_school)),
        ("督导员", InviteToVillage(other_village)),
        ("督导员", InviteToSchool(99999)),
        ("王老师", InviteToVillage(village)),                       # a teacher invites no director
        ("督导员", InviteNewPlace(ADMIN, world.other_township)),
        ("王老师", InviteNewPlace(DIRECTOR, world.township_id)),
        ("督导员", ChildVillage(world.children["小明"])),           # a supervisor keeps no record
        ("李妈妈", ChildVillage(world.children["小明"], village)),
        ("王老师", ChildVillage(world.children["小明"], other_village)),
    ]
    for name, payload in presses:
        recorder.clear()
        await feed(callback_update(payload.pack(), from_user=world.user(name)))
        [answer] = recorder.sent("answerCallbackQuery")
        assert answer.params.get("text"), (name, payload)
        assert recorder.sent() == [] and recorder.sent("sendPhoto") == [], (name, payload)
    assert await world.services.db.fetch_all("SELECT * FROM invitations") == before
    assert await world.services.db.fetch_all("SELECT village_id FROM children WHERE village_id IS NOT NULL") == []
    assert await world.services.dialogues.current(world.people["王老师"]) is None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_each_new_role_has_its_menu():
    supervisor = [name for name, _ in commands_for({SUPERVISOR})]
    director = [name for name, _ in commands_for({DIRECTOR})]
    for menu in (supervisor, director):
        assert {"start", "help", "children", "child", "timeline", "settings", "cancel"} <= set(menu)
        assert not {"relay", "video", "update", "newchild", "import", "audit", "deletions"} & set(menu)
        assert len(menu) == len(set(menu))
    assert {"invite", "invitations", "people"} <= set(supervisor)
    assert not {"invite", "invitations", "people"} & set(director)
    # Someone who is a supervisor and a school's admin gets /invite once, described for the school.
    both = commands_for({SUPERVISOR, ADMIN})
    assert [d for n, d in both if n == "invite"] == ["Invite a parent, guardian, proxy parent or teacher"]
