"""Updates, scores, good news, summaries and talk records through the production application: the forms and
their buttons, photos and albums, what the family would receive (read from the outbox: the sender does not
run here), "Received", /timeline and /due, and the bad input the issue names."""

from __future__ import annotations

import itertools
import json
import logging
import time
from datetime import timedelta

import pytest
from telegram.error import BadRequest

from bot.access.policy import GUARDIAN, PARENT, PROXY, TEACHER
from bot.musts.buttons import EntryMedia, FormStep, TimelinePage
from bot.runtime.app import build_application, initialized
from bot.runtime.runner import telegram_handle
from tests.helpers import (RecordingRequest, button, callback_update, count, labels, last, message_update, outbox,
                           press, unpaced, who)
from tests.world import World

_ids = itertools.count(80_000)


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.child("小红")
    await world.person("王老师", TEACHER, klass="三年级一班", user_id=7801)
    await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=7802)
    await world.person("奶奶", GUARDIAN, child="小明", relation="grandmother", user_id=7803)
    await world.person("赵阿姨", PROXY, child="小明", user_id=7804)
    await world.person("陈妈妈", PARENT, child="小红", relation="mother", user_id=7805)
    await world.person("钱叔叔", PROXY, child="小红", user_id=7806)
    await world.consent("小明", by="李妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def raw(sender: dict, **fields) -> dict:
    chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "from": sender, **fields}
    return {"update_id": next(_ids), "message": message}


def photo(n: int, size: int = 50_000) -> dict:
    return {"photo": [{"file_id": f"p{n}-small", "file_unique_id": f"u{n}s", "width": 90, "height": 90},
                      {"file_id": f"p{n}", "file_unique_id": f"u{n}", "width": 800, "height": 800,
                       "file_size": size}]}


def voice(n: int = 1, size: int = 9_000) -> dict:
    return {"voice": {"file_id": f"v{n}", "file_unique_id": f"uv{n}", "duration": 4, "file_size": size}}


def popup(recorder) -> str:
    return recorder.sent("answerCallbackQuery")[-1].params.get("text", "")


def labels_of(row: dict) -> list[str]:
    return [b["label"] for r in row["payload"]["actions"] for b in r]


