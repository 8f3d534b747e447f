"""Badge rendering: QR codes as PNG and SVG, and printable PDFs of A6 badges (pure: no web, no DB).

The QR code carries only the badge secret. Error correction level M with a four-module quiet
zone keeps it readable by phone cameras at badge size (about 35 mm square) even when a lanyard
creases it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

LAYOUTS = ("a6", "a4")


@dataclass(frozen=True)
class Badge:
    """What a printed badge shows."""

    secret: str
    name: str
    organisation: str = ""
    role: str = ""
    pronouns: str = ""
    #: Short access labels, e.g. ("Step-free access", "Hearing loop"); printed as tags with text.
    access: tuple[str, ...] = field(default_factory=tuple)
    conference: str = ""


def _qr(secret: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(secret)
    code.make(fit=True)
    return code


def qr_png(secret: str, box_size: int = 10) -> bytes:
    """Return the badge QR code as a PNG (black on white)."""
    code = _qr(secret)
    code.box_size = max(1, min(int(box_size), 40))
    image = code.make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def qr_svg(secret: str) -> bytes:
    """Return the badge QR code as a scalable SVG with a white background."""
    image = _qr(secret).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def _fit(canvas, text: str, font: str, largest: float, smallest: float, width: float) -> float:
    """Return the largest font size (down to ``smallest``) at which ``text`` fits ``width``."""
    size = largest
    while size > smallest and canvas.stringWidth(text, font, size) > width:
        size -= 1
    return size


def _wrap(canvas, text: str, font: str, size: float, width: float, lines: int) -> list[str]:
    """Break ``text`` into at most ``lines`` lines that fit ``width`` (the last one shortened)."""
    words, out, current = text.split(), [], ""
    for word in words:
        trial = f"{current} {word}".strip()
        if canvas.stringWidth(trial, font, size) <= width or not current:
            current = trial
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
        last = out[-1]
        while last and canvas.stringWidth(last + "…", font, size) > width:
            last = last[:-1]
        out[-1] = last.rstrip() + "…"
    return out


def _draw_badge(canvas, badge: Badge, x: float, y: float, w: float, h: float) -> None:
    """Draw one badge with its lower-left corner at (x, y)."""
    from reportlab.lib.colors import HexColor, white
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader

    ink, accent = HexColor("#1b2430"), HexColor("#0b6b4f")
    pad = 8 * mm
    inner = w - 2 * pad
    # Header band with the conference name.
    canvas.setFillColor(accent)
    canvas.rect(x, y + h - 16 * mm, w, 16 * mm, stroke=0, fill=1)
    canvas.setFillColor(white)
    size = _fit(canvas, badge.conference, "Helvetica-Bold", 12, 7, inner)
    canvas.setFont("Helvetica-Bold", size)
    canvas.drawCentredString(x + w / 2, y + h - 10 * mm, badge.conference)

    canvas.setFillColor(ink)
    top = y + h - 30 * mm
    name_lines = _wrap(canvas, badge.name, "Helvetica-Bold", 24, inner, 2)
    size = min(_fit(canvas, line, "Helvetica-Bold", 26, 14, inner) for line in name_lines)
    canvas.setFont("Helvetica-Bold", size)
    for line in name_lines:
        canvas.drawCentredString(x + w / 2, top, line)
        top -= size * 1.1
    if badge.pronouns:
        canvas.setFont("Helvetica", 11)
        canvas.drawCentredString(x + w / 2, top, badge.pronouns)
        top -= 15
    top -= 4
    for text, font, largest in ((badge.organisation, "Helvetica-Bold", 13),
                                (badge.role, "Helvetica", 11)):
        if not text:
            continue
        for line in _wrap(canvas, text, font, largest, inner, 2):
            canvas.setFont(font, largest)
            canvas.drawCentredString(x + w / 2, top, line)
            top -= largest * 1.25

    # Access needs: a tag with a symbol and words, never colour or icon alone.
    tag_y = y + 50 * mm
    tag_x = x + pad
    canvas.setFont("Helvetica-Bold", 8)
    for label in badge.access:
        text = label.upper()
        width = canvas.stringWidth(text, "Helvetica-Bold", 8) + 16
        if tag_x + width > x + w - pad:
            tag_x = x + pad
            tag_y -= 6 * mm
        canvas.setStrokeColor(ink)
        canvas.setFillColor(white)
        canvas.roundRect(tag_x, tag_y, width, 5 * mm, 2 * mm, stroke=1, fill=1)
        canvas.setFillColor(ink)
        canvas.circle(tag_x + 5, tag_y + 2.5 * mm, 1.6, stroke=0, fill=1)
        canvas.drawString(tag_x + 10, tag_y + 1.6 * mm, text)
        tag_x += width + 3

    # QR code, bottom centre, 36 mm square.
    side = 36 * mm
    canvas.drawImage(ImageReader(io.BytesIO(qr_png(badge.secret, box_size=8))),
                     x + (w - side) / 2, y + 6 * mm, side, side)


def badge_pdf(badges: Iterable[Badge], layout: str = "a6", title: str = "Badges",
              progress: Callable[[int], None] | None = None) -> bytes:
    """Return a PDF of badges: one A6 badge per page, or four per A4 sheet with cut marks.

    ``progress(n)`` is called after every 25 badges (and at the end) with the count drawn.
    """
    from reportlab.lib.colors import HexColor
    from reportlab.lib.pagesizes import A4, A6
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    out = io.BytesIO()
    page = A6 if layout == "a6" else A4
    canvas = Canvas(out, pagesize=page, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("Convenor")
    bw, bh = A6
    count = 0
    for count, badge in enumerate(badges, 1):
        if layout == "a6":
            if count > 1:
                canvas.showPage()
            _draw_badge(canvas, badge, 0, 0, bw, bh)
        else:
            slot = (count - 1) % 4
            if slot == 0 and count > 1:
                canvas.showPage()
            if slot == 0:
                canvas.setStrokeColor(HexColor("#9ca3af"))
                canvas.setDash(2, 3)
                canvas.line(A4[0] / 2, 0, A4[0] / 2, A4[1])
                canvas.line(0, A4[1] / 2, A4[0], A4[1] / 2)
                canvas.setDash()
            col, row = slot % 2, slot // 2
            _draw_badge(canvas, badge, col * bw, A4[1] - (row + 1) * bh, bw, bh)
        if progress and count % 25 == 0:
            progress(count)
    if count == 0:
        canvas.setFont("Helvetica", 12)
        canvas.drawString(20 * mm, page[1] / 2, "No delegates matched.")
    canvas.showPage()
    canvas.save()
    if progress:
        progress(count)
    return out.getvalue()
