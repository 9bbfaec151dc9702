"""/attendance: the daily roll call (bot.attendance.service), and the family's answer to "why is the child not at
school today?".

The class as buttons in roster order (a page of 30, ◀ ▶ beyond): a tap marks a child absent (✖) or present again;
under the names, each marked child's reason (no reason until another is tapped); "✅ Everyone is here" while
nobody is marked, "✔ Done" otherwise. What is marked is kept in the person's durable dialogue ("roll") until it
is saved, so a restart loses nothing; a typed message is never taken by it. Saved, the summary offers "🆘" for a
child whose whereabouts are unknown (the mandatory report, handlers/safety.py) and "✏️ Correct the roll".

A parent or guardian answers with a button; "Other" opens the dialogue "absence-answer", which takes the next
text or voice note as the answer."""

from __future__ import annotations

import re
from datetime import date

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.attendance.buttons import (ANSWER_LABELS, ANSWER_WORDS, OTHER, REASON_LABELS, REASONS, UNEXPLAINED, UNKNOWN,
                                    AnswerWithMessage, FamilyAnswer, RollButton)
from bot.attendance.service import AlreadySaved, AnotherDay, RollDraft, RollView, Saved, day_key
from bot.dialogues import Dialogue
from bot.errors import StaleButton
from bot.i18n import N_
from bot.musts.cards import day_text
from bot.runtime.context import BotContext
from bot.safety.buttons import ReportAbout
from handlers import dialogue
from handlers.relay import take_offered
from handlers.common import PAGE_SIZE, keyboard, on_button, paged, replace_or_reply, reply, rows_of
from handlers.dialogue import Kind

ROLL, ANSWERING = "roll", "absence-answer"
MAX_BUTTONS = 100  # Telegram's limit for one keyboard


async def attendance(update: Update, context: BotContext) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.attendance
    classes = await service.classes(actor)
    if not classes:
        await reply(update, _("The roll is taken by class teachers and school admins."))
        return
    if len(classes) == 1:
        view = await service.start(actor, classes[0].id)
        await _keep(context, view.draft)
        await _draw(update, context, view, 0)
        return
    day = day_key(service.today())
    await reply(update, _("📋 Whose roll? Choose the class."),
                reply_markup=keyboard(rows_of([(k.name, RollButton("o", k.id, day)) for k in classes], 2)))


async def _keep(context: BotContext, draft: RollDraft) -> None:
    await dialogue.begin(context, ROLL, draft.as_state())


async def _draft(context: BotContext, class_id: int, day: date) -> RollDraft | None:
    """The person's draft of this class's roll of this day, if they are taking it."""
    open_dialogue = await dialogue.current(context, ROLL)
    if open_dialogue is None:
        return None
    draft = RollDraft.from_state(open_dialogue.state)
    return draft if draft.class_id == class_id and draft.day == day else None


def _day(pressed: RollButton) -> date:
    try:
        return date(int(pressed.day[:4]), int(pressed.day[4:6]), int(pressed.day[6:]))
    except ValueError:
        raise StaleButton() from None


def _reason_row(_, view: RollView, child, day: str) -> list:
    chosen = view.draft.marks[child.id]
    row = []
    for reason in REASONS:
        label = ("✔ " if reason == chosen else "") + _(REASON_LABELS[reason])
        if not row:
            label = f"{child.name or '?'} · {label}"
        row.append((label, RollButton("r", view.klass.id, day, child.id, reason)))
    return row


