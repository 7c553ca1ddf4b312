"""A claim's status as a FHIR R4 ClaimResponse, checked by the `fhir.resources` R4B model."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from fastapi.encoders import jsonable_encoder
from fhir.resources.R4B.claimresponse import ClaimResponse

from services.claims.domain.claim_state import ClaimState
from services.claims.domain.fhir_claim_response import ClaimStatusView, claim_response, outcome_of


def view(state: ClaimState, **overrides: object) -> ClaimStatusView:
    fields: dict[str, object] = {
        "id": uuid.UUID("3f2c8f5e-8d1a-4c4b-9f0e-6a2d7b1c9e40"),
        "encounter_id": uuid.UUID("9e2d4c6a-1b3f-4a5e-8c7d-0f1e2a3b4c5d"),
        "patient_id": uuid.UUID("6f1c2f1e-8a40-4c55-9d43-3f1a2b7c9d10"),
        "claim_type": "professional",
        "payer_id": "SANDBOX",
        "state": state,
        "total_charge_cents": 15550,
        "currency": "USD",
        "created_at": dt.datetime(2026, 3, 3, 9, 15, tzinfo=dt.UTC),
        "claim_control_number": "CF0000000001",
        "payer_claim_number": None,
        "rejection_codes": (),
    }
    fields.update(overrides)
    return ClaimStatusView(**fields)  # type: ignore[arg-type]  # fields of mixed types from one dict


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (ClaimState.ON_HOLD, "queued"),
        (ClaimState.SUBMITTED, "queued"),
        (ClaimState.ACCEPTED, "queued"),
        (ClaimState.PAID, "complete"),
        (ClaimState.PARTIALLY_PAID, "complete"),
        (ClaimState.DENIED, "complete"),
        (ClaimState.REJECTED, "error"),
    ],
)
def test_the_state_is_the_outcome(state: ClaimState, outcome: str) -> None:
    assert outcome_of(state) == outcome


def test_a_rejected_claim_is_a_valid_claim_response_with_its_codes() -> None:
    resource = jsonable_encoder(claim_response(view(ClaimState.REJECTED, rejection_codes=("A7:164:IL",))))
    parsed = ClaimResponse.model_validate(json.loads(json.dumps(resource)))
    assert parsed.outcome == "error" and parsed.disposition == "claim rejected"
    assert parsed.error[0].code.coding[0].code == "A7:164:IL"
    assert parsed.patient.reference == "Patient/6f1c2f1e-8a40-4c55-9d43-3f1a2b7c9d10"
    assert parsed.request.reference == "Claim/9e2d4c6a-1b3f-4a5e-8c7d-0f1e2a3b4c5d"
    assert str(parsed.total[0].amount.value) == "155.5" and parsed.identifier[0].value == "CF0000000001"


def test_a_paid_claim_without_a_number_or_patient_id_is_still_valid() -> None:
    resource = jsonable_encoder(claim_response(view(ClaimState.PAID, claim_control_number=None, patient_id=None)))
    parsed = ClaimResponse.model_validate(resource)
    assert parsed.outcome == "complete" and parsed.identifier is None and parsed.patient.display
