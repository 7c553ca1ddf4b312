"""Postgres's own cost of a claim row's life on the hot path, per claim: the insert (the claims consumer's unnest
INSERT ... ON CONFLICT, its two lines and its status history rows by COPY), the batcher's READY -> BATCHED update
(with its submission) and the sender's BATCHED -> SUBMITTED update (each after locking the claims FOR UPDATE, as
`take_ready` and `mark_sent` do, and with a history row), for the claims table's indexes and its lines' and
history's foreign keys as they were before migrations 0015 and 0016 and as they are now (as migrated), back to back
in one run.

    .venv/bin/python bench/claims_sql.py [--claims 20000] [--batch 500] [--rounds 2] [--variants]

Servers: CLAIMFLOW_TEST_DATABASE_URL when set, else the local stack in .local/bench-stack (started and stopped here;
Kafka is started with it but unused). Each layout is a copy of `claims.claims`, `claims.claim_lines` and
`claims.claim_status_history` (columns, defaults, storage, toast_tuple_target) in its own schema of a fresh database,
with its own index set and foreign keys; the phases alternate between layouts on one connection, and each figure is
the backend's own CPU time (/proc, user + system) and the WAL the phase wrote (pg_current_wal_lsn), per claim. Each
round starts after a checkpoint (the full-page images of a checkpoint cycle are in the figures, as in any cycle).
Autovacuum is off for the bench tables. `--variants` adds layouts that were weighed and not taken (the document stored
uncompressed, a lower fillfactor, no foreign keys on the lines and history).
Documents are synthetic (~2.3 KB of JSON: the bench encounter's EncounterCodedV1 with a billing provider) and
`phi` random bytes (ciphertext does not compress).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.floors import MachineLoad
from bench.outbox_sql import Cost, timed
from services.claims.app import DEFINITION as CLAIMS
from services.claims.records import ClaimLine
from services.claims.repository import CLAIM_ARRAYS
from shared.events.catalog import EncounterCodedV1
from tests.support.pipeline import bench_pipeline, coded_encounter

HISTORY_AT_INSERT = 3
"""Status history rows a new claim writes (received, priced, ready: ~4.9 per claim in the end-to-end bench with the
two updates' rows)."""

BEFORE_0015 = [
    "ALTER TABLE {s}.claims ADD PRIMARY KEY (id)",
    "ALTER TABLE {s}.claims ADD UNIQUE (tenant_id, claim_control_number)",
    "CREATE UNIQUE INDEX ON {s}.claims (primary_claim_id) WHERE withdrawn_at IS NULL",
    "CREATE UNIQUE INDEX ON {s}.claims (tenant_id, encounter_id) WHERE primary_claim_id IS NULL",
    "CREATE INDEX ON {s}.claims (created_at) WHERE state = 'ready'",
    "CREATE INDEX ON {s}.claims (tenant_id, state)",
    "CREATE INDEX ON {s}.claims (tenant_id, patient_id)",
    "CREATE INDEX ON {s}.claims (tenant_id, created_at, id)",
    "CREATE INDEX ON {s}.claims (tenant_id, billing_provider_npi)",
    "CREATE INDEX ON {s}.claims (submission_id, transaction_control_number)",
    "ALTER TABLE {s}.claim_status_history ADD PRIMARY KEY (id)",
    "CREATE INDEX ON {s}.claim_status_history (claim_id, id)",
]
"""The indexes of claims.claims and claims.claim_status_history at migration 0014."""

FOREIGN_KEYS_0015 = [
    "ALTER TABLE {s}.claim_lines ADD FOREIGN KEY (claim_id) REFERENCES {s}.claims (id) ON DELETE CASCADE",
    "ALTER TABLE {s}.claim_status_history ADD FOREIGN KEY (claim_id) REFERENCES {s}.claims (id) ON DELETE CASCADE",
]
"""The lines' and the history's foreign keys to their claim: a check per row inserted (a lookup of the claim and a KEY
SHARE lock on it, a WAL record when it is the transaction's first lock of that row version). Kept; `--variants`
measures the layout without them."""

BILLING_NPI_INDEX_0015 = "CREATE INDEX ON {s}.claims (tenant_id, billing_provider_npi)"
"""Dropped by migration 0016: the provider search's OR (billing NPI or the document's rendering NPI) never used it."""

TABLES = ("claims", "claim_lines", "claim_status_history")


@dataclass
class Layout:
    name: str
    schema: str
    indexes: list[str]
    extra: list[str] = field(default_factory=list)
    json_document: bool = False
    """`document` is json (0015), bound as such; else jsonb (before)."""


async def current_indexes(conn: asyncpg.Connection) -> list[str]:
    """The index DDL of claims.claims and its history as migrated (head), schema-neutral."""
    rows = await conn.fetch(
        "SELECT indexdef FROM pg_indexes "
        "WHERE schemaname = 'claims' AND tablename IN ('claims', 'claim_lines', 'claim_status_history')"
    )
    ddl = []
    for row in rows:
        text = str(row["indexdef"])
        for table in TABLES:
            text = text.replace(f" ON claims.{table} ", f" ON {{s}}.{table} ")
        text = text.replace("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX {s}_")
        ddl.append(text.replace("CREATE INDEX ", "CREATE INDEX {s}_"))
    return ddl


async def current_foreign_keys(conn: asyncpg.Connection) -> list[str]:
    """The foreign keys of claims.claim_lines and claims.claim_status_history as migrated (head), schema-neutral."""
    rows = await conn.fetch(
        "SELECT conrelid::regclass::text AS owner, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid IN ('claims.claim_lines'::regclass, 'claims.claim_status_history'::regclass)"
    )
    return [
        f"ALTER TABLE {{s}}.{row['owner'].removeprefix('claims.')} ADD "
        + str(row["definition"]).replace("REFERENCES claims.", "REFERENCES {s}.")
        for row in rows
    ]


async def lines_indexes(conn: asyncpg.Connection) -> list[str]:
    """claims.claim_lines' indexes as migrated (unchanged since 0002): every layout has them."""
    return [ddl for ddl in await current_indexes(conn) if " ON {s}.claim_lines " in ddl]


async def create_layout(conn: asyncpg.Connection, layout: Layout) -> None:
    s = layout.schema
    await conn.execute(f"CREATE SCHEMA {s}")
    for table in TABLES:
        await conn.execute(
            f"CREATE TABLE {s}.{table} (LIKE claims.{table} INCLUDING DEFAULTS INCLUDING IDENTITY "
            "INCLUDING STORAGE INCLUDING COMPRESSION)"
        )
        options = await conn.fetchval("SELECT reloptions FROM pg_class WHERE oid = $1::regclass", f"claims.{table}")
        settings = [*(options or []), "autovacuum_enabled=off"]
        await conn.execute(f"ALTER TABLE {s}.{table} SET ({', '.join(settings)})")
    for statement in [*layout.indexes, *layout.extra]:
        await conn.execute(statement.format(s=s))


def documents(count: int) -> list[tuple[Any, ...]]:
    """New claims' columns as the consumer binds them (JSON as text)."""
    tenant = "bench-tenant"
    rows = []
    for _ in range(count):
        encounter_id = uuid.uuid4()
        coded = EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(encounter_id)})
        document = {
            **coded.model_dump(mode="json"),
            "billing_provider": {
                "npi": "1234567893",
                "organization_name": f"Clinic {random.randrange(10_000)}",
                "taxonomy_code": "207Q00000X",
                "address": {"line1": "1 Bench Way", "city": "Springfield", "state": "IL", "postal_code": "62701"},
            },
            "pricing": [{"line": n, "charge_cents": 7750 + n, "source": "fee_schedule"} for n in range(1, 3)],
        }
        rows.append(
            (
                uuid.uuid4(),
                tenant,
                encounter_id,
                f"CF{random.randrange(10**12):012d}",
                "ready",
                "[]",
                None,
                "P",
                orjson.dumps({"traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"}).decode(),
                "professional",
                "SANDBOX",
                uuid.uuid4(),
                "1",
                None,
                None,
                15500,
                "USD",
                2,
                orjson.dumps(document).decode(),
                "1234567893",
                os.urandom(420),
            )
        )
    return rows


