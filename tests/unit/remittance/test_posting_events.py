"""The events a posting writes are built as msgspec mirrors (`shared.events.wire`), not pydantic models: their
bytes must be exactly what the catalog models give, and must validate as the catalog models."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.remittance.domain.posting import SubmittedClaim, SubmittedLine, read_claim_payments
from services.remittance.domain.x12_835 import parse_835
from services.remittance.service import _add_events, _Posting
from shared.events import catalog
from shared.events.envelope import event_type_of, payload_json
from tests.support.remittance_builder import ClaimSpec, LineSpec, paid_claim, remittance_file

_CATALOG: dict[str, type[catalog.EventPayload]] = {
    "payment-received.v1": catalog.PaymentReceivedV1,
    "claim-denied.v1": catalog.ClaimDeniedV1,
}


def _submitted(control_number: str) -> SubmittedClaim:
    return SubmittedClaim(
        claim_id=uuid.uuid4(),
        claim_control_number=control_number,
        payer_id="SANDBOX",
        patient_id=uuid.uuid4(),
        total_charge_cents=15500,
        currency="EUR",
        lines=(
            SubmittedLine(1, f"{control_number}-1", "99213", (), 12500),
            SubmittedLine(2, f"{control_number}-2", "87880", ("QW",), 3000),
        ),
    )


DENIED = ClaimSpec(
    "CN-DENIED",
    (
        LineSpec("99213", 12500, 0, (("CO", "197", 12500),), "CN-DENIED-1"),
        LineSpec("87880", 3000, 0, (("CO", "197", 3000),), "CN-DENIED-2", ("QW",)),
    ),
    status="4",
    claim_adjustments=(),
)
PARTIAL = ClaimSpec(
    "CN-PARTIAL",
    (
        LineSpec("99213", 12500, 9000, (("CO", "45", 1500), ("PR", "2", 2000)), "CN-PARTIAL-1"),
        LineSpec("87880", 3000, 0, (("CO", "50", 3000),), "CN-PARTIAL-2", ("QW",)),
    ),
    payer_claim_number="PAYER-77",
)


@pytest.mark.parametrize(
    ("spec", "denied"),
    [(paid_claim("CN-PAID"), False), (DENIED, True), (PARTIAL, True)],
    ids=["paid", "denied", "partial"],
)
@pytest.mark.parametrize("reversal_of", [None, uuid.UUID("01234567-89ab-4def-8123-456789abcdef")])
def test_posting_events_serialise_as_the_catalog_models(
    spec: ClaimSpec, denied: bool, reversal_of: uuid.UUID | None
) -> None:
    (advice,) = parse_835(remittance_file([spec]).encode())
    claim = _submitted(spec.control_number)
    (facts,) = read_claim_payments([advice], today=dt.date(2026, 1, 2), submitted={spec.control_number: claim})
    posting = _Posting()
    _add_events(posting, uuid.uuid4(), facts, claim, reversal_of=reversal_of)

    expected_types = ["payment-received.v1"] + (["claim-denied.v1"] if denied else [])
    assert [event_type_of(event[1]) for event in posting.events] == expected_types
    for event in posting.events:
        subject, payload = event[0], event[1]
        assert subject == str(claim.claim_id)
        written = payload_json(payload)
        model = _CATALOG[event_type_of(payload)].model_validate_json(written)  # the catalog accepts it as is
        assert payload_json(model) == written  # and would have written the same bytes
    received = catalog.PaymentReceivedV1.model_validate_json(payload_json(posting.events[0][1]))
    assert received.reversal_of == reversal_of
    assert received.currency == "EUR"
    assert received.payer_claim_control_number == (spec.payer_claim_number or f"P{spec.control_number}")
    assert [line.line_number for line in received.lines] == [1, 2]
    assert sum(adjustment.amount_cents for adjustment in received.adjustments) == facts.charge_cents - facts.paid_cents
