"""Posting a remittance file, matching suspended payments, patient payments and plans.

Each function runs inside the caller's unit of work (one transaction): the file row, every claim
payment, every ledger entry and every outbox event commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.domain import accounts
from services.remittance.domain.balancing import BalanceFinding, balance_report
from services.remittance.domain.posting import (
    ClaimPaymentFacts,
    EntryDraft,
    SubmittedClaim,
    charge_entry,
    denial_of,
    facts_from_json,
    facts_to_json,
    matched_to,
    payment_entries,
    provider_entries,
    read_claim_payments,
    reversal_entries,
)
from services.remittance.domain.remittance_advice import RemittanceAdvice
from services.remittance.domain.x12_835 import parse_835
from services.remittance.repository import (
    ClaimPaymentRepository,
    InboundFileRepository,
    LedgerRepository,
    OutboxCopy,
    PatientPaymentRepository,
    PaymentPlanRepository,
    RemittanceFileRepository,
    SubmittedClaimRepository,
)
from shared.events.catalog import (
    Adjustment,
    ClaimDeniedV1,
    DeniedLine,
    EventPayload,
    PaidLine,
    PatientPaymentReceivedV1,
    PaymentPlanChangedV1,
    PaymentReceivedV1,
    PlanInstallment,
    event_type_of,
)
from shared.events.envelope import EventEnvelope
from shared.messaging.outbox import Outbox
from shared.x12.errors import X12Error

_BALANCE_SEGMENT = {"service_line": "SVC", "claim": "CLP", "transaction": "BPR"}


class RemittanceRejected(Exception):
    """A file that cannot be posted: nothing of it is."""

    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__(detail.get("reason", "remittance rejected"))
        self.detail = detail


class PostingConflict(Exception):
    """The request cannot be applied in the record's current state (already posted, nothing to reverse...)."""


class NotFound(Exception):
    pass


def parse_remittance(body: bytes) -> list[RemittanceAdvice]:
    """The 835 transaction sets of a file, or RemittanceRejected naming the segment and position.

    CPU-bound: callers on the event loop run it in a thread."""
    try:
        advices = parse_835(body)
    except X12Error as exc:
        raise RemittanceRejected(
            {
                "reason": exc.message,
                "segment_id": exc.segment_id,
                "position": exc.position,
                "element": exc.element_index,
            }
        ) from None
    except (ValueError, UnicodeError) as exc:
        raise RemittanceRejected({"reason": f"not an X12 file: {exc}", "segment_id": None, "position": None}) from None
    if not advices:
        raise RemittanceRejected(
            {"reason": "the file holds no 835 transaction set", "segment_id": None, "position": None}
        )
    return advices


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def rejection_for_balance(findings: Sequence[BalanceFinding]) -> RemittanceRejected:
    first = findings[0]
    return RemittanceRejected(
        {
            "reason": f"the remittance does not balance: {first.message}",
            "segment_id": _BALANCE_SEGMENT[first.rule],
            "position": first.position,
            "findings": [
                {
                    "rule": finding.rule,
                    "clp01": finding.clp01,
                    "segment_id": _BALANCE_SEGMENT[finding.rule],
                    "position": finding.position,
                    "expected_cents": finding.expected_cents,
                    "actual_cents": finding.actual_cents,
                }
                for finding in findings[:20]
            ],
        }
    )


@dataclass
class _Posting:
    """What one posting adds, collected then written in bulk."""

    entries: list[tuple[EntryDraft, uuid.UUID | None]] = field(default_factory=list)
    events: list[tuple[str, EventPayload]] = field(default_factory=list)
    paid_cents: int = 0


