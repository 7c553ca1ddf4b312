"""HTTP shapes of the intake API: what hospital systems send and what they get back.

Field-level rules (NPI check digit, code shapes, place of service, integer cents) live here, so a
bad field is a 422 whose `loc` names it. Rules that need context (today's date, the ICD-10-CM
release of the date of service, the tenant's CPT list, registered parties) are in `domain/`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared import codesets
from shared.codesets.fields import Modifier, Ndc, PlaceOfService, ProcedureCode, RevenueCode, TaxId, Taxonomy, rule
from shared.codesets.formats import CPT, MAX_DIAGNOSIS_POINTERS, MAX_MODIFIERS
from shared.npi import npi_problem

Npi = Annotated[str, Field(examples=["1234567893"], description="10 digits, Luhn check digit."), rule(npi_problem)]
Cents = Annotated[int, Field(strict=True, ge=0, le=99_999_999_99, description="Integer cents; never a float.")]
SignedCents = Annotated[int, Field(strict=True, description="Integer cents, may be negative; never a float.")]
DiagnosisCode = Annotated[str, Field(min_length=3, max_length=8, examples=["J06.9"])]
Text = Annotated[str, Field(min_length=1, max_length=60)]
ExternalId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
PayerCode = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9]+$", examples=["SANDBOX"])]
Sex = Literal["F", "M", "U"]
Relationship = Literal["18", "01", "19", "20", "21", "39", "40", "53", "G8"]
ClaimFilingIndicator = Literal[
    "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI",
    "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ",
]  # fmt: skip
Priority = Literal["primary", "secondary", "tertiary"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        """X12 and Postgres JSONB cannot carry control characters (NUL fails the insert)."""
        if isinstance(value, str) and any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise ValueError("control characters are not allowed")
        return value


class AddressIn(Strict):
    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=1, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$", description="USPS two-letter code.")
    postal_code: str = Field(pattern=r"^\d{5}(\d{4})?$", description="5 or 9 digits, no hyphen.")


class PersonIn(Strict):
    last_name: Text
    first_name: Text
    middle_name: str | None = Field(default=None, max_length=25)
    birth_date: dt.date
    sex: Sex
    address: AddressIn

    @field_validator("birth_date")
    @classmethod
    def _born_already(cls, value: dt.date) -> dt.date:
        if value > dt.date.today():
            raise ValueError("birth date is in the future")
        return value


class PatientIn(PersonIn):
    external_patient_id: ExternalId = Field(description="The sender's patient id (e.g. MRN); unique per tenant.")


class PatientOut(PatientIn):
    id: uuid.UUID


class CoverageIn(Strict):
    payer_id: PayerCode = Field(description="A registered payer's id.")
    priority: Priority
    member_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9-]+$")
    group_number: str | None = Field(default=None, max_length=50)
    group_name: str | None = Field(default=None, max_length=60)
    relationship: Relationship = Field(default="18", description="Patient's relationship to the subscriber; 18 self.")
    subscriber: PersonIn | None = Field(
        default=None, validate_default=True, description="The insured person; required unless relationship is 18."
    )
    effective_from: dt.date | None = None
    effective_to: dt.date | None = Field(default=None, validate_default=True)

    @field_validator("subscriber")
    @classmethod
    def _subscriber_unless_self(cls, value: PersonIn | None, info: ValidationInfo) -> PersonIn | None:
        relationship = info.data.get("relationship")
        if value is None and relationship not in (None, "18"):
            raise ValueError("a dependent's coverage needs the subscriber (relationship is not 18 self)")
        if value is not None and relationship == "18":
            raise ValueError("the patient is the subscriber (relationship 18): leave subscriber out")
        return value

    @field_validator("effective_to")
    @classmethod
    def _ends_after_start(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("effective_from")
        if value is not None and start is not None and value < start:
            raise ValueError("effective_to is before effective_from")
        return value

    def in_force_on(self, day: dt.date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )


class CoverageOut(CoverageIn):
    id: uuid.UUID
    patient_id: uuid.UUID


class ProviderIn(Strict):
    npi: Npi
    entity: Literal["organization", "individual"]
    name: str = Field(min_length=1, max_length=60, description="Organization name, or the individual's last name.")
    first_name: str | None = Field(default=None, max_length=35)
    middle_name: str | None = Field(default=None, max_length=25)
    taxonomy: Taxonomy | None = None
    tax_id: TaxId | None = Field(default=None, description="Needed to bill: EIN, or an individual's SSN.")
    tax_id_type: Literal["EIN", "SSN"] | None = Field(default=None, validate_default=True)
    address: AddressIn | None = Field(default=None, description="Needed to bill.")

    @field_validator("tax_id_type")
    @classmethod
    def _type_with_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        if (value is None) != (info.data.get("tax_id") is None) and "tax_id" in info.data:
            raise ValueError("tax_id and tax_id_type go together")
        return value


class ProviderOut(BaseModel):
    id: uuid.UUID
    npi: str
    entity: str
    name: str
    first_name: str | None
    taxonomy: str | None
    tax_id_type: str | None
    tax_id_last4: str | None = Field(description="The tax id is never returned whole.")


class PayerIn(Strict):
    payer_id: PayerCode
    name: str = Field(min_length=1, max_length=60)
    claim_filing_indicator: ClaimFilingIndicator = Field(description="SBR09: CI commercial, MB Medicare Part B, ...")
    timely_filing_days: int = Field(ge=1, le=3650, description="Days from the date of service to file a claim.")
    appeal_days: int = Field(ge=1, le=3650, description="Days from the denial to file an appeal.")
    address: AddressIn | None = None


class PayerOut(PayerIn):
    id: uuid.UUID


class FacilityIn(Strict):
    external_facility_id: ExternalId
    name: str = Field(min_length=1, max_length=60)
    npi: Npi | None = None
    address: AddressIn


class FacilityOut(FacilityIn):
    id: uuid.UUID


class DrugIn(Strict):
    ndc: Ndc
    quantity: Decimal = Field(gt=0, max_digits=10, decimal_places=3)
    unit: Literal["F2", "GR", "ME", "ML", "UN"]


class ServiceLineIn(Strict):
    line_number: int = Field(ge=1, le=999)
    procedure_code: ProcedureCode | None = Field(default=None, description="CPT/HCPCS; required on professional lines.")
    revenue_code: RevenueCode | None = Field(default=None, description="Required on institutional lines.")
    modifiers: list[Modifier] = Field(default_factory=list, max_length=MAX_MODIFIERS)
    units: int = Field(strict=True, ge=1, le=99_999)
    charge_cents: Cents | None = Field(default=None, description="None: priced later from the fee schedule.")
    diagnosis_pointers: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=list, max_length=MAX_DIAGNOSIS_POINTERS
    )
    service_date: dt.date
    service_date_end: dt.date | None = None
    place_of_service: PlaceOfService | None = None
    drug: DrugIn | None = None
    emergency: bool = False


class AdmissionIn(Strict):
    admitted_on: dt.date
    type_code: str = Field(pattern=r"^\d$", description="UB-04 priority (type) of admission.")
    source_code: str = Field(pattern=r"^[0-9A-Z]$", description="UB-04 point of origin.")
    hour: int | None = Field(default=None, ge=0, le=23)


class InstitutionalIn(Strict):
    facility_type_code: str = Field(pattern=r"^\d{2}$", description="Type of bill's first two digits, e.g. 13.")
    patient_status_code: str = Field(pattern=r"^\d{2}$", description="UB-04 discharge status, e.g. 01.")
    attending_provider_npi: Npi
    admission: AdmissionIn | None = None
    admitting_diagnosis: DiagnosisCode | None = None
    present_on_admission: list[Literal["Y", "N", "U", "W", "1"]] = Field(default_factory=list, max_length=12)


class AdjustmentIn(Strict):
    group: Literal["CO", "CR", "OA", "PI", "PR"]
    reason_code: str = Field(pattern=r"^[A-Z0-9]{1,5}$", description="CARC.")
    amount_cents: SignedCents


class PriorPayerLineIn(Strict):
    line_number: int = Field(ge=1)
    paid_cents: Cents
    paid_units: int = Field(strict=True, ge=0)
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=20)


class PriorPayerIn(Strict):
    """An earlier payer's adjudication, for a secondary or tertiary claim."""

    payer_id: PayerCode
    paid_cents: Cents
    adjudication_date: dt.date
    claim_adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=20)
    lines: list[PriorPayerLineIn] = Field(default_factory=list)
    payer_claim_control_number: str | None = Field(default=None, max_length=50)


