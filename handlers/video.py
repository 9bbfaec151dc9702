"""The weekly family video call: /video (a child's weekly time; a carer proposes one with buttons or in one line),
the parents' answer to a proposal, the carer's answer after a call, and /videos, the week at a glance.

Buttons are the payloads of bot.video.buttons (their grammar is there). bot.video.service checks each press again:
the presser's role, the proposal still open, the call still unanswered. Refusals are raised and answered once
(handlers.common): a popup under a button, a message after a command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.clock import unstamp
from bot.errors import AlreadyAcknowledged, NotAllowed, StaleButton
from bot.i18n import N_
from bot.notices import Action
from bot.payloads import Payload
from bot.runtime.context import BotContext
from bot.video.buttons import CallAnswer, ProposalAnswer, SetVideo, ShowVideo, day_code, hhmm, hhmm_code
from bot.video.service import (DURATIONS, MISSED, REASONS, TIMES, VideoState, answer_actions, moment_text,
                               move_action, parse_weekday, place_text, slot_of, weekday_day, weekday_name, weekly_text)
from handlers.common import ListPage, child_page, keyboard, on_button, on_page, replace_or_reply, reply, rows_of

MARKS = {"done": "✅", "missed": "❌", "unconfirmed": "❔", "upcoming": "⏳", "next_week": "🗓", "proposed": "📨",
         "none": "➖"}


# -- /video -----------------------------------------------------------------------------------------------------

async def video(update: Update, context: BotContext) -> None:
    _ = context.gettext
    kids = await context.services.video.children(await context.actor())
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
    await _picker(update, context, kids, 0)


async def _picker(update: Update, context: BotContext, kids: list, page: int) -> None:
    _ = context.gettext
    shown = child_page(_, kids, page, lambda k: ShowVideo(k.id), lambda p: ListPage("video", p))
    await replace_or_reply(update, _("Which child?") + shown.note(_), reply_markup=keyboard(shown.rows))


async def _pages(update: Update, context: BotContext, page: int) -> None:
    await _picker(update, context, await context.services.video.children(await context.actor()), page)


async def _typed(update: Update, context: BotContext, child_id: int, words: list[str]) -> None:
    """`/video 小明 周日 19:30 [30] [亲情室|家] [Asia/Urumqi]`: a teacher with forty children types a line."""
    service = context.services.video
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
    sent = await service.propose(await context.actor(), child_id, weekday, words[1], minutes, room, zone)
    await reply(update, _sent_text(context.gettext, sent))


def _sent_text(_, sent) -> str:
    return _("📨 Sent to {names}. I will tell you their answer.").format(names=_(", ").join(sent.recipients))


async def _show(update: Update, context: BotContext, child_id: int) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.video
    state = await service.state(actor, child_id)
    zone = await service.zone_of(actor.person_id)
    text = _state_text(_, state, context.locale, zone, context.services.clock.now())
    rows: list[list[tuple[str, Payload]]] = []
    if state.may_arrange:
        label = _("🗓 Change the weekly time") if state.slot else _("🗓 Set a weekly time")
        rows.append([(label, SetVideo(child_id, "w"))])
    elif state.proposal is not None and state.proposal.side == "carer":
        rows.append(_pairs(answer_actions(_, state.proposal.id)))
    if update.callback_query is not None:
        await update.callback_query.answer()
    await replace_or_reply(update, text, reply_markup=keyboard(rows))


def _pairs(actions: Sequence[Action]) -> list[tuple[str, Payload]]:
    """A service's buttons (bot.notices.Action) as a keyboard row."""
    return [(action.label, action.payload) for action in actions]


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
        lines.append(_("Next call: {time}").format(time=moment_text(unstamp(state.next_call.starts_at), locale, zone)))
    if state.proposal is not None:
        lines.append(_("Waiting for an answer: {when}, {minutes} min.").format(
            when=weekly_text(_, slot_of(state.proposal), zone, locale, now), minutes=state.proposal.minutes))
    if state.recent:
        lines.append(_("Recent calls:"))
        for call in state.recent:
            lines.append(f"{MARKS.get(call.outcome or 'unconfirmed', '❔')} "
                         f"{moment_text(unstamp(call.starts_at), locale, zone)}"
                         + (f" ({_(REASONS[call.reason])})" if call.reason in REASONS else ""))
    return "\n".join(lines)


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


