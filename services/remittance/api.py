"""Remittance HTTP API: 835 upload, suspense queue, claim and patient ledgers, patient payments, plans."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from services.remittance import service
from services.remittance.domain.posting import PostingResult, claim_balance
from services.remittance.domain.remittance_advice import ParseWarning
from services.remittance.models import idempotency_keys
from services.remittance.repository import (
    MAX_STORED_WARNINGS,
    ClaimPaymentRepository,
    InboundFileRepository,
    LedgerRepository,
    RemittanceFileRepository,
    SubmittedClaimRepository,
)
from services.remittance.schemas import (
    AccountOut,
    ClaimLedgerOut,
    InboundFileOut,
    LedgerEntryOut,
    MissedInstallmentOut,
    OverduePlanOut,
    ParseWarningOut,
    PatientPaymentIn,
    PatientPaymentOut,
    PaymentPlanIn,
    PaymentPlanOut,
    ProviderLedgerOut,
    RemittanceResult,
    SubmittedClaimOut,
    SuspendedPaymentOut,
    SuspenseMatch,
    SuspenseMatched,
)
from shared.auth import Principal, require_scope
from shared.http import OutboxDep, SessionDep
from shared.idempotency import REPLAYED, IdempotencyKey, answer_request_once

router = APIRouter(prefix="/v1", tags=["remittance"])
CanRead = Annotated[Principal, require_scope("remittance:read")]
CanWrite = Annotated[Principal, require_scope("remittance:write")]
X12_MEDIA_TYPES = frozenset({"application/edi-x12", "text/plain", "application/x12"})
MAX_FILE_BYTES = 64 * 1024 * 1024
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid credential."},
    403: {"description": "Missing scope."},
}


@router.get("/submitted-claims/{claim_control_number}", responses=_ERRORS)
async def get_submitted_claim(claim_control_number: str, principal: CanRead, session: SessionDep) -> SubmittedClaimOut:
    """A claim awaiting remittance, by its claim control number (CLP01 of the 835)."""
    claim = await SubmittedClaimRepository(session, principal.tenant).get_by_control_number(claim_control_number)
    if claim is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="submitted claim not found")
    return SubmittedClaimOut.model_validate(claim, from_attributes=True)


@router.post(
    "/remittances",
    status_code=status.HTTP_201_CREATED,
    responses={
        **_ERRORS,
        **REPLAYED,
        200: {
            "description": "The same file was posted before, or the same `Idempotency-Key` and file replayed: "
            "its first result, nothing posted again."
        },
        413: {"description": "File too large."},
        415: {"description": "Not an X12 media type."},
        422: {
            "description": "Does not parse or balance (reason, segment id and position; nothing posted), or the "
            "`Idempotency-Key` was used with another file."
        },
    },
    response_model=RemittanceResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/edi-x12": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def upload_remittance(
    request: Request,
    principal: CanWrite,
    session: SessionDep,
    outbox: OutboxDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Post an X12 835 (005010X221A1) file: every claim payment once, all or nothing. The request an
    `Idempotency-Key` names is the file's bytes (by their sha256)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in X12_MEDIA_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="send the 835 as application/edi-x12 or text/plain"
        )
    body = await request.body()
    if len(body) > MAX_FILE_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, detail=f"at most {MAX_FILE_BYTES} bytes")

    async def run() -> tuple[int, object]:
        try:
            advices = await run_in_threadpool(service.parse_remittance, body)
            result, created = await service.post_remittance(
                session, outbox, tenant=principal.tenant, body=body, advices=advices
            )
        except service.RemittanceRejected as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=exc.detail) from None
        warnings = [warning for advice in advices for warning in advice.warnings]
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return code, _remittance_result(result, warnings[:MAX_STORED_WARNINGS])

    file = {"sha256": hashlib.sha256(body).hexdigest()}
    return await answer_request_once(session, idempotency_keys, principal.tenant, request, idempotency_key, file, run)


@router.get("/remittances/{remittance_id}", responses=_ERRORS)
async def get_remittance(remittance_id: uuid.UUID, principal: CanRead, session: SessionDep) -> RemittanceResult:
    """A posted 835: what it posted, and the non-financial faults read around (`warnings`)."""
    remittance = await RemittanceFileRepository(session, principal.tenant).get(remittance_id)
    if remittance is None or remittance.result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="remittance not found")
    return _remittance_result(remittance.result, remittance.warnings)


def _remittance_result(result: PostingResult, warnings: Sequence[ParseWarning]) -> RemittanceResult:
    answer = RemittanceResult.model_validate(result, from_attributes=True)
    answer.warnings = [ParseWarningOut.model_validate(warning, from_attributes=True) for warning in warnings]
    return answer


@router.get("/inbound-files", responses=_ERRORS)
async def list_inbound_files(
    principal: CanRead, session: SessionDep, state: Literal["posted", "rejected"] | None = None
) -> list[InboundFileOut]:
    """835s collected from the clearinghouse inbound box for this tenant, newest first: posted, or rejected
    with the reason, segment and position (a rejected file is never partly posted)."""
    files = await InboundFileRepository(session).of_tenant(principal.tenant, state=state)
    return [InboundFileOut.model_validate(file, from_attributes=True) for file in files]


@router.get("/suspense", responses=_ERRORS)
async def list_suspense(principal: CanRead, session: SessionDep) -> list[SuspendedPaymentOut]:
    """Claim payments that matched no claim (or reverse nothing posted): the unmatched-payments queue."""
    payments = await ClaimPaymentRepository(session, principal.tenant).suspended()
    return [SuspendedPaymentOut.model_validate(payment, from_attributes=True) for payment in payments]


@router.post(
    "/suspense/{payment_id}/match", response_model=SuspenseMatched, responses={**_ERRORS, **REPLAYED, 404: {}, 409: {}}
)
async def match_suspense(
    payment_id: uuid.UUID,
    match: SuspenseMatch,
    principal: CanWrite,
    session: SessionDep,
    outbox: OutboxDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Match a suspended claim payment by hand to a submitted claim, then post it."""

    async def run() -> tuple[int, object]:
        try:
            claim_id = await service.match_suspended(
                session,
                outbox,
                tenant=principal.tenant,
                payment_id=payment_id,
                claim_control_number=match.claim_control_number,
            )
        except service.NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
        except service.PostingConflict as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
        return status.HTTP_200_OK, SuspenseMatched(payment_id=payment_id, claim_id=claim_id, state="posted")

    return await answer_request_once(session, idempotency_keys, principal.tenant, request, idempotency_key, match, run)


