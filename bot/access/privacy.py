"""The guardian's rights over a child's record: a copy of everything (/mydata, in ChildrenService.export)
and erasure on request, confirmed by an admin of the school."""

from __future__ import annotations

import asyncio
import logging

from bot.clock import Clock
from bot.musts.media import MediaStore
from bot.access.people import Actor, NotAllowed
from bot.access.policy import DECIDE_DELETION, REQUEST_DELETION, can, can_in_school
from storage.audit import AuditRepository
from storage.children import ChildrenRepository
from storage.db import Database
from storage.deletions import DeletionRequest, DeletionsRepository


log = logging.getLogger(__name__)


class PrivacyService:
    def __init__(self, db: Database, children: ChildrenRepository, deletions: DeletionsRepository,
                 clock: Clock, media: MediaStore) -> None:
        self._db = db
        self._children = children
        self._deletions = deletions
        self._clock = clock
        self._media = media

    def _now(self) -> str:
        return self._clock.now().isoformat(timespec="seconds")

    async def request_deletion(self, actor: Actor, child_id: int) -> int:
        row = await self._children.get(child_id)
        if row is None or not can(actor.grants, REQUEST_DELETION, row.place):
            raise NotAllowed("deletion")
        now = self._now()
        async with self._db.transaction() as conn:
            request_id = await DeletionsRepository.request(conn, child_id, row.school_id, actor.person_id, now)
            await AuditRepository.record(conn, now, actor.person_id, child_id, "request_deletion",
                                         f"request={request_id}")
        return request_id

    async def open_requests(self, actor: Actor) -> list[DeletionRequest]:
        found = []
        for school_id in sorted(actor.schools()):
            if can_in_school(actor.grants, DECIDE_DELETION, school_id):
                found += await self._deletions.open_in_school(school_id)
        return found

    async def decide(self, actor: Actor, request_id: int, erase: bool) -> DeletionRequest:
        request = await self._deletions.get(request_id)
        if request is None or not can_in_school(actor.grants, DECIDE_DELETION, request.school_id):
            raise NotAllowed("deletion")
        now = self._now()
        async with self._db.transaction() as conn:
            if not await DeletionsRepository.decide(conn, request_id, actor.person_id,
                                                    "erased" if erase else "declined", now):
                raise NotAllowed("decided")
            if erase:
                await DeletionsRepository.erase_child(conn, request.child_id)
            await AuditRepository.record(conn, now, actor.person_id, request.child_id,
                                         "erase" if erase else "decline_deletion", f"request={request_id}")
        if erase:
            # After the commit, so an erasure that rolls back keeps its files. A download still running for
            # this child is deleted by fetch_pending when it finds its row gone.
            try:
                await asyncio.to_thread(self._media.remove_child, request.child_id)
            except OSError as exc:
                log.error("erasure %s: the child's media folder could not be removed (%s)", request_id,
                          type(exc).__name__)
            for delay in (0.1, 0.5, 2.0):
                if await self._db.checkpoint():
                    break
                await asyncio.sleep(delay)
            else:
                # The maintenance job checkpoints again until it succeeds; until then a copy is in the WAL.
                log.warning("erasure %s: WAL checkpoint busy; the maintenance job will retry", request_id)
        return request