async def on_vv_button(update: Update, context: BotContext, pressed: ShowVideo) -> None:
    await _show(update, context, pressed.child)


async def _ask(update: Update, text: str, buttons: list[tuple[str, Payload]], per_row: int = 4) -> None:
    await update.callback_query.answer()
    await replace_or_reply(update, text, reply_markup=keyboard(rows_of(buttons, per_row)))


def _day_buttons(make: Callable[[str], Payload], locale: str) -> list[tuple[str, Payload]]:
    """Monday to Sunday; `make(weekday)` is what each carries."""
    return [(weekday_name(n, locale), make(str(n))) for n in range(7)]


def _time_buttons(make: Callable[[str], Payload]) -> list[tuple[str, Payload]]:
    """The usual times; `make(HHMM)` is what each carries."""
    return [(t, make(hhmm_code(t))) for t in TIMES]


# -- a carer setting the weekly time ----------------------------------------------------------------------------

async def on_vs_button(update: Update, context: BotContext, pressed: SetVideo) -> None:
    _ = context.gettext
    locale = context.locale
    service = context.services.video
    actor = await context.actor()
    state = await service.state(actor, pressed.child)  # checks the role and the consent again at every step
    if not state.may_arrange:
        raise NotAllowed("video")
    child, weekday, at, minutes = pressed.child, pressed.weekday, pressed.at, pressed.minutes
    head = _("📹 {child}'s weekly video call").format(child=state.child.name) + "\n"
    if pressed.step == "w":
        return await _ask(update, head + _("Which day of the week?"),
                          _day_buttons(lambda day: SetVideo(child, "t", day), locale))
    if pressed.step == "t":
        return await _ask(
            update, head + _("{day}: at what time? (School time. Another time: type /video {child} {day} 19:45)")
            .format(day=weekday_name(int(weekday), locale, "EEEE"), child=state.child.name),
            _time_buttons(lambda code: SetVideo(child, "m", weekday, code)))
    if pressed.step == "m":
        return await _ask(update, head + _("How long?"), [
            (_("{minutes} min").format(minutes=m), SetVideo(child, "r", weekday, at, str(m))) for m in DURATIONS])
    if pressed.step == "r":
        rooms = [(_("🏠 From home"), SetVideo(child, "p", weekday, at, minutes, "0"))]
        rooms += [(f"🏫 {room}", SetVideo(child, "p", weekday, at, minutes, str(n)))
                  for n, room in enumerate(service.rooms, start=1)]
        return await _ask(update, head + _("Where will {child} be?").format(child=state.child.name), rooms, 2)
    place = int(pressed.room)
    if place > len(service.rooms):
        raise StaleButton()
    sent = await service.propose(actor, child, int(weekday), hhmm(at), int(minutes),
                                 service.rooms[place - 1] if place else None)
    await update.callback_query.answer()
    await replace_or_reply(update, _sent_text(_, sent))


# -- answering a proposal ---------------------------------------------------------------------------------------

