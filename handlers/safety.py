"""A child in danger (强制报告): /report (for parents and guardians the same flow, named 求助), the case buttons
under what the people told receive ("✅ 收到", the case and its actions), and /reports, the open cases.

/report asks first whether the child is in danger now; if so, "call 110" comes before anything else, and the
report never waits for the call. The report itself is a dialogue (handlers.dialogue, kind "report"): a row, so
a restart continues it; every screen has its buttons, a way back and a way out, and a typed line where a
button was expected changes nothing and says so. Its buttons carry the step they were shown for
(bot.safety.buttons.ReportStep), so a button left on an earlier screen is refused, never taken for another
question. Sending hands the answers to bot.safety.service, which tells everyone at once in one transaction.

A handler's note on a case (the police accepted it, help under way, police feedback, a note or a visit, the
reason to close) is typed in a second dialogue (kind "case-note"). Every case press is checked again by the
service: a forged id or a removed person's old button gets a clear answer and learns nothing."""

from __future__ import annotations

import html
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram import InputMediaPhoto, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.access.policy import ADMIN, REPORTER_ROLES, ROLE_LABELS, SUPERVISOR
from bot.clock import stamp, unstamp
from bot.dialogues import Dialogue
from bot.errors import NotAllowed, StaleButton, UserError
from bot.i18n import N_, format_datetime
from bot.musts.cards import field_lines
from bot.musts.forms import FORMS, TALK, UPDATE, parse_date
from bot.safety.buttons import (Acknowledge, CaseAction, CaseList, ExportLedger, OpenCase, ReportAbout,
                                ReportConcern, ReportStep)
from bot.safety.concerns import worries
from bot.safety.moments import parse_moment
from bot.safety.service import (CLOSED_ALREADY, HANDLERS_ONLY, KIND_LABELS, MAX_DESCRIPTION, MAX_MEDIA, MAX_NOTE,
                                MAX_SHORT, OVERDUE_LABELS, STATE_LABELS)
from bot.safety.situations import SITUATIONS
from bot.safety.situations import labels as situation_labels
from bot.runtime.context import BotContext
from handlers import dialogue
from handlers.common import ListPage, child_page, keyboard, on_button, on_page, paged, replace_or_reply, reply, rows_of
from handlers.dialogue import Kind
from storage.safety import HELP, CaseEvent, CaseView, ReportDraft
from storage.safety import REPORT as REPORT_KIND

REPORT = "report"
NOTE = "case-note"
# A report put down half-way (a call, the child) is still there the next day; a case note waits two hours.
REPORT_TTL = timedelta(days=1)
NOTE_TTL = timedelta(hours=2)
HTML = ParseMode.HTML
# Typed answers are kept to what the service takes (bot.safety.service), so a long one never stops a report.
LIMITS = {"place": MAX_SHORT, "station": MAX_SHORT, "receipt": MAX_SHORT, "reason": MAX_SHORT,
          "desc": MAX_DESCRIPTION, "note": MAX_NOTE}

NOT_SENT = N_("Cancelled. Nothing was sent. If a child is in danger, call 110.")
NOBODY = N_("There is no child you can report about here. If a child is in danger, call 110 now.")
USE_BUTTONS = N_("Please answer with the buttons (what you typed was not saved).")
CALL_NOW = N_("Call 110 now")

# The reasons offered for not having called the police yet (typed ones are taken too).
NOT_YET_REASONS = {
    "unsure": N_("Not sure whether to call the police"),
    "school": N_("Asking the school for help first"),
    "calling": N_("Calling now"),
}
# Help under way (帮扶中): the measures offered as buttons; "other" asks for it typed.
HELP_KINDS = {
    "guard": N_("Temporary guardianship (civil affairs)"),
    "school": N_("Measures at school"),
    "counsel": N_("Counselling"),
    "warn": N_("Warning to the guardians"),
}
CLOSE_REASONS = {
    "safe": N_("The child is safe now"),
    "handed": N_("Handed over to the authorities"),
}
OUTCOMES = {
    "better": N_("Better"),
    "same": N_("No change"),
    "worse": N_("Worse"),
}
KIND_ICONS = {REPORT_KIND: "📋", HELP: "🆘"}


def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def _clip(text: str | None, limit: int = 1500) -> str:
    """A long text shortened for a screen that shows other things too (the whole is kept in the report)."""
    text = text or ""
    return text if len(text) <= limit else text[:limit] + "…"


def _fit(lines: list[str], limit: int = 4000) -> str:
    """Lines of HTML joined into one message within Telegram's 4096 characters. Whole lines only (each line closes
    its own tags), so a long case loses its last lines, never half a tag."""
    kept, size = [], 0
    for line in lines:
        if size + len(line) + 1 > limit:
            kept.append("…")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


async def _zone(update: Update, context: BotContext) -> ZoneInfo:
    return ZoneInfo((await context.services.preferences.delivery(update.effective_user.id)).timezone)


def _moment(context: BotContext, stored: str | datetime | None, zone: ZoneInfo) -> str:
    if stored is None:
        return "—"
    moment = unstamp(stored) if isinstance(stored, str) else stored
    return format_datetime(moment, context.locale, str(zone), "short")


async def _answer(update: Update, text: str | None = None) -> None:
    if update.callback_query is not None:  # too old to answer is not an error (bot.runtime.telegram)
        await update.callback_query.answer(text)


# -- /report: the screens -----------------------------------------------------------------------------------------

def _step(at: str, choice: str) -> ReportStep:
    return ReportStep(at, choice)


def _hours(state: dict, key: str, now: datetime) -> list[int]:
    """The hours offered for "earlier today" (each full hour before now, newest first) or "yesterday"."""
    if state.get(key) == 0:
        return list(range(now.hour, -1, -1))[:12]
    return list(range(6, 24, 2))


