"""/language: two big buttons, each language named in itself."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.runtime.context import BotContext
from bot.i18n import LOCALE_NAMES, SUPPORTED_LOCALES, translator
from handlers.commands import set_chat_commands
from handlers.common import current_actor, replace_or_reply, reply, user_translator

PREFIX = "lang"


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(LOCALE_NAMES[loc], callback_data=f"{PREFIX}:{loc}")] for loc in SUPPORTED_LOCALES]
    )


async def _apply(update: Update, context: BotContext, locale: str) -> str:
    user = update.effective_user
    await context.services.preferences.set_locale(user.id, locale)
    roles = {g.role for g in (await current_actor(update, context)).grants}
    await set_chat_commands(context.bot, update.effective_chat.id, locale, roles)
    return translator(locale).gettext("From now on I will write to you in English.")


async def language(update: Update, context: BotContext) -> None:
    wanted = context.args[0] if context.args else ""
    if wanted in SUPPORTED_LOCALES:
        await reply(update, await _apply(update, context, wanted))
        return
    _ = (await user_translator(update, context)).gettext
    await reply(update, _("Choose your language:"), reply_markup=_keyboard())


async def on_lang_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    locale = (query.data or "").partition(":")[2]
    if locale not in SUPPORTED_LOCALES:
        _ = (await user_translator(update, context)).gettext
        await query.answer(_("This button is no longer valid."))
        return
    confirmation = await _apply(update, context, locale)
    await query.answer()
    await replace_or_reply(update, confirmation)


HANDLERS = [
    CommandHandler("language", language, filters=filters.ChatType.PRIVATE),
    CallbackQueryHandler(on_lang_button, pattern=rf"^{PREFIX}:"),
]
