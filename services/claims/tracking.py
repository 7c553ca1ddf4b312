"""After claims leave: acknowledgments (999, 277CA, 277) move them through the state machine,
quiet claims are followed up with a 276, and `payment-received` marks them paid, partially paid or
denied — building the secondary claim when the encounter has secondary coverage, and withdrawing it
when the primary's payment is reversed (`withdrawals.py`).

Every status change is recorded in the claim's history and emitted as `claim-status-changed.v1`
through the outbox, in the transaction that makes it. Decisions are the pure functions of
`domain/`; SQL is in `repository.py`.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.domain.acknowledgment_outcomes import (
    AWAITING_ACKNOWLEDGMENT,
    ClaimVerdict,
    acknowledged_path,
    rejections_from_999,
    transaction_of_277ca,
    verdicts_from_277,
)
from services.claims.domain.acknowledgments import parse_277ca, parse_999
from services.claims.domain.claim import Claim
from services.claims.domain.claim_builder import ClaimMappingError, claim_from_encounter
from services.claims.domain.claim_state import ClaimState
from services.claims.domain.claim_status_request import ClaimStatusInquiry, parse_277, write_276
from services.claims.domain.follow_up import QUIET_STATES, inquiry_for, trace_number
from services.claims.domain.payment_outcomes import payment_outcome, payment_targets, reason_codes, secondary_encounter
from services.claims.lifecycle import StateChange, StatusNotice, StatusSource, change_states, note
from services.claims.records import (
    AcknowledgmentFile,
    ClaimPayment,
    FollowUp,
    JsonObject,
    QuietClaim,
    StateColumns,
    StatusRequest,
    TrackedClaim,
)
from services.claims.repository import StreamWrites, TrackingWrites
from services.claims.service import build_secondary_claim
from services.claims.settings import ClaimsSettings
from services.claims.withdrawals import withdraw_secondary
from shared.clearinghouse import ClearinghouseAdapter, InboundFile, InboundKind
from shared.db import unit_of_work
from shared.events.catalog import EncounterCodedV1, PaymentReceivedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.outbox import Outbox
from shared.x12 import X12Error

log = logging.getLogger(__name__)
ACKNOWLEDGMENT_KINDS = frozenset(
    {InboundKind.FUNCTIONAL_ACK_999, InboundKind.CLAIM_ACK_277CA, InboundKind.CLAIM_STATUS_277}
)
SOURCES: dict[InboundKind, StatusSource] = {
    InboundKind.FUNCTIONAL_ACK_999: "999",
    InboundKind.CLAIM_ACK_277CA: "277CA",
    InboundKind.CLAIM_STATUS_277: "277",
}


# ----------------------------------------------------------------------------- acknowledgments


@dataclass(frozen=True)
class _Verdict:
    claim: TrackedClaim
    accepted: bool
    codes: tuple[str, ...]
    payer_claim_number: str | None = None
    follow_up: str | None = None


def _reason(source: str, verdict: _Verdict) -> str:
    codes = ", ".join(verdict.codes[:10])
    return f"{source} {'accepted' if verdict.accepted else 'rejected'}" + (f": {codes}" if codes else "")


def _acknowledged_targets(accepted: bool, current: ClaimState) -> list[ClaimState]:
    return [after for _, after in acknowledged_path(current, accepted)]


async def _verdicts_of_999(writes: TrackingWrites, inbound: InboundFile, submitter_id: str) -> list[_Verdict]:
    verdicts = []
    for acknowledgment in parse_999(inbound.content):
        for rejection in rejections_from_999(acknowledgment):
            for claim in await writes.claims_of_transaction(
                submitter_id, rejection.transaction_control_number, rejection.group_control_number
            ):
                verdicts.append(_Verdict(claim, False, rejection.reasons))
    return verdicts


async def _verdicts_of_277ca(writes: TrackingWrites, inbound: InboundFile, submitter_id: str) -> list[_Verdict]:
    verdicts = []
    for report in parse_277ca(inbound.content):
        by_number: dict[str, ClaimVerdict] = {v.key: v for v in verdicts_from_277(report, by_trace=False)}
        transaction = transaction_of_277ca(report)
        found = await writes.claims_of_transaction(submitter_id, transaction) if transaction is not None else []
        found = [claim for claim in found if claim.claim_control_number in by_number]
        if not found:  # no transaction named: a CLM01 awaiting acknowledgment in exactly one tenant
            candidates = await writes.claims_by_number(by_number, AWAITING_ACKNOWLEDGMENT)
            counts: dict[str, int] = defaultdict(int)
            for claim in candidates:
                counts[claim.claim_control_number] += 1
            found = [claim for claim in candidates if counts[claim.claim_control_number] == 1]
        for claim in found:
            verdict = by_number[claim.claim_control_number]
            verdicts.append(_Verdict(claim, verdict.accepted, verdict.codes, verdict.payer_claim_number))
    return verdicts


async def _verdicts_of_277(writes: TrackingWrites, inbound: InboundFile) -> list[_Verdict]:
    verdicts = []
    for report in parse_277(inbound.content):
        by_trace = {v.key: v for v in verdicts_from_277(report, by_trace=True)}
        for claim in await writes.claims_by_follow_up(by_trace):
            trace = claim.trace_number or ""
            verdict = by_trace[trace]
            verdicts.append(_Verdict(claim, verdict.accepted, verdict.codes, verdict.payer_claim_number, trace))
    return verdicts


async def _verdicts_of(writes: TrackingWrites, inbound: InboundFile, submitter_id: str) -> list[_Verdict]:
    """What the file says about which of our claims (claims locked)."""
    if inbound.kind is InboundKind.FUNCTIONAL_ACK_999:
        return await _verdicts_of_999(writes, inbound, submitter_id)
    if inbound.kind is InboundKind.CLAIM_ACK_277CA:
        return await _verdicts_of_277ca(writes, inbound, submitter_id)
    return await _verdicts_of_277(writes, inbound)


async def _tenant_of_999(writes: TrackingWrites, inbound: InboundFile, submitter_id: str) -> str:
    """An accepting 999 names no claim; its tenant is that of the functional group it answers."""
    if inbound.kind is not InboundKind.FUNCTIONAL_ACK_999:
        return ""
    try:
        acknowledgments = parse_999(inbound.content)
    except X12Error:
        return ""
    for acknowledgment in acknowledgments:
        group = acknowledgment.group_control_number.strip()
        if acknowledgment.functional_id == "HC" and group.isdigit():
            tenant = await writes.tenant_of_group(submitter_id, int(group))
            if tenant is not None:
                return tenant
    return ""


def _acknowledgment_change(verdict: _Verdict, source: StatusSource, now: dt.datetime) -> StateChange:
    rejection_reasons: list[JsonObject] | None = None
    if not verdict.accepted:
        rejection_reasons = [{"source": source, "code": code} for code in verdict.codes]
    return StateChange(
        verdict.claim.id,
        functools.partial(_acknowledged_targets, verdict.accepted),
        _reason(source, verdict),
        StateColumns(rejection_reasons=rejection_reasons, payer_claim_number=verdict.payer_claim_number or None),
        StatusNotice(source, now, verdict.codes, verdict.payer_claim_number),
    )


async def apply_acknowledgment(
    session: AsyncSession, outbox: Outbox, inbound: InboundFile, submitter_id: str, now: dt.datetime
) -> int:
    """Records the file once per tenant and sha256 and moves the claims it names; returns the claims
    changed (0 when the file was read before)."""
    writes = TrackingWrites(session)
    source = SOURCES.get(inbound.kind, "277")
    summary: JsonObject = {}
    try:
        verdicts = await _verdicts_of(writes, inbound, submitter_id)
    except X12Error as exc:
        verdicts = []
        summary["error"] = str(exc)[:500]
    tenant = verdicts[0].claim.tenant_id if verdicts else await _tenant_of_999(writes, inbound, submitter_id)
    verdicts = [v for v in verdicts if v.claim.tenant_id == tenant]
    moved = await change_states(session, outbox, [_acknowledgment_change(v, source, now) for v in verdicts])
    summary |= {
        "claims_named": len(verdicts),
        "accepted": sum(v.accepted for v in verdicts),
        "rejected": sum(not v.accepted for v in verdicts),
    }
    fresh = await writes.record_file(
        AcknowledgmentFile(
            id=uuid.uuid4(),
            tenant_id=tenant,
            sha256=inbound.sha256,
            kind=inbound.kind.value,
            file_name=inbound.file_name,
            claims_changed=len(moved),
            summary=summary,
        )
    )
    if not fresh:
        raise _AlreadyRead()
    answered = {v.follow_up: list(v.codes) for v in verdicts if v.follow_up}
    await writes.answer_follow_ups(answered, now)
    return len(moved)


class _AlreadyRead(Exception):
    """Rolls back a re-read file's effects: the tenant already has its sha256."""