COLUMNS = tuple((name, "jsonb" if name == "document" else kind) for name, kind in CLAIM_ARRAYS)
"""A new claim's columns as the service inserts them, with the document as before 0015 (jsonb)."""


def insert_sql(schema: str, json_document: bool = False) -> str:
    """`services.claims.repository._claims_insert` for a primary claim, on the layout's table."""
    names = ", ".join(name for name, _ in COLUMNS)
    kinds = [("json" if json_document and name == "document" else kind) for name, kind in COLUMNS]
    arrays = ", ".join(
        f"${n}::text[]::{kind}[]" if kind in ("json", "jsonb") else f"${n}::{kind}[]" for n, kind in enumerate(kinds, 1)
    )
    return (
        f"INSERT INTO {schema}.claims ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        "ON CONFLICT (tenant_id, encounter_id) WHERE primary_claim_id IS NULL DO NOTHING "
        "RETURNING id, CAST(CAST(xmin AS text) AS bigint)"
    )


def batched_sql(schema: str) -> str:
    """`ClaimStates.write` for READY -> BATCHED with a submission (as pg_stat_statements shows it)."""
    return (
        f"UPDATE {schema}.claims SET state = given.state, submission_id = given.submission_id, "  # noqa: S608
        "updated_at = now(), transaction_control_number = given.tcn, "
        "submission_count = claims.submission_count + 1, rejection_reasons = '[]'::jsonb "
        "FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::integer[]) AS given(id, state, submission_id, tcn) "
        f"WHERE {schema}.claims.id = given.id"
    )


