"""The hot queries of intake and claims use an index, not a scan of a table that grows with every encounter.

Each test fills the growing tables with tens of thousands of rows of other tenants (inside a transaction
that is rolled back, statistics included), runs the repository's own methods as the hot path does,
catches the SQL they send, and asks Postgres to EXPLAIN each statement with the same parameters: no plan
may read a growing table by a sequential scan.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from asyncpg.connection import LoggedQuery
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.claims.records import Visit
from services.claims.repository import ClaimRepository, ClaimStates, StreamWrites, TrackingWrites
from services.intake import models as intake_models
from services.intake.repository import EncounterRepository, NewEncounter, RegistryRepository
from services.intake.schemas import EncounterIn
from shared.db import create_engine, driver_connection
from shared.messaging.relay import (
    BY_UNPUBLISHED_INDEX,
    LISTENER_SETTINGS,
    backlog_size,
    backlog_sql,
    claim_and_mark,
)
from shared.phi.keys import PhiSettings, configure_keyring
from tests.support.pipeline import Pipeline, coded_encounter

pytestmark = pytest.mark.integration

ROWS = 30_000
TENANTS = 30
CLAIMS_GROWING = ("claims", "claim_lines", "claim_status_history", "submissions")
INTAKE_GROWING = ("encounters", "patients", "coverages")
OUTBOX = intake_models.messaging.outbox


@dataclass
class Sent:
    """The statements a block of repository calls sent, with their parameters (and whether they went to asyncpg
    directly, as the hot path's compiled-once statements do, with positional parameters)."""

    statements: list[tuple[str, Any, bool]] = field(default_factory=list)


@pytest.fixture
async def claims_session(pipeline: Pipeline) -> AsyncIterator[AsyncSession]:
    async for session in _session(pipeline, "claims"):
        yield session


@pytest.fixture
async def intake_session(pipeline: Pipeline) -> AsyncIterator[AsyncSession]:
    # intake's repositories open sealed party records with the keys the stack's services use
    configure_keyring(PhiSettings(environment="test", phi_keks=f"local:{pipeline.secrets.phi_kek}"))
    async for session in _session(pipeline, "intake"):
        yield session


async def _session(pipeline: Pipeline, service: str) -> AsyncIterator[AsyncSession]:
    """A session whose transaction is rolled back: the rows and statistics made here vanish with it."""
    engine = create_engine(pipeline.role_url(service), pool_size=1)
    try:
        async with AsyncSession(engine) as session:
            await session.begin()
            yield session
            await session.rollback()
    finally:
        await engine.dispose()


async def caught(session: AsyncSession, calls: Callable[[], Awaitable[object]]) -> Sent:
    sent = Sent()
    assert isinstance(session.bind, AsyncEngine)
    sync_engine = session.bind.sync_engine

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        sent.statements.append((statement, parameters[0] if many and parameters else parameters, False))

    def remember_driver(query: LoggedQuery) -> None:
        sent.statements.append((query.query, query.args, True))

    driver = await driver_connection(session)
    event.listen(sync_engine, "before_cursor_execute", remember)
    driver.add_query_logger(remember_driver)
    try:
        await calls()
        await asyncio.sleep(0)  # asyncpg hands its log records over on the loop's next turn
    finally:
        event.remove(sync_engine, "before_cursor_execute", remember)
        driver.remove_query_logger(remember_driver)
    return sent


async def scans(session: AsyncSession, sent: Sent, growing: tuple[str, ...]) -> list[str]:
    """Each statement's plan lines that scan a growing table sequentially (an empty list: every one indexed)."""
    assert sent.statements, "the calls sent no SQL"
    found = []
    for statement, plan in await _explained(session, sent):
        found += [f"{line.strip()}  <- {statement[:160]}" for line in plan if _seq_scan_of(line, growing)]
    return found


async def _explained(session: AsyncSession, sent: Sent) -> list[tuple[str, list[str]]]:
    """Each planned statement sent (through SQLAlchemy or straight to asyncpg) with its plan's lines."""
    connection = await session.connection()
    driver = await driver_connection(session)
    explained = []
    for statement, parameters, direct in sent.statements:
        if statement.lstrip().upper().startswith(("COPY", "SET", "SHOW", "SAVEPOINT", "RELEASE", "SELECT 1")):
            continue
        if direct:
            plan = [row[0] for row in await driver.fetch("EXPLAIN " + statement, *parameters)]
        else:
            plan = list((await connection.exec_driver_sql("EXPLAIN " + statement, parameters)).scalars())
        explained.append((statement, plan))
    return explained


def _seq_scan_of(plan_line: str, growing: tuple[str, ...]) -> bool:
    words = plan_line.split()
    for index in range(len(words) - 3):
        if words[index : index + 3] == ["Seq", "Scan", "on"]:
            return words[index + 3].split(".")[-1] in growing
    return False


async def _analyze(session: AsyncSession, schema: str, tables: tuple[str, ...]) -> None:
    for table in tables:
        await session.execute(sa.text(f"ANALYZE {schema}.{table}"))


# ----------------------------------------------------------------------------- claims


async def _fill_claims(session: AsyncSession) -> None:
    """ROWS claims of other tenants (two lines and a history row each, most long submitted), in one go."""
    await session.execute(
        sa.text(
            """
            INSERT INTO claims.submissions (id, tenant_id, submitter_id, receiver_id, payer_id,
                interchange_control_number, claim_count, x12, status, created_at)
            SELECT gen_random_uuid(), 'other-' || (n % :tenants), 'PLANS', 'SANDBOXCH', 'SANDBOX', n, 1, 'ISA',
                   CASE WHEN n = 1 THEN 'stored' ELSE 'sent' END, now() - interval '1 day'
            FROM generate_series(1, :rows / 10) AS n
            """
        ),
        {"tenants": TENANTS, "rows": ROWS},
    )
    await session.execute(
        sa.text(
            """
            INSERT INTO claims.claims (id, tenant_id, encounter_id, claim_type, payer_id, state, total_charge_cents,
                currency, line_count, claim_control_number, patient_id, service_date_from, service_date_to,
                document, created_at, updated_at)
            SELECT gen_random_uuid(), 'other-' || (n % :tenants), gen_random_uuid(), 'professional', 'SANDBOX',
                   CASE WHEN n % 100 = 0 THEN 'on_hold' ELSE 'submitted' END, 15500, 'USD', 2,
                   'CF' || lpad(n::text, 10, '0'), gen_random_uuid(), current_date - (n % 300),
                   current_date - (n % 300), '{}'::jsonb, now() - interval '1 day', now()
            FROM generate_series(1, :rows) AS n
            """
        ),
        {"tenants": TENANTS, "rows": ROWS},
    )
    await session.execute(
        sa.text(
            """
            INSERT INTO claims.claim_lines (claim_id, line_number, tenant_id, patient_id, payer_id, procedure_code,
                modifiers, units, charge_cents, diagnosis_pointers, service_date)
            SELECT c.id, line, c.tenant_id, c.patient_id, c.payer_id, CASE line WHEN 1 THEN '99213' ELSE '87880' END,
                   '{}', 1, 7750, '{1}', c.service_date_from
            FROM claims.claims c CROSS JOIN generate_series(1, 2) AS line WHERE c.tenant_id LIKE 'other-%'
            """
        )
    )
    await session.execute(
        sa.text(
            """
            INSERT INTO claims.claim_status_history (claim_id, tenant_id, from_state, to_state, reason)
            SELECT id, tenant_id, 'ready', state, 'plans' FROM claims.claims WHERE tenant_id LIKE 'other-%'
            """
        )
    )
    await _analyze(session, "claims", CLAIMS_GROWING)


async def test_the_claims_consumer_and_batcher_read_by_index(claims_session: AsyncSession) -> None:
    session = claims_session
    await _fill_claims(session)
    tenant = f"plans-{uuid.uuid4().hex[:8]}"
    writes = StreamWrites(session)
    encounters = [(tenant, uuid.uuid4()) for _ in range(200)]
    patients = {uuid.uuid4() for _ in range(50)}
    days = {dt.date.today() - dt.timedelta(days=d) for d in range(5)}
    some_claims = [row[0] for row in (await session.execute(sa.text("SELECT id FROM claims.claims LIMIT 500"))).all()]
    submission = (
        await session.execute(sa.text("SELECT id FROM claims.submissions WHERE status = 'stored'"))
    ).scalar_one()

    async def hot_path() -> None:
        await writes.existing_encounters(encounters)
        await writes.billed_services(Visit(tenant, patient, "SANDBOX", day) for patient in patients for day in days)
        await writes.disabled_rules([tenant])
        await writes.fee_schedules({tenant: {"99213", "87880"}})
        await writes.allocate_claim_numbers({tenant: 200})
        windows = await writes.hold_windows(await writes.ready_windows(2000))
        await writes.take_ready(2000, windows)
        await writes.ready_documents(some_claims)  # claims this replica did not keep from their build
        await writes.take_stored_submission()
        await writes.mark_sent(submission, dt.datetime.now(dt.UTC))
        await ClaimStates(session).lock(some_claims)

    sent = await caught(session, hot_path)
    assert len(sent.statements) >= 10
    assert sum(direct for *_, direct in sent.statements) >= 8, "the hot path's asyncpg statements were not caught"
    assert await scans(session, sent, CLAIMS_GROWING) == []


async def test_duplicate_service_lookup_reads_claims_by_key_for_patients_with_long_histories(
    claims_session: AsyncSession,
) -> None:
    """The scrubber's duplicate-service lookup when the batch's patients have hundreds of claims each (as in
    bench/intake_to_submitted): the lines' claims are read by primary key, never all of a table."""
    session = claims_session
    await _fill_claims(session)
    tenant = f"history-{uuid.uuid4().hex[:8]}"
    await session.execute(
        sa.text(
            """
            INSERT INTO claims.claims (id, tenant_id, encounter_id, claim_type, payer_id, state, total_charge_cents,
                currency, line_count, claim_control_number, patient_id, service_date_from, service_date_to,
                document, created_at, updated_at)
            SELECT md5(:tenant || n)::uuid, :tenant, gen_random_uuid(), 'professional', 'SANDBOX',
                   CASE WHEN n % 7 = 0 THEN 'on_hold' ELSE 'submitted' END, 15500,
                   'USD', 2, 'CH' || lpad(n::text, 10, '0'), md5(:tenant || (n / 300))::uuid,
                   current_date - (n % 300), current_date - (n % 300), '{}'::jsonb, now(), now()
            FROM generate_series(1, :rows) AS n
            """
        ),
        {"tenant": tenant, "rows": ROWS},
    )
    await session.execute(
        sa.text(
            """
            INSERT INTO claims.claim_lines (claim_id, line_number, tenant_id, patient_id, payer_id, procedure_code,
                modifiers, units, charge_cents, diagnosis_pointers, service_date)
            SELECT c.id, line, c.tenant_id, c.patient_id, c.payer_id, '99213', '{}', 1, 7750, '{1}', c.service_date_from
            FROM claims.claims c CROSS JOIN generate_series(1, 2) AS line WHERE c.tenant_id = :tenant
            """
        ),
        {"tenant": tenant},
    )
    await _analyze(session, "claims", CLAIMS_GROWING)
    three = await session.execute(
        sa.text("SELECT md5(:tenant || k)::uuid FROM generate_series(40, 42) AS k"), {"tenant": tenant}
    )
    patients = set(three.scalars())
    days = {dt.date.today() - dt.timedelta(days=d) for d in range(300)}
    writes = StreamWrites(session)
    billed: set[object] = set()

    async def lookup() -> None:
        visits = (Visit(tenant, patient, "SANDBOX", day) for patient in patients for day in days)
        billed.update((await writes.billed_services(visits))[tenant])

    sent = await caught(session, lookup)
    # patient k's claims are n = 300k .. 300k+299, one a day, whose two lines bill one service; held ones bill none
    assert len(billed) == sum(1 for n in range(40 * 300, 43 * 300) if n % 7)
    assert await scans(session, sent, CLAIMS_GROWING) == []
    (plan,) = [plan for plan in await plans(session, sent) if "claim_lines" in plan]
    assert "ix_claim_lines_service" in plan and "pk_claims" in plan, plan  # each visit by the index, its state by key


async def test_a_plan_that_scans_a_growing_table_is_caught(claims_session: AsyncSession) -> None:
    """The check itself: a query by an unindexed column is reported."""
    session = claims_session
    await _fill_claims(session)

    async def unindexed() -> None:
        await session.execute(sa.text("SELECT id FROM claims.claims WHERE payer_claim_number = 'X'"))

    found = await scans(session, await caught(session, unindexed), CLAIMS_GROWING)
    assert len(found) == 1 and "Seq Scan on claims" in found[0]


async def plans(session: AsyncSession, sent: Sent) -> list[str]:
    """Each statement's plan, one string per statement."""
    return ["\n".join(plan) for _, plan in await _explained(session, sent)]


async def test_the_narrowed_claim_indexes_still_answer_their_queries(claims_session: AsyncSession) -> None:
    """Migration 0015 keeps primaries out of uq_claims_primary_claim_id and unsent claims out of the submission
    index, and reads a claim's history from the history's key (claim_id, id): each query of them still reads the
    index it needs, among 30,000 claims of other tenants, most of them sent."""
    session = claims_session
    await _fill_claims(session)
    await session.execute(
        sa.text(
            """
            UPDATE claims.claims c SET submission_id = s.id, transaction_control_number = 1 + s.k % 50
            FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM claims.submissions) AS s
            WHERE c.tenant_id LIKE 'other-%' AND c.state = 'submitted'
              AND s.k = abs(hashtext(c.id::text)) % (SELECT count(*) FROM claims.submissions)
            """
        )
    )
    submission = (await session.execute(sa.text("SELECT id FROM claims.submissions LIMIT 1"))).scalar_one()
    await session.execute(
        sa.text(
            "INSERT INTO claims.submission_transactions (submission_id, submitter_id, group_control_number, "
            "transaction_control_number, kind, claim_count) VALUES (:submission, 'PLANS-0015', 1, 7, '837P', 1)"
        ),
        {"submission": submission},
    )
    await _analyze(session, "claims", CLAIMS_GROWING)
    tenant = f"plans-{uuid.uuid4().hex[:8]}"
    claim_id = (await session.execute(sa.text("SELECT id FROM claims.claims LIMIT 1"))).scalar_one()
    claims = ClaimRepository(session, tenant)
    tracking = TrackingWrites(session)

    async def secondary() -> None:
        await claims.secondary_of(claim_id)
        await claims.secondary_for_withdrawal(claim_id)

    async def submitted() -> None:
        await tracking.claims_of_transaction("PLANS-0015", 7)

    async def history() -> None:
        await claims.history(claim_id)

    for calls, index in (
        (secondary, "uq_claims_primary_claim_id"),
        (submitted, "ix_claims_submission_id_transaction_control_number"),
        (history, "pk_claim_status_history"),
    ):
        sent = await caught(session, calls)
        touching = [plan for plan in await plans(session, sent) if " on claims" in plan or " on claim_" in plan]
        assert touching, f"{calls.__name__}: no statement read a claims table"
        assert all(index in plan for plan in touching), touching
        assert await scans(session, sent, CLAIMS_GROWING) == []


# ----------------------------------------------------------------------------- intake


async def _fill_intake(session: AsyncSession) -> None:
    await session.execute(
        sa.text(
            """
            INSERT INTO intake.patients (id, tenant_id, external_patient_id, record)
            SELECT gen_random_uuid(), 'other-' || (n % :tenants), 'MRN-' || n, '{}'::jsonb
            FROM generate_series(1, :rows) AS n
            """
        ),
        {"tenants": TENANTS, "rows": ROWS},
    )
    await session.execute(
        sa.text(
            """
            INSERT INTO intake.coverages (id, tenant_id, patient_id, payer_id, member_id, record)
            SELECT gen_random_uuid(), tenant_id, id, 'SANDBOX', 'M' || external_patient_id, '{}'::jsonb
            FROM intake.patients WHERE tenant_id LIKE 'other-%'
            """
        )
    )
    await session.execute(
        sa.text(
            """
            INSERT INTO intake.encounters (id, tenant_id, external_encounter_id, claim_type, total_charge_cents,
                currency, coding, patient_id)
            SELECT gen_random_uuid(), 'other-' || (n % :tenants), 'ENC-' || n, 'professional', 15500, 'USD',
                   '{}'::jsonb, gen_random_uuid()
            FROM generate_series(1, :rows) AS n
            """
        ),
        {"tenants": TENANTS, "rows": ROWS},
    )
    await _analyze(session, "intake", INTAKE_GROWING)


async def test_the_intake_batch_reads_and_writes_by_index(intake_session: AsyncSession) -> None:
    session = intake_session
    await _fill_intake(session)
    tenant = f"plans-{uuid.uuid4().hex[:8]}"
    repository = EncounterRepository(session, tenant)
    batch = [EncounterIn.model_validate(coded_encounter()) for _ in range(100)]

    async def hot_path() -> None:
        await repository.find_by_external_ids(e.external_encounter_id for e in batch)
        await RegistryRepository(session, tenant).load(
            patient_ids={e.patient_id for e in batch if e.patient_id is not None},
            patient_external_ids={f"MRN-{n}" for n in range(100)},
            payer_ids={"SANDBOX"},
            npis={"1234567893"},
            facility_ids=set(),
            facility_external_ids=set(),
        )
        await repository.add_many([NewEncounter(uuid.uuid4(), e, 15500, [], e.patient_id) for e in batch])

    sent = await caught(session, hot_path)
    assert len(sent.statements) >= 4
    assert await scans(session, sent, INTAKE_GROWING) == []


# ----------------------------------------------------------------------------- the outbox relay


async def _explain_claim(session: AsyncSession) -> list[str]:
    """The plan of a batch claim larger than the backlog the planner guesses without statistics."""
    sql = claim_and_mark(intake_models.messaging.outbox).sql
    statement = sql.replace("$1::bigint", "0::bigint").replace("$2::integer", "2000::integer")
    result = await session.execute(sa.text(f"EXPLAIN {statement}"))
    return [str(line) for line in result.scalars()]


async def test_the_relay_claims_its_batch_through_the_unpublished_index(intake_session: AsyncSession) -> None:
    """A backlog larger than the planner guesses: with the relay's planner settings the batch is claimed by reading
    the index in id order, never by sorting the backlog. (Without them the plan depends on the table's statistics:
    on a fresh outbox with none, a bitmap scan and a sort of the whole backlog, measured in the bench.)"""
    session = intake_session
    await session.execute(
        sa.text(
            """
            INSERT INTO intake.outbox (event_id, topic, message_key, event_type, tenant_id, envelope)
            SELECT gen_random_uuid(), 'encounter-coded', 'k' || n, 'encounter-coded.v1', 'other',
                   jsonb_build_object('id', n::text, 'data', jsonb_build_object('pad', repeat('x', 900)))
            FROM generate_series(1, :rows) AS n
            """
        ),
        {"rows": ROWS},
    )
    await session.execute(sa.text("SAVEPOINT planner"))
    await session.execute(BY_UNPUBLISHED_INDEX)
    guided = await _explain_claim(session)
    await session.execute(sa.text("ROLLBACK TO SAVEPOINT planner"))
    assert any("Index Scan using ix_outbox_unpublished" in line for line in guided), guided
    assert not any("Sort" in line or "Seq Scan" in line for line in guided), guided


PARALLEL_FOR_FREE = {
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0",
    "min_parallel_table_scan_size": "0",
    "min_parallel_index_scan_size": "0",
}
"""Planner costs under which any scan of the outbox is worth parallel workers (as a large outbox made it)."""


async def _explain_backlog(session: AsyncSession, settings: dict[str, str]) -> list[str]:
    await session.execute(sa.text("SAVEPOINT planner"))
    for name, value in settings.items():
        await session.execute(sa.select(sa.func.set_config(name, value, True)))
    plan = [str(line) for line in (await session.execute(sa.text(f"EXPLAIN {backlog_sql(OUTBOX)}"))).scalars()]
    await session.execute(sa.text("ROLLBACK TO SAVEPOINT planner"))
    return plan


async def test_the_relay_counts_its_backlog_by_one_plain_index_scan(intake_session: AsyncSession) -> None:
    """The backlog gauges' query (every second) with the listener's settings: index scans of
    `ix_outbox_unpublished` in the relay's own backend, each stopped by a LIMIT, even where parallel workers cost
    nothing (a whole-backlog count on a large outbox once ran as a parallel index scan: two worker processes per
    count, 17-20 ms against 0.8 ms) and no bitmap scan, neither of which marks the entries of published rows dead,
    so each count stepped over every row published since the last vacuum again. Whether the planner would go
    parallel without the settings depends on its statistics (it did for the whole-backlog count; for the bounded
    query it varies), so only the plan the relay gets is asserted."""
    session = intake_session
    await session.execute(
        sa.text(
            """
            INSERT INTO intake.outbox (event_id, topic, message_key, event_type, tenant_id, envelope)
            SELECT gen_random_uuid(), 'encounter-coded', 'k' || n, 'encounter-coded.v1', 'other',
                   json_build_object('id', n::text)
            FROM generate_series(1, :rows) AS n
            """
        ),
        {"rows": ROWS},
    )
    await _analyze(session, "intake", ("outbox",))
    plan = await _explain_backlog(session, {**PARALLEL_FOR_FREE, **LISTENER_SETTINGS})
    assert any("Index Scan using ix_outbox_unpublished" in line for line in plan), plan
    assert not any(word in line for line in plan for word in ("Gather", "Bitmap", "Seq Scan")), plan
    # each part of it stops at its cap: the count at `counted` + 1 entries, the ends at one each
    assert sum("Limit" in line for line in plan) >= 3, plan

    # and the gauge's value: the exact count under the cap, the id span (never less) past it
    exact, first, last = (
        await session.execute(
            sa.text("SELECT count(*), min(id), max(id) FROM intake.outbox WHERE published_at IS NULL")
        )
    ).one()
    for counted, expected in ((exact, exact), (ROWS // 10, max(exact, last - first + 1))):
        row = (await session.execute(sa.text(backlog_sql(OUTBOX, counted)))).one()
        assert row[1] == min(exact, counted + 1) and (row[2], row[3]) == (first, last)
        assert backlog_size(row[1], row[2], row[3], counted) == expected
