"""/stats as a service (bot.stats): the figures of a school and of a township over two schools, the "<5" rule above
the school in the text, the Excel table and the chart's labels, the chart's Chinese font and its glyphs, the
snapshots at a quarter's end, refusals and the audit."""

from __future__ import annotations

import io
import warnings
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from bot.access.policy import ADMIN, PARENT, PROXY, SUPERVISOR, TEACHER
from bot.clock import stamp
from bot.errors import NotAllowed, UserError
from bot.i18n import translator
from bot.stats import charts
from bot.stats.figures import (ABSENCES, CALLS_HELD, CALLS_MISSED, COMPLETE, CONSENTED, CONTACT, LABELS, RECORDS,
                               REQUIRED, SAFETY, SCOPE_LABELS, Figures, bounds, count_text, ended_before, rate_text)
from tests.world import TODAY, World

FULL = {key: "x" for key in REQUIRED if key != "name"}


async def _call(services, child_id: int, when: datetime, outcome: str) -> None:
    async with services.db.transaction() as conn:
        await conn.execute("INSERT INTO video_calls (child_id, starts_at, minutes, zone, outcome) VALUES (?, ?, 20, "
                           "'Asia/Shanghai', ?)", (child_id, stamp(when), outcome))


async def _school(services) -> World:
    """希望小学: 小明 (complete record, consented, a call held this week), 小红 (a call missed), 小刚 (absent)."""
    world = await World.build(services)
    await world.child("小明", **FULL)
    await world.child("小红", **FULL)
    await world.child("小刚")
    await world.person("admin", ADMIN)
    await world.person("teacher", TEACHER, klass="三年级一班")
    await world.person("mother", PARENT, child="小明")
    await world.person("proxy", PROXY, child="小红", display="王阿姨")
    await world.consent("小明", "mother")
    now = services.clock.now()
    await _call(services, world.children["小明"], now - timedelta(days=2), "done")
    await _call(services, world.children["小红"], now - timedelta(days=3), "missed")
    await world.absent("小刚", TODAY - timedelta(days=1))
    return world


@pytest.fixture
async def school(services):
    return await _school(services)


def _rows(figures: Figures) -> dict[str, tuple[int, int | None]]:
    return {r.key: (r.count, r.base) for r in figures.rows}


async def test_a_schools_figures(services, school):
    figures = await services.stats.view(await school.actor("admin"), "school", school.school_id)
    rows = _rows(figures)
    assert figures.period == "2026-Q1" and (figures.first_day, figures.last_day) == ("2026-01-01", "2026-03-31")
    assert rows[RECORDS] == (3, None)
    assert rows[COMPLETE] == (2, 3)           # 小刚's record has only a name
    assert rows[CONSENTED] == (1, 3)
    assert rows[CONTACT] == (1, 3)            # 小明's call was held in the last 7 days; 小红's was missed
    assert rows[CALLS_HELD] == (1, 2) and rows[CALLS_MISSED] == (1, None)
    assert rows[ABSENCES] == (1, None)
    assert rows[SAFETY] == (0, None)
    assert [(c.name, c.children, c.owed) for c in figures.carers] == [("王阿姨", 1, 5)]
    # Inside the school nothing is hidden: the numbers as they are.
    assert rate_text(2, 3, figures.hidden) == "66.7%" and count_text(1, figures.hidden) == "1"