def submitted_sql(schema: str) -> str:
    return (
        f"UPDATE {schema}.claims SET state = given.state, updated_at = now() "  # noqa: S608
        f"FROM unnest($1::uuid[], $2::text[]) AS given(id, state) WHERE {schema}.claims.id = given.id"
    )


HISTORY_COLUMNS = ["claim_id", "tenant_id", "from_state", "to_state", "reason"]
LINE_COLUMNS = list(ClaimLine._fields)


def claim_lines(chunk: list[Any]) -> list[ClaimLine]:
    """The bench encounter's two lines of each claim, as the consumer copies them."""
    day = dt.date(2026, 11, 2)
    return [
        line
        for row in chunk
        for line in (
            ClaimLine(row[0], 1, row[1], row[11], row[10], "99213", None, [], 1, 12500, [1, 2], day),
            ClaimLine(row[0], 2, row[1], row[11], row[10], "87880", None, ["QW"], 1, 3000, [1], day),
        )
    ]


def lock_sql(schema: str) -> str:
    """The claims locked before each update, in id order (`take_ready`'s FOR UPDATE SKIP LOCKED, `mark_sent`'s)."""
    return f"SELECT id FROM {schema}.claims WHERE id = any($1::uuid[]) ORDER BY id FOR UPDATE"  # noqa: S608


async def insert_phase(conn: asyncpg.Connection, pid: int, layout: Layout, rows: list[Any], batch: int) -> Cost:
    schema = layout.schema
    statement = await conn.prepare(insert_sql(schema, layout.json_document))

    async def work() -> None:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            async with conn.transaction():
                await statement.fetch(*(list(column) for column in zip(*chunk, strict=True)))
                await conn.copy_records_to_table(
                    "claim_lines", schema_name=schema, columns=LINE_COLUMNS, records=claim_lines(chunk)
                )
                history = [
                    (row[0], row[1], before, after, "bench")
                    for row in chunk
                    for before, after in ((None, "received"), ("received", "priced"), ("priced", "ready"))
                ][: len(chunk) * HISTORY_AT_INSERT]
                await conn.copy_records_to_table(
                    "claim_status_history", schema_name=schema, columns=HISTORY_COLUMNS, records=history
                )

    cost = Cost()
    cost.add(*await timed(conn, pid, work), len(rows))
    return cost


async def update_phase(
    conn: asyncpg.Connection, pid: int, schema: str, ids: list[uuid.UUID], batch: int, submitted: bool
) -> Cost:
    statement = await conn.prepare(submitted_sql(schema) if submitted else batched_sql(schema))
    lock = await conn.prepare(lock_sql(schema))

    async def work() -> None:
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            async with conn.transaction():
                await lock.fetch(chunk)
                if submitted:
                    await statement.fetch(chunk, ["submitted"] * len(chunk))
                    change = ("batched", "submitted")
                else:
                    submission = uuid.uuid4()
                    await statement.fetch(chunk, ["batched"] * len(chunk), [submission] * len(chunk), [1] * len(chunk))
                    change = ("ready", "batched")
                await conn.copy_records_to_table(
                    "claim_status_history",
                    schema_name=schema,
                    columns=HISTORY_COLUMNS,
                    records=[(claim, "bench-tenant", *change, "bench") for claim in chunk],
                )

    cost = Cost()
    cost.add(*await timed(conn, pid, work), len(ids))
    return cost