async def test_an_update_with_an_album_and_a_voice_note_reaches_the_mother_and_grandmother_once(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/update", from_user=proxy))
    form = last(recorder, world, "赵阿姨")
    assert form.text.startswith("📒 Update for 小明")  # one child: straight to the form
    await press(feed, recorder, world, "赵阿姨", "📚 Study")
    await press(feed, recorder, world, "赵阿姨", "Making progress")
    await press(feed, recorder, world, "赵阿姨", "🙂 Mood")
    await press(feed, recorder, world, "赵阿姨", "😊 happy")
    album = {"media_group_id": "alb-1"}
    await feed(raw(proxy, **photo(1), **album, caption="运动会"))
    await feed(raw(proxy, **photo(2), **album))
    await feed(raw(proxy, **photo(3), **album))
    await feed(raw(proxy, **voice()))
    panel = last(recorder, world, "赵阿姨")
    assert "📷 3 photos · 🎤 1 voice note" in panel.text and "📝 Note: 运动会" in panel.text
    # The album's photos and the voice note redraw the one card instead of posting it again each time.
    assert len([c for c in recorder.sent(chat_id=proxy["id"]) if c.text.startswith("📒 Update for")]) == 1
    await press(feed, recorder, world, "赵阿姨", "📤 Send")
    assert "on its way to 李妈妈, 奶奶" in last(recorder, world, "赵阿姨").text

    rows = await outbox(world)
    for name in ("李妈妈", "奶奶"):
        mine = [r for r in rows if r["recipient"] == str(world.telegram[name])]
        assert [r["kind"] for r in mine] == ["media_group", "media", "text"]
        assert [m["file_id"] for m in mine[0]["payload"]["media"]] == ["p1", "p2", "p3"]
        # The child's own family may keep the photos and voice notes (issue 14, item 10).
        assert "protect" not in mine[0]["payload"] and mine[1]["payload"]["type"] == "voice"
        card = mine[2]["payload"]["text"]
        assert card.startswith("📒 小明's update · Mar 2\nproxy parent 赵阿姨")
        assert "📚 Study: Making progress" in card and "🙂 Mood: 😊 happy" in card and "📝 Note: 运动会" in card
        assert labels_of(mine[2]) == ["✅ Received"]
    assert await count(world, "care_entries") == 1 and await count(world, "care_media") == 4
    assert await count(world, "care_drafts") == 0

    # The mother confirms; the proxy parent is told; a second press changes nothing.
    card_row = next(r for r in rows if r["recipient"] == str(world.telegram["李妈妈"]) and r["kind"] == "text")
    mother = who(world, "李妈妈")
    ack = card_row["payload"]["actions"][0][0]["data"]
    await feed(callback_update(ack, from_user=mother))
    await feed(callback_update(ack, from_user=mother))
    told = [r for r in await outbox(world) if r["recipient"] == str(proxy["id"])]
    assert [r["payload"]["text"] for r in told] == ["✅ 李妈妈 received 📒 小明's update · Mar 2."]
    assert [c.params.get("text") for c in recorder.sent("answerCallbackQuery")][-2:] == [
        "Thank you. They will be told you received it.", "You already confirmed this."]

    # The grandmother cannot confirm for the mother.
    await feed(callback_update(ack, from_user=who(world, "奶奶")))
    assert popup(recorder) == "This button is no longer valid."

    # The timeline shows it, acknowledged, with its photos a press away.
    await feed(message_update("/timeline", from_user=mother))
    page = last(recorder, world, "李妈妈")
    assert page.text.startswith("📖 小明's timeline (1/1)")
    assert "📷 3 photos · 🎤 1 voice note" in page.text and "✅ Received by 李妈妈" in page.text
    await press(feed, recorder, world, "李妈妈", "📷 Mar 2")
    [group] = recorder.sent("sendMediaGroup")
    assert int(group.params["chat_id"]) == mother["id"] and len(json.loads(group.params["media"])
                                                                if isinstance(group.params["media"], str)
                                                                else group.params["media"]) == 3
    assert recorder.sent("sendVoice", chat_id=mother["id"])


async def test_the_same_album_sent_twice_is_stored_once(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    for _round in range(2):
        await feed(message_update("/update", from_user=proxy))
        for n in (1, 2):
            await feed(raw(proxy, **photo(n), media_group_id=f"g{_round}"))
            await feed(raw(proxy, **photo(n), media_group_id=f"g{_round}"))  # within a form too
        if _round == 0:
            await press(feed, recorder, world, "赵阿姨", "📤 Send")
    assert "already in 小明's record" in last(recorder, world, "赵阿姨").text
    assert await count(world, "care_media") == 2
    await press(feed, recorder, world, "赵阿姨", "📤 Send")
    assert "The form is empty" in popup(recorder)
    assert await count(world, "care_entries") == 1


async def test_a_photo_without_a_chosen_child_is_explained_and_nothing_is_kept(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(raw(proxy, **photo(1)))
    assert "First choose the child with /update" in last(recorder, world, "赵阿姨").text
    assert await count(world, "care_drafts") == 0 and await count(world, "care_media") == 0


async def test_an_oversize_file_and_a_cancelled_form_leave_nothing(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/update", from_user=proxy))
    await feed(raw(proxy, document={"file_id": "d1", "file_unique_id": "ud1", "file_name": "v.mp4",
                                    "file_size": 30 * 1024 * 1024}))
    assert "too large" in last(recorder, world, "赵阿姨").text
    await feed(raw(proxy, **voice(2, size=25 * 1024 * 1024)))
    assert "too large" in last(recorder, world, "赵阿姨").text
    await feed(raw(proxy, **photo(7)))
    await press(feed, recorder, world, "赵阿姨", "✖ Cancel")
    assert last(recorder, world, "赵阿姨").text == "Cancelled. Nothing was sent."
    assert await count(world, "care_drafts") == 0 and await count(world, "care_entries") == 0
    # /cancel halfway through does the same.
    await feed(message_update("/update", from_user=proxy))
    await feed(raw(proxy, **photo(8)))
    await feed(message_update("/cancel", from_user=proxy))
    assert last(recorder, world, "赵阿姨").text == "Cancelled. Nothing was sent."
    await feed(raw(proxy, **photo(9)))
    assert "First choose the child" in last(recorder, world, "赵阿姨").text
    assert await count(world, "outbox") == 0


async def test_nobody_writes_for_a_child_they_do_not_care_for_nor_before_consent(feed, recorder, world):
    other = who(world, "钱叔叔")  # proxy parent of 小红, whose family has not consented
    await feed(message_update("/update", from_user=other))
    assert "have not yet agreed" in last(recorder, world, "钱叔叔").text
    assert await count(world, "care_drafts") == 0
    # A forged button for 小明 (not theirs) does nothing either.
    child = world.children["小明"]
    await feed(callback_update(FormStep(child, "u", "w").pack(), from_user=other))
    assert popup(recorder) == "You cannot write about this child."
    mother = who(world, "李妈妈")
    await feed(message_update("/update", from_user=mother))
    assert "Only the proxy parent or the class teacher" in last(recorder, world, "李妈妈").text
    assert await count(world, "care_drafts") == 0


async def test_a_button_of_a_closed_form_does_nothing(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/update", from_user=proxy))
    old = last(recorder, world, "赵阿姨")
    await press(feed, recorder, world, "赵阿姨", "✖ Cancel")
    await feed(callback_update(button(old, "📤 Send"), from_user=proxy))
    assert "This form is closed" in popup(recorder)
    assert await count(world, "care_entries") == 0


async def test_a_score_is_asked_step_by_step_and_checked(feed, recorder, world):
    teacher = who(world, "王老师")
    await feed(message_update("/score", from_user=teacher))
    await press(feed, recorder, world, "王老师", "小明")
    assert "Which subject?" in last(recorder, world, "王老师").text
    await press(feed, recorder, world, "王老师", "Maths")
    await feed(message_update("200", from_user=teacher))
    assert "200 is more than the full mark 150" in last(recorder, world, "王老师").text
    await feed(message_update("92/100", from_user=teacher))
    assert "Which test?" in last(recorder, world, "王老师").text
    await feed(message_update("期中考试", from_user=teacher))
    await feed(message_update("13-45", from_user=teacher))
    assert "There is no such date: 13-45." in last(recorder, world, "王老师").text
    await feed(message_update("next week", from_user=teacher))
    assert "Type the date as month-day" in last(recorder, world, "王老师").text
    await feed(message_update("2-27", from_user=teacher))
    assert "The class evaluation" in last(recorder, world, "王老师").text
    await press(feed, recorder, world, "王老师", "Nothing")
    assert "All filled in" in last(recorder, world, "王老师").text
    await press(feed, recorder, world, "王老师", "📤 Send")
    [entry] = await world.services.db.fetch_all("SELECT * FROM care_entries")
    assert entry["kind"] == "score" and entry["occurred_on"] == "2026-02-27"
    cards = [r["payload"]["text"] for r in await outbox(world)]
    assert len(cards) == 2 and "💯 Score: 92/100" in cards[0] and "📘 Subject: Maths" in cards[0]


async def test_a_talk_record_is_kept_from_the_family_who_hear_only_that_it_happened(feed, recorder, world):
    teacher = who(world, "王老师")
    await feed(message_update("/talk 小明", from_user=teacher))
    await press(feed, recorder, world, "王老师", "Today")
    await press(feed, recorder, world, "王老师", "Family")
    await feed(message_update("想妈妈", from_user=teacher))
    await press(feed, recorder, world, "王老师", "Done")
    await press(feed, recorder, world, "王老师", "😟 worried")
    await feed(message_update("晚上偷偷哭 SECRET-CANARY", from_user=teacher))
    await press(feed, recorder, world, "王老师", "Nothing")
    await press(feed, recorder, world, "王老师", "💾 Save")
    rows = await outbox(world)
    assert {r["recipient"] for r in rows} == {str(world.telegram["李妈妈"]), str(world.telegram["奶奶"])}
    for r in rows:
        assert r["payload"]["text"] == "💬 class teacher 王老师 had a talk with 小明 on Mar 2."
        assert "actions" not in r["payload"]
    await feed(message_update("/timeline", from_user=who(world, "李妈妈")))
    assert "SECRET-CANARY" not in last(recorder, world, "李妈妈").text
    await feed(message_update("/timeline", from_user=who(world, "赵阿姨")))
    assert "SECRET-CANARY" in last(recorder, world, "赵阿姨").text


async def test_a_summary_is_prefilled_with_the_months_updates_photos_and_scores(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/update", from_user=proxy))
    await feed(raw(proxy, **photo(1)))
    await press(feed, recorder, world, "赵阿姨", "📤 Send")
    await feed(message_update("/summary", from_user=proxy))
    await press(feed, recorder, world, "赵阿姨", "This month")
    form = last(recorder, world, "赵阿姨").text
    assert "Mar 2026: updates 1 · photos 1 · good news 0" in form
    await feed(message_update("这个月进步很大", from_user=proxy))
    await press(feed, recorder, world, "赵阿姨", "📤 Send")
    card = (await outbox(world))[-1]["payload"]["text"]
    assert card.startswith("🗓 小明's monthly summary · Mar 2026") and "这个月进步很大" in card


async def test_last_months_summary_is_labelled_with_last_month_not_this_month(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/summary", from_user=proxy))
    await press(feed, recorder, world, "赵阿姨", "Last month")
    form = last(recorder, world, "赵阿姨").text
    assert "Feb 2026: updates 0 · photos 0 · good news 0" in form and "This month" not in form
    await feed(message_update("二月份适应得不错", from_user=proxy))
    await press(feed, recorder, world, "赵阿姨", "📤 Send")
    card = (await outbox(world))[-1]["payload"]["text"]
    assert "Feb 2026: updates 0" in card and "This month" not in card


async def test_the_talk_form_names_its_own_button_and_no_button_before_it_exists(feed, recorder, world):
    """The talk form's button is "💾 Save": no step says "Send", and none says "press Done" without the button."""
    await feed(message_update("/talk", from_user=who(world, "王老师")))
    seen = []
    for _step in range(6):
        form = last(recorder, world, "王老师")
        seen.append((form.text, labels(form)))
        choices = [b for b in labels(form) if b not in ("💾 Save", "✖ Cancel", "◀ Back") and "🆘" not in b]
        if not choices:
            break
        await press(feed, recorder, world, "王老师", choices[0])
    assert any("💾 Save" in buttons for _text, buttons in seen)
    for text, buttons in seen:
        assert "Send" not in text, text
        assert "press Done" not in text or "Done" in buttons, text


async def test_due_lists_a_proxy_parents_musts_and_a_teachers_class_as_a_table(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/due", from_user=proxy))
    text = last(recorder, world, "赵阿姨").text
    assert text.startswith("🧒 小明") and "Photos this month 0/2" in text
    await feed(message_update("/due", from_user=who(world, "王老师")))
    table = last(recorder, world, "王老师").text
    assert "Update Photos Summary Talk" in table and "小明" in table and "小红" in table
    await feed(message_update("/due", from_user=who(world, "李妈妈")))
    assert "/due is for proxy parents" in last(recorder, world, "李妈妈").text


async def test_good_news_by_voice_alone_and_a_timeline_paged_with_buttons(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    for n in range(5):
        await feed(message_update("/goodnews", from_user=proxy))
        await feed(raw(proxy, **voice(10 + n)))
        await press(feed, recorder, world, "赵阿姨", "📤 Send")
    rows = [r for r in await outbox(world) if r["recipient"] == str(world.telegram["李妈妈"])]
    assert [r["kind"] for r in rows][:2] == ["media", "text"] and rows[1]["payload"]["text"].startswith("🎉")

    mother = who(world, "李妈妈")
    await feed(message_update("/timeline", from_user=mother))
    first = last(recorder, world, "李妈妈")
    assert first.text.startswith("📖 小明's timeline (1/2)") and first.text.count("🎉") == 4
    assert labels(first)[-1] == "Older ▶"
    await press(feed, recorder, world, "李妈妈", "Older ▶")
    second = last(recorder, world, "李妈妈")
    assert second.method == "editMessageText" and second.text.startswith("📖 小明's timeline (2/2)")
    assert second.text.count("🎉") == 1 and labels(second)[-1] == "◀ Newer"
    # A forged page far beyond the end shows the last page, not an error.
    await feed(callback_update(TimelinePage(world.children["小明"], 99).pack(), from_user=mother))
    assert last(recorder, world, "李妈妈").text.startswith("📖 小明's timeline (2/2)")
    # Each view is audited.
    audited = await world.services.db.fetch_all("SELECT action FROM audit_log WHERE action = 'view_timeline'")
    assert len(audited) == 3


async def test_a_form_left_open_for_a_day_is_forgotten(feed, recorder, world, clock):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/update", from_user=proxy))
    await feed(raw(proxy, **photo(1)))
    clock.advance(timedelta(hours=25))
    await feed(message_update("hello?", from_user=proxy))
    assert last(recorder, world, "赵阿姨").text.startswith("Sorry, I did not understand that")
    assert await count(world, "care_drafts") == 0 and await count(world, "care_media") == 0


async def test_each_family_member_reads_the_card_in_their_own_language(feed, recorder, world):
    await world.services.preferences.set_locale(world.telegram["奶奶"], "zh_CN")
    proxy = who(world, "赵阿姨")
    await feed(message_update("/update", from_user=proxy))
    await press(feed, recorder, world, "赵阿姨", "🙂 Mood")
    await press(feed, recorder, world, "赵阿姨", "😊 happy")
    await press(feed, recorder, world, "赵阿姨", "📤 Send")
    cards = {r["recipient"]: r["payload"] for r in await outbox(world)}
    mother, grandmother = cards[str(world.telegram["李妈妈"])], cards[str(world.telegram["奶奶"])]
    assert mother["text"].startswith("📒 小明's update · Mar 2") and "🙂 Mood: 😊 happy" in mother["text"]
    assert grandmother["text"].startswith("📒 小明的近况 · 3月2日") and "🙂 心情：😊 开心" in grandmother["text"]
    assert labels_of({"payload": grandmother}) == ["✅ 收到"]


async def test_forged_and_malformed_buttons_get_a_short_answer_never_the_error_handler(feed, recorder, world,
                                                                                          caplog):
    proxy = who(world, "赵阿姨")
    child = world.children["小明"]
    huge = "9" * 23
    await feed(message_update("/update", from_user=proxy))  # an open form, so steps reach the draft check
    stale = "This button is no longer valid."
    forged = {
        "care:²:u:w": stale, f"care:{huge}:u:w": stale, "care::u:w": stale, f"care:{child}:x:w": stale,
        f"care:{child}:u:q": stale, f"care:{child}:u:w:a:b:c": stale, f"care:{child}:u:f": stale,
        f"care:{child}:u:f:nofield": stale, f"care:{child}:u:v:mood": stale,
        f"care:{child}:u:v:mood:furious": "⚠️ That button is no longer valid.",
        f"care:{child}:s:s": "This form is closed. Start again with /score.",
        "tl:²:0": stale, f"tl:{huge}:0": stale, "tl::": stale, f"tl:{child}": stale, f"tl:{child}:0:0": stale,
        "tm:²": stale, f"tm:{huge}": stale, "tm:": stale, "tm:1:2": stale, "tm:424242": stale,
        "cack:²": stale, f"cack:{huge}": stale, "cack:": stale, "cack:1:1": stale, "cack:424242": stale,
    }
    with caplog.at_level(logging.INFO):
        for data, answer in forged.items():
            await feed(callback_update(data, from_user=proxy))
            assert popup(recorder) == answer, data
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await count(world, "care_entries") == 0 and await count(world, "care_drafts") == 1


async def test_a_forged_timeline_or_media_button_shows_nothing_of_another_family(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/goodnews", from_user=proxy))
    await feed(raw(proxy, **photo(1)))
    await press(feed, recorder, world, "赵阿姨", "📤 Send")
    [entry] = await world.services.db.fetch_all("SELECT id FROM care_entries")
    stranger = who(world, "陈妈妈")  # 小红's mother
    await feed(callback_update(TimelinePage(world.children["小明"], 0).pack(), from_user=stranger))
    assert popup(recorder) == "You cannot see this child's timeline."
    await feed(callback_update(EntryMedia(entry["id"]).pack(), from_user=stranger))
    assert popup(recorder) == "This button is no longer valid."
    assert not recorder.sent("sendPhoto") and not recorder.sent("sendMediaGroup")


async def test_a_refused_answer_in_a_form_is_answered_once_and_the_form_stays_open(feed, recorder, world):
    teacher = who(world, "王老师")
    await feed(message_update("/score 小明", from_user=teacher))
    await press(feed, recorder, world, "王老师", "Maths")
    before = len(recorder.sent(chat_id=teacher["id"]))
    await feed(message_update("lots", from_user=teacher))
    answers = recorder.sent(chat_id=teacher["id"])[before:]
    assert [a.text for a in answers] == ["⚠️ Type a score such as 92 or 92/100, or a grade such as A or 优."]
    await feed(message_update("92", from_user=teacher))
    assert "Which test?" in last(recorder, world, "王老师").text
    # A sticker is not for the form: it goes on to the fallback, and the form stays open.
    await feed(raw(teacher, sticker={"file_id": "s1", "file_unique_id": "us1", "type": "regular", "width": 512,
                                     "height": 512, "is_animated": False, "is_video": False}))
    assert last(recorder, world, "王老师").text.startswith("Sorry, I did not understand that")
    await feed(message_update("期中考试", from_user=teacher))
    assert "When was the test?" in last(recorder, world, "王老师").text


async def test_a_form_half_filled_before_a_restart_takes_the_next_message(feed, recorder, world, settings, clock):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/update", from_user=proxy))
    await feed(raw(proxy, **photo(1)))
    # Another process on the same database, as after a restart: the open form is a row, not memory.
    again = RecordingRequest()
    application = build_application(settings, clock=clock, request=again, limits=unpaced())
    async with initialized(application):
        await telegram_handle(application)(message_update("外婆来看他了", from_user=proxy))
    [panel] = again.sent("editMessageText", chat_id=proxy["id"])  # the one card, redrawn
    assert "📷 1 photo" in panel.text and "📝 Note: 外婆来看他了" in panel.text


async def test_photos_redraw_the_one_form_card_while_it_is_on_screen_then_it_moves_down(feed, recorder, world):
    """Issue 14: each photo re-posted the whole card and old cards stayed live. Telegram numbers a private
    chat's messages in one sequence, so how far below the card a photo is says whether the card is on screen."""
    proxy = who(world, "赵阿姨")
    await feed(message_update("/update", from_user=proxy))
    actor = await world.actor("赵阿姨")
    card = (await world.services.musts.draft(actor)).panel
    recorder.clear()
    for n in range(1, 4):
        await feed(raw(proxy, **photo(n), message_id=card + n))
    assert recorder.sent(chat_id=proxy["id"]) == []  # nothing posted again
    edits = recorder.sent("editMessageText", chat_id=proxy["id"])
    assert [int(e.params["message_id"]) for e in edits] == [card] * 3 and "📷 3 photos" in edits[-1].text

    recorder.clear()
    await feed(raw(proxy, **photo(4), message_id=card + 12))  # the card scrolled away: it moves down
    [moved] = recorder.sent(chat_id=proxy["id"])
    assert "📷 4 photos" in moved.text and "📤 Send" in moved.buttons
    [deleted] = recorder.sent("deleteMessage")
    assert int(deleted.params["message_id"]) == card  # no stale card left to press
    assert (await world.services.musts.draft(actor)).panel not in (None, card)


async def test_a_card_that_cannot_be_deleted_any_more_loses_its_buttons(feed, recorder, world):
    proxy = who(world, "赵阿姨")
    await feed(message_update("/update", from_user=proxy))
    card = (await world.services.musts.draft(await world.actor("赵阿姨"))).panel
    recorder.fail_once("deleteMessage", BadRequest("Message can't be deleted for everyone"))
    await feed(raw(proxy, **photo(1), message_id=card + 20))
    [stripped] = recorder.sent("editMessageReplyMarkup")
    assert int(stripped.params["message_id"]) == card and not stripped.params.get("reply_markup")
