"""What every handler needs: the acting person's language, and the rule that care happens in private chats."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import Translator, translator
from bot.people import Actor

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
