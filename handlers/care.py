"""Writing to a child's family: /update, /score, /goodnews, /summary and /talk share one form, drawn from
bot.musts.forms; the "Received" button under a card; /timeline, the child's growth record; /due, the five musts.

The form is the person's draft in the database (bot.musts.service), not conversation state: it survives a restart, and
photos of an album, which arrive as separate messages, all land in it. Every button carries the child and the
kind of form it belongs to and is checked against the open draft, so a button on an old form does nothing.

Messages (text, photos, voice) are taken here only when the person has a form open; otherwise a text goes on to
the fallback, and a photo or voice note is told how to send it.
"""

from __future__ import annotations

import logging

from telegram import (InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Message, Update)
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.musts import tracker as musts
from bot.musts.service import ACK, ADDED, DUPLICATE, FULL_UP, NO_MEDIA, TOO_LARGE, Draft, Incomplete, MediaIn, NoDraft
from bot.musts.cards import (DONE_MARK, DUE_MARK, MUST_LABELS, NOT_YET_MARK, OVERDUE_MARK, day_text, facts_lines,
                       field_lines, media_line, month_text, must_line, must_mark)
from bot.runtime.context import BotContext
from bot.musts.forms import CHOICE, FORMS, GOODNEWS, KINDS, MULTI, SCORE, SUMMARY, TALK, UPDATE, BadValue, next_field
from bot.musts.media import MAX_DOWNLOAD_BYTES
from bot.access.people import AlreadyAcknowledged, NoConsent, NotAllowed
from bot.access.policy import TEACHER
from handlers import fallback
from handlers.common import child_keyboard, current_actor, replace_or_reply, reply, user_locale, user_translator

log = logging.getLogger(__name__)

PREFIX = "care"       # care:<child>:<kind code>:<action>[:<field>[:<choice>]]
TIMELINE = "tl"       # tl:<child>:<page>
MEDIA = "tm"          # tm:<entry>
CODES = {UPDATE: "u", SCORE: "s", GOODNEWS: "g", SUMMARY: "m", TALK: "t"}
KIND_OF = {code: kind for kind, code in CODES.items()}
MAX_CHILD_BUTTONS = 30


def _data(draft: Draft, action: str, *rest: str) -> str:
    return ":".join((PREFIX, str(draft.child_id), CODES[draft.kind], action, *rest))


def _no_consent_text(_, child: str) -> str:
    return _("{child}'s parents have not yet agreed to the data rules, so nothing can be recorded or sent "
             "about {child} yet. The class teacher can help them: /privacy.").format(child=child)


# -- starting a form ----------------------------------------------------------------------------------------

def _command(kind: str):
    async def start_form(update: Update, context: BotContext) -> None:
        _ = (await user_translator(update, context)).gettext
        actor = await current_actor(update, context)
        kids = await context.services.care.children(actor, kind)
        wanted = " ".join(context.args or []).strip()
        if wanted:
            kids = [k for k in kids if wanted in k.name]
        if not kids:
            await reply(update, _("Only the proxy parent or the class teacher of a child can send this, and "
                                  "you are neither for any child here."))
            return
        if len(kids) == 1:
            await _begin(update, context, kids[0].id, kind)
            return
        shown = kids[:MAX_CHILD_BUTTONS]
        await reply(update, _("Which child?") + _more(_, shown, kids),
                    reply_markup=child_keyboard(shown, lambda k: f"{PREFIX}:{k.id}:{CODES[kind]}:w"))
    start_form.__name__ = f"start_{kind}"
    return start_form


def _more(_, shown: list, kids: list) -> str:
    if len(kids) <= len(shown):
        return ""
    return _("\n(Showing {shown} of {total}: add part of the name after the command.)").format(
        shown=len(shown), total=len(kids))


