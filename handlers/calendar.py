"""/calendar, the care calendar. A school admin sees the school's recurring tasks, adds one (a preset with one
press, or one of their own: its name typed, the rest with buttons) and removes one. A class teacher or proxy
parent sees their open reminders with a Done button each, and what is still to come this month; a class teacher
also their tasks about one child (talk with a family that said no to the data rules). Buttons are
bot.calendar.CalendarButton and carry only ids; bot.calendar checks them against the presser's rights on every
press.

After ✏️ the admin is naming a task: a dialogue ("calendar-name", handlers.dialogue) takes the next line they type
as its name, and survives a restart. The name can also follow the command (`/calendar 防溺水安全教育`).
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.calendar import (AUDIENCE_LABELS, AUDIENCE_ROLES, CODE_OF, DAY_STEP, DAYS, DRAFT_LIFETIME, FOLLOWUP_TITLES,
                          MAX_TITLE, MONTH_STEP, MONTHS, PRESETS, RECURRENCE_LABELS, RECURRENCE_STEP, RECURRENCES,
                          STEP_OF, CalendarButton, FollowupDone, audience_text, date_text, month_name, next_step,
                          schedule_text, task_title)
from bot.dialogues import Dialogue
from bot.i18n import N_
from bot.payloads import Payload
from bot.runtime.context import BotContext
from handlers import dialogue
from handlers.common import keyboard, on_button, replace_or_reply, reply, rows_of
from handlers.dialogue import Kind

NAMING = "calendar-name"
SHORT_TITLE = 24  # in a button


def _short(title: str) -> str:
    return title if len(title) <= SHORT_TITLE else title[:SHORT_TITLE - 1] + "…"


# -- the calendar -------------------------------------------------------------------------------------------

async def calendar(update: Update, context: BotContext) -> None:
    parts = (update.effective_message.text or "").split(maxsplit=1)
    if len(parts) == 2:
        await _name(update, context, parts[1])
    else:
        await _show(update, context)


async def _show(update: Update, context: BotContext, notice: str | None = None) -> None:
    _ = context.gettext
    locale = context.locale
    service = context.services.calendar
    agenda = await service.agenda(await context.actor())
    if not agenda.schools and not agenda.carer:
        await replace_or_reply(update, _("The care calendar is for class teachers, proxy parents and school admins."))
        return
    today = service.today()
    lines = [notice, ""] if notice else []
    rows: list[list[tuple[str, Payload]]] = []
    for block in agenda.schools:
        lines.append(_("📅 Care calendar of {school}").format(school=block.school.name))
        if not block.tasks:
            lines.append(_("No tasks yet. Press ➕ to add one."))
        for n, task in enumerate(block.tasks, 1):
            title = task_title(_, task)
            lines.append(_("{n}. {title}: {schedule}, for {who}; next {day}").format(
                n=n, title=title, schedule=schedule_text(_, task, locale), who=audience_text(_, task.audience),
                day=date_text(service.local_day(task.next_at), locale, today)))
            rows.append([(f"🗑 {n}. {_short(title)}", CalendarButton("x", task.id))])
        add = _("➕ Add a task") if len(agenda.schools) == 1 else \
            _("➕ Add a task: {school}").format(school=block.school.name)
        rows.append([(add, CalendarButton("a", block.school.id))])
        lines.append("")
    if agenda.carer:
        if agenda.open:
            lines.append(_("⏰ Your reminders (press when done):"))
            for reminder in agenda.open:
                title = task_title(_, reminder.task)
                lines.append(f"• {title} · {date_text(service.local_day(reminder.due_at), locale, today)}")
                rows.append([(f"✅ {_short(title)}", CalendarButton("ok", reminder.id))])
        if agenda.upcoming:
            lines.append(_("Still to come this month:"))
            lines += [f"• {date_text(service.local_day(t.next_at), locale, today)} {task_title(_, t)}"
                      for t in agenda.upcoming]
        if agenda.followups:
            lines.append(_("🗣 To do (press when done):"))
            for followup, child in agenda.followups:
                title = _(FOLLOWUP_TITLES[followup.reason]).format(child=child.name)
                lines.append(f"• {title} · {date_text(service.local_day(followup.created_at), locale, today)}")
                rows.append([(f"✅ {_short(title)}", FollowupDone(followup.id))])
        if not agenda.open and not agenda.upcoming and not agenda.followups:
            lines.append(_("No open reminders, and nothing more this month."))
    await replace_or_reply(update, "\n".join(lines).strip()[:4096], reply_markup=keyboard(rows))


# -- adding a task ------------------------------------------------------------------------------------------

async def _add_menu(update: Update, context: BotContext, school_id: int) -> None:
    _ = context.gettext
    rows = [[(f"{task_title(_, p)} · {schedule_text(_, p, context.locale)}", CalendarButton("p", school_id, p.key))]
            for p in PRESETS.values()]
    rows += [[(_("✏️ Another task"), CalendarButton("o", school_id))], [(_("◀ Back"), CalendarButton("l"))]]
    await replace_or_reply(update, _("Which task? Its reminders go out at 8:00 on the day."), reply_markup=keyboard(rows))


async def _name(update: Update, context: BotContext, title: str) -> None:
    task = await context.services.calendar.name_custom(await context.actor(), title)
    await dialogue.end(context, NAMING)
    await _ask(update, context, task)


async def on_name_input(update: Update, context: BotContext, naming: Dialogue) -> bool:
    """An admin who pressed ✏️ types the task's name. Anything but text goes on to the features untouched."""
    text = update.effective_message.text
    if text is None:
        return False
    await _name(update, context, text)  # a name refused (too long) leaves the dialogue open for another try
    return True


