"""What makes a claim writable as a valid 837: every check, each naming the field it failed.

Two paths share the same rules. ``_check_*`` functions describe every problem with its
field path and are the only source of errors. ``_plain_*`` functions are a strict yes/no
for the common case, so a batch of good claims is not slowed by building field paths it
never reports; they may refuse more than the detailed checks (the claim then takes the
detailed path) but must never accept anything the detailed checks would refuse, which
``tests/unit/claims/test_x12_837_fast_path.py`` checks with generated claims.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from services.claims.domain.claim import (
    Accident,
    Address,
    Adjustment,
    AdjustmentGroup,
    Admission,
    AmbulanceTransport,
    AssignmentCode,
    Attachment,
    AttachmentTransmission,
    BillingProvider,
    Claim,
    ClaimFilingIndicator,
    ClaimFrequency,
    ClaimKind,
    DmeCertificate,
    DmeCertification,
    DrugIdentification,
    DrugUnit,
    InstitutionalDetails,
    LineAdjudication,
    OtherCoverage,
    OtherPayer,
    Patient,
    Payer,
    PayerResponsibility,
    Provider,
    Receiver,
    RelatedCause,
    Relationship,
    ReleaseOfInformation,
    ServiceFacility,
    ServiceLine,
    Sex,
    Submitter,
    Subscriber,
    TaxIdQualifier,
    UnitBasis,
)
from services.claims.domain.x12_numbers import quantity_to_x12
from shared.npi import npi_is_valid
from shared.x12.party_rules import BILLING_POSTAL_CODE_DIGITS, CITY_MIN_LENGTH, POSTAL_CODE_DIGITS, US_STATES

# TR3 repeat limits the checks enforce.
MAX_LINES = {ClaimKind.PROFESSIONAL: 50, ClaimKind.INSTITUTIONAL: 999}
MAX_DIAGNOSES = {ClaimKind.PROFESSIONAL: 12, ClaimKind.INSTITUTIONAL: 25}
MAX_OTHER_PAYERS = 10
MAX_LINE_ADJUDICATIONS = 15
MAX_CAS_SEGMENTS = 5
MAX_ADJUSTMENTS_PER_CAS = 6


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, named by its field path."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ClaimValidationError(ValueError):
    """Raised before writing when any claim cannot be written as a valid 837."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        shown = "\n  ".join(str(p) for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{len(self.problems)} problem(s) in claim input:\n  {shown}{more}")


# X12 extended character set less our four delimiters (* : ^ ~).
_TEXT_CHARS = r"""A-Za-z0-9!"&'()+,\-./;?= %@\[\]_{}\\|<>#$`"""
_TEXT = re.compile(f"[{_TEXT_CHARS}]+")
_DIGITS = re.compile(r"[0-9]+")
_ICD10CM = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?")
_PROCEDURE = re.compile(r"[A-Z0-9]{5}")
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_TAXONOMY = re.compile(r"[0-9]{3}[0-9A-Z]{6}X")
_CARC = re.compile(r"[A-Z0-9]{1,5}")
_ALNUM1 = re.compile(r"[A-Z0-9]")
_ISA_QUALIFIERS = frozenset({"01", "14", "20", "27", "28", "29", "30", "33", "ZZ"})
_US_STATES = US_STATES
_FILING_CODES = frozenset(c.value for c in ClaimFilingIndicator)
_RESPONSIBILITIES = frozenset(c.value for c in PayerResponsibility)
_RELATIONSHIPS = frozenset(c.value for c in Relationship)
_SEXES = frozenset(c.value for c in Sex)
_ADJUSTMENT_GROUPS = frozenset(c.value for c in AdjustmentGroup)
_DRUG_UNITS = frozenset(c.value for c in DrugUnit)
_FREQUENCIES = frozenset(c.value for c in ClaimFrequency)
_ASSIGNMENTS = frozenset(c.value for c in AssignmentCode)
_RELEASES = frozenset(c.value for c in ReleaseOfInformation)
_TAX_ID_QUALIFIERS = frozenset(c.value for c in TaxIdQualifier)
_POA = frozenset({"Y", "N", "U", "W", ""})  # "": the code is exempt from POA reporting (written blank)
_ICD10PCS = re.compile(r"[0-9A-HJ-NP-Z]{7}")
_UB04_CODE = re.compile(r"[0-9A-Z]{2}")  # occurrence, occurrence span, value and condition codes
_DRG = re.compile(r"[0-9]{3}")
_DELAY_REASONS = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "15"})
_ATTACHMENT_TYPE = re.compile(r"[0-9A-Z]{2}")
_TRANSMISSIONS = frozenset(c.value for c in AttachmentTransmission)
_RELATED_CAUSES = frozenset(c.value for c in RelatedCause)
_AMBULANCE_REASONS = frozenset("ABCDE")
_AMBULANCE_CONDITIONS = frozenset({"01", "04", "05", "06", "07", "08", "09", "12"})
_DME_CERTIFICATIONS = frozenset(c.value for c in DmeCertification)
_UNIT_BASES = frozenset(c.value for c in UnitBasis)
_PROFESSIONAL_FREQUENCIES = frozenset({"1", "7", "8"})
MAX_ATTACHMENTS = 10
MAX_HI_REPEATS = 24  # two HI segments of 12 for each 837I code list
MAX_PATIENT_REASONS = 3
_INPATIENT_FACILITY_TYPES = frozenset({"11"})


_MAX_CENTS = 10**16
_MAX_QUANTITY = 10**15


class _Checker:
    """Collects problems; each check names the field it looked at."""

    __slots__ = ("problems", "seen")

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.seen: set[int] = set()

    def add(self, field: str, message: str) -> None:
        self.problems.append(Problem(field, message))

    def first_visit(self, value: object, variant: int = 0) -> bool:
        """Shared parties are checked once per write (per variant 0-3), not once per claim.

        Keyed by identity: every object stays alive (held by the claims) while we validate.
        """
        key = id(value) * 4 + variant
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def unchecked(self, party: object, variant: int = 0) -> bool:
        """`first_visit`, and not a party equal to one that passed every check before (`_CLEAN_PARTIES`)."""
        return self.first_visit(party, variant) and not _clean_before(party, variant)

    def text(self, field: str, value: object, max_len: int, min_len: int = 1, required: bool = True) -> None:
        if value is None:
            if required:
                self.add(field, "is required")
            return
        if not isinstance(value, str):
            self.add(field, f"must be text, got {type(value).__name__}")
            return
        if not min_len <= len(value) <= max_len:
            self.add(field, f"must be {min_len} to {max_len} characters, got {len(value)}")
        elif _TEXT.fullmatch(value) is None:
            self.add(field, "contains characters an X12 file cannot carry (delimiters * : ^ ~, control or non-ASCII)")
        elif value[0] == " " or value[-1] == " ":
            self.add(field, "has leading or trailing spaces")

    def pattern(self, field: str, value: object, regex: re.Pattern[str], expected: str) -> None:
        if not isinstance(value, str) or regex.fullmatch(value) is None:
            self.add(field, f"must be {expected}, got {value!r}")

    def digits(self, field: str, value: object, lengths: tuple[int, ...]) -> None:
        if not isinstance(value, str) or len(value) not in lengths or _DIGITS.fullmatch(value) is None:
            expected = " or ".join(str(n) for n in lengths)
            self.add(field, f"must be {expected} digits, got {value!r}")

    def code(self, field: str, value: object, allowed: frozenset[str]) -> None:
        if not isinstance(value, str) or value not in allowed:
            self.add(field, f"must be one of {', '.join(sorted(allowed))}, got {value!r}")

    def npi(self, field: str, value: object) -> None:
        if not isinstance(value, str) or not npi_is_valid(value):
            self.add(field, f"must be a 10-digit NPI with a valid check digit, got {value!r}")

    def cents(self, field: str, value: object, allow_negative: bool = False) -> bool:
        if type(value) is not int:
            self.add(field, f"must be integer cents, got {type(value).__name__}")
            return False
        if value < 0 and not allow_negative:
            self.add(field, f"must not be negative, got {value}")
            return False
        if abs(value) >= _MAX_CENTS:
            self.add(field, "is too large for an X12 amount")
            return False
        return True

    def quantity(self, field: str, value: object, allow_zero: bool = False) -> None:
        if type(value) is int or (isinstance(value, Decimal) and value.is_finite()):
            if value < 0 or (value == 0 and not allow_zero):
                self.add(field, f"must be {'zero or more' if allow_zero else 'greater than zero'}, got {value}")
            elif len(quantity_to_x12(value)) > 15:
                self.add(field, "has too many digits for an X12 quantity")
        else:
            self.add(field, f"must be an int or Decimal, got {type(value).__name__}")

    def day(self, field: str, value: object, required: bool = True) -> bool:
        if value is None:
            if required:
                self.add(field, "is required")
            return False
        if not isinstance(value, date) or isinstance(value, datetime):
            self.add(field, f"must be a date, got {type(value).__name__}")
            return False
        return True


