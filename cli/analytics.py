"""`claimflow analytics sink`: every event of the pipeline's topics landed once per event id in Parquet.

Files are partitioned the Hive way, `<dir>/event_type=<ce_type>/event_date=<YYYY-MM-DD>/<file>.parquet`,
so `duckdb` reads them with `read_parquet('<dir>/**/*.parquet', hive_partitioning = true)` (see
`analytics/kpis.sql`). Exactly once per event id, without a second store:

- the files are the truth about what landed: each batch's files are written under a temporary name and
  renamed; then a small per-partition offset file (`_offsets/<topic>-<partition>.json`) is replaced the
  same way; only then is the Kafka offset committed (for lag dashboards, not for correctness);
- on (re)assignment the sink seeks each partition to its offset file, so a crash between the files and
  the commit re-reads from what actually landed;
- every event id already landed is skipped (read back from the files at start), so a record re-read
  after a crash between a batch's files and its offset file, a relay re-send or a dead letter replayed
  lands nothing twice.

Payload fields the contract marks `x-phi` (the encounter's `phi` block, a provider's tax id) are never
landed: analytics gets ids, codes, amounts and dates.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from cli.dead_letters import _bootstrap
from shared.events.catalog import EVENT_TYPES
from shared.events.envelope import EventEnvelope, MalformedEvent, from_kafka
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.topics import CORE_TOPICS

log = logging.getLogger("claimflow.analytics")
analytics_app = typer.Typer(
    no_args_is_help=True, help="The analytics feed: events landed in Parquet for DuckDB.", rich_markup_mode=None
)
DEFAULT_DIR = Path(".local") / "analytics"
DEFAULT_GROUP = "claimflow-analytics-sink"
OFFSETS_DIR = "_offsets"
GATHER_S = 2.0
MAX_RECORDS = 20_000

SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event_type", pa.string()),
        ("source", pa.string()),
        ("subject", pa.string()),
        ("tenant", pa.string()),
        ("event_time", pa.timestamp("us", tz="UTC")),
        ("trace_id", pa.string()),
        ("topic", pa.string()),
        ("kafka_partition", pa.int32()),
        ("kafka_offset", pa.int64()),
        ("payload", pa.string()),
    ]
)
"""One row per event. `event_type` and the event date are also the directory partitions; `payload` is
the event's JSON without PHI (DuckDB: `payload->>'$.claim_id'`)."""
COLUMNS_IN_FILES = [name for name in SCHEMA.names if name != "event_type"]


def _phi_free(schema: dict[str, Any], node: dict[str, Any], value: Any) -> Any:
    """`value` without the properties the JSON Schema `node` marks `x-phi` (following $ref, anyOf, items)."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if isinstance(value, dict) and "properties" in node:
        kept: dict[str, Any] = {}
        for name, item in value.items():
            child = node["properties"].get(name, {})
            if child.get("x-phi"):
                continue
            kept[name] = _phi_free(schema, child, item)
        return kept
    if isinstance(value, list) and "items" in node:
        return [_phi_free(schema, node["items"], item) for item in value]
    if "anyOf" in node and value is not None:
        for option in node["anyOf"]:
            if "$ref" in option or "properties" in option or "items" in option:
                return _phi_free(schema, option, value)
    return value


_SCHEMAS: dict[str, dict[str, Any]] = {
    name: model.model_json_schema(mode="serialization") for name, (_, model) in EVENT_TYPES.items()
}


def without_phi(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The payload with every field the event's JSON Schema marks `x-phi` removed (unknown types: nothing kept)."""
    schema = _SCHEMAS.get(event_type)
    if schema is None:
        return {}
    stripped = _phi_free(schema, schema, data)
    return stripped if isinstance(stripped, dict) else {}


@dataclass(frozen=True, slots=True)
class LandedEvent:
    envelope: EventEnvelope
    topic: str
    partition: int
    offset: int

    @property
    def event_date(self) -> str:
        return self.envelope.time.astimezone(dt.UTC).date().isoformat()

    def row(self) -> dict[str, Any]:
        envelope = self.envelope
        traceparent = envelope.trace_headers.get("traceparent", "")
        parts = traceparent.split("-")
        return {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "source": envelope.source,
            "subject": envelope.subject,
            "tenant": envelope.tenant,
            "event_time": envelope.time.astimezone(dt.UTC),
            "trace_id": parts[1] if len(parts) == 4 else None,
            "topic": self.topic,
            "kafka_partition": self.partition,
            "kafka_offset": self.offset,
            "payload": json.dumps(without_phi(envelope.type, envelope.data), separators=(",", ":")),
        }


