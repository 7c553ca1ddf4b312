"""Versioned domain events: the payload models and the topic each type travels on.

Payloads carry the minimum necessary: ids, codes, amounts (integer cents) and dates. The one exception
is `encounter-coded`, whose consumer writes 837 claims and so needs the patient's and subscriber's
demographics and member ids: they live only in its `phi` block, every such field marked `x-phi` in
the JSON Schema. A breaking change means a new version (`.v2`), never an edit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from shared.messaging.topics import (
    CLAIM_CHANGES,
    CLAIM_CORRECTIONS,
    CLAIM_DENIED,
    CLAIM_STATUS,
    CLAIM_SUBMITTED,
    DENIAL_APPEALS,
    ENCOUNTER_CODED,
    LEDGER_ADJUSTMENTS,
    PARTY_CHANGES,
    PATIENT_ACCOUNT,
    PAYMENT_RECEIVED,
    Topic,
)

Cents = Annotated[int, Field(strict=True, description="Integer cents; never a float.")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")]


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    """Unknown fields are ignored so a consumer keeps reading when a version gains an optional field."""


PHI: JsonDict = {"x-phi": True}
"""JSON Schema mark of a field holding protected health information (or a sensitive identifier)."""


class Address(EventPayload):
    line1: str
    line2: str | None = None
    city: str
    state: str = Field(pattern=r"^[A-Z]{2}$")
    postal_code: str = Field(pattern=r"^\d{5}(\d{4})?$")


class DrugLine(EventPayload):
    """Loop 2410: the drug a line administered, by NDC (11 digits, 5-4-2, no hyphens)."""

    ndc: str = Field(pattern=r"^\d{11}$")
    quantity: str = Field(pattern=r"^\d{1,7}(\.\d{1,3})?$", description="Decimal as a string; never a float.")
    unit: Literal["F2", "GR", "ME", "ML", "UN"] = Field(description="CTP05-1 unit of measure.")


InterimFrequencyCode = Literal["2", "3", "4", "5"]
"""CLM05-3 of an institutional interim bill (2 first, 3 continuing, 4 last) or late charges (5). v1 events
carry it beside `frequency_code` (then "1": not a correction), whose allowed values cannot change."""


class Attachment(EventPayload):
    """PWK: paperwork sent separately, matched by its control number."""

    report_type: str = Field(pattern=r"^[0-9A-Z]{2}$", description="PWK01, e.g. OZ support data, 09 progress report.")
    transmission: Literal["AA", "BM", "EL", "EM", "FT", "FX"] = Field(description="PWK02: how it reaches the payer.")
    control_number: str | None = Field(default=None, description="PWK06; required unless AA (available on request).")


class DmeCertificate(EventPayload):
    """CR3: a certificate of medical necessity for durable medical equipment (837P)."""

    certification: Literal["I", "R", "S"] = Field(description="CR301: initial, renewal, revised.")
    duration_months: int = Field(ge=1, le=99)


class CodedServiceLine(EventPayload):
    line_number: int = Field(ge=1)
    procedure_code: str | None = Field(
        default=None, description="CPT/HCPCS; required on professional lines, optional beside a revenue code."
    )
    revenue_code: str | None = Field(default=None, description="UB-04 revenue code; required on institutional lines.")
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: int = Field(ge=1)
    charge_cents: Cents | None = Field(default=None, ge=0, description="None: priced from the fee schedule.")
    diagnosis_pointers: list[Annotated[int, Field(ge=1, le=12)]] = Field(default_factory=list, max_length=4)
    service_date: dt.date
    service_date_end: dt.date | None = None
    place_of_service: str | None = Field(default=None, description="When it differs from the claim's.")
    drug: DrugLine | None = None
    emergency: bool = False
    unit_basis: Literal["UN", "MJ"] = Field(default="UN", description="SV103: units, or MJ anesthesia minutes.")
    rendering_provider_npi: str | None = Field(default=None, description="2420A/2420C: differs from the claim's.")
    ordering_provider_npi: str | None = Field(default=None, description="2420E (837P).")
    supervising_provider_npi: str | None = Field(default=None, description="2420D (837P).")
    attachments: list[Attachment] = Field(default_factory=list, max_length=10)
    dme_certificate: DmeCertificate | None = None


class PayerDetails(EventPayload):
    payer_id: str
    name: str
    claim_filing_indicator: str = Field(description="SBR09, e.g. CI commercial, MB Medicare Part B.")
    timely_filing_days: int = Field(ge=1)
    appeal_days: int = Field(ge=1)
    address: Address | None = None


class CoverageDetails(EventPayload):
    """One coverage of the patient: who pays, in which order; the member's identifiers are in `phi`."""

    coverage_id: uuid.UUID
    responsibility: Literal["P", "S", "T"] = Field(description="SBR01: primary, secondary, tertiary.")
    relationship: str = Field(description="Patient's relationship to the subscriber (18 self, 01 spouse, 19 child).")
    payer: PayerDetails


