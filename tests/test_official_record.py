"""The record aligned with the 2016 registration form: its new fields, the roster's refusal of values outside the
form's categories, the official ledger's column order and the summary's cross-checks."""

from __future__ import annotations

from datetime import date

import pytest

from bot.access.policy import DIRECTOR, EXPORT, PROXY, VIEW, fields_allowed
from bot.i18n import translator
from bot.records.fields import BY_KEY, ID_CHECK, ID_NUMBER, ID_WEIGHTS, FieldError, display, normalise
from bot.records.official import OFFICIAL_COLUMNS, Record, official_rows, official_summary
from bot.records.roster import CHOICE_HINTS, HEADERS, ImportRejected, ImportResult, RosterService, validate
from handlers.roster import explain_row_problem
from storage.children import ChildPlace, ChildRow, ChildrenRepository
from storage.people import Grant
from tests.helpers import CLASS_NAME, xlsx
from tests.world import World

TODAY = date(2026, 3, 2)
ZH = translator("zh_CN").gettext


def id_number(body: str) -> str:
    return body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS)) % 11]


FATHER_ID = id_number("11010519790223443")


# the fields

def test_support_received_is_a_multiple_choice_stored_as_keys_and_shown_translated():
    assert normalise("support_received", "医疗救助、低保", today=TODAY) == "dibao,medical"
    assert normalise("support_received", "housing, dibao, 低保", today=TODAY) == "dibao,housing"
    assert display("support_received", "dibao,medical", ZH) == "低保、医疗救助"
    with pytest.raises(FieldError) as refused:
        normalise("support_received", "低保、彩票", today=TODAY)
    assert refused.value.code == "choice"


def test_the_forms_guardianship_words_and_the_earlier_stored_values_both_hold():
    assert normalise("guardianship", "父或母无监护能力", today=TODAY) == "parent_unable"
    assert normalise("guardianship", "受委托监护人监护能力不足", today=TODAY) == "unable"
    assert normalise("guardianship", "良好", today=TODAY) == "good"  # last year's roster word
    assert display("guardianship", "unable", ZH) == "受委托监护人监护能力不足"
    assert display("guardianship", "good", ZH) == "监护情况较好"
    assert [normalise("guardianship_assessment", w, today=TODAY) for w in ("较好", "一般", "差")] == \
        ["good", "fair", "poor"]


def test_a_parents_date_of_birth_may_be_decades_ago_a_childs_may_not():
    assert normalise("father_birth_date", "1979-02-23", today=TODAY) == "1979-02-23"
    with pytest.raises(FieldError) as refused:
        normalise("birth_date", "1979-02-23", today=TODAY)
    assert refused.value.code == "date_range"


def test_every_id_number_is_in_the_id_group_which_proxies_and_directors_do_not_see():
    ids = {"id_number", "father_id_number", "mother_id_number", "guardian_id_number"}
    assert {k for k, f in BY_KEY.items() if f.group == ID_NUMBER} == ids
    child = ChildPlace(1, 1, 1, village_id=50, township_id=5)
    for grant in (Grant(1, 1, PROXY, 1, child_id=1), Grant(2, 2, DIRECTOR, None, township_id=5, village_id=50)):
        for action in (VIEW, EXPORT):
            seen = fields_allowed([grant], child, action, consented=True)
            assert not seen & ids
    assert "guardianship_assessment" in fields_allowed([Grant(1, 1, PROXY, 1, child_id=1)], child, VIEW,
                                                       consented=True)


# the roster

def test_a_value_outside_the_forms_categories_is_refused_with_its_row_and_column():
    rows = [["姓名", "就学情况", "监护类型", "救助类型"],
            ["王小明", "小学", "监护情况一般", "低保"],
            ["李小红", "高中", "很好", "低保、彩票"]]
    checked = validate(rows, classes={CLASS_NAME: 1}, allowed={1}, today=TODAY, existing={})
    assert checked.children == []
    assert [(p.row, p.column, p.code) for p in checked.problems] == [
        (3, "就学情况", "choice"), (3, "监护类型", "choice"), (3, "救助类型", "multi")]
    lines = [explain_row_problem(p, ZH) for p in checked.problems]
    assert lines[0] == "第 3 行「就学情况」：请填写其中之一：学前 / 小学 / 初中 / 失学辍学 / 其他"
    assert lines[2].startswith("第 3 行「救助类型」：")
    assert "住房救助" in lines[2]


def test_the_template_offers_every_new_choice_in_chinese():
    for key, spec in BY_KEY.items():
        if spec.choices:
            assert key in CHOICE_HINTS and key in HEADERS
            words = [w for w in CHOICE_HINTS[key] if not w.isascii()]
            assert {normalise(key, w, today=TODAY) for w in words} >= set(spec.choices), key


@pytest.fixture
async def world(services) -> World:
    world = await World.build(services, classes=(CLASS_NAME,))
    await world.person("王老师", "teacher", klass=CLASS_NAME)
    return world


