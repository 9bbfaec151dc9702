"""The township above the schools: the migration that puts existing schools under none, who reaches a child
from the township and the village, and the invitations of a township's supervisor, at the service level."""

from __future__ import annotations

import sqlite3

import pytest

from bot.access.policy import ADMIN, DIRECTOR, PARENT, PROXY, SUPERVISOR, TEACHER
from bot.errors import NotAllowed, UserError
from storage.children import ChildrenRepository
from storage.db import Database, IntegrityError
from storage.migrations import MIGRATIONS
from storage.people import PeopleRepository
from tests.world import World

NOW = "2026-03-02T08:00:00.000+00:00"
BEFORE = next(m.version for m in MIGRATIONS if m.name == "township") - 1


# -- the migration -----------------------------------------------------------------------------------------------

async def test_an_existing_database_keeps_its_schools_roles_and_invitations(tmp_path):
    db = await Database.open(tmp_path / "old.sqlite3")
    try:
        await db.migrate(tuple(m for m in MIGRATIONS if m.version <= BEFORE))
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO schools (id, name, created_at) VALUES (3, '希望小学', ?)", (NOW,))
            await conn.execute("INSERT INTO classes (id, school_id, name) VALUES (4, 3, '三年级一班')")
            await conn.execute("INSERT INTO people (id, display_name, created_at) VALUES (5, '周校长', ?)", (NOW,))
            await conn.execute("INSERT INTO people (id, display_name, created_at) VALUES (6, '王老师', ?)", (NOW,))
            await conn.execute("INSERT INTO children (id, school_id, class_id, created_at) VALUES (7, 3, 4, ?)", (NOW,))
            await conn.execute("INSERT INTO roles (id, person_id, role, school_id, granted_at) "
                               "VALUES (21, 5, 'admin', 3, ?)", (NOW,))
            await conn.execute("INSERT INTO roles (id, person_id, role, school_id, class_id, granted_at, revoked_at) "
                               "VALUES (22, 6, 'teacher', 3, 4, ?, ?)", (NOW, NOW))
            await conn.execute("INSERT INTO invitations (id, code_hash, role, school_id, class_id, created_by, "
                               "created_at, expires_at) VALUES (31, 'h', 'teacher', 3, 4, 5, ?, ?)", (NOW, NOW))
        roles_before = [tuple(r) for r in await db.fetch_all("SELECT * FROM roles ORDER BY id")]
        invitations_before = [tuple(r) for r in await db.fetch_all("SELECT * FROM invitations ORDER BY id")]

        await db.migrate()

        # Every row and id as it was, the new places empty: a school under no township works as before.
        assert [tuple(r)[:11] for r in await db.fetch_all("SELECT * FROM roles ORDER BY id")] == roles_before
        assert [tuple(r)[:14] for r in await db.fetch_all("SELECT * FROM invitations ORDER BY id")] == \
            invitations_before
        assert [tuple(r) for r in await db.fetch_all("SELECT township_id, village_id FROM roles")] == [(None, None)] * 2
        people, children = PeopleRepository(db), ChildrenRepository(db)
        assert (await people.school(3)).township_id is None
        child = await children.get(7)
        assert (child.village_id, child.township_id, child.village_name) == (None, None, "")
        assert [(g.id, g.role) for g in await people.grants_for_child(7, 3, 4)] == [(21, ADMIN)]
        assert [r.id for r in await children.reached_by(await people.grants(5))] == [7]
        # The rebuilt tables keep their indexes and their foreign keys.
        indexes = {r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                    "AND tbl_name = 'roles'")}
        assert {"roles_person", "roles_child", "roles_role_class", "roles_role_school", "roles_role_township",
                "roles_role_village"} <= indexes
        assert await db.fetch_all("PRAGMA foreign_key_check") == []
        with pytest.raises(sqlite3.IntegrityError):
            await db.write("INSERT INTO roles (person_id, role, school_id, granted_at) VALUES (5, 'admin', 99, ?)",
                           (NOW,))
    finally:
        await db.close()


