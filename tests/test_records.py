"""The child's record: each field checked and stored in one form, and the record service (create, edit, view,
history, audit) within the access policy, every view and change audited."""

from __future__ import annotations

from datetime import date

import pytest

from bot.access.policy import ADMIN, PARENT, PROXY, TEACHER
from bot.clock import stamp
from bot.errors import NotAllowed
from bot.records.fields import FIELDS, FieldError, display, id_number_is_valid, normalise
from storage.audit import AuditRepository
from tests.world import World

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(("raw", "stored"), [("13800138000", "+8613800138000"), ("138 0013 8000", "+8613800138000"),
                                              ("+86 138-0013-8000", "+8613800138000"), (13800138000.0, "+8613800138000")])
def test_phones_are_normalised_to_e164(raw, stored):
    assert normalise("father_phone", raw, today=TODAY) == stored


@pytest.mark.parametrize("raw", ["12345", "1380013800", "电话", "+86 999 0000 0000"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(FieldError) as caught:
        normalise("mother_phone", raw, today=TODAY)
    assert caught.value.code == "phone"


@pytest.mark.parametrize("raw", ["2016-05-01", "2016/5/1", "2016.05.01", "2016年5月1日", "20160501", date(2016, 5, 1)])
def test_dates_in_the_forms_people_write(raw):
    assert normalise("birth_date", raw, today=TODAY) == "2016-05-01"


@pytest.mark.parametrize(("raw", "code"), [("2016-13-01", "date"), ("tomorrow", "date"), ("2027-01-01", "date_range"),
                                           ("1990-01-01", "date_range")])
def test_bad_dates(raw, code):
    with pytest.raises(FieldError) as caught:
        normalise("birth_date", raw, today=TODAY)
    assert caught.value.code == code


def test_id_numbers_are_checked_by_their_check_digit():
    assert id_number_is_valid("11010519491231002X")
    assert not id_number_is_valid("110105194912310021")  # wrong check digit
    assert not id_number_is_valid("110105194913310028")  # no 13th month
    assert normalise("id_number", "11010519491231002x", today=TODAY) == "11010519491231002X"
    with pytest.raises(FieldError):
        normalise("id_number", "110105194912310021", today=TODAY)


@pytest.mark.parametrize(("key", "raw", "stored"), [("sex", "女", "female"), ("sex", "boy", "male"),
                                                    ("boarding", "住校", "yes"), ("guardianship", "无人监护", "unsupervised")])
def test_choices_accept_both_languages(key, raw, stored):
    assert normalise(key, raw, today=TODAY) == stored


def test_required_and_length_limits():
    with pytest.raises(FieldError) as caught:
        normalise("name", "  ", today=TODAY)
    assert caught.value.code == "required"
    with pytest.raises(FieldError) as caught:
        normalise("name", "很" * 41, today=TODAY)
    assert (caught.value.code, caught.value.params) == ("too_long", {"limit": 40})
    assert normalise("interests", "", today=TODAY) == ""


def test_every_field_has_a_group_and_choices_display_translated():
    assert all(f.group for f in FIELDS)
    assert display("sex", "female", lambda s: {"girl": "女孩"}.get(s, s)) == "女孩"
    assert display("father_phone", "+8613800138000", str) == "+86 138 0013 8000"


# -- the record service: create, edit, view, history, audit, each audited -----------------------------------------

@pytest.fixture
async def world(services) -> World:
    world = await World.build(services, classes=("三年级一班", "三年级二班"))
    await world.person("校长", ADMIN)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("赵老师", TEACHER, klass="三年级二班")
    await world.child("小明", birth_date="2016-05-01", father_phone="+8613800138000", id_number="11010519491231002X")
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.person("赵阿姨", PROXY, child="小明")
    await world.consent("小明", by="李妈妈")
    return world


async def audit_actions(services, child_id: int) -> list[str]:
    return [e.action for e in reversed(await AuditRepository(services.db).for_child(child_id))]


async def test_create_stores_the_values_with_their_history_and_audits_it(services, world):
    records = services.children
    child_id = await records.create(await world.actor("王老师"), world.class_ids["三年级一班"],
                                    {"name": " 小刚 ", "sex": "男", "father_phone": "138 0013 8001", "health": ""})
    assert await records._children.fields(child_id) == {"name": "小刚", "sex": "male",
                                                        "father_phone": "+8613800138001"}
    assert {c.field for c in await records._children.history(child_id)} == {"name", "sex", "father_phone"}
    [entry] = await AuditRepository(services.db).for_child(child_id)
    assert (entry.actor_id, entry.action, entry.detail) == (world.people["王老师"], "create", "name,sex,father_phone")
    assert entry.at == stamp(services.clock.now())


async def test_create_refuses_a_duplicate_and_another_class(services, world):
    teacher = await world.actor("王老师")
    with pytest.raises(FieldError) as caught:
        await services.children.create(teacher, world.class_ids["三年级一班"], {"name": "小明",
                                                                               "birth_date": "2016-05-01"})
    assert caught.value.code == "duplicate"
    with pytest.raises(NotAllowed):
        await services.children.create(teacher, world.class_ids["三年级二班"], {"name": "小刚"})
    with pytest.raises(FieldError) as caught:
        await services.children.create(teacher, world.class_ids["三年级一班"], {"sex": "male"})
    assert caught.value.code == "required"


async def test_edit_keeps_the_old_value_in_the_history_and_only_a_change_is_audited(services, world):
    child = world.children["小明"]
    teacher = await world.actor("王老师")
    assert await services.children.edit(teacher, child, "father_phone", "13900001111") == "+8613900001111"
    assert await services.children.edit(teacher, child, "father_phone", "+86 139 0000 1111") == "+8613900001111"
    [latest, *_] = await services.children._children.history(child)
    assert (latest.field, latest.old_value, latest.new_value) == ("father_phone", "+8613800138000", "+8613900001111")
    assert await audit_actions(services, child) == ["edit"]
    assert await services.children.edit(teacher, child, "father_phone", "") == ""
    assert "father_phone" not in await services.children._children.fields(child)


@pytest.mark.parametrize("who", ["李妈妈", "赵阿姨", "赵老师"])
async def test_only_staff_of_the_child_may_edit(services, world, who):
    with pytest.raises(NotAllowed):
        await services.children.edit(await world.actor(who), world.children["小明"], "health", "过敏")
    with pytest.raises(NotAllowed):
        await services.children.editable(await world.actor(who), world.children["小明"])


async def test_a_value_that_does_not_fit_is_refused_with_its_reason(services, world):
    with pytest.raises(FieldError) as caught:
        await services.children.edit(await world.actor("王老师"), world.children["小明"], "mother_phone", "12345")
    assert caught.value.text(str) == "not a valid phone number (for example 13800138000)"
    assert await audit_actions(services, world.children["小明"]) == []


async def test_a_proxy_parent_sees_the_care_fields_and_the_view_is_audited(services, world):
    child = world.children["小明"]
    view = await services.children.view(await world.actor("赵阿姨"), child)
    assert "birth_date" in view.fields and "father_phone" not in view.fields and "id_number" not in view.fields
    assert view.editable == frozenset()
    [entry] = await AuditRepository(services.db).for_child(child)
    assert (entry.action, entry.actor_id) == ("view", world.people["赵阿姨"])
    assert "father_phone" not in entry.detail


async def test_history_shows_only_what_the_reader_may_see_and_audit_is_for_admins(services, world):
    child = world.children["小明"]
    history = await services.children.history(await world.actor("王老师"), child)
    assert "id_number" in {c.field for c in history}
    with pytest.raises(NotAllowed):
        await services.children.history(await world.actor("李妈妈"), child)
    with pytest.raises(NotAllowed):
        await services.children.audit(await world.actor("王老师"), child)
    entries = await services.children.audit(await world.actor("校长"), child)
    assert [e.action for e in entries] == ["view_history"]
    assert await audit_actions(services, child) == ["view_history", "view_audit"]
