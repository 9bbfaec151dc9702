"""What follows a delivery that failed for good: the recipient is marked unreachable (if that was why), and
the person who wrote (and the child's class teacher) are told, each in their own language. And the other way:
a chat that can be reached again gets what failed only because it could not."""

from __future__ import annotations

import logging
from datetime import timedelta

import aiosqlite

from bot.clock import Clock, stamp
from bot.i18n import translator
from bot.notices import Notice, Outbox, entitled_by, reach
from bot.preferences import PreferencesService
from storage.children import ChildrenRepository
from storage.consents import ConsentsRepository
from bot.access.consent import ConsentService
from storage.db import Database
from storage.outbox import OutboxRow, Reachability
from storage.people import PeopleRepository

log = logging.getLogger(__name__)


# What failed because the recipient could not be reached is sent on their unblock only if it failed within
# this long (settings.undeliverable_expiry_days); older rows have expired.
UNDELIVERABLE_EXPIRY = timedelta(days=7)


class DeliveryNotices:
    def __init__(self, db: Database, outbox: Outbox, people: PeopleRepository, children: ChildrenRepository,
                 preferences: PreferencesService, clock: Clock,
                 expiry: timedelta = UNDELIVERABLE_EXPIRY) -> None:
        self._db = db
        self._outbox = outbox
        self._people = people
        self._children = children
        self._consent = ConsentService(db, children, ConsentsRepository(db), clock)
        self._preferences = preferences
        self._clock = clock
        self.expiry = expiry

    async def entitled(self, row: OutboxRow) -> bool:
        """Asked by the sender just before a row goes out: a row about a child goes only to someone who still
        reaches the child and, for family and proxy parents, while the child's consent stands (unless the row
        does not need it). Anything else is withdrawn unsent, and nobody is told."""
        if row.child_id is None or row.person_id is None:
            return True
        roles = await reach(self._people, self._children, row.person_id, row.child_id)
        consented = bool(roles) and row.needs_consent and await self._consent.consented(row.child_id)
        return entitled_by(roles, needs_consent=row.needs_consent, consented=consented)

    async def set_reachable(self, channel: str, chat: str, reachable: bool, reason: str) -> None:
        """Record whether a chat can be reached; once it can again, whatever failed only because it could not
        goes out now (the sender is woken)."""
        now = stamp(self._clock.now())
        repo = self._outbox.repo
        async with self._db.transaction() as conn:
            await repo.within(conn).set_reachable(Reachability(channel, chat, reachable, reason, now))
            since = stamp(self._clock.now() - self.expiry)
            if reachable and await repo.within(conn).requeue_unreachable(channel, chat, now, since):
                self._outbox.wake()

    async def reachable(self, channel: str, chat: str) -> bool:
        return await self._outbox.repo.reachable(channel, chat)

    async def undeliverable(self, conn: aiosqlite.Connection, row: OutboxRow, error: str) -> None:
        """Inside the sender's transaction that ends the row."""
        unreachable = error.startswith("Unreachable")
        recipient = await self._people.person(row.person_id) if row.person_id else None
        tell = [row.notify_person_id] if row.notify_person_id else []
        if row.child_id is not None:
            child = await self._children.get(row.child_id)
            if child is not None:
                tell += [g.person_id for g in await self._people.grants_for_child(child.id, child.school_id,
                                                                                   child.class_id)
                         if g.role == "teacher"]
        notices = []
        for person_id in dict.fromkeys(tell):
            if person_id == row.person_id:
                continue
            _ = translator(await self._preferences.locale_of(person_id)).gettext
            name = recipient.display_name if recipient else _("the recipient")
            if unreachable:
                text = _("A message to {name} could not be delivered: they have blocked Qinqing Bridge or have "
                         "not opened it yet. Please ask them to open the bot and press Start.").format(name=name)
            else:
                text = _("A message to {name} could not be delivered: Telegram refused it.").format(name=name)
            notices.append(Notice(f"undeliverable:{row.id}:{person_id}", person_id, text=text))
        if unreachable:
            await self._outbox.repo.within(conn).set_reachable(
                Reachability(row.channel, row.recipient, False, error[:60], stamp(self._clock.now())))
        if notices:
            await self._outbox.post(conn, notices)
        log.info("outbox row %s undeliverable; %s people told", row.id, len(notices))