async def post_remittance(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    body: bytes,
    advices: Sequence[RemittanceAdvice],
    today: dt.date | None = None,
) -> tuple[dict[str, Any], bool]:
    """Post a parsed 835 file once: `(result, created)`; the same content again answers the first result."""
    today = today or dt.date.today()
    files = RemittanceFileRepository(session, tenant)
    digest = content_hash(body)
    if (existing := await files.get_by_hash(digest)) is not None:
        return existing.result, False
    findings = balance_report(advices)
    if findings:
        raise rejection_for_balance(findings)
    file_id = uuid.uuid4()
    if not await files.add_if_new(file_id, digest, len(body)):
        existing = await files.get_by_hash(digest)
        assert existing is not None, "a conflicting file row is visible once its transaction committed"
        return existing.result, False

    control_numbers = sorted({claim.patient_control_number for advice in advices for claim in advice.claims})
    submitted = await SubmittedClaimRepository(session, tenant).by_control_numbers(control_numbers)
    payments = ClaimPaymentRepository(session, tenant)
    all_facts = read_claim_payments(advices, today=today, submitted=submitted)
    currency = _currency(advices)
    rows: list[dict[str, Any]] = []
    plans: dict[uuid.UUID, tuple[ClaimPaymentFacts, SubmittedClaim | None, str | None]] = {}
    reversals: list[tuple[uuid.UUID, ClaimPaymentFacts, SubmittedClaim, Any]] = []
    for facts in all_facts:
        payment_id = uuid.uuid4()
        claim = submitted.get(facts.key.claim_control_number)
        reason: str | None = None
        original = None
        if claim is None:
            reason = "no submitted claim with this claim control number (CLP01)"
        elif facts.is_reversal:
            original = await payments.reversible_payment(claim.claim_id, facts.payer_claim_control_number)
            if original is None:
                reason = "reversal (CLP02 22) of a payment that is not posted"
        posted = reason is None
        rows.append(
            _payment_row(
                payment_id, file_id, facts, currency, claim if posted else None, reason, original, posted=posted
            )
        )
        plans[payment_id] = (facts, claim if posted else None, reason)
        if posted and original is not None and claim is not None:
            reversals.append((payment_id, facts, claim, original))
    inserted = await payments.add_new(rows)

    ledger = LedgerRepository(session, tenant)
    posting = _Posting()
    reversal_ids = {payment_id for payment_id, *_ in reversals}
    for payment_id, (facts, claim, _) in plans.items():
        if payment_id not in inserted or claim is None or payment_id in reversal_ids:
            continue
        _add_payment(posting, payment_id, facts, claim, reversal_of=None)
    for payment_id, facts, claim, original in reversals:
        if payment_id in inserted:
            entries = reversal_entries(await ledger.of_payment(original.id))
            posting.entries.extend((entry, payment_id) for entry in entries)
            _add_events(posting, payment_id, facts, claim, reversal_of=original.id)
    await ledger.copy_in(posting.entries, currency=currency, posted_on=today)
    provider_posted = 0
    for advice in advices:
        provider_posted += await ledger.add_if_new(
            provider_entries(advice), currency=currency, posted_on=today, claim_payment_id=None
        )
    await OutboxCopy(session).copy_in(_envelopes(tenant, posting.events))

    posted = sum(1 for pid in inserted if plans[pid][1] is not None)
    result = {
        "remittance_id": str(file_id),
        "transactions": len(advices),
        "claim_payments": len(all_facts),
        "posted": posted,
        "suspended": len(inserted) - posted,
        "duplicates": len(all_facts) - len(inserted),
        "provider_adjustments_posted": provider_posted,
        "paid_cents": posting.paid_cents,
        "currency": currency,
        "trace_numbers": sorted({advice.trace.trace_number for advice in advices}),
    }
    await files.set_result(file_id, result)
    return result, True


async def post_inbound(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    file_name: str,
    body: bytes,
    advices: Sequence[RemittanceAdvice],
) -> tuple[dict[str, Any], bool]:
    """An 835 from the clearinghouse inbound box, posted exactly as an upload and recorded with its file name
    in the same transaction: `(result, created)`, `created` False when its content was posted before."""
    result, created = await post_remittance(session, outbox, tenant=tenant, body=body, advices=advices)
    await InboundFileRepository(session).record(
        {
            "file_name": file_name,
            "content_sha256": content_hash(body),
            "byte_count": len(body),
            "state": "posted",
            "tenant_id": tenant,
            "remittance_id": uuid.UUID(result["remittance_id"]),
            "rejection": None,
        }
    )
    return result, created


async def reject_inbound(
    session: AsyncSession, *, tenant: str | None, file_name: str, body: bytes, detail: dict[str, Any]
) -> None:
    """Remember why an inbound file was not posted (reason, segment, position; no content)."""
    await InboundFileRepository(session).record(
        {
            "file_name": file_name,
            "content_sha256": content_hash(body),
            "byte_count": len(body),
            "state": "rejected",
            "tenant_id": tenant,
            "remittance_id": None,
            "rejection": detail,
        }
    )


OUTBOX_SOURCE = "/claimflow/remittance"


