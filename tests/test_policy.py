"""The policy tables as rules: who reaches which child, and which fields they see before and after consent."""

from __future__ import annotations

import pytest

from bot.access.policy import (ADMIN, CAPABILITIES, DIRECTOR, EDIT, ENTRY_READ, EXPORT, FACT, FULL, GUARDIAN,
                               HANDLER_ROLES, PARENT, PROXY, REPORTER_ROLES, ROLE_LABELS, ROLES, SUPERVISOR, TEACHER,
                               VIEW, can, can_in_school, entry_access, fields_allowed, may_invite, reaches)
from bot.records.fields import (BY_KEY, CARE, CONTACTS, FAMILY, FIELDS, GUARDIANSHIP, ID_NUMBER, IDENTITY,
                                SUPPORT)
from storage.children import ChildPlace
from storage.people import Grant

# Child 10 is at school 1 (under township 5) and lives in village 50; child 12 is at school 2, under no township.
CHILD = ChildPlace(id=10, school_id=1, class_id=100, village_id=50, township_id=5)
OTHER_CHILD = ChildPlace(id=11, school_id=1, class_id=100, township_id=5)
NO_TOWNSHIP = ChildPlace(id=12, school_id=2, class_id=200, village_id=None, township_id=None)


def grant(role, school=1, klass=None, child=None, township=None, village=None):
    if role in (SUPERVISOR, DIRECTOR):
        school = None
    return Grant(1, 1, role, school, klass, child, None, township, village)


def groups(keys):
    return {BY_KEY[k].group for k in keys}


def test_proxy_parents_see_care_but_not_contacts_id_numbers_or_support():
    seen = groups(fields_allowed([grant(PROXY, child=10)], CHILD, VIEW, consented=True))
    assert CARE in seen
    assert not seen & {CONTACTS, ID_NUMBER, SUPPORT}


def test_parents_and_guardians_see_and_export_their_own_child_only():
    for role in (PARENT, GUARDIAN):
        mine = [grant(role, child=10)]
        assert fields_allowed(mine, CHILD, VIEW, consented=True) == {f.key for f in FIELDS}
        assert fields_allowed(mine, CHILD, EXPORT, consented=True) == {f.key for f in FIELDS}
        assert fields_allowed(mine, CHILD, EDIT, consented=True) == set()
        assert fields_allowed(mine, OTHER_CHILD, VIEW, consented=True) == set()


def test_teachers_reach_their_class_and_admins_their_school():
    assert fields_allowed([grant(TEACHER, klass=100)], CHILD, EDIT, consented=True) == {f.key for f in FIELDS}
    assert fields_allowed([grant(TEACHER, klass=101)], CHILD, VIEW, consented=True) == set()
    assert fields_allowed([grant(ADMIN)], CHILD, EXPORT, consented=True) == {f.key for f in FIELDS}
    assert fields_allowed([grant(ADMIN, school=2)], CHILD, VIEW, consented=True) == set()


def test_before_consent_only_staff_see_only_the_name():
    assert fields_allowed([grant(TEACHER, klass=100)], CHILD, VIEW, consented=False) == {"name"}
    assert fields_allowed([grant(ADMIN)], CHILD, VIEW, consented=False) == {"name"}
    for role in (PROXY, PARENT, GUARDIAN):
        assert fields_allowed([grant(role, child=10)], CHILD, VIEW, consented=False) == set()
    assert fields_allowed([grant(PARENT, child=10)], CHILD, EXPORT, consented=False) == set()


def test_nobody_without_a_role_gets_anything():
    assert fields_allowed([], CHILD, VIEW, consented=True) == set()
    assert not can([], "read_audit", CHILD)


def test_who_may_invite_whom():
    admin, teacher = [grant(ADMIN)], [grant(TEACHER, klass=100)]
    assert may_invite(admin, TEACHER, None, 1)
    assert not may_invite(admin, TEACHER, None, 2)
    assert not may_invite(teacher, TEACHER, None, 1)
    assert may_invite(teacher, PARENT, CHILD, 1)
    assert may_invite(teacher, PROXY, CHILD, 1)
    assert not may_invite([grant(TEACHER, klass=101)], PARENT, CHILD, 1)
    assert not may_invite([grant(PARENT, child=10)], GUARDIAN, CHILD, 1)
    assert not may_invite(admin, ADMIN, None, 1)


# -- the township above the schools ----------------------------------------------------------------------------

SUPERVISOR_5, DIRECTOR_50 = grant(SUPERVISOR, township=5), grant(DIRECTOR, township=5, village=50)


def test_the_new_roles_are_in_every_table():
    for role in (SUPERVISOR, DIRECTOR):
        assert role in ROLES and role in ROLE_LABELS and role in CAPABILITIES
    assert set(HANDLER_ROLES) == {ADMIN, TEACHER, SUPERVISOR, DIRECTOR}
    assert set(REPORTER_ROLES) == {ADMIN, TEACHER, PROXY, SUPERVISOR, DIRECTOR}
    assert not set(REPORTER_ROLES) & {PARENT, GUARDIAN}  # family members ask for help instead