async def test_a_role_is_always_for_a_place(db):
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO schools (id, name, created_at) VALUES (1, 's', ?)", (NOW,))
        await conn.execute("INSERT INTO townships (id, name, created_at) VALUES (1, 't', ?)", (NOW,))
        await conn.execute("INSERT INTO people (id, display_name, created_at) VALUES (1, 'p', ?)", (NOW,))
    refused = [
        ("admin", None, None, None),         # an admin without a school
        ("supervisor", 1, None, None),       # a supervisor for a school, not a township
        ("director", None, 1, None),         # a director without a village
        ("mayor", 1, None, None),            # no such role
    ]
    for role, school, township, village in refused:
        with pytest.raises(IntegrityError):  # either driver's: the database may be keyed (SQLCipher)
            await db.write("INSERT INTO roles (person_id, role, school_id, township_id, village_id, granted_at) "
                           "VALUES (1, ?, ?, ?, ?, ?)", (role, school, township, village, NOW))
    await db.write("INSERT INTO roles (person_id, role, township_id, granted_at) VALUES (1, 'supervisor', 1, ?)",
                   (NOW,))


async def test_who_reaches_a_child_uses_an_index_a_branch(db):
    plan = await db.fetch_all(
        "EXPLAIN QUERY PLAN SELECT * FROM roles WHERE (child_id = 1 AND revoked_at IS NULL) "
        "OR (role = 'teacher' AND class_id = 1 AND revoked_at IS NULL) "
        "OR (role = 'admin' AND school_id = 1 AND revoked_at IS NULL) "
        "OR (role = 'supervisor' AND township_id = (SELECT township_id FROM schools WHERE id = 1) "
        "AND revoked_at IS NULL) "
        "OR (role = 'director' AND village_id = (SELECT village_id FROM children WHERE id = 1) "
        "AND revoked_at IS NULL) ORDER BY +id")
    details = [r["detail"] for r in plan]
    assert not any(d.startswith("SCAN roles") for d in details), details
    assert any("roles_role_township" in d for d in details) and any("roles_role_village" in d for d in details)


# -- who reaches a child -------------------------------------------------------------------------------------------

@pytest.fixture
async def world(app):
    """希望小学 under 青山镇 (villages 青山村 and 石桥村), and 别的学校 under 别的镇; 小明 lives in 青山村, 小红's
    village is not recorded."""
    world = await World.build(app.bot_data.services, classes=("三年级一班", "三年级二班"))
    await world.township("青山镇", ("青山村", "石桥村"))
    async with world.services.db.transaction() as conn:
        world.other_school = await world.services.people.within(conn).ensure_school("别的学校", NOW)
    await world.township("别的镇", ("别的村",), school_id=world.other_school)
    await world.child("小明", klass="三年级一班", personality="开朗")
    await world.child("小红", klass="三年级二班")
    await world.home("小明", "青山村")
    await world.person("校长", ADMIN)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("督导员", SUPERVISOR)
    await world.person("别的督导员", SUPERVISOR, township_id=await _township(world, "别的镇"))
    await world.person("青山村主任", DIRECTOR, village="青山村")
    await world.person("石桥村主任", DIRECTOR, village="石桥村")
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    return world


async def _township(world, name: str) -> int:
    return (await world.services.db.fetch_one("SELECT id FROM townships WHERE name = ?", (name,)))[0]


def who(world, grants) -> set[str]:
    names = {person: name for name, person in world.people.items()}
    return {names[g.person_id] for g in grants}


async def test_grants_for_child_include_the_township_supervisor_and_the_village_director(world):
    people, children = world.services.people, ChildrenRepository(world.services.db)
    ming, hong = await children.get(world.children["小明"]), await children.get(world.children["小红"])
    assert who(world, await people.grants_for_child(ming.id, ming.school_id, ming.class_id)) == {
        "校长", "王老师", "督导员", "青山村主任", "李妈妈"}
    # No village recorded: no director; another class: not 王老师.
    assert who(world, await people.grants_for_child(hong.id, hong.school_id, hong.class_id)) == {"校长", "督导员"}
    # A revoked supervisor reaches nobody.
    async with world.services.db.transaction() as conn:
        await people.within(conn).revoke_grant(world.grants["督导员"][0], world.people["校长"], NOW)
    assert "督导员" not in who(world, await people.grants_for_child(ming.id, ming.school_id, ming.class_id))


async def test_a_school_under_no_township_has_no_supervisor(world):
    async with world.services.db.transaction() as conn:
        await conn.execute("UPDATE schools SET township_id = NULL WHERE id = ?", (world.school_id,))
    children = ChildrenRepository(world.services.db)
    ming = await children.get(world.children["小明"])
    assert ming.township_id is None
    assert "督导员" not in who(world, await world.services.people.grants_for_child(ming.id, ming.school_id,
                                                                                ming.class_id))