@router.get("/claims/{claim_id}/ledger", responses={**_ERRORS, 404: {}})
async def claim_ledger(claim_id: uuid.UUID, principal: CanRead, session: SessionDep) -> ClaimLedgerOut:
    """A claim's ledger: charge = paid + adjustments + patient responsibility + open balance."""
    entries = await LedgerRepository(session, principal.tenant).of_account("claim", str(claim_id))
    if not entries:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no ledger for this claim")
    balance = claim_balance((entry.kind, entry.amount_cents) for entry in entries)
    return ClaimLedgerOut(
        claim_id=claim_id,
        charge_cents=balance.charge_cents,
        paid_cents=balance.paid_cents,
        adjustment_cents=balance.adjustment_cents,
        patient_responsibility_cents=balance.patient_responsibility_cents,
        open_cents=balance.open_cents,
        balanced=balance.balanced,
        entries=[LedgerEntryOut.model_validate(entry, from_attributes=True) for entry in entries],
    )


@router.get("/providers/{provider_id}/ledger", responses=_ERRORS)
async def provider_ledger(provider_id: str, principal: CanRead, session: SessionDep) -> ProviderLedgerOut:
    """Provider-level adjustments (PLB): interest, forward balances, recoupments."""
    entries = await LedgerRepository(session, principal.tenant).of_account("provider", provider_id)
    return ProviderLedgerOut(
        provider_id=provider_id,
        balance_cents=sum(entry.amount_cents for entry in entries),
        entries=[LedgerEntryOut.model_validate(entry, from_attributes=True) for entry in entries],
    )


