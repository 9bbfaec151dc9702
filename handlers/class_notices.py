"""/notice: a class-wide notice (家长会通知, 放假通知). The teacher picks the class with a button, writes the notice
(text or a voice note: a dialogue, "class-notice", takes the next message), sees whom it will reach and presses
Send; the families get it with "✅ Received" (bot.class_notices). Under the sent notice, "📊 Who has read it" lists
the families that have and have not, with "🔔 Remind the rest" (once). `/notice 文字` with one class skips the
picker."""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.class_notices import VOICE, Draft, NoticeClass, NoticeReceived, NoticeStep, Status
from bot.clock import unstamp
from bot.dialogues import Dialogue
from bot.i18n import N_, format_datetime
from bot.runtime.context import BotContext
from handlers import dialogue
from handlers.common import keyboard, on_button, replace_or_reply, reply
from handlers.dialogue import Kind

WRITING = "class-notice"
SHORT = 12  # characters of a notice's words on its button


async def notice(update: Update, context: BotContext) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.class_notices
    classes = await service.classes(actor)
    if not classes:
        await reply(update, _("Class notices are sent by class teachers and school admins."))
        return
    parts = (update.effective_message.text or "").split(maxsplit=1)
    if len(parts) == 2 and len(classes) == 1:
        await _preview(update, context, await service.draft(actor, classes[0].id, text=parts[1]))
        return
    if len(classes) == 1:
        await _start_writing(update, context, classes[0].id, classes[0].name)
        return
    rows = [[("✏️ " + k.name, NoticeClass(k.id))] for k in classes]
    rows += await _recent_rows(context)
    await reply(update, _("📢 A notice to every family of a class (a parents' meeting, a holiday): write it once, each "
                          "family gets it with “✅ Received”, and you see who has read it.\nWhich class?"),
                reply_markup=keyboard(rows))


async def _recent_rows(context: BotContext) -> list:
    rows = []
    for sent, class_name in await context.services.class_notices.recent(await context.actor()):
        words = sent.body[:SHORT] if sent.body else "🎤"
        when = format_datetime(unstamp(sent.sent_at), context.locale, context.services.settings.timezone, "short")
        rows.append([(f"📊 {class_name} {when} {words}", NoticeStep(sent.id, "v"))])
    return rows


async def _start_writing(update: Update, context: BotContext, class_id: int, class_name: str) -> None:
    _ = context.gettext
    await dialogue.begin(context, WRITING, {"class": class_id})
    rows = await _recent_rows(context)
    await reply(update, _("📢 Write the notice for every family of {klass}: a text, or a voice note. /cancel to "
                          "stop.").format(klass=class_name), reply_markup=keyboard(rows))


async def on_class(update: Update, context: BotContext, pressed: NoticeClass) -> None:
    klass = next((k for k in await context.services.class_notices.classes(await context.actor())
                  if k.id == pressed.klass), None)
    await update.callback_query.answer()
    if klass is None:
        await reply(update, context.gettext("You cannot send notices to this class."))
        return
    await _start_writing(update, context, klass.id, klass.name)


async def on_writing(update: Update, context: BotContext, open_dialogue: Dialogue) -> bool:
    message = update.effective_message
    if message is None or not (message.text or message.voice):
        return False
    voice = message.voice.file_id if message.voice else None
    draft = await context.services.class_notices.draft(await context.actor(), int(open_dialogue.state["class"]),
                                                       text=message.text or message.caption or "", voice_ref=voice)
    await dialogue.end(context, WRITING)
    await _preview(update, context, draft)
    return True


async def _preview(update: Update, context: BotContext, draft: Draft) -> None:
    _ = context.gettext
    ngettext = context.ngettext
    lines = [ngettext("📢 This notice goes to {families} family of {klass} ({people} people):",
                      "📢 This notice goes to {families} families of {klass} ({people} people):",
                      draft.families).format(families=draft.families, klass=draft.class_name, people=draft.people)]
    lines.append(draft.notice.body if draft.notice.kind != VOICE or draft.notice.body else _("🎤 (voice note)"))
    if draft.left_out:
        lines.append(ngettext("{n} family cannot get it yet: nobody of it has joined and agreed to the rules.",
                              "{n} families cannot get it yet: nobody of them has joined and agreed to the rules.",
                              draft.left_out).format(n=draft.left_out))
    rows = [[(_("📤 Send"), NoticeStep(draft.notice.id, "s")), (_("✖ Cancel"), NoticeStep(draft.notice.id, "x"))]]
    await reply(update, "\n\n".join(lines), reply_markup=keyboard(rows))