def _summary(context: BotContext, state: dict, zone: ZoneInfo) -> list[str]:
    _ = context.gettext
    lines = [_("Child: {name}").format(name=_e(state.get("child_name", ""))),
             _("In danger now: {answer}").format(answer=_("yes") if state.get("danger") else _("no")),
             _("Situation: {what}").format(what=_e(_(", ").join(_(SITUATIONS[c]) for c in state.get("sit", [])
                                                              if c in SITUATIONS))),
             _("Found: {when}").format(when=_moment(context, state.get("found"), zone)),
             _("Where: {place}").format(place=_e(state.get("place") or "—")),
             _("What happened: {text}").format(text=_e(_clip(state.get("desc")) or "—"))]
    photos = sum(1 for kind, _ref in state.get("media", []) if kind == "photo")
    voices = len(state.get("media", [])) - photos
    if photos or voices:
        lines.append(_("Photos: {photos} · voice notes: {voices}").format(photos=photos, voices=voices))
    if state.get("police"):
        police = _("Police: reported {when}").format(when=_moment(context, state["police"], zone))
        if state.get("station"):
            police += _(", {station}").format(station=_e(state["station"]))
        if state.get("receipt"):
            police += _(", number {receipt}").format(receipt=_e(state["receipt"]))
        lines.append(police)
    elif state.get("step") == "x" or state.get("reason"):
        lines.append(_("Police: not yet ({reason})").format(reason=_e(state.get("reason") or "—")))
    return lines


def _screen(context: BotContext, state: dict, zone: ZoneInfo, kids: list = ()) -> tuple[str, list]:
    """The current step of the report as (HTML text, rows of (label, payload)); `kids` for the child's step."""
    _ = context.gettext
    step = state["step"]
    now = context.services.clock.now().astimezone(zone)
    kind = HELP if state.get("help") else REPORT_KIND
    head = _e(KIND_ICONS[kind] + " " + _(KIND_LABELS[kind]))
    if state.get("child_name"):
        head += " · " + _e(state["child_name"])
    lines = [f"<b>{head}</b>", ""]
    rows: list[list] = []
    if state.get("danger") and not state.get("called") and not state.get("police") and step not in ("d", "p"):
        # Until the police are called, every screen says it again: nothing here may delay the call.
        lines += ["🚨 <b>" + _e(_(CALL_NOW)) + "</b> 🚨", ""]
    if step == "d":
        lines.append(_e(_("Is the child in danger right now?")))
        rows += [[(_("⚠️ Yes, in danger now"), _step("d", "y"))], [(_("No danger right now"), _step("d", "n"))]]
    elif step == "p":
        # The call comes first, before anything else on the screen.
        lines = ["🚨🚨🚨", "<b>" + _e(_(CALL_NOW)).upper() + "</b>", "🚨🚨🚨", "", _e(_("Then tell me:"))]
        rows += [[(_("✅ I have called the police"), _step("p", "called"))], [(_("Not yet"), _step("p", "notyet"))]]
    elif step == "c":
        lines.append(_e(_("Which child is it about? Press the name, or type it.")))
        # ◀ ▶ keep the report open on this step: a teacher of forty presses the fortieth, or types the name.
        shown = child_page(_, kids, state.get("page", 0), lambda k: _step("c", str(k.id)),
                           lambda p: _step("c", f"p{p}"), per_row=2)
        if shown.pages > 1:
            lines.append(_e(shown.note(_).strip()))
        rows += shown.rows
    elif step == "s":
        lines.append(_e(_("What is happening? Choose all that apply, then press Next.")))
        chosen = state.get("sit", [])
        rows += [[(("✔ " if code in chosen else "") + _(label), _step("s", code))] for code, label in SITUATIONS.items()]
        rows.append([(_("Next ▶"), _step("s", "next"))])
    elif step == "f":
        lines.append(_e(_("When was it found? Press a button, or type the time (for example 14:30 or 昨天 20:00).")))
        rows += rows_of([(_("Just now"), _step("f", "now")), (_("Earlier today"), _step("f", "today")),
                         (_("Yesterday"), _step("f", "yday")), (_("Before that"), _step("f", "older"))], 2)
    elif step in ("fh", "qh"):
        lines.append(_e(_("At about what time? Press the hour, or type the time.")))
        key = "found_day" if step == "fh" else "police_day"
        rows += rows_of([(f"{h:02d}:00", _step(step, str(h))) for h in _hours(state, key, now)], 4)
    elif step == "fd":
        lines.append(_e(_("On which day? Type the date, and the time if you know it (for example 3月1日 or "
                          "2026-03-01 18:30).")))
    elif step == "l":
        lines.append(_e(_("Where was it? Type the place (at home, at school, on the way …), send a location, or "
                          "press Skip.")))
        rows.append([(_("Skip"), _step("l", "skip"))])
    elif step == "w":
        lines.append(_e(_("What happened? Write it, or send a voice note. You can send several.")))
        if state.get("desc"):
            lines += ["", "📝 " + _e(state["desc"][:1000])]
        got = _got(context, state)
        if got:
            lines += ["", _e(got)]
        rows.append([(_("Next ▶") if got else _("Skip"), _step("w", "next"))])
    elif step == "m":
        lines.append(_e(_("Photos can help (an injury, the place). Send them now, or press Skip. Only the people "
                          "told about the report see them.")))
        got = _got(context, state, photos_only=True)
        if got:
            lines += ["", _e(got)]
        rows.append([(_("Next ▶") if got else _("Skip"), _step("m", "next"))])
    elif step == "q":
        lines.append(_e(_("Has it been reported to the police (110)? Press a button, or type the time of the call.")))
        rows += rows_of([(_("Just now"), _step("q", "now")), (_("Earlier today"), _step("q", "today")),
                         (_("Yesterday"), _step("q", "yday")), (_("Not yet"), _step("q", "not"))], 2)
    elif step == "t":
        lines.append(_e(_("Which police station took it? Type it, or press Skip.")))
        rows.append([(_("Skip"), _step("t", "skip"))])
    elif step == "r":
        lines.append(_e(_("The receipt or incident number, if you have one? Type it, or press Skip.")))
        rows.append([(_("Skip"), _step("r", "skip"))])
    elif step == "y":
        lines.append(_e(_("Why not yet? Press a reason, or type it.")))
        lines += ["", "🚨 <b>" + _e(_("If the child may be harmed, call 110 now.")) + "</b>"]
        rows += [[(_(label), _step("y", key))] for key, label in NOT_YET_REASONS.items()]
    elif step == "x":
        lines += _summary(context, state, zone)
        lines += ["", _e(_("Check it and press Send: everyone who must know is told at once."))]
        rows.append([(_("📤 Send the report") if not state.get("help") else _("📤 Send"), _step("x", "send"))])
    nav = [(_("◀ Back"), _step(step, "back"))] if state.get("trail") else []
    nav.append((_("✖ Cancel"), _step(step, "cancel")))
    rows.append(nav)
    return _fit(lines), rows