@router.post(
    "/accounts/{patient_id}/payments",
    status_code=status.HTTP_201_CREATED,
    responses={
        **_ERRORS,
        200: {"description": "The same `Idempotency-Key` and payment again: the first payment, nothing posted."},
        409: {"description": "The `Idempotency-Key` was used for a different payment."},
    },
)
async def take_patient_payment(
    patient_id: uuid.UUID,
    payment: PatientPaymentIn,
    principal: CanWrite,
    session: SessionDep,
    outbox: OutboxDep,
    response: Response,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="Required: the payment is posted once per key (the key is the payment's own identity).",
        ),
    ],
) -> PatientPaymentOut:
    """A patient payment, once per `Idempotency-Key`: a retry answers the first payment (200)."""
    try:
        result, created = await service.take_patient_payment(
            session,
            outbox,
            tenant=principal.tenant,
            patient_id=patient_id,
            idempotency_key=idempotency_key,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            method=payment.method,
            received_on=payment.received_on or dt.date.today(),
        )
    except service.PostingConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return PatientPaymentOut.model_validate(result, from_attributes=True)


@router.get("/accounts/{patient_id}", responses=_ERRORS)
async def patient_account(
    patient_id: uuid.UUID, principal: CanRead, session: SessionDep, as_of: dt.date | None = None
) -> AccountOut:
    """A patient's account: balance, aging buckets and every ledger entry."""
    account = await service.patient_account(
        session, tenant=principal.tenant, patient_id=patient_id, today=as_of or dt.date.today()
    )
    return AccountOut.model_validate(account, from_attributes=True)


@router.post(
    "/accounts/{patient_id}/payment-plans",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentPlanOut,
    responses={**_ERRORS, **REPLAYED, 409: {}},
)
async def create_payment_plan(
    patient_id: uuid.UUID,
    plan: PaymentPlanIn,
    principal: CanWrite,
    session: SessionDep,
    outbox: OutboxDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Monthly installments over the patient's current balance, adding up to it to the cent."""

    async def run() -> tuple[int, object]:
        try:
            created = await service.create_payment_plan(
                session,
                outbox,
                tenant=principal.tenant,
                patient_id=patient_id,
                installments=plan.installments,
                first_due=plan.first_due,
            )
        except service.PostingConflict as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
        return status.HTTP_201_CREATED, PaymentPlanOut.model_validate(created, from_attributes=True)

    return await answer_request_once(session, idempotency_keys, principal.tenant, request, idempotency_key, plan, run)


@router.get("/payment-plans/overdue", responses=_ERRORS)
async def overdue_payment_plans(
    principal: CanRead, session: SessionDep, as_of: dt.date | None = None, grace_days: int = 0
) -> list[OverduePlanOut]:
    """Active plans with a missed installment (past due plus grace, not covered by payments)."""
    plans = await service.overdue_plans(
        session, tenant=principal.tenant, today=as_of or dt.date.today(), grace_days=max(0, min(grace_days, 365))
    )
    return [
        OverduePlanOut(
            plan_id=plan.plan_id,
            patient_id=plan.patient_id,
            paid_cents=plan.paid_cents,
            missed=[
                MissedInstallmentOut(
                    number=missed.installment.number,
                    due_on=missed.installment.due_on,
                    amount_cents=missed.installment.amount_cents,
                    shortfall_cents=missed.shortfall_cents,
                )
                for missed in plan.missed
            ],
        )
        for plan in plans
    ]