async def take_acknowledgments(
    sessions: async_sessionmaker[AsyncSession], adapter: ClearinghouseAdapter, outbox: Outbox, submitter_id: str
) -> int:
    """Each waiting 999/277CA/277 applied in its own transaction, then acknowledged to the adapter."""
    changed = 0
    for inbound in await adapter.fetch_inbound_of(ACKNOWLEDGMENT_KINDS):
        try:
            async with unit_of_work(sessions) as session:
                changed += await apply_acknowledgment(session, outbox, inbound, submitter_id, dt.datetime.now(dt.UTC))
        except _AlreadyRead:
            log.info("acknowledgment file read before", extra={"kind": inbound.kind.value})
        await adapter.acknowledge(inbound)
    return changed


# ----------------------------------------------------------------------------- follow-up


def _quiet_claims_by_tenant(
    quiet: list[QuietClaim], settings: ClaimsSettings
) -> dict[str, list[tuple[QuietClaim, EncounterCodedV1, Claim]]]:
    by_tenant: dict[str, list[tuple[QuietClaim, EncounterCodedV1, Claim]]] = defaultdict(list)
    for row in quiet:
        try:
            encounter = EncounterCodedV1.model_validate(row.document)
            claim = claim_from_encounter(
                encounter,
                control_number=row.claim_control_number,
                submitter=settings.submitter,
                receiver=settings.receiver,
            )
        except (ClaimMappingError, ValueError):
            continue
        by_tenant[row.tenant_id].append((row, encounter, claim))
    return by_tenant