class ProviderDetails(EventPayload):
    npi: str = Field(pattern=r"^\d{10}$")
    entity: Literal["organization", "individual"]
    name: str = Field(description="Organization name, or an individual's last name.")
    first_name: str | None = None
    middle_name: str | None = None
    taxonomy: str | None = None
    tax_id: str | None = Field(default=None, json_schema_extra=PHI, description="EIN, or an individual's SSN.")
    tax_id_type: Literal["EIN", "SSN"] | None = None
    address: Address | None = None


class FacilityDetails(EventPayload):
    facility_id: uuid.UUID
    name: str
    npi: str | None = None
    address: Address


class Admission(EventPayload):
    admitted_on: dt.date
    type_code: str
    source_code: str
    hour: int | None = Field(default=None, ge=0, le=23)


class DatedCode(EventPayload):
    """An ICD-10-PCS procedure or an occurrence code, with its date."""

    code: str
    date: dt.date


class CodeSpan(EventPayload):
    """An occurrence span code with its first and last dates."""

    code: str
    start: dt.date
    end: dt.date


class CodeAmount(EventPayload):
    """A value code with its amount (integer cents, or a count times 100 such as covered days)."""

    code: str
    amount_cents: Cents


class InstitutionalDetails(EventPayload):
    """What only an 837I carries; the type of bill is facility_type_code + the claim's frequency_code."""

    facility_type_code: str = Field(pattern=r"^\d{2}$")
    patient_status_code: str = Field(pattern=r"^\d{2}$")
    attending_provider_npi: str = Field(pattern=r"^\d{10}$")
    attending: ProviderDetails | None = Field(default=None, description="None when intake has no record of the NPI.")
    admission: Admission | None = None
    admitting_diagnosis: str | None = None
    present_on_admission: list[str] = Field(
        default_factory=list, description='Parallel to diagnosis_codes: Y, N, U, W, or "" (exempt, sent blank).'
    )
    discharge_hour: int | None = Field(default=None, ge=0, le=23)
    discharge_minute: int = Field(default=0, ge=0, le=59)
    patient_reasons_for_visit: list[str] = Field(default_factory=list, max_length=3, description="ICD-10-CM.")
    drg: str | None = Field(default=None, description="The diagnosis related group (HI DR).")
    principal_procedure: DatedCode | None = Field(default=None, description="ICD-10-PCS with its date.")
    other_procedures: list[DatedCode] = Field(default_factory=list, max_length=24)
    occurrences: list[DatedCode] = Field(default_factory=list, max_length=24)
    occurrence_spans: list[CodeSpan] = Field(default_factory=list, max_length=24)
    values: list[CodeAmount] = Field(default_factory=list, max_length=24)
    condition_codes: list[str] = Field(default_factory=list, max_length=24)
    operating_provider_npi: str | None = None
    operating: ProviderDetails | None = None
    other_operating_provider_npi: str | None = None
    other_operating: ProviderDetails | None = None


class Accident(EventPayload):
    """CLM11 and DTP*439 (837P)."""

    causes: list[Literal["AA", "EM", "OA"]] = Field(min_length=1, max_length=2)
    state: str | None = Field(default=None, description="Where an auto accident happened.")
    occurred_on: dt.date | None = None


