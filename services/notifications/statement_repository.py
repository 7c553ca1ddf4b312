"""All SQL of patient statements: the statement ledger written from events, the statements, print
batches and page payments. Reads are scoped to one tenant; rows come back as typed records.

PHI at rest (shared.phi): a patient's name and mailing address (`mailing_phi`) and email (`email_phi`), each
statement's document and text (`phi`) and every PDF (statements and print batches, sealed in place) are sealed
with the tenant's data key, bound to their row; rows stored before notifications 0006 are read in plaintext
until `claimflow phi encrypt-existing --service notifications` seals them (`seal_legacy_rows`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.domain.statements import (
    Adjudication,
    ClaimCharge,
    Installment,
    PatientLedger,
    PatientPayment,
    PaymentPlan,
    PriorStatement,
    Stage,
    Visit,
)
from services.notifications.models import (
    phi_keys,
    print_batches,
    statement_adjudications,
    statement_claims,
    statement_encounters,
    statement_number_seq,
    statement_patient_payments,
    statement_patients,
    statement_payment_plans,
    statement_payments,
    statements,
)
from services.notifications.repository import array_insert, run_array_insert
from shared.phi.crypto import FORMAT, Binding, TenantKeys
from shared.phi.keys import tenant_keys
from shared.phi.rotation import PhiAtRest, SealedColumn

Delivery = Literal["email", "paper", "none"]
DeliveryStatus = Literal["pending", "sent", "printed", "opted_out", "undeliverable"]


@dataclass(frozen=True, slots=True)
class PatientContact:
    patient_id: uuid.UUID
    name: str | None
    address_lines: tuple[str, ...]
    delivery: Delivery | None
    email: str | None


@dataclass(frozen=True, slots=True)
class PatientMailing:
    """The name and mailing address an encounter-coded event names for its patient."""

    tenant: str
    patient_id: uuid.UUID
    name: str
    address_lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StatementRecord:
    id: uuid.UUID
    tenant_id: str
    patient_id: uuid.UUID
    number: str
    cycle: int
    stage: Stage
    statement_date: dt.date
    due_date: dt.date
    balance_cents: int
    amount_due_cents: int
    currency: str
    document: dict[str, Any]
    delivery: Delivery
    delivery_status: DeliveryStatus
    delivered_at: dt.datetime | None
    print_batch_id: uuid.UUID | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NewStatement:
    id: uuid.UUID
    patient_id: uuid.UUID
    number: str
    cycle: int
    stage: Stage
    statement_date: dt.date
    due_date: dt.date
    balance_cents: int
    amount_due_cents: int
    currency: str
    document: dict[str, Any]
    text: str
    pdf: bytes
    delivery: Delivery
    delivery_status: DeliveryStatus


_RECORD_COLUMNS = [
    statements.c[name]
    for name in (
        "id",
        "tenant_id",
        "patient_id",
        "number",
        "cycle",
        "stage",
        "statement_date",
        "due_date",
        "balance_cents",
        "amount_due_cents",
        "currency",
        "document",
        "phi",
        "delivery",
        "delivery_status",
        "delivered_at",
        "print_batch_id",
        "created_at",
    )
]
_SEALED = bytes([FORMAT])


def is_sealed(value: bytes) -> bool:
    """A sealed value (shared.phi format byte), not plaintext stored before 0006 (a PDF starts `%PDF`)."""
    return value[:1] == _SEALED


async def _tenant_keys(session: AsyncSession, tenant: str, opening: Sequence[bytes | None] = ()) -> TenantKeys:
    return await tenant_keys(session, phi_keys, tenant, opening=[v for v in opening if v is not None and is_sealed(v)])


def _binding(tenant: str, table: sa.Table, column: str, row_id: uuid.UUID) -> Binding:
    return Binding(tenant, table.name, column, str(row_id))


def _sealed_statement(keys: TenantKeys, statement_id: uuid.UUID, document: dict[str, Any], text: str) -> bytes:
    return keys.seal_json({"document": document, "text": text}, _binding(keys.tenant, statements, "phi", statement_id))


def _opened_statement(keys: TenantKeys, statement_id: uuid.UUID, sealed: bytes) -> tuple[dict[str, Any], str]:
    opened = keys.open_json(sealed, _binding(keys.tenant, statements, "phi", statement_id))
    return cast(dict[str, Any], opened["document"]), cast(str, opened["text"])


def _sealed_pdf(keys: TenantKeys, table: sa.Table, row_id: uuid.UUID, pdf: bytes) -> bytes:
    return keys.seal(pdf, _binding(keys.tenant, table, "pdf", row_id))


def _opened_pdf(keys: TenantKeys, table: sa.Table, row_id: uuid.UUID, pdf: bytes) -> bytes:
    return keys.open(pdf, _binding(keys.tenant, table, "pdf", row_id)) if is_sealed(pdf) else pdf


def _sealed_mailing(keys: TenantKeys, patient_id: uuid.UUID, name: str | None, lines: Sequence[str]) -> bytes:
    binding = _binding(keys.tenant, statement_patients, "mailing_phi", patient_id)
    return keys.seal_json({"name": name, "address_lines": list(lines)}, binding)


def _sealed_email(keys: TenantKeys, patient_id: uuid.UUID, email: str) -> bytes:
    return keys.seal(email.encode(), _binding(keys.tenant, statement_patients, "email_phi", patient_id))


def _contact(keys: TenantKeys | None, row: sa.Row[Any]) -> PatientContact:
    """A contact row opened (sealed columns) or as stored before 0006 (plaintext columns)."""
    name, lines, email = row.name, tuple(row.address_lines or ()), row.email
    if row.mailing_phi is not None and keys is not None:
        mailing = keys.open_json(
            row.mailing_phi, _binding(keys.tenant, statement_patients, "mailing_phi", row.patient_id)
        )
        name, lines = cast(str | None, mailing["name"]), tuple(cast(list[str], mailing["address_lines"]))
    if row.email_phi is not None and keys is not None:
        binding = _binding(keys.tenant, statement_patients, "email_phi", row.patient_id)
        email = keys.open(row.email_phi, binding).decode()
    return PatientContact(
        patient_id=row.patient_id,
        name=name,
        address_lines=lines,
        delivery=cast(Delivery | None, row.delivery),
        email=email,
    )


async def _records(session: AsyncSession, rows: Sequence[sa.Row[Any]]) -> list[StatementRecord]:
    """Statement rows as records, their documents opened (each tenant's keys fetched once)."""
    keys: dict[str, TenantKeys] = {}
    records = []
    for row in rows:
        fields = row._asdict()
        sealed: bytes | None = fields.pop("phi")
        if sealed is not None:
            tenant = row.tenant_id
            if tenant not in keys:
                keys[tenant] = await _tenant_keys(session, tenant, [r.phi for r in rows if r.tenant_id == tenant])
            fields["document"] = _opened_statement(keys[tenant], row.id, sealed)[0]
        records.append(StatementRecord(**fields))
    return records


class StatementLedgerWrites:
    """Writes from the event stream, which carries each event's tenant itself; every write is idempotent."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def patient_mailing(self, mailings: Sequence[PatientMailing]) -> None:
        """The name and address the latest encounter names, sealed; the delivery preference is left alone."""
        if not mailings:
            return
        keys: dict[str, TenantKeys] = {}
        rows = []
        for mailing in mailings:
            if mailing.tenant not in keys:
                keys[mailing.tenant] = await _tenant_keys(self._session, mailing.tenant)
            sealed = _sealed_mailing(keys[mailing.tenant], mailing.patient_id, mailing.name, mailing.address_lines)
            rows.append({"tenant_id": mailing.tenant, "patient_id": mailing.patient_id, "mailing_phi": sealed})
        statement = insert(statement_patients)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[statement_patients.c.tenant_id, statement_patients.c.patient_id],
                set_={
                    "mailing_phi": statement.excluded.mailing_phi,
                    "name": None,
                    "address_lines": None,
                    "updated_at": sa.func.now(),
                },
            ),
            rows,
        )

    async def add(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows, skipping those already there: one statement from one array per column when no column is
        JSON (an executemany ran the insert once per row), run on the driver, else an executemany."""
        if not rows:
            return
        names = tuple(rows[0])
        same_columns = all(row.keys() == rows[0].keys() for row in rows)
        statement = array_insert(table, names) if same_columns else None
        if statement is None:
            await self._session.execute(insert(table).on_conflict_do_nothing(), list(rows))
            return
        await run_array_insert(self._session, statement, {name: [row[name] for row in rows] for name in names})

    async def add_columns(self, table: sa.Table, columns: dict[str, list[Any]]) -> None:
        """`add` of rows given as a list per column (no JSON column among them), as a handler builds them in one pass
        over its events: no dictionary per row."""
        statement = array_insert(table, tuple(columns))
        if statement is None:
            raise TypeError(f"{table.fullname}: a JSON column cannot be inserted from arrays")
        if next(iter(columns.values()), None):
            await run_array_insert(self._session, statement, columns)

    async def payment_plans(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            statement = insert(statement_payment_plans)
            await self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=[statement_payment_plans.c.plan_id],
                    set_={
                        "status": statement.excluded.status,
                        "installments": statement.excluded.installments,
                        "changed_on": statement.excluded.changed_on,
                    },
                ),
                list(rows),
            )


class StatementRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def _keys(self, opening: Sequence[bytes | None] = ()) -> TenantKeys:
        return await _tenant_keys(self._session, self._tenant, opening)

    async def set_preference(self, patient_id: uuid.UUID, delivery: Delivery, email: str | None) -> None:
        sealed = _sealed_email(await self._keys(), patient_id, email) if email is not None else None
        statement = insert(statement_patients).values(
            tenant_id=self._tenant, patient_id=patient_id, delivery=delivery, email_phi=sealed
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[statement_patients.c.tenant_id, statement_patients.c.patient_id],
                set_={"delivery": delivery, "email_phi": sealed, "email": None, "updated_at": sa.func.now()},
            )
        )

    async def contacts(self, patient_ids: Sequence[uuid.UUID] | None = None) -> dict[uuid.UUID, PatientContact]:
        query = sa.select(statement_patients).where(statement_patients.c.tenant_id == self._tenant)
        if patient_ids is not None:
            query = query.where(statement_patients.c.patient_id.in_(list(patient_ids)))
        rows = (await self._session.execute(query)).all()
        sealed = [value for row in rows for value in (row.mailing_phi, row.email_phi) if value is not None]
        keys = await self._keys(sealed) if sealed else None
        return {row.patient_id: _contact(keys, row) for row in rows}

    async def lock_runs(self) -> None:
        """Statement runs of one tenant take turns (periodic and HTTP alike) until the transaction ends."""
        await self._session.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("claimflow-statement-run:" + self._tenant)))
        )

    async def ledgers(self) -> list[PatientLedger]:
        """Every patient of the tenant with a claim, with everything their next statement depends on."""
        tenant = self._tenant
        visits: dict[uuid.UUID, list[Visit]] = {}
        for row in await self._rows(sa.select(statement_encounters).where(statement_encounters.c.tenant_id == tenant)):
            visits.setdefault(row.patient_id, []).append(
                Visit(row.encounter_id, row.service_date, row.expects_secondary)
            )
        claims: dict[uuid.UUID, list[ClaimCharge]] = {}
        patient_of_claim: dict[uuid.UUID, uuid.UUID] = {}
        for row in await self._rows(sa.select(statement_claims).where(statement_claims.c.tenant_id == tenant)):
            patient_of_claim[row.claim_id] = row.patient_id
            claims.setdefault(row.patient_id, []).append(
                ClaimCharge(
                    claim_id=row.claim_id,
                    encounter_id=row.encounter_id,
                    claim_control_number=row.claim_control_number,
                    charge_cents=row.charge_cents,
                    currency=row.currency,
                    procedure_codes=tuple(row.procedure_codes),
                    submitted_at=row.submitted_at,
                )
            )
        adjudications: dict[uuid.UUID, list[Adjudication]] = {}
        query = sa.select(statement_adjudications).where(statement_adjudications.c.tenant_id == tenant)
        for row in await self._rows(query):
            if (patient_id := patient_of_claim.get(row.claim_id)) is not None:
                adjudications.setdefault(patient_id, []).append(
                    Adjudication(
                        payment_id=row.payment_id,
                        claim_id=row.claim_id,
                        charge_cents=row.charge_cents,
                        paid_cents=row.paid_cents,
                        patient_responsibility_cents=row.patient_responsibility_cents,
                        next_responsible=row.next_responsible,
                        paid_date=row.paid_date,
                        reversal_of=row.reversal_of,
                    )
                )
        payments: dict[uuid.UUID, list[PatientPayment]] = {}
        query = sa.select(statement_patient_payments).where(statement_patient_payments.c.tenant_id == tenant)
        for row in await self._rows(query):
            payments.setdefault(row.patient_id, []).append(
                PatientPayment(row.payment_id, row.amount_cents, row.received_on)
            )
        plans: dict[uuid.UUID, PaymentPlan] = {}
        query = (
            sa.select(statement_payment_plans)
            .where(statement_payment_plans.c.tenant_id == tenant)
            .order_by(statement_payment_plans.c.changed_on)
        )
        for row in await self._rows(query):
            plan = PaymentPlan(
                plan_id=row.plan_id,
                status=row.status,
                installments=tuple(
                    Installment(i["number"], dt.date.fromisoformat(i["due_on"]), i["amount_cents"])
                    for i in row.installments
                ),
                changed_on=row.changed_on,
            )
            current = plans.get(row.patient_id)
            if current is None or current.status != "active" or plan.status == "active":
                plans[row.patient_id] = plan
        prior: dict[uuid.UUID, list[PriorStatement]] = {}
        query = sa.select(
            statements.c.patient_id,
            statements.c.cycle,
            statements.c.stage,
            statements.c.statement_date,
            statements.c.due_date,
        ).where(statements.c.tenant_id == tenant)
        for row in await self._rows(query):
            prior.setdefault(row.patient_id, []).append(
                PriorStatement(row.cycle, row.stage, row.statement_date, row.due_date)
            )
        return [
            PatientLedger(
                patient_id=patient_id,
                visits=tuple(visits.get(patient_id, ())),
                claims=tuple(patient_claims),
                adjudications=tuple(adjudications.get(patient_id, ())),
                payments=tuple(payments.get(patient_id, ())),
                plan=plans.get(patient_id),
                statements=tuple(prior.get(patient_id, ())),
            )
            for patient_id, patient_claims in claims.items()
        ]

    async def _rows(self, query: sa.Select[Any]) -> list[sa.Row[Any]]:
        return list((await self._session.execute(query)).all())

    async def next_numbers(self, count: int) -> list[int]:
        if count == 0:
            return []
        query = sa.select(statement_number_seq.next_value()).select_from(sa.func.generate_series(1, count))
        return list((await self._session.execute(query)).scalars())

    async def add_statements(self, rows: Sequence[NewStatement]) -> set[uuid.UUID]:
        """Insert statements; one already made for a patient's cycle wins, so the ids inserted come back."""
        if not rows:
            return set()
        keys = await self._keys()
        values = [
            {
                "tenant_id": self._tenant,
                **_as_dict(row),
                "document": None,
                "text": None,
                "phi": _sealed_statement(keys, row.id, row.document, row.text),
                "pdf": _sealed_pdf(keys, statements, row.id, row.pdf),
            }
            for row in rows
        ]
        inserted = await self._session.execute(
            insert(statements)
            .on_conflict_do_nothing(index_elements=["tenant_id", "patient_id", "cycle"])
            .returning(statements.c.id),
            values,
        )
        return set(inserted.scalars())

    async def add_print_batch(
        self, batch_id: uuid.UUID, run_on: dt.date, statement_ids: Sequence[uuid.UUID], pdf: bytes
    ) -> None:
        await self._session.execute(
            sa.insert(print_batches).values(
                id=batch_id,
                tenant_id=self._tenant,
                run_on=run_on,
                statement_count=len(statement_ids),
                pdf=_sealed_pdf(await self._keys(), print_batches, batch_id, pdf),
            )
        )
        await self._session.execute(
            sa.update(statements)
            .where(statements.c.tenant_id == self._tenant, statements.c.id.in_(list(statement_ids)))
            .values(print_batch_id=batch_id, delivery_status="printed", delivered_at=sa.func.now())
        )

    async def get(self, statement_id: uuid.UUID) -> StatementRecord | None:
        query = sa.select(*_RECORD_COLUMNS).where(
            statements.c.tenant_id == self._tenant, statements.c.id == statement_id
        )
        return next(iter(await _records(self._session, await self._rows(query))), None)

    async def of_patient(self, patient_id: uuid.UUID) -> list[StatementRecord]:
        query = (
            sa.select(*_RECORD_COLUMNS)
            .where(statements.c.tenant_id == self._tenant, statements.c.patient_id == patient_id)
            .order_by(statements.c.statement_date, statements.c.number)
        )
        return await _records(self._session, await self._rows(query))

    async def rendering(self, statement_id: uuid.UUID, kind: Literal["pdf", "text"]) -> bytes | str | None:
        query = sa.select(statements.c.pdf, statements.c.text, statements.c.phi).where(
            statements.c.tenant_id == self._tenant, statements.c.id == statement_id
        )
        row = (await self._session.execute(query)).one_or_none()
        if row is None:
            return None
        if kind == "pdf":
            return _opened_pdf(await self._keys([row.pdf]), statements, statement_id, row.pdf)
        if row.phi is None:
            return cast(str, row.text)
        return _opened_statement(await self._keys([row.phi]), statement_id, row.phi)[1]

    async def print_batch_pdf(self, batch_id: uuid.UUID) -> bytes | None:
        query = sa.select(print_batches.c.pdf).where(
            print_batches.c.tenant_id == self._tenant, print_batches.c.id == batch_id
        )
        pdf: bytes | None = (await self._session.execute(query)).scalar_one_or_none()
        return None if pdf is None else _opened_pdf(await self._keys([pdf]), print_batches, batch_id, pdf)

    async def add_page_payment(
        self,
        *,
        payment_id: uuid.UUID,
        statement_id: uuid.UUID,
        patient_id: uuid.UUID,
        amount_cents: int,
        currency: str,
        method: str,
    ) -> bool:
        inserted = await self._session.execute(
            insert(statement_payments)
            .values(
                payment_id=payment_id,
                tenant_id=self._tenant,
                statement_id=statement_id,
                patient_id=patient_id,
                amount_cents=amount_cents,
                currency=currency,
                method=method,
            )
            .on_conflict_do_nothing()
            .returning(statement_payments.c.payment_id)
        )
        return inserted.scalar_one_or_none() is not None

    async def page_payment(self, payment_id: uuid.UUID) -> tuple[uuid.UUID, int] | None:
        """(statement id, amount) of a payment recorded on a statement page."""
        query = sa.select(statement_payments.c.statement_id, statement_payments.c.amount_cents).where(
            statement_payments.c.tenant_id == self._tenant, statement_payments.c.payment_id == payment_id
        )
        row = (await self._session.execute(query)).one_or_none()
        return (row.statement_id, row.amount_cents) if row is not None else None

    async def submitted_on_page(self, statement_id: uuid.UUID) -> int:
        query = sa.select(sa.func.coalesce(sa.func.sum(statement_payments.c.amount_cents), 0)).where(
            statement_payments.c.tenant_id == self._tenant, statement_payments.c.statement_id == statement_id
        )
        return int((await self._session.execute(query)).scalar_one())

    async def mark_delivered(self, statement_id: uuid.UUID, status: DeliveryStatus) -> None:
        await self._session.execute(
            sa.update(statements)
            .where(statements.c.tenant_id == self._tenant, statements.c.id == statement_id)
            .values(delivery_status=status, delivered_at=sa.func.now() if status == "sent" else None)
        )


