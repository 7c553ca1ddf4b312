"""Postgres's own cost of the outbox lifecycle per event: the insert, then the relay's claim and mark, for the outbox
as it was (v2: the payload inside the envelope; the relay claims a batch, then marks it with the emptied envelopes of
its PHI rows) and as it is (v3: `shared/messaging/tables.py`, the payload in its own last column, claimed and marked
by one statement, the relay's own `claim_and_mark`), back to back in one run.

    .venv/bin/python bench/outbox_sql.py [--events 20000] [--batch 500] [--rounds 2] [--kind encounter-coded]

Servers: CLAIMFLOW_TEST_DATABASE_URL when set, else the local stack in .local/bench-stack (started and stopped
here; Kafka is started with it but unused). Each layout gets its own schema in a fresh database; the phases run
alternately (v2 insert, v3 insert, v2 publish, v3 publish, per round) on one connection each, and each figure is
the backend process's own CPU time (/proc, user + system: what the statements cost the server, whatever the load)
and the WAL the phase wrote (pg_current_wal_lsn), per event. The publish phase runs the relay's cycle until none is
left: BEGIN, claim a batch (FOR UPDATE SKIP LOCKED, in id order, through the unpublished index), mark it, COMMIT.
Each round starts after a checkpoint, so the inserts write the full-page images of their new pages (and of the
indexes' pages they touch) as in any checkpoint cycle; the publish follows in the same cycle, as the relay does.
Autovacuum is off for the bench tables (its work would land in whichever phase it ran beside). The relay's Python
time spent on each layout's claimed rows (decoding them into Kafka records, and for v2 the emptied envelopes) is
printed beside.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.floors import MachineLoad
from shared.events.catalog import ClaimStatusChangedV1, EncounterCodedV1
from shared.messaging.outbox import (
    Outbox,
    OutgoingEvent,
    decode_stored,
    emptied_once_published,
    kafka_record,
    stored_json,
)
from shared.messaging.relay import CLAIM_SETTINGS, claim_and_mark, published_stored
from shared.messaging.tables import OUTBOX_FILLFACTOR, messaging_tables
from tests.support.pipeline import bench_pipeline, coded_encounter

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def ddl(schema: str) -> str:
    """The outbox as the models define it now (v2 writes and reads only its columns of before)."""
    tables = messaging_tables(sa.MetaData(schema=schema))
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialect classes are unannotated
    table = (
        str(sa.schema.CreateTable(tables.outbox).compile(dialect=dialect)) + f" WITH (fillfactor = {OUTBOX_FILLFACTOR})"
    )
    statements = [f"CREATE SCHEMA {schema}", table]
    statements += [str(sa.schema.CreateIndex(index).compile(dialect=dialect)) for index in tables.outbox.indexes]
    return ";\n".join(statements)


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    schema: str
    split: bool
    """v3: the payload in its own column, claimed and marked by one statement."""

    def insert_sql(self) -> str:
        if self.split:
            return (
                f"INSERT INTO {self.schema}.outbox (event_id, topic, message_key, event_type, tenant_id, envelope, "  # noqa: S608
                "phi, payload) SELECT * FROM unnest($1::text[]::uuid[], $2::text[], $3::text[], $4::text[], "
                "$5::text[], $6::text[]::json[], $7::boolean[], $8::text[]::json[])"
            )
        return (
            f"INSERT INTO {self.schema}.outbox (event_id, topic, message_key, event_type, tenant_id, envelope) "  # noqa: S608
            "SELECT * FROM unnest($1::text[]::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], "
            "$6::text[]::json[])"
        )


def layouts(run: str) -> tuple[Layout, Layout]:
    return (
        Layout("v2 (payload in the envelope; claim, then mark with emptied envelopes)", f"bench_v2_{run}", False),
        Layout("v3 (payload in its own last column; claim and mark in one statement)", f"bench_v3_{run}", True),
    )


@dataclass(slots=True)
class Cost:
    cpu_s: float = 0.0
    wal_bytes: float = 0.0
    items: int = 0
    """Events here, claims in bench/claims_sql.py: the figures are per item."""

    def add(self, cpu_s: float, wal_bytes: float, items: int) -> None:
        self.cpu_s += cpu_s
        self.wal_bytes += wal_bytes
        self.items += items

    def line(self) -> str:
        if not self.items:
            return "n/a"
        return f"{self.cpu_s / self.items * 1e6:7.1f} µs CPU   {self.wal_bytes / self.items:7,.0f} B WAL"


def event_rows(kind: str, count: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The outbox rows of `count` events as the service writes them (`Outbox.envelopes_of`, `stored_json`): v2's
    (the payload inside the envelope) and v3's (the payload and whether it is emptied in columns of their own)."""
    outbox = Outbox(messaging_tables(sa.MetaData(schema="x")).outbox, source="/claimflow/bench")
    events: list[OutgoingEvent] = []
    for _ in range(count):
        if kind == "encounter-coded":
            payload: Any = EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(uuid.uuid4())})
            events.append((str(payload.encounter_id), payload))
        else:
            claim_id = uuid.uuid4()
            payload = ClaimStatusChangedV1.model_validate(
                {
                    "claim_id": str(claim_id),
                    "claim_control_number": "CCN-BENCH",
                    "payer_id": "PAYER-1",
                    "from_state": "submitted",
                    "to_state": "acknowledged",
                    "reason_codes": ["A1:20"],
                    "source": "277CA",
                    "changed_at": "2026-01-02T03:04:05+00:00",
                }
            )
            events.append((str(claim_id), payload))
    envelopes = outbox.envelopes_of(tenant="bench", events=events)
    v2 = []
    v3 = []
    for e in envelopes:
        attributes = stored_json(e)
        whole = attributes[:-1] + ',"data":' + e.value.decode() + "}"  # as stored before the split (key order aside)
        v2.append((e.id, e.topic, e.subject, e.type, e.tenant, whole))
        v3.append((e.id, e.topic, e.subject, e.type, e.tenant, attributes, emptied_once_published(e.type, e.value),
                   e.value.decode()))  # fmt: skip
    return v2, v3


