"""/privacy, consent, withdrawal, /mydata and erasure requests.

Parents and guardians read the children's data rules, agree or say no with big buttons, take their yes
back, get a copy of everything stored (/mydata) and ask for erasure, which a school admin confirms
(/deletions). Every button carries only ids and is checked again against the presser's current roles.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from babel.dates import format_date
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.access.consent import AWAITING, GIVEN, REFUSED, RULES_VERSION, WITHDRAWN
from bot.runtime.context import BotContext
from bot.i18n import N_, format_datetime, translator
from bot.access.people import Actor, NoConsent, NotAllowed
from bot.access.policy import DECIDE_DELETION, can
from bot.records.fields import BY_KEY, display
from handlers.common import CHANNEL, current_actor, user_locale, user_translator
from storage.children import ChildRow
from storage.deletions import DeletionRequest

log = logging.getLogger(__name__)

# Callback data is `prefix:id[:step]`; the id is checked again on every press.
CONSENT, WITHDRAW, DELETE, COPY, ERASE = "consent", "withdraw", "delete", "mydata", "erase"
# Steps: a bare id asks to confirm; yes/no answer. An admin's yes asks again: sure erases, back returns.
YES, NO, SURE, BACK = "yes", "no", "sure", "back"
_ID = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class OwnChild:
    """A child this person is a parent or guardian of: where sharing stands, and their own answer."""

    child: ChildRow
    state: str  # given / awaiting / withdrawn, for the child as a whole
    own: str    # this person's latest decision, or awaiting


async def _own_children(context: BotContext, actor: Actor) -> dict[int, OwnChild]:
    own = await context.services.consent.mine(actor)
    if not own:
        return {}
    return {s.child.id: OwnChild(s.child, s.consent, own[s.child.id])
            for s in await context.services.children.visible(actor) if s.child.id in own}


def _payload(data: str | None, prefix: str) -> list[str]:
    parts = (data or "").split(":")
    return parts[1:] if parts[0] == prefix else []


def _id(text: str) -> int | None:
    """An id from callback data: ASCII digits that fit SQLite's integer, else None (forged)."""
    return int(text) if _ID.fullmatch(text) else None


def _chat_id(update: Update) -> int:
    # Everything here happens in private chats, where the chat is the person (a button's message may be gone).
    return update.effective_chat.id if update.effective_chat else update.effective_user.id


async def _no_longer_valid(query: CallbackQuery, _) -> None:
    await query.answer(_("This button is no longer valid."))


async def _show(update: Update, context: BotContext, text: str, reply_markup: InlineKeyboardMarkup | None = None
                ) -> None:
    """Put the outcome where the button was; if that message is gone (deleted, or an inline message), send
    it anew: the change is made either way, and the person must see it."""
    query = update.callback_query
    if query.message is not None and query.message.is_accessible:
        await query.edit_message_text(text, reply_markup=reply_markup)
    else:
        await context.bot.send_message(_chat_id(update), text, reply_markup=reply_markup)


def _rules_date(locale: str) -> str:
    return format_date(date.fromisoformat(RULES_VERSION), "long", locale=locale)


def rules_text(_, locale: str) -> str:
    """The children's data rules, short paragraphs a grandparent can read on a phone."""
    return "\n\n".join([
        "📋 " + _("Qinqing Bridge: rules for children's information (version of {date})").format(
            date=_rules_date(locale)),
        "📝 " + _("What we keep: the child's name, sex, date of birth, school and class; personality, interests "
                 "and health (only what matters for care); the names, phones, workplaces and addresses of the "
                 "parents and the guardian; the ID number and any support received; and the news and photos "
                 "shared here."),
        "🎯 " + _("Why: only to look after the child, so that you, the teachers and the proxy parent can share "
                 "news, and the right person is reached in an emergency. If a child is in danger, the school "
                 "must report it to the police by law."),
        "👀 " + _("Who sees it: you and the child's other parents or guardian; the class teacher and the "
                 "school's care leaders; the proxy parent sees only what care needs (no phone numbers, "
                 "addresses, ID number or support). Nobody else. Every look and every change is recorded."),
        "✋ " + _("Until a parent or guardian agrees, nothing about the child is shared with anyone. You can say "
                 "no, or take back your yes, at any time with /privacy: then all sharing stops."),
        "⏳ " + _("How long: while the child is looked after through Qinqing Bridge, or until you ask for it "
                 "to be deleted."),
        "🗂 " + _("Your rights: /mydata sends you a file with everything stored about your child. In /privacy "
                 "you can ask for all of it to be deleted: a school admin confirms, then it is erased for good."),
    ])


