"""Remittance's lists: remittances, claim payments, patient payments and payment plans, each filtered and
paged with a cursor, and each payment and plan readable by id. Every record names its neighbours by id
(claim, patient, remittance); the suspense queue keeps its own endpoint."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from services.remittance.repository import PaymentPlan
from services.remittance.schemas import InstallmentOut, PatientPaymentOut, PaymentPlanOut, RemittanceResult
from services.remittance.search_repository import PaymentQuery, RemittanceSearch
from shared.auth import Principal, require_scope
from shared.http import SessionDep
from shared.paging import PRINTABLE, CursorParam, Limit, Page, after_cursor, next_cursor
from shared.phi.access import PhiReaderDep

router = APIRouter(prefix="/v1", tags=["remittance"])
CanRead = Annotated[Principal, require_scope("remittance:read")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such record for this tenant."}}


class RemittanceOut(RemittanceResult):
    received_at: dt.datetime
    byte_count: int


class ClaimPaymentOut(BaseModel):
    id: uuid.UUID = Field(description="The payment id (`payment-received.v1` payment_id; claims lists it too).")
    remittance_id: uuid.UUID = Field(description="The 835 it came in (`GET /v1/remittances/{id}`).")
    claim_id: uuid.UUID | None = Field(description="The claim it was posted to; null while in suspense.")
    patient_id: uuid.UUID | None
    payer_id: str
    trace_number: str = Field(description="TRN02: the check or EFT number.")
    claim_control_number: str
    status_code: str = Field(description="CLP02.")
    state: Literal["posted", "suspense"]
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    currency: str
    payer_claim_control_number: str
    paid_date: dt.date
    received_at: dt.datetime


def _plan_out(plan: PaymentPlan) -> PaymentPlanOut:
    return PaymentPlanOut(
        id=plan.id,
        patient_id=plan.patient_id,
        total_cents=plan.total_cents,
        currency=plan.currency,
        installments=[
            InstallmentOut(number=i.number, due_on=i.due_on, amount_cents=i.amount_cents) for i in plan.installments
        ],
        status=plan.status,
    )


@router.get("/remittances")
async def list_remittances(
    principal: CanRead, session: SessionDep, limit: Limit = 100, cursor: CursorParam = None
) -> Page[RemittanceOut]:
    """The tenant's posted 835s, oldest first, with their posting summaries; `next_cursor` to page on."""
    found = await RemittanceSearch(session, principal.tenant).remittances(after=after_cursor(cursor), limit=limit)
    return Page[RemittanceOut](
        items=[
            RemittanceOut.model_validate({**r.result, "received_at": r.received_at, "byte_count": r.byte_count})
            for r in found
        ],
        next_cursor=next_cursor([(r.received_at, r.id) for r in found], limit),
    )


@router.get("/payments")
async def list_payments(
    principal: CanRead,
    session: SessionDep,
    claim_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    payer_id: Annotated[str | None, Query(max_length=80, pattern=PRINTABLE)] = None,
    trace_number: Annotated[
        str | None, Query(max_length=80, pattern=PRINTABLE, description="TRN02: a check or EFT number.")
    ] = None,
    remittance_id: uuid.UUID | None = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[ClaimPaymentOut]:
    """Claim payments read from 835s (posted, or in suspense), oldest first, by claim, patient, payer,
    check/EFT number or remittance; `next_cursor` to page on."""
    filters = PaymentQuery(
        claim_id=claim_id, patient_id=patient_id, payer_id=payer_id, trace_number=trace_number,
        remittance_id=remittance_id,
    )  # fmt: skip
    search = RemittanceSearch(session, principal.tenant)
    found = await search.payments(filters, after=after_cursor(cursor), limit=limit)
    return Page[ClaimPaymentOut](
        items=[ClaimPaymentOut.model_validate(p, from_attributes=True) for p in found],
        next_cursor=next_cursor([(p.received_at, p.id) for p in found], limit),
    )


@router.get("/payments/{payment_id}", responses=NOT_FOUND)
async def get_payment(payment_id: uuid.UUID, principal: CanRead, session: SessionDep) -> ClaimPaymentOut:
    payment = await RemittanceSearch(session, principal.tenant).payment(payment_id)
    if payment is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="payment not found")
    return ClaimPaymentOut.model_validate(payment, from_attributes=True)


@router.get("/patient-payments")
async def list_patient_payments(
    principal: CanRead,
    session: SessionDep,
    patient_id: uuid.UUID | None = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[PatientPaymentOut]:
    """Payments patients made on their accounts, oldest first; `next_cursor` to page on."""
    search = RemittanceSearch(session, principal.tenant)
    found = await search.patient_payments(patient_id, after=after_cursor(cursor), limit=limit)
    return Page[PatientPaymentOut](
        items=[PatientPaymentOut.model_validate(p, from_attributes=True) for p in found],
        next_cursor=next_cursor([(p.created_at, p.id) for p in found], limit),
    )


@router.get("/payment-plans")
async def list_payment_plans(
    principal: CanRead,
    session: SessionDep,
    patient_id: uuid.UUID | None = None,
    status_: Annotated[Literal["active", "cancelled"] | None, Query(alias="status")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[PaymentPlanOut]:
    """Payment plans, oldest first, by patient and status; `next_cursor` to page on."""
    search = RemittanceSearch(session, principal.tenant)
    found = await search.plans(patient_id, status_, after=after_cursor(cursor), limit=limit)
    keys = [(plan.created_at, plan.id) for plan in found if plan.created_at is not None]
    return Page[PaymentPlanOut](items=[_plan_out(plan) for plan in found], next_cursor=next_cursor(keys, limit))


@router.get("/payment-plans/{plan_id}", responses=NOT_FOUND)
async def get_payment_plan(
    plan_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> PaymentPlanOut:
    """A payment plan with its installments."""
    plan = await RemittanceSearch(session, principal.tenant).plan(plan_id)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="payment plan not found")
    await reader.read("payment-plan", [plan_id])
    return _plan_out(plan)
