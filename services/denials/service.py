"""The denials service's logic: cases opened and classified from `claim-denied`, decided by later
`payment-received`, underpayments found against contract rates, and the actions billing staff take.

Domain decisions are the pure functions of `domain/`; SQL is in `repository.py`; the caller's unit of
work commits (a consumed batch, or a request), so a state change and its outbox row commit together.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.denials import repository as store
from services.denials.domain.appeal_letter import AppealFacts, appeal_letter
from services.denials.domain.classification import Classification, RecommendedAction, RootCause, classify
from services.denials.domain.deadlines import due_date
from services.denials.domain.denial_case import (
    ActionKind,
    CaseKind,
    CaseNotWorkable,
    DenialCaseStatus,
    outcome_of_payment,
    outcome_of_repeated_denial,
    status_after_action,
)
from services.denials.domain.recovery import expected_recovery_cents
from services.denials.domain.underpayment import RemittedLine, underpaid_lines
from services.denials.records import ActionRecord, CaseRecord, PayerTerms
from services.denials.repository import DenialCaseRepository
from shared.clearinghouse import ClearinghouseAdapter
from shared.db import unit_of_work
from shared.events import wire
from shared.events.catalog import (
    AppealFiledV1,
    ClaimCorrectedV1,
    ClaimCorrectionRequestedV1,
    ClaimSubmittedV1,
    LedgerAdjustmentRequestedV1,
    PaymentReceivedV1,
)
from shared.events.envelope import EventEnvelope
from shared.messaging.outbox import Outbox

SYSTEM = "claimflow"
DENIED_STATUS = "4"
_DENIAL_KIND = CaseKind.DENIAL.value
_OPEN = DenialCaseStatus.OPEN.value


class CaseNotFound(LookupError):
    pass


def _terms(terms: dict[tuple[str, str], PayerTerms], tenant: str, payer_id: str) -> PayerTerms:
    return terms.get((tenant, payer_id), PayerTerms())


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A classification with its stored columns, built once per combination of codes: a backlog repeats a few
    hundred of them, and reading an enum's `.value` costs microseconds each on Python 3.11."""

    classification: Classification
    names: dict[str, str]
    """root_cause, recommended_action and owner, as stored (a line's causes)."""
    columns: dict[str, Any]
    """`names` and the rest of a case's columns that follow from the codes alone."""
    opened: str
    """The end of a case's `opened` history line."""


@lru_cache(maxsize=8192)
def _verdict(group: str, carcs: tuple[str, ...], rarcs: tuple[str, ...]) -> _Verdict:
    verdict = classify(group, carcs, rarcs)
    names = {
        "root_cause": verdict.root_cause.value,
        "recommended_action": verdict.action.value,
        "owner": verdict.owner.value,
    }
    columns = {
        **names,
        "carc": verdict.carc,
        "unknown_codes": list(verdict.unknown_codes),
        "recoverable": verdict.recoverable,
        "appealable": verdict.appealable,
    }
    opened = f"{names['root_cause']}, {names['recommended_action']} by {names['owner']}"
    return _Verdict(verdict, names, columns, opened)


def _line_causes(denial: wire.ClaimDeniedV1) -> list[dict[str, Any]]:
    return [
        {
            "line_number": line.line_number,
            "procedure_code": line.procedure_code,
            "denied_cents": line.denied_cents,
            "carcs": line.carcs,
            "rarcs": line.rarcs,
            **_verdict("CO", tuple(line.carcs), tuple(line.rarcs or denial.rarcs)).names,
        }
        for line in denial.lines
    ]


def _classified_values(
    verdict: _Verdict, amount_cents: int, terms: PayerTerms, remitted_on: dt.date, service: dt.date | None
) -> dict[str, Any]:
    classification = verdict.classification
    return {
        **verdict.columns,
        "expected_recovery_cents": expected_recovery_cents(
            amount_cents, classification.overturn_basis_points, terms.cost_to_work_cents
        ),
        "due_date": due_date(classification.action, terms.calendar, remitted_on=remitted_on, service_date=service),
    }


