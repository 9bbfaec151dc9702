"""The dropout ladder (控辍保学) as a service: counted in school days (a holiday is not a day of the streak), each step
told once whatever the restarts, the people of each step, the return, the watch, the reopening and the closing."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from docx import Document
from openpyxl import load_workbook

from bot.access.policy import ADMIN, PARENT
from bot.attendance.dropouts import AttemptDraft, DropoutAction, DropoutService
from bot.errors import NotAllowed, UserError
from bot.settings import ConfigError, load_settings
from bot.i18n import translator
from tests.helpers import BOT_TOKEN
from tests.world import NOW, World

MONDAY = date(2026, 3, 2)


def morning(day: date) -> datetime:
    """17:00 at the school (Asia/Shanghai): after the roll call."""
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
async def world(app, clock):
    services = app.bot_data.services
    world = await World.build(services)
    await world.child("小明", sex="male", birth_date="2016-05-01", id_number="110101201605010012",
                      guardian_name="王奶奶", guardian_phone="+8613900000001", guardian_address="青山村三组",
                      father_name="张爸爸", father_phone="+8613900000002")
    await world.dropout_people("小明")
    await world.person("mother", PARENT, child="小明", relation="mother")
    await world.consent("小明", "mother")
    await world.person("stranger_admin", ADMIN, school_id=await _other_school(services))
    _, county = await services.dropouts.set_county_contact("青山镇", "555001", "县教育局控辍保学办")
    world.people["county"] = county
    await world.holiday(MONDAY + timedelta(days=1))  # Tuesday is a public holiday at this school
    return world


async def _other_school(services) -> int:
    async with services.db.transaction() as conn:
        return await services.people.within(conn).ensure_school("别的学校", NOW)


async def told(world) -> dict[str, list[str]]:
    """Who has what waiting in the outbox about dropouts: name → texts."""
    rows = await world.services.db.fetch_all("SELECT person_id, payload, dedupe_key FROM outbox "
                                             "WHERE dedupe_key LIKE 'dropout:%' ORDER BY id")
    names = {pid: name for name, pid in world.people.items()}
    found: dict[str, list[str]] = {}
    import json

    for row in rows:
        found.setdefault(names[row["person_id"]], []).append(json.loads(row["payload"]).get("text", ""))
    return found


async def test_the_ladder_counts_school_days_and_tells_each_step_once(world, clock, app):
    services = app.bot_data.services
    dropouts = services.dropouts
    clock.set(morning(MONDAY))
    await world.absent("小明", MONDAY)
    assert await dropouts.run_due() == 1
    assert set(await told(world)) == {"admin"}
    case = await dropouts.repo.current(world.children["小明"])
    assert (case.step, case.state, case.first_absent_on) == (1, "open", MONDAY.isoformat())

    # Tuesday is a holiday: nothing more, however often the job runs.
    clock.set(morning(MONDAY + timedelta(days=1)))
    assert await dropouts.run_due() == 0
    # Wednesday morning, before the roll: still day 1 (today not marked yet is not a break).
    clock.set(morning(MONDAY + timedelta(days=2)) - timedelta(hours=6))
    assert await dropouts.run_due() == 0
    clock.set(morning(MONDAY + timedelta(days=2)))
    await world.absent("小明", MONDAY + timedelta(days=2))
    assert await dropouts.run_due() == 3  # the director and the teacher asked for a joint visit, the admin told
    waiting = await told(world)
    assert set(waiting) == {"admin", "teacher", "director"}
    assert "陈老师" in waiting["director"][0] and "吴主任" in waiting["teacher"][0]
    assert await dropouts.run_due() == 0

    # Thursday is day 3: a suspected dropout; the township and the county are told.
    clock.set(morning(MONDAY + timedelta(days=3)))
    await world.absent("小明", MONDAY + timedelta(days=3))
    assert await dropouts.run_due() == 5
    waiting = await told(world)
    assert set(waiting) == {"admin", "teacher", "director", "supervisor", "county"}
    assert len(waiting["supervisor"]) == len(waiting["county"]) == 1
    # The county contact holds no role: told of the case, never the child's name.
    assert "小明" not in waiting["county"][0] and "希望小学" in waiting["county"][0]
    assert "小明" in waiting["supervisor"][0]
    case = await dropouts.repo.current(world.children["小明"])
    assert (case.step, case.state, case.suspected_on) == (3, "suspected", (MONDAY + timedelta(days=3)).isoformat())

    # A restart (a second service over the same database) tells nobody again.
    again = DropoutService(services.db, services.people, dropouts._children, services.consent, services.outbox,
                           services.preferences, services.schooldays, clock, services.settings)
    assert await again.run_due() == 0
    assert await dropouts.run_due() == 0
    assert sum(len(v) for v in (await told(world)).values()) == 9
    # The family heard nothing of the ladder.
    assert not {"grandmother", "mother"} & set(await told(world))


async def test_whereabouts_unknown_is_a_suspected_dropout_at_once(world, clock, app):
    dropouts = app.bot_data.services.dropouts
    clock.set(morning(MONDAY))
    await world.absent("小明", MONDAY, "unknown")
    assert await dropouts.run_due() == 5  # each person once, though three steps were crossed
    rows = await world.services.db.fetch_all("SELECT payload FROM outbox WHERE person_id = ?",
                                             (world.people["teacher"],))
    assert len(rows) == 1 and "sfc:" in rows[0]["payload"]  # the mandatory-report button
    case = await dropouts.repo.current(world.children["小明"])
    assert case.state == "suspected" and case.whereabouts_unknown


async def test_persuasion_return_watch_reopen_and_close(world, clock, app):
    services = app.bot_data.services
    dropouts = services.dropouts
    for n in (0, 2, 3):
        clock.set(morning(MONDAY + timedelta(days=n)))
        await world.absent("小明", MONDAY + timedelta(days=n))
        await dropouts.run_due()
    case = await dropouts.repo.current(world.children["小明"])
    teacher, admin = await world.actor("teacher"), await world.actor("admin")

    with pytest.raises(UserError):  # persuasion has not failed yet
        await dropouts.written_report(admin, case.id)
    await dropouts.record_attempt(teacher, case.id, AttemptDraft("visit", "hesitant", "奶奶说孩子去了外地", "再联系父母",
                                                                 MONDAY + timedelta(days=4)))
    view = await dropouts.record_attempt(await world.actor("director"), case.id,
                                         AttemptDraft("video", "refusing", "父亲不同意返校", "报告教育局"))
    assert len(view.attempts) == 2 and view.report_due
    with pytest.raises(NotAllowed):  # the teacher exports nothing (bot.access.policy)
        await dropouts.written_report(teacher, case.id)
    docx, xlsx = await dropouts.written_report(admin, case.id)
    text = "\n".join(c.text for t in Document(io.BytesIO(docx)).tables for r in t.rows for c in r.cells)
    assert "奶奶说孩子去了外地" in text and "父亲不同意返校" in text and "110101201605010012" in text
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert sheet.max_row == 2 and sheet.cell(2, 5).value == "小明"
    audit = await services.db.fetch_all("SELECT action FROM audit_log WHERE actor_id = ?", (world.people["admin"],))
    assert "dropout_report" in [r["action"] for r in audit]

    # Back at school on Friday: watched for 30 days.
    friday = MONDAY + timedelta(days=4)
    clock.set(morning(friday))
    await dropouts.mark_returned(teacher, case.id)
    case = await dropouts.repo.get(case.id)
    assert (case.state, case.returned_on, case.watch_until) == ("returned", friday.isoformat(),
                                                                (friday + timedelta(days=30)).isoformat())
    with pytest.raises(UserError):
        await dropouts.record_attempt(teacher, case.id, AttemptDraft("call", "supportive", "x", ""))
    before = await world.services.db.fetch_one("SELECT COUNT(*) FROM outbox")

    # A new absence without reason during the watch reopens it at once, step 3's people told again.
    monday = MONDAY + timedelta(days=7)
    clock.set(morning(monday))
    await world.absent("小明", monday)
    assert await dropouts.run_due() == 5
    case = await dropouts.repo.get(case.id)
    assert case.state == "suspected"
    assert (await world.services.db.fetch_one("SELECT COUNT(*) FROM outbox"))[0] == before[0] + 5
    assert await dropouts.run_due() == 0

    # Back again; 30 quiet days later the case is closed.
    await dropouts.mark_returned(await world.actor("admin"), case.id)
    clock.set(morning(monday + timedelta(days=30)))
    await dropouts.run_due()
    assert (await dropouts.repo.get(case.id)).state == "returned"
    clock.set(morning(monday + timedelta(days=31)))
    await dropouts.run_due()
    case = await dropouts.repo.get(case.id)
    assert case.state == "closed" and case.closed_at
    assert await dropouts.repo.current(world.children["小明"]) is None


async def test_nobody_else_reaches_a_case(world, clock, app):
    dropouts = app.bot_data.services.dropouts
    clock.set(morning(MONDAY))
    await world.absent("小明", MONDAY, "unknown")
    await dropouts.run_due()
    case = await dropouts.repo.current(world.children["小明"])
    for name in ("stranger_admin", "grandmother", "mother"):
        with pytest.raises(NotAllowed) as refused:
            await dropouts.record_attempt(await world.actor(name), case.id, AttemptDraft("call", "supportive", "x", ""))
        forged = None
        try:
            await dropouts.case(await world.actor("admin"), case.id + 100)
        except NotAllowed as exc:
            forged = exc
        assert forged is not None and refused.value.msgid == forged.msgid
    assert [line.case_id for line in await dropouts.cases(await world.actor("director"))] == [case.id]
    assert await dropouts.cases(await world.actor("stranger_admin")) == []
    with pytest.raises(NotAllowed):
        await dropouts.cases(await world.actor("mother"))


async def test_monthly_report_reminder_and_ledgers(world, clock, app):
    services = app.bot_data.services
    dropouts = services.dropouts
    await world.child("小刚", "三年级一班")
    await world.home("小刚", "青山村")
    clock.set(morning(MONDAY))
    await world.absent("小明", MONDAY, "unknown")
    await world.absent("小刚", MONDAY, "unknown")
    await world.absent("小明", MONDAY + timedelta(days=2), "sick")
    await dropouts.run_due()
    clock.set(morning(date(2026, 3, 27)))
    await dropouts.run_due()
    reminders = "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'dropout:monthly:%'"
    assert (await services.db.fetch_one(reminders))[0] == 0
    clock.set(morning(date(2026, 3, 28)))
    await dropouts.run_due()
    await dropouts.run_due()
    assert (await services.db.fetch_one(reminders))[0] == 2  # the two schools' admins, once each
    book = load_workbook(io.BytesIO(await dropouts.monthly_report(await world.actor("admin"))))
    summary = {r[0]: r[1] for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    _ = translator("zh_CN").gettext
    assert summary[_("Whereabouts unknown")] == 2 and summary[_("Sick leave")] == 1
    cases = [row[4] for row in book.worksheets[1].iter_rows(min_row=2, values_only=True)]
    assert sorted(cases) == ["小刚", "小明"]  # one row per case
    ledger = load_workbook(io.BytesIO(await dropouts.township_ledger(await world.actor("supervisor")))).active
    assert sorted(row[4] for row in ledger.iter_rows(min_row=2, values_only=True)) == ["小刚", "小明"]
    with pytest.raises(NotAllowed):
        await dropouts.township_ledger(await world.actor("admin"))
    with pytest.raises(NotAllowed):
        await dropouts.monthly_report(await world.actor("teacher"))


async def test_the_open_button_is_a_declared_payload():
    assert DropoutAction.unpack(DropoutAction(7, "m", "visit").pack()) == DropoutAction(7, "m", "visit")


def test_ladder_settings_from_the_environment():
    tr = translator("en")
    settings = load_settings({"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "DROPOUT_SUSPECTED_DAY": "5",
                              "PERSUASION_ATTEMPTS_BEFORE_REPORT": "3"}, tr=tr)
    assert (settings.dropout_suspected_day, settings.persuasion_attempts_before_report) == (5, 3)
    with pytest.raises(ConfigError):
        load_settings({"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "DROPOUT_VILLAGE_DAY": "4", "DROPOUT_SUSPECTED_DAY": "3"},
                      tr=tr)
    with pytest.raises(ConfigError):
        load_settings({"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "DROPOUT_WATCH_DAYS": "0"}, tr=tr)


async def _roll_taken(world, day: date) -> None:
    """The class's roll of `day` saved (the children without an absence row were there)."""
    async with world.services.db.transaction() as conn:
        await conn.execute("INSERT INTO attendance_rolls (class_id, day, taken_at) SELECT class_id, ?, ? "
                           "FROM children WHERE id = ?", (day.isoformat(), NOW, world.children["小明"]))


