"""All SQL of the remittance service; every query is scoped to one tenant.

The large inserts of a posting (claim payments, ledger entries) go through asyncpg directly in
the session's own transaction: `unnest` arrays for claim payments (one statement, `ON CONFLICT DO
NOTHING` on the payment key) and COPY for ledger entries, whose unique source keys still refuse
any second posting.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.domain.posting import EntryDraft, StoredEntry, SubmittedClaim, SubmittedLine
from services.remittance.models import (
    SCHEMA,
    claim_payments,
    inbound_files,
    ledger_entries,
    messaging,
    patient_payments,
    payment_plans,
    remittance_files,
    submitted_claims,
)
from shared.events.envelope import EventEnvelope
from shared.messaging.outbox import envelope_to_row


async def _driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, inside the session's open transaction."""
    connection = await session.connection()
    await connection.execute(sa.text("SELECT 1"))  # the transaction is begun lazily: make sure it is
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    return driver


class SubmittedClaimRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get_by_control_number(self, claim_control_number: str) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(submitted_claims).where(
                    submitted_claims.c.tenant_id == self._tenant,
                    submitted_claims.c.claim_control_number == claim_control_number,
                )
            )
        ).one_or_none()

    async def by_control_numbers(self, claim_control_numbers: Sequence[str]) -> dict[str, SubmittedClaim]:
        """Through asyncpg directly: a large file looks up tens of thousands of claims at once, and
        SQLAlchemy's row processing (and its JSON decoding per row) cost more than the query."""
        if not claim_control_numbers:
            return {}
        driver = await _driver_connection(self._session)
        records = await driver.fetch(_SUBMITTED_BY_NUMBERS, self._tenant, list(claim_control_numbers))
        return {record["claim_control_number"]: _submitted(record) for record in records}

    async def record(self, values: dict[str, Any]) -> None:
        """A resubmission of the same claim keeps the latest submission time."""
        statement = insert(submitted_claims).values(tenant_id=self._tenant, **values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[submitted_claims.c.claim_id],
                set_={"submitted_at": statement.excluded.submitted_at},
                where=submitted_claims.c.tenant_id == self._tenant,
            )
        )


_SUBMITTED_BY_NUMBERS = (
    f"SELECT claim_id, claim_control_number, payer_id, patient_id, total_charge_cents, currency, lines::text "  # noqa: S608
    f"FROM {SCHEMA}.submitted_claims WHERE tenant_id = $1 AND claim_control_number = ANY($2::text[])"
)


def _submitted(record: asyncpg.Record) -> SubmittedClaim:
    return SubmittedClaim(
        claim_id=record["claim_id"],
        claim_control_number=record["claim_control_number"],
        payer_id=record["payer_id"],
        patient_id=record["patient_id"],
        total_charge_cents=record["total_charge_cents"],
        currency=record["currency"],
        lines=tuple(
            SubmittedLine(
                line["line_number"],
                line.get("line_control_number"),
                line["procedure_code"],
                tuple(line.get("modifiers") or ()),
                line["charge_cents"],
            )
            for line in json.loads(record["lines"])
        ),
    )


class RemittanceFileRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get_by_hash(self, content_sha256: str) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(remittance_files).where(
                    remittance_files.c.tenant_id == self._tenant, remittance_files.c.content_sha256 == content_sha256
                )
            )
        ).one_or_none()

    async def get(self, file_id: uuid.UUID) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(remittance_files).where(
                    remittance_files.c.tenant_id == self._tenant, remittance_files.c.id == file_id
                )
            )
        ).one_or_none()

    async def add_if_new(self, file_id: uuid.UUID, content_sha256: str, byte_count: int) -> bool:
        """False when this tenant already has a file with this content (waits for a concurrent one)."""
        inserted = await self._session.execute(
            insert(remittance_files)
            .values(id=file_id, tenant_id=self._tenant, content_sha256=content_sha256, byte_count=byte_count, result={})
            .on_conflict_do_nothing(index_elements=[remittance_files.c.tenant_id, remittance_files.c.content_sha256])
            .returning(remittance_files.c.id)
        )
        return inserted.scalar_one_or_none() is not None

    async def set_result(self, file_id: uuid.UUID, result: dict[str, Any]) -> None:
        await self._session.execute(
            sa.update(remittance_files)
            .where(remittance_files.c.tenant_id == self._tenant, remittance_files.c.id == file_id)
            .values(result=result)
        )


_PAYMENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "uuid"),
    ("tenant_id", "text"),
    ("file_id", "uuid"),
    ("payer_id", "text"),
    ("trace_number", "text"),
    ("claim_control_number", "text"),
    ("status_code", "text"),
    ("occurrence", "int"),
    ("state", "text"),
    ("suspense_reason", "text"),
    ("claim_id", "uuid"),
    ("patient_id", "uuid"),
    ("charge_cents", "bigint"),
    ("paid_cents", "bigint"),
    ("patient_responsibility_cents", "bigint"),
    ("currency", "text"),
    ("payer_claim_control_number", "text"),
    ("paid_date", "date"),
    ("reversal_of", "uuid"),
    ("facts", "jsonb"),
    ("posted_at", "timestamptz"),
)


def _insert_payments_statement() -> str:
    """One INSERT ... SELECT FROM unnest(arrays): every claim payment of a file in one round trip."""
    names = ", ".join(name for name, _ in _PAYMENT_COLUMNS)
    selected = ", ".join(f"{name}::jsonb" if kind == "jsonb" else name for name, kind in _PAYMENT_COLUMNS)
    arrays = ", ".join(
        f"${index}::{'text' if kind == 'jsonb' else kind}[]" for index, (_, kind) in enumerate(_PAYMENT_COLUMNS, 1)
    )
    return (
        f"INSERT INTO {SCHEMA}.claim_payments ({names}) SELECT {selected} "  # noqa: S608 - constant names only
        f"FROM unnest({arrays}) AS t({names}) "
        "ON CONFLICT ON CONSTRAINT uq_claim_payments_payment_key DO NOTHING RETURNING id"
    )


_INSERT_PAYMENTS = _insert_payments_statement()


class ClaimPaymentRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def add_new(self, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
        """Insert claim payments whose payment key is new; the ids actually inserted."""
        if not rows:
            return set()
        driver = await _driver_connection(self._session)
        columns = [
            [json.dumps(row[name]) if kind == "jsonb" else row.get(name) for row in rows]
            for name, kind in _PAYMENT_COLUMNS
        ]
        for index, (name, _) in enumerate(_PAYMENT_COLUMNS):
            if name == "tenant_id":
                columns[index] = [self._tenant] * len(rows)
        return {record["id"] for record in await driver.fetch(_INSERT_PAYMENTS, *columns)}

    async def suspended(self, limit: int = 500) -> list[sa.Row[Any]]:
        return list(
            await self._session.execute(
                sa.select(claim_payments)
                .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.state == "suspense")
                .order_by(claim_payments.c.received_at, claim_payments.c.id)
                .limit(limit)
            )
        )

    async def get_for_update(self, payment_id: uuid.UUID) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(claim_payments)
                .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.id == payment_id)
                .with_for_update()
            )
        ).one_or_none()

    async def mark_posted(
        self,
        payment_id: uuid.UUID,
        *,
        claim_id: uuid.UUID,
        patient_id: uuid.UUID | None,
        reversal_of: uuid.UUID | None,
        facts: dict[str, Any],
    ) -> None:
        await self._session.execute(
            sa.update(claim_payments)
            .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.id == payment_id)
            .values(
                state="posted",
                suspense_reason=None,
                claim_id=claim_id,
                patient_id=patient_id,
                reversal_of=reversal_of,
                facts=facts,
                posted_at=sa.func.now(),
            )
        )

    async def reversible_payment(self, claim_id: uuid.UUID, payer_claim_control_number: str) -> sa.Row[Any] | None:
        """The latest posted, not yet reversed, non-reversal payment of a claim (same payer claim number
        when the reversal names one)."""
        reversed_ids = (
            sa.select(claim_payments.c.reversal_of)
            .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.reversal_of.is_not(None))
            .scalar_subquery()
        )
        query = sa.select(claim_payments).where(
            claim_payments.c.tenant_id == self._tenant,
            claim_payments.c.claim_id == claim_id,
            claim_payments.c.state == "posted",
            claim_payments.c.status_code != "22",
            claim_payments.c.id.not_in(reversed_ids),
        )
        if payer_claim_control_number:
            query = query.where(claim_payments.c.payer_claim_control_number == payer_claim_control_number)
        return (
            await self._session.execute(query.order_by(claim_payments.c.posted_at.desc(), claim_payments.c.id).limit(1))
        ).one_or_none()

    async def for_claim(self, claim_id: uuid.UUID) -> list[sa.Row[Any]]:
        return list(
            await self._session.execute(
                sa.select(claim_payments)
                .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.claim_id == claim_id)
                .order_by(claim_payments.c.posted_at, claim_payments.c.id)
            )
        )


