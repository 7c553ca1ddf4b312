"""Typed records the claims repository reads and writes: what crosses from SQL to the service layer.

Frozen dataclasses named after the rows they carry; JSON columns (the encounter document, scrub
findings, rejection reasons) stay JSON, everything else has its real type.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from services.claims.domain.claim_state import ClaimState

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

JsonObject = dict[str, Any]
"""A JSON object as stored in a JSONB column (an encounter document, a finding, a rejection reason)."""


@cache
def _field_names(kind: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def columns_of(record: DataclassInstance) -> dict[str, object]:
    """The record as column values for an INSERT or UPDATE (shallow: JSON values are not copied)."""
    return {name: getattr(record, name) for name in _field_names(type(record))}


def _state(value: ClaimState | str) -> ClaimState:
    return value if isinstance(value, ClaimState) else ClaimState(value)


# ----------------------------------------------------------------------------- reads


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A row of `claims.claims`."""

    id: uuid.UUID
    tenant_id: str
    encounter_id: uuid.UUID
    claim_type: str
    payer_id: str
    state: ClaimState
    total_charge_cents: int
    currency: str
    line_count: int
    created_at: dt.datetime
    claim_control_number: str | None
    patient_id: uuid.UUID | None
    frequency_code: str
    service_date_from: dt.date | None
    service_date_to: dt.date | None
    document: JsonObject | None
    findings: list[JsonObject]
    submission_id: uuid.UUID | None
    updated_at: dt.datetime
    transaction_control_number: int | None
    submission_count: int
    payer_claim_number: str | None
    rejection_reasons: list[JsonObject]
    primary_claim_id: uuid.UUID | None
    responsibility: str
    trace_context: dict[str, str] | None = None
    withdrawn_at: dt.datetime | None = None
    billing_provider_npi: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", _state(self.state))


@dataclass(frozen=True, slots=True)
class ClaimLineRecord:
    claim_id: uuid.UUID
    line_number: int
    tenant_id: str
    patient_id: uuid.UUID | None
    payer_id: str
    procedure_code: str | None
    revenue_code: str | None
    modifiers: list[str]
    units: int
    charge_cents: int | None
    diagnosis_pointers: list[int]
    service_date: dt.date


@dataclass(frozen=True, slots=True)
class EnvelopeRecord:
    """Where a claim's last 837 sits in its X12 envelopes: ISA13, GS06 and ST02, and when it was sent."""

    submission_id: uuid.UUID
    interchange_control_number: int
    group_control_number: int
    transaction_control_number: int
    sent_at: dt.datetime | None
    submission_count: int


@dataclass(frozen=True, slots=True)
class StatusChangeRecord:
    id: int
    claim_id: uuid.UUID
    tenant_id: str
    from_state: str | None
    to_state: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class FollowUpRecord:
    """A follow-up with its claim's number, payer and state now, and when its 276 went out."""

    trace_number: str
    tenant_id: str
    claim_id: uuid.UUID
    request_id: uuid.UUID
    state_when_flagged: str
    flagged_at: dt.datetime
    answered_at: dt.datetime | None
    answer_codes: list[str]
    claim_control_number: str | None
    payer_id: str
    state: str
    sent_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class FeeScheduleRecord:
    tenant_id: str
    code: str
    modifier: str
    charge_cents: int
    currency: str
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class LockedClaim:
    """A claim's real state, read under FOR UPDATE, with what a status event names."""

    id: uuid.UUID
    tenant_id: str
    state: ClaimState
    claim_control_number: str
    payer_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", _state(self.state))


@dataclass(frozen=True, slots=True)
class ReadyClaim:
    """A READY claim taken by a batching round (locked)."""

    id: uuid.UUID
    tenant_id: str
    encounter_id: uuid.UUID
    patient_id: uuid.UUID | None
    claim_control_number: str
    trace_context: dict[str, str] | None
    payer_id: str
    row_version: int
    """The row's `xmin`: the transaction that last wrote it. Equal to the one its insert returned while nothing has
    changed the claim since (a fix, a release, a hold and back), so a claim kept from its build is still the row's."""


@dataclass(frozen=True, slots=True)
class SentClaim:
    """A claim of a submission just marked sent, read under FOR UPDATE (its real state, as `LockedClaim`)."""

    id: uuid.UUID
    tenant_id: str
    state: str
    claim_control_number: str
    payer_id: str
    submission_count: int

    def locked(self) -> LockedClaim:
        return LockedClaim(self.id, self.tenant_id, _state(self.state), self.claim_control_number, self.payer_id)


@dataclass(frozen=True, slots=True)
class BatchWindow:
    """The READY claims of one tenant for one payer: what one batcher writes into one 837 interchange while
    it holds the window (other replicas' batchers skip it until that round commits)."""

    tenant_id: str
    payer_id: str


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A stored 837 or 276 interchange waiting to be handed to the clearinghouse."""

    id: uuid.UUID
    submitter_id: str
    interchange_control_number: int
    x12: str


@dataclass(frozen=True, slots=True)
class TrackedClaim:
    """A claim an acknowledgment, a follow-up answer or a payment names (locked)."""

    id: uuid.UUID
    tenant_id: str
    state: ClaimState
    claim_control_number: str
    payer_id: str
    primary_claim_id: uuid.UUID | None
    responsibility: str
    trace_number: str | None = None
    """The follow-up's TRN02 when found through a 277 answer."""
    document: JsonObject | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", _state(self.state))