async def test_township_admins_are_its_supervisors_and_its_schools_admins(world):
    await world.person("别的校长", ADMIN, school_id=world.other_school)
    assert who(world, await world.services.people.township_admins(world.township_id)) == {"校长", "督导员"}
    other = await _township(world, "别的镇")
    assert who(world, await world.services.people.township_admins(other)) == {"别的督导员", "别的校长"}


async def test_what_each_sees_listed(world):
    async def names(person):
        return sorted(s.child.name for s in await world.services.children.visible(await world.actor(person)))

    assert await names("督导员") == ["小明", "小红"]
    assert await names("青山村主任") == ["小明"]
    assert await names("石桥村主任") == []
    assert await names("别的督导员") == []


async def test_the_supervisor_reads_after_consent_and_the_director_without_id_or_support(world):
    services = world.services
    child = world.children["小明"]
    before = await services.children.view(await world.actor("督导员"), child)
    assert before.fields == {"name": "小明"} and before.editable == frozenset()
    await world.consent("小明", by="李妈妈")
    after = await services.children.view(await world.actor("督导员"), child)
    assert after.fields["personality"] == "开朗" and after.editable == frozenset()
    with pytest.raises(NotAllowed):
        await services.children.view(await world.actor("别的督导员"), child)
    with pytest.raises(NotAllowed):
        await services.children.view(await world.actor("石桥村主任"), child)
    with pytest.raises(NotAllowed):
        await services.children.edit(await world.actor("督导员"), child, "personality", "安静")


# -- the child's village ------------------------------------------------------------------------------------------

async def test_a_teacher_records_the_village_and_its_director_then_reaches_the_child(world):
    services, hong = world.services, world.children["小红"]
    await world.person("王老师", TEACHER, klass="三年级二班")
    assert [s.child.name for s in await services.children.visible(await world.actor("石桥村主任"))] == []
    child, villages = await services.children.village_choices(await world.actor("王老师"), hong)
    assert [v.name for v in villages] == ["石桥村", "青山村"]
    moved = await services.children.set_village(await world.actor("王老师"), hong, world.villages["石桥村"])
    assert moved.village_name == "石桥村"
    assert [s.child.name for s in await services.children.visible(await world.actor("石桥村主任"))] == ["小红"]
    [entry] = [e for e in await services.db.fetch_all("SELECT * FROM audit_log WHERE action = 'set_village'")]
    assert (entry["actor_id"], entry["child_id"]) == (world.people["王老师"], hong)
    cleared = await services.children.set_village(await world.actor("王老师"), hong, None)
    assert cleared.village_id is None


async def test_only_the_record_keepers_set_a_village_and_only_one_of_the_township(world):
    services, ming = world.services, world.children["小明"]
    for person in ("督导员", "青山村主任", "李妈妈"):
        with pytest.raises(NotAllowed):
            await services.children.set_village(await world.actor(person), ming, world.villages["石桥村"])
    with pytest.raises(NotAllowed):  # a village of another township: its director must never reach 小明
        await services.children.set_village(await world.actor("校长"), ming, world.villages["别的村"])
    assert (await ChildrenRepository(services.db).get(ming)).village_name == "青山村"


# -- invitations -----------------------------------------------------------------------------------------------------

async def test_the_command_line_bootstraps_a_supervisor_who_joins_for_the_township(world):
    invitations = world.services.invitations
    issued = await invitations.bootstrap_supervisor("新镇")
    preview = await invitations.preview(issued.code)
    assert (preview.invitation.role, preview.township_name, preview.school_name) == (SUPERVISOR, "新镇", "")
    grant = await invitations.accept(issued.code, "telegram", "9001", "新督导员")
    township = await world.services.db.fetch_one("SELECT id FROM townships WHERE name = '新镇'")
    assert (grant.role, grant.school_id, grant.township_id) == (SUPERVISOR, None, township[0])


async def test_the_command_line_puts_a_school_under_a_township(world):
    invitations, people = world.services.invitations, world.services.people
    await invitations.bootstrap_admin("老学校")
    assert (await people.school_by_name("老学校")).township_id is None
    await invitations.bootstrap_admin("老学校", "青山镇")
    assert (await people.school_by_name("老学校")).township_id == world.township_id
    with pytest.raises(UserError):
        await invitations.bootstrap_admin("老学校", "别的镇")
    assert (await people.school_by_name("老学校")).township_id == world.township_id


