"""/calendar, the care calendar. A school admin sees the school's recurring tasks, adds one (a preset with one
press, or one of their own: its name typed, the rest with buttons) and removes one. A class teacher or proxy
parent sees their open reminders with a Done button each, and what is still to come this month. Buttons carry
only ids; bot.calendar checks them against the presser's rights on every press.

A task's name is typed after the command (`/calendar 防溺水安全教育`), not as a plain message: a plain text in a
private chat belongs to the open care form (handlers.care), which is tried before this module.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.calendar import (AUDIENCE_LABELS, AUDIENCE_ROLES, AUDIENCE_STEP, DAY_STEP, DAYS, DIGEST_ACTION, DONE_ACTION, MAX_TITLE,
                          MONTH_STEP, MONTHS, PREFIX, PRESETS, RECURRENCE_LABELS, RECURRENCE_STEP, RECURRENCES, STALE,
                          AlreadyDone, CalendarError, audience_text, date_text, month_name, next_step, schedule_text,
                          task_title)
from bot.runtime.context import BotContext
from bot.access.people import NotAllowed
from handlers.common import current_actor, replace_or_reply, reply, user_locale, user_translator

# cal:l                       the calendar again          cal:a:<school>            the add menu
# cal:p:<school>:<preset>     add a preset                cal:o:<school>            a task of one's own
# cal:r|m|d|u:<task>:<value>  setting it up: how often, month, day, who (which saves it)
# cal:x:<task>                remove                      cal:ok:<reminder>         mark a reminder done
STEP_CODES = {"r": RECURRENCE_STEP, "m": MONTH_STEP, "d": DAY_STEP, "u": AUDIENCE_STEP}
CODE_OF = {step: code for code, step in STEP_CODES.items()}
SHORT_TITLE = 24  # in a button


def _short(title: str) -> str:
    return title if len(title) <= SHORT_TITLE else title[:SHORT_TITLE - 1] + "…"


def _button(text: str, *data: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=":".join((PREFIX, *map(str, data))))


async def _answer(update: Update, text: str, **kwargs) -> None:
    """Replace the message a button sits on; the same text again (a double press) is not an error."""
    try:
        await replace_or_reply(update, text, **kwargs)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


# -- the calendar -------------------------------------------------------------------------------------------

async def calendar(update: Update, context: BotContext) -> None:
    parts = (update.effective_message.text or "").split(maxsplit=1)
    if len(parts) == 2:
        await _name(update, context, parts[1])
    else:
        await _show(update, context)


async def _show(update: Update, context: BotContext, notice: str | None = None) -> None:
    _ = (await user_translator(update, context)).gettext
    locale = await user_locale(update, context)
    service = context.services.calendar
    agenda = await service.agenda(await current_actor(update, context))
    if not agenda.schools and not agenda.carer:
        await _answer(update, _("The care calendar is for class teachers, proxy parents and school admins."))
        return
    today = service.today()
    lines = [notice, ""] if notice else []
    rows: list[list[InlineKeyboardButton]] = []
    for block in agenda.schools:
        lines.append(_("📅 Care calendar of {school}").format(school=block.school.name))
        if not block.tasks:
            lines.append(_("No tasks yet. Press ➕ to add one."))
        for n, task in enumerate(block.tasks, 1):
            title = task_title(_, task)
            lines.append(_("{n}. {title}: {schedule}, for {who}; next {day}").format(
                n=n, title=title, schedule=schedule_text(_, task, locale), who=audience_text(_, task.audience),
                day=date_text(service.local_day(task.next_at), locale, today)))
            rows.append([_button(f"🗑 {n}. {_short(title)}", "x", task.id)])
        add = _("➕ Add a task") if len(agenda.schools) == 1 else \
            _("➕ Add a task: {school}").format(school=block.school.name)
        rows.append([_button(add, "a", block.school.id)])
        lines.append("")
    if agenda.carer:
        if agenda.open:
            lines.append(_("⏰ Your reminders (press when done):"))
            for reminder in agenda.open:
                title = task_title(_, reminder.task)
                lines.append(f"• {title} · {date_text(service.local_day(reminder.due_at), locale, today)}")
                rows.append([_button(f"✅ {_short(title)}", DONE_ACTION, reminder.id)])
        if agenda.upcoming:
            lines.append(_("Still to come this month:"))
            lines += [f"• {date_text(service.local_day(t.next_at), locale, today)} {task_title(_, t)}"
                      for t in agenda.upcoming]
        if not agenda.open and not agenda.upcoming:
            lines.append(_("No open reminders, and nothing more this month."))
    await _answer(update, "\n".join(lines).strip()[:4096], reply_markup=InlineKeyboardMarkup(rows) if rows else None)


# -- adding a task ------------------------------------------------------------------------------------------

async def _add_menu(update: Update, context: BotContext, school_id: int) -> None:
    _ = (await user_translator(update, context)).gettext
    locale = await user_locale(update, context)
    rows = [[_button(f"{task_title(_, p)} · {schedule_text(_, p, locale)}", "p", school_id, p.key)]
            for p in PRESETS.values()]
    rows += [[_button(_("✏️ Another task"), "o", school_id)], [_button(_("◀ Back"), "l")]]
    await _answer(update, _("Which task? Its reminders go out at 8:00 on the day."),
                  reply_markup=InlineKeyboardMarkup(rows))


async def _name(update: Update, context: BotContext, title: str) -> None:
    _ = (await user_translator(update, context)).gettext
    try:
        task = await context.services.calendar.name_custom(await current_actor(update, context), title)
    except NotAllowed:
        await reply(update, _("Only a school's admins can add tasks to its care calendar."))
        return
    except CalendarError as bad:
        await reply(update, "⚠️ " + _(bad.message).format(**bad.hint))
        return
    await _ask(update, context, task)


async def _ask(update: Update, context: BotContext, task) -> None:
    """The next question about a task being set up, with its answers as buttons."""
    _ = (await user_translator(update, context)).gettext
    locale = await user_locale(update, context)
    step = next_step(task)
    code = CODE_OF[step]
    lines = [f"✏️ {task.title}"]
    if step == RECURRENCE_STEP:
        question = _("How often?")
        buttons = [_button(_(RECURRENCE_LABELS[r]), code, task.id, r) for r in RECURRENCES]
        per_row = 1
    elif step == MONTH_STEP:
        question = _("In which month?")
        buttons = [_button(month_name(m, locale), code, task.id, m) for m in MONTHS]
        per_row = 4
    elif step == DAY_STEP:
        question = _("On which day? (1 to 28, so that every month has it)")
        buttons = [_button(str(d), code, task.id, d) for d in DAYS]
        per_row = 7
    else:
        lines.append(schedule_text(_, task, locale))
        question = _("Who is reminded?")
        buttons = [_button(_(AUDIENCE_LABELS[a]), code, task.id, a) for a in AUDIENCE_ROLES]
        per_row = 1
    rows = [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]
    rows.append([_button(_("✖ Cancel"), "l")])
    text = "\n".join((*lines, "", question))
    if update.callback_query is None:
        await reply(update, text, reply_markup=InlineKeyboardMarkup(rows))
    else:
        await _answer(update, text, reply_markup=InlineKeyboardMarkup(rows))


def _added(_, service, task, locale: str) -> str:
    return _("Added: {title}. The first reminder is on {day}.").format(
        title=task_title(_, task), day=date_text(service.local_day(task.next_at), locale, service.today()))


# -- buttons ------------------------------------------------------------------------------------------------

async def on_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    locale = await user_locale(update, context)
    parts = (query.data or "").split(":")[1:]
    action, args = (parts[0], parts[1:]) if parts else ("", [])
    if action == DONE_ACTION:
        await _done(update, context)
        return
    if action == DIGEST_ACTION and not args:
        await _digest(update, context)
        return
    if action != "l" and (not args or not args[0].isdigit()):
        await query.answer(_(STALE))
        return
    service = context.services.calendar
    actor = await current_actor(update, context)
    try:
        if action == "l" and not args:
            await query.answer()
            await _show(update, context)
        elif action == "a" and len(args) == 1:
            if not service.may_manage(actor, int(args[0])):
                raise NotAllowed("calendar")
            await query.answer()
            await _add_menu(update, context, int(args[0]))
        elif action == "p" and len(args) == 2:
            task = await service.add_preset(actor, int(args[0]), args[1])
            await query.answer()
            await _show(update, context, _added(_, service, task, locale))
        elif action == "o" and len(args) == 1:
            await service.start_custom(actor, int(args[0]))
            await query.answer()
            text = _("What is the task called? Send its name, for example: Water safety lesson "
                     "(at most {limit} characters).").format(limit=MAX_TITLE)
            await _answer(update, text, reply_markup=InlineKeyboardMarkup([[_button(_("✖ Cancel"), "l")]]))
        elif action in STEP_CODES and len(args) == 2:
            task = await service.choose(actor, int(args[0]), STEP_CODES[action], args[1])
            await query.answer()
            if next_step(task) is None:
                await _show(update, context, _added(_, service, task, locale))
            else:
                await _ask(update, context, task)
        elif action == "x" and len(args) == 1:
            task = await service.remove(actor, int(args[0]))
            await query.answer()
            await _show(update, context, _("Removed: {title}. Nobody is reminded of it any more.").format(
                title=task_title(_, task)))
        else:
            await query.answer(_(STALE))
    except NotAllowed:
        await query.answer(_("Only the school's admins can change its calendar."), show_alert=True)
    except CalendarError as bad:
        await query.answer(_(bad.message).format(**bad.hint), show_alert=True)


async def _digest(update: Update, context: BotContext) -> None:
    """The weekly digest's button: the five musts still owed, read now (what was owed on Monday may be done)."""
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    found = await context.services.calendar.digest(await current_actor(update, context),
                                                    await user_locale(update, context))
    await query.answer()
    if found is None:
        await reply(update, _("Nothing of the five musts is due now. Thank you!"))
        return
    text, buttons = found
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
                                   for row in buttons])
    await reply(update, text, reply_markup=markup)


