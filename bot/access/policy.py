"""Who may do what, in one place. Every handler and every button asks here, and the authorization test
is generated from these tables.

A person's reach comes from their roles: an admin reaches every child of their school, a teacher the
children of their class, a proxy parent, parent or guardian the child they were invited for; above the
schools, a township's child-welfare supervisor (儿童督导员) reaches every child of every school of the
township, and a village's child director (儿童主任) the children whose home is in the village. What they
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
SUPERVISOR, DIRECTOR = "supervisor", "director"
ROLES = (ADMIN, TEACHER, PROXY, PARENT, GUARDIAN, SUPERVISOR, DIRECTOR)
FAMILY_ROLES = (PARENT, GUARDIAN)  # the ones whose consent counts
# The public child-welfare staff above the schools (民政): their roles are for a township or a village.
TOWNSHIP_ROLES = (SUPERVISOR, DIRECTOR)
# Who handles a child's safety report (told, acknowledges, acts) and who may file one; family members ask for
# help (求助) instead, which reaches the same people.
HANDLER_ROLES = (ADMIN, TEACHER, SUPERVISOR, DIRECTOR)
REPORTER_ROLES = (ADMIN, TEACHER, PROXY, SUPERVISOR, DIRECTOR)
ROLE_LABELS = {
    ADMIN: N_("school admin"),
    TEACHER: N_("class teacher"),
    PROXY: N_("proxy parent"),
    PARENT: N_("parent"),
    GUARDIAN: N_("guardian"),
    SUPERVISOR: N_("township child-welfare supervisor"),
    DIRECTOR: N_("village child director"),
}

VIEW, EDIT, EXPORT = "view", "edit", "export"

_ALL = frozenset({VIEW, EDIT, EXPORT})
# role → field group → actions. A class teacher keeps (and exports) the class's ledger (台账, bot.ledgers), a
# child director the village's, of what they see. A proxy parent sees what care needs, not how to reach the parents
# (they talk through the bot), nor ID numbers or support received. A supervisor reads and exports the
# township's records as an admin does (its ledgers and cases) but keeps none: the record is the school's. A
# child director visits the family and supervises the guardianship, so sees how to reach them and how the child
# is looked after, but not ID numbers or support received; the village keeps its own registers of those.
FIELD_POLICY: dict[str, dict[str, frozenset[str]]] = {
    ADMIN: {group: _ALL for group in GROUPS},
    TEACHER: {group: _ALL for group in GROUPS},
    PARENT: {group: frozenset({VIEW, EXPORT}) for group in GROUPS},
    GUARDIAN: {group: frozenset({VIEW, EXPORT}) for group in GROUPS},
    PROXY: {IDENTITY: frozenset({VIEW}), CARE: frozenset({VIEW}), FAMILY: frozenset({VIEW}),
            GUARDIANSHIP: frozenset({VIEW}), CONTACTS: frozenset(), ID_NUMBER: frozenset(),
            SUPPORT: frozenset()},
    SUPERVISOR: {group: frozenset({VIEW, EXPORT}) for group in GROUPS},
    DIRECTOR: {IDENTITY: frozenset({VIEW, EXPORT}), CARE: frozenset({VIEW, EXPORT}), FAMILY: frozenset({VIEW, EXPORT}),
               GUARDIANSHIP: frozenset({VIEW, EXPORT}), CONTACTS: frozenset({VIEW, EXPORT}), ID_NUMBER: frozenset(),
               SUPPORT: frozenset()},
}

# What a role may do beyond reading and editing fields.
INVITE_TEACHER, INVITE_PROXY, INVITE_FAMILY = "invite_teacher", "invite_proxy", "invite_family"
MANAGE_INVITATIONS, REMOVE_ROLE, CREATE_CHILD, IMPORT_ROSTER = (
    "manage_invitations", "remove_role", "create_child", "import_roster")
READ_AUDIT, READ_HISTORY, CONSENT, REQUEST_DELETION, DECIDE_DELETION = (
    "read_audit", "read_history", "consent", "request_deletion", "decide_deletion")
# A supervisor's, in its township: a school's admins and a village's child director join on its invitation.
INVITE_ADMIN, INVITE_DIRECTOR = "invite_admin", "invite_director"
# Who records where a child's home is (the village): the staff who keep the record.
SET_VILLAGE = "set_village"
# The written notice of entrusted care (bot.records.entrusted): the family confirms it; the staff who keep the
# record and the village's child director read the copy confirmed.
CONFIRM_ENTRUSTED, READ_ENTRUSTED = "confirm_entrusted", "read_entrusted"

CAPABILITIES: dict[str, frozenset[str]] = {
    ADMIN: frozenset({INVITE_TEACHER, INVITE_PROXY, INVITE_FAMILY, MANAGE_INVITATIONS, REMOVE_ROLE, CREATE_CHILD,
                      IMPORT_ROSTER, READ_AUDIT, READ_HISTORY, DECIDE_DELETION, SET_VILLAGE, READ_ENTRUSTED}),
    TEACHER: frozenset({INVITE_PROXY, INVITE_FAMILY, CREATE_CHILD, IMPORT_ROSTER, READ_HISTORY, SET_VILLAGE,
                        READ_ENTRUSTED}),
    PROXY: frozenset(),
    PARENT: frozenset({CONSENT, REQUEST_DELETION, CONFIRM_ENTRUSTED}),
    GUARDIAN: frozenset({CONSENT, REQUEST_DELETION, CONFIRM_ENTRUSTED}),
    SUPERVISOR: frozenset({INVITE_ADMIN, INVITE_DIRECTOR, MANAGE_INVITATIONS, REMOVE_ROLE, READ_HISTORY,
                           READ_ENTRUSTED}),
    DIRECTOR: frozenset({READ_ENTRUSTED}),
}

# Before consent, staff see only the name, so they can invite the family (or, above the school, know whom a
# matter concerns); nobody else sees anything. Supervisors and child directors are public child-welfare staff:
# like a school's staff they see the child's name before consent and the record only after it.
BEFORE_CONSENT: dict[str, frozenset[str]] = {role: frozenset({"name"})
                                             for role in (ADMIN, TEACHER, SUPERVISOR, DIRECTOR)}


def reaches(grant: Grant, child: ChildPlace) -> bool:
    if grant.role == ADMIN:
        return grant.school_id == child.school_id
    if grant.role == TEACHER:
        return grant.class_id == child.class_id and grant.school_id == child.school_id
    if grant.role == SUPERVISOR:
        return grant.township_id is not None and grant.township_id == child.township_id
    if grant.role == DIRECTOR:
        return grant.village_id is not None and grant.village_id == child.village_id
    return grant.child_id is not None and grant.child_id == child.id


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
    """School-wide capabilities (invite teachers, manage invitations, remove roles, read the audit). A school's
    own roles only: a supervisor's role is for no school, and no school is None."""
    return school_id is not None and any(g.school_id == school_id and capability in CAPABILITIES[g.role]
                                         for g in grants)


