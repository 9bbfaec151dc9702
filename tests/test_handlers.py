"""The first handlers, driven through the production application with a recording request."""

from __future__ import annotations

import logging

import pytest

from tests.helpers import callback_update, message_update, user

ZH = user(1001, "zh-hans")
EN = user(1002, "en-GB")


@pytest.mark.parametrize(("who", "expected"), [(ZH, "只对受邀请的人开放"), (EN, "by invitation only")])
async def test_start_explains_invitation_only_in_the_users_language(feed, recorder, who, expected):
    await feed(message_update("/start", from_user=who))
    [reply] = recorder.sent(chat_id=who["id"])
    assert expected in reply.text


async def test_start_with_an_unknown_code_says_the_link_is_not_valid(feed, recorder):
    await feed(message_update("/start abcdefgh1234", from_user=EN))
    [reply] = recorder.sent(chat_id=EN["id"])
    assert "invitation link is not valid" in reply.text


async def test_unknown_language_code_falls_back_to_chinese(feed, recorder):
    await feed(message_update("/start", from_user=user(1003, "ru")))
    assert "亲情桥" in recorder.sent()[0].text


@pytest.mark.parametrize(("who", "expected"), [(ZH, "/language — 切换语言"), (EN, "/language — Change the language")])
async def test_help_lists_commands_translated(feed, recorder, who, expected):
    await feed(message_update("/help", from_user=who))
    [reply] = recorder.sent(chat_id=who["id"])
    assert expected in reply.text
    assert "/cancel" in reply.text


async def test_language_offers_each_language_named_in_itself(feed, recorder):
    await feed(message_update("/language", from_user=ZH))
    [reply] = recorder.sent()
    assert reply.text == "请选择语言："
    assert reply.buttons == ["中文", "English"]


async def test_choosing_english_is_remembered_and_confirmed_in_english(feed, recorder):
    await feed(message_update("/language", from_user=ZH))
    data = recorder.sent()[0].params["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    recorder.clear()

    await feed(callback_update(data, from_user=ZH))
    [edit] = recorder.sent("editMessageText")
    assert edit.text == "From now on I will write to you in English."
    [menu] = recorder.sent("setMyCommands")
    assert menu.params["scope"] == {"type": "chat", "chat_id": ZH["id"]}
    assert menu.params["commands"][0]["description"] == "Start, or join with an invitation"

    recorder.clear()
    await feed(message_update("/help", from_user=ZH))
    assert recorder.sent()[0].text.startswith("What you can do here:")


async def test_language_argument_switches_directly(feed, recorder):
    await feed(message_update("/language zh_CN", from_user=EN))
    assert recorder.sent()[0].text == "以后我会用中文和您交流。"


async def test_forged_language_button_changes_nothing(feed, recorder, app):
    await feed(callback_update("lang:fr", from_user=EN))
    [answer] = recorder.sent("answerCallbackQuery")
    assert answer.params["text"] == "This button is no longer valid."
    assert await app.bot_data.services.preferences.locale_for(EN["id"], None) == "zh_CN"


async def test_unknown_button_is_answered_not_ignored(feed, recorder):
    await feed(callback_update("nonsense:1", from_user=ZH))
    [answer] = recorder.sent("answerCallbackQuery")
    assert answer.params["text"] == "这个按钮已经失效了。"


async def test_cancel_with_nothing_running(feed, recorder):
    await feed(message_update("/cancel", from_user=EN))
    assert recorder.sent()[0].text.startswith("There is nothing to cancel.")


async def test_free_text_gets_a_pointer_to_help(feed, recorder):
    await feed(message_update("你好", from_user=ZH))
    assert "/help" in recorder.sent()[0].text


async def test_group_messages_get_no_answer(feed, recorder):
    group = {"id": -100777, "type": "supergroup", "title": "三年级家长群"}
    await feed(message_update("/start", from_user=ZH, chat=group))
    await feed(message_update("hello", from_user=ZH, chat=group))
    assert recorder.calls == []


async def test_strangers_leave_no_preference_row(feed, app):
    await feed(message_update("/start", from_user=ZH))
    await feed(message_update("/help", from_user=ZH))
    rows = await app.bot_data.services.db.fetch_all("SELECT * FROM user_preferences")
    assert rows == []


async def test_an_error_is_logged_by_id_and_the_user_gets_an_apology(feed, recorder, app, caplog, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("boom with secret text 小明")

    monkeypatch.setattr(app.bot_data.services.preferences, "set_locale", broken)
    update = message_update("/language en", from_user=EN)
    await feed(update)
    assert recorder.sent()[-1].text == "Sorry, something went wrong on our side. Please try again in a moment."
    [record] = [r for r in caplog.records if r.name == "handlers.errors"]
    assert record.getMessage() == f"update {update['update_id']} raised RuntimeError"


# The buttons of /language and /settings, and anything no feature declares, forged: each gets the quiet popup,
# changes nothing, and logs no error.
FORGED = ["lang:fr", "lang:", "lang:en:x", "lang:²", "qh:9999", "qh:", "qh:22000700x", "qh:off:1", "qh:²",
          "tz:99", "tz:²", "tz:", "tz:12345678901234567890123", "tz:1:2", "nonsense:1", "", "vv"]


@pytest.mark.parametrize("data", FORGED)
async def test_forged_preference_and_unknown_buttons_get_the_quiet_popup(feed, recorder, app, caplog, data):
    await feed(callback_update(data, from_user=EN))
    [answer] = recorder.sent("answerCallbackQuery")
    assert answer.params["text"] == "This button is no longer valid." and not answer.params.get("show_alert")
    assert recorder.sent() == [] and recorder.sent("editMessageText") == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await app.bot_data.services.db.fetch_all("SELECT * FROM user_preferences") == []


async def test_settings_refusals_are_answered_with_todays_texts(feed, recorder):
    for line in ("/settings zone Mars/Olympus", "/settings quiet 25:00 6:00", "/settings quiet 7:00 07:00",
                 "/settings louder"):
        await feed(message_update(line, from_user=EN))
    assert [c.text for c in recorder.sent()] == [
        "I do not know that time zone. Write it like Asia/Shanghai or Europe/Moscow.",
        "I could not read those times. Write two different times like 22:30 6:30.",
        "I could not read those times. Write two different times like 22:30 6:30.",
        "Write /settings quiet 22:30 6:30, /settings zone Europe/Moscow, or just /settings.",
    ]