def _got(context: BotContext, state: dict, *, photos_only: bool = False) -> str:
    """What the person has sent so far at "what happened" (words, voice notes, photos), or at "photos"."""
    _ = context.gettext
    photos = sum(1 for kind, _ref in state.get("media", []) if kind == "photo")
    voices = 0 if photos_only else len(state.get("media", [])) - photos
    parts = []
    if state.get("desc") and not photos_only:
        parts.append(_("written: {n} characters").format(n=len(state["desc"])))
    if voices:
        parts.append(_("voice notes: {n}").format(n=voices))
    if photos:
        parts.append(_("photos: {n}").format(n=photos))
    return _("Received so far: {what}.").format(what=_(", ").join(parts)) if parts else ""


async def _show(update: Update, context: BotContext, state: dict, *, new: bool = False) -> Message | None:
    """Draw the step: in place under a press of its buttons, else as a new message."""
    kids = await context.services.safety.reporting_children(await context.actor()) if state["step"] == "c" else []
    text, rows = _screen(context, state, await _zone(update, context), kids)
    markup = keyboard(rows)
    if not new and update.callback_query is not None:
        await replace_or_reply(update, text, reply_markup=markup, parse_mode=HTML)
        return None
    return await reply(update, text, reply_markup=markup, parse_mode=HTML)


# -- /report: starting --------------------------------------------------------------------------------------------

async def _kids(context: BotContext) -> list:
    kids = await context.services.safety.reporting_children(await context.actor())
    if not kids:
        raise NotAllowed("report", NOBODY)
    return kids


def _fresh(actor, kids: list, child=None, text: str = "") -> dict:
    state = {"step": "d", "trail": [], "help": not actor.has_role(*REPORTER_ROLES), "sit": [], "media": []}
    chosen = child or (kids[0] if len(kids) == 1 else None)
    if chosen is not None:
        state.update(child=chosen.id, child_name=chosen.name, fixed=True)
    if text:
        state["desc"] = text[:LIMITS["desc"]]
    return state


async def report(update: Update, context: BotContext) -> None:
    """/report [name]: is the child in danger now? Then the report, step by step."""
    actor = await context.actor()
    kids = await _kids(context)
    wanted = " ".join(context.args or []).strip()
    named = [k for k in kids if wanted and wanted in k.name]
    state = _fresh(actor, kids, named[0] if len(named) == 1 else None)
    await dialogue.begin(context, REPORT, state, child_id=state.get("child"), ttl=REPORT_TTL)
    await _show(update, context, state, new=True)


async def start_for(update: Update, context: BotContext, child_id: int, text: str = "") -> None:
    """/report with the child chosen (and what was written about it, if anything): the 🆘 buttons elsewhere."""
    actor = await context.actor()
    kids = await _kids(context)
    child = next((k for k in kids if k.id == child_id), None)
    if child is None:
        raise NotAllowed("report", NOBODY)
    state = _fresh(actor, kids, child, text)
    await dialogue.begin(context, REPORT, state, child_id=child.id, ttl=REPORT_TTL)
    await _answer(update)
    await _show(update, context, state, new=True)


async def on_sfc_button(update: Update, context: BotContext, payload: ReportAbout) -> None:
    await start_for(update, context, payload.child)


# -- /report: moving through the steps ----------------------------------------------------------------------------

def _go(state: dict, to: str) -> dict:
    """The next step (skipping the child's when it is chosen already), remembering the way back."""
    if to == "c" and state.get("fixed"):
        to = "s"
    if to == "q" and state.get("called"):
        state["police"] = state["called"]
        to = "t"
    state["trail"] = [*state.get("trail", []), state["step"]]
    state["step"] = to
    return state


def _back(state: dict) -> dict:
    trail = list(state.get("trail", []))
    if not trail:
        raise StaleButton()
    state["step"] = trail.pop()
    state["trail"] = trail
    return state


def _at_hour(now: datetime, days_back: int, hour: int) -> datetime:
    moment = datetime.combine(now.date() - timedelta(days=days_back), time(hour), now.tzinfo)
    if moment > now:
        raise StaleButton()
    return moment


def _after_found(state: dict, moment: datetime) -> dict:
    state["found"] = stamp(moment)
    return _go(state, "l")


def _after_police(state: dict, moment: datetime) -> dict:
    state["police"] = stamp(moment)
    state.pop("reason", None)
    return _go(state, "t")