async def _draw(update: Update, context: BotContext, view: RollView, page: int, popup: str | None = None) -> None:
    _ = context.gettext
    day = day_key(view.day)
    marks = view.draft.marks
    items = [(("✖ " if k.id in marks else "") + (k.name or "?"), RollButton("t", view.klass.id, day, k.id))
             for k in view.children]
    shown = paged(_, items, page, lambda p: RollButton("o", view.klass.id, day, p), per_row=3)
    rows = list(shown.rows)
    on_page = view.children[shown.page * PAGE_SIZE:(shown.page + 1) * PAGE_SIZE]
    room = MAX_BUTTONS - sum(len(r) for r in rows) - 1
    for child in (k for k in on_page if k.id in marks):
        if room < len(REASONS):
            break
        rows.append(_reason_row(_, view, child, day))
        room -= len(REASONS)
    absent = view.absent
    done = (_("✔ Done: {n} absent").format(n=len(absent)) if absent
            else _("✅ Everyone is here"))
    rows.append([(done, RollButton("ok", view.klass.id, day, len(absent)))])
    lines = [_("📋 Roll call · {klass} · {day}").format(klass=view.klass.name, day=day_text(view.day, context.locale)),
             _("Tap the children who are absent (✖); tap again if one comes after all. A child marked absent has "
               "“No reason” until you tap another reason; the families of those without a reason are asked why when "
               "you press Done.")]
    if view.taken:
        lines.append(_("(Saved already today: what you change now corrects it.)"))
    if absent:
        lines.append(_("✖ Absent ({n}): {names}").format(n=len(absent),
                                                         names=_(", ").join(k.name or "?" for k in absent)))
    text = "\n".join(lines) + shown.note(_)
    if update.callback_query is not None:
        await update.callback_query.answer(popup)
    await replace_or_reply(update, text, reply_markup=keyboard(rows))


def saved_text(_, saved: Saved, locale: str) -> str:
    day = day_text(saved.day, locale)
    if not saved.absent:
        return _("✅ The roll of {klass} for {day} is saved: everyone is here.").format(klass=saved.klass.name, day=day)
    lines = [_("✅ The roll of {klass} for {day} is saved. Absent:").format(klass=saved.klass.name, day=day)]
    for child, absence in saved.absent:
        line = "✖ " + _("{label}: {value}").format(label=child.name or "?", value=_(REASON_LABELS[absence.reason]))
        if absence.family_reason:
            line += " " + _("(the family answered: {answer})").format(answer=_(ANSWER_WORDS[absence.family_reason]))
        lines.append(line)
    if any(a.reason in UNEXPLAINED for _child, a in saved.absent):
        lines.append(_("The parents and guardians of the children absent without a reason are asked why; their "
                       "answers reach you here. Please call the family within the hour; if the absence is still "
                       "unexplained, a home visit today (the task is in /calendar)."))
    return "\n".join(lines)


async def _save(update: Update, context: BotContext, draft: RollDraft) -> None:
    _ = context.gettext
    saved = await context.services.attendance.save(await context.actor(), draft)
    await dialogue.end(context, ROLL)
    rows = [[(_("🆘 Report {child} missing").format(child=child.name or "?"), ReportAbout(child.id))]
            for child, absence in saved.absent if absence.reason == UNKNOWN]
    rows.append([(_("✏️ Correct the roll"), RollButton("o", saved.klass.id, day_key(saved.day)))])
    await update.callback_query.answer(_("Saved."))
    await replace_or_reply(update, saved_text(_, saved, context.locale), reply_markup=keyboard(rows))


async def on_att_button(update: Update, context: BotContext, pressed: RollButton) -> None:
    service = context.services.attendance
    actor = await context.actor()
    day = _day(pressed)
    if day != service.today():
        raise AnotherDay()
    draft = await _draft(context, pressed.klass, day)
    if pressed.action == "ok":
        if draft is not None:
            await _save(update, context, draft)
            return
        view = await service.start(actor, pressed.klass, day)
        if view.taken:
            raise AlreadySaved()
        if pressed.n:  # the marks on that screen were dropped (another command began meanwhile): mark again
            await _keep(context, view.draft)
            await _draw(update, context, view, 0, context.gettext("Please mark the absent children again."))
            return
        await _save(update, context, view.draft)
        return
    if draft is None:
        view = await service.start(actor, pressed.klass, day)
    else:
        view = await service.view(actor, draft)
    page = pressed.n or 0
    if pressed.action == "t":
        view = await service.toggle(actor, view.draft, pressed.n or 0)
        page = view.page_of(pressed.n or 0, PAGE_SIZE)
    elif pressed.action == "r":
        view = await service.set_reason(actor, view.draft, pressed.n or 0, pressed.reason or "")
        page = view.page_of(pressed.n or 0, PAGE_SIZE)
    await _keep(context, view.draft)
    await _draw(update, context, view, page)


