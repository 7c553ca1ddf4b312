"""All SQL of the claims service. Tenant-facing reads and writes are scoped to one tenant; the writes
driven by the event stream and the batching loop carry each row's tenant themselves."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.scrubber import ServiceKey
from services.claims.domain.scrubber.ncci import ModifierIndicator, MueAdjudication, MueEdit, PtpEdit
from services.claims.models import (
    acknowledgment_files,
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
    status_requests,
    submission_transactions,
    submissions,
    x12_control_numbers,
)

PTP_PROVIDER_TYPE = {"professional": "practitioner", "institutional": "hospital"}
MUE_SERVICE_TYPE = {"professional": "practitioner", "institutional": "outpatient_hospital"}


class ClaimRepository:
    """One tenant's claims, holds, fee schedule and scrub settings."""

    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, claim_id: uuid.UUID, *, for_update: bool = False) -> sa.Row[Any] | None:
        query = sa.select(claims).where(claims.c.tenant_id == self._tenant, claims.c.id == claim_id)
        if for_update:
            query = query.with_for_update()
        return (await self._session.execute(query)).one_or_none()

    async def list_for_encounter(self, encounter_id: uuid.UUID) -> list[sa.Row[Any]]:
        query = sa.select(claims).where(claims.c.tenant_id == self._tenant, claims.c.encounter_id == encounter_id)
        return list((await self._session.execute(query)).all())

    async def lines(self, claim_id: uuid.UUID) -> list[sa.Row[Any]]:
        query = (
            sa.select(claim_lines)
            .where(claim_lines.c.tenant_id == self._tenant, claim_lines.c.claim_id == claim_id)
            .order_by(claim_lines.c.line_number)
        )
        return list((await self._session.execute(query)).all())

    async def history(self, claim_id: uuid.UUID) -> list[sa.Row[Any]]:
        query = (
            sa.select(claim_status_history)
            .where(claim_status_history.c.tenant_id == self._tenant, claim_status_history.c.claim_id == claim_id)
            .order_by(claim_status_history.c.id)
        )
        return list((await self._session.execute(query)).all())

    async def holds(self, *, limit: int, offset: int) -> list[sa.Row[Any]]:
        query = (
            sa.select(claims)
            .where(claims.c.tenant_id == self._tenant, claims.c.state == "on_hold")
            .order_by(claims.c.created_at, claims.c.id)
            .limit(limit)
            .offset(offset)
        )
        return list((await self._session.execute(query)).all())

    async def rejections(self, *, limit: int, offset: int) -> list[sa.Row[Any]]:
        query = (
            sa.select(claims)
            .where(claims.c.tenant_id == self._tenant, claims.c.state == "rejected")
            .order_by(claims.c.updated_at, claims.c.id)
            .limit(limit)
            .offset(offset)
        )
        return list((await self._session.execute(query)).all())

    async def follow_ups(self, *, limit: int, offset: int) -> list[sa.Row[Any]]:
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
        return list((await self._session.execute(query)).all())

    async def secondary_of(self, claim_id: uuid.UUID) -> uuid.UUID | None:
        query = sa.select(claims.c.id).where(claims.c.tenant_id == self._tenant, claims.c.primary_claim_id == claim_id)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def update(self, claim_id: uuid.UUID, **values: Any) -> None:
        await self._session.execute(
            sa.update(claims)
            .where(claims.c.tenant_id == self._tenant, claims.c.id == claim_id)
            .values(updated_at=sa.func.now(), **values)
        )

    async def replace_lines(self, claim_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
        await self._session.execute(sa.delete(claim_lines).where(claim_lines.c.claim_id == claim_id))
        if rows:
            await self._session.execute(sa.insert(claim_lines), rows)

    async def fee_schedule(self) -> list[sa.Row[Any]]:
        query = (
            sa.select(fee_schedule_entries)
            .where(fee_schedule_entries.c.tenant_id == self._tenant)
            .order_by(fee_schedule_entries.c.code, fee_schedule_entries.c.modifier)
        )
        return list((await self._session.execute(query)).all())

    async def upsert_fees(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        statement = insert(fee_schedule_entries).values([{"tenant_id": self._tenant, **e} for e in entries])
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


class StreamWrites:
    """Reads and writes for many tenants at once: consumed events and the batching loop."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def existing_encounters(self, keys: Iterable[tuple[str, uuid.UUID]]) -> set[tuple[str, uuid.UUID]]:
        keys = list(keys)
        if not keys:
            return set()
        query = sa.select(claims.c.tenant_id, claims.c.encounter_id).where(
            claims.c.encounter_id == sa.func.any(sa.bindparam("encounters", type_=ARRAY(sa.Uuid))),
            claims.c.primary_claim_id.is_(None),
        )
        wanted = set(keys)
        found = await self._session.execute(query, {"encounters": [encounter for _, encounter in wanted]})
        return {(row.tenant_id, row.encounter_id) for row in found} & wanted

    async def fee_schedules(self, codes_by_tenant: dict[str, set[str]]) -> dict[str, dict[tuple[str, str], int]]:
        wanted = [(tenant, code) for tenant, codes in codes_by_tenant.items() for code in codes]
        if not wanted:
            return {}
        query = sa.select(fee_schedule_entries).where(
            sa.tuple_(fee_schedule_entries.c.tenant_id, fee_schedule_entries.c.code).in_(wanted)
        )
        schedules: dict[str, dict[tuple[str, str], int]] = {}
        for row in await self._session.execute(query):
            schedules.setdefault(row.tenant_id, {})[(row.code, row.modifier)] = row.charge_cents
        return schedules

    async def disabled_rules(self, tenants: Iterable[str]) -> dict[str, frozenset[str]]:
        query = sa.select(disabled_scrub_rules.c.tenant_id, disabled_scrub_rules.c.rule_id).where(
            disabled_scrub_rules.c.tenant_id.in_(list(tenants))
        )
        found: dict[str, set[str]] = {}
        for row in await self._session.execute(query):
            found.setdefault(row.tenant_id, set()).add(row.rule_id)
        return {tenant: frozenset(rules) for tenant, rules in found.items()}

    async def billed_services(
        self, tenant: str, patients: set[uuid.UUID], dates: set[dt.date], exclude: Sequence[uuid.UUID] = ()
    ) -> set[ServiceKey]:
        """(patient, payer, date, procedure) already on the tenant's claims for these patients and dates."""
        if not patients or not dates:
            return set()
        query = sa.select(
            claim_lines.c.patient_id, claim_lines.c.payer_id, claim_lines.c.service_date, claim_lines.c.procedure_code
        ).where(
            claim_lines.c.tenant_id == tenant,
            claim_lines.c.patient_id.in_(list(patients)),
            claim_lines.c.service_date.in_(list(dates)),
            claim_lines.c.procedure_code.is_not(None),
        )
        if exclude:
            query = query.where(claim_lines.c.claim_id.not_in(list(exclude)))
        return {
            (str(row.patient_id), row.payer_id, row.service_date, row.procedure_code)
            for row in await self._session.execute(query)
        }

    async def ptp_edits(self, claim_type: str, codes: set[str]) -> dict[tuple[str, str], list[PtpEdit]]:
        if len(codes) < 2:
            return {}
        query = sa.select(ncci_ptp_edits).where(
            ncci_ptp_edits.c.provider_type == PTP_PROVIDER_TYPE[claim_type],
            ncci_ptp_edits.c.column1.in_(list(codes)),
            ncci_ptp_edits.c.column2.in_(list(codes)),
        )
        index: dict[tuple[str, str], list[PtpEdit]] = {}
        for row in await self._session.execute(query):
            index.setdefault((row.column1, row.column2), []).append(
                PtpEdit(
                    column1=row.column1,
                    column2=row.column2,
                    effective_date=row.effective_date,
                    deletion_date=row.deletion_date,
                    modifier_indicator=ModifierIndicator(row.modifier_indicator),
                    rationale=row.rationale,
                )
            )
        return index

    async def mue_edits(self, claim_type: str, codes: set[str]) -> dict[str, MueEdit]:
        if not codes:
            return {}
        query = sa.select(mue_edits).where(
            mue_edits.c.service_type == MUE_SERVICE_TYPE[claim_type], mue_edits.c.code.in_(list(codes))
        )
        return {
            row.code: MueEdit(
                row.code, row.max_units, MueAdjudication(row.adjudication), row.rationale, row.service_type
            )
            for row in await self._session.execute(query)
        }

    async def allocate_claim_numbers(self, tenant: str, count: int) -> int:
        """The first of `count` new claim numbers of the tenant; the counter row serializes allocations."""
        statement = insert(claim_number_counters).values(tenant_id=tenant, last_value=count)
        last = (
            await self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=["tenant_id"], set_={"last_value": claim_number_counters.c.last_value + count}
                ).returning(claim_number_counters.c.last_value)
            )
        ).scalar_one()
        return int(last) - count + 1

    async def insert_claims(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        """Ids of the claims inserted; an encounter that already has its claim is left alone."""
        if not rows:
            return set()
        statement = (
            insert(claims)
            .on_conflict_do_nothing(
                index_elements=["tenant_id", "encounter_id"], index_where=claims.c.primary_claim_id.is_(None)
            )
            .returning(claims.c.id)
        )
        return set((await self._session.execute(statement, rows)).scalars())

    async def insert_secondary_claims(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        """Ids of the secondary claims inserted; a primary that already has its secondary gets none."""
        if not rows:
            return set()
        statement = insert(claims).on_conflict_do_nothing(index_elements=["primary_claim_id"]).returning(claims.c.id)
        return set((await self._session.execute(statement, rows)).scalars())

    async def _copy(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """COPY rows into `table` inside the session's transaction: bulk rows without per-row overhead."""
        if not rows:
            return
        columns = list(rows[0])
        connection = await self._session.connection()
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name,
            schema_name=table.schema,
            columns=columns,
            records=[tuple(row[c] for c in columns) for row in rows],
        )

    async def insert_lines(self, rows: list[dict[str, Any]]) -> None:
        await self._copy(claim_lines, rows)

    async def record_transitions(self, rows: list[dict[str, Any]]) -> None:
        await self._copy(claim_status_history, rows)

    async def take_ready(self, limit: int) -> list[sa.Row[Any]]:
        """Ready claims, oldest first, locked; other batchers skip them."""
        query = (
            sa.select(
                claims.c.id,
                claims.c.tenant_id,
                claims.c.encounter_id,
                claims.c.patient_id,
                claims.c.claim_control_number,
                claims.c.document,
            )
            .where(claims.c.state == "ready")
            .order_by(claims.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self._session.execute(query)).all())

    async def lock_control_numbers(self, submitter_id: str) -> ControlNumbers:
        await self._session.execute(
            insert(x12_control_numbers)
            .values(submitter_id=submitter_id, next_interchange=1, next_group=1, next_transaction=1)
            .on_conflict_do_nothing()
        )
        row = (
            await self._session.execute(
                sa.select(x12_control_numbers)
                .where(x12_control_numbers.c.submitter_id == submitter_id)
                .with_for_update()
            )
        ).one()
        return ControlNumbers(row.next_interchange, row.next_group, row.next_transaction)

    async def save_control_numbers(self, submitter_id: str, following: ControlNumbers) -> None:
        await self._session.execute(
            sa.update(x12_control_numbers)
            .where(x12_control_numbers.c.submitter_id == submitter_id)
            .values(
                next_interchange=following.interchange,
                next_group=following.group,
                next_transaction=following.transaction,
            )
        )

    async def insert_submissions(self, rows: list[dict[str, Any]], transactions: list[dict[str, Any]]) -> None:
        if rows:
            await self._session.execute(sa.insert(submissions), rows)
        if transactions:
            await self._session.execute(sa.insert(submission_transactions), transactions)

    async def set_batched(self, updates: list[dict[str, Any]]) -> None:
        """Each update: claim id (`claim`), `state`, `submission` and `transaction` (its ST02)."""
        if not updates:
            return
        statement = sa.text(
            "UPDATE claims.claims AS c SET state = u.state, submission_id = u.submission, "
            "transaction_control_number = u.st, submission_count = c.submission_count + 1, "
            "rejection_reasons = '[]'::jsonb, updated_at = now() "
            "FROM unnest(:ids, :states, :submissions, :transactions) AS u(id, state, submission, st) WHERE c.id = u.id"
        ).bindparams(
            sa.bindparam("ids", type_=ARRAY(sa.Uuid)),
            sa.bindparam("states", type_=ARRAY(sa.Text)),
            sa.bindparam("submissions", type_=ARRAY(sa.Uuid)),
            sa.bindparam("transactions", type_=ARRAY(sa.Integer)),
        )
        await self._session.execute(
            statement,
            {
                "ids": [u["claim"] for u in updates],
                "states": [str(u["state"]) for u in updates],
                "submissions": [u.get("submission") for u in updates],
                "transactions": [u.get("transaction") for u in updates],
            },
        )

    async def stored_submissions(self, limit: int) -> list[sa.Row[Any]]:
        query = (
            sa.select(submissions.c.id, submissions.c.tenant_id, submissions.c.interchange_control_number,
                      submissions.c.submitter_id, submissions.c.x12)
            .where(submissions.c.status == "stored")
            .order_by(submissions.c.created_at)
            .limit(limit)
        )  # fmt: skip
        return list((await self._session.execute(query)).all())

    async def mark_sent(self, submission_id: uuid.UUID, sent_at: dt.datetime) -> list[sa.Row[Any]]:
        """The claims of a submission now sent (none when another sender marked it first)."""
        marked = await self._session.execute(
            sa.update(submissions)
            .where(submissions.c.id == submission_id, submissions.c.status == "stored")
            .values(status="sent", sent_at=sent_at)
            .returning(submissions.c.id)
        )
        if marked.first() is None:
            return []
        result = await self._session.execute(
            sa.update(claims)
            .where(claims.c.submission_id == submission_id, claims.c.state == "batched")
            .values(
                state=sa.case((claims.c.submission_count > 1, "resubmitted"), else_="submitted"),
                updated_at=sa.func.now(),
            )
            .returning(claims.c.id, claims.c.tenant_id, claims.c.state)
        )
        return list(result.all())

    async def hold(self, claim_id: uuid.UUID, findings: list[dict[str, Any]]) -> None:
        await self._session.execute(
            sa.update(claims)
            .where(claims.c.id == claim_id)
            .values(state="on_hold", findings=findings, updated_at=sa.func.now())
        )

    async def count_by_state(self) -> dict[str, int]:
        query = sa.select(claims.c.state, sa.func.count()).group_by(claims.c.state)
        return {state: count for state, count in (await self._session.execute(query)).all()}


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
    ) -> list[sa.Row[Any]]:
        """The claims an 837 transaction set (or, without one, a functional group) carried, locked."""
        sent = sa.select(submission_transactions.c.submission_id, submission_transactions.c.transaction_control_number)
        sent = sent.where(submission_transactions.c.submitter_id == submitter_id)
        if transaction_control_number is not None:
            sent = sent.where(submission_transactions.c.transaction_control_number == transaction_control_number)
        elif group_control_number is not None:
            sent = sent.where(submission_transactions.c.group_control_number == group_control_number)
        else:
            return []
        pairs = [(row.submission_id, row.transaction_control_number) for row in await self._session.execute(sent)]
        if not pairs:
            return []
        query = (
            sa.select(*TRACKED_COLUMNS)
            .where(sa.tuple_(claims.c.submission_id, claims.c.transaction_control_number).in_(pairs))
            .order_by(claims.c.id)
            .with_for_update()
        )
        return list((await self._session.execute(query)).all())

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

    async def claims_by_number(self, numbers: Iterable[str], states: Iterable[str]) -> list[sa.Row[Any]]:
        """Claims with these CLM01s in these states, any tenant (a fallback when a file names no transaction)."""
        query = (
            sa.select(*TRACKED_COLUMNS)
            .where(claims.c.claim_control_number.in_(list(numbers)), claims.c.state.in_(list(states)))
            .order_by(claims.c.id)
            .with_for_update()
        )
        return list((await self._session.execute(query)).all())

    async def claims_by_follow_up(self, traces: Iterable[str]) -> list[sa.Row[Any]]:
        query = (
            sa.select(*TRACKED_COLUMNS, follow_ups.c.trace_number)
            .join(follow_ups, follow_ups.c.claim_id == claims.c.id)
            .where(follow_ups.c.trace_number.in_(list(traces)))
            .order_by(claims.c.id)
            .with_for_update(of=claims)
        )
        return list((await self._session.execute(query)).all())

    async def claim_for_payment(
        self, tenant: str, claim_id: uuid.UUID | None, claim_control_number: str
    ) -> sa.Row[Any] | None:
        query = sa.select(*TRACKED_COLUMNS, claims.c.document).where(claims.c.tenant_id == tenant)
        if claim_id is not None:
            query = query.where(claims.c.id == claim_id)
        else:
            query = query.where(claims.c.claim_control_number == claim_control_number)
        return (await self._session.execute(query.with_for_update())).one_or_none()

    async def record_file(self, row: dict[str, Any]) -> bool:
        """False when the tenant already has a file with this sha256: it was read before."""
        statement = insert(acknowledgment_files).on_conflict_do_nothing().returning(acknowledgment_files.c.id)
        return (await self._session.execute(statement, [row])).first() is not None

    async def record_payment(self, row: dict[str, Any]) -> bool:
        """False when this payment id was taken before."""
        statement = insert(claim_payments).on_conflict_do_nothing().returning(claim_payments.c.payment_id)
        return (await self._session.execute(statement, [row])).first() is not None

    async def move(self, claim_id: uuid.UUID, **values: Any) -> None:
        await self._session.execute(
            sa.update(claims).where(claims.c.id == claim_id).values(updated_at=sa.func.now(), **values)
        )

    async def answer_follow_ups(self, answers: dict[str, list[str]], at: dt.datetime) -> None:
        for trace, codes in answers.items():
            await self._session.execute(
                sa.update(follow_ups)
                .where(follow_ups.c.trace_number == trace)
                .values(answered_at=at, answer_codes=codes)
            )

    async def take_quiet(self, older_than: dt.datetime, states: Iterable[str], limit: int) -> list[sa.Row[Any]]:
        """Claims quiet since `older_than` and not asked about since their last change, locked."""
        asked = sa.exists().where(follow_ups.c.claim_id == claims.c.id, follow_ups.c.flagged_at >= claims.c.updated_at)
        query = (
            sa.select(*TRACKED_COLUMNS, claims.c.document, claims.c.payer_claim_number, claims.c.updated_at)
            .where(claims.c.state.in_(list(states)), claims.c.updated_at <= older_than, ~asked)
            .order_by(claims.c.updated_at)
            .limit(limit)
            .with_for_update(of=claims, skip_locked=True)
        )
        return list((await self._session.execute(query)).all())

    async def insert_status_request(self, row: dict[str, Any], flagged: list[dict[str, Any]]) -> None:
        await self._session.execute(sa.insert(status_requests), [row])
        if flagged:
            await self._session.execute(sa.insert(follow_ups), flagged)

    async def stored_status_requests(self, limit: int) -> list[sa.Row[Any]]:
        query = (
            sa.select(status_requests.c.id, status_requests.c.submitter_id,
                      status_requests.c.interchange_control_number, status_requests.c.x12)
            .where(status_requests.c.status == "stored")
            .order_by(status_requests.c.created_at)
            .limit(limit)
        )  # fmt: skip
        return list((await self._session.execute(query)).all())

    async def mark_status_request_sent(self, request_id: uuid.UUID, sent_at: dt.datetime) -> None:
        await self._session.execute(
            sa.update(status_requests)
            .where(status_requests.c.id == request_id, status_requests.c.status == "stored")
            .values(status="sent", sent_at=sent_at)
        )
