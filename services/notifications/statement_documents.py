"""One statement model, three renderings: plain text (Jinja2), PDF (ReportLab) and the statement page
(Jinja2 HTML). Every amount and every sentence comes from `StatementDocument`, so they say the same thing.
A statement names the patient and the mailing address, never a member id or an SSN."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import TypeAdapter
from reportlab import rl_config
from reportlab.lib.pagesizes import LETTER
from reportlab.pdfgen.canvas import Canvas

from services.notifications.domain.statements import (
    STAGE_WORDING,
    Installment,
    PaymentLine,
    Stage,
    StatementDraft,
    StatementLine,
    mask_account,
)

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    address_lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Issuer:
    organization: str
    phone: str
    assistance_notice: str


@dataclass(frozen=True, slots=True)
class StatementDocument:
    number: str
    account: str
    stage: Stage
    title: str
    message: str
    statement_date: dt.date
    due_date: dt.date
    currency: str
    recipient: Recipient
    issuer: Issuer
    lines: tuple[StatementLine, ...]
    payments: tuple[PaymentLine, ...]
    charges_cents: int
    insurance_paid_cents: int
    insurance_adjusted_cents: int
    patient_owes_cents: int
    payments_cents: int
    balance_cents: int
    amount_due_cents: int
    pending_claims: int
    installment: Installment | None


DOCUMENT = TypeAdapter(StatementDocument)


def document_of(draft: StatementDraft, *, number: str, recipient: Recipient, issuer: Issuer) -> StatementDocument:
    wording = STAGE_WORDING[draft.stage]
    return StatementDocument(
        number=number,
        account=mask_account(draft.patient_id),
        stage=draft.stage,
        title=wording.title,
        message=wording.message,
        statement_date=draft.statement_date,
        due_date=draft.due_date,
        currency=draft.currency,
        recipient=recipient,
        issuer=issuer,
        lines=draft.lines,
        payments=draft.payments,
        charges_cents=draft.charges_cents,
        insurance_paid_cents=draft.insurance_paid_cents,
        insurance_adjusted_cents=draft.insurance_adjusted_cents,
        patient_owes_cents=draft.patient_owes_cents,
        payments_cents=draft.payments_cents,
        balance_cents=draft.balance_cents,
        amount_due_cents=draft.amount_due_cents,
        pending_claims=draft.pending_claims,
        installment=draft.installment,
    )


def money(cents: int, currency: str = "USD") -> str:
    """`$1,234.56`; other currencies as `1,234.56 EUR`."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    amount = f"{whole:,}.{fraction:02d}"
    return f"{sign}${amount}" if currency == "USD" else f"{sign}{amount} {currency}"


def long_date(day: dt.date | None) -> str:
    return day.strftime("%b %d, %Y") if day else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["money"] = money
    env.filters["long_date"] = long_date
    return env


TEMPLATE_ENV = _environment()


def render_text(document: StatementDocument) -> str:
    return TEMPLATE_ENV.get_template("statement.txt.j2").render(doc=document)


def render_page(document: StatementDocument, **page: object) -> str:
    return TEMPLATE_ENV.get_template("statement_page.html.j2").render(doc=document, **page)


def render_refusal(reason: str) -> str:
    return TEMPLATE_ENV.get_template("statement_refused.html.j2").render(reason=reason)


def render_email(*, organization: str, link: str, expires_on: dt.date) -> str:
    return TEMPLATE_ENV.get_template("statement_email.txt.j2").render(
        organization=organization, link=link, expires_on=expires_on
    )


# --- PDF ----------------------------------------------------------------------------------------

rl_config.useA85 = 0  # ASCII85 only makes binary streams 7-bit; done in pure Python it costs an eighth of a PDF
PAGE_WIDTH, PAGE_HEIGHT = LETTER
MARGIN = 54.0
COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("Date", MARGIN, "left"),
    ("Claim", MARGIN + 70, "left"),
    ("Services", MARGIN + 160, "left"),
    ("Charges", MARGIN + 320, "right"),
    ("Ins. paid", MARGIN + 385, "right"),
    ("Ins. adjusted", MARGIN + 450, "right"),
    ("You owe", PAGE_WIDTH - MARGIN, "right"),
)


