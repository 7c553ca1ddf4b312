"""End to end: coded encounters over HTTP to intake, until their `claim-submitted` events with the 837s written.

    .venv/bin/python bench/intake_to_submitted.py [--encounters 100000 ...] [--rate R] [--paced-seconds 30]
        [--keep-stack] [--profile DIR] [--claims-replicas N] [--consumer-max-in-flight N]

Servers: CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS when set, else the local
stack in .local/bench-stack (started and stopped here). The intake and claims services run as real
processes (claims writes its 837s into a file-drop folder in a temporary directory; `--claims-replicas N` runs N
claims processes in one consumer group, as `claimflow up --replicas claims=N` does). Parties are
registered once over HTTP; then:

1. Throughput: N encounters are posted to `POST /v1/encounters:batch` in batches of 1,000 (`--batch`; a few
   requests in flight). Sustained throughput is N over the time from the first POST to the last
   `claim-submitted` event on the topic (its ce_time). Latency per encounter: from its intake
   acceptance (the HTTP response of its batch) to its claim's `claim-submitted` event, both as the
   event's ce_time (the batching transaction that wrote the 837) and as the Kafka record timestamp
   (the relay published it).
2. Paced: encounters posted at a steady `--rate` (default: half the measured throughput) for
   `--paced-seconds`, in small batches every `--tick` seconds; latency p50/p95/p99/max at that rate.

`--encounters 10000 50000 100000` runs phase 1 once per size, one after the other on the same services
and database (tables grow from run to run), and prints the cost curve: seconds per 10,000 encounters
should stay flat as N and the tables grow.

Beside each phase: the CPU seconds and peak RSS of each service process (and of Postgres and Kafka when
this script started them), CPU milliseconds per encounter, the load average before and after, what the phase
did to each table of intake and claims (rows inserted and updated per encounter, the HOT share of the updates,
dead rows left, autovacuum runs, size on disk; pg_stat_user_tables), the WAL it wrote (bytes, records and full-page
images per encounter, checkpoints), and a Postgres floor measured in the same run (a state row + an outbox row
per encounter, 500 per transaction). `--profile DIR` samples intake and claims with py-spy (when installed)
during the first throughput phase and writes DIR/<service>.raw (collapsed stacks) and DIR/<service>.txt (the functions
taking the most time, self and inclusive); the paced phase's profiles go to DIR/paced/ (small POSTs: the cost per
request rather than per encounter).

The topic is read by this script from the offsets it had before the run, without a consumer group.
`--statements` prints, after each throughput phase, Postgres's own account of each statement
(pg_stat_statements: calls, rows, execution time, WAL bytes and shared buffers dirtied, each per encounter)
when the server has the module loaded: a stack started here gets `shared_preload_libraries =
'pg_stat_statements'` (postgresql.auto.conf, via ALTER SYSTEM) and one restart the first time.

Figures are printed with the machine's core count.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import itertools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.stack import LocalStack, StackEndpoints
from services.claims.app import DEFINITION as CLAIMS
from services.intake.app import DEFINITION as INTAKE
from shared.events.envelope import TENANT_EXTENSION
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.topics import CLAIM_SUBMITTED
from tests.support.pipeline import bench_pipeline, end_offsets

BATCH = 1000
PROFILE_RATE = 200
"""py-spy samples per second: enough for a 10,000-encounter phase to name the functions costing a percent or two."""
IDLE_SECONDS = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
DAYS = 300
WRITE = ("patients:write", "patients:read", "providers:write", "payers:write", "encounters:write", "encounters:read")
ADDRESS = {"line1": "1 SYNTHETIC WAY", "city": "SPRINGFIELD", "state": "IL", "postal_code": "627010001"}


async def register(client: httpx.AsyncClient) -> None:
    """One payer, a billing organization and a rendering clinician."""
    payer = {"payer_id": "SANDBOX", "name": "SANDBOX HEALTH PLAN", "claim_filing_indicator": "CI",
             "timely_filing_days": 365, "appeal_days": 180}  # fmt: skip
    billing = {"npi": "1234567893", "entity": "organization", "name": "SYNTHETIC CLINIC", "tax_id": "990000001",
               "tax_id_type": "EIN", "address": ADDRESS, "taxonomy": "207Q00000X"}  # fmt: skip
    rendering = {"npi": "1987654328", "entity": "individual", "name": "SMITH", "first_name": "ALEX"}
    for path, body in (("/v1/payers", payer), ("/v1/providers", billing), ("/v1/providers", rendering)):
        response = await client.post(path, json=body)
        assert response.status_code in (200, 201), response.text


@dataclass
class Patients:
    """Synthetic patients with a primary coverage, registered as needed.

    The scrubber holds a second claim for the same patient, payer, date and procedure, so encounter k
    goes to patient k // DAYS on day k % DAYS (back from three days ago): every one is a distinct visit.
    """

    registered: int = 0
    used: int = 0

    async def ensure(self, client: httpx.AsyncClient, encounters: int) -> None:
        needed = -(-(self.used + encounters) // DAYS)

        async def one(index: int) -> None:
            patient = {"external_patient_id": f"MRN-BENCH-{index}", "last_name": "DOE", "first_name": "SAM",
                       "birth_date": "1980-01-01", "sex": "F", "address": ADDRESS}  # fmt: skip
            created = await client.post("/v1/patients", json=patient)
            assert created.status_code == 201, created.text
            coverage = {"payer_id": "SANDBOX", "priority": "primary", "member_id": f"SYN{index:07d}"}
            response = await client.post(f"/v1/patients/{created.json()['id']}/coverages", json=coverage)
            assert response.status_code == 201, response.text

        indexes = list(range(self.registered, needed))
        for start in range(0, len(indexes), 20):
            await asyncio.gather(*(one(i) for i in indexes[start : start + 20]))
        self.registered = max(self.registered, needed)

    def take(self, count: int) -> list[tuple[str, str]]:
        """(patient MRN, service date) for the next `count` encounters."""
        latest = dt.date.today() - dt.timedelta(days=3)
        out = []
        for k in range(self.used, self.used + count):
            out.append((f"MRN-BENCH-{k // DAYS}", (latest - dt.timedelta(days=k % DAYS)).isoformat()))
        self.used += count
        return out


def encounter(external_id: str, mrn: str, day: str) -> dict[str, Any]:
    return {
        "external_encounter_id": external_id,
        "claim_type": "professional",
        "patient_external_id": mrn,
        "payer_id": "SANDBOX",
        "billing_provider_npi": "1234567893",
        "rendering_provider_npi": "1987654328",
        "place_of_service": "11",
        "service_date_from": day,
        "service_date_to": day,
        "diagnosis_codes": ["J06.9", "R05.9"],
        "lines": [
            {"line_number": 1, "procedure_code": "99213", "units": 1, "charge_cents": 12500,
             "diagnosis_pointers": [1, 2], "service_date": day},
            {"line_number": 2, "procedure_code": "87880", "modifiers": ["QW"], "units": 1, "charge_cents": 3000,
             "diagnosis_pointers": [1], "service_date": day},
        ],
    }  # fmt: skip


def bodies(prefix: str, visits: list[tuple[str, str]], size: int) -> list[bytes]:
    """Request bodies serialized up front, so the timed part is the services' work, not this script's."""
    out = []
    for start in range(0, len(visits), size):
        chunk = visits[start : start + size]
        batch = [encounter(f"{prefix}-{start + i:07d}", mrn, day) for i, (mrn, day) in enumerate(chunk)]
        out.append(json.dumps({"encounters": batch}).encode())
    return out


class SubmittedIds(msgspec.Struct):
    """The one member of a `claim-submitted` payload the follower reads; msgspec skips the others undecoded."""

    encounter_id: str


SUBMITTED_IDS = msgspec.json.Decoder(SubmittedIds)


@dataclass
class Submitted:
    """`claim-submitted` events of one tenant, read from the topic as they arrive: per record its two headers (tenant,
    ce_time) and its payload's encounter id, nothing else decoded; one 837's events share their ce_time, parsed once."""

    tenant: str
    event_time: dict[str, float] = field(default_factory=dict)
    record_time: dict[str, float] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self, kafka: KafkaAccess, start: dict[TopicPartition, int]) -> None:
        consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=None, enable_auto_commit=False)
        await consumer.start()
        tenant_header, tenant = f"ce_{TENANT_EXTENSION}", self.tenant.encode()
        times: dict[bytes, float] = {}
        try:
            consumer.assign(list(start))
            for tp, offset in start.items():
                consumer.seek(tp, offset)
            while True:
                for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                    for record in records:
                        ours, ce_time = False, b""
                        for key, value in record.headers:
                            if key == tenant_header:
                                ours = value == tenant
                            elif key == "ce_time":
                                ce_time = value
                        if not ours:
                            continue
                        encounter_id = SUBMITTED_IDS.decode(record.value).encounter_id
                        at = times.get(ce_time)
                        if at is None:
                            at = times[ce_time] = dt.datetime.fromisoformat(ce_time.decode()).timestamp()
                        self.event_time[encounter_id] = at
                        self.record_time[encounter_id] = record.timestamp / 1000
                self.arrived.set()
        finally:
            await consumer.stop()

    async def wait_for(self, ids: set[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not ids <= self.event_time.keys():
            if time.monotonic() > deadline:
                missing = len(ids - self.event_time.keys())
                raise SystemExit(f"{missing} of {len(ids)} encounters had no claim-submitted after {timeout_s:.0f} s")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), 2)
            except TimeoutError:
                pass


# ----------------------------------------------------------------------------- processes: CPU and RSS


def _children(pid: int) -> list[int]:
    """Direct children of `pid` (Postgres backends under the postmaster): the kernel's list of them
    (/proc/PID/task/PID/children), else from every process's stat (a scan of /proc, read twice a second: on a machine
    shared by several stacks, a twentieth of this script's CPU)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _cpu_and_rss(pids: list[int], *, children_done: bool = False) -> tuple[float, int]:
    """CPU seconds (user + system) and resident bytes summed over `pids` (gone processes count 0).

    For a process tree (`children_done`): the first pid's CPU includes its children that have exited
    (Postgres backends of closed connections), and memory is the proportional set size, so the shared
    buffers every backend maps are counted once, not once per backend."""
    cpu, rss = 0.0, 0
    for index, pid in enumerate(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        if children_done and index == 0:
            cpu += (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
        rss += _pss(pid) if children_done else int(fields[21]) * PAGE_BYTES
    return cpu, rss


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _machine_busy_s() -> float:
    """Non-idle CPU seconds of the whole machine since boot (/proc/stat's first line; idle and iowait left out)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


@dataclass
class Watched:
    name: str
    pid: int
    tree: bool = False
    """Count the direct children too (Postgres: one backend per connection)."""

    def pids(self) -> list[int]:
        return [self.pid, *(_children(self.pid) if self.tree else [])]

    def usage(self) -> tuple[float, int]:
        return _cpu_and_rss(self.pids(), children_done=self.tree)


PSS_EVERY = 4
"""A process tree's memory (Postgres's PSS) is read every 4th sample (2 s), and at both ends of the phase: the kernel
computes a backend's PSS by walking its page tables (shared buffers included), and read every half second for some
forty backends it was about half of this script's CPU, taken from the pipeline it measures."""


@dataclass
class Usage:
    """CPU seconds and peak RSS of the watched processes over one phase: CPU from the counters at its start and end,
    memory sampled every half second (a process tree's every `PSS_EVERY` samples)."""

    watched: list[Watched]
    start_cpu: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    client_cpu: float = 0.0
    """CPU seconds of this script (HTTP client and the `claim-submitted` follower) over the phase."""
    machine_busy: float = 0.0
    """CPU seconds the whole machine spent not idle over the phase (/proc/stat), every process counted."""
    _task: asyncio.Task[None] | None = None

    def _sample(self, *, trees: bool = True) -> dict[str, tuple[float, int]]:
        return {w.name: w.usage() for w in self.watched if trees or not w.tree}

    def _record(self, sampled: dict[str, tuple[float, int]]) -> None:
        for name, (cpu, rss) in sampled.items():
            self.cpu[name] = cpu - self.start_cpu[name]
            self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)

    async def __aenter__(self) -> Usage:
        self.load_before = os.getloadavg()
        first = self._sample()
        self.start_cpu = {name: cpu for name, (cpu, _) in first.items()}
        self._record(first)
        self.client_cpu, self.machine_busy = -time.process_time(), -_machine_busy_s()

        async def sample() -> None:
            for count in itertools.count(1):
                await asyncio.sleep(0.5)
                self._record(self._sample(trees=count % PSS_EVERY == 0))

        self._task = asyncio.create_task(sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self._record(self._sample())
        self.client_cpu += time.process_time()
        self.machine_busy += _machine_busy_s()
        self.load_after = os.getloadavg()

    def report(self, encounters: int, seconds: float) -> None:
        load = "/".join(f"{x:.1f}" for x in self.load_before), "/".join(f"{x:.1f}" for x in self.load_after)
        print(f"  load average (1/5/15 min) before {load[0]}, after {load[1]}; cores: {os.cpu_count()}")
        total = sum(self.cpu.values())
        for w in self.watched:
            cpu = self.cpu.get(w.name, 0.0)
            print(
                f"  {w.name:<10} CPU {cpu:>7.1f} s ({cpu / seconds * 100:>4.0f}% of one core)  "
                f"{cpu * 1000 / encounters:>6.2f} ms/encounter  "
                f"peak {'PSS' if w.tree else 'RSS'} {self.peak_rss.get(w.name, 0) / 2**20:>6.0f} MB"
            )
        print(
            f"  all watched CPU {total:.1f} s: {total * 1000 / encounters:.2f} ms per encounter "
            f"= {encounters / total if total else 0:,.0f} encounters per CPU-second"
        )
        print(
            f"  this script (client, follower) CPU {self.client_cpu:.1f} s "
            f"({self.client_cpu / seconds * 100:.0f}% of one core); whole machine busy {self.machine_busy:.1f} s "
            f"({self.machine_busy / seconds:.2f} of {os.cpu_count()} cores)"
        )


# ----------------------------------------------------------------------------- profiles (py-spy)


class Profiles:
    """py-spy sampling the service processes while a phase runs; collapsed stacks summarised."""

    def __init__(self, folder: Path | None, watched: list[Watched], *, idle: bool = False) -> None:
        self.folder = folder
        self.watched = watched
        self.idle = idle
        """py-spy's --idle: the event loop's waits (epoll) are sampled too."""
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if self.folder is None:
            return
        if not Path(spy).exists():
            print("  (py-spy is not installed: no profiles)")
            self.folder = None
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for w in self.watched:
            command = [spy, "record", "-p", str(w.pid), "-r", str(PROFILE_RATE), "-f", "raw", "--nonblocking",
                       "-o", str(self.folder / f"{w.name}.raw"), *(["--idle"] if self.idle else [])]  # fmt: skip
            self.running.append(
                (w.name, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            )

    def stop(self) -> None:
        if self.folder is None:
            return
        for _, process in self.running:
            process.send_signal(signal.SIGINT)
        for name, process in self.running:
            process.wait(60)
            raw = self.folder / f"{name}.raw"
            if raw.exists():
                (self.folder / f"{name}.txt").write_text(summarise_profile(raw))
                print(f"  profile of {name}: {raw} (summary in {raw.with_suffix('.txt')})")
        self.running.clear()


def summarise_profile(raw: Path, top: int = 40) -> str:
    """The functions with the most samples: self (the frame running) and inclusive (anywhere on the stack)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    out = [f"{total} samples ({PROFILE_RATE}/s, idle excluded)", "-- self"]
    out += [f"{c * 100 / total:5.1f}%  {f}" for f, c in own.most_common(top)]
    out += ["-- inclusive"]
    out += [f"{c * 100 / total:5.1f}%  {f}" for f, c in inclusive.most_common(top * 2)]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- Postgres statements


def preload_statements(stack: LocalStack) -> None:
    """Have the stack's Postgres load pg_stat_statements (once: ALTER SYSTEM + a restart)."""

    async def loaded(url: str) -> bool:
        connection = await asyncpg.connect(url)
        try:
            libraries = await connection.fetchval("SHOW shared_preload_libraries")
            if "pg_stat_statements" in libraries:
                return True
            await connection.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            await connection.execute("ALTER SYSTEM SET pg_stat_statements.track_utility = off")
            return False
        finally:
            await connection.close()

    endpoints = stack.up()
    if not asyncio.run(loaded(endpoints.database_url)):
        print("  stack: restarting Postgres to load pg_stat_statements")
        stack.postgres.stop()
        stack.up()


class Statements:
    """pg_stat_statements of the bench database: reset before a phase, the table per encounter (or per `unit`) after
    it."""

    def __init__(self, admin_url: str, enabled: bool, unit: str = "encounter") -> None:
        self.admin_url = admin_url
        self.enabled = enabled
        self.unit = unit

    async def reset(self) -> None:
        if not self.enabled:
            return
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await connection.execute("SELECT pg_stat_statements_reset()")
        except asyncpg.PostgresError as exc:
            print(f"  (pg_stat_statements unavailable: {exc}; no statement table)")
            self.enabled = False
        finally:
            await connection.close()

    async def report(self, encounters: int, top: int = 30) -> None:
        if not self.enabled:
            return
        connection = await asyncpg.connect(self.admin_url)
        try:
            rows = await connection.fetch(
                "SELECT query, calls, rows, total_exec_time, wal_bytes, shared_blks_dirtied, shared_blks_hit "
                "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "ORDER BY total_exec_time DESC"
            )
        finally:
            await connection.close()
        rows = _grouped(rows)
        total_ms = sum(r["total_exec_time"] for r in rows)
        total_wal = sum(int(r["wal_bytes"]) for r in rows)
        calls = sum(r["calls"] for r in rows)
        print(
            f"\n  Postgres statements (pg_stat_statements, per {self.unit}): {calls / encounters:.2f} calls, "
            f"{total_ms * 1000 / encounters:.0f} us executing, {total_wal / encounters:,.0f} WAL bytes"
        )
        print(f"  {'calls':>7} {'rows':>7} {'us':>6} {'WAL B':>7} {'dirty':>6}  statement (per {self.unit})")
        for r in rows[:top]:
            text = str(r["query"])
            print(
                f"  {r['calls'] / encounters:>7.3f} {r['rows'] / encounters:>7.3f} "
                f"{r['total_exec_time'] * 1000 / encounters:>6.1f} {int(r['wal_bytes']) / encounters:>7.0f} "
                f"{r['shared_blks_dirtied'] / encounters:>6.3f}  {text[:150]}"
            )


def _grouped(rows: list[Any]) -> list[dict[str, Any]]:
    """Statements summed by their text up to a multi-row VALUES list (one text per batch size otherwise), the most
    time first."""
    sums: dict[str, dict[str, Any]] = {}
    for row in rows:
        text = " ".join(str(row["query"]).split())
        key = ("[VALUES, all sizes] " if " VALUES " in text else "") + text.split(" VALUES ", 1)[0]
        into = sums.setdefault(key, {"query": key, **dict.fromkeys(_SUMMED, 0)})
        for name in _SUMMED:
            into[name] += row[name]
    return sorted(sums.values(), key=lambda r: -r["total_exec_time"])


_SUMMED = ("calls", "rows", "total_exec_time", "wal_bytes", "shared_blks_dirtied", "shared_blks_hit")


class WalByRelation:
    """The WAL a throughput run wrote, by relation and record type (pg_walinspect over the run's LSN range): which
    table, index or TOAST relation each encounter's bytes and records went to, so an index maintained on every row
    version or a row written then rewritten shows by name. Records touching several blocks are counted once per
    block; a record's bytes go to its first block."""

    QUERY = """
        WITH blocks AS (
            SELECT b.relfilenode, b.block_id, b.record_type, b.record_length
              FROM pg_get_wal_block_info($1::text::pg_lsn, $2::text::pg_lsn, false) b
             WHERE b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND b.relforknumber = 0
        ), named AS (
            SELECT coalesce(owner.relname || ' (toast' || CASE WHEN r.relkind = 'i' THEN ' index)' ELSE ')' END,
                            CASE WHEN r.relkind = 'i' THEN t.relname || ' / ' || r.relname ELSE r.relname END,
                            blocks.relfilenode::text) AS relation,
                   blocks.block_id, blocks.record_type, blocks.record_length
              FROM blocks
              LEFT JOIN pg_class r ON r.oid = pg_filenode_relation(0, blocks.relfilenode)
              LEFT JOIN pg_index i ON i.indexrelid = r.oid
              LEFT JOIN pg_class t ON t.oid = i.indrelid
              LEFT JOIN pg_class owner ON owner.reltoastrelid = coalesce(t.oid, r.oid)
        )
        SELECT relation, record_type, count(*) AS blocks,
               sum(CASE WHEN block_id = 0 THEN record_length ELSE 0 END) AS bytes
          FROM named GROUP BY relation, record_type ORDER BY bytes DESC, blocks DESC
    """

    def __init__(self, admin_url: str, enabled: bool, unit: str = "encounter") -> None:
        self.admin_url, self.enabled, self.unit = admin_url, enabled, unit
        self.start_lsn = ""

    async def start(self) -> None:
        if not self.enabled:
            return
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
            self.start_lsn = str(await connection.fetchval("SELECT pg_current_wal_insert_lsn()::text"))
        except asyncpg.PostgresError as exc:
            print(f"  (pg_walinspect unavailable: {exc}; no WAL by relation)")
            self.enabled = False
        finally:
            await connection.close()

    async def report(self, encounters: int, top: int = 40) -> None:
        if not self.enabled:
            return
        connection = await asyncpg.connect(self.admin_url)
        try:
            end = await connection.fetchval("SELECT pg_current_wal_insert_lsn()::text")
            rows = await connection.fetch(self.QUERY, self.start_lsn, str(end))
        finally:
            await connection.close()
        total = sum(int(r["bytes"]) for r in rows)
        print(f"\n  WAL by relation (pg_walinspect, this database): {total / encounters:,.0f} B per {self.unit}")
        print(f"  {'blocks':>7} {'bytes':>7}  relation: record type (per {self.unit})")
        for r in rows[:top]:
            blocks, size = r["blocks"] / encounters, int(r["bytes"]) / encounters
            print(f"  {blocks:>7.2f} {size:>7.0f}  {r['relation']}: {r['record_type']}")


class TableActivity:
    """What each run did to the tables of intake and claims (pg_stat_user_tables): rows inserted, updated (HOT
    among them), dead rows left, autovacuum and autoanalyze runs, and the size on disk, so a cost that grows with
    the tables (dead rows, vacuum work, bloated indexes) shows which table it comes from."""

    QUERY = (
        "SELECT schemaname || '.' || relname AS name, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_live_tup, "
        "n_dead_tup, autovacuum_count, autoanalyze_count, pg_total_relation_size(relid) AS bytes "
        "FROM pg_stat_user_tables WHERE schemaname IN ('intake', 'claims') ORDER BY 1"
    )
    SUMMED = ("n_tup_ins", "n_tup_upd", "n_tup_hot_upd", "n_tup_del", "autovacuum_count", "autoanalyze_count")

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.before: dict[str, dict[str, int]] = {}

    SERVER = (
        "SELECT 'server' AS name, w.wal_records, w.wal_fpi, w.wal_bytes, c.num_timed + c.num_requested AS checkpoints, "
        "c.buffers_written AS checkpoint_buffers FROM pg_stat_wal w, pg_stat_checkpointer c"
    )

    async def _read(self) -> dict[str, dict[str, int]]:
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute("SELECT pg_stat_clear_snapshot()")
            rows = list(await connection.fetch(self.QUERY))
            try:
                rows.append(await connection.fetchrow(self.SERVER))
            except asyncpg.PostgresError:  # before Postgres 17 (no pg_stat_checkpointer): no server line
                pass
            return {row["name"]: {k: int(v) for k, v in dict(row).items() if k != "name"} for row in rows}
        finally:
            await connection.close()

    async def start(self) -> None:
        self.before = await self._read()

    async def report(self, encounters: int) -> None:
        after = await self._read()
        print(f"  {'table':<28} {'ins/enc':>7} {'upd/enc':>7} {'HOT %':>5} {'dead now':>9} {'live':>9} "
              f"{'autovac':>7} {'autoanl':>7} {'MB':>7}")  # fmt: skip
        server = after.pop("server", None)
        for name, now in after.items():
            was = self.before.get(name, dict.fromkeys(now, 0))
            delta = {k: now[k] - was.get(k, 0) for k in self.SUMMED}
            if not (delta["n_tup_ins"] or delta["n_tup_upd"] or delta["n_tup_del"]):
                continue
            hot = delta["n_tup_hot_upd"] * 100 / delta["n_tup_upd"] if delta["n_tup_upd"] else 0
            print(
                f"  {name:<28} {delta['n_tup_ins'] / encounters:>7.2f} {delta['n_tup_upd'] / encounters:>7.2f} "
                f"{hot:>5.0f} {now['n_dead_tup']:>9,} {now['n_live_tup']:>9,} {delta['autovacuum_count']:>7} "
                f"{delta['autoanalyze_count']:>7} {now['bytes'] / 2**20:>7.1f}"
            )
        if server is not None:
            was = self.before.get("server", dict.fromkeys(server, 0))
            delta = {k: v - was.get(k, 0) for k, v in server.items()}
            print(
                f"  WAL per encounter: {delta['wal_bytes'] / encounters:,.0f} bytes, "
                f"{delta['wal_records'] / encounters:.1f} records, "
                f"{delta['wal_fpi'] / encounters:.2f} full-page images; "
                f"checkpoints {delta['checkpoints']} "
                f"({delta['checkpoint_buffers'] * 8 / 1024:,.0f} MB written by them)"
            )


class Stages:
    """Where an encounter's time from acceptance to `claim-submitted` goes, stage by stage, from the rows' own times
    (each a transaction's start: `now()`): intake's relay (an `encounter-coded` row written -> published), the
    claim's insert counted from the encounter's acceptance, its batching (READY -> BATCHED) from the same start,
    claims' relay (a `claim-submitted` row written -> published). Shows which queue the latency waits in."""

    QUERY = """
        WITH e AS (SELECT id, received_at FROM intake.encounters WHERE tenant_id = $1 AND received_at >= $2),
        c AS (SELECT c.id, c.created_at - e.received_at AS built FROM claims.claims c JOIN e ON c.encounter_id = e.id
              WHERE c.tenant_id = $1 AND c.primary_claim_id IS NULL)
        SELECT 'intake relay: encounter-coded written -> published', array_agg(published_at - created_at)
          FROM intake.outbox WHERE tenant_id = $1 AND created_at >= $2 AND published_at IS NOT NULL
           AND topic = 'encounter-coded'
        UNION ALL SELECT 'claim inserted, from acceptance', array_agg(built) FROM c
        UNION ALL SELECT 'claim batched, from acceptance', array_agg(h.at - e.received_at)
          FROM claims.claim_status_history h JOIN claims.claims cl ON cl.id = h.claim_id
          JOIN e ON e.id = cl.encounter_id WHERE h.tenant_id = $1 AND h.to_state = 'batched'
        UNION ALL SELECT 'claims relay: claim-submitted written -> published', array_agg(published_at - created_at)
          FROM claims.outbox WHERE tenant_id = $1 AND created_at >= $2 AND published_at IS NOT NULL
           AND topic = 'claim-submitted'
    """

    def __init__(self, admin_url: str, tenant: str) -> None:
        self.admin_url, self.tenant = admin_url, tenant
        self.started: dt.datetime | None = None

    async def start(self) -> None:
        connection = await asyncpg.connect(self.admin_url)
        try:
            self.started = await connection.fetchval("SELECT now()")
        finally:
            await connection.close()

    async def report(self) -> None:
        connection = await asyncpg.connect(self.admin_url)
        try:
            rows = await connection.fetch(self.QUERY, self.tenant, self.started)
        finally:
            await connection.close()
        for name, spans in rows:
            seconds = sorted(span.total_seconds() for span in spans or ())
            if seconds:
                print(f"  {name:<52} {percentiles(seconds)}")


class Waits:
    """What the claims role's Postgres connections are doing while a throughput run goes, sampled every `interval_s`
    from pg_stat_activity (state, wait event, statement) and pg_locks (the lock a waiting backend asked for and
    was not granted, and what its blocker is doing): the share of samples in each, so a batch that waits on another
    one's lock (a counter row, an advisory lock, a unique index entry) shows beside the time spent in Python while
    a transaction is open ('idle in transaction') and the time Postgres runs a statement ('active')."""

    QUERY = """
        SELECT a.pid, a.application_name, a.state, a.wait_event_type, a.wait_event, left(a.query, 64),
               (SELECT string_agg(DISTINCT l.locktype || coalesce(' ' || l.relation::regclass::text, '')
                                  || ' ' || l.mode, ', ')
                  FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted),
               (SELECT string_agg(DISTINCT coalesce(b.state, '?') || ': ' || left(b.query, 48), ' | ')
                  FROM pg_stat_activity b WHERE b.pid = ANY(pg_blocking_pids(a.pid)))
          FROM pg_stat_activity a WHERE a.usename = $1 AND a.pid <> pg_backend_pid()
    """

    def __init__(self, admin_url: str, enabled: bool, role: str = "claims", interval_s: float = 0.02) -> None:
        self.admin_url, self.enabled, self.role, self.interval_s = admin_url, enabled, role, interval_s
        self.seen: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def label(row: asyncpg.Record) -> str:
        _, app, state, wait_type, wait_event, query, lock, blockers = row
        query = " ".join((query or "").split())
        if state == "idle":
            return f"{app}: idle (no transaction)"
        if state == "idle in transaction":
            return f"{app}: idle in transaction (client working) after: {query}"
        if wait_type in (None, "CPU"):
            return f"{app}: active, running: {query}"
        waiting = f"{app}: active, waits {wait_type}:{wait_event}"
        if lock:
            waiting += f" [{lock}] blocked by ({blockers or '?'})"
        return f"{waiting}: {query}"

    async def start(self) -> None:
        if not self.enabled:
            return
        self.seen.clear()
        self.samples = 0
        connection = await asyncpg.connect(self.admin_url)

        async def sample() -> None:
            try:
                while True:
                    rows = await connection.fetch(self.QUERY, self.role)
                    self.samples += 1
                    self.seen.update(self.label(row) for row in rows)
                    await asyncio.sleep(self.interval_s)
            finally:
                await connection.close()

        self._task = asyncio.create_task(sample())

    async def report(self, top: int = 25) -> None:
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
        every = f"{self.samples:,} samples every {self.interval_s * 1000:.0f} ms"
        print(f"  what the {self.role} role's connections did ({every}; connections on average in each, most first):")
        samples = max(self.samples, 1)
        for label, count in self.seen.most_common(top):
            print(f"  {count / samples:>6.2f}  {label}")
        totals: collections.Counter[str] = collections.Counter()
        for label, count in self.seen.items():
            kind = label.split(": ", 1)[1]
            for name in ("waits Lock:", "idle in transaction", "idle (no transaction)", "running", "waits"):
                if name in kind:
                    totals[name.removesuffix(":")] += count
                    break
        print("  in all: " + ", ".join(f"{kind} {count / samples:.2f}" for kind, count in totals.most_common()))


# ----------------------------------------------------------------------------- Postgres floor


async def postgres_floor(admin_url: str, rows: int = 20_000, per_transaction: int = 500) -> float:
    """What this Postgres carries here and now: a state row + an outbox-like row per item, 500 per
    transaction, multi-row inserts (the issue's floor); items per second."""
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(
            "CREATE TEMP TABLE floor_state (id uuid PRIMARY KEY, tenant text, state text, document jsonb);"
            "CREATE TEMP TABLE floor_outbox (id bigserial PRIMARY KEY, key text, payload jsonb)"
        )
        document = json.dumps({"lines": [{"procedure_code": "99213", "charge_cents": 12500}] * 2, "x": "y" * 900})
        started = time.perf_counter()
        for _ in range(rows // per_transaction):
            ids = [uuid.uuid4() for _ in range(per_transaction)]
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO floor_state SELECT id, 't', 'ready', $2::jsonb FROM unnest($1::uuid[]) AS id",
                    ids, document,
                )  # fmt: skip
                await connection.execute(
                    "INSERT INTO floor_outbox (key, payload) SELECT id::text, $2::jsonb FROM unnest($1::uuid[]) AS id",
                    ids, document,
                )  # fmt: skip
        return rows / (time.perf_counter() - started)
    finally:
        await connection.close()


async def post(client: httpx.AsyncClient, body: bytes, accepted: dict[str, float]) -> None:
    response = await client.post("/v1/encounters:batch", content=body, headers={"content-type": "application/json"})
    at = time.time()
    if response.status_code != 200:
        raise SystemExit(f"intake answered {response.status_code}: {response.text[:500]}")
    for result in response.json()["results"]:
        accepted[str(result["id"])] = at


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99

    def ms(value: float) -> str:
        return f"{value * 1000:>8,.0f} ms"

    return f"p50 {ms(cuts[49])}  p95 {ms(cuts[94])}  p99 {ms(cuts[98])}  max {ms(ordered[-1])}"


def latencies(accepted: dict[str, float], submitted: dict[str, float]) -> list[float]:
    return [submitted[encounter_id] - at for encounter_id, at in accepted.items()]


@dataclass(frozen=True)
class Measured:
    encounters: int
    seconds: float
    cpu_s: float
    """CPU seconds of every watched process (services and, when known, servers): the load-independent cost."""

    @property
    def rate(self) -> float:
        return self.encounters / self.seconds


async def throughput(
    client: httpx.AsyncClient,
    submitted: Submitted,
    patients: Patients,
    count: int,
    in_flight: int,
    timeout_s: float,
    usage: Usage,
    batch: int = BATCH,
) -> Measured:
    await patients.ensure(client, count)
    payloads = bodies(f"TP-{uuid.uuid4().hex[:6]}", patients.take(count), batch)
    accepted: dict[str, float] = {}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)

    async def worker() -> None:
        while not queue.empty():
            await post(client, queue.get_nowait(), accepted)

    async with usage:
        first_post = time.time()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        posted = time.time()
        await submitted.wait_for(set(accepted), timeout_s)
    last_event = max(submitted.event_time[e] for e in accepted)
    last_record = max(submitted.record_time[e] for e in accepted)
    seconds = last_event - first_post
    print(f"\n1. throughput: {count:,} encounters in batches of {batch:,} ({in_flight} requests in flight)")
    print(f"  accepted by intake (HTTP)              {count / (posted - first_post):>8,.0f} encounters/s")
    print(
        f"  first POST -> last claim-submitted     {count / seconds:>8,.0f} encounters/s   ({seconds:.2f} s; "
        f"by Kafka record time {count / (last_record - first_post):,.0f}/s)"
    )
    print(f"  latency, acceptance -> ce_time         {percentiles(latencies(accepted, submitted.event_time))}")
    print(f"  latency, acceptance -> on the topic    {percentiles(latencies(accepted, submitted.record_time))}")
    usage.report(count, seconds)
    return Measured(count, seconds, sum(usage.cpu.values()))


async def paced(
    client: httpx.AsyncClient,
    submitted: Submitted,
    patients: Patients,
    rate: float,
    seconds: float,
    tick: float,
    usage: Usage,
) -> None:
    per_tick = max(1, round(rate * tick))
    ticks = max(1, round(seconds / tick))
    await patients.ensure(client, per_tick * ticks)
    payloads = bodies(f"PC-{uuid.uuid4().hex[:6]}", patients.take(per_tick * ticks), per_tick)
    accepted: dict[str, float] = {}
    pending: list[asyncio.Task[None]] = []
    late = 0
    async with usage:
        start = time.monotonic()
        for index, payload in enumerate(payloads):
            delay = start + index * tick - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -tick:
                late += 1
            pending.append(asyncio.create_task(post(client, payload, accepted)))
        await asyncio.gather(*pending)
        sent_for = time.monotonic() - start
        await submitted.wait_for(set(accepted), 300)
    count = len(accepted)
    print(
        f"\n2. paced: {count:,} encounters at {per_tick / tick:,.0f}/s for {sent_for:.1f} s "
        f"({per_tick} per POST every {tick} s; {late} POSTs more than a tick late)"
    )
    print(f"  latency, acceptance -> ce_time         {percentiles(latencies(accepted, submitted.event_time))}")
    print(f"  latency, acceptance -> on the topic    {percentiles(latencies(accepted, submitted.record_time))}")
    usage.report(count, time.monotonic() - start)


def cost_curve(runs: list[Measured]) -> None:
    """Seconds and CPU milliseconds per encounter for each size, against the first: flat means linear time.
    The wall figure moves with what else the machine runs; the CPU figure much less."""
    print("\n3. cost curve (same services and database; each run starts on the tables the last ones left)")
    print(f"  {'encounters':>10}  {'seconds':>8}  {'encounters/s':>12}  {'s per 10k':>9}  {'vs first':>8}  "
          f"{'CPU ms/enc':>10}  {'vs first':>8}")  # fmt: skip
    base = runs[0].seconds / runs[0].encounters
    base_cpu = runs[0].cpu_s / runs[0].encounters
    for run_ in runs:
        per = run_.seconds / run_.encounters
        cpu = run_.cpu_s / run_.encounters
        print(
            f"  {run_.encounters:>10,}  {run_.seconds:>8.1f}  {run_.rate:>12,.0f}  "
            f"{per * 10_000:>9.2f}  {per / base:>7.2f}x  {cpu * 1000:>10.2f}  "
            f"{cpu / base_cpu if base_cpu else 0:>7.2f}x"
        )


def server_processes(stack: LocalStack | None) -> list[Watched]:
    """Postgres (postmaster and its backends) and Kafka, when this script knows their pids."""
    if stack is None:
        return []
    found = []
    postgres = stack.postgres.running_pid()
    if postgres is not None:
        found.append(Watched("postgres", postgres, tree=True))
    kafka = (stack.read_state().get("pids") or {}).get("kafka")
    if kafka is not None and Path(f"/proc/{kafka}").exists():
        found.append(Watched("kafka", int(kafka)))
    return found


async def run(arguments: argparse.Namespace, stack: LocalStack | None, servers: StackEndpoints | None) -> None:
    async with bench_pipeline((INTAKE, CLAIMS), servers) as pipeline:
        kafka, work = pipeline.kafka, pipeline.log_dir
        folder = work / "clearinghouse"
        for sub in ("outbound", "inbound"):
            (folder / sub).mkdir(parents=True)
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        follower: asyncio.Task[None] | None = None
        try:
            await pipeline.start_groups_at_end(CLAIMS.subscriptions)
            start = await end_offsets(kafka, CLAIM_SUBMITTED.name)
            submitted = Submitted(tenant)
            follower = asyncio.create_task(submitted.follow(kafka, start))
            intake = await pipeline.start("intake")
            claims = await pipeline.start_replicas(
                "claims",
                arguments.claims_replicas,
                CLAIMFLOW_CLAIMS_BATCH_INTERVAL_S=str(arguments.batch_interval),
                CLAIMFLOW_CLEARINGHOUSE_TRANSPORT="file_drop",
                CLAIMFLOW_CLEARINGHOUSE_FOLDER=str(folder),
                **consumer_env(arguments),
            )
            services = [
                Watched(process.name if len(claims) == 1 else f"{process.name}-{process.replica}", process.process.pid)
                for process in claims
                if process.process is not None
            ]
            if intake.process is not None:
                services.insert(0, Watched(intake.name, intake.process.pid))
            watched = services + server_processes(stack)
            print(f"\nclaimflow intake -> claim-submitted benchmark  (cores: {os.cpu_count()}; logs under {work})")
            idle = {w.name: w.usage()[1] for w in services}
            print("  idle RSS: " + ", ".join(f"{name} {rss / 2**20:.0f} MB" for name, rss in idle.items()))
            async with Usage(services) as resting:
                await asyncio.sleep(IDLE_SECONDS)
            print(
                f"  idle CPU over {IDLE_SECONDS:.0f} s (pollers, consumers, periodic work): "
                + ", ".join(f"{name} {cpu / IDLE_SECONDS * 100:.1f}% of one core" for name, cpu in resting.cpu.items())
            )
            floor = await postgres_floor(pipeline.admin_url)
            print(f"  Postgres floor (state row + outbox row, 500 per transaction): {floor:,.0f} rows/s")
            runs: list[Measured] = []
            async with httpx.AsyncClient(
                base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE), timeout=300
            ) as client:
                await register(client)
                patients = Patients()
                profiles = Profiles(arguments.profile, services, idle=arguments.profile_idle)
                statements = Statements(pipeline.admin_url, arguments.statements)
                tables = TableActivity(pipeline.admin_url)
                stages = Stages(pipeline.admin_url, tenant)
                waits = Waits(pipeline.admin_url, arguments.waits)
                wal = WalByRelation(pipeline.admin_url, arguments.wal)
                for index, count in enumerate(arguments.encounters):
                    client.headers.update(pipeline.auth(tenant, *WRITE))  # a fresh token: each lasts 30 min
                    await statements.reset()
                    if index == 0:
                        profiles.start()
                    try:
                        await tables.start()
                        await stages.start()
                        await waits.start()
                        await wal.start()
                        measured = await throughput(
                            client,
                            submitted,
                            patients,
                            count,
                            arguments.in_flight,
                            arguments.timeout,
                            Usage(watched),
                            arguments.batch,
                        )
                    finally:
                        if index == 0:
                            profiles.stop()
                    await statements.report(count)  # first: the reports below run statements of their own
                    await waits.report()
                    await tables.report(count)
                    await stages.report()
                    await wal.report(count)
                    runs.append(measured)
                files = len(list((folder / "outbound").glob("837-*")))
                print(f"  837 files in the file drop             {files:>8,}")
                if arguments.paced_seconds > 0:
                    rate = arguments.rate or runs[-1].rate / 2
                    client.headers.update(pipeline.auth(tenant, *WRITE))
                    paced_profiles = Profiles(
                        None if arguments.profile is None else arguments.profile / "paced", services
                    )
                    paced_profiles.start()
                    try:
                        await paced(
                            client, submitted, patients, rate, arguments.paced_seconds, arguments.tick, Usage(watched)
                        )
                    finally:
                        paced_profiles.stop()
            if len(runs) > 1:
                cost_curve(runs)
            admin = await asyncpg.connect(pipeline.admin_url)
            held = await admin.fetchval(
                "SELECT count(*) FROM claims.claims WHERE tenant_id = $1 AND state = 'on_hold'", tenant
            )
            await admin.close()
            print(f"\n  claims held by the scrubber: {held}")
        finally:
            if follower is not None:
                follower.cancel()


