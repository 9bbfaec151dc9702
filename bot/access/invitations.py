"""Invitations: the only way in. A code is single-use, expires, is bound to a role and a school (and a
class or a child where that applies), and cannot be guessed: 128 random bits, of which only a hash is
stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.access.people import Actor
from bot.access.policy import (ADMIN, FAMILY_ROLES, GUARDIAN, MANAGE_INVITATIONS, PARENT, PROXY, REMOVE_ROLE, ROLES,
                               TEACHER, can_in_school, may_invite)
from bot.clock import Clock, stamp
from bot.errors import NotAllowed, StaleButton, UserError
from bot.i18n import N_
from bot.notices import withdraw_unreached
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildrenRepository
from storage.db import Database
from storage.invitations import Invitation, InvitationsRepository, NewInvitation
from storage.people import Grant, NewGrant, NewPerson, PeopleRepository

VALID_FOR = timedelta(days=7)

# How a parent or guardian is related to the child; stored as the key, shown translated.
RELATIONS = {
    PARENT: {"father": N_("father"), "mother": N_("mother")},
    GUARDIAN: {"grandfather_p": N_("grandfather (father's side)"), "grandmother_p": N_("grandmother (father's side)"),
               "grandfather_m": N_("grandfather (mother's side)"), "grandmother_m": N_("grandmother (mother's side)"),
               "relative": N_("other relative")},
}
# 16 bytes → 22 URL-safe characters: 128 bits, well inside Telegram's 64-character start payload.
CODE_BYTES = 16

# Said when the inviter may not invite for what they chose (a child or class not theirs, a role not theirs).
CANNOT_INVITE = N_("You cannot invite someone for that.")


class InvitationInvalid(UserError):
    """The code cannot be used (any more); `reason` is unknown, used, expired or revoked."""

    MSGIDS = {
        "expired": N_("This invitation has expired. Please ask the teacher for a new one."),
        "used": N_("This invitation has already been used. Please ask the teacher for a new one."),
        "revoked": N_("This invitation was withdrawn. Please ask the teacher for a new one."),
        "unknown": N_("This invitation link is not valid. It may be mistyped or no longer in use. "
                      "Please ask the child's class teacher for a new one."),
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.MSGIDS.get(reason, self.MSGIDS["unknown"]))
        self.reason = reason


@dataclass(frozen=True)
class Issued:
    code: str
    invitation: Invitation


@dataclass(frozen=True)
class Preview:
    """What a person is shown before accepting: who invites them, to which role, for which child."""

    invitation: Invitation
    school_name: str
    class_name: str | None
    child_name: str | None
    inviter_name: str | None


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def invitation_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


class InvitationService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository,
                 invitations: InvitationsRepository, clock: Clock) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._invitations = invitations
        self._audit = AuditRepository(db)
        self._clock = clock

    async def bootstrap_admin(self, school_name: str) -> Issued:
        """The first admin of a school, invited by whoever runs the server (the command line)."""
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            school_id = await self._people.within(conn).ensure_school(school_name, now)
            return await self._issue(conn, None, ADMIN, school_id, None, None, None)

    async def create(self, actor: Actor, role: str, *, school_id: int | None = None, class_id: int | None = None,
                     child_id: int | None = None, relation: str | None = None) -> Issued:
        school_id, class_id = await self.check(actor, role, school_id=school_id, class_id=class_id,
                                               child_id=child_id, relation=relation)
        async with self._db.transaction() as conn:
            return await self._issue(conn, actor.person_id, role, school_id, class_id if role == TEACHER else None,
                                     child_id, relation if role in FAMILY_ROLES else None)

    async def check(self, actor: Actor, role: str, *, school_id: int | None = None, class_id: int | None = None,
                    child_id: int | None = None, relation: str | None = None,
                    relation_chosen: bool = True) -> tuple[int | None, int | None]:
        """May `actor` invite someone as `role` here? Raises NotAllowed if not; else the school and class. With
        relation_chosen=False the relation is still to be asked, so it is not checked yet."""
        if role not in ROLES:
            raise NotAllowed(role, CANNOT_INVITE)
        child = await self._children.get(child_id) if child_id is not None else None
        if child_id is not None and child is None:
            raise NotAllowed("child", CANNOT_INVITE)
        if child is not None:
            school_id, class_id = child.school_id, child.class_id
        if role == TEACHER:
            klass = await self._people.school_class(class_id) if class_id is not None else None
            if klass is None or klass.school_id != school_id:
                raise NotAllowed("class", CANNOT_INVITE)
        elif role in (PROXY, *FAMILY_ROLES) and child is None:
            raise NotAllowed("child", CANNOT_INVITE)
        if relation_chosen and role in FAMILY_ROLES and relation not in RELATIONS[role]:
            raise NotAllowed("relation", CANNOT_INVITE)
        if not may_invite(actor.grants, role, child.place if child else None, school_id):
            raise NotAllowed(role, CANNOT_INVITE)
        return school_id, class_id

    async def _issue(self, conn, by: int | None, role: str, school_id: int, class_id: int | None,
                     child_id: int | None, relation: str | None) -> Issued:
        code = secrets.token_urlsafe(CODE_BYTES)
        now = self._clock.now()
        invitation = await self._invitations.within(conn).create(NewInvitation(
            code_hash(code), role, school_id, class_id, child_id, relation, by, stamp(now), stamp(now + VALID_FOR)))
        await self._audit.within(conn).record(AuditEntry(stamp(now), by, child_id, "invite",
                                                         f"invitation={invitation.id} role={role}"))
        return Issued(code, invitation)

    async def preview(self, code: str) -> Preview:
        invitation = await self._valid(code)
        school = await self._people.school(invitation.school_id)
        klass = await self._people.school_class(invitation.class_id) if invitation.class_id else None
        child = await self._children.get(invitation.child_id) if invitation.child_id else None
        inviter = await self._people.person(invitation.created_by) if invitation.created_by else None
        return Preview(invitation, school.name if school else "", klass.name if klass else None,
                       child.name if child else None, inviter.display_name if inviter else None)

    async def _valid(self, code: str) -> Invitation:
        if not code or len(code) > 64:
            raise InvitationInvalid("unknown")
        invitation = await self._invitations.by_hash(code_hash(code))
        if invitation is None:
            raise InvitationInvalid("unknown")
        state = invitation.state(stamp(self._clock.now()))
        if state != "open":
            raise InvitationInvalid(state)
        return invitation

    async def accept(self, code: str, channel: str, external_id: str, display_name: str) -> Grant:
        """Join with the code as the person with this identity on `channel` (named by the channel's runtime)."""
        invitation = await self._valid(code)
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            people = self._people.within(conn)
            person_id = await people.ensure_person(NewPerson(channel, external_id, display_name, now))
            if not await self._invitations.within(conn).mark_used(invitation.id, person_id, now):
                raise InvitationInvalid("used")
            grant_id = await people.add_grant(NewGrant(person_id, invitation.role, invitation.school_id,
                                                       invitation.class_id, invitation.child_id, invitation.relation,
                                                       invitation.created_by, now))
            await self._audit.within(conn).record(AuditEntry(
                now, person_id, invitation.child_id, "join",
                f"invitation={invitation.id} role={invitation.role} grant={grant_id}"))
        return Grant(grant_id, person_id, invitation.role, invitation.school_id, invitation.class_id,
                     invitation.child_id, invitation.relation)

    async def open_invitations(self, actor: Actor) -> list[Invitation]:
        schools = {g.school_id for g in actor.grants if can_in_school(actor.grants, MANAGE_INVITATIONS, g.school_id)}
        found: list[Invitation] = []
        for school_id in sorted(schools):
            found += await self._invitations.open_in_school(school_id, stamp(self._clock.now()))
        return found

    async def revoke(self, actor: Actor, invitation_id: int) -> None:
        """An invitation that is used, expired or revoked already cannot be revoked: its button is stale."""
        invitation = await self._invitations.get(invitation_id)
        if invitation is None or not can_in_school(actor.grants, MANAGE_INVITATIONS, invitation.school_id):
            raise NotAllowed("invitation", StaleButton.msgid)
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            if not await self._invitations.within(conn).revoke(invitation_id, actor.person_id, now):
                raise StaleButton()
            await self._audit.within(conn).record(AuditEntry(now, actor.person_id, invitation.child_id,
                                                             "revoke_invitation", f"invitation={invitation_id}"))

    async def remove_role(self, actor: Actor, grant_id: int) -> Grant:
        grant = await self._people.grant_by_id(grant_id)
        if grant is None or not can_in_school(actor.grants, REMOVE_ROLE, grant.school_id):
            raise NotAllowed("grant", StaleButton.msgid)
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            await self._people.within(conn).revoke_grant(grant_id, actor.person_id, now)
            await self._audit.within(conn).record(AuditEntry(
                now, actor.person_id, grant.child_id, "remove_role",
                f"grant={grant_id} person={grant.person_id} role={grant.role}"))
            # What waits for them about children they no longer reach ends unsent, in the same transaction.
            await withdraw_unreached(conn, grant.person_id, now)
        return grant
