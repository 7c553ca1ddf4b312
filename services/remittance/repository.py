"""All SQL of the remittance service; every query is scoped to one tenant, and answers typed records.

The large writes of a posting go through asyncpg directly in the session's own transaction: `unnest`
arrays for claim payments (one statement, `ON CONFLICT DO NOTHING` on the payment key) and COPY for
ledger entries, whose unique source keys still refuse any second posting. Table, schema and column
names all come from `models.py`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.domain.accounts import Installment
from services.remittance.domain.money_integrity import PostedPayment
from services.remittance.domain.posting import (
    ClaimPaymentFacts,
    EntryDraft,
    PostingResult,
    StoredEntry,
    SubmittedClaim,
    SubmittedLine,
    facts_from_json,
    facts_to_json,
)
from services.remittance.domain.rejection import Rejection
from services.remittance.domain.remittance_advice import ParseWarning
from services.remittance.domain.reversals import StoredPayment
from services.remittance.models import (
    claim_payments,
    denial_adjustments,
    inbound_files,
    ledger_entries,
    patient_accounts,
    patient_payments,
    payment_plans,
    refund_items,
    remittance_files,
    submitted_claims,
)
from shared.db import driver_connection
from shared.events.catalog import ClaimSubmittedV1, LedgerAdjustmentRequestedV1


@dataclass(frozen=True, slots=True)
class SubmittedClaimRecord:
    """A claim awaiting remittance, as the API shows it."""

    claim_id: uuid.UUID
    claim_control_number: str
    payer_id: str
    total_charge_cents: int
    currency: str
    submitted_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RemittanceFileRecord:
    id: uuid.UUID
    result: PostingResult | None
    """None until the posting that stores the file has finished."""
    warnings: tuple[ParseWarning, ...] = ()
    """Faulty non-financial elements of the file (the first `MAX_STORED_WARNINGS`), in file order."""


@dataclass(frozen=True, slots=True)
class NewClaimPayment:
    """A claim payment read from a file: posted to `claim`, or without one suspended for `suspense_reason`."""

    id: uuid.UUID
    file_id: uuid.UUID
    facts: ClaimPaymentFacts
    currency: str
    claim: SubmittedClaim | None
    suspense_reason: str | None
    reversal_of: uuid.UUID | None
    duplicate_of: uuid.UUID | None = None
    """Held, not posted: a probable duplicate of this payment already posted to the same claim."""
    member_digests: tuple[str, ...] = ()
    """Suspended: keyed digests of the member ids its 835 names, for the patient check of a match by hand."""


@dataclass(frozen=True, slots=True)
class PaymentSource:
    """Who paid and how, from the 835's header: shown with every claim payment of its transaction set."""

    payer_name: str | None
    payment_method: str | None


@dataclass(frozen=True, slots=True)
class ClaimPaymentRecord:
    id: uuid.UUID
    payer_id: str
    trace_number: str
    claim_control_number: str
    status_code: str
    state: str
    suspense_reason: str | None
    claim_id: uuid.UUID | None
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    currency: str
    paid_date: dt.date
    received_at: dt.datetime
    facts: ClaimPaymentFacts
    payer_name: str | None = None
    payment_method: str | None = None
    duplicate_of: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    payer_claim_control_number: str = ""
    reversal_of: uuid.UUID | None = None
    review_reason: str | None = None
    posted_at: dt.datetime | None = None
    member_digests: tuple[str, ...] = ()
    """A suspended payment: keyed digests of the member ids its 835 names (shared/patient_match.py)."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: int
    kind: str
    amount_cents: int
    currency: str
    group_code: str | None
    carc: str | None
    line_number: int | None
    reference: str | None
    claim_payment_id: uuid.UUID | None
    reversal_of: int | None
    posted_on: dt.date


@dataclass(frozen=True, slots=True)
class PatientPayment:
    id: uuid.UUID
    patient_id: uuid.UUID
    idempotency_key: str
    request_fingerprint: str
    amount_cents: int
    currency: str
    method: str
    received_on: dt.date


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    id: uuid.UUID
    patient_id: uuid.UUID
    total_cents: int
    currency: str
    installments: tuple[Installment, ...]
    status: str
    starts_on: dt.date
    created_at: dt.datetime | None = None
    """Set once stored (the database's clock): payments from then on count toward the plan."""


@dataclass(frozen=True, slots=True)
class InboundFileRecord:
    id: uuid.UUID
    file_name: str
    content_sha256: str
    byte_count: int
    state: str
    remittance_id: uuid.UUID | None
    rejection: Rejection | None
    received_at: dt.datetime
    processed_at: dt.datetime


class SubmittedClaimRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get_by_control_number(self, claim_control_number: str) -> SubmittedClaimRecord | None:
        row = (
            await self._session.execute(
                sa.select(
                    submitted_claims.c.claim_id,
                    submitted_claims.c.claim_control_number,
                    submitted_claims.c.payer_id,
                    submitted_claims.c.total_charge_cents,
                    submitted_claims.c.currency,
                    submitted_claims.c.submitted_at,
                ).where(
                    submitted_claims.c.tenant_id == self._tenant,
                    submitted_claims.c.claim_control_number == claim_control_number,
                )
            )
        ).one_or_none()
        return None if row is None else SubmittedClaimRecord(*row)

    async def accounts_of(self, claim_control_number: str) -> tuple[uuid.UUID, uuid.UUID | None] | None:
        """The claim's id and its patient's id (None when the claims service did not know it)."""
        row = (
            await self._session.execute(
                sa.select(submitted_claims.c.claim_id, submitted_claims.c.patient_id).where(
                    submitted_claims.c.tenant_id == self._tenant,
                    submitted_claims.c.claim_control_number == claim_control_number,
                )
            )
        ).one_or_none()
        return None if row is None else (row.claim_id, row.patient_id)

    async def by_control_numbers(self, claim_control_numbers: Sequence[str]) -> dict[str, SubmittedClaim]:
        """Through asyncpg directly: a large file looks up tens of thousands of claims at once, and
        SQLAlchemy's row processing (and its JSON decoding per row) cost more than the query."""
        if not claim_control_numbers:
            return {}
        driver = await driver_connection(self._session)
        records = await driver.fetch(_SUBMITTED_BY_NUMBERS, self._tenant, list(claim_control_numbers))
        return {record["claim_control_number"]: _submitted(record) for record in records}

    async def record_all(self, claims: Sequence[tuple[ClaimSubmittedV1, dict[str, str] | None]]) -> None:
        """Submitted claims of a consumer batch, one round trip; a resubmission of the same claim keeps the
        latest submission time and trace context (twice in one batch: the later one)."""
        latest = {claim.claim_id: (claim, trace_context) for claim, trace_context in claims}
        if not latest:
            return
        rows = list(latest.values())
        driver = await driver_connection(self._session)
        await driver.execute(
            _RECORD_SUBMITTED,
            self._tenant,
            [claim.claim_id for claim, _ in rows],
            [claim.claim_control_number for claim, _ in rows],
            [claim.payer_id for claim, _ in rows],
            [claim.total_charge_cents for claim, _ in rows],
            [claim.currency for claim, _ in rows],
            [claim.submitted_at for claim, _ in rows],
            [claim.patient_id for claim, _ in rows],
            [json.dumps([line.model_dump(mode="json") for line in claim.lines]) for claim, _ in rows],
            [None if not context else json.dumps(context) for _, context in rows],
            [claim.encounter_id for claim, _ in rows],
            [claim.member_digest for claim, _ in rows],
        )


_RECORD_SUBMITTED = (
    f"INSERT INTO {submitted_claims.fullname} (tenant_id, claim_id, claim_control_number, payer_id, "  # noqa: S608 - names from the model
    "total_charge_cents, currency, submitted_at, patient_id, lines, trace_context, encounter_id, member_digest) "
    "SELECT $1, claim_id, claim_control_number, payer_id, total_charge_cents, currency, submitted_at, patient_id, "
    "lines::jsonb, trace_context::jsonb, encounter_id, member_digest FROM unnest($2::uuid[], $3::text[], $4::text[], "
    "$5::bigint[], $6::text[], $7::timestamptz[], $8::uuid[], $9::text[], $10::text[], $11::uuid[], $12::text[]) "
    "AS claim(claim_id, claim_control_number, payer_id, total_charge_cents, currency, submitted_at, patient_id, lines, "
    "trace_context, encounter_id, member_digest) "
    "ON CONFLICT (claim_id) DO UPDATE SET submitted_at = excluded.submitted_at, trace_context = excluded.trace_context "
    f"WHERE {submitted_claims.fullname}.tenant_id = $1"
)
"""Every submitted claim of a consumer batch in one statement (`record`, set-based)."""

_SUBMITTED_BY_NUMBERS = (
    "SELECT claim_id, claim_control_number, payer_id, patient_id, total_charge_cents, currency, lines::text, "  # noqa: S608 - names from the model
    "trace_context::text, member_digest "
    f"FROM {submitted_claims.fullname} WHERE tenant_id = $1 AND claim_control_number = ANY($2::text[])"
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
            for line in orjson.loads(record["lines"])
        ),
        trace_headers=_trace_headers(record["trace_context"]),
        member_digest=record["member_digest"],
    )


