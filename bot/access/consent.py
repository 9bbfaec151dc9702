"""Guardian consent: nothing about a child is used until a parent or guardian of the child agrees to the
rules, and a withdrawal by any of them stops all sharing at once."""

from __future__ import annotations

from bot.access.people import Actor
from bot.access.policy import CONSENT, FAMILY_ROLES, can
from bot.clock import Clock, stamp
from bot.errors import NotAllowed
from bot.notices import withdraw_without_consent
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildrenRepository
from storage.consents import Consent, ConsentsRepository
from storage.db import Database

# Bumped whenever the rules shown by /privacy change in substance; consents name the version they saw.
RULES_VERSION = "2026-11-22"

GIVEN, REFUSED, WITHDRAWN = "given", "refused", "withdrawn"
AWAITING = "awaiting"


class ConsentService:
    def __init__(self, db: Database, children: ChildrenRepository, consents: ConsentsRepository,
                 clock: Clock) -> None:
        self._db = db
        self._children = children
        self._consents = consents
        self._audit = AuditRepository(db)
        self._clock = clock

    async def state(self, child_id: int) -> str:
        """given: someone consented and nobody objects; withdrawn: someone refused or withdrew; else awaiting."""
        latest = await self._consents.latest(child_id)
        if any(c.decision in (REFUSED, WITHDRAWN) for c in latest):
            return WITHDRAWN
        if any(c.decision == GIVEN for c in latest):
            return GIVEN
        return AWAITING

    async def consented(self, child_id: int) -> bool:
        return await self.state(child_id) == GIVEN

    async def decide(self, actor: Actor, child_id: int, decision: str) -> None:
        if decision not in (GIVEN, REFUSED, WITHDRAWN):
            raise ValueError(decision)
        child = await self._children.get(child_id)
        if child is None or not can(actor.grants, CONSENT, child.place):
            raise NotAllowed("consent")
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            await self._consents.within(conn).record(Consent(child_id, actor.person_id, decision, RULES_VERSION, now))
            await self._audit.within(conn).record(AuditEntry(now, actor.person_id, child_id, f"consent_{decision}",
                                                             f"rules={RULES_VERSION}"))
            if decision != GIVEN:  # what was queued for family and proxy parents about the child ends unsent
                await withdraw_without_consent(conn, child_id, now)

    async def mine(self, actor: Actor) -> dict[int, str]:
        """This person's own latest decision for each child they are family of."""
        found = {}
        for grant in actor.grants:
            if grant.role in FAMILY_ROLES and grant.child_id is not None:
                own = [c for c in await self._consents.latest(grant.child_id) if c.person_id == actor.person_id]
                found[grant.child_id] = own[0].decision if own else AWAITING
        return found
