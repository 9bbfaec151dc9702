"""What every handler needs: the acting person's language, and the rule that care happens in private chats."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import Translator, translator


async def user_locale(update: Update, context: BotContext) -> str:
    user = update.effective_user
    return await context.services.preferences.locale_for(
        user.id if user else None, user.language_code if user else None
    )


async def user_translator(update: Update, context: BotContext) -> Translator:
    return translator(await user_locale(update, context))