async def flag_quiet_claims(session: AsyncSession, settings: ClaimsSettings, now: dt.datetime) -> int:
    """Claims quiet longer than the follow-up age get a follow-up and a stored 276 per tenant."""
    writes = TrackingWrites(session)
    age = dt.timedelta(seconds=settings.follow_up_after_s)
    quiet = await writes.take_quiet(now - age, QUIET_STATES, settings.follow_up_batch)
    by_tenant = _quiet_claims_by_tenant(quiet, settings)
    if not by_tenant:
        return 0
    stream = StreamWrites(session)
    submitter_id = settings.submitter.identifier
    control = await stream.lock_control_numbers(submitter_id)
    flagged_count = 0
    for tenant, quiet_claims in by_tenant.items():
        request_id = uuid.uuid4()
        inquiries: list[ClaimStatusInquiry] = []
        flagged: list[FollowUp] = []
        for index, (row, encounter, claim) in enumerate(quiet_claims, start=1):
            trace = trace_number(control.interchange, index)
            inquiries.append(
                inquiry_for(
                    claim,
                    trace=trace,
                    service_from=encounter.service_date_from,
                    service_to=encounter.service_date_to,
                    payer_claim_number=row.payer_claim_number,
                )
            )
            flagged.append(FollowUp(trace, tenant, row.id, request_id, row.state, now))
        request = write_276(
            inquiries, settings.submitter, settings.receiver, control, now, usage=settings.usage_indicator
        )
        await writes.insert_status_request(
            StatusRequest(
                id=request_id,
                tenant_id=tenant,
                submitter_id=submitter_id,
                interchange_control_number=request.interchange_control_number,
                claim_count=len(inquiries),
                x12=request.text,
                status="stored",
                created_at=now,
            ),
            flagged,
        )
        control = request.next_control_numbers
        flagged_count += len(flagged)
    await stream.save_control_numbers(submitter_id, control)
    return flagged_count


def status_request_file_name(submitter_id: str, interchange_control_number: int, request_id: uuid.UUID) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in submitter_id)[:30]
    return f"276-{safe}-{interchange_control_number:09d}-{request_id.hex[:12]}.x12"


