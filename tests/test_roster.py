"""Roster import: reading .xlsx and .csv, checking every row, writing a clean file in one transaction."""

from __future__ import annotations

import io
import time
from datetime import date

import openpyxl
import pytest

from bot.errors import NotAllowed
from bot.records.fields import BY_KEY
from bot.records.roster import (CLASS, HEADERS, MAX_BYTES, MAX_ROWS, ROW_PROBLEMS, ImportRejected, ImportResult,
                        RosterError, RosterService, check_file, parse_header, read_roster, template_xlsx, validate)
from storage.children import ChildPlace, ChildrenRepository
from tests.helpers import CLASS_NAME, HEADER, child_row, csv_bytes, roster, xlsx
from tests.world import World

TODAY = date(2026, 3, 2)


@pytest.fixture
async def world(services) -> World:
    world = await World.build(services, classes=(CLASS_NAME, "三年级二班"))
    await world.person("王老师", "teacher", klass=CLASS_NAME)
    await world.person("李老师", "teacher", klass="三年级二班")
    await world.person("校长", "admin")
    await world.person("陌生人")
    return world


@pytest.fixture
def service(services) -> RosterService:
    return RosterService(services.db, services.people, services.clock)


async def children_in(services, world) -> list:
    return await ChildrenRepository(services.db).in_school(world.school_id)


async def audit_lines(services) -> list[tuple]:
    return [tuple(r) for r in await services.db.fetch_all("SELECT actor_id, child_id, action, detail FROM audit_log")]


def check(rows, *, allowed=None, existing=None, classes=None):
    classes = classes or {CLASS_NAME: 1, "三年级二班": 2}
    return validate(rows, classes=classes, allowed={1} if allowed is None else allowed, today=TODAY,
                    existing=existing or {})


# the template

def test_every_record_field_has_a_column_and_class_and_name_come_first():
    assert set(HEADERS) == {CLASS} | set(BY_KEY)
    assert list(HEADERS.values())[:2] == ["班级", "姓名"]
    assert len(set(HEADERS.values())) == len(HEADERS)


def test_template_has_the_chinese_headers_in_bold_and_an_explanation_sheet():
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx()))
    sheet, notes = book.worksheets
    assert [c.value for c in sheet[1]] == list(HEADERS.values())
    assert all(c.font.bold for c in sheet[1])
    assert sheet.column_dimensions["A"].width >= 12
    assert notes.title == "说明"
    text = "\n".join(str(v) for row in notes.iter_rows(values_only=True) for v in row if v)
    for example in ("2016-05-01", "13800138000", "男 / 女", "是 / 否", "无人监护 / 父或母无监护能力 / 受委托监护人监护能力不足 / 监护情况一般 / 监护情况较好"):
        assert example in text


def test_the_empty_template_reads_back_as_a_roster_without_children():
    rows = read_roster("花名册模板.xlsx", template_xlsx())
    assert parse_header(rows).columns[1].key == "name"
    with pytest.raises(RosterError) as caught:
        check(rows)
    assert caught.value.code == "empty"


# reading

def test_xlsx_and_csv_read_the_same_cells():
    rows = roster(3)
    from_xlsx = read_roster("a.xlsx", xlsx(rows))
    from_csv = read_roster("a.CSV", csv_bytes(rows))
    assert from_xlsx[0] == from_csv[0] == HEADER
    assert from_csv[1:] == [[str(v) for v in row] for row in rows[1:]]
    assert [str(v) for v in from_xlsx[3]] == from_csv[3]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030", "gbk", "utf-16"])
def test_csv_in_the_encodings_chinese_offices_save(encoding):
    rows = roster(2)
    data = csv_bytes(rows, encoding)
    assert read_roster("名单.csv", data)[2][1] == rows[2][1]


def test_broken_encoding_is_refused_as_such():
    garbled = "姓名,班级\n".encode("utf-8") + b"\xff\xfe\x80\x00\x81" * 20
    with pytest.raises(RosterError) as caught:
        read_roster("roster.csv", garbled)
    assert caught.value.code == "encoding"


def test_a_file_that_is_not_a_workbook_is_unreadable():
    with pytest.raises(RosterError) as caught:
        read_roster("roster.xlsx", b"PK\x03\x04 this is not really a zip")
    assert caught.value.code == "unreadable"


