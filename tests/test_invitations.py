"""Invitations and joining, at the service level: unguessable, single use, expiring, revocable, bound."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.access.invitations import InvitationInvalid, code_hash
from bot.errors import NotAllowed
from bot.access.policy import ADMIN, PARENT, TEACHER
from tests.world import World


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services, classes=("三年级一班", "三年级二班"))
    await world.person("校长", ADMIN)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.child("小明", klass="三年级一班")
    await world.child("小红", klass="三年级二班")
    return world


async def test_codes_are_unguessable_and_only_their_hash_is_stored(world):
    services = world.services
    issued = await services.invitations.bootstrap_admin("希望小学")
    assert len(issued.code) <= 64 and len(issued.code) >= 22  # ≥ 128 bits of URL-safe base64
    assert set(issued.code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    rows = await services.db.fetch_all("SELECT code_hash FROM invitations")
    assert [r[0] for r in rows] == [code_hash(issued.code)]
    with open(services.db.path, "rb") as fp:
        assert issued.code.encode() not in fp.read()


async def test_single_use(world):
    services = world.services
    teacher = await world.actor("王老师")
    issued = await services.invitations.create(teacher, PARENT, child_id=world.children["小明"], relation="mother")
    grant = await services.invitations.accept(issued.code, "telegram", "555", "李妈妈")
    assert (grant.role, grant.child_id, grant.relation) == (PARENT, world.children["小明"], "mother")
    with pytest.raises(InvitationInvalid) as caught:
        await services.invitations.accept(issued.code, "telegram", "556", "someone else")
    assert caught.value.reason == "used"


async def test_two_people_accepting_at_once_only_one_gets_in(world):
    services = world.services
    issued = await services.invitations.create(await world.actor("校长"), TEACHER, school_id=world.school_id,
                                               class_id=world.class_ids["三年级二班"])
    results = await asyncio.gather(*(services.invitations.accept(issued.code, "telegram", str(900 + i), f"T{i}")
                                     for i in range(5)), return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1


async def test_expires_after_seven_days(world, clock):
    services = world.services
    issued = await services.invitations.create(await world.actor("王老师"), PARENT, child_id=world.children["小明"],
                                               relation="father")
    clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(InvitationInvalid) as caught:
        await services.invitations.preview(issued.code)
    assert caught.value.reason == "expired"


async def test_revoked_invitations_stop_working(world):
    services = world.services
    issued = await services.invitations.create(await world.actor("王老师"), PARENT, child_id=world.children["小明"],
                                               relation="father")
    await world.person("李老师", TEACHER, klass="三年级二班")
    with pytest.raises(NotAllowed):  # another class's teacher cannot
        await services.invitations.revoke(await world.actor("李老师"), issued.invitation.id)
    await services.invitations.revoke(await world.actor("校长"), issued.invitation.id)
    with pytest.raises(InvitationInvalid) as caught:
        await services.invitations.accept(issued.code, "telegram", "557", "x")
    assert caught.value.reason == "revoked"


async def test_the_class_teacher_withdraws_a_familys_invitation_but_not_a_teachers(world):
    """Issue 14: the teacher who invited a class's families can take an invitation back (the onboarding view)."""
    services = world.services
    teacher = await world.actor("王老师")
    issued = await services.invitations.create(teacher, PARENT, child_id=world.children["小明"], relation="father")
    await services.invitations.revoke(teacher, issued.invitation.id)
    with pytest.raises(InvitationInvalid):
        await services.invitations.accept(issued.code, "telegram", "557", "x")
    colleague = await services.invitations.create(await world.actor("校长"), TEACHER, school_id=world.school_id,
                                                  class_id=world.class_ids["三年级一班"])
    with pytest.raises(NotAllowed):
        await services.invitations.revoke(teacher, colleague.invitation.id)


async def test_teachers_invite_only_for_children_of_their_class(world):
    teacher = await world.actor("王老师")
    with pytest.raises(NotAllowed):
        await world.services.invitations.create(teacher, PARENT, child_id=world.children["小红"], relation="mother")
    with pytest.raises(NotAllowed):
        await world.services.invitations.create(teacher, TEACHER, school_id=world.school_id,
                                                class_id=world.class_ids["三年级二班"])
    with pytest.raises(NotAllowed):  # a relation that does not fit the role
        await world.services.invitations.create(teacher, PARENT, child_id=world.children["小明"], relation="grandma")


async def test_removing_a_role_ends_access_at_once(world):
    services = world.services
    issued = await services.invitations.create(await world.actor("王老师"), PARENT, child_id=world.children["小明"],
                                               relation="mother")
    grant = await services.invitations.accept(issued.code, "telegram", "558", "李妈妈")
    assert (await services.directory.actor("telegram", "558")).grants
    await services.invitations.remove_role(await world.actor("校长"), grant.id)
    assert (await services.directory.actor("telegram", "558")).grants == ()


async def test_the_audit_log_is_append_only(world):
    services = world.services
    await services.invitations.bootstrap_admin("别的学校")
    with pytest.raises(Exception, match="append-only"):
        await services.db.write("UPDATE audit_log SET action = 'x'")
    with pytest.raises(Exception, match="append-only"):
        await services.db.write("DELETE FROM audit_log")