def _trace_headers(stored: str | None) -> tuple[tuple[str, str], ...]:
    loaded = orjson.loads(stored) if stored is not None else None  # SQL NULL, or JSON null from earlier rows
    return tuple((str(k), str(v)) for k, v in loaded.items()) if isinstance(loaded, dict) else ()


MAX_STORED_WARNINGS = 1000
"""A file whose every line is faulty would otherwise store a warning per line: the first ones say enough."""


class RemittanceFileRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get_by_hash(self, content_sha256: str) -> RemittanceFileRecord | None:
        return await self._one(remittance_files.c.content_sha256 == content_sha256)

    async def get(self, file_id: uuid.UUID) -> RemittanceFileRecord | None:
        return await self._one(remittance_files.c.id == file_id)

    async def _one(self, condition: sa.ColumnElement[bool]) -> RemittanceFileRecord | None:
        row = (
            await self._session.execute(
                sa.select(remittance_files.c.id, remittance_files.c.result, remittance_files.c.warnings).where(
                    remittance_files.c.tenant_id == self._tenant, condition
                )
            )
        ).one_or_none()
        if row is None:
            return None
        return RemittanceFileRecord(
            row.id,
            PostingResult.from_json(row.result) if row.result else None,
            tuple(ParseWarning(**warning) for warning in row.warnings),
        )

    async def add_if_new(
        self, file_id: uuid.UUID, content_sha256: str, byte_count: int, warnings: Sequence[ParseWarning] = ()
    ) -> bool:
        """False when this tenant already has a file with this content (waits for a concurrent one)."""
        stored_warnings = [
            {"segment_id": w.segment_id, "position": w.position, "element": w.element, "message": w.message}
            for w in warnings[:MAX_STORED_WARNINGS]
        ]
        inserted = await self._session.execute(
            insert(remittance_files)
            .values(
                id=file_id,
                tenant_id=self._tenant,
                content_sha256=content_sha256,
                byte_count=byte_count,
                result={},
                warnings=stored_warnings,
            )
            .on_conflict_do_nothing(index_elements=[remittance_files.c.tenant_id, remittance_files.c.content_sha256])
            .returning(remittance_files.c.id)
        )
        return inserted.scalar_one_or_none() is not None

    async def set_result(self, result: PostingResult) -> None:
        await self._session.execute(
            sa.update(remittance_files)
            .where(remittance_files.c.tenant_id == self._tenant, remittance_files.c.id == result.remittance_id)
            .values(result=result.to_json())
        )


_NO_SOURCE = PaymentSource(None, None)


_PAYMENT_ROW = (
    "id",
    "tenant_id",
    "file_id",
    "payer_id",
    "trace_number",
    "claim_control_number",
    "status_code",
    "occurrence",
    "state",
    "suspense_reason",
    "claim_id",
    "patient_id",
    "charge_cents",
    "paid_cents",
    "patient_responsibility_cents",
    "currency",
    "payer_claim_control_number",
    "paid_date",
    "reversal_of",
    "facts",
    "posted_at",
    "payer_name",
    "payment_method",
    "duplicate_of",
    "review_reason",
    "reviewed_by",
    "reviewed_at",
    "member_digests",
)
"""The columns of claim_payments a posting writes, in `_payment_row`'s order: every one but `received_at` (the
database's clock)."""
assert set(_PAYMENT_ROW) == {column.name for column in claim_payments.c if column.server_default is None}, (
    "a column of claim_payments that posting does not write"
)


