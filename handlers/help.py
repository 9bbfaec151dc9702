"""/help: the commands, in the person's language, one line each."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.runtime.context import BotContext
from handlers.commands import commands_for
from handlers.common import reply


async def help(update: Update, context: BotContext) -> None:  # noqa: A001 - named after the command
    _ = context.gettext
    lines = [_("What you can do here:"), ""]
    roles = {g.role for g in (await context.actor()).grants}
    lines += [f"/{name} — {_(description)}" for name, description in commands_for(roles)]
    lines += ["", _("Any time you are unsure, send /cancel to stop what you are doing.")]
    await reply(update, "\n".join(lines))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("help", help, filters=filters.ChatType.PRIVATE)]
