"""HTTP shapes of the remittance API. Money is integer cents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from shared import codesets
from shared.codesets import CodeKind


class SubmittedClaimOut(BaseModel):
    claim_id: uuid.UUID
    claim_control_number: str
    payer_id: str
    total_charge_cents: int
    currency: str
    submitted_at: dt.datetime


class ParseWarningOut(BaseModel):
    """A faulty non-financial element the payer sent, read around while the money was posted."""

    segment_id: str
    position: int = Field(description="1-based index of the segment in the file (ISA is 1).")
    element: int | None = Field(description="X12 element number (SVC01 is 1), when one element is at fault.")
    message: str


class RemittanceResult(BaseModel):
    remittance_id: uuid.UUID
    transactions: int
    claim_payments: int
    posted: int
    suspended: int
    duplicates: int = Field(description="Claim payments already posted from another file with the same content.")
    held: int = Field(
        default=0,
        description="Claim payments held as probable duplicates of payments already posted (see /v1/payment-holds).",
    )
    provider_adjustments_posted: int
    paid_cents: int
    currency: str
    trace_numbers: list[str]
    warnings: list[ParseWarningOut] = Field(
        default_factory=list,
        description="Non-financial elements the payer got wrong (wrong component separator, missing procedure "
        "code...), each with segment, position and element; the money was posted anyway (first 1,000).",
    )


class SuspendedPaymentOut(BaseModel):
    id: uuid.UUID
    claim_control_number: str
    payer_id: str
    trace_number: str
    status_code: str
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    currency: str
    paid_date: dt.date
    suspense_reason: str | None
    received_at: dt.datetime
    payer_name: str | None = Field(default=None, description="N1*PR: the payer as the 835 names it.")
    check_or_eft_number: str = Field(description="TRN02: the check or EFT trace number of the payment.")
    payment_method: str | None = Field(default=None, description="BPR04: CHK check, ACH/FWT/BOP EFT, NON none.")

    status_description: str | None = Field(default=None, description="CLP02 in words (1: processed as primary).")

    @model_validator(mode="after")
    def _describe(self) -> SuspendedPaymentOut:
        self.status_description = codesets.describe(CodeKind.CLAIM_STATUS, self.status_code)
        return self


class ClaimPaymentOut(BaseModel):
    """A claim payment from an 835: posted, suspended, held as a probable duplicate, or rejected by a person."""

    id: uuid.UUID
    state: Literal["posted", "suspense", "held", "rejected"]
    claim_id: uuid.UUID | None
    claim_control_number: str
    payer_id: str
    payer_name: str | None = Field(description="N1*PR: the payer as the 835 names it.")
    trace_number: str
    check_or_eft_number: str = Field(description="TRN02: the check or EFT trace number of the payment.")
    payment_method: str | None = Field(description="BPR04: CHK check, ACH/FWT/BOP EFT, NON none.")
    status_code: str
    payer_claim_control_number: str
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    currency: str
    paid_date: dt.date
    received_at: dt.datetime
    posted_at: dt.datetime | None
    reversal_of: uuid.UUID | None
    duplicate_of: uuid.UUID | None = Field(description="Held: the posted payment this one repeats.")
    suspense_reason: str | None
    review_reason: str | None = Field(description="Why a person released, rejected or forced it.")


class SuspenseMatch(BaseModel):
    claim_control_number: str = Field(min_length=1, max_length=38)
    patient_id: uuid.UUID | None = Field(
        default=None, description="The patient the payer's remittance names, checked against the claim's patient."
    )
    force: bool = Field(default=False, description="Post even though payer, amount or patient do not fit.")
    reason: str | None = Field(default=None, min_length=3, max_length=500, description="Required with `force`.")

    @model_validator(mode="after")
    def _forced_with_a_reason(self) -> SuspenseMatch:
        if self.force and not self.reason:
            raise ValueError("reason: a forced match needs a reason")
        return self


class ReviewDecision(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="Why: kept with the payment.")


class RefundItemOut(BaseModel):
    """A claim paid beyond what it was owed: its credit balance, to refund (or dismiss, saying why)."""

    id: uuid.UUID
    claim_id: uuid.UUID
    claim_control_number: str
    credit_cents: int
    currency: str
    status: Literal["open", "refunded", "dismissed", "cleared"]
    resolution_reason: str | None
    resolved_by: str | None
    opened_at: dt.datetime
    resolved_at: dt.datetime | None


class RefundResolution(BaseModel):
    resolution: Literal["refunded", "dismissed"] = Field(
        description="refunded: the credit went back to the payer (posted to the claim); dismissed: nothing posted."
    )
    reason: str = Field(min_length=3, max_length=500)


class SuspenseMatched(BaseModel):
    payment_id: uuid.UUID
    claim_id: uuid.UUID
    state: Literal["posted"]


class LedgerEntryOut(BaseModel):
    id: int
    kind: str
    amount_cents: int
    currency: str
    group_code: str | None
    carc: str | None
    line_number: int | None
    reference: str | None
    claim_payment_id: uuid.UUID | None
    reversal_of: int | None
    posted_on: dt.date
    group_code_description: str | None = Field(default=None, description="CO, PR, OA, PI, CR in words.")
    carc_description: str | None = Field(default=None, description="The CARC in words, from the loaded list.")

    @model_validator(mode="after")
    def _describe(self) -> LedgerEntryOut:
        if self.group_code is not None:
            self.group_code_description = codesets.describe(CodeKind.ADJUSTMENT_GROUP, self.group_code)
        if self.carc is not None:
            self.carc_description = codesets.describe(CodeKind.CARC, self.carc)
        return self


class ClaimLedgerOut(BaseModel):
    claim_id: uuid.UUID
    charge_cents: int
    paid_cents: int
    adjustment_cents: int
    patient_responsibility_cents: int
    open_cents: int
    credit_balance_cents: int = Field(description="Paid beyond what the claim was owed (a negative open balance).")
    balanced: bool = Field(description="The identity holds and the open balance is not negative.")
    entries: list[LedgerEntryOut]


class PatientPaymentIn(BaseModel):
    amount_cents: int = Field(gt=0, le=100_000_000, strict=True)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    method: Literal["card", "cash", "check", "ach", "other"] = "card"
    received_on: dt.date | None = None


class PatientPaymentOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    amount_cents: int
    currency: str
    method: str
    received_on: dt.date


class AccountOut(BaseModel):
    patient_id: uuid.UUID
    balance_cents: int
    currency: str
    aging: dict[str, int] = Field(description="Owed cents by days since owed: 0-30, 31-60, 61-90, 90+.")
    unapplied_credit_cents: int
    entries: list[LedgerEntryOut]


class PaymentPlanIn(BaseModel):
    installments: int = Field(ge=1, le=120)
    first_due: dt.date

    @field_validator("first_due")
    @classmethod
    def _sane_first_due(cls, first_due: dt.date) -> dt.date:
        today = dt.date.today()
        if not today - dt.timedelta(days=366) <= first_due <= today + dt.timedelta(days=366):
            raise ValueError("first_due: must be within a year of today")
        return first_due


class InstallmentOut(BaseModel):
    number: int
    due_on: dt.date
    amount_cents: int


class PaymentPlanOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    total_cents: int
    currency: str
    installments: list[InstallmentOut]
    status: str


class MissedInstallmentOut(InstallmentOut):
    shortfall_cents: int


class OverduePlanOut(BaseModel):
    plan_id: uuid.UUID
    patient_id: uuid.UUID
    paid_cents: int
    missed: list[MissedInstallmentOut]


class ProviderLedgerOut(BaseModel):
    provider_id: str
    balance_cents: int
    entries: list[LedgerEntryOut]


class InboundFileOut(BaseModel):
    """An 835 collected from the clearinghouse inbound box: posted (with its remittance) or rejected (why)."""

    id: uuid.UUID
    file_name: str
    content_sha256: str
    byte_count: int
    state: Literal["posted", "rejected"]
    remittance_id: uuid.UUID | None
    rejection: dict[str, Any] | None = Field(description="reason, segment_id, position (and findings) when rejected")
    received_at: dt.datetime
    processed_at: dt.datetime