_CLEAN_PARTIES: dict[tuple[type, object, int], None] = {}
"""Party values (submitter, receiver, billing provider, payer, facility, provider; frozen dataclasses) that passed
every check, per variant: a party's checks read nothing but its own value, so an equal value passes again. One
billing provider, payer, submitter and receiver bill thousands of claims, each built as a new object and checked
alone at its scrub. Bounded: emptied when full."""
_CLEAN_PARTIES_MAX = 4096


_CLEAN_OBJECTS: dict[tuple[int, int], object] = {}
"""The same clean parties by identity (the claim builder hands one object per value to thousands of claims): found
without hashing the party's fields. Each entry holds its party, so no other object can have its id meanwhile."""


def _clean_before(party: object, variant: int) -> bool:
    if _CLEAN_OBJECTS.get((id(party), variant)) is party:
        return True
    try:
        return (type(party), party, variant) in _CLEAN_PARTIES
    except TypeError:  # unhashable: not one of ours, checked every time
        return False


def _passed(chk: _Checker, problems_before: int, party: object, variant: int = 0) -> None:
    """Remember `party` as clean when its checks (since `problems_before`) found nothing."""
    if len(chk.problems) != problems_before:
        return
    if len(_CLEAN_PARTIES) >= _CLEAN_PARTIES_MAX or len(_CLEAN_OBJECTS) >= _CLEAN_PARTIES_MAX:
        _CLEAN_PARTIES.clear()
        _CLEAN_OBJECTS.clear()
    try:
        _CLEAN_PARTIES[(type(party), party, variant)] = None
    except TypeError:
        return  # unhashable: not one of ours (a value that may change), not remembered by identity either
    _CLEAN_OBJECTS[(id(party), variant)] = party


def _check_address(chk: _Checker, field: str, address: object, nine_digit_zip: bool = False) -> None:
    if not isinstance(address, Address):
        chk.add(field, "must be an Address")
        return
    chk.text(f"{field}.line1", address.line1, 55)
    chk.text(f"{field}.line2", address.line2, 55, required=False)
    chk.text(f"{field}.city", address.city, 30, min_len=CITY_MIN_LENGTH)
    chk.code(f"{field}.state", address.state, _US_STATES)
    if nine_digit_zip:
        chk.digits(f"{field}.postal_code", address.postal_code, BILLING_POSTAL_CODE_DIGITS)
    else:
        chk.digits(f"{field}.postal_code", address.postal_code, POSTAL_CODE_DIGITS)


def _check_provider(chk: _Checker, field: str, provider: object) -> None:
    if not chk.unchecked(provider):
        return
    if not isinstance(provider, Provider):
        chk.add(field, f"must be a Provider, got {type(provider).__name__}")
        return
    before = len(chk.problems)
    chk.npi(f"{field}.npi", provider.npi)
    chk.text(f"{field}.last_name", provider.last_name, 60)
    chk.text(f"{field}.first_name", provider.first_name, 35, required=False)
    chk.text(f"{field}.middle_name", provider.middle_name, 25, required=False)
    if provider.taxonomy is not None:
        chk.pattern(f"{field}.taxonomy", provider.taxonomy, _TAXONOMY, "a 10-character taxonomy code")
    _passed(chk, before, provider)


def _check_payer(chk: _Checker, field: str, payer: object) -> None:
    if not isinstance(payer, Payer):
        chk.add(field, f"must be a Payer, got {type(payer).__name__}")
        return
    chk.text(f"{field}.name", payer.name, 60)
    chk.text(f"{field}.payer_id", payer.payer_id, 80, min_len=2)
    chk.code(f"{field}.claim_filing_indicator", payer.claim_filing_indicator, _FILING_CODES)
    if payer.address is not None:
        _check_address(chk, f"{field}.address", payer.address)


def _check_subscriber(chk: _Checker, field: str, subscriber: object, is_patient: bool) -> None:
    if not isinstance(subscriber, Subscriber):
        chk.add(field, f"must be a Subscriber, got {type(subscriber).__name__}")
        return
    chk.text(f"{field}.member_id", subscriber.member_id, 80, min_len=2)
    chk.text(f"{field}.last_name", subscriber.last_name, 60)
    chk.text(f"{field}.first_name", subscriber.first_name, 35, required=False)
    chk.text(f"{field}.middle_name", subscriber.middle_name, 25, required=False)
    chk.text(f"{field}.group_number", subscriber.group_number, 50, required=False)
    chk.text(f"{field}.group_name", subscriber.group_name, 60, required=False)
    if is_patient:
        chk.day(f"{field}.birth_date", subscriber.birth_date)
        chk.code(f"{field}.sex", subscriber.sex, _SEXES)
        if subscriber.address is None:
            chk.add(f"{field}.address", "is required when the subscriber is the patient")
        else:
            _check_address(chk, f"{field}.address", subscriber.address)
    else:
        if subscriber.birth_date is not None:
            chk.day(f"{field}.birth_date", subscriber.birth_date)
        if subscriber.sex is not None:
            chk.code(f"{field}.sex", subscriber.sex, _SEXES)
        if subscriber.address is not None:
            _check_address(chk, f"{field}.address", subscriber.address)


