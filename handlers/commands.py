"""The command menu, registered with Telegram in each interface language."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, N_, translator

log = logging.getLogger(__name__)

COMMANDS = [
    ("start", N_("Start, or join with an invitation")),
    ("help", N_("What this bot can do")),
    ("language", N_("Change the language")),
    ("cancel", N_("Stop what you are doing")),
]

# Telegram picks the menu by the two-letter code of the user's app language.
_TELEGRAM_LANGUAGE = {"zh_CN": "zh", "en": "en"}


def command_list(locale: str) -> list[BotCommand]:
    _ = translator(locale).gettext
    return [BotCommand(name, _(description)) for name, description in COMMANDS]


async def set_commands(bot: Bot) -> None:
    """Register the menu in every language; a failure is logged, not fatal: the bot works without it."""
    try:
        await bot.set_my_commands(command_list(DEFAULT_LOCALE))
        for locale in SUPPORTED_LOCALES:
            await bot.set_my_commands(command_list(locale), language_code=_TELEGRAM_LANGUAGE[locale])
    except TelegramError as exc:
        log.warning("could not register the command menu: %s", type(exc).__name__)


async def set_chat_commands(bot: Bot, chat_id: int, locale: str) -> None:
    """After /language, show this person's menu in the language they chose, whatever their app's."""
    try:
        await bot.set_my_commands(command_list(locale), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("could not set the menu for chat %s: %s", chat_id, type(exc).__name__)
