"""The buttons of access: joining, inviting, roles, consent, a copy of the record, and erasure. Each declared
once (prefix and typed fields); every press is checked again against the presser's current roles."""

from __future__ import annotations

from typing import Annotated, Literal

from bot.access.invitations import RELATIONS
from bot.access.policy import ADMIN, DIRECTOR, FAMILY_ROLES, GUARDIAN, PARENT, PROXY, TEACHER
from bot.payloads import payload

INVITABLE = (TEACHER, PARENT, GUARDIAN, PROXY, ADMIN, DIRECTOR)
FOR_A_CHILD = (PROXY, *FAMILY_ROLES)
FOR_A_PLACE = (ADMIN, DIRECTOR)  # a supervisor's: a school's admin, a village's child director
FAMILY = FAMILY_ROLES
RELATION_KEYS = tuple(key for relations in RELATIONS.values() for key in relations)


@payload("join")
class Join:
    """Accept the invitation with this code (22 URL-safe characters; the invitation is checked again)."""

    code: Annotated[str, 32]


@payload("nojoin")
class NotNow:
    pass


@payload("inv")
class InviteRole:
    role: Literal[INVITABLE]


@payload("invc")
class InviteForClass:
    klass: int


@payload("invk")
class InviteForChild:
    role: Literal[FOR_A_CHILD]
    child: int


@payload("invr")
class InviteRelation:
    role: Literal[FAMILY]
    child: int
    relation: Literal[RELATION_KEYS]


@payload("invs")
class InviteToSchool:
    """A supervisor invites an admin for this school of the township."""

    school: int


@payload("invv")
class InviteToVillage:
    """A supervisor invites the child director of this village of the township."""

    village: int


@payload("invn")
class InviteNewPlace:
    """A supervisor's school or village is not listed yet: its name is typed next (the invite-place dialogue)."""

    role: Literal[FOR_A_PLACE]
    township: int


@payload("invx")
class RevokeInvitation:
    invitation: int


@payload("rmrole")
class RemoveRole:
    grant: int


@payload("consent")
class Decide:
    child: int
    decision: Literal["given", "refused"]


# A family member's serious step is asked once more: no step asks, then yes or no answers.
@payload("withdraw")
class Withdraw:
    child: int
    step: Literal["yes", "no"] | None = None


@payload("delete")
class AskErasure:
    child: int
    step: Literal["yes", "no"] | None = None


@payload("keep")
class ObjectErasure:
    """Another parent or guardian does not want the record erased: the admins hear it before they decide."""

    request: int


@payload("rules")
class FullRules:
    """Under the short consent question: the full rules, with the same answers."""

    child: int


@payload("mydata")
class SendCopy:
    child: int


# An admin's yes asks again: sure erases, back returns to the request.
@payload("erase")
class DecideErasure:
    request: int
    step: Literal["yes", "no", "sure", "back"]


# A class's families at once (a teacher's): invite every one on the roster, and follow who came in.
@payload("inva")
class InviteClass:
    klass: int


@payload("onb")
class ShowFamilies:
    klass: int
    page: int = 0


@payload("onbk")
class ChildFamilies:
    child: int


@payload("onbi")
class InviteMember:
    """Invite this family member of the child (again: an open invitation for them is replaced)."""

    child: int
    role: Literal[FAMILY]
    relation: Literal[RELATION_KEYS]


@payload("onbx")
class WithdrawMember:
    invitation: int