class _Pdf:
    """Draws statements onto one canvas, top to bottom, starting a page when one fills up."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.y = PAGE_HEIGHT - MARGIN
        self.font: tuple[str, float] | None = None

    def need(self, height: float) -> None:
        if self.y - height < MARGIN:
            self.new_page()

    def new_page(self) -> None:
        self.canvas.showPage()
        self.y = PAGE_HEIGHT - MARGIN
        self.font = None  # a new page starts with the default font

    def text(self, x: float, value: str, *, size: float = 9, bold: bool = False, align: str = "left") -> None:
        font = ("Helvetica-Bold" if bold else "Helvetica", size)
        if font != self.font:
            self.canvas.setFont(*font)
            self.font = font
        if align == "right":
            self.canvas.drawRightString(x, self.y, value)
        else:
            self.canvas.drawString(x, self.y, value)

    def wrapped(self, value: str, *, size: float = 9, width: float = PAGE_WIDTH - 2 * MARGIN) -> None:
        words, line = value.split(), ""
        for word in words:
            candidate = f"{line} {word}".strip()
            if self.canvas.stringWidth(candidate, "Helvetica", size) > width and line:
                self.need(size + 3)
                self.text(MARGIN, line, size=size)
                self.y -= size + 3
                line = word
            else:
                line = candidate
        if line:
            self.need(size + 3)
            self.text(MARGIN, line, size=size)
            self.y -= size + 3

    def row(self, cells: Sequence[str], *, bold: bool = False) -> None:
        self.need(13)
        for (_, x, align), cell in zip(COLUMNS, cells, strict=True):
            self.text(x, cell, bold=bold, align=align)
        self.y -= 13

    def statement(self, doc: StatementDocument) -> None:
        cur = doc.currency
        self.text(MARGIN, doc.issuer.organization, size=14, bold=True)
        self.text(PAGE_WIDTH - MARGIN, doc.title, size=12, bold=True, align="right")
        self.y -= 18
        for label, value in (
            ("Statement", doc.number),
            ("Account", doc.account),
            ("Statement date", long_date(doc.statement_date)),
            ("Due date", long_date(doc.due_date)),
        ):
            self.text(PAGE_WIDTH - MARGIN - 200, f"{label}:")
            self.text(PAGE_WIDTH - MARGIN, value, bold=True, align="right")
            self.y -= 12
        self.y -= 6
        for index, address_line in enumerate((doc.recipient.name, *doc.recipient.address_lines)):
            self.text(MARGIN, address_line, size=10, bold=index == 0)
            self.y -= 12
        self.y -= 10
        self.wrapped(doc.message, size=10)
        self.y -= 6
        self.row([label for label, _, _ in COLUMNS], bold=True)
        for line in doc.lines:
            self.row(
                [
                    long_date(line.service_date),
                    line.claim_control_number,
                    line.description[:30],
                    money(line.charge_cents, cur),
                    money(line.insurance_paid_cents, cur),
                    money(line.insurance_adjusted_cents, cur),
                    money(line.patient_owes_cents, cur),
                ]
            )
        self.row(
            [
                "Totals",
                "",
                "",
                money(doc.charges_cents, cur),
                money(doc.insurance_paid_cents, cur),
                money(doc.insurance_adjusted_cents, cur),
                money(doc.patient_owes_cents, cur),
            ],
            bold=True,
        )
        for payment in doc.payments:
            self.row([long_date(payment.received_on), "", "Payment received - thank you", "", "", "",
                      money(-payment.amount_cents, cur)])  # fmt: skip
        self.y -= 6
        self.need(40)
        self.text(PAGE_WIDTH - MARGIN - 200, "Balance:", size=10)
        self.text(PAGE_WIDTH - MARGIN, money(doc.balance_cents, cur), size=10, bold=True, align="right")
        self.y -= 14
        due_label = "Installment due:" if doc.installment else "Amount due:"
        self.text(PAGE_WIDTH - MARGIN - 200, due_label, size=11, bold=True)
        self.text(PAGE_WIDTH - MARGIN, money(doc.amount_due_cents, cur), size=11, bold=True, align="right")
        self.y -= 14
        self.text(PAGE_WIDTH - MARGIN - 200, f"Please pay by {long_date(doc.due_date)}", size=9)
        self.y -= 20
        if doc.pending_claims:
            self.wrapped(_pending_note(doc.pending_claims))
        self.text(MARGIN, "How to pay", size=10, bold=True)
        self.y -= 13
        self.wrapped(_how_to_pay(doc))
        self.y -= 4
        self.wrapped(doc.issuer.assistance_notice, size=8)


def _pending_note(count: int) -> str:
    visits = "visit is" if count == 1 else "visits are"
    return f"{count} more {visits} still with your insurance and not billed here; you will hear from us once it pays."


def _how_to_pay(doc: StatementDocument) -> str:
    return (
        "Online: through the private link we email you (call us for one). "
        f"By phone: call {doc.issuer.phone}. "
        f"By mail: send a check payable to {doc.issuer.organization}, writing statement {doc.number} on it."
    )


def render_pdf(documents: Sequence[StatementDocument], *, title: str) -> bytes:
    """One PDF: each statement starts on a new page (a print batch is one PDF per mailing run)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=True)
    canvas.setTitle(title)
    canvas.setAuthor("claimflow")
    pdf = _Pdf(canvas)
    for document in documents:
        pdf.statement(document)
        pdf.new_page()
    canvas.save()
    return buffer.getvalue()


def template_helpers() -> dict[str, object]:
    return {"pending_note": _pending_note, "how_to_pay": _how_to_pay}


TEMPLATE_ENV.globals.update(template_helpers())