@pytest.mark.parametrize(("name", "size", "code"), [
    ("roster.xls", 100, "type"), ("roster.pdf", 100, "type"), ("roster", 100, "type"), (None, 100, "type"),
    ("roster.xlsx", MAX_BYTES + 1, "too_large"), ("roster.csv", MAX_BYTES + 1, "too_large"),
])
def test_other_types_and_oversized_files_are_refused_before_reading(name, size, code):
    with pytest.raises(RosterError) as caught:
        check_file(name, size)
    assert caught.value.code == code
    if code == "too_large":
        assert caught.value.params == {"limit": 5}


def test_an_oversized_file_is_refused_by_its_length_too():
    with pytest.raises(RosterError) as caught:
        read_roster("big.csv", b"x" * (MAX_BYTES + 1))
    assert caught.value.code == "too_large"


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_ten_thousand_rows_are_refused_quickly(kind):
    rows = [["姓名", "出生日期"]] + [[f"孩子{i}", "2016-05-01"] for i in range(10_000)]
    data = xlsx(rows) if kind == "xlsx" else csv_bytes(rows)
    started = time.perf_counter()
    with pytest.raises(RosterError) as caught:
        read_roster(f"big.{kind}", data)
    assert caught.value.code == "too_many_rows"
    assert caught.value.params == {"limit": MAX_ROWS}
    assert time.perf_counter() - started < 3


# the header

def test_header_variants_title_row_spaces_english_keys_and_blank_rows():
    rows = [[], ["三年级一班留守儿童花名册"], [None, " 姓名 ", "birth_date", "FATHER_PHONE", "class"],
            [None, "小明", "2016-05-01", "13800138000", ""], [], [None, "小红", "2016-06-01", "", None]]
    header = parse_header(rows)
    assert header.row == 3
    assert [(c.header, c.key) for c in header.columns] == [
        ("姓名", "name"), ("birth_date", "birth_date"), ("FATHER_PHONE", "father_phone"), ("class", CLASS)]
    checked = check(rows)
    assert checked.problems == []
    assert [(c.row, c.values) for c in checked.children] == [
        (4, {"name": "小明", "birth_date": "2016-05-01", "father_phone": "+8613800138000"}),
        (6, {"name": "小红", "birth_date": "2016-06-01"})]


def test_unknown_and_repeated_columns_are_reported_once_each_on_the_header_row():
    rows = [["姓名", "父亲QQ", "出生日期", "生日", "出生日期", None],
            ["小明", "12345", "2016-05-01", "x", "2016-05-01", None],
            ["小红", "67890", "2016-06-01", "y", "2016-06-01", "多出来的"]]
    problems = check(rows).problems
    assert [(p.row, p.column, p.code) for p in problems] == [
        (1, "父亲QQ", "unknown_column"), (1, "生日", "unknown_column"), (1, "出生日期", "duplicate_column"),
        (1, "F", "unnamed_column")]


@pytest.mark.parametrize(("rows", "code"), [
    ([], "empty"), ([[None, ""], []], "empty"), ([["姓名", "性别"]], "empty"),
    ([["名字", "性别"], ["小明", "男"]], "no_name_column"),
])
def test_files_without_children_or_without_a_name_column(rows, code):
    with pytest.raises(RosterError) as caught:
        check(rows)
    assert caught.value.code == code


# checking rows

def test_three_bad_rows_are_all_reported_with_their_rows_and_columns():
    rows = roster(30)
    rows[4][6] = "12345"          # spreadsheet row 5: 父亲电话
    rows[11][3] = "2016-13-45"    # row 12: 出生日期
    rows[19][1] = None            # row 20: 姓名
    checked = check(rows)
    assert [(p.row, p.column, p.code) for p in checked.problems] == [
        (5, "父亲电话", "phone"), (12, "出生日期", "date"), (20, "姓名", "required")]
    assert checked.children == []


def test_every_field_error_and_roster_problem_has_an_explanation():
    codes = {"required", "phone", "date", "date_range", "id_number", "age", "choice", "too_long", "unknown_field",
             "duplicate", "duplicate_in_file", "unknown_class", "other_class", "class_required", "unknown_column",
             "unnamed_column", "duplicate_column"}
    assert codes <= set(ROW_PROBLEMS)


