"""The parent ↔ carer relay: /relay (choose the child, then whom to write to), relay mode, replies to relayed
messages, and the "Received" button.

Relay mode is a dialogue (`handlers.dialogue`, kind "relay", state {child, to}): a row, so a restart or a crash
continues it and the next message still reaches the person chosen. It ends with /cancel, with a refusal (the
child's consent withdrawn, a role removed), and with any other command, so a dialogue started meanwhile
(/newchild, editing a record) gets its answers and they are not relayed. A button does not end it (pressing
"Received" or answering a video proposal is not leaving, and says nothing); one that starts another dialogue
replaces it anyway.

Outside relay mode, what a parent or guardian sends is offered to be passed on ("Whom should I send this to?",
a button per carer): one press sends it, and the person chosen is remembered and shown the next time.

A reply to a relayed message goes back to its author whatever else the person is doing, so it is taken in
the early group, before any dialogue (`early_handlers`). That group also ends relay mode when another command
comes (without stopping the update), and takes a family member's message outside any dialogue to offer it.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from telegram import Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, CommandHandler, MessageHandler, filters

from bot.access.policy import FAMILY_ROLES, GUARDIAN, PARENT, PROXY, ROLE_LABELS, TEACHER
from bot.dialogues import Dialogue
from bot.errors import AlreadyAcknowledged, NoConsent, NotAllowed, StaleButton, UserError
from bot.i18n import N_, format_datetime
from bot.attendance.buttons import AnswerWithMessage
from bot.relay import HEADER_RELATIONS, SUPPORTED, Content, Partner, PassOn, Received, RelayChoice, SendNow
from bot.runtime.context import BotContext
from bot.runtime.intake import answer_owed
from bot.safety.buttons import CONCERN_LABEL, ReportAbout, ReportConcern, report_label
from handlers import dialogue
from handlers.common import CHANNEL, child_keyboard, keyboard, on_button, replace_or_reply, reply
from handlers.dialogue import Kind
from handlers.typed import press_typed

log = logging.getLogger(__name__)

DIALOGUE = "relay"
PICK = "relay-pick"  # /relay asked whom to write to
PICK_FOR = timedelta(hours=1)
# Relay mode lasts a week after the last message relayed (it is renewed at most once a day: each renewal is
# a write); the next message after that is the bot's again.
RELAY_TTL = timedelta(days=7)
RENEW_AFTER = timedelta(days=1)
MODE_OFF = N_("Relay mode is off: what you send now is no longer passed on.")
OFFER = "relay-offer"  # a parent or guardian sent something outside any conversation: whom is it for?
OFFER_FOR = timedelta(days=1)
MAX_OFFERED = 20  # messages waiting for a choice at once; the oldest are forgotten first
MAX_CHILD_BUTTONS = 30
# Kinds a message can have beyond those relayed, for the log and the refusal.
_OTHER_KINDS = ("poll", "dice", "contact", "game", "invoice", "story", "paid_media")


class ModeEnded(UserError):
    """A refusal in relay mode (consent withdrawn, the recipient no longer a partner) ends it, and says so."""

    def __init__(self, cause: UserError) -> None:
        super().__init__()
        self.cause = cause
        self.what = getattr(cause, "what", "")

    def text(self, gettext) -> str:
        return f"{self.cause.text(gettext)}\n{gettext(MODE_OFF)}"


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
    """"张丽（妈妈）": the family by the word a grandmother uses, carers by their role."""
    family = partner.role in FAMILY_ROLES and partner.relation in HEADER_RELATIONS
    label = HEADER_RELATIONS[partner.relation] if family else ROLE_LABELS[partner.role]
    return _("{name} ({role})").format(name=partner.name, role=_(label))


def _partner_buttons(partners: list[Partner], child_id: int, _):
    return keyboard([[(_who(p, _), RelayChoice("p", child_id, p.person_id))] for p in partners])


async def _answer_press(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


# -- /relay: choosing the child and the recipient ------------------------------------------------------

async def relay(update: Update, context: BotContext) -> None:
    """/relay [name]: whom to write to; a parent with one child is in relay mode at once."""
    _ = context.gettext
    await dialogue.end(context, DIALOGUE)
    kids = await context.services.relay.children(await context.actor())
    wanted = " ".join(context.args or []).strip()
    if wanted:
        kids = [k for k in kids if wanted in k.name]
    if not kids:
        await reply(update, _("There is no child you can pass messages about."))
    elif len(kids) == 1:
        await _child_chosen(update, context, kids[0].id)
    else:
        await reply(update, _("About which child do you want to write?"),
                    reply_markup=child_keyboard(kids[:MAX_CHILD_BUTTONS], lambda c: RelayChoice("c", c.id), per_row=2))


async def _child_chosen(update: Update, context: BotContext, child_id: int) -> None:
    _ = context.gettext
    actor = await context.actor()
    service = context.services.relay
    partners = await service.partners(actor, child_id)
    # The person written to last, named in the answer with the others a press away; the first time, the
    # person chooses (a message is never sent to someone guessed for them).
    default = await service.remembered(actor, child_id)
    child_name = await service.child_name(child_id)
    await _answer_press(update)
    if not partners:
        await replace_or_reply(update, _("There is nobody you can write to about {child} yet.").format(
            child=child_name))
        return
    chosen = default or (partners[0] if len(partners) == 1 else None)
    if chosen is None:
        # Until a name is pressed, a typed name picks the person too, and anything else is asked again: someone
        # who types rather than presses is never told "I did not understand" here.
        await dialogue.begin(context, PICK, {"child": child_id}, ttl=PICK_FOR)
        await replace_or_reply(update, _("Whom do you want to write to about {child}?").format(child=child_name),
                               reply_markup=_partner_buttons(partners, child_id, _))
        return
    await _mode_on(update, context, child_id, child_name, chosen, [p for p in partners if p != chosen])


async def _mode_on(update: Update, context: BotContext, child_id: int, child_name: str, partner: Partner,
                   others: list[Partner]) -> None:
    _ = context.gettext
    await dialogue.begin(context, DIALOGUE, {"child": child_id, "to": partner.person_id}, child_id=child_id,
                         ttl=RELAY_TTL)
    text = _("Relay mode is on: everything you send now goes to {name} about {child}. Send /cancel to stop.").format(
        name=_who(partner, _), child=child_name)
    if others:
        text += "\n\n" + _("To write to someone else instead, press their name.")
    rows = [[(_who(p, _), RelayChoice("p", child_id, p.person_id))] for p in others]
    # A child in danger is one press away from relay mode: /report for this child (求助 for the family).
    actor = await context.actor()
    if any(k.id == child_id for k in await context.services.safety.reporting_children(actor)):
        rows.append([(report_label(_, {g.role for g in actor.grants}), ReportAbout(child_id))])
    await replace_or_reply(update, text, reply_markup=keyboard(rows))


async def on_relay_button(update: Update, context: BotContext, payload: RelayChoice) -> None:
    if update.effective_chat is None or update.effective_chat.type != "private":
        raise StaleButton()  # these buttons are only ever sent in private chats
    if payload.step == "c":
        await _child_chosen(update, context, payload.child)
        return
    service = context.services.relay
    partners = await service.partners(await context.actor(), payload.child)
    chosen = next((p for p in partners if p.person_id == payload.person), None)
    if chosen is None:
        raise StaleButton()
    await _answer_press(update)
    await _mode_on(update, context, payload.child, await service.child_name(payload.child), chosen,
                   [p for p in partners if p != chosen])


# -- relaying: replies to relayed messages, and relay mode ---------------------------------------------

async def _pass_on(update: Update, context: BotContext, child_id: int, recipient_id: int,
                   in_reply_to: int | None = None, content: Content | None = None) -> None:
    """Relay the message (`content`, or the one just sent) and tell the author where it stands; a press of
    "Send to …" is answered in place of the question."""
    _ = context.gettext
    sent = await context.services.relay.relay(await context.actor(), child_id, recipient_id,
                                              content or content_of(update.effective_message), in_reply_to)
    if sent.reachable and sent.held_until is not None:
        # The author is not left thinking it arrived: the recipient's quiet hours hold it, and until when.
        zone = (await context.services.preferences.delivery(update.effective_user.id)).timezone
        text = _("{name} is resting now (quiet hours); it will arrive at {time}.").format(
            name=sent.recipient.name, time=format_datetime(sent.held_until, context.locale, zone, "short"))
        rows = [[(_("🚨 Urgent: send it now"), SendNow(sent.relay_id))]]
    elif sent.reachable:
        text, rows = _("Sent to {name}.").format(name=sent.recipient.name), []
    else:
        text, rows = _("{name} has not opened Qinqing Bridge yet, or has blocked it. Your message is kept and will "
                       "be delivered as soon as they open it: please ask them to press Start.").format(
                           name=sent.recipient.name), []
    if update.effective_message.text and (await context.actor()).has_role(PROXY, TEACHER):
        # A carer's words about the child may tell of a danger: they can become a safety report, filled in.
        rows.append([(_(CONCERN_LABEL), ReportConcern("r", sent.relay_id))])
    urgent = keyboard(rows)
    # The relay is committed: whatever happens to the confirmation, the author is shown no error for it (they
    # would send it again, and the family would get it twice).
    try:
        if update.callback_query is not None:
            await replace_or_reply(update, text, reply_markup=urgent)
        else:
            await reply(update, text, reply_markup=urgent)
    except (Forbidden, BadRequest) as exc:  # the author blocked the bot meanwhile: nobody to tell
        log.info("relay %s: the confirmation was refused (%s)", sent.relay_id, type(exc).__name__)
    except TelegramError as exc:
        # The network failed: the intake handles the update again after a pause, the relay service recognises
        # the message as relayed already, and only the confirmation goes out.
        log.warning("relay %s: the confirmation was not sent (%s)", sent.relay_id, type(exc).__name__)
        answer_owed("a relay's confirmation")


async def on_reply(update: Update, context: BotContext) -> None:
    """A reply to a relay this person received goes back to its author; any other reply is read as any message
    sent outside a conversation (`on_free_message`)."""
    message = update.effective_message
    answered = await context.services.relay.replied_to(await context.actor(), CHANNEL, str(message.chat_id),
                                                       str(message.reply_to_message.message_id))
    if answered is None:
        await on_free_message(update, context)
        return
    await _pass_on(update, context, answered.child_id, answered.author_id, answered.id)
    raise ApplicationHandlerStop


# -- what a parent or guardian sends outside any conversation: offered to be passed on -------------------------

async def on_free_message(update: Update, context: BotContext) -> None:
    """A message outside any conversation (or while "Whom should I pass this on to?" waits): typed words of a
    button press it; a parent's or guardian's text, voice note, photo or sticker is offered to be passed on, so
    nobody who types or speaks instead of pressing meets "I did not understand". Anything else goes on to the
    features and the fallback."""
    open_now = await dialogue.current(context)
    if open_now is not None and open_now.kind != OFFER:
        return  # the dialogue takes it
    if await press_typed(update, context):
        raise ApplicationHandlerStop
    if await _offer(update, context, open_now):
        raise ApplicationHandlerStop


def _send_to(partner: Partner, child: str | None, _) -> str:
    label = _("Send to {who}").format(who=_who(partner, _))
    return f"{label} · {child}" if child else label


async def _offer(update: Update, context: BotContext, offering: Dialogue | None) -> bool:
    actor = await context.actor()
    if actor.person_id is None or not actor.has_role(PARENT, GUARDIAN) or actor.has_role(PROXY, TEACHER):
        return False  # carers' photos and voice notes belong to the care forms
    message = update.effective_message
    content = content_of(message)
    if content.kind not in SUPPORTED or (message.caption or "").startswith("/"):
        return False  # a file captioned with a command (/import) is for that command's feature
    offers = await context.services.relay.offers(actor)
    if not offers:
        # Nothing of theirs may be passed on (nobody agreed yet, or someone said no): they are told why, rather
        # than "I did not understand". The refusal is raised by asking whom they could write to.
        for child in await context.services.relay.children(actor):
            await context.services.relay.partners(actor, child.id)
        return False
    _ = context.gettext
    pending = dict(offering.state.get("pending", {})) if offering is not None else {}
    pending[str(message.message_id)] = dataclasses.asdict(content)
    while len(pending) > MAX_OFFERED:
        pending.pop(next(iter(pending)))
    # With one child the words waiting are about that child: they go with the record if it is erased.
    await dialogue.begin(context, OFFER, {"pending": pending}, child_id=offers[0][0].id if len(offers) == 1 else None,
                         ttl=OFFER_FOR)
    several = len(offers) > 1
    rows, remembered = [], None
    for child, partners in offers:
        last = await context.services.relay.remembered(actor, child.id)
        for partner in partners:
            label = _send_to(partner, child.name if several else None, _)
            if last is not None and partner.person_id == last.person_id:
                label, remembered = "✅ " + label, remembered or (partner, child)
            rows.append([(label, PassOn(child.id, partner.person_id, message.message_id))])
    rows.append([(_("Do not send"), PassOn(offers[0][0].id, 0, message.message_id))])
    if content.kind in ("text", "voice"):
        # The school asked why a child of theirs is not at school today: these words may be the answer.
        for absence, child in await context.services.attendance.open_questions(actor):
            rows.insert(0, [(_("📋 This is why {child} is not at school today").format(child=child.name),
                             AnswerWithMessage(absence.id, message.message_id))])
    if remembered is not None and not several:
        # The choice made last time is shown, never taken silently.
        text = _("Send this to {who}?").format(who=_who(remembered[0], _))
    else:
        text = _("Whom should I send this to?")
    await reply(update, text, reply_markup=keyboard(rows))
    return True


async def take_offered(context: BotContext, message_id: int) -> Content | None:
    """The message offered by "Whom should I send this to?", taken for another use (it is no longer offered);
    None when it was sent or dropped already, or forgotten."""
    offering = await dialogue.current(context, OFFER)
    pending = dict(offering.state.get("pending", {})) if offering is not None else {}
    found = pending.pop(str(message_id), None)
    if found is None:
        return None
    if pending:
        await dialogue.save(context, offering, {"pending": pending})
    else:
        await dialogue.end(context, OFFER)
    return Content(**found)


async def on_pass_button(update: Update, context: BotContext, payload: PassOn) -> None:
    """One press: the message offered goes to the person chosen (or, for "Do not send", nowhere)."""
    _ = context.gettext
    found = await take_offered(context, payload.message)
    if found is None:
        raise StaleButton()  # sent or dropped already, or forgotten
    await _answer_press(update)
    if payload.person == 0:
        await replace_or_reply(update, _("All right, I did not send it."))
        return
    await _pass_on(update, context, payload.child, payload.person, content=found)


async def on_relay_input(update: Update, context: BotContext, mode: Dialogue) -> None:
    """Relay mode: whatever the person sends goes to the person chosen."""
    try:
        await _pass_on(update, context, mode.state["child"], mode.state["to"])
    except (NotAllowed, NoConsent) as refusal:  # nobody to write to any more: the mode ends with the answer
        await dialogue.end(context, DIALOGUE)
        raise ModeEnded(refusal) from None
    if mode.expires_at - context.services.clock.now() < RELAY_TTL - RENEW_AFTER:
        try:
            await dialogue.save(context, mode, mode.state)
        except Exception as exc:  # relayed and confirmed; the mode still has days left, the next message renews it
            log.warning("relay mode of person %s not renewed (%s)", mode.person_id, type(exc).__name__)


def _command(message: Message | None) -> str:
    words = (message.text or "").split() if message is not None else []
    return words[0][1:].partition("@")[0] if words else ""


async def leave_relay_mode(update: Update, context: BotContext) -> None:
    """Another command: the person is doing something else now. Never stops the update. A button does not end
    it (pressing "Received" or answering a video proposal is not leaving): a button that starts a dialogue
    replaces relay mode by itself."""
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return  # relay mode is a private conversation (a button under an inline-mode message has no chat)
    if update.callback_query is not None or _command(update.effective_message) in ("relay", "cancel"):
        return  # /relay starts a new choice at once; /cancel ends the dialogue with its own word
    if await dialogue.current(context, DIALOGUE) is None:
        return
    await dialogue.end(context, DIALOGUE)
    await reply(update, context.gettext(MODE_OFF))


# -- the "Received" button ---------------------------------------------------------------------------

async def on_relnow_button(update: Update, context: BotContext, payload: SendNow) -> None:
    """The author of a message held for quiet hours says it is urgent: it goes now."""
    _ = context.gettext
    await context.services.relay.send_now(await context.actor(), payload.relay)
    await update.callback_query.answer()
    await replace_or_reply(update, _("Sent now, as urgent."))


async def on_ack_button(update: Update, context: BotContext, payload: Received) -> None:
    _ = context.gettext
    query = update.callback_query
    try:
        found = await context.services.relay.acknowledge(await context.actor(), payload.relay)
    except AlreadyAcknowledged as refusal:  # a toast, and the button that is no longer needed goes
        await query.answer(refusal.text(_))
        await _drop_button(query)
        return
    author = await context.services.people.person(found.author_id)  # people are never deleted (relays refer to them)
    await query.answer(_("Thank you. {name} will be told that you received it.").format(name=author.display_name))
    # The button says it was pressed; pressed again it only answers "already confirmed".
    if isinstance(query.message, Message):
        try:
            await query.edit_message_reply_markup(keyboard([[(_("✅ Received ✔"), payload)]]))
        except BadRequest:
            pass  # the confirmation is stored; the old button only looks pressable


async def _drop_button(query) -> None:
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:
            await query.edit_message_reply_markup(None)
        except BadRequest:
            pass  # already without it (a second press raced this one); nothing to correct


async def on_pick_input(update: Update, context: BotContext, picking: Dialogue) -> bool:
    """While /relay asks whom to write to: a typed name (or part of it) picks that person; anything else gets
    the question and the buttons again, and nothing is relayed."""
    _ = context.gettext
    child_id = picking.state["child"]
    service = context.services.relay
    partners = await service.partners(await context.actor(), child_id)
    typed = (update.effective_message.text or "").strip()
    matching = [p for p in partners if typed and (typed in p.name or p.name in typed)]
    if len(matching) == 1:
        chosen = matching[0]
        await _mode_on(update, context, child_id, await service.child_name(child_id), chosen,
                       [p for p in partners if p != chosen])
        return True
    if not partners:
        await dialogue.end(context, PICK)
        return False
    await reply(update, _("Please press the name of the person you want to write to (nothing was sent)."),
                reply_markup=_partner_buttons(partners, child_id, _))
    return True


async def _never(update: Update, context: BotContext, offering: Dialogue) -> bool:
    return False  # the offer's messages are taken earlier, by on_free_message


DIALOGUES = [Kind(DIALOGUE, on_relay_input, cancelled=MODE_OFF), Kind(PICK, on_pick_input),
             Kind(OFFER, _never, cancelled=N_("Cancelled. Nothing was sent."))]

PRIVATE = filters.ChatType.PRIVATE
NEW_MESSAGE = PRIVATE & filters.UpdateType.MESSAGE


def early_handlers() -> list[BaseHandler]:
    return [
        MessageHandler(NEW_MESSAGE & filters.COMMAND, leave_relay_mode),
        MessageHandler(NEW_MESSAGE & ~filters.COMMAND & filters.REPLY, on_reply),
        MessageHandler(NEW_MESSAGE & ~filters.COMMAND, on_free_message),
    ]


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("relay", relay, filters=PRIVATE),
        on_button(RelayChoice, on_relay_button),
        on_button(Received, on_ack_button),
        on_button(SendNow, on_relnow_button),
        on_button(PassOn, on_pass_button),
    ]