async def timed(conn: asyncpg.Connection, pid: int, work: Any) -> tuple[float, float]:
    lsn = await conn.fetchval("SELECT pg_current_wal_lsn()")
    cpu = backend_cpu_s(pid)
    await work()
    cpu = backend_cpu_s(pid) - cpu
    wal = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)", lsn)
    return cpu, float(wal)


async def insert_phase(conn: asyncpg.Connection, pid: int, layout: Layout, rows: list[Any], batch: int) -> Cost:
    statement = await conn.prepare(layout.insert_sql())

    async def work() -> None:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            async with conn.transaction():
                await statement.fetch(*(list(column) for column in zip(*chunk, strict=True)))

    cost = Cost()
    cost.add(*await timed(conn, pid, work), len(rows))
    return cost


V2_CLAIM = (
    "SELECT id, topic, event_type, envelope::text FROM {schema}.outbox WHERE published_at IS NULL AND id > $1 "
    "ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED"
)
V2_MARK = (
    "UPDATE {schema}.outbox AS outbox SET published_at = now(), envelope = coalesce(batch.envelope, outbox.envelope) "
    "FROM unnest($1::bigint[], $2::json[]) AS batch(id, envelope) WHERE outbox.id = batch.id"
)
"""The relay's statements before the split (v2)."""