async def on_vp_button(update: Update, context: BotContext, pressed: ProposalAnswer) -> None:
    _ = context.gettext
    locale = context.locale
    service = context.services.video
    actor = await context.actor()
    if pressed.step == "y":
        agreed = await service.accept(actor, pressed.proposal)
        zone = await service.zone_of(actor.person_id)
        await update.callback_query.answer()
        return await replace_or_reply(update, _(
            "✅ Agreed: {child}'s video call {when}, {minutes} min, {place}. The first is {first}; I will remind you "
            "the day before and shortly before.").format(
            child=agreed.child_name, when=weekly_text(_, agreed.slot, zone, locale, context.services.clock.now()),
            minutes=agreed.slot.minutes, place=place_text(_, agreed.room), first=moment_text(agreed.first, locale, zone)))
    if pressed.step == "c":
        sent = await service.counter(actor, pressed.proposal, int(pressed.weekday), hhmm(pressed.at))
        await update.callback_query.answer()
        return await replace_or_reply(update, _sent_text(_, sent))
    _proposal, child = await service.proposal_for_answer(actor, pressed.proposal)
    if pressed.step == "n":
        return await _ask(update, _("Which day suits you better for {child}'s video call?").format(child=child.name),
                          _day_buttons(lambda day: ProposalAnswer(pressed.proposal, "t", day), locale))
    await _ask(update, _("{day}: at what time? (Your time)").format(
        day=weekday_name(int(pressed.weekday), locale, "EEEE")),
        _time_buttons(lambda code: ProposalAnswer(pressed.proposal, "c", pressed.weekday, code)))


# -- after a call -----------------------------------------------------------------------------------------------

async def on_vc_button(update: Update, context: BotContext, pressed: CallAnswer) -> None:
    _ = context.gettext
    locale = context.locale
    service = context.services.video
    actor = await context.actor()
    call_id = pressed.call
    if pressed.step == "d":
        await service.record(actor, call_id, "done")
        await update.callback_query.answer()
        return await replace_or_reply(update, _("✅ Recorded: the video call happened. Thank you."))
    if pressed.step == "m":
        call, _child = await service.call_for_answer(actor, call_id)
        if call.outcome is not None:
            raise AlreadyAcknowledged()
        return await _ask(update, _("Why was it missed?"),
                          [(_(label), CallAnswer(call_id, "r", code)) for code, label in REASONS.items()], 2)
    if pressed.step == "r":
        if pressed.detail not in REASONS:
            raise StaleButton()
        await service.record(actor, call_id, MISSED, pressed.detail)
        return await _ask(update, _("Recorded: missed ({reason}). The family has been asked to find another time "
                                    "this week.").format(reason=_(REASONS[pressed.detail])),
                          _pairs([move_action(_, call_id)]))
    if pressed.step == "v":
        _call, child, days = await service.move_days(actor, call_id)
        return await _ask(update, _("Which day will {child}'s call be?").format(child=child.name),
                          [(weekday_day(d, locale), CallAnswer(call_id, "w", day_code(d))) for d in days])
    if pressed.step == "w":
        return await _ask(update, _("{day}: at what time? (School time)").format(day=weekday_day(pressed.day, locale)),
                          _time_buttons(lambda code: CallAnswer(call_id, "c", pressed.detail, code)))
    moved = await service.move(actor, call_id, pressed.day, hhmm(pressed.at))
    zone = await service.zone_of(actor.person_id)
    await update.callback_query.answer()
    await replace_or_reply(update, _(
        "🔁 Moved to {time}. The family has been told; I will remind everyone and ask you afterwards.").format(
        time=moment_text(unstamp(moved.starts_at), locale, zone)))


# -- /videos ----------------------------------------------------------------------------------------------------

STATUS_LABELS = {
    "done": N_("✅ Happened ({n})"), "missed": N_("❌ Missed ({n})"), "unconfirmed": N_("❔ Not yet confirmed ({n})"),
    "upcoming": N_("⏳ Still to come ({n})"), "next_week": N_("🗓 From next week ({n})"),
    "proposed": N_("📨 Waiting for the parents ({n})"), "none": N_("➖ No weekly time ({n})"),
}


async def videos(update: Update, context: BotContext) -> None:
    _ = context.gettext
    locale = context.locale
    week = await context.services.video.week(await context.actor())
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


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("video", video),
        CommandHandler("videos", videos),
        on_button(ShowVideo, on_vv_button),
        on_page("video", _pages),
        on_button(SetVideo, on_vs_button),
        on_button(ProposalAnswer, on_vp_button),
        on_button(CallAnswer, on_vc_button),
    ]
