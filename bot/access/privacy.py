"""The guardian's rights over a child's record: a copy of everything (/mydata: the data come from each feature's
`export`, the document is laid out by bot.access.mydata) and erasure on request, confirmed by an admin of the
school. The person who asked hears the outcome through the outbox, in the same transaction as the decision. While a safety case about
the child is open the erasure is held (the law requires keeping the record): the school's admins are told, the
family is answered as for any request, so it learns nothing of the case."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.access.buttons import DecideErasure, ObjectErasure
from bot.access.consent import GIVEN, REFUSED, WITHDRAWN, who_said
from bot.access.people import Actor
from bot.access.policy import (ADMIN, DECIDE_DELETION, FAMILY_ROLES, PROXY, REQUEST_DELETION, TEACHER, can,
                               can_in_school)
from bot.clock import Clock, stamp
from bot.errors import NoConsent, NotAllowed, StaleButton, UserError
from bot.i18n import N_, translator
from bot.musts.media import MediaStore
from bot.notices import Action, Notice, Outbox
from bot.preferences import PreferencesService
from bot.safekeeping.backup import Tombstone, record_erasure
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildrenRepository, ChildRow
from storage.db import Database
from storage.deletions import DeletionDecision, DeletionRequest, DeletionsRepository, NewDeletionRequest
from storage.people import PeopleRepository

log = logging.getLogger(__name__)


class ErasureHeld(UserError):
    """An erasure confirmed while a safety case about the child is open: the law requires keeping the record."""

    msgid = N_("This record cannot be erased while a safety case about the child is open: the law requires "
               "keeping it (legal retention). The request stays open; erase it once the case is closed.")


class Retention(Protocol):
    """What must keep a record from erasure for now (bot.safety.service.SafetyService)."""

    async def has_open_case(self, child_id: int) -> bool: ...


@dataclass(frozen=True)
class OwnChild:
    """A child this person is a parent or guardian of: where sharing stands, and their own answer."""

    child: ChildRow
    state: str  # given / awaiting / withdrawn, for the child as a whole
    own: str    # this person's latest decision, or awaiting


@dataclass(frozen=True)
class Decided:
    """An admin's answer to an erasure request: the request, and whether its requester has an address to be
    told at (a notice is in the outbox for them)."""

    request: DeletionRequest
    erased: bool
    told: bool


def sharing(mine: OwnChild, _) -> str:
    """Where sharing stands for the child, as the family member reads it."""
    if mine.state == GIVEN:
        return _("News about the child is shared with the carers.")
    if mine.state == WITHDRAWN and mine.own == GIVEN:
        return _("Another parent or guardian said no, so nothing is shared.")
    if mine.state == WITHDRAWN:
        return _("Nothing is shared.")
    return _("Nothing is shared yet.")


def own_answer(mine: OwnChild, _) -> str:
    if mine.own == GIVEN:
        return _("You agreed.")
    if mine.own in (REFUSED, WITHDRAWN):
        return _("You said no.")
    return _("You have not answered yet.")


async def everything_about(actor: Actor, child_id: int, record, care, video) -> dict | None:
    """What /mydata hands a parent or guardian: the record (`record.export`), the care entries and the video
    calls, each read within the access policy. None if the person may not have a copy at all. Before consent
    nothing was recorded, so there are no entries and no calls rather than no copy."""
    try:
        data = await record.export(actor, child_id)
    except NotAllowed:
        return None
    for key, service, empty in (("care", care, []), ("video", video, {})):
        try:
            data[key] = await service.export(actor, child_id)
        except (NotAllowed, NoConsent):
            data[key] = empty
    return data


class PrivacyService:
    def __init__(self, db: Database, children: ChildrenRepository, deletions: DeletionsRepository,
                 clock: Clock, media: MediaStore, outbox: Outbox, preferences: PreferencesService,
                 retention: Retention | None = None, backups: Path | None = None) -> None:
        self._db = db
        self._backups = backups  # where erasures.log is kept, beside the backups it must outlive
        self._children = children
        self._deletions = deletions
        self._audit = AuditRepository(db)
        self._clock = clock
        self._media = media
        self._outbox = outbox
        self._preferences = preferences
        self._retention = retention
        self._people = PeopleRepository(db)

    async def _held(self, child_id: int) -> bool:
        return self._retention is not None and await self._retention.has_open_case(child_id)

    async def request_deletion(self, actor: Actor, child_id: int) -> int:
        row = await self._children.get(child_id)
        if row is None or not can(actor.grants, REQUEST_DELETION, row.place):
            raise NotAllowed("deletion")
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            request_id = await self._deletions.within(conn).request(
                NewDeletionRequest(child_id, row.school_id, actor.person_id, now))
            await self._audit.within(conn).record(AuditEntry(now, actor.person_id, child_id, "request_deletion",
                                                             f"request={request_id}"))
            if await self._held(child_id):
                # The family is answered as for any request: they must not learn from it that a case exists.
                await self._audit.within(conn).record(AuditEntry(now, None, child_id, "erasure_held",
                                                                 f"request={request_id}"))
                await self._outbox.post(conn, await self._held_notes(row, request_id))
            else:
                await self._outbox.post(conn, await self._asked_notes(actor, row, request_id))
        return request_id

    async def _asked_notes(self, actor: Actor, child: ChildRow, request_id: int) -> list[Notice]:
        """An erasure request is pushed to the school's admins when it is made, with its buttons; the child's other
        parents and guardians hear of it and may object before an admin decides. Each notice goes with the record."""
        grants = await self._people.grants_for_child(child.id, child.school_id, child.class_id)
        mine = next((g for g in grants if g.person_id == actor.person_id and g.role in FAMILY_ROLES
                     and g.child_id == child.id), None)
        notes, told = [], {actor.person_id}
        for grant in grants:
            family = grant.role in FAMILY_ROLES and grant.child_id == child.id
            if grant.person_id in told or not (grant.role == ADMIN or family):
                continue
            told.add(grant.person_id)
            _ = translator(await self._preferences.locale_of(grant.person_id)).gettext
            who = who_said(_, child.name, mine)
            if family:
                notes.append(Notice(
                    f"erasure:{request_id}:asked:{grant.person_id}", grant.person_id, child_id=child.id,
                    needs_consent=False,
                    text=_("{who} asked for everything about {child} to be deleted here (the record, its history and "
                           "photos). A school admin will decide. If you do not want it deleted, press the button "
                           "below before then.").format(who=who, child=child.name),
                    actions=[[Action(_("✋ I do not want it deleted"), ObjectErasure(request_id))]]))
            else:
                notes.append(Notice(
                    f"erasure:{request_id}:asked:{grant.person_id}", grant.person_id, child_id=child.id,
                    needs_consent=False, protect=True,
                    text=_("Request {id}: {who} asked for everything about {child} ({klass}) to be deleted. The "
                           "other parents and guardians have been told and may object. Please decide: erase, or "
                           "decline.").format(id=request_id, who=who, child=child.name, klass=child.class_name),
                    actions=[[Action("🗑 " + _("Erase"), DecideErasure(request_id, "yes")),
                              Action(_("Decline"), DecideErasure(request_id, "no"))]]))
        return notes

    async def object_to(self, actor: Actor, request_id: int) -> DeletionRequest:
        """A parent or guardian of the child does not want the record erased: the school's admins are told at
        once, and it is in the audit log. Their objection does not decide; the admin does."""
        request = await self._deletions.get(request_id)
        child = await self._children.get(request.child_id) if request is not None else None
        if request is None or request.decision is not None or child is None or actor.person_id is None or not any(
                g.role in FAMILY_ROLES and g.child_id == child.id for g in actor.grants):
            raise StaleButton()
        now = stamp(self._clock.now())
        notes = []
        grants = await self._people.grants_for_child(child.id, child.school_id, child.class_id)
        mine = next((g for g in grants if g.person_id == actor.person_id and g.role in FAMILY_ROLES
                     and g.child_id == child.id), None)
        for grant in grants:
            if grant.role != ADMIN:
                continue
            _ = translator(await self._preferences.locale_of(grant.person_id)).gettext
            notes.append(Notice(
                f"erasure:{request_id}:objected:{actor.person_id}:{grant.person_id}", grant.person_id,
                child_id=child.id, needs_consent=False, protect=True,
                text=_("Request {id}: {who} does not want {child}'s record deleted. Please talk with the family "
                       "before you decide in /deletions.").format(id=request_id, who=who_said(_, child.name, mine),
                                                                   child=child.name)))
        async with self._db.transaction() as conn:
            await self._audit.within(conn).record(AuditEntry(now, actor.person_id, child.id, "object_deletion",
                                                             f"request={request_id}"))
            await self._outbox.post(conn, notes)
        return request

    async def _erased_notes(self, request: DeletionRequest, actor: Actor) -> list[Notice]:
        """After an erasure the child's carers and family are told the record was removed. Like the answer to the
        person who asked, these outlive the record, so they name the class, never the child."""
        child = await self._children.get(request.child_id)
        if child is None:
            return []
        notes = []
        for grant in await self._people.grants_for_child(child.id, child.school_id, child.class_id):
            carer = grant.role in (TEACHER, PROXY) or grant.role in FAMILY_ROLES and grant.child_id == child.id
            if not carer or grant.person_id in (request.requested_by, actor.person_id):
                continue
            _ = translator(await self._preferences.locale_of(grant.person_id)).gettext
            notes.append(Notice(
                f"erasure:{request.id}:erased:{grant.person_id}", grant.person_id,
                text=_("A child's record in {klass} was erased at the family's request. You can no longer see it, "
                       "and messages about that child no longer pass through Qinqing Bridge.").format(
                           klass=child.class_name)))
        return notes

    async def _held_notes(self, child: ChildRow, request_id: int) -> list[Notice]:
        """The note to the school's admins that an erasure request waits for a safety case to close."""
        notes = []
        for grant in await self._people.grants_in_school(child.school_id):
            if grant.role != ADMIN:
                continue
            _ = translator(await self._preferences.locale_of(grant.person_id)).gettext
            notes.append(Notice(
                f"erasure:{request_id}:held:{grant.person_id}", grant.person_id, child_id=child.id,
                needs_consent=False, protect=True,
                text=_("A request to erase {name}'s record is held: a safety case about {name} is open, and the law "
                       "requires keeping the record while it is (legal retention). It can be erased in /deletions "
                       "once the case is closed. The family has not been told why.").format(name=child.name)))
        return notes

    async def open_requests(self, actor: Actor) -> list[DeletionRequest]:
        found = []
        for school_id in sorted(actor.schools()):
            if can_in_school(actor.grants, DECIDE_DELETION, school_id):
                found += await self._deletions.open_in_school(school_id)
        return found

    async def decide(self, actor: Actor, request_id: int, erase: bool) -> Decided:
        """Erase the child's record, or decline; either way the person who asked is told, in their language.
        A request decided already is a stale button."""
        request = await self._deletions.get(request_id)
        if request is None or not can_in_school(actor.grants, DECIDE_DELETION, request.school_id):
            raise NotAllowed("deletion", StaleButton.msgid)
        if erase and await self._held(request.child_id):
            await self._audit.record(AuditEntry(stamp(self._clock.now()), actor.person_id, request.child_id,
                                                "erasure_held", f"request={request_id}"))
            raise ErasureHeld()
        notice = await self._outcome(request, actor, erase)
        others = await self._erased_notes(request, actor) if erase else []
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            if not await self._deletions.within(conn).decide(
                    DeletionDecision(request_id, actor.person_id, "erased" if erase else "declined", now)):
                raise StaleButton()
            if erase:
                await self._erase(conn, request.child_id, now)
            await self._audit.within(conn).record(AuditEntry(now, actor.person_id, request.child_id,
                                                             "erase" if erase else "decline_deletion",
                                                             f"request={request_id}"))
            told = bool(await self._outbox.post(conn, [notice]))
            await self._outbox.post(conn, others)
        if erase:
            await self._scrub(request.child_id, f"request={request.id}")
        return Decided(request, erase, told)

    async def _erase(self, conn, child_id: int, now: str, logged: bool = False) -> None:
        """The erasure itself, inside the caller's transaction: the child's rows, the tombstone, and a line in the
        backups' erasures.log (unless it is there already), so that no restore brings the child back."""
        await self._deletions.within(conn).erase_child(child_id)
        await self._deletions.within(conn).tombstone(child_id, now)
        if self._backups is None or logged:
            return
        try:
            await asyncio.to_thread(record_erasure, self._backups, child_id, now)
        except OSError as exc:
            # Not a reason to keep a record the family asked to erase: the next backup copies the tombstone into
            # the log (bot.safekeeping.backup), and until then the operator is told.
            log.error("erasure of child %s: erasures.log could not be written (%s)", child_id, type(exc).__name__)

    async def reapply(self, tombstones: Iterable[Tombstone], after: str) -> list[int]:
        """After a restore: the erasures made after the backup was taken (`after`) are made again, by the same
        code as an admin's confirmation. A record created after its erasure is another child who was given the
        same id, and stays. Returns the ids erased again."""
        erased = []
        for stone in sorted(set(tombstones), key=lambda t: t.erased_at):
            if stone.erased_at <= after:
                continue
            async with self._db.transaction() as conn:
                if not await self._deletions.within(conn).created_before(stone.child_id, stone.erased_at):
                    await self._deletions.within(conn).tombstone(stone.child_id, stone.erased_at)
                    continue
                await self._erase(conn, stone.child_id, stone.erased_at, logged=True)
                await self._audit.within(conn).record(AuditEntry(stamp(self._clock.now()), None, stone.child_id,
                                                                 "erase", "restore"))
            erased.append(stone.child_id)
            await self._scrub(stone.child_id, "restore")
        return erased

    async def _outcome(self, request: DeletionRequest, actor: Actor, erased: bool) -> Notice:
        """What the person who asked is told. The outbox keeps what it sends, so the erasure notice does not
        name the child: nothing of the child may outlive the record. A kept record is named, and the notice
        goes with the record if it is erased later."""
        _ = translator(await self._preferences.locale_of(request.requested_by)).gettext
        if erased:
            return Notice(f"erasure:{request.id}", request.requested_by, notify_person_id=actor.person_id,
                          text=_("The record you asked to delete has been erased. Nothing about the child is left "
                                 "in Qinqing Bridge."))
        child = await self._children.get(request.child_id)
        return Notice(f"erasure:{request.id}", request.requested_by, notify_person_id=actor.person_id,
                      child_id=request.child_id, needs_consent=False,
                      text=_("A school admin did not confirm the deletion of {name}'s record, so it is kept. Please "
                             "talk to the school if you have questions.").format(name=child.name if child else "?"))

    async def _scrub(self, child_id: int, what: str) -> None:
        """After the commit, so an erasure that rolls back keeps its files. A download still running for this
        child is deleted by fetch_pending when it finds its row gone."""
        try:
            await asyncio.to_thread(self._media.remove_child, child_id)
        except OSError as exc:
            log.error("erasure %s: the child's media folder could not be removed (%s)", what, type(exc).__name__)
        for delay in (0.1, 0.5, 2.0):
            if await self._db.checkpoint():
                break
            await asyncio.sleep(delay)
        else:
            # The maintenance job checkpoints again until it succeeds; until then a copy is in the WAL.
            log.warning("erasure %s: WAL checkpoint busy; the maintenance job will retry", what)