def _check_parties(chk: _Checker, field: str, claim: Claim, kind: ClaimKind) -> None:
    """Everything a claim shares with others, each object checked once per write."""
    submitter: object = claim.submitter  # checked as a value from outside: any type may come
    if chk.unchecked(submitter):
        f = f"{field}.submitter"
        if not isinstance(submitter, Submitter):
            chk.add(f, f"must be a Submitter, got {type(submitter).__name__}")
        else:
            before = len(chk.problems)
            chk.text(f"{f}.name", submitter.name, 60)
            chk.text(f"{f}.identifier", submitter.identifier, 15, min_len=2)
            chk.text(f"{f}.contact_name", submitter.contact_name, 60)
            chk.digits(f"{f}.contact_phone", submitter.contact_phone, (10,))
            chk.code(f"{f}.interchange_qualifier", submitter.interchange_qualifier, _ISA_QUALIFIERS)
            _passed(chk, before, submitter)
    receiver: object = claim.receiver
    if chk.unchecked(receiver):
        f = f"{field}.receiver"
        if not isinstance(receiver, Receiver):
            chk.add(f, f"must be a Receiver, got {type(receiver).__name__}")
        else:
            before = len(chk.problems)
            chk.text(f"{f}.name", receiver.name, 60)
            chk.text(f"{f}.identifier", receiver.identifier, 15, min_len=2)
            chk.code(f"{f}.interchange_qualifier", receiver.interchange_qualifier, _ISA_QUALIFIERS)
            _passed(chk, before, receiver)
    provider: object = claim.billing_provider
    institutional = kind is ClaimKind.INSTITUTIONAL
    if chk.unchecked(provider, institutional):
        f = f"{field}.billing_provider"
        if not isinstance(provider, BillingProvider):
            chk.add(f, f"must be a BillingProvider, got {type(provider).__name__}")
        else:
            before = len(chk.problems)
            chk.npi(f"{f}.npi", provider.npi)
            chk.text(f"{f}.name", provider.name, 60)
            chk.text(f"{f}.first_name", provider.first_name, 35, required=False)
            if kind is ClaimKind.INSTITUTIONAL and provider.first_name is not None:
                chk.add(f"{f}.first_name", "an institutional billing provider must be an organization")
            if provider.taxonomy is not None:
                chk.pattern(f"{f}.taxonomy", provider.taxonomy, _TAXONOMY, "a 10-character taxonomy code")
            chk.code(f"{f}.tax_id_qualifier", provider.tax_id_qualifier, _TAX_ID_QUALIFIERS)
            if kind is ClaimKind.INSTITUTIONAL and provider.tax_id_qualifier != TaxIdQualifier.EIN:
                chk.add(f"{f}.tax_id_qualifier", "an institutional billing provider is identified by its EIN")
            chk.digits(f"{f}.tax_id", provider.tax_id, (9,))
            _check_address(chk, f"{f}.address", provider.address, nine_digit_zip=True)
            if provider.pay_to_address is not None:
                _check_address(chk, f"{f}.pay_to_address", provider.pay_to_address)
            _passed(chk, before, provider, institutional)
    payer = claim.payer
    if chk.unchecked(payer):
        before = len(chk.problems)
        _check_payer(chk, f"{field}.payer", payer)
        _passed(chk, before, payer)
    subscriber = claim.subscriber
    is_patient = claim.patient is None
    if chk.first_visit(subscriber, is_patient) and not _plain_subscriber(subscriber, is_patient):
        _check_subscriber(chk, f"{field}.subscriber", subscriber, is_patient)
    patient: object = claim.patient
    if patient is not None and chk.first_visit(patient) and not _plain_patient(patient):
        f = f"{field}.patient"
        if not isinstance(patient, Patient):
            chk.add(f, f"must be a Patient, got {type(patient).__name__}")
        else:
            chk.text(f"{f}.last_name", patient.last_name, 60)
            chk.text(f"{f}.first_name", patient.first_name, 35)
            chk.text(f"{f}.middle_name", patient.middle_name, 25, required=False)
            chk.day(f"{f}.birth_date", patient.birth_date)
            chk.code(f"{f}.sex", patient.sex, _SEXES)
            _check_address(chk, f"{f}.address", patient.address)
            chk.code(f"{f}.relationship", patient.relationship, _RELATIONSHIPS - {Relationship.SELF.value})
    if claim.referring_provider is not None:
        _check_provider(chk, f"{field}.referring_provider", claim.referring_provider)
    if claim.rendering_provider is not None:
        _check_provider(chk, f"{field}.rendering_provider", claim.rendering_provider)
    facility: object = claim.service_facility
    if facility is not None and chk.unchecked(facility):
        f = f"{field}.service_facility"
        if not isinstance(facility, ServiceFacility):
            chk.add(f, f"must be a ServiceFacility, got {type(facility).__name__}")
        else:
            before = len(chk.problems)
            chk.text(f"{f}.name", facility.name, 60)
            _check_address(chk, f"{f}.address", facility.address)
            if facility.npi is not None:
                chk.npi(f"{f}.npi", facility.npi)
            _passed(chk, before, facility)
    if claim.supervising_provider is not None:
        _check_provider(chk, f"{field}.supervising_provider", claim.supervising_provider)
    if isinstance(claim.institutional, InstitutionalDetails):
        _check_provider(chk, f"{field}.institutional.attending", claim.institutional.attending)
        for role in ("operating", "other_operating"):
            if getattr(claim.institutional, role) is not None:
                _check_provider(chk, f"{field}.institutional.{role}", getattr(claim.institutional, role))
    if type(claim.other_coverages) is tuple:
        coverages: tuple[object, ...] = claim.other_coverages
        for i, coverage in enumerate(coverages):
            if not isinstance(coverage, OtherCoverage):
                continue
            if chk.first_visit(coverage.payer):
                _check_payer(chk, f"{field}.other_coverages[{i}].payer", coverage.payer)
            if chk.first_visit(coverage.subscriber) and not _plain_subscriber(coverage.subscriber, False):
                _check_subscriber(
                    chk, f"{field}.other_coverages[{i}].subscriber", coverage.subscriber, is_patient=False
                )
    if type(claim.other_payers) is tuple:
        others: tuple[object, ...] = claim.other_payers
        for i, other in enumerate(others):
            if not isinstance(other, OtherPayer):
                continue
            if chk.first_visit(other.payer):
                _check_payer(chk, f"{field}.other_payers[{i}].payer", other.payer)
            if chk.first_visit(other.subscriber) and not _plain_subscriber(other.subscriber, False):
                _check_subscriber(chk, f"{field}.other_payers[{i}].subscriber", other.subscriber, is_patient=False)


