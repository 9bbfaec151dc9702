"""The relay between a child's family and the people who care for the child: messages pass through the bot,
so nobody learns anyone's number or account.

Who may write to whom about a child: a parent or guardian of the child with the child's proxy parents,
guardians, class teacher and parents; the proxy parents and the class teacher with the family (not with
each other: they are colleagues and talk elsewhere). School admins reach every child of the school and
relay with nobody. Nothing is relayed about a child before a parent or guardian has consented.

A relayed message is a copy with a header naming the author ("小明的妈妈："), never a forward (which would
show the sender's account). Media are protected from forwarding and saving, except for the child's own parents
and guardians, who may keep them. What goes out are notices to the
recipient; the outbox rows that carry each relay are kept beside it (`storage.relays`), so a reply to any of
them finds its way back. Knows nothing of the channel: people are named by their person id.

  relay:c:<child>            the child chosen in /relay
  relay:p:<child>:<person>   whom to write to about them
  ack:<relay>                "Received", under a relayed message
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.access.consent import ConsentService, ConsentWithdrawn
from bot.access.invitations import RELATIONS
from bot.access.people import Actor
from bot.access.policy import FAMILY_ROLES, GUARDIAN, PARENT, PROXY, ROLE_LABELS, TEACHER, reaches, roles_for
from bot.clock import Clock, stamp
from bot.errors import AlreadyAcknowledged, NoConsent, NotAllowed, StaleButton, UserError
from bot.i18n import N_, translator
from bot.notices import CAPTION_LIMIT, Action, Media, Notice, Outbox
from bot.payloads import payload
from bot.preferences import PreferencesService
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.people import Grant, PeopleRepository
from storage.relays import Relay, RelaysRepository

log = logging.getLogger(__name__)

RELAY_ROLES = (PARENT, GUARDIAN, PROXY, TEACHER)
# A person with several roles for a child is named by the closest one.
_CLOSEST_FIRST = (PARENT, GUARDIAN, PROXY, TEACHER)

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


@payload("relay")
class RelayChoice:
    """In /relay: `c` the child is chosen; `p` whom to write to about the child (`person`)."""

    step: Literal["c", "p"]
    child: int
    person: int | None = None

    def __post_init__(self) -> None:
        if (self.person is None) != (self.step == "c"):
            raise StaleButton()


@payload("pass")
class PassOn:
    """Under "Whom should I pass this on to?": send the person's message `message` (its id in their chat) about
    `child` to `person`; person 0: do not send it."""

    child: int
    person: int
    message: int


@payload("ack")
class Received:
    """"Received", pressed by the recipient of a relayed message."""

    relay: int


class Unsupported(UserError):
    """A kind of message the relay does not pass on; nothing was stored or sent."""

    msgid = N_("This kind of message cannot be passed on (polls, dice and contacts are not). You can send text, "
               "photos, voice messages, videos, video messages, files, stickers and locations.")

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = self.what = kind  # `what` is what the refusal's log line names


class NoRelayConsent(NoConsent):
    msgid = N_("Nothing about {child} can be passed on until a parent or guardian has agreed to the rules in "
               "/privacy.")


class RelayStopped(ConsentWithdrawn):
    msgid = N_("Nothing about {child} can be passed on now: a parent or guardian said no to the rules in /privacy "
               "or took their agreement back.")
    refused_msgid = N_("Nothing about {child} can be passed on now: {who} said no to the rules in /privacy.")
    withdrawn_msgid = N_("Nothing about {child} can be passed on now: {who} took back their agreement to the rules "
                         "in /privacy.")


class AlreadyConfirmed(AlreadyAcknowledged):
    msgid = N_("You have already confirmed this message.")


@payload("relnow")
class SendNow:
    """Pressed by the author of a message held for the recipient's quiet hours: it is urgent, send it now."""

    relay: int


class AlreadyOnItsWay(AlreadyAcknowledged):
    msgid = N_("This message is already on its way.")


NO_LONGER = N_("You can no longer pass messages to this person about this child.")


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


