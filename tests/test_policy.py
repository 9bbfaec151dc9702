"""The policy tables as rules: who reaches which child, and which fields they see before and after consent."""

from __future__ import annotations

from bot.access.policy import (ADMIN, EDIT, EXPORT, GUARDIAN, PARENT, PROXY, TEACHER, VIEW, can, fields_allowed,
                        may_invite)
from bot.records.fields import BY_KEY, CARE, CONTACTS, FIELDS, ID_NUMBER, SUPPORT
from storage.children import ChildPlace
from storage.people import Grant

CHILD = ChildPlace(id=10, school_id=1, class_id=100)
OTHER_CHILD = ChildPlace(id=11, school_id=1, class_id=100)


def grant(role, school=1, klass=None, child=None):
    return Grant(1, 1, role, school, klass, child)


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
