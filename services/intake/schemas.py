"""HTTP shapes of the intake API: what hospital systems send and what they get back.

Field-level rules (NPI check digit, code shapes, place of service, integer cents) live here, so a
bad field is a 422 whose `loc` names it. Rules that need context (today's date, the ICD-10-CM
release of the date of service, the tenant's CPT list, registered parties) are in `domain/`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from shared import codesets
from shared.codesets.fields import (
    ConditionCode,
    Icd10PcsCode,
    Modifier,
    Ndc,
    OccurrenceCode,
    OccurrenceSpanCode,
    PlaceOfService,
    ProcedureCode,
    RevenueCode,
    TaxId,
    Taxonomy,
    ValueCode,
    rule,
)
from shared.codesets.formats import CPT, MAX_DIAGNOSIS_POINTERS, MAX_MODIFIERS
from shared.npi import npi_problem
from shared.x12.party_rules import address_problems
from shared.x12.transliteration import name_problem


def _x12_text(max_length: int) -> AfterValidator:
    """Text the 837 can carry once transliterated (José: JOSE), within the writer's own length limit."""
    return rule(lambda value: name_problem(value, max_length))


Npi = Annotated[str, Field(examples=["1234567893"], description="10 digits, Luhn check digit."), rule(npi_problem)]
LastName = Annotated[str, Field(min_length=1, max_length=60), _x12_text(60)]
"""NM103: 60 characters; accents are kept here and transliterated in the claim."""
FirstName = Annotated[str, Field(min_length=1, max_length=35), _x12_text(35)]
"""NM104: 35 characters."""
MiddleName = Annotated[str, Field(min_length=1, max_length=25), _x12_text(25)]
OrganizationName = Annotated[str, Field(min_length=1, max_length=60), _x12_text(60)]
AddressLine = Annotated[str, Field(min_length=1, max_length=55), _x12_text(55)]
City = Annotated[str, Field(min_length=2, max_length=30), _x12_text(30)]
ClaimText = Annotated[str, Field(min_length=1, max_length=80), _x12_text(80)]


def identifier_problem(value: str) -> str | None:
    if value != value.strip():
        return "has leading or trailing spaces"
    if any(not (32 <= ord(char) < 127) or char in "*~:^" for char in value):
        return "an identifier in a claim is printable ASCII without the X12 delimiters * ~ : ^"
    return None


ClaimIdentifier = Annotated[str, Field(min_length=1, max_length=50), rule(identifier_problem)]
"""REF02-style identifiers (prior authorization, payer claim numbers, group numbers): sent as given."""
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


CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")
"""C0 controls and DEL: one regex search per string field (a per-character loop was a visible cost of 1,000-encounter
batches)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        """X12 and Postgres JSONB cannot carry control characters (NUL fails the insert)."""
        if isinstance(value, str) and CONTROL_CHARACTER.search(value):
            raise ValueError("control characters are not allowed")
        return value


class AddressIn(Strict):
    line1: AddressLine
    line2: AddressLine | None = None
    city: City
    state: str = Field(pattern=r"^[A-Z]{2}$", description="USPS two-letter code.")
    postal_code: str = Field(
        pattern=r"^\d{5}(\d{4})?$", description="5 or 9 digits, no hyphen; a billing provider's needs 9 (ZIP+4)."
    )

    @model_validator(mode="after")
    def _as_an_837_needs(self) -> AddressIn:
        """The 837's rules for any address (`shared/x12/party_rules.py`, the writer's own)."""
        problems = address_problems(city=self.city, state=self.state, postal_code=self.postal_code, billing=False)
        if problems:
            raise ValueError("; ".join(f"{field}: {message}" for field, message in problems))
        return self


class PersonIn(Strict):
    last_name: LastName = Field(description="As the patient spells it; sent transliterated (NUNEZ) in claims.")
    first_name: FirstName
    middle_name: MiddleName | None = None
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
    member_id: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9-]+$")
    group_number: ClaimIdentifier | None = None
    group_name: OrganizationName | None = None
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
    name: OrganizationName = Field(description="Organization name, or the individual's last name.")
    first_name: FirstName | None = None
    middle_name: MiddleName | None = None
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

    @field_validator("address")
    @classmethod
    def _billing_address(cls, value: AddressIn | None, info: ValidationInfo) -> AddressIn | None:
        """A provider with a tax id can bill: its address is the 837's loop 2010AA, which needs a ZIP+4."""
        if value is not None and info.data.get("tax_id") is not None:
            problems = address_problems(city=value.city, state=value.state, postal_code=value.postal_code, billing=True)
            if problems:
                raise ValueError("; ".join(f"{field}: {message}" for field, message in problems))
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
    name: OrganizationName
    claim_filing_indicator: ClaimFilingIndicator = Field(description="SBR09: CI commercial, MB Medicare Part B, ...")
    timely_filing_days: int = Field(ge=1, le=3650, description="Days from the date of service to file a claim.")
    appeal_days: int = Field(ge=1, le=3650, description="Days from the denial to file an appeal.")
    address: AddressIn | None = None