_ENTRY_COLUMNS = (
    "tenant_id",
    "account_type",
    "account_id",
    "kind",
    "amount_cents",
    "currency",
    "group_code",
    "carc",
    "line_number",
    "reference",
    "claim_payment_id",
    "reversal_of",
    "source_key",
    "posted_on",
)


class LedgerRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def copy_in(
        self, entries: Sequence[tuple[EntryDraft, uuid.UUID | None]], *, currency: str, posted_on: dt.date
    ) -> None:
        """Entries whose sources are new (a second copy breaks the unique source key and fails the posting)."""
        if not entries:
            return
        driver = await _driver_connection(self._session)
        records = [
            (
                self._tenant,
                entry.account_type,
                entry.account_id,
                entry.kind,
                entry.amount_cents,
                currency,
                entry.group_code,
                entry.carc,
                entry.line_number,
                entry.reference,
                payment_id,
                entry.reversal_of,
                entry.source_key,
                posted_on,
            )
            for entry, payment_id in entries
        ]
        await driver.copy_records_to_table(
            "ledger_entries", schema_name=SCHEMA, columns=list(_ENTRY_COLUMNS), records=records
        )

    async def add_if_new(
        self, entries: Sequence[EntryDraft], *, currency: str, posted_on: dt.date, claim_payment_id: uuid.UUID | None
    ) -> int:
        """Entries whose source key may already be posted (PLB, charges, patient payments): skipped then."""
        if not entries:
            return 0
        inserted = await self._session.execute(
            insert(ledger_entries)
            .values(
                [
                    {
                        "tenant_id": self._tenant,
                        "account_type": entry.account_type,
                        "account_id": entry.account_id,
                        "kind": entry.kind,
                        "amount_cents": entry.amount_cents,
                        "currency": currency,
                        "group_code": entry.group_code,
                        "carc": entry.carc,
                        "line_number": entry.line_number,
                        "reference": entry.reference,
                        "claim_payment_id": claim_payment_id,
                        "reversal_of": entry.reversal_of,
                        "source_key": entry.source_key,
                        "posted_on": posted_on,
                    }
                    for entry in entries
                ]
            )
            .on_conflict_do_nothing(index_elements=[ledger_entries.c.tenant_id, ledger_entries.c.source_key])
            .returning(ledger_entries.c.id)
        )
        return len(inserted.all())

    async def of_payment(self, claim_payment_id: uuid.UUID) -> list[StoredEntry]:
        rows = await self._session.execute(
            sa.select(ledger_entries)
            .where(ledger_entries.c.tenant_id == self._tenant, ledger_entries.c.claim_payment_id == claim_payment_id)
            .order_by(ledger_entries.c.id)
        )
        return [
            StoredEntry(
                id=row.id,
                account_type=row.account_type,
                account_id=row.account_id,
                kind=row.kind,
                amount_cents=row.amount_cents,
                group_code=row.group_code,
                carc=row.carc,
                line_number=row.line_number,
            )
            for row in rows
        ]

    async def of_account(self, account_type: str, account_id: str) -> list[sa.Row[Any]]:
        return list(
            await self._session.execute(
                sa.select(ledger_entries)
                .where(
                    ledger_entries.c.tenant_id == self._tenant,
                    ledger_entries.c.account_type == account_type,
                    ledger_entries.c.account_id == account_id,
                )
                .order_by(ledger_entries.c.id)
            )
        )


class PatientPaymentRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def add_if_new(self, values: dict[str, Any]) -> bool:
        """False when the idempotency key was already used (waits for a concurrent request with it)."""
        inserted = await self._session.execute(
            insert(patient_payments)
            .values(tenant_id=self._tenant, **values)
            .on_conflict_do_nothing(index_elements=[patient_payments.c.tenant_id, patient_payments.c.idempotency_key])
            .returning(patient_payments.c.id)
        )
        return inserted.scalar_one_or_none() is not None

    async def by_idempotency_key(self, key: str) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(patient_payments).where(
                    patient_payments.c.tenant_id == self._tenant, patient_payments.c.idempotency_key == key
                )
            )
        ).one_or_none()

    async def paid_since(self, patient_id: uuid.UUID, since: dt.datetime) -> int:
        total = await self._session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(patient_payments.c.amount_cents), 0)).where(
                patient_payments.c.tenant_id == self._tenant,
                patient_payments.c.patient_id == patient_id,
                patient_payments.c.created_at >= since,
            )
        )
        return int(total or 0)


class PaymentPlanRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def add_if_none_active(self, values: dict[str, Any]) -> bool:
        inserted = await self._session.execute(
            insert(payment_plans)
            .values(tenant_id=self._tenant, status="active", **values)
            .on_conflict_do_nothing(
                index_elements=[payment_plans.c.tenant_id, payment_plans.c.patient_id],
                index_where=sa.text("status = 'active'"),
            )
            .returning(payment_plans.c.id)
        )
        return inserted.scalar_one_or_none() is not None

    async def active(self, patient_id: uuid.UUID | None = None) -> list[sa.Row[Any]]:
        query = sa.select(payment_plans).where(
            payment_plans.c.tenant_id == self._tenant, payment_plans.c.status == "active"
        )
        if patient_id is not None:
            query = query.where(payment_plans.c.patient_id == patient_id)
        return list(await self._session.execute(query.order_by(payment_plans.c.created_at)))


class InboundFileRepository:
    """The inbound box's record: files arrive before anyone knows their tenant, so recording is not
    tenant-scoped; reading is."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, values: dict[str, Any]) -> bool:
        """One row per file name + content: a file read again records nothing new, except that a file
        rejected before (say, for want of a tenant mapping) and posted now is recorded as posted."""
        statement = insert(inbound_files).values(id=uuid.uuid4(), **values)
        written = await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[inbound_files.c.file_name, inbound_files.c.content_sha256],
                set_={
                    "state": statement.excluded.state,
                    "tenant_id": statement.excluded.tenant_id,
                    "remittance_id": statement.excluded.remittance_id,
                    "rejection": statement.excluded.rejection,
                    "processed_at": sa.func.now(),
                },
                where=sa.and_(inbound_files.c.state == "rejected", statement.excluded.state == "posted"),
            ).returning(inbound_files.c.id)
        )
        return written.scalar_one_or_none() is not None

    async def of_tenant(self, tenant: str, *, state: str | None = None, limit: int = 200) -> list[sa.Row[Any]]:
        query = sa.select(inbound_files).where(inbound_files.c.tenant_id == tenant)
        if state is not None:
            query = query.where(inbound_files.c.state == state)
        order = (inbound_files.c.processed_at.desc(), inbound_files.c.id)
        return list(await self._session.execute(query.order_by(*order).limit(limit)))


_OUTBOX_COLUMNS = ("event_id", "topic", "message_key", "event_type", "tenant_id", "envelope")


class OutboxCopy:
    """Outbox rows of a large posting by COPY, in the session's transaction (the statement trigger that
    wakes the relay fires for COPY too). Small writes keep using `shared.messaging.outbox.Outbox`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def copy_in(self, envelopes: Sequence[EventEnvelope]) -> None:
        if not envelopes:
            return
        driver = await _driver_connection(self._session)
        dumps = _COMPACT.encode
        records = []
        for envelope in envelopes:
            row = envelope_to_row(envelope)
            records.append(
                (
                    row["event_id"],
                    row["topic"],
                    row["message_key"],
                    row["event_type"],
                    row["tenant_id"],
                    dumps(row["envelope"]),
                )
            )
        await driver.copy_records_to_table(
            messaging.outbox.name, schema_name=SCHEMA, columns=list(_OUTBOX_COLUMNS), records=records
        )


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
