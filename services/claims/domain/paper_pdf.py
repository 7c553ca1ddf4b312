"""A filled paper claim form as PDF bytes (ReportLab): the form's boxes and captions in red, as on the
printed forms, and each field's text in Courier inside its box. No I/O: the caller writes the bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib.colors import Color, black
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from services.claims.domain.paper_forms import PAGE_HEIGHT, PAGE_WIDTH, FilledPage, PaperForm

FORM_INK = Color(0.75, 0.1, 0.1)
CAPTION_FONT, CAPTION_SIZE = "Helvetica", 4.2
FIELD_FONT, FIELD_SIZE = "Courier", 8.0
_PADDING = 1.5


def paper_pdf(form: PaperForm, pages: Sequence[FilledPage]) -> bytes:
    """One PDF page per filled page: the whole form drawn, then the claim's text in its boxes."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=True)
    canvas.setTitle(form.title)
    for page in pages:
        _draw_form(canvas, form)
        canvas.setFillColor(black)
        for filled in page.boxes:
            box = filled.box
            caption_room = CAPTION_SIZE + 0.5 if box.caption else 0.0
            line_height = min(FIELD_SIZE + 1.5, (box.height - caption_room - _PADDING) / max(len(filled.lines), 1))
            size = min(FIELD_SIZE, line_height)
            for index, text in enumerate(filled.lines):
                if not text:
                    continue
                fitted = _fitted_size(text, box.width - 2 * _PADDING, size)
                baseline = box.y + box.height - caption_room - (index + 1) * line_height + 1.2
                canvas.setFont(FIELD_FONT, fitted)
                canvas.drawString(box.x + _PADDING, baseline, text)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_form(canvas: Canvas, form: PaperForm) -> None:
    canvas.setStrokeColor(FORM_INK)
    canvas.setFillColor(FORM_INK)
    canvas.setLineWidth(0.4)
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawString(18, PAGE_HEIGHT - 20, form.title)
    for box in form.boxes:
        canvas.rect(box.x, box.y, box.width, box.height, stroke=1, fill=0)
        if box.caption:
            caption = box.caption
            size = _fitted_size(caption, box.width - 2, CAPTION_SIZE, font=CAPTION_FONT)
            canvas.setFont(CAPTION_FONT, size)
            canvas.drawString(box.x + 1, box.y + box.height - size - 0.5, caption)


def _fitted_size(text: str, width: float, size: float, *, font: str = FIELD_FONT) -> float:
    """`size`, or smaller so that `text` fits `width` (never below 3 points)."""
    natural = float(stringWidth(text, font, size))
    if natural <= width or natural == 0:
        return size
    return max(3.0, size * width / natural)