def _write_atomically(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    write(temporary)
    os.replace(temporary, path)


class ParquetLanding:
    """The landing directory: event files, per-partition offsets and the ids already landed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.landed_ids: set[str] = self._read_landed_ids()

    def _read_landed_ids(self) -> set[str]:
        ids: set[str] = set()
        for path in self.root.glob("event_type=*/event_date=*/*.parquet"):
            ids.update(str(v) for v in pq.read_table(path, columns=["event_id"]).column("event_id").to_pylist())
        return ids

    def _offset_file(self, tp: TopicPartition) -> Path:
        return self.root / OFFSETS_DIR / f"{tp.topic}-{tp.partition}.json"

    def next_offset(self, tp: TopicPartition) -> int | None:
        """The first offset not yet landed for `tp`, or None when nothing was ever landed from it."""
        path = self._offset_file(tp)
        if not path.exists():
            return None
        return int(json.loads(path.read_text())["next_offset"])

    def land(self, tp: TopicPartition, events: Iterable[LandedEvent], next_offset: int) -> int:
        """Write the new events of one partition batch, then record `next_offset`; the number landed."""
        fresh: list[LandedEvent] = []
        for event in events:
            if event.envelope.id not in self.landed_ids:
                fresh.append(event)
                self.landed_ids.add(event.envelope.id)
        groups: dict[tuple[str, str], list[LandedEvent]] = defaultdict(list)
        for event in fresh:
            groups[(event.envelope.type, event.event_date)].append(event)
        for (event_type, event_date), group in groups.items():
            first, last = group[0].offset, group[-1].offset
            name = f"{tp.topic}-{tp.partition}-{first:012d}-{last:012d}.parquet"
            path = self.root / f"event_type={event_type}" / f"event_date={event_date}" / name
            table = pa.Table.from_pylist([event.row() for event in group], schema=SCHEMA).select(COLUMNS_IN_FILES)
            _write_atomically(path, lambda target, table=table: pq.write_table(table, target))
        _write_atomically(
            self._offset_file(tp),
            lambda target: target.write_text(json.dumps({"next_offset": next_offset})),
        )
        return len(fresh)


class _SeekToLanded(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no type hints
    def __init__(self, sink: EventSink) -> None:
        self._sink = sink

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:
            offset = self._sink.landing.next_offset(tp)
            if offset is not None:
                self._sink.consumer.seek(tp, offset)


class EventSink:
    """A consumer group landing the core topics (never their dead-letter twins) into a `ParquetLanding`."""

    def __init__(self, kafka: KafkaAccess, landing: ParquetLanding, group_id: str = DEFAULT_GROUP) -> None:
        self.landing = landing
        self.topics = [topic.name for topic in CORE_TOPICS]
        self.consumer = AIOKafkaConsumer(
            **kafka.client_options(),
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        self.landed = 0
        self.skipped_malformed = 0

    async def start(self) -> None:
        await self.consumer.start()
        self.consumer.subscribe(self.topics, listener=_SeekToLanded(self))

    async def stop(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.consumer.stop(), 10)

    async def poll_once(self, timeout_ms: int = 1000, gather_s: float = GATHER_S) -> int:
        """Records gathered for up to `gather_s` once the first arrive (fewer, larger files), then landed
        partition by partition; the number of events landed."""
        batches: dict[TopicPartition, list[Any]] = defaultdict(list)
        loop = asyncio.get_running_loop()
        fetched = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=MAX_RECORDS)
        deadline = loop.time() + gather_s
        while fetched:
            for tp, records in fetched.items():
                batches[tp].extend(records)
            remaining = deadline - loop.time()
            if remaining <= 0 or sum(len(records) for records in batches.values()) >= MAX_RECORDS:
                break
            fetched = await self.consumer.getmany(timeout_ms=int(remaining * 1000), max_records=MAX_RECORDS)
        landed = 0
        for tp, records in batches.items():
            events: list[LandedEvent] = []
            for record in records:
                try:
                    envelope = from_kafka(record.key, record.value, list(record.headers or ()))
                except MalformedEvent:
                    self.skipped_malformed += 1  # consumers dead-letter it; analytics has nothing to land
                    continue
                events.append(LandedEvent(envelope, tp.topic, tp.partition, record.offset))
            next_offset = records[-1].offset + 1
            landed += await asyncio.to_thread(self.landing.land, tp, events, next_offset)
            await self.consumer.commit({tp: next_offset})
        self.landed += landed
        return landed

    async def caught_up(self) -> bool:
        assigned = self.consumer.assignment()
        if not assigned:
            return False
        ends = await self.consumer.end_offsets(list(assigned))
        return all([await self.consumer.position(tp) >= ends[tp] for tp in assigned])

    async def drain(self, timeout_s: float = 120.0) -> int:
        """Land everything published so far, then return the number landed by this call."""
        before = self.landed
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            await self.poll_once(500, gather_s=0.5)
            if await self.caught_up():
                return self.landed - before
        raise TimeoutError(f"analytics sink not caught up after {timeout_s}s")

    async def run_forever(self) -> None:
        while True:
            await self.poll_once()


async def run_sink(kafka: KafkaAccess, directory: Path, group_id: str, *, once: bool) -> int:
    sink = EventSink(kafka, ParquetLanding(directory), group_id)
    await sink.start()
    try:
        if once:
            return await sink.drain()
        await sink.run_forever()
        return sink.landed
    finally:
        await sink.stop()


@analytics_app.command("sink")
def sink_command(
    directory: Annotated[Path, typer.Option("--dir", help="Where the Parquet files go.")] = DEFAULT_DIR,
    group: Annotated[str, typer.Option(help="Kafka consumer group of the sink.")] = DEFAULT_GROUP,
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers (default: the local stack).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Land what is there now, then exit.")] = False,
) -> None:
    """Land every event of the pipeline's topics, once per event id, in Parquet partitioned by type and date."""
    landed = asyncio.run(run_sink(_bootstrap(bootstrap), directory, group, once=once))
    typer.echo(f"landed {landed} events in {directory}")
