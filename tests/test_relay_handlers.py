"""The relay through the production application: /relay and its buttons, relay mode, replies routed back to
their author, refusals, the "Received" button, and that everything else still reaches the other handlers.
The sender does not run here: what would go out is read from the outbox."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from telegram.error import BadRequest, Forbidden, TimedOut

from bot.access.policy import PARENT, PROXY, TEACHER
from bot.relay import Received, RelayChoice
from bot.runtime.app import build_application, initialized
from bot.runtime.intake import Intake
from bot.runtime.runner import chat_key, telegram_handle
from bot.clock import stamp
from storage.outbox import Reachability
from tests.helpers import (BOT_USER, RecordingRequest, button, callback_update, labels, last, message_update, outbox,
                           unpaced, user, who)
from tests.world import NOW, World

_ids = itertools.count(50_000)


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.child("小红")
    await world.person("王老师", TEACHER, klass="三年级一班", user_id=7601)
    await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=7602)
    await world.person("李爸爸", PARENT, child="小明", relation="father", user_id=7603)
    await world.person("赵阿姨", PROXY, child="小明", user_id=7604)
    await world.person("陈妈妈", PARENT, child="小红", relation="mother", user_id=7605)
    await world.consent("小明", by="李妈妈")
    for name in world.telegram:  # what others receive is in their stored language: English, checked exactly
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def raw(sender: dict, reply_to: int | None = None, **fields) -> dict:
    """A private message from `sender` with any content, optionally a reply to one of the bot's messages."""
    chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "from": sender, **fields}
    if reply_to is not None:
        message["reply_to_message"] = {"message_id": reply_to, "date": int(time.time()), "chat": chat,
                                       "from": BOT_USER, "text": "…"}
    return {"update_id": next(_ids), "message": message}


def photo(file_id: str = "photo-1") -> dict:
    return {"photo": [{"file_id": f"{file_id}-s", "file_unique_id": "s", "width": 90, "height": 90},
                      {"file_id": file_id, "file_unique_id": "l", "width": 800, "height": 800}]}


async def relays(world) -> list[dict]:
    return [dict(r) for r in await world.services.db.fetch_all("SELECT * FROM relays ORDER BY id")]


def last_text(recorder, world, name: str) -> str:
    return recorder.sent(chat_id=world.telegram[name])[-1].text


async def relay_to(feed, recorder, sender: dict, label: str = "赵阿姨 (proxy parent)") -> None:
    """/relay, then the recipient pressed on the question (asked the first time, never guessed)."""
    await feed(message_update("/relay", from_user=sender))
    question = recorder.sent(chat_id=sender["id"])[-1]
    await feed(callback_update(button(question, label), from_user=sender))


async def test_a_parent_is_asked_the_first_time_then_the_choice_is_remembered_and_may_switch(feed, recorder,
                                                                                             world):
    mother = who(world, "李妈妈")
    await feed(message_update("/relay", from_user=mother))
    question = recorder.sent(chat_id=mother["id"])[-1]
    assert question.text == "Whom do you want to write to about 小明?"
    assert labels(question) == ["赵阿姨 (proxy parent)", "王老师 (class teacher)", "李爸爸 (dad)"]
    await feed(message_update("hello from the city", from_user=mother))  # not a press: asked again, not sent
    assert last_text(recorder, world, "李妈妈").startswith("Please press the name")
    assert await outbox(world) == []
    await feed(callback_update(button(question, "赵阿姨 (proxy parent)"), from_user=mother))
    await feed(message_update("hello from the city", from_user=mother))
    [row] = await outbox(world)
    assert row["recipient"] == str(world.telegram["赵阿姨"])
    assert row["payload"]["text"] == "小明's mum:\nhello from the city"
    assert last_text(recorder, world, "李妈妈") == "Sent to 赵阿姨."
    await feed(message_update("/cancel", from_user=mother))

    # The next time, the person she wrote to is shown, the others a press away.
    await feed(message_update("/relay", from_user=mother))
    menu = recorder.sent(chat_id=mother["id"])[-1]
    assert "赵阿姨 (proxy parent)" in menu.text and "小明" in menu.text and "/cancel" in menu.text
    assert labels(menu) == ["王老师 (class teacher)", "李爸爸 (dad)", "🆘 Ask for help"]
    recorder.clear()

    await feed(callback_update(button(menu, "王老师 (class teacher)"), from_user=mother))
    [switched] = recorder.sent("editMessageText")
    assert "王老师 (class teacher)" in switched.params["text"]
    await feed(raw(mother, **photo(), caption="新衣服"))
    copy = (await outbox(world))[-1]
    assert copy["recipient"] == str(world.telegram["王老师"]) and copy["kind"] == "copy"
    assert copy["payload"]["protect"] is True and copy["payload"]["caption"] == "小明's mum:\n新衣服"
    assert (await relays(world))[-1]["file_id"] == "photo-1"
    assert not recorder.sent("forwardMessage")


