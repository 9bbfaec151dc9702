"""The five musts (五个必须): /update, /score, /goodnews, /summary and /talk, the child's /letter and the home
/visit (家访) share one form, drawn from bot.musts.forms; "Received" under a card; /timeline, the child's growth record; /due, what is done and owed.

The form is the person's draft in the database (bot.musts.service): it survives a restart, and the photos of an
album, which arrive as separate messages, all land in it. While it is open the person is in a "form" dialogue
(handlers.dialogue), which takes their typed words, photos and voice notes. Every button carries the child and
the kind of form it belongs to (bot.musts.buttons) and is checked against the open draft, so a button on an old
form does nothing.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import InputMediaPhoto, Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.access.policy import TEACHER
from bot.dialogues import Dialogue
from bot.errors import NotAllowed, StaleButton
from bot.i18n import N_
from bot.musts import tracker as musts
from bot.musts.buttons import CODES, EntryMedia, FormStep, Received, TimelinePage, open_form
from bot.musts.cards import (DONE_MARK, DUE_MARK, MUST_LABELS, NOT_YET_MARK, OVERDUE_MARK, day_text, facts_lines,
                             field_lines, media_line, month_text, must_line, must_mark)
from bot.musts.forms import CHOICE, FORMS, KINDS, MULTI, SUMMARY, TALK, UPDATE, VISIT, next_field
from bot.musts.media import MAX_DOWNLOAD_BYTES
from bot.musts.service import DRAFT_LIFETIME, Draft, FileTooLarge, MediaIn, PhotosAndVoiceOnly
from bot.runtime.context import BotContext
from bot.safety.buttons import CONCERN_LABEL, REPORT_LABEL, ReportAbout, ReportConcern
from bot.safety.concerns import worries
from handlers import dialogue, fallback
from handlers.common import ListPage, child_page, keyboard, on_button, on_page, replace_or_reply, reply, rows_of
from handlers.dialogue import Kind

FORM = "form"
# Outlives the draft (DRAFT_LIFETIME): the first message after a draft expired still reaches the form, which
# finds the draft gone, throws it away and lets the message go on.
FORM_TTL = DRAFT_LIFETIME + timedelta(days=1)
# How many messages may follow the form's card before it is off a phone's screen (photos are tall): up to
# this many, what is sent redraws the card in place; after that the card moves down below them. Telegram
# numbers a private chat's messages in one sequence, both directions.
ON_SCREEN = 4


# -- starting a form ----------------------------------------------------------------------------------------

def _form_command(kind: str):
    async def start_form(update: Update, context: BotContext) -> None:
        _ = context.gettext
        kids = _named(await context.services.musts.children(await context.actor(), kind), context.args)
        if not kids:
            raise NotAllowed("write", N_("Only the proxy parent or the class teacher of a child can send this, "
                                         "and you are neither for any child here."))
        if len(kids) == 1:
            await _begin(update, context, kids[0].id, kind)
            return
        await _form_picker(update, context, kind, kids, 0)
    start_form.__name__ = start_form.__qualname__ = kind
    return start_form


async def _form_picker(update: Update, context: BotContext, kind: str, kids: list, page: int) -> None:
    """Which child, a page at a time: a teacher of forty reaches the fortieth."""
    _ = context.gettext
    shown = child_page(_, kids, page, lambda k: open_form(k.id, kind), lambda p: ListPage(_picker_list(kind), p))
    await replace_or_reply(update, _("Which child?") + shown.note(_), reply_markup=keyboard(shown.rows))


def _picker_list(kind: str) -> str:
    return f"form.{CODES[kind]}"


def _form_pages(kind: str):
    async def turn(update: Update, context: BotContext, page: int) -> None:
        kids = await context.services.musts.children(await context.actor(), kind)
        await _form_picker(update, context, kind, kids, page)
    return turn


def _named(kids: list, args: list[str] | None) -> list:
    """The children whose name holds what was typed after the command, if anything was."""
    wanted = " ".join(args or []).strip()
    return [k for k in kids if wanted in k.name] if wanted else kids


async def _begin(update: Update, context: BotContext, child_id: int, kind: str, *, below: bool = False) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.musts
    old = await service.draft(actor)
    draft = await service.start(actor, child_id, kind)
    if old is not None and (old.fields or old.media):
        await reply(update, _("The unsent {what} about {child} was put aside.").format(
            what=_(old.spec.name), child=old.child_name))
    await _show(update, context, draft, new=below or update.callback_query is None)


# -- the form -----------------------------------------------------------------------------------------------

def _awaited(draft: Draft):
    if draft.awaiting:
        return draft.spec.field(draft.awaiting)
    return next_field(draft.spec, draft.fields)


def _step(draft: Draft, step: str, field: str | None = None, choice: str | None = None) -> FormStep:
    return FormStep(draft.child_id, CODES[draft.kind], step, field, choice)


async def _panel(context: BotContext, draft: Draft) -> tuple[str, list]:
    """The form as it stands: its text, and rows of (label, payload)."""
    _, locale, spec = context.gettext, context.locale, draft.spec
    lines = [_("{icon} {what} for {child}").format(icon=spec.icon, what=_(spec.name).capitalize(),
                                                   child=draft.child_name)]
    month = draft.fields.get("month")
    if draft.kind == SUMMARY and month:
        lines.append(month_text(month, locale))
        lines += facts_lines(_, await context.services.musts.month_facts(draft.child_id, month), locale, month)
    lines += field_lines(_, spec, draft.fields, locale)
    extra = media_line(_, draft.photos, draft.voices)
    if extra:
        lines.append(extra)
    asked = _awaited(draft)
    rows: list[list] = []
    lines.append("")
    if asked is not None:
        lines.append(_(asked.prompt))
        chosen = draft.fields.get(asked.key) or []
        buttons = [(("✔ " if asked.type == MULTI and choice.key in chosen else "") + _(choice.label),
                    _step(draft, "v", asked.key, choice.key)) for choice in asked.choices]
        rows += rows_of(buttons, 3 if asked.type in (CHOICE, MULTI) and len(buttons) > 4 else 2)
        if asked.type == MULTI and chosen:
            rows.append([(_("Done"), _step(draft, "d"))])
        if not spec.sequential:
            rows.append([(_("◀ Back"), _step(draft, "b"))])
    elif not spec.sequential:
        if len(spec.fields) > 1:
            rows += rows_of([(("✔ " if draft.fields.get(f.key) else "") + f.icon + " " + _(f.label),
                              _step(draft, "f", f.key)) for f in spec.fields], 3)
        if draft.kind == TALK:  # the talk form's button is "Save": the words say so
            lines.append(_("Press a button to fill in, then press Save."))
        elif draft.kind == VISIT:
            lines.append(_("Press a button to fill in, or just send photos or a voice note of what you found. "
                           "Then press Save."))
        else:
            lines.append(_("Press a button to fill in, or just send photos or a voice note (a caption is welcome). "
                           "Then press Send.") if spec.media else _("Press a button to fill in, then press Send."))
    else:
        lines.append(_("All filled in. Press Save.") if draft.kind == TALK else _("All filled in. Press Send."))
    if draft.kind == TALK:
        # A talk can bring out that the child is in danger: the report is one press away, for this child.
        rows.append([(_(REPORT_LABEL), ReportAbout(draft.child_id))])
    # A talk, and a home visit (staff only unless shared), are kept rather than sent.
    rows.append([(_("💾 Save") if draft.kind in (TALK, VISIT) else _("📤 Send"), _step(draft, "s")),
                 (_("✖ Cancel"), _step(draft, "c"))])
    return "\n".join(lines), rows


async def _show(update: Update, context: BotContext, draft: Draft, *, new: bool) -> None:
    """Draw the form. There is one live card: a press redraws it in place; a photo, voice note or typed line
    redraws it in place while it is still on the screen (ON_SCREEN), else the card moves down below what was
    sent and the old one is removed, so no stale card stays pressable. `new`: a fresh card (a command).
    Every change to the form comes through here, so here the form's dialogue is opened, or renewed."""
    await dialogue.begin(context, FORM, {"child": draft.child_id, "kind": draft.kind}, child_id=draft.child_id,
                         ttl=FORM_TTL)
    text, rows = await _panel(context, draft)
    markup = keyboard(rows)
    query, service, actor = update.callback_query, context.services.musts, await context.actor()
    if not new and query is not None:
        await replace_or_reply(update, text, reply_markup=markup)
        if isinstance(query.message, Message) and query.message.is_accessible and \
                query.message.message_id != draft.panel:
            await service.remember_panel(actor, query.message.message_id)
        return
    panel, here = draft.panel, update.effective_message.message_id if update.effective_message else None
    if not new and panel is not None and here is not None and here - panel <= ON_SCREEN:
        try:  # an album's panel unchanged counts as edited (bot.runtime.telegram._already_done)
            await update.get_bot().edit_message_text(text, chat_id=update.effective_chat.id, message_id=panel,
                                                     reply_markup=markup)
            return
        except BadRequest:
            pass  # the card is gone or too old to edit: a new one below
    sent = await reply(update, text, reply_markup=markup)
    await service.remember_panel(actor, sent.message_id)
    if panel is not None and panel != sent.message_id:
        await _retire(update, panel)