class PayerOut(PayerIn):
    id: uuid.UUID


class FacilityIn(Strict):
    external_facility_id: ExternalId
    name: OrganizationName
    npi: Npi | None = None
    address: AddressIn


class FacilityOut(FacilityIn):
    id: uuid.UUID


class AttachmentIn(Strict):
    """PWK: paperwork sent to the payer separately, matched by its control number."""

    report_type: str = Field(pattern=r"^[0-9A-Z]{2}$", description="PWK01, e.g. OZ support data, 09 progress report.")
    transmission: Literal["AA", "BM", "EL", "EM", "FT", "FX"] = Field(
        description="PWK02: AA available on request, BM mail, EL electronic, EM e-mail, FT file transfer, FX fax."
    )
    control_number: str | None = Field(
        default=None, min_length=2, max_length=50, pattern=r"^[A-Za-z0-9-]+$", validate_default=True,
        description="PWK06: required unless AA.",
    )  # fmt: skip

    @field_validator("control_number")
    @classmethod
    def _control_number_unless_on_request(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("transmission") not in (None, "AA"):
            raise ValueError("an attachment sent to the payer needs its control number (PWK06)")
        return value


class DmeCertificateIn(Strict):
    certification: Literal["I", "R", "S"] = Field(description="CR301: I initial, R renewal, S revised.")
    duration_months: int = Field(strict=True, ge=1, le=99)


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
    unit_basis: Literal["UN", "MJ"] = Field(
        default="UN", description="UN units, or MJ: `units` are anesthesia minutes (837P)."
    )
    rendering_provider_npi: Npi | None = Field(default=None, description="When this line's clinician differs.")
    ordering_provider_npi: Npi | None = Field(default=None, description="837P: who ordered the service (2420E).")
    supervising_provider_npi: Npi | None = Field(default=None, description="837P: supervising clinician (2420D).")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)
    dme_certificate: DmeCertificateIn | None = Field(default=None, description="837P: CR3 for DME with a CMN.")


class AdmissionIn(Strict):
    admitted_on: dt.date
    type_code: str = Field(pattern=r"^\d$", description="UB-04 priority (type) of admission.")
    source_code: str = Field(pattern=r"^[0-9A-Z]$", description="UB-04 point of origin.")
    hour: int | None = Field(default=None, ge=0, le=23)


def poa_problem(value: str) -> str | None:
    if value in ("Y", "N", "U", "W", ""):
        return None
    if value == "1":
        return 'POA "1" (exempt) is the old 4010 value; send "" for a POA-exempt code such as Z79.4'
    return f'{value!r} is not a POA indicator: Y, N, U, W, or "" for a POA-exempt code'


PresentOnAdmission = Annotated[str, Field(max_length=1), rule(poa_problem)]


class ProcedureIn(Strict):
    code: Icd10PcsCode
    date: dt.date


class OccurrenceIn(Strict):
    code: OccurrenceCode = Field(description="UB-04 occurrence code, e.g. 11 onset of symptoms.")
    date: dt.date


class OccurrenceSpanIn(Strict):
    code: OccurrenceSpanCode = Field(description="UB-04 occurrence span code, e.g. 70 qualifying stay dates.")
    start: dt.date
    end: dt.date

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and value < start:
            raise ValueError("the span ends before it starts")
        return value


class ValueIn(Strict):
    code: ValueCode = Field(description="UB-04 value code, e.g. 80 covered days.")
    amount_cents: SignedCents = Field(description="Integer cents; a count (e.g. days) times 100.")


class InstitutionalIn(Strict):
    facility_type_code: str = Field(pattern=r"^\d{2}$", description="Type of bill's first two digits, e.g. 13.")
    patient_status_code: str = Field(pattern=r"^\d{2}$", description="UB-04 discharge status, e.g. 01.")
    attending_provider_npi: Npi
    admission: AdmissionIn | None = None
    admitting_diagnosis: DiagnosisCode | None = None
    present_on_admission: list[PresentOnAdmission] = Field(
        default_factory=list, max_length=25, description='One per diagnosis: Y, N, U, W, or "" (exempt, sent blank).'
    )
    discharge_hour: int | None = Field(default=None, ge=0, le=23, description="DTP*096: hour of discharge.")
    patient_reasons_for_visit: list[DiagnosisCode] = Field(default_factory=list, max_length=3)
    drg: str | None = Field(default=None, pattern=r"^\d{3}$", description="MS-DRG, e.g. 470.")
    principal_procedure: ProcedureIn | None = None
    other_procedures: list[ProcedureIn] = Field(default_factory=list, max_length=24)
    occurrences: list[OccurrenceIn] = Field(default_factory=list, max_length=24)
    occurrence_spans: list[OccurrenceSpanIn] = Field(default_factory=list, max_length=24)
    values: list[ValueIn] = Field(default_factory=list, max_length=24)
    condition_codes: list[ConditionCode] = Field(default_factory=list, max_length=24)
    operating_provider_npi: Npi | None = None
    other_operating_provider_npi: Npi | None = None


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
    payer_claim_control_number: ClaimIdentifier | None = None


