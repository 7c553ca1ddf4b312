"""All SQL of the claims service. Tenant-facing reads and writes are scoped to one tenant; the writes
driven by the event stream and the batching loop carry each row's tenant themselves."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.claims.domain.claim_state import NOT_BILLED_STATES, ClaimState
from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.scrubber import ServiceKey
from services.claims.domain.scrubber.ncci import ModifierIndicator, MueAdjudication, MueEdit, PtpEdit
from services.claims.models import (
    acknowledgment_files,
    claim_corrections,
    claim_lines,
    claim_number_counters,
    claim_payments,
    claim_status_history,
    claims,
    disabled_scrub_rules,
    fee_schedule_entries,
    follow_ups,
    mue_edits,
    ncci_ptp_edits,
    phi_keys,
    status_requests,
    submission_transactions,
    submissions,
    x12_control_numbers,
)
from services.claims.records import (
    AcknowledgmentFile,
    BatchWindow,
    ClaimContents,
    ClaimLine,
    ClaimLineRecord,
    ClaimPayment,
    ClaimQuery,
    ClaimRecord,
    EnvelopeRecord,
    FeeEntry,
    FeeScheduleRecord,
    FollowUp,
    FollowUpRecord,
    LockedClaim,
    NewClaim,
    PaymentRef,
    QuietClaim,
    ReadyClaim,
    SentClaim,
    StateWrite,
    StatusChange,
    StatusChangeRecord,
    StatusRequest,
    StoredFile,
    Submission,
    SubmissionTransaction,
    TrackedClaim,
    Visit,
    columns_of,
    new_claim_columns,
)
from shared.db import driver_connection
from shared.events.catalog import EncounterCodedV1
from shared.paging import rows_after
from shared.phi.crypto import Binding, TenantKeys
from shared.phi.fields import marked_paths, merged, merged_text, split
from shared.phi.keys import tenant_keys
from shared.phi.rotation import PhiAtRest, PlaintextRows, SealedColumn, seal_plaintext_rows

Record = TypeVar("Record")
BATCHER_LOCK = "claimflow-claims-837-batcher"
"""First key of a batch window's advisory lock; the second is the window's tenant and payer."""

PTP_PROVIDER_TYPE = {"professional": "practitioner", "institutional": "hospital"}
MUE_SERVICE_TYPE = {"professional": "practitioner", "institutional": "outpatient_hospital"}


def _records(kind: type[Record], rows: Iterable[sa.RowMapping]) -> list[Record]:
    return [kind(**row) for row in rows]


async def _copy(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], records: Sequence[tuple[object, ...]]
) -> None:
    """COPY records into `table` inside the session's transaction: bulk rows without per-row overhead."""
    if not records:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the database connection was closed")
    await driver.copy_records_to_table(table.name, schema_name=table.schema, columns=list(columns), records=records)


# ----------------------------------------------------------------------------- PHI at rest
#
# A claim's document is stored without its members holding PHI (every field EncounterCodedV1 marks x-phi: the
# phi block, the providers' tax ids); those members are sealed in `claims.phi` and put back by every reader
# here, so the service sees the document it wrote. The text of stored 837s and 276s is sealed in the files'
# `phi` (`x12` NULL). Rows stored before 0012 keep their plaintext until `claimflow phi encrypt-existing`.

DOCUMENT_PHI = marked_paths(EncounterCodedV1)


def _binding(table: sa.Table, tenant: str, row_id: uuid.UUID) -> Binding:
    return Binding(tenant, table.name, "phi", str(row_id))


async def _keys_opening(session: AsyncSession, sealed: Iterable[tuple[str, bytes | None]]) -> dict[str, TenantKeys]:
    """The keys of every tenant with a sealed value among `sealed` (tenant, value), able to open them; a tenant
    with none (plaintext rows only) gets no key made for it."""
    by_tenant: dict[str, list[bytes]] = defaultdict(list)
    for tenant, value in sealed:
        if value is not None:
            by_tenant[tenant].append(value)
    return {
        tenant: await tenant_keys(session, phi_keys, tenant, opening=values) for tenant, values in by_tenant.items()
    }


async def _keys_sealing(session: AsyncSession, tenants: Iterable[str]) -> dict[str, TenantKeys]:
    return {tenant: await tenant_keys(session, phi_keys, tenant) for tenant in set(tenants)}


def sealed_document(keys: TenantKeys, claim_id: uuid.UUID, document: Mapping[str, object]) -> dict[str, object]:
    """The columns storing a claim's document: `document` without its PHI members, `phi` those sealed."""
    plain, taken = split(document, DOCUMENT_PHI)
    return {"document": plain, "phi": keys.seal(orjson.dumps(taken), _binding(claims, keys.tenant, claim_id))}


def _opened_phi(keys: TenantKeys, claim_id: uuid.UUID, sealed: bytes) -> bytes:
    return keys.open(sealed, _binding(claims, keys.tenant, claim_id))


def _opened_row(keys: Mapping[str, TenantKeys], row: sa.RowMapping) -> dict[str, object]:
    """A claims row as a record's fields: the document whole again, without the `phi` column."""
    values = dict(row)
    sealed = values.pop("phi")
    if sealed is not None and values["document"] is not None:
        opened = orjson.loads(_opened_phi(keys[row["tenant_id"]], row["id"], sealed))
        values["document"] = merged(values["document"], opened)
    return values


async def _opened_claims(session: AsyncSession, kind: type[Record], rows: Iterable[sa.RowMapping]) -> list[Record]:
    rows = list(rows)
    keys = await _keys_opening(session, ((row["tenant_id"], row["phi"]) for row in rows))
    return [kind(**_opened_row(keys, row)) for row in rows]


async def _sealed_claim_rows(session: AsyncSession, new_claims: Sequence[NewClaim]) -> list[tuple[object, ...]]:
    """Each new claim as the values of `CLAIM_ARRAYS`, in order: its document without its PHI members (JSON text),
    those members sealed in `phi`, the other JSON columns as text. No dict per claim."""
    keys = await _keys_sealing(session, (claim.tenant_id for claim in new_claims))
    rows: list[tuple[object, ...]] = []
    for claim in new_claims:
        contents = claim.contents
        plain, taken = split(contents.document, DOCUMENT_PHI)
        sealed = keys[claim.tenant_id].seal(orjson.dumps(taken), _binding(claims, claim.tenant_id, claim.id))
        trace = claim.trace_context
        rows.append(
            (
                claim.id, claim.tenant_id, claim.encounter_id, claim.claim_control_number, claim.state,
                _json_text(claim.findings), claim.primary_claim_id, claim.responsibility,
                None if trace is None else _json_text(trace), contents.claim_type, contents.payer_id,
                contents.patient_id, contents.frequency_code, contents.service_date_from, contents.service_date_to,
                contents.total_charge_cents, contents.currency, contents.line_count, _json_text(plain),
                contents.billing_provider_npi, sealed,
            )
        )  # fmt: skip
    return rows


