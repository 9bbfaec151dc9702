"""/ledger: the ledgers (台账) of the person's class, school, village or township as Excel files. The command lists
the person's places (or, with one place, its ledgers at once); a press on a ledger sends it as a protected
document. Every press is checked again by bot.ledgers.service: a forged or foreign place is refused once and
nothing is exported."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.i18n import N_
from bot.ledgers.buttons import LedgerButton
from bot.ledgers.service import KIND_LABELS, KINDS, Scope, scope_label
from bot.runtime.context import BotContext
from handlers.common import keyboard, on_button, replace_or_reply, reply

FILENAMES = {"children": N_("children-ledger-{day}.xlsx"), "musts": N_("five-musts-ledger-{day}.xlsx"),
             "video": N_("video-call-ledger-{day}.xlsx"), "calendar": N_("care-calendar-ledger-{day}.xlsx")}
MAX_VIOLATIONS = 20  # shown in the chat; the workbook lists them all


async def _kinds(update: Update, context: BotContext, scope: Scope) -> None:
    _ = context.gettext
    markup = keyboard([[(_(KIND_LABELS[kind]), LedgerButton(scope.scope, scope.place, kind))] for kind in KINDS])
    await replace_or_reply(update, _("Which ledger of {place}? It comes as an Excel file.").format(
        place=scope_label(_, scope)), reply_markup=markup)


async def ledger(update: Update, context: BotContext) -> None:
    _ = context.gettext
    scopes = await context.services.ledgers.scopes(await context.actor())
    if len(scopes) == 1:
        await _kinds(update, context, scopes[0])
        return
    markup = keyboard([[(scope_label(_, s), LedgerButton(s.scope, s.place))] for s in scopes])
    await reply(update, _("Whose ledgers (台账)?"), reply_markup=markup)


async def on_ldg_button(update: Update, context: BotContext, payload: LedgerButton) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.ledgers
    if payload.kind is None:
        scope = await service.scope(actor, payload.scope, payload.place)
        await update.callback_query.answer()
        await _kinds(update, context, scope)
        return
    scope = await service.scope(actor, payload.scope, payload.place)
    made = await service.export(actor, payload.scope, payload.place, payload.kind, context.locale)
    await update.callback_query.answer()
    zone = ZoneInfo(context.services.settings.timezone)
    day = context.services.clock.now().astimezone(zone).date().isoformat()
    caption = context.ngettext("{ledger}, {place}: {n} row.", "{ledger}, {place}: {n} rows.", made.rows).format(
        ledger=_(KIND_LABELS[payload.kind]), place=scope_label(_, scope), n=made.rows)
    if not made.rows:  # an empty ledger is still the form to hand in; say why it is empty
        caption += "\n" + _("Nothing is recorded for it yet: the file holds only the header row.")
    await update.get_bot().send_document(
        update.effective_chat.id, made.data, filename=_(FILENAMES[payload.kind]).format(day=day),
        caption=caption, protect_content=True)
    if made.violations:
        lines = [_("The summary's cross-checks found problems (also on the sheet “Cross-check problems”):")]
        lines += [f"• {v}" for v in made.violations[:MAX_VIOLATIONS]]
        if len(made.violations) > MAX_VIOLATIONS:
            lines.append(_("… and {n} more.").format(n=len(made.violations) - MAX_VIOLATIONS))
        await reply(update, "\n".join(lines))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("ledger", ledger, filters=filters.ChatType.PRIVATE),
        on_button(LedgerButton, on_ldg_button),
    ]