async def _choose(update: Update, context: BotContext, state: dict, at: str, choice: str) -> dict:
    """What a press on step `at` does to the report. A choice the step does not offer is a stale button."""
    now = context.services.clock.now().astimezone(await _zone(update, context))
    if at == "d" and choice in ("y", "n"):
        state["danger"] = choice == "y"
        return _go(state, "p" if state["danger"] else "c")
    if at == "p" and choice in ("called", "notyet"):
        if state.get("police") and state.get("police") == state.get("called"):
            state["police"] = None  # "called" taken back (◀ Back, then "not yet"): the call is not on record
        state["called"] = stamp(now) if choice == "called" else None
        return _go(state, "c")
    if at == "c" and choice[:1] == "p" and choice[1:].isdigit():
        state["page"] = int(choice[1:])
        return state
    if at == "c" and choice.isdigit():
        kids = await context.services.safety.reporting_children(await context.actor())
        kid = next((k for k in kids if k.id == int(choice)), None)
        if kid is None:
            raise StaleButton()
        state.update(child=kid.id, child_name=kid.name)
        return _go(state, "s")
    if at == "s" and choice in SITUATIONS:
        chosen = state.get("sit", [])
        picked = set(chosen) ^ {choice}
        state["sit"] = [c for c in SITUATIONS if c in picked]  # in the law's order, whatever the order pressed
        return state
    if at == "s" and choice == "next":
        if not state.get("sit"):
            raise UserError(N_("Choose at least one situation first."))
        return _go(state, "f")
    if at == "f" and choice in ("now", "today", "yday", "older"):
        if choice == "now":
            return _after_found(state, now)
        if choice == "older":
            return _go(state, "fd")
        state["found_day"] = 0 if choice == "today" else 1
        return _go(state, "fh")
    if at == "fh" and choice.isdigit() and int(choice) < 24:
        return _after_found(state, _at_hour(now, state.get("found_day", 0), int(choice)))
    if at == "l" and choice == "skip":
        state["place"] = ""
        return _go(state, "w")
    if at == "w" and choice == "next":
        return _go(state, "m")
    if at == "m" and choice == "next":
        return _go(state, "q")
    if at == "q" and choice in ("now", "today", "yday", "not"):
        if choice == "now":
            return _after_police(state, now)
        if choice == "not":
            state["police"] = None
            return _go(state, "y")
        state["police_day"] = 0 if choice == "today" else 1
        return _go(state, "qh")
    if at == "qh" and choice.isdigit() and int(choice) < 24:
        return _after_police(state, _at_hour(now, state.get("police_day", 0), int(choice)))
    if at in ("t", "r") and choice == "skip":
        state["station" if at == "t" else "receipt"] = ""
        return _go(state, "r" if at == "t" else "x")
    if at == "y" and choice in NOT_YET_REASONS:
        state["reason"] = context.gettext(NOT_YET_REASONS[choice])
        return _go(state, "x")
    raise StaleButton()


async def on_sfs_button(update: Update, context: BotContext, payload: ReportStep) -> None:
    open_ = await dialogue.current(context, REPORT)
    if open_ is None and payload.at == "d" and payload.choice in ("y", "n"):
        # The first question answered on an old /report: a danger answer always counts, so start afresh.
        open_ = await dialogue.begin(context, REPORT, _fresh(await context.actor(), await _kids(context)),
                                     ttl=REPORT_TTL)
    if open_ is None or open_.state.get("step") != payload.at:
        raise StaleButton()
    if payload.choice == "cancel":
        await dialogue.end(context, REPORT)
        await _answer(update)
        await replace_or_reply(update, context.gettext(NOT_SENT))
        return
    if payload.at == "x" and payload.choice == "send":
        await _send(update, context, open_)
        return
    state = dict(open_.state)
    state = _back(state) if payload.choice == "back" else await _choose(update, context, state, payload.at,
                                                                         payload.choice)
    await dialogue.save(context, open_, state, child_id=state.get("child"))
    await _answer(update)
    await _show(update, context, state)


# -- /report: typed words, voice notes, photos --------------------------------------------------------------------

async def _typed_moment(update: Update, context: BotContext, text: str) -> datetime:
    return parse_moment(text, context.services.clock.now().astimezone(await _zone(update, context)))


def _media_of(message: Message) -> tuple[str, str] | None:
    if message.photo:
        return "photo", message.photo[-1].file_id
    if message.voice:
        return "voice", message.voice.file_id
    if message.audio:
        return "voice", message.audio.file_id
    if message.video:
        return "video", message.video.file_id
    return None


async def on_report_input(update: Update, context: BotContext, open_: Dialogue) -> bool:
    """What the person sends while reporting: an answer where the step takes typing, a voice note or photos where
    it takes them; anything else gets the step again with a hint, and changes nothing."""
    _ = context.gettext
    message = update.effective_message
    state = dict(open_.state)
    step = state.get("step")
    text = (message.text or "").strip()
    media = _media_of(message)
    if step in ("w", "m") and media is not None:
        await _add_media(update, context, open_, state, media, message)
        return True
    if message.text is not None and text:
        changed = await _take_text(update, context, state, step, text)
        if changed is not None:
            await dialogue.save(context, open_, changed, child_id=changed.get("child"))
            await _show(update, context, changed, new=True)
            return True
    if step == "l" and message.location is not None:
        state["place"] = "📍 {:.5f}, {:.5f}".format(message.location.latitude, message.location.longitude)
        state = _go(state, "w")
        await dialogue.save(context, open_, state)
        await _show(update, context, state, new=True)
        return True
    if media is not None and step not in ("w", "m"):
        hint = _("Photos and voice notes come at the \"What happened\" and \"Photos\" steps; answer this one first "
                 "(nothing was saved).")
    elif step == "m":
        hint = _("Send photos here, or press Skip (what you typed was not saved).")
    else:
        hint = _(USE_BUTTONS)
    await reply(update, hint)
    await _show(update, context, state, new=True)
    return True


async def _take_text(update: Update, context: BotContext, state: dict, step: str, text: str) -> dict | None:
    """The state after a typed answer at `step`, or None when this step does not take typing."""
    if step == "c":
        kids = await context.services.safety.reporting_children(await context.actor())
        matching = [k for k in kids if k.name and (text in k.name or k.name in text)]
        if len(matching) != 1:
            return None
        state.update(child=matching[0].id, child_name=matching[0].name)
        return _go(state, "s")
    if step in ("f", "fh", "fd"):
        return _after_found(state, await _typed_moment(update, context, text))
    if step == "l":
        state["place"] = text[:LIMITS["place"]]
        return _go(state, "w")
    if step == "w":
        joined = "\n".join(t for t in (state.get("desc", ""), text) if t)
        state["desc"] = joined[:LIMITS["desc"]]
        return state
    if step in ("q", "qh"):
        return _after_police(state, await _typed_moment(update, context, text))
    if step == "t":
        state["station"] = text[:LIMITS["station"]]
        return _go(state, "r")
    if step == "r":
        state["receipt"] = text[:LIMITS["receipt"]]
        return _go(state, "x")
    if step == "y":
        state["reason"] = text[:LIMITS["reason"]]
        return _go(state, "x")
    return None


