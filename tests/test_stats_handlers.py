"""/stats through the production application: the chart sent as a PNG and the figures as text with their buttons,
the Excel table behind a button with the same numbers, a township's "<5", a past quarter, and one refusal with
nothing shown for a forged or foreign place."""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from bot.access.policy import ADMIN, DIRECTOR, PARENT, SUPERVISOR, TEACHER
from bot.i18n import translator
from bot.stats import charts
from bot.stats.figures import CONSENTED, LABELS, RECORDS
from bot.stats.service import REFUSED
from tests.helpers import DocumentRecorder, callback_update, labels, last, message_update, press, who
from tests.world import World

EN = translator("en").gettext


class ChartRecorder(DocumentRecorder):
    """Also keeps each uploaded photo's bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.photos: list[bytes] = []

    async def do_request(self, url, method, request_data=None, *args, **kwargs):
        if url.endswith("/sendPhoto") and request_data is not None:
            for _filename, content, _mime in request_data.multipart_data.values():
                self.photos.append(content if isinstance(content, bytes) else content.read())
        return await super().do_request(url, method, request_data, *args, **kwargs)


@pytest.fixture
def recorder() -> ChartRecorder:
    return ChartRecorder()


@pytest.fixture
async def world(app):
    services = app.bot_data.services
    world = await World.build(services, classes=("三年级一班", "三年级二班"))
    await world.township("青山镇", ("青山村",))
    other = await World.build(services, school="青山小学", classes=("一年级一班",))
    await world.township("青山镇", school_id=other.school_id)
    await world.child("小明", "三年级一班")
    await world.child("小红", "三年级二班")
    for n in range(5):
        await other.child(f"学生{n}")
    await world.person("admin", ADMIN)
    await world.person("teacher", TEACHER, klass="三年级一班")
    await world.person("director", DIRECTOR, village="青山村")
    await world.person("supervisor", SUPERVISOR)
    await world.person("mother", PARENT, child="小明", relation="mother")
    await world.consent("小明", "mother")
    return world


async def _audits(world) -> list[dict]:
    rows = await world.services.db.fetch_all("SELECT * FROM audit_log WHERE action LIKE 'stats%' ORDER BY id")
    return [dict(r) for r in rows]


async def test_an_admin_gets_the_chart_the_figures_and_the_same_numbers_as_excel(feed, recorder, world):
    await feed(message_update("/stats", from_user=who(world, "admin")))
    [photo] = recorder.sent("sendPhoto", chat_id=world.telegram["admin"])
    assert photo.params["protect_content"] is True
    assert recorder.photos[-1].startswith(b"\x89PNG")
    shown = last(recorder, world, "admin")
    text = shown.params["text"]
    assert f"{EN(LABELS[RECORDS])}: 2" in text
    assert f"{EN(LABELS[CONSENTED])}: 1 / 2 (50.0%)" in text
    assert labels(shown) == [EN("📊 Excel table"), EN("🗓 Past quarters")]

    await press(feed, recorder, world, "admin", EN("📊 Excel table"))
    [document] = recorder.sent("sendDocument", chat_id=world.telegram["admin"])
    assert document.params["protect_content"] is True
    _name, data = recorder.files[-1]
    table = {row[0]: row[1:] for row in load_workbook(io.BytesIO(data))["Figures"].iter_rows(min_row=2,
                                                                                                values_only=True)}
    assert table[EN(LABELS[RECORDS])][0] == 2 and table[EN(LABELS[CONSENTED])] == (1, 2, "50.0%")
    assert [a["action"] for a in await _audits(world)] == ["stats_view", "stats_export"]


async def test_a_township_over_two_schools_shows_under_five(feed, recorder, world):
    await feed(message_update("/stats", from_user=who(world, "supervisor")))
    text = last(recorder, world, "supervisor").params["text"]
    assert f"{EN(LABELS[RECORDS])}: 7" in text
    assert f"{EN(LABELS[CONSENTED])}: <5 / 7 (—)" in text
    assert recorder.photos and f"scope=township:{world.township_id}" in (await _audits(world))[0]["detail"]


async def test_a_teacher_with_several_places_chooses_then_sees_the_class(feed, recorder, world):
    await world.person("teacher", ADMIN)  # the teacher is an admin of the school too
    await feed(message_update("/stats", from_user=who(world, "teacher")))
    shown = last(recorder, world, "teacher")
    assert labels(shown) == [EN("Class {name}").format(name="三年级一班"), EN("School {name}").format(name="希望小学")]
    await press(feed, recorder, world, "teacher", EN("Class {name}").format(name="三年级一班"))
    assert f"{EN(LABELS[RECORDS])}: 1" in last(recorder, world, "teacher").params["text"]


async def test_a_past_quarter_is_offered_once_frozen(feed, recorder, world, clock):
    await feed(callback_update(f"sts:school:{world.school_id}:now:p", from_user=who(world, "admin")))
    assert last(recorder, world, "admin").params["text"].startswith(EN("No quarter has ended")[:10])
    clock.set(datetime(2026, 4, 1, 1, 0, tzinfo=timezone.utc))
    await world.services.stats.take_snapshots()
    await feed(callback_update(f"sts:school:{world.school_id}:now:p", from_user=who(world, "admin")))
    assert labels(last(recorder, world, "admin")) == ["2026-Q1"]
    await press(feed, recorder, world, "admin", "2026-Q1")
    text = last(recorder, world, "admin").params["text"]
    assert "2026-Q1 (2026-01-01" in text and f"{EN(LABELS[RECORDS])}: 2" in text


@pytest.mark.parametrize("name,data", [
    ("teacher", "sts:class:{other_class}:now:v"),
    ("teacher", "sts:school:{school}:now:x"),
    ("director", "sts:township:{township}:now:v"),
    ("admin", "sts:school:999999:now:v"),
    ("admin", "sts:township:{township}:now:x"),
    ("supervisor", "sts:township:999999:now:p"),
    ("mother", "sts:class:{klass}:now:v"),
])
async def test_a_forged_or_foreign_place_is_refused_and_nothing_is_shown(feed, recorder, world, name, data):
    data = data.format(other_class=world.class_ids["三年级二班"], klass=world.class_ids["三年级一班"],
                       school=world.school_id, township=world.township_id)
    await feed(callback_update(data, from_user=who(world, name)))
    answers = [c for c in recorder.calls if c.method == "answerCallbackQuery"]
    assert [a.params.get("text") for a in answers] == [EN(REFUSED)]
    assert not recorder.sent("sendPhoto") and not recorder.sent("sendDocument")
    assert await _audits(world) == []


async def test_a_parent_has_no_statistics(feed, recorder, world):
    await feed(message_update("/stats", from_user=who(world, "mother")))
    assert "statistics" in last(recorder, world, "mother").params["text"].lower()
    assert not recorder.sent("sendPhoto")


async def test_a_chart_being_drawn_holds_up_nobody_else(feed, recorder, world, monkeypatch):
    """A county's chart takes seconds of CPU: it is drawn beside the event loop, so someone else's message (a
    safety report, say) is answered while it is drawn, not after."""
    drawing, release = threading.Event(), threading.Event()
    real = charts.png

    def slow(figures, _):
        drawing.set()
        release.wait(5)
        return real(figures, _)

    monkeypatch.setattr(charts, "png", slow)
    shown = asyncio.create_task(feed(message_update("/stats", from_user=who(world, "admin"))))
    for _ in range(500):
        if drawing.is_set():
            break
        await asyncio.sleep(0.01)
    await feed(message_update("/help", from_user=who(world, "mother")))
    answered_while_drawing = bool(recorder.sent(chat_id=world.telegram["mother"])) and not recorder.sent("sendPhoto")
    release.set()
    await shown
    assert answered_while_drawing
    assert recorder.sent("sendPhoto", chat_id=world.telegram["admin"])