async def test_a_supervisor_invites_a_new_schools_admin_and_a_new_villages_director(world):
    services = world.services
    supervisor = await world.actor("督导员")
    issued = await services.invitations.create_in_township(supervisor, ADMIN, world.township_id, " 新希望  小学 ")
    school = await services.people.school_by_name("新希望 小学")
    assert school.township_id == world.township_id
    assert (issued.invitation.school_id, issued.invitation.township_id) == (school.id, world.township_id)
    admin = await services.invitations.accept(issued.code, "telegram", "9002", "新校长")
    assert (admin.role, admin.school_id, admin.township_id) == (ADMIN, school.id, None)

    issued = await services.invitations.create_in_township(supervisor, DIRECTOR, world.township_id, "河口村")
    director = await services.invitations.accept(issued.code, "telegram", "9003", "河口村主任")
    village = await services.people.village(director.village_id)
    assert (village.name, village.township_id, director.township_id) == ("河口村", world.township_id,
                                                                          world.township_id)
    # An existing village is named again: the same village, no second one.
    again = await services.invitations.create_in_township(supervisor, DIRECTOR, world.township_id, "青山村")
    assert again.invitation.village_id == world.villages["青山村"]
    assert len(await services.people.villages(world.township_id)) == 3


async def test_a_supervisor_cannot_take_a_school_or_invite_outside_its_township(world):
    services = world.services
    supervisor = await world.actor("督导员")
    before = await services.db.fetch_all("SELECT * FROM invitations")
    with pytest.raises(UserError) as refused:
        await services.invitations.create_in_township(supervisor, ADMIN, world.township_id, "别的学校")
    assert refused.value.params == {"school": "别的学校"}
    for role, kwargs in ((ADMIN, {"school_id": world.other_school}),
                         (DIRECTOR, {"village_id": world.villages["别的村"]}),
                         (ADMIN, {"school_id": 999}), (DIRECTOR, {"village_id": 999}),
                         (TEACHER, {"school_id": world.school_id, "class_id": world.class_ids["三年级一班"]}),
                         (PROXY, {"child_id": world.children["小明"]})):
        with pytest.raises(NotAllowed):
            await services.invitations.create(supervisor, role, **kwargs)
    with pytest.raises(NotAllowed):
        await services.invitations.create_in_township(supervisor, DIRECTOR, await _township(world, "别的镇"), "x村")
    for person in ("校长", "王老师", "青山村主任"):
        with pytest.raises(NotAllowed):
            await services.invitations.create_in_township(await world.actor(person), DIRECTOR, world.township_id,
                                                          "河口村")
    with pytest.raises(UserError):
        await services.invitations.create_in_township(supervisor, DIRECTOR, world.township_id, "村" * 41)
    assert await services.db.fetch_all("SELECT * FROM invitations") == before
    assert [v.name for v in await services.people.villages(world.township_id)] == ["石桥村", "青山村"]


async def test_a_supervisor_manages_the_townships_invitations_and_roles(world):
    services = world.services
    supervisor, other = await world.actor("督导员"), await world.actor("别的督导员")
    issued = await services.invitations.create(supervisor, DIRECTOR, village_id=world.villages["石桥村"])
    to_school = await services.invitations.create(supervisor, ADMIN, school_id=world.school_id)
    assert {i.id for i in await services.invitations.open_invitations(supervisor)} == {
        issued.invitation.id, to_school.invitation.id}
    assert await services.invitations.open_invitations(other) == []
    # The school's admin sees (and may withdraw) the invitation of a further admin for the school, not the
    # village's.
    assert [i.id for i in await services.invitations.open_invitations(await world.actor("校长"))] == [
        to_school.invitation.id]
    with pytest.raises(NotAllowed):
        await services.invitations.revoke(other, issued.invitation.id)
    with pytest.raises(NotAllowed):
        await services.invitations.revoke(await world.actor("校长"), issued.invitation.id)
    await services.invitations.revoke(supervisor, issued.invitation.id)

    director = world.grants["青山村主任"][0]
    with pytest.raises(NotAllowed):
        await services.invitations.remove_role(other, director)
    with pytest.raises(NotAllowed):
        await services.invitations.remove_role(await world.actor("校长"), director)
    await services.invitations.remove_role(supervisor, director)
    assert [s.child.name for s in await services.children.visible(await world.actor("青山村主任"))] == []
    with pytest.raises(NotAllowed):  # nobody removes their own role
        await services.invitations.remove_role(supervisor, world.grants["督导员"][0])
    # The school's admin, too, answers to the township's supervisor.
    await services.invitations.remove_role(supervisor, world.grants["校长"][0])
    with pytest.raises(NotAllowed):
        await services.invitations.remove_role(supervisor, world.grants["王老师"][0])