async def run(claims: int, batch: int, rounds: int, variants: bool) -> None:
    run_id = uuid.uuid4().hex[:6]
    async with bench_pipeline([CLAIMS]) as pipeline:
        conn = await asyncpg.connect(pipeline.admin_url)
        try:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            now = [*await current_indexes(conn), *await current_foreign_keys(conn)]
            lines = await lines_indexes(conn)
            at_0015 = [ddl for ddl in now if "FOREIGN KEY" not in ddl and "billing_provider_npi" not in ddl]
            at_0015 += [BILLING_NPI_INDEX_0015, *FOREIGN_KEYS_0015]
            layouts = [
                Layout(
                    "before 0015 (indexes at 0014, document jsonb)",
                    f"bench_claims_before_{run_id}",
                    [*BEFORE_0015, *lines, *FOREIGN_KEYS_0015],
                    ["ALTER TABLE {s}.claims ALTER COLUMN document TYPE jsonb USING document::jsonb"],
                ),
                Layout(
                    "at 0015 (with the billing NPI index)",
                    f"bench_claims_0015_{run_id}",
                    at_0015,
                    json_document=True,
                ),
                Layout("as migrated (head)", f"bench_claims_head_{run_id}", now, json_document=True),
            ]
            if variants:
                layouts.append(
                    Layout(
                        "head + document uncompressed (STORAGE EXTERNAL)",
                        f"bench_claims_external_{run_id}",
                        now,
                        ["ALTER TABLE {s}.claims ALTER COLUMN document SET STORAGE EXTERNAL"],
                        json_document=True,
                    )
                )
                layouts.append(
                    Layout(
                        "head without the lines' and history's foreign keys",
                        f"bench_claims_nofk_{run_id}",
                        [ddl for ddl in now if "FOREIGN KEY" not in ddl],
                        json_document=True,
                    )
                )
                for fillfactor in (70, 50):
                    layouts.append(
                        Layout(
                            f"head + fillfactor {fillfactor}",
                            f"bench_claims_ff{fillfactor}_{run_id}",
                            now,
                            [f"ALTER TABLE {{s}}.claims SET (fillfactor = {fillfactor})"],
                            json_document=True,
                        )
                    )
            for layout in layouts:
                await create_layout(conn, layout)
            phases = ("insert (+2 lines, 3 history)", "READY -> BATCHED (+1)", "BATCHED -> SUBMITTED (+1)")
            costs = {layout.name: {phase: Cost() for phase in phases} for layout in layouts}
            load_before = MachineLoad.now()
            for _ in range(rounds):
                await conn.execute("CHECKPOINT")
                rows = documents(claims)
                ids = [row[0] for row in rows]
                for layout in layouts:
                    cost = await insert_phase(conn, pid, layout, rows, batch)
                    costs[layout.name][phases[0]].add(cost.cpu_s, cost.wal_bytes, cost.items)
                for layout in layouts:
                    cost = await update_phase(conn, pid, layout.schema, ids, batch, submitted=False)
                    costs[layout.name][phases[1]].add(cost.cpu_s, cost.wal_bytes, cost.items)
                for layout in layouts:
                    cost = await update_phase(conn, pid, layout.schema, ids, batch, submitted=True)
                    costs[layout.name][phases[2]].add(cost.cpu_s, cost.wal_bytes, cost.items)
            load = MachineLoad.now()
            sizes = {
                layout.name: await conn.fetchval(
                    "SELECT sum(pg_total_relation_size(format('%I.%I', $1::text, t)::regclass))::bigint "
                    "FROM unnest($2::text[]) AS t",
                    layout.schema,
                    list(TABLES),
                )
                for layout in layouts
            }
            hot = {
                layout.name: await conn.fetchval(
                    "SELECT round(100.0 * n_tup_hot_upd / greatest(n_tup_upd, 1)) FROM pg_stat_user_tables "
                    "WHERE schemaname = $1 AND relname = 'claims'",
                    layout.schema,
                )
                for layout in layouts
            }
        finally:
            await conn.close()
    print(f"\nclaim row lifecycle, Postgres backend CPU and WAL per claim  ({claims:,} claims x {rounds} rounds,")
    print(f"  batches of {batch}; machine: {load_before} at the start, {load.load_1m:.2f} at the end)")
    for layout in layouts:
        print(f"  {layout.name}")
        total = Cost()
        for phase in phases:
            cost = costs[layout.name][phase]
            total.add(cost.cpu_s, cost.wal_bytes, 0)
            print(f"    {phase:<28} {cost.line()}")
        total.items = costs[layout.name][phases[0]].items
        print(
            f"    {'whole lifecycle':<28} {total.line()}   HOT updates {hot[layout.name]}%   "
            f"tables + indexes {sizes[layout.name] / 1e6:,.1f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", action="store_true", help="Also the layouts weighed and not taken.")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.claims, arguments.batch, arguments.rounds, arguments.variants))


if __name__ == "__main__":
    main()