class EncounterIn(Strict):
    external_encounter_id: ExternalId = Field(description="The sender's encounter id; a repeat returns the first.")
    claim_type: Literal["professional", "institutional"]
    patient_id: uuid.UUID | None = Field(default=None, description="Intake's patient id; or patient_external_id.")
    patient_external_id: ExternalId | None = Field(default=None, validate_default=True)
    payer_id: PayerCode = Field(description="The payer billed by this claim; one of the patient's coverages.")
    billing_provider_npi: Npi
    rendering_provider_npi: Npi | None = None
    referring_provider_npi: Npi | None = None
    facility_id: uuid.UUID | None = None
    facility_external_id: ExternalId | None = None
    place_of_service: PlaceOfService
    service_date_from: dt.date
    service_date_to: dt.date
    diagnosis_codes: list[DiagnosisCode] = Field(min_length=1, max_length=12, description="ICD-10-CM, principal first.")
    lines: list[ServiceLineIn] = Field(min_length=1, max_length=50)
    currency: Literal["USD"] = "USD"
    frequency_code: Literal["1", "7", "8"] = Field(default="1", description="1 original, 7 replacement, 8 void.")
    original_claim_number: str | None = Field(default=None, max_length=50, description="Required for 7 and 8.")
    prior_authorization: str | None = Field(default=None, min_length=1, max_length=50)
    institutional: InstitutionalIn | None = None
    prior_payer_adjudications: list[PriorPayerIn] = Field(default_factory=list, max_length=2)

    @field_validator("patient_external_id")
    @classmethod
    def _one_patient_reference(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "patient_id" not in info.data:
            return value
        if (value is None) == (info.data["patient_id"] is None):
            raise ValueError("name the patient by exactly one of patient_id and patient_external_id")
        return value


class EncounterOut(BaseModel):
    id: uuid.UUID
    external_encounter_id: str
    claim_type: str
    total_charge_cents: int
    currency: str
    received_at: dt.datetime
    unresolved: list[str] = Field(default_factory=list, description="Parties intake has no record of: claim held.")


class EncounterBatchIn(Strict):
    encounters: list[EncounterIn] = Field(min_length=1, max_length=1000)


class BatchResult(BaseModel):
    index: int
    id: uuid.UUID
    external_encounter_id: str
    status: Literal["created", "existing"]


class EncounterBatchOut(BaseModel):
    created: int
    existing: int
    results: list[BatchResult]


class CptCodeIn(Strict):
    code: str = Field(pattern=CPT.pattern, description="A CPT code from the customer's licensed file.")
    description: str | None = Field(default=None, max_length=200)


class CptCodesIn(Strict):
    codes: list[CptCodeIn] = Field(min_length=1, max_length=20_000)
    replace: bool = Field(default=False, description="Drop the codes loaded before.")


class CptCodesOut(BaseModel):
    loaded: int
    total: int


class CodeLookupOut(BaseModel):
    kind: codesets.CodeKind
    code: str
    description: str | None = Field(description="From the loaded code sets; null when no list knows the code.")
    service_date: dt.date
    billable: bool | None = Field(
        description="Whether intake accepts the code on this date of service; null for kinds it only describes."
    )
    problem: str | None = Field(description="Why intake would refuse it, as a 422 would say.")
    release: str | None = Field(description="The ICD-10 / HCPCS release in force on the date, when one applies.")


class EncounterDocument(Strict):
    """Everything one claim needs, as a hospital system registers it: the shape of examples/encounters/."""

    comment: str | None = Field(default=None, alias="_comment", description="What the document shows.")
    patient: PatientIn
    coverages: list[CoverageIn] = Field(min_length=1, max_length=3)
    providers: list[ProviderIn] = Field(min_length=1, max_length=4)
    payers: list[PayerIn] = Field(min_length=1, max_length=3)
    facility: FacilityIn | None = None
    encounter: EncounterIn


class EligibilityCheckIn(Strict):
    provider_npi: Npi = Field(description="The registered provider asking (NM1*1P of the 270).")
    service_date: dt.date | None = Field(default=None, description="The date asked about; today when left out.")


class EligibilityCheckOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    coverage_id: uuid.UUID
    payer_id: str
    provider_npi: str
    service_date: dt.date
    state: Literal["sent", "active", "inactive", "rejected", "unknown"]
    trace_number: str = Field(description="TRN02 of the 270; the 271 echoes it.")
    interchange_control_number: int
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None
    answer: dict[str, object] | None = Field(
        description="The 271 summarised: status, AAA rejections (reason codes), plan dates, benefit lines."
    )
