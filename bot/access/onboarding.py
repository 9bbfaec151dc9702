"""A class's families coming in: who of each child's family is on the roster, who was invited, who joined and
what they decided; inviting them all at once for the parents' meeting, and inviting one again.

The roster (bot.records.roster) records a father, a mother and a guardian with the relation the school office
wrote (奶奶, 外公 …): each one named or with a phone is a family member to invite, as a parent or guardian with the
relation the invitation names. Someone invited by hand with another relation is listed beside them. Nothing here
knows of Telegram."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.access.consent import GIVEN, REFUSED, WITHDRAWN, who_said
from bot.access.invitations import InvitationService, Issued
from bot.access.people import Actor
from bot.access.policy import ADMIN, FAMILY_ROLES, GUARDIAN, PARENT, TEACHER, may_invite
from bot.clock import Clock, stamp
from bot.errors import NotAllowed, StaleButton
from bot.i18n import DEFAULT_LOCALE, N_, translator
from bot.notices import Notice
from storage.children import ChildRow, ChildrenRepository
from storage.consents import ConsentsRepository
from storage.invitations import Invitation, InvitationsRepository
from storage.people import PeopleRepository

NOT_INVITED, INVITED, JOINED, CONSENTED, REFUSED_STATE = "not_invited", "invited", "joined", "consented", "refused"
STATES = (NOT_INVITED, INVITED, JOINED, CONSENTED, REFUSED_STATE)
STATE_LABELS = {
    NOT_INVITED: N_("not invited"),
    INVITED: N_("invited"),
    JOINED: N_("joined, has not decided"),
    CONSENTED: N_("agreed"),
    REFUSED_STATE: N_("refused"),
}
# A glance down a list of forty children finds who is missing.
STATE_MARKS = {NOT_INVITED: "⚪", INVITED: "✉️", JOINED: "🟡", CONSENTED: "✅", REFUSED_STATE: "⛔"}

NOT_YOUR_CLASS = N_("You can invite the families of your own class only.")

# The words school offices write for a guardian's relation, mapped to an invitation's relation. A parent written
# as the guardian is the parent's slot; anything else is "other relative".
GUARDIAN_WORDS = {
    "奶奶": "grandmother_p", "祖母": "grandmother_p", "爷爷": "grandfather_p", "祖父": "grandfather_p",
    "外婆": "grandmother_m", "姥姥": "grandmother_m", "外祖母": "grandmother_m",
    "外公": "grandfather_m", "姥爷": "grandfather_m", "外祖父": "grandfather_m",
    "grandmother": "grandmother_p", "grandfather": "grandfather_p",
}
PARENT_WORDS = {"父亲": "father", "爸爸": "father", "father": "father", "母亲": "mother", "妈妈": "mother",
                "mother": "mother"}


@dataclass(frozen=True)
class Member:
    """One family member of a child as the teacher follows them: the invitation's role and relation, their state,
    the open invitation (INVITED) and who joined (JOINED and after)."""

    role: str
    relation: str
    state: str
    on_roster: bool
    invitation_id: int | None = None
    person_name: str | None = None


@dataclass(frozen=True)
class ChildFamilies:
    child: ChildRow
    members: list[Member]


@dataclass(frozen=True)
class Slip:
    """One invitation made for the class sheet: printed with the child's name, the relation and the code."""

    child: ChildRow
    role: str
    relation: str
    issued: Issued


@dataclass(frozen=True)
class ClassInvited:
    slips: list[Slip]
    already: int                 # family members invited before and still open: their slips are out already
    without_family: list[ChildRow]  # children whose record names no parent or guardian


def roster_family(fields: dict[str, str]) -> list[tuple[str, str]]:
    """The (role, relation) of each family member the child's record names (a name or a phone), father first."""
    found: list[tuple[str, str]] = []
    for relation in ("father", "mother"):
        if fields.get(f"{relation}_name") or fields.get(f"{relation}_phone"):
            found.append((PARENT, relation))
    if fields.get("guardian_name") or fields.get("guardian_phone"):
        word = " ".join((fields.get("guardian_relation") or "").split()).lower()
        if word in PARENT_WORDS:
            slot = (PARENT, PARENT_WORDS[word])
        else:
            slot = (GUARDIAN, GUARDIAN_WORDS.get(word, "relative"))
        if slot not in found:
            found.append(slot)
    return found


