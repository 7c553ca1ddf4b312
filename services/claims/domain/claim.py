"""A billable claim: the frozen, already-coded input of the X12 837P/837I writer.

Money is integer cents throughout; quantities (units, NDC amounts) are ``int`` or
``Decimal`` so that nothing ever passes through a float. Codes that X12 restricts to a
short list are enums whose values are the X12 codes themselves.

Parties that many claims share (submitter, receiver, billing provider, payer, subscriber)
are separate objects so a caller can build them once and reuse them; the writer groups
claims under one billing-provider/subscriber hierarchy by value equality.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class ClaimKind(StrEnum):
    """Which 837 implementation guide a claim is written under."""

    PROFESSIONAL = "837P"
    INSTITUTIONAL = "837I"


class ClaimFrequency(StrEnum):
    """CLM05-3: an original claim, an interim bill of an institutional stay, late charges, or a
    correction of one the payer already has."""

    ORIGINAL = "1"
    INTERIM_FIRST = "2"
    INTERIM_CONTINUING = "3"
    INTERIM_LAST = "4"
    LATE_CHARGES = "5"
    REPLACEMENT = "7"
    VOID = "8"


class PayerResponsibility(StrEnum):
    """SBR01: the order in which this payer is billed."""

    PRIMARY = "P"
    SECONDARY = "S"
    TERTIARY = "T"


class ClaimFilingIndicator(StrEnum):
    """SBR09: the kind of insurance plan."""

    OTHER_NON_FEDERAL = "11"
    PPO = "12"
    POS = "13"
    EPO = "14"
    INDEMNITY = "15"
    HMO_MEDICARE_RISK = "16"
    DENTAL_MAINTENANCE = "17"
    AUTOMOBILE_MEDICAL = "AM"
    BLUE_CROSS_BLUE_SHIELD = "BL"
    CHAMPUS = "CH"
    COMMERCIAL = "CI"
    DISABILITY = "DS"
    FEDERAL_EMPLOYEES = "FI"
    HMO = "HM"
    LIABILITY_MEDICAL = "LM"
    MEDICARE_PART_A = "MA"
    MEDICARE_PART_B = "MB"
    MEDICAID = "MC"
    OTHER_FEDERAL = "OF"
    TITLE_V = "TV"
    VETERANS_AFFAIRS = "VA"
    WORKERS_COMPENSATION = "WC"
    MUTUALLY_DEFINED = "ZZ"


class TaxIdQualifier(StrEnum):
    """REF01 of the billing provider's tax identification."""

    EIN = "EI"
    SSN = "SY"


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class Relationship(StrEnum):
    """Individual relationship code: the patient's (or other insured's) relation to the subscriber."""

    SELF = "18"
    SPOUSE = "01"
    CHILD = "19"
    EMPLOYEE = "20"
    UNKNOWN = "21"
    ORGAN_DONOR = "39"
    CADAVER_DONOR = "40"
    LIFE_PARTNER = "53"
    OTHER = "G8"


class AssignmentCode(StrEnum):
    """CLM07: whether the provider accepts the payer's assignment."""

    ASSIGNED = "A"
    ASSIGNED_LAB_ONLY = "B"
    NOT_ASSIGNED = "C"


class ReleaseOfInformation(StrEnum):
    """CLM09: how far the patient consented to release medical data."""

    INFORMED_CONSENT = "I"
    SIGNED = "Y"


class AdjustmentGroup(StrEnum):
    """CAS01: who an adjustment is attributed to."""

    CONTRACTUAL_OBLIGATION = "CO"
    CORRECTION_REVERSAL = "CR"
    OTHER_ADJUSTMENT = "OA"
    PAYER_INITIATED = "PI"
    PATIENT_RESPONSIBILITY = "PR"


class DrugUnit(StrEnum):
    """CTP05-1: the unit an NDC quantity is measured in."""

    INTERNATIONAL_UNIT = "F2"
    GRAM = "GR"
    MILLIGRAM = "ME"
    MILLILITER = "ML"
    UNIT = "UN"