class AmbulanceTransport(EventPayload):
    """CR1, CRC*07 and the drop-off location (837P); the pick-up (often the patient's home) and the patient's
    weight are in `phi`."""

    reason_code: Literal["A", "B", "C", "D", "E"] = Field(description="CR104 ambulance transport reason.")
    distance_miles: str = Field(pattern=r"^\d{1,5}(\.\d{1,2})?$", description="Decimal as a string.")
    condition_codes: list[str] = Field(default_factory=list, max_length=5, description="CRC03-07.")
    round_trip_purpose: str | None = None
    stretcher_purpose: str | None = None
    drop_off_name: str
    drop_off: Address


class ClaimOptions(EventPayload):
    """CLM06-09 as the provider's office recorded them."""

    provider_signature_on_file: bool = True
    assignment: Literal["A", "B", "C"] = Field(default="A", description="CLM07.")
    benefits_assigned: bool = Field(default=True, description="CLM08.")
    release_of_information: Literal["I", "Y"] = Field(default="Y", description="CLM09.")


class PriorPayerAdjustment(EventPayload):
    group: Literal["CO", "CR", "OA", "PI", "PR"]
    reason_code: str
    amount_cents: Cents


class PriorPayerLine(EventPayload):
    line_number: int = Field(ge=1)
    paid_cents: Cents
    paid_units: int = Field(ge=0)
    adjustments: list[PriorPayerAdjustment] = Field(default_factory=list)


class PriorPayerAdjudication(EventPayload):
    """How a payer billed earlier adjudicated this encounter (loops 2320/2330/2430 of a secondary claim)."""

    coverage_id: uuid.UUID
    paid_cents: Cents
    adjudication_date: dt.date
    claim_adjustments: list[PriorPayerAdjustment] = Field(default_factory=list)
    lines: list[PriorPayerLine] = Field(default_factory=list)
    payer_claim_control_number: str | None = None


class Person(EventPayload):
    last_name: str = Field(json_schema_extra=PHI)
    first_name: str | None = Field(default=None, json_schema_extra=PHI)
    middle_name: str | None = Field(default=None, json_schema_extra=PHI)
    birth_date: dt.date | None = Field(default=None, json_schema_extra=PHI)
    sex: Literal["F", "M", "U"] | None = Field(default=None, json_schema_extra=PHI)
    address: Address | None = Field(default=None, json_schema_extra=PHI)


class SubscriberPhi(EventPayload):
    coverage_id: uuid.UUID
    member_id: str = Field(json_schema_extra=PHI)
    group_number: str | None = Field(default=None, json_schema_extra=PHI)
    group_name: str | None = Field(default=None, json_schema_extra=PHI)
    subscriber: Person = Field(json_schema_extra=PHI, description="The insured; the patient when relationship is 18.")


class EncounterPhi(EventPayload):
    """The only PHI in the pipeline's events: what an 837 must name. Never log or index it."""

    patient: Person = Field(json_schema_extra=PHI)
    subscribers: list[SubscriberPhi] = Field(
        default_factory=list, json_schema_extra=PHI, description="One per coverage, billed and other."
    )
    ambulance_pick_up: Address | None = Field(
        default=None, json_schema_extra=PHI, description="Where the ambulance took the patient on (2310E)."
    )
    patient_weight_lbs: int | None = Field(default=None, ge=1, le=9999, json_schema_extra=PHI, description="CR102.")