def _consent_keyboard(child_id: int, _) -> InlineKeyboardMarkup:
    # One plain word a row: big targets for thumbs, and nothing to read but the answer.
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(_("I agree"), callback_data=f"{CONSENT}:{child_id}:{GIVEN}")],
        [InlineKeyboardButton(_("I do not agree"), callback_data=f"{CONSENT}:{child_id}:{REFUSED}")],
    ])


async def ask_consent(update: Update, context: BotContext, child_id: int) -> None:
    """Show the children's data rules to a parent or guardian who just joined, with consent buttons."""
    _ = (await user_translator(update, context)).gettext
    locale = await user_locale(update, context)
    actor = await current_actor(update, context)
    mine = (await _own_children(context, actor)).get(child_id)
    if mine is None:
        # Not (or no longer) this child's parent or guardian: the rules, but nothing to answer.
        log.warning("consent asked of person %s for child %s without a family role", actor.person_id, child_id)
        await context.bot.send_message(_chat_id(update), rules_text(_, locale))
        return
    name = mine.child.name
    text = "\n\n".join([
        _("Before anything about {name} is shared here, please read these rules and answer with a button "
          "below.").format(name=name),
        rules_text(_, locale),
        "❓ " + _("Do you agree that {name}'s information is used in this way?").format(name=name),
    ])
    await context.bot.send_message(_chat_id(update), text, reply_markup=_consent_keyboard(child_id, _))


def _sharing(mine: OwnChild, _) -> str:
    """Where sharing stands for the child, as the family member reads it."""
    if mine.state == GIVEN:
        return _("News about the child is shared with the carers.")
    if mine.state == WITHDRAWN and mine.own == GIVEN:
        return _("Another parent or guardian said no, so nothing is shared.")
    if mine.state == WITHDRAWN:
        return _("Nothing is shared.")
    return _("Nothing is shared yet.")


def _own_answer(mine: OwnChild, _) -> str:
    if mine.own == GIVEN:
        return _("You agreed.")
    if mine.own in (REFUSED, WITHDRAWN):
        return _("You said no.")
    return _("You have not answered yet.")


async def on_consent_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    parts = _payload(query.data, CONSENT)
    child_id = _id(parts[0]) if len(parts) == 2 else None
    if child_id is None or parts[1] not in (GIVEN, REFUSED):
        await _no_longer_valid(query, _)
        return
    decision = parts[1]
    actor = await current_actor(update, context)
    try:
        await context.services.consent.decide(actor, child_id, decision)
    except NotAllowed:
        await _no_longer_valid(query, _)
        return
    log.info("person %s decided %s for child %s", actor.person_id, decision, child_id)
    mine = (await _own_children(context, actor)).get(child_id)
    name = mine.child.name if mine else ""
    if decision == GIVEN:
        text = _("Thank you. Your agreement for {name} is recorded (rules of {date}).").format(
            name=name, date=_rules_date(await user_locale(update, context)))
        if mine is None or mine.state == GIVEN:
            text += "\n" + _("The teachers and carers can now see {name}'s record and send you news. You can take "
                             "it back at any time with /privacy.").format(name=name)
        else:
            text += "\n" + _sharing(mine, _)
    else:
        text = _("Your answer is recorded: you do not agree. Nothing about {name} is shared. If you change your "
                 "mind, send /privacy.").format(name=name)
    await query.answer()
    await _show(update, context, text)


def _family_keyboard(children: list[OwnChild], _) -> InlineKeyboardMarkup:
    def label(text: str, child: OwnChild) -> str:
        # With one child the buttons need no name; with several, each row says whose it is.
        return text if len(children) == 1 else f"{child.child.name} · {text}"

    rows = []
    for mine in children:
        cid = mine.child.id
        buttons = []
        if mine.own != GIVEN:
            buttons.append(InlineKeyboardButton(label("✅ " + _("Agree"), mine),
                                                callback_data=f"{CONSENT}:{cid}:{GIVEN}"))
        # Anyone of the family may stop sharing that is going on, even if another of them agreed.
        if mine.own == GIVEN or mine.state == GIVEN:
            buttons.append(InlineKeyboardButton(label("⛔ " + _("Stop sharing"), mine),
                                                callback_data=f"{WITHDRAW}:{cid}"))
        buttons += [
            InlineKeyboardButton(label("📄 " + _("Send me a copy"), mine), callback_data=f"{COPY}:{cid}"),
            InlineKeyboardButton(label("🗑 " + _("Ask to delete"), mine), callback_data=f"{DELETE}:{cid}"),
        ]
        rows += [[b] for b in buttons] if len(children) == 1 else [buttons]
    return InlineKeyboardMarkup(rows)


