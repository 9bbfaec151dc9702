"""End to end over the sandbox (台账, issue 16): a school admin joins by the operator's link, adds a class, the
class teacher joins and imports a roster of 40 children (one of them named like a spreadsheet formula); the admin
exports the school's left-behind children's ledger with /ledger and gets an Excel file whose header row is the
official form's column order, one row per child, the summary's counts adding up, and the formula as plain text."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from bot.i18n import translator
from bot.ledgers.service import KIND_LABELS
from bot.records.official import OFFICIAL_COLUMNS
from sandbox import Sandbox
from tests.botprocess import BotProcess, school_with_teacher
from tests.helpers import BOT_TOKEN, roster

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA = '=HYPERLINK("http://example.com","小明")'
_ = translator("zh_CN").gettext


def text_xlsx(rows: list[list[object]]) -> bytes:
    """The roster as the school office saves it: every cell typed in, a leading "=" kept as text."""
    book = Workbook()
    sheet = book.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(r, c)
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()




async def test_the_school_ledger_after_a_roster_import_of_forty_children(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await bot.start()
        try:
            admin = sandbox.user(4601, "周校长", language_code="zh-hans")
            teacher = sandbox.user(4602, "王老师", language_code="zh-hans")
            await school_with_teacher(sandbox, bot, admin, teacher)

            rows = roster(40)
            for n, row in enumerate(rows[1:]):
                row[3] = f"2016-{n // 28 + 3:02d}-{n % 28 + 1:02d}"  # forty valid birth dates
            rows[6][1] = FORMULA  # a name the way a spreadsheet would read as a formula
            await teacher.send_command("import")
            await teacher.wait_message(timeout=10)
            await teacher.send_document("roster.xlsx", text_xlsx(rows), mime_type=XLSX)
            imported = await teacher.wait_message(timeout=20, predicate=lambda m: "40" in (m.text or ""))
            assert imported.text.startswith("名单已导入，共 40 名孩子"), imported.text

            await admin.send_command("ledger")
            kinds = await admin.wait_message(timeout=10, predicate=lambda m: _(KIND_LABELS["children"]) in str(
                m.buttons))
            await admin.press(_(KIND_LABELS["children"]), message_id=kinds.message_id)
            sent = await admin.wait_message(timeout=20, predicate=lambda m: m.kind == "document")
            assert sent.protect_content
            book = load_workbook(io.BytesIO(sandbox.files.get(sent.file_id).data))
            children = book.worksheets[0]
            header = [cell.value for cell in next(children.iter_rows(max_row=1))]
            assert header == [_(label) for _key, label in OFFICIAL_COLUMNS]
            body = list(children.iter_rows(min_row=2, values_only=True))
            assert len(body) == 40
            names = [row[[key for key, _label in OFFICIAL_COLUMNS].index("name")] for row in body]
            assert FORMULA in names  # the value kept, as text
            assert not any(isinstance(c.value, str) and c.data_type == "f" for row in children.iter_rows()
                           for c in row)
            # The summary: the total is the number of children; each breakdown is checked against it, and what
            # does not add up (before consent only names are shown) is on its own sheet, never hidden.
            summary = {row[0]: row[1] for row in book.worksheets[1].iter_rows(min_row=2, values_only=True)
                       if row and row[0]}
            assert 40 in summary.values()
            assert len(book.worksheets) == 3
        finally:
            assert await bot.stop() == 0