def sealed_file(keys: TenantKeys, table: sa.Table, file_id: uuid.UUID, text: str) -> dict[str, object]:
    """The columns storing an X12 file's text: `x12` NULL, `phi` the text sealed."""
    return {"x12": None, "phi": keys.seal(text.encode(), _binding(table, keys.tenant, file_id))}


async def _sealed_files(
    session: AsyncSession, table: sa.Table, files: Sequence[Submission] | Sequence[StatusRequest]
) -> list[dict[str, object]]:
    keys = await _keys_sealing(session, (file.tenant_id for file in files))
    return [columns_of(file) | sealed_file(keys[file.tenant_id], table, file.id, file.x12) for file in files]


@functools.cache
def _take_file_sql(table: sa.Table) -> str:
    return (
        f"SELECT id, tenant_id, submitter_id, interchange_control_number, x12, phi FROM {table.fullname} "  # noqa: S608
        "WHERE status = 'stored' ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED"
    )


async def _take_file(session: AsyncSession, table: sa.Table) -> StoredFile | None:
    """The oldest stored file of `table` no other sender holds, locked until this transaction ends (each file
    is handed to the clearinghouse by one replica), its text opened."""
    row = await (await driver_connection(session)).fetchrow(_take_file_sql(table))
    if row is None:
        return None
    file_id, tenant, submitter_id, interchange_control_number, text, sealed = row
    if sealed is not None:
        keys = await tenant_keys(session, phi_keys, tenant, opening=[sealed])
        text = keys.open(sealed, _binding(table, tenant, file_id)).decode()
    return StoredFile(file_id, submitter_id, interchange_control_number, text)


def _sealed_claim_row(keys: TenantKeys, row: sa.RowMapping) -> dict[str, object]:
    return sealed_document(keys, row["id"], row["document"])


def _sealed_file_row(table: sa.Table) -> Callable[[TenantKeys, sa.RowMapping], dict[str, object]]:
    return lambda keys, row: sealed_file(keys, table, row["id"], row["x12"])


PLAINTEXT_ROWS = (
    PlaintextRows(claims, sa.and_(claims.c.phi.is_(None), claims.c.document.is_not(None)), _sealed_claim_row),
    PlaintextRows(submissions, submissions.c.phi.is_(None), _sealed_file_row(submissions)),
    PlaintextRows(status_requests, status_requests.c.phi.is_(None), _sealed_file_row(status_requests)),
)
"""Rows stored in plaintext before 0012."""


async def seal_legacy_rows(session: AsyncSession, limit: int) -> int:
    """Seal up to `limit` rows stored in plaintext (`claimflow phi encrypt-existing --service claims`); how many."""
    return await seal_plaintext_rows(session, phi_keys, PLAINTEXT_ROWS, limit)


PHI_AT_REST = PhiAtRest(
    keys=phi_keys,
    sealed=[SealedColumn(claims), SealedColumn(submissions), SealedColumn(status_requests)],
    seal_legacy=seal_legacy_rows,
)