class EncounterCodedV1(EventPayload):
    """A coded encounter, with everything the claims service needs to write its 837P/837I alone.

    Ids, codes, amounts and dates at the top; demographics and member ids only in `phi`. Parties the
    sender had not registered with intake are absent and named in `unresolved` (the claim is held).
    """

    encounter_id: uuid.UUID
    external_encounter_id: str
    claim_type: Literal["professional", "institutional"]
    patient_id: uuid.UUID
    payer_id: str
    billing_provider_npi: str
    rendering_provider_npi: str | None = None
    referring_provider_npi: str | None = None
    place_of_service: str
    service_date_from: dt.date
    service_date_to: dt.date
    diagnosis_codes: list[str] = Field(
        min_length=1, max_length=25, description="ICD-10-CM, principal first (12 on an 837P, 25 on an 837I)."
    )
    lines: list[CodedServiceLine] = Field(min_length=1)
    currency: Currency = "USD"
    frequency_code: Literal["1", "7", "8"] = Field(default="1", description="CLM05-3: original, replacement, void.")
    interim_frequency_code: InterimFrequencyCode | None = Field(
        default=None, description="837I: CLM05-3 of an interim bill (2, 3, 4) or late charges (5); frequency_code is 1."
    )
    original_claim_number: str | None = Field(default=None, description="REF*F8: the payer's claim being corrected.")
    prior_authorization: str | None = None
    icd10cm_release: str | None = Field(default=None, description="The ICD-10-CM release the codes were checked in.")
    coverage: CoverageDetails | None = Field(default=None, description="The coverage billed by this claim.")
    other_coverages: list[CoverageDetails] = Field(default_factory=list, description="Other coverages, in order.")
    billing_provider: ProviderDetails | None = None
    rendering_provider: ProviderDetails | None = None
    referring_provider: ProviderDetails | None = None
    service_facility: FacilityDetails | None = None
    institutional: InstitutionalDetails | None = None
    prior_payer_adjudications: list[PriorPayerAdjudication] = Field(default_factory=list)
    supervising_provider_npi: str | None = None
    supervising_provider: ProviderDetails | None = None
    line_providers: list[ProviderDetails] = Field(
        default_factory=list, description="The providers the lines name (rendering, ordering, supervising)."
    )
    pay_to_address: Address | None = Field(default=None, description="2010AB: where payments go, when elsewhere.")
    attachments: list[Attachment] = Field(default_factory=list, max_length=10)
    delay_reason_code: str | None = Field(default=None, description="CLM20: why the claim is late.")
    accident: Accident | None = None
    onset_date: dt.date | None = Field(default=None, description="DTP*431: onset of the current illness.")
    ambulance: AmbulanceTransport | None = None
    claim_options: ClaimOptions = Field(default_factory=ClaimOptions)
    phi: EncounterPhi | None = Field(default=None, json_schema_extra=PHI)
    unresolved: list[str] = Field(
        default_factory=list, description="Request fields naming parties intake has no record of (e.g. payer_id)."
    )


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
    interim_frequency_code: InterimFrequencyCode | None = Field(
        default=None, description="837I interim bill (2, 3, 4) or late charges (5); frequency_code is then 1."
    )
    total_charge_cents: Cents = Field(ge=0)
    currency: Currency = "USD"
    lines: list[SubmittedClaimLine] = Field(min_length=1)
    interchange_control_number: str
    submitted_at: dt.datetime
    patient_id: uuid.UUID | None = Field(
        default=None, description="Our patient id (not the member id): the 835 does not carry it."
    )
    service_date_from: dt.date | None = Field(default=None, description="First date of service (timely filing).")
    billing_provider_npi: str | None = Field(default=None, description="The billing provider (KPIs by provider).")
    billing_provider_name: str | None = Field(default=None, description="Organization or last name (appeal letters).")
    member_digest: str | None = Field(
        default=None,
        json_schema_extra=PHI,
        description="Keyed digest (HMAC-SHA256, tenant-bound) of the subscriber's member id, never the id: "
        "remittance compares it with the member ids a suspended 835 payment names. Derived from an identifier, "
        "so marked x-phi: the analytics feed drops it.",
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


class ClaimStatusChangedV1(EventPayload):
    """A claim changed state after it left us: acknowledged (999/277CA/277), rejected, paid, denied.

    Keyed by claim id, so one claim's changes stay in order. Codes only, never PHI.
    """

    claim_id: uuid.UUID
    claim_control_number: str
    payer_id: str
    from_state: str
    to_state: str
    reason_codes: list[str] = Field(
        default_factory=list, description="STC composites (A7:164:IL), 999 IK3/IK4 codes, or CLP02/CARCs."
    )
    source: Literal["999", "277CA", "277", "835"] = Field(description="What said so.")
    changed_at: dt.datetime
    payer_claim_number: str | None = Field(default=None, description="The payer's claim number when known.")


class PatientPaymentSubmittedV1(EventPayload):
    """A patient recorded a payment on their statement page; remittance posts it once per `payment_id`."""

    payment_id: uuid.UUID = Field(description="Chosen when the page rendered: a resubmitted form posts nothing new.")
    patient_id: uuid.UUID
    statement_id: uuid.UUID
    amount_cents: Cents = Field(gt=0)
    currency: Currency = "USD"
    method: Literal["card", "ach"] = "card"
    submitted_on: dt.date


class PatientPaymentReceivedV1(EventPayload):
    """A patient payment posted to the patient's account in remittance (from any channel)."""

    payment_id: uuid.UUID
    patient_id: uuid.UUID
    amount_cents: Cents = Field(gt=0)
    currency: Currency = "USD"
    method: str
    received_on: dt.date


class PlanInstallment(EventPayload):
    number: int = Field(ge=1)
    due_on: dt.date
    amount_cents: Cents = Field(gt=0)


class PaymentPlanChangedV1(EventPayload):
    """A patient's payment plan was made or changed state; its installments replace dunning while active."""

    plan_id: uuid.UUID
    patient_id: uuid.UUID
    status: Literal["active", "completed", "cancelled"]
    total_cents: Cents = Field(ge=0)
    currency: Currency = "USD"
    installments: list[PlanInstallment] = Field(min_length=1)
    changed_on: dt.date


class ClaimCorrectionRequestedV1(EventPayload):
    """Denials asks claims to replace (frequency 7) or void (frequency 8) a claim the payer adjudicated.

    Claims builds it from its own copy of the claim, with REF*F8 = the payer's claim control number
    (CLP07 of the 835); `action_id` makes a repeated request build nothing twice.
    """

    action_id: uuid.UUID
    case_id: uuid.UUID
    claim_id: uuid.UUID | None = None
    claim_control_number: str
    frequency_code: Literal["7", "8"]
    payer_claim_control_number: str | None = Field(
        default=None, description="CLP07 as the denial's 835 gave it; claims falls back to its own record."
    )
    prior_authorization: str | None = Field(default=None, description="REF*G1 to add, when it was the missing piece.")
    reason: str = Field(max_length=200, description="Why, for the claim's history; codes, never PHI.")


class ClaimCorrectedV1(EventPayload):
    """Claims built the corrected or void claim a `claim-correction-requested` asked for."""

    action_id: uuid.UUID
    case_id: uuid.UUID
    original_claim_id: uuid.UUID
    original_claim_control_number: str
    claim_id: uuid.UUID
    claim_control_number: str
    frequency_code: Literal["7", "8"]
    payer_claim_control_number: str | None = None


class LedgerAdjustmentRequestedV1(EventPayload):
    """Denials asks remittance to write off (`write_off`) or move to the patient (`transfer_to_patient`)
    part of a claim's open balance; `action_id` makes a repeated request post nothing twice."""

    action_id: uuid.UUID
    case_id: uuid.UUID
    claim_id: uuid.UUID | None = None
    claim_control_number: str
    kind: Literal["write_off", "transfer_to_patient"]
    amount_cents: Cents = Field(gt=0)
    currency: Currency = "USD"
    reason_code: str = Field(pattern=r"^[A-Z0-9]{1,5}$", description="The CARC (or the tenant's code) for the entry.")


class AppealFiledV1(EventPayload):
    """An appeal letter went to the payer through the clearinghouse."""

    action_id: uuid.UUID
    case_id: uuid.UUID
    claim_id: uuid.UUID | None = None
    claim_control_number: str
    payer_id: str
    appeal_level: int = Field(ge=1)
    amount_cents: Cents
    currency: Currency = "USD"
    carcs: list[str]
    rarcs: list[str] = Field(default_factory=list)
    file_name: str


class PartyPhi(EventPayload):
    """A changed patient's or coverage's demographics and member ids, as the 837 names them."""

    patient: Person | None = Field(default=None, json_schema_extra=PHI, description="When a patient changed.")
    subscriber: SubscriberPhi | None = Field(
        default=None, json_schema_extra=PHI, description="When a coverage changed."
    )


class PartyChangedV1(EventPayload):
    """A registered party was corrected (`PATCH`, or a member id fixed on a claim): the party as it is now,
    in the shapes `encounter-coded` carries, so claims can mend the held claims that name it and scrub
    them again. Exactly one of the party blocks is set, by `party_kind`; PHI only inside `phi`."""

    party_kind: Literal["patient", "coverage", "provider", "payer", "facility"]
    party_id: uuid.UUID = Field(description="Intake's id of the changed record.")
    patient_id: uuid.UUID | None = Field(default=None, description="The patient, for a patient or a coverage.")
    changed_fields: list[str] = Field(description="Field paths changed (names only, never values).")
    source: Literal["api", "claim-fix"] = "api"
    provider: ProviderDetails | None = None
    payer: PayerDetails | None = None
    facility: FacilityDetails | None = None
    coverage: CoverageDetails | None = None
    phi: PartyPhi | None = Field(default=None, json_schema_extra=PHI)


class CoverageCorrectionRequestedV1(EventPayload):
    """A member id was corrected on a claim (`/fixes`); the coverage it was billed under takes it, so
    the next claim goes out right."""

    claim_id: uuid.UUID
    coverage_id: uuid.UUID
    patient_id: uuid.UUID
    member_id: str = Field(json_schema_extra=PHI)


class ClaimCancelledV1(EventPayload):
    """Billing staff cancelled a claim before it was submitted; its encounter is cancelled with it."""

    claim_id: uuid.UUID
    encounter_id: uuid.UUID
    claim_control_number: str | None = None
    from_state: str
    reason: str = Field(max_length=200, description="Why, as staff gave it.")
    cancelled_at: dt.datetime
    encounter_cancelled: bool = Field(
        default=True, description="False for a secondary or corrected claim: the encounter's original claim stands."
    )


EVENT_TYPES: dict[str, tuple[Topic, type[EventPayload]]] = {
    "encounter-coded.v1": (ENCOUNTER_CODED, EncounterCodedV1),
    "claim-submitted.v1": (CLAIM_SUBMITTED, ClaimSubmittedV1),
    "payment-received.v1": (PAYMENT_RECEIVED, PaymentReceivedV1),
    "claim-denied.v1": (CLAIM_DENIED, ClaimDeniedV1),
    "claim-status-changed.v1": (CLAIM_STATUS, ClaimStatusChangedV1),
    "patient-payment-submitted.v1": (PATIENT_ACCOUNT, PatientPaymentSubmittedV1),
    "patient-payment-received.v1": (PATIENT_ACCOUNT, PatientPaymentReceivedV1),
    "payment-plan-changed.v1": (PATIENT_ACCOUNT, PaymentPlanChangedV1),
    "claim-corrected.v1": (CLAIM_STATUS, ClaimCorrectedV1),
    "claim-correction-requested.v1": (CLAIM_CORRECTIONS, ClaimCorrectionRequestedV1),
    "ledger-adjustment-requested.v1": (LEDGER_ADJUSTMENTS, LedgerAdjustmentRequestedV1),
    "appeal-filed.v1": (DENIAL_APPEALS, AppealFiledV1),
    "party-changed.v1": (PARTY_CHANGES, PartyChangedV1),
    "coverage-correction-requested.v1": (CLAIM_CHANGES, CoverageCorrectionRequestedV1),
    "claim-cancelled.v1": (CLAIM_CHANGES, ClaimCancelledV1),
}


def event_type_of(payload: EventPayload) -> str:
    for name, (_, model) in EVENT_TYPES.items():
        if type(payload) is model:
            return name
    raise KeyError(f"{type(payload).__name__} is not a registered event payload")
