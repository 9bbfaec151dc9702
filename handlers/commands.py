"""The command menu, registered with Telegram in each interface language, and per person by role:
a grandmother's menu does not list the admin's commands."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, N_, translator
from bot.access.policy import ADMIN, FAMILY_ROLES, PROXY, TEACHER

log = logging.getLogger(__name__)

EVERYONE, MEMBERS, FAMILY, CARERS, STAFF, ADMINS = "everyone", "members", "family", "carers", "staff", "admins"
CARE_STAFF = "care_staff"  # proxy parents, teachers and admins: who the care calendar reminds or who runs it

COMMANDS = [
    ("start", N_("Start, or join with an invitation"), EVERYONE),
    ("help", N_("What this bot can do"), EVERYONE),
    ("children", N_("The children you care for"), MEMBERS),
    ("child", N_("Open a child's record"), MEMBERS),
    ("relay", N_("Write to your child's family or carers"), MEMBERS),
    ("update", N_("Send the family an update with photos"), CARERS),
    ("score", N_("Record a test score"), CARERS),
    ("goodnews", N_("Share good news"), CARERS),
    ("summary", N_("Write the monthly summary"), CARERS),
    ("talk", N_("Record a heart-to-heart talk"), CARERS),
    ("due", N_("What is done and what is due"), CARERS),
    ("video", N_("The weekly family video call"), MEMBERS),
    ("videos", N_("This week's video calls"), CARE_STAFF),
    ("calendar", N_("The care calendar: tasks and reminders"), CARE_STAFF),
    ("timeline", N_("A child's growth timeline"), MEMBERS),
    ("privacy", N_("Children's data rules and consent"), EVERYONE),
    ("mydata", N_("A copy of everything stored about your child"), FAMILY),
    ("invite", N_("Invite a parent, guardian, proxy parent or teacher"), STAFF),
    ("newchild", N_("Add a child's record"), STAFF),
    ("import", N_("Import a class roster (Excel or CSV)"), STAFF),
    ("template", N_("An empty roster to fill in"), STAFF),
    ("newclass", N_("Add a class"), ADMINS),
    ("invitations", N_("Open invitations"), ADMINS),
    ("people", N_("People and their roles"), ADMINS),
    ("audit", N_("Who saw or changed a record"), ADMINS),
    ("deletions", N_("Requests to erase a record"), ADMINS),
    ("outbox", N_("Messages waiting or undeliverable"), ADMINS),
    ("settings", N_("Quiet hours and time zone"), MEMBERS),
    ("language", N_("Change the language"), EVERYONE),
    ("cancel", N_("Stop what you are doing"), EVERYONE),
]

# Telegram picks the menu by the two-letter code of the user's app language.
_TELEGRAM_LANGUAGE = {"zh_CN": "zh", "en": "en"}


def audiences(roles: Iterable[str]) -> set[str]:
    roles = set(roles)
    found = {EVERYONE}
    if roles:
        found.add(MEMBERS)
    if roles & set(FAMILY_ROLES):
        found.add(FAMILY)
    if roles & {PROXY, TEACHER}:
        found.add(CARERS)
    if roles & {ADMIN, TEACHER}:
        found.add(STAFF)
    if roles & {ADMIN, TEACHER, PROXY}:
        found.add(CARE_STAFF)
    if ADMIN in roles:
        found.add(ADMINS)
    return found


def commands_for(roles: Iterable[str]) -> list[tuple[str, str]]:
    """(command, description msgid) for a person with these roles, in menu order."""
    wanted = audiences(roles)
    return [(name, description) for name, description, audience in COMMANDS if audience in wanted]


def command_list(locale: str, roles: Iterable[str] = ()) -> list[BotCommand]:
    _ = translator(locale).gettext
    return [BotCommand(name, _(description)) for name, description in commands_for(roles)]


async def set_commands(bot: Bot) -> None:
    """Register the menu everyone sees first; a failure is logged, not fatal: the bot works without it."""
    try:
        await bot.set_my_commands(command_list(DEFAULT_LOCALE))
        for locale in SUPPORTED_LOCALES:
            await bot.set_my_commands(command_list(locale), language_code=_TELEGRAM_LANGUAGE[locale])
    except TelegramError as exc:
        log.warning("could not register the command menu: %s", type(exc).__name__)


async def set_chat_commands(bot: Bot, chat_id: int, locale: str, roles: Iterable[str] = ()) -> None:
    """This person's menu: in the language they chose, with the commands their roles use."""
    try:
        await bot.set_my_commands(command_list(locale, roles), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("could not set the menu for chat %s: %s", chat_id, type(exc).__name__)