class StatementDirectory:
    """Lookups across tenants: a signed link names only its statement; periodic runs visit every tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def statement(self, statement_id: uuid.UUID) -> StatementRecord | None:
        rows = (await self._session.execute(sa.select(*_RECORD_COLUMNS).where(statements.c.id == statement_id))).all()
        return next(iter(await _records(self._session, rows)), None)

    async def tenants(self) -> list[str]:
        query = sa.select(statement_claims.c.tenant_id).distinct().order_by(statement_claims.c.tenant_id)
        return list((await self._session.execute(query)).scalars())

    async def pending_emails(self, limit: int) -> list[tuple[str, uuid.UUID]]:
        """(tenant, statement id) of email statements not yet sent, oldest first, locked for this sender."""
        query = (
            sa.select(statements.c.tenant_id, statements.c.id)
            .where(statements.c.delivery_status == "pending", statements.c.delivery == "email")
            .order_by(statements.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(row.tenant_id, row.id) for row in (await self._session.execute(query)).all()]


def _as_dict(row: NewStatement) -> dict[str, Any]:
    return {name: getattr(row, name) for name in NewStatement.__dataclass_fields__}


# --- PHI at rest: rows stored before 0006 ----------------------------------------------------------


def _plaintext_pdf(column: sa.ColumnElement[bytes]) -> sa.ColumnElement[bool]:
    return sa.func.substring(column, 1, 1) != _SEALED


async def seal_legacy_rows(session: AsyncSession, limit: int) -> int:
    """Seal up to `limit` rows stored in plaintext before 0006 (`claimflow phi encrypt-existing`); how many."""
    contacts = (
        await session.execute(
            sa.select(statement_patients)
            .where(
                sa.or_(
                    sa.and_(
                        statement_patients.c.mailing_phi.is_(None),
                        sa.or_(statement_patients.c.name.is_not(None), statement_patients.c.address_lines.is_not(None)),
                    ),
                    sa.and_(statement_patients.c.email_phi.is_(None), statement_patients.c.email.is_not(None)),
                )
            )
            .order_by(statement_patients.c.tenant_id, statement_patients.c.patient_id)
            .limit(limit)
            .with_for_update()
        )
    ).all()
    for row in contacts:
        keys = await _tenant_keys(session, row.tenant_id)
        values: dict[str, Any] = {}
        if row.mailing_phi is None and (row.name is not None or row.address_lines is not None):
            values.update(
                mailing_phi=_sealed_mailing(keys, row.patient_id, row.name, row.address_lines or ()),
                name=None,
                address_lines=None,
            )
        if row.email_phi is None and row.email is not None:
            values.update(email_phi=_sealed_email(keys, row.patient_id, row.email), email=None)
        await session.execute(
            sa.update(statement_patients)
            .where(statement_patients.c.tenant_id == row.tenant_id, statement_patients.c.patient_id == row.patient_id)
            .values(values)
        )
    if contacts:
        return len(contacts)
    rows = (
        await session.execute(
            sa.select(*(statements.c[name] for name in ("id", "tenant_id", "document", "text", "phi", "pdf")))
            .where(sa.or_(statements.c.phi.is_(None), _plaintext_pdf(statements.c.pdf)))
            .order_by(statements.c.id)
            .limit(limit)
            .with_for_update()
        )
    ).all()
    for row in rows:
        keys = await _tenant_keys(session, row.tenant_id)
        values = {}
        if row.phi is None:
            values.update(phi=_sealed_statement(keys, row.id, row.document, row.text), document=None, text=None)
        if not is_sealed(row.pdf):
            values.update(pdf=_sealed_pdf(keys, statements, row.id, row.pdf))
        await session.execute(sa.update(statements).where(statements.c.id == row.id).values(values))
    if rows:
        return len(rows)
    batches = (
        await session.execute(
            sa.select(print_batches.c.id, print_batches.c.tenant_id, print_batches.c.pdf)
            .where(_plaintext_pdf(print_batches.c.pdf))
            .order_by(print_batches.c.id)
            .limit(limit)
            .with_for_update()
        )
    ).all()
    for batch_id, tenant, pdf in batches:
        keys = await _tenant_keys(session, tenant)
        await session.execute(
            sa.update(print_batches)
            .where(print_batches.c.id == batch_id)
            .values(pdf=_sealed_pdf(keys, print_batches, batch_id, pdf))
        )
    return len(batches)


PHI_AT_REST = PhiAtRest(
    keys=phi_keys,
    sealed=[
        SealedColumn(statement_patients, "mailing_phi", row_id="patient_id"),
        SealedColumn(statement_patients, "email_phi", row_id="patient_id"),
        SealedColumn(statements, "phi"),
        SealedColumn(statements, "pdf"),
        SealedColumn(print_batches, "pdf"),
    ],
    seal_legacy=seal_legacy_rows,
)
"""What notifications keeps sealed, for `claimflow phi rotate-data-key` and `encrypt-existing`."""