async def _retire(update: Update, message_id: int) -> None:
    """The card that moved down: deleted, or (too old to delete) left without its buttons."""
    bot, chat = update.get_bot(), update.effective_chat.id
    try:
        await bot.delete_message(chat, message_id)
    except BadRequest:
        try:
            await bot.edit_message_reply_markup(chat, message_id, reply_markup=None)
        except BadRequest:
            pass  # gone already


async def on_care_button(update: Update, context: BotContext, payload: FormStep) -> None:
    query = update.callback_query
    if payload.step in ("w", "n"):
        await _begin(update, context, payload.child, payload.kind, below=payload.step == "n")
        await query.answer()
        return
    actor = await context.actor()
    service = context.services.musts
    await service.form(actor, payload.child, payload.kind)
    if payload.step == "s":
        await _send(update, context)
        return
    if payload.step == "c":
        await service.discard(actor)
        await dialogue.end(context, FORM)
        await query.answer()
        await replace_or_reply(update, context.gettext("Cancelled. Nothing was sent."))
        return
    if payload.step == "f" and payload.field:
        draft = await service.ask(actor, payload.field)
    elif payload.step == "b":
        draft = await service.ask(actor, None)
    elif payload.step == "v" and payload.field and payload.choice:
        draft = await service.choose(actor, payload.field, payload.choice)
    elif payload.step == "d":
        draft = await service.done_choosing(actor)
    else:
        raise StaleButton()
    await query.answer()
    await _show(update, context, draft, new=False)


