"""Class-wide notices (家长会通知, 放假通知): a class teacher (or the school's admin) writes once, as text or a
voice note; every parent and guardian of the class whose child's consent stands gets it with "✅ 收到"; the
author sees which families have pressed it and may remind the rest, once. Copies go in the bulk lane, after
people's own messages and reminders.

A family is a child: it has read the notice when one of its parents or guardians pressed "收到". A parent of two
children of the class gets one copy, and one press counts for both."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

from bot.access.people import Actor, class_run_by, classes_run_by
from bot.access.policy import FAMILY_ROLES
from bot.clock import Clock, stamp
from bot.errors import AlreadyAcknowledged, NotAllowed, StaleButton, UserError
from bot.i18n import N_, translator
from bot.notices import BULK, Action, Media, Notice, Outbox
from bot.payloads import payload
from bot.preferences import PreferencesService
from bot.relay import HEADER_RELATIONS
from storage.children import ChildrenRepository, ChildRow
from storage.class_notices import ClassNotice, ClassNoticesRepository, Receipt
from storage.db import Database
from storage.people import PeopleRepository, SchoolClass

log = logging.getLogger(__name__)

MAX_TEXT = 2000  # a notice, not a letter: it fits one message under its header
TEXT, VOICE = "text", "voice"


@payload("cnc")
class NoticeClass:
    """In /notice: write a notice to this class."""

    klass: int


@payload("cn")
class NoticeStep:
    """On a notice: `s` send the draft, `x` throw it away, `v` who has read it, `r` remind the rest."""

    notice: int
    step: Literal["s", "x", "v", "r"]


@payload("cnr")
class NoticeReceived:
    """"✅ 收到" under a family's copy."""

    notice: int


class AlreadySent(UserError):
    msgid = N_("This notice was sent already; nothing was changed.")


class AlreadyReminded(UserError):
    msgid = N_("The families were reminded once already; nothing was sent.")


class NothingToSend(UserError):
    msgid = N_("No family of {klass} can receive it yet: no parent or guardian has joined and agreed to the "
               "rules. Nothing was sent.")


class EmptyNotice(UserError):
    msgid = N_("Write the notice as a text or send a voice note.")


class TooLong(UserError):
    msgid = N_("That is too long for a notice (at most {limit} characters). Nothing was sent.")


@dataclass(frozen=True)
class Family:
    """One child of the class as the notice's author sees it: who of its family has read it."""

    child_id: int
    child_name: str
    sent: bool                          # False: no parent or guardian could receive it (no consent, nobody joined)
    acknowledged_by: tuple[str, ...]    # "李妈妈 (mum)"-style names of those who pressed "收到"


@dataclass(frozen=True)
class Status:
    notice: ClassNotice
    class_name: str
    families: tuple[Family, ...]

    @property
    def reached(self) -> list[Family]:
        return [f for f in self.families if f.sent]

    @property
    def read(self) -> list[Family]:
        return [f for f in self.families if f.acknowledged_by]

    @property
    def unread(self) -> list[Family]:
        return [f for f in self.families if f.sent and not f.acknowledged_by]

    @property
    def not_sent(self) -> list[Family]:
        return [f for f in self.families if not f.sent]


@dataclass(frozen=True)
class Draft:
    notice: ClassNotice
    class_name: str
    families: int        # children whose family will get it
    people: int          # parents and guardians who will get it
    left_out: int        # children whose family cannot (no consent yet, or nobody joined)