async def _begin(update: Update, context: BotContext, child_id: int, kind: str) -> None:
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    service = context.services.care
    old = await service.draft(actor)
    try:
        draft = await service.start(actor, child_id, kind)
    except NoConsent as refusal:
        await replace_or_reply(update, _no_consent_text(_, refusal.child_name))
        return
    except NotAllowed:
        await replace_or_reply(update, _("You cannot write about this child."))
        return
    if old is not None and (old.fields or old.media):
        await reply(update, _("The unsent {what} about {child} was put aside.").format(
            what=_(old.spec.name), child=old.child_name))
    await _show(update, context, draft, new=update.callback_query is None)


# -- the form -----------------------------------------------------------------------------------------------

def _awaited(draft: Draft):
    if draft.awaiting:
        return draft.spec.field(draft.awaiting)
    return next_field(draft.spec, draft.fields)


async def _panel(context: BotContext, draft: Draft, _, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    spec = draft.spec
    lines = [_("{icon} {what} for {child}").format(icon=spec.icon, what=_(spec.name).capitalize(),
                                                   child=draft.child_name)]
    month = draft.fields.get("month")
    if draft.kind == SUMMARY and month:
        lines.append(month_text(month, locale))
        lines += facts_lines(_, await context.services.care.month_facts(draft.child_id, month), locale)
    lines += field_lines(_, spec, draft.fields, locale)
    extra = media_line(_, draft.photos, draft.voices)
    if extra:
        lines.append(extra)
    asked = _awaited(draft)
    rows: list[list[InlineKeyboardButton]] = []
    lines.append("")
    if asked is not None:
        lines.append(_(asked.prompt))
        buttons = []
        for choice in asked.choices:
            label = _(choice.label)
            if asked.type == MULTI and choice.key in (draft.fields.get(asked.key) or []):
                label = "✔ " + label
            buttons.append(InlineKeyboardButton(label, callback_data=_data(draft, "v", asked.key, choice.key)))
        per_row = 3 if asked.type in (CHOICE, MULTI) and len(buttons) > 4 else 2
        rows += [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]
        if asked.type == MULTI and draft.fields.get(asked.key):
            rows.append([InlineKeyboardButton(_("Done"), callback_data=_data(draft, "d"))])
        if not spec.sequential:
            rows.append([InlineKeyboardButton(_("◀ Back"), callback_data=_data(draft, "b"))])
    elif not spec.sequential:
        if len(spec.fields) > 1:
            buttons = [InlineKeyboardButton(("✔ " if draft.fields.get(f.key) else "") + f.icon + " " + _(f.label),
                                            callback_data=_data(draft, "f", f.key)) for f in spec.fields]
            rows += [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
        lines.append(_("Press a button to fill in, or just send photos or a voice note (a caption is welcome). "
                       "Then press Send.") if spec.media else _("Press a button to fill in, then press Send."))
    else:
        lines.append(_("All filled in. Press Send."))
    final = _("💾 Save") if draft.kind == TALK else _("📤 Send")
    rows.append([InlineKeyboardButton(final, callback_data=_data(draft, "s")),
                 InlineKeyboardButton(_("✖ Cancel"), callback_data=_data(draft, "c"))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def _show(update: Update, context: BotContext, draft: Draft, *, new: bool, group: str | None = None) -> None:
    """Draw the form: in place when answering one of its buttons, else as a new message (remembered, so the
    rest of an album can update it)."""
    locale = await user_locale(update, context)
    _ = (await user_translator(update, context)).gettext
    text, markup = await _panel(context, draft, _, locale)
    if not new and update.callback_query is not None:
        try:
            await replace_or_reply(update, text, reply_markup=markup)
        except BadRequest as exc:  # "message is not modified": the same press twice
            if "not modified" not in exc.message.lower():
                raise
        return
    if group is not None and draft.group == group and draft.panel is not None:
        try:
            await update.get_bot().edit_message_text(text, chat_id=update.effective_chat.id,
                                                     message_id=draft.panel, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
    sent = await reply(update, text, reply_markup=markup)
    await context.services.care.remember_panel(await current_actor(update, context), sent.message_id, group)


async def on_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    parts = (query.data or "").split(":")
    if len(parts) < 4 or not parts[1].isdigit() or parts[2] not in KIND_OF:
        await query.answer(_("This button is no longer valid."))
        return
    child_id, kind, action, rest = int(parts[1]), KIND_OF[parts[2]], parts[3], parts[4:]
    if action == "w":
        await query.answer()
        await _begin(update, context, child_id, kind)
        return
    actor = await current_actor(update, context)
    service = context.services.care
    draft = await service.draft(actor)
    if draft is None or draft.child_id != child_id or draft.kind != kind:
        await query.answer(_("This form is closed. Start again with /{command}.").format(command=kind))
        return
    try:
        if action == "f" and len(rest) == 1:
            draft = await service.ask(actor, rest[0])
        elif action == "b":
            draft = await service.ask(actor, None)
        elif action == "v" and len(rest) == 2:
            draft = await service.choose(actor, rest[0], rest[1])
        elif action == "d":
            draft = await service.ask(actor, None)
            if draft.spec.sequential:
                draft = await _past_multi(context, actor, draft)
        elif action == "s":
            await _send(update, context, actor)
            return
        elif action == "c":
            await service.discard(actor)
            await query.answer()
            await replace_or_reply(update, _("Cancelled. Nothing was sent."))
            return
        else:
            await query.answer(_("This button is no longer valid."))
            return
    except BadValue as bad:
        await query.answer(_(bad.message).format(**bad.hint), show_alert=True)
        return
    await query.answer()
    await _show(update, context, draft, new=False)


async def _past_multi(context: BotContext, actor, draft: Draft) -> Draft:
    """"Done" in a sequential form's multiple choice: move on to the field after it."""
    keys = [f.key for f in draft.spec.fields]
    current = next((f for f in draft.spec.fields if f.type == MULTI and draft.fields.get(f.key)), None)
    if current is None:
        return draft
    later = keys[keys.index(current.key) + 1:]
    following = next((k for k in later if not draft.fields.get(k)), None)
    return await context.services.care.ask(actor, following) if following else draft


async def _send(update: Update, context: BotContext, actor) -> None:
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    try:
        done = await context.services.care.submit(actor)
    except Incomplete as gap:
        message = _("Please fill in: {fields}.").format(fields=_(", ").join(_(f) for f in gap.fields)) \
            if gap.fields else _("The form is empty: fill in something, or send a photo or a voice note.")
        await query.answer(message, show_alert=True)
        return
    except NoConsent as refusal:
        await query.answer()
        await replace_or_reply(update, _no_consent_text(_, refusal.child_name))
        return
    except (NotAllowed, NoDraft):
        await query.answer(_("This form is closed."), show_alert=True)
        return
    await query.answer()
    spec = FORMS[done.kind]
    if done.kind == TALK:
        text = _("💾 The talk with {child} is recorded. The family is told only that it took place.").format(
            child=done.child_name)
    elif not done.recipients:
        text = _("💾 Saved in {child}'s record. No parent or guardian has joined yet, so nobody was sent it.").format(
            child=done.child_name)
    else:
        names = _(", ").join(r.name for r in done.recipients)
        text = _("📤 The {what} about {child} is on its way to {names}. You will hear when they press Received.").format(
            what=_(spec.name), child=done.child_name, names=names)
        waiting = [r.name for r in done.recipients if not r.reachable]
        if waiting:
            text += "\n" + _("{names} cannot be reached yet; it goes out as soon as they open the bot.").format(
                names=_(", ").join(waiting))
    await replace_or_reply(update, text)


# -- messages into an open form -----------------------------------------------------------------------------

async def on_text(update: Update, context: BotContext) -> None:
    actor = await current_actor(update, context)
    service = context.services.care
    if await service.draft(actor) is None:
        await fallback.unknown_message(update, context)
        return
    _ = (await user_translator(update, context)).gettext
    try:
        draft = await service.type(actor, update.effective_message.text or "")
    except BadValue as bad:
        await reply(update, "⚠️ " + _(bad.message).format(**bad.hint))
        return
    await _show(update, context, draft, new=True)


def _media_of(message: Message) -> tuple[MediaIn | None, int | None]:
    """The photo or voice note in a message, and the size of anything else it carries."""
    group = message.media_group_id
    if message.photo:
        best = message.photo[-1]
        return MediaIn("photo", best.file_id, best.file_unique_id, best.file_size, group), None
    if message.voice:
        v = message.voice
        return MediaIn("voice", v.file_id, v.file_unique_id, v.file_size, group), None
    other = message.document or message.video or message.audio or message.animation or message.video_note
    return None, getattr(other, "file_size", None)


async def on_media(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    message = update.effective_message
    actor = await current_actor(update, context)
    service = context.services.care
    draft = await service.draft(actor)
    item, other_size = _media_of(message)
    if draft is None:
        if item is not None and await service.children(actor, UPDATE):
            await reply(update, _("Whose is this? First choose the child with /update, then send the photos or "
                                  "voice notes again."))
        else:
            await fallback.unknown_message(update, context)
        return
    if item is None:
        if other_size is not None and other_size > MAX_DOWNLOAD_BYTES:
            await reply(update, _("That file is too large (more than 20 MB). Send photos or a voice note."))
        else:
            await reply(update, _("A form takes photos and voice notes only. Send the picture as a photo."))
        return
    try:
        draft, outcome = await service.add_media(actor, item, message.caption)
    except BadValue as bad:
        await reply(update, "⚠️ " + _(bad.message).format(**bad.hint))
        return
    if outcome == TOO_LARGE:
        await reply(update, _("That file is too large (more than 20 MB). Send photos or a voice note."))
    elif outcome == DUPLICATE:
        await reply(update, _("This photo or voice note is already in {child}'s record; it was not added "
                              "again.").format(child=draft.child_name))
    elif outcome == FULL_UP:
        await reply(update, _("That is as many as one {what} can hold (10 photos, 3 voice notes).").format(
            what=_(draft.spec.name)))
    elif outcome == NO_MEDIA:
        await reply(update, _("A {what} takes no photos or voice notes; use the buttons.").format(
            what=_(draft.spec.name)))
    elif outcome == ADDED:
        await _show(update, context, draft, new=True, group=item.group)


# -- "Received" --------------------------------------------------------------------------------------------

async def on_ack(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    parts = (query.data or "").split(":")
    if len(parts) != 2 or not parts[1].isdigit():
        await query.answer(_("This button is no longer valid."))
        return
    actor = await current_actor(update, context)
    try:
        await context.services.care.acknowledge(actor, int(parts[1]))
    except AlreadyAcknowledged:
        await query.answer(_("You already confirmed this."))
        return
    except NotAllowed:
        await query.answer(_("This button is no longer valid."))
        return
    await query.answer(_("Thank you. They will be told you received it."))
    if isinstance(query.message, Message):
        # The button stays, saying so; pressed again it only answers "already confirmed".
        done = InlineKeyboardMarkup([[InlineKeyboardButton(_("✅ Received ✔"), callback_data=query.data)]])
        try:
            await query.edit_message_reply_markup(done)
        except BadRequest:
            pass  # the confirmation is stored; the old button only looks pressable


# -- /timeline ----------------------------------------------------------------------------------------------

async def timeline(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    kids = await context.services.care.children(actor)
    wanted = " ".join(context.args or []).strip()
    if wanted:
        kids = [k for k in kids if wanted in k.name]
    if not kids:
        await reply(update, _("There is no child whose timeline you can see."))
        return
    if len(kids) == 1:
        await _timeline_page(update, context, kids[0].id, 0)
        return
    shown = kids[:MAX_CHILD_BUTTONS]
    await reply(update, _("Whose timeline?") + _more(_, shown, kids),
                reply_markup=child_keyboard(shown, lambda k: f"{TIMELINE}:{k.id}:0"))


async def _timeline_page(update: Update, context: BotContext, child_id: int, page: int) -> None:
    _ = (await user_translator(update, context)).gettext
    locale = await user_locale(update, context)
    actor = await current_actor(update, context)
    try:
        shown = await context.services.care.timeline(actor, child_id, page, locale)
    except NoConsent as refusal:
        await replace_or_reply(update, _no_consent_text(_, refusal.child_name))
        return
    except NotAllowed:
        await replace_or_reply(update, _("You cannot see this child's timeline."))
        return
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
            label = _("📷 {day}").format(day=day_text(item.entry.occurred_on, locale))
            rows.append([InlineKeyboardButton(label, callback_data=f"{MEDIA}:{item.entry.id}")])
    nav = []
    if shown.page > 0:
        nav.append(InlineKeyboardButton(_("◀ Newer"), callback_data=f"{TIMELINE}:{child_id}:{shown.page - 1}"))
    if shown.page + 1 < shown.pages:
        nav.append(InlineKeyboardButton(_("Older ▶"), callback_data=f"{TIMELINE}:{child_id}:{shown.page + 1}"))
    if nav:
        rows.append(nav)
    await replace_or_reply(update, "\n".join(lines)[:4096], reply_markup=InlineKeyboardMarkup(rows) if rows else None)


async def on_timeline_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    parts = (query.data or "").split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        _ = (await user_translator(update, context)).gettext
        await query.answer(_("This button is no longer valid."))
        return
    await query.answer()
    await _timeline_page(update, context, int(parts[1]), int(parts[2]))


async def on_media_button(update: Update, context: BotContext) -> None:
    """Show an entry's photos and voice notes again, to someone who may read the entry."""
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    parts = (query.data or "").split(":")
    actor = await current_actor(update, context)
    try:
        if len(parts) != 2 or not parts[1].isdigit():
            raise NotAllowed("media")
        _entry, media = await context.services.care.entry_media(actor, int(parts[1]))
    except (NotAllowed, NoConsent):
        await query.answer(_("This button is no longer valid."))
        return
    await query.answer()
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
    _ = (await user_translator(update, context)).gettext
    locale = await user_locale(update, context)
    actor = await current_actor(update, context)
    rows = await context.services.care.due(actor)
    if not rows:
        await reply(update, _("/due is for proxy parents and class teachers: there is nothing for you to track."))
        return
    teacher = any(g.role == TEACHER for g in actor.grants)
    if teacher and len(rows) > 1:
        head = " ".join(_(MUST_LABELS[k]) for k in (musts.UPDATE, musts.PHOTOS, musts.SUMMARY, musts.TALK))
        lines = [_("The five musts, {day}").format(day=day_text(context.services.care.today(), locale)),
                 _("{done} done · {not_yet} not yet due · {due} due · {overdue} overdue").format(
                     done=DONE_MARK, not_yet=NOT_YET_MARK, due=DUE_MARK, overdue=OVERDUE_MARK),
                 "", head]
        behind = 0
        for row in rows:
            marks = "".join(must_mark(m) for m in row.musts)
            behind += any(m.state == musts.OVERDUE for m in row.musts)
            lines.append(f"{marks}  {row.child.name}")
        lines += ["", _("{n} of {total} children have something overdue.").format(n=behind, total=len(rows))]
    else:
        lines, days = [], context.services.care.rules.update_every_days
        for row in rows:
            lines += [f"👧 {row.child.name}", *(must_line(_, m, locale, days) for m in row.musts), ""]
    await reply(update, "\n".join(lines).strip()[:4096])


_CARERS = filters.ChatType.PRIVATE
HANDLERS = [
    *(CommandHandler(kind, _command(kind), filters=_CARERS) for kind in KINDS),
    CommandHandler("timeline", timeline, filters=_CARERS),
    CommandHandler("due", due, filters=_CARERS),
    CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    CallbackQueryHandler(on_ack, pattern=rf"^{ACK}:"),
    CallbackQueryHandler(on_timeline_button, pattern=rf"^{TIMELINE}:"),
    CallbackQueryHandler(on_media_button, pattern=rf"^{MEDIA}:"),
    MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, on_text),
    MessageHandler(filters.ChatType.PRIVATE & (filters.PHOTO | filters.VOICE | filters.Document.ALL | filters.VIDEO
                                               | filters.AUDIO | filters.ANIMATION | filters.VIDEO_NOTE), on_media),
]
