"""A grandmother who types or speaks instead of pressing (issue 14, items 1 and 2), through the production
application: what a parent or guardian sends outside any conversation is offered to be passed on ("要发给谁？",
a button per carer), goes with one press, and the choice is remembered and shown next time; typing a button's
words ("同意", "好", "接受") presses it. Everyone reads Chinese here, as the people who hit these did."""

from __future__ import annotations

import itertools
import time

import pytest

from bot.access.policy import GUARDIAN, PARENT, PROXY, TEACHER
from tests.helpers import button, callback_update, deliver_outbox, labels, last, message_update, outbox, user
from tests.world import World

_ids = itertools.count(60_000)
SORRY = "抱歉，我没看懂"


@pytest.fixture
async def world(app) -> World:
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("张丽", PARENT, child="小明", relation="mother")
    await world.person("李强", PARENT, child="小明", relation="father")
    await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother_p")
    await world.person("赵阿姨", PROXY, child="小明")
    await world.consent("小明", by="张丽")
    return world


def zh(world: World, name: str) -> dict:
    return user(world.telegram[name], "zh-hans", name)


def sent(world: World, name: str, **content) -> dict:
    """A private message from this person: text, a voice note, a photo, a sticker …"""
    sender = zh(world, name)
    chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "from": sender, **content}
    return {"update_id": next(_ids), "message": message}


def voice(file_id: str = "voice-1") -> dict:
    return {"voice": {"file_id": file_id, "file_unique_id": file_id, "duration": 4}}


async def relays(world) -> list[dict]:
    return [dict(r) for r in await world.services.db.fetch_all("SELECT * FROM relays ORDER BY id")]


async def test_a_grandmothers_text_is_offered_to_the_carers_and_reaches_the_mother_with_one_press(feed, recorder,
                                                                                                  world):
    await feed(sent(world, "王奶奶", text="小明今天有点发烧，已经吃了药"))
    asked = last(recorder, world, "王奶奶")
    assert asked.text == "要发给谁？"
    # A button per carer of the child, by name and role; nothing is sent before she chooses.
    assert labels(asked) == ["发给赵阿姨（代理家长）", "发给王老师（班主任）", "发给张丽（妈妈）", "发给李强（爸爸）",
                             "不用发"]
    assert await outbox(world) == [] and await relays(world) == []

    await feed(callback_update(button(asked, "发给张丽（妈妈）"), from_user=zh(world, "王奶奶")))
    [row] = await outbox(world)
    assert row["recipient"] == str(world.telegram["张丽"])
    assert row["payload"]["text"] == "小明的奶奶：\n小明今天有点发烧，已经吃了药"
    assert [b["label"] for b in row["payload"]["actions"][0]] == ["收到"]
    assert last(recorder, world, "王奶奶").text == "已发给张丽。"
    assert not [c for c in recorder.sent(chat_id=world.telegram["王奶奶"]) if c.text.startswith(SORRY)]


async def test_a_voice_note_is_offered_the_same_way_with_the_last_choice_shown_first(feed, recorder, world):
    await feed(sent(world, "王奶奶", text="小明考了一百分"))
    await feed(callback_update(button(last(recorder, world, "王奶奶"), "发给张丽（妈妈）"),
                               from_user=zh(world, "王奶奶")))

    await feed(sent(world, "王奶奶", **voice()))
    asked = last(recorder, world, "王奶奶")
    # Remembered and shown, never taken silently: one press still sends it.
    assert asked.text == "要发给张丽（妈妈）吗？"
    assert labels(asked)[0] == "✅ 发给张丽（妈妈）" and "发给赵阿姨（代理家长）" in labels(asked)
    assert len(await outbox(world)) == 1

    await feed(callback_update(button(asked, "✅ 发给张丽（妈妈）"), from_user=zh(world, "王奶奶")))
    copy = (await outbox(world))[-1]
    assert (copy["recipient"], copy["kind"]) == (str(world.telegram["张丽"]), "copy")
    assert copy["payload"]["caption"] == "小明的奶奶："
    assert [r["content_kind"] for r in await relays(world)] == ["text", "voice"]
    assert last(recorder, world, "王奶奶").text == "已发给张丽。"


async def test_typing_yes_under_the_offer_sends_it_to_the_person_shown(feed, recorder, world):
    await feed(sent(world, "王奶奶", text="第一条"))
    await feed(callback_update(button(last(recorder, world, "王奶奶"), "发给张丽（妈妈）"),
                               from_user=zh(world, "王奶奶")))
    await feed(sent(world, "王奶奶", text="小明的鞋小了"))
    assert last(recorder, world, "王奶奶").text == "要发给张丽（妈妈）吗？"

    await feed(sent(world, "王奶奶", text="好"))
    rows = await outbox(world)
    assert [r["payload"]["text"] for r in rows] == ["小明的奶奶：\n第一条", "小明的奶奶：\n小明的鞋小了"]
    assert last(recorder, world, "王奶奶").text == "已发给张丽。"
    assert [r["text"] for r in await relays(world)] == ["第一条", "小明的鞋小了"]  # "好" itself is not relayed