class OnboardingService:
    def __init__(self, people: PeopleRepository, children: ChildrenRepository, consents: ConsentsRepository,
                 invitations: InvitationsRepository, inviting: InvitationService, clock: Clock) -> None:
        self._people = people
        self._children = children
        self._consents = consents
        self._invitations = invitations
        self._inviting = inviting
        self._clock = clock

    def classes(self, actor: Actor) -> list[int]:
        """The classes whose families this person follows: a teacher's own classes."""
        return sorted({g.class_id for g in actor.grants if g.role == TEACHER and g.class_id is not None})

    async def _class_children(self, actor: Actor, class_id: int) -> list[ChildRow]:
        klass = await self._people.school_class(class_id)
        if klass is None or not any(
                (g.role == TEACHER and g.class_id == class_id) or (g.role == ADMIN and g.school_id == klass.school_id)
                for g in actor.grants):
            raise NotAllowed("class", NOT_YOUR_CLASS)
        return await self._children.in_class(class_id)

    async def class_view(self, actor: Actor, class_id: int) -> list[ChildFamilies]:
        return [await self._families(child) for child in await self._class_children(actor, class_id)]

    async def child_view(self, actor: Actor, child_id: int) -> ChildFamilies:
        child = await self._children.get(child_id)
        if child is None or not may_invite(actor.grants, PARENT, child.place, child.school_id):
            raise NotAllowed("child", NOT_YOUR_CLASS)
        return await self._families(child)

    async def _families(self, child: ChildRow) -> ChildFamilies:
        now = stamp(self._clock.now())
        grants = [g for g in await self._people.grants_for_child(child.id, child.school_id, child.class_id)
                  if g.role in FAMILY_ROLES and g.child_id == child.id]
        decisions = {c.person_id: c.decision for c in await self._consents.latest(child.id)}
        open_ = [i for i in await self._invitations.for_child(child.id)
                 if i.role in FAMILY_ROLES and i.state(now) == "open"]
        members: list[Member] = []

        def joined(grant) -> Member:
            decision = decisions.get(grant.person_id)
            state = CONSENTED if decision == GIVEN else REFUSED_STATE if decision in (REFUSED, WITHDRAWN) else JOINED
            return Member(grant.role, grant.relation or "", state, False, person_name=names.get(grant.person_id))

        names = {}
        for grant in grants:
            person = await self._people.person(grant.person_id)
            names[grant.person_id] = person.display_name if person else None
        fields = await self._children.fields(child.id)
        for role, relation in roster_family(fields):
            grant = next((g for g in grants if (g.role, g.relation) == (role, relation)), None)
            if grant is not None:
                grants.remove(grant)
                members.append(replace(joined(grant), on_roster=True))
                continue
            invitation = next((i for i in open_ if (i.role, i.relation) == (role, relation)), None)
            if invitation is not None:
                open_.remove(invitation)
                members.append(Member(role, relation, INVITED, True, invitation.id))
            else:
                members.append(Member(role, relation, NOT_INVITED, True))
        members += [joined(g) for g in grants]
        members += [Member(i.role, i.relation or "", INVITED, False, i.id) for i in open_]
        return ChildFamilies(child, members)

    async def invite_class(self, actor: Actor, class_id: int) -> ClassInvited:
        """One invitation for every family member on the class's roster who is neither invited (an open
        invitation) nor in already, made in one transaction: all or none."""
        wanted: list[tuple[ChildRow, str, str]] = []
        already, without = 0, []
        for child in await self._class_children(actor, class_id):
            families = await self._families(child)
            if not any(m.on_roster for m in families.members):
                without.append(child)
            already += sum(1 for m in families.members if m.on_roster and m.state == INVITED)
            wanted += [(child, m.role, m.relation) for m in families.members if m.state == NOT_INVITED]
        issued = await self._inviting.create_many(actor, [(c.id, role, relation) for c, role, relation in wanted])
        return ClassInvited([Slip(child, role, relation, one) for (child, role, relation), one in zip(wanted, issued)],
                            already, without)

    async def invite_again(self, actor: Actor, child_id: int, role: str, relation: str) -> Issued:
        """A new invitation for this family member; one still open for them is withdrawn (its code is not kept,
        so a lost slip is replaced, never shown again). Someone who joined already is not invited twice."""
        families = await self.child_view(actor, child_id)
        if any((m.role, m.relation) == (role, relation) and m.state in (JOINED, CONSENTED, REFUSED_STATE)
               for m in families.members):
            raise StaleButton()
        replaced = [m.invitation_id for m in families.members
                    if (m.role, m.relation) == (role, relation) and m.invitation_id is not None]
        return await self._inviting.replace(actor, child_id, role, relation, replaced)

    async def open_invitation(self, actor: Actor, invitation_id: int) -> Invitation:
        """The open family invitation `invitation_id`, if this person may withdraw it."""
        invitation = await self._invitations.get(invitation_id)
        if invitation is None or invitation.child_id is None or invitation.role not in FAMILY_ROLES \
                or invitation.state(stamp(self._clock.now())) != "open":
            raise StaleButton()
        await self.child_view(actor, invitation.child_id)
        return invitation


async def agreed_notices(people: PeopleRepository, preferences, actor: Actor, child: ChildRow,
                         now: str) -> list[Notice]:
    """The child's class teachers hear that a parent or guardian agreed to the rules, in role terms ("小明的母亲");
    a "no" is told by bot.access.consent itself, to the family as well."""
    grant = next((g for g in actor.grants if g.role in FAMILY_ROLES and g.child_id == child.id), None)
    notices = []
    for teacher in dict.fromkeys(g.person_id for g in await people.grants_for_child(child.id, child.school_id,
                                                                                   child.class_id)
                                 if g.role == TEACHER):
        _ = translator(await preferences.locale_of(teacher) if preferences else DEFAULT_LOCALE).gettext
        notices.append(Notice(f"consent-yes:{child.id}:{actor.person_id}:{now}:{teacher}", teacher,
                              _("{who} agreed to the data rules. /families shows the class.").format(
                                  who=who_said(_, child.name, grant)), child_id=child.id, needs_consent=False))
    return notices