async def _ask(update: Update, context: BotContext, task) -> None:
    """The next question about a task being set up, with its answers as buttons."""
    _ = context.gettext
    locale = context.locale
    step = next_step(task)
    code = CODE_OF[step]
    lines = [f"✏️ {task.title}"]
    if step == RECURRENCE_STEP:
        question = _("How often?")
        choices = [(_(RECURRENCE_LABELS[r]), r) for r in RECURRENCES]
        per_row = 1
    elif step == MONTH_STEP:
        question = _("In which month?")
        choices = [(month_name(m, locale), str(m)) for m in MONTHS]
        per_row = 4
    elif step == DAY_STEP:
        question = _("On which day? (1 to 28, so that every month has it)")
        choices = [(str(d), str(d)) for d in DAYS]
        per_row = 7
    else:
        lines.append(schedule_text(_, task, locale))
        question = _("Who is reminded?")
        choices = [(_(AUDIENCE_LABELS[a]), a) for a in AUDIENCE_ROLES]
        per_row = 1
    rows = rows_of([(label, CalendarButton(code, task.id, value)) for label, value in choices], per_row)
    rows.append([(_("✖ Cancel"), CalendarButton("l"))])
    text = "\n".join((*lines, "", question))
    if update.callback_query is None:
        await reply(update, text, reply_markup=keyboard(rows))
    else:
        await replace_or_reply(update, text, reply_markup=keyboard(rows))


def _added(_, service, task, locale: str) -> str:
    return _("Added: {title}. The first reminder is on {day}.").format(
        title=task_title(_, task), day=date_text(service.local_day(task.next_at), locale, service.today()))


# -- buttons ------------------------------------------------------------------------------------------------

async def on_cal_button(update: Update, context: BotContext, pressed: CalendarButton) -> None:
    _ = context.gettext
    query = update.callback_query
    service = context.services.calendar
    actor = await context.actor()
    action = pressed.action
    if action == "ok":
        return await _done(update, context, pressed)
    if action == "due":
        return await _digest(update, context)
    if action == "l":
        await dialogue.end(context, NAMING)  # ✖ Cancel while naming: the next line is not the name
        await query.answer()
        return await _show(update, context)
    if action == "a":
        service.require_admin(actor, pressed.id)
        await query.answer()
        return await _add_menu(update, context, pressed.id)
    if action == "p":
        task = await service.add_preset(actor, pressed.id, pressed.value)
        await query.answer()
        return await _show(update, context, _added(_, service, task, context.locale))
    if action == "o":
        task = await service.start_custom(actor, pressed.id)
        await dialogue.begin(context, NAMING, {"task": task.id}, ttl=DRAFT_LIFETIME)
        await query.answer()
        text = _("What is the task called? Send its name, for example: Water safety lesson "
                 "(at most {limit} characters).").format(limit=MAX_TITLE)
        return await replace_or_reply(update, text, reply_markup=keyboard([[(_("✖ Cancel"), CalendarButton("l"))]]))
    if action == "x":
        task = await service.remove(actor, pressed.id)
        await query.answer()
        return await _show(update, context, _("Removed: {title}. Nobody is reminded of it any more.").format(
            title=task_title(_, task)))
    task = await service.choose(actor, pressed.id, STEP_OF[action], pressed.value)
    await query.answer()
    if next_step(task) is None:
        await _show(update, context, _added(_, service, task, context.locale))
    else:
        await _ask(update, context, task)


async def _digest(update: Update, context: BotContext) -> None:
    """The weekly digest's button: the five musts still owed, read now (what was owed on Monday may be done)."""
    _ = context.gettext
    found = await context.services.calendar.digest(await context.actor(), context.locale)
    await update.callback_query.answer()
    if found is None:
        await reply(update, _("Nothing of the five musts is due now. Thank you!"))
        return
    text, actions = found
    await reply(update, text, reply_markup=keyboard([[(a.label, a.payload) for a in row] for row in actions]))


async def on_calf_button(update: Update, context: BotContext, pressed: FollowupDone) -> None:
    """A class teacher has talked with the family (under the word of their "no", or in /calendar)."""
    await context.services.calendar.followup_done(await context.actor(), pressed.followup)
    await _marked(update, context, pressed)


async def _done(update: Update, context: BotContext, pressed: CalendarButton) -> None:
    await context.services.calendar.mark_done(await context.actor(), pressed.id)
    await _marked(update, context, pressed)


async def _marked(update: Update, context: BotContext, pressed: Payload) -> None:
    _ = context.gettext
    query = update.callback_query
    await query.answer(_("Marked as done. Thank you!"))
    message = query.message
    if isinstance(message, Message) and message.reply_markup is not None:
        # The button stays, saying so; pressed again it only answers "already done".
        data = pressed.pack()
        rows = [[InlineKeyboardButton(_("✔ Done"), callback_data=data) if b.callback_data == data else b
                 for b in row] for row in message.reply_markup.inline_keyboard]
        try:
            await query.edit_message_reply_markup(InlineKeyboardMarkup(rows))
        except BadRequest:
            pass  # the mark is stored; the old button only looks pressable


DIALOGUES = [Kind(NAMING, on_name_input, cancelled=N_("Cancelled. Nothing was saved."))]


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("calendar", calendar, filters=filters.ChatType.PRIVATE),
        on_button(CalendarButton, on_cal_button),
        on_button(FollowupDone, on_calf_button),
    ]
