"""Remittance HTTP API: 835 upload, suspense queue, claim and patient ledgers, patient payments, plans."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from services.remittance import paging, service
from services.remittance.domain.posting import PostingResult, claim_balance
from services.remittance.domain.remittance_advice import ParseWarning
from services.remittance.models import idempotency_keys
from services.remittance.repository import (
    MAX_STORED_WARNINGS,
    ClaimPaymentRecord,
    InboundFileRepository,
    LedgerRepository,
    MoneyIntegrityRepository,
    RemittanceFileRepository,
    SubmittedClaimRepository,
)
from services.remittance.schemas import (
    AccountOut,
    ClaimLedgerOut,
    ClaimPaymentOut,
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
    RefundItemOut,
    RefundResolution,
    RemittanceResult,
    ReviewDecision,
    SubmittedClaimOut,
    SuspendedPaymentOut,
    SuspenseMatch,
    SuspenseMatched,
)
from shared.auth import Principal, require_scope
from shared.http import OutboxDep, SessionDep
from shared.idempotency import REPLAYED, IdempotencyKey, answer_request_once
from shared.patient_match import MemberDigest
from shared.phi.access import PhiReaderDep
from shared.service import RuntimeDep

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
    runtime: RuntimeDep,
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
                session,
                outbox,
                tenant=principal.tenant,
                body=body,
                advices=advices,
                member_digest=MemberDigest.from_settings(runtime.settings),
            )
        except service.RemittanceRejected as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=exc.detail) from None
        warnings = [warning for advice in advices for warning in advice.warnings]
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return code, _remittance_result(result, warnings[:MAX_STORED_WARNINGS])

    file = {"sha256": hashlib.sha256(body).hexdigest()}
    return await answer_request_once(session, idempotency_keys, principal.tenant, request, idempotency_key, file, run)


@router.get("/remittances/{remittance_id}", responses=_ERRORS)
async def get_remittance(
    remittance_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> RemittanceResult:
    """A posted 835: what it posted, and the non-financial faults read around (`warnings`)."""
    remittance = await RemittanceFileRepository(session, principal.tenant).get(remittance_id)
    if remittance is None or remittance.result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="remittance not found")
    await reader.read("remittance", [remittance_id])
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


_PAGED = {
    "Link": {"description": 'The next page, when there is one: `<...?cursor=C&limit=N>; rel="next"`.'},
    "X-Next-Cursor": {"description": "The `cursor` of the next page, when there is one."},
}
PageLimit = Annotated[int, Query(ge=1, le=1000, description="Records per page.")]
PageCursor = Annotated[str | None, Query(max_length=200, description="From `X-Next-Cursor` of the previous page.")]


@router.get("/suspense", responses={**_ERRORS, 200: {"headers": _PAGED}})
async def list_suspense(
    principal: CanRead,
    session: SessionDep,
    request: Request,
    response: Response,
    limit: PageLimit = 500,
    cursor: PageCursor = None,
) -> list[SuspendedPaymentOut]:
    """Claim payments that matched no claim (or reverse nothing posted): the unmatched-payments queue, oldest
    first, a page at a time (follow `X-Next-Cursor` / the `Link` header)."""
    payments = await MoneyIntegrityRepository(session, principal.tenant).claim_payments_page(
        state="suspense", after=paging.position(cursor), limit=limit + 1
    )
    page = paging.page(request, response, payments, limit, lambda payment: (payment.received_at, payment.id))
    return [
        SuspendedPaymentOut.model_validate(
            {**_payment_fields(payment), "suspense_reason": payment.suspense_reason}, from_attributes=False
        )
        for payment in page
    ]


@router.post(
    "/suspense/{payment_id}/match",
    response_model=SuspenseMatched,
    responses={
        **_ERRORS,
        **REPLAYED,
        404: {},
        409: {"description": "Already posted, or payer/amount/patient do not fit the claim (findings) and not forced."},
    },
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
    """Match a suspended claim payment by hand to a submitted claim, then post it. The payment's payer (as
    835s for this claim's payer name it), charge (CLP03 = the claim's charge, paid within it) and patient (when
    given) must fit the claim; otherwise 409 with the findings, unless `force` with a `reason`."""

    async def run() -> tuple[int, object]:
        try:
            claim_id = await service.match_suspended(
                session,
                outbox,
                tenant=principal.tenant,
                payment_id=payment_id,
                claim_control_number=match.claim_control_number,
                patient_id=match.patient_id,
                force_reason=match.reason if match.force else None,
                reviewer=principal.subject,
            )
        except service.NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
        except service.MatchRefused as exc:
            detail = {
                "reason": "the payment does not fit this claim; send force with a reason to post it anyway",
                "findings": [{"check": finding.check, "message": finding.message} for finding in exc.findings],
            }
            raise HTTPException(status.HTTP_409_CONFLICT, detail=detail) from None
        except service.PostingConflict as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
        return status.HTTP_200_OK, SuspenseMatched(payment_id=payment_id, claim_id=claim_id, state="posted")

    return await answer_request_once(session, idempotency_keys, principal.tenant, request, idempotency_key, match, run)


def _payment_fields(payment: ClaimPaymentRecord) -> dict[str, object]:
    """A stored claim payment as the API shows it, with who paid and the check/EFT number."""
    return {
        "id": payment.id,
        "state": payment.state,
        "claim_id": payment.claim_id,
        "claim_control_number": payment.claim_control_number,
        "payer_id": payment.payer_id,
        "payer_name": payment.payer_name,
        "trace_number": payment.trace_number,
        "check_or_eft_number": payment.trace_number,
        "payment_method": payment.payment_method,
        "status_code": payment.status_code,
        "payer_claim_control_number": payment.payer_claim_control_number,
        "charge_cents": payment.charge_cents,
        "paid_cents": payment.paid_cents,
        "patient_responsibility_cents": payment.patient_responsibility_cents,
        "currency": payment.currency,
        "paid_date": payment.paid_date,
        "received_at": payment.received_at,
        "posted_at": payment.posted_at,
        "reversal_of": payment.reversal_of,
        "duplicate_of": payment.duplicate_of,
        "suspense_reason": payment.suspense_reason,
        "review_reason": payment.review_reason,
    }


def _claim_payment_out(payment: ClaimPaymentRecord) -> ClaimPaymentOut:
    return ClaimPaymentOut.model_validate(_payment_fields(payment))


@router.get("/claims/{claim_id}/payments", responses=_ERRORS)
async def claim_payments(claim_id: uuid.UUID, principal: CanRead, session: SessionDep) -> list[ClaimPaymentOut]:
    """Every payer payment of a claim (posted, held, rejected), with payer name and check/EFT number."""
    payments = await MoneyIntegrityRepository(session, principal.tenant).payments_of_claim(claim_id)
    return [_claim_payment_out(payment) for payment in payments]


@router.get("/payment-holds", responses={**_ERRORS, 200: {"headers": _PAGED}})
async def list_payment_holds(
    principal: CanRead,
    session: SessionDep,
    request: Request,
    response: Response,
    limit: PageLimit = 100,
    cursor: PageCursor = None,
) -> list[ClaimPaymentOut]:
    """Claim payments held as probable duplicates (same claim, payer claim number and amounts as a payment
    already posted, under another trace number): not posted until a person releases them."""
    payments = await MoneyIntegrityRepository(session, principal.tenant).claim_payments_page(
        state="held", after=paging.position(cursor), limit=limit + 1
    )
    page = paging.page(request, response, payments, limit, lambda payment: (payment.received_at, payment.id))
    return [_claim_payment_out(payment) for payment in page]


@router.post("/payment-holds/{payment_id}/release", responses={**_ERRORS, 404: {}, 409: {}})
async def release_payment_hold(
    payment_id: uuid.UUID, decision: ReviewDecision, principal: CanWrite, session: SessionDep, outbox: OutboxDep
) -> ClaimPaymentOut:
    """Not a duplicate after all: post the held payment to its claim (once), keeping the reason."""
    try:
        released = await service.release_held_payment(
            session,
            outbox,
            tenant=principal.tenant,
            payment_id=payment_id,
            reason=decision.reason,
            reviewer=principal.subject,
        )
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except service.PostingConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return _claim_payment_out(released)


@router.post("/payment-holds/{payment_id}/reject", responses={**_ERRORS, 404: {}, 409: {}})
async def reject_payment_hold(
    payment_id: uuid.UUID, decision: ReviewDecision, principal: CanWrite, session: SessionDep
) -> ClaimPaymentOut:
    """A duplicate indeed: the held payment is never posted; the reason is kept."""
    try:
        rejected = await service.reject_held_payment(
            session, tenant=principal.tenant, payment_id=payment_id, reason=decision.reason, reviewer=principal.subject
        )
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except service.PostingConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return _claim_payment_out(rejected)


@router.get("/refunds", responses={**_ERRORS, 200: {"headers": _PAGED}})
async def list_refunds(
    principal: CanRead,
    session: SessionDep,
    request: Request,
    response: Response,
    status_filter: Annotated[
        Literal["open", "refunded", "dismissed", "cleared"] | None, Query(alias="status")
    ] = "open",
    limit: PageLimit = 100,
    cursor: PageCursor = None,
) -> list[RefundItemOut]:
    """Refund work items: claims paid beyond what they were owed (a credit balance), oldest first."""
    items = await MoneyIntegrityRepository(session, principal.tenant).refund_items_page(
        status=status_filter, after=paging.position(cursor), limit=limit + 1
    )
    page = paging.page(request, response, items, limit, lambda item: (item.opened_at, item.id))
    return [RefundItemOut.model_validate(item, from_attributes=True) for item in page]


@router.post("/refunds/{item_id}/resolve", responses={**_ERRORS, 404: {}, 409: {}})
async def resolve_refund(
    item_id: uuid.UUID, resolution: RefundResolution, principal: CanWrite, session: SessionDep
) -> RefundItemOut:
    """Close a refund work item: `refunded` posts the refund (the claim's credit balance back to zero),
    `dismissed` posts nothing; the reason is kept."""
    try:
        item = await service.resolve_refund_item(
            session,
            tenant=principal.tenant,
            item_id=item_id,
            resolution=resolution.resolution,
            reason=resolution.reason,
            resolver=principal.subject,
        )
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except service.PostingConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return RefundItemOut.model_validate(item, from_attributes=True)


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
        credit_balance_cents=balance.credit_balance_cents,
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
        404: {"description": "No account for this patient: remittance knows patients from their submitted claims."},
        409: {"description": "The `Idempotency-Key` was used for a different payment."},
        422: {"description": "Another currency than the account's, or a date before 1900 or in the future."},
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
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except service.MoneyRefused as exc:
        detail = [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail) from None
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return PatientPaymentOut.model_validate(result, from_attributes=True)


@router.get("/accounts/{patient_id}", responses=_ERRORS)
async def patient_account(
    patient_id: uuid.UUID,
    principal: CanRead,
    session: SessionDep,
    reader: PhiReaderDep,
    as_of: dt.date | None = None,
) -> AccountOut:
    """A patient's account: balance, aging buckets and every ledger entry."""
    account = await service.patient_account(
        session, tenant=principal.tenant, patient_id=patient_id, today=as_of or dt.date.today()
    )
    await reader.read("patient-account", [patient_id])
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
