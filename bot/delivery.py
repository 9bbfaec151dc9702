"""What follows a delivery that failed for good: the recipient is marked unreachable (if that was why), and
the person who wrote (and the child's class teacher) are told, each in their own language. And the other way:
a chat that can be reached again gets what failed only because it could not."""

from __future__ import annotations

import logging

import aiosqlite

from bot.clock import Clock, stamp
from bot.i18n import translator
from bot.notices import Notice, Outbox
from bot.preferences import PreferencesService
from storage.children import ChildrenRepository
from storage.db import Database
from storage.outbox import OutboxRow, Reachability
from storage.people import PeopleRepository

log = logging.getLogger(__name__)


class DeliveryNotices:
    def __init__(self, db: Database, outbox: Outbox, people: PeopleRepository, children: ChildrenRepository,
                 preferences: PreferencesService, clock: Clock) -> None:
        self._db = db
        self._outbox = outbox
        self._people = people
        self._children = children
        self._preferences = preferences
        self._clock = clock

    async def set_reachable(self, channel: str, chat: str, reachable: bool, reason: str) -> None:
        """Record whether a chat can be reached; once it can again, whatever failed only because it could not
        goes out now (the sender is woken)."""
        now = stamp(self._clock.now())
        repo = self._outbox.repo
        async with self._db.transaction() as conn:
            await repo.within(conn).set_reachable(Reachability(channel, chat, reachable, reason, now))
            if reachable and await repo.within(conn).requeue_unreachable(channel, chat, now):
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