async def test_a_suspected_dropout_seen_at_school_on_the_roll_is_back_at_school_without_a_press(world, clock, app):
    dropouts = app.bot_data.services.dropouts
    for n, day in enumerate((MONDAY, MONDAY + timedelta(days=2), MONDAY + timedelta(days=3))):
        clock.set(morning(day))
        await world.absent("小明", day)
        await dropouts.run_due()
    assert (await dropouts.repo.current(world.children["小明"])).state == "suspected"
    friday = MONDAY + timedelta(days=4)
    clock.set(morning(friday))
    await _roll_taken(world, friday)  # 小明 was there
    await dropouts.run_due()
    case = await dropouts.repo.current(world.children["小明"])
    assert (case.state, case.returned_on) == ("returned", friday.isoformat())
    back = [t for texts in (await told(world)).values() for t in texts if "返校" in t]
    assert len(back) == 5  # the admin, the teacher, the director, the supervisor; the county without the name
    assert all("（点名登记）" in t for t in back if "登记）" in t)
    await dropouts.run_due()  # told once
    assert len([t for texts in (await told(world)).values() for t in texts if "返校" in t]) == 5


async def test_an_absence_explained_before_it_was_a_suspected_dropout_closes_the_case(world, clock, app):
    dropouts = app.bot_data.services.dropouts
    clock.set(morning(MONDAY))
    await world.absent("小明", MONDAY)
    await dropouts.run_due()
    assert (await dropouts.repo.current(world.children["小明"])).state == "open"
    async with world.services.db.transaction() as conn:  # the grandmother answered: he was ill
        await conn.execute("UPDATE absences SET reason = 'sick', family_reason = 'sick' WHERE child_id = ?",
                           (world.children["小明"],))
    await dropouts.run_due()
    assert await dropouts.repo.current(world.children["小明"]) is None
    [case] = await world.services.db.fetch_all("SELECT state, closed_at FROM dropout_cases")
    assert case["state"] == "closed" and case["closed_at"]