def _envelopes(tenant: str, events: Sequence[tuple[str, EventPayload]]) -> list[EventEnvelope]:
    """As `Outbox.add_many` builds them: the caller's trace context travels with each event."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    now = dt.datetime.now(dt.UTC)
    return [
        EventEnvelope(
            id=str(uuid.uuid4()),
            type=event_type_of(payload),
            source=OUTBOX_SOURCE,
            subject=subject,
            tenant=tenant,
            time=now,
            data=payload.model_dump(mode="json"),
            trace_headers=carrier,
        )
        for subject, payload in events
    ]


def _currency(advices: Sequence[RemittanceAdvice]) -> str:
    codes = {advice.currency.code if advice.currency else "USD" for advice in advices} or {"USD"}
    if len(codes) > 1:
        raise RemittanceRejected({"reason": f"one file pays in several currencies {sorted(codes)}"})
    return codes.pop()


def _payment_row(
    payment_id: uuid.UUID,
    file_id: uuid.UUID,
    facts: ClaimPaymentFacts,
    currency: str,
    claim: SubmittedClaim | None,
    reason: str | None,
    original: Any,
    *,
    posted: bool,
) -> dict[str, Any]:
    return {
        "id": payment_id,
        "file_id": file_id,
        "payer_id": facts.key.payer_id,
        "trace_number": facts.key.trace_number,
        "claim_control_number": facts.key.claim_control_number,
        "status_code": facts.key.status_code,
        "occurrence": facts.key.occurrence,
        "state": "posted" if posted else "suspense",
        "suspense_reason": reason,
        "claim_id": claim.claim_id if claim else None,
        "patient_id": claim.patient_id if claim else None,
        "charge_cents": facts.charge_cents,
        "paid_cents": facts.paid_cents,
        "patient_responsibility_cents": facts.patient_responsibility_cents,
        "currency": currency,
        "payer_claim_control_number": facts.payer_claim_control_number,
        "paid_date": facts.paid_date,
        "reversal_of": original.id if original is not None else None,
        "facts": facts_to_json(facts),
        "posted_at": dt.datetime.now(dt.UTC) if posted else None,
    }


def _add_payment(
    posting: _Posting,
    payment_id: uuid.UUID,
    facts: ClaimPaymentFacts,
    claim: SubmittedClaim,
    *,
    reversal_of: uuid.UUID | None,
) -> None:
    entries = payment_entries(facts, payment_id=payment_id, claim_id=claim.claim_id, patient_id=claim.patient_id)
    posting.entries.extend((entry, payment_id) for entry in entries)
    _add_events(posting, payment_id, facts, claim, reversal_of=reversal_of)


def _add_events(
    posting: _Posting,
    payment_id: uuid.UUID,
    facts: ClaimPaymentFacts,
    claim: SubmittedClaim,
    *,
    reversal_of: uuid.UUID | None,
) -> None:
    posting.paid_cents += facts.paid_cents
    subject = str(claim.claim_id)
    posting.events.append((subject, payment_received(payment_id, facts, claim, reversal_of=reversal_of)))
    denial = denial_of(facts)
    if denial is not None:
        posting.events.append(
            (
                subject,
                ClaimDeniedV1(
                    claim_id=claim.claim_id,
                    claim_control_number=facts.key.claim_control_number,
                    payer_id=claim.payer_id,
                    trace_number=facts.key.trace_number,
                    denial=denial.scope,
                    denied_cents=denial.denied_cents,
                    currency=claim.currency,
                    carcs=list(denial.carcs),
                    rarcs=list(denial.rarcs),
                    lines=[
                        DeniedLine(
                            line_number=line.line_number or index,
                            procedure_code=line.procedure_code,
                            denied_cents=line.denied_cents,
                            carcs=list(line.carcs),
                            rarcs=list(line.rarcs),
                        )
                        for index, line in enumerate(denial.lines, start=1)
                    ],
                ),
            )
        )


def payment_received(
    payment_id: uuid.UUID, facts: ClaimPaymentFacts, claim: SubmittedClaim, *, reversal_of: uuid.UUID | None
) -> PaymentReceivedV1:
    return PaymentReceivedV1(
        payment_id=payment_id,
        claim_id=claim.claim_id,
        claim_control_number=facts.key.claim_control_number,
        payer_id=claim.payer_id,
        trace_number=facts.key.trace_number,
        claim_status_code=facts.key.status_code,
        charge_cents=facts.charge_cents,
        paid_cents=facts.paid_cents,
        patient_responsibility_cents=facts.patient_responsibility_cents,
        currency=claim.currency,
        adjustments=[
            Adjustment(
                group=adjustment.group,  # type: ignore[arg-type]
                carc=adjustment.carc,
                amount_cents=adjustment.amount_cents,
                line_number=facts.line_number_of(adjustment),
            )
            for adjustment in facts.adjustments
        ],
        remark_codes=list(facts.remark_codes),
        next_responsible=facts.next_responsible,
        paid_date=facts.paid_date,
        patient_id=claim.patient_id,
        payer_claim_control_number=facts.payer_claim_control_number or None,
        reversal_of=reversal_of,
        lines=[
            PaidLine(
                line_number=line.line_number,
                procedure_code=line.procedure_code,
                modifiers=list(line.modifiers),
                charge_cents=line.charge_cents,
                paid_cents=line.paid_cents,
            )
            for line in facts.lines
        ],
    )


async def match_suspended(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    payment_id: uuid.UUID,
    claim_control_number: str,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Post a suspended claim payment to the claim a biller names; refused when already posted."""
    today = today or dt.date.today()
    payments = ClaimPaymentRepository(session, tenant)
    row = await payments.get_for_update(payment_id)
    if row is None:
        raise NotFound("suspended claim payment not found")
    if row.state != "suspense":
        raise PostingConflict("this claim payment is already posted")
    claim_row = await SubmittedClaimRepository(session, tenant).by_control_numbers([claim_control_number])
    claim = claim_row.get(claim_control_number)
    if claim is None:
        raise NotFound(f"no submitted claim with claim control number {claim_control_number!r}")
    facts = matched_to(facts_from_json(row.facts), claim)
    ledger = LedgerRepository(session, tenant)
    posting = _Posting()
    original_id = None
    if facts.is_reversal:
        original = await payments.reversible_payment(claim.claim_id, facts.payer_claim_control_number)
        if original is None:
            raise PostingConflict("this is a reversal (CLP02 22) and the claim has no posted payment to reverse")
        original_id = original.id
        posting.entries.extend((e, payment_id) for e in reversal_entries(await ledger.of_payment(original.id)))
        _add_events(posting, payment_id, facts, claim, reversal_of=original_id)
    else:
        _add_payment(posting, payment_id, facts, claim, reversal_of=None)
    await payments.mark_posted(
        payment_id,
        claim_id=claim.claim_id,
        patient_id=claim.patient_id,
        reversal_of=original_id,
        facts=facts_to_json(facts),
    )
    await ledger.copy_in(posting.entries, currency=row.currency, posted_on=today)
    await outbox.add_many(session, tenant=tenant, events=posting.events)
    return {"payment_id": str(payment_id), "claim_id": str(claim.claim_id), "state": "posted"}