async def _add_media(update: Update, context: BotContext, open_: Dialogue, state: dict, media: tuple[str, str],
                     message: Message) -> None:
    """A photo or voice note joins the report; an album's photos arrive one by one, so its panel is edited
    rather than sent again for each."""
    if len(state.get("media", [])) >= MAX_MEDIA:
        raise UserError(N_("A report can hold at most {limit} photos and voice notes."), limit=MAX_MEDIA)
    state["media"] = [*state.get("media", []), list(media)]
    if message.caption:
        state["desc"] = "\n".join(t for t in (state.get("desc", ""), message.caption.strip()) if t)[:LIMITS["desc"]]
    group = message.media_group_id
    if group is not None and state.get("group") == group and state.get("panel"):
        text, rows = _screen(context, state, await _zone(update, context))
        try:
            await update.get_bot().edit_message_text(text, chat_id=update.effective_chat.id,
                                                     message_id=state["panel"], reply_markup=keyboard(rows),
                                                     parse_mode=HTML)
            await dialogue.save(context, open_, state)
            return
        except BadRequest:
            pass  # gone or unchanged: a new panel below
    sent = await _show(update, context, state, new=True)
    state["panel"] = sent.message_id if sent is not None else None
    state["group"] = group
    await dialogue.save(context, open_, state)


# -- /report: sending ---------------------------------------------------------------------------------------------

def _draft(state: dict) -> ReportDraft:
    if not (state.get("child") and state.get("sit") and state.get("found")):
        raise StaleButton()
    return ReportDraft(
        child_id=state["child"], situations=tuple(state["sit"]), danger_now=bool(state.get("danger")),
        found_at=unstamp(state["found"]), place=state.get("place", ""), description=state.get("desc", ""),
        media=tuple((kind, ref) for kind, ref in state.get("media", [])),
        police_called_at=unstamp(state["police"]) if state.get("police") else None,
        police_station=state.get("station", "") if state.get("police") else "",
        police_receipt=state.get("receipt", "") if state.get("police") else "",
        not_yet_reason="" if state.get("police") else state.get("reason", ""))


async def _send(update: Update, context: BotContext, open_: Dialogue) -> None:
    _ = context.gettext
    state = open_.state
    done = await context.services.safety.submit(await context.actor(), _draft(state))
    await dialogue.end(context, REPORT)
    await _answer(update)
    lines = [("🆘 " + _("Your request for help about {child} was sent.") if done.kind == "help"
              else "📤 " + _("Your report about {child} was sent.")).format(child=_e(state.get("child_name", "")))]
    if done.told:
        lines.append(_("Told at once: {names}. You will hear when each of them presses Received.").format(
            names=_e(_(", ").join(done.told))))
    else:
        lines.append("<b>" + _e(_("Nobody could be told yet. Please call 110, and the school.")) + "</b>")
    if done.late_police:
        lines.append("")
        lines.append("⏰ " + _e(_("Not yet reported to the police: if the child may be harmed, please call 110 now.")
                               if not state.get("police") else
                               _("The police were called more than an hour after it was found; the report says so. "
                                 "Next time, call 110 first.")))
    await replace_or_reply(update, "\n".join(lines), parse_mode=HTML,
                           reply_markup=keyboard([[(_("📂 Open the report"), OpenCase(done.report_id))]]))


# -- "这是安全问题": a worry written elsewhere opens a report ------------------------------------------------------

async def on_sfk_button(update: Update, context: BotContext, payload: ReportConcern) -> None:
    child_id, text = await _concern(context, payload)
    await start_for(update, context, child_id, text)


async def _concern(context: BotContext, payload: ReportConcern) -> tuple[int, str]:
    """The child and the words of a worry the presser wrote themselves (a talk's concerns, an update's health or
    mood, a relayed message); anyone else's is a stale button."""
    actor = await context.actor()
    if payload.source == "r":
        relayed = await context.services.relay.written_by(actor, payload.item)
        return relayed.child_id, relayed.text or ""
    entry = await context.services.musts.written_by(actor, payload.item)
    spec = FORMS.get(entry.kind)
    if spec is None or entry.kind != {"t": TALK, "u": UPDATE}[payload.source]:
        raise StaleButton()
    shown = worries(entry.kind, entry.body.get("fields", {}))
    return entry.child_id, "\n".join(field_lines(context.gettext, spec, shown, context.locale))


# -- the case: 收到, the view, the actions ------------------------------------------------------------------------

async def on_sfa_button(update: Update, context: BotContext, payload: Acknowledge) -> None:
    """"✅ Received" (收到): recorded with the time; the reporter is told. A second press is refused (the refusal path)."""
    _ = context.gettext
    query = update.callback_query
    acked = await context.services.safety.acknowledge(await context.actor(), payload.report)
    await query.answer(_("Thank you: your acknowledgement is recorded, and the reporter is told.")
                       if acked.reporter_told else _("Thank you: your acknowledgement is recorded."))
    if isinstance(query.message, Message):
        try:
            await query.edit_message_reply_markup(keyboard([[(_("✅ Received ✔"), payload)],
                                                            [("📂 " + _("Open the case"), OpenCase(payload.report))]]))
        except BadRequest:
            pass  # the acknowledgement is stored; the old button only looks pressable


def _who(context: BotContext, name: str, role: str) -> str:
    return context.gettext("{name} ({role})").format(name=name, role=context.gettext(ROLE_LABELS.get(role, role)))


