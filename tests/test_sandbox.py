"""The offline Bot API sandbox, driven by python-telegram-bot's real Bot and HTTP client.

Everything talks to 127.0.0.1 only. These tests prove that what the sandbox says is what
python-telegram-bot understands, and that it enforces what Telegram enforces.
"""

from __future__ import annotations

import asyncio
import html
import io
import time
from datetime import timedelta

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, ReplyKeyboardMarkup, Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken, NetworkError, RetryAfter,
)
from telegram.request import HTTPXRequest

from sandbox import Sandbox
from sandbox.html import HtmlParseError, parse_html
from sandbox.limits import RateLimiter
from sandbox.methods import SENDING_METHODS

# PTB 22 warns whenever it builds a RetryAfter or reads a duration (ints turn into timedeltas in
# PTB 23); that is PTB talking about itself, not about the sandbox.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

YES_NO = InlineKeyboardMarkup([[InlineKeyboardButton("是的", callback_data="yes"),
                                InlineKeyboardButton("不是", callback_data="no")]])


@pytest.fixture
async def li(sb):
    user = sb.user(1001, "Li", username="li_nainai")
    await user.start()
    sb.updates.drop_all()  # tests below look at their own updates only
    return user


def _retry_seconds(error: RetryAfter) -> float:
    value = error.retry_after  # an int in PTB 22, a timedelta from PTB 23 on
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def _raw_updates(sb: Sandbox) -> list[dict]:
    """getUpdates' JSON as it is on the wire, before python-telegram-bot looks at it."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{sb.base_url}{sb.token}/getUpdates") as response:
            return (await response.json())["result"]


# == the bot and its updates ===========================================================================

async def test_get_me_describes_the_bot(sb, bot):
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot
    assert me.first_name == "亲情桥" and me.username == "QinqingBridgeBot"
    assert me.can_join_groups is True


async def test_wrong_token_is_invalid_token(sb):
    with pytest.raises(InvalidToken):
        async with Bot("654321:AAHwrongWRONGwrongWRONGwrong", base_url=sb.base_url):
            pass
    assert sb.calls[-1].status == 401


async def test_unknown_method_is_not_found(sb, bot):
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy")
    assert sb.count("sendTelepathy", status=404) == 1


async def test_long_poll_returns_as_soon_as_an_update_arrives(sb, bot, li):
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await li.send_text("在吗")
    updates = await poll
    assert time.monotonic() - started < 1
    assert [u.message.text for u in updates] == ["在吗"]


async def test_long_poll_returns_nothing_after_its_timeout(sb, bot):
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_offset_confirms_and_drops_older_updates(sb, bot, li):
    for text in ("一", "二", "三"):
        await li.send_text(text)
    _, second, third = await bot.get_updates()
    assert sb.pending_updates == 3  # nothing is confirmed by merely reading
    assert [u.message.text for u in await bot.get_updates(offset=second.update_id)] == ["二", "三"]
    assert sb.pending_updates == 2
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == [third.update_id]
    assert await bot.get_updates(offset=third.update_id + 1) == ()
    assert sb.pending_updates == 0


async def test_limit_caps_the_batch(sb, bot, li):
    for n in range(5):
        await li.send_text(str(n))
    assert len(await bot.get_updates(limit=2)) == 2
    assert len(await bot.get_updates()) == 5


async def test_allowed_updates_filters_and_is_remembered(sb, bot, li):
    sent = await li.send_text("hello")
    await li.press_data(sent["message_id"], "forged")
    only_callbacks = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in only_callbacks] == ["forged"]
    assert len(await bot.get_updates()) == 1  # omitted: the earlier choice still holds
    assert len(await bot.get_updates(allowed_updates=[])) == 2  # empty: every default type


async def test_a_second_poller_terminates_the_first_with_conflict(sb, bot):
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    async with Bot(sb.token, base_url=sb.base_url) as second_instance:
        await second_instance.get_updates(timeout=0)
    with pytest.raises(Conflict):
        await first


async def test_every_update_the_sandbox_makes_parses_in_ptb(sb, bot, li):
    wang = sb.user(1002, "Wang", last_name="Fang", language_code="en")
    await wang.start("invite-42")
    await li.send_text("你好")
    await li.send_photo(caption="全家福")
    await li.send_voice(duration=7)
    await li.send_video()
    await li.send_document("report.pdf", b"%PDF-1.4", mime_type="application/pdf")
    await li.send_contact("+8613800000000", "Li")
    await li.send_location(30.5, 114.3)
    await li.send_sticker()
    plain = await li.send_text("typo")
    await li.edit_text(plain["message_id"], "fixed")
    prompt = await bot.send_message(li.id, "好吗?", reply_markup=YES_NO)
    await li.press("是的")
    await li.block()
    await li.unblock()
    group = sb.group(-100500, "Class 3 parents", members=[li, wang])
    await group.send_text(wang, "/help@QinqingBridgeBot")

    updates = [Update.de_json(data, bot) for data in await _raw_updates(sb)]
    messages = [u.message for u in updates if u.message]
    assert messages[0].text == "/start invite-42"
    assert messages[0].entities[0].type == "bot_command" and messages[0].entities[0].length == 6
    assert messages[1].text == "你好"
    assert messages[2].photo[-1].width > messages[2].photo[0].width and messages[2].caption == "全家福"
    assert messages[3].voice.file_id and messages[3].voice.mime_type == "audio/ogg"
    assert messages[4].video.file_id
    assert messages[5].document.file_name == "report.pdf"
    assert messages[5].document.mime_type == "application/pdf"
    assert messages[6].contact.phone_number == "+8613800000000"
    assert messages[7].location.latitude == 30.5
    assert messages[8].sticker.emoji
    assert [u.edited_message.text for u in updates if u.edited_message] == ["fixed"]
    query = next(u.callback_query for u in updates if u.callback_query)
    assert query.data == "yes" and query.message.message_id == prompt.message_id
    member_changes = [(u.my_chat_member.old_chat_member.status, u.my_chat_member.new_chat_member.status)
                      for u in updates if u.my_chat_member]
    assert member_changes == [("member", "kicked"), ("kicked", "member")]
    group_message = messages[-1]
    assert group_message.chat.type == "supergroup" and group_message.chat.title == "Class 3 parents"
    assert group_message.from_user.id == wang.id
    assert group_message.entities[0].type == "bot_command"


async def test_raw_updates_can_be_malformed_on_purpose(sb):
    broken = {"message_id": 1, "text": "no chat, no date"}
    update_id = sb.push_update({"message": broken})
    assert await _raw_updates(sb) == [{"update_id": update_id, "message": broken}]


# == sending ===========================================================================================

async def test_send_message_reaches_the_user_with_its_keyboard(sb, bot, li):
    message = await bot.send_message(li.id, "<b>奶奶</b>好 &amp; 欢迎", parse_mode=ParseMode.HTML,
                                     reply_markup=YES_NO)
    assert message.text == "奶奶好 & 欢迎"
    assert message.entities[0].type == "bold" and message.entities[0].length == 2
    assert message.from_user.id == sb.bot_id and message.chat.id == li.id
    seen = await li.wait_message()
    assert seen.message_id == message.message_id
    assert seen.text == "奶奶好 & 欢迎" and seen.parse_mode == "HTML"
    assert seen.buttons == [["是的", "不是"]]
    assert seen.button_data("不是") == "no"


async def test_reply_keyboards_are_seen_but_not_echoed(sb, bot, li):
    message = await bot.send_message(li.id, "选一个", reply_markup=ReplyKeyboardMarkup([["一", "二"]]))
    assert message.reply_markup is None  # Telegram only echoes inline keyboards
    assert li.messages[-1].keyboard == [["一", "二"]]


async def test_replies_carry_the_replied_message(sb, bot, li):
    question = await li.send_text("几点接孩子?")
    answer = await bot.send_message(li.id, "五点", reply_to_message_id=question["message_id"])
    assert answer.reply_to_message.text == "几点接孩子?"
    assert li.messages[-1].reply_to_message_id == question["message_id"]
    follow_up = await li.send_text("好的", reply_to=answer.message_id)
    assert follow_up["reply_to_message"]["text"] == "五点"
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(li.id, "?", reply_to_message_id=999)


async def test_text_longer_than_4096_is_refused(sb, bot, li):
    await bot.send_message(li.id, "x" * 4096)
    await bot.send_message(li.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # counted after parsing
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(li.id, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(li.id, "   ")
    assert len(li.messages) == 2


@pytest.mark.parametrize("markup", ["<b>unclosed", "<div>no</div>", "<b>a</i>", "1 < 2", "<a href=x>"])
async def test_bad_html_is_refused(sb, bot, li, markup):
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(li.id, markup, parse_mode="HTML")
    assert li.messages == []


async def test_markdown_passes_through(sb, bot, li):
    message = await bot.send_message(li.id, "*粗体*", parse_mode=ParseMode.MARKDOWN_V2)
    assert message.text == "*粗体*" and li.messages[-1].parse_mode == "MarkdownV2"


async def test_bad_callback_data_is_refused(sb, bot, li):
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(li.id, "hi", reply_markup=too_long)


async def test_user_who_never_started_cannot_be_written_to(sb, bot):
    sb.user(2002, "Zhao")
    with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation with a user"):
        await bot.send_message(2002, "hello")


async def test_blocked_user_is_forbidden_and_the_bot_is_told(sb, bot, li):
    await li.block()
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(li.id, "hello")
    (update,) = await bot.get_updates()
    assert update.my_chat_member.new_chat_member.status == "kicked"
    await li.send_text("我回来了")  # writing again unblocks, like the client's Restart button
    await bot.send_message(li.id, "欢迎回来")


async def test_unknown_chat_is_bad_request(sb, bot):
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(777, "hello")


async def test_photo_upload_round_trips_through_get_file(sb, bot, li):
    picture = bytes(range(256)) * 10
    message = await bot.send_photo(li.id, picture, caption="照片")
    assert message.caption == "照片" and len(message.photo) == 2
    file = await bot.get_file(message.photo[-1].file_id)
    assert file.file_size == len(picture) and file.file_path.endswith(".jpg")
    out = io.BytesIO()
    await file.download_to_memory(out)
    assert out.getvalue() == picture
    again = await bot.send_photo(li.id, message.photo[-1].file_id)  # resent by file_id
    assert again.photo[-1].file_unique_id == message.photo[-1].file_unique_id
    assert [m.kind for m in li.messages] == ["photo", "photo"]


async def test_media_checks(sb, bot, li):
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_photo(li.id, "no-such-file-id")
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.send_photo(li.id, b"img", caption="x" * 1025)
    voice = await bot.send_voice(li.id, b"ogg")
    with pytest.raises(BadRequest, match="(?i)can't use file of type Voice as Photo"):
        await bot.send_photo(li.id, voice.voice.file_id)
    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_media_group_of_three_photos(sb, bot, li):
    photos = [InputMediaPhoto(bytes([n]) * 100, caption=f"第{n}张") for n in (1, 2, 3)]
    messages = await bot.send_media_group(li.id, photos)
    assert len(messages) == 3
    assert len({m.media_group_id for m in messages}) == 1 and messages[0].media_group_id
    assert [m.caption for m in messages] == ["第1张", "第2张", "第3张"]
    assert [m.kind for m in li.messages] == ["media_group_item"] * 3
    out = io.BytesIO()
    await (await bot.get_file(messages[1].photo[-1].file_id)).download_to_memory(out)
    assert out.getvalue() == bytes([2]) * 100
    with pytest.raises(BadRequest):
        await bot.send_media_group(li.id, photos[:1])


async def test_a_users_album_is_one_update_per_photo_and_can_be_sent_on(sb, bot, li):
    sent = await li.send_album(3, caption="春游")
    messages = [u.message for u in await bot.get_updates()]
    assert [m.message_id for m in messages] == [s["message_id"] for s in sent]
    assert len({m.media_group_id for m in messages}) == 1 and messages[0].media_group_id
    assert [m.caption for m in messages] == ["春游", None, None]
    with pytest.raises(ValueError):
        await li.send_album(11)

    # The bot sends the same photos on, as an album and one by one, by file_id, and downloads them.
    grandson = sb.user(1003, "Xiaoming")
    await grandson.start()
    file_ids = [m.photo[-1].file_id for m in messages]
    album = await bot.send_media_group(grandson.id, [InputMediaPhoto(f) for f in file_ids], caption="奶奶拍的")
    assert [m.photo[-1].file_id for m in album] == file_ids
    assert [m.caption for m in album] == ["奶奶拍的", None, None]
    assert (await bot.send_photo(grandson.id, file_ids[0])).photo[-1].file_id == file_ids[0]
    downloaded = await (await bot.get_file(file_ids[2])).download_as_bytearray()
    assert bytes(downloaded) == sb.files.get(file_ids[2]).data


async def test_a_users_voice_note_is_sent_on_by_file_id_and_downloaded(sb, bot, li):
    voice = (await li.send_voice(b"OggS voice", duration=4))["voice"]
    again = await bot.send_voice(li.id, voice["file_id"], caption="再听一遍")
    assert again.voice.file_unique_id == voice["file_unique_id"] and again.caption == "再听一遍"
    file = await bot.get_file(voice["file_id"])
    assert file.file_size == len(b"OggS voice")
    assert bytes(await file.download_as_bytearray()) == b"OggS voice"
    async with aiohttp.ClientSession() as session:  # PTB itself offers no way to put a voice note in an album
        async with session.post(f"{sb.base_url}{sb.token}/sendMediaGroup", json={
                "chat_id": li.id, "media": [{"type": "voice", "media": voice["file_id"]}] * 2}) as response:
            assert response.status == 400
            assert "unsupported media type" in (await response.json())["description"]


async def test_an_album_bigger_than_a_chats_burst_goes_through_and_leaves_debt():
    async with Sandbox(chat_burst=3) as limited:
        user = limited.user(1001, "Li")
        await user.start()
        files = [(await user.send_photo())["photo"][-1]["file_id"] for _ in range(10)]
        async with Bot(limited.token, base_url=limited.base_url) as client:
            await client.send_media_group(user.id, [InputMediaPhoto(f) for f in files])
            with pytest.raises(RetryAfter) as refused:
                await client.send_message(user.id, "紧接着")
        assert _retry_seconds(refused.value) >= 7  # ten messages against a bucket of three


async def test_copy_a_users_voice_to_another_user(sb, bot, li):
    grandson = sb.user(1003, "Xiaoming")
    await grandson.start()
    voice = await li.send_voice(duration=4)
    copied = await bot.copy_message(grandson.id, from_chat_id=li.id, message_id=voice["message_id"],
                                    caption="奶奶的语音")
    received = await grandson.wait_message(predicate=lambda m: m.kind == "voice")
    assert received.message_id == copied.message_id
    assert received.from_copy and received.caption == "奶奶的语音"
    assert received.file_id == voice["voice"]["file_id"]
    with pytest.raises(BadRequest, match="(?i)message to copy not found"):
        await bot.copy_message(grandson.id, from_chat_id=li.id, message_id=999)


async def test_forward_names_the_original_sender(sb, bot, li):
    grandson = sb.user(1003, "Xiaoming")
    await grandson.start()
    original = await li.send_text("想你了")
    forwarded = await bot.forward_message(grandson.id, from_chat_id=li.id, message_id=original["message_id"])
    assert forwarded.text == "想你了" and forwarded.forward_origin.sender_user.id == li.id


async def test_edit_message_text_keeps_the_history(sb, bot, li):
    message = await bot.send_message(li.id, "第一版", reply_markup=YES_NO)
    edited = await bot.edit_message_text("第二版", chat_id=li.id, message_id=message.message_id)
    assert edited.text == "第二版" and edited.edit_date is not None
    seen = li.messages[0]
    assert seen.text == "第二版" and seen.edits == ["第一版"]
    assert seen.buttons == []  # an edit without reply_markup drops the keyboard, as in Telegram
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("第二版", chat_id=li.id, message_id=message.message_id)
    await bot.edit_message_reply_markup(chat_id=li.id, message_id=message.message_id, reply_markup=YES_NO)
    assert seen.buttons == [["是的", "不是"]] and seen.edits == ["第一版"]


async def test_pressing_a_button_and_answering_it(sb, bot, li):
    with pytest.raises(LookupError):
        await li.press("是的")
    message = await bot.send_message(li.id, "今天接孩子吗?", reply_markup=YES_NO)
    query_id = await li.press("是的")
    (update,) = await bot.get_updates()
    assert update.callback_query.id == query_id and update.callback_query.data == "yes"
    assert update.callback_query.message.message_id == message.message_id
    assert li.callback_answer(query_id) is None
    assert await bot.answer_callback_query(query_id, text="好的", show_alert=True)
    assert li.callback_answer(query_id) == {"text": "好的", "show_alert": True, "url": None}
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("12345")


async def test_delete_message(sb, bot, li):
    message = await bot.send_message(li.id, "秘密")
    assert await bot.delete_message(li.id, message.message_id)
    assert li.messages[0].deleted
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(li.id, message.message_id)


async def test_messages_older_than_48_hours_cannot_be_deleted():
    now = [1_800_000_000.0]
    async with Sandbox(enforce_limits=False, clock=lambda: now[0]) as sb:
        user = sb.user(1001, "Li")
        await user.start()
        async with Bot(sb.token, base_url=sb.base_url) as bot:
            message = await bot.send_message(user.id, "旧消息")
            assert message.date.timestamp() == now[0]
            now[0] += 48 * 3600
            with pytest.raises(BadRequest, match="(?i)message can't be deleted"):
                await bot.delete_message(user.id, message.message_id)


async def test_commands_per_scope_and_language(sb, bot):
    await bot.set_my_commands([("start", "开始"), ("help", "帮助")], language_code="zh")
    await bot.set_my_commands([("start", "Start")], language_code="en")
    await bot.set_my_commands([("start", "Start")])
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start", "help"]
    assert sb.commands[("default", "en")] == [{"command": "start", "description": "Start"}]
    assert sb.commands[("default", "")] == [{"command": "start", "description": "Start"}]
    await bot.delete_my_commands(language_code="en")
    assert ("default", "en") not in sb.commands
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "大写不行")])
    with pytest.raises(BadRequest, match="(?i)invalid language code"):
        await bot.set_my_commands([("start", "开始")], language_code="zh-hans")


async def test_group_messages_in_both_directions(sb, bot, li):
    group = sb.group(-100500, "Class 3 parents", members=[li])
    await group.send_text(li, "大家好")
    (update,) = await bot.get_updates()
    assert update.message.chat.id == group.id and update.message.from_user.id == li.id
    await bot.send_message(group.id, "欢迎")
    assert (await group.wait_message()).text == "欢迎"


# == limits, faults, delays ============================================================================

async def test_a_burst_to_one_chat_gets_retry_after(sb, bot, li):
    sb.enforce_limits = True
    for n in range(3):  # chat_burst
        await bot.send_message(li.id, f"消息{n}")
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(li.id, "太快了")
    assert _retry_seconds(refused.value) >= 1
    assert len(li.messages) == 3  # the refused call created nothing
    assert sb.count("sendMessage", status=429) == 1
    other = sb.user(1004, "Chen")
    await other.start()
    await bot.send_message(other.id, "another chat has its own bucket")


async def test_group_limit_is_per_minute():
    async with Sandbox(group_per_minute=2) as sb:
        group = sb.group(-100600, "Grandparents")
        async with Bot(sb.token, base_url=sb.base_url) as bot:
            await bot.send_message(group.id, "1")
            await bot.send_message(group.id, "2")
            with pytest.raises(RetryAfter) as refused:
                await bot.send_message(group.id, "3")
            assert 20 <= _retry_seconds(refused.value) <= 30


def test_rate_limiter_refills_and_lets_big_media_groups_through():
    now = [0.0]
    limiter = RateLimiter(global_rate=30, chat_rate=1.0, chat_burst=3, group_per_minute=20, clock=lambda: now[0])
    assert limiter.acquire(1, 10) == 0  # a full bucket takes a 10-item album...
    assert limiter.acquire(1) == pytest.approx(8.0)  # ...and then owes 7 tokens
    now[0] += 8
    assert limiter.acquire(1) == 0
    for chat in range(2, 31):  # the global bucket (30 a second) is down to 29
        assert limiter.acquire(chat) == 0
    assert limiter.acquire(99) == pytest.approx(1 / 30)
    now[0] += 1 / 30
    assert limiter.acquire(99) == 0


async def test_injected_500_then_success(sb, bot, li):
    sb.inject_fault("sendMessage", status=500)
    with pytest.raises(NetworkError):
        await bot.send_message(li.id, "first try")
    await bot.send_message(li.id, "second try")
    assert [c.status for c in sb.calls if c.method == "sendMessage"] == [500, 200]
    assert [m.text for m in li.messages] == ["second try"]


async def test_injected_faults_by_chat_and_429(sb, bot, li):
    other = sb.user(1005, "Zhou")
    await other.start()
    sb.inject_fault(status=429, retry_after=7, chat_id=other.id, count=2)
    await bot.send_message(li.id, "unaffected")
    for _ in range(2):
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(other.id, "limited")
        assert _retry_seconds(refused.value) == 7
    await bot.send_message(other.id, "through")
    sb.inject_fault("getMe", status=403, description="Forbidden: bot was kicked")
    with pytest.raises(Forbidden, match="(?i)kicked"):
        await bot.get_me()


async def test_delay(sb, bot, li):
    sb.set_delay("sendmessage", 0.3)
    started = time.monotonic()
    await bot.send_message(li.id, "slow")
    assert time.monotonic() - started >= 0.3
    sb.set_delay("sendMessage", 0)
    started = time.monotonic()
    await bot.send_message(li.id, "fast")
    assert time.monotonic() - started < 0.3


# == the user side =====================================================================================

async def test_wait_message_cursor_and_predicate(sb, bot, li):
    for text in ("a", "b", "c"):
        await bot.send_message(li.id, text)
    assert (await li.wait_message(predicate=lambda m: m.text == "b")).text == "b"
    assert [m.text for m in await li.wait_messages(2)] == ["a", "c"]
    with pytest.raises(asyncio.TimeoutError):
        await li.wait_message(timeout=0.1)
    await bot.send_message(li.id, "d")
    li.clear()
    with pytest.raises(asyncio.TimeoutError):
        await li.wait_message(timeout=0.1)


async def test_wait_message_wakes_when_the_bot_sends(sb, bot, li):
    waiting = asyncio.create_task(li.wait_message(timeout=2))
    await asyncio.sleep(0.05)
    await bot.send_message(li.id, "来了")
    assert (await waiting).text == "来了"


async def test_listeners_see_both_directions(sb, bot, li):
    events = []
    sb.add_listener(lambda event: events.append((event.kind, event.chat_id, event.text)))
    await li.send_text("你好")
    message = await bot.send_message(li.id, "您好", reply_markup=YES_NO)
    await li.press("不是")
    await bot.edit_message_text("改了", chat_id=li.id, message_id=message.message_id)
    await bot.delete_message(li.id, message.message_id)
    assert events == [("user_message", li.id, "你好"), ("bot_message", li.id, "您好"), ("callback", li.id, "no"),
                      ("edit", li.id, "改了"), ("delete", li.id, "改了")]


async def test_many_users_and_concurrent_sends(sb):
    users = [sb.user(5000 + n, f"User{n}") for n in range(60)]
    poll_bot = Bot(sb.token, base_url=sb.base_url)
    send_bot = Bot(sb.token, base_url=sb.base_url, request=HTTPXRequest(connection_pool_size=64))
    async with poll_bot, send_bot:
        poll = asyncio.create_task(poll_bot.get_updates(timeout=5, limit=100))
        await asyncio.sleep(0.05)
        await asyncio.gather(*(user.start() for user in users))
        assert len(await poll) == 60  # the long poll saw them arrive
        results = await asyncio.gather(*(send_bot.send_message(u.id, f"hi {u.id}") for u in users))
    assert {m.chat.id for m in results} == {u.id for u in users}
    assert all([m.text for m in u.messages] == [f"hi {u.id}"] for u in users)


async def test_json_bodies_and_query_strings_are_understood(sb, li):
    async with aiohttp.ClientSession() as session:
        url = f"{sb.base_url}{sb.token}"
        async with session.post(f"{url}/SENDMESSAGE", json={"chat_id": li.id, "text": "json"}) as response:
            body = await response.json()
        assert response.status == 200 and body["result"]["text"] == "json"
        async with session.get(f"{url}/sendMessage", params={"chat_id": str(li.id), "text": "query",
                                                              "protect_content": "true"}) as response:
            body = await response.json()
        assert body["result"]["has_protected_content"] is True
        async with session.get(f"{sb.base_file_url}{sb.token}/photos/none.jpg") as response:
            assert response.status == 404


# == the HTML parser ===================================================================================

@pytest.mark.parametrize(("markup", "text", "entities"), [
    ("<b>bold</b> <i>it</i>", "bold it",
     [{"type": "bold", "offset": 0, "length": 4}, {"type": "italic", "offset": 5, "length": 2}]),
    ("AT&T &lt;3 &#128512;", "AT&T <3 😀", []),
    ("😀<u>x</u>", "😀x", [{"type": "underline", "offset": 2, "length": 1}]),  # UTF-16 offsets
    ('<a href="https://example.com">链接</a>', "链接",
     [{"type": "text_link", "offset": 0, "length": 2, "url": "https://example.com"}]),
    ('<pre><code class="language-python">x = 1</code></pre>', "x = 1",
     [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]),
    ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st",
     [{"type": "spoiler", "offset": 0, "length": 1}, {"type": "spoiler", "offset": 1, "length": 1}]),
    ("<blockquote expandable>q</blockquote>", "q", [{"type": "expandable_blockquote", "offset": 0, "length": 1}]),
    ("<b></b>empty", "empty", []),
])
def test_html_parses_like_telegram(markup, text, entities):
    assert parse_html(markup) == (text, entities)


@pytest.mark.parametrize(("markup", "error"), [
    ("a <b", "Unclosed start tag at byte offset 2"),
    ("<br>", 'Unsupported start tag "br" at byte offset 0'),
    ("你<p>", 'Unsupported start tag "p" at byte offset 3'),  # offsets are UTF-8 bytes
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0'),
])
def test_html_errors_read_like_telegrams(markup, error):
    with pytest.raises(HtmlParseError) as refused:
        parse_html(markup)
    assert str(refused.value) == error


@given(st.text())
def test_escaped_text_parses_back_to_itself(text):
    assert parse_html(html.escape(text)) == (text, [])


# == a whole python-telegram-bot application ===========================================================

async def test_a_ptb_application_polls_and_answers(sb, li):
    from telegram.ext import Application, CallbackQueryHandler, CommandHandler

    async def start(update, context):
        await update.message.reply_text(f"欢迎 {context.args[0]}", reply_markup=YES_NO)

    async def pressed(update, context):
        await update.callback_query.answer("收到")
        await update.callback_query.edit_message_text(f"你选了 {update.callback_query.data}")

    app = Application.builder().token(sb.token).base_url(sb.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            await li.start("family-7")
            welcome = await li.wait_message()
            assert welcome.text == "欢迎 family-7" and welcome.buttons == [["是的", "不是"]]
            query_id = await li.press("不是")
            await li.wait_until(lambda: welcome.edits)
            assert welcome.text == "你选了 no"
            assert li.callback_answer(query_id)["text"] == "收到"
        finally:
            await app.updater.stop()
            await app.stop()


async def test_an_answer_delay_slows_every_call_that_sends_and_nothing_else(sb, bot, li):
    sb.set_answer_delay(0.3)
    started = time.monotonic()
    await asyncio.gather(bot.send_message(li.id, "slow"), bot.send_photo(li.id, b"\x89PNG"))
    assert time.monotonic() - started >= 0.3  # the two answers waited side by side
    assert set(sb._server.delays) == {m.lower() for m in SENDING_METHODS}
    assert "getme" not in sb._server.delays and "editmessagetext" not in sb._server.delays
    sb.set_answer_delay(0)
    assert sb._server.delays == {}