async def _send(update: Update, context: BotContext) -> None:
    _ = context.gettext
    sending = await context.services.musts.draft(await context.actor())
    done = await context.services.musts.submit(await context.actor())
    await dialogue.end(context, FORM)
    await update.callback_query.answer()
    if done.kind == TALK:
        text = _("💾 The talk with {child} is recorded. The family is told only that it took place.").format(
            child=done.child_name)
    elif not done.for_family:
        text = _("💾 The home visit for {child} is recorded, for the staff only: the family is not sent it.").format(
            child=done.child_name)
    elif not done.recipients:
        text = _("💾 Saved in {child}'s record. No parent or guardian has joined yet, so nobody was sent it.").format(
            child=done.child_name)
    else:
        names = _(", ").join(r.name for r in done.recipients)
        text = _("📤 The {what} about {child} is on its way to {names}. You will hear when they press Received.").format(
            what=_(FORMS[done.kind].name), child=done.child_name, names=names)
        waiting = [r.name for r in done.recipients if not r.reachable]
        if waiting:
            text += "\n" + _("{names} cannot be reached yet; it goes out as soon as they open the bot.").format(
                names=_(", ").join(waiting))
    # A worry in what was written (a talk's concerns, an update's health or mood) may be a child in danger.
    worried = sending is not None and worries(done.kind, sending.fields)
    concern = keyboard([[(_(CONCERN_LABEL), ReportConcern("t" if done.kind == TALK else "u", done.entry_id))]])
    await replace_or_reply(update, text, reply_markup=concern if worried else None)


# -- messages into an open form -----------------------------------------------------------------------------

def _media_of(message: Message) -> tuple[MediaIn | None, int | None]:
    """The photo or voice note in a message, and the size of anything else it carries."""
    if message.photo:
        best = message.photo[-1]
        return MediaIn("photo", best.file_id, best.file_unique_id, best.file_size), None
    if message.voice:
        v = message.voice
        return MediaIn("voice", v.file_id, v.file_unique_id, v.file_size), None
    other = message.document or message.video or message.audio or message.animation or message.video_note
    return None, (other.file_size or 0) if other is not None else None


