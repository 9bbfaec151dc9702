"""A person's own choices (bot.preferences): /language, two big buttons, each language named in itself; and
/settings, quiet hours (messages wait until they end; urgent alerts do not) and the time zone they are counted
in. Buttons for the common choices; `/settings quiet 22:30 6:30` or `/settings zone Europe/Moscow` for anything
else."""

from __future__ import annotations

from datetime import datetime

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.i18n import LOCALE_NAMES, SUPPORTED_LOCALES, format_datetime, translator, zone_name
from bot.preferences import (COMMON_ZONES, PRESETS, QUIET_PRESETS, ChooseLanguage, ChooseQuietHours, ChooseZone,
                             DeliverySettings, SettingError)
from bot.runtime.context import BotContext
from handlers.commands import set_chat_commands
from handlers.common import keyboard, on_button, replace_or_reply, reply, rows_of

# /language


async def _apply(update: Update, context: BotContext, locale: str) -> str:
    await context.services.preferences.set_locale(update.effective_user.id, locale)
    roles = {g.role for g in (await context.actor()).grants}
    await set_chat_commands(context.bot, update.effective_chat.id, locale, roles)
    return translator(locale).gettext("From now on I will write to you in English.")


async def language(update: Update, context: BotContext) -> None:
    wanted = context.args[0] if context.args else ""
    if wanted in SUPPORTED_LOCALES:
        await reply(update, await _apply(update, context, wanted))
        return
    await reply(update, context.gettext("Choose your language:"),
                reply_markup=keyboard([[(LOCALE_NAMES[loc], ChooseLanguage(loc))] for loc in SUPPORTED_LOCALES]))


async def on_lang_button(update: Update, context: BotContext, payload: ChooseLanguage) -> None:
    confirmation = await _apply(update, context, payload.locale)
    await update.callback_query.answer()
    await replace_or_reply(update, confirmation)


# /settings


def _describe(current: DeliverySettings, _, locale: str, now: datetime) -> str:
    quiet = _("off: messages arrive at any hour") if current.quiet_off else \
        _("{start}–{end}: messages wait until {end} (urgent alerts do not)").format(start=current.quiet_start,
                                                                                     end=current.quiet_end)
    local = format_datetime(now, locale, current.timezone, "short")
    return "\n".join([
        _("Your settings:"),
        _("Quiet hours: {quiet}").format(quiet=quiet),
        _("Time zone: {zone} (now {local})").format(zone=zone_name(current.timezone, locale), local=local),
        "",
        _("Choose below, or write e.g. /settings quiet 22:30 6:30 or /settings zone Europe/Moscow."),
    ])


def _keyboard(_, locale: str):
    windows = {value: key for key, value in QUIET_PRESETS.items()}
    rows = [[(f"🌙 {a}–{b}", ChooseQuietHours(windows[a, b])) for a, b in PRESETS],
            [(_("No quiet hours"), ChooseQuietHours("off"))]]
    # Labelled in the reader's language; the button carries the zone's place in COMMON_ZONES, never the label.
    rows += rows_of([(zone_name(zone, locale), ChooseZone(n)) for n, zone in enumerate(COMMON_ZONES)], 2)
    return keyboard(rows)


async def _show(update: Update, context: BotContext, current: DeliverySettings, *, saved: bool = False) -> None:
    """The settings as they stand; `saved` says first that a typed change was kept (a button's press says it in
    its popup)."""
    _ = context.gettext
    text = _describe(current, _, context.locale, context.services.clock.now())
    if saved:
        text = _("✅ Saved.") + "\n\n" + text
    await replace_or_reply(update, text, reply_markup=_keyboard(_, context.locale))


async def settings(update: Update, context: BotContext) -> None:
    preferences = context.services.preferences
    user_id = update.effective_user.id
    args = context.args or []
    if len(args) == 3 and args[0].lower() in ("quiet", "安静"):
        await preferences.set_quiet_hours(user_id, args[1], args[2])
    elif len(args) == 2 and args[0].lower() in ("zone", "时区"):
        await preferences.set_timezone(user_id, args[1])
    elif args:
        raise SettingError()
    await _show(update, context, await preferences.delivery(user_id), saved=bool(args))


async def on_qh_button(update: Update, context: BotContext, payload: ChooseQuietHours) -> None:
    current = await context.services.preferences.choose_quiet_hours(update.effective_user.id, payload)
    await update.callback_query.answer(context.gettext("Saved."))
    await _show(update, context, current)


async def on_tz_button(update: Update, context: BotContext, payload: ChooseZone) -> None:
    current = await context.services.preferences.choose_zone(update.effective_user.id, payload)
    await update.callback_query.answer(context.gettext("Saved."))
    await _show(update, context, current)


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("language", language, filters=private),
        CommandHandler("settings", settings, filters=private),
        on_button(ChooseLanguage, on_lang_button),
        on_button(ChooseQuietHours, on_qh_button),
        on_button(ChooseZone, on_tz_button),
    ]
