"""What the servers underneath carry on their own, measured in the benchmark's own run, so each claimflow
figure is printed beside the floor it cannot beat on the same machine at the same moment.

    from bench.floors import measure_floors
    floors = await measure_floors(pipeline.servers, pipeline.admin_url, records=100_000)
    print(floors.report())

- Kafka: the broker's own perf tools (`org.apache.kafka.tools.ProducerPerformance` and
  `ConsumerPerformance`, the `kafka-tools` jar of the broker's version, fetched once from Maven Central
  beside the broker's jars), acks=all, idempotent, 1.5 KB records, batched as the outbox relay's producer
  batches (`linger.ms`, `batch.size`), into a scratch topic deleted afterwards.
- Postgres: a state row + an outbox row, 500 of each per transaction (multi-row inserts from arrays),
  into scratch tables of the benchmark's database.

Run alone (a stack of its own in .local/bench-stack): `.venv/bin/python bench/floors.py [--records 100000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.stack.kafka import find_java, find_maven
from cli.stack.local_stack import StackEndpoints
from cli.stack.paths import KAFKA_VERSION, StackPaths
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.publisher import PRODUCER_BATCH_BYTES, PRODUCER_COMPRESSION, PRODUCER_LINGER_MS

REPO_ROOT = Path(__file__).resolve().parents[1]
RECORD_SIZE = 1500
POSTGRES_BATCH = 500
JAVA_TIMEOUT_S = 600


@dataclass(frozen=True, slots=True)
class MachineLoad:
    cores: int
    load_1m: float
    load_5m: float

    @classmethod
    def now(cls) -> MachineLoad:
        one, five, _ = os.getloadavg()
        return cls(cores=os.cpu_count() or 1, load_1m=one, load_5m=five)

    def __str__(self) -> str:
        return f"cores: {self.cores}, load average {self.load_1m:.2f} (1 min) {self.load_5m:.2f} (5 min)"


@dataclass(frozen=True, slots=True)
class Floors:
    kafka_produce_per_s: float | None
    kafka_consume_per_s: float | None
    postgres_state_and_outbox_per_s: float
    records: int
    load: MachineLoad
    kafka_problem: str | None = None

    def report(self) -> str:
        def rate(value: float | None) -> str:
            return f"{value:>10,.0f} /s" if value is not None else f"{'n/a':>10}   ({self.kafka_problem})"

        return "\n".join(
            [
                f"  servers' floor (same run, {self.records:,} records; {self.load})",
                f"    Kafka produce, perf tool, acks=all, {RECORD_SIZE} B, relay's batching"
                f"  {rate(self.kafka_produce_per_s)}",
                f"    Kafka consume, perf tool                             {rate(self.kafka_consume_per_s)}",
                f"    Postgres state row + outbox row, {POSTGRES_BATCH}/transaction     "
                f"{self.postgres_state_and_outbox_per_s:>10,.0f} /s",
            ]
        )


async def measure_floors(servers: StackEndpoints, database_url: str, *, records: int = 100_000) -> Floors:
    """Both floors, one after the other (never beside each other or beside the claimflow figure)."""
    produce: float | None = None
    consume: float | None = None
    problem = None
    try:
        produce, consume = await kafka_floor(servers.kafka, records)
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        problem = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    postgres = await postgres_floor(database_url, records)
    return Floors(
        kafka_produce_per_s=produce,
        kafka_consume_per_s=consume,
        postgres_state_and_outbox_per_s=postgres,
        records=records,
        load=MachineLoad.now(),
        kafka_problem=problem,
    )


# --- Kafka --------------------------------------------------------------------------------------------


def kafka_tools_jar() -> Path:
    """The `kafka-tools` jar of the broker's version (the perf tools), fetched once with Maven."""
    folder = StackPaths.for_root(REPO_ROOT).kafka_cache / "tools"
    jar = folder / f"kafka-tools-{KAFKA_VERSION}.jar"
    if not jar.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(find_maven()),
                "-q",
                "-B",
                "dependency:copy",
                f"-Dartifact=org.apache.kafka:kafka-tools:{KAFKA_VERSION}",
                f"-DoutputDirectory={folder}",
            ],
            check=True,
            capture_output=True,
            timeout=JAVA_TIMEOUT_S,
        )
    if not jar.is_file():
        raise RuntimeError(f"kafka-tools {KAFKA_VERSION} not fetched into {folder}")
    return jar


def client_properties(access: KafkaAccess) -> str:
    """The Java client's properties for one principal (SASL/SCRAM when the broker wants it)."""
    lines = [f"bootstrap.servers={access.bootstrap_servers}", f"security.protocol={access.security_protocol}"]
    if access.uses_sasl:
        module = (
            "org.apache.kafka.common.security.plain.PlainLoginModule"
            if access.mechanism == "PLAIN"
            else "org.apache.kafka.common.security.scram.ScramLoginModule"
        )
        lines += [
            f"sasl.mechanism={access.mechanism}",
            f'sasl.jaas.config={module} required username="{access.username}" password="{access.password}";',
        ]
    if access.ssl_cafile:
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={access.ssl_cafile}"]
    return "\n".join(lines) + "\n"


