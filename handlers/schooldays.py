"""/schooldays, the school calendar: which days are school days (bot.attendance.schooldays). Everyone of the school's
staff sees the term's dates and the coming holidays and make-up days; a school admin changes them with buttons:
🏖 a day off, 📚 a make-up school day (each: the next days as buttons, or a date typed), ✏️ a term's dates (typed),
🗑 a mark removed. Buttons are bot.attendance.schooldays.SchoolDaysButton and carry ids and dates only; the service
checks the presser's rights on every press.

Typing: after 🏖 or 📚 a dialogue ("schooldays-day") takes the next line as the date (2026-10-01, 10月1日, 10/1,
a note may follow: 10月8日 运动会); after ✏️ one ("schooldays-term") takes the first and the last day, in one line
or in two. A line that is not a date is answered and the dialogue stays open for another try; /cancel ends it.
"""

from __future__ import annotations

from datetime import date, timedelta

from babel import Locale
from babel.dates import format_skeleton
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.attendance.schooldays import (OFF, SCHOOL, Calendar, Mark, SchoolDaysButton, SchoolDaysError, Term,
                                       read_dates)
from bot.dialogues import Dialogue
from bot.i18n import N_
from bot.runtime.context import BotContext
from handlers import dialogue
from handlers.common import keyboard, replace_or_reply, reply, rows_of, on_button
from handlers.dialogue import Kind

DAY, TERM = "schooldays-day", "schooldays-term"
TERM_BACK = timedelta(days=183)  # "9月1日" typed in December is this autumn's first day, not next year's
MAX_REMOVE_BUTTONS = 6
ONE_DAY = N_("One date at a time, please. Nothing was changed.")


def day_text(day: date, locale: str, today: date) -> str:
    """"10月1日周四" / "Thu, Oct 1", with the year when it is not this year's."""
    return format_skeleton("MMMEd" if day.year == today.year else "yMMMEd", day, locale=Locale.parse(locale))


def term_text(_, term: Term, locale: str, today: date) -> str:
    text = _("{start} – {end}").format(start=day_text(term.starts_on, locale, today),
                                       end=day_text(term.ends_on, locale, today))
    return text if term.own else _("{dates} (default dates)").format(dates=text)


def mark_text(_, mark: Mark, locale: str, today: date) -> str:
    what = _("day off") if mark.kind == OFF else _("make-up school day")
    who = _("national") if mark.national else _("set by the school")
    name = f" {mark.name}" if mark.name else ""
    return _("{day}: {what}{name} ({who})").format(day=day_text(mark.day, locale, today), what=what, name=name,
                                                  who=who)


# -- the calendar ---------------------------------------------------------------------------------------------

async def schooldays(update: Update, context: BotContext) -> None:
    await dialogue.end(context, DAY)
    await dialogue.end(context, TERM)
    await _show(update, context)


async def _show(update: Update, context: BotContext, notice: str | None = None) -> None:
    _ = context.gettext
    locale = context.locale
    calendars = await context.services.schooldays.calendars(await context.actor(), locale)
    lines = [notice, ""] if notice else []
    rows: list = []
    for cal in calendars:
        lines += _block(_, cal, locale)
        if cal.may_change:
            rows += _admin_rows(_, cal, locale, several=len(calendars) > 1)
    await replace_or_reply(update, "\n".join(lines).strip()[:4096], reply_markup=keyboard(rows))


def _block(_, cal: Calendar, locale: str) -> list[str]:
    today = cal.today
    lines = [_("📅 School days of {school}").format(school=cal.school.name)]
    if cal.current is None:
        lines.append(_("No term is set."))
    elif cal.today in cal.current:
        lines.append(_("This term: {dates}").format(dates=term_text(_, cal.current, locale, today)))
    else:
        lines.append(_("Next term: {dates}").format(dates=term_text(_, cal.current, locale, today)))
    if cal.following is not None:
        # During a term the one that follows is the next term; between terms it is the one after the next.
        label = _("Next term: {dates}") if cal.current is not None and today in cal.current else _(
            "The term after: {dates}")
        lines.append(label.format(dates=term_text(_, cal.following, locale, today)))
    lines.append(_("Today is a school day.") if cal.today_is_school_day else _("Today is not a school day."))
    if cal.coming:
        lines.append(_("Coming holidays and make-up days:"))
        lines += [f"• {mark_text(_, m, locale, today)}" for m in cal.coming]
    else:
        lines.append(_("No holidays or make-up days in the coming months."))
    lines.append("")
    return lines


def _admin_rows(_, cal: Calendar, locale: str, *, several: bool) -> list:
    school = cal.school.id
    suffix = f" · {cal.school.name}" if several else ""
    rows = [[(_("🏖 Mark a day off") + suffix, SchoolDaysButton("off", school))],
            [(_("📚 Mark a make-up school day") + suffix, SchoolDaysButton("mk", school))]]
    for n, term in enumerate((cal.current, cal.following)):
        if term is None:
            continue
        if cal.today in term:
            label = _("✏️ Change this term's dates")
        elif n == 0 or cal.today in cal.current:
            label = _("✏️ Change the next term's dates")
        else:
            label = _("✏️ Change the dates of the term after")
        rows.append([(label + suffix, SchoolDaysButton("t", school, term.starts_on.isoformat()))])
    own = [m for m in cal.coming if not m.national][:MAX_REMOVE_BUTTONS]
    rows += [[(_("🗑 Remove the mark of {day}").format(day=day_text(m.day, locale, cal.today)),
               SchoolDaysButton("x", school, m.day.isoformat()))] for m in own]
    return rows