class ClaimRepository:
    """One tenant's claims, holds, fee schedule and scrub settings."""

    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, claim_id: uuid.UUID, *, for_update: bool = False) -> ClaimRecord | None:
        query = sa.select(claims).where(claims.c.tenant_id == self._tenant, claims.c.id == claim_id)
        if for_update:
            query = query.with_for_update()
        rows = (await self._session.execute(query)).mappings().all()
        found = await _opened_claims(self._session, ClaimRecord, rows)
        return found[0] if found else None

    async def search(
        self, query: ClaimQuery, *, after: tuple[dt.datetime, uuid.UUID] | None, limit: int
    ) -> list[ClaimRecord]:
        """The tenant's claims matching every filter given, oldest first, after the keyset `after`."""
        statement = sa.select(claims).where(claims.c.tenant_id == self._tenant)
        if query.states:
            statement = statement.where(claims.c.state.in_(list(query.states)))
        if query.encounter_id is not None:
            statement = statement.where(claims.c.encounter_id == query.encounter_id)
        if query.patient_id is not None:
            statement = statement.where(claims.c.patient_id == query.patient_id)
        if query.payer_id is not None:
            statement = statement.where(claims.c.payer_id == query.payer_id)
        if query.provider_npi is not None:
            statement = statement.where(
                sa.or_(
                    claims.c.billing_provider_npi == query.provider_npi,
                    claims.c.document["rendering_provider_npi"].astext == query.provider_npi,
                )
            )
        if query.service_date_from is not None:
            statement = statement.where(claims.c.service_date_to >= query.service_date_from)
        if query.service_date_to is not None:
            statement = statement.where(claims.c.service_date_from <= query.service_date_to)
        if query.claim_number is not None:
            statement = statement.where(claims.c.claim_control_number == query.claim_number)
        if after is not None:
            statement = statement.where(rows_after(claims.c.created_at, claims.c.id, after))
        statement = statement.order_by(claims.c.created_at, claims.c.id).limit(limit)
        return await _opened_claims(self._session, ClaimRecord, (await self._session.execute(statement)).mappings())

    async def held(self, *, patient_id: uuid.UUID | None = None) -> list[ClaimRecord]:
        """The tenant's claims on hold (of one patient when given), by id: the order rows are locked in."""
        statement = sa.select(claims).where(
            claims.c.tenant_id == self._tenant, claims.c.state == ClaimState.ON_HOLD.value
        )
        if patient_id is not None:
            statement = statement.where(claims.c.patient_id == patient_id)
        statement = statement.order_by(claims.c.id)
        return await _opened_claims(self._session, ClaimRecord, (await self._session.execute(statement)).mappings())

    async def payments_of(self, claim_id: uuid.UUID) -> list[PaymentRef]:
        """Payments posted to the claim (remittance's payment ids), in the order they came."""
        query = (
            sa.select(
                claim_payments.c.payment_id,
                claim_payments.c.trace_number,
                claim_payments.c.paid_cents,
                claim_payments.c.currency,
                claim_payments.c.paid_date,
                claim_payments.c.outcome,
            )
            .where(claim_payments.c.tenant_id == self._tenant, claim_payments.c.claim_id == claim_id)
            .order_by(claim_payments.c.received_at, claim_payments.c.payment_id)
        )
        return _records(PaymentRef, (await self._session.execute(query)).mappings())

    async def lines(self, claim_id: uuid.UUID) -> list[ClaimLineRecord]:
        query = (
            sa.select(claim_lines)
            .where(claim_lines.c.tenant_id == self._tenant, claim_lines.c.claim_id == claim_id)
            .order_by(claim_lines.c.line_number)
        )
        return _records(ClaimLineRecord, (await self._session.execute(query)).mappings())

    async def history(self, claim_id: uuid.UUID) -> list[StatusChangeRecord]:
        query = (
            sa.select(claim_status_history)
            .where(claim_status_history.c.tenant_id == self._tenant, claim_status_history.c.claim_id == claim_id)
            .order_by(claim_status_history.c.id)
        )
        return _records(StatusChangeRecord, (await self._session.execute(query)).mappings())

    async def in_state(
        self, state: ClaimState, *, oldest_by: sa.Column[dt.datetime], limit: int, offset: int
    ) -> list[ClaimRecord]:
        """The tenant's claims in one state (a work queue), oldest first by `oldest_by`."""
        query = (
            sa.select(claims)
            .where(claims.c.tenant_id == self._tenant, claims.c.state == state.value)
            .order_by(oldest_by, claims.c.id)
            .limit(limit)
            .offset(offset)
        )
        return await _opened_claims(self._session, ClaimRecord, (await self._session.execute(query)).mappings())

    async def holds(self, *, limit: int, offset: int) -> list[ClaimRecord]:
        return await self.in_state(ClaimState.ON_HOLD, oldest_by=claims.c.created_at, limit=limit, offset=offset)

    async def rejections(self, *, limit: int, offset: int) -> list[ClaimRecord]:
        return await self.in_state(ClaimState.REJECTED, oldest_by=claims.c.updated_at, limit=limit, offset=offset)

    async def follow_ups(self, *, limit: int, offset: int) -> list[FollowUpRecord]:
        query = (
            sa.select(
                follow_ups,
                claims.c.claim_control_number,
                claims.c.payer_id,
                claims.c.state,
                status_requests.c.sent_at,
            )
            .join(claims, claims.c.id == follow_ups.c.claim_id)
            .join(status_requests, status_requests.c.id == follow_ups.c.request_id)
            .where(follow_ups.c.tenant_id == self._tenant)
            .order_by(follow_ups.c.flagged_at.desc(), follow_ups.c.trace_number)
            .limit(limit)
            .offset(offset)
        )
        return _records(FollowUpRecord, (await self._session.execute(query)).mappings())

    async def envelope_of(self, claim_id: uuid.UUID) -> EnvelopeRecord | None:
        """The interchange, group and transaction set the claim last went out in, or None before its first 837."""
        query = (
            sa.select(
                claims.c.submission_id,
                submissions.c.interchange_control_number,
                submission_transactions.c.group_control_number,
                claims.c.transaction_control_number,
                submissions.c.sent_at,
                claims.c.submission_count,
            )
            .join(submissions, submissions.c.id == claims.c.submission_id)
            .join(
                submission_transactions,
                sa.and_(
                    submission_transactions.c.submission_id == claims.c.submission_id,
                    submission_transactions.c.transaction_control_number == claims.c.transaction_control_number,
                ),
            )
            .where(claims.c.tenant_id == self._tenant, claims.c.id == claim_id)
        )
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else EnvelopeRecord(**row)

    async def secondary_of(self, claim_id: uuid.UUID) -> uuid.UUID | None:
        """The primary's secondary claim in force (not withdrawn)."""
        query = sa.select(claims.c.id).where(
            claims.c.tenant_id == self._tenant, claims.c.primary_claim_id == claim_id, claims.c.withdrawn_at.is_(None)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def secondary_for_withdrawal(self, claim_id: uuid.UUID) -> ClaimRecord | None:
        """The primary's secondary claim in force, locked."""
        query = (
            sa.select(claims)
            .where(
                claims.c.tenant_id == self._tenant,
                claims.c.primary_claim_id == claim_id,
                claims.c.withdrawn_at.is_(None),
            )
            .with_for_update()
        )
        found = await _opened_claims(self._session, ClaimRecord, (await self._session.execute(query)).mappings())
        return found[0] if found else None

    async def mark_withdrawn(self, claim_id: uuid.UUID, at: dt.datetime) -> None:
        await self._session.execute(
            sa.update(claims).where(claims.c.tenant_id == self._tenant, claims.c.id == claim_id).values(withdrawn_at=at)
        )

    async def update_contents(self, claim_id: uuid.UUID, contents: ClaimContents) -> None:
        """The claim's encounter-derived columns (a fix, a re-pricing); its state changes elsewhere."""
        await self._session.execute(
            sa.update(claims)
            .where(claims.c.tenant_id == self._tenant, claims.c.id == claim_id)
            .values(
                updated_at=sa.func.now(),
                **(columns_of(contents) | sealed_document(await self._keys(), claim_id, contents.document)),
            )
        )

    async def _keys(self) -> TenantKeys:
        return await tenant_keys(self._session, phi_keys, self._tenant)

    async def replace_lines(self, claim_id: uuid.UUID, lines: list[ClaimLine]) -> None:
        await self._session.execute(
            sa.delete(claim_lines).where(claim_lines.c.tenant_id == self._tenant, claim_lines.c.claim_id == claim_id)
        )
        if lines:
            await self._session.execute(sa.insert(claim_lines), [line._asdict() for line in lines])

    async def fee_schedule(self) -> list[FeeScheduleRecord]:
        query = (
            sa.select(fee_schedule_entries)
            .where(fee_schedule_entries.c.tenant_id == self._tenant)
            .order_by(fee_schedule_entries.c.code, fee_schedule_entries.c.modifier)
        )
        return _records(FeeScheduleRecord, (await self._session.execute(query)).mappings())

    async def upsert_fees(self, entries: list[FeeEntry]) -> None:
        if not entries:
            return
        statement = insert(fee_schedule_entries).values(
            [{"tenant_id": self._tenant, **columns_of(entry)} for entry in entries]
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "code", "modifier"],
                set_={
                    "charge_cents": statement.excluded.charge_cents,
                    "currency": statement.excluded.currency,
                    "updated_at": sa.func.now(),
                },
            )
        )

    async def disabled_rules(self) -> frozenset[str]:
        return (await StreamWrites(self._session).disabled_rules([self._tenant])).get(self._tenant, frozenset())

    async def set_rule_enabled(self, rule_id: str, enabled: bool) -> None:
        if enabled:
            await self._session.execute(
                sa.delete(disabled_scrub_rules).where(
                    disabled_scrub_rules.c.tenant_id == self._tenant, disabled_scrub_rules.c.rule_id == rule_id
                )
            )
        else:
            await self._session.execute(
                insert(disabled_scrub_rules).values(tenant_id=self._tenant, rule_id=rule_id).on_conflict_do_nothing()
            )


