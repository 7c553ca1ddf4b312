"""What the scrubber reads and says: a draft claim, the context it is judged in, findings.

A `DraftClaim` is the claims service's own view of a claim before it becomes an 837: codes, units,
charges, dates, NPIs, and which parties are missing. It carries no names or member ids; the only
demographics are the patient's sex and birth date, which the sex- and age-specific edits need.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from shared import codesets

if TYPE_CHECKING:
    from services.claims.domain.scrubber.ncci import MueEdit, PtpEdit


class Severity(StrEnum):
    ERROR = "error"
    """The claim goes on hold until it is fixed (or the rule disabled for the tenant)."""
    WARNING = "warning"
    """Recorded with the claim; it does not stop the claim."""


class MissingPart(StrEnum):
    """Parts of a claim the 837 needs that the coded encounter did not bring."""

    COVERAGE = "coverage"
    SUBSCRIBER = "subscriber"
    PATIENT_DEMOGRAPHICS = "patient_demographics"
    BILLING_PROVIDER = "billing_provider"
    INSTITUTIONAL_DETAILS = "institutional_details"
    ATTENDING_PROVIDER = "attending_provider"


@dataclass(frozen=True, slots=True)
class DraftLine:
    line_number: int
    service_date: dt.date
    units: int
    procedure_code: str | None = None
    revenue_code: str | None = None
    modifiers: tuple[str, ...] = ()
    charge_cents: int | None = None
    """None: the encounter had no charge and the fee schedule has none either."""
    diagnosis_pointers: tuple[int, ...] = ()
    service_date_end: dt.date | None = None
    place_of_service: str | None = None


@dataclass(frozen=True, slots=True)
class DraftClaim:
    claim_type: Literal["professional", "institutional"]
    patient_id: str
    payer_id: str
    place_of_service: str
    service_date_from: dt.date
    service_date_to: dt.date
    diagnoses: tuple[str, ...]
    lines: tuple[DraftLine, ...]
    billing_provider_npi: str | None
    other_npis: tuple[tuple[str, str], ...] = ()
    """(role, NPI) of every other provider named: rendering, referring, attending, facility."""
    frequency_code: str = "1"
    original_claim_number: str | None = None
    patient_sex: str | None = None
    patient_birth_date: dt.date | None = None
    timely_filing_days: int | None = None
    facility_type_code: str | None = None
    missing: frozenset[MissingPart] = frozenset()
    unresolved: tuple[str, ...] = ()

    def patient_age_on(self, day: dt.date) -> int | None:
        born = self.patient_birth_date
        if born is None:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    """Names codes, fields and line numbers; never a person's name or identifier."""
    line_number: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "message": self.message,
            "line_number": self.line_number,
        }


ServiceKey = tuple[str, str, dt.date, str]
"""(patient id, payer id, date of service, procedure code): what makes two claims duplicates."""


@dataclass(frozen=True, slots=True)
class ScrubContext:
    """Everything a rule may consult besides the claim; built once per batch, read-only."""

    today: dt.date
    disabled_rules: frozenset[str] = frozenset()
    billed_services: AbstractSet[ServiceKey] = frozenset()
    """Services already on other claims of the tenant (for the duplicate-claim edit)."""
    ptp_edits: Mapping[tuple[str, str], Sequence[PtpEdit]] = field(default_factory=dict)
    """NCCI PTP edits by (column 1, column 2) code."""
    mue_edits: Mapping[str, MueEdit] = field(default_factory=dict)
    diagnosis_problem: Callable[[str, dt.date], str | None] | None = None
    """Code-set hook: why a diagnosis is not billable on a date, or None; None skips the edit."""
    procedure_problem: Callable[[str, dt.date], str | None] = codesets.validate_procedure
    """Why a CPT/HCPCS code is not billable on a date: the shared code sets, the same intake applies."""
    modifier_problem: Callable[[str, dt.date], str | None] = codesets.validate_modifier
    timely_filing_warning_days: int = 14


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    severity: Severity
    check: Callable[[DraftClaim, ScrubContext], list[tuple[str, int | None]]]
    """Returns (message, line number) per problem; the engine turns them into findings."""