# -- marking a day --------------------------------------------------------------------------------------------

async def _pick(update: Update, context: BotContext, school_id: int, kind: str) -> None:
    """The next days to mark as buttons, and the dialogue that takes a typed date."""
    _ = context.gettext
    service = context.services.schooldays
    service.require_admin(await context.actor(), school_id)
    today = service.today()
    days = await service.pickable(school_id, kind)
    action = "o" if kind == OFF else "s"
    buttons = [(day_text(d, context.locale, today), SchoolDaysButton(action, school_id, d.isoformat())) for d in days]
    rows = rows_of(buttons, 2) + [[(_("◀ Back"), SchoolDaysButton("v", school_id))]]
    await dialogue.begin(context, DAY, {"school": school_id, "kind": kind})
    question = _("Which day is off? Press it, or type the date (2026-10-01, 10月1日 or 10/1); a note may follow: "
                 "10月8日 运动会.") if kind == OFF else \
        _("Which day is a make-up school day? Press it, or type the date (2026-10-10, 10月10日 or 10/10).")
    await replace_or_reply(update, question, reply_markup=keyboard(rows))


async def _mark(update: Update, context: BotContext, school_id: int, day: date, kind: str, note: str = "") -> None:
    _ = context.gettext
    service = context.services.schooldays
    mark = await service.mark(await context.actor(), school_id, day, kind, note)
    await dialogue.end(context, DAY)
    shown = day_text(mark.day, context.locale, service.today())
    text = _("Marked: {day} is a day off. It is not counted as a school day.").format(day=shown) if kind == OFF \
        else _("Marked: {day} is a school day.").format(day=shown)
    await _show(update, context, text)


async def on_day_input(update: Update, context: BotContext, open_: Dialogue) -> bool:
    text = update.effective_message.text
    if text is None:
        return False
    days, note = read_dates(text, context.services.schooldays.today())
    if len(days) > 1:
        raise SchoolDaysError(ONE_DAY)
    await _mark(update, context, open_.state["school"], days[0], open_.state["kind"], note)
    return True


# -- a term's dates -------------------------------------------------------------------------------------------

async def _ask_term(update: Update, context: BotContext, school_id: int, starts_on: date) -> None:
    _ = context.gettext
    service = context.services.schooldays
    service.require_admin(await context.actor(), school_id)
    term = await service.term_starting(school_id, starts_on)
    await dialogue.begin(context, TERM, {"school": school_id, "term": starts_on.isoformat()})
    text = _("The term now: {dates}.\nSend its first and last day, for example: 2026-09-01 2027-01-15 "
             "(or 9月1日至1月15日).").format(dates=term_text(_, term, context.locale, service.today()))
    await replace_or_reply(update, text, reply_markup=keyboard([[(_("◀ Back"), SchoolDaysButton("v", school_id))]]))


async def on_term_input(update: Update, context: BotContext, open_: Dialogue) -> bool:
    _ = context.gettext
    text = update.effective_message.text
    if text is None:
        return False
    service = context.services.schooldays
    today = service.today()
    days, _note = read_dates(text, today, back=TERM_BACK)
    if len(days) == 1 and "start" in open_.state:
        # The first day came in the line before: this one is the last (without a year: the next such day after it).
        start = date.fromisoformat(open_.state["start"])
        days = [start, read_dates(text, start + timedelta(days=1), back=timedelta(0))[0][0]]
    if len(days) == 1:
        await dialogue.save(context, open_, {**open_.state, "start": days[0].isoformat()})
        await reply(update, _("First day: {day}. Now send the last day of the term.").format(
            day=day_text(days[0], context.locale, today)))
        return True
    term = await service.set_term(await context.actor(), open_.state["school"], date.fromisoformat(open_.state["term"]),
                                  days[0], days[1])
    await dialogue.end(context, TERM)
    dates = term_text(_, term, context.locale, today)
    await _show(update, context, _("Saved: the term is {dates}.").format(dates=dates))
    return True


# -- buttons --------------------------------------------------------------------------------------------------

async def on_sd_button(update: Update, context: BotContext, pressed: SchoolDaysButton) -> None:
    _ = context.gettext
    query = update.callback_query
    service = context.services.schooldays
    action = pressed.action
    if action == "v":
        await dialogue.end(context, DAY)
        await dialogue.end(context, TERM)
        await query.answer()
        return await _show(update, context)
    if action in ("off", "mk"):
        await _pick(update, context, pressed.school, OFF if action == "off" else SCHOOL)
        return await query.answer()
    if action in ("o", "s"):
        await _mark(update, context, pressed.school, pressed.on, OFF if action == "o" else SCHOOL)
        return await query.answer()
    if action == "t":
        await _ask_term(update, context, pressed.school, pressed.on)
        return await query.answer()
    default = await service.unmark(await context.actor(), pressed.school, pressed.on)
    await query.answer()
    shown = day_text(pressed.on, context.locale, service.today())
    text = _("Removed the mark of {day}: it is a school day again.") if default == SCHOOL else \
        _("Removed the mark of {day}: it is a day off again.")
    await _show(update, context, text.format(day=shown))


DIALOGUES = [Kind(DAY, on_day_input), Kind(TERM, on_term_input)]


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("schooldays", schooldays, filters=filters.ChatType.PRIVATE),
        on_button(SchoolDaysButton, on_sd_button),
    ]
