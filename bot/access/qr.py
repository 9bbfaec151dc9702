"""QR codes for invitation slips a teacher can print for a family."""

from __future__ import annotations

import io

import qrcode
from qrcode.image.pure import PyPNGImage


def qr_png(text: str) -> bytes:
    # Medium error correction survives a crumpled or smudged slip; a 10-pixel module prints clearly.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(text)
    code.make(fit=True)
    buf = io.BytesIO()
    code.make_image(image_factory=PyPNGImage).save(buf)
    return buf.getvalue()
