"""The weekly family video call: /video (a child's weekly time; a carer proposes one with buttons or in one line),
the parents' answer to a proposal, the carer's answer after a call, and /videos, the week at a glance.

Buttons (checked again by bot.video.service on every press: the presser's role, the proposal still open, the call
still unanswered):
  vv:<child>                                    show the child's video call
  vs:<child>:w | :t:<wd> | :m:<wd>:<hhmm> | :r:<wd>:<hhmm>:<min> | :p:<wd>:<hhmm>:<min>:<room>
                                                a carer choosing day, time, length and room, then proposing
  vp:<proposal>:y | :n | :t:<wd> | :c:<wd>:<hhmm>  accept, or answer with another day and time
  vc:<call>:d | :m | :r:<reason> | :v | :w:<yyyymmdd> | :c:<yyyymmdd>:<hhmm>
                                                after a call: happened, missed (why), moved (day, time)
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.video import slots
from bot.runtime.context import BotContext
from bot.access.people import AlreadyAcknowledged, NoConsent, NotAllowed
from bot.i18n import N_
from bot.video.service import (ANSWER, DURATIONS, MISSED, PROPOSE, REASONS, TIMES, NoFamily, VideoState, moment_text,
                       parse_weekday, place_text, slot_of, weekday_day, weekday_name, weekly_text)
from handlers.care import _no_consent_text
from handlers.common import child_keyboard, current_actor, replace_or_reply, reply, user_locale, user_translator

log = logging.getLogger(__name__)

SHOW, SET = "vv", "vs"
MAX_CHILD_BUTTONS = 30
MARKS = {"done": "✅", "missed": "❌", "unconfirmed": "❔", "upcoming": "⏳", "next_week": "🗓", "proposed": "📨",
         "none": "➖"}


def _rows(buttons: list[InlineKeyboardButton], per_row: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def _hhmm(code: str) -> str | None:
    return f"{code[:2]}:{code[2:]}" if len(code) == 4 and code.isdigit() else None


async def _refused(update: Update, _, error: Exception) -> None:
    """One translated answer for every way a press or a command can be refused; nothing was changed."""
    if isinstance(error, NoConsent):
        text = _no_consent_text(_, error.child_name)
    elif isinstance(error, AlreadyAcknowledged):
        text = _("This was already answered; nothing was changed.")
    elif isinstance(error, NoFamily):
        text = _("No parent or guardian of this child has joined yet, so there is nobody to agree a time with. "
                 "Invite them first: /invite.")
    elif isinstance(error, slots.SlotError):
        text = _(error.message).format(**error.hint)
    else:
        text = _("You cannot do this for this child.")
    if update.callback_query is not None:
        await update.callback_query.answer()
    await replace_or_reply(update, text)  # a command's refusal is a new message, a button's an edit


# -- /video -----------------------------------------------------------------------------------------------------

async def video(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    service = context.services.video
    kids = await service.children(actor)
    args = context.args or []
    if args:
        kids = [k for k in kids if args[0] in k.name]
    if not kids:
        await reply(update, _("You have no child here whose video call you could see."))
        return
    if len(args) >= 3 and len(kids) == 1:
        await _typed(update, context, kids[0].id, args[1:])
        return
    if len(kids) == 1:
        await _show(update, context, kids[0].id)
        return
    shown = kids[:MAX_CHILD_BUTTONS]
    await reply(update, _("Which child?"), reply_markup=child_keyboard(shown, lambda k: f"{SHOW}:{k.id}"))


async def _typed(update: Update, context: BotContext, child_id: int, words: list[str]) -> None:
    """`/video 小明 周日 19:30 [30] [亲情室|家] [Asia/Urumqi]`: a teacher with forty children types a line."""
    _ = (await user_translator(update, context)).gettext
    service = context.services.video
    try:
        weekday = parse_weekday(words[0])
        minutes, room, zone = 30, service.rooms[0] if service.rooms else None, None
        for word in words[2:]:
            if word.isdigit():
                minutes = int(word)
            elif "/" in word or word.upper() == "UTC":
                zone = word
            elif word in ("家", "在家", "home"):
                room = None
            else:
                room = word
        sent = await service.propose(await current_actor(update, context), child_id, weekday, words[1], minutes,
                                     room, zone)
    except (slots.SlotError, NotAllowed, NoConsent, NoFamily) as error:
        await _refused(update, _, error)
        return
    await reply(update, _sent_text(_, sent))


def _sent_text(_, sent) -> str:
    return _("📨 Sent to {names}. I will tell you their answer.").format(names=_(", ").join(sent.recipients))


async def _show(update: Update, context: BotContext, child_id: int) -> None:
    _ = (await user_translator(update, context)).gettext
    locale = await user_locale(update, context)
    actor = await current_actor(update, context)
    service = context.services.video
    try:
        state = await service.state(actor, child_id)
    except (NotAllowed, NoConsent) as error:
        await _refused(update, _, error)
        return
    zone = await service.zone_of(actor.person_id)
    text = _state_text(_, state, locale, zone, context.services.clock.now())
    buttons = []
    if state.may_arrange:
        label = _("🗓 Change the weekly time") if state.slot else _("🗓 Set a weekly time")
        buttons.append([InlineKeyboardButton(label, callback_data=f"{SET}:{child_id}:w")])
    elif state.proposal is not None and state.proposal.side == "carer":
        buttons.append([InlineKeyboardButton(_("✅ Yes, that suits"), callback_data=f"{PROPOSE}:{state.proposal.id}:y"),
                        InlineKeyboardButton(_("🕒 Another time"), callback_data=f"{PROPOSE}:{state.proposal.id}:n")])
    await replace_or_reply(update, text, reply_markup=InlineKeyboardMarkup(buttons) if buttons else None)


def _state_text(_, state: VideoState, locale: str, zone: str, now: datetime) -> str:
    lines = [_("📹 {child}'s weekly video call").format(child=state.child.name)]
    if state.slot is not None:
        slot = slot_of(state.slot)
        lines.append(_("{when}, {minutes} min, {place}.").format(
            when=_first_upper(weekly_text(_, slot, zone, locale, now)), minutes=slot.minutes,
            place=place_text(_, state.slot.room)))
    else:
        lines.append(_("No weekly time yet."))
    if state.next_call is not None:
        lines.append(_("Next call: {time}").format(time=moment_text(_at(state.next_call.starts_at), locale, zone)))
    if state.proposal is not None:
        lines.append(_("Waiting for an answer: {when}, {minutes} min.").format(
            when=weekly_text(_, slot_of(state.proposal), zone, locale, now), minutes=state.proposal.minutes))
    if state.recent:
        lines.append(_("Recent calls:"))
        for call in state.recent:
            lines.append(f"{MARKS.get(call.outcome or 'unconfirmed', '❔')} "
                         f"{moment_text(_at(call.starts_at), locale, zone)}"
                         + (f" ({_(REASONS[call.reason])})" if call.reason in REASONS else ""))
    return "\n".join(lines)


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


async def on_show(update: Update, context: BotContext) -> None:
    query = update.callback_query
    parts = (query.data or "").split(":")
    await query.answer()
    if len(parts) == 2 and parts[1].isdigit():
        await _show(update, context, int(parts[1]))


REFUSALS = (slots.SlotError, NotAllowed, NoConsent, NoFamily, AlreadyAcknowledged)


def _button(step_handler):
    """A press on `<prefix>:<id>:<step>[:<more>…]`: the data is parsed (anything else is refused like a forged
    id), the step handler answers it, and every refusal gets its one translated answer."""
    async def handle(update: Update, context: BotContext) -> None:
        _ = (await user_translator(update, context)).gettext
        parts = (update.callback_query.data or "").split(":")
        try:
            if len(parts) < 3 or not parts[1].isdigit():
                raise NotAllowed("data")
            await step_handler(update, context, _, int(parts[1]), parts[2], parts[3:])
        except REFUSALS as error:
            await _refused(update, _, error)
    handle.__name__ = step_handler.__name__
    return handle


async def _ask(update: Update, text: str, buttons: list[InlineKeyboardButton], per_row: int = 4) -> None:
    await update.callback_query.answer()
    await replace_or_reply(update, text, reply_markup=InlineKeyboardMarkup(_rows(buttons, per_row)))


def _day_buttons(data: str, locale: str) -> list[InlineKeyboardButton]:
    """Monday to Sunday; `data` + the weekday number."""
    return [InlineKeyboardButton(weekday_name(n, locale), callback_data=f"{data}{n}") for n in range(7)]


def _time_buttons(data: str) -> list[InlineKeyboardButton]:
    """The usual times; `data` + HHMM."""
    return [InlineKeyboardButton(t, callback_data=f"{data}{t.replace(':', '')}") for t in TIMES]


# -- a carer setting the weekly time ----------------------------------------------------------------------------

@_button
async def on_set(update: Update, context: BotContext, _, child_id: int, step: str, rest: list[str]) -> None:
    locale = await user_locale(update, context)
    service = context.services.video
    actor = await current_actor(update, context)
    state = await service.state(actor, child_id)  # checks the role and the consent again at every step
    if not state.may_arrange:
        raise NotAllowed("video")
    base = f"{SET}:{child_id}"
    head = _("📹 {child}'s weekly video call").format(child=state.child.name) + "\n"
    if step == "w" and not rest:
        return await _ask(update, head + _("Which day of the week?"), _day_buttons(f"{base}:t:", locale))
    weekday = _weekday(rest[0]) if rest else None
    if weekday is None:
        raise NotAllowed("step")
    if step == "t" and len(rest) == 1:
        return await _ask(
            update, head + _("{day}: at what time? (School time. Another time: type /video {child} {day} 19:45)")
            .format(day=weekday_name(weekday, locale, "EEEE"), child=state.child.name),
            _time_buttons(f"{base}:m:{weekday}:"))
    hhmm = _hhmm(rest[1]) if len(rest) > 1 else None
    if hhmm is None:
        raise NotAllowed("step")
    chosen = f"{weekday}:{rest[1]}"
    if step == "m" and len(rest) == 2:
        return await _ask(update, head + _("How long?"), [
            InlineKeyboardButton(_("{minutes} min").format(minutes=m), callback_data=f"{base}:r:{chosen}:{m}")
            for m in DURATIONS])
    minutes = int(rest[2]) if len(rest) > 2 and rest[2].isdigit() else None
    if minutes is None:
        raise NotAllowed("step")
    if step == "r" and len(rest) == 3:
        rooms = [InlineKeyboardButton(_("🏠 From home"), callback_data=f"{base}:p:{chosen}:{minutes}:0")]
        rooms += [InlineKeyboardButton(f"🏫 {room}", callback_data=f"{base}:p:{chosen}:{minutes}:{n}")
                  for n, room in enumerate(service.rooms, start=1)]
        return await _ask(update, head + _("Where will {child} be?").format(child=state.child.name), rooms, 2)
    if step == "p" and len(rest) == 4 and rest[3].isdigit() and int(rest[3]) <= len(service.rooms):
        room = service.rooms[int(rest[3]) - 1] if int(rest[3]) else None
        sent = await service.propose(actor, child_id, weekday, hhmm, minutes, room)
        await update.callback_query.answer()
        return await replace_or_reply(update, _sent_text(_, sent))
    raise NotAllowed("step")


def _weekday(code: str) -> int | None:
    return int(code) if code.isdigit() and 0 <= int(code) <= 6 else None


# -- answering a proposal ---------------------------------------------------------------------------------------

@_button
async def on_proposal(update: Update, context: BotContext, _, proposal_id: int, step: str, rest: list[str]) -> None:
    locale = await user_locale(update, context)
    service = context.services.video
    actor = await current_actor(update, context)
    if step == "y" and not rest:
        agreed = await service.accept(actor, proposal_id)
        zone = await service.zone_of(actor.person_id)
        await update.callback_query.answer()
        return await replace_or_reply(update, _(
            "✅ Agreed: {child}'s video call {when}, {minutes} min, {place}. The first is {first}; I will remind you "
            "the day before and shortly before.").format(
            child=agreed.child_name, when=weekly_text(_, agreed.slot, zone, locale, context.services.clock.now()),
            minutes=agreed.slot.minutes, place=place_text(_, agreed.room), first=moment_text(agreed.first, locale, zone)))
    proposal, child = await service.proposal_for_answer(actor, proposal_id)
    base = f"{PROPOSE}:{proposal_id}"
    if step == "n" and not rest:
        return await _ask(update, _("Which day suits you better for {child}'s video call?").format(child=child.name),
                          _day_buttons(f"{base}:t:", locale))
    weekday = _weekday(rest[0]) if rest else None
    if step == "t" and weekday is not None and len(rest) == 1:
        return await _ask(update, _("{day}: at what time? (Your time)").format(
            day=weekday_name(weekday, locale, "EEEE")), _time_buttons(f"{base}:c:{weekday}:"))
    hhmm = _hhmm(rest[1]) if len(rest) == 2 else None
    if step == "c" and weekday is not None and hhmm is not None:
        sent = await service.counter(actor, proposal_id, weekday, hhmm)
        await update.callback_query.answer()
        return await replace_or_reply(update, _sent_text(_, sent))
    raise NotAllowed("step")


# -- after a call -----------------------------------------------------------------------------------------------

@_button
async def on_call(update: Update, context: BotContext, _, call_id: int, step: str, rest: list[str]) -> None:
    locale = await user_locale(update, context)
    service = context.services.video
    actor = await current_actor(update, context)
    base = f"{ANSWER}:{call_id}"
    if step == "d" and not rest:
        await service.record(actor, call_id, "done")
        await update.callback_query.answer()
        return await replace_or_reply(update, _("✅ Recorded: the video call happened. Thank you."))
    if step == "m" and not rest:
        call, _child = await service.call_for_answer(actor, call_id)
        if call.outcome is not None:
            raise AlreadyAcknowledged()
        return await _ask(update, _("Why was it missed?"), [
            InlineKeyboardButton(_(label), callback_data=f"{base}:r:{code}") for code, label in REASONS.items()], 2)
    if step == "r" and len(rest) == 1 and rest[0] in REASONS:
        await service.record(actor, call_id, MISSED, rest[0])
        return await _ask(update, _("Recorded: missed ({reason}). The family has been asked to find another time "
                                    "this week.").format(reason=_(REASONS[rest[0]])),
                          [InlineKeyboardButton(_("🔁 Set another time"), callback_data=f"{base}:v")])
    if step == "v" and not rest:
        call, child, days = await service.move_days(actor, call_id)
        return await _ask(update, _("Which day will {child}'s call be?").format(child=child.name), [
            InlineKeyboardButton(weekday_day(d, locale), callback_data=f"{base}:w:{d:%Y%m%d}") for d in days])
    day = _date(rest[0]) if rest else None
    if step == "w" and day is not None and len(rest) == 1:
        return await _ask(update, _("{day}: at what time? (School time)").format(day=weekday_day(day, locale)),
                          _time_buttons(f"{base}:c:{day:%Y%m%d}:"))
    hhmm = _hhmm(rest[1]) if len(rest) == 2 else None
    if step == "c" and day is not None and hhmm is not None:
        moved = await service.move(actor, call_id, day, hhmm)
        zone = await service.zone_of(actor.person_id)
        await update.callback_query.answer()
        return await replace_or_reply(update, _(
            "🔁 Moved to {time}. The family has been told; I will remind everyone and ask you afterwards.").format(
            time=moment_text(_at(moved.starts_at), locale, zone)))
    raise NotAllowed("step")


def _date(code: str) -> date | None:
    try:
        return datetime.strptime(code, "%Y%m%d").date() if len(code) == 8 else None
    except ValueError:
        return None


def _at(stored: str) -> datetime:
    return datetime.fromisoformat(stored)


# -- /videos ----------------------------------------------------------------------------------------------------

STATUS_LABELS = {
    "done": N_("✅ Happened ({n})"), "missed": N_("❌ Missed ({n})"), "unconfirmed": N_("❔ Not yet confirmed ({n})"),
    "upcoming": N_("⏳ Still to come ({n})"), "next_week": N_("🗓 From next week ({n})"),
    "proposed": N_("📨 Waiting for the parents ({n})"), "none": N_("➖ No weekly time ({n})"),
}


async def videos(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    locale = await user_locale(update, context)
    try:
        week = await context.services.video.week(await current_actor(update, context))
    except NotAllowed as error:
        await _refused(update, _, error)
        return
    lines = [_("📹 Video calls this week ({start} – {end})").format(
        start=weekday_day(week.start, locale), end=weekday_day(week.start + timedelta(days=6), locale))]
    for status, label in STATUS_LABELS.items():
        rows = [r for r in week.rows if r.status == status]
        if not rows:
            continue
        names = [r.child.name + (f" ({_(REASONS[r.call.reason])})" if r.call and r.call.reason in REASONS else "")
                 for r in rows]
        lines += ["", _(label).format(n=len(rows)), _(", ").join(names)]
    await reply(update, "\n".join(lines))


HANDLERS = [
    CommandHandler("video", video),
    CommandHandler("videos", videos),
    CallbackQueryHandler(on_show, pattern=rf"^{SHOW}:"),
    CallbackQueryHandler(on_set, pattern=rf"^{SET}:"),
    CallbackQueryHandler(on_proposal, pattern=rf"^{PROPOSE}:"),
    CallbackQueryHandler(on_call, pattern=rf"^{ANSWER}:"),
]
