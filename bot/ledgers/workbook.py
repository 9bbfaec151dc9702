"""The one writer of every Excel workbook the bot makes: sheets from a header and rows, a bold frozen header,
column widths, and every text cell written as text.

A cell whose text begins with = + - @ (or a tab or carriage return, which some spreadsheet programs strip before
reading the rest) would be taken for a formula when the file is opened: a child's name typed as
"=HYPERLINK(…)" must come out as that name, not as a link that calls out (CSV/formula injection). openpyxl
turns any string starting with "=" into a formula cell, so such text is stored with data type 's' and the
quote prefix (Excel's "shown as typed"), never as a formula.

    book = Workbook()
    book.sheet(_("Children"), [_("Name"), _("Class")], [["=1+1", "一年级"]], widths=[12, 10])
    data = await book.render()   # or book.bytes() for a small one, on the calling thread
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from openpyxl import Workbook as _Book
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

RISKY = ("=", "+", "-", "@", "\t", "\r")
TITLE_MAX = 31      # Excel's limit on a sheet's name
WIDTH_MAX = 60
_FORBIDDEN_IN_TITLE = str.maketrans({c: " " for c in "[]:*?/\\"})
Value = str | int | float | date | datetime | None


def set_value(cell: Cell, value: Value) -> None:
    """Put `value` in `cell`; text that a spreadsheet would run as a formula stays text."""
    if isinstance(value, str) and value.startswith(RISKY):
        cell.value = value
        cell.data_type = "s"
        cell.quotePrefix = True
        return
    cell.value = value
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"


def sheet_title(title: str) -> str:
    return (title.translate(_FORBIDDEN_IN_TITLE).strip() or "Sheet")[:TITLE_MAX]


class Workbook:
    """A workbook built sheet by sheet; `render()` gives the .xlsx.

    The sheets are only noted as they are added and written out in `render()`, on a worker thread: a ledger of
    a few thousand children takes seconds of CPU to write, and the event loop must stay free meanwhile (a safety
    report arriving then is handled at once). `bytes()` writes on the calling thread, for small documents."""

    def __init__(self) -> None:
        self._sheets: list[tuple[str, list[Value], list[list[Value]], Sequence[int] | None]] = []

    def sheet(self, title: str, header: Sequence[str], rows: Iterable[Sequence[Value]],
              widths: Sequence[int] | None = None) -> None:
        """A sheet: the header in bold and frozen, then one line per row. Without `widths`, each column is as
        wide as its longest text (CJK characters counted twice), within reason."""
        self._sheets.append((title, list(header), [list(row) for row in rows], widths))

    async def render(self) -> bytes:
        return await asyncio.to_thread(self.bytes)

    def bytes(self) -> bytes:
        book = _Book()
        for n, (title, header, rows, widths) in enumerate(self._sheets):
            _write(book.active if n == 0 else book.create_sheet(), title, header, rows, widths)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


def _write(sheet, title: str, header: list[Value], rows: list[list[Value]], widths: Sequence[int] | None) -> None:
    sheet.title = sheet_title(title)
    longest = [_width(h) for h in header]
    for column, label in enumerate(header, start=1):
        cell = sheet.cell(row=1, column=column)
        set_value(cell, label)
        cell.font = Font(bold=True)
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            set_value(sheet.cell(row=number, column=column), value)
            if column <= len(longest):
                longest[column - 1] = max(longest[column - 1], _width(value))
            else:
                longest.append(_width(value))
    if header:
        sheet.freeze_panes = "A2"
    for column, width in enumerate(widths or [min(w + 2, WIDTH_MAX) for w in longest], start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _width(value: Value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    text = str(value)
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)

