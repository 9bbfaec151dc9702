"""/cancel outside any dialogue: an open form (/update, /score …) is thrown away; otherwise nothing is
running, and the person is told so plainly."""

from __future__ import annotations

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import CommandHandler, filters

from bot.runtime.context import BotContext
from handlers.common import current_actor, reply, user_translator


async def cancel(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    if await context.services.care.discard(await current_actor(update, context)) is not None:
        await reply(update, _("Cancelled. Nothing was sent."), reply_markup=ReplyKeyboardRemove())
        return
    await reply(update, 
        _("There is nothing to cancel. Send /help to see what you can do."), reply_markup=ReplyKeyboardRemove()
    )


HANDLERS = [CommandHandler("cancel", cancel, filters=filters.ChatType.PRIVATE)]