def _payment_row(
    payment: NewClaimPayment, tenant: str, source: PaymentSource, posted_at: dt.datetime
) -> tuple[object, ...]:
    """A claim payment's values in `_PAYMENT_ROW` order (a tuple: the rows of a file are turned into one array per
    column, and a dict per row cost more than the rest of the row)."""
    facts, claim = payment.facts, payment.claim
    key = facts.key
    held = claim is not None and payment.duplicate_of is not None
    return (
        payment.id,
        tenant,
        payment.file_id,
        key.payer_id,
        key.trace_number,
        key.claim_control_number,
        key.status_code,
        key.occurrence,
        "suspense" if claim is None else "held" if held else "posted",
        payment.suspense_reason,
        None if claim is None else claim.claim_id,
        None if claim is None else claim.patient_id,
        facts.charge_cents,
        facts.paid_cents,
        facts.patient_responsibility_cents,
        payment.currency,
        facts.payer_claim_control_number,
        facts.paid_date,
        payment.reversal_of,
        orjson.dumps(facts_to_json(facts)).decode(),
        None if claim is None or held else posted_at,
        source.payer_name,
        source.payment_method,
        payment.duplicate_of if held else None,
        None,
        None,
        None,
        json.dumps(list(payment.member_digests)) if payment.member_digests else None,
    )


@functools.cache
def _insert_payments_statement(dialect: sa.Dialect) -> str:
    """One INSERT ... SELECT FROM unnest(arrays): every claim payment of a file in one round trip. Each array
    is cast to its column's type as the dialect names it; a JSON(B) column travels as text and is cast back."""
    names = ", ".join(_PAYMENT_ROW)
    selected, arrays = [], []
    for index, name in enumerate(_PAYMENT_ROW, start=1):
        column = claim_payments.c[name]
        sql_type = column.type.compile(dialect=dialect)
        is_json = isinstance(column.type, postgresql.JSON)  # JSONB too
        selected.append(f"{name}::{sql_type}" if is_json else name)
        arrays.append(f"${index}::{'text' if is_json else sql_type}[]")
    return (
        f"INSERT INTO {claim_payments.fullname} ({names}) SELECT {', '.join(selected)} "  # noqa: S608 - names from the model
        f"FROM unnest({', '.join(arrays)}) AS t({names}) "
        "ON CONFLICT ON CONSTRAINT uq_claim_payments_payment_key DO NOTHING RETURNING id"
    )


_CLAIM_PAYMENT_COLUMNS = [claim_payments.c[name] for name in ClaimPaymentRecord.__dataclass_fields__]


def _claim_payment(row: sa.Row[tuple[object, ...]]) -> ClaimPaymentRecord:
    """A stored claim payment, its facts read back as the domain's."""
    return ClaimPaymentRecord(
        id=row.id,
        payer_id=row.payer_id,
        trace_number=row.trace_number,
        claim_control_number=row.claim_control_number,
        status_code=row.status_code,
        state=row.state,
        suspense_reason=row.suspense_reason,
        claim_id=row.claim_id,
        charge_cents=row.charge_cents,
        paid_cents=row.paid_cents,
        patient_responsibility_cents=row.patient_responsibility_cents,
        currency=row.currency,
        paid_date=row.paid_date,
        received_at=row.received_at,
        facts=facts_from_json(row.facts),
        payer_name=row.payer_name,
        payment_method=row.payment_method,
        duplicate_of=row.duplicate_of,
        patient_id=row.patient_id,
        payer_claim_control_number=row.payer_claim_control_number,
        reversal_of=row.reversal_of,
        review_reason=row.review_reason,
        posted_at=row.posted_at,
        member_digests=tuple(row.member_digests or ()),
    )


class ClaimPaymentRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def add_new(
        self,
        payments: Sequence[NewClaimPayment],
        sources: Mapping[tuple[str, str], PaymentSource] | None = None,
    ) -> set[uuid.UUID]:
        """Insert claim payments whose payment key is new; the ids actually inserted. `sources` names the
        payer and payment method of each (payer id, trace number)."""
        if not payments:
            return set()
        sources = sources or {}
        now = dt.datetime.now(dt.UTC)
        rows = [
            _payment_row(
                payment,
                self._tenant,
                sources.get((payment.facts.key.payer_id, payment.facts.key.trace_number), _NO_SOURCE),
                now,
            )
            for payment in payments
        ]
        driver = await driver_connection(self._session)
        if len(rows) >= COPY_PAYMENTS_AT_LEAST:
            copied = await self._copy_new(driver, payments, rows)
            if copied is not None:
                return copied
        columns = [list(column) for column in zip(*rows, strict=True)]
        statement = _insert_payments_statement(self._session.get_bind().dialect)
        return {record["id"] for record in await driver.fetch(statement, *columns)}

    async def _copy_new(
        self, driver: asyncpg.Connection, payments: Sequence[NewClaimPayment], rows: Sequence[tuple[object, ...]]
    ) -> set[uuid.UUID] | None:
        """A large file's new payments by COPY (a fraction of the insert's cost on both sides): the keys its checks
        (payer, TRN02) already have are read first, in one query, and left out. COPY cannot skip a key a
        concurrent posting commits meanwhile: it then fails under a savepoint and None says so (the caller's
        insert skips such keys, as ever). The ids copied."""
        checks = sorted({(payment.facts.key.payer_id, payment.facts.key.trace_number) for payment in payments})
        stored = {
            (record[0], record[1], record[2], record[3], record[4])
            for record in await driver.fetch(_STORED_KEYS_OF_CHECKS, self._tenant, [list(check) for check in checks])
        }
        fresh = [
            (payment.id, row)
            for payment, row in zip(payments, rows, strict=True)
            if not stored
            or (
                (key := payment.facts.key).payer_id,
                key.trace_number,
                key.claim_control_number,
                key.status_code,
                key.occurrence,
            )
            not in stored
        ]
        if not fresh:
            return set()
        await driver.execute("SAVEPOINT claim_payments_copy")
        try:
            await driver.copy_records_to_table(
                claim_payments.name,
                schema_name=claim_payments.schema,
                columns=_PAYMENT_ROW,
                records=[row for _, row in fresh],
            )
        except asyncpg.UniqueViolationError:
            await driver.execute("ROLLBACK TO SAVEPOINT claim_payments_copy")
            return None
        await driver.execute("RELEASE SAVEPOINT claim_payments_copy")
        return {payment_id for payment_id, _ in fresh}

    async def suspended(self, limit: int = 500) -> list[ClaimPaymentRecord]:
        rows = await self._session.execute(
            sa.select(*_CLAIM_PAYMENT_COLUMNS)
            .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.state == "suspense")
            .order_by(claim_payments.c.received_at, claim_payments.c.id)
            .limit(limit)
        )
        return [_claim_payment(row) for row in rows]

    async def get_for_update(self, payment_id: uuid.UUID) -> ClaimPaymentRecord | None:
        row = (
            await self._session.execute(
                sa.select(*_CLAIM_PAYMENT_COLUMNS)
                .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.id == payment_id)
                .with_for_update()
            )
        ).one_or_none()
        return None if row is None else _claim_payment(row)

    async def mark_posted(
        self,
        payment_id: uuid.UUID,
        *,
        claim: SubmittedClaim,
        reversal_of: uuid.UUID | None,
        facts: ClaimPaymentFacts,
    ) -> None:
        await self._session.execute(
            sa.update(claim_payments)
            .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.id == payment_id)
            .values(
                state="posted",
                suspense_reason=None,
                claim_id=claim.claim_id,
                patient_id=claim.patient_id,
                reversal_of=reversal_of,
                facts=facts_to_json(facts),
                posted_at=sa.func.now(),
            )
        )

    async def reversible_payment_id(
        self,
        claim_id: uuid.UUID,
        payer_claim_control_number: str,
        *,
        excluding: Collection[uuid.UUID] = (),
        charge_and_paid: tuple[int, int] | None = None,
    ) -> uuid.UUID | None:
        """The latest posted, not yet reversed, non-reversal payment of a claim (same payer claim number
        when the reversal names one; with this charge and payment when given), other than those `excluding`
        (taken by reversals not yet stored)."""
        reversal = claim_payments.alias("reversal")
        reversed_already = sa.exists().where(
            reversal.c.tenant_id == self._tenant, reversal.c.reversal_of == claim_payments.c.id
        )
        query = sa.select(claim_payments.c.id).where(
            claim_payments.c.tenant_id == self._tenant,
            claim_payments.c.claim_id == claim_id,
            claim_payments.c.state == "posted",
            claim_payments.c.status_code != "22",
            ~reversed_already,
        )
        if payer_claim_control_number:
            query = query.where(claim_payments.c.payer_claim_control_number == payer_claim_control_number)
        if excluding:
            query = query.where(claim_payments.c.id.not_in(list(excluding)))
        if charge_and_paid is not None:
            charge, paid = charge_and_paid
            query = query.where(claim_payments.c.charge_cents == charge, claim_payments.c.paid_cents == paid)
        return await self._session.scalar(
            query.order_by(claim_payments.c.posted_at.desc(), claim_payments.c.id).limit(1)
        )

    async def reversible_of(self, claim_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[StoredPayment]]:
        """Per claim, its posted, not yet reversed, non-reversal payments, latest posted first: what the
        reversals of a file may undo, for all its claims in one round trip."""
        if not claim_ids:
            return {}
        driver = await driver_connection(self._session)
        stored: dict[uuid.UUID, list[StoredPayment]] = {}
        for record in await driver.fetch(_REVERSIBLE_OF_CLAIMS, self._tenant, list(claim_ids)):
            stored.setdefault(record["claim_id"], []).append(StoredPayment(*record.values()))
        return stored

    async def suspended_naming(self, claim_control_numbers: Sequence[str]) -> list[ClaimPaymentRecord]:
        """Suspended claim payments whose CLP01 is one of these, locked, in the order they arrived: by file
        (received), then by position in the file."""
        if not claim_control_numbers:
            return []
        rows = await self._session.execute(
            sa.select(*_CLAIM_PAYMENT_COLUMNS)
            .where(
                claim_payments.c.tenant_id == self._tenant,
                claim_payments.c.state == "suspense",
                claim_payments.c.claim_control_number.in_(list(claim_control_numbers)),
            )
            .order_by(
                claim_payments.c.received_at,
                claim_payments.c.file_id,
                claim_payments.c.facts["position"].as_integer(),
                claim_payments.c.id,
            )
            .with_for_update()
        )
        return [_claim_payment(row) for row in rows]

    async def claims_paid_under(self, payer_claim_control_numbers: Sequence[str]) -> dict[str, uuid.UUID]:
        """The claim each payer claim control number (CLP07) was posted to (the latest posting when several)."""
        if not payer_claim_control_numbers:
            return {}
        rows = await self._session.execute(
            sa.select(claim_payments.c.payer_claim_control_number, claim_payments.c.claim_id)
            .where(
                claim_payments.c.tenant_id == self._tenant,
                claim_payments.c.state == "posted",
                claim_payments.c.payer_claim_control_number.in_(list(payer_claim_control_numbers)),
            )
            .order_by(claim_payments.c.posted_at, claim_payments.c.id)
        )
        return {number: claim_id for number, claim_id in rows.tuples() if claim_id is not None}


class MatchingLock:
    """A tenant's matching lock (a transaction-level advisory lock): posting a file holds it shared, recording
    submitted claims exclusively. So a claim payment and the `claim-submitted` naming its claim, arriving at
    the same moment, never miss each other: whichever commits second sees the first."""

    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._key = sa.func.hashtextextended(f"remittance.matching:{tenant}", 0)

    async def share(self) -> None:
        await self._session.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(self._key)))

    async def exclusive(self) -> None:
        await self._session.execute(sa.select(sa.func.pg_advisory_xact_lock(self._key)))