def test_a_supervisor_reaches_every_child_of_its_township_and_no_other():
    assert reaches(SUPERVISOR_5, CHILD) and reaches(SUPERVISOR_5, OTHER_CHILD)
    assert not reaches(grant(SUPERVISOR, township=6), CHILD)
    assert not reaches(SUPERVISOR_5, NO_TOWNSHIP)
    # A school under no township is nobody's township: a supervisor's grant never matches None.
    assert not reaches(grant(SUPERVISOR, township=None), NO_TOWNSHIP)


def test_a_director_reaches_the_children_whose_home_is_in_its_village():
    assert reaches(DIRECTOR_50, CHILD)
    assert not reaches(DIRECTOR_50, OTHER_CHILD)  # no village recorded
    assert not reaches(grant(DIRECTOR, township=5, village=51), CHILD)
    assert not reaches(grant(DIRECTOR, township=5, village=None), OTHER_CHILD)


def test_a_supervisor_reads_and_exports_everything_after_consent_and_edits_nothing():
    everything = {f.key for f in FIELDS}
    assert fields_allowed([SUPERVISOR_5], CHILD, VIEW, consented=True) == everything
    assert fields_allowed([SUPERVISOR_5], CHILD, EXPORT, consented=True) == everything
    assert fields_allowed([SUPERVISOR_5], CHILD, EDIT, consented=True) == set()
    assert fields_allowed([SUPERVISOR_5], CHILD, EDIT, consented=False) == set()


def test_a_director_sees_contacts_and_guardianship_but_not_id_numbers_or_support():
    seen = groups(fields_allowed([DIRECTOR_50], CHILD, VIEW, consented=True))
    assert seen == {IDENTITY, CARE, FAMILY, CONTACTS, GUARDIANSHIP}
    assert not seen & {ID_NUMBER, SUPPORT}
    assert fields_allowed([DIRECTOR_50], CHILD, EDIT, consented=True) == set()
    # The village's ledger (/ledger) holds what the director sees, and no more.
    assert fields_allowed([DIRECTOR_50], CHILD, EXPORT, consented=True) == fields_allowed([DIRECTOR_50], CHILD, VIEW,
                                                                                          consented=True)


@pytest.mark.parametrize("role_grant", [SUPERVISOR_5, DIRECTOR_50])
def test_before_consent_the_township_staff_see_only_the_name(role_grant):
    assert fields_allowed([role_grant], CHILD, VIEW, consented=False) == {"name"}
    assert fields_allowed([role_grant], CHILD, EXPORT, consented=False) == set()


def test_care_entries_for_the_township():
    assert entry_access([SUPERVISOR_5], CHILD, "update", consented=True) == FULL
    assert entry_access([SUPERVISOR_5], CHILD, "score", consented=True) == FULL
    assert entry_access([SUPERVISOR_5], CHILD, "talk", consented=True) == FACT
    assert entry_access([DIRECTOR_50], CHILD, "update", consented=True) == FULL
    assert entry_access([DIRECTOR_50], CHILD, "talk", consented=True) == FACT
    # No scores for a child director, nor the monthly summary, which lists them.
    assert entry_access([DIRECTOR_50], CHILD, "score", consented=True) is None
    assert entry_access([DIRECTOR_50], CHILD, "summary", consented=True) is None
    assert entry_access([SUPERVISOR_5], CHILD, "update", consented=False) is None
    assert all(SUPERVISOR in readers for readers in ENTRY_READ.values())


def test_who_invites_in_a_township():
    assert may_invite([SUPERVISOR_5], ADMIN, None, 1, township_id=5)
    assert may_invite([SUPERVISOR_5], DIRECTOR, None, None, township_id=5)
    assert not may_invite([SUPERVISOR_5], ADMIN, None, 2, township_id=6)
    assert not may_invite([SUPERVISOR_5], ADMIN, None, 2, township_id=None)  # a school under no township
    assert not may_invite([SUPERVISOR_5], SUPERVISOR, None, None, township_id=5)  # only the command line
    assert not may_invite([SUPERVISOR_5], TEACHER, None, 1, township_id=5)
    assert not may_invite([SUPERVISOR_5], PARENT, CHILD, 1)
    assert not may_invite([grant(ADMIN)], DIRECTOR, None, None, township_id=5)
    assert not may_invite([grant(ADMIN)], ADMIN, None, 1, township_id=5)
    assert not may_invite([DIRECTOR_50], DIRECTOR, None, None, township_id=5)


def test_school_wide_rights_never_match_a_role_without_a_school():
    # A supervisor's grant has no school: "the school None" must not make it an admin of anything.
    for capability in ("manage_invitations", "remove_role"):
        assert not can_in_school([SUPERVISOR_5], capability, None)
        assert not can_in_school([SUPERVISOR_5], capability, 1)
    assert not can([SUPERVISOR_5, DIRECTOR_50], "create_child", CHILD)
    assert not can([SUPERVISOR_5, DIRECTOR_50], "set_village", CHILD)
    assert can([grant(TEACHER, klass=100)], "set_village", CHILD)