async def privacy(update: Update, context: BotContext) -> None:
    t = await user_translator(update, context)
    _ = t.gettext
    locale = await user_locale(update, context)
    actor = await current_actor(update, context)
    await update.effective_message.reply_text(rules_text(_, locale))
    children = list((await _own_children(context, actor)).values())
    if children:
        icons = {GIVEN: "✅", AWAITING: "⏳", WITHDRAWN: "⛔"}
        lines = [t.ngettext("Your child:", "Your children:", len(children))]
        for mine in children:
            lines += ["", f"{icons.get(mine.state, '')} {mine.child.name}", _own_answer(mine, _), _sharing(mine, _)]
        await update.effective_message.reply_text("\n".join(lines), reply_markup=_family_keyboard(children, _))
    if can(actor.grants, DECIDE_DELETION):
        await update.effective_message.reply_text(
            _("As a school admin: /deletions shows the deletion requests waiting for you."))


async def _family_press(update: Update, context: BotContext, prefix: str, steps: tuple[str, ...]
                        ) -> tuple[Actor, OwnChild, str] | None:
    """The child and step of a family button, or None (already answered) when it is forged or stale."""
    query = update.callback_query
    parts = _payload(query.data, prefix)
    child_id = _id(parts[0]) if 1 <= len(parts) <= 2 else None
    if child_id is None or (len(parts) == 2 and parts[1] not in steps):
        await _no_longer_valid(query, (await user_translator(update, context)).gettext)
        return None
    actor = await current_actor(update, context)
    mine = (await _own_children(context, actor)).get(child_id)
    if mine is None:
        await _no_longer_valid(query, (await user_translator(update, context)).gettext)
        return None
    return actor, mine, parts[1] if len(parts) == 2 else ""


def _confirm_keyboard(prefix: str, child_id: int, yes: str, no: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(yes, callback_data=f"{prefix}:{child_id}:{YES}")],
                                 [InlineKeyboardButton(no, callback_data=f"{prefix}:{child_id}:{NO}")]])


async def _two_step(update: Update, context: BotContext, prefix: str, question, yes: tuple[str, str], act) -> None:
    """A family member's serious step, asked once more: the first press shows `question(_, name)` with a yes
    and a no (`yes`: its icon and msgid); yes runs `act(actor, mine, _)`, which returns the answer to show."""
    pressed = await _family_press(update, context, prefix, (YES, NO))
    if pressed is None:
        return
    actor, mine, step = pressed
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    if step == "":
        await query.answer()
        icon, label = yes
        await _show(update, context, question(_, mine.child.name),
                    reply_markup=_confirm_keyboard(prefix, mine.child.id, f"{icon} " + _(label),
                                                   _("No, keep it as it is")))
        return
    if step == NO:
        await query.answer()
        await _show(update, context, _("Nothing was changed."))
        return
    try:
        answer = await act(actor, mine, _)
    except NotAllowed:
        await _no_longer_valid(query, _)
        return
    await query.answer()
    await _show(update, context, answer)


async def on_withdraw_button(update: Update, context: BotContext) -> None:
    async def withdraw(actor: Actor, mine: OwnChild, _) -> str:
        await context.services.consent.decide(actor, mine.child.id, WITHDRAWN)
        log.info("person %s withdrew consent for child %s", actor.person_id, mine.child.id)
        return _("Done: you took back your agreement. Sharing about {name} has stopped. You can agree again at "
                 "any time with /privacy.").format(name=mine.child.name)

    await _two_step(
        update, context, WITHDRAW,
        lambda _, name: _("Stop sharing {name}'s information? The teachers and carers will no longer see "
                          "{name}'s record or send you news.").format(name=name),
        ("⛔", N_("Yes, stop sharing")), withdraw)


async def on_delete_button(update: Update, context: BotContext) -> None:
    async def request(actor: Actor, mine: OwnChild, _) -> str:
        request_id = await context.services.privacy.request_deletion(actor, mine.child.id)
        log.info("person %s asked for erasure of child %s (request %s)", actor.person_id, mine.child.id,
                 request_id)
        return _("Your request is sent. A school admin will confirm it, and I will tell you when it is done.")

    await _two_step(
        update, context, DELETE,
        lambda _, name: _("Ask for everything about {name} to be deleted? A school admin must confirm the "
                          "request. Then {name}'s record, its history and photos are erased for good, and you "
                          "and the carers can no longer reach each other about {name} here. This cannot be "
                          "undone.").format(name=name),
        ("🗑", N_("Yes, ask to delete")), request)