async def send_status_requests(
    sessions: async_sessionmaker[AsyncSession], adapter: ClearinghouseAdapter, *, limit: int
) -> int:
    """Stored 276 files to the clearinghouse (idempotent by file name), then marked sent: one transaction per
    file holding its row lock, so each is sent by one replica."""
    sent = 0
    for _ in range(limit):
        async with unit_of_work(sessions) as session:
            writes = TrackingWrites(session)
            request = await writes.take_stored_status_request()
            if request is None:
                break
            name = status_request_file_name(request.submitter_id, request.interchange_control_number, request.id)
            receipt = await adapter.submit(name, request.x12.encode("ascii"))
            await writes.mark_status_request_sent(request.id, receipt.submitted_at)
        sent += 1
    return sent


# ----------------------------------------------------------------------------- payments


def _payment_record(tenant: str, claim_id: uuid.UUID, payment: PaymentReceivedV1, outcome: ClaimState) -> ClaimPayment:
    return ClaimPayment(
        payment_id=payment.payment_id,
        tenant_id=tenant,
        claim_id=claim_id,
        trace_number=payment.trace_number,
        claim_status_code=payment.claim_status_code,
        charge_cents=payment.charge_cents,
        paid_cents=payment.paid_cents,
        patient_responsibility_cents=payment.patient_responsibility_cents,
        currency=payment.currency,
        next_responsible=payment.next_responsible,
        paid_date=payment.paid_date,
        reversal_of=payment.reversal_of,
        outcome=outcome,
        payment=payment.model_dump(mode="json"),
    )


async def _apply_payment(
    session: AsyncSession,
    outbox: Outbox,
    tenant: str,
    payment: PaymentReceivedV1,
    settings: ClaimsSettings,
    now: dt.datetime,
) -> bool:
    """The payment's outcome on its claim, and the secondary claim when one is due; False when the
    claim is unknown or the payment was applied before."""
    writes = TrackingWrites(session)
    claim = await writes.claim_for_payment(tenant, payment.claim_id, payment.claim_control_number)
    if claim is None:
        log.info("payment for a claim we do not have", extra={"tenant": tenant})
        return False
    outcome = payment_outcome(payment)
    if not await writes.record_payment(_payment_record(tenant, claim.id, payment, outcome)):
        return False
    reason = (
        f"835 trace {payment.trace_number}: paid {payment.paid_cents} of {payment.charge_cents} cents, "
        f"patient {payment.patient_responsibility_cents} (CLP02 {payment.claim_status_code})"
    )
    change = StateChange(
        claim.id,
        functools.partial(payment_targets, outcome=outcome),
        reason,
        StateColumns(payer_claim_number=payment.payer_claim_control_number or None),
        StatusNotice("835", now, tuple(reason_codes(payment)), payment.payer_claim_control_number),
    )
    moved = await change_states(session, outbox, [change])
    state = moved[0].state if moved else claim.state
    if not moved and outcome != claim.state:
        log.info("payment leaves the claim's state", extra={"state": claim.state, "outcome": str(outcome)})
    if claim.primary_claim_id is None and payment.reversal_of is not None:
        withdrawal = await withdraw_secondary(session, outbox, tenant, claim.id, payment, settings, now)
        if withdrawal is not None:
            await note(session, claim.id, tenant, state, withdrawal.summary)
    if claim.primary_claim_id is None and claim.document is not None:
        secondary = secondary_encounter(EncounterCodedV1.model_validate(claim.document), payment)
        if secondary is not None:
            number = await build_secondary_claim(
                session, tenant, claim.id, claim.claim_control_number, secondary, settings, now.date()
            )
            if number is not None:
                await note(session, claim.id, tenant, state, f"secondary claim {number} built from this remittance")
    return True


async def apply_payments(
    session: AsyncSession,
    outbox: Outbox,
    envelopes: list[EventEnvelope],
    settings: ClaimsSettings,
    now: dt.datetime,
) -> int:
    """Each payment once (by payment id): the claim's outcome, and its secondary claim when one is due."""
    payments = [(envelope.tenant, envelope.payload_as(PaymentReceivedV1)) for envelope in envelopes]
    await TrackingWrites(session).lock_for_payments(
        (tenant, payment.claim_id, payment.claim_control_number) for tenant, payment in payments
    )
    applied = 0
    for tenant, payment in payments:
        applied += await _apply_payment(session, outbox, tenant, payment, settings, now)
    return applied
