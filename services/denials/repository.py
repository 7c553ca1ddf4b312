"""All SQL of the denials service; every query is scoped to one tenant (reference code lists are global)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.denials.domain.code_lists import CodeDescription
from services.denials.domain.deadlines import PayerCalendar
from services.denials.domain.denial_case import OPEN_STATUSES, DenialCaseStatus
from services.denials.domain.underpayment import ContractRate
from services.denials.models import (
    appeal_letters,
    case_actions,
    case_history,
    code_descriptions,
    contract_rates,
    denial_cases,
    payer_calendars,
    payer_claim_numbers,
    remitted_claims,
    submitted_claims,
)
from services.denials.records import (
    ActionRecord,
    CaseRecord,
    HistoryEntry,
    LetterRecord,
    PayerTerms,
    SubmittedClaimRecord,
)
from shared.db import driver_connection

OPEN = [status.value for status in OPEN_STATUSES]
WORKED = [*OPEN, DenialCaseStatus.PENDING_PAYER.value]
"""Cases a later remittance can still decide."""


@dataclass(frozen=True, slots=True)
class QueueFilter:
    statuses: Sequence[str] = tuple(OPEN)
    payer_id: str | None = None
    root_cause: str | None = None
    carc: str | None = None
    provider_npi: str | None = None
    owner: str | None = None
    assignee: str | None = None
    kind: str | None = None
    opened_before: dt.datetime | None = None
    opened_after: dt.datetime | None = None
    due_by: dt.date | None = None


class DenialCaseRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def queue(self, where: QueueFilter, limit: int, offset: int = 0) -> list[CaseRecord]:
        """Cases by expected recovery (highest first), then due date (earliest first)."""
        c = denial_cases.c
        query = sa.select(denial_cases).where(c.tenant_id == self._tenant, c.status.in_(list(where.statuses)))
        for column, value in (
            (c.payer_id, where.payer_id),
            (c.root_cause, where.root_cause),
            (c.billing_provider_npi, where.provider_npi),
            (c.owner, where.owner),
            (c.assignee, where.assignee),
            (c.kind, where.kind),
        ):
            if value is not None:
                query = query.where(column == value)
        if where.carc is not None:
            query = query.where(c.carcs.contains([where.carc]))
        if where.opened_before is not None:
            query = query.where(c.opened_at <= where.opened_before)
        if where.opened_after is not None:
            query = query.where(c.opened_at >= where.opened_after)
        if where.due_by is not None:
            query = query.where(c.due_date <= where.due_by)
        query = query.order_by(c.expected_recovery_cents.desc(), c.due_date, c.id).limit(limit).offset(offset)
        return [CaseRecord.from_row(row) for row in await self._session.execute(query)]

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> CaseRecord | None:
        query = sa.select(denial_cases).where(denial_cases.c.tenant_id == self._tenant, denial_cases.c.id == case_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else CaseRecord.from_row(row)

    async def update(self, case_id: uuid.UUID, **values: Any) -> None:
        await self._session.execute(
            sa.update(denial_cases)
            .where(denial_cases.c.tenant_id == self._tenant, denial_cases.c.id == case_id)
            .values(updated_at=sa.func.now(), **values)
        )

    async def add_history(self, case_id: uuid.UUID, entry: str, actor: str, text: str) -> None:
        await self._session.execute(
            sa.insert(case_history).values(case_id=case_id, tenant_id=self._tenant, entry=entry, actor=actor, text=text)
        )

    async def history(self, case_id: uuid.UUID) -> list[HistoryEntry]:
        query = (
            sa.select(case_history.c.entry, case_history.c.actor, case_history.c.text, case_history.c.at)
            .where(case_history.c.tenant_id == self._tenant, case_history.c.case_id == case_id)
            .order_by(case_history.c.id)
        )
        return [HistoryEntry(r.entry, r.actor, r.text, r.at) for r in await self._session.execute(query)]

    async def action_by_key(self, idempotency_key: str) -> ActionRecord | None:
        query = sa.select(case_actions).where(
            case_actions.c.tenant_id == self._tenant, case_actions.c.idempotency_key == idempotency_key
        )
        row = (await self._session.execute(query)).first()
        return None if row is None else _action(row)

    async def insert_action(
        self,
        *,
        action_id: uuid.UUID,
        case_id: uuid.UUID,
        kind: str,
        idempotency_key: str,
        amount_cents: int | None,
        reason_code: str | None,
        actor: str,
    ) -> bool:
        """False when the key was already used (a concurrent repeat): the caller does nothing more."""
        statement = (
            insert(case_actions)
            .values(
                id=action_id,
                tenant_id=self._tenant,
                case_id=case_id,
                kind=kind,
                idempotency_key=idempotency_key,
                amount_cents=amount_cents,
                reason_code=reason_code,
                actor=actor,
            )
            .on_conflict_do_nothing(constraint="uq_case_actions_tenant_id")
            .returning(case_actions.c.id)
        )
        return (await self._session.execute(statement)).first() is not None

    async def actions(self, case_id: uuid.UUID) -> list[ActionRecord]:
        query = (
            sa.select(case_actions)
            .where(case_actions.c.tenant_id == self._tenant, case_actions.c.case_id == case_id)
            .order_by(case_actions.c.created_at)
        )
        return [_action(row) for row in await self._session.execute(query)]

    async def add_letter(
        self, *, action_id: uuid.UUID, case_id: uuid.UUID, level: int, file_name: str, pdf: bytes, text: str
    ) -> None:
        await self._session.execute(
            sa.insert(appeal_letters).values(
                action_id=action_id,
                tenant_id=self._tenant,
                case_id=case_id,
                appeal_level=level,
                file_name=file_name,
                pdf=pdf,
                text=text,
            )
        )

    async def letter(self, case_id: uuid.UUID, action_id: uuid.UUID) -> LetterRecord | None:
        query = sa.select(appeal_letters).where(
            appeal_letters.c.tenant_id == self._tenant,
            appeal_letters.c.case_id == case_id,
            appeal_letters.c.action_id == action_id,
        )
        row = (await self._session.execute(query)).first()
        return None if row is None else _letter(row)

    async def letters(self, case_id: uuid.UUID) -> list[LetterRecord]:
        query = (
            sa.select(appeal_letters)
            .where(appeal_letters.c.tenant_id == self._tenant, appeal_letters.c.case_id == case_id)
            .order_by(appeal_letters.c.created_at)
        )
        return [_letter(row) for row in await self._session.execute(query)]

    async def submitted_claim(self, claim_control_number: str) -> SubmittedClaimRecord | None:
        found = await claims_submitted(self._session, [(self._tenant, claim_control_number)])
        return found.get((self._tenant, claim_control_number))

    async def replace_contract_rates(self, payer_id: str | None, rates: Sequence[ContractRate]) -> int:
        """Upsert `rates`; with `payer_id`, that payer's other rates are removed first (a full schedule)."""
        if payer_id is not None:
            await self._session.execute(
                sa.delete(contract_rates).where(
                    contract_rates.c.tenant_id == self._tenant, contract_rates.c.payer_id == payer_id
                )
            )
        if rates:
            statement = insert(contract_rates)
            statement = statement.on_conflict_do_update(
                index_elements=["tenant_id", "payer_id", "procedure_code", "modifier"],
                set_={
                    "allowed_cents": statement.excluded.allowed_cents,
                    "currency": statement.excluded.currency,
                    "updated_at": sa.func.now(),
                },
            )
            await self._session.execute(
                statement,
                [
                    {
                        "tenant_id": self._tenant,
                        "payer_id": r.payer_id,
                        "procedure_code": r.procedure_code,
                        "modifier": r.modifier,
                        "allowed_cents": r.allowed_cents,
                        "currency": r.currency,
                    }
                    for r in rates
                ],
            )
        return len(rates)

    async def contract_rates(self, payer_id: str | None = None) -> list[ContractRate]:
        query = sa.select(contract_rates).where(contract_rates.c.tenant_id == self._tenant)
        if payer_id is not None:
            query = query.where(contract_rates.c.payer_id == payer_id)
        query = query.order_by(contract_rates.c.payer_id, contract_rates.c.procedure_code, contract_rates.c.modifier)
        return [
            ContractRate(r.payer_id, r.procedure_code, r.modifier, r.allowed_cents, r.currency)
            for r in await self._session.execute(query)
        ]

    async def set_payer_terms(self, payer_id: str, terms: PayerTerms) -> None:
        values = {
            "appeal_days": list(terms.calendar.appeal_days),
            "timely_filing_days": terms.calendar.timely_filing_days,
            "near_days": terms.calendar.near_days,
            "underpayment_tolerance_cents": terms.calendar.underpayment_tolerance_cents,
            "cost_to_work_cents": terms.cost_to_work_cents,
        }
        statement = insert(payer_calendars).values(tenant_id=self._tenant, payer_id=payer_id, **values)
        await self._session.execute(
            statement.on_conflict_do_update(index_elements=["tenant_id", "payer_id"], set_=values)
        )


