"""HTTP shapes of the claims API. No PHI: claims are shown by ids, codes, amounts and dates."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared import codesets
from shared.codesets import CodeKind
from shared.codesets.described import DescribedCode
from shared.codesets.fields import DiagnosisCodeShape, Modifier, PlaceOfService, ProcedureCode, RevenueCode
from shared.codesets.formats import MAX_DIAGNOSIS_POINTERS, MAX_MODIFIERS


class ClaimOut(BaseModel):
    id: uuid.UUID
    encounter_id: uuid.UUID = Field(description="Intake's encounter (`GET /v1/encounters/{id}` on intake).")
    patient_id: uuid.UUID | None = Field(
        default=None,
        description="Intake's patient (`GET /v1/patients/{id}`); remittance's account is `/v1/accounts/{id}`.",
    )
    claim_control_number: str | None
    claim_type: str
    payer_id: str
    billing_provider_npi: str | None = None
    state: str
    total_charge_cents: int
    currency: str
    line_count: int
    service_date_from: dt.date | None = None
    service_date_to: dt.date | None = None
    created_at: dt.datetime


class FindingOut(BaseModel):
    rule_id: str
    severity: Literal["error", "warning"]
    message: str
    line_number: int | None = None


class HeldClaimOut(ClaimOut):
    findings: list[FindingOut]


class ClaimLineOut(BaseModel):
    line_number: int
    procedure_code: str | None
    revenue_code: str | None
    modifiers: list[str]
    units: int
    charge_cents: int | None
    diagnosis_pointers: list[int]
    service_date: dt.date
    procedure_code_description: str | None = Field(
        default=None, description="HCPCS Level II description when the HCPCS file is loaded (CPT is not shipped)."
    )
    revenue_code_description: str | None = Field(default=None, description="The NUBC revenue category.")

    @model_validator(mode="after")
    def _describe(self) -> ClaimLineOut:
        if self.procedure_code is not None:
            self.procedure_code_description = codesets.describe(CodeKind.PROCEDURE, self.procedure_code)
        if self.revenue_code is not None:
            self.revenue_code_description = codesets.describe(CodeKind.REVENUE, self.revenue_code)
        return self


class StatusChangeOut(BaseModel):
    from_state: str | None
    to_state: str
    reason: str
    at: dt.datetime


class RejectionReasonOut(BaseModel):
    source: Literal["999", "277CA", "277"]
    code: str = Field(description="An STC composite (A7:164:IL) or a 999 IK3/IK4/IK5 location and code.")
    description: str | None = Field(
        default=None, description="The code in words: STC category, status and entity; or the 999 error."
    )

    @model_validator(mode="after")
    def _describe(self) -> RejectionReasonOut:
        if self.source == "999":
            self.description = codesets.describe_acknowledgment_reason(self.code)
        else:
            self.description = codesets.describe_claim_status_composite(self.code)
        return self


class RejectedClaimOut(ClaimOut):
    rejection_reasons: list[RejectionReasonOut]
    updated_at: dt.datetime


class FollowUpOut(BaseModel):
    claim_id: uuid.UUID
    claim_control_number: str | None
    payer_id: str
    state: str = Field(description="The claim's state now.")
    state_when_flagged: str
    trace_number: str = Field(description="TRN02 of the 276; the 277 answer echoes it.")
    flagged_at: dt.datetime
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None
    answer_codes: list[str]
    answer_code_descriptions: list[DescribedCode] = Field(
        default_factory=list, description="Each answer code (STC composite) with its meaning, in order."
    )

    @model_validator(mode="after")
    def _describe(self) -> FollowUpOut:
        self.answer_code_descriptions = [
            DescribedCode(code=code, description=codesets.describe_claim_status_composite(code))
            for code in self.answer_codes
        ]
        return self


class EnvelopeOut(BaseModel):
    """The X12 envelopes of the 837 the claim last went out in: what a clearinghouse or payer quotes back."""

    submission_id: uuid.UUID
    interchange_control_number: int = Field(description="ISA13 of the interchange.")
    group_control_number: int = Field(description="GS06 of the functional group.")
    transaction_control_number: int = Field(description="ST02 of the 837 transaction set.")
    sent_at: dt.datetime | None = Field(description="When the interchange left for the clearinghouse.")
    submission_count: int = Field(description="How many times the claim has been sent (1 for a first submission).")


class PaymentRefOut(BaseModel):
    payment_id: uuid.UUID
    trace_number: str = Field(description="TRN02 of the 835: the check or EFT number.")
    paid_cents: int
    currency: str
    paid_date: dt.date
    outcome: str


class ClaimDetailOut(HeldClaimOut):
    rejection_reasons: list[RejectionReasonOut]
    payer_claim_number: str | None
    responsibility: Literal["P", "S", "T"]
    primary_claim_id: uuid.UUID | None
    secondary_claim_id: uuid.UUID | None = None
    frequency_code: str
    diagnosis_codes: list[str]
    submission_id: uuid.UUID | None
    envelope: EnvelopeOut | None = Field(description="ISA13/GS06/ST02 of the last 837; null before the first.")
    lines: list[ClaimLineOut]
    status_history: list[StatusChangeOut]
    payments: list[PaymentRefOut] = Field(
        default_factory=list, description="Payments posted to the claim (remittance's payment ids), oldest first."
    )


class ClaimCancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200, description="Why, for the claim's history (no patient details).")


class LineFixIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_number: int = Field(ge=1)
    procedure_code: ProcedureCode | None = None
    revenue_code: RevenueCode | None = None
    modifiers: list[Modifier] | None = Field(default=None, max_length=MAX_MODIFIERS)
    units: int | None = Field(default=None, ge=1, le=9999)
    charge_cents: int | None = Field(default=None, ge=1, strict=True, description="Integer cents.")
    diagnosis_pointers: list[Annotated[int, Field(ge=1, le=12)]] | None = Field(
        default=None, max_length=MAX_DIAGNOSIS_POINTERS
    )
    place_of_service: PlaceOfService | None = None


class ClaimFixIn(BaseModel):
    """Corrections to a held claim; only the fields given change. Release it to scrub it again."""

    model_config = ConfigDict(extra="forbid")

    diagnosis_codes: list[DiagnosisCodeShape] | None = Field(default=None, min_length=1, max_length=12)
    place_of_service: PlaceOfService | None = None
    prior_authorization: str | None = Field(default=None, max_length=50)
    original_claim_number: str | None = Field(default=None, max_length=50)
    subscriber_member_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{2,80}$")] | None = Field(
        default=None, description="The billed coverage's member id (PHI: never logged or echoed)."
    )
    lines: list[LineFixIn] = Field(default_factory=list, max_length=50)
    remove_lines: list[int] = Field(default_factory=list, max_length=50)


class FeeScheduleEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(pattern=r"^[A-Z0-9]{4,5}$", description="CPT/HCPCS, or a revenue code.")]
    modifier: Annotated[str, Field(pattern=r"^([A-Z0-9]{2})?$")] = ""
    charge_cents: int = Field(ge=1, le=10**12, strict=True, description="Charge per unit, integer cents.")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"


class FeeScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[FeeScheduleEntryIn] = Field(min_length=1, max_length=20000)


class FeeScheduleEntryOut(FeeScheduleEntryIn):
    updated_at: dt.datetime


class FeeScheduleLoaded(BaseModel):
    loaded: int


class ScrubRuleOut(BaseModel):
    id: str
    description: str
    severity: Literal["error", "warning"]
    enabled: bool


class ScrubRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
