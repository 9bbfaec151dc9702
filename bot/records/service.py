"""Children's records as people use them: listed, viewed, created and edited within the access policy,
every view and change written to the audit log in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access.consent import ConsentService
from bot.access.people import Actor
from bot.access.policy import (ADMIN, CONSENT, CREATE_CHILD, EDIT, EXPORT, INVITE_TEACHER, READ_AUDIT, READ_HISTORY,
                               SET_VILLAGE, VIEW, can, can_in_school, fields_allowed, roles_for)
from bot.clock import Clock, stamp
from bot.errors import NotAllowed, UserError
from bot.i18n import N_
from bot.names import clean_name
from bot.records.fields import BY_KEY, FIELDS, FieldError, normalise
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildRow, ChildrenRepository, FieldChange, NewChild, RecordChange, roster_order
from storage.db import Database
from storage.people import PeopleRepository, Village

CLASS_EXISTS = N_("The school already has a class called “{name}”. Invite its teacher with /invite, or choose "
                  "another name.")
# What a person who does not reach a child is told: nothing of whether the child exists.
CANNOT_SEE = N_("You cannot see this child's record.")


@dataclass(frozen=True)
class ChildSummary:
    child: ChildRow
    consent: str  # given / awaiting / withdrawn


@dataclass(frozen=True)
class ChildView:
    child: ChildRow
    consent: str
    fields: dict[str, str]      # only what this person may see
    editable: frozenset[str]    # field keys this person may change


class ChildrenService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository,
                 audit: AuditRepository, consent: ConsentService, clock: Clock) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._audit = audit
        self._consent = consent
        self._clock = clock

    async def visible(self, actor: Actor) -> list[ChildSummary]:
        """The children this person reaches, each once. Before consent only staff see a child listed."""
        seen: dict[int, ChildRow] = {}
        for grant in actor.grants:
            for row in await self._children.for_grant(grant):
                seen.setdefault(row.id, row)
        summaries = []
        for row in seen.values():
            state = await self._consent.state(row.id)
            if fields_allowed(actor.grants, row.place, VIEW, consented=state == "given") or \
                    can(actor.grants, CONSENT, row.place):
                summaries.append(ChildSummary(row, state))
        return sorted(summaries, key=lambda s: roster_order(s.child))

    async def _reachable(self, actor: Actor, child_id: int) -> ChildRow:
        row = await self._children.get(child_id)
        if row is None or not roles_for(actor.grants, row.place):
            raise NotAllowed("child", CANNOT_SEE)
        return row

    async def _audit_entry(self, actor: Actor, child_id: int | None, action: str, detail: str = "") -> None:
        """A view or an export, audited on its own (a change is audited in the change's transaction)."""
        await self._audit.record(AuditEntry(stamp(self._clock.now()), actor.person_id, child_id, action, detail))

    async def view(self, actor: Actor, child_id: int) -> ChildView:
        row = await self._reachable(actor, child_id)
        state = await self._consent.state(child_id)
        consented = state == "given"
        allowed = fields_allowed(actor.grants, row.place, VIEW, consented=consented)
        family = can(actor.grants, CONSENT, row.place)
        if not allowed and not family:
            raise NotAllowed("child", CANNOT_SEE)
        values = await self._children.fields(child_id)
        shown = {k: v for k, v in values.items() if k in allowed}
        if family and "name" not in shown:
            shown["name"] = row.name  # their own child's name, even before they consent
        await self._audit_entry(actor, child_id, "view", ",".join(sorted(shown)))
        editable = frozenset(fields_allowed(actor.grants, row.place, EDIT, consented=consented))
        return ChildView(row, state, shown, editable)

    async def create(self, actor: Actor, class_id: int, raw: dict[str, object]) -> int:
        klass = await self._people.school_class(class_id)
        if klass is None or not any(
                g.school_id == klass.school_id and (g.role == ADMIN or g.class_id == class_id)
                and can([g], CREATE_CHILD) for g in actor.grants):
            raise NotAllowed("class", N_("You can no longer add children to this class."))
        values = self.validate(raw)
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            children = self._children.within(conn)
            if await children.find_duplicate(klass.school_id, values["name"], values.get("birth_date", "")):
                raise FieldError("name", "duplicate")
            child_id = await children.create(NewChild(klass.school_id, class_id, actor.person_id, now))
            changed = await children.update(RecordChange(child_id, values, actor.person_id, now))
            await self._audit.within(conn).record(
                AuditEntry(now, actor.person_id, child_id, "create", ",".join(changed)))
        return child_id

    async def add_class(self, actor: Actor, school_id: int, name: str) -> int:
        """A new class; a name the school has already (compared in NFC) is refused, not said to be created."""
        if not can_in_school(actor.grants, INVITE_TEACHER, school_id):
            raise NotAllowed("class")
        name = clean_name(name)
        async with self._db.transaction() as conn:
            people = self._people.within(conn)
            if any(k.name == name for k in await people.classes(school_id)):
                raise UserError(CLASS_EXISTS, name=name)
            class_id = await people.ensure_class(school_id, name)
            await self._audit.within(conn).record(
                AuditEntry(stamp(self._clock.now()), actor.person_id, None, "add_class", f"class={class_id}"))
        return class_id

    def validate(self, raw: dict[str, object]) -> dict[str, str]:
        """All fields checked; the first bad one raises FieldError."""
        today = self._clock.now().date()
        values = {}
        for key, value in raw.items():
            values[key] = normalise(key, value, today=today)
        if not values.get("name"):
            raise FieldError("name", "required")
        return {k: v for k, v in values.items() if v != ""}

    async def editable(self, actor: Actor, child_id: int) -> frozenset[str]:
        """The fields this person may change in the child's record (none: NotAllowed). Shows no value, so it
        is not a view of the record."""
        row = await self._reachable(actor, child_id)
        consented = await self._consent.consented(child_id)
        fields = frozenset(fields_allowed(actor.grants, row.place, EDIT, consented=consented))
        if not fields:
            raise NotAllowed("field")
        return fields

    async def edit(self, actor: Actor, child_id: int, key: str, raw: object) -> str:
        """Change one field; returns the stored value. The history keeps the old one, the audit who and when."""
        if key not in BY_KEY or key not in await self.editable(actor, child_id):
            raise NotAllowed("field")
        value = normalise(key, raw, today=self._clock.now().date())
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            changed = await self._children.within(conn).update(RecordChange(child_id, {key: value}, actor.person_id,
                                                                            now))
            if changed:
                await self._audit.within(conn).record(AuditEntry(now, actor.person_id, child_id, "edit", key))
        return value

    async def history(self, actor: Actor, child_id: int) -> list[FieldChange]:
        row = await self._reachable(actor, child_id)
        if not can(actor.grants, READ_HISTORY, row.place):
            raise NotAllowed("history")
        allowed = fields_allowed(actor.grants, row.place, VIEW, consented=await self._consent.consented(child_id))
        await self._audit_entry(actor, child_id, "view_history")
        # Old values are record contents too: only the fields this person may see now.
        return [c for c in await self._children.history(child_id) if c.field in allowed]

    async def village_choices(self, actor: Actor, child_id: int) -> tuple[ChildRow, list[Village]]:
        """The villages of the child's township, for a teacher or admin recording where the child's home is (the
        village's child director then reaches the child). None are offered for a school under no township."""
        row = await self._reachable(actor, child_id)
        if not can(actor.grants, SET_VILLAGE, row.place):
            raise NotAllowed("village")
        return row, (await self._people.villages(row.township_id) if row.township_id is not None else [])

    async def set_village(self, actor: Actor, child_id: int, village_id: int | None) -> ChildRow:
        """Record the village of the child's home (None: not recorded); returns the child as it is now. A village
        of another township is refused: its director must never reach the child."""
        row, villages = await self.village_choices(actor, child_id)
        if village_id is not None and village_id not in {v.id for v in villages}:
            raise NotAllowed("village")
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            if await self._children.within(conn).set_village(child_id, village_id):
                await self._audit.within(conn).record(AuditEntry(now, actor.person_id, child_id, "set_village",
                                                                 f"village={village_id or ''}"))
        return await self._children.get(child_id)

    def check_field(self, key: str, raw: object) -> str:
        """One value checked as a dialogue collects it; FieldError if it does not fit."""
        return normalise(key, raw, today=self._clock.now().date())

    async def audit(self, actor: Actor, child_id: int) -> list[AuditEntry]:
        row = await self._children.get(child_id)
        if row is None or not can_in_school(actor.grants, READ_AUDIT, row.school_id):
            raise NotAllowed("audit")
        entries = await self._audit.for_child(child_id)
        await self._audit_entry(actor, child_id, "view_audit")
        return entries

    async def export(self, actor: Actor, child_id: int) -> dict:
        """Everything stored about the child that this person may export (a parent's /mydata)."""
        row = await self._reachable(actor, child_id)
        consented = await self._consent.consented(child_id)
        allowed = fields_allowed(actor.grants, row.place, EXPORT, consented=True)
        if not allowed:
            raise NotAllowed("export")
        values = await self._children.fields(child_id)
        history = await self._children.history(child_id, limit=10_000)
        await self._audit_entry(actor, child_id, "export")
        return {
            "child_id": row.id,
            "class": row.class_name,
            "consent": await self._consent.state(child_id),
            "consented": consented,
            "fields": {f.key: values[f.key] for f in FIELDS if f.key in values and f.key in allowed},
            "history": [c.__dict__ for c in history if c.field in allowed],
        }