def can_in_township(grants: Iterable[Grant], capability: str, township_id: int | None) -> bool:
    """Township-wide capabilities of its supervisors (invite schools' admins and villages' child directors,
    manage those invitations, remove those roles)."""
    return township_id is not None and any(g.role == SUPERVISOR and g.township_id == township_id
                                           and capability in CAPABILITIES[g.role] for g in grants)


def may_invite(grants: Iterable[Grant], role: str, child: ChildPlace | None, school_id: int | None,
               township_id: int | None = None) -> bool:
    """A township's supervisor invites the admins of its schools and the child directors of its villages
    (`township_id` is the school's or the village's township); admins invite teachers (to their school) and
    proxy parents; teachers invite parents, guardians and proxy parents for a child of their class."""
    grants = list(grants)
    if role == SUPERVISOR:
        return False  # supervisors come from the command line, by whoever runs the server
    if role == ADMIN:
        # The first admin of a school under no township, too, comes from the command line.
        return can_in_township(grants, INVITE_ADMIN, township_id)
    if role == DIRECTOR:
        return can_in_township(grants, INVITE_DIRECTOR, township_id)
    if role == TEACHER:
        return can_in_school(grants, INVITE_TEACHER, school_id)
    if child is None:
        return False
    capability = INVITE_PROXY if role == PROXY else INVITE_FAMILY
    return can(grants, capability, child)