def _run_java(main_class: str, arguments: list[str]) -> str:
    libs = StackPaths.for_root(REPO_ROOT).kafka_libs
    classpath = f"{libs}/*{os.pathsep}{kafka_tools_jar()}"
    completed = subprocess.run(
        [str(find_java()), "-Xmx512m", "-cp", classpath, main_class, *arguments],
        capture_output=True,
        text=True,
        timeout=JAVA_TIMEOUT_S,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{main_class.rsplit('.', 1)[-1]} failed: {completed.stderr.strip()[-300:]}")
    return completed.stdout


def parse_producer_rate(output: str) -> float:
    """`N records sent, X records/sec (...)`: the summary line ProducerPerformance prints last."""
    rates = re.findall(r"records sent, ([\d.]+) records/sec", output)
    if not rates:
        raise RuntimeError(f"no producer summary in: {output[-300:]}")
    return float(rates[-1])


def parse_consumer_rate(output: str) -> float:
    """ConsumerPerformance's CSV line: `fetch.nMsg.sec` (messages per second while fetching, group join excluded)."""
    lines = [line for line in output.splitlines() if line.strip()]
    header_at = next((i for i, line in enumerate(lines) if "nMsg.sec" in line), None)
    if header_at is None or header_at + 1 >= len(lines):
        raise RuntimeError(f"no consumer summary in: {output[-300:]}")
    names = [name.strip() for name in lines[header_at].split(",")]
    values = [value.strip() for value in lines[header_at + 1].split(",")]
    column = "fetch.nMsg.sec" if "fetch.nMsg.sec" in names else "nMsg.sec"
    return float(values[names.index(column)])


async def kafka_floor(access: KafkaAccess, records: int) -> tuple[float, float]:
    topic = f"bench-floor-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**access.client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as config:
            config.write(client_properties(access))
        try:
            produced = await asyncio.to_thread(
                _run_java,
                "org.apache.kafka.tools.ProducerPerformance",
                [
                    "--topic", topic,
                    "--num-records", str(records),
                    "--record-size", str(RECORD_SIZE),
                    "--throughput", "-1",
                    "--producer.config", config.name,
                    "--producer-props", "acks=all", "enable.idempotence=true",
                    f"linger.ms={PRODUCER_LINGER_MS}", f"batch.size={PRODUCER_BATCH_BYTES}",
                    f"compression.type={PRODUCER_COMPRESSION}",
                ],
            )  # fmt: skip
            consumed = await asyncio.to_thread(
                _run_java,
                "org.apache.kafka.tools.ConsumerPerformance",
                [
                    "--bootstrap-server", access.bootstrap_servers,
                    "--topic", topic,
                    "--messages", str(records),
                    "--consumer.config", config.name,
                    "--group", f"{topic}-reader",
                    "--timeout", "60000",
                ],
            )  # fmt: skip
        finally:
            os.unlink(config.name)
        return parse_producer_rate(produced), parse_consumer_rate(consumed)
    finally:
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()


# --- Postgres -----------------------------------------------------------------------------------------


async def postgres_floor(database_url: str, records: int) -> float:
    """A state row + an outbox row per event, POSTGRES_BATCH of each per transaction."""
    schema = f"bench_floor_{uuid.uuid4().hex[:8]}"  # names made here: the f-strings below take no input
    filler = "x" * (RECORD_SIZE - 60)
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            f"""
            CREATE SCHEMA {schema};
            CREATE TABLE {schema}.state (id uuid PRIMARY KEY, tenant_id text NOT NULL, state text NOT NULL,
                                        updated_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE {schema}.outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                         event_id uuid NOT NULL UNIQUE, topic text NOT NULL,
                                         message_key text NOT NULL, envelope jsonb NOT NULL,
                                         published_at timestamptz);
            """
        )
        started = time.perf_counter()
        for offset in range(0, records, POSTGRES_BATCH):
            ids = [uuid.uuid4() for _ in range(min(POSTGRES_BATCH, records - offset))]
            envelopes = [f'{{"id": "{event_id}", "data": "{filler}"}}' for event_id in ids]
            async with connection.transaction():
                await connection.execute(
                    f"INSERT INTO {schema}.state (id, tenant_id, state) "  # noqa: S608
                    "SELECT id, 'bench', 'coded' FROM unnest($1::uuid[]) AS id",
                    ids,
                )
                await connection.execute(
                    f"INSERT INTO {schema}.outbox (event_id, topic, message_key, envelope) "  # noqa: S608
                    "SELECT id, 'encounter-coded', id::text, envelope "
                    "FROM unnest($1::uuid[], $2::jsonb[]) AS event(id, envelope)",
                    ids,
                    envelopes,
                )
        elapsed = time.perf_counter() - started
        return records / elapsed
    finally:
        try:
            await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await connection.close()


async def _main(records: int) -> None:
    from tests.support.pipeline import bench_pipeline

    async with bench_pipeline(()) as pipeline:
        floors = await measure_floors(pipeline.servers, pipeline.admin_url, records=records)
    print(floors.report())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    asyncio.run(_main(parser.parse_args().records))
