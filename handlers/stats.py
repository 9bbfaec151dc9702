"""/stats: the figures of the person's class, school, village or township (bot.stats.service) as a chart in the
chat, the figures as text under it, and buttons for the same numbers as an Excel table and for a past quarter or
year (frozen at its end). With several places, the command lists them first. Every press is checked again by the
service: a forged or foreign place is refused once and nothing is shown."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.stats.buttons import StatsButton
from bot.stats.figures import LABELS, SCOPE_LABELS, Figures, count_text, rate_text, scope_label
from bot.stats.service import CURRENT
from bot.runtime.context import BotContext
from handlers.common import keyboard, on_button, reply, rows_of

CARERS_LISTED = 10  # in the chat; the chart shows a few more, the Excel table all of them


def figures_text(_, figures: Figures) -> str:
    hidden = figures.hidden
    so_far = figures.as_of[:10] < figures.last_day  # the current quarter, not yet over
    lines = [_("Statistics of {place}, {period} ({first} to {last})").format(
        place=scope_label(_, figures), period=_("{period} so far").format(period=figures.period) if so_far
        else figures.period, first=figures.first_day, last=figures.last_day)]
    for row in figures.rows:
        line = "• " + _("{label}: {value}").format(label=_(LABELS[row.key]), value=count_text(row.count, hidden))
        if row.base is not None:
            line += f" / {count_text(row.base, hidden)} ({rate_text(row.count, row.base, hidden)})"
        lines.append(line)
    if figures.carers:
        lines.append("")
        lines.append(_("Five musts by proxy parent, least done first:"))
        for carer in figures.carers[:CARERS_LISTED]:
            lines.append(_("• {name}: {done}/{owed} done ({share}), {overdue} overdue").format(
                name=carer.name, done=count_text(carer.done, hidden), owed=count_text(carer.owed, hidden),
                share=rate_text(carer.done, carer.owed, hidden), overdue=count_text(carer.overdue, hidden)))
        if len(figures.carers) > CARERS_LISTED:
            lines.append(_("… and {n} more in the Excel table.").format(n=len(figures.carers) - CARERS_LISTED))
    if hidden:
        lines.append("")
        lines.append(_("Above the school, counts from 1 to 4 are shown as “<5”, so that no child can be "
                       "recognised."))
    return "\n".join(lines)


async def _show(update: Update, context: BotContext, scope: str, place: int, period: str) -> None:
    _ = context.gettext
    service = context.services.stats
    figures = await service.view(await context.actor(), scope, place, period)
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat.id
    await update.get_bot().send_photo(chat, await service.chart(figures, context.locale),
                                      caption=scope_label(_, figures) + " · " + figures.period, protect_content=True)
    markup = keyboard([[(_("📊 Excel table"), StatsButton(scope, place, period, "x")),
                        (_("🗓 Past quarters"), StatsButton(scope, place, CURRENT, "p"))]])
    await reply(update, figures_text(_, figures), reply_markup=markup)


async def stats(update: Update, context: BotContext) -> None:
    _ = context.gettext
    places = await context.services.stats.places(await context.actor())
    if len(places) == 1:
        scope, place, _name = places[0]
        await _show(update, context, scope, place, CURRENT)
        return
    markup = keyboard([[(_(SCOPE_LABELS[scope]).format(name=name), StatsButton(scope, place))]
                       for scope, place, name in places])
    await reply(update, _("Statistics of which place?"), reply_markup=markup)


async def on_sts_button(update: Update, context: BotContext, payload: StatsButton) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.stats
    if payload.act == "v":
        await _show(update, context, payload.scope, payload.place, payload.period)
    elif payload.act == "x":
        figures, data = await service.export(actor, payload.scope, payload.place, payload.period, context.locale)
        await update.callback_query.answer()
        await update.get_bot().send_document(
            update.effective_chat.id, data, filename=_("statistics-{period}.xlsx").format(period=figures.period),
            caption=_("The figures of the chart, {place}, {period}.").format(place=scope_label(_, figures),
                                                                              period=figures.period),
            protect_content=True)
    else:
        periods = await service.periods(actor, payload.scope, payload.place)
        await update.callback_query.answer()
        if not periods:
            await reply(update, _("No quarter has ended since the figures began to be kept: the first is frozen "
                                  "at the end of this quarter."))
            return
        buttons = [(period, StatsButton(payload.scope, payload.place, period)) for period in periods[:12]]
        await reply(update, _("Which quarter or year? Its figures are as they were at its end."),
                    reply_markup=keyboard(rows_of(buttons, 3)))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("stats", stats, filters=filters.ChatType.PRIVATE),
        on_button(StatsButton, on_sts_button),
    ]