# Care entries (bot.musts.forms): who writes each kind, and how much of it each role reads. FULL is the entry with
# its photos; FACT is only that it happened ("a talk took place on 20 November"): talk notes hold what a child
# confided, so the family, the supervisor and the child director hear that the talk was held, and only the child's
# teacher, proxy parent and the school's admins read them (a worry in a talk becomes a safety report, which
# reaches the township). A child director sees how the child lives (updates, good news), not its scores, nor the
# monthly summary, which lists them. Nothing is written or read before consent.
# SHARED is FULL for an entry its author marked for the family (for_family), nothing otherwise: a home visit (家访)
# records what the staff found in the home, which is for the staff unless the author chooses to share it.
FULL, FACT, SHARED = "full", "fact", "shared"
_SHARED = {ADMIN: FULL, TEACHER: FULL, PROXY: FULL, PARENT: FULL, GUARDIAN: FULL, SUPERVISOR: FULL}
ENTRY_READ: dict[str, dict[str, str]] = {
    "update": {**_SHARED, DIRECTOR: FULL}, "score": _SHARED, "goodnews": {**_SHARED, DIRECTOR: FULL},
    "summary": _SHARED,
    # A child's letter is written to the parents; like the scores, it is not for the village's child director.
    "letter": _SHARED,
    "talk": {ADMIN: FULL, TEACHER: FULL, PROXY: FULL, PARENT: FACT, GUARDIAN: FACT, SUPERVISOR: FACT, DIRECTOR: FACT},
    # A home visit is read by every staff member who reaches the child, the village's child director included
    # (a child director visits the family and supervises the guardianship, and is asked to join visits); the
    # family reads only the visits shared with them.
    "visit": {ADMIN: FULL, TEACHER: FULL, PROXY: FULL, SUPERVISOR: FULL, DIRECTOR: FULL, PARENT: SHARED,
              GUARDIAN: SHARED},
}
# The child's class teacher and proxy parent write every kind, a home visit too; admins (who read everything) write
# none: a visit by the principal is recorded by the class teacher, who names who went.
ENTRY_WRITE: dict[str, frozenset[str]] = {kind: frozenset({TEACHER, PROXY}) for kind in ENTRY_READ}


def entry_access(grants: Iterable[Grant], child: ChildPlace, kind: str, *, consented: bool) -> str | None:
    """FULL, FACT, SHARED or None: how much of a `kind` entry about this child this person may read."""
    if not consented:
        return None
    levels = {ENTRY_READ[kind].get(role) for role in roles_for(grants, child)} - {None}
    return next((level for level in (FULL, FACT, SHARED) if level in levels), None)


def entry_level(level: str | None, for_family: bool) -> str | None:
    """How much of one entry a person reads, given their `entry_access` to its kind: SHARED reads the entries
    marked for the family in full, and the others not at all."""
    if level == SHARED:
        return FULL if for_family else None
    return level


def may_write(grants: Iterable[Grant], child: ChildPlace, kind: str, *, consented: bool) -> bool:
    return consented and bool(roles_for(grants, child) & ENTRY_WRITE[kind])


# The ledgers (台账, bot.ledgers): each role exports the ledgers of the one place its role is for, and nothing
# else: a class teacher their class, an admin their school, a child director their village, a supervisor their
# township. What a ledger holds of each child is still `fields_allowed(…, EXPORT)` and `entry_access`.
CLASS, SCHOOL, VILLAGE, TOWNSHIP = "class", "school", "village", "township"
LEDGER_SCOPES = {TEACHER: CLASS, ADMIN: SCHOOL, DIRECTOR: VILLAGE, SUPERVISOR: TOWNSHIP}


def ledger_scopes(grants: Iterable[Grant]) -> list[tuple[str, int]]:
    """The (scope, id) pairs whose ledgers this person may export, in the order of LEDGER_SCOPES."""
    grants = list(grants)
    found: list[tuple[str, int]] = []
    for role, scope in LEDGER_SCOPES.items():
        for grant in grants:
            if grant.role != role:
                continue
            place = {CLASS: grant.class_id, SCHOOL: grant.school_id, VILLAGE: grant.village_id,
                     TOWNSHIP: grant.township_id}[scope]
            if place is not None and (scope, place) not in found:
                found.append((scope, place))
    return found