async def record_submitted_claim(session: AsyncSession, tenant: str, values: dict[str, Any]) -> None:
    """Remember a submitted claim for matching, and post its charge: its A/R starts now."""
    await SubmittedClaimRepository(session, tenant).record(values)
    await LedgerRepository(session, tenant).add_if_new(
        [charge_entry(values["claim_id"], values["total_charge_cents"])],
        currency=values["currency"],
        posted_on=values["submitted_at"].date(),
        claim_payment_id=None,
    )


def request_fingerprint(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


async def take_patient_payment(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    patient_id: uuid.UUID,
    idempotency_key: str,
    amount_cents: int,
    currency: str,
    method: str,
    received_on: dt.date,
) -> tuple[dict[str, Any], bool]:
    """A patient payment once per idempotency key: `(payment, created)`; the same key with another
    request is a conflict."""
    request = {"patient_id": str(patient_id), "amount_cents": amount_cents, "currency": currency, "method": method}
    fingerprint = request_fingerprint({**request, "received_on": received_on.isoformat()})
    repository = PatientPaymentRepository(session, tenant)
    payment_id = uuid.uuid4()
    created = await repository.add_if_new(
        {
            "id": payment_id,
            "patient_id": patient_id,
            "idempotency_key": idempotency_key,
            "request_fingerprint": fingerprint,
            "amount_cents": amount_cents,
            "currency": currency,
            "method": method,
            "received_on": received_on,
        }
    )
    row = await repository.by_idempotency_key(idempotency_key)
    assert row is not None
    if not created:
        if row.request_fingerprint != fingerprint:
            raise PostingConflict("this Idempotency-Key was already used for a different payment")
        return _patient_payment_out(row), False
    await LedgerRepository(session, tenant).add_if_new(
        [
            EntryDraft(
                "patient",
                str(patient_id),
                "patient_payment",
                -amount_cents,
                f"patient-payment:{payment_id}",
                reference=method,
            )
        ],
        currency=currency,
        posted_on=received_on,
        claim_payment_id=None,
    )
    await outbox.add(
        session,
        tenant=tenant,
        subject=str(patient_id),
        payload=PatientPaymentReceivedV1(
            payment_id=payment_id,
            patient_id=patient_id,
            amount_cents=amount_cents,
            currency=currency,
            method=method,
            received_on=received_on,
        ),
    )
    return _patient_payment_out(row), True


def _patient_payment_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "amount_cents": row.amount_cents,
        "currency": row.currency,
        "method": row.method,
        "received_on": row.received_on,
    }