@dataclass(frozen=True, slots=True)
class QuietClaim:
    """A claim quiet since its last change, to be followed up (locked)."""

    id: uuid.UUID
    tenant_id: str
    state: ClaimState
    claim_control_number: str
    payer_claim_number: str | None
    document: JsonObject

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", _state(self.state))


# ----------------------------------------------------------------------------- writes


@dataclass(frozen=True, slots=True)
class ClaimContents:
    """The columns of a claim that come from its encounter (as priced and fixed)."""

    claim_type: str
    payer_id: str
    patient_id: uuid.UUID
    frequency_code: str
    service_date_from: dt.date
    service_date_to: dt.date
    total_charge_cents: int
    currency: str
    line_count: int
    document: JsonObject
    billing_provider_npi: str | None = None


@dataclass(frozen=True, slots=True)
class NewClaim:
    id: uuid.UUID
    tenant_id: str
    encounter_id: uuid.UUID
    claim_control_number: str
    state: ClaimState
    findings: list[JsonObject]
    contents: ClaimContents
    primary_claim_id: uuid.UUID | None = None
    responsibility: str = "P"
    trace_context: dict[str, str] | None = None
    """W3C trace context the claim's later events continue (None: theirs is the writer's own)."""


def new_claim_columns() -> list[str]:
    """The columns a `NewClaim` writes, in order: its own fields, then its contents' in place of `contents`."""
    own = [name for name in _field_names(NewClaim) if name != "contents"]
    return own + list(_field_names(ClaimContents))


class ClaimLine(NamedTuple):
    """A new claim line, its fields in the table's column order: the tuple is the COPY row as it is (a claim's
    lines are thousands per batch; no second object per line)."""

    claim_id: uuid.UUID
    line_number: int
    tenant_id: str
    patient_id: uuid.UUID
    payer_id: str
    procedure_code: str | None
    revenue_code: str | None
    modifiers: list[str]
    units: int
    charge_cents: int | None
    diagnosis_pointers: list[int]
    service_date: dt.date


class Visit(NamedTuple):
    """A patient seen on a day under a payer, of a tenant: where the scrubber's duplicate rule looks for a service
    already billed."""

    tenant_id: str
    patient_id: uuid.UUID
    payer_id: str
    service_date: dt.date


class StatusChange(NamedTuple):
    """A row of the claim's status history (from = to: a note, such as a fix, without a move); the tuple is the
    COPY row of `STATUS_CHANGE_COLUMNS` as it is (three or more per new claim)."""

    claim_id: uuid.UUID
    tenant_id: str
    from_state: ClaimState | None
    to_state: ClaimState
    reason: str


@dataclass(frozen=True, slots=True)
class SubmissionRef:
    """The 837 a claim went out in: it counts as one more submission and its old rejections clear."""

    submission_id: uuid.UUID
    transaction_control_number: int


@dataclass(frozen=True, slots=True)
class StateColumns:
    """Columns written with a state change; None leaves a column as it is."""

    findings: list[JsonObject] | None = None
    rejection_reasons: list[JsonObject] | None = None
    payer_claim_number: str | None = None
    submission: SubmissionRef | None = None


@dataclass(frozen=True, slots=True)
class StateWrite:
    claim_id: uuid.UUID
    state: ClaimState
    columns: StateColumns = field(default_factory=StateColumns)


@dataclass(frozen=True, slots=True)
class Submission:
    id: uuid.UUID
    tenant_id: str
    submitter_id: str
    receiver_id: str
    payer_id: str
    interchange_control_number: int
    claim_count: int
    x12: str
    status: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SubmissionTransaction:
    submission_id: uuid.UUID
    submitter_id: str
    group_control_number: int
    transaction_control_number: int
    kind: str
    claim_count: int


@dataclass(frozen=True, slots=True)
class StatusRequest:
    id: uuid.UUID
    tenant_id: str
    submitter_id: str
    interchange_control_number: int
    claim_count: int
    x12: str
    status: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class FollowUp:
    trace_number: str
    tenant_id: str
    claim_id: uuid.UUID
    request_id: uuid.UUID
    state_when_flagged: ClaimState
    flagged_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AcknowledgmentFile:
    id: uuid.UUID
    tenant_id: str
    sha256: str
    kind: str
    file_name: str
    claims_changed: int
    summary: JsonObject


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    payment_id: uuid.UUID
    tenant_id: str
    claim_id: uuid.UUID
    trace_number: str
    claim_status_code: str
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    currency: str
    next_responsible: str
    paid_date: dt.date
    reversal_of: uuid.UUID | None
    outcome: ClaimState
    payment: JsonObject


@dataclass(frozen=True, slots=True)
class FeeEntry:
    code: str
    modifier: str
    charge_cents: int
    currency: str


@dataclass(frozen=True, slots=True)
class ClaimQuery:
    """Filters of the claim search; empty or None matches any."""

    states: tuple[str, ...] = ()
    encounter_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    payer_id: str | None = None
    provider_npi: str | None = None
    """The billing or the rendering provider."""
    service_date_from: dt.date | None = None
    service_date_to: dt.date | None = None
    claim_number: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentRef:
    """A payment posted to a claim, as the claim's neighbours list it."""

    payment_id: uuid.UUID
    trace_number: str
    paid_cents: int
    currency: str
    paid_date: dt.date
    outcome: str