class UnitBasis(StrEnum):
    """SV103 / SV204: what a line's quantity counts."""

    UNIT = "UN"
    MINUTES = "MJ"
    """Anesthesia time in minutes (837P)."""


class RelatedCause(StrEnum):
    """CLM11-1: what the condition is related to (837P)."""

    AUTO_ACCIDENT = "AA"
    EMPLOYMENT = "EM"
    OTHER_ACCIDENT = "OA"


class AttachmentTransmission(StrEnum):
    """PWK02: how the attachment reaches the payer."""

    AVAILABLE_ON_REQUEST = "AA"
    BY_MAIL = "BM"
    ELECTRONICALLY = "EL"
    EMAIL = "EM"
    FILE_TRANSFER = "FT"
    FAX = "FX"


class DmeCertification(StrEnum):
    """CR301: the kind of certificate of medical necessity."""

    INITIAL = "I"
    RENEWAL = "R"
    REVISED = "S"


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str | None = None


@dataclass(frozen=True, slots=True)
class Submitter:
    """Loop 1000A; ``identifier`` is also the ISA06/GS02 sender id."""

    name: str
    identifier: str
    contact_name: str
    contact_phone: str
    interchange_qualifier: str = "ZZ"


@dataclass(frozen=True, slots=True)
class Receiver:
    """Loop 1000B, usually the clearinghouse; ``identifier`` is also ISA08/GS03."""

    name: str
    identifier: str
    interchange_qualifier: str = "ZZ"


@dataclass(frozen=True, slots=True)
class BillingProvider:
    """Loop 2010AA (and 2010AB when payments go to another address).

    An organization has only ``name``; a person bills with ``name`` as the last name
    and ``first_name`` set (837P only).
    """

    npi: str
    name: str
    taxonomy: str | None
    tax_id: str
    tax_id_qualifier: TaxIdQualifier
    address: Address
    first_name: str | None = None
    pay_to_address: Address | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """An individual clinician: referring, rendering or attending."""

    npi: str
    last_name: str
    first_name: str | None = None
    middle_name: str | None = None
    taxonomy: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceFacility:
    """Where the services were rendered when that is not the billing provider's address."""

    name: str
    address: Address
    npi: str | None = None


@dataclass(frozen=True, slots=True)
class Payer:
    """Loop 2010BB / 2330B; ``claim_filing_indicator`` is the plan's SBR09."""

    name: str
    payer_id: str
    claim_filing_indicator: ClaimFilingIndicator
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class Subscriber:
    """The insured person. Address, birth date and sex are required when they are the patient."""

    member_id: str
    last_name: str
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    address: Address | None = None
    group_number: str | None = None
    group_name: str | None = None


@dataclass(frozen=True, slots=True)
class Patient:
    """A dependent patient (loop 2000C); when the subscriber is the patient, leave ``Claim.patient`` None."""

    last_name: str
    first_name: str
    birth_date: date
    sex: Sex
    address: Address
    relationship: Relationship
    middle_name: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """PWK: paperwork that goes with the claim or line; ``control_number`` (PWK06) lets the payer match
    what arrives separately, and is required unless the attachment is only available on request."""

    report_type: str
    transmission: AttachmentTransmission
    control_number: str | None = None


@dataclass(frozen=True, slots=True)
class Accident:
    """CLM11 and DTP*439 (837P): the condition is related to employment or an accident."""

    causes: tuple[RelatedCause, ...]
    state: str | None = None
    """CLM11-4: where an auto accident happened."""
    occurred_on: date | None = None


@dataclass(frozen=True, slots=True)
class AmbulanceTransport:
    """CR1, CRC*07 and loops 2310E/2310F (837P): an ambulance trip."""

    reason_code: str
    """CR104: A-E (e.g. A patient taken to the nearest facility)."""
    distance_miles: int | Decimal
    pick_up: Address
    drop_off: Address
    drop_off_name: str
    patient_weight_lbs: int | None = None
    condition_codes: tuple[str, ...] = ()
    """CRC03..07: ambulance certification conditions (01, 04, 05, 06, 07, 08, 09, 12); empty: none met."""
    round_trip_purpose: str | None = None
    stretcher_purpose: str | None = None