class ClassNoticeService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository, consent,
                 outbox: Outbox, preferences: PreferencesService, clock: Clock) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._consent = consent
        self._outbox = outbox
        self._preferences = preferences
        self._clock = clock
        self.repo = ClassNoticesRepository(db)

    # -- who writes to which class ------------------------------------------------------------------------

    async def classes(self, actor: Actor) -> list[SchoolClass]:
        """The classes this person may write to (bot.access.people.classes_run_by)."""
        return await classes_run_by(self._people, actor)

    async def _class(self, actor: Actor, class_id: int) -> SchoolClass:
        return await class_run_by(self._people, actor, class_id, NotAllowed("class_notice", N_("You cannot send notices to this class.")))

    async def _own(self, actor: Actor, notice_id: int) -> tuple[ClassNotice, SchoolClass]:
        """A notice of a class this person writes to (its author's colleagues see it too); anything else is stale."""
        notice = await self.repo.get(notice_id)
        if notice is None or actor.person_id is None:
            raise StaleButton()
        try:
            return notice, await self._class(actor, notice.class_id)
        except NotAllowed:
            raise StaleButton() from None

    async def recent(self, actor: Actor) -> list[tuple[ClassNotice, str]]:
        classes = {k.id: k.name for k in await self.classes(actor)}
        return [(n, classes[n.class_id]) for n in await self.repo.recent(list(classes))]

    # -- writing and sending ------------------------------------------------------------------------------

    async def _recipients(self, klass: SchoolClass) -> tuple[list[ChildRow], dict[int, list[int]]]:
        """The class's children, and per child the parents and guardians who can receive a notice (consent
        stands, the bot can reach them)."""
        kids = await self._children.in_class(klass.id)
        reach: dict[int, list[int]] = {}
        for child in kids:
            if not await self._consent.consented(child.id):
                continue
            people = []
            for grant in await self._people.grants_for_child(child.id, child.school_id, child.class_id):
                if (grant.role in FAMILY_ROLES and grant.person_id not in people
                        and await self._outbox.repo.address_of(grant.person_id) is not None):
                    people.append(grant.person_id)
            if people:
                reach[child.id] = people
        return kids, reach

    async def draft(self, actor: Actor, class_id: int, *, text: str = "", voice_ref: str | None = None) -> Draft:
        """Keep what was written as a draft and say whom it would reach; nothing is sent yet."""
        klass = await self._class(actor, class_id)
        text = text.strip()
        if not text and not voice_ref:
            raise EmptyNotice()
        if len(text) > MAX_TEXT:
            raise TooLong(limit=MAX_TEXT)
        notice = ClassNotice(klass.school_id, klass.id, actor.person_id, VOICE if voice_ref else TEXT, text,
                             voice_ref, stamp(self._clock.now()))
        notice = replace(notice, id=await self.repo.add(notice))
        kids, reach = await self._recipients(klass)
        people = {p for found in reach.values() for p in found}
        return Draft(notice, klass.name, len(reach), len(people), len(kids) - len(reach))

    async def discard(self, actor: Actor, notice_id: int) -> None:
        notice, _klass = await self._own(actor, notice_id)
        if not await self.repo.delete_draft(notice.id):
            raise AlreadySent()

    async def send(self, actor: Actor, notice_id: int) -> Draft:
        """Send the draft to every family of the class that can receive it, in one transaction with its
        receipts; the copies go in the bulk lane."""
        notice, klass = await self._own(actor, notice_id)
        if notice.sent_at is not None:
            raise AlreadySent()
        kids, reach = await self._recipients(klass)
        if not reach:
            raise NothingToSend(klass=klass.name)
        author = await self._people.person(notice.author_id)
        first_child: dict[int, int] = {}
        for child_id, people in reach.items():
            for person_id in people:
                first_child.setdefault(person_id, child_id)
        notices = [await self._copy(notice, klass.name, author.display_name if author else "", person_id, child_id)
                   for person_id, child_id in first_child.items()]
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            repo = self.repo.within(conn)
            if not await repo.mark_sent(notice.id, now):
                raise AlreadySent()
            for child_id, people in reach.items():
                for person_id in people:
                    await repo.add_receipt(Receipt(notice.id, child_id, person_id))
            await self._outbox.post(conn, notices)
        log.info("class notice %s to class %s: %s families, %s people", notice.id, klass.id, len(reach),
                 len(first_child))
        return Draft(replace(notice, sent_at=now), klass.name, len(reach), len(first_child), len(kids) - len(reach))

    async def _copy(self, notice: ClassNotice, class_name: str, author_name: str, person_id: int, child_id: int,
                    *, reminder: bool = False) -> Notice:
        """One family member's copy, in their language: the header, the words (or the voice note under the
        header) and "✅ 收到". Not protected: a family keeps the date of the parents' meeting."""
        _ = translator(await self._preferences.locale_of(person_id)).gettext
        header = _("📢 Notice from {klass} ({author}):").format(klass=class_name, author=author_name)
        if reminder:
            header = _("⏰ Reminder: please read this notice and press “✅ Received”.") + "\n" + header
        text = f"{header}\n{notice.body}" if notice.body else header
        key = f"cnotice:{notice.id}:{person_id}" + (":remind" if reminder else "")
        actions = [[Action(_("✅ Received"), NoticeReceived(notice.id))]]
        media = [Media("voice", notice.voice_ref)] if notice.voice_ref else []
        return Notice(key, person_id, text=text, actions=actions, media=media, caption=bool(media),
                      child_id=child_id, lane=BULK)

    # -- reading it ---------------------------------------------------------------------------------------

    async def acknowledge(self, actor: Actor, notice_id: int) -> None:
        """A family member pressed "收到": every copy they were sent counts, once."""
        if actor.person_id is None:
            raise StaleButton()
        receipts = [r for r in await self.repo.receipts(notice_id) if r.person_id == actor.person_id]
        if not receipts:
            raise StaleButton()
        if not await self.repo.acknowledge(notice_id, actor.person_id, stamp(self._clock.now())):
            raise AlreadyAcknowledged()
        log.info("class notice %s acknowledged by person %s", notice_id, actor.person_id)

    async def status(self, actor: Actor, notice_id: int, locale: str) -> Status:
        """Which families of the class have read the notice, which have not, which could not get it."""
        notice, klass = await self._own(actor, notice_id)
        if notice.sent_at is None:
            raise StaleButton()
        _ = translator(locale).gettext
        receipts = await self.repo.receipts(notice.id)
        families = []
        for child in await self._children.in_class(klass.id):
            mine = [r for r in receipts if r.child_id == child.id]
            relations = {g.person_id: g.relation or g.role
                         for g in await self._people.grants_for_child(child.id, child.school_id, child.class_id)
                         if g.role in FAMILY_ROLES}
            names = []
            for r in mine:
                if r.acknowledged_at is None:
                    continue
                person = await self._people.person(r.person_id)
                word = HEADER_RELATIONS.get(relations.get(r.person_id, ""), "")
                name = person.display_name if person else "?"
                names.append(_("{name} ({role})").format(name=name, role=_(word)) if word else name)
            families.append(Family(child.id, child.name, bool(mine), tuple(names)))
        return Status(notice, klass.name, tuple(families))

    async def remind(self, actor: Actor, notice_id: int) -> int:
        """Send the notice again, once, to the family members of every family that has not read it. Returns how
        many people were reminded."""
        notice, klass = await self._own(actor, notice_id)
        if notice.sent_at is None:
            raise StaleButton()
        if notice.reminded_at is not None:
            raise AlreadyReminded()
        receipts = await self.repo.receipts(notice.id)
        read = {r.child_id for r in receipts if r.acknowledged_at is not None}
        whom: dict[int, int] = {}
        for r in receipts:
            if r.child_id not in read and r.acknowledged_at is None:
                whom.setdefault(r.person_id, r.child_id)
        author = await self._people.person(notice.author_id)
        notices = [await self._copy(notice, klass.name, author.display_name if author else "", person_id, child_id,
                                    reminder=True) for person_id, child_id in whom.items()]
        async with self._db.transaction() as conn:
            if not await self.repo.within(conn).mark_reminded(notice.id, stamp(self._clock.now())):
                raise AlreadyReminded()
            await self._outbox.post(conn, notices)
        log.info("class notice %s: %s people reminded", notice.id, len(whom))
        return len(whom)
