"""End to end over the sandbox (/stats, issue 16): two schools of one township, the bot a real process. The
principal of 希望小学 asks /stats in Chinese and gets the chart as a picture, drawn without a missing glyph (the
bot's own font, not the host's), the figures as text, and behind "📊 Excel 表格" the same numbers in a workbook.
The township's supervisor sees both schools together, with every count from 1 to 4 shown as "<5", in the chat and
in the workbook alike."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.access.policy import ADMIN, PARENT, SUPERVISOR
from bot.clock import SystemClock
from bot.i18n import translator
from bot.services import open_services
from bot.settings import Settings
from bot.stats.figures import ABSENCES, CONSENTED, LABELS, RECORDS, UNEXPLAINED
from sandbox import Sandbox
from tests.botprocess import BotProcess
from tests.helpers import BOT_TOKEN
from tests.world import World

ADMIN_ID, SUPERVISOR_ID = 5801, 5802
_ = translator("zh_CN").gettext


async def _seed(database: str, today: date) -> None:
    """希望小学: 12 children, 3 families consented, 2 absences this quarter (one without a reason).
    青山小学: 6 children, 1 family consented. Both in 青山镇."""
    services = await open_services(Settings(token=BOT_TOKEN, database_path=database), SystemClock())
    try:
        hope = await World.build(services)
        await hope.township("青山镇", ("青山村",))
        other = await World.build(services, school="青山小学", classes=("一年级一班",))
        await hope.township("青山镇", school_id=other.school_id)
        for n in range(12):
            await hope.child(f"希望{n}")
        for n in range(6):
            await other.child(f"青山{n}")
        for n in range(3):
            await hope.person(f"妈妈{n}", PARENT, child=f"希望{n}", relation="mother")
            await hope.consent(f"希望{n}", by=f"妈妈{n}")
        await other.person("青山妈妈", PARENT, child="青山0", relation="mother")
        await other.consent("青山0", by="青山妈妈")
        await hope.absent("希望0", today, reason="sick")
        await hope.absent("希望1", today)
        await hope.person("周校长", ADMIN, user_id=ADMIN_ID)
        await hope.person("刘督导", SUPERVISOR, user_id=SUPERVISOR_ID)
    finally:
        await services.db.close()


def _figure(text: str, key: str) -> str:
    """What the chat says for one figure: the text after its label and the reader's colon."""
    found = re.search(re.escape(_(LABELS[key])) + "[:：] ?(.+)", text)
    assert found, (key, text)
    return found.group(1).strip()


async def _stats(person, sandbox) -> tuple[str, dict[str, tuple]]:
    """/stats, its chart and figures, then the Excel table behind the button: (the figures' text, the table's
    rows by label)."""
    await person.send_command("stats")
    chart = await person.wait_message(timeout=20, predicate=lambda m: m.kind == "photo")
    assert chart.protect_content
    shown = await person.wait_message(timeout=10, predicate=lambda m: _("📊 Excel table") in str(m.buttons))
    await person.press(_("📊 Excel table"), message_id=shown.message_id)
    sent = await person.wait_message(timeout=20, predicate=lambda m: m.kind == "document")
    assert sent.protect_content
    book = load_workbook(io.BytesIO(sandbox.files.get(sent.file_id).data))
    table = {row[0]: tuple(row[1:]) for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    return shown.text, table


async def test_a_schools_chart_and_table_agree_and_the_township_hides_small_counts(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await bot.start()  # migrates the database
        await bot.stop()
        await _seed(str(bot.database), datetime.now(ZoneInfo("Asia/Shanghai")).date())  # the school's today
        await bot.start()
        try:
            admin = sandbox.user(ADMIN_ID, "周校长", language_code="zh-hans")
            supervisor = sandbox.user(SUPERVISOR_ID, "刘督导", language_code="zh-hans")
            admin.started = supervisor.started = True

            text, table = await _stats(admin, sandbox)
            assert text.startswith(_("Statistics of {place}, {period} ({first} to {last})").split("{")[0])
            assert "希望小学" in text
            assert _figure(text, RECORDS) == "12"
            assert _figure(text, CONSENTED) == "3 / 12 (25.0%)"
            assert _figure(text, ABSENCES) == "2" and _figure(text, UNEXPLAINED) == "1"
            # The table says the same, as numbers a spreadsheet can add up.
            for key in LABELS:
                row = table[_(LABELS[key])]
                said = _figure(text, key)
                if row[1] in ("", None):
                    assert said == str(row[0]), key
                else:
                    assert said == f"{row[0]} / {row[1]} ({row[2]})", key
            assert table[_(LABELS[RECORDS])][0] == 12

            text, table = await _stats(supervisor, sandbox)
            assert "青山镇" in text
            assert _figure(text, RECORDS) == "18"  # both schools
            assert _figure(text, CONSENTED) == "<5 / 18 (—)"
            assert _figure(text, ABSENCES) == "<5" and _figure(text, UNEXPLAINED) == "<5"
            assert table[_(LABELS[CONSENTED])] == ("<5", 18, "—")
            assert table[_(LABELS[ABSENCES])][0] == "<5"
            assert "<5" in text and "“<5”" in text  # and why, under the figures
            # No chart was drawn with a missing glyph: matplotlib warns "Glyph … missing from font(s)" when a
            # Chinese character has no shape in the font it uses.
            assert b"missing from font" not in bot.stderr, bot.stderr.decode(errors="replace")[-2000:]
        finally:
            assert await bot.stop() == 0
