"""Invitations: the only way in. A code is single-use, expires, is bound to a role and a place (a school, and a
class or a child where that applies; a township for its supervisor, a village for its child director), and cannot
be guessed: 128 random bits, of which only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.access.people import Actor
from bot.access.policy import (ADMIN, DIRECTOR, FAMILY_ROLES, GUARDIAN, MANAGE_INVITATIONS, PARENT, PROXY, REMOVE_ROLE,
                               ROLE_LABELS, ROLES, SUPERVISOR, TEACHER, TOWNSHIP_ROLES, can_in_school, can_in_township,
                               may_invite)
from bot.clock import Clock, stamp
from bot.errors import NotAllowed, StaleButton, UserError
from bot.i18n import DEFAULT_LOCALE, N_, translator
from bot.names import clean_name
from bot.notices import Notice, Outbox, withdraw_unreached
from bot.preferences import PreferencesService
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
# A township's, a school's or a village's name, as typed on the command line or to the bot.
PLACE_NAME_LIMIT = 40
PLACE_NAME = N_("Send a name of 1 to {limit} characters, or /cancel.")
# A supervisor names a school that exists outside the township: it is not theirs to take (its children would
# come under them). Whoever runs the server places a school under a township (`invite --school … --township …`).
SCHOOL_ELSEWHERE = N_("A school called “{school}” is already registered, outside your township. If it belongs to "
                      "your township, ask whoever runs the server to place it there. Send another name, or /cancel.")


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
    township_name: str | None = None
    village_name: str | None = None


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def invitation_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


class InvitationService:
    def __init__(self, db: Database, people: PeopleRepository, children: ChildrenRepository,
                 invitations: InvitationsRepository, clock: Clock, *, outbox: Outbox | None = None,
                 preferences: PreferencesService | None = None) -> None:
        self._db = db
        self._people = people
        self._children = children
        self._invitations = invitations
        self._audit = AuditRepository(db)
        self._clock = clock
        # Who joined is told to whoever invited them in: the class teacher, the school's admins.
        self._outbox = outbox
        self._preferences = preferences

    async def bootstrap_admin(self, school_name: str, township_name: str | None = None) -> Issued:
        """The first admin of a school, invited by whoever runs the server (the command line). With a township,
        the school is put under it (created if new); a school under another township is refused."""
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            people = self._people.within(conn)
            township_id = await people.ensure_township(township_name, now) if township_name else None
            school_id = await people.ensure_school(school_name, now, township_id)
            if township_id is not None:
                school = await people.school(school_id)
                if school.township_id is None:
                    await people.place_school(school_id, township_id)
                elif school.township_id != township_id:
                    raise UserError(N_("The school {school} is under another township."), school=school_name)
            return await self._issue(conn, None, ADMIN, school_id, None, None, None, township_id=township_id)

    async def bootstrap_supervisor(self, township_name: str) -> Issued:
        """A township's child-welfare supervisor (the first, or another), invited by whoever runs the server: the
        township is created if new. The supervisor then invites its schools' admins and villages' directors."""
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            township_id = await self._people.within(conn).ensure_township(township_name, now)
            return await self._issue(conn, None, SUPERVISOR, None, None, None, None, township_id=township_id)

    async def create(self, actor: Actor, role: str, *, school_id: int | None = None, class_id: int | None = None,
                     child_id: int | None = None, relation: str | None = None,
                     village_id: int | None = None) -> Issued:
        school_id, class_id = await self.check(actor, role, school_id=school_id, class_id=class_id,
                                               child_id=child_id, relation=relation, village_id=village_id)
        township_id = await self._township_of(role, school_id, village_id)
        async with self._db.transaction() as conn:
            return await self._issue(conn, actor.person_id, role, school_id if role != DIRECTOR else None,
                                     class_id if role == TEACHER else None, child_id,
                                     relation if role in FAMILY_ROLES else None, township_id=township_id,
                                     village_id=village_id if role == DIRECTOR else None)

    async def create_in_township(self, actor: Actor, role: str, township_id: int, name: str) -> Issued:
        """A supervisor invites the admin of a school, or the child director of a village, named as typed: the
        school or village is created in the township if new."""
        if role not in (ADMIN, DIRECTOR) or not may_invite(actor.grants, role, None, None, township_id):
            raise NotAllowed(role, CANNOT_INVITE)
        name = clean_name(name)
        if not name or len(name) > PLACE_NAME_LIMIT:
            raise UserError(PLACE_NAME, limit=PLACE_NAME_LIMIT)
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            people = self._people.within(conn)
            if role == DIRECTOR:
                village_id = await people.ensure_village(township_id, name)
                return await self._issue(conn, actor.person_id, DIRECTOR, None, None, None, None,
                                         township_id=township_id, village_id=village_id)
            school = await people.school_by_name(name)
            if school is not None and school.township_id != township_id:
                raise UserError(SCHOOL_ELSEWHERE, school=name)
            school_id = school.id if school else await people.ensure_school(name, now, township_id)
            return await self._issue(conn, actor.person_id, ADMIN, school_id, None, None, None,
                                     township_id=township_id)

    async def create_many(self, actor: Actor, wanted: Sequence[tuple[int, str, str]]) -> list[Issued]:
        """Invitations for the families of several children at once, (child, role, relation) each: every one is
        checked first, then all are made in one transaction, so a refusal leaves none half made."""
        checked = [(await self.check(actor, role, child_id=child_id, relation=relation), child_id, role, relation)
                   for child_id, role, relation in wanted]
        if not checked:
            return []
        async with self._db.transaction() as conn:
            return [await self._issue(conn, actor.person_id, role, school_id, None, child_id, relation)
                    for (school_id, _class), child_id, role, relation in checked]

    async def replace(self, actor: Actor, child_id: int, role: str, relation: str,
                      replaced: Sequence[int]) -> Issued:
        """A new invitation for one family member, the open ones `replaced` withdrawn in the same transaction."""
        school_id, _class = await self.check(actor, role, child_id=child_id, relation=relation)
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            for invitation_id in replaced:
                if await self._invitations.within(conn).revoke(invitation_id, actor.person_id, now):
                    await self._audit.within(conn).record(AuditEntry(
                        now, actor.person_id, child_id, "revoke_invitation", f"invitation={invitation_id}"))
            return await self._issue(conn, actor.person_id, role, school_id, None, child_id, relation)

    async def _township_of(self, role: str, school_id: int | None, village_id: int | None) -> int | None:
        """The township an invitation is managed in: a village's, or a school's for its admin."""
        if role == DIRECTOR and village_id is not None:
            village = await self._people.village(village_id)
            return village.township_id if village else None
        if role == ADMIN and school_id is not None:
            school = await self._people.school(school_id)
            return school.township_id if school else None
        return None

    async def check(self, actor: Actor, role: str, *, school_id: int | None = None, class_id: int | None = None,
                    child_id: int | None = None, relation: str | None = None, village_id: int | None = None,
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
        elif role == ADMIN and (school_id is None or await self._people.school(school_id) is None):
            raise NotAllowed("school", CANNOT_INVITE)
        elif role == DIRECTOR and (village_id is None or await self._people.village(village_id) is None):
            raise NotAllowed("village", CANNOT_INVITE)
        if relation_chosen and role in FAMILY_ROLES and relation not in RELATIONS[role]:
            raise NotAllowed("relation", CANNOT_INVITE)
        township_id = await self._township_of(role, school_id, village_id)
        if not may_invite(actor.grants, role, child.place if child else None, school_id, township_id):
            raise NotAllowed(role, CANNOT_INVITE)
        return school_id, class_id

    async def _issue(self, conn, by: int | None, role: str, school_id: int | None, class_id: int | None,
                     child_id: int | None, relation: str | None, *, township_id: int | None = None,
                     village_id: int | None = None) -> Issued:
        code = secrets.token_urlsafe(CODE_BYTES)
        now = self._clock.now()
        invitation = await self._invitations.within(conn).create(NewInvitation(
            code_hash(code), role, school_id, class_id, child_id, relation, by, stamp(now), stamp(now + VALID_FOR),
            township_id, village_id))
        await self._audit.within(conn).record(AuditEntry(stamp(now), by, child_id, "invite",
                                                         f"invitation={invitation.id} role={role}"))
        return Issued(code, invitation)

    async def preview(self, code: str) -> Preview:
        invitation = await self._valid(code)
        school = await self._people.school(invitation.school_id) if invitation.school_id else None
        klass = await self._people.school_class(invitation.class_id) if invitation.class_id else None
        child = await self._children.get(invitation.child_id) if invitation.child_id else None
        inviter = await self._people.person(invitation.created_by) if invitation.created_by else None
        township = await self._people.township(invitation.township_id) if invitation.township_id else None
        village = await self._people.village(invitation.village_id) if invitation.village_id else None
        return Preview(invitation, school.name if school else "", klass.name if klass else None,
                       child.name if child else None, inviter.display_name if inviter else None,
                       township.name if township else None, village.name if village else None)

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
            # A school's admin is the school's, whoever invited them; the township's own roles name their place.
            township_id = invitation.township_id if invitation.role in TOWNSHIP_ROLES else None
            grant_id = await people.add_grant(NewGrant(person_id, invitation.role, invitation.school_id,
                                                       invitation.class_id, invitation.child_id, invitation.relation,
                                                       invitation.created_by, now, township_id, invitation.village_id))
            await self._audit.within(conn).record(AuditEntry(
                now, person_id, invitation.child_id, "join",
                f"invitation={invitation.id} role={invitation.role} grant={grant_id}"))
            if self._outbox is not None:
                await self._outbox.post(conn, await self._joined_notices(invitation, grant_id, display_name))
        return Grant(grant_id, person_id, invitation.role, invitation.school_id, invitation.class_id,
                     invitation.child_id, invitation.relation, township_id, invitation.village_id)

    async def _joined_notices(self, invitation: Invitation, grant_id: int, name: str) -> list[Notice]:
        """Whoever follows the onboarding hears who came in: the child's class teachers when a parent, guardian or
        proxy parent joins, the school's admins when a class teacher does."""
        if invitation.role == TEACHER and invitation.school_id is not None:
            klass = await self._people.school_class(invitation.class_id) if invitation.class_id else None
            told = [g.person_id for g in await self._people.grants_in_school(invitation.school_id) if g.role == ADMIN]
            what = N_("{name} joined as the class teacher of {klass}.")
            params, child_id = {"klass": klass.name if klass else ""}, None
        elif invitation.child_id is not None and invitation.role in (PROXY, *FAMILY_ROLES):
            child = await self._children.get(invitation.child_id)
            if child is None:
                return []
            told = [g.person_id for g in await self._people.grants_for_child(child.id, child.school_id,
                                                                             child.class_id) if g.role == TEACHER]
            what = N_("{name} joined as the {role} of {child}.")
            params, child_id = {"child": child.name}, child.id
        else:
            return []
        notices = []
        for person_id in dict.fromkeys(told):
            locale = await self._preferences.locale_of(person_id) if self._preferences else DEFAULT_LOCALE
            _ = translator(locale).gettext
            role = _(ROLE_LABELS[invitation.role])
            if invitation.relation in RELATIONS.get(invitation.role, {}):
                role = _(RELATIONS[invitation.role][invitation.relation])
            notices.append(Notice(f"joined:{grant_id}:{person_id}", person_id, _(what).format(
                name=name, role=role, **params), child_id=child_id, needs_consent=False))
        return notices

    async def open_invitations(self, actor: Actor) -> list[Invitation]:
        """The open invitations of the person's schools (an admin's) and townships (a supervisor's)."""
        now = stamp(self._clock.now())
        found: dict[int, Invitation] = {}
        for school_id in sorted(s for s in actor.schools() if can_in_school(actor.grants, MANAGE_INVITATIONS, s)):
            found.update((i.id, i) for i in await self._invitations.open_in_school(school_id, now))
        for township_id in sorted(t for t in actor.townships(SUPERVISOR)
                                  if can_in_township(actor.grants, MANAGE_INVITATIONS, t)):
            found.update((i.id, i) for i in await self._invitations.open_in_township(township_id, now))
        return [found[i] for i in sorted(found)]

    def _manages(self, actor: Actor, invitation: Invitation) -> bool:
        return (can_in_school(actor.grants, MANAGE_INVITATIONS, invitation.school_id)
                or can_in_township(actor.grants, MANAGE_INVITATIONS, invitation.township_id))

    async def _invited_for(self, actor: Actor, invitation: Invitation) -> bool:
        """A class teacher withdraws the invitations of their class's families and proxy parents: whoever may
        invite someone for a child may take that invitation back."""
        if invitation.child_id is None or invitation.role not in (PROXY, *FAMILY_ROLES):
            return False
        child = await self._children.get(invitation.child_id)
        return child is not None and may_invite(actor.grants, invitation.role, child.place, child.school_id)

    async def revoke(self, actor: Actor, invitation_id: int) -> None:
        """An invitation that is used, expired or revoked already cannot be revoked: its button is stale."""
        invitation = await self._invitations.get(invitation_id)
        if invitation is None or not (self._manages(actor, invitation) or await self._invited_for(actor, invitation)):
            raise NotAllowed("invitation", StaleButton.msgid)
        now = stamp(self._clock.now())
        async with self._db.transaction() as conn:
            if not await self._invitations.within(conn).revoke(invitation_id, actor.person_id, now):
                raise StaleButton()
            await self._audit.within(conn).record(AuditEntry(now, actor.person_id, invitation.child_id,
                                                             "revoke_invitation", f"invitation={invitation_id}"))

    async def township_of(self, grant: Grant) -> int | None:
        """The township a role is managed in: a supervisor's or a director's own, a school admin's school's."""
        if grant.role in TOWNSHIP_ROLES:
            return grant.township_id
        if grant.role == ADMIN and grant.school_id is not None:
            school = await self._people.school(grant.school_id)
            return school.township_id if school else None
        return None

    async def may_remove(self, actor: Actor, grant: Grant) -> bool:
        """A school's admins remove its roles; a township's supervisors its own roles and its schools' admins."""
        return (can_in_school(actor.grants, REMOVE_ROLE, grant.school_id)
                or can_in_township(actor.grants, REMOVE_ROLE, await self.township_of(grant)))

    async def remove_role(self, actor: Actor, grant_id: int) -> Grant:
        grant = await self._people.grant_by_id(grant_id)
        # Nobody removes their own role (/people offers no button for it): a school or township is never left
        # without its admin or supervisor by a slip of the finger.
        if grant is None or grant.person_id == actor.person_id or not await self.may_remove(actor, grant):
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