@dataclass(frozen=True, slots=True)
class DmeCertificate:
    """CR3 (837P line): a certificate of medical necessity for durable medical equipment."""

    certification: DmeCertification
    duration_months: int


@dataclass(frozen=True, slots=True)
class ProcedureCode:
    """An ICD-10-PCS procedure with its date (HI BBR/BBQ, 837I)."""

    code: str
    performed_on: date


@dataclass(frozen=True, slots=True)
class Occurrence:
    """HI BH: an occurrence code and its date (837I)."""

    code: str
    occurred_on: date


@dataclass(frozen=True, slots=True)
class OccurrenceSpan:
    """HI BI: an occurrence span code and its dates (837I)."""

    code: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class ValueAmount:
    """HI BE: a value code and its amount in cents (837I)."""

    code: str
    amount_cents: int


@dataclass(frozen=True, slots=True)
class DrugIdentification:
    """Loop 2410: the NDC (11 digits, 5-4-2, no hyphens) and the quantity given."""

    ndc: str
    quantity: int | Decimal
    unit: DrugUnit


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """Loop 2400: SV1 for professional claims, SV2 for institutional claims.

    Professional lines need ``procedure_code`` (CPT/HCPCS), ``service_date`` and
    ``diagnosis_pointers`` (1-based into ``Claim.diagnoses``). Institutional lines need
    ``revenue_code``; ``procedure_code`` is optional there.
    """

    charge_cents: int
    units: int | Decimal
    procedure_code: str | None = None
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = ()
    service_date: date | None = None
    service_date_end: date | None = None
    revenue_code: str | None = None
    place_of_service: str | None = None
    control_number: str | None = None
    drug: DrugIdentification | None = None
    emergency: bool = False
    unit_basis: UnitBasis = UnitBasis.UNIT
    rendering_provider: Provider | None = None
    """2420A (837P) / 2420C (837I) when this line's clinician differs from the claim's."""
    ordering_provider: Provider | None = None
    """2420E (837P)."""
    supervising_provider: Provider | None = None
    """2420D (837P)."""
    attachments: tuple[Attachment, ...] = ()
    dme_certificate: DmeCertificate | None = None


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triplet from a payer's remittance: group, CARC, amount."""

    group: AdjustmentGroup
    reason_code: str
    amount_cents: int
    quantity: int | Decimal | None = None


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    """Loop 2430: how the other payer adjudicated one of our lines (from its 835 SVC).

    ``line_number`` is 1-based into ``Claim.lines``. For each adjudicated line,
    line charge - sum(adjustments) must equal ``paid_cents``.
    """

    line_number: int
    paid_cents: int
    adjudication_date: date
    paid_units: int | Decimal
    procedure_code: str | None = None
    modifiers: tuple[str, ...] = ()
    revenue_code: str | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remaining_patient_liability_cents: int | None = None


@dataclass(frozen=True, slots=True)
class OtherPayer:
    """Loops 2320/2330A/2330B: a payer that already adjudicated this claim.

    Built from that payer's 835. Claim charge - claim-level adjustments - line-level
    adjustments must equal ``paid_cents`` (the TR3 COB balancing rule).
    """

    payer: Payer
    responsibility: PayerResponsibility
    subscriber: Subscriber
    relationship: Relationship
    paid_cents: int
    adjudication_date: date
    claim_adjustments: tuple[Adjustment, ...] = ()
    line_adjudications: tuple[LineAdjudication, ...] = ()
    remaining_patient_liability_cents: int | None = None
    non_covered_cents: int | None = None
    payer_claim_control_number: str | None = None


