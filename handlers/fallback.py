"""Last in line: whatever no feature took. A private message gets a pointer to /help; a stale or forged
button gets told, quietly, that it no longer works; everything else (groups, channels, edits) is left alone."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.errors import StaleButton
from bot.runtime.context import BotContext
from handlers.commands import commands_for
from handlers.common import reply


MATCHES_SHOWN = 4


def typed_commands(text: str, commands: list[tuple[str, str]], _) -> list[tuple[str, str]]:
    """The person's commands a typed word points at: the command's own name ("ledger", "/ledger") or a word of
    its description in the reader's language ("台账", "统计"); at most MATCHES_SHOWN, in menu order."""
    word = text.strip().lstrip("/").strip().lower()
    if not word or len(word) > 20:
        return []
    named = [(name, _(description)) for name, description in commands if word == name]
    if named:
        return named
    found = [(name, _(description)) for name, description in commands
             if len(word) >= 2 and word in _(description).lower()]
    return found[:MATCHES_SHOWN]


async def unknown_message(update: Update, context: BotContext) -> None:
    """Someone who types a word instead of opening the menu ("台账") is shown the commands it points at, each a
    tap away (Telegram makes a /command in a message tappable); otherwise, the way to /help."""
    _ = context.gettext
    roles = {g.role for g in (await context.actor()).grants}
    found = typed_commands(update.effective_message.text or "", commands_for(roles), _)
    if not found:
        await reply(update, _("Sorry, I did not understand that. Send /help to see what you can do."))
        return
    lines = [_("Is it one of these? Tap it:"), ""] + [f"/{name} — {description}" for name, description in found]
    lines += ["", _("/help shows everything you can do here.")]
    await reply(update, "\n".join(lines))


async def on_unknown_button(update: Update, context: BotContext) -> None:
    raise StaleButton()


def handlers() -> list[BaseHandler]:
    return [
        MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, unknown_message),
        CallbackQueryHandler(on_unknown_button),
    ]