async def patient_account(
    session: AsyncSession, *, tenant: str, patient_id: uuid.UUID, today: dt.date
) -> dict[str, Any]:
    rows = await LedgerRepository(session, tenant).of_account("patient", str(patient_id))
    aged = accounts.aging((accounts.AccountEntry(row.posted_on, row.amount_cents) for row in rows), today)
    return {
        "patient_id": patient_id,
        "balance_cents": aged.balance_cents,
        "currency": rows[0].currency if rows else "USD",
        "aging": aged.buckets,
        "unapplied_credit_cents": aged.unapplied_credit_cents,
        "entries": [_entry_out(row) for row in rows],
    }


def _entry_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "amount_cents": row.amount_cents,
        "currency": row.currency,
        "group_code": row.group_code,
        "carc": row.carc,
        "line_number": row.line_number,
        "reference": row.reference,
        "claim_payment_id": row.claim_payment_id,
        "reversal_of": row.reversal_of,
        "posted_on": row.posted_on,
    }


async def create_payment_plan(
    session: AsyncSession, outbox: Outbox, *, tenant: str, patient_id: uuid.UUID, installments: int, first_due: dt.date
) -> dict[str, Any]:
    """A plan over the patient's whole current balance; one active plan per patient."""
    account = await patient_account(session, tenant=tenant, patient_id=patient_id, today=first_due)
    try:
        schedule = accounts.installment_schedule(account["balance_cents"], installments, first_due)
    except ValueError as exc:
        raise PostingConflict(str(exc)) from None
    plan_id = uuid.uuid4()
    stored = [{"number": i.number, "due_on": i.due_on.isoformat(), "amount_cents": i.amount_cents} for i in schedule]
    created = await PaymentPlanRepository(session, tenant).add_if_none_active(
        {
            "id": plan_id,
            "patient_id": patient_id,
            "total_cents": account["balance_cents"],
            "currency": account["currency"],
            "installments": stored,
            "starts_on": first_due,
        }
    )
    if not created:
        raise PostingConflict("this patient already has an active payment plan")
    await outbox.add(
        session,
        tenant=tenant,
        subject=str(patient_id),
        payload=PaymentPlanChangedV1(
            plan_id=plan_id,
            patient_id=patient_id,
            status="active",
            total_cents=account["balance_cents"],
            currency=account["currency"],
            installments=[
                PlanInstallment(number=i.number, due_on=i.due_on, amount_cents=i.amount_cents) for i in schedule
            ],
            changed_on=dt.date.today(),
        ),
    )
    return {
        "id": plan_id,
        "patient_id": patient_id,
        "total_cents": account["balance_cents"],
        "currency": account["currency"],
        "installments": stored,
        "status": "active",
    }


def _schedule(stored: list[dict[str, Any]]) -> list[accounts.Installment]:
    return [
        accounts.Installment(item["number"], dt.date.fromisoformat(item["due_on"]), item["amount_cents"])
        for item in stored
    ]


async def overdue_plans(session: AsyncSession, *, tenant: str, today: dt.date, grace_days: int) -> list[dict[str, Any]]:
    """Active plans with an installment past due that payments since the plan began do not cover."""
    plans = await PaymentPlanRepository(session, tenant).active()
    payments = PatientPaymentRepository(session, tenant)
    overdue = []
    for plan in plans:
        paid = await payments.paid_since(plan.patient_id, plan.created_at)
        missed = accounts.missed_installments(_schedule(plan.installments), paid, today, grace_days=grace_days)
        if missed:
            overdue.append(
                {
                    "plan_id": plan.id,
                    "patient_id": plan.patient_id,
                    "paid_cents": paid,
                    "missed": [
                        {
                            "number": m.installment.number,
                            "due_on": m.installment.due_on,
                            "amount_cents": m.installment.amount_cents,
                            "shortfall_cents": m.shortfall_cents,
                        }
                        for m in missed
                    ],
                }
            )
    return overdue
