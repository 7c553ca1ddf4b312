"""Reads behind remittance's list endpoints: remittances, claim payments, patient payments and payment
plans of one tenant, filtered and paged by keyset (creation time, id). Read-only; posting writes elsewhere."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.domain.accounts import Installment
from services.remittance.models import claim_payments, patient_payments, payment_plans, remittance_files
from services.remittance.repository import PaymentPlan
from shared.paging import Keyset, rows_after


@dataclass(frozen=True, slots=True)
class RemittanceRecord:
    id: uuid.UUID
    received_at: dt.datetime
    byte_count: int
    result: dict[str, object]


@dataclass(frozen=True, slots=True)
class ClaimPaymentRecord:
    id: uuid.UUID
    remittance_id: uuid.UUID
    payer_id: str
    trace_number: str
    claim_control_number: str
    claim_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    status_code: str
    state: str
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    currency: str
    payer_claim_control_number: str
    paid_date: dt.date
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PatientPaymentRecord:
    id: uuid.UUID
    patient_id: uuid.UUID
    amount_cents: int
    currency: str
    method: str
    received_on: dt.date
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PaymentQuery:
    """Filters of the claim payment list; None matches any."""

    claim_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    payer_id: str | None = None
    trace_number: str | None = None
    remittance_id: uuid.UUID | None = None


_PAYMENT_COLUMNS = (
    claim_payments.c.id,
    claim_payments.c.file_id.label("remittance_id"),
    claim_payments.c.payer_id,
    claim_payments.c.trace_number,
    claim_payments.c.claim_control_number,
    claim_payments.c.claim_id,
    claim_payments.c.patient_id,
    claim_payments.c.status_code,
    claim_payments.c.state,
    claim_payments.c.charge_cents,
    claim_payments.c.paid_cents,
    claim_payments.c.patient_responsibility_cents,
    claim_payments.c.currency,
    claim_payments.c.payer_claim_control_number,
    claim_payments.c.paid_date,
    claim_payments.c.received_at,
)


def _plan(row: sa.RowMapping) -> PaymentPlan:
    return PaymentPlan(
        id=row["id"],
        patient_id=row["patient_id"],
        total_cents=row["total_cents"],
        currency=row["currency"],
        installments=tuple(
            Installment(item["number"], dt.date.fromisoformat(item["due_on"]), item["amount_cents"])
            for item in row["installments"]
        ),
        status=row["status"],
        starts_on=row["starts_on"],
        created_at=row["created_at"],
    )


class RemittanceSearch:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def remittances(self, *, after: Keyset | None, limit: int) -> list[RemittanceRecord]:
        files = remittance_files.c
        query = sa.select(files.id, files.received_at, files.byte_count, files.result).where(
            files.tenant_id == self._tenant
        )
        if after is not None:
            query = query.where(rows_after(files.received_at, files.id, after))
        query = query.order_by(files.received_at, files.id).limit(limit)
        return [RemittanceRecord(**row) for row in (await self._session.execute(query)).mappings()]

    async def payments(self, filters: PaymentQuery, *, after: Keyset | None, limit: int) -> list[ClaimPaymentRecord]:
        payments = claim_payments.c
        query = sa.select(*_PAYMENT_COLUMNS).where(payments.tenant_id == self._tenant)
        if filters.claim_id is not None:
            query = query.where(payments.claim_id == filters.claim_id)
        if filters.patient_id is not None:
            query = query.where(payments.patient_id == filters.patient_id)
        if filters.payer_id is not None:
            query = query.where(payments.payer_id == filters.payer_id)
        if filters.trace_number is not None:
            query = query.where(payments.trace_number == filters.trace_number)
        if filters.remittance_id is not None:
            query = query.where(payments.file_id == filters.remittance_id)
        if after is not None:
            query = query.where(rows_after(payments.received_at, payments.id, after))
        query = query.order_by(payments.received_at, payments.id).limit(limit)
        return [ClaimPaymentRecord(**row) for row in (await self._session.execute(query)).mappings()]

    async def payment(self, payment_id: uuid.UUID) -> ClaimPaymentRecord | None:
        query = sa.select(*_PAYMENT_COLUMNS).where(
            claim_payments.c.tenant_id == self._tenant, claim_payments.c.id == payment_id
        )
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else ClaimPaymentRecord(**row)

    async def patient_payments(
        self, patient_id: uuid.UUID | None, *, after: Keyset | None, limit: int
    ) -> list[PatientPaymentRecord]:
        paid = patient_payments.c
        query = sa.select(
            paid.id, paid.patient_id, paid.amount_cents, paid.currency, paid.method, paid.received_on, paid.created_at
        ).where(paid.tenant_id == self._tenant)
        if patient_id is not None:
            query = query.where(paid.patient_id == patient_id)
        if after is not None:
            query = query.where(rows_after(paid.created_at, paid.id, after))
        query = query.order_by(paid.created_at, paid.id).limit(limit)
        return [PatientPaymentRecord(**row) for row in (await self._session.execute(query)).mappings()]

    async def plans(
        self, patient_id: uuid.UUID | None, status: str | None, *, after: Keyset | None, limit: int
    ) -> list[PaymentPlan]:
        plans = payment_plans.c
        query = sa.select(payment_plans).where(plans.tenant_id == self._tenant)
        if patient_id is not None:
            query = query.where(plans.patient_id == patient_id)
        if status is not None:
            query = query.where(plans.status == status)
        if after is not None:
            query = query.where(rows_after(plans.created_at, plans.id, after))
        query = query.order_by(plans.created_at, plans.id).limit(limit)
        return [_plan(row) for row in (await self._session.execute(query)).mappings()]

    async def plan(self, plan_id: uuid.UUID) -> PaymentPlan | None:
        query = sa.select(payment_plans).where(payment_plans.c.tenant_id == self._tenant, payment_plans.c.id == plan_id)
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else _plan(row)
