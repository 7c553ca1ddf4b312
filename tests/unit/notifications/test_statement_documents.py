"""Statement renderings (text, PDF, page) from one model, and signed links, without servers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import uuid
from collections.abc import Callable
from typing import Any

import pypdf
import pytest

from services.notifications.domain.statement_links import LinkRefused, sign_link, verify_link
from services.notifications.domain.statements import (
    Installment,
    PaymentLine,
    StatementDraft,
    StatementLine,
)
from services.notifications.statement_documents import (
    DOCUMENT,
    Issuer,
    Recipient,
    StatementDocument,
    document_of,
    money,
    render_email,
    render_page,
    render_pdf,
    render_text,
)

SECRET = b"unit-test-statement-link-secret-0123456789"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
MEMBER_ID = "SYN0000011"


BASE_DRAFT = StatementDraft(
    patient_id=uuid.UUID(int=7),
    cycle=11,
    stage="past_due_60",
    statement_date=dt.date(2026, 12, 1),
    due_date=dt.date(2026, 12, 16),
    currency="USD",
    lines=(
        StatementLine("CLM0001", dt.date(2026, 11, 2), "99213", 12500, 8000, 2500, 2000),
        StatementLine("CLM0002", dt.date(2026, 11, 3), "87880", 123456, 100000, 3456, 20000),
    ),
    payments=(PaymentLine(dt.date(2026, 11, 21), 505),),
    balance_cents=21495,
    amount_due_cents=21495,
    pending_claims=1,
)


def draft(**overrides: Any) -> StatementDraft:
    return dataclasses.replace(BASE_DRAFT, **overrides)


def document(**overrides: Any) -> StatementDocument:
    return document_of(
        draft(**overrides),
        number="ST-202612-00000042",
        recipient=Recipient("SAM Q DOE", ("1 SYNTHETIC WAY", "SPRINGFIELD, IL 62701-0001")),
        issuer=Issuer("SYNTHETIC CLINIC", "555-0100", "Financial assistance is available; ask us."),
    )


def test_money_is_formatted_from_cents_exactly() -> None:
    assert money(0) == "$0.00"
    assert money(123456789) == "$1,234,567.89"
    assert money(-505) == "-$5.05"
    assert money(100, "EUR") == "1.00 EUR"


def test_text_and_pdf_say_the_same_from_one_model() -> None:
    doc = document()
    text = render_text(doc)
    pdf_text = pypdf.PdfReader(io.BytesIO(render_pdf([doc], title="t"))).pages[0].extract_text()
    for expected in (
        "ST-202612-00000042",
        "SAM Q DOE",
        "SPRINGFIELD, IL 62701-0001",
        "$1,234.56",
        "$1,000.00",
        "$214.95",
        "-$5.05",
        "Dec 16, 2026",
        "60 days past due",
        "Financial assistance is available",
        "555-0100",
    ):
        assert expected in text, expected
        assert expected in pdf_text, expected
    assert "1 more visit is still with your insurance" in text


def test_no_member_id_or_ssn_and_only_a_masked_account_reference() -> None:
    doc = document()
    rendered = render_text(doc) + render_page(
        doc, action="/a", payment_id="p", paid=None, error=None, submitted_cents=0
    )
    assert MEMBER_ID not in rendered
    assert str(uuid.UUID(int=7)) not in rendered
    assert doc.account.startswith("PA-") and doc.account in rendered


def test_a_print_batch_starts_each_statement_on_its_own_page() -> None:
    docs = [document(), document(stage="statement")]
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(docs, title="batch")))
    assert len(reader.pages) == 2
    assert "Second notice" in reader.pages[0].extract_text()
    assert "Statement" in reader.pages[1].extract_text()


def test_many_lines_flow_onto_more_pages() -> None:
    lines = tuple(StatementLine(f"CLM{i:04d}", dt.date(2026, 11, 2), "99213", 100, 50, 25, 25) for i in range(120))
    pdf = render_pdf([document(lines=lines, balance_cents=3000, amount_due_cents=3000)], title="long")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3
    assert "CLM0119" in "".join(page.extract_text() for page in reader.pages)


def test_an_installment_reminder_shows_the_installment_not_dunning() -> None:
    doc = document(
        stage="installment_reminder", amount_due_cents=1000, installment=Installment(2, dt.date(2027, 1, 5), 1000)
    )
    text = render_text(doc)
    assert "Installment due:  $10.00 (installment 2)" in text
    assert "past due" not in text


def test_the_document_survives_its_json_round_trip() -> None:
    doc = document(installment=Installment(1, dt.date(2027, 1, 5), 1000))
    assert DOCUMENT.validate_python(DOCUMENT.dump_python(doc, mode="json")) == doc


def test_the_page_escapes_what_it_prints() -> None:
    doc = document_of(
        draft(),
        number="ST-1",
        recipient=Recipient("<script>alert(1)</script>", ()),
        issuer=Issuer("A & B <Clinic>", "x", "y"),
    )
    html = render_page(doc, action="/a", payment_id="p", paid=None, error=None, submitted_cents=0)
    assert "<Clinic>" not in html and "A &amp; B &lt;Clinic&gt;" in html


def test_the_email_carries_the_link_but_no_amount() -> None:
    body = render_email(organization="SYNTHETIC CLINIC", link="https://pay.example/statements/t", expires_on=NOW.date())
    assert "https://pay.example/statements/t" in body and "$" not in body


def test_a_signed_link_opens_until_it_expires() -> None:
    statement_id = uuid.uuid4()
    token = sign_link(SECRET, statement_id, NOW + dt.timedelta(days=30))
    assert verify_link(SECRET, token, NOW).statement_id == statement_id
    with pytest.raises(LinkRefused, match="expired"):
        verify_link(SECRET, token, NOW + dt.timedelta(days=31))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: uuid.uuid4().hex + t[32:],  # another statement
        lambda t: t.replace(".", ".9", 1),  # a later expiry
        lambda t: t + ".x",
        lambda t: "nonsense",
    ],
)
def test_a_tampered_link_is_refused(tamper: Callable[[str], str]) -> None:
    token = sign_link(SECRET, uuid.uuid4(), NOW + dt.timedelta(days=30))
    with pytest.raises(LinkRefused):
        verify_link(SECRET, tamper(token), NOW)


def test_a_link_signed_with_another_secret_is_refused() -> None:
    token = sign_link(b"another-secret-another-secret-another", uuid.uuid4(), NOW + dt.timedelta(days=30))
    with pytest.raises(LinkRefused, match="signature"):
        verify_link(SECRET, token, NOW)