async def test_a_carer_chooses_the_parent_and_a_teacher_chooses_the_child_first(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/relay", from_user=proxy))
    choice = recorder.sent(chat_id=proxy["id"])[-1]
    assert choice.text == "Whom do you want to write to about 小明?"
    assert labels(choice) == ["李妈妈 (mum)", "李爸爸 (dad)"]
    await feed(callback_update(button(choice, "李爸爸 (dad)"), from_user=proxy))
    await feed(message_update("考了95分", from_user=proxy))
    [row] = await outbox(world)
    assert row["recipient"] == str(world.telegram["李爸爸"])
    assert row["payload"]["text"] == "小明's proxy parent 赵阿姨:\n考了95分"

    teacher = who(world, "王老师")
    await feed(message_update("/relay", from_user=teacher))
    kids = recorder.sent(chat_id=teacher["id"])[-1]
    assert kids.text == "About which child do you want to write?" and labels(kids) == ["小明", "小红"]
    await feed(callback_update(button(kids, "小红"), from_user=teacher))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"].startswith("Nothing about 小红 can be passed on")
    await feed(callback_update(button(kids, "小明"), from_user=teacher))
    assert recorder.sent("editMessageText")[-1].params["text"] == "Whom do you want to write to about 小明?"


async def test_a_reply_to_a_relayed_message_goes_back_to_its_author_without_relay_mode(feed, recorder, world):
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    first = raw(mother, text="在吗？")
    await feed(first)
    [row] = await outbox(world)
    await world.services.outbox.repo.mark_sent(row["id"], "900", "2026-03-02T08:00:01.000+00:00")

    proxy = who(world, "赵阿姨")
    await feed(raw(proxy, reply_to=900, voice={"file_id": "voice-1", "file_unique_id": "v", "duration": 3}))
    answer = (await outbox(world))[-1]
    assert answer["recipient"] == str(world.telegram["李妈妈"]) and answer["kind"] == "copy"
    assert answer["payload"]["reply_to"] == str(first["message"]["message_id"])
    assert answer["payload"]["caption"] == "小明's proxy parent 赵阿姨:"
    assert [r["in_reply_to"] for r in await relays(world)] == [None, (await relays(world))[0]["id"]]
    assert last_text(recorder, world, "赵阿姨") == "Sent to 李妈妈."


async def test_other_messages_fall_through_to_the_other_handlers(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("hello", from_user=proxy))
    assert last_text(recorder, world, "赵阿姨").startswith("Sorry, I did not understand")
    await feed(raw(proxy, reply_to=12345, text="a reply to something that is not a relay"))
    assert last_text(recorder, world, "赵阿姨").startswith("Sorry, I did not understand")
    await feed(message_update("/cancel", from_user=proxy))
    assert last_text(recorder, world, "赵阿姨").startswith("There is nothing to cancel")
    assert await outbox(world) == [] and await relays(world) == []


async def test_cancel_and_other_commands_end_relay_mode_and_buttons_do_not(feed, recorder, world):
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    await feed(message_update("/cancel", from_user=mother))
    assert last_text(recorder, world, "李妈妈") == "Relay mode is off: what you send now is no longer passed on."
    # Out of relay mode, what she sends is not relayed, but offered (issue 14, item 1): never a dead end.
    await feed(message_update("not relayed", from_user=mother))
    offer = recorder.sent(chat_id=mother["id"])[-1]
    assert offer.text == "Whom should I send this to?"
    assert "Send to 赵阿姨 (proxy parent)" in labels(offer)
    assert await outbox(world) == []

    await relay_to(feed, recorder, mother)
    recorder.clear()
    await feed(message_update("/help", from_user=mother))
    first, second = recorder.sent(chat_id=mother["id"])
    assert first.text.startswith("Relay mode is off") and second.text.startswith("What you can do here")

    # A button (another feature's, "Received", a video proposal's) is not leaving: nothing unasked is said, and
    # relay mode goes on (issue 14, item 2).
    await relay_to(feed, recorder, mother)
    recorder.clear()
    await feed(callback_update("kids:0", from_user=mother))
    assert not [c for c in recorder.sent(chat_id=mother["id"]) if c.text.startswith("Relay mode is off")]
    await feed(message_update("still relayed", from_user=mother))
    [row] = await outbox(world)
    assert row["payload"]["text"] == "小明's mum:\nstill relayed"


async def test_unsupported_content_gets_a_clear_answer_and_nothing_is_stored(feed, recorder, world):
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    poll = {"id": "1", "question": "?", "options": [{"text": "a", "voter_count": 0, "persistent_id": "o1"}], "total_voter_count": 0,
            "is_closed": False, "is_anonymous": True, "type": "regular", "allows_multiple_answers": False,
            "allows_revoting": False, "members_only": False}
    for content in ({"poll": poll}, {"dice": {"emoji": "🎲", "value": 3}},
                    {"contact": {"phone_number": "+8613800138000", "first_name": "李"}}):
        await feed(raw(mother, **content))
        assert last_text(recorder, world, "李妈妈").startswith("This kind of message cannot be passed on")
    assert await outbox(world) == [] and await relays(world) == []
    await feed(message_update("but text is", from_user=mother))
    assert len(await outbox(world)) == 1  # relay mode survived the refusals


async def test_before_consent_and_for_strangers_nothing_is_relayed(feed, recorder, world):
    await feed(message_update("/relay", from_user=who(world, "陈妈妈")))
    assert last_text(recorder, world, "陈妈妈") == (
        "Nothing about 小红 can be passed on until a parent or guardian has agreed to the rules in /privacy.")
    stranger = user(990001, "en", "Nobody")
    await feed(message_update("/relay", from_user=stranger))
    assert recorder.sent(chat_id=990001)[-1].text == "There is no child you can pass messages about."
    # A forged recipient button: a parent of another child, and a person who is no partner of this one.
    await feed(callback_update(f"relay:p:{world.children['小明']}:{world.people['李妈妈']}", from_user=stranger))
    await feed(callback_update(f"relay:p:{world.children['小明']}:{world.people['陈妈妈']}",
                               from_user=who(world, "李妈妈")))
    answers = [c.params.get("text") for c in recorder.sent("answerCallbackQuery")]
    assert answers == ["You cannot pass messages about this child.", "This button is no longer valid."]
    assert await outbox(world) == [] and await relays(world) == []


async def test_relay_mode_ends_when_consent_is_withdrawn(feed, recorder, world):
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    await world.consent("小明", by="李爸爸", decision="withdrawn")
    await feed(message_update("hello", from_user=mother))
    assert last_text(recorder, world, "李妈妈").startswith("Nothing about 小明 can be passed on")
    assert "Relay mode is off" in last_text(recorder, world, "李妈妈")
    assert await outbox(world) == []
    # Outside relay mode she is told the same reason again, never "I did not understand" (issue 14, item 1).
    await feed(message_update("hello again", from_user=mother))
    assert last_text(recorder, world, "李妈妈").startswith("Nothing about 小明 can be passed on now")
    assert await outbox(world) == []


async def test_a_message_to_a_carer_who_cannot_be_reached_is_kept_and_the_author_told(feed, recorder, world):
    await world.services.outbox.repo.set_reachable(
        Reachability("telegram", str(world.telegram["赵阿姨"]), False, "Unreachable:Forbidden", NOW))
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    await feed(message_update("hello", from_user=mother))
    assert last_text(recorder, world, "李妈妈").startswith("赵阿姨 has not opened Qinqing Bridge yet")
    assert "will be delivered as soon as they open it" in last_text(recorder, world, "李妈妈")
    [row] = await outbox(world)
    assert row["state"] == "pending" and row["recipient"] == str(world.telegram["赵阿姨"])


async def test_the_received_button_works_for_the_recipient_only_and_once(feed, recorder, world):
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    question = message_update("在吗？", from_user=mother)
    await feed(question)
    [row] = await outbox(world)
    [[action]] = row["payload"]["actions"]
    assert action == {"label": "Received", "data": Received((await relays(world))[0]["id"]).pack()}
    data = action["data"]
    recorder.clear()

    await feed(callback_update(data, from_user=who(world, "李爸爸")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "This button is no longer valid."
    assert (await relays(world))[0]["acknowledged_at"] is None

    pressed = callback_update(data, from_user=who(world, "赵阿姨"))
    pressed["callback_query"]["message"]["reply_markup"] = {
        "inline_keyboard": [[{"text": action["label"], "callback_data": data}]]}
    await feed(pressed)
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == (
        "Thank you. 李妈妈 will be told that you received it.")
    assert recorder.sent("editMessageReplyMarkup")
    assert (await relays(world))[0]["acknowledged_at"] is not None
    told = (await outbox(world))[-1]
    assert told["recipient"] == str(world.telegram["李妈妈"])
    assert told["payload"] == {"text": "赵阿姨 received your message.",
                               "reply_to": str(question["message"]["message_id"])}

    await feed(callback_update(data, from_user=who(world, "赵阿姨")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "You have already confirmed this message."
    await feed(callback_update("ack:nonsense", from_user=who(world, "赵阿姨")))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == "This button is no longer valid."
    assert len(await outbox(world)) == 2


async def test_relay_mode_is_a_dialogue_that_a_restarted_application_continues(feed, recorder, world, settings,
                                                                              clock):
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    mode = await world.services.dialogues.current(world.people["李妈妈"])
    assert (mode.kind, mode.state) == ("relay", {"child": world.children["小明"], "to": world.people["赵阿姨"]})

    # Another application on the same database, as after a restart: nothing of the first is in memory.
    again = RecordingRequest()
    restarted = build_application(settings, clock=clock, request=again, limits=unpaced())
    async with initialized(restarted):
        await telegram_handle(restarted)(message_update("still there?", from_user=mother))
    [row] = await outbox(world)
    assert (row["recipient"], row["payload"]["text"]) == (str(world.telegram["赵阿姨"]), "小明's mum:\nstill there?")
    assert again.sent(chat_id=mother["id"])[-1].text == "Sent to 赵阿姨."


async def test_a_refused_reply_is_answered_once_and_goes_nowhere_else(feed, recorder, world):
    """A reply that cannot be passed on gets its reason, not the fallback's too, nor relay mode's recipient."""
    mother, proxy = who(world, "李妈妈"), who(world, "赵阿姨")
    await relay_to(feed, recorder, mother)
    await feed(raw(mother, text="在吗？"))
    [row] = await outbox(world)
    await world.services.outbox.repo.mark_sent(row["id"], "901", NOW)
    await feed(message_update("/relay", from_user=proxy))
    await press_partner(feed, recorder, world, "赵阿姨", "李爸爸 (dad)")
    recorder.clear()
    await feed(raw(proxy, reply_to=901, dice={"emoji": "🎲", "value": 3}))
    [answer] = recorder.sent(chat_id=proxy["id"])
    assert answer.text.startswith("This kind of message cannot be passed on")
    assert len(await outbox(world)) == 1 and len(await relays(world)) == 1


async def press_partner(feed, recorder, world, name: str, label: str) -> None:
    choice = recorder.sent(chat_id=world.telegram[name])[-1]
    await feed(callback_update(button(choice, label), from_user=who(world, name)))


FORGED = {
    RelayChoice: ["relay:c:²", "relay:c:" + "1" * 23, "relay:c:", "relay:", "relay", "relay:c:1:2", "relay:p:1",
                  "relay:p:1:2:3", "relay:x:1", "relay:p:²:1", "relay:p:1:" + "9" * 23, "relay::"],
    Received: ["ack:²", "ack:" + "1" * 23, "ack:", "ack", "ack:1:2", "ack:x", "ack:-1"],
}


@pytest.mark.parametrize("data", [d for forged in FORGED.values() for d in forged])
async def test_forged_relay_and_received_buttons_get_a_short_popup(feed, recorder, world, caplog, data):
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    recorder.clear()
    with caplog.at_level(logging.INFO):
        await feed(callback_update(data, from_user=mother))
    assert [c.params.get("text") for c in recorder.sent("answerCallbackQuery")] == ["This button is no longer valid."]
    assert recorder.sent(chat_id=mother["id"]) == []  # relay mode is not ended by its own buttons
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await world.services.dialogues.current(world.people["李妈妈"]) is not None


async def test_relay_mode_lasts_a_week_after_the_last_message(feed, recorder, world, clock):
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    opened = (await world.services.dialogues.current(world.people["李妈妈"])).expires_at
    clock.advance(timedelta(days=5))
    await feed(message_update("five days later", from_user=mother))
    assert (await world.services.dialogues.current(world.people["李妈妈"])).expires_at == opened + timedelta(days=5)
    clock.advance(timedelta(days=7, seconds=1))
    await feed(message_update("a week of silence later", from_user=mother))
    # No longer relayed at once: offered, with the person she wrote to last shown (issue 14, items 1 and 2).
    assert last_text(recorder, world, "李妈妈") == "Send this to 赵阿姨 (proxy parent)?"
    assert len(await outbox(world)) == 1


async def through_the_intake(app, update: dict) -> None:
    """One update stored in the inbox and handled from it by the durable intake, as in production (handled again
    after a short pause if it owes an answer), until it is finished."""
    services = app.bot_data.services
    await services.inbox.store([update], services.clock.now())

    async def nothing_new(offset):
        await asyncio.sleep(0.005)
        return []

    intake = Intake(services.inbox, nothing_new, telegram_handle(app), services.clock, key_of=chat_key, backoff=0.01)
    running = asyncio.create_task(intake.run())
    async with asyncio.timeout(10):
        while await services.inbox.pending():
            await asyncio.sleep(0.005)
    intake.stop()
    await running


@pytest.mark.parametrize("reply_to_a_relay", [False, True])
async def test_a_committed_relay_is_confirmed_and_never_answered_with_an_error(feed, app, recorder, world, caplog,
                                                                             reply_to_a_relay):
    """The confirmation to the author fails once (the network): the author sees no apology and no "did not
    understand"; the update is handled again, the relay is recognised, and the confirmation goes out."""
    mother, proxy = who(world, "李妈妈"), who(world, "赵阿姨")
    await relay_to(feed, recorder, mother)
    author, update = mother, raw(mother, text="hello")
    if reply_to_a_relay:  # the proxy parent answers the mother's message with Telegram's reply
        await feed(raw(mother, text="在吗？"))
        [row] = await outbox(world)
        await world.services.outbox.repo.mark_sent(row["id"], "902", NOW)
        author, update = proxy, raw(proxy, reply_to=902, text="在的")
    relays_before = len(await relays(world))
    recorder.clear()
    recorder.fail_once("sendMessage", TimedOut())
    with caplog.at_level(logging.INFO):
        await through_the_intake(app, update)
    recipient = "李妈妈" if reply_to_a_relay else "赵阿姨"
    assert [c.text for c in recorder.sent(chat_id=author["id"])] == [f"Sent to {recipient}."]
    assert len(await relays(world)) == relays_before + 1
    assert [r["recipient"] for r in await outbox(world)][relays_before:] == [str(world.telegram[recipient])]
    assert (await world.services.inbox.counts()).failed == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_confirmation_refused_by_telegram_is_not_tried_again(app, feed, recorder, world):
    """The author blocked the bot just after sending: the relay stands, nothing else is sent to them."""
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    recorder.clear()
    recorder.fail_once("sendMessage", Forbidden("Forbidden: bot was blocked by the user"))
    await through_the_intake(app, raw(mother, text="hello"))
    assert recorder.sent(chat_id=mother["id"]) == []
    assert len(await relays(world)) == 1 and len(await outbox(world)) == 1


async def test_a_message_held_for_the_recipients_quiet_hours_tells_the_author_when_it_will_arrive(
        feed, recorder, world, clock):
    # The proxy parent rests from one hour before now to two hours after, on the school's clock; the mother
    # reads the time it will arrive on her own clock (she works in Dubai, four hours behind Shanghai).
    preferences = world.services.preferences
    local = clock.now().astimezone(ZoneInfo("Asia/Shanghai"))
    start, end = (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=2)).strftime("%H:%M")
    await preferences.set_quiet_hours(world.telegram["赵阿姨"], start, end)
    await preferences.set_timezone(world.telegram["李妈妈"], "Asia/Dubai")
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    await feed(message_update("are you awake?", from_user=mother))
    arrives = (local + timedelta(hours=2)).astimezone(ZoneInfo("Asia/Dubai"))
    assert last_text(recorder, world, "李妈妈") == (
        f"赵阿姨 is resting now (quiet hours); it will arrive at {arrives:%-m/%-d/%y}, {arrives:%-I:%M}\u202f"
        f"{arrives:%p}.")
    [row] = await outbox(world)
    assert row["state"] == "pending"  # kept, and sent when the quiet hours end (the sender decides then)


async def test_the_author_of_a_held_message_can_send_it_now_as_urgent_once(feed, recorder, world, clock):
    local = clock.now().astimezone(ZoneInfo("Asia/Shanghai"))
    await world.services.preferences.set_quiet_hours(
        world.telegram["赵阿姨"], (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=2)).strftime("%H:%M"))
    mother = who(world, "李妈妈")
    await relay_to(feed, recorder, mother)
    await feed(message_update("小明发烧了，请马上带他去卫生院", from_user=mother))
    held = recorder.sent(chat_id=mother["id"])[-1]
    assert labels(held) == ["🚨 Urgent: send it now"]
    [row] = await outbox(world)
    assert not row["urgent"]

    # Someone else pressing it (a forged copy) changes nothing.
    await feed(callback_update(button(held, "🚨 Urgent: send it now"), from_user=who(world, "王老师")))
    assert not (await outbox(world))[0]["urgent"]
    # As the sender would have left it: held until the quiet hours end.
    await world.services.outbox.repo.hold(row["id"], "2099-01-01T00:00:00.000+00:00", row["created_at"])
    await feed(callback_update(button(held, "🚨 Urgent: send it now"), from_user=mother))
    [row] = await outbox(world)
    assert row["urgent"] and row["state"] == "pending" and row["not_before"] <= stamp(clock.now())
    assert last(recorder, world, "李妈妈").text == "Sent now, as urgent."  # the held notice, edited
    # Still in relay mode: the button did not end it.
    await feed(message_update("谢谢", from_user=mother))
    assert len(await outbox(world)) == 2

    recorder.clear()
    await feed(callback_update(button(held, "🚨 Urgent: send it now"), from_user=mother))
    [answer] = [c for c in recorder.calls if c.method == "answerCallbackQuery"]
    assert answer.params["text"] == "This message is already on its way."


async def test_a_message_that_waited_for_quiet_hours_says_when_it_was_written(feed, recorder, world, clock, app):
    from tests.helpers import deliver_outbox

    local = clock.now().astimezone(ZoneInfo("Asia/Shanghai"))  # 16:00 at school
    await world.services.preferences.set_quiet_hours(
        world.telegram["赵阿姨"], (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=2)).strftime("%H:%M"))
    mother, aunt = who(world, "李妈妈"), world.telegram["赵阿姨"]
    await relay_to(feed, recorder, mother)
    await feed(message_update("are you awake?", from_user=mother))
    await feed(message_update("/cancel", from_user=mother))
    assert await deliver_outbox(app) == 0  # held

    clock.advance(timedelta(hours=2, minutes=1))
    recorder.clear()
    assert await deliver_outbox(app) == 1
    [delivered] = recorder.sent(chat_id=aunt)
    assert delivered.text == "小明's mum:\nare you awake?\n(written 3/2/26, 4:00\u202fPM)"

    # A message that goes out at once carries no such line.
    await world.services.preferences.set_quiet_hours(aunt, None, None)
    await feed(message_update("/relay", from_user=mother))
    await feed(message_update("thank you", from_user=mother))
    recorder.clear()
    await deliver_outbox(app)
    assert recorder.sent(chat_id=aunt)[-1].text == "小明's mum:\nthank you"


async def test_whom_to_write_to_may_be_typed_and_anything_else_is_asked_again(feed, recorder, world):
    # Found by playing it: a grandmother who typed the name instead of pressing it was told "I did not understand".
    teacher = who(world, "王老师")
    await feed(message_update("/relay 小明", from_user=teacher))
    assert labels(recorder.sent(chat_id=teacher["id"])[-1])  # whom to write to, as buttons
    await feed(message_update("how is he?", from_user=teacher))
    asked = recorder.sent(chat_id=teacher["id"])[-1]
    assert asked.text == "Please press the name of the person you want to write to (nothing was sent)."
    assert "李爸爸 (dad)" in labels(asked)
    assert await outbox(world) == []
    await feed(message_update("李爸", from_user=teacher))
    assert "李爸爸" in last(recorder, world, "王老师").text  # relay mode, to the father
    await feed(message_update("how is he?", from_user=teacher))
    [row] = await outbox(world)
    assert row["recipient"] == str(world.telegram["李爸爸"])


async def test_a_press_handled_again_after_a_crash_is_not_an_error(feed, recorder, world):
    """The durable intake replays a press the killed process had handled: Telegram refuses to answer it twice
    and finds the edit already made. Neither is a failure: the press takes effect, nobody is told "sorry"."""
    mother = who(world, "李妈妈")
    await feed(message_update("/relay", from_user=mother))
    question = recorder.sent(chat_id=mother["id"])[-1]
    recorder.clear()
    recorder.fail_once("answerCallbackQuery", BadRequest(
        "Query is too old and response timeout expired or query id is invalid"))
    recorder.fail_once("editMessageText", BadRequest("Message is not modified: specified new message content and "
                                                     "reply markup are exactly the same"))
    await feed(callback_update(button(question, "赵阿姨 (proxy parent)"), from_user=mother))
    assert recorder.sent(chat_id=mother["id"]) == []  # no apology, no second screen
    await feed(message_update("hello", from_user=mother))
    assert last_text(recorder, world, "李妈妈") == "Sent to 赵阿姨."


async def test_a_refusal_that_cannot_be_a_popup_any_more_is_said_in_the_chat(feed, recorder, world):
    mother = who(world, "李妈妈")
    recorder.fail_once("answerCallbackQuery", BadRequest("Query is too old"))
    await feed(callback_update(f"relay:p:{world.children['小明']}:{world.people['陈妈妈']}", from_user=mother))
    assert last_text(recorder, world, "李妈妈") == "This button is no longer valid."