def test_choice_problems_name_the_accepted_words_in_chinese_only():
    """The roster is filled in Chinese: the hint lists the template's words, with no English in a Chinese screen
    (the English words are still accepted)."""
    rows = [["姓名", "性别", "监护情况"], ["小明", "男孩子", "很好"], ["小红", "female", "good"]]
    problems = check(rows).problems
    assert [(p.column, p.params["choices"]) for p in problems] == [
        ("性别", "男 / 女"),
        ("监护情况", "无人监护 / 父或母无监护能力 / 受委托监护人监护能力不足 / 监护情况一般 / 监护情况较好")]


def test_spreadsheet_numbers_and_dates_are_understood():
    from datetime import datetime

    rows = [["姓名", "出生日期", "父亲电话", "监护人年龄"], ["小明", datetime(2016, 5, 1), 13800138000.0, 68.0]]
    [child] = check(rows).children
    assert child.values == {"name": "小明", "birth_date": "2016-05-01", "father_phone": "+8613800138000",
                            "guardian_age": "68"}


def test_the_same_child_twice_in_the_file_names_the_first_row():
    rows = roster(3)
    rows.append(list(rows[2]))
    rows.append(child_row(1, klass=""))
    problems = check(rows).problems
    assert [(p.row, p.column, p.code, p.params) for p in problems] == [
        (5, "姓名", "duplicate_in_file", {"other": 3}), (6, "姓名", "duplicate_in_file", {"other": 3})]


def test_class_rules_for_a_teacher():
    rows = [["班级", "姓名"], ["", "甲"], ["三年级一班", "乙"], ["三年级二班", "丙"], ["四年级一班", "丁"], [" 三年级一班 ", "戊"]]
    checked = check(rows, allowed={1})
    assert [(p.row, p.column, p.code, p.params) for p in checked.problems] == [
        (4, "班级", "other_class", {}), (5, "班级", "unknown_class", {"name": "四年级一班"})]


def test_an_admin_must_name_an_existing_class():
    rows = [["班级", "姓名"], ["", "甲"], ["三年级二班", "乙"], ["三年级三班", "丙"]]
    problems = check(rows, allowed={1, 2}).problems
    assert [(p.row, p.code) for p in problems] == [(2, "class_required"), (4, "unknown_class")]
    # Without a class column at all, the empty class is the same problem for each row.
    assert [(p.row, p.column, p.code) for p in check([["姓名"], ["甲"]], allowed={1, 2}).problems] == [
        (2, "班级", "class_required")]


def test_a_child_on_the_roll_is_updated_in_the_same_class_and_a_duplicate_in_another():
    rows = [["班级", "姓名", "出生日期"], ["三年级一班", "小明", "2016-05-01"], ["三年级二班", "小红", "2016-06-01"]]
    existing = {("小明", "2016-05-01"): ChildPlace(7, 1, 1), ("小红", "2016-06-01"): ChildPlace(8, 1, 1)}
    checked = check(rows, allowed={1, 2}, existing=existing)
    assert [(p.row, p.column, p.code) for p in checked.problems] == [(3, "姓名", "duplicate")]
    checked = check(rows[:2], allowed={1, 2}, existing=existing)
    assert [(c.existing_id, c.class_id) for c in checked.children] == [(7, 1)]


# importing

async def test_a_bad_file_changes_nothing(services, world, service):
    rows = roster(30)
    rows[4][6] = "12345"
    rows[11][3] = "2016-13-45"
    rows[19][1] = ""
    outcome = await service.import_rows(await world.actor("王老师"), world.school_id, "roster.xlsx", xlsx(rows))
    assert isinstance(outcome, ImportRejected)
    assert [(p.row, p.column) for p in outcome.problems] == [(5, "父亲电话"), (12, "出生日期"), (20, "姓名")]
    assert await children_in(services, world) == []
    assert await audit_lines(services) == []


