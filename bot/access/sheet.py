"""The class invitation sheet: an A4 PDF to print for the parents' meeting, one slip per invitation, each with the
child's name, whom it invites, the QR code of the link and the code in large type (for a phone that cannot scan).
Texts come translated from the caller; nothing here knows of Telegram."""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

# Adobe's Chinese font that every PDF reader carries: the sheet embeds no font file.
CHINESE = "STSong-Light"
CODE_FONT = "Courier-Bold"
# Two slips across and four down: a slip is 105 × 74 mm (A7 landscape), cut along the dashed lines.
COLUMNS, ROWS = 2, 4
SLIP_W, SLIP_H = A4[0] / COLUMNS, A4[1] / ROWS
PER_PAGE = COLUMNS * ROWS
# 46 mm holds a version-4 code at about 1.4 mm a module: a cheap phone reads it from a grey photocopy.
QR_SIZE = 46 * mm
MARGIN = 6 * mm


@dataclass(frozen=True)
class SheetSlip:
    child: str      # the child's name
    who: str        # whom it invites, translated: 母亲, 奶奶 …
    link: str       # what the QR code holds
    code: str       # the code to type after /start
    lines: tuple[str, ...] = ()  # instructions, translated


def _font() -> None:
    if CHINESE not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE))


def _qr(pdf: canvas.Canvas, link: str, x: float, y: float) -> None:
    # The quiet zone of four modules that the standard asks for: scanners find the code by it.
    widget = QrCodeWidget(link, barLevel="M", barBorder=4, barWidth=QR_SIZE, barHeight=QR_SIZE)
    drawing = Drawing(QR_SIZE, QR_SIZE)
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, x, y)


def _fit(pdf: canvas.Canvas, text: str, font: str, size: float, width: float) -> float:
    """The largest size up to `size` at which `text` fits in `width`."""
    while size > 6 and pdf.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _slip(pdf: canvas.Canvas, slip: SheetSlip, x: float, y: float, heading: str) -> None:
    pdf.setDash(3, 3)
    pdf.setLineWidth(0.4)
    pdf.rect(x, y, SLIP_W, SLIP_H)
    pdf.setDash()
    _qr(pdf, slip.link, x + 2 * mm, y + SLIP_H - 2 * mm - QR_SIZE)
    left = x + 4 * mm + QR_SIZE
    width = x + SLIP_W - MARGIN - left
    top = y + SLIP_H - MARGIN - 4 * mm
    pdf.setFont(CHINESE, 9)
    pdf.drawString(left, top, heading)
    size = _fit(pdf, slip.child, CHINESE, 20, width)
    pdf.setFont(CHINESE, size)
    pdf.drawString(left, top - 10 * mm, slip.child)
    size = _fit(pdf, slip.who, CHINESE, 16, width)
    pdf.setFont(CHINESE, size)
    pdf.drawString(left, top - 18 * mm, slip.who)
    pdf.setFont(CHINESE, 8)
    line_y = top - 25 * mm
    for line in slip.lines:
        pdf.drawString(left, line_y, line)
        line_y -= 4 * mm
    code = f"/start {slip.code}"
    size = _fit(pdf, code, CODE_FONT, 14, SLIP_W - 2 * MARGIN)
    pdf.setFont(CODE_FONT, size)
    pdf.drawString(x + MARGIN, y + MARGIN, code)


def invitation_sheet(slips: list[SheetSlip], title: str, heading: str) -> bytes:
    """The PDF: `title` in its properties, `heading` (school and class) on every slip."""
    _font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(title)
    for start in range(0, len(slips), PER_PAGE):
        for n, slip in enumerate(slips[start:start + PER_PAGE]):
            column, row = n % COLUMNS, n // COLUMNS
            _slip(pdf, slip, column * SLIP_W, A4[1] - (row + 1) * SLIP_H, heading)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
