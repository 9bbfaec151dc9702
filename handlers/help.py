"""/help: the commands, in the person's language, one line each."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot.context import BotContext
from handlers.common import user_translator
from handlers.commands import COMMANDS


async def help(update: Update, context: BotContext) -> None:  # noqa: A001 - named after the command
    _ = (await user_translator(update, context)).gettext
    lines = [_("What you can do here:"), ""]
    lines += [f"/{name} — {_(description)}" for name, description in COMMANDS]
    lines += ["", _("Any time you are unsure, send /cancel to stop what you are doing.")]
    await update.effective_message.reply_text("\n".join(lines))


HANDLERS = [CommandHandler("help", help, filters=filters.ChatType.PRIVATE)]