def _check_adjustments(chk: _Checker, field: str, adjustments: tuple[Adjustment, ...]) -> int:
    total = 0
    groups: dict[str, int] = {}
    for i, adjustment in enumerate(adjustments):
        f = f"{field}[{i}]"
        chk.code(f"{f}.group", adjustment.group, _ADJUSTMENT_GROUPS)
        chk.pattern(f"{f}.reason_code", adjustment.reason_code, _CARC, "a claim adjustment reason code")
        if chk.cents(f"{f}.amount_cents", adjustment.amount_cents, allow_negative=True):
            total += adjustment.amount_cents
        if adjustment.quantity is not None:
            chk.quantity(f"{f}.quantity", adjustment.quantity)
        groups[adjustment.group] = groups.get(adjustment.group, 0) + 1
    segments = sum(-(-n // MAX_ADJUSTMENTS_PER_CAS) for n in groups.values())
    if segments > MAX_CAS_SEGMENTS:
        chk.add(field, f"needs {segments} CAS segments; at most {MAX_CAS_SEGMENTS} fit in one loop")
    return total


def _check_other_payer(chk: _Checker, field: str, other: object, claim: Claim, kind: ClaimKind) -> None:
    if not isinstance(other, OtherPayer):
        chk.add(field, f"must be an OtherPayer, got {type(other).__name__}")
        return
    if (
        isinstance(other.payer, Payer)
        and isinstance(claim.payer, Payer)
        and other.payer.payer_id == claim.payer.payer_id
    ):
        chk.add(f"{field}.payer.payer_id", "must differ from the payer the claim is sent to")
    chk.code(f"{field}.responsibility", other.responsibility, _RESPONSIBILITIES)
    if other.responsibility == claim.payer_responsibility:
        chk.add(f"{field}.responsibility", "must differ from the claim's own payer responsibility")
    chk.code(f"{field}.relationship", other.relationship, _RELATIONSHIPS)
    chk.cents(f"{field}.paid_cents", other.paid_cents)
    chk.day(f"{field}.adjudication_date", other.adjudication_date)
    if other.remaining_patient_liability_cents is not None:
        chk.cents(f"{field}.remaining_patient_liability_cents", other.remaining_patient_liability_cents)
    if other.non_covered_cents is not None:
        chk.cents(f"{field}.non_covered_cents", other.non_covered_cents)
    chk.text(f"{field}.payer_claim_control_number", other.payer_claim_control_number, 50, required=False)
    adjusted = _check_adjustments(chk, f"{field}.claim_adjustments", other.claim_adjustments)
    per_line: dict[int, int] = {}
    for i, adjudication in enumerate(other.line_adjudications):
        f = f"{field}.line_adjudications[{i}]"
        number = adjudication.line_number
        if type(number) is not int or not 1 <= number <= len(claim.lines):
            chk.add(f"{f}.line_number", f"must point at one of the claim's {len(claim.lines)} lines, got {number!r}")
            continue
        per_line[number] = per_line.get(number, 0) + 1
        if per_line[number] == MAX_LINE_ADJUDICATIONS + 1:
            chk.add(f"{f}.line_number", f"line {number} has more than {MAX_LINE_ADJUDICATIONS} adjudications")
        line = claim.lines[number - 1]
        paid_ok = chk.cents(f"{f}.paid_cents", adjudication.paid_cents)
        chk.day(f"{f}.adjudication_date", adjudication.adjudication_date)
        chk.quantity(f"{f}.paid_units", adjudication.paid_units, allow_zero=True)  # SVD05 0: a denied line
        if adjudication.procedure_code is not None:
            chk.pattern(f"{f}.procedure_code", adjudication.procedure_code, _PROCEDURE, "a 5-character CPT/HCPCS code")
        elif kind is ClaimKind.PROFESSIONAL and line.procedure_code is None:
            chk.add(f"{f}.procedure_code", "is required (the line has none to repeat)")
        _check_modifiers(chk, f"{f}.modifiers", adjudication.modifiers)
        if adjudication.modifiers and adjudication.procedure_code is None:
            chk.add(f"{f}.modifiers", "need a procedure_code to modify")
        if adjudication.revenue_code is not None:
            chk.digits(f"{f}.revenue_code", adjudication.revenue_code, (4,))
        if adjudication.remaining_patient_liability_cents is not None:
            chk.cents(f"{f}.remaining_patient_liability_cents", adjudication.remaining_patient_liability_cents)
        line_adjusted = _check_adjustments(chk, f"{f}.adjustments", adjudication.adjustments)
        adjusted += line_adjusted
        if paid_ok and type(line.charge_cents) is int and line.charge_cents - line_adjusted != adjudication.paid_cents:
            chk.add(
                f"{f}.paid_cents",
                f"line charge {line.charge_cents} minus adjustments {line_adjusted} is "
                f"{line.charge_cents - line_adjusted}, not the paid {adjudication.paid_cents}",
            )
    if (
        type(other.paid_cents) is int
        and type(claim.total_charge_cents) is int
        and claim.total_charge_cents - adjusted != other.paid_cents
    ):
        chk.add(
            f"{field}.paid_cents",
            f"claim charge {claim.total_charge_cents} minus all adjustments {adjusted} is "
            f"{claim.total_charge_cents - adjusted}, not the paid {other.paid_cents} (COB does not balance)",
        )


def _check_other_coverage(chk: _Checker, field: str, coverage: object, claim: Claim) -> None:
    if not isinstance(coverage, OtherCoverage):
        chk.add(field, f"must be an OtherCoverage, got {type(coverage).__name__}")
        return
    if (
        isinstance(coverage.payer, Payer)
        and isinstance(claim.payer, Payer)
        and coverage.payer.payer_id == claim.payer.payer_id
    ):
        chk.add(f"{field}.payer.payer_id", "must differ from the payer the claim is sent to")
    chk.code(f"{field}.responsibility", coverage.responsibility, _RESPONSIBILITIES)
    if coverage.responsibility == claim.payer_responsibility:
        chk.add(f"{field}.responsibility", "must differ from the claim's own payer responsibility")
    chk.code(f"{field}.relationship", coverage.relationship, _RELATIONSHIPS)


def _check_attachments(chk: _Checker, field: str, attachments: object) -> None:
    if type(attachments) is not tuple:
        chk.add(field, f"must be a tuple, got {type(attachments).__name__}")
        return
    if len(attachments) > MAX_ATTACHMENTS:
        chk.add(field, f"at most {MAX_ATTACHMENTS} attachments, got {len(attachments)}")
    for i, attachment in enumerate(attachments):
        f = f"{field}[{i}]"
        if not isinstance(attachment, Attachment):
            chk.add(f, f"must be an Attachment, got {type(attachment).__name__}")
            continue
        chk.pattern(f"{f}.report_type", attachment.report_type, _ATTACHMENT_TYPE, "a 2-character PWK01 report type")
        chk.code(f"{f}.transmission", attachment.transmission, _TRANSMISSIONS)
        if attachment.control_number is None:
            if attachment.transmission != AttachmentTransmission.AVAILABLE_ON_REQUEST:
                chk.add(f"{f}.control_number", "is required unless the attachment is available on request (AA)")
        else:
            chk.text(f"{f}.control_number", attachment.control_number, 50, min_len=2)


def _check_accident(chk: _Checker, field: str, accident: object) -> None:
    if not isinstance(accident, Accident):
        chk.add(field, f"must be an Accident, got {type(accident).__name__}")
        return
    causes = accident.causes
    if type(causes) is not tuple or not 1 <= len(causes) <= 2:
        chk.add(f"{field}.causes", "one or two related causes (AA, EM, OA)")
        return
    for i, cause in enumerate(causes):
        chk.code(f"{field}.causes[{i}]", cause, _RELATED_CAUSES)
    if RelatedCause.AUTO_ACCIDENT in causes:
        chk.code(f"{field}.state", accident.state, _US_STATES)
    elif accident.state is not None:
        chk.add(f"{field}.state", "is only sent for an auto accident (AA)")
    if accident.occurred_on is not None:
        chk.day(f"{field}.occurred_on", accident.occurred_on)
    elif RelatedCause.AUTO_ACCIDENT in causes or RelatedCause.OTHER_ACCIDENT in causes:
        chk.add(f"{field}.occurred_on", "is required for an accident (DTP*439)")


def _check_ambulance(chk: _Checker, field: str, trip: object) -> None:
    if not isinstance(trip, AmbulanceTransport):
        chk.add(field, f"must be an AmbulanceTransport, got {type(trip).__name__}")
        return
    chk.code(f"{field}.reason_code", trip.reason_code, _AMBULANCE_REASONS)
    chk.quantity(f"{field}.distance_miles", trip.distance_miles)
    _check_address(chk, f"{field}.pick_up", trip.pick_up)
    _check_address(chk, f"{field}.drop_off", trip.drop_off)
    chk.text(f"{field}.drop_off_name", trip.drop_off_name, 60)
    weight = trip.patient_weight_lbs
    if weight is not None and (type(weight) is not int or not 0 < weight < 10_000):
        chk.add(f"{field}.patient_weight_lbs", f"must be 1 to 9999 pounds, got {weight!r}")
    if len(trip.condition_codes) > 5:
        chk.add(f"{field}.condition_codes", f"at most 5, got {len(trip.condition_codes)}")
    for i, code in enumerate(trip.condition_codes):
        chk.code(f"{field}.condition_codes[{i}]", code, _AMBULANCE_CONDITIONS)
    chk.text(f"{field}.round_trip_purpose", trip.round_trip_purpose, 80, required=False)
    chk.text(f"{field}.stretcher_purpose", trip.stretcher_purpose, 80, required=False)


def _check_modifiers(chk: _Checker, field: str, modifiers: tuple[str, ...]) -> None:
    if len(modifiers) > 4:
        chk.add(field, f"at most 4 modifiers, got {len(modifiers)}")
    for i, modifier in enumerate(modifiers):
        chk.pattern(f"{field}[{i}]", modifier, _MODIFIER, "a 2-character modifier")


def _check_line(chk: _Checker, field: str, line: object, claim: Claim, kind: ClaimKind) -> None:
    if not isinstance(line, ServiceLine):
        chk.add(field, f"must be a ServiceLine, got {type(line).__name__}")
        return
    chk.cents(f"{field}.charge_cents", line.charge_cents)
    chk.quantity(f"{field}.units", line.units)
    if line.procedure_code is not None:
        chk.pattern(f"{field}.procedure_code", line.procedure_code, _PROCEDURE, "a 5-character CPT/HCPCS code")
    _check_modifiers(chk, f"{field}.modifiers", line.modifiers)
    if line.modifiers and line.procedure_code is None:
        chk.add(f"{field}.modifiers", "need a procedure_code to modify")
    chk.text(f"{field}.control_number", line.control_number, 50, required=False)
    if (
        line.service_date_end is not None
        and line.service_date is not None
        and chk.day(f"{field}.service_date", line.service_date)
        and chk.day(f"{field}.service_date_end", line.service_date_end)
        and line.service_date_end < line.service_date
    ):
        chk.add(f"{field}.service_date_end", "is before service_date")
    if kind is ClaimKind.PROFESSIONAL:
        if line.procedure_code is None:
            chk.add(f"{field}.procedure_code", "is required on a professional line")
        chk.day(f"{field}.service_date", line.service_date)
        if line.revenue_code is not None:
            chk.add(f"{field}.revenue_code", "is only used on institutional lines")
        pointers = line.diagnosis_pointers
        if not pointers:
            chk.add(f"{field}.diagnosis_pointers", "at least one diagnosis pointer is required")
        elif len(pointers) > 4:
            chk.add(f"{field}.diagnosis_pointers", f"at most 4 pointers, got {len(pointers)}")
        else:
            limit = min(len(claim.diagnoses), MAX_DIAGNOSES[kind])
            for i, pointer in enumerate(pointers):
                if type(pointer) is not int or not 1 <= pointer <= limit:
                    chk.add(
                        f"{field}.diagnosis_pointers[{i}]", f"must point at one of {limit} diagnoses, got {pointer!r}"
                    )
            if len(set(pointers)) != len(pointers):
                chk.add(f"{field}.diagnosis_pointers", "repeats a pointer")
        if line.place_of_service is not None:
            chk.digits(f"{field}.place_of_service", line.place_of_service, (2,))
    else:
        chk.digits(f"{field}.revenue_code", line.revenue_code, (4,))
        if line.diagnosis_pointers:
            chk.add(f"{field}.diagnosis_pointers", "are not used on institutional lines")
        if line.place_of_service is not None:
            chk.add(f"{field}.place_of_service", "is not used on institutional lines")
        if line.emergency:
            chk.add(f"{field}.emergency", "is not used on institutional lines")
        if line.service_date is not None:
            chk.day(f"{field}.service_date", line.service_date)
    chk.code(f"{field}.unit_basis", line.unit_basis, _UNIT_BASES)
    if line.rendering_provider is not None:
        _check_provider(chk, f"{field}.rendering_provider", line.rendering_provider)
    if line.attachments:
        _check_attachments(chk, f"{field}.attachments", line.attachments)
    if kind is ClaimKind.INSTITUTIONAL:
        if line.unit_basis != UnitBasis.UNIT:
            chk.add(f"{field}.unit_basis", "anesthesia minutes (MJ) are billed on an 837P")
        for role in ("ordering_provider", "supervising_provider", "dme_certificate"):
            if getattr(line, role) is not None:
                chk.add(f"{field}.{role}", "is only sent on an 837P line")
    else:
        for role in ("ordering_provider", "supervising_provider"):
            if getattr(line, role) is not None:
                _check_provider(chk, f"{field}.{role}", getattr(line, role))
        certificate: object = line.dme_certificate  # checked as a value from outside: any type may come
        if certificate is not None:
            if not isinstance(certificate, DmeCertificate):
                chk.add(f"{field}.dme_certificate", f"must be a DmeCertificate, got {type(certificate).__name__}")
            else:
                chk.code(f"{field}.dme_certificate.certification", certificate.certification, _DME_CERTIFICATIONS)
                months = certificate.duration_months
                if type(months) is not int or not 1 <= months <= 99:
                    chk.add(f"{field}.dme_certificate.duration_months", f"must be 1 to 99 months, got {months!r}")
    drug = line.drug
    if drug is not None:
        chk.digits(f"{field}.drug.ndc", drug.ndc, (11,))
        chk.quantity(f"{field}.drug.quantity", drug.quantity)
        chk.code(f"{field}.drug.unit", drug.unit, _DRUG_UNITS)


def _check_institutional(chk: _Checker, field: str, details: object, claim: Claim) -> None:
    if not isinstance(details, InstitutionalDetails):
        chk.add(field, f"must be InstitutionalDetails, got {type(details).__name__}")
        return
    chk.digits(f"{field}.facility_type_code", details.facility_type_code, (2,))
    if chk.day(f"{field}.statement_from", details.statement_from) and chk.day(
        f"{field}.statement_to", details.statement_to
    ):
        if details.statement_to < details.statement_from:
            chk.add(f"{field}.statement_to", "is before statement_from")
        else:
            for i, line in enumerate(claim.lines):
                service_date = getattr(line, "service_date", None)
                if type(service_date) is date and not (details.statement_from <= service_date <= details.statement_to):
                    chk.add(f"{field.rsplit('.', 1)[0]}.lines[{i}].service_date", "is outside the statement period")
    chk.digits(f"{field}.patient_status_code", details.patient_status_code, (2,))
    admission = details.admission
    if admission is None:
        if details.facility_type_code in _INPATIENT_FACILITY_TYPES:
            chk.add(f"{field}.admission", "is required on an inpatient claim")
    else:
        f = f"{field}.admission"
        chk.day(f"{f}.admitted_on", admission.admitted_on)
        chk.digits(f"{f}.type_code", admission.type_code, (1,))
        chk.pattern(f"{f}.source_code", admission.source_code, _ALNUM1, "one letter or digit")
        if admission.hour is not None and (type(admission.hour) is not int or not 0 <= admission.hour <= 23):
            chk.add(f"{f}.hour", f"must be 0 to 23, got {admission.hour!r}")
        if type(admission.minute) is not int or not 0 <= admission.minute <= 59:
            chk.add(f"{f}.minute", f"must be 0 to 59, got {admission.minute!r}")
    if details.admitting_diagnosis is not None:
        chk.pattern(f"{field}.admitting_diagnosis", details.admitting_diagnosis, _ICD10CM, "an ICD-10-CM code")
    _check_inpatient_codes(chk, field, details)
    if details.present_on_admission:
        if len(details.present_on_admission) != len(claim.diagnoses):
            chk.add(f"{field}.present_on_admission", "must be empty or have one indicator per diagnosis")
        for i, indicator in enumerate(details.present_on_admission):
            chk.code(f"{field}.present_on_admission[{i}]", indicator, _POA)


def _check_inpatient_codes(chk: _Checker, field: str, details: InstitutionalDetails) -> None:
    """The 837I's HI code lists, discharge hour and DRG."""
    if details.discharge_hour is not None and (
        type(details.discharge_hour) is not int or not 0 <= details.discharge_hour <= 23
    ):
        chk.add(f"{field}.discharge_hour", f"must be 0 to 23, got {details.discharge_hour!r}")
    if type(details.discharge_minute) is not int or not 0 <= details.discharge_minute <= 59:
        chk.add(f"{field}.discharge_minute", f"must be 0 to 59, got {details.discharge_minute!r}")
    if len(details.patient_reasons_for_visit) > MAX_PATIENT_REASONS:
        chk.add(f"{field}.patient_reasons_for_visit", f"at most {MAX_PATIENT_REASONS}")
    for i, code in enumerate(details.patient_reasons_for_visit):
        chk.pattern(f"{field}.patient_reasons_for_visit[{i}]", code, _ICD10CM, "an ICD-10-CM code")
    if details.drg is not None:
        chk.pattern(f"{field}.drg", details.drg, _DRG, "a 3-digit DRG")
    procedures = [
        *([("principal_procedure", details.principal_procedure)] if details.principal_procedure is not None else []),
        *((f"other_procedures[{i}]", p) for i, p in enumerate(details.other_procedures)),
    ]
    if details.other_procedures and details.principal_procedure is None:
        chk.add(f"{field}.principal_procedure", "is required when other procedures are given")
    for name, procedure in procedures:
        chk.pattern(f"{field}.{name}.code", procedure.code, _ICD10PCS, "an ICD-10-PCS code (7 characters)")
        chk.day(f"{field}.{name}.performed_on", procedure.performed_on)
    for i, occurrence in enumerate(details.occurrences):
        chk.pattern(f"{field}.occurrences[{i}].code", occurrence.code, _UB04_CODE, "a 2-character occurrence code")
        chk.day(f"{field}.occurrences[{i}].occurred_on", occurrence.occurred_on)
    for i, span in enumerate(details.occurrence_spans):
        f = f"{field}.occurrence_spans[{i}]"
        chk.pattern(f"{f}.code", span.code, _UB04_CODE, "a 2-character occurrence span code")
        if chk.day(f"{f}.start", span.start) and chk.day(f"{f}.end", span.end) and span.end < span.start:
            chk.add(f"{f}.end", "is before start")
    for i, value in enumerate(details.values):
        chk.pattern(f"{field}.values[{i}].code", value.code, _UB04_CODE, "a 2-character value code")
        chk.cents(f"{field}.values[{i}].amount_cents", value.amount_cents, allow_negative=True)
    for i, code in enumerate(details.condition_codes):
        chk.pattern(f"{field}.condition_codes[{i}]", code, _UB04_CODE, "a 2-character condition code")
    for name in ("other_procedures", "occurrences", "occurrence_spans", "values", "condition_codes"):
        if len(getattr(details, name)) > MAX_HI_REPEATS:
            chk.add(f"{field}.{name}", f"at most {MAX_HI_REPEATS}, got {len(getattr(details, name))}")


def _check_claim_own(chk: _Checker, field: str, claim: Claim, kind: ClaimKind) -> None:
    """Everything that belongs to this claim alone (parties are checked by ``_check_parties``)."""
    for name in ("diagnoses", "lines", "other_payers"):
        if not isinstance(getattr(claim, name), tuple | list):
            chk.add(f"{field}.{name}", f"must be a tuple, got {type(getattr(claim, name)).__name__}")
            return
    chk.text(f"{field}.control_number", claim.control_number, 38)
    chk.code(f"{field}.payer_responsibility", claim.payer_responsibility, _RESPONSIBILITIES)
    chk.code(f"{field}.frequency", claim.frequency, _FREQUENCIES)
    if kind is ClaimKind.PROFESSIONAL and claim.frequency in _FREQUENCIES - _PROFESSIONAL_FREQUENCIES:
        chk.add(f"{field}.frequency", "interim bills (2, 3, 4) and late charges (5) are institutional claims")
    if claim.delay_reason is not None:
        chk.code(f"{field}.delay_reason", claim.delay_reason, _DELAY_REASONS)
    if claim.attachments:
        _check_attachments(chk, f"{field}.attachments", claim.attachments)
    if kind is ClaimKind.PROFESSIONAL:
        if claim.accident is not None:
            _check_accident(chk, f"{field}.accident", claim.accident)
        if claim.onset_date is not None:
            chk.day(f"{field}.onset_date", claim.onset_date)
        if claim.ambulance is not None:
            _check_ambulance(chk, f"{field}.ambulance", claim.ambulance)
    else:
        for name in ("accident", "onset_date", "ambulance", "supervising_provider"):
            if getattr(claim, name) is not None:
                chk.add(f"{field}.{name}", "is only sent on an 837P")
    chk.code(f"{field}.assignment", claim.assignment, _ASSIGNMENTS)
    chk.code(f"{field}.release_of_information", claim.release_of_information, _RELEASES)
    if claim.frequency in (ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID):
        if claim.original_claim_number is None:
            chk.add(f"{field}.original_claim_number", "is required to replace or void a claim (REF*F8)")
        else:
            chk.text(f"{field}.original_claim_number", claim.original_claim_number, 50)
    elif claim.original_claim_number is not None:
        chk.add(f"{field}.original_claim_number", "is only sent with frequency 7 (replacement) or 8 (void)")
    chk.text(f"{field}.prior_authorization", claim.prior_authorization, 50, required=False)

    diagnoses = claim.diagnoses
    if not diagnoses:
        chk.add(f"{field}.diagnoses", "at least one diagnosis (the principal) is required")
    elif len(diagnoses) > MAX_DIAGNOSES[kind]:
        chk.add(f"{field}.diagnoses", f"at most {MAX_DIAGNOSES[kind]} on a {kind.value}, got {len(diagnoses)}")
    for i, code in enumerate(diagnoses):
        chk.pattern(f"{field}.diagnoses[{i}]", code, _ICD10CM, "an ICD-10-CM code")

    lines = claim.lines
    if not lines:
        chk.add(f"{field}.lines", "at least one service line is required")
    elif len(lines) > MAX_LINES[kind]:
        chk.add(f"{field}.lines", f"at most {MAX_LINES[kind]} lines on a {kind.value}, got {len(lines)}")
    line_total = 0
    for i, line in enumerate(lines):
        _check_line(chk, f"{field}.lines[{i}]", line, claim, kind)
        if type(getattr(line, "charge_cents", None)) is int:
            line_total += line.charge_cents
    if chk.cents(f"{field}.total_charge_cents", claim.total_charge_cents) and line_total != claim.total_charge_cents:
        chk.add(f"{field}.total_charge_cents", f"is {claim.total_charge_cents} but the lines add up to {line_total}")

    if len(claim.other_payers) > MAX_OTHER_PAYERS:
        chk.add(f"{field}.other_payers", f"at most {MAX_OTHER_PAYERS}, got {len(claim.other_payers)}")
    if claim.other_payers and claim.payer_responsibility == PayerResponsibility.PRIMARY:
        chk.add(f"{field}.payer_responsibility", "a claim carrying another payer's adjudication is not primary")
    for i, other in enumerate(claim.other_payers):
        _check_other_payer(chk, f"{field}.other_payers[{i}]", other, claim, kind)
    coverages: object = claim.other_coverages
    if not isinstance(coverages, tuple):
        chk.add(f"{field}.other_coverages", f"must be a tuple, got {type(coverages).__name__}")
    else:
        if len(claim.other_payers) + len(claim.other_coverages) > MAX_OTHER_PAYERS:
            chk.add(f"{field}.other_coverages", f"at most {MAX_OTHER_PAYERS} other payers in all")
        for i, coverage in enumerate(claim.other_coverages):
            _check_other_coverage(chk, f"{field}.other_coverages[{i}]", coverage, claim)

    if kind is ClaimKind.PROFESSIONAL:
        chk.digits(f"{field}.place_of_service", claim.place_of_service, (2,))
    else:
        _check_institutional(chk, f"{field}.institutional", claim.institutional, claim)


# The fast path: a strict yes/no for the common claim. It never accepts
# what ``_check_claim_own`` would reject; anything it is unsure of goes the slow way,
# which is also the only place problems are described.


@cache
def _plain_text_pattern(max_len: int) -> re.Pattern[str]:
    """1..max_len characters of the X12 set, not starting or ending with a space."""
    edge = _TEXT_CHARS.replace(" ", "")
    if max_len < 2:
        return re.compile(f"[{edge}]")
    return re.compile(f"[{edge}](?:[{_TEXT_CHARS}]{{0,{max_len - 2}}}[{edge}])?")


def _plain_text(value: object, max_len: int) -> bool:
    return type(value) is str and _plain_text_pattern(max_len).fullmatch(value) is not None


def _plain_name(value: object, max_len: int) -> bool:
    return value is None or _plain_text(value, max_len)


def _plain_address(address: object) -> bool:
    if type(address) is not Address:
        return False
    postal = address.postal_code
    city = address.city
    return (
        _plain_text(address.line1, 55)
        and _plain_name(address.line2, 55)
        and _plain_text(city, 30)
        and len(city) > 1
        and isinstance(address.state, str)
        and address.state in _US_STATES
        and type(postal) is str
        and len(postal) in POSTAL_CODE_DIGITS
        and _DIGITS.fullmatch(postal) is not None
    )


def _plain_subscriber(subscriber: object, is_patient: bool) -> bool:
    if type(subscriber) is not Subscriber:
        return False
    if not (
        _plain_text(subscriber.member_id, 80)
        and len(subscriber.member_id) > 1
        and _plain_text(subscriber.last_name, 60)
        and _plain_name(subscriber.first_name, 35)
        and _plain_name(subscriber.middle_name, 25)
        and _plain_name(subscriber.group_number, 50)
        and _plain_name(subscriber.group_name, 60)
    ):
        return False
    if is_patient:
        return (
            type(subscriber.birth_date) is date and type(subscriber.sex) is Sex and _plain_address(subscriber.address)
        )
    return (
        (subscriber.birth_date is None or type(subscriber.birth_date) is date)
        and (subscriber.sex is None or type(subscriber.sex) is Sex)
        and (subscriber.address is None or _plain_address(subscriber.address))
    )


def _plain_patient(patient: object) -> bool:
    return (
        type(patient) is Patient
        and _plain_text(patient.last_name, 60)
        and _plain_text(patient.first_name, 35)
        and _plain_name(patient.middle_name, 25)
        and type(patient.birth_date) is date
        and type(patient.sex) is Sex
        and type(patient.relationship) is Relationship
        and patient.relationship is not Relationship.SELF
        and _plain_address(patient.address)
    )


def _plain_drug(drug: object) -> bool:
    if type(drug) is not DrugIdentification:
        return False
    quantity = drug.quantity
    ndc = drug.ndc
    return (
        type(ndc) is str
        and len(ndc) == 11
        and _DIGITS.fullmatch(ndc) is not None
        and type(quantity) is int
        and 0 < quantity < _MAX_QUANTITY
        and type(drug.unit) is DrugUnit
    )


def _plain_line_extras(line: ServiceLine) -> bool:
    """Lines with none of the less common parts (providers, attachments, CR3, minutes)."""
    return (
        line.unit_basis is UnitBasis.UNIT
        and line.rendering_provider is None
        and line.ordering_provider is None
        and line.supervising_provider is None
        and line.attachments == ()
        and line.dme_certificate is None
    )


def _plain_institutional_line(line: object, details: InstitutionalDetails) -> bool:
    if type(line) is not ServiceLine:
        return False
    if not _plain_line_extras(line):
        return False
    charge = line.charge_cents
    units = line.units
    code = line.procedure_code
    revenue = line.revenue_code
    service_date = line.service_date
    if not (
        type(charge) is int
        and 0 <= charge < _MAX_CENTS
        and type(units) is int
        and 0 < units < _MAX_QUANTITY
        and _plain_revenue_code(revenue, required=True)
        and (code is None or (type(code) is str and _PROCEDURE.fullmatch(code) is not None))
        and line.service_date_end is None
        and not line.diagnosis_pointers
        and line.place_of_service is None
        and not line.emergency
        and (
            service_date is None
            or (type(service_date) is date and details.statement_from <= service_date <= details.statement_to)
        )
        and (line.drug is None or _plain_drug(line.drug))
    ):
        return False
    modifiers = line.modifiers
    if modifiers:
        if code is None or type(modifiers) is not tuple or len(modifiers) > 4:
            return False
        for modifier in modifiers:
            if type(modifier) is not str or _MODIFIER.fullmatch(modifier) is None:
                return False
    control = line.control_number
    return control is None or _plain_text(control, 50)


def _plain_institutional_details(details: object, diagnosis_count: int) -> bool:
    if type(details) is not InstitutionalDetails:
        return False
    facility = details.facility_type_code
    status = details.patient_status_code
    if not (
        type(facility) is str
        and len(facility) == 2
        and _DIGITS.fullmatch(facility) is not None
        and type(status) is str
        and len(status) == 2
        and _DIGITS.fullmatch(status) is not None
        and type(details.statement_from) is date
        and type(details.statement_to) is date
        and details.statement_from <= details.statement_to
        and not details.present_on_admission
        and details.discharge_hour is None
        and details.discharge_minute == 0
        and details.patient_reasons_for_visit == ()
        and details.drg is None
        and details.principal_procedure is None
        and details.other_procedures == ()
        and details.occurrences == ()
        and details.occurrence_spans == ()
        and details.values == ()
        and details.condition_codes == ()
        and details.operating is None
        and details.other_operating is None
        and (
            details.admitting_diagnosis is None
            or (
                type(details.admitting_diagnosis) is str and _ICD10CM.fullmatch(details.admitting_diagnosis) is not None
            )
        )
    ):
        return False
    admission = details.admission
    if admission is None:
        return facility not in _INPATIENT_FACILITY_TYPES
    return (
        type(admission) is Admission
        and type(admission.admitted_on) is date
        and admission.hour is None
        and admission.minute == 0
        and type(admission.type_code) is str
        and len(admission.type_code) == 1
        and _DIGITS.fullmatch(admission.type_code) is not None
        and type(admission.source_code) is str
        and _ALNUM1.fullmatch(admission.source_code) is not None
    )


def _plain_professional_line(line: object, diagnosis_limit: int) -> bool:
    if type(line) is not ServiceLine or not _plain_line_extras(line):
        return False
    charge = line.charge_cents
    units = line.units
    code = line.procedure_code
    pointers = line.diagnosis_pointers
    if not (
        type(charge) is int
        and 0 <= charge < _MAX_CENTS
        and type(units) is int
        and 0 < units < _MAX_QUANTITY
        and type(code) is str
        and _PROCEDURE.fullmatch(code) is not None
        and type(line.service_date) is date
        and line.service_date_end is None
        and line.revenue_code is None
        and line.place_of_service is None
        and (line.drug is None or _plain_drug(line.drug))
        and type(pointers) is tuple
        and 0 < len(pointers) <= 4
    ):
        return False
    for pointer in pointers:
        if type(pointer) is not int or not 0 < pointer <= diagnosis_limit:
            return False
    if len(pointers) > 1 and len(set(pointers)) != len(pointers):
        return False
    modifiers = line.modifiers
    if modifiers:
        if type(modifiers) is not tuple or len(modifiers) > 4:
            return False
        for modifier in modifiers:
            if type(modifier) is not str or _MODIFIER.fullmatch(modifier) is None:
                return False
    control = line.control_number
    return control is None or _plain_text(control, 50)


def _plain_adjustments(adjustments: object) -> int | None:
    """The total of plain adjustments, or None when any needs the detailed checks."""
    if type(adjustments) is not tuple or len(adjustments) > MAX_CAS_SEGMENTS:
        return None
    total = 0
    for adjustment in adjustments:
        if type(adjustment) is not Adjustment:
            return None
        amount = adjustment.amount_cents
        reason = adjustment.reason_code
        if not (
            type(adjustment.group) is AdjustmentGroup
            and type(reason) is str
            and _CARC.fullmatch(reason) is not None
            and type(amount) is int
            and -_MAX_CENTS < amount < _MAX_CENTS
            and adjustment.quantity is None
        ):
            return None
        total += amount
    return total


def _plain_revenue_code(value: object, required: bool) -> bool:
    if value is None:
        return not required
    return type(value) is str and len(value) == 4 and _DIGITS.fullmatch(value) is not None


def _plain_optional_cents(value: object) -> bool:
    return value is None or (type(value) is int and 0 <= value < _MAX_CENTS)


def _plain_other_payers(claim: Claim) -> bool:
    """COB data from the primary's remittance, balanced per line and per claim."""
    others = claim.other_payers
    lines = claim.lines
    if type(others) is not tuple or len(others) > MAX_OTHER_PAYERS or type(claim.payer) is not Payer:
        return False
    if claim.payer_responsibility == PayerResponsibility.PRIMARY:
        return False
    professional = claim.institutional is None
    for other in others:
        if type(other) is not OtherPayer or type(other.payer) is not Payer:
            return False
        paid = other.paid_cents
        if not (
            other.payer.payer_id != claim.payer.payer_id
            and type(other.responsibility) is PayerResponsibility
            and other.responsibility != claim.payer_responsibility
            and type(other.relationship) is Relationship
            and type(paid) is int
            and 0 <= paid < _MAX_CENTS
            and type(other.adjudication_date) is date
            and _plain_optional_cents(other.remaining_patient_liability_cents)
            and _plain_optional_cents(other.non_covered_cents)
            and _plain_name(other.payer_claim_control_number, 50)
        ):
            return False
        adjusted = _plain_adjustments(other.claim_adjustments)
        adjudications = other.line_adjudications
        if adjusted is None or type(adjudications) is not tuple or len(adjudications) > MAX_LINE_ADJUDICATIONS:
            return False
        for adjudication in adjudications:
            if type(adjudication) is not LineAdjudication:
                return False
            number = adjudication.line_number
            line_paid = adjudication.paid_cents
            units = adjudication.paid_units
            if not (
                type(number) is int
                and 0 < number <= len(lines)
                and type(line_paid) is int
                and 0 <= line_paid < _MAX_CENTS
                and type(adjudication.adjudication_date) is date
                and type(units) is int
                and 0 <= units < _MAX_QUANTITY
                and adjudication.procedure_code is None
                and not adjudication.modifiers
                and _plain_revenue_code(adjudication.revenue_code, required=False)
                and _plain_optional_cents(adjudication.remaining_patient_liability_cents)
            ):
                return False
            line_adjusted = _plain_adjustments(adjudication.adjustments)
            line = lines[number - 1]
            if line_adjusted is None or line.charge_cents - line_adjusted != line_paid:
                return False
            if professional and line.procedure_code is None:
                return False
            adjusted += line_adjusted
        if claim.total_charge_cents - adjusted != paid:
            return False
    return True


def _plain_other_coverages(claim: Claim) -> bool:
    coverages = claim.other_coverages
    if type(coverages) is not tuple or len(coverages) + len(claim.other_payers) > MAX_OTHER_PAYERS:
        return False
    for coverage in coverages:
        if not (
            type(coverage) is OtherCoverage
            and type(coverage.payer) is Payer
            and coverage.payer.payer_id != claim.payer.payer_id
            and type(coverage.responsibility) is PayerResponsibility
            and coverage.responsibility != claim.payer_responsibility
            and type(coverage.relationship) is Relationship
        ):
            return False
    return True


def _plain_claim(claim: Claim) -> bool:
    if not (
        claim.attachments == ()
        and claim.delay_reason is None
        and claim.accident is None
        and claim.onset_date is None
        and claim.supervising_provider is None
        and claim.ambulance is None
        and (claim.other_coverages == () or (type(claim.payer) is Payer and _plain_other_coverages(claim)))
    ):
        return False
    details = claim.institutional
    if details is not None and not _plain_institutional_details(details, len(claim.diagnoses)):
        return False
    if not (
        _plain_text(claim.control_number, 38)
        and isinstance(claim.payer_responsibility, str)
        and claim.payer_responsibility in _RESPONSIBILITIES
        and isinstance(claim.assignment, str)
        and claim.assignment in _ASSIGNMENTS
        and isinstance(claim.release_of_information, str)
        and claim.release_of_information in _RELEASES
    ):
        return False
    if details is None and not (
        type(claim.place_of_service) is str
        and len(claim.place_of_service) == 2
        and _DIGITS.fullmatch(claim.place_of_service) is not None
    ):
        return False
    frequency: object = claim.frequency
    if frequency is ClaimFrequency.ORIGINAL:
        if claim.original_claim_number is not None:
            return False
    elif frequency is ClaimFrequency.REPLACEMENT or frequency is ClaimFrequency.VOID:
        if not _plain_text(claim.original_claim_number, 50):
            return False
    else:
        return False
    authorization = claim.prior_authorization
    if authorization is not None and not _plain_text(authorization, 50):
        return False
    kind = claim.kind
    diagnoses = claim.diagnoses
    if type(diagnoses) is not tuple or not 0 < len(diagnoses) <= MAX_DIAGNOSES[kind]:
        return False
    for code in diagnoses:
        if type(code) is not str or _ICD10CM.fullmatch(code) is None:
            return False
    lines = claim.lines
    if type(lines) is not tuple or not 0 < len(lines) <= MAX_LINES[kind]:
        return False
    total = 0
    if details is None:
        limit = len(diagnoses)
        for line in lines:
            if not _plain_professional_line(line, limit):
                return False
            total += line.charge_cents
    else:
        for line in lines:
            if not _plain_institutional_line(line, details):
                return False
            total += line.charge_cents
    claimed = claim.total_charge_cents
    if type(claimed) is not int or claimed != total or claimed >= _MAX_CENTS:
        return False
    return not claim.other_payers or _plain_other_payers(claim)


def validate_claims(claims: Iterable[object]) -> list[Problem]:
    """Every problem that would stop these claims from being written, with field paths."""
    chk = _Checker()
    for i, claim in enumerate(claims):
        field = f"claims[{i}]"
        if not isinstance(claim, Claim):
            chk.add(field, f"must be a Claim, got {type(claim).__name__}")
            continue
        kind = claim.kind
        _check_parties(chk, field, claim, kind)
        if not _plain_claim(claim):
            _check_claim_own(chk, field, claim, kind)
    return chk.problems