def _action(row: Any) -> ActionRecord:
    return ActionRecord(row.id, row.case_id, row.kind, row.amount_cents, row.reason_code, row.actor, row.created_at)


def _letter(row: Any) -> LetterRecord:
    return LetterRecord(
        row.action_id,
        row.tenant_id,
        row.case_id,
        row.appeal_level,
        row.file_name,
        bytes(row.pdf),
        row.text,
        row.sent_at,
        row.answer,
    )


# --------------------------------------------------------------------------- batch work of the consumers


def _by_tenant(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Keys grouped per tenant: one `= ANY(array)` query per tenant plans and runs far faster than a
    list of row-value tuples (a consumer batch is nearly always one tenant)."""
    grouped: dict[str, set[str]] = {}
    for tenant, value in keys:
        grouped.setdefault(tenant, set()).add(value)
    return {tenant: sorted(values) for tenant, values in grouped.items()}


_TEXTS = ARRAY(sa.Text)


async def payer_terms(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], PayerTerms]:
    wanted = list(set(keys))
    if not wanted:
        return {}
    query = sa.select(payer_calendars).where(
        sa.tuple_(payer_calendars.c.tenant_id, payer_calendars.c.payer_id).in_(wanted)
    )
    found: dict[tuple[str, str], PayerTerms] = {}
    for row in await session.execute(query):
        calendar = PayerCalendar(
            appeal_days=tuple(row.appeal_days),
            timely_filing_days=row.timely_filing_days,
            near_days=row.near_days,
            underpayment_tolerance_cents=row.underpayment_tolerance_cents,
        )
        found[(row.tenant_id, row.payer_id)] = PayerTerms(calendar, row.cost_to_work_cents)
    return found


async def claims_submitted(
    session: AsyncSession, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], SubmittedClaimRecord]:
    c = submitted_claims.c
    found: dict[tuple[str, str], SubmittedClaimRecord] = {}
    for tenant, numbers in _by_tenant(keys).items():
        query = sa.select(
            c.claim_control_number,
            c.claim_id,
            c.payer_id,
            c.service_date,
            c.billing_provider_npi,
            c.billing_provider_name,
        ).where(c.tenant_id == tenant, c.claim_control_number == sa.func.any(sa.bindparam("numbers", type_=_TEXTS)))
        for r in await session.execute(query, {"numbers": numbers}):
            found[(tenant, r.claim_control_number)] = SubmittedClaimRecord(
                r.claim_id,
                r.claim_control_number,
                r.payer_id,
                r.service_date,
                r.billing_provider_npi,
                r.billing_provider_name,
            )
    return found


async def record_submitted(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(submitted_claims).on_conflict_do_nothing(), rows)


async def record_first_remittances(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(remitted_claims).on_conflict_do_nothing(), rows)


_CASE_COLUMNS = frozenset(
    {
        "tenant_id",
        "kind",
        "claim_id",
        "claim_control_number",
        "payer_id",
        "trace_number",
        "denial",
        "denied_cents",
        "currency",
        "group_code",
        "carcs",
        "rarcs",
        "status",
        "remitted_on",
        "service_date",
        "billing_provider_npi",
        "payer_claim_control_number",
        "lines",
        "root_cause",
        "carc",
        "unknown_codes",
        "recommended_action",
        "owner",
        "recoverable",
        "appealable",
        "expected_recovery_cents",
        "due_date",
        "expected_cents",
        "paid_cents",
    }
)
"""Columns a new case may carry (the rest take their defaults; Postgres draws its id)."""


@dataclass(frozen=True, slots=True)
class OpenedEntry:
    """The history line written beside a new case, in the same statement."""

    text: str
    actor: str = "claimflow"
    entry: str = "opened"


def _json(value: object) -> str:
    """JSON text of `value`; ids the driver returns (asyncpg's own UUID type) and other scalars by their text."""
    return orjson.dumps(value, default=str).decode()


def _opening_statement(columns: Sequence[str]) -> str:
    names = ", ".join(columns)
    return (
        "WITH given AS MATERIALIZED ("  # noqa: S608 - names from _CASE_COLUMNS and the models, values bound
        f" SELECT gen_random_uuid() AS id, ordinality, {names}"
        f" FROM json_populate_recordset(NULL::{denial_cases.fullname}, $1::json) WITH ORDINALITY"
        "), new AS ("
        f" INSERT INTO {denial_cases.fullname} (id, {names}) SELECT id, {names} FROM given"
        " ON CONFLICT ON CONSTRAINT uq_denial_cases_remit DO NOTHING RETURNING id, tenant_id"
        "), logged AS ("
        f" INSERT INTO {case_history.fullname} (case_id, tenant_id, entry, actor, text)"
        " SELECT new.id, new.tenant_id, h.entry, h.actor, h.text"
        " FROM new JOIN given USING (id)"
        " JOIN ROWS FROM (json_to_recordset($2::json) AS (entry text, actor text, text text)) WITH ORDINALITY"
        " AS h(entry, actor, text, ordinality) USING (ordinality)"
        ") SELECT count(*) FROM new"
    )


async def open_cases(session: AsyncSession, rows: list[dict[str, Any]], opened: Sequence[OpenedEntry]) -> int:
    """Insert the cases `rows`, each with its `opened` history line (`opened[n]` beside `rows[n]`); returns how
    many were new: a case already opened for the same claim, trace and kind is skipped (and gets no second line).
    One statement, one round trip per batch: the rows travel as one JSON document each way (orjson), which Postgres
    expands in C, rather than one bound value per cell; Postgres draws the ids (a uuid4 each cost Python more than
    the rest of a case's columns)."""
    if not rows:
        return 0
    if len(opened) != len(rows):
        raise ValueError(f"{len(rows)} cases but {len(opened)} opening lines")
    columns = list(rows[0])
    unknown = set(columns) - _CASE_COLUMNS
    if unknown:
        raise ValueError(f"not a case column: {sorted(unknown)}")
    history = [{"entry": h.entry, "actor": h.actor, "text": h.text} for h in opened]
    driver = await driver_connection(session)
    return int(await driver.fetchval(_opening_statement(columns), _json(rows), _json(history)))


@dataclass(frozen=True, slots=True)
class DenialLookups:
    """What opening the cases of a batch of denials reads first, keyed by (tenant, claim control number[, trace])."""

    claims: dict[tuple[str, str], SubmittedClaimRecord]
    terms: dict[tuple[str, str], PayerTerms]
    payer_claim_numbers: dict[tuple[str, str, str], str]
    waiting: list[CaseRecord]
    """Cases of these claims (or whose corrected claim these are) waiting on the payer; locked."""


# Table names from the models, values bound: S608 does not apply to these statements.
_LOOKUP_CLAIMS = (
    "SELECT claim_control_number, claim_id, payer_id, service_date, billing_provider_npi, billing_provider_name"  # noqa: S608
    f" FROM {submitted_claims.fullname} WHERE tenant_id = $1 AND claim_control_number = ANY($2::text[])"
)
_LOOKUP_NUMBERS = (
    "SELECT claim_control_number, trace_number, payer_claim_control_number"  # noqa: S608
    f" FROM {payer_claim_numbers.fullname} WHERE tenant_id = $1 AND claim_control_number = ANY($2::text[])"
)
_LOOKUP_TERMS = (
    "SELECT payer_id, appeal_days, timely_filing_days, near_days, underpayment_tolerance_cents, cost_to_work_cents"  # noqa: S608
    f" FROM {payer_calendars.fullname} WHERE tenant_id = $1 AND payer_id = ANY($2::text[])"
)
_LOOKUP_WAITING = (
    f"SELECT EXISTS (SELECT FROM {denial_cases.fullname} WHERE tenant_id = $1"  # noqa: S608
    f" AND status = '{DenialCaseStatus.PENDING_PAYER.value}'"
    " AND (claim_control_number = ANY($2::text[]) OR corrected_claim_control_number = ANY($2::text[])))"
)


async def denial_lookups(session: AsyncSession, denials: Iterable[tuple[str, str, str, str]]) -> DenialLookups:
    """For denials given as (tenant, claim control number, trace, payer): the claims as submitted, the payers'
    terms, the payer's claim numbers (CLP07) already seen and the cases waiting on the payer. Plain statements on
    the driver (a few per tenant, prepared once), not built per batch: a consumed batch reads these for every
    denial, and SQLAlchemy's statement building and row processing cost more than the queries."""
    by_tenant: dict[str, tuple[set[str], set[str], set[tuple[str, str]]]] = {}
    for tenant, number, trace, payer in denials:
        numbers, payers, remits = by_tenant.setdefault(tenant, (set(), set(), set()))
        numbers.add(number)
        payers.add(payer)
        remits.add((number, trace))
    found = DenialLookups({}, {}, {}, [])
    if not by_tenant:
        return found
    driver = await driver_connection(session)
    waiting: list[tuple[str, str]] = []
    for tenant, (numbers, payers, remits) in by_tenant.items():
        wanted = list(numbers)
        for r in await driver.fetch(_LOOKUP_CLAIMS, tenant, wanted):
            found.claims[(tenant, r[0])] = SubmittedClaimRecord(r[1], r[0], r[2], r[3], r[4], r[5])
        for r in await driver.fetch(_LOOKUP_NUMBERS, tenant, wanted):
            if (r[0], r[1]) in remits:
                found.payer_claim_numbers[(tenant, r[0], r[1])] = r[2]
        for r in await driver.fetch(_LOOKUP_TERMS, tenant, list(payers)):
            calendar = PayerCalendar(
                appeal_days=tuple(r[1]), timely_filing_days=r[2], near_days=r[3], underpayment_tolerance_cents=r[4]
            )
            found.terms[(tenant, r[0])] = PayerTerms(calendar, r[5])
        if await driver.fetchval(_LOOKUP_WAITING, tenant, wanted):
            waiting += [(tenant, number) for number in wanted]
    if waiting:
        found.waiting.extend(await cases_deciding_on(session, waiting, [DenialCaseStatus.PENDING_PAYER.value]))
    return found


async def cases_deciding_on(
    session: AsyncSession, keys: Iterable[tuple[str, str]], statuses: Sequence[str] = tuple(WORKED)
) -> list[CaseRecord]:
    """Cases a remittance for (tenant, claim control number) can decide: those of the claim itself and
    those whose corrected claim it is, in `statuses` (default: open or waiting on the payer); locked. The statuses
    are written into the SQL, not bound, so that a denial's search among the cases waiting on the payer plans on
    their small partial index (`ix_denial_cases_pending`)."""
    c = denial_cases.c
    found: list[CaseRecord] = []
    for tenant, numbers in _by_tenant(keys).items():
        wanted = sa.bindparam("numbers", type_=_TEXTS)
        query = (
            sa.select(denial_cases)
            .where(
                c.tenant_id == tenant,
                sa.or_(
                    c.claim_control_number == sa.func.any(wanted),
                    c.corrected_claim_control_number == sa.func.any(wanted),
                ),
                c.status.in_(sa.bindparam("statuses", list(statuses), expanding=True, literal_execute=True)),
            )
            .order_by(c.opened_at)
            .with_for_update()
        )
        found += [CaseRecord.from_row(row) for row in await session.execute(query, {"numbers": numbers})]
    return found


async def remember_payer_claim_numbers(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """CLP07 of each remittance, kept for cases still to open, and set on the cases already open."""
    if not rows:
        return
    await session.execute(
        insert(payer_claim_numbers).on_conflict_do_nothing(),
        [
            {
                "tenant_id": r["b_tenant"],
                "claim_control_number": r["b_ccn"],
                "trace_number": r["b_trace"],
                "payer_claim_control_number": r["b_payer_ccn"],
            }
            for r in rows
        ],
    )
    c = denial_cases.c
    statement = (
        sa.update(denial_cases)
        .where(
            c.tenant_id == sa.bindparam("b_tenant"),
            c.claim_control_number == sa.bindparam("b_ccn"),
            c.trace_number == sa.bindparam("b_trace"),
        )
        .values(payer_claim_control_number=sa.bindparam("b_payer_ccn"))
    )
    await session.execute(statement.execution_options(synchronize_session=False), rows)


async def contract_rates_for(
    session: AsyncSession, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dict[tuple[str, str], ContractRate]]:
    """(tenant, payer) -> (procedure, modifier) -> rate."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    query = sa.select(contract_rates).where(
        sa.tuple_(contract_rates.c.tenant_id, contract_rates.c.payer_id).in_(wanted)
    )
    found: dict[tuple[str, str], dict[tuple[str, str], ContractRate]] = {}
    for r in await session.execute(query):
        found.setdefault((r.tenant_id, r.payer_id), {})[(r.procedure_code, r.modifier)] = ContractRate(
            r.payer_id, r.procedure_code, r.modifier, r.allowed_cents, r.currency
        )
    return found


async def descriptions(session: AsyncSession, carcs: Iterable[str], rarcs: Iterable[str]) -> dict[str, str]:
    """`CARC 16` / `RARC MA130` -> description, for the codes loaded."""
    query = sa.select(code_descriptions.c.list, code_descriptions.c.code, code_descriptions.c.description).where(
        sa.or_(
            sa.and_(
                code_descriptions.c.list == "carc",
                code_descriptions.c.code == sa.func.any(sa.bindparam("carcs", type_=ARRAY(sa.Text))),
            ),
            sa.and_(
                code_descriptions.c.list == "rarc",
                code_descriptions.c.code == sa.func.any(sa.bindparam("rarcs", type_=ARRAY(sa.Text))),
            ),
        )
    )
    rows = await session.execute(query, {"carcs": list(carcs), "rarcs": list(rarcs)})
    return {f"{r.list.upper()} {r.code}": r.description for r in rows}


async def replace_code_list(session: AsyncSession, kind: str, codes: Sequence[CodeDescription]) -> int:
    """The publisher's list replaces the previous one of its kind, in the caller's transaction."""
    await session.execute(sa.delete(code_descriptions).where(code_descriptions.c.list == kind))
    if codes:
        await session.execute(
            sa.insert(code_descriptions),
            [
                {
                    "list": kind,
                    "code": c.code,
                    "description": c.description,
                    "start_date": c.start,
                    "stop_date": c.stop,
                    "notes": c.notes,
                }
                for c in codes
            ],
        )
    return len(codes)


async def answer_letters(session: AsyncSession, tenant: str, case_id: uuid.UUID, answer: str) -> None:
    """The payer answered the case's appeals still waiting (the tracking ends there)."""
    await session.execute(
        sa.update(appeal_letters)
        .where(
            appeal_letters.c.tenant_id == tenant,
            appeal_letters.c.case_id == case_id,
            appeal_letters.c.answered_at.is_(None),
        )
        .values(answered_at=sa.func.now(), answer=answer)
    )


async def unsent_letters(session: AsyncSession, limit: int) -> list[LetterRecord]:
    """Letters not yet handed to the clearinghouse, oldest first, locked (other senders skip them)."""
    query = (
        sa.select(appeal_letters)
        .where(appeal_letters.c.sent_at.is_(None))
        .order_by(appeal_letters.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_letter(row) for row in await session.execute(query)]


async def mark_letter_sent(session: AsyncSession, action_id: uuid.UUID, sha256: str, at: dt.datetime) -> None:
    await session.execute(
        sa.update(appeal_letters).where(appeal_letters.c.action_id == action_id).values(sent_at=at, sha256=sha256)
    )


@dataclass(frozen=True, slots=True)
class DenialCount:
    """Claims denied on their first adjudication among claims remitted, for one value of a dimension."""

    key: str
    denied_claims: int
    remitted_claims: int
    denied_cents: int


@dataclass(frozen=True, slots=True)
class KpiFigures:
    by_payer: list[DenialCount]
    by_carc: list[DenialCount]
    by_root_cause: list[DenialCount]
    by_provider: list[DenialCount]
    total: DenialCount
    resolved: int
    overturned: int
    denied_cents: int
    recovered_cents: int
    written_off_cents: int
    resolution_days_total: int


_NAMES = {
    "remitted_claims": remitted_claims.fullname,
    "submitted_claims": submitted_claims.fullname,
    "denial_cases": denial_cases.fullname,
}
"""Schema-qualified table names for the KPI SQL, from the models."""
_INITIAL_DENIALS = """
WITH remitted AS (
    SELECT r.claim_control_number, r.payer_id, coalesce(s.billing_provider_npi, 'unknown') AS provider
    FROM {remitted_claims} r
    LEFT JOIN {submitted_claims} s
      ON s.tenant_id = r.tenant_id AND s.claim_control_number = r.claim_control_number
    WHERE r.tenant_id = :tenant AND r.first_remitted_on BETWEEN :start AND :end
      AND coalesce(s.frequency_code, '1') = '1'
), denied AS (
    SELECT DISTINCT ON (c.claim_control_number) c.claim_control_number, c.payer_id, c.root_cause, c.carcs,
           c.denied_cents, coalesce(c.billing_provider_npi, 'unknown') AS provider
    FROM {denial_cases} c
    JOIN remitted USING (claim_control_number)
    WHERE c.tenant_id = :tenant AND c.kind = 'denial'
    ORDER BY c.claim_control_number, c.opened_at
)
""".format(**_NAMES)  # noqa: S608 - table names from the models, values bound
_BY = {
    "payer": (
        "SELECT payer_id AS key, count(*) AS n, 0 AS cents FROM remitted GROUP BY payer_id",
        "SELECT payer_id AS key, count(*) AS n, sum(denied_cents) AS cents FROM denied GROUP BY payer_id",
    ),
    "provider": (
        "SELECT provider AS key, count(*) AS n, 0 AS cents FROM remitted GROUP BY provider",
        "SELECT provider AS key, count(*) AS n, sum(denied_cents) AS cents FROM denied GROUP BY provider",
    ),
    "root_cause": (
        "SELECT 'all' AS key, count(*) AS n, 0 AS cents FROM remitted",
        "SELECT root_cause AS key, count(*) AS n, sum(denied_cents) AS cents FROM denied GROUP BY root_cause",
    ),
    "carc": (
        "SELECT 'all' AS key, count(*) AS n, 0 AS cents FROM remitted",
        "SELECT carc AS key, count(*) AS n, sum(denied_cents) AS cents "
        "FROM denied, unnest(carcs) AS carc GROUP BY carc",
    ),
    "total": (
        "SELECT 'all' AS key, count(*) AS n, 0 AS cents FROM remitted",
        "SELECT 'all' AS key, count(*) AS n, coalesce(sum(denied_cents), 0) AS cents FROM denied",
    ),
}
_RESOLUTIONS = """
SELECT count(*) FILTER (WHERE status IN ('overturned', 'partially_overturned', 'written_off',
                                         'transferred_to_patient', 'voided')) AS resolved,
       count(*) FILTER (WHERE status IN ('overturned', 'partially_overturned')) AS overturned,
       coalesce(sum(recovered_cents), 0) AS recovered,
       coalesce(sum(written_off_cents), 0) AS written_off,
       coalesce(sum(resolved_at::date - opened_at::date), 0) AS days
FROM {denial_cases}
WHERE tenant_id = :tenant AND resolved_at IS NOT NULL AND resolved_at::date BETWEEN :start AND :end
""".format(**_NAMES)
_DENIED = """
SELECT coalesce(sum(denied_cents), 0) FROM {denial_cases}
WHERE tenant_id = :tenant AND opened_at::date BETWEEN :start AND :end
""".format(**_NAMES)


async def kpi_figures(session: AsyncSession, tenant: str, start: dt.date, end: dt.date) -> KpiFigures:
    """Every figure the KPIs need for one tenant and date range, in a handful of queries."""
    params = {"tenant": tenant, "start": start, "end": end}
    counts: dict[str, list[DenialCount]] = {}
    for dimension, (remitted_sql, denied_sql) in _BY.items():
        remitted = {r.key: r.n for r in await session.execute(sa.text(_INITIAL_DENIALS + remitted_sql), params)}
        denied = {
            r.key: (r.n, int(r.cents or 0))
            for r in await session.execute(sa.text(_INITIAL_DENIALS + denied_sql), params)
        }
        keys = sorted(set(remitted) | set(denied)) if dimension in ("payer", "provider", "total") else sorted(denied)
        everyone = remitted.get("all", 0)
        counts[dimension] = [
            DenialCount(
                key,
                denied.get(key, (0, 0))[0],
                remitted.get(key, 0) if dimension in ("payer", "provider", "total") else everyone,
                denied.get(key, (0, 0))[1],
            )
            for key in keys
        ]
    resolution = (await session.execute(sa.text(_RESOLUTIONS), params)).one()
    denied_cents = (await session.execute(sa.text(_DENIED), params)).scalar_one()
    total = counts["total"][0] if counts["total"] else DenialCount("all", 0, 0, 0)
    return KpiFigures(
        by_payer=counts["payer"],
        by_carc=counts["carc"],
        by_root_cause=counts["root_cause"],
        by_provider=counts["provider"],
        total=total,
        resolved=resolution.resolved,
        overturned=resolution.overturned,
        denied_cents=int(denied_cents),
        recovered_cents=int(resolution.recovered),
        written_off_cents=int(resolution.written_off),
        resolution_days_total=int(resolution.days),
    )