class ClaimCorrections:
    """Which denials actions already built their corrected or void claim."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        *,
        action_id: uuid.UUID,
        tenant: str,
        case_id: uuid.UUID,
        original_claim_id: uuid.UUID,
        corrected_claim_id: uuid.UUID,
        frequency_code: str,
    ) -> bool:
        """True when this action is new; False when it was recorded before (nothing to build)."""
        recorded = await self._session.execute(
            insert(claim_corrections)
            .values(
                action_id=action_id,
                tenant_id=tenant,
                case_id=case_id,
                original_claim_id=original_claim_id,
                corrected_claim_id=corrected_claim_id,
                frequency_code=frequency_code,
            )
            .on_conflict_do_nothing(index_elements=[claim_corrections.c.action_id])
            .returning(claim_corrections.c.action_id)
        )
        return recorded.first() is not None


_STATE_COLUMN_TYPES = {
    "id": "uuid[]",
    "state": "text[]",
    "findings": "text[]::jsonb[]",
    "rejection_reasons": "text[]::jsonb[]",
    "payer_claim_number": "text[]",
    "submission_id": "uuid[]",
    "transaction_control_number": "integer[]",
}
"""How each column a state change writes is bound: one array per column (JSON as text, cast by Postgres)."""

_LOCK_CLAIMS = (
    f"SELECT id, tenant_id, state, claim_control_number, payer_id FROM {claims.fullname} "  # noqa: S608
    "WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"
)
"""`ClaimStates.lock`: the claims' rows by primary key, locked in id order."""


@functools.cache
def _state_update(keys: tuple[str, ...]) -> str:
    """The UPDATE of one shape of state change (`keys`: the columns given, `id` first), from arrays: one statement
    text per shape, so asyncpg prepares it once per connection. A change that names its submission counts one
    more submission and answers the last one's rejections."""
    arrays = ", ".join(f"${n}::{_STATE_COLUMN_TYPES[key]}" for n, key in enumerate(keys, start=1))
    assigned = {key: f"given.{key}" for key in keys if key != "id"}
    if "submission_id" in keys:
        assigned |= {"submission_count": "claims.submission_count + 1", "rejection_reasons": "'[]'::jsonb"}
    settings = ", ".join(f"{column} = {value}" for column, value in {"updated_at": "now()", **assigned}.items())
    return (
        f"UPDATE {claims.fullname} AS claims SET {settings} "  # noqa: S608
        f"FROM unnest({arrays}) AS given({', '.join(keys)}) WHERE claims.id = given.id"
    )


class ClaimStates:
    """The state column and the status history, any tenant: written only by `lifecycle.change_states`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self, claim_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LockedClaim]:
        """The claims' real states, locked FOR UPDATE (in id order, so two writers never deadlock)."""
        ids = sorted(set(claim_ids))
        if not ids:
            return {}
        driver = await driver_connection(self._session)
        return {row[0]: LockedClaim(*row) for row in await driver.fetch(_LOCK_CLAIMS, ids)}

    async def write(self, writes: Sequence[StateWrite]) -> None:
        """Each claim's new state and the columns that go with it: one UPDATE per shape of change, from arrays
        (unnest; JSON as text), its text made once per shape and run by asyncpg (no SQLAlchemy compile, no
        per-element processing of the arrays)."""
        groups: dict[tuple[str, ...], list[list[object]]] = {}
        for write in writes:
            columns = write.columns
            keys: tuple[str, ...] = ("id", "state")
            values: list[object] = [write.claim_id, write.state.value]
            if columns.findings is not None:
                keys += ("findings",)
                values.append(_json_text(columns.findings))
            if columns.rejection_reasons is not None:
                keys += ("rejection_reasons",)
                values.append(_json_text(columns.rejection_reasons))
            if columns.payer_claim_number is not None:
                keys += ("payer_claim_number",)
                values.append(columns.payer_claim_number)
            if columns.submission is not None:
                keys += ("submission_id", "transaction_control_number")
                values += (columns.submission.submission_id, columns.submission.transaction_control_number)
            rows = groups.get(keys)
            if rows is None:
                groups[keys] = [values]
            else:
                rows.append(values)
        if not groups:
            return
        driver = await driver_connection(self._session)
        for keys, rows in groups.items():
            await driver.execute(_state_update(keys), *(list(column) for column in zip(*rows, strict=True)))

    async def record(self, changes: Sequence[StatusChange]) -> None:
        """History rows by COPY, each change the row as it is (`StatusChange` is a tuple of these columns)."""
        await _copy(self._session, claim_status_history, StatusChange._fields, list(changes))

    async def count_by_state(self) -> dict[str, int]:
        query = sa.select(claims.c.state, sa.func.count()).group_by(claims.c.state)
        return {state: count for state, count in (await self._session.execute(query)).tuples()}


CLAIM_ARRAYS = (
    ("id", "uuid"),
    ("tenant_id", "text"),
    ("encounter_id", "uuid"),
    ("claim_control_number", "text"),
    ("state", "text"),
    ("findings", "jsonb"),
    ("primary_claim_id", "uuid"),
    ("responsibility", "text"),
    ("trace_context", "jsonb"),
    ("claim_type", "text"),
    ("payer_id", "text"),
    ("patient_id", "uuid"),
    ("frequency_code", "text"),
    ("service_date_from", "date"),
    ("service_date_to", "date"),
    ("total_charge_cents", "bigint"),
    ("currency", "text"),
    ("line_count", "integer"),
    ("document", "json"),
    ("billing_provider_npi", "text"),
    ("phi", "bytea"),
)
"""The columns a new claim writes, each bound as one array (JSON as text, cast to json or jsonb by Postgres)."""
if [name for name, _ in CLAIM_ARRAYS] != [*new_claim_columns(), "phi"]:  # `_sealed_claim_rows` writes them so
    raise ValueError(f"the claims inserted {CLAIM_ARRAYS} are not a new claim's columns {new_claim_columns()}")
_ROW_VERSION = "CAST(CAST(xmin AS text) AS bigint)"
"""A row's `xmin` (the transaction that wrote this version of it) as a number: `ReadyClaim.row_version`."""


def _claims_insert(conflict: str) -> str:
    """One INSERT of a batch of claims from arrays (`unnest`), as asyncpg runs it: one statement text whatever the
    batch size, so it is parsed and planned once per connection (asyncpg's statement cache), not once per size as a
    multi-row VALUES is, and bound from plain lists without SQLAlchemy compiling or processing them; duplicates
    (`conflict`) are skipped; returns the ids inserted with their row versions."""
    names = ", ".join(name for name, _ in CLAIM_ARRAYS)
    arrays = ", ".join(
        f"${n}::text[]::{kind}[]" if kind in ("json", "jsonb") else f"${n}::{kind}[]"
        for n, (_, kind) in enumerate(CLAIM_ARRAYS, start=1)
    )
    return (
        f"INSERT INTO {claims.fullname} ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        f"ON CONFLICT {conflict} DO NOTHING RETURNING id, {_ROW_VERSION}"
    )


