"""What every handler needs: the acting person's language, and the rule that care happens in private chats."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.runtime.context import BotContext
from bot.i18n import Translator, translator
from bot.access.people import Actor

CHANNEL = "telegram"


async def user_locale(update: Update, context: BotContext) -> str:
    user = update.effective_user
    return await context.services.preferences.locale_for(
        user.id if user else None, user.language_code if user else None
    )


async def user_translator(update: Update, context: BotContext) -> Translator:
    return translator(await user_locale(update, context))


async def current_actor(update: Update, context: BotContext) -> Actor:
    """The person behind this update and their active roles, read afresh: a removed role ends at once."""
    user = update.effective_user
    if user is None:
        return Actor(None)
    return await context.services.directory.actor(CHANNEL, str(user.id))


async def reply(update: Update, text: str, **kwargs) -> Message:
    """Answer in the chat the update came from. Unlike effective_message.reply_text this also works for a
    button whose message Telegram no longer hands over (deleted, or too old)."""
    return await update.get_bot().send_message(update.effective_chat.id, text, **kwargs)


async def replace_or_reply(update: Update, text: str, **kwargs) -> None:
    """Answer a button in place (edit the message it sits on); if that message is too old for Telegram to
    hand over, or gone, say it in a new message instead."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        await query.edit_message_text(text, **kwargs)
    elif update.effective_chat is not None:
        await reply(update, text, **kwargs)


def button_id(update: Update, prefix: str) -> int | None:
    """The one numeric id in `prefix:<id>` callback data, or None for anything else (forged, stale, garbled):
    every handler still checks the id against the presser's rights."""
    parts = (update.callback_query.data or "").split(":")
    if len(parts) == 2 and parts[0] == prefix and parts[1].isdigit():
        return int(parts[1])
    return None


def child_keyboard(children, data, per_row: int = 3) -> InlineKeyboardMarkup:
    """One button per child (by name), `data(child)` its callback data."""
    buttons = [InlineKeyboardButton(c.name or "?", callback_data=data(c)) for c in children]
    return InlineKeyboardMarkup([buttons[i:i + per_row] for i in range(0, len(buttons), per_row)])
