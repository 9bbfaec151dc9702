"""Last in line: whatever no feature took. A private message gets a pointer to /help; a stale or forged
button gets told, quietly, that it no longer works; everything else (groups, channels, edits) is left alone."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.errors import StaleButton
from bot.runtime.context import BotContext
from handlers.common import reply


async def unknown_message(update: Update, context: BotContext) -> None:
    await reply(update, context.gettext("Sorry, I did not understand that. Send /help to see what you can do."))


async def on_unknown_button(update: Update, context: BotContext) -> None:
    raise StaleButton()


def handlers() -> list[BaseHandler]:
    return [
        MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, unknown_message),
        CallbackQueryHandler(on_unknown_button),
    ]