def _export_document(data: dict, mine: OwnChild, _, exported_at: str) -> bytes:
    """Everything the export holds, with each field's label in the reader's language beside its key."""
    fields = {}
    for key, value in data["fields"].items():
        entry = {"label": _(BY_KEY[key].label), "value": value}
        shown = display(key, value, _)
        if shown != value:
            entry["shown"] = shown
        fields[key] = entry
    history = []
    for change in data["history"]:
        spec = BY_KEY.get(change["field"])
        history.append({"field": change["field"], "label": _(spec.label) if spec else change["field"], **change})
    document = {
        "title": _("Everything Qinqing Bridge stores about {name}").format(name=mine.child.name),
        "exported_at": exported_at,
        "child_id": data["child_id"],
        "class": data["class"],
        "consent": {
            "state": data["consent"],
            "meaning": _sharing(mine, _),
            "your_answer": _own_answer(mine, _),
            "rules_version": RULES_VERSION,
        },
        "fields": fields,
        "history": history,
        "updates_and_records": data.get("care", []),
        "video_calls": data.get("video", {}),
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


async def _send_copy(update: Update, context: BotContext, actor: Actor, mine: OwnChild) -> bool:
    _ = (await user_translator(update, context)).gettext
    try:
        data = await context.services.children.export(actor, mine.child.id)
    except NotAllowed:
        return False
    try:
        data["care"] = await context.services.care.export(actor, mine.child.id)
    except (NotAllowed, NoConsent):
        data["care"] = []  # before consent nothing was recorded
    try:
        data["video"] = await context.services.video.export(actor, mine.child.id)
    except (NotAllowed, NoConsent):
        data["video"] = {}
    now = context.services.clock.now().isoformat(timespec="seconds")
    await context.bot.send_document(
        _chat_id(update), _export_document(data, mine, _, now), filename=f"mydata-{mine.child.id}.json",
        caption=_("Everything stored about {name}, as a file for you to keep.").format(name=mine.child.name),
        protect_content=True)
    log.info("person %s exported child %s", actor.person_id, mine.child.id)
    return True


async def mydata(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    sent = 0
    for mine in (await _own_children(context, actor)).values():
        sent += await _send_copy(update, context, actor, mine)
    if not sent:
        await update.effective_message.reply_text(
            _("There is nothing to export for you. /mydata sends a parent or guardian everything stored about "
              "their child."))


async def on_mydata_button(update: Update, context: BotContext) -> None:
    pressed = await _family_press(update, context, COPY, ())
    if pressed is None:
        return
    actor, mine, _step = pressed
    if not await _send_copy(update, context, actor, mine):
        await _no_longer_valid(update.callback_query, (await user_translator(update, context)).gettext)
        return
    await update.callback_query.answer()


# Admin side: /deletions and its buttons.

async def _request_text(context: BotContext, request: DeletionRequest, child: ChildRow | None, _,
                        locale: str) -> str:
    person = await context.services.people.person(request.requested_by)
    at = datetime.fromisoformat(request.requested_at)
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return _("Request {id}: delete everything about {name} ({klass}). Asked by {person} on {date}.").format(
        id=request.id, name=child.name if child else "?", klass=child.class_name if child else "?",
        person=person.display_name if person else "?",
        date=format_datetime(at, locale, context.services.settings.timezone, "short"))


def _request_keyboard(request_id: int, _) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("🗑 " + _("Erase"), callback_data=f"{ERASE}:{request_id}:{YES}"),
        InlineKeyboardButton(_("Decline"), callback_data=f"{ERASE}:{request_id}:{NO}"),
    ]])


async def _school_children(context: BotContext, actor: Actor) -> dict[int, ChildRow]:
    return {s.child.id: s.child for s in await context.services.children.visible(actor)}


