"""The guardian's rights over a child's record: a copy of everything (/mydata: the document is made here, the
data come from each feature's `export`) and erasure on request, confirmed by an admin of the school. The person
who asked hears the outcome through the outbox, in the same transaction as the decision. While a safety case about
the child is open the erasure is held (the law requires keeping the record): the school's admins are told, the
family is answered as for any request, so it learns nothing of the case."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.access.consent import GIVEN, REFUSED, RULES_VERSION, WITHDRAWN
from bot.access.people import Actor
from bot.access.policy import ADMIN, DECIDE_DELETION, REQUEST_DELETION, can, can_in_school
from bot.clock import Clock, stamp
from bot.errors import NoConsent, NotAllowed, StaleButton, UserError
from bot.i18n import N_, translator
from bot.musts.media import MediaStore
from bot.notices import Notice, Outbox
from bot.preferences import PreferencesService
from bot.records.fields import BY_KEY, display
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


def export_document(data: dict, mine: OwnChild, _, exported_at: str) -> bytes:
    """Everything the export holds (`data`: the record's export, with the care entries under "care" and the
    video calls under "video"), each field's label in the reader's language beside its key, as UTF-8 JSON."""
    fields = {}
    for key, value in data["fields"].items():
        entry = {"label": _(BY_KEY[key].label), "value": value}
        shown = display(key, value, _)
        if shown != value:
            entry["shown"] = shown
        fields[key] = entry
    history = []
    for change in data["history"]:
        spec = BY_KEY.get(change["field"])
        history.append({"field": change["field"], "label": _(spec.label) if spec else change["field"], **change})
    document = {
        "title": _("Everything Qinqing Bridge stores about {name}").format(name=mine.child.name),
        "exported_at": exported_at,
        "child_id": data["child_id"],
        "class": data["class"],
        "consent": {
            "state": data["consent"],
            "meaning": sharing(mine, _),
            "your_answer": own_answer(mine, _),
            "rules_version": RULES_VERSION,
        },
        "fields": fields,
        "history": history,
        "updates_and_records": data.get("care", []),
        "video_calls": data.get("video", {}),
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


class PrivacyService:
    def __init__(self, db: Database, children: ChildrenRepository, deletions: DeletionsRepository,
                 clock: Clock, media: MediaStore, outbox: Outbox, preferences: PreferencesService,
                 retention: Retention | None = None) -> None:
        self._db = db
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
        return request_id

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
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            if not await self._deletions.within(conn).decide(
                    DeletionDecision(request_id, actor.person_id, "erased" if erase else "declined", now)):
                raise StaleButton()
            if erase:
                await self._deletions.within(conn).erase_child(request.child_id)
            await self._audit.within(conn).record(AuditEntry(now, actor.person_id, request.child_id,
                                                             "erase" if erase else "decline_deletion",
                                                             f"request={request_id}"))
            told = bool(await self._outbox.post(conn, [notice]))
        if erase:
            await self._scrub(request)
        return Decided(request, erase, told)

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

    async def _scrub(self, request: DeletionRequest) -> None:
        """After the commit, so an erasure that rolls back keeps its files. A download still running for this
        child is deleted by fetch_pending when it finds its row gone."""
        try:
            await asyncio.to_thread(self._media.remove_child, request.child_id)
        except OSError as exc:
            log.error("erasure %s: the child's media folder could not be removed (%s)", request.id,
                      type(exc).__name__)
        for delay in (0.1, 0.5, 2.0):
            if await self._db.checkpoint():
                break
            await asyncio.sleep(delay)
        else:
            # The maintenance job checkpoints again until it succeeds; until then a copy is in the WAL.
            log.warning("erasure %s: WAL checkpoint busy; the maintenance job will retry", request.id)