async def on_form_input(update: Update, context: BotContext, form: Dialogue) -> bool:
    """Typed words, photos and voice notes while a form is open. Anything else (a sticker, a location, a file
    sent with a command as its caption) goes on to the other handlers."""
    message = update.effective_message
    actor = await context.actor()
    service = context.services.musts
    item, other_size = _media_of(message)
    if (message.text is None and item is None and other_size is None) or (message.caption or "").startswith("/"):
        return False
    draft = await service.draft(actor)
    if draft is None:  # sent or cancelled with its buttons, or expired
        await dialogue.end(context, FORM)
        return False
    if message.text is not None:
        draft = await service.type(actor, message.text)
    elif item is None:
        raise FileTooLarge() if other_size > MAX_DOWNLOAD_BYTES else PhotosAndVoiceOnly()
    else:
        draft = await service.add_media(actor, item, message.caption)
    await _show(update, context, draft, new=False)
    return True


async def on_cancelled_form(context: BotContext, form: Dialogue) -> None:
    await context.services.musts.discard(await context.actor())


async def unclaimed_media(update: Update, context: BotContext) -> None:
    """A photo or voice note with no form open: whose is it?"""
    if not await context.services.musts.children(await context.actor(), UPDATE):
        await fallback.unknown_message(update, context)
        return
    await reply(update, context.gettext("Whose is this? First choose the child with /update, then send the photos "
                                        "or voice notes again."))


# -- "Received" --------------------------------------------------------------------------------------------

async def on_cack_button(update: Update, context: BotContext, payload: Received) -> None:
    _ = context.gettext
    query = update.callback_query
    await context.services.musts.acknowledge(await context.actor(), payload.delivery)
    await query.answer(_("Thank you. They will be told you received it."))
    if isinstance(query.message, Message):
        # The button stays, saying so; pressed again it only answers "already confirmed".
        try:
            await query.edit_message_reply_markup(keyboard([[(_("✅ Received ✔"), payload)]]))
        except BadRequest:
            pass  # the confirmation is stored; the old button only looks pressable


# -- /timeline ----------------------------------------------------------------------------------------------

async def timeline(update: Update, context: BotContext) -> None:
    _ = context.gettext
    kids = _named(await context.services.musts.children(await context.actor()), context.args)
    if not kids:
        raise NotAllowed("timeline", N_("There is no child whose timeline you can see."))
    if len(kids) == 1:
        await _timeline_page(update, context, kids[0].id, 0)
        return
    await _timeline_picker(update, context, kids, 0)


async def _timeline_picker(update: Update, context: BotContext, kids: list, page: int) -> None:
    _ = context.gettext
    shown = child_page(_, kids, page, lambda k: TimelinePage(k.id, 0), lambda p: ListPage("timeline", p))
    await replace_or_reply(update, _("Whose timeline?") + shown.note(_), reply_markup=keyboard(shown.rows))


async def _timeline_pages(update: Update, context: BotContext, page: int) -> None:
    await _timeline_picker(update, context, await context.services.musts.children(await context.actor()), page)


async def _timeline_page(update: Update, context: BotContext, child_id: int, page: int) -> None:
    _, locale = context.gettext, context.locale
    shown = await context.services.musts.timeline(await context.actor(), child_id, page, locale)
    if not shown.items:
        await replace_or_reply(update, _("Nothing has been recorded for {child} yet.").format(child=shown.child_name))
        return
    lines = [_("📖 {child}'s timeline ({page}/{pages})").format(child=shown.child_name, page=shown.page + 1,
                                                               pages=shown.pages)]
    rows = []
    for item in shown.items:
        lines += ["", item.text]
        if item.received_by:
            lines.append(_("✅ Received by {names}").format(names=_(", ").join(item.received_by)))
        if item.photos or item.voices:
            rows.append([(_("📷 {day}").format(day=day_text(item.entry.occurred_on, locale)), EntryMedia(item.entry.id))])
    nav = []
    if shown.page > 0:
        nav.append((_("◀ Newer"), TimelinePage(child_id, shown.page - 1)))
    if shown.page + 1 < shown.pages:
        nav.append((_("Older ▶"), TimelinePage(child_id, shown.page + 1)))
    await replace_or_reply(update, "\n".join(lines)[:4096], reply_markup=keyboard([*rows, nav]))