async def _done(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    parts = (query.data or "").split(":")
    if len(parts) != 3 or not parts[2].isdigit():
        await query.answer(_(STALE))
        return
    try:
        await context.services.calendar.mark_done(await current_actor(update, context), int(parts[2]))
    except NotAllowed:
        await query.answer(_(STALE))
        return
    except CalendarError as bad:
        await query.answer(_(bad.message).format(**bad.hint))
        return
    except AlreadyDone:
        await query.answer(_("Already marked done."))
        return
    await query.answer(_("Marked as done. Thank you!"))
    message = query.message
    if isinstance(message, Message) and message.reply_markup is not None:
        # The button stays, saying so; pressed again it only answers "already done".
        rows = [[InlineKeyboardButton(_("✔ Done"), callback_data=b.callback_data) if b.callback_data == query.data
                 else b for b in row] for row in message.reply_markup.inline_keyboard]
        try:
            await query.edit_message_reply_markup(InlineKeyboardMarkup(rows))
        except BadRequest:
            pass  # the mark is stored; the old button only looks pressable


async def on_text(update: Update, context: BotContext) -> None:
    """An admin who pressed ✏️ types the task's name. Any other message goes on to the features untouched."""
    actor = await current_actor(update, context)
    if not await context.services.calendar.awaiting_name(actor):
        return
    await _name(update, context, update.effective_message.text or "")
    raise ApplicationHandlerStop


# Tried after the relay (a reply to a relayed message wins) and before the features (the care form would
# otherwise take the words into its note); see handlers/__init__.py.
DIALOGUE_HANDLERS = [
    MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, on_text),
]

HANDLERS = [
    CommandHandler("calendar", calendar, filters=filters.ChatType.PRIVATE),
    CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
]
