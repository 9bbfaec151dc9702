"""The ledgers' rules without Telegram: the one xlsx writer keeps formula-like text as text, each role's places,
and what the five-musts, video-call and calendar ledgers count."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from bot.access.policy import (ADMIN, CLASS, DIRECTOR, PROXY, SCHOOL, SUPERVISOR, TEACHER, TOWNSHIP, VILLAGE,
                               ledger_scopes)
from bot.clock import stamp
from bot.errors import NotAllowed
from bot.ledgers.service import first_month
from bot.ledgers.workbook import Workbook
from storage.musts import Entry, Media, MustsRepository
from storage.people import Grant
from storage.video import Call, Outcome, VideoRepository
from tests.world import World

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def test_formula_like_text_is_written_as_text():
    risky = ['=HYPERLINK("http://evil.example","点我")', "+86 139", "-1+2", "@SUM(A1:A2)", "\t=1", "\r=1"]
    book = Workbook()
    book.sheet("孩子", ["姓名", "数"], [[text, n] for n, text in enumerate(risky)] + [["小明", 7]])
    data = book.bytes()
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == risky + ["小明"]
    assert all(c.data_type == "s" and c.quotePrefix for c in cells[:-1])
    assert not cells[-1].quotePrefix and sheet["B8"].value == 7
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert sheet.column_dimensions["A"].width > sheet.column_dimensions["B"].width
    # Nothing in the file is a formula: openpyxl reads a formula back as a value starting with "=" of type "f".
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_sheet_titles_are_made_legal():
    book = Workbook()
    book.sheet("a/b:c" + "长" * 40, ["x"], [])
    assert load_workbook(io.BytesIO(book.bytes())).sheetnames == ["a b c" + "长" * 26]


def _grant(role, **place) -> Grant:
    return Grant(1, 1, role, place.pop("school_id", None), **place)


def test_each_role_exports_the_ledgers_of_its_own_place():
    grants = [_grant(TEACHER, school_id=1, class_id=10), _grant(ADMIN, school_id=1), _grant(PROXY, school_id=1,
              child_id=5), _grant(DIRECTOR, village_id=7, township_id=3), _grant(SUPERVISOR, township_id=3)]
    assert ledger_scopes(grants) == [(CLASS, 10), (SCHOOL, 1), (VILLAGE, 7), (TOWNSHIP, 3)]
    assert ledger_scopes([_grant(PROXY, school_id=1, child_id=5)]) == []


def test_the_activity_ledgers_cover_twelve_months():
    assert str(first_month(datetime(2026, 3, 2).date())) == "2025-04-01"
    assert str(first_month(datetime(2026, 12, 31).date())) == "2026-01-01"


@pytest.fixture
async def world(services):
    world = await World.build(services)
    await world.child("小明")
    await world.child("小红")
    await world.person("teacher", TEACHER, klass="三年级一班", display="陈老师")
    await world.person("proxy", PROXY, child="小明", display="李妈妈")
    await world.person("mother", "parent", child="小明", relation="mother")
    await world.person("mother2", "parent", child="小红", relation="mother")
    await world.consent("小明", "mother")
    await world.consent("小红", "mother2")
    return world


async def _rows(data: bytes, sheet: int = 0) -> list[list]:
    book = load_workbook(io.BytesIO(data))
    return [[c.value for c in row] for row in book.worksheets[sheet].iter_rows(min_row=2)]


async def test_the_five_musts_ledger_counts_per_carer_child_and_month(services, world):
    musts = MustsRepository(services.db)
    child = world.children["小明"]
    async with services.db.transaction() as conn:
        repo = musts.within(conn)
        for day, kind in (("2026-02-03", "update"), ("2026-02-10", "update"), ("2026-02-12", "talk"),
                          ("2026-03-01", "score"), ("2024-01-01", "update")):
            entry = await repo.add_entry(Entry(child, world.people["proxy"], PROXY, kind, day, None, {}, stamp(NOW)))
            if day == "2026-02-10":
                for n in range(3):
                    await repo.add_media(Media(entry, child, n, "photo", f"f{n}", f"u{n}", 1))
    actor = await world.actor("teacher")
    made = await services.ledgers.export(actor, CLASS, world.class_ids["三年级一班"], "musts", "en")
    rows = await _rows(made.data)
    # Month, class, child, carer, role, updates, photos, scores, summaries, talks; 2024 is outside the window.
    assert rows == [["2026-02", "三年级一班", "小明", "李妈妈", "proxy parent", 2, 3, 0, 0, 1],
                    ["2026-03", "三年级一班", "小明", "李妈妈", "proxy parent", 0, 0, 1, 0, 0]]


async def test_the_video_ledger_lists_held_and_missed_calls_with_reasons(services, world):
    video = VideoRepository(services.db)
    async with services.db.transaction() as conn:
        repo = video.within(conn)
        held = await repo.add_call(Call(world.children["小明"], None, "2026-02-01T11:00:00Z", 20, "Asia/Shanghai", None))
        missed = await repo.add_call(Call(world.children["小红"], None, "2026-02-08T11:00:00Z", 20, "Asia/Shanghai",
                                          None))
        await repo.record_outcome(held, Outcome("done", None, world.people["teacher"], stamp(NOW)))
        await repo.record_outcome(missed, Outcome("missed", "network", world.people["teacher"], stamp(NOW)))
    made = await services.ledgers.export(await world.actor("teacher"), CLASS, world.class_ids["三年级一班"], "video",
                                         "en")
    rows = await _rows(made.data)
    assert [r[2:] for r in rows] == [["小明", 20, "Held", None], ["小红", 20, "Missed", "no network"]]
    by_child = await _rows(made.data, 1)
    assert [r[1:5] for r in by_child] == [["小明", 1, 0, 0], ["小红", 0, 1, 0]]


async def test_the_calendar_ledger_shows_completion_by_person(services, world):
    async with services.db.transaction() as conn:
        task = (await conn.execute_fetchall(
            "INSERT INTO calendar_tasks (school_id, title, recurrence, day, audience, state, created_at) "
            "VALUES (?, '家长会', 'monthly', 1, 'both', 'active', ?) RETURNING id", (world.school_id, stamp(NOW))))[0][0]
        for n, done in ((1, True), (2, False)):
            occurrence = (await conn.execute_fetchall(
                "INSERT INTO calendar_occurrences (task_id, due_at, state, recipients, handled_at) "
                "VALUES (?, ?, 'sent', 1, ?) RETURNING id", (task, f"2026-0{n}-01T00:00:00Z", stamp(NOW))))[0][0]
            await conn.execute("INSERT INTO calendar_marks (occurrence_id, person_id, done_at) VALUES (?, ?, ?)",
                               (occurrence, world.people["proxy"], stamp(NOW) if done else None))
    made = await services.ledgers.export(await world.actor("teacher"), CLASS, world.class_ids["三年级一班"],
                                         "calendar", "en")
    rows = await _rows(made.data)
    assert [r[:6] for r in rows] == [["李妈妈", "proxy parent", "家长会", 2, 1, 50]]


async def test_a_place_not_ones_own_is_refused_before_anything_is_read(services, world):
    actor = await world.actor("teacher")
    with pytest.raises(NotAllowed):
        await services.ledgers.export(actor, SCHOOL, world.school_id, "children", "en")
    with pytest.raises(NotAllowed):
        await services.ledgers.scopes(await world.actor("mother"))
    rows = await services.db.fetch_all("SELECT * FROM audit_log WHERE action LIKE 'ledger%'")
    assert rows == []


async def test_rows_of_families_who_have_not_agreed_are_named_with_the_reason(services, world):
    await world.child("小刚")  # on the roll, no family has agreed yet: only the name is exported
    made = await services.ledgers.export(await world.actor("teacher"), CLASS, world.class_ids["三年级一班"],
                                         "children", "en")
    rows = await _rows(made.data)
    assert len(rows) == 3
    assert made.violations[0] == ("The family has not agreed to the data rules yet, so the ledger holds only the "
                                  "name (row 3)")