async def on_tl_button(update: Update, context: BotContext, payload: TimelinePage) -> None:
    await _timeline_page(update, context, payload.child, payload.page)
    await update.callback_query.answer()


async def on_tm_button(update: Update, context: BotContext, payload: EntryMedia) -> None:
    """Show an entry's photos and voice notes again, to someone who may read the entry."""
    _entry, media = await context.services.musts.entry_media(await context.actor(), payload.entry)
    await update.callback_query.answer()
    chat = update.effective_chat.id
    bot = update.get_bot()
    photos = [m for m in media if m.kind == "photo"]
    if len(photos) > 1:
        await bot.send_media_group(chat, [InputMediaPhoto(m.file_id) for m in photos], protect_content=True)
    elif photos:
        await bot.send_photo(chat, photos[0].file_id, protect_content=True)
    for voice in (m for m in media if m.kind == "voice"):
        await bot.send_voice(chat, voice.file_id, protect_content=True)


# -- /due ---------------------------------------------------------------------------------------------------

async def due(update: Update, context: BotContext) -> None:
    _, locale = context.gettext, context.locale
    actor = await context.actor()
    service = context.services.musts
    rows = await service.due(actor)
    if not rows:
        await reply(update, _("/due is for proxy parents and class teachers: there is nothing for you to track."))
        return
    if any(g.role == TEACHER for g in actor.grants) and len(rows) > 1:
        # The class's children owe the home visit too; a child only reached as a proxy parent does not.
        keys = [musts.UPDATE, musts.PHOTOS, musts.SUMMARY, musts.TALK, musts.LETTER, musts.VISIT]
        keys = [k for k in keys if any(m.key == k for row in rows for m in row.musts)]
        head = " ".join(_(MUST_LABELS[k]) for k in keys)
        lines = [_("The five musts, {day}").format(day=day_text(service.today(), locale)),
                 _("{done} done · {not_yet} not yet due · {due} due · {overdue} overdue").format(
                     done=DONE_MARK, not_yet=NOT_YET_MARK, due=DUE_MARK, overdue=OVERDUE_MARK),
                 "", head]
        lines += [f"{''.join(_marks(row.musts, keys))}  {row.child.name}" + (_flag(_, row.musts)) for row in rows]
        behind = sum(any(m.state == musts.OVERDUE for m in row.musts) for row in rows)
        lines += ["", _("{n} of {total} children have something overdue.").format(n=behind, total=len(rows))]
    else:
        lines, days = [], service.rules.update_every_days
        for row in rows:
            lines += [f"🧒 {row.child.name}", *(must_line(_, m, locale, days) for m in row.musts), ""]
    await reply(update, "\n".join(lines).strip()[:4096])


def _flag(_, found: list[musts.Must]) -> str:
    """After a flagged child's name in /due's table: a home visit is owed this month (guardianship assessed 差)."""
    if any(m.flagged and m.state != musts.DONE for m in found):
        return " " + _("⚠️ needs a home visit")
    return ""


def _marks(found: list[musts.Must], keys: list[str]) -> list[str]:
    """A row of /due's table, a column per key; a must this child does not owe leaves its column blank."""
    by_key = {m.key: m for m in found}
    return [must_mark(by_key[k]) if k in by_key else "　" for k in keys]


DIALOGUES = [Kind(FORM, on_form_input, cancelled=N_("Cancelled. Nothing was sent."), on_cancel=on_cancelled_form)]

_PRIVATE = filters.ChatType.PRIVATE
_MEDIA = filters.PHOTO | filters.VOICE


def handlers() -> list[BaseHandler]:
    return [
        *(CommandHandler(kind, _form_command(kind), filters=_PRIVATE) for kind in KINDS),
        CommandHandler("timeline", timeline, filters=_PRIVATE),
        CommandHandler("due", due, filters=_PRIVATE),
        on_button(FormStep, on_care_button),
        on_button(Received, on_cack_button),
        on_button(TimelinePage, on_tl_button),
        on_page("timeline", _timeline_pages),
        *(on_page(_picker_list(kind), _form_pages(kind)) for kind in KINDS),
        on_button(EntryMedia, on_tm_button),
        MessageHandler(_PRIVATE & filters.UpdateType.MESSAGE & _MEDIA, unclaimed_media),
    ]
