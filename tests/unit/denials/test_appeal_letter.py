"""The appeal letter: text and PDF from one template, naming the claim, the codes and the provider."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader

from services.denials.domain.appeal_letter import AppealFacts, appeal_letter

FACTS = AppealFacts(
    claim_control_number="CF0000000042",
    payer_claim_control_number="SBX263330000007",
    payer_id="SANDBOX",
    trace_number="SBXEFT00000000101",
    service_date=dt.date(2026, 11, 2),
    amount_cents=15_500,
    currency="USD",
    root_cause="medical_necessity",
    reasons=(("CARC 50", "Not deemed a medical necessity by the payer."), ("RARC N115", "Based on an LCD.")),
    provider_npi="1234567893",
    provider_name="SYNTHETIC CLINIC",
    level=2,
    today=dt.date(2026, 11, 29),
)


def test_text_and_pdf_say_the_same_and_name_the_claim_and_codes() -> None:
    letter = appeal_letter(FACTS)
    assert "Second-level appeal of claim CF0000000042 (payer claim number SBX263330000007)" in letter.text
    assert "CARC 50: Not deemed a medical necessity by the payer." in letter.text
    assert "Amount in dispute: 155.00 USD" in letter.text and "NPI 1234567893" in letter.text
    assert "medically necessary" in letter.text
    assert letter.pdf.startswith(b"%PDF-")
    extracted = "".join(page.extract_text() for page in PdfReader(io.BytesIO(letter.pdf)).pages)
    for needle in ("CF0000000042", "CARC 50", "RARC N115", "SYNTHETIC CLINIC"):
        assert needle in extracted


def test_the_same_facts_give_the_same_bytes() -> None:
    assert appeal_letter(FACTS).pdf == appeal_letter(FACTS).pdf