@dataclass(frozen=True)
class Sent:
    relay_id: int
    recipient: Partner
    # False: the recipient is known not to receive now (never started the bot, or blocked it). The message is
    # kept in the outbox and goes out once they can be reached (bot.delivery requeues it).
    reachable: bool
    # When the recipient's quiet hours end, if the message waits for them (UTC); None: it goes out now.
    held_until: datetime | None = None


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

    # -- who with whom -------------------------------------------------------------------------------

    async def children(self, actor: Actor) -> list[ChildRow]:
        """The children this person may relay about (before consent too: choosing one then says why not)."""
        return await self._children.reached_by(actor.grants, {TEACHER, PARENT, GUARDIAN, PROXY})

    async def _child_for(self, actor: Actor, child_id: int,
                         refused: str = N_("You cannot pass messages about this child.")) -> tuple[ChildRow, set[str]]:
        child = await self._children.get(child_id)
        mine = roles_for(actor.grants, child.place) & set(RELAY_ROLES) if child else set()
        if child is None or not mine or actor.person_id is None:
            raise NotAllowed("relay", refused)
        if not await self._consent.consented(child_id):
            refusal = await self._consent.refusal(child)
            if isinstance(refusal, ConsentWithdrawn):
                raise RelayStopped(child.name, refusal.by, refusal.decision)
            raise NoRelayConsent(child.name)
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
            # People the bot cannot reach at all (no identity on any channel) are nobody's partners.
            if person is not None and await self._people.identities(person_id):
                partners.append(Partner(person_id, person.display_name, closest.role, closest.relation))
        return sorted(partners, key=lambda p: (order.index(p.role), p.person_id))

    async def partners(self, actor: Actor, child_id: int) -> list[Partner]:
        """Whom this person may write to about the child, the likeliest first."""
        child, mine = await self._child_for(actor, child_id)
        return await self._partners(actor, child, mine)

    async def remembered(self, actor: Actor, child_id: int) -> Partner | None:
        """Whom this person last wrote to about the child, while still a partner: the choice is made once and
        then shown, never guessed."""
        child, mine = await self._child_for(actor, child_id)
        last = await self._relays.last_recipient(child_id, actor.person_id)
        if last is None:
            return None
        return next((p for p in await self._partners(actor, child, mine) if p.person_id == last), None)

    async def offers(self, actor: Actor) -> list[tuple[ChildRow, list[Partner]]]:
        """For a parent or guardian who sends something outside any conversation: each of their children whose
        news may be passed on, with whom to (the remembered choice first). Children without consent, or with
        nobody to write to, are left out."""
        found = []
        for child in await self._children.reached_by(actor.grants, set(FAMILY_ROLES)):
            try:
                partners = await self.partners(actor, child.id)
                last = await self.remembered(actor, child.id)
            except (NotAllowed, NoConsent):
                continue
            if last is not None:
                partners = [last] + [p for p in partners if p.person_id != last.person_id]
            if partners:
                found.append((child, partners))
        return found

    async def child_name(self, child_id: int) -> str:
        child = await self._children.get(child_id)
        return child.name if child else ""

    # -- relaying -------------------------------------------------------------------------------------

    async def replied_to(self, actor: Actor, channel: str, chat: str, message_id: str) -> Relay | None:
        """The relay this person received as message `message_id` in their chat on `channel`: a reply to it goes
        back to its author. None when that message is not a relay delivered to them."""
        if actor.person_id is None:
            return None
        found = await self._relays.delivered_as(channel, chat, message_id)
        return found if found is not None and found.recipient_id == actor.person_id else None

    async def relay(self, actor: Actor, child_id: int, recipient_id: int, content: Content,
                    in_reply_to: int | None = None) -> Sent:
        """Store the relay and enqueue its delivery, in one transaction. `in_reply_to`: the relay (to this
        person, from the recipient) being answered, so the answer quotes the recipient's own message.
        The same message handed over again (an update handled a second time after a crash) is relayed once."""
        if content.kind not in SUPPORTED:
            raise Unsupported(content.kind)
        child, mine = await self._child_for(actor, child_id, NO_LONGER)
        recipient = next((p for p in await self._partners(actor, child, mine) if p.person_id == recipient_id), None)
        if recipient is None:
            raise NotAllowed("recipient", NO_LONGER)
        answered = await self._relays.get(in_reply_to) if in_reply_to is not None else None
        if in_reply_to is not None and (answered is None or answered.child_id != child_id
                                        or answered.recipient_id != actor.person_id
                                        or answered.author_id != recipient_id):
            raise NotAllowed("reply", NO_LONGER)
        _ = translator(await self._preferences.locale_of(recipient_id)).gettext
        me = _closest([g for g in actor.grants if g.role in RELAY_ROLES and reaches(g, child.place)])
        author = await self._people.person(actor.person_id)
        header = self.header(_, child.name, me.role, me.relation, author.display_name if author else "")
        text = content.text if content.kind == "text" else content.caption
        new = Relay(child_id, actor.person_id, recipient_id, content.source_chat, content.source_message_id,
                    content.kind, text, content.file_id, in_reply_to, stamp(self._clock.now()))
        async with self._db.transaction() as conn:
            relays = self._relays.within(conn)
            relay_id = await relays.already_relayed(new)
            if relay_id is None:
                relay_id = await relays.add(new)
                # A child's own parents and guardians may keep what is sent to them (a photo of their child);
                # anyone else (a carer, the teacher) gets it protected.
                notices = self._notices(relay_id, _, header, new, answered.source_message_id if answered else None,
                                        protect=recipient.role not in FAMILY_ROLES)
                await relays.carried_by(relay_id, await self._outbox.post(conn, notices))
        log.info("relay %s: person %s → person %s, child %s, %s", relay_id, actor.person_id, recipient_id,
                 child_id, content.kind)
        return Sent(relay_id, recipient, await self._outbox.repo.person_reachable(recipient_id),
                    await self._outbox.person_quiet_until(recipient_id, self._clock.now()))

    @staticmethod
    def header(_, child_name: str, role: str, relation: str | None, author_name: str) -> str:
        """"小明的妈妈：" for the family; "小明的代理家长赵阿姨：" for carers, who may be several."""
        if role in FAMILY_ROLES:
            word = HEADER_RELATIONS.get(relation or "", ROLE_LABELS[role])
            return _("{child}'s {relation}:").format(child=child_name, relation=_(word))
        return _("{child}'s {role} {name}:").format(child=child_name, role=_(ROLE_LABELS[role]), name=author_name)

    @staticmethod
    def _notices(relay_id: int, _, header: str, relay: Relay, quote: str | None, *, protect: bool = True
                 ) -> list[Notice]:
        """What the recipient is sent, in order: the "Received" button under the last message that can carry
        it, the quote (when answering) on the first. Media are copies of the author's message, protected unless
        `protect` is False (the child's own family)."""
        key = f"relay:{relay_id}"
        received = [[Action(_("Received"), Received(relay_id))]]
        to = {"person_id": relay.recipient_id, "notify_person_id": relay.author_id, "child_id": relay.child_id}
        copy = Media("copy", f"{relay.source_chat}:{relay.source_message_id}")
        if relay.content_kind == "text":
            return [Notice(f"{key}:text", text=f"{header}\n{relay.text or ''}", actions=received, reply_to=quote,
                           **to)]
        if relay.content_kind in CAPTIONED:
            caption = f"{header}\n{relay.text}" if relay.text else header
            if len(caption) <= CAPTION_LIMIT:
                return [Notice(key, text=caption, media=[copy], caption=True, actions=received, protect=protect,
                               reply_to=quote, **to)]
            # Too long for a caption: the header goes on the copy and the author's caption follows it.
            return [Notice(key, text=header, media=[copy], caption=True, protect=protect, reply_to=quote, **to),
                    Notice(f"{key}:caption", text=relay.text, actions=received, **to)]
        # No caption possible: the header goes first. A notice puts buttons on a copy only with a caption, so
        # "Received" sits under the header.
        return [Notice(f"{key}:header", text=header, actions=received, reply_to=quote, **to),
                Notice(key, media=[copy], protect=protect, **to)]

    # -- acknowledgement ------------------------------------------------------------------------------

    async def written_by(self, actor: Actor, relay_id: int) -> Relay:
        """A message this person relayed, to carry their own words on (a worry into a safety report); anyone
        else's, or none, is a stale button."""
        found = await self._relays.get(relay_id)
        if found is None or actor.person_id is None or found.author_id != actor.person_id:
            raise StaleButton()
        return found

    async def send_now(self, actor: Actor, relay_id: int) -> Relay:
        """The author says a message held for quiet hours is urgent: it goes out now (urgent rows are never
        held). Only the author may; the sender still checks the recipient is entitled when it sends."""
        found = await self._relays.get(relay_id)
        if found is None or actor.person_id is None or found.author_id != actor.person_id:
            raise StaleButton()
        async with self._db.transaction() as conn:
            if not await self._relays.within(conn).make_urgent(relay_id, stamp(self._clock.now())):
                raise AlreadyOnItsWay()
        self._outbox.wake()
        log.info("relay %s: person %s asked for it to go now", relay_id, actor.person_id)
        return found

    async def acknowledge(self, actor: Actor, relay_id: int) -> Relay:
        """The recipient confirms, once; the author is told, in their language, under their own message."""
        found = await self._relays.get(relay_id)
        if found is None or actor.person_id is None or found.recipient_id != actor.person_id:
            raise StaleButton()
        if found.acknowledged_at is not None:
            raise AlreadyConfirmed()
        me = await self._people.person(actor.person_id)
        _ = translator(await self._preferences.locale_of(found.author_id)).gettext
        name = me.display_name if me else _("the recipient")
        told = Notice(f"relay-ack:{relay_id}", found.author_id, text=_("{name} received your message.").format(
            name=name), reply_to=found.source_message_id, child_id=found.child_id)
        async with self._db.transaction() as conn:
            if not await self._relays.within(conn).acknowledge(relay_id, stamp(self._clock.now())):
                raise AlreadyConfirmed()
            await self._outbox.post(conn, [told])
        log.info("relay %s acknowledged by person %s", relay_id, actor.person_id)
        return found
