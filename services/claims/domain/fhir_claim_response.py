"""A claim's status as a FHIR R4 `ClaimResponse`, for EHRs that read claim status the FHIR way: the
lifecycle state as `outcome` (queued while claimflow or the payer still works on it, complete once
adjudicated, error when rejected), the rejection codes as `error`, CLM01 and the payer's claim number as
identifiers. Pure: built from the claim's own fields."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.claims.domain.claim_state import ClaimState

COMPLETE = frozenset({ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.DENIED})
CONTROL_NUMBER_SYSTEM = "https://claimflow.dev/fhir/sid/claim-control-number"
PAYER_CLAIM_NUMBER_SYSTEM = "https://claimflow.dev/fhir/sid/payer-claim-number"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
REJECTION_SYSTEM = "https://x12.org/codes/claim-status-codes"


@dataclass(frozen=True, slots=True)
class ClaimStatusView:
    id: uuid.UUID
    encounter_id: uuid.UUID
    patient_id: uuid.UUID | None
    claim_type: str
    payer_id: str
    state: ClaimState
    total_charge_cents: int
    currency: str
    created_at: dt.datetime
    claim_control_number: str | None
    payer_claim_number: str | None
    rejection_codes: Sequence[str]


def outcome_of(state: ClaimState) -> str:
    if state == ClaimState.REJECTED:
        return "error"
    return "complete" if state in COMPLETE else "queued"


def claim_response(claim: ClaimStatusView) -> dict[str, Any]:
    identifiers = [
        {"system": system, "value": value}
        for system, value in (
            (CONTROL_NUMBER_SYSTEM, claim.claim_control_number),
            (PAYER_CLAIM_NUMBER_SYSTEM, claim.payer_claim_number),
        )
        if value
    ]
    patient = (
        {"reference": f"Patient/{claim.patient_id}"}
        if claim.patient_id is not None
        else {"display": "the patient of the claim's encounter"}
    )
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": str(claim.id),
        "identifier": identifiers,
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": claim.claim_type}]},
        "use": "claim",
        "patient": patient,
        "created": claim.created_at.isoformat(),
        "insurer": {"identifier": {"value": claim.payer_id}},
        "request": {"reference": f"Claim/{claim.encounter_id}"},
        "outcome": outcome_of(claim.state),
        "disposition": f"claim {claim.state.value.replace('_', ' ')}",
        "total": [
            {
                "category": {"coding": [{"code": "submitted"}]},
                "amount": {"value": Decimal(claim.total_charge_cents) / 100, "currency": claim.currency},
            }
        ],
    }
    if not identifiers:
        del resource["identifier"]
    if claim.rejection_codes:
        resource["error"] = [
            {"code": {"coding": [{"system": REJECTION_SYSTEM, "code": code}]}} for code in claim.rejection_codes
        ]
    return resource