async def test_a_clean_file_is_imported_and_importing_it_again_updates_instead_of_duplicating(
        services, world, service):
    teacher = await world.actor("王老师")
    data = xlsx(roster(30))
    assert await service.import_rows(teacher, world.school_id, "roster.xlsx", data) == ImportResult(30, 0, 0)
    listed = await children_in(services, world)
    assert len(listed) == 30 and {c.class_name for c in listed} == {CLASS_NAME}
    first = next(c for c in listed if c.name == child_row(0)[1])
    assert await ChildrenRepository(services.db).fields(first.id) == {
        "name": child_row(0)[1], "sex": "female", "birth_date": "2016-05-01", "boarding": "no",
        "father_name": "王建国", "father_phone": "+8613800138000", "guardian_name": "奶奶",
        "guardian_phone": "+8613900139000", "guardianship": "good"}
    lines = await audit_lines(services)
    assert len(lines) == 30 and {line[2] for line in lines} == {"import"}
    assert lines[0][0] == world.people["王老师"]
    assert lines[0][3].split(",") == ["name", "sex", "birth_date", "boarding", "father_name", "father_phone",
                                      "guardian_name", "guardian_phone", "guardianship"]

    assert await service.import_rows(teacher, world.school_id, "roster.xlsx", data) == ImportResult(0, 0, 30)
    assert len(await children_in(services, world)) == 30

    rows = roster(31)
    rows[1][6] = "13700137000"
    rows[2][6] = None  # an empty cell leaves what is stored
    assert await service.import_rows(teacher, world.school_id, "roster.csv", csv_bytes(rows)) == \
        ImportResult(1, 1, 29)
    assert len(await children_in(services, world)) == 31
    fields = await ChildrenRepository(services.db).fields(first.id)
    assert fields["father_phone"] == "+8613700137000"
    second = next(c for c in listed if c.name == child_row(1)[1])
    assert (await ChildrenRepository(services.db).fields(second.id))["father_phone"] == "+8613800138001"
    [change, *_] = await ChildrenRepository(services.db).history(first.id)
    assert (change.field, change.old_value, change.new_value) == ("father_phone", "+8613800138000", "+8613700137000")
    lines = await audit_lines(services)
    assert len(lines) == 32  # the unchanged children leave no line
    assert lines[-2] == (world.people["王老师"], first.id, "import", "father_phone")
    assert lines[-1][2:] == ("import", "name,sex,birth_date,boarding,father_name,father_phone,guardian_name,"
                                       "guardian_phone,guardianship")


async def test_a_gbk_csv_from_a_chinese_office_imports(services, world, service):
    data = csv_bytes(roster(5), "gbk")
    assert await service.import_rows(await world.actor("王老师"), world.school_id, "名单.csv", data) == \
        ImportResult(5, 0, 0)


async def test_a_child_on_the_roll_in_another_class_is_not_duplicated(services, world, service):
    await world.child(child_row(0)[1], klass="三年级二班", birth_date="2016-05-01")
    outcome = await service.import_rows(await world.actor("校长"), world.school_id, "r.xlsx", xlsx(roster(3)))
    assert [(p.row, p.code) for p in outcome.problems] == [(2, "duplicate")]
    assert len(await children_in(services, world)) == 1


async def test_an_admin_imports_into_several_classes(services, world, service):
    rows = roster(4)
    rows[3][0] = rows[4][0] = "三年级二班"
    outcome = await service.import_rows(await world.actor("校长"), world.school_id, "r.xlsx", xlsx(rows))
    assert outcome == ImportResult(4, 0, 0)
    assert sorted(c.class_name for c in await children_in(services, world)) == ["三年级一班"] * 2 + ["三年级二班"] * 2


async def test_a_teacher_cannot_import_into_another_class(services, world, service):
    outcome = await service.import_rows(await world.actor("李老师"), world.school_id, "r.xlsx", xlsx(roster(2)))
    assert [(p.row, p.column, p.code) for p in outcome.problems] == [(2, "班级", "other_class"),
                                                                    (3, "班级", "other_class")]
    assert await children_in(services, world) == []


@pytest.mark.parametrize("who", ["stranger", "parent", "proxy", "other school admin"])
async def test_people_without_the_right_are_not_allowed_and_nothing_is_read(services, world, service, who):
    await world.child("小明")
    if who == "stranger":
        actor = await world.actor("陌生人")
    elif who == "other school admin":
        other = await services.people.ensure_school("别的学校", "2026-03-01T00:00:00")
        await world.person("别校长", "admin", school_id=other)
        actor = await world.actor("别校长")
    else:
        await world.person("小明妈妈", who, child="小明", relation="mother")
        actor = await world.actor("小明妈妈")
    with pytest.raises(NotAllowed):
        # A file that would fail to read: the refusal comes first.
        await service.import_rows(actor, world.school_id, "roster.pdf", b"")
    assert len(await children_in(services, world)) == 1
    assert await audit_lines(services) == []


async def test_who_may_import_where(services, world):
    assert RosterService.schools(await world.actor("王老师")) == [world.school_id]
    assert RosterService.schools(await world.actor("校长")) == [world.school_id]
    assert RosterService.schools(await world.actor("陌生人")) == []
