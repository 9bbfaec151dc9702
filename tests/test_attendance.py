"""The roll call's service (bot.attendance.service): a draft saves only what it changed, so two teachers of a class
marking at once, or a family's answer arriving while a correction is being tapped, meet in one consistent row; and
the reminder time is configurable."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from bot.access.policy import PARENT, TEACHER
from bot.attendance.service import AnotherDay, RollDraft
from bot.i18n import translator
from bot.settings import ConfigError, load_settings
from tests.world import World


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    for name in ("小明", "小红", "小刚"):
        await world.child(name)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("张老师", TEACHER, klass="三年级一班")
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.consent("小明", by="李妈妈")
    return world


async def rows(world) -> list[tuple]:
    found = await world.services.db.fetch_all("SELECT child_id, reason, family_reason FROM absences ORDER BY child_id")
    return [tuple(r) for r in found]


def test_a_draft_survives_its_round_trip_through_the_dialogue_store():
    draft = RollDraft(3, date(2026, 3, 2), {7: "none", 9: "sick"}, {9: "personal"})
    assert RollDraft.from_state(draft.as_state()) == draft
    assert draft.changes() == {7: "none", 9: "sick"}
    assert RollDraft(3, date(2026, 3, 2), {}, {9: "none"}).changes() == {9: None}


async def test_two_teachers_marking_at_once_leave_one_row_per_child(world):
    service, klass = world.services.attendance, world.class_ids["三年级一班"]
    wang, zhang = await world.actor("王老师"), await world.actor("张老师")
    a = await service.toggle(wang, (await service.start(wang, klass)).draft, world.children["小明"])
    b = await service.toggle(zhang, (await service.start(zhang, klass)).draft, world.children["小明"])
    b = await service.set_reason(zhang, b.draft, world.children["小明"], "unknown")
    await asyncio.gather(service.save(wang, a.draft), service.save(zhang, b.draft))
    assert len(await rows(world)) == 1
    [(child, reason, _family)] = await rows(world)
    assert child == world.children["小明"] and reason in ("none", "unknown")
    # The family was asked once, however many saves met.
    asked = await world.services.db.fetch_all("SELECT DISTINCT person_id FROM outbox WHERE dedupe_key LIKE 'absq:%'")
    assert [r["person_id"] for r in asked] == [world.people["李妈妈"]]


async def test_a_correction_keeps_the_familys_answer_that_came_meanwhile(world):
    service, klass = world.services.attendance, world.class_ids["三年级一班"]
    wang = await world.actor("王老师")
    first = await service.toggle(wang, (await service.start(wang, klass)).draft, world.children["小明"])
    await service.save(wang, first.draft)
    correcting = await service.start(wang, klass)   # the teacher opens the roll again …
    absence = (await world.services.db.fetch_one("SELECT id FROM absences"))["id"]
    await service.answer(await world.actor("李妈妈"), absence, "sick")   # … the mother answers meanwhile …
    late = await service.toggle(wang, correcting.draft, world.children["小红"])
    await service.save(wang, late.draft)            # … and the teacher marks another child, not touching 小明
    assert await rows(world) == [(world.children["小明"], "sick", "sick"), (world.children["小红"], "none", None)]


async def test_a_roll_of_another_day_is_refused(world, clock):
    service, klass = world.services.attendance, world.class_ids["三年级一班"]
    wang = await world.actor("王老师")
    draft = (await service.start(wang, klass)).draft
    clock.set(clock.now().replace(day=3))
    with pytest.raises(AnotherDay):
        await service.save(wang, draft)
    assert await rows(world) == []


def test_the_reminder_time_is_configurable():
    tr = translator("en")
    token = "123456:" + "a" * 30
    assert load_settings({"TELEGRAM_BOT_TOKEN": token}, tr=tr).roll_reminder_time == "09:30"
    assert load_settings({"TELEGRAM_BOT_TOKEN": token, "ROLL_REMINDER_TIME": "8:05"}, tr=tr).roll_reminder_time == "08:05"
    with pytest.raises(ConfigError):
        load_settings({"TELEGRAM_BOT_TOKEN": token, "ROLL_REMINDER_TIME": "25:00"}, tr=tr)