def consumer_env(arguments: argparse.Namespace) -> dict[str, str]:
    """`--consumer-max-in-flight N` for the claims processes (their consumers' round batches in flight at once)."""
    env: dict[str, str] = {}
    if arguments.consumer_max_in_flight is not None:
        env["CLAIMFLOW_CONSUMER_MAX_IN_FLIGHT"] = str(arguments.consumer_max_in_flight)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--encounters", type=int, nargs="+", default=[100_000], help="One throughput run per size (the cost curve)."
    )
    parser.add_argument("--in-flight", type=int, default=3, help="Batch requests in flight in phase 1.")
    parser.add_argument(
        "--consumer-max-in-flight",
        type=int,
        default=None,
        help="Round batches each claims consumer has in flight at once (CLAIMFLOW_CONSUMER_MAX_IN_FLIGHT).",
    )
    parser.add_argument(
        "--batch", type=int, default=BATCH, help="Encounters per POST in phase 1 (small: the per-request cost)."
    )
    parser.add_argument("--rate", type=float, default=None, help="Encounters/s in phase 2 (default: half of phase 1).")
    parser.add_argument("--paced-seconds", type=float, default=30, help="Length of phase 2 (0 skips it).")
    parser.add_argument("--tick", type=float, default=0.1, help="Seconds between POSTs in phase 2.")
    parser.add_argument("--batch-interval", type=float, default=0.2, help="Claims' batching interval, seconds.")
    parser.add_argument(
        "--claims-replicas",
        type=int,
        default=1,
        help="Claims processes in one consumer group, as `claimflow up --replicas claims=N` runs them.",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="Seconds to wait for the last claim-submitted.")
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy profiles of the first run (and of the paced phase) here."
    )
    parser.add_argument(
        "--waits",
        action="store_true",
        help="Sample what the claims role's Postgres connections do (state, wait event, lock) during each run.",
    )
    parser.add_argument(
        "--profile-idle",
        action="store_true",
        help="py-spy samples idle threads too (--idle): time spent awaiting Postgres and Kafka shows beside Python's.",
    )
    parser.add_argument(
        "--statements", action="store_true", help="Print pg_stat_statements per encounter after each run."
    )
    parser.add_argument(
        "--wal", action="store_true", help="Print the WAL of each run by relation and record type (pg_walinspect)."
    )
    parser.add_argument(
        "--keep-stack", action="store_true", help="Leave .local/bench-stack running for the next run (reused)."
    )
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a timeout still stops the services
    stack: LocalStack | None = None
    servers: StackEndpoints | None = None
    if not (os.environ.get("CLAIMFLOW_TEST_DATABASE_URL") and os.environ.get("CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS")):
        stack = LocalStack(stack_dir=Path(".local") / "bench-stack", progress=lambda m: print(f"  stack: {m}"))
        if arguments.statements:
            preload_statements(stack)
        servers = stack.up()
    try:
        asyncio.run(run(arguments, stack, servers))
    finally:
        if stack is not None and not arguments.keep_stack:
            stack.down()


if __name__ == "__main__":
    main()
