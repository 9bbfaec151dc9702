"""Last in line: whatever no feature took. A private message gets a pointer to /help; a stale or forged
button gets told it no longer works; everything else (groups, channels, edits) is left alone."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.runtime.context import BotContext
from handlers.common import reply, user_translator


async def unknown_message(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    await reply(update, _("Sorry, I did not understand that. Send /help to see what you can do."))


async def on_unknown_button(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    await update.callback_query.answer(_("This button is no longer valid."))


HANDLERS = [
    MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, unknown_message),
    CallbackQueryHandler(on_unknown_button),
]
