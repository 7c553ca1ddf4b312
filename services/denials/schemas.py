"""HTTP shapes of the denials API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.denials.domain.denial_case import ActionKind
from shared import codesets
from shared.codesets import CodeKind
from shared.codesets.described import DescribedCode, described


class DenialCaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    claim_id: uuid.UUID | None
    claim_control_number: str
    payer_claim_control_number: str | None
    payer_id: str
    trace_number: str
    denial: str = Field(description="full, partial, or underpayment")
    denied_cents: int
    currency: str
    group_code: str
    carcs: list[str]
    rarcs: list[str]
    root_cause: str
    carc: str | None = Field(description="The CARC that decided the root cause.")
    unknown_codes: list[str] = Field(description="CARCs the classifier does not know: read the 835 and decide.")
    recommended_action: str
    owner: str
    recoverable: bool
    appealable: bool
    expected_recovery_cents: int = Field(description="p(overturn) x amount - cost to work, in cents.")
    status: str
    remitted_on: dt.date | None
    service_date: dt.date | None
    due_date: dt.date | None
    due_flag: Literal["on_time", "near_due", "overdue"] | None
    age_days: int
    billing_provider_npi: str | None
    appeal_level: int
    assignee: str | None
    lines: list[dict[str, Any]]
    expected_cents: int | None
    paid_cents: int | None
    corrected_claim_control_number: str | None
    recovered_cents: int
    written_off_cents: int
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    group_code_description: str | None = Field(default=None, description="The group code in words.")
    carc_description: str | None = Field(default=None, description="The deciding CARC in words.")
    carc_descriptions: list[DescribedCode] = Field(default_factory=list, description="Every CARC, in words.")
    rarc_descriptions: list[DescribedCode] = Field(default_factory=list, description="Every RARC, in words.")

    @model_validator(mode="after")
    def _describe(self) -> DenialCaseOut:
        self.group_code_description = codesets.describe(CodeKind.ADJUSTMENT_GROUP, self.group_code)
        self.carc_description = None if self.carc is None else codesets.describe(CodeKind.CARC, self.carc)
        self.carc_descriptions = described(CodeKind.CARC, self.carcs)
        self.rarc_descriptions = described(CodeKind.RARC, self.rarcs)
        return self


class HistoryOut(BaseModel):
    entry: str
    actor: str
    text: str
    at: dt.datetime


class ActionOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    kind: str
    amount_cents: int | None
    reason_code: str | None
    actor: str
    created_at: dt.datetime


class LetterOut(BaseModel):
    action_id: uuid.UUID
    appeal_level: int
    file_name: str
    sent: bool
    answer: str | None
    pdf_url: str
    text_url: str


class DenialCaseDetail(DenialCaseOut):
    code_descriptions: dict[str, str] = Field(
        description="`CARC 16` / `RARC MA130` -> description: the loaded lists, else the built-in common codes."
    )
    history: list[HistoryOut]
    actions: list[ActionOut]
    appeal_letters: list[LetterOut]


class AssignmentIn(BaseModel):
    assignee: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(description="None unassigns.")


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000, description="Free text for the team; never paste PHI here.")


class ActionIn(BaseModel):
    kind: ActionKind
    amount_cents: int | None = Field(
        default=None, gt=0, description="Write-off / transfer: default the case's open amount."
    )
    reason_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,5}$", description="Write-off reason code.")
    prior_authorization: str | None = Field(default=None, max_length=50, description="Corrected claim: REF*G1 to add.")


class ContractRateIn(BaseModel):
    payer_id: str = Field(min_length=1, max_length=80)
    procedure_code: str = Field(pattern=r"^[A-Z0-9]{5}$")
    modifier: str = Field(default="", pattern=r"^([A-Z0-9]{2})?$")
    allowed_cents: int = Field(gt=0, strict=True)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class ContractRatesIn(BaseModel):
    rates: list[ContractRateIn] = Field(min_length=1, max_length=50_000)
    replace_payer: str | None = Field(default=None, description="Replace this payer's whole schedule.")


class PayerTermsIn(BaseModel):
    appeal_days: list[Annotated[int, Field(ge=1, le=3650)]] = Field(min_length=1, max_length=5)
    timely_filing_days: int = Field(ge=1, le=3650)
    near_days: int = Field(default=14, ge=0, le=365)
    underpayment_tolerance_cents: int = Field(default=100, ge=0)
    cost_to_work_cents: int = Field(default=2500, ge=0)


class PayerTermsOut(PayerTermsIn):
    payer_id: str
    default: bool


class KpiRow(BaseModel):
    key: str
    denied_claims: int
    remitted_claims: int
    initial_denial_rate_bp: int | None = Field(description="Basis points (1/100 of a percent).")
    denied_cents: int


class KpiDefinitionOut(BaseModel):
    key: str
    formula: str
    source: str


class DenialKpisOut(BaseModel):
    start: dt.date
    end: dt.date
    initial_denial_rate_bp: int | None
    by_payer: list[KpiRow]
    by_carc: list[KpiRow]
    by_root_cause: list[KpiRow]
    by_provider: list[KpiRow]
    overturn_rate_bp: int | None
    cases_resolved: int
    denied_cents: int
    recovered_cents: int
    written_off_cents: int
    average_days_to_resolution: float | None
    definitions: list[KpiDefinitionOut]
