"""/start: the first thing anyone sees. The bot is by invitation, so a stranger is told how to get one."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot.context import BotContext
from handlers.common import user_translator


async def start(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    if context.args:
        # Invitation codes arrive as the deep-link payload; none is valid until invitations exist.
        await update.effective_message.reply_text(
            _(
                "This invitation link is not valid. It may be mistyped or no longer in use. "
                "Please ask the child's class teacher for a new one."
            )
        )
        return
    await update.effective_message.reply_text(
        _(
            "Hello! This is Qinqing Bridge. It connects parents working away from home with the family, "
            "proxy parents and teachers who look after their child.\n\n"
            "Qinqing Bridge is by invitation only: ask the child's class teacher for an invitation link "
            "or QR code, and open it to join.\n\n"
            "/help shows what you can do here. /language changes the language."
        )
    )


HANDLERS = [CommandHandler("start", start, filters=filters.ChatType.PRIVATE)]