def _case_text(context: BotContext, view: CaseView, zone: ZoneInfo) -> str:
    """The case as its reader may see it (the service decided what that is), in HTML."""
    _ = context.gettext

    def when(moment: datetime | None) -> str:
        return _moment(context, moment, zone)

    kind = view.kind if view.kind in KIND_LABELS else REPORT_KIND
    head = _("{kind} #{id} · {child} ({klass})").format(kind=KIND_ICONS[kind] + " " + _(KIND_LABELS[kind]),
                                                         id=view.report_id, child=view.child_name,
                                                         klass=view.class_name)
    lines = [f"<b>{_e(head)}</b>",
             _e(_("State: {state} · reported {when}").format(state=_(STATE_LABELS.get(view.state, view.state)),
                                                             when=when(view.reported_at)))]
    if view.overdue:
        lines.append("⏰ <b>" + _e(_("Overdue: {what}").format(what=_(", ").join(
            _(OVERDUE_LABELS.get(code, code)) for code in view.overdue))) + "</b>")
    if view.reporter_name:
        lines.append(_e(_("Reported by: {name}").format(name=view.reporter_name)))
    lines += ["",
              _e(_("Situation: {what}").format(what=situation_labels(view.situations, _))),
              _e(_("In danger when reported: {answer}").format(answer=_("yes") if view.danger_now else _("no"))),
              _e(_("Found: {when}").format(when=when(view.found_at))),
              _e(_("Where: {place}").format(place=view.place or "—")),
              _e(_("What happened: {text}").format(text=_clip(view.description) or "—"))]
    photos = sum(1 for kind, _ref in view.media if kind == "photo")
    voices = len(view.media) - photos
    if view.media:
        lines.append(_e(_("Photos: {photos} · voice notes: {voices}").format(photos=photos, voices=voices)))
    if view.police_called_at is not None:
        police = _("Police: reported {when}").format(when=when(view.police_called_at))
        if view.police_station:
            police += _(", {station}").format(station=view.police_station)
        if view.police_receipt:
            police += _(", number {receipt}").format(receipt=view.police_receipt)
    else:
        police = _("Police: not yet ({reason})").format(reason=view.not_yet_reason or "—")
    lines.append(_e(police))
    if view.late_police and view.police_called_at is not None:  # not called at all: "overdue" says so above
        lines.append("⏰ " + _e(_("More than an hour between finding it and reporting it to the police.")))
    if view.accepted_at is not None:
        lines.append(_e(_("Police accepted: {when}").format(when=when(view.accepted_at))))
    if view.feedback_at is not None:
        lines.append(_e(_("Police feedback ({when}): {note}").format(when=when(view.feedback_at),
                                                                     note=view.feedback_note or "—")))
    if view.recipients:
        lines += ["", "<b>" + _e(_("Told:")) + "</b>"]
        for r in view.recipients:
            if r.acked_at is not None:
                lines.append("✅ " + _e(_("{who}: received {when}").format(who=_who(context, r.name, r.role),
                                                                       when=when(r.acked_at))))
            else:
                lines.append("⏳ " + _e(_("{who}: told {when}, not yet acknowledged").format(
                    who=_who(context, r.name, r.role), when=when(r.told_at))))
    if view.events:
        lines += ["", "<b>" + _e(_("What was done:")) + "</b>"]
        lines += ["• " + _e(_event_line(context, event, zone)) for event in view.events]
    if view.closed_at is not None:
        lines += ["", "<b>" + _e(_("Closed {when}: {reason}").format(when=when(view.closed_at),
                                                                    reason=view.close_reason or "—")) + "</b>"]
    elif view.close_requested_by:
        lines += ["", _e(_("{name} asked to close it ({reason}); a second person must confirm.").format(
            name=view.close_requested_by, reason=view.close_reason or "—"))]
    return _fit(lines)


def _event_line(context: BotContext, event: CaseEvent, zone: ZoneInfo) -> str:
    _ = context.gettext
    at = _moment(context, event.at, zone)
    if event.kind == "state":
        what = _("now {state}").format(state=_(STATE_LABELS.get(event.state or "", event.state or "")))
    elif event.kind == "feedback":
        what = _("police feedback")
    elif event.kind == "visit":
        what = _("home visit on {day}").format(day=event.visited_on.isoformat() if event.visited_on else "—")
    elif event.kind == "close_request":
        what = _("asked to close")
    elif event.kind == "closed":
        what = _("confirmed the closing")
    elif event.kind == "added":
        what = _("added someone to the case")
    else:
        what = _("note")
    line = _("{when} {name}: {what}").format(when=at, name=event.by_name, what=what)
    if event.note:
        line += _(" — {note}").format(note=event.note)
    if event.outcome:
        line += _(" (outcome: {outcome})").format(outcome=event.outcome)
    return line


def _case_rows(context: BotContext, view: CaseView, person_id: int | None, supervisor: bool = False) -> list:
    """The case's buttons for its reader; `supervisor`: a township supervisor, who may bring others in."""
    _ = context.gettext
    rows: list[list] = []
    me = next((r for r in view.recipients if r.person_id == person_id), None)
    if me is not None and me.acked_at is None:
        rows.append([("✅ " + _("Received"), Acknowledge(view.report_id))])
    if view.media:
        rows.append([(_("📷 Photos and voice notes"), CaseAction(view.report_id, "media"))])
    if view.handler and view.closed_at is None:
        states = []
        if view.state == "reported":
            states.append((_("🚓 Police accepted"), CaseAction(view.report_id, "acc")))
        if view.state in ("reported", "accepted"):
            states.append((_("🤝 Help under way"), CaseAction(view.report_id, "help")))
        if states:
            rows.append(states)
        rows.append([(_("📝 Police feedback"), CaseAction(view.report_id, "fb")),
                     (_("🗒 Add a note"), CaseAction(view.report_id, "note"))])
        closing = ((_("✅ Confirm the closing"), CaseAction(view.report_id, "confirm")) if view.close_requested_by
                   else (_("📁 Ask to close"), CaseAction(view.report_id, "close")))
        rows.append([(_("🏠 Home visit"), CaseAction(view.report_id, "visit")), closing])
        if supervisor:
            rows.append([(_("👥 Add someone to the case"), CaseAction(view.report_id, "add"))])
    if view.handler:
        rows.append([(_("◀ Open cases"), CaseList())])
    return rows