_INSERT_PRIMARY_CLAIMS = _claims_insert("(tenant_id, encounter_id) WHERE primary_claim_id IS NULL")
_INSERT_SECONDARY_CLAIMS = _claims_insert(
    "(primary_claim_id) WHERE withdrawn_at IS NULL AND primary_claim_id IS NOT NULL"  # uq_claims_primary_claim_id
)

# The stream's and the batching round's other statements, as asyncpg runs them (texts made once, rows read as
# asyncpg records: no SQLAlchemy compile or row processing on the hot path). Each keeps the shape it had.
_EXISTING_ENCOUNTERS = (
    f"SELECT tenant_id, encounter_id FROM {claims.fullname} "  # noqa: S608
    "WHERE tenant_id = any($1::text[]) AND encounter_id = any($2::uuid[]) AND primary_claim_id IS NULL"
)  # both columns of uq_claims_tenant_id_encounter_id_primary, so the index answers
_FEE_SCHEDULES = (
    f"SELECT tenant_id, code, modifier, charge_cents FROM {fee_schedule_entries.fullname} "  # noqa: S608
    "WHERE (tenant_id, code) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
)
_BILLED_SERVICES = (
    "SELECT visit.tenant_id, line.patient_id, line.payer_id, line.service_date, line.procedure_code "  # noqa: S608
    "FROM unnest($1::text[], $2::uuid[], $3::text[], $4::date[]) "
    "AS visit(tenant_id, patient_id, payer_id, service_date) "
    f"JOIN {claim_lines.fullname} AS line ON line.tenant_id = visit.tenant_id AND line.patient_id = visit.patient_id "
    "AND line.payer_id = visit.payer_id AND line.service_date = visit.service_date "
    "WHERE line.procedure_code IS NOT NULL AND line.claim_id <> ALL($5::uuid[]) "
    f"AND (SELECT claim.state FROM {claims.fullname} AS claim WHERE claim.id = line.claim_id) <> ALL($6::text[])"
)  # every column of ix_claim_lines_service per visit; each line's claim state by its primary key
_NOT_BILLED = sorted(state.value for state in NOT_BILLED_STATES)
_DISABLED_RULES = f"SELECT tenant_id, rule_id FROM {disabled_scrub_rules.fullname} WHERE tenant_id = any($1::text[])"  # noqa: S608
_PTP_EDITS = (
    "SELECT column1, column2, effective_date, deletion_date, modifier_indicator, rationale "  # noqa: S608
    f"FROM {ncci_ptp_edits.fullname} "
    "WHERE provider_type = $1 AND column1 = any($2::text[]) AND column2 = any($2::text[])"
)
_MUE_EDITS = (
    "SELECT code, max_units, adjudication, rationale, service_type "  # noqa: S608
    f"FROM {mue_edits.fullname} WHERE service_type = $1 AND code = any($2::text[])"
)
_ALLOCATE_CLAIM_NUMBERS = (
    f"INSERT INTO {claim_number_counters.fullname} AS counter (tenant_id, last_value) "  # noqa: S608
    "SELECT * FROM unnest($1::text[], $2::bigint[]) "  # in the order given: tenants sorted, rows locked in that order
    "ON CONFLICT (tenant_id) DO UPDATE SET last_value = counter.last_value + excluded.last_value "
    "RETURNING tenant_id, last_value"
)
_READY_WINDOWS = (
    "SELECT oldest.tenant_id, oldest.payer_id FROM ("  # noqa: S608
    f"SELECT tenant_id, payer_id, created_at FROM {claims.fullname} WHERE state = '{ClaimState.READY.value}' "
    "ORDER BY created_at LIMIT $1) AS oldest "
    "GROUP BY oldest.tenant_id, oldest.payer_id ORDER BY min(oldest.created_at)"
)
_HOLD_WINDOWS = (
    "SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext(w.tenant_id || '/' || w.payer_id)) "
    "FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS w(tenant_id, payer_id, n) ORDER BY w.n"
)
_ADD_CONTROL_NUMBERS = (
    f"INSERT INTO {x12_control_numbers.fullname} (submitter_id, next_interchange, next_group, next_transaction) "  # noqa: S608
    "VALUES ($1, 1, 1, 1) ON CONFLICT DO NOTHING"
)
_LOCK_CONTROL_NUMBERS = (
    f"SELECT next_interchange, next_group, next_transaction FROM {x12_control_numbers.fullname} "  # noqa: S608
    "WHERE submitter_id = $1 FOR UPDATE"
)
_SAVE_CONTROL_NUMBERS = (
    f"UPDATE {x12_control_numbers.fullname} SET next_interchange = $1, next_group = $2, next_transaction = $3 "  # noqa: S608
    "WHERE submitter_id = $4"
)
_MARK_SENT = (
    f"UPDATE {submissions.fullname} SET status = 'sent', sent_at = $1 "  # noqa: S608
    "WHERE id = $2 AND status = 'stored' RETURNING id"
)
_SENT_CLAIMS = (
    "SELECT id, tenant_id, state, claim_control_number, payer_id, submission_count "  # noqa: S608
    f"FROM {claims.fullname} WHERE submission_id = $1 "
    "ORDER BY id FOR UPDATE"  # the order every writer locks claims in
)


@functools.cache
def _take_ready_sql(windows: int) -> str:
    """`take_ready` for this many windows, each a (tenant, payer) pair of parameters after the limit ($1)."""
    pairs = ", ".join(f"(${2 * n}, ${2 * n + 1})" for n in range(1, windows + 1))
    return (
        "SELECT id, tenant_id, encounter_id, patient_id, claim_control_number, trace_context, payer_id, "  # noqa: S608
        f"{_ROW_VERSION} AS row_version FROM {claims.fullname} "
        f"WHERE state = '{ClaimState.READY.value}' AND (tenant_id, payer_id) IN ({pairs}) "
        "ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED"
    )


