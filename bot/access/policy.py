"""Who may do what, in one place. Every handler and every button asks here, and the authorization test
is generated from these tables.

A person's reach comes from their roles: an admin reaches every child of their school, a teacher the
children of their class, a proxy parent, parent or guardian the child they were invited for. What they
may see of a child's record is decided per field group (bot.records.fields.GROUPS), and nothing beyond the
child's name is shown to anyone until a parent or guardian has consented.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import N_
from bot.records.fields import (CARE, CONTACTS, FAMILY, FIELDS, GROUPS, GUARDIANSHIP, ID_NUMBER, IDENTITY,
                        SUPPORT)
from storage.children import ChildPlace
from storage.people import Grant

ADMIN, TEACHER, PROXY, PARENT, GUARDIAN = "admin", "teacher", "proxy", "parent", "guardian"
ROLES = (ADMIN, TEACHER, PROXY, PARENT, GUARDIAN)
FAMILY_ROLES = (PARENT, GUARDIAN)  # the ones whose consent counts
ROLE_LABELS = {
    ADMIN: N_("school admin"),
    TEACHER: N_("class teacher"),
    PROXY: N_("proxy parent"),
    PARENT: N_("parent"),
    GUARDIAN: N_("guardian"),
}

VIEW, EDIT, EXPORT = "view", "edit", "export"

_ALL = frozenset({VIEW, EDIT, EXPORT})
# role → field group → actions. A proxy parent sees what care needs, not how to reach the parents
# (they talk through the bot), nor ID numbers or support received.
FIELD_POLICY: dict[str, dict[str, frozenset[str]]] = {
    ADMIN: {group: _ALL for group in GROUPS},
    TEACHER: {group: frozenset({VIEW, EDIT}) for group in GROUPS},
    PARENT: {group: frozenset({VIEW, EXPORT}) for group in GROUPS},
    GUARDIAN: {group: frozenset({VIEW, EXPORT}) for group in GROUPS},
    PROXY: {IDENTITY: frozenset({VIEW}), CARE: frozenset({VIEW}), FAMILY: frozenset({VIEW}),
            GUARDIANSHIP: frozenset({VIEW}), CONTACTS: frozenset(), ID_NUMBER: frozenset(),
            SUPPORT: frozenset()},
}

# What a role may do beyond reading and editing fields.
INVITE_TEACHER, INVITE_PROXY, INVITE_FAMILY = "invite_teacher", "invite_proxy", "invite_family"
MANAGE_INVITATIONS, REMOVE_ROLE, CREATE_CHILD, IMPORT_ROSTER = (
    "manage_invitations", "remove_role", "create_child", "import_roster")
READ_AUDIT, READ_HISTORY, CONSENT, REQUEST_DELETION, DECIDE_DELETION = (
    "read_audit", "read_history", "consent", "request_deletion", "decide_deletion")

CAPABILITIES: dict[str, frozenset[str]] = {
    ADMIN: frozenset({INVITE_TEACHER, INVITE_PROXY, INVITE_FAMILY, MANAGE_INVITATIONS, REMOVE_ROLE, CREATE_CHILD,
                      IMPORT_ROSTER, READ_AUDIT, READ_HISTORY, DECIDE_DELETION}),
    TEACHER: frozenset({INVITE_PROXY, INVITE_FAMILY, CREATE_CHILD, IMPORT_ROSTER, READ_HISTORY}),
    PROXY: frozenset(),
    PARENT: frozenset({CONSENT, REQUEST_DELETION}),
    GUARDIAN: frozenset({CONSENT, REQUEST_DELETION}),
}

# Before consent, staff see only the name, so they can invite the family; nobody else sees anything.
BEFORE_CONSENT: dict[str, frozenset[str]] = {ADMIN: frozenset({"name"}), TEACHER: frozenset({"name"})}


def reaches(grant: Grant, child: ChildPlace) -> bool:
    if grant.role == ADMIN:
        return grant.school_id == child.school_id
    if grant.role == TEACHER:
        return grant.class_id == child.class_id and grant.school_id == child.school_id
    return grant.child_id == child.id


def roles_for(grants: Iterable[Grant], child: ChildPlace) -> set[str]:
    return {g.role for g in grants if reaches(g, child)}


def fields_allowed(grants: Iterable[Grant], child: ChildPlace, action: str, *, consented: bool) -> set[str]:
    """The field keys this person may `action` on this child's record."""
    roles = roles_for(grants, child)
    if not consented:
        if action == EDIT and roles & {ADMIN, TEACHER}:
            # Staff keep the record current before consent (it is the school's own ledger); edits
            # show nothing back beyond the name.
            return {f.key for f in FIELDS}
        if action != VIEW:
            return set()
        return set().union(*(BEFORE_CONSENT.get(r, frozenset()) for r in roles)) if roles else set()
    allowed = set()
    for spec in FIELDS:
        if any(action in FIELD_POLICY[r].get(spec.group, frozenset()) for r in roles):
            allowed.add(spec.key)
    return allowed


