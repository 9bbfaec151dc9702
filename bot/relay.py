"""The relay between a child's family and the people who care for the child: messages pass through the bot,
so nobody learns anyone's number or account.

Who may write to whom about a child: a parent or guardian of the child with the child's proxy parents,
guardians, class teacher and parents; the proxy parents and the class teacher with the family (not with
each other: they are colleagues and talk elsewhere). School admins reach every child of the school and
relay with nobody. Nothing is relayed about a child before a parent or guardian has consented.

A relayed message is a copy with a header naming the author ("小明的妈妈："), never a forward (which would
show the sender's account). Media are protected from forwarding and saving. Knows nothing of Telegram:
what goes out is outbox rows ("text", "copy") for the transport.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.clock import Clock
from bot.access.consent import ConsentService
from bot.i18n import N_, translator
from bot.access.invitations import RELATIONS
from bot.notices import CAPTION_LIMIT, Outbox
from bot.access.people import AlreadyAcknowledged, Actor, NoConsent, NotAllowed
from bot.access.policy import FAMILY_ROLES, GUARDIAN, PARENT, PROXY, ROLE_LABELS, TEACHER, reaches, roles_for
from bot.preferences import PreferencesService
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.outbox import Outgoing
from storage.people import Grant, PeopleRepository
from storage.relays import Relay, RelaysRepository, outbox_key

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ACK = "ack"  # callback data prefix of the "Received" button: ack:<relay id>

RELAY_ROLES = (PARENT, GUARDIAN, PROXY, TEACHER)
# A person with several roles for a child is named by the closest one.
_CLOSEST_FIRST = (PARENT, GUARDIAN, PROXY, TEACHER)
# Whom a parent's message goes to when they do not choose.
_DEFAULT_ORDER = (PROXY, GUARDIAN, TEACHER)

# Content whose copy carries the header as its caption, and content that cannot have a caption (a header
# message goes first). Anything else (polls, dice, games, contacts: a contact is a phone number, which the
# bridge exists to keep private) is refused.
CAPTIONED = frozenset({"photo", "video", "document", "voice", "audio", "animation"})
UNCAPTIONED = frozenset({"sticker", "video_note", "location", "venue"})
SUPPORTED = CAPTIONED | UNCAPTIONED | {"text"}

# The family's words in a header: "小明的妈妈：" reads better than "小明的母亲：".
HEADER_RELATIONS = {
    "father": N_("dad"),
    "mother": N_("mum"),
    **{key: label for key, label in RELATIONS[GUARDIAN].items() if key != "relative"},
    "relative": N_("relative"),
}


class RelayError(Exception):
    """Bad input a person can cause: the handler answers it; nothing was stored or sent."""


class Unsupported(RelayError):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Content:
    """What a person sent, as the channel holds it: the copy is made from (source_chat, source_message_id)."""

    kind: str
    source_chat: str
    source_message_id: str
    text: str | None = None      # the text of a text message
    caption: str | None = None
    file_id: str | None = None   # kept with the record; the copy itself is made from the source message


@dataclass(frozen=True)
class Partner:
    person_id: int
    name: str
    role: str
    relation: str | None
    chat: str  # where they are reached; people the bot cannot reach at all are nobody's partners


@dataclass(frozen=True)
class Sent:
    relay_id: int
    recipient: Partner
    # False: the recipient is known not to receive now (never started the bot, or blocked it). The message is
    # kept in the outbox and goes out once they can be reached (handlers.delivery requeues it).
    reachable: bool


def _closest(grants: list[Grant]) -> Grant:
    return min(grants, key=lambda g: _CLOSEST_FIRST.index(g.role))


class RelayService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository,
                 consent: ConsentService, outbox: Outbox, relays: RelaysRepository,
                 preferences: PreferencesService, clock: Clock) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._consent = consent
        self._outbox = outbox
        self._relays = relays
        self._preferences = preferences
        self._clock = clock

    def _now(self) -> str:
        return self._clock.now().isoformat(timespec="seconds")

    # -- who with whom -------------------------------------------------------------------------------

    async def children(self, actor: Actor) -> list[ChildRow]:
        """The children this person may relay about (before consent too: choosing one then says why not)."""
        return await self._children.reached_by(actor.grants, {TEACHER, PARENT, GUARDIAN, PROXY})

    async def _child_for(self, actor: Actor, child_id: int) -> tuple[ChildRow, set[str]]:
        child = await self._children.get(child_id)
        mine = roles_for(actor.grants, child.place) & set(RELAY_ROLES) if child else set()
        if child is None or not mine or actor.person_id is None:
            raise NotAllowed("relay")
        if not await self._consent.consented(child_id):
            raise NoConsent(child.name)
        return child, mine

    async def _partners(self, actor: Actor, child: ChildRow, mine: set[str]) -> list[Partner]:
        theirs: dict[int, list[Grant]] = {}
        for grant in await self._people.grants_for_child(child.id, child.school_id, child.class_id):
            if grant.role in RELAY_ROLES and grant.person_id != actor.person_id:
                theirs.setdefault(grant.person_id, []).append(grant)
        family_me = bool(mine & set(FAMILY_ROLES))
        order = (PROXY, GUARDIAN, TEACHER, PARENT) if family_me else (PARENT, GUARDIAN)
        partners = []
        for person_id, grants in theirs.items():
            if not family_me and not any(g.role in FAMILY_ROLES for g in grants):
                continue  # carers relay with the family, not with each other
            closest = _closest(grants)
            person = await self._people.person(person_id)
            chat = await self._people.external_id(person_id, CHANNEL)
            if person is not None and chat is not None:
                partners.append(Partner(person_id, person.display_name, closest.role, closest.relation, chat))
        return sorted(partners, key=lambda p: (order.index(p.role), p.person_id))

    async def partners(self, actor: Actor, child_id: int) -> list[Partner]:
        """Whom this person may write to about the child, the likeliest first."""
        child, mine = await self._child_for(actor, child_id)
        return await self._partners(actor, child, mine)

    async def default_partner(self, actor: Actor, child_id: int) -> Partner | None:
        """For a parent: the proxy parent, else the guardian, else the class teacher. Others choose."""
        child, mine = await self._child_for(actor, child_id)
        if PARENT not in mine:
            return None
        partners = await self._partners(actor, child, mine)
        for role in _DEFAULT_ORDER:
            for partner in partners:
                if partner.role == role:
                    return partner
        return None

    async def child_name(self, child_id: int) -> str:
        child = await self._children.get(child_id)
        return child.name if child else ""

    # -- relaying -------------------------------------------------------------------------------------


    async def replied_to(self, actor: Actor, chat: str, message_id: str) -> Relay | None:
        """The relay this person received as message `message_id` in their chat: a reply to it goes back to
        its author. None when that message is not a relay delivered to them."""
        if actor.person_id is None:
            return None
        found = await self._relays.delivered_as(CHANNEL, chat, message_id)
        return found if found is not None and found.recipient_id == actor.person_id else None

    async def relay(self, actor: Actor, child_id: int, recipient_id: int, content: Content,
                    in_reply_to: int | None = None) -> Sent:
        """Store the relay and enqueue its delivery, in one transaction. `in_reply_to`: the relay (to this
        person, from the recipient) being answered, so the answer quotes the recipient's own message."""
        if content.kind not in SUPPORTED:
            raise Unsupported(content.kind)
        child, mine = await self._child_for(actor, child_id)
        recipient = next((p for p in await self._partners(actor, child, mine) if p.person_id == recipient_id), None)
        if recipient is None:
            raise NotAllowed("recipient")
        answered = await self._relays.get(in_reply_to) if in_reply_to is not None else None
        if in_reply_to is not None and (answered is None or answered.child_id != child_id
                                        or answered.recipient_id != actor.person_id
                                        or answered.author_id != recipient_id):
            raise NotAllowed("reply")
        chat = recipient.chat
        _ = translator(await self._preferences.locale_for(int(chat), None)).gettext
        me = _closest([g for g in actor.grants if g.role in RELAY_ROLES and reaches(g, child.place)])
        author = await self._people.person(actor.person_id)
        header = self.header(_, child.name, me.role, me.relation, author.display_name if author else "")
        text = content.text if content.kind == "text" else content.caption
        now = self._now()
        async with self._db.transaction() as conn:
            relay_id = await RelaysRepository.add(conn, child_id, actor.person_id, recipient_id, content.source_chat,
                                                  content.source_message_id, content.kind, text, content.file_id,
                                                  in_reply_to, now)
            rows = self._rows(relay_id, _, header, content, chat, actor.person_id, recipient_id, child_id,
                              answered.source_message_id if answered else None)
            ids = await self._outbox.add(conn, rows)
            await RelaysRepository.set_outbox(conn, relay_id, ids[-1])
        log.info("relay %s: person %s → person %s, child %s, %s", relay_id, actor.person_id, recipient_id,
                 child_id, content.kind)
        return Sent(relay_id, recipient, await self._outbox.repo.reachable(CHANNEL, chat))

    @staticmethod
    def header(_, child_name: str, role: str, relation: str | None, author_name: str) -> str:
        """"小明的妈妈：" for the family; "小明的代理家长赵阿姨：" for carers, who may be several."""
        if role in FAMILY_ROLES:
            word = HEADER_RELATIONS.get(relation or "", ROLE_LABELS[role])
            return _("{child}'s {relation}:").format(child=child_name, relation=_(word))
        return _("{child}'s {role} {name}:").format(child=child_name, role=_(ROLE_LABELS[role]), name=author_name)

    @staticmethod
    def _rows(relay_id: int, _, header: str, content: Content, chat: str, author_id: int, recipient_id: int,
              child_id: int, reply_to: str | None) -> list[Outgoing]:
        """The outbox rows of one relay, in order; the "Received" button sits under the last one, the quote
        (when answering) on the first."""
        markup = {"inline_keyboard": [[{"text": _("Received"), "callback_data": f"{ACK}:{relay_id}"}]]}
        options = {"person_id": recipient_id, "notify_person_id": author_id, "child_id": child_id}
        quote = {"reply_to": reply_to} if reply_to else {}
        copy = {"from_chat_id": content.source_chat, "message_id": content.source_message_id, "protect": True}
        if content.kind == "text":
            return Outbox.texts(outbox_key(relay_id, "text"), CHANNEL, chat, f"{header}\n{content.text or ''}",
                                reply_markup=markup, **quote, **options)
        if content.kind in CAPTIONED:
            caption = f"{header}\n{content.caption}" if content.caption else header
            if len(caption) <= CAPTION_LIMIT:
                return [Outgoing(outbox_key(relay_id, "copy"), CHANNEL, chat, "copy",
                                 {**copy, "caption": caption, "reply_markup": markup, **quote}, **options)]
            # Too long for a caption: the header goes on the copy and the author's caption follows it.
            first = Outgoing(outbox_key(relay_id, "copy"), CHANNEL, chat, "copy",
                             {**copy, "caption": header, **quote}, **options)
            return [first, *Outbox.texts(outbox_key(relay_id, "caption"), CHANNEL, chat, content.caption,
                                         reply_markup=markup, **options)]
        first = Outbox.texts(outbox_key(relay_id, "header"), CHANNEL, chat, header, **quote, **options)
        return [*first, Outgoing(outbox_key(relay_id, "copy"), CHANNEL, chat, "copy",
                                 {**copy, "reply_markup": markup}, **options)]

    # -- acknowledgement ------------------------------------------------------------------------------

    async def acknowledge(self, actor: Actor, relay_id: int) -> Relay:
        """The recipient confirms, once; the author is told, in their language, under their own message."""
        found = await self._relays.get(relay_id)
        if found is None or actor.person_id is None or found.recipient_id != actor.person_id:
            raise NotAllowed("acknowledge")
        if found.acknowledged_at is not None:
            raise AlreadyAcknowledged()
        me = await self._people.person(actor.person_id)
        chat = await self._people.external_id(found.author_id, CHANNEL)
        rows = []
        if chat is not None:
            _ = translator(await self._preferences.locale_for(int(chat), None)).gettext
            text = _("{name} received your message.").format(name=me.display_name if me else _("the recipient"))
            rows = Outbox.texts(f"relay-ack:{relay_id}", CHANNEL, chat, text, reply_to=found.source_message_id,
                                person_id=found.author_id, child_id=found.child_id)
        async with self._db.transaction() as conn:
            if not await RelaysRepository.acknowledge(conn, relay_id, self._now()):
                raise AlreadyAcknowledged()
            if rows:
                await self._outbox.add(conn, rows)
        log.info("relay %s acknowledged by person %s", relay_id, actor.person_id)
        return found
