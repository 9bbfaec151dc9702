"""/dropouts through the production application: the case list, persuasion attempts recorded by buttons and typed
lines, back at school, the written report (.docx, opened with python-docx) and the ledgers (.xlsx, one row per
case), and one refusal for a forged case id or another school's case."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from docx import Document
from openpyxl import load_workbook

from bot.access.policy import ADMIN
from bot.i18n import translator
from tests.helpers import DocumentRecorder, callback_update, deliver_outbox, labels, last, message_update, press, who
from tests.world import NOW, World

MONDAY = date(2026, 3, 2)
EN = translator("en").gettext


@pytest.fixture
def recorder() -> DocumentRecorder:
    return DocumentRecorder()


@pytest.fixture
async def world(app, clock):
    services = app.bot_data.services
    world = await World.build(services)
    await world.child("小明", sex="male", guardian_name="王奶奶", guardian_phone="+8613900000001")
    await world.child("小红")
    await world.dropout_people("小明")
    await world.consent("小明", "grandmother")
    async with services.db.transaction() as conn:
        other = await services.people.within(conn).ensure_school("别的学校", NOW)
    await world.person("admin_elsewhere", ADMIN, school_id=other)
    # 小明 absent without a reason Monday, Wednesday and Thursday; Tuesday is a holiday: a suspected dropout.
    await world.holiday(MONDAY + timedelta(days=1))
    for n in (0, 2, 3):
        day = MONDAY + timedelta(days=n)
        clock.set(datetime(day.year, day.month, day.day, 9, 0, tzinfo=timezone.utc))
        await world.absent("小明", day)
        await services.dropouts.run_due()
    return world


async def _attempt(feed, recorder, world, name: str, method: str, attitude: str, result: str, next_step: str,
                   when: str | None) -> None:
    await press(feed, recorder, world, name, EN("✍️ Record a persuasion attempt"))
    await press(feed, recorder, world, name, EN(method))
    await press(feed, recorder, world, name, EN(attitude))
    await feed(message_update(result, from_user=who(world, name)))
    await feed(message_update(next_step, from_user=who(world, name)))
    if when is None:
        await press(feed, recorder, world, name, EN("Skip"))
    else:
        await feed(message_update(when, from_user=who(world, name)))


async def test_attempts_by_buttons_then_the_written_report(app, feed, recorder, world):
    services = app.bot_data.services
    case = await services.dropouts.repo.current(world.children["小明"])
    assert case.state == "suspected"

    # The notices of the ladder reach the staff, with the case's button.
    await deliver_outbox(app)
    director_got = [c for c in recorder.sent(chat_id=world.telegram["director"])]
    buttons = [b["callback_data"] for row in director_got[-1].params["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == [f"dro:{case.id}:open"]

    await feed(message_update("/dropouts", from_user=who(world, "teacher")))
    listing = last(recorder, world, "teacher")
    assert "小明" in listing.text and "小红" not in listing.text
    assert EN("📊 Monthly report") not in labels(listing)
    await press(feed, recorder, world, "teacher", f"#{case.id} 小明")
    assert EN("📄 Written report") not in labels(last(recorder, world, "teacher"))

    await _attempt(feed, recorder, world, "teacher", "Home visit", "Hesitant", "奶奶说孩子在县城打工", "联系父亲",
                   "3-12")
    assert "奶奶说孩子在县城打工" in last(recorder, world, "teacher").text
    await feed(message_update("/dropouts", from_user=who(world, "director")))
    await press(feed, recorder, world, "director", f"#{case.id} 小明")
    await _attempt(feed, recorder, world, "director", "Video call with the parents", "Refusing", "父亲不同意返校",
                   "报告教育局", None)
    attempts = await services.dropouts.repo.attempts(case.id)
    assert [(a.method, a.attitude, a.next_on) for a in attempts] == [("visit", "hesitant", "2026-03-12"),
                                                                     ("video", "refusing", None)]

    # Persuasion has failed: the admin makes the written report; the document holds both attempts.
    await feed(message_update("/dropouts", from_user=who(world, "admin")))
    await press(feed, recorder, world, "admin", f"#{case.id} 小明")
    recorder.files.clear()
    await press(feed, recorder, world, "admin", EN("📄 Written report"))
    sent = recorder.sent("sendDocument", world.telegram["admin"])
    assert len(sent) == 2 and all(c.params.get("protect_content") for c in sent)
    (docx_name, docx), (xlsx_name, xlsx) = recorder.files
    assert docx_name.endswith(".docx") and xlsx_name.endswith(".xlsx")
    document = Document(io.BytesIO(docx))
    cells = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "奶奶说孩子在县城打工" in cells and "父亲不同意返校" in cells and "+8613900000001" in cells
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert "辍学学生情况报告表" in paragraphs or translator("zh_CN").gettext(
        "Report on a student who dropped out of school") in paragraphs
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert sheet.max_row == 2 and sheet.cell(2, 5).value == "小明"
    audit = await services.db.fetch_all("SELECT action FROM audit_log WHERE actor_id = ?", (world.people["admin"],))
    assert "dropout_report" in [r["action"] for r in audit]

    # The monthly report for the admin, the township's ledger for the supervisor: one row per case.
    recorder.files.clear()
    await feed(message_update("/dropouts", from_user=who(world, "admin")))
    await press(feed, recorder, world, "admin", EN("📊 Monthly report"))
    await feed(message_update("/dropouts", from_user=who(world, "supervisor")))
    await press(feed, recorder, world, "supervisor", EN("📒 Township ledger"))
    (_, monthly), (_, ledger) = recorder.files
    assert load_workbook(io.BytesIO(monthly)).worksheets[1].max_row == 2
    assert load_workbook(io.BytesIO(ledger)).active.max_row == 2

    # Back at school: the ladder ends, the watch begins.
    await feed(message_update("/dropouts", from_user=who(world, "teacher")))
    await press(feed, recorder, world, "teacher", f"#{case.id} 小明")
    await press(feed, recorder, world, "teacher", EN("🏫 Back at school"))
    await press(feed, recorder, world, "teacher", EN("✅ Yes, back at school"))
    assert (await services.dropouts.repo.get(case.id)).state == "returned"


async def test_forged_and_foreign_cases_get_one_refusal(app, feed, recorder, world):
    services = app.bot_data.services
    case = await services.dropouts.repo.current(world.children["小明"])
    before = await services.db.fetch_all("SELECT * FROM persuasion_attempts")
    answers = []
    for name, data in (("admin_elsewhere", f"dro:{case.id}:open"), ("admin", f"dro:{case.id + 50}:open"),
                       ("grandmother", f"dro:{case.id}:doc"), ("admin_elsewhere", f"dro:{case.id}:retok"),
                       ("teacher", f"dro:{case.id}:doc")):
        recorder.clear()
        await feed(callback_update(data, from_user=who(world, name)))
        [answer] = recorder.sent("answerCallbackQuery")
        answers.append(answer.params.get("text"))
        assert "小明" not in str([c.params for c in recorder.calls])
        assert not recorder.sent("sendDocument")
    hidden = EN("This case does not exist or is not open to you.")
    assert answers[:4] == [hidden] * 4
    assert answers[4] != hidden  # the teacher handles the case; only the export is not theirs
    assert await services.db.fetch_all("SELECT * FROM persuasion_attempts") == before
    assert (await services.dropouts.repo.get(case.id)).state == "suspected"
    # A family member has no /dropouts.
    recorder.clear()
    await feed(message_update("/dropouts", from_user=who(world, "grandmother")))
    assert "小明" not in last(recorder, world, "grandmother").text
    # A button of the attempt flow with no attempt under way is stale.
    recorder.clear()
    await feed(callback_update(f"dro:{case.id}:a:refusing", from_user=who(world, "teacher")))
    assert recorder.sent("answerCallbackQuery")[0].params.get("text") == EN("This button is no longer valid.")


async def test_the_list_pages_beyond_ten_cases(app, feed, recorder, world, clock):
    services = app.bot_data.services
    for n in range(12):
        await world.child(f"孩子{n}")
    for n in range(12):
        await world.absent(f"孩子{n}", MONDAY + timedelta(days=3))
    await services.dropouts.run_due()
    await feed(message_update("/dropouts", from_user=who(world, "admin")))
    shown = last(recorder, world, "admin")
    assert EN("Next page ▶") in labels(shown)
    assert len([b for b in labels(shown) if b.startswith("#")]) == 10
    await press(feed, recorder, world, "admin", EN("Next page ▶"))
    assert len([b for b in labels(last(recorder, world, "admin")) if b.startswith("#")]) == 3