# -- the family's answer ----------------------------------------------------------------------------------------

async def on_absq_button(update: Update, context: BotContext, pressed: FamilyAnswer) -> None:
    _ = context.gettext
    query = update.callback_query
    service = context.services.attendance
    actor = await context.actor()
    if pressed.answer == OTHER:
        await service.question(actor, pressed.absence)
        await dialogue.begin(context, ANSWERING, {"absence": pressed.absence})
        await query.answer()
        await reply(update, _("Please tell us why: send a voice note, or write a few words. /cancel to stop."))
        return
    await service.answer(actor, pressed.absence, pressed.answer)
    await query.answer(_("Thank you! The class teacher has been told."))
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:  # the answer stays visible under the question; pressed again it says it was answered
            await query.edit_message_reply_markup(keyboard([[("✔ " + _(ANSWER_LABELS[pressed.answer]), pressed)]]))
        except BadRequest:
            pass


async def on_absm_button(update: Update, context: BotContext, pressed: AnswerWithMessage) -> None:
    """The words or voice note a family member sent outside any conversation, given as the answer to today's
    question about the child's absence (chosen on the relay's offer)."""
    _ = context.gettext
    service, actor = context.services.attendance, await context.actor()
    await service.question(actor, pressed.absence)  # still open, and theirs: else refused, the message kept
    content = await take_offered(context, pressed.message)
    if content is None or content.kind not in ("text", "voice"):
        raise StaleButton()
    await service.answer(actor, pressed.absence, OTHER, note=content.text or content.caption or "",
                         voice=content.file_id if content.kind == "voice" else None)
    await update.callback_query.answer()
    await replace_or_reply(update, _("Thank you! The class teacher has been told."))


async def on_answering(update: Update, context: BotContext, open_dialogue: Dialogue) -> bool:
    message = update.effective_message
    if message is None or not (message.text or message.voice):
        return False
    _ = context.gettext
    # Ended first: whatever the service answers, the person's next message is theirs again.
    await dialogue.end(context, ANSWERING)
    await context.services.attendance.answer(
        await context.actor(), int(open_dialogue.state["absence"]), OTHER, note=message.text or message.caption or "",
        voice=message.voice.file_id if message.voice else None)
    await reply(update, _("Thank you! The class teacher has been told."))
    return True


async def on_roll_typed(update: Update, context: BotContext, open_dialogue: Dialogue) -> bool:
    """A teacher who types names instead of tapping them ("小明 小红", "小明、小红"): each name that fits one child
    of the class is marked (or, typed again, unmarked), and the roll is shown again below. Anything else gets
    the way to do it; nothing is changed."""
    message = update.effective_message
    if message is None or not message.text or message.text.startswith("/"):
        return False
    service, actor = context.services.attendance, await context.actor()
    draft = RollDraft.from_state(open_dialogue.state)
    if draft.day != service.today():
        return False  # yesterday's roll: the words are for the other features
    view = await service.view(actor, draft)
    found = []
    for word in (w for w in re.split(r"[\s,，、;；]+", message.text.strip()) if w):
        exact = [k for k in view.children if k.name == word]
        fitting = exact or [k for k in view.children if k.name and word in k.name]
        if len(fitting) == 1 and fitting[0] not in found:
            found.append(fitting[0])
    if not found:
        await reply(update, context.gettext("Tap the names of the absent children on the roll, or type their names "
                                            "as on the roster. Nothing was changed."))
        return True
    for child in found:
        view = await service.toggle(actor, view.draft, child.id)
    await _keep(context, view.draft)
    await _draw(update, context, view, view.page_of(found[-1].id, PAGE_SIZE))
    return True


DIALOGUES = [Kind(ROLL, on_roll_typed, cancelled=N_("Cancelled. The roll was not saved.")),
             Kind(ANSWERING, on_answering, cancelled=N_("Cancelled. Nothing was sent."))]


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("attendance", attendance, filters=filters.ChatType.PRIVATE),
        on_button(RollButton, on_att_button),
        on_button(FamilyAnswer, on_absq_button),
        on_button(AnswerWithMessage, on_absm_button),
    ]
