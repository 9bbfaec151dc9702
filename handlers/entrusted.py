"""/entrusted: the written notice of entrusted care (委托照护书面告知, bot.records.entrusted). A parent or guardian gets
the notice written from the record as a PDF to keep and print, and confirms it with a button; the class teacher and
the village's child director are told, and open the confirmed copy from the button under what they were told."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.clock import unstamp
from bot.i18n import format_datetime
from bot.records.buttons import EntrustedConfirm, EntrustedCopy, EntrustedOpen, OpenRecord
from bot.records.entrusted import NOT_FAMILY, EntrustedNotice, notice_pdf
from bot.runtime.context import BotContext
from handlers.common import keyboard, on_button, reply


def _chat(update: Update) -> int:
    return update.effective_chat.id if update.effective_chat else update.effective_user.id


def _moment(context: BotContext, stored: str) -> str:
    return format_datetime(unstamp(stored), context.locale, context.services.settings.timezone, "short")


def _today(context: BotContext) -> date:
    return context.services.clock.now().astimezone(ZoneInfo(context.services.settings.timezone)).date()


async def _who(context: BotContext, person_id: int) -> str:
    person = await context.services.people.person(person_id)
    return person.display_name if person else "?"


async def _status(context: BotContext, notice: EntrustedNotice) -> str:
    _ = context.gettext
    if notice.confirmed is not None:
        return _("✅ Confirmed by {person} on {moment}; the class teacher and the village's child director were "
                 "told.").format(person=await _who(context, notice.confirmed.person_id),
                                 moment=_moment(context, notice.confirmed.confirmed_at))
    if notice.outdated is not None:
        return _("⚠️ The record has changed since {person} confirmed the notice on {moment}: check it and confirm "
                 "it again.").format(person=await _who(context, notice.outdated.person_id),
                                     moment=_moment(context, notice.outdated.confirmed_at))
    return _("Not confirmed yet.")


async def _send_notice(update: Update, context: BotContext, child_id: int) -> None:
    _ = context.gettext
    actor = await context.actor()
    notice = await context.services.entrusted.notice(actor, child_id)
    document = notice_pdf(notice.child, notice.school, notice.fields, _today(context), _, context.locale)
    lines = [_("📄 The written notice of entrusted care for {child}: the law asks parents working away to tell the "
               "school and the village committee in writing who looks after the child.").format(
                 child=notice.child.name),
             await _status(context, notice),
             _("Read it. If it is right, press “✅ Correct”: the class teacher and the village's child director are "
               "told. If something is wrong, open the record (/child) and tell the class teacher what to correct.")]
    rows = []
    if not notice.confirmed_by(actor.person_id):
        rows.append([(_("✅ Correct"), EntrustedConfirm(child_id, notice.hash))])
    rows.append([(_("📋 Open the record to correct it"), OpenRecord(child_id))])
    # The family's own document, to keep and to print: not protected.
    await context.bot.send_document(_chat(update), document, filename=f"entrusted-{child_id}.pdf",
                                    caption="\n\n".join(lines)[:1024], reply_markup=keyboard(rows),
                                    protect_content=False)


async def entrusted(update: Update, context: BotContext) -> None:
    """/entrusted: the notice of the person's child; with several children, a button for each."""
    _ = context.gettext
    kids = await context.services.entrusted.children(await context.actor())
    if not kids:
        await reply(update, _(NOT_FAMILY))
        return
    if len(kids) == 1:
        await _send_notice(update, context, kids[0].id)
        return
    await reply(update, _("Which child's notice?"),
                reply_markup=keyboard([[(k.name or "?", EntrustedOpen(k.id))] for k in kids]))


async def on_ent_button(update: Update, context: BotContext, payload: EntrustedOpen) -> None:
    await _send_notice(update, context, payload.child)  # a refusal is the press's one answer
    await update.callback_query.answer()


async def on_entok_button(update: Update, context: BotContext, payload: EntrustedConfirm) -> None:
    _ = context.gettext
    notice, confirmed = await context.services.entrusted.confirm(await context.actor(), payload.child, payload.hash)
    await update.callback_query.answer()
    if confirmed:
        text = _("✅ Thank you. The notice for {child} is confirmed; the class teacher and the village's child "
                 "director were told.").format(child=notice.child.name)
    else:
        text = _("You have already confirmed this notice.")
    await reply(update, text)


async def on_entc_button(update: Update, context: BotContext, payload: EntrustedCopy) -> None:
    """The confirmed notice, for the school's and the village's staff: as it was confirmed."""
    _ = context.gettext
    child, school, confirmation, current = await context.services.entrusted.copy(await context.actor(),
                                                                                   payload.notice)
    await update.callback_query.answer()
    confirmed = _("Confirmed by {person} on {moment}.").format(person=await _who(context, confirmation.person_id),
                                                               moment=_moment(context, confirmation.confirmed_at))
    on = unstamp(confirmation.confirmed_at).astimezone(ZoneInfo(context.services.settings.timezone)).date()
    document = notice_pdf(child, school, confirmation.fields, on, _, context.locale, confirmed)
    caption = confirmed if current else "\n".join(
        (confirmed, _("⚠️ The record has changed since: this copy is what was confirmed then, and the family has to "
                     "confirm the current notice again (/entrusted).")))
    await context.bot.send_document(_chat(update), document, filename=f"entrusted-{child.id}.pdf",
                                    caption=caption, protect_content=True)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("entrusted", entrusted, filters=filters.ChatType.PRIVATE),
        on_button(EntrustedOpen, on_ent_button),
        on_button(EntrustedConfirm, on_entok_button),
        on_button(EntrustedCopy, on_entc_button),
    ]