async def _show_case(update: Update, context: BotContext, report_id: int, *, new: bool,
                     view: CaseView | None = None) -> None:
    actor = await context.actor()
    if view is None:
        view = await context.services.safety.case(actor, report_id)
    text = _case_text(context, view, await _zone(update, context))
    markup = keyboard(_case_rows(context, view, actor.person_id, supervisor=actor.has_role(SUPERVISOR)))
    if new:
        await reply(update, text, reply_markup=markup, parse_mode=HTML)
    else:
        await replace_or_reply(update, text, reply_markup=markup, parse_mode=HTML)


async def on_sfo_button(update: Update, context: BotContext, payload: OpenCase) -> None:
    await _show_case(update, context, payload.report, new=True)
    await _answer(update)


# A handler's action that needs words first: what to ask, and the buttons offered beside typing.
PROMPTS = {
    "acc": N_("The police accepted the case. Add a note (the station, the case number), or press Skip."),
    "help": N_("Which help is under way? Press one, or type it."),
    "fb": N_("What did the police say? Type their feedback."),
    "note": N_("Type the note."),
    "visit": N_("When was the home visit? Press a day, or type the date."),
    "visit-note": N_("What did you find at the visit? Type it."),
    "visit-outcome": N_("How is the child's situation since the last time? Press one, or type it."),
    "close": N_("Why can the case be closed? Press a reason, or type it. A second person must confirm."),
}


async def _handling(context: BotContext, report_id: int) -> CaseView:
    """The case, if the presser handles it; refused (nothing disclosed) otherwise."""
    view = await context.services.safety.case(await context.actor(), report_id)
    if not view.handler:
        raise NotAllowed("safety", HANDLERS_ONLY)
    if view.closed_at is not None:
        raise UserError(CLOSED_ALREADY)
    return view


def _prompt_rows(context: BotContext, report_id: int, stage: str) -> list:
    _ = context.gettext
    options: list = []
    if stage == "acc":
        options = [[(_("Skip"), CaseAction(report_id, "acc", "skip"))]]
    elif stage == "help":
        options = [[(_(label), CaseAction(report_id, "help", key))] for key, label in HELP_KINDS.items()]
    elif stage == "visit":
        options = [[(_("Today"), CaseAction(report_id, "visit", "today")),
                    (_("Yesterday"), CaseAction(report_id, "visit", "yday"))]]
    elif stage == "visit-outcome":
        options = [[(_(label), CaseAction(report_id, "visit", key)) for key, label in OUTCOMES.items()]]
    elif stage == "close":
        options = [[(_(label), CaseAction(report_id, "close", key))] for key, label in CLOSE_REASONS.items()]
    return [*options, [(_("✖ Cancel"), CaseAction(report_id, "stop"))]]


async def _ask(update: Update, context: BotContext, report_id: int, stage: str, state: dict) -> None:
    await dialogue.begin(context, NOTE, {"report": report_id, "stage": stage, **state}, ttl=NOTE_TTL)
    await replace_or_reply(update, context.gettext(PROMPTS[stage]),
                           reply_markup=keyboard(_prompt_rows(context, report_id, stage)))


async def _done(update: Update, context: BotContext, report_id: int, said: str, view: CaseView | None = None) -> None:
    """An action is recorded: end the note, say so, and show the case as it is now."""
    await dialogue.end(context, NOTE)
    if update.callback_query is not None:
        await _answer(update, said)
    else:
        await reply(update, said)
    await _show_case(update, context, report_id, new=update.callback_query is None, view=view)


async def on_sfx_button(update: Update, context: BotContext, payload: CaseAction) -> None:
    _ = context.gettext
    safety = context.services.safety
    actor = await context.actor()
    report_id, act, choice = payload.report, payload.act, payload.choice
    if act == "stop":
        await dialogue.end(context, NOTE)
        await _answer(update)
        await replace_or_reply(update, _("Cancelled. Nothing was added to the case."))
        return
    if act == "media":
        await _send_media(update, context, await safety.case(actor, report_id))
        return
    await _handling(context, report_id)
    if act == "confirm":
        view = await safety.confirm_close(actor, report_id)
        await _done(update, context, report_id, _("The case is closed."), view)
    elif act == "add" and (choice is None or (choice[:1] == "p" and choice[1:].isdigit())):
        people = await safety.addable(actor, report_id)
        await _answer(update)
        if not people:
            await reply(update, _("Everyone on the township's staff who could help already knows of this case."))
            return
        shown = paged(_, [(_who(context, name, role), CaseAction(report_id, "add", str(person_id)))
                          for person_id, name, role in people],
                      int(choice[1:]) if choice else 0, lambda p: CaseAction(report_id, "add", f"p{p}"))
        text = _("Whom should this case be shared with? They are told at once, as the others were.") + shown.note(_)
        markup = keyboard([*shown.rows, [(_("◀ Back to the case"), OpenCase(report_id))]])
        # The first list is a new message under the case; ◀ ▶ turn that list's page in place.
        if choice is None:
            await reply(update, text, reply_markup=markup)
        else:
            await replace_or_reply(update, text, reply_markup=markup)
    elif act == "add" and choice.isdigit():
        view = await safety.add_person(actor, report_id, int(choice))
        await _done(update, context, report_id, _("Added: they are told now."), view)
    elif act == "acc" and choice == "skip":
        view = await safety.set_state(actor, report_id, "accepted", "")
        await _done(update, context, report_id, _("Recorded."), view)
    elif act == "help" and choice in HELP_KINDS:
        view = await safety.set_state(actor, report_id, "helping", _(HELP_KINDS[choice]))
        await _done(update, context, report_id, _("Recorded."), view)
    elif act == "close" and choice in CLOSE_REASONS:
        view = await safety.request_close(actor, report_id, _(CLOSE_REASONS[choice]))
        await _done(update, context, report_id, _("Recorded: a second person must confirm the closing."), view)
    elif act == "visit" and choice in ("today", "yday"):
        today = context.services.clock.now().astimezone(await _zone(update, context)).date()
        day = today - timedelta(days=0 if choice == "today" else 1)
        await _answer(update)
        await _ask(update, context, report_id, "visit-note", {"on": day.isoformat()})
    elif act == "visit" and choice in OUTCOMES:
        open_ = await dialogue.current(context, NOTE)
        if open_ is None or open_.state.get("report") != report_id or open_.state.get("stage") != "visit-outcome":
            raise StaleButton()
        await _visit(update, context, open_, _(OUTCOMES[choice]))
    elif choice is None:
        await _answer(update)
        await _ask(update, context, report_id, act, {})
    else:
        raise StaleButton()