async def test_an_import_stores_the_forms_fields_as_keys(services, world):
    rows = [["姓名", "出生日期", "健康类别", "残疾类别", "残疾等级", "实际监护情况", "父亲身份证号", "家庭经济来源",
             "监护评估"],
            ["王小明", "2016-05-01", "残疾", "听力残疾", "二级", "父母均外出务工", FATHER_ID,
             "务工收入、务农收入", "差"]]
    service = RosterService(services.db, services.people, services.clock)
    outcome = await service.import_rows(await world.actor("王老师"), world.school_id, "r.xlsx", xlsx(rows))
    assert isinstance(outcome, ImportResult), outcome
    repo = ChildrenRepository(services.db)
    [child] = await repo.in_school(world.school_id)
    stored = await repo.fields(child.id)
    assert {k: stored[k] for k in ("health_status", "disability_category", "disability_grade",
                                   "guardianship_situation", "income_sources", "guardianship_assessment")} == {
        "health_status": "disabled", "disability_category": "hearing", "disability_grade": "grade2",
        "guardianship_situation": "both_away", "income_sources": "wages,farming", "guardianship_assessment": "poor"}

    rows[1][6] = FATHER_ID[:-1] + ("1" if FATHER_ID[-1] != "1" else "2")  # a wrong check digit
    outcome = await service.import_rows(await world.actor("王老师"), world.school_id, "r.xlsx", xlsx(rows))
    assert isinstance(outcome, ImportRejected)
    assert [(p.row, p.column, p.code) for p in outcome.problems] == [(2, "父亲身份证号", "id_number")]


# the official ledger

def record(number: int, **fields: str) -> Record:
    child = ChildRow(number, 1, 1, "三年级一班", fields.get("name", f"孩子{number}"), village_name="上集村")
    return Record(child, {"name": child.name, **fields}, school="上集镇中心小学")


def test_the_official_columns_follow_the_form():
    keys = [k for k, _ in OFFICIAL_COLUMNS]
    assert keys[:6] == ["seq", "name", "sex", "ethnicity", "birth_date", "id_number"]
    assert keys.index("schooling") < keys.index("father_name") < keys.index("mother_name") \
        < keys.index("guardianship_situation") < keys.index("guardianship") < keys.index("support_received")
    assert keys[-2:] == ["income_sources", "support_received"]
    assert len(set(keys)) == len(keys)


def test_official_rows_are_one_per_child_in_the_readers_words():
    records = [record(1, sex="female", guardianship="parent_unable", support_received="dibao,housing"),
               record(2, father_id_number=FATHER_ID)]
    rows = official_rows(records, ZH)
    keys = [k for k, _ in OFFICIAL_COLUMNS]
    assert len(rows) == 2 and all(len(r) == len(keys) for r in rows)
    first = dict(zip(keys, rows[0]))
    assert (first["seq"], first["name"], first["sex"], first["school"], first["class"], first["village"]) == \
        ("1", "孩子1", "女孩", "上集镇中心小学", "三年级一班", "上集村")
    assert first["guardianship"] == "父或母无监护能力"
    assert first["support_received"] == "低保、住房救助"
    assert first["father_id_number"] == ""
    assert dict(zip(keys, rows[1]))["father_id_number"] == FATHER_ID


def test_the_summary_counts_the_forms_categories_and_adds_up():
    records = [record(1, birth_date="2022-01-01", guardianship="good", schooling="preschool",
                      guardianship_assessment="good"),
               record(2, birth_date="2015-03-02", guardianship="unsupervised", schooling="primary",
                      guardianship_assessment="poor"),
               record(3, birth_date="2011-03-03", guardianship="unsupervised", schooling="junior",
                      guardianship_assessment="poor")]
    counts, violations = official_summary(records, TODAY, ZH)
    table = dict(counts)
    assert table["留守儿童总数"] == 3
    assert (table["年龄：0–5岁"], table["年龄：6–13岁"], table["年龄：14–15岁"]) == (1, 1, 1)
    assert table["监护类型：无人监护"] == 2 and table["监护类型：监护情况较好"] == 1
    assert table["就学情况：小学"] == 1
    assert table["监护评估：差"] == 2
    assert violations == []


def test_the_summary_lists_a_breakdown_that_does_not_add_up_and_the_rows_concerned():
    records = [record(1, birth_date="2015-03-02", guardianship="good", schooling="primary",
                      guardianship_assessment="good"),
               record(2, birth_date="2015-03-02", schooling="primary", guardianship_assessment="fair",
                      health_status="disabled"),
               record(3, birth_date="2008-01-01", guardianship="adequate", schooling="other",
                      guardianship_assessment="fair")]
    counts, violations = official_summary(records, TODAY, ZH)
    assert sum(n for label, n in counts if label.startswith("监护类型：")) == 2
    assert any("监护类型" in v and "第 2 行" in v for v in violations), violations
    assert any("16" in v and "第 3 行" in v for v in violations), violations
    assert any("残疾" in v and "第 2 行" in v for v in violations), violations
    assert not any("就学情况" in v for v in violations)


def test_rows_named_in_a_problem_are_runs_so_forty_rows_read_as_one():
    from bot.records.official import rows_text

    assert rows_text(list(range(1, 41)) + [43, 45, 46], lambda s: s) == "1–40, 43, 45–46"
