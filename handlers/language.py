"""/language: two big buttons, each language named in itself."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import LOCALE_NAMES, SUPPORTED_LOCALES, translator
from handlers.commands import set_chat_commands
from handlers.common import user_translator

PREFIX = "lang"


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(LOCALE_NAMES[loc], callback_data=f"{PREFIX}:{loc}")] for loc in SUPPORTED_LOCALES]
    )


async def _apply(update: Update, context: BotContext, locale: str) -> str:
    user = update.effective_user
    await context.services.preferences.set_locale(user.id, locale)
    await set_chat_commands(context.bot, update.effective_chat.id, locale)
    return translator(locale).gettext("From now on I will write to you in English.")


async def language(update: Update, context: BotContext) -> None:
    wanted = context.args[0] if context.args else ""
    if wanted in SUPPORTED_LOCALES:
        await update.effective_message.reply_text(await _apply(update, context, wanted))
        return
    _ = (await user_translator(update, context)).gettext
    await update.effective_message.reply_text(_("Choose your language:"), reply_markup=_keyboard())


async def on_lang_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    locale = (query.data or "").partition(":")[2]
    if locale not in SUPPORTED_LOCALES:
        _ = (await user_translator(update, context)).gettext
        await query.answer(_("This button is no longer valid."))
        return
    confirmation = await _apply(update, context, locale)
    await query.answer()
    await query.edit_message_text(confirmation)


HANDLERS = [
    CommandHandler("language", language, filters=filters.ChatType.PRIVATE),
    CallbackQueryHandler(on_lang_button, pattern=rf"^{PREFIX}:"),
]