class AccidentIn(Strict):
    causes: list[Literal["AA", "EM", "OA"]] = Field(
        min_length=1, max_length=2, description="AA auto accident, EM employment, OA other accident."
    )
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="Required for an auto accident.")
    occurred_on: dt.date | None = Field(default=None, description="Required for an accident (AA, OA).")


class AmbulanceIn(Strict):
    reason_code: Literal["A", "B", "C", "D", "E"] = Field(description="CR104 ambulance transport reason.")
    distance_miles: Decimal = Field(gt=0, max_digits=7, decimal_places=2)
    patient_weight_lbs: int | None = Field(default=None, strict=True, ge=1, le=9999)
    condition_codes: list[Literal["01", "04", "05", "06", "07", "08", "09", "12"]] = Field(
        default_factory=list, max_length=5, description="CRC*07 ambulance certification conditions met."
    )
    round_trip_purpose: ClaimText | None = None
    stretcher_purpose: ClaimText | None = None
    pick_up: AddressIn
    drop_off_name: OrganizationName
    drop_off: AddressIn


class ClaimOptionsIn(Strict):
    provider_signature_on_file: bool = Field(default=True, description="CLM06 (837P).")
    assignment: Literal["A", "B", "C"] = Field(default="A", description="CLM07: A assigned, B lab only, C not.")
    benefits_assigned: bool = Field(default=True, description="CLM08.")
    release_of_information: Literal["I", "Y"] = Field(default="Y", description="CLM09: Y signed, I informed consent.")


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
    diagnosis_codes: list[DiagnosisCode] = Field(
        min_length=1, max_length=25, description="ICD-10-CM, principal first: up to 12 (837P) or 25 (837I)."
    )
    lines: list[ServiceLineIn] = Field(min_length=1, max_length=999, description="Up to 50 (837P) or 999 (837I).")
    currency: Literal["USD"] = "USD"
    frequency_code: Literal["1", "2", "3", "4", "5", "7", "8"] = Field(
        default="1",
        description="1 original, 7 replacement, 8 void; institutional: 2/3/4 interim bills, 5 late charges.",
    )
    original_claim_number: ClaimIdentifier | None = Field(default=None, description="Required for 7 and 8.")
    prior_authorization: ClaimIdentifier | None = None
    institutional: InstitutionalIn | None = None
    prior_payer_adjudications: list[PriorPayerIn] = Field(default_factory=list, max_length=2)
    supervising_provider_npi: Npi | None = Field(default=None, description="837P: supervising clinician (2310D).")
    pay_to_address: AddressIn | None = Field(default=None, description="2010AB: where payments go, when elsewhere.")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)
    delay_reason_code: Literal["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "15"] | None = Field(
        default=None, description="CLM20: why the claim is sent late."
    )
    accident: AccidentIn | None = Field(default=None, description="837P: CLM11 related causes and DTP*439.")
    onset_date: dt.date | None = Field(default=None, description="837P: onset of the current illness (DTP*431).")
    ambulance: AmbulanceIn | None = Field(default=None, description="837P: an ambulance trip (CR1, CRC, 2310E/F).")
    claim_options: ClaimOptionsIn = Field(default_factory=lambda: ClaimOptionsIn(), description="CLM06-09.")

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
    patient_id: uuid.UUID | None = Field(
        default=None,
        description="The patient (`GET /v1/patients/{id}`); the claim: claims' `GET /v1/claims?encounter_id=`.",
    )
    status: Literal["active", "cancelled"] = Field(default="active", description="cancelled with its claim.")
    cancel_reason: str | None = None
    cancelled_at: dt.datetime | None = None


class PartyChangeOut(BaseModel):
    """One correction of a registered party: what changed, when, from where; the record before and after."""

    id: int
    source: Literal["api", "claim-fix"] = Field(description="api: a PATCH; claim-fix: a member id fixed on a claim.")
    changed_fields: list[str]
    before: dict[str, object]
    after: dict[str, object]
    changed_at: dt.datetime


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
    as_of: dt.date | None = Field(
        default=None,
        description="The day the document is billed on (timely filing, dates in the future); today when left out.",
    )
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
