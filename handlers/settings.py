"""/settings: quiet hours (messages wait until they end; urgent alerts do not) and the time zone they are
counted in. Buttons for the common choices; `/settings quiet 22:30 6:30` or `/settings zone Europe/Moscow`
for anything else."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.runtime.context import BotContext
from bot.delivery_settings import COMMON_ZONES, SettingError
from bot.i18n import format_datetime
from handlers.common import replace_or_reply, reply, user_locale, user_translator

QUIET, ZONE = "qh", "tz"
PRESETS = (("21:00", "07:00"), ("22:00", "07:00"), ("23:00", "06:00"))


def _describe(current, _, locale: str, now: datetime) -> str:
    quiet = _("off: messages arrive at any hour") if current.quiet_off else \
        _("{start}–{end}: messages wait until morning (urgent alerts do not)").format(start=current.quiet_start,
                                                                                     end=current.quiet_end)
    local = format_datetime(now, locale, current.timezone, "short")
    return "\n".join([
        _("Your settings:"),
        _("Quiet hours: {quiet}").format(quiet=quiet),
        _("Time zone: {zone} (now {local})").format(zone=current.timezone, local=local),
        "",
        _("Choose below, or write e.g. /settings quiet 22:30 6:30 or /settings zone Europe/Moscow."),
    ])


def _keyboard(_) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(f"🌙 {a}–{b}", callback_data=f"{QUIET}:{a.replace(':', '')}{b.replace(':', '')}")
             for a, b in PRESETS],
            [InlineKeyboardButton(_("No quiet hours"), callback_data=f"{QUIET}:off")]]
    rows += [[InlineKeyboardButton(zone, callback_data=f"{ZONE}:{n}") for n, zone in enumerate(COMMON_ZONES[i:i + 2], i)]
             for i in range(0, len(COMMON_ZONES), 2)]
    return InlineKeyboardMarkup(rows)


async def settings(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    service = context.services.delivery_settings
    user_id = update.effective_user.id
    args = context.args or []
    try:
        if len(args) == 3 and args[0].lower() in ("quiet", "安静"):
            await service.set_quiet_hours(user_id, args[1], args[2])
        elif len(args) == 2 and args[0].lower() in ("zone", "时区"):
            await service.set_timezone(user_id, args[1])
        elif args:
            raise SettingError("usage")
    except SettingError as error:
        await reply(update, _explain(error, _))
        return
    await reply(update, _describe(await service.current(user_id), _, await user_locale(update, context), context.services.clock.now()),
                reply_markup=_keyboard(_))


def _explain(error: SettingError, _) -> str:
    if error.code == "zone":
        return _("I do not know that time zone. Write it like Asia/Shanghai or Europe/Moscow.")
    if error.code == "time":
        return _("I could not read those times. Write two different times like 22:30 6:30.")
    return _("Write /settings quiet 22:30 6:30, /settings zone Europe/Moscow, or just /settings.")


async def on_settings_button(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    query = update.callback_query
    prefix, _sep, value = (query.data or "").partition(":")
    service = context.services.delivery_settings
    user_id = update.effective_user.id
    try:
        if prefix == QUIET and value == "off":
            await service.set_quiet_hours(user_id, None, None)
        elif prefix == QUIET and len(value) == 8 and value.isdigit():
            await service.set_quiet_hours(user_id, f"{value[:2]}:{value[2:4]}", f"{value[4:6]}:{value[6:]}")
        elif prefix == ZONE and value.isdigit() and int(value) < len(COMMON_ZONES):
            await service.set_timezone(user_id, COMMON_ZONES[int(value)])
        else:
            raise SettingError("usage")
    except SettingError:
        await query.answer(_("This button is no longer valid."))
        return
    await query.answer(_("Saved."))
    await replace_or_reply(update, _describe(await service.current(user_id), _, await user_locale(update, context), context.services.clock.now()),
                           reply_markup=_keyboard(_))



HANDLERS = [
    CommandHandler("settings", settings, filters=filters.ChatType.PRIVATE),
    CallbackQueryHandler(on_settings_button, pattern=rf"^({QUIET}|{ZONE}):"),
]