def _json_text(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_LINE_COLUMNS = ClaimLine._fields
if _LINE_COLUMNS != tuple(column.name for column in claim_lines.columns):  # a column added must be added to both
    raise ValueError(f"ClaimLine's fields {_LINE_COLUMNS} are not claim_lines' columns")


class StreamWrites:
    """Reads and writes for many tenants at once: consumed events and the batching loop."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def existing_encounters(self, keys: Iterable[tuple[str, uuid.UUID]]) -> set[tuple[str, uuid.UUID]]:
        wanted = set(keys)
        if not wanted:
            return set()
        driver = await driver_connection(self._session)
        found = await driver.fetch(
            _EXISTING_ENCOUNTERS, list({tenant for tenant, _ in wanted}), [encounter for _, encounter in wanted]
        )
        return {(row[0], row[1]) for row in found} & wanted

    async def fee_schedules(self, codes_by_tenant: dict[str, set[str]]) -> dict[str, dict[tuple[str, str], int]]:
        wanted = [(tenant, code) for tenant, codes in codes_by_tenant.items() for code in codes]
        if not wanted:
            return {}
        driver = await driver_connection(self._session)
        rows = await driver.fetch(_FEE_SCHEDULES, [tenant for tenant, _ in wanted], [code for _, code in wanted])
        schedules: dict[str, dict[tuple[str, str], int]] = {}
        for tenant, code, modifier, charge in rows:
            schedules.setdefault(tenant, {})[(code, modifier)] = charge
        return schedules

    async def disabled_rules(self, tenants: Iterable[str]) -> dict[str, frozenset[str]]:
        driver = await driver_connection(self._session)
        found: dict[str, set[str]] = {}
        for tenant, rule_id in await driver.fetch(_DISABLED_RULES, list(tenants)):
            found.setdefault(tenant, set()).add(rule_id)
        return {tenant: frozenset(rules) for tenant, rules in found.items()}

    async def billed_services(
        self, visits: Iterable[Visit], exclude: Sequence[uuid.UUID] = ()
    ) -> dict[str, set[ServiceKey]]:
        """Per tenant, (patient, payer, date, procedure) already billed on the tenant's claims for exactly these
        visits (tenant, patient, payer, date of service): the keys the duplicate rule asks for, no others. Claims on
        hold or cancelled bill nothing, so they are not counted; the claims in `exclude` (one being scrubbed again)
        neither. One statement for every tenant of a batch.

        Each visit is read from ix_claim_lines_service by all of its columns, and each line's claim state is a
        correlated scalar subquery, which Postgres runs per line found through the claim's primary key. As an
        EXISTS it became a semi join, and once a tenant's patients had long histories the planner hashed it against
        a sequential scan of all the claims: 47 ms a batch at 100,000 claims, 0.6 ms this way. Asking for every
        patient x every date of a batch instead returned each patient's whole history in the batch's dates."""
        wanted = set(visits)
        found: dict[str, set[ServiceKey]] = {tenant: set() for tenant, *_ in wanted}
        if not wanted:
            return found
        driver = await driver_connection(self._session)
        rows = await driver.fetch(
            _BILLED_SERVICES,
            *(list(column) for column in zip(*wanted, strict=True)),
            list(exclude),
            _NOT_BILLED,
        )
        for tenant, patient, payer, date, code in rows:
            found[tenant].add((str(patient), payer, date, code))
        return found

    async def ptp_edits(self, claim_type: str, codes: set[str]) -> dict[tuple[str, str], list[PtpEdit]]:
        if len(codes) < 2:
            return {}
        driver = await driver_connection(self._session)
        index: dict[tuple[str, str], list[PtpEdit]] = {}
        for column1, column2, effective, deletion, indicator, rationale in await driver.fetch(
            _PTP_EDITS, PTP_PROVIDER_TYPE[claim_type], list(codes)
        ):
            index.setdefault((column1, column2), []).append(
                PtpEdit(
                    column1=column1,
                    column2=column2,
                    effective_date=effective,
                    deletion_date=deletion,
                    modifier_indicator=ModifierIndicator(indicator),
                    rationale=rationale,
                )
            )
        return index

    async def mue_edits(self, claim_type: str, codes: set[str]) -> dict[str, MueEdit]:
        if not codes:
            return {}
        driver = await driver_connection(self._session)
        rows = await driver.fetch(_MUE_EDITS, MUE_SERVICE_TYPE[claim_type], list(codes))
        return {
            code: MueEdit(code, max_units, MueAdjudication(adjudication), rationale, service_type)
            for code, max_units, adjudication, rationale, service_type in rows
        }

    async def allocate_claim_numbers(self, counts: Mapping[str, int]) -> dict[str, int]:
        """The first of `count` new claim numbers of each tenant, taken in a transaction of its own: one statement,
        committed before this returns, on another connection of the session's engine (never in the session's
        transaction). A tenant's counter row is locked only for that statement, not while the caller's unit of
        work scrubs, inserts and commits, so two batches of one tenant (two in flight in one process, or two
        replicas) build their claims side by side instead of taking turns.

        Numbers stay unique per tenant, across batches, replicas and restarts: each allocation adds its count to
        the committed counter under the row's lock, so no two allocations get overlapping ranges. A unit of work
        that rolls back after allocating (a failed batch, a retried one, an encounter another batch billed first)
        leaves its numbers unused: a gap in the tenant's sequence, never a repeat (CLM01 must be unique, not
        dense)."""
        wanted = sorted((tenant, count) for tenant, count in counts.items() if count > 0)
        if not wanted:
            return {}
        engine = self._session.bind
        if not isinstance(engine, AsyncEngine):  # a session bound to one connection has no other to commit on
            raise TypeError("claim numbers are allocated on a connection of their own: bind the session to an engine")
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            if driver is None:
                raise RuntimeError("the allocating connection is closed")
            # no transaction block: the single statement commits on its own (asyncpg runs it in autocommit)
            rows = await driver.fetch(
                _ALLOCATE_CLAIM_NUMBERS, [tenant for tenant, _ in wanted], [count for _, count in wanted]
            )
        last = {tenant: int(value) for tenant, value in rows}
        return {tenant: last[tenant] - count + 1 for tenant, count in wanted}

    async def insert_claims(self, new_claims: list[NewClaim]) -> dict[uuid.UUID, int]:
        """The claims inserted, each id with its row version (`ReadyClaim.row_version`); an encounter that already
        has its claim is left alone."""
        if not new_claims:
            return {}
        return await self._insert_claims(_INSERT_PRIMARY_CLAIMS, new_claims)

    async def insert_secondary_claims(self, new_claims: list[NewClaim]) -> set[uuid.UUID]:
        """Ids of the secondary claims inserted; a primary that already has its secondary gets none."""
        if not new_claims:
            return set()
        return set(await self._insert_claims(_INSERT_SECONDARY_CLAIMS, new_claims))

    async def _insert_claims(self, statement: str, new_claims: list[NewClaim]) -> dict[uuid.UUID, int]:
        rows = await _sealed_claim_rows(self._session, new_claims)
        driver = await driver_connection(self._session)
        inserted = await driver.fetch(statement, *(list(column) for column in zip(*rows, strict=True)))
        return {row[0]: row[1] for row in inserted}

    async def insert_lines(self, lines: list[ClaimLine]) -> None:
        """The lines by COPY, each line the row as it is (`ClaimLine` is a tuple in the table's column order)."""
        await _copy(self._session, claim_lines, _LINE_COLUMNS, lines)

    async def ready_windows(self, sample: int) -> list[BatchWindow]:
        """The tenant+payer windows of the oldest `sample` READY claims, the longest waiting first (bounded:
        it reads the partial index of READY claims, never the whole table)."""
        driver = await driver_connection(self._session)
        return [BatchWindow(*row) for row in await driver.fetch(_READY_WINDOWS, sample)]

    async def hold_windows(self, windows: Sequence[BatchWindow]) -> list[BatchWindow]:
        """The windows whose transaction-level advisory lock this round took (those no other batcher holds), in
        the order given: one batcher per tenant+payer window across replicas, released when this round's
        transaction ends. One round trip for all of them."""
        if not windows:
            return []
        driver = await driver_connection(self._session)
        held = await driver.fetch(
            _HOLD_WINDOWS, BATCHER_LOCK, [w.tenant_id for w in windows], [w.payer_id for w in windows]
        )
        return [window for window, row in zip(windows, held, strict=True) if row[0]]

    async def hold_window(self, window: BatchWindow) -> bool:
        """`hold_windows` of one window."""
        return bool(await self.hold_windows([window]))

    async def take_ready(self, limit: int, windows: Sequence[BatchWindow]) -> list[ReadyClaim]:
        """Ready claims of `windows` (held by this round), oldest first, locked; other batchers skip them. Their
        documents are not read: a claim this process kept from its build needs none (`ready_documents`)."""
        if not windows:
            return []
        driver = await driver_connection(self._session)
        pairs = [value for w in windows for value in (w.tenant_id, w.payer_id)]
        return [ReadyClaim(*row) for row in await driver.fetch(_take_ready_sql(len(windows)), limit, *pairs)]

    async def ready_documents(self, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The stored documents of claims taken by `take_ready`, as JSON text with their PHI put back (never parsed
        here: pydantic parses each once)."""
        if not claim_ids:
            return {}
        query = sa.select(
            claims.c.id, claims.c.tenant_id, sa.cast(claims.c.document, sa.Text).label("document"), claims.c.phi
        ).where(claims.c.id == sa.func.any(sa.bindparam("ids", list(claim_ids), type_=ARRAY(sa.Uuid))))
        rows = (await self._session.execute(query)).mappings().all()
        keys = await _keys_opening(self._session, ((row["tenant_id"], row["phi"]) for row in rows))
        documents = {}
        for row in rows:
            sealed = row["phi"]
            document = row["document"]
            if sealed is not None:  # the JSON text completed, never parsed here
                document = merged_text(document, _opened_phi(keys[row["tenant_id"]], row["id"], sealed))
            documents[row["id"]] = document
        return documents

    async def lock_control_numbers(self, submitter_id: str) -> ControlNumbers:
        driver = await driver_connection(self._session)
        await driver.execute(_ADD_CONTROL_NUMBERS, submitter_id)
        row = await driver.fetchrow(_LOCK_CONTROL_NUMBERS, submitter_id)
        assert row is not None  # inserted above when it was not there
        return ControlNumbers(*row)

    async def save_control_numbers(self, submitter_id: str, following: ControlNumbers) -> None:
        driver = await driver_connection(self._session)
        await driver.execute(
            _SAVE_CONTROL_NUMBERS, following.interchange, following.group, following.transaction, submitter_id
        )

    async def insert_submissions(self, stored: list[Submission], transactions: list[SubmissionTransaction]) -> None:
        if stored:
            await self._session.execute(sa.insert(submissions), await _sealed_files(self._session, submissions, stored))
        if transactions:
            await self._session.execute(sa.insert(submission_transactions), [columns_of(t) for t in transactions])

    async def take_stored_submission(self) -> StoredFile | None:
        """The oldest stored 837 no other sender holds, locked until this transaction ends: each file is
        handed to the clearinghouse by one replica."""
        return await _take_file(self._session, submissions)

    async def mark_sent(self, submission_id: uuid.UUID, sent_at: dt.datetime) -> list[SentClaim]:
        """The claims of a submission now marked sent, locked (none when another sender marked it first)."""
        driver = await driver_connection(self._session)
        if await driver.fetchval(_MARK_SENT, sent_at, submission_id) is None:
            return []
        return [SentClaim(*row) for row in await driver.fetch(_SENT_CLAIMS, submission_id)]


TRACKED_COLUMNS = (
    claims.c.id,
    claims.c.tenant_id,
    claims.c.state,
    claims.c.claim_control_number,
    claims.c.payer_id,
    claims.c.primary_claim_id,
    claims.c.responsibility,
)


class TrackingWrites:
    """What comes back about claims after they left: acknowledgments, follow-ups, payments."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claims_of_transaction(
        self, submitter_id: str, transaction_control_number: int | None, group_control_number: int | None = None
    ) -> list[TrackedClaim]:
        """The claims an 837 transaction set (or, without one, a functional group) carried, locked."""
        sent = sa.select(submission_transactions.c.submission_id, submission_transactions.c.transaction_control_number)
        sent = sent.where(submission_transactions.c.submitter_id == submitter_id)
        if transaction_control_number is not None:
            sent = sent.where(submission_transactions.c.transaction_control_number == transaction_control_number)
        elif group_control_number is not None:
            sent = sent.where(submission_transactions.c.group_control_number == group_control_number)
        else:
            return []
        pairs = list((await self._session.execute(sent)).tuples())
        if not pairs:
            return []
        query = (
            sa.select(*TRACKED_COLUMNS)
            .where(sa.tuple_(claims.c.submission_id, claims.c.transaction_control_number).in_(pairs))
            .order_by(claims.c.id)
            .with_for_update()
        )
        return _records(TrackedClaim, (await self._session.execute(query)).mappings())

    async def tenant_of_group(self, submitter_id: str, group_control_number: int) -> str | None:
        """The tenant whose 837 functional group this was (a 999 that rejects nothing still belongs to it)."""
        query = (
            sa.select(submissions.c.tenant_id)
            .join(submission_transactions, submission_transactions.c.submission_id == submissions.c.id)
            .where(
                submission_transactions.c.submitter_id == submitter_id,
                submission_transactions.c.group_control_number == group_control_number,
            )
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def claims_by_number(self, numbers: Iterable[str], states: Iterable[ClaimState]) -> list[TrackedClaim]:
        """Claims with these CLM01s in these states, any tenant (a fallback when a file names no transaction)."""
        query = (
            sa.select(*TRACKED_COLUMNS)
            .where(
                claims.c.claim_control_number.in_(list(numbers)),
                claims.c.state.in_([state.value for state in states]),
            )
            .order_by(claims.c.id)
            .with_for_update()
        )
        return _records(TrackedClaim, (await self._session.execute(query)).mappings())

    async def claims_by_follow_up(self, traces: Iterable[str]) -> list[TrackedClaim]:
        query = (
            sa.select(*TRACKED_COLUMNS, follow_ups.c.trace_number)
            .join(follow_ups, follow_ups.c.claim_id == claims.c.id)
            .where(follow_ups.c.trace_number.in_(list(traces)))
            .order_by(claims.c.id)
            .with_for_update(of=claims)
        )
        return _records(TrackedClaim, (await self._session.execute(query)).mappings())

    async def lock_for_payments(self, named: Iterable[tuple[str, uuid.UUID | None, str]]) -> None:
        """Every claim a batch of payments names — `(tenant, claim id or None, CLM01)` — and each one's secondary
        claim in force, locked up front in id order, the order every writer locks claims in. Taken one by one in
        the remittance's order instead, a batch and an acknowledgment round locking the same claims in id order
        deadlock."""
        named = list(named)
        by_id = [(tenant, claim_id) for tenant, claim_id, _ in named if claim_id is not None]
        by_number = [(tenant, number) for tenant, claim_id, number in named if claim_id is None]
        conditions = []
        if by_id:
            conditions.append(sa.tuple_(claims.c.tenant_id, claims.c.id).in_(by_id))
        if by_number:
            conditions.append(sa.tuple_(claims.c.tenant_id, claims.c.claim_control_number).in_(by_number))
        if not conditions:
            return
        paid = sa.select(claims.c.id).where(sa.or_(*conditions)).cte("paid")
        secondaries = sa.select(claims.c.id).where(
            claims.c.primary_claim_id.in_(sa.select(paid.c.id)), claims.c.withdrawn_at.is_(None)
        )
        ids = sa.union(sa.select(paid.c.id), secondaries)
        query = sa.select(claims.c.id).where(claims.c.id.in_(ids)).order_by(claims.c.id).with_for_update()
        await self._session.execute(query)

    async def claim_for_payment(
        self, tenant: str, claim_id: uuid.UUID | None, claim_control_number: str
    ) -> TrackedClaim | None:
        query = sa.select(*TRACKED_COLUMNS, claims.c.document, claims.c.phi).where(claims.c.tenant_id == tenant)
        if claim_id is not None:
            query = query.where(claims.c.id == claim_id)
        else:
            query = query.where(claims.c.claim_control_number == claim_control_number)
        rows = (await self._session.execute(query.with_for_update())).mappings().all()
        found = await _opened_claims(self._session, TrackedClaim, rows)
        return found[0] if found else None

    async def record_file(self, file: AcknowledgmentFile) -> bool:
        """False when the tenant already has a file with this sha256: it was read before."""
        statement = insert(acknowledgment_files).on_conflict_do_nothing().returning(acknowledgment_files.c.id)
        return (await self._session.execute(statement, [columns_of(file)])).first() is not None

    async def record_payment(self, payment: ClaimPayment) -> bool:
        """False when this payment id was taken before."""
        statement = insert(claim_payments).on_conflict_do_nothing().returning(claim_payments.c.payment_id)
        return (await self._session.execute(statement, [columns_of(payment)])).first() is not None

    async def answer_follow_ups(self, answers: dict[str, list[str]], at: dt.datetime) -> None:
        for trace, codes in answers.items():
            await self._session.execute(
                sa.update(follow_ups)
                .where(follow_ups.c.trace_number == trace)
                .values(answered_at=at, answer_codes=codes)
            )

    async def take_quiet(self, older_than: dt.datetime, states: Iterable[ClaimState], limit: int) -> list[QuietClaim]:
        """Claims quiet since `older_than` and not asked about since their last change, locked."""
        asked = sa.exists().where(follow_ups.c.claim_id == claims.c.id, follow_ups.c.flagged_at >= claims.c.updated_at)
        query = (
            sa.select(
                claims.c.id,
                claims.c.tenant_id,
                claims.c.state,
                claims.c.claim_control_number,
                claims.c.payer_claim_number,
                claims.c.document,
                claims.c.phi,
            )
            .where(claims.c.state.in_([state.value for state in states]), claims.c.updated_at <= older_than, ~asked)
            .order_by(claims.c.updated_at)
            .limit(limit)
            .with_for_update(of=claims, skip_locked=True)
        )
        return await _opened_claims(self._session, QuietClaim, (await self._session.execute(query)).mappings())

    async def insert_status_request(self, request: StatusRequest, flagged: list[FollowUp]) -> None:
        await self._session.execute(
            sa.insert(status_requests), await _sealed_files(self._session, status_requests, [request])
        )
        if flagged:
            await self._session.execute(sa.insert(follow_ups), [columns_of(follow_up) for follow_up in flagged])

    async def take_stored_status_request(self) -> StoredFile | None:
        """The oldest stored 276 no other sender holds, locked until this transaction ends (one replica sends it)."""
        return await _take_file(self._session, status_requests)

    async def mark_status_request_sent(self, request_id: uuid.UUID, sent_at: dt.datetime) -> None:
        await self._session.execute(
            sa.update(status_requests)
            .where(status_requests.c.id == request_id, status_requests.c.status == "stored")
            .values(status="sent", sent_at=sent_at)
        )


class ReferenceCodes:
    """CMS's NCCI tables: a load replaces every edit of its provider or service type in one transaction,
    so the scrubber never sees half a quarter."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace_ptp_edits(self, provider_type: str, edits: Iterable[PtpEdit]) -> int:
        records = {
            (e.column1, e.column2, e.effective_date): (
                provider_type,
                e.column1,
                e.column2,
                e.effective_date,
                e.deletion_date,
                e.modifier_indicator.value,
                e.rationale,
            )
            for e in edits
        }  # later rows of a file win over earlier ones with the same key
        await self._session.execute(sa.delete(ncci_ptp_edits).where(ncci_ptp_edits.c.provider_type == provider_type))
        columns = ("provider_type", "column1", "column2", "effective_date", "deletion_date", "modifier_indicator",
                   "rationale")  # fmt: skip
        await _copy(self._session, ncci_ptp_edits, columns, list(records.values()))
        return len(records)

    async def replace_mue_edits(self, service_type: str, edits: Iterable[MueEdit]) -> int:
        records = {e.code: (service_type, e.code, e.max_units, e.adjudication.value, e.rationale) for e in edits}
        await self._session.execute(sa.delete(mue_edits).where(mue_edits.c.service_type == service_type))
        columns = ("service_type", "code", "max_units", "adjudication", "rationale")
        await _copy(self._session, mue_edits, columns, list(records.values()))
        return len(records)
