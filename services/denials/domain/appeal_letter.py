"""The appeal letter: one Jinja2 template gives the plain text; the PDF (ReportLab) sets the same lines.

Built from the claim (our and the payer's claim numbers, date of service, amount), the denial's codes
with their descriptions, and the billing provider. No patient name, birth date or member id: the
payer finds the claim by its claim numbers, so the letter carries no more PHI than the 835 did.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import jinja2
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

TEMPLATE = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # noqa: S701 - plain text and PDF, never HTML
).from_string(
    """\
{{ provider_name }}
Billing provider NPI {{ provider_npi }}

{{ today.isoformat() }}

To: {{ payer_id }} appeals department
Re: {{ level_name }} of claim {{ claim_control_number }}{% if payer_claim_control_number %} \
(payer claim number {{ payer_claim_control_number }}){% endif %}

Date of service: {{ service_date.isoformat() if service_date else "as billed" }}
Amount in dispute: {{ amount }} {{ currency }}
Remittance trace number: {{ trace_number }}

We request a {{ level_name | lower }} of the adjudication of the claim above.
The payer's remittance gave these reasons:
{% for code, description in reasons %}
  - {{ code }}: {{ description }}
{% endfor %}

{{ argument }}

We ask that the claim be reprocessed and paid according to the plan and our agreement.
Enclosed documentation is available on request.

Sincerely,
{{ provider_name }} billing office
"""
)
LEVEL_NAMES = {1: "First-level appeal", 2: "Second-level appeal", 3: "Third-level appeal"}
ARGUMENTS = {
    "medical_necessity": "The service was medically necessary: the clinical record documents the patient's condition "
    "and meets the coverage criteria of the applicable policy.",
    "authorization_referral": "The service was authorized or the authorization requirement did not apply; the "
    "authorization record is available.",
    "pricing_underpayment": "The allowed amount is below the contracted rate for this procedure.",
    "timely_filing": "The claim was filed within the filing limit; our clearinghouse acceptance reports prove it.",
}
DEFAULT_ARGUMENT = "The adjudication does not match the service billed and documented; please review it."


@dataclass(frozen=True, slots=True)
class AppealFacts:
    claim_control_number: str
    payer_claim_control_number: str | None
    payer_id: str
    trace_number: str
    service_date: dt.date | None
    amount_cents: int
    currency: str
    root_cause: str
    reasons: tuple[tuple[str, str], ...]
    """(`CARC 50`, description) pairs, CARCs first, then RARCs; an unloaded code reads 'description not loaded'."""
    provider_npi: str
    provider_name: str
    level: int
    today: dt.date


@dataclass(frozen=True, slots=True)
class AppealLetter:
    text: str
    pdf: bytes


def render_text(facts: AppealFacts) -> str:
    return TEMPLATE.render(
        provider_name=facts.provider_name,
        provider_npi=facts.provider_npi,
        today=facts.today,
        payer_id=facts.payer_id,
        level_name=LEVEL_NAMES.get(facts.level, f"Level {facts.level} appeal"),
        claim_control_number=facts.claim_control_number,
        payer_claim_control_number=facts.payer_claim_control_number,
        service_date=facts.service_date,
        amount=f"{facts.amount_cents // 100:,}.{facts.amount_cents % 100:02d}",
        currency=facts.currency,
        trace_number=facts.trace_number,
        reasons=facts.reasons,
        argument=ARGUMENTS.get(facts.root_cause, DEFAULT_ARGUMENT),
    )


def _wrapped(line: str, width: int = 95) -> list[str]:
    if len(line) <= width:
        return [line]
    words, lines, current = line.split(" "), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = "    " + word if line.startswith("  ") else word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return lines


def render_pdf(text: str, title: str) -> bytes:
    """The letter's lines on US Letter pages, deterministic (invariant metadata) so a re-render is equal."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=True)
    canvas.setTitle(title)
    canvas.setAuthor("claimflow")
    top, left, leading = LETTER[1] - inch, inch, 14
    y = top
    canvas.setFont("Helvetica", 10.5)
    for raw in text.splitlines():
        for line in _wrapped(raw):
            if y < inch:
                canvas.showPage()
                canvas.setFont("Helvetica", 10.5)
                y = top
            canvas.drawString(left, y, line)
            y -= leading
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def appeal_letter(facts: AppealFacts) -> AppealLetter:
    text = render_text(facts)
    return AppealLetter(text, render_pdf(text, f"Appeal of claim {facts.claim_control_number}"))