async def record_submitted_claims(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    rows = []
    for envelope in envelopes:
        claim: ClaimSubmittedV1 = envelope.payload_as(ClaimSubmittedV1)
        rows.append(
            {
                "tenant_id": envelope.tenant,
                "claim_control_number": claim.claim_control_number,
                "claim_id": claim.claim_id,
                "payer_id": claim.payer_id,
                "frequency_code": claim.frequency_code,
                "total_charge_cents": claim.total_charge_cents,
                "currency": claim.currency,
                "service_date": claim.service_date_from,
                "billing_provider_npi": claim.billing_provider_npi,
                "billing_provider_name": claim.billing_provider_name,
                "submitted_at": claim.submitted_at,
            }
        )
    await store.record_submitted(session, rows)


async def open_denial_cases(session: AsyncSession, envelopes: list[EventEnvelope]) -> int:
    """One classified case per denial (claim, trace); a denial of a claim whose case is waiting on the
    payer (its appeal or corrected claim) upholds that case instead. Returns the cases opened."""
    denials = [(e, e.payload_as(wire.ClaimDeniedV1)) for e in envelopes]
    found = await store.denial_lookups(
        session, [(e.tenant, d.claim_control_number, d.trace_number, d.payer_id) for e, d in denials]
    )
    claims, terms, payer_numbers = found.claims, found.terms, found.payer_claim_numbers
    waiting = {
        (case.tenant_id, case.corrected_claim_control_number or case.claim_control_number): case
        for case in found.waiting
    }
    rows: list[dict[str, Any]] = []
    opened: list[store.OpenedEntry] = []
    for envelope, denial in denials:
        tenant = envelope.tenant
        number = denial.claim_control_number
        remitted_on = envelope.time.date()
        if waiting:
            pending = waiting.get((tenant, number))
            if pending is not None and pending.trace_number != denial.trace_number:
                await _uphold(session, pending, denial, _terms(terms, tenant, denial.payer_id), remitted_on)
                continue
        verdict = _verdict("CO", tuple(denial.carcs), tuple(denial.rarcs))
        if not verdict.classification.opens_case:
            continue
        claim = claims.get((tenant, number))
        service = claim.service_date if claim else None
        rows.append(
            {
                "tenant_id": tenant,
                "kind": _DENIAL_KIND,
                "claim_id": denial.claim_id or (claim.claim_id if claim else None),
                "claim_control_number": number,
                "payer_id": denial.payer_id,
                "trace_number": denial.trace_number,
                "denial": denial.denial,
                "denied_cents": denial.denied_cents,
                "currency": denial.currency,
                "group_code": "CO",
                "carcs": denial.carcs,
                "rarcs": denial.rarcs,
                "status": _OPEN,
                "remitted_on": remitted_on,
                "service_date": service,
                "billing_provider_npi": claim.billing_provider_npi if claim else None,
                "payer_claim_control_number": payer_numbers.get((tenant, number, denial.trace_number)),
                "lines": _line_causes(denial),
                **_classified_values(
                    verdict, denial.denied_cents, _terms(terms, tenant, denial.payer_id), remitted_on, service
                ),
            }
        )
        opened.append(store.OpenedEntry(f"{denial.denial} denial {', '.join(denial.carcs) or '-'}: {verdict.opened}"))
    return await store.open_cases(session, rows, opened)


async def _uphold(
    session: AsyncSession, case: CaseRecord, denial: wire.ClaimDeniedV1, terms: PayerTerms, remitted_on: dt.date
) -> None:
    repository = DenialCaseRepository(session, case.tenant_id)
    actions = await repository.actions(case.id)
    appealed = bool(actions) and actions[-1].kind == ActionKind.APPEAL.value
    outcome = outcome_of_repeated_denial(case.appeal_level if appealed else 0, appealable=case.appealable)
    action = outcome.proposal or RecommendedAction.WRITE_OFF
    level = max(outcome.appeal_level, 1)
    await repository.update(
        case.id,
        status=outcome.status.value,
        appeal_level=level,
        recommended_action=action.value,
        due_date=due_date(
            action, terms.calendar, remitted_on=remitted_on, service_date=case.service_date, appeal_level=level
        ),
    )
    await store.answer_letters(session, case.tenant_id, case.id, "upheld")
    await repository.add_history(
        case.id,
        "outcome",
        SYSTEM,
        f"upheld: denied again ({', '.join(denial.carcs) or '-'}, trace {denial.trace_number}); "
        f"proposed: {action.value}" + (f" at level {level}" if action is RecommendedAction.APPEAL else ""),
    )


def _remitted_lines(payment: PaymentReceivedV1) -> list[RemittedLine]:
    return [
        RemittedLine(
            line.line_number,
            line.procedure_code,
            tuple(line.modifiers),
            line.charge_cents,
            line.paid_cents,
            sum(a.amount_cents for a in payment.adjustments if a.group == "PR" and a.line_number == line.line_number),
        )
        for line in payment.lines
    ]


async def apply_remittances(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    """Each payment: the claim's first remittance (KPI denominator), CLP07 onto its cases, the outcome
    of cases a later payment decides, and an underpayment case when a line is paid below contract."""
    payments: list[tuple[EventEnvelope, PaymentReceivedV1]] = [(e, e.payload_as(PaymentReceivedV1)) for e in envelopes]
    payments = [(e, p) for e, p in payments if p.reversal_of is None]
    await store.record_first_remittances(
        session,
        [
            {
                "tenant_id": e.tenant,
                "claim_control_number": p.claim_control_number,
                "payer_id": p.payer_id,
                "first_remitted_on": p.paid_date,
                "charge_cents": p.charge_cents,
                "currency": p.currency,
            }
            for e, p in payments
        ],
    )
    await store.remember_payer_claim_numbers(
        session,
        [
            {
                "b_tenant": e.tenant,
                "b_ccn": p.claim_control_number,
                "b_trace": p.trace_number,
                "b_payer_ccn": p.payer_claim_control_number,
            }
            for e, p in payments
            if p.payer_claim_control_number
        ],
    )
    keys = [(e.tenant, p.claim_control_number) for e, p in payments if p.paid_cents > 0]
    deciding: dict[tuple[str, str], list[CaseRecord]] = {}
    for case in await store.cases_deciding_on(session, keys):
        for number in {case.claim_control_number, case.corrected_claim_control_number} - {None}:
            deciding.setdefault((case.tenant_id, str(number)), []).append(case)
    decided: set[uuid.UUID] = set()
    for envelope, payment in payments:
        if payment.paid_cents <= 0:
            continue
        for case in deciding.get((envelope.tenant, payment.claim_control_number), []):
            if case.id in decided or case.trace_number == payment.trace_number:
                continue
            decided.add(case.id)
            await _resolve(session, case, payment)
    await _open_underpayments(session, payments)


async def _resolve(session: AsyncSession, case: CaseRecord, payment: PaymentReceivedV1) -> None:
    still_denied = sum(
        a.amount_cents
        for a in payment.adjustments
        if a.group != "PR" and classify(a.group, [a.carc]).root_cause is not RootCause.UNDERPAYMENT
    )
    outcome = outcome_of_payment(payment.paid_cents, still_denied, case.appeal_level)
    repository = DenialCaseRepository(session, case.tenant_id)
    await repository.update(
        case.id,
        status=outcome.status.value,
        recovered_cents=outcome.recovered_cents,
        resolved_at=dt.datetime.now(dt.UTC),
    )
    await store.answer_letters(session, case.tenant_id, case.id, outcome.status.value)
    await repository.add_history(
        case.id,
        "outcome",
        SYSTEM,
        f"{outcome.status.value}: claim {payment.claim_control_number} paid {payment.paid_cents} cents "
        f"(trace {payment.trace_number}); recovered {outcome.recovered_cents} of {case.denied_cents} denied, "
        f"{still_denied} still denied",
    )


async def _open_underpayments(session: AsyncSession, payments: list[tuple[EventEnvelope, PaymentReceivedV1]]) -> None:
    paid = [(e, p) for e, p in payments if p.paid_cents > 0 and p.lines]
    if not paid:
        return
    rates = await store.contract_rates_for(session, [(e.tenant, p.payer_id) for e, p in paid])
    if not rates:
        return
    terms = await store.payer_terms(session, [(e.tenant, p.payer_id) for e, p in paid])
    claims = await store.claims_submitted(session, [(e.tenant, p.claim_control_number) for e, p in paid])
    verdict = _verdict("CO", ("45",), ())
    rows: list[dict[str, Any]] = []
    opened: list[store.OpenedEntry] = []
    for envelope, payment in paid:
        schedule = rates.get((envelope.tenant, payment.payer_id))
        if not schedule:
            continue
        payer = _terms(terms, envelope.tenant, payment.payer_id)
        short = underpaid_lines(_remitted_lines(payment), schedule, payer.calendar.underpayment_tolerance_cents)
        if not short:
            continue
        claim = claims.get((envelope.tenant, payment.claim_control_number))
        amount = sum(u.short_cents for u in short)
        rows.append(
            {
                "tenant_id": envelope.tenant,
                "kind": CaseKind.UNDERPAYMENT.value,
                "claim_id": payment.claim_id,
                "claim_control_number": payment.claim_control_number,
                "payer_id": payment.payer_id,
                "trace_number": payment.trace_number,
                "denial": "underpayment",
                "denied_cents": amount,
                "currency": payment.currency,
                "group_code": "CO",
                "carcs": sorted({a.carc for a in payment.adjustments if a.group != "PR"}),
                "rarcs": list(payment.remark_codes),
                "status": DenialCaseStatus.OPEN.value,
                "remitted_on": payment.paid_date,
                "service_date": claim.service_date if claim else None,
                "billing_provider_npi": claim.billing_provider_npi if claim else None,
                "payer_claim_control_number": payment.payer_claim_control_number,
                "expected_cents": sum(u.expected_cents for u in short),
                "paid_cents": sum(u.paid_cents for u in short),
                "lines": [
                    {
                        "line_number": u.line_number,
                        "procedure_code": u.procedure_code,
                        "modifier": u.modifier,
                        "expected_cents": u.expected_cents,
                        "allowed_cents": u.allowed_cents,
                        "paid_cents": u.paid_cents,
                        "root_cause": RootCause.UNDERPAYMENT.value,
                    }
                    for u in short
                ],
                **_classified_values(verdict, amount, payer, payment.paid_date, claim.service_date if claim else None),
            }
        )
        opened.append(
            store.OpenedEntry(f"underpayment: {len(short)} line(s) allowed {amount} cents below contract", SYSTEM)
        )
    await store.open_cases(session, rows, opened)


async def link_corrections(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    """Claims built the corrected claim: its number is how the payer's answer finds the case."""
    for envelope in envelopes:
        if envelope.type != "claim-corrected.v1":
            continue
        corrected: ClaimCorrectedV1 = envelope.payload_as(ClaimCorrectedV1)
        repository = DenialCaseRepository(session, envelope.tenant)
        case = await repository.get(corrected.case_id, for_update=True)
        if case is None or case.corrected_claim_control_number == corrected.claim_control_number:
            continue
        await repository.update(
            case.id,
            corrected_claim_control_number=corrected.claim_control_number,
            payer_claim_control_number=case.payer_claim_control_number or corrected.payer_claim_control_number,
        )
        kind = "replacement" if corrected.frequency_code == "7" else "void"
        await repository.add_history(
            case.id,
            "action",
            "claims",
            f"{kind} claim {corrected.claim_control_number} built (frequency "
            f"{corrected.frequency_code}, REF*F8 {corrected.payer_claim_control_number or '-'})",
        )


# --------------------------------------------------------------------------- actions over HTTP


@dataclass(frozen=True, slots=True)
class ActionRequest:
    kind: ActionKind
    idempotency_key: str
    actor: str
    amount_cents: int | None = None
    reason_code: str | None = None
    prior_authorization: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: ActionRecord
    created: bool


async def take_action(
    session: AsyncSession, outbox: Outbox, tenant: str, case_id: uuid.UUID, request: ActionRequest, today: dt.date
) -> ActionResult:
    """The case moves and the owning service is asked, in one transaction; the same Idempotency-Key
    again returns the first action and changes nothing."""
    repository = DenialCaseRepository(session, tenant)
    earlier = await repository.action_by_key(request.idempotency_key)
    if earlier is not None:
        if earlier.case_id != case_id or earlier.kind != request.kind.value:
            raise CaseNotWorkable("this Idempotency-Key was used for another action; send a new key")
        return ActionResult(earlier, created=False)
    case = await repository.get(case_id, for_update=True)
    if case is None:
        raise CaseNotFound(case_id)
    status = status_after_action(DenialCaseStatus(case.status), request.kind, appealable=case.appealable)
    open_cents = case.denied_cents - case.recovered_cents - case.written_off_cents
    amount = request.amount_cents if request.amount_cents is not None else open_cents
    if request.kind in (ActionKind.WRITE_OFF, ActionKind.TRANSFER_TO_PATIENT) and not 0 < amount <= open_cents:
        raise CaseNotWorkable(f"the amount must be between 1 and the case's open {open_cents} cents")
    action_id = uuid.uuid4()
    if not await repository.insert_action(
        action_id=action_id,
        case_id=case_id,
        kind=request.kind.value,
        idempotency_key=request.idempotency_key,
        amount_cents=amount,
        reason_code=request.reason_code,
        actor=request.actor,
    ):
        again = await repository.action_by_key(request.idempotency_key)
        assert again is not None
        return ActionResult(again, created=False)
    values: dict[str, Any] = {"status": status.value}
    subject = str(case.claim_id or case.id)
    if request.kind in (ActionKind.CORRECTED_CLAIM, ActionKind.VOID):
        await outbox.add(
            session,
            tenant=tenant,
            subject=subject,
            payload=ClaimCorrectionRequestedV1(
                action_id=action_id,
                case_id=case.id,
                claim_id=case.claim_id,
                claim_control_number=case.claim_control_number,
                frequency_code="7" if request.kind is ActionKind.CORRECTED_CLAIM else "8",
                payer_claim_control_number=case.payer_claim_control_number,
                prior_authorization=request.prior_authorization,
                reason=f"denial case {case.id}: {case.root_cause} ({', '.join(case.carcs) or '-'})"[:200],
            ),
        )
    elif request.kind in (ActionKind.WRITE_OFF, ActionKind.TRANSFER_TO_PATIENT):
        reason = request.reason_code or case.carc or (case.carcs[0] if case.carcs else "CO45")
        await outbox.add(
            session,
            tenant=tenant,
            subject=subject,
            payload=LedgerAdjustmentRequestedV1(
                action_id=action_id,
                case_id=case.id,
                claim_id=case.claim_id,
                claim_control_number=case.claim_control_number,
                kind="write_off" if request.kind is ActionKind.WRITE_OFF else "transfer_to_patient",
                amount_cents=amount,
                currency=case.currency,
                reason_code=reason.upper(),
            ),
        )
        if request.kind is ActionKind.WRITE_OFF:
            values["written_off_cents"] = case.written_off_cents + amount
        values["resolved_at"] = dt.datetime.now(dt.UTC)
    elif request.kind is ActionKind.APPEAL:
        await _file_appeal(session, outbox, case, action_id, today)
    await repository.update(case.id, **values)
    detail = f" {amount} cents" if request.kind in (ActionKind.WRITE_OFF, ActionKind.TRANSFER_TO_PATIENT) else ""
    await repository.add_history(case.id, "action", request.actor, f"{request.kind.value}{detail}: {status.value}")
    action = await repository.action_by_key(request.idempotency_key)
    assert action is not None
    return ActionResult(action, created=True)


async def _file_appeal(
    session: AsyncSession, outbox: Outbox, case: CaseRecord, action_id: uuid.UUID, today: dt.date
) -> None:
    repository = DenialCaseRepository(session, case.tenant_id)
    claim = await repository.submitted_claim(case.claim_control_number)
    texts = await store.descriptions(session, case.carcs, case.rarcs)
    reasons = tuple(
        (key, texts.get(key, "description not loaded (claimflow codes load carc|rarc)"))
        for key in [f"CARC {c}" for c in case.carcs] + [f"RARC {r}" for r in case.rarcs]
    )
    letter = appeal_letter(
        AppealFacts(
            claim_control_number=case.claim_control_number,
            payer_claim_control_number=case.payer_claim_control_number,
            payer_id=case.payer_id,
            trace_number=case.trace_number,
            service_date=case.service_date,
            amount_cents=case.denied_cents - case.recovered_cents,
            currency=case.currency,
            root_cause=case.root_cause,
            reasons=reasons,
            provider_npi=(claim.billing_provider_npi if claim else None) or case.billing_provider_npi or "unknown",
            provider_name=(claim.billing_provider_name if claim else None) or "Billing provider",
            level=case.appeal_level,
            today=today,
        )
    )
    file_name = f"APPEAL-{case.claim_control_number}-L{case.appeal_level}-{action_id.hex[:12]}.pdf"
    await repository.add_letter(
        action_id=action_id,
        case_id=case.id,
        level=case.appeal_level,
        file_name=file_name,
        pdf=letter.pdf,
        text=letter.text,
    )
    await outbox.add(
        session,
        tenant=case.tenant_id,
        subject=str(case.claim_id or case.id),
        payload=AppealFiledV1(
            action_id=action_id,
            case_id=case.id,
            claim_id=case.claim_id,
            claim_control_number=case.claim_control_number,
            payer_id=case.payer_id,
            appeal_level=case.appeal_level,
            amount_cents=case.denied_cents - case.recovered_cents,
            currency=case.currency,
            carcs=list(case.carcs),
            rarcs=list(case.rarcs),
            file_name=file_name,
        ),
    )


async def send_appeal_letters(sessions: Any, adapter: ClearinghouseAdapter, *, limit: int = 50) -> int:
    """Hand stored letters to the clearinghouse; a crash between submit and mark re-submits the same name
    and bytes, which the adapter treats as a no-op. Returns the letters sent."""
    async with unit_of_work(sessions) as session:
        letters = await store.unsent_letters(session, limit)
        for letter in letters:
            receipt = await adapter.submit(letter.file_name, letter.pdf)
            await store.mark_letter_sent(session, letter.action_id, receipt.sha256, receipt.submitted_at)
    return len(letters)
