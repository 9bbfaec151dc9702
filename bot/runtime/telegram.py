"""The Telegram side of the sender: an outbox row becomes a Bot API call, and Telegram's errors become the
sender's four kinds of failure. The order of the except clauses matters: BadRequest and the others are
subclasses of NetworkError."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram import (
    Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaAudio, InputMediaDocument, InputMediaPhoto, InputMediaVideo,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter

from bot.musts.media import MAX_DOWNLOAD_BYTES, TooLarge
from bot.runtime.keyboards import Keyboards
from bot.runtime.sender import Limits, Rejected, Throttled, Transient, Unreachable
from storage.outbox import OutboxRow

# A "media" row's type → the Bot method that sends it and that method's name for the file.
_SEND_MEDIA = {
    "photo": ("send_photo", "photo"), "voice": ("send_voice", "voice"), "document": ("send_document", "document"),
    "video": ("send_video", "video"), "audio": ("send_audio", "audio"),
}
# The types Telegram allows in an album (no voice notes).
_ALBUM_ITEMS = {"photo": InputMediaPhoto, "video": InputMediaVideo, "document": InputMediaDocument,
                "audio": InputMediaAudio}


# Telegram shows at most 200 characters in a button's popup.
POPUP_LIMIT = 200


def inline_keyboard(actions: list[list[dict]] | None) -> InlineKeyboardMarkup | None:
    """The renderer's one rule for buttons: a notice's actions (rows of {"label", "data"}, the data a packed
    `bot.payloads` payload) become an inline keyboard; no actions, no keyboard."""
    rows = [[InlineKeyboardButton(a["label"], callback_data=a["data"]) for a in row] for row in actions or [] if row]
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramTransport:
    def __init__(self, bot: Bot, keyboards: Keyboards | None = None) -> None:
        # A plain Bot, not the application's: pacing and retries are the sender's, and the application's
        # rate limiter (which replies use) would retry a 429 by itself.
        self._bot = bot
        self._keyboards = keyboards

    async def send(self, row: OutboxRow) -> str | None:
        try:
            sent = await self._call(row)
            if self._keyboards is not None and sent is not None:
                # What the recipient was sent last, with its buttons: typing their words presses them.
                p = row.payload
                markup = inline_keyboard(p["actions"]) if p.get("actions") and row.kind != "media_group" else None
                self._keyboards.sent(row.recipient, int(sent), p.get("text") or p.get("caption"), markup)
            return sent
        except RetryAfter as exc:
            seconds = exc.retry_after.total_seconds() if isinstance(exc.retry_after, timedelta) else exc.retry_after
            raise Throttled(float(seconds)) from None
        except Forbidden as exc:
            raise Unreachable(_reason(exc)) from None
        except BadRequest as exc:
            if "chat not found" in exc.message.lower() and not row.recipient.startswith("-"):
                # A person who never opened the bot looks like a missing chat: they may still press Start.
                raise Unreachable(_reason(exc)) from None
            raise Rejected(_reason(exc)) from None
        except TimedOut:
            raise Transient("TimedOut") from None
        except NetworkError as exc:  # includes 5xx answers
            raise Transient(_reason(exc)) from None
        except TelegramError as exc:
            raise Rejected(type(exc).__name__) from None

    async def _call(self, row: OutboxRow) -> str | None:
        p = row.payload
        common = {"protect_content": p.get("protect", False)}
        if p.get("reply_to"):
            # A reply to a message that is gone still goes out, just without the quote.
            common["reply_parameters"] = ReplyParameters(int(p["reply_to"]), allow_sending_without_reply=True)
        if row.kind == "media_group":
            # Telegram takes no reply_markup on an album; the caption shows under the album when on its first item.
            return await self._album(row.recipient, p, common)
        if p.get("actions"):
            common["reply_markup"] = inline_keyboard(p["actions"])
        elif p.get("reply_markup"):
            common["reply_markup"] = InlineKeyboardMarkup.de_json(p["reply_markup"], self._bot)
        caption = {"caption": p["caption"]} if "caption" in p else {}
        if row.kind == "text":
            message = await self._bot.send_message(row.recipient, p["text"], **common)
            return str(message.message_id)
        if row.kind == "copy":
            message_id = await self._bot.copy_message(row.recipient, p["from_chat_id"], int(p["message_id"]),
                                                      **caption, **common)
            return str(message_id.message_id)
        if row.kind == "media":
            if p.get("type") not in _SEND_MEDIA:
                raise Rejected(f"unknown media type {p.get('type')}")
            method, argument = _SEND_MEDIA[p["type"]]
            send = getattr(self._bot, method)
            message = await send(row.recipient, **{argument: p["file_id"]}, **caption, **common)
            return str(message.message_id)
        raise Rejected(f"unknown kind {row.kind}")

    async def _album(self, recipient: str, p: dict, common: dict) -> str:
        items = p.get("media") or []
        if not 2 <= len(items) <= 10 or any(item.get("type") not in _ALBUM_ITEMS for item in items):
            raise Rejected("an album takes 2 to 10 photos, videos, documents or audio files")
        media = [_ALBUM_ITEMS[item["type"]](item["file_id"]) for item in items]
        caption = {"caption": p["caption"]} if p.get("caption") else {}
        messages = await self._bot.send_media_group(recipient, media, **caption, **common)
        return str(messages[0].message_id)


def _reason(exc: TelegramError) -> str:
    """Telegram's error text says what went wrong ("Forbidden: bot was blocked by the user"); it holds no
    content of ours, so it may be logged and stored."""
    return exc.message[:120]


def _already_done(endpoint: str, exc: BadRequest) -> bool:
    """A press handled again (the durable intake replays an update after a crash, Telegram re-sends after a
    timeout) meets what the first run did: the press is answered already (or too old to answer), and the edit
    it makes is there already. Neither is a failure; the press's effect is in the chat. (The answer then
    returns False, so a refusal that could not be a popup is said in the chat instead: handlers.common.refuse.)"""
    if endpoint == "answerCallbackQuery":
        return True
    return endpoint.startswith("editMessage") and "not modified" in exc.message.lower()


class SharedRateLimiter(BaseRateLimiter):
    """The application's replies to the person acting draw on the same per-chat aiolimiter buckets as the
    sender, so a reply and an outbox message to one chat together stay within that chat's limit. Replies do
    not wait for the overall bucket: they are as many as the messages people send, and the overall pacing is
    the outbox's. A reply that meets flood control anyway waits as Telegram asks and is tried again (3 times).
    The one place where a repeated answer or edit counts as done (`_already_done`)."""

    MAX_RETRIES = 3

    def __init__(self, limits: Limits, keyboards: Keyboards | None = None) -> None:
        self.limits = limits
        self.keyboards = keyboards

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        chat = data.get("chat_id")
        counts = chat is not None and (endpoint.startswith("send") and endpoint != "sendChatAction"
                                       or endpoint in ("copyMessage", "forwardMessage"))
        # An album is one message per item for Telegram's limits.
        media = data.get("media") if endpoint == "sendMediaGroup" else None
        amount = len(media) if isinstance(media, list | tuple) and media else 1
        for attempt in range(self.MAX_RETRIES + 1):
            if counts:
                await self.limits.take_chat(str(chat), amount)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self.MAX_RETRIES:
                    raise
                seconds = exc.retry_after.total_seconds() if isinstance(exc.retry_after, timedelta) else exc.retry_after
                await asyncio.sleep(float(seconds))
                continue
            except BadRequest as exc:
                if not _already_done(endpoint, exc):
                    raise
                return endpoint != "answerCallbackQuery"
            if self.keyboards is not None:
                self.keyboards.observe(endpoint, data, result)
            return result
        raise AssertionError("unreachable")


class TelegramFetcher:
    """Downloads a care entry's photo or voice note for the media store (bot.musts.media.fetch_pending)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def fetch(self, file_id: str) -> bytes:
        try:
            file = await self._bot.get_file(file_id)
        except BadRequest as exc:
            if "too big" in exc.message.lower():  # Telegram's own refusal: "file is too big"
                raise TooLarge() from None
            raise
        if file.file_size is not None and file.file_size > MAX_DOWNLOAD_BYTES:
            raise TooLarge()
        # Into memory (20 MB at most), never to a file: the media store seals it before anything reaches the disk,
        # so no plaintext copy of a child's photo is ever written, not even a temporary one.
        return bytes(await file.download_as_bytearray())
