"""The command menu, registered with Telegram in each interface language, and per person by role:
a grandmother's menu does not list the admin's commands."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, N_, translator
from bot.access.policy import (ADMIN, FAMILY_ROLES, HANDLER_ROLES, PROXY, REPORTER_ROLES, SUPERVISOR, TEACHER,
                               TOWNSHIP_ROLES)

log = logging.getLogger(__name__)

EVERYONE, MEMBERS, FAMILY, CARERS, STAFF, ADMINS = "everyone", "members", "family", "carers", "staff", "admins"
CARE_STAFF = "care_staff"  # proxy parents, teachers and admins: who the care calendar reminds or who runs it
# The child's own circle (family, carers, the school): the relay and the video call are theirs. A supervisor or a
# child director reads the records of the township's or village's children, but writes to no family through them.
CIRCLE = "circle"
SUPERVISORS = "supervisors"  # a township's: they invite its schools' admins and villages' child directors
MANAGERS = "managers"  # who manages invitations and roles: a school's admins, a township's supervisors
# A child in danger (强制报告): who must report (staff, proxy parents, the township's people), and who handles the
# reports. Parents and guardians reach the same /report as 求助 (FAMILY).
REPORTERS = "reporters"
HANDLERS = "handlers"

COMMANDS = [
    ("start", N_("Start, or join with an invitation"), EVERYONE),
    ("help", N_("What this bot can do"), EVERYONE),
    ("report", N_("🆘 Report a child in danger"), REPORTERS),
    ("report", N_("🆘 Ask for help"), FAMILY),
    ("reports", N_("Safety reports: open cases and the ledger"), HANDLERS),
    ("children", N_("The children you care for"), MEMBERS),
    ("child", N_("Open a child's record"), MEMBERS),
    ("relay", N_("Write to your child's family or carers"), CIRCLE),
    ("update", N_("Send the family an update with photos"), CARERS),
    ("score", N_("Record a test score"), CARERS),
    ("goodnews", N_("Share good news"), CARERS),
    ("summary", N_("Write the monthly summary"), CARERS),
    ("talk", N_("Record a heart-to-heart talk"), CARERS),
    ("due", N_("What is done and what is due"), CARERS),
    ("video", N_("The weekly family video call"), CIRCLE),
    ("videos", N_("This week's video calls"), CARE_STAFF),
    ("calendar", N_("The care calendar: tasks and reminders"), CARE_STAFF),
    ("timeline", N_("A child's growth timeline"), MEMBERS),
    ("privacy", N_("Children's data rules and consent"), EVERYONE),
    ("mydata", N_("A copy of everything stored about your child"), FAMILY),
    ("invite", N_("Invite a parent, guardian, proxy parent or teacher"), STAFF),
    ("invite", N_("Invite a school's admin or a village's child director"), SUPERVISORS),
    ("families", N_("Which families of a class have joined"), STAFF),
    ("notice", N_("A notice to every family of a class"), STAFF),
    ("newchild", N_("Add a child's record"), STAFF),
    ("import", N_("Import a class roster (Excel or CSV)"), STAFF),
    ("template", N_("An empty roster to fill in"), STAFF),
    ("newclass", N_("Add a class"), ADMINS),
    ("invitations", N_("Open invitations"), MANAGERS),
    ("people", N_("People and their roles"), MANAGERS),
    ("audit", N_("Who saw or changed a record"), ADMINS),
    ("deletions", N_("Requests to erase a record"), ADMINS),
    ("outbox", N_("Messages waiting or undeliverable"), ADMINS),
    ("settings", N_("Quiet hours and time zone"), MEMBERS),
    ("language", N_("Change the language"), EVERYONE),
    ("cancel", N_("Stop what you are doing"), EVERYONE),
    # Last: tests/test_property_world.py draws commands by their index in this list (derandomized), and a command
    # inserted higher up shifts every example after it.
    ("letter", N_("Send the child's letter to the parents"), CARERS),
    ("visit", N_("Record a home visit"), CARERS),
    ("schooldays", N_("The school calendar: terms, holidays, make-up days"), STAFF),
    ("attendance", N_("Take today's roll call"), STAFF),
    # Children absent without a reason (控辍保学): a school's admins and class teachers, a township's supervisors and
    # a village's child directors follow the cases.
    ("dropouts", N_("Children absent from school: cases, persuasion, reports"), HANDLERS),
    # 《未成年人保护法》 Art. 23: the family confirms the written notice of who looks after the child.
    ("entrusted", N_("The written notice of who looks after your child"), FAMILY),
    # 台账: a class teacher's class, an admin's school, a child director's village, a supervisor's township.
    ("ledger", N_("Ledgers (台账) as Excel: children, five musts, video calls, calendar"), HANDLERS),
    # The same places as the ledgers; above the school, counts under 5 are shown as "<5".
    ("stats", N_("Statistics and charts: records, consent, weekly contact, five musts"), HANDLERS),
]

# Telegram picks the menu by the two-letter code of the user's app language.
_TELEGRAM_LANGUAGE = {"zh_CN": "zh", "en": "en"}


def audiences(roles: Iterable[str]) -> set[str]:
    roles = set(roles)
    found = {EVERYONE}
    if roles:
        found.add(MEMBERS)
    if roles - set(TOWNSHIP_ROLES):
        found.add(CIRCLE)
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
    if SUPERVISOR in roles:
        found.add(SUPERVISORS)
    if roles & {ADMIN, SUPERVISOR}:
        found.add(MANAGERS)
    if roles & set(REPORTER_ROLES):
        found.add(REPORTERS)
    if roles & set(HANDLER_ROLES):
        found.add(HANDLERS)
    return found


def commands_for(roles: Iterable[str]) -> list[tuple[str, str]]:
    """(command, description msgid) for a person with these roles, in menu order; a command described for
    several audiences (/invite) once, as the first of them says."""
    wanted = audiences(roles)
    found: dict[str, str] = {}
    for name, description, audience in COMMANDS:
        if audience in wanted:
            found.setdefault(name, description)
    return list(found.items())


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