def status_text(_, ngettext, status: Status) -> str:
    read, reached = len(status.read), len(status.reached)
    lines = [_("📊 {klass}: {read} of {reached} families have read the notice.").format(
        klass=status.class_name, read=read, reached=reached)]
    if status.read:
        lines.append(_("✅ Read:"))
        # Punctuation is the reader's: "小明：张丽（妈妈）、李强（爸爸）" in Chinese.
        lines += ["  " + _("{child}: {who}").format(child=f.child_name, who=_(", ").join(f.acknowledged_by))
                  for f in status.read]
    if status.unread:
        lines.append(_("⏳ Not yet:"))
        lines += [f"  {f.child_name}" for f in status.unread]
    if status.not_sent:
        lines.append(_("— Not sent (nobody of the family has joined and agreed to the rules):"))
        lines += [f"  {f.child_name}" for f in status.not_sent]
    if status.notice.reminded_at:
        lines.append(_("🔔 The rest were reminded once."))
    return "\n".join(lines)


async def _show_status(update: Update, context: BotContext, notice_id: int, popup: str | None = None) -> None:
    """The list under the notice's message; the press is answered once the list is allowed (a refusal is the
    popup otherwise)."""
    _ = context.gettext
    status = await context.services.class_notices.status(await context.actor(), notice_id, context.locale)
    await update.callback_query.answer(popup)
    rows = [[(_("🔄 Refresh"), NoticeStep(notice_id, "v"))]]
    if status.unread and not status.notice.reminded_at:
        rows.insert(0, [(_("🔔 Remind those who have not read it (once)"), NoticeStep(notice_id, "r"))])
    await replace_or_reply(update, status_text(_, context.ngettext, status), reply_markup=keyboard(rows))


async def on_step(update: Update, context: BotContext, pressed: NoticeStep) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.class_notices
    query = update.callback_query
    if pressed.step == "s":
        sent = await service.send(actor, pressed.notice)
        await query.answer()
        text = context.ngettext("📢 Sent to {families} family of {klass} ({people} people). Press the button to see "
                                "who has read it.",
                                "📢 Sent to {families} families of {klass} ({people} people). Press the button to see "
                                "who has read it.", sent.families).format(
            families=sent.families, klass=sent.class_name, people=sent.people)
        await replace_or_reply(update, text, reply_markup=keyboard([[(_("📊 Who has read it"), NoticeStep(pressed.notice, "v"))]]))
    elif pressed.step == "x":
        await service.discard(actor, pressed.notice)
        await query.answer()
        await replace_or_reply(update, _("Cancelled. Nothing was sent."))
    elif pressed.step == "r":
        reminded = await service.remind(actor, pressed.notice)
        await _show_status(update, context, pressed.notice, context.ngettext(
            "🔔 {n} person reminded.", "🔔 {n} people reminded.", reminded).format(n=reminded))
    else:
        await _show_status(update, context, pressed.notice)


async def on_received(update: Update, context: BotContext, pressed: NoticeReceived) -> None:
    _ = context.gettext
    query = update.callback_query
    await context.services.class_notices.acknowledge(await context.actor(), pressed.notice)
    await query.answer(_("✅ Received. Thank you!"))
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:  # the button says it was pressed; pressed again it only answers "already answered"
            await query.edit_message_reply_markup(keyboard([[(_("✅ Received ✔"), pressed)]]))
        except BadRequest:
            pass


DIALOGUES = [Kind(WRITING, on_writing, cancelled=N_("Cancelled. Nothing was sent."))]


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("notice", notice, filters=filters.ChatType.PRIVATE),
        on_button(NoticeClass, on_class),
        on_button(NoticeStep, on_step),
        on_button(NoticeReceived, on_received),
    ]