async def _visit(update: Update, context: BotContext, open_: Dialogue, outcome: str) -> None:
    state = open_.state
    view = await context.services.safety.add_note(await context.actor(), state["report"], state.get("note", ""),
                                                  visit=True, visited_on=date.fromisoformat(state["on"]),
                                                  outcome=outcome)
    await _done(update, context, state["report"], context.gettext("Recorded."), view)


async def on_note_input(update: Update, context: BotContext, open_: Dialogue) -> bool:
    """The words a case action asked for. Anything but text gets the question again."""
    _ = context.gettext
    text = (update.effective_message.text or "").strip()
    state = dict(open_.state)
    report_id, stage = state["report"], state["stage"]
    if not text:
        await reply(update, _(PROMPTS[stage]), reply_markup=keyboard(_prompt_rows(context, report_id, stage)))
        return True
    text = text[:LIMITS["note"]]
    safety, actor = context.services.safety, await context.actor()
    if stage == "visit":
        today = context.services.clock.now().astimezone(await _zone(update, context)).date()
        day = parse_date(text, today)
        await _ask(update, context, report_id, "visit-note", {"on": day.isoformat()})
        return True
    if stage == "visit-note":
        await _ask(update, context, report_id, "visit-outcome", {"on": state["on"], "note": text})
        return True
    if stage == "visit-outcome":
        await _visit(update, context, open_, text)
        return True
    if stage in ("acc", "help"):
        view = await safety.set_state(actor, report_id, "accepted" if stage == "acc" else "helping", text)
    elif stage == "fb":
        view = await safety.record_feedback(actor, report_id, text)
    elif stage == "note":
        view = await safety.add_note(actor, report_id, text)
    elif stage == "close":
        view = await safety.request_close(actor, report_id, text)
    else:
        raise StaleButton()
    await _done(update, context, report_id, _("Recorded: a second person must confirm the closing.")
                if stage == "close" else _("Recorded."), view)
    return True


async def _send_media(update: Update, context: BotContext, view: CaseView) -> None:
    """The report's photos and voice notes, to someone who may see the case; never to be forwarded."""
    await _answer(update)
    chat, bot = update.effective_chat.id, update.get_bot()
    photos = [ref for kind, ref in view.media if kind == "photo"]
    if len(photos) > 1:
        for chunk in range(0, len(photos), 10):
            await bot.send_media_group(chat, [InputMediaPhoto(ref) for ref in photos[chunk:chunk + 10]],
                                       protect_content=True)
    elif photos:
        await bot.send_photo(chat, photos[0], protect_content=True)
    for kind, ref in view.media:
        if kind == "voice":
            await bot.send_voice(chat, ref, protect_content=True)
        elif kind == "video":
            await bot.send_video(chat, ref, protect_content=True)


# -- /reports -----------------------------------------------------------------------------------------------------

async def reports(update: Update, context: BotContext, page: int = 0) -> None:
    """/reports: the open cases this person may see, what is overdue, a button each (a page of them at a time);
    the ledger for those who keep it."""
    _ = context.gettext
    actor = await context.actor()
    lines = await context.services.safety.open_cases(actor)
    zone = await _zone(update, context)
    text = ["<b>" + _e(_("Open cases: {n}").format(n=len(lines))) + "</b>"]
    rows = []
    for line in lines:
        text.append("")
        text.append(_e(_("#{id} · {when} · {child} · {state}").format(
            id=line.report_id, when=_moment(context, line.reported_at, zone), child=line.child_name,
            state=_(STATE_LABELS.get(line.state, line.state)))))
        text.append(_e(situation_labels(line.situations, _)))
        if line.overdue:
            text.append("⏰ <b>" + _e(_(", ").join(_(OVERDUE_LABELS.get(c, c)) for c in line.overdue)) + "</b>")
        rows.append((_("#{id} {child}").format(id=line.report_id, child=line.child_name), OpenCase(line.report_id)))
    if not lines:
        text.append(_e(_("There is no open case you can see.")))
    markup = paged(_, rows, page, lambda p: ListPage("cases", p), per_row=2).rows
    if actor.has_role(ADMIN, SUPERVISOR):
        markup.append([(_("📊 Export the ledger"), ExportLedger())])
    await replace_or_reply(update, _fit(text), reply_markup=keyboard(markup), parse_mode=HTML)


async def on_sfl_button(update: Update, context: BotContext, payload: CaseList) -> None:
    await _answer(update)
    await reports(update, context)


async def on_sfe_button(update: Update, context: BotContext, payload: ExportLedger) -> None:
    _ = context.gettext
    data = await context.services.safety.ledger(await context.actor(), context.locale)
    await _answer(update)
    day = context.services.clock.now().astimezone(await _zone(update, context)).date()
    await update.get_bot().send_document(
        update.effective_chat.id, data, filename=_("mandatory-reports-{day}.xlsx").format(day=day.isoformat()),
        caption=_("The ledger of mandatory reports (强制报告台账): one row per case."), protect_content=True)


DIALOGUES = [Kind(REPORT, on_report_input, cancelled=NOT_SENT),
             Kind(NOTE, on_note_input, cancelled=N_("Cancelled. Nothing was added to the case."))]

_PRIVATE = filters.ChatType.PRIVATE


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("report", report, filters=_PRIVATE),
        CommandHandler("reports", reports, filters=_PRIVATE),
        on_button(ReportStep, on_sfs_button),
        on_button(ReportAbout, on_sfc_button),
        on_button(ReportConcern, on_sfk_button),
        on_button(Acknowledge, on_sfa_button),
        on_button(OpenCase, on_sfo_button),
        on_button(CaseAction, on_sfx_button),
        on_button(CaseList, on_sfl_button),
        on_page("cases", reports),
        on_button(ExportLedger, on_sfe_button),
    ]
