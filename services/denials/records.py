"""Typed records that cross the denials service's layers (repository -> service -> API)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from services.denials.domain.deadlines import COMMERCIAL_DEFAULT, PayerCalendar
from services.denials.domain.recovery import DEFAULT_COST_TO_WORK_CENTS


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: uuid.UUID
    tenant_id: str
    kind: str
    claim_id: uuid.UUID | None
    claim_control_number: str
    payer_id: str
    trace_number: str
    denial: str
    denied_cents: int
    currency: str
    group_code: str
    carcs: list[str]
    rarcs: list[str]
    root_cause: str
    carc: str | None
    unknown_codes: list[str]
    recommended_action: str
    owner: str
    recoverable: bool
    appealable: bool
    expected_recovery_cents: int
    status: str
    remitted_on: dt.date | None
    service_date: dt.date | None
    due_date: dt.date | None
    billing_provider_npi: str | None
    payer_claim_control_number: str | None
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
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> CaseRecord:
        mapping = row._mapping
        return cls(**{name: mapping[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    entry: str
    actor: str
    text: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class ActionRecord:
    id: uuid.UUID
    case_id: uuid.UUID
    kind: str
    amount_cents: int | None
    reason_code: str | None
    actor: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class LetterRecord:
    action_id: uuid.UUID
    tenant_id: str
    case_id: uuid.UUID
    appeal_level: int
    file_name: str
    pdf: bytes
    text: str
    sent_at: dt.datetime | None
    answer: str | None


@dataclass(frozen=True, slots=True)
class SubmittedClaimRecord:
    claim_id: uuid.UUID
    claim_control_number: str
    payer_id: str
    service_date: dt.date | None
    billing_provider_npi: str | None
    billing_provider_name: str | None


@dataclass(frozen=True, slots=True)
class PayerTerms:
    """A payer's calendar and the tenant's cost to work one of its denials."""

    calendar: PayerCalendar = COMMERCIAL_DEFAULT
    cost_to_work_cents: int = DEFAULT_COST_TO_WORK_CENTS