async def test_do_not_send_sends_nothing_and_a_second_press_is_stale(feed, recorder, world):
    await feed(sent(world, "王奶奶", sticker={"file_id": "st-1", "file_unique_id": "st", "type": "regular",
                                              "width": 512, "height": 512, "is_animated": False,
                                              "is_video": False}))
    asked = last(recorder, world, "王奶奶")
    assert asked.text == "要发给谁？"
    data = button(asked, "不用发")
    await feed(callback_update(data, from_user=zh(world, "王奶奶")))
    assert last(recorder, world, "王奶奶").text == "好的，没有发出去。"
    await feed(callback_update(button(asked, "发给张丽（妈妈）"), from_user=zh(world, "王奶奶")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "这个按钮已经失效了。"
    assert await outbox(world) == []


async def test_carers_and_strangers_are_not_offered_anything(feed, recorder, world):
    await world.person("路人")
    for name in ("赵阿姨", "王老师", "路人"):
        await feed(sent(world, name, text="你好"))
        assert last(recorder, world, name).text.startswith(SORRY)
    assert await outbox(world) == []


async def test_nothing_is_offered_about_a_child_whose_family_said_no_and_she_is_told_why(feed, recorder, world):
    await world.consent("小明", by="李强", decision="refused")
    await feed(sent(world, "王奶奶", text="你好"))
    refusal = last(recorder, world, "王奶奶").text
    assert refusal.startswith("现在不能转发关于小明的消息") and "/privacy" in refusal
    assert not refusal.startswith(SORRY)
    assert await outbox(world) == [] and await relays(world) == []


async def test_before_anyone_agreed_she_is_told_so_rather_than_not_understood(feed, recorder, world):
    await world.child("小红")
    await world.person("王奶奶", GUARDIAN, child="小红", relation="grandmother_p")
    await world.services.db.write("DELETE FROM consents")
    await feed(sent(world, "王奶奶", **voice()))
    refusal = last(recorder, world, "王奶奶").text
    assert "小明" in refusal and "/privacy" in refusal and not refusal.startswith(SORRY)
    assert await outbox(world) == []


# -- typing a button's words presses it ---------------------------------------------------------------------

async def test_a_grandmother_joins_and_agrees_by_typing(app, feed, recorder, world):
    services = app.bot_data.services
    await world.person("刘奶奶")  # known to the bot, with no role yet
    issued = await services.invitations.create(await world.actor("王老师"), GUARDIAN,
                                               child_id=world.children["小明"], relation="grandmother_m")
    consents_before = await services.db.fetch_all("SELECT * FROM consents")

    await feed(message_update(f"/start {issued.code}", from_user=zh(world, "刘奶奶")))
    assert labels(last(recorder, world, "刘奶奶")) == ["接受", "暂不加入"]
    await feed(sent(world, "刘奶奶", text="好"))  # typed, not pressed: it accepts
    question = last(recorder, world, "刘奶奶")
    assert labels(question) == ["同意", "不同意", "📖 看完整的规则"]
    assert question.text.splitlines()[-1].endswith("您同意吗？")

    await feed(sent(world, "刘奶奶", text="同意"))
    [given] = [r for r in await services.db.fetch_all("SELECT * FROM consents") if r not in consents_before]
    assert (given["person_id"], given["decision"]) == (world.people["刘奶奶"], "given")
    answer = last(recorder, world, "刘奶奶")
    assert answer.method == "editMessageText" and answer.text.startswith("谢谢您。已记录您对小明的同意")
    assert not [c for c in recorder.sent(chat_id=world.telegram["刘奶奶"]) if c.text.startswith(SORRY)]


async def test_typing_no_refuses_and_unclear_words_press_nothing(app, feed, recorder, world):
    services = app.bot_data.services
    await world.person("刘奶奶")
    issued = await services.invitations.create(await world.actor("王老师"), GUARDIAN,
                                               child_id=world.children["小明"], relation="grandmother_m")
    await feed(message_update(f"/start {issued.code}", from_user=zh(world, "刘奶奶")))
    await feed(sent(world, "刘奶奶", text="接受"))
    await feed(sent(world, "刘奶奶", text="规则"))  # part of one label only: the full rules
    assert "2026年11月22日" in last(recorder, world, "刘奶奶").text
    await feed(sent(world, "刘奶奶", text="不同意"))
    decisions = await services.db.fetch_all("SELECT decision FROM consents WHERE person_id = ?",
                                            (world.people["刘奶奶"],))
    assert [r["decision"] for r in decisions] == ["refused"]


async def test_typing_hao_under_a_video_proposal_accepts_it(app, feed, recorder, world):
    services = app.bot_data.services
    await services.video.propose(await world.actor("赵阿姨"), world.children["小明"], 6, "19:30", 30, None)
    await deliver_outbox(app)
    proposal = last(recorder, world, "张丽")
    assert labels(proposal) == ["✅ 可以", "🕒 换个时间"]

    await feed(sent(world, "张丽", text="好"))
    assert last(recorder, world, "张丽").text.startswith("✅ 定好了：小明的亲情视频")
    assert len(await services.db.fetch_all("SELECT * FROM video_slots")) == 1
    # Answering the proposal by typing is not a message to pass on.
    assert await relays(world) == []