async def test_the_excel_table_has_the_numbers_of_the_view(services, school):
    actor = await school.actor("admin")
    figures, data = await services.stats.export(actor, "school", school.school_id, "now", "en")
    sheet = load_workbook(io.BytesIO(data))["Figures"]
    table = {row[0]: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    for row in figures.rows:
        assert table[LABELS[row.key]][0] == row.count
    assert table[LABELS[COMPLETE]] == (2, 3, "66.7%")


async def test_a_township_over_two_schools_shows_small_counts_as_under_five(services, school):
    await school.township("青山镇")
    other = await World.build(services, school="青山小学", classes=("一年级一班",))
    await school.township("青山镇", school_id=other.school_id)
    for n in range(6):
        await other.child(f"学生{n}", **FULL)
    await school.person("supervisor", SUPERVISOR, display="刘督导")
    actor = await school.actor("supervisor")
    figures = await services.stats.view(actor, "township", school.township_id)
    rows = _rows(figures)
    assert rows[RECORDS] == (9, None) and rows[COMPLETE] == (8, 9) and rows[CONSENTED] == (1, 9)
    assert figures.hidden
    assert count_text(rows[CONSENTED][0], True) == "<5" and count_text(9, True) == "9" and count_text(0, True) == "0"
    assert rate_text(1, 9, True) == "—" and rate_text(8, 9, True) == "88.9%"
    # The Excel table says "<5" where the count is 1 to 4, never the number behind it.
    _, data = await services.stats.export(actor, "township", school.township_id, "now", "en")
    sheet = load_workbook(io.BytesIO(data))["Figures"]
    table = {row[0]: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert table[LABELS[CONSENTED]] == ("<5", 9, "—")
    assert table[LABELS[CALLS_HELD]][0] == "<5" and table[LABELS[ABSENCES]][0] == "<5"
    assert table[LABELS[RECORDS]][0] == 9
    carers = list(load_workbook(io.BytesIO(data))["Five musts by proxy parent"].iter_rows(min_row=2, values_only=True))
    assert carers and carers[0][1] == "<5"
    # The chart's labels are the same texts: drawn, not computed apart.
    drawn = _drawn_texts(figures, "en")
    assert any("<5" in text for text in drawn)
    assert not any(text.endswith("(1/9)") for text in drawn)


def _drawn_texts(figures: Figures, locale: str) -> list[str]:
    """Every text the chart draws (titles, tick labels, bar labels), by rendering it with a recording figure."""
    import matplotlib.pyplot as plt

    seen: list[str] = []
    original = plt.figure

    def recording(*args, **kwargs):
        fig = original(*args, **kwargs)
        original_savefig = fig.savefig

        def savefig(*a, **k):
            seen.extend(t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")) if t.get_text())
            return original_savefig(*a, **k)

        fig.savefig = savefig
        return fig

    plt.figure = recording
    try:
        charts.png(figures, translator(locale).gettext)
    finally:
        plt.figure = original
    return seen


async def test_the_chart_is_a_png_in_the_shipped_font_with_every_glyph(services, school):
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    figures = await services.stats.view(await school.actor("admin"), "school", school.school_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)" for a box drawn
        data = await services.stats.chart(figures, "zh_CN")
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    family = charts.font_family()
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert path == str(charts.font_path())
    font = FT2Font(path)
    drawn = "".join(_drawn_texts(figures, "zh_CN"))
    _ = translator("zh_CN").gettext
    labels = "".join(_(label) for label in (*LABELS.values(), *SCOPE_LABELS.values()))
    assert any("\u4e00" <= c <= "\u9fff" for c in drawn + labels)
    missing = sorted({c for c in drawn + labels if not c.isspace() and font.get_char_index(ord(c)) == 0})
    assert missing == []


async def test_a_teacher_sees_their_class_only_and_everything_is_audited(services, school):
    teacher = await school.actor("teacher")
    places = await services.stats.places(teacher)
    assert [(s, p) for s, p, _ in places] == [("class", school.class_ids["三年级一班"])]
    for scope, place in (("school", school.school_id), ("class", 999), ("township", 1)):
        with pytest.raises(NotAllowed):
            await services.stats.view(teacher, scope, place)
        with pytest.raises(NotAllowed):
            await services.stats.export(teacher, scope, place, "now", "en")
    with pytest.raises(NotAllowed):
        await services.stats.places(await school.actor("mother"))
    await services.stats.view(teacher, "class", school.class_ids["三年级一班"])
    await services.stats.export(teacher, "class", school.class_ids["三年级一班"], "now", "en")
    audited = await services.db.fetch_all("SELECT actor_id, action, detail FROM audit_log WHERE action LIKE 'stats%'")
    detail = f"scope=class:{school.class_ids['三年级一班']} period=2026-Q1"
    assert [tuple(r) for r in audited] == [(school.people["teacher"], "stats_view", detail),
                                           (school.people["teacher"], "stats_export", detail)]


async def test_a_quarter_is_frozen_once_at_its_end_and_shown_as_it_was(services, school, clock):
    admin = await school.actor("admin")
    assert await services.stats.take_snapshots() == 6  # 2025-Q4 and the year 2025: the class, the school, the county
    clock.set(datetime(2026, 4, 1, 1, 0, tzinfo=timezone.utc))  # 09:00 on 1 April in Shanghai: Q1 has ended
    taken = await services.stats.take_snapshots()
    assert taken == 3  # 2026-Q1
    assert await services.stats.take_snapshots() == 0
    assert await services.stats.periods(admin, "school", school.school_id) == ["2026-Q1", "2025-Q4", "2025"]
    await school.child("小丽")  # after the quarter: the frozen figures do not move
    kept = await services.stats.view(admin, "school", school.school_id, "2026-Q1")
    assert _rows(kept)[RECORDS] == (3, None) and kept.as_of.startswith("2026-03-31T16:00")
    assert _rows(await services.stats.view(admin, "school", school.school_id))[RECORDS] == (4, None)
    with pytest.raises(UserError):
        await services.stats.view(admin, "school", school.school_id, "2024-Q2")


def test_periods():
    assert bounds("2026-Q4") == (datetime(2026, 10, 1).date(), datetime(2026, 12, 31).date())
    assert bounds("2026") == (datetime(2026, 1, 1).date(), datetime(2026, 12, 31).date())
    assert ended_before(datetime(2026, 1, 1).date()) == ["2025-Q4", "2025"]
    assert ended_before(datetime(2026, 8, 15).date()) == ["2026-Q2"]
    with pytest.raises(ValueError):
        bounds("2026-Q5")
