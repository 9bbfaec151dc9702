"""The parent ↔ carer relay: /relay (choose the child, then whom to write to), relay mode, replies to relayed
messages, and the "Received" button.

Relay mode lives in `context.chat_data`: it says what the messages in this chat mean, and in a private chat
the chat is the person. It is kept in memory (the application has no persistence), so a restart ends it.

The message handlers run in the early group before every feature (EARLY_HANDLERS), because a reply to a
relayed message must reach its author whatever else the person is doing. They take a message only when it is
a reply to a relay this person received, or when relay mode is on; then they stop the update
(ApplicationHandlerStop). Anything else returns untouched and group 0 (the features, then the fallback)
handles it as if this module did not exist. Relay mode ends with /cancel, and with any other command or
button, so a dialogue started meanwhile (/newchild, editing a record) gets its answers and they are not relayed.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.runtime.context import BotContext
from bot.access.invitations import RELATIONS
from bot.access.people import Actor, AlreadyAcknowledged, NoConsent, NotAllowed
from bot.access.policy import ROLE_LABELS
from bot.relay import ACK, Content, Partner, Unsupported
from handlers.common import current_actor, replace_or_reply, reply, user_translator

log = logging.getLogger(__name__)

PREFIX = "relay"            # relay:c:<child id>, relay:p:<child id>:<person id>
MODE = "relay"              # chat_data key: {"child": child id, "to": person id}
MAX_CHILD_BUTTONS = 30
# Kinds a message can have beyond those relayed, for the log and the refusal.
_OTHER_KINDS = ("poll", "dice", "contact", "game", "invoice", "story", "paid_media")


def content_of(message: Message) -> Content:
    """What the person sent, as the relay service sees it."""
    where = {"source_chat": str(message.chat_id), "source_message_id": str(message.message_id)}
    if message.text is not None:
        return Content("text", **where, text=message.text)
    if message.photo:
        return Content("photo", **where, caption=message.caption, file_id=message.photo[-1].file_id)
    # An animation also fills `document`, so it is looked at first.
    for kind in ("animation", "video", "voice", "audio", "document", "sticker", "video_note"):
        media = getattr(message, kind)
        if media is not None:
            return Content(kind, **where, caption=message.caption, file_id=media.file_id)
    if message.venue is not None:  # a venue carries a location too
        return Content("venue", **where)
    if message.location is not None:
        return Content("location", **where)
    kind = next((k for k in _OTHER_KINDS if getattr(message, k, None)), "other")
    return Content(kind, **where)


def _who(partner: Partner, _) -> str:
    label = RELATIONS.get(partner.role, {}).get(partner.relation or "") or ROLE_LABELS[partner.role]
    return _("{name} ({role})").format(name=partner.name, role=_(label))


def _parts(data: str | None, prefix: str) -> list[str]:
    parts = (data or "").split(":")
    return parts[1:] if parts and parts[0] == prefix else []


def _mode_off_text(_) -> str:
    return _("Relay mode is off: what you send now is no longer passed on.")


# -- /relay: choosing the child and the recipient ------------------------------------------------------

async def relay(update: Update, context: BotContext) -> None:
    """/relay [name]: whom to write to; a parent with one child is in relay mode at once."""
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    context.chat_data.pop(MODE, None)
    kids = await context.services.relay.children(actor)
    wanted = " ".join(context.args or []).strip()
    if wanted:
        kids = [k for k in kids if wanted in k.name]
    if not kids:
        await reply(update, _("There is no child you can pass messages about."))
        return
    if len(kids) == 1:
        await _child_chosen(update, context, actor, kids[0].id)
        return
    shown = kids[:MAX_CHILD_BUTTONS]
    rows = [[InlineKeyboardButton(k.name or "?", callback_data=f"{PREFIX}:c:{k.id}") for k in shown[i:i + 2]]
            for i in range(0, len(shown), 2)]
    await reply(update, _("About which child do you want to write?"), reply_markup=InlineKeyboardMarkup(rows))


async def _child_chosen(update: Update, context: BotContext, actor: Actor, child_id: int) -> None:
    _ = (await user_translator(update, context)).gettext
    service = context.services.relay
    try:
        partners = await service.partners(actor, child_id)
        default = await service.default_partner(actor, child_id)
    except NoConsent as refusal:
        await replace_or_reply(update, _no_consent_text(_, refusal.child_name))
        return
    except NotAllowed:
        await _no_longer_valid(update, context)
        return
    child_name = await service.child_name(child_id)
    if not partners:
        await replace_or_reply(update, _("There is nobody you can write to about {child} yet.").format(
            child=child_name))
        return
    chosen = default or (partners[0] if len(partners) == 1 else None)
    if chosen is None:
        await replace_or_reply(update, _("Whom do you want to write to about {child}?").format(child=child_name),
                               reply_markup=_partner_buttons(partners, child_id, _))
        return
    await _mode_on(update, context, child_id, child_name, chosen, [p for p in partners if p != chosen])


def _partner_buttons(partners: list[Partner], child_id: int, _) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(_who(p, _), callback_data=f"{PREFIX}:p:{child_id}:{p.person_id}")]
                                 for p in partners])


async def _mode_on(update: Update, context: BotContext, child_id: int, child_name: str, partner: Partner,
                   others: list[Partner]) -> None:
    _ = (await user_translator(update, context)).gettext
    context.chat_data[MODE] = {"child": child_id, "to": partner.person_id}
    text = _("Relay mode is on: everything you send now goes to {name} about {child}. Send /cancel to stop.").format(
        name=_who(partner, _), child=child_name)
    if others:
        text += "\n\n" + _("To write to someone else instead, press their name.")
    await replace_or_reply(update, text, reply_markup=_partner_buttons(others, child_id, _) if others else None)


async def on_relay_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    parts = _parts(query.data, PREFIX)
    if update.effective_chat is None or update.effective_chat.type != "private":
        parts = []  # these buttons are only ever sent in private chats
    actor = await current_actor(update, context)
    if len(parts) == 2 and parts[0] == "c" and parts[1].isdigit():
        await query.answer()
        await _child_chosen(update, context, actor, int(parts[1]))
        return
    if len(parts) != 3 or parts[0] != "p" or not (parts[1].isdigit() and parts[2].isdigit()):
        await _no_longer_valid(update, context)
        return
    child_id, person_id = int(parts[1]), int(parts[2])
    service = context.services.relay
    try:
        partners = await service.partners(actor, child_id)
    except (NotAllowed, NoConsent):
        partners = []
    chosen = next((p for p in partners if p.person_id == person_id), None)
    if chosen is None:
        await _no_longer_valid(update, context)
        return
    await query.answer()
    await _mode_on(update, context, child_id, await service.child_name(child_id), chosen,
                   [p for p in partners if p != chosen])


async def _no_longer_valid(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    if update.callback_query:
        await update.callback_query.answer(_("This button is no longer valid."))
    else:
        await reply(update, _("You cannot pass messages about this child."))


def _no_consent_text(_, child_name: str) -> str:
    return _("Nothing about {child} can be passed on until a parent or guardian has agreed to the rules in "
             "/privacy.").format(child=child_name)


# -- relaying: replies to relayed messages, and relay mode ---------------------------------------------

async def on_message(update: Update, context: BotContext) -> None:
    """Takes the message only if it answers a relay or relay mode is on; otherwise returns untouched."""
    message = update.effective_message
    service = context.services.relay
    actor: Actor | None = None
    target: tuple[int, int, int | None] | None = None  # child, recipient, relay answered
    if message.reply_to_message is not None:
        actor = await current_actor(update, context)
        answered = await service.replied_to(actor, str(message.chat_id), str(message.reply_to_message.message_id))
        if answered is not None:
            target = (answered.child_id, answered.author_id, answered.id)
    mode = context.chat_data.get(MODE)
    from_mode = target is None and mode is not None
    if from_mode:
        target = (mode["child"], mode["to"], None)
    if target is None:
        return
    actor = actor or await current_actor(update, context)
    _ = (await user_translator(update, context)).gettext
    child_id, recipient_id, in_reply_to = target
    try:
        sent = await service.relay(actor, child_id, recipient_id, content_of(message), in_reply_to)
    except Unsupported as refusal:
        log.info("relay refused: %s from chat %s", refusal.kind, message.chat_id)
        await reply(update, _("This kind of message cannot be passed on (polls, dice and contacts are not). You can "
                              "send text, photos, voice messages, videos, video messages, files, stickers and "
                              "locations."))
    except NoConsent as refusal:
        await _refused(update, context, _no_consent_text(_, refusal.child_name), from_mode)
    except NotAllowed:
        await _refused(update, context, _("You can no longer pass messages to this person about this child."),
                       from_mode)
    else:
        if sent.reachable:
            await reply(update, _("Sent to {name}.").format(name=sent.recipient.name))
        else:
            await reply(update, _("{name} has not opened Qinqing Bridge yet, or has blocked it. Your message is kept "
                                  "and will be delivered as soon as they open it: please ask them to press Start.")
                        .format(name=sent.recipient.name))
    raise ApplicationHandlerStop


async def _refused(update: Update, context: BotContext, text: str, end_mode: bool) -> None:
    _ = (await user_translator(update, context)).gettext
    if end_mode:
        context.chat_data.pop(MODE, None)
        text += "\n" + _mode_off_text(_)
    await reply(update, text)


async def cancel_relay(update: Update, context: BotContext) -> None:
    """/cancel ends relay mode; without it, /cancel is left to the dialogues and handlers.cancel."""
    if context.chat_data.pop(MODE, None) is None:
        return
    _ = (await user_translator(update, context)).gettext
    await reply(update, _mode_off_text(_))
    raise ApplicationHandlerStop


async def leave_relay_mode(update: Update, context: BotContext) -> None:
    """Another command or button: the person is doing something else now. Never stops the update."""
    if context.chat_data is None or context.chat_data.pop(MODE, None) is None:
        return  # (a button under an inline-mode message has no chat, so no chat_data)
    message = update.effective_message if update.callback_query is None else None
    if message is not None and (message.text or "").split()[0].split("@")[0] == "/relay":
        return  # /relay starts a new choice at once
    _ = (await user_translator(update, context)).gettext
    await reply(update, _mode_off_text(_))


# -- the "Received" button ---------------------------------------------------------------------------

async def on_ack_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _ = (await user_translator(update, context)).gettext
    parts = _parts(query.data, ACK)
    if len(parts) != 1 or not parts[0].isdigit():
        await query.answer(_("This button is no longer valid."))
        return
    actor = await current_actor(update, context)
    try:
        found = await context.services.relay.acknowledge(actor, int(parts[0]))
    except NotAllowed:
        await query.answer(_("This button is no longer valid."))
        return
    except AlreadyAcknowledged:
        await query.answer(_("You have already confirmed this message."))
        await _drop_button(query)
        return
    author = await context.services.people.person(found.author_id)  # people are never deleted (relays refer to them)
    await query.answer(_("Thank you. {name} will be told that you received it.").format(name=author.display_name))
    await _drop_button(query)


async def _drop_button(query) -> None:
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:
            await query.edit_message_reply_markup(None)
        except BadRequest:
            pass  # already without it (a second press raced this one); nothing to correct


PRIVATE = filters.ChatType.PRIVATE
NEW_MESSAGE = PRIVATE & filters.UpdateType.MESSAGE
EARLY_HANDLERS = [
    CommandHandler("cancel", cancel_relay, filters=PRIVATE),
    MessageHandler(NEW_MESSAGE & filters.COMMAND, leave_relay_mode),
    CallbackQueryHandler(leave_relay_mode, pattern=re.compile(rf"^(?!(?:{PREFIX}|{ACK}):)")),
    MessageHandler(NEW_MESSAGE & ~filters.COMMAND, on_message),
]
HANDLERS = [
    CommandHandler("relay", relay, filters=PRIVATE),
    CallbackQueryHandler(on_relay_button, pattern=rf"^{PREFIX}:"),
    CallbackQueryHandler(on_ack_button, pattern=rf"^{ACK}:"),
]
