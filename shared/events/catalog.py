"""Versioned domain events: the payload models and the topic each type travels on.

Payloads carry the minimum necessary: ids, codes, amounts (integer cents) and dates; never names,
addresses, birth dates or member ids. A breaking change means a new version (`.v2`), never an edit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.messaging.topics import CLAIM_DENIED, CLAIM_SUBMITTED, ENCOUNTER_CODED, PAYMENT_RECEIVED, Topic

Cents = Annotated[int, Field(strict=True, description="Integer cents; never a float.")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")]


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    """Unknown fields are ignored so a consumer keeps reading when a version gains an optional field."""


class CodedServiceLine(EventPayload):
    line_number: int = Field(ge=1)
    procedure_code: str = Field(description="CPT/HCPCS code, or revenue code for institutional lines.")
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: int = Field(ge=1)
    charge_cents: Cents | None = Field(default=None, ge=0, description="None: priced from the fee schedule.")
    diagnosis_pointers: list[int] = Field(default_factory=list, max_length=4)
    service_date: dt.date


class EncounterCodedV1(EventPayload):
    encounter_id: uuid.UUID
    external_encounter_id: str
    claim_type: Literal["professional", "institutional"]
    patient_id: uuid.UUID
    payer_id: str
    billing_provider_npi: str
    rendering_provider_npi: str | None = None
    place_of_service: str
    service_date_from: dt.date
    service_date_to: dt.date
    diagnosis_codes: list[str] = Field(min_length=1, max_length=12)
    lines: list[CodedServiceLine] = Field(min_length=1)
    currency: Currency = "USD"


class SubmittedClaimLine(EventPayload):
    line_number: int = Field(ge=1)
    line_control_number: str
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    units: int = Field(ge=1)
    charge_cents: Cents = Field(ge=0)


class ClaimSubmittedV1(EventPayload):
    claim_id: uuid.UUID
    encounter_id: uuid.UUID
    claim_control_number: str
    payer_id: str
    claim_type: Literal["professional", "institutional"]
    frequency_code: Literal["1", "7", "8"] = "1"
    total_charge_cents: Cents = Field(ge=0)
    currency: Currency = "USD"
    lines: list[SubmittedClaimLine] = Field(min_length=1)
    interchange_control_number: str
    submitted_at: dt.datetime
    patient_id: uuid.UUID | None = Field(
        default=None, description="Our patient id (not the member id): the 835 does not carry it."
    )


class Adjustment(EventPayload):
    group: Literal["CO", "OA", "PI", "PR"] = Field(description="CAS claim adjustment group code (X12 5010).")
    carc: str
    amount_cents: Cents
    line_number: int | None = None


class PaidLine(EventPayload):
    """One adjudicated service line (SVC), tied to our line number when it was matched."""

    line_number: int | None = Field(default=None, description="Our claim line number; None when unmatched.")
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    charge_cents: Cents
    paid_cents: Cents


class PaymentReceivedV1(EventPayload):
    payment_id: uuid.UUID
    claim_id: uuid.UUID | None = None
    claim_control_number: str
    payer_id: str
    trace_number: str
    claim_status_code: str
    charge_cents: Cents
    paid_cents: Cents
    patient_responsibility_cents: Cents
    currency: Currency = "USD"
    adjustments: list[Adjustment] = Field(default_factory=list)
    remark_codes: list[str] = Field(default_factory=list)
    next_responsible: Literal["secondary_payer", "patient", "none"]
    paid_date: dt.date
    patient_id: uuid.UUID | None = None
    payer_claim_control_number: str | None = Field(default=None, description="CLP07, the payer's claim number.")
    reversal_of: uuid.UUID | None = Field(
        default=None, description="For a reversal (CLP02 22): the payment_id it undoes."
    )
    lines: list[PaidLine] = Field(default_factory=list)


class DeniedLine(EventPayload):
    line_number: int
    procedure_code: str
    denied_cents: Cents
    carcs: list[str]
    rarcs: list[str] = Field(default_factory=list)


class ClaimDeniedV1(EventPayload):
    claim_id: uuid.UUID | None = None
    claim_control_number: str
    payer_id: str
    trace_number: str
    denial: Literal["full", "partial"]
    denied_cents: Cents
    currency: Currency = "USD"
    carcs: list[str]
    rarcs: list[str] = Field(default_factory=list)
    lines: list[DeniedLine] = Field(default_factory=list)


EVENT_TYPES: dict[str, tuple[Topic, type[EventPayload]]] = {
    "encounter-coded.v1": (ENCOUNTER_CODED, EncounterCodedV1),
    "claim-submitted.v1": (CLAIM_SUBMITTED, ClaimSubmittedV1),
    "payment-received.v1": (PAYMENT_RECEIVED, PaymentReceivedV1),
    "claim-denied.v1": (CLAIM_DENIED, ClaimDeniedV1),
}


def event_type_of(payload: EventPayload) -> str:
    for name, (_, model) in EVENT_TYPES.items():
        if type(payload) is model:
            return name
    raise KeyError(f"{type(payload).__name__} is not a registered event payload")