_ENTRY_COLUMNS = tuple(
    ledger_entries.c[name].name
    for name in (
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
)
"""The ledger_entries columns a posting writes, in the order of the COPY records below."""
_LEDGER_ENTRY_COLUMNS = [ledger_entries.c[name] for name in LedgerEntry.__dataclass_fields__]


_ADD_DATED_ENTRIES = (
    f"INSERT INTO {ledger_entries.fullname} (tenant_id, account_type, account_id, kind, amount_cents, currency, "  # noqa: S608 - names from the model
    "group_code, carc, line_number, reference, reversal_of, source_key, posted_on) "
    "SELECT $1, account_type, account_id, kind, amount_cents, currency, group_code, carc, line_number, reference, "
    "reversal_of, source_key, posted_on FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], "
    "$7::text[], $8::text[], $9::int[], $10::text[], $11::bigint[], $12::text[], $13::date[]) AS entry(account_type, "
    "account_id, kind, amount_cents, currency, group_code, carc, line_number, reference, reversal_of, source_key, "
    "posted_on) ON CONFLICT (tenant_id, source_key) DO NOTHING RETURNING id"
)


class LedgerRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def copy_in(
        self, entries: Sequence[tuple[EntryDraft, uuid.UUID | None]], *, currency: str, posted_on: dt.date
    ) -> None:
        """Entries whose sources are new (a second copy breaks the unique source key and fails the posting)."""
        await self.copy_records(self.records_of(entries, currency=currency, posted_on=posted_on))

    def records_of(
        self, entries: Sequence[tuple[EntryDraft, uuid.UUID | None]], *, currency: str, posted_on: dt.date
    ) -> list[tuple[object, ...]]:
        """The COPY records of entries (no I/O: they may be made in a worker thread meanwhile)."""
        return [
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

    async def copy_records(self, records: Sequence[tuple[object, ...]]) -> None:
        """Copy in records made by `records_of`."""
        if not records:
            return
        driver = await driver_connection(self._session)
        await driver.copy_records_to_table(
            ledger_entries.name, schema_name=ledger_entries.schema, columns=list(_ENTRY_COLUMNS), records=records
        )

    async def add_if_new(self, entries: Sequence[EntryDraft], *, currency: str, posted_on: dt.date) -> int:
        """Entries (of no claim payment) whose source key may already be posted (PLB, charges, patient
        payments): skipped then. How many were new."""
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
                        "claim_payment_id": None,
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

    async def add_dated_if_new(self, entries: Sequence[tuple[EntryDraft, str, dt.date]]) -> int:
        """`add_if_new` for entries each with its own currency and day (a batch of claims' charges), one
        round trip. How many were new."""
        if not entries:
            return 0
        driver = await driver_connection(self._session)
        inserted = await driver.fetch(
            _ADD_DATED_ENTRIES,
            self._tenant,
            [entry.account_type for entry, _, _ in entries],
            [entry.account_id for entry, _, _ in entries],
            [entry.kind for entry, _, _ in entries],
            [entry.amount_cents for entry, _, _ in entries],
            [currency for _, currency, _ in entries],
            [entry.group_code for entry, _, _ in entries],
            [entry.carc for entry, _, _ in entries],
            [entry.line_number for entry, _, _ in entries],
            [entry.reference for entry, _, _ in entries],
            [entry.reversal_of for entry, _, _ in entries],
            [entry.source_key for entry, _, _ in entries],
            [posted_on for _, _, posted_on in entries],
        )
        return len(inserted)

    async def of_payments(self, claim_payment_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[StoredEntry]]:
        """`of_payment` for many payments, one round trip."""
        if not claim_payment_ids:
            return {}
        driver = await driver_connection(self._session)
        entries: dict[uuid.UUID, list[StoredEntry]] = {}
        for record in await driver.fetch(_ENTRIES_OF_PAYMENTS, self._tenant, list(claim_payment_ids)):
            values = list(record.values())
            entries.setdefault(values[0], []).append(StoredEntry(*values[1:]))
        return entries

    async def of_payment(self, claim_payment_id: uuid.UUID) -> list[StoredEntry]:
        rows = await self._session.execute(
            sa.select(
                ledger_entries.c.id,
                ledger_entries.c.account_type,
                ledger_entries.c.account_id,
                ledger_entries.c.kind,
                ledger_entries.c.amount_cents,
                ledger_entries.c.group_code,
                ledger_entries.c.carc,
                ledger_entries.c.line_number,
            )
            .where(ledger_entries.c.tenant_id == self._tenant, ledger_entries.c.claim_payment_id == claim_payment_id)
            .order_by(ledger_entries.c.id)
        )
        return [StoredEntry(*row) for row in rows]

    async def of_account(self, account_type: str, account_id: str) -> list[LedgerEntry]:
        rows = await self._session.execute(
            sa.select(*_LEDGER_ENTRY_COLUMNS)
            .where(
                ledger_entries.c.tenant_id == self._tenant,
                ledger_entries.c.account_type == account_type,
                ledger_entries.c.account_id == account_id,
            )
            .order_by(ledger_entries.c.id)
        )
        return [LedgerEntry(*row) for row in rows]


_PATIENT_PAYMENT_COLUMNS = [patient_payments.c[name] for name in PatientPayment.__dataclass_fields__]


class DenialAdjustmentRepository:
    """Which denials actions (write-off, transfer to the patient) were already applied."""

    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def record_if_new(self, request: LedgerAdjustmentRequestedV1, claim_id: uuid.UUID) -> bool:
        """True when this action is new; False when it was applied before (nothing to post)."""
        applied = await self._session.execute(
            insert(denial_adjustments)
            .values(
                action_id=request.action_id,
                tenant_id=self._tenant,
                case_id=request.case_id,
                claim_id=claim_id,
                kind=request.kind,
                amount_cents=request.amount_cents,
                currency=request.currency,
                reason_code=request.reason_code,
            )
            .on_conflict_do_nothing(index_elements=[denial_adjustments.c.action_id])
            .returning(denial_adjustments.c.action_id)
        )
        return applied.first() is not None


class PatientPaymentRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def add_if_new(self, payment: PatientPayment) -> bool:
        """False when the idempotency key was already used (waits for a concurrent request with it)."""
        inserted = await self._session.execute(
            insert(patient_payments)
            .values(
                tenant_id=self._tenant,
                **{column.name: getattr(payment, column.name) for column in _PATIENT_PAYMENT_COLUMNS},
            )
            .on_conflict_do_nothing(index_elements=[patient_payments.c.tenant_id, patient_payments.c.idempotency_key])
            .returning(patient_payments.c.id)
        )
        return inserted.scalar_one_or_none() is not None

    async def by_idempotency_key(self, key: str) -> PatientPayment | None:
        row = (
            await self._session.execute(
                sa.select(*_PATIENT_PAYMENT_COLUMNS).where(
                    patient_payments.c.tenant_id == self._tenant, patient_payments.c.idempotency_key == key
                )
            )
        ).one_or_none()
        return None if row is None else PatientPayment(*row)

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

    async def add_if_none_active(self, plan: PaymentPlan) -> bool:
        inserted = await self._session.execute(
            insert(payment_plans)
            .values(
                id=plan.id,
                tenant_id=self._tenant,
                patient_id=plan.patient_id,
                total_cents=plan.total_cents,
                currency=plan.currency,
                installments=[
                    {"number": i.number, "due_on": i.due_on.isoformat(), "amount_cents": i.amount_cents}
                    for i in plan.installments
                ],
                status=plan.status,
                starts_on=plan.starts_on,
            )
            .on_conflict_do_nothing(
                index_elements=[payment_plans.c.tenant_id, payment_plans.c.patient_id],
                index_where=sa.text("status = 'active'"),
            )
            .returning(payment_plans.c.id)
        )
        return inserted.scalar_one_or_none() is not None

    async def active(self) -> list[PaymentPlan]:
        rows = await self._session.execute(
            sa.select(payment_plans)
            .where(payment_plans.c.tenant_id == self._tenant, payment_plans.c.status == "active")
            .order_by(payment_plans.c.created_at)
        )
        return [
            PaymentPlan(
                id=row.id,
                patient_id=row.patient_id,
                total_cents=row.total_cents,
                currency=row.currency,
                installments=tuple(
                    Installment(item["number"], dt.date.fromisoformat(item["due_on"]), item["amount_cents"])
                    for item in row.installments
                ),
                status=row.status,
                starts_on=row.starts_on,
                created_at=row.created_at,
            )
            for row in rows
        ]


_INBOUND_FILE_COLUMNS = [inbound_files.c[name] for name in InboundFileRecord.__dataclass_fields__]


class InboundFileRepository:
    """The inbound box's record: files arrive before anyone knows their tenant, so recording is not
    tenant-scoped; reading is."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        *,
        file_name: str,
        content_sha256: str,
        byte_count: int,
        tenant: str | None,
        remittance_id: uuid.UUID | None,
        rejection: Rejection | None,
    ) -> bool:
        """One row per file name + content, posted when it has a remittance, else rejected: a file read again
        records nothing new, except that a file rejected before (say, for want of a tenant mapping) and posted
        now is recorded as posted."""
        statement = insert(inbound_files).values(
            id=uuid.uuid4(),
            file_name=file_name,
            content_sha256=content_sha256,
            byte_count=byte_count,
            state="rejected" if remittance_id is None else "posted",
            tenant_id=tenant,
            remittance_id=remittance_id,
            rejection=rejection,
        )
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

    async def of_tenant(self, tenant: str, *, state: str | None = None, limit: int = 200) -> list[InboundFileRecord]:
        query = sa.select(*_INBOUND_FILE_COLUMNS).where(inbound_files.c.tenant_id == tenant)
        if state is not None:
            query = query.where(inbound_files.c.state == state)
        order = (inbound_files.c.processed_at.desc(), inbound_files.c.id)
        return [InboundFileRecord(*row) for row in await self._session.execute(query.order_by(*order).limit(limit))]


# ----------------------------------------------------------------------------- money integrity


@dataclass(frozen=True, slots=True)
class ChainClaim:
    """A claim of the same encounter as a paid claim: its standing patient responsibility and the claim
    status codes (CLP02) of the payments posted on it and not reversed."""

    paid_claim_id: uuid.UUID
    claim_id: uuid.UUID
    standing_patient_responsibility_cents: int
    posted_status_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RefundItem:
    id: uuid.UUID
    claim_id: uuid.UUID
    claim_control_number: str
    credit_cents: int
    currency: str
    status: str
    resolution_reason: str | None
    resolved_by: str | None
    opened_at: dt.datetime
    resolved_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ClaimOpenBalance:
    claim_id: uuid.UUID
    claim_control_number: str
    open_cents: int
    currency: str


PageAfter = tuple[dt.datetime, uuid.UUID]
"""Keyset position: the (time, id) of the last record of the previous page."""

_NOT_REVERSED = (
    f"NOT EXISTS (SELECT FROM {claim_payments.fullname} AS reversal "
    "WHERE reversal.tenant_id = $1 AND reversal.reversal_of = payment.id)"
)
"""One probe of uq_claim_payments_reversal_of per payment: its cost does not grow with the tenant's reversals
(a `NOT IN (all reversals)` subplan read every one of them on each query)."""

COPY_PAYMENTS_AT_LEAST = 500
"""Claim payments per file from which they are copied in (`ClaimPaymentRepository._copy_new`)."""

_STORED_KEYS_OF_CHECKS = (
    "SELECT payment.payer_id, payment.trace_number, payment.claim_control_number, payment.status_code, "  # noqa: S608 - names from the model
    f"payment.occurrence FROM generate_subscripts($2::text[], 1) AS checks(i) JOIN {claim_payments.fullname} "
    "AS payment ON payment.tenant_id = $1 AND payment.payer_id = $2[i][1] AND payment.trace_number = $2[i][2]"
)
"""The payment keys already stored under a file's checks ($2: `[payer id, trace number]` pairs): one probe of the
payment key's index per check."""

_POSTED_OF_CLAIMS = (
    "SELECT payment.id, payment.claim_id, payment.status_code, payment.payer_claim_control_number, "  # noqa: S608 - names from the model
    "payment.charge_cents, payment.paid_cents, payment.patient_responsibility_cents, "
    f"NOT {_NOT_REVERSED} AS reversed "
    f"FROM {claim_payments.fullname} AS payment "
    "WHERE payment.tenant_id = $1 AND payment.claim_id = ANY($2::uuid[]) AND payment.state = 'posted' "
    "AND payment.status_code <> '22'"
)

_REVERSIBLE_OF_CLAIMS = (
    "SELECT payment.id, payment.claim_id, payment.payer_claim_control_number, payment.charge_cents, "  # noqa: S608 - names from the model
    f"payment.paid_cents, payment.posted_at FROM {claim_payments.fullname} AS payment "
    "WHERE payment.tenant_id = $1 AND payment.claim_id = ANY($2::uuid[]) AND payment.state = 'posted' "
    f"AND payment.status_code <> '22' AND {_NOT_REVERSED} ORDER BY payment.posted_at DESC, payment.id"
)

_ENTRIES_OF_PAYMENTS = (
    "SELECT claim_payment_id, id, account_type, account_id, kind, amount_cents, group_code, carc, line_number "  # noqa: S608 - names from the model
    f"FROM {ledger_entries.fullname} WHERE tenant_id = $1 AND claim_payment_id = ANY($2::uuid[]) ORDER BY id"
)

_COB_CHAINS = (
    f"WITH paid AS (SELECT claim_id, encounter_id FROM {submitted_claims.fullname} "  # noqa: S608 - names from the model
    "WHERE tenant_id = $1 AND claim_id = ANY($2::uuid[])) "
    "SELECT paid.claim_id AS paid_claim_id, chain.claim_id, "
    f"COALESCE((SELECT -sum(entry.amount_cents) FROM {ledger_entries.fullname} AS entry "
    "WHERE entry.tenant_id = $1 AND entry.account_type = 'claim' AND entry.account_id = chain.claim_id::text "
    "AND entry.kind = 'patient_responsibility'), 0) AS standing, "
    f"ARRAY(SELECT payment.status_code FROM {claim_payments.fullname} AS payment "
    "WHERE payment.tenant_id = $1 AND payment.claim_id = chain.claim_id AND payment.state = 'posted' "
    f"AND payment.status_code <> '22' AND {_NOT_REVERSED}) AS statuses "
    f"FROM paid JOIN {submitted_claims.fullname} AS chain ON chain.tenant_id = $1 "
    "AND (chain.claim_id = paid.claim_id "
    "OR (paid.encounter_id IS NOT NULL AND chain.encounter_id = paid.encounter_id)) "
    "ORDER BY chain.submitted_at, chain.claim_id"
)


def _after(position: PageAfter) -> sa.Tuple:
    at, last_id = position
    return sa.tuple_(sa.literal(at, sa.DateTime(timezone=True)), sa.literal(last_id, sa.Uuid))


_OPEN_BALANCES = (
    "SELECT account_id, sum(amount_cents) AS open, min(currency) AS currency "  # noqa: S608 - names from the model
    f"FROM {ledger_entries.fullname} WHERE tenant_id = $1 AND account_type = 'claim' "
    "AND account_id = ANY($2::text[]) GROUP BY account_id"
)
"""One table, its account index, no join: a join on the cast claim id can nest-loop over the ledger."""

_CLAIM_NUMBERS = (
    f"SELECT claim_id, claim_control_number FROM {submitted_claims.fullname} "  # noqa: S608 - names from the model
    "WHERE tenant_id = $1 AND claim_id = ANY($2::uuid[])"
)


_CLEAR_REFUND_ITEMS = (
    f"UPDATE {refund_items.fullname} SET status = 'cleared', resolved_at = now(), "  # noqa: S608 - names from the model
    "resolution_reason = 'the credit balance is gone' "
    "WHERE tenant_id = $1 AND status = 'open' AND claim_id = ANY($2::uuid[])"
)


_SETTLE_REFUND_ITEMS = (
    "WITH balance AS (SELECT account_id, sum(amount_cents) AS open, min(currency) AS currency "  # noqa: S608 - names from the model
    f"FROM {ledger_entries.fullname} WHERE tenant_id = $1 AND account_type = 'claim' "
    "AND account_id = ANY($2::text[]) GROUP BY account_id), "
    f"cleared AS (UPDATE {refund_items.fullname} SET status = 'cleared', resolved_at = now(), "
    "resolution_reason = 'the credit balance is gone' WHERE tenant_id = $1 AND status = 'open' "
    "AND claim_id IN (SELECT account_id::uuid FROM balance WHERE open >= 0)) "
    "SELECT account_id, open, currency FROM balance WHERE open < 0"
)
"""The claims' open balances, their open refund items cleared where no credit is left, in one statement: only the
claims in credit (almost never one) come back, not a balance per claim of the file."""

_OPEN_REFUND_ITEMS = (
    f"INSERT INTO {refund_items.fullname} "  # noqa: S608 - names from the model
    "(id, tenant_id, claim_id, claim_control_number, credit_cents, currency, status) "
    "SELECT id, $1, claim_id, claim_control_number, credit_cents, currency, 'open' "
    "FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::text[]) "
    "AS credit(id, claim_id, claim_control_number, credit_cents, currency) "
    "ON CONFLICT (tenant_id, claim_id) WHERE status = 'open' DO UPDATE SET credit_cents = excluded.credit_cents"
)


_OPEN_PATIENT_ACCOUNTS = (
    f"INSERT INTO {patient_accounts.fullname} (tenant_id, patient_id, currency) "  # noqa: S608 - names from the model
    "SELECT $1, patient_id, currency FROM unnest($2::uuid[], $3::text[]) AS account(patient_id, currency) "
    "ON CONFLICT (tenant_id, patient_id) DO NOTHING"
)


class MoneyIntegrityRepository:
    """What the money integrity rules read and write: posted payments to compare with, COB chains,
    payer aliases, holds and the suspense queue by page, patient accounts, refund work items."""

    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def posted_payments_of(self, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[PostedPayment]]:
        """The posted, non-reversal payments of each claim (reversed ones flagged), one round trip."""
        if not claim_ids:
            return {}
        driver = await driver_connection(self._session)
        posted: dict[uuid.UUID, list[PostedPayment]] = {}
        for record in await driver.fetch(_POSTED_OF_CLAIMS, self._tenant, list(set(claim_ids))):
            posted.setdefault(record["claim_id"], []).append(PostedPayment(*record.values()))
        return posted

    async def cob_chains(self, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ChainClaim]]:
        """For each paid claim, the claims of its encounter (itself included) as they stand now."""
        if not claim_ids:
            return {}
        driver = await driver_connection(self._session)
        chains: dict[uuid.UUID, list[ChainClaim]] = {}
        for record in await driver.fetch(_COB_CHAINS, self._tenant, list(set(claim_ids))):
            chains.setdefault(record["paid_claim_id"], []).append(
                ChainClaim(
                    record["paid_claim_id"], record["claim_id"], int(record["standing"]), tuple(record["statuses"])
                )
            )
        return chains

    async def payer_aliases(self, claim_payer_id: str) -> list[str]:
        """The payer identifiers (TRN03 / N1*PR) 835s used for claims of this payer id, learnt from the
        payments matched by claim number."""
        rows = await self._session.execute(
            sa.select(claim_payments.c.payer_id)
            .distinct()
            .join(submitted_claims, submitted_claims.c.claim_id == claim_payments.c.claim_id)
            .where(
                claim_payments.c.tenant_id == self._tenant,
                submitted_claims.c.tenant_id == self._tenant,
                submitted_claims.c.payer_id == claim_payer_id,
                claim_payments.c.claim_control_number == submitted_claims.c.claim_control_number,
            )
            .limit(50)
        )
        return [row.payer_id for row in rows]

    async def claim_payments_page(self, *, state: str, after: PageAfter | None, limit: int) -> list[ClaimPaymentRecord]:
        """Claim payments in a state, oldest first, from after a keyset position."""
        query = sa.select(*_CLAIM_PAYMENT_COLUMNS).where(
            claim_payments.c.tenant_id == self._tenant, claim_payments.c.state == state
        )
        if after is not None:
            query = query.where(sa.tuple_(claim_payments.c.received_at, claim_payments.c.id) > _after(after))
        rows = await self._session.execute(
            query.order_by(claim_payments.c.received_at, claim_payments.c.id).limit(limit)
        )
        return [_claim_payment(row) for row in rows]

    async def payments_of_claim(self, claim_id: uuid.UUID) -> list[ClaimPaymentRecord]:
        rows = await self._session.execute(
            sa.select(*_CLAIM_PAYMENT_COLUMNS)
            .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.claim_id == claim_id)
            .order_by(claim_payments.c.received_at, claim_payments.c.id)
        )
        return [_claim_payment(row) for row in rows]

    async def record_review(self, payment_id: uuid.UUID, *, state: str, reason: str, reviewer: str) -> None:
        """A person's decision on a held payment (or a forced match): the state it leaves, why and who."""
        await self._session.execute(
            sa.update(claim_payments)
            .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.id == payment_id)
            .values(state=state, review_reason=reason, reviewed_by=reviewer, reviewed_at=sa.func.now())
        )

    async def open_patient_accounts(self, accounts: Sequence[tuple[uuid.UUID, str]]) -> None:
        """Remittance knows these patients from now on, one round trip; an account keeps its first currency."""
        first: dict[uuid.UUID, str] = {}
        for patient_id, currency in accounts:
            first.setdefault(patient_id, currency)
        if not first:
            return
        driver = await driver_connection(self._session)
        await driver.execute(_OPEN_PATIENT_ACCOUNTS, self._tenant, list(first), list(first.values()))

    async def account_currency(self, patient_id: uuid.UUID) -> str | None:
        """The patient account's currency, None when remittance does not know the patient."""
        currency: str | None = await self._session.scalar(
            sa.select(patient_accounts.c.currency).where(
                patient_accounts.c.tenant_id == self._tenant, patient_accounts.c.patient_id == patient_id
            )
        )
        return currency

    async def open_balances(self, claim_ids: Sequence[uuid.UUID]) -> list[ClaimOpenBalance]:
        """Each claim's open balance (the sum of its ledger), with its claim number and currency."""
        if not claim_ids:
            return []
        driver = await driver_connection(self._session)
        accounts = [str(claim_id) for claim_id in set(claim_ids)]
        sums = {
            record["account_id"]: (int(record["open"]), record["currency"])
            for record in await driver.fetch(_OPEN_BALANCES, self._tenant, accounts)
        }
        in_credit = [uuid.UUID(account) for account, (open_cents, _) in sums.items() if open_cents < 0]
        numbers = (
            {
                r["claim_id"]: r["claim_control_number"]
                for r in await driver.fetch(_CLAIM_NUMBERS, self._tenant, in_credit)
            }
            if in_credit
            else {}
        )
        return [
            ClaimOpenBalance(uuid.UUID(account), numbers.get(uuid.UUID(account), ""), open_cents, currency)
            for account, (open_cents, currency) in sums.items()
        ]

    async def settle_refund_items(self, claim_ids: Collection[uuid.UUID]) -> None:
        """`sync_refund_items` of these claims' balances as they stand, the settled ones cleared in the same
        statement that sums the balances (`_SETTLE_REFUND_ITEMS`)."""
        if not claim_ids:
            return
        driver = await driver_connection(self._session)
        credits = await driver.fetch(_SETTLE_REFUND_ITEMS, self._tenant, [str(claim_id) for claim_id in set(claim_ids)])
        if not credits:
            return
        in_credit = [uuid.UUID(record["account_id"]) for record in credits]
        numbers = {
            record["claim_id"]: record["claim_control_number"]
            for record in await driver.fetch(_CLAIM_NUMBERS, self._tenant, in_credit)
        }
        await self.sync_refund_items(
            [
                ClaimOpenBalance(claim_id, numbers.get(claim_id, ""), int(record["open"]), record["currency"])
                for claim_id, record in zip(in_credit, credits, strict=True)
            ]
        )

    async def sync_refund_items(self, balances: Sequence[ClaimOpenBalance]) -> None:
        """A credit balance opens (or updates) its claim's refund work item; a claim with none left clears its
        open item. Set-based: a file pays thousands of claims and almost none has a credit."""
        credits = [balance for balance in balances if balance.open_cents < 0]
        settled = [balance.claim_id for balance in balances if balance.open_cents >= 0]
        if settled:
            driver = await driver_connection(self._session)
            await driver.execute(_CLEAR_REFUND_ITEMS, self._tenant, settled)
        if credits:
            driver = await driver_connection(self._session)
            await driver.execute(
                _OPEN_REFUND_ITEMS,
                self._tenant,
                [uuid.uuid4() for _ in credits],
                [balance.claim_id for balance in credits],
                [balance.claim_control_number for balance in credits],
                [-balance.open_cents for balance in credits],
                [balance.currency for balance in credits],
            )

    async def refund_items_page(self, *, status: str | None, after: PageAfter | None, limit: int) -> list[RefundItem]:
        query = sa.select(*_REFUND_COLUMNS).where(refund_items.c.tenant_id == self._tenant)
        if status is not None:
            query = query.where(refund_items.c.status == status)
        if after is not None:
            query = query.where(sa.tuple_(refund_items.c.opened_at, refund_items.c.id) > _after(after))
        rows = await self._session.execute(query.order_by(refund_items.c.opened_at, refund_items.c.id).limit(limit))
        return [RefundItem(*row) for row in rows]

    async def refund_item_for_update(self, item_id: uuid.UUID) -> RefundItem | None:
        row = (
            await self._session.execute(
                sa.select(*_REFUND_COLUMNS)
                .where(refund_items.c.tenant_id == self._tenant, refund_items.c.id == item_id)
                .with_for_update()
            )
        ).one_or_none()
        return None if row is None else RefundItem(*row)

    async def resolve_refund_item(self, item_id: uuid.UUID, *, status: str, reason: str, resolver: str) -> None:
        await self._session.execute(
            sa.update(refund_items)
            .where(refund_items.c.tenant_id == self._tenant, refund_items.c.id == item_id)
            .values(status=status, resolution_reason=reason, resolved_by=resolver, resolved_at=sa.func.now())
        )


_REFUND_COLUMNS = [refund_items.c[name] for name in RefundItem.__dataclass_fields__]


HOT_QUERIES: dict[str, str] = {
    "submitted claims by CLP01": _SUBMITTED_BY_NUMBERS,
    "stored payment keys of checks": _STORED_KEYS_OF_CHECKS,
    "posted payments of claims (duplicate holds)": _POSTED_OF_CLAIMS,
    "reversible payments of claims": _REVERSIBLE_OF_CLAIMS,
    "ledger entries of payments (reversals)": _ENTRIES_OF_PAYMENTS,
    "COB chains of claims": _COB_CHAINS,
    "open balances of claims": _OPEN_BALANCES,
    "claim numbers of claims in credit": _CLAIM_NUMBERS,
    "clear refund items of settled claims": _CLEAR_REFUND_ITEMS,
    "settle refund items of claims": _SETTLE_REFUND_ITEMS,
}
"""The statements a posting runs once per file (each over all the file's claims): each must reach its rows
through an index, whatever the tables' size (`tests/integration/test_remittance_query_plans.py` checks the plans).
Their parameters are the tenant ($1) and one array of claim numbers, claim ids or payment ids ($2) (of
`[payer id, trace number]` pairs for the stored payment keys)."""