async def publish_phase(conn: asyncpg.Connection, pid: int, layout: Layout, batch: int) -> tuple[Cost, float]:
    """The relay's cycle until the outbox is drained; also the relay's Python time on the claimed rows (records,
    and for v2 the emptied envelopes)."""
    if layout.split:
        claim = await conn.prepare(claim_and_mark(sa.Table("outbox", sa.MetaData(), schema=layout.schema)).sql)
        mark = None
    else:
        claim = await conn.prepare(V2_CLAIM.format(schema=layout.schema))
        mark = await conn.prepare(V2_MARK.format(schema=layout.schema))
    published = 0
    python_s = 0.0

    async def work() -> None:
        nonlocal published, python_s
        while True:
            await conn.execute("BEGIN")
            rows = await claim.fetch(0, batch)  # one batch open at a time: no locked rows to pass
            if not rows:
                await conn.execute("ROLLBACK")
                return
            started = time.thread_time()
            if mark is None:
                records = [kafka_record(decode_stored(row[3], row[4])) for row in rows]
            else:
                stored = [decode_stored(row[3]) for row in rows]
                records = [kafka_record(one) for one in stored]
                emptied = [published_stored(row[2], one) for row, one in zip(rows, stored, strict=True)]
            python_s += time.thread_time() - started
            if mark is not None:
                await mark.fetch([row[0] for row in rows], emptied)
            await conn.execute("COMMIT")
            published += len(records)

    cost = Cost()
    cpu, wal = await timed(conn, pid, work)
    cost.add(cpu, wal, published)
    return cost, python_s


async def run(events: int, batch: int, rounds: int, kind: str) -> None:
    run_id = uuid.uuid4().hex[:8]
    async with bench_pipeline(()) as pipeline:
        conn = await asyncpg.connect(pipeline.admin_url, server_settings=CLAIM_SETTINGS)
        try:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            both = layouts(run_id)
            for layout in both:
                await conn.execute(ddl(layout.schema))
                await conn.execute(f"ALTER TABLE {layout.schema}.outbox SET (autovacuum_enabled = off)")
            inserts = {layout.name: Cost() for layout in both}
            publishes = {layout.name: Cost() for layout in both}
            relay_python = {layout.name: 0.0 for layout in both}
            load_before = MachineLoad.now()
            for _ in range(rounds):
                rows = dict(zip((layout.name for layout in both), event_rows(kind, events), strict=True))
                for layout in both:
                    cost = await insert_phase(conn, pid, layout, rows[layout.name], batch)
                    inserts[layout.name].add(cost.cpu_s, cost.wal_bytes, cost.items)
                for layout in both:
                    cost, python_s = await publish_phase(conn, pid, layout, batch)
                    publishes[layout.name].add(cost.cpu_s, cost.wal_bytes, cost.items)
                    relay_python[layout.name] += python_s
                await conn.execute("CHECKPOINT")  # the next round's phases start alike, after a checkpoint
            load = MachineLoad.now()
            sizes = {
                layout.name: await conn.fetchval(
                    "SELECT pg_total_relation_size($1::regclass)", f"{layout.schema}.outbox"
                )
                for layout in both
            }
        finally:
            await conn.close()
    print(f"\noutbox lifecycle, Postgres backend CPU and WAL per event  ({kind}, {events:,} events x {rounds} rounds,")
    print(f"  batches of {batch}; machine: {load_before} at the start, {load.load_1m:.2f} at the end)")
    for layout in both:
        print(f"  {layout.name}")
        print(f"    insert                     {inserts[layout.name].line()}")
        print(f"    claim + mark (relay)       {publishes[layout.name].line()}")
        total = Cost(
            inserts[layout.name].cpu_s + publishes[layout.name].cpu_s,
            inserts[layout.name].wal_bytes + publishes[layout.name].wal_bytes,
            inserts[layout.name].items,
        )
        print(f"    whole lifecycle            {total.line()}   table + indexes {sizes[layout.name] / 1e6:,.1f} MB")
        per_event = relay_python[layout.name] / max(1, publishes[layout.name].items) * 1e6
        print(f"    relay's Python on the claimed rows     {per_event:5.1f} µs CPU per event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kind", choices=("encounter-coded", "claim-status"), default="encounter-coded")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.events, arguments.batch, arguments.rounds, arguments.kind))


if __name__ == "__main__":
    main()