def can(grants: Iterable[Grant], capability: str, child: ChildPlace | None = None) -> bool:
    """May this person do `capability` (for this child, when one is named)?"""
    for grant in grants:
        if capability not in CAPABILITIES[grant.role]:
            continue
        if child is None or reaches(grant, child):
            return True
    return False


def can_in_school(grants: Iterable[Grant], capability: str, school_id: int | None) -> bool:
    """School-wide capabilities (invite teachers, manage invitations, remove roles, read the audit)."""
    return any(g.school_id == school_id and capability in CAPABILITIES[g.role] for g in grants)


def may_invite(grants: Iterable[Grant], role: str, child: ChildPlace | None, school_id: int | None) -> bool:
    """Admins invite teachers (to their school) and proxy parents; teachers invite parents, guardians
    and proxy parents for a child of their class."""
    grants = list(grants)
    if role == ADMIN:
        return False  # further admins come from the command line, by whoever runs the server
    if role == TEACHER:
        return can_in_school(grants, INVITE_TEACHER, school_id)
    if child is None:
        return False
    capability = INVITE_PROXY if role == PROXY else INVITE_FAMILY
    return can(grants, capability, child)


# Care entries (bot.musts.forms): who writes each kind, and how much of it each role reads. FULL is the entry with
# its photos; FACT is only that it happened ("a talk took place on 20 November"): talk notes hold what a child
# confided, so the family hears that the talk was held, and only the child's teacher, proxy parent and the
# school's admins read them. Nothing is written or read before consent.
FULL, FACT = "full", "fact"
_SHARED = {ADMIN: FULL, TEACHER: FULL, PROXY: FULL, PARENT: FULL, GUARDIAN: FULL}
ENTRY_READ: dict[str, dict[str, str]] = {
    "update": _SHARED, "score": _SHARED, "goodnews": _SHARED, "summary": _SHARED,
    "talk": {ADMIN: FULL, TEACHER: FULL, PROXY: FULL, PARENT: FACT, GUARDIAN: FACT},
}
ENTRY_WRITE: dict[str, frozenset[str]] = {kind: frozenset({TEACHER, PROXY}) for kind in ENTRY_READ}


def entry_access(grants: Iterable[Grant], child: ChildPlace, kind: str, *, consented: bool) -> str | None:
    """FULL, FACT or None: how much of a `kind` entry about this child this person may read."""
    if not consented:
        return None
    levels = {ENTRY_READ[kind].get(role) for role in roles_for(grants, child)} - {None}
    return FULL if FULL in levels else FACT if FACT in levels else None


def may_write(grants: Iterable[Grant], child: ChildPlace, kind: str, *, consented: bool) -> bool:
    return consented and bool(roles_for(grants, child) & ENTRY_WRITE[kind])
