"""Children absent from school (控辍保学): /dropouts, the cases a person follows (a page of ten at a time), each case
with its persuasion attempts (劝返) and buttons: record an attempt, back at school, the written report; the school's
monthly report (admins) and the township's ledger (supervisors).

An attempt is recorded with buttons (the method, the parents' attitude), then typed lines (the result, the next
step, its date or "skip") in a durable dialogue (kind "dropout-attempt"). Every press is checked again by
bot.attendance.dropouts: a forged id or a case of another school gets one clear refusal and learns nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.attendance.documents import ATTITUDE_LABELS, METHOD_LABELS, STATE_LABELS
from bot.attendance.dropouts import (AttemptDraft, CaseView, DropoutAction, DropoutExport, DropoutList, MAX_TEXT)
from bot.dialogues import Dialogue
from bot.errors import StaleButton, UserError
from bot.i18n import N_
from bot.runtime.context import BotContext
from handlers import dialogue
from handlers.common import ListPage, keyboard, on_button, on_page, paged, replace_or_reply, reply, rows_of
from handlers.dialogue import Kind

ATTEMPT = "dropout-attempt"
ATTEMPT_TTL = timedelta(hours=2)
PAGE = 10
_DATE = re.compile(r"^(?:(?P<y>\d{4})[-/.年])?(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?$")


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


# -- /dropouts ----------------------------------------------------------------------------------------------------

async def dropouts(update: Update, context: BotContext, page: int = 0) -> None:
    _ = context.gettext
    actor = await context.actor()
    lines = await context.services.dropouts.cases(actor)
    text = [_("Children absent from school without a reason (控辍保学): {n} cases").format(n=len(lines))]
    items = []
    for line in lines:
        text.append(_("#{id} {child} · {klass} · {days} school days · {state} · step {step}/3 · {attempts} "
                      "attempts").format(id=line.case_id, child=line.child_name, klass=line.class_name,
                                         days=line.days, state=_(STATE_LABELS[line.state]), step=line.step,
                                         attempts=line.attempts))
        items.append((_("#{id} {child}").format(id=line.case_id, child=line.child_name),
                      DropoutAction(line.case_id, "open")))
    if not lines:
        text.append(_("There is no open case you follow."))
    shown = paged(_, items, page, lambda p: ListPage("dropouts", p), per_row=2, size=PAGE)
    markup = shown.rows
    if actor.has_role("admin"):
        markup.append([(_("📊 Monthly report"), DropoutExport("month"))])
    if actor.has_role("supervisor"):
        markup.append([(_("📒 Township ledger"), DropoutExport("town"))])
    await replace_or_reply(update, "\n".join(text) + shown.note(_), reply_markup=keyboard(markup))


async def on_drol_button(update: Update, context: BotContext, payload: DropoutList) -> None:
    await dropouts(update, context)  # a refusal answers the press itself: answer only after it
    await _answer(update)


# -- a case -------------------------------------------------------------------------------------------------------

def _case_text(_, view: CaseView) -> str:
    case = view.case
    lines = [_("#{id} {child} · {klass} · {school}").format(id=case.id, child=view.child_name, klass=view.class_name,
                                                           school=view.school),
             _("First absence: {day} · school days absent without a reason: {days}").format(
                 day=case.first_absent_on, days=view.days),
             _("State: {state} · step {step}/3").format(state=_(STATE_LABELS[case.state]), step=case.step)]
    if case.whereabouts_unknown:
        lines.append(_("Whereabouts unknown."))
    if case.returned_on:
        lines.append(_("Back at school on {day}; watched until {until}.").format(day=case.returned_on,
                                                                              until=case.watch_until or "—"))
    lines.append("")
    lines.append(_("Persuasion attempts (劝返): {n}").format(n=len(view.attempts)))
    for a in view.attempts:
        line = _("{day} · {people} · {method} · {attitude}: {result}").format(
            day=a.on_day, people=a.people, method=_(METHOD_LABELS[a.method]), attitude=_(ATTITUDE_LABELS[a.attitude]),
            result=a.result)
        if a.next_step:
            line += "\n  " + _("Next: {step}").format(step=a.next_step) + (f" ({a.next_on})" if a.next_on else "")
        lines.append(line)
    if view.active and view.may_export and not view.report_due:
        lines.append("")
        lines.append(_("The written report is made once persuasion has failed."))
    return "\n".join(lines)


def _case_buttons(_, view: CaseView) -> list[list]:
    case_id = view.case.id
    rows = []
    if view.active:
        rows.append([(_("✍️ Record a persuasion attempt"), DropoutAction(case_id, "try")),
                     (_("🏫 Back at school"), DropoutAction(case_id, "ret"))])
    if view.may_export and view.report_due:
        rows.append([(_("📄 Written report"), DropoutAction(case_id, "doc"))])
    rows.append([(_("◀ All cases"), DropoutList())])
    return rows


async def _show(update: Update, context: BotContext, view: CaseView, top: str = "") -> None:
    _ = context.gettext
    text = _case_text(_, view)
    await replace_or_reply(update, f"{top}\n\n{text}" if top else text, reply_markup=keyboard(_case_buttons(_, view)))


async def on_dro_button(update: Update, context: BotContext, payload: DropoutAction) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.dropouts
    act = payload.act
    if act == "open":
        view = await service.case(actor, payload.case)
        await _answer(update)
        await _show(update, context, view)
    elif act == "try":
        view = await service.case(actor, payload.case)
        if not view.active:
            raise UserError(N_("This child is back at school or the case is closed; nothing was changed."))
        await dialogue.begin(context, ATTEMPT, {"case": payload.case, "at": "method"}, ttl=ATTEMPT_TTL)
        await _answer(update)
        await replace_or_reply(update, _("How was the family contacted?"), reply_markup=keyboard(rows_of(
            [(_(label), DropoutAction(payload.case, "m", key)) for key, label in METHOD_LABELS.items()], 1)))
    elif act in ("m", "a", "skip"):
        await _attempt_button(update, context, payload)
    elif act == "ret":
        view = await service.case(actor, payload.case)
        await _answer(update)
        await replace_or_reply(update, _("{child} is back at school today? The ladder ends and the child is watched "
                                         "for a month.").format(child=view.child_name), reply_markup=keyboard([
            [(_("✅ Yes, back at school"), DropoutAction(payload.case, "retok"))],
            [(_("◀ Back"), DropoutAction(payload.case, "open"))]]))
    elif act == "retok":
        view = await service.mark_returned(actor, payload.case)
        await _answer(update)
        await _show(update, context, view, _("Recorded: back at school."))
    elif act == "doc":
        docx, xlsx = await service.written_report(actor, payload.case)
        await _answer(update)
        chat = update.effective_chat.id
        day = context.services.schooldays.today().isoformat()
        await update.get_bot().send_document(
            chat, docx, filename=_("dropout-report-{case}-{day}.docx").format(case=payload.case, day=day),
            caption=_("The written report (辍学学生情况报告表), to print, sign and send to the education authority."),
            protect_content=True)
        await update.get_bot().send_document(
            chat, xlsx, filename=_("dropout-ledger-{case}-{day}.xlsx").format(case=payload.case, day=day),
            caption=_("The same case as a row of the dropout ledger."), protect_content=True)


# -- recording a persuasion attempt --------------------------------------------------------------------------------

async def _attempt_button(update: Update, context: BotContext, payload: DropoutAction) -> None:
    _ = context.gettext
    current = await dialogue.current(context, ATTEMPT)
    if current is None or current.state.get("case") != payload.case:
        raise StaleButton()
    state = dict(current.state)
    if payload.act == "m" and state.get("at") == "method" and payload.choice in METHOD_LABELS:
        state.update(method=payload.choice, at="attitude")
        await dialogue.save(context, current, state)
        await _answer(update)
        await replace_or_reply(update, _("The parents' attitude?"), reply_markup=keyboard(rows_of(
            [(_(label), DropoutAction(payload.case, "a", key)) for key, label in ATTITUDE_LABELS.items()], 2)))
    elif payload.act == "a" and state.get("at") == "attitude" and payload.choice in ATTITUDE_LABELS:
        state.update(attitude=payload.choice, at="result")
        await dialogue.save(context, current, state)
        await _answer(update)
        await replace_or_reply(update, _("What came of it? Write the result."))
    elif payload.act == "skip" and state.get("at") == "date":
        await _finish(update, context, state, None)
        await _answer(update)
    else:
        raise StaleButton()


async def on_attempt_input(update: Update, context: BotContext, current: Dialogue) -> bool:
    _ = context.gettext
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    state = dict(current.state)
    at = state.get("at")
    if at in ("method", "attitude"):
        await reply(update, _("Please answer with the buttons (what you typed was not saved)."))
        return True
    if not text:
        await reply(update, _("Please write it as text."))
        return True
    if len(text) > MAX_TEXT:
        await reply(update, _("Each answer can be at most {limit} characters.").format(limit=MAX_TEXT))
        return True
    if at == "result":
        state.update(result=text, at="next")
        await dialogue.save(context, current, state)
        await reply(update, _("What is the next step?"))
    elif at == "next":
        state.update(next=text, at="date")
        await dialogue.save(context, current, state)
        await reply(update, _("When? Write the date of the next step (e.g. 3-12), or press Skip."),
                    reply_markup=keyboard([[(_("Skip"), DropoutAction(state["case"], "skip"))]]))
    elif at == "date":
        day = _parse_day(text, context.services.schooldays.today())
        if day is None:
            await reply(update, _("That is not a date. Write it like 3-12 or 2026-03-12, or press Skip."))
            return True
        await _finish(update, context, state, day)
    return True


async def _finish(update: Update, context: BotContext, state: dict, next_on: date | None) -> None:
    _ = context.gettext
    draft = AttemptDraft(state.get("method", ""), state.get("attitude", ""), state.get("result", ""),
                         state.get("next", ""), next_on)
    try:
        view = await context.services.dropouts.record_attempt(await context.actor(), int(state["case"]), draft)
    finally:
        await dialogue.end(context, ATTEMPT)
    text = _case_text(_, view)
    await reply(update, _("Recorded: the persuasion attempt.") + "\n\n" + text,
                reply_markup=keyboard(_case_buttons(_, view)))


def _parse_day(text: str, today: date) -> date | None:
    """"2026-03-12", "3-12", "3月12日": a day without a year is the next such day from today on."""
    found = _DATE.match(text.replace(" ", ""))
    if found is None:
        return None
    year = int(found["y"]) if found["y"] else today.year
    try:
        day = date(year, int(found["m"]), int(found["d"]))
        if not found["y"] and day < today:
            day = day.replace(year=year + 1)
    except ValueError:
        return None
    return day


# -- the school's monthly report, the township's ledger ----------------------------------------------------------

async def on_drox_button(update: Update, context: BotContext, payload: DropoutExport) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.dropouts
    day = context.services.schooldays.today()
    if payload.kind == "month":
        data = await service.monthly_report(actor)
        name = _("dropout-monthly-{month}.xlsx").format(month=day.strftime("%Y-%m"))
        caption = _("The school's monthly report on keeping children in school: a summary, then one row per case.")
    else:
        data = await service.township_ledger(actor)
        name = _("dropout-ledger-{day}.xlsx").format(day=day.isoformat())
        caption = _("The township's ledger of suspected dropouts and dropouts: one row per case.")
    await _answer(update)
    await update.get_bot().send_document(update.effective_chat.id, data, filename=name, caption=caption,
                                         protect_content=True)


DIALOGUES = [Kind(ATTEMPT, on_attempt_input, cancelled=N_("Cancelled. No attempt was recorded."))]


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("dropouts", dropouts, filters=filters.ChatType.PRIVATE),
        on_button(DropoutAction, on_dro_button),
        on_button(DropoutExport, on_drox_button),
        on_button(DropoutList, on_drol_button),
        on_page("dropouts", dropouts),
    ]