async def deletions(update: Update, context: BotContext) -> None:
    t = await user_translator(update, context)
    _ = t.gettext
    actor = await current_actor(update, context)
    if not can(actor.grants, DECIDE_DELETION):
        await update.effective_message.reply_text(_("Only a school admin can confirm deletion requests."))
        return
    requests = await context.services.privacy.open_requests(actor)
    if not requests:
        await update.effective_message.reply_text(_("No deletion requests are waiting."))
        return
    locale = await user_locale(update, context)
    children = await _school_children(context, actor)
    await update.effective_message.reply_text(
        t.ngettext("{count} deletion request is waiting for you.", "{count} deletion requests are waiting for you.",
                   len(requests)).format(count=len(requests)))
    # One message per request, so confirming one leaves the others on screen.
    for request in requests:
        await update.effective_message.reply_text(
            await _request_text(context, request, children.get(request.child_id), _, locale),
            reply_markup=_request_keyboard(request.id, _))


async def _tell_requester(context: BotContext, request: DeletionRequest, name: str, erased: bool) -> bool:
    """Best effort: the person who asked hears the outcome in their own language."""
    for channel, external_id in await context.services.people.identities(request.requested_by):
        if channel != CHANNEL or not re.fullmatch(r"-?[0-9]+", external_id):
            continue
        chat_id = int(external_id)
        _ = translator(await context.services.preferences.locale_for(chat_id, None)).gettext
        if erased:
            text = _("{name}'s record has been erased as you asked. Nothing about {name} is left in Qinqing "
                     "Bridge.").format(name=name)
        else:
            text = _("A school admin did not confirm the deletion of {name}'s record, so it is kept. Please talk "
                     "to the school if you have questions.").format(name=name)
        try:
            await context.bot.send_message(chat_id, text)
        except TelegramError as exc:
            log.warning("could not tell person %s about request %s: %s", request.requested_by, request.id,
                        type(exc).__name__)
            continue
        return True
    return False


async def on_erase_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    parts = _payload(query.data, ERASE)
    request_id = _id(parts[0]) if len(parts) == 2 else None
    if request_id is None or parts[1] not in (YES, NO, SURE, BACK):
        await _no_longer_valid(query, _)
        return
    step = parts[1]
    actor = await current_actor(update, context)
    request = next((r for r in await context.services.privacy.open_requests(actor) if r.id == request_id), None)
    if request is None:
        await _no_longer_valid(query, _)
        return
    child = (await _school_children(context, actor)).get(request.child_id)
    name = child.name if child else "?"
    if step == YES:
        await query.answer()
        await _show(
            update, context,
            _("Erase everything about {name} for good? The record, its history, the consents and the family's "
              "access are deleted and cannot be restored. The audit log keeps only numbers.").format(name=name),
            reply_markup=InlineKeyboardMarkup([
                [InlineKeyboardButton("🗑 " + _("Yes, erase for good"),
                                      callback_data=f"{ERASE}:{request_id}:{SURE}")],
                [InlineKeyboardButton(_("Cancel"), callback_data=f"{ERASE}:{request_id}:{BACK}")]]))
        return
    if step == BACK:
        await query.answer()
        await _show(
            update, context, await _request_text(context, request, child, _, await user_locale(update, context)),
            reply_markup=_request_keyboard(request_id, _))
        return
    erase = step == SURE
    try:
        await context.services.privacy.decide(actor, request_id, erase)
    except NotAllowed:
        await _no_longer_valid(query, _)
        return
    log.info("person %s %s request %s for child %s", actor.person_id, "erased" if erase else "declined",
             request_id, request.child_id)
    told = await _tell_requester(context, request, name, erase)
    if erase:
        # The name leaves this chat too: the message keeps only the number of the request.
        text = _("Erased (request {id}). Nothing about the child is left except numbers in the audit "
                 "log.").format(id=request_id)
    else:
        text = _("Declined (request {id}): {name}'s record is kept. Please tell the family why.").format(
            id=request_id, name=name)
    text += "\n" + (_("I have told the person who asked.") if told else
                    _("I could not reach the person who asked; please tell them yourself."))
    await query.answer()
    await _show(update, context, text)


PRIVATE = filters.ChatType.PRIVATE
HANDLERS = [
    CommandHandler("privacy", privacy, filters=PRIVATE),
    CommandHandler("mydata", mydata, filters=PRIVATE),
    CommandHandler("deletions", deletions, filters=PRIVATE),
    CallbackQueryHandler(on_consent_button, pattern=rf"^{CONSENT}:"),
    CallbackQueryHandler(on_withdraw_button, pattern=rf"^{WITHDRAW}:"),
    CallbackQueryHandler(on_delete_button, pattern=rf"^{DELETE}:"),
    CallbackQueryHandler(on_mydata_button, pattern=rf"^{COPY}:"),
    CallbackQueryHandler(on_erase_button, pattern=rf"^{ERASE}:"),
]