@dataclass(frozen=True, slots=True)
class OtherCoverage:
    """Loops 2320/2330A/2330B for a payer known to cover the patient that has not adjudicated this
    claim (e.g. the secondary, on a claim to the primary): no amounts, only who it is."""

    payer: Payer
    responsibility: PayerResponsibility
    subscriber: Subscriber
    relationship: Relationship


@dataclass(frozen=True, slots=True)
class Admission:
    """Inpatient admission: DTP*435 and CL101/CL102."""

    admitted_on: date
    type_code: str
    source_code: str
    hour: int | None = None
    minute: int = 0


@dataclass(frozen=True, slots=True)
class InstitutionalDetails:
    """What only an 837I claim carries.

    ``facility_type_code`` is the first two digits of the type of bill (e.g. "11"
    hospital inpatient, "13" hospital outpatient); the claim frequency is the third.
    ``present_on_admission`` is empty or parallel to ``Claim.diagnoses`` (Y/N/U/W, or "" for a
    POA-exempt code, written blank).
    """

    facility_type_code: str
    statement_from: date
    statement_to: date
    patient_status_code: str
    attending: Provider
    admission: Admission | None = None
    admitting_diagnosis: str | None = None
    present_on_admission: tuple[str, ...] = ()
    discharge_hour: int | None = None
    discharge_minute: int = 0
    patient_reasons_for_visit: tuple[str, ...] = ()
    drg: str | None = None
    principal_procedure: ProcedureCode | None = None
    other_procedures: tuple[ProcedureCode, ...] = ()
    occurrences: tuple[Occurrence, ...] = ()
    occurrence_spans: tuple[OccurrenceSpan, ...] = ()
    values: tuple[ValueAmount, ...] = ()
    condition_codes: tuple[str, ...] = ()
    operating: Provider | None = None
    other_operating: Provider | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim to one payer (loop 2300 and everything it hangs from).

    ``diagnoses`` are ICD-10-CM codes, principal first (the dot is optional and is not
    written). Set ``institutional`` to write the claim as an 837I; otherwise it is an
    837P and ``place_of_service`` applies. As the TR3s ask, ``rendering_provider`` is
    written only when its NPI differs from the billing provider's (837P) or the
    attending's (837I).
    """

    control_number: str
    submitter: Submitter
    receiver: Receiver
    billing_provider: BillingProvider
    subscriber: Subscriber
    payer: Payer
    total_charge_cents: int
    diagnoses: tuple[str, ...]
    lines: tuple[ServiceLine, ...]
    patient: Patient | None = None
    payer_responsibility: PayerResponsibility = PayerResponsibility.PRIMARY
    place_of_service: str = "11"
    frequency: ClaimFrequency = ClaimFrequency.ORIGINAL
    provider_signature_on_file: bool = True
    assignment: AssignmentCode = AssignmentCode.ASSIGNED
    benefits_assigned: bool = True
    release_of_information: ReleaseOfInformation = ReleaseOfInformation.SIGNED
    original_claim_number: str | None = None
    prior_authorization: str | None = None
    referring_provider: Provider | None = None
    rendering_provider: Provider | None = None
    service_facility: ServiceFacility | None = None
    other_payers: tuple[OtherPayer, ...] = ()
    institutional: InstitutionalDetails | None = None
    other_coverages: tuple[OtherCoverage, ...] = ()
    """Payers known to cover the patient that have not adjudicated this claim (2320 without amounts)."""
    attachments: tuple[Attachment, ...] = ()
    delay_reason: str | None = None
    """CLM20: why the claim is sent after the payer's filing limit (1-11, 15)."""
    accident: Accident | None = None
    onset_date: date | None = None
    """DTP*431 (837P): onset of the current illness or symptom."""
    supervising_provider: Provider | None = None
    """2310D (837P)."""
    ambulance: AmbulanceTransport | None = None

    @property
    def kind(self) -> ClaimKind:
        return ClaimKind.PROFESSIONAL if self.institutional is None else ClaimKind.INSTITUTIONAL
