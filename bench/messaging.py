"""Events per second through outbox -> relay -> Kafka -> consumer inbox -> effect, on this machine.

    .venv/bin/python bench/messaging.py [--events 50000] [--batch 500] [--traced] [--no-floors] [--profile DIR]
        [--py-spy DIR] [--statements] [--wal]

Servers: CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS when set, else the local
stack in .local/bench-stack (started and stopped here). The intake relay and the notifications consumer run
as real service processes. The script first holds intake's relay leadership (its advisory lock) and writes
encounter-coded events into intake's outbox in batches (as intake's own role would); then it lets the relay
go and times the backlog through Kafka into the notifications inbox and activity feed. Beside the figures:
each service process's CPU per event, and the servers' own floor measured in the same run (bench/floors.py).
With --profile DIR each service process is cProfiled over the timed window (DIR/<service>.<pid>.prof); with
--py-spy DIR each is sampled by py-spy (when installed in the venv; `--gil`: only samples holding the GIL, so
CPU rather than waits) over the same window, and the top functions by own samples are printed (the collapsed
stacks are DIR/<service>.txt).
The Postgres server's CPU (postmaster, backends and helpers) and the Kafka broker's over the timed window are
printed per event beside the services' when they run on this machine. `--statements` and `--wal` print, for the
timed window, Postgres's own account of each statement (pg_stat_statements: the local stack is then one of its own,
.local/bench-stack-statements, given the module, so the timed runs' stack stays without it) and the WAL by relation and
record type (pg_walinspect), per event.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.denials import postgres_cpu_s, postmaster_of
from bench.floors import MachineLoad, measure_floors
from bench.intake_to_submitted import Statements, WalByRelation, preload_statements
from cli.stack import LocalStack, StackEndpoints
from cli.stack.local_stack import sqlalchemy_url
from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.outbox import Outbox, OutgoingEvent
from shared.messaging.publisher import KafkaPublisher
from shared.messaging.relay import leader_lock_key
from shared.service import settle_heap
from tests.support.pipeline import Pipeline, bench_pipeline, coded_encounter, end_offsets

IDLE_WINDOW_S = 3.0
PROFILE_HOOK = Path(__file__).resolve().parent / "profile_hook"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


JVM_THREAD_KINDS = (
    ("JIT compiler", ("C1 CompilerThre", "C2 CompilerThre")),
    ("GC", ("GC Thread", "G1 ", "VM Thread", "VM Periodic")),
    ("request handlers", ("data-plane-kafk",)),
)
"""The broker's threads by what they do (Linux keeps the first 15 characters of a thread's name): the JIT
compiles the broker's code while it is fresh, the garbage collector frees what requests allocated, the
request handler and network threads (`data-plane-kafka-request-handler-N`, `data-plane-kafka-network-thread-...`)
serve the clients; the rest (raft, group coordinator, schedulers) is `other`."""


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """User + system CPU time of one process's threads so far, summed by JVM_THREAD_KINDS (and `other`)."""
    seconds: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        kind = next((kind for kind, prefixes in JVM_THREAD_KINDS if name.startswith(prefixes)), "other")
        seconds[kind] = seconds.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def listening_pid(port: int) -> int | None:
    """The process on this machine listening on TCP `port` (the Kafka broker), from /proc; None if not found."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except OSError:
            continue
    return None


def py_spy(pid: int, output: Path) -> subprocess.Popen[bytes] | None:
    """py-spy sampling `pid` into collapsed stacks at `output` until sent SIGINT; None without py-spy."""
    binary = Path(sys.executable).parent / "py-spy"
    if not binary.exists():
        print("  (py-spy not installed in this venv: no sampled profile)")
        return None
    return subprocess.Popen(
        [str(binary), "record", "--pid", str(pid), "--gil", "--format", "raw", "--rate", "200"]
        + ["--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def top_own(collapsed: Path, count: int = 12) -> list[tuple[str, float]]:
    """The functions with the most own samples in py-spy's collapsed stacks, as shares of all samples."""
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack:
            continue
        leaf = stack.rsplit(";", 1)[-1]
        own[leaf] += int(samples)
        total += int(samples)
    return [(name, n / total) for name, n in own.most_common(count)] if total else []


async def run(
    events: int,
    batch: int,
    floors: bool,
    profile: Path | None,
    spy: Path | None,
    service_env: dict[str, str],
    traced: bool = False,
    servers: StackEndpoints | None = None,
    statements_on: bool = False,
    wal_on: bool = False,
) -> None:
    async with bench_pipeline((INTAKE, NOTIFICATIONS), servers) as pipeline:
        floor = await measure_floors(pipeline.servers, pipeline.admin_url) if floors else None
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(pipeline.admin_url)
        lock = leader_lock_key(str(INTAKE.messaging.outbox.schema))
        await admin.fetchval("SELECT pg_advisory_lock(hashtext($1))", lock)  # the relay waits for it
        extra: dict[str, str] = dict(service_env)
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything is timed
            path = os.pathsep.join(p for p in (str(PROFILE_HOOK), os.environ.get("PYTHONPATH", "")) if p)
            extra["PYTHONPATH"] = path
        inbox_only = Subscription(
            group_id=f"bench-inbox-{tenant}",
            handlers={"encounter-coded.v1": validate_only},
            topics=("encounter-coded",),
        )
        await pipeline.start_groups_at_end([*NOTIFICATIONS.subscriptions, inbox_only])
        processes = {
            name: await pipeline.start(
                name, **extra, **({"CLAIMFLOW_PROFILE_TO": str(profile / name)} if profile is not None else {})
            )
            for name in ("notifications", "intake")
        }
        pids = {name: process.process.pid for name, process in processes.items() if process.process is not None}

        engine = create_engine(pipeline.role_url("intake"), pool_size=2)
        sessions = create_sessionmaker(engine)
        outbox = Outbox(INTAKE.messaging.outbox, source="/claimflow/intake")
        template = EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(uuid.uuid4())})
        write_started = time.perf_counter()
        for offset in range(0, events, batch):
            payloads: list[OutgoingEvent] = []
            for _ in range(min(batch, events - offset)):
                encounter_id = uuid.uuid4()
                payload = template.model_copy(
                    update={"encounter_id": encounter_id, "external_encounter_id": encounter_id.hex}
                )
                if traced:  # its own trace, as an encounter posted to intake over HTTP has
                    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
                    payloads.append((str(encounter_id), payload, {"traceparent": traceparent}))
                else:
                    payloads.append((str(encounter_id), payload))
            async with unit_of_work(sessions) as session:
                await outbox.add_many(session, tenant=tenant, events=payloads)
        written = time.perf_counter() - write_started
        await engine.dispose()

        if profile is not None:
            for pid in pids.values():
                os.kill(pid, signal.SIGUSR1)
        postmaster = postmaster_of(await admin.fetchval("SELECT pg_backend_pid()"))
        first = await end_offsets(pipeline.kafka, "encounter-coded")
        feed_group = pipeline.group("notifications")
        kafka_admin = AIOKafkaAdminClient(**pipeline.kafka.client_options())
        await kafka_admin.start()
        kafka_pid = listening_pid(int(pipeline.servers.kafka.bootstrap_servers.rsplit(":", 1)[1]))

        def servers_cpu_now() -> dict[str, float | None]:
            return {
                "Postgres": postgres_cpu_s(postmaster) if postmaster else None,
                "Kafka": cpu_seconds(kafka_pid) if kafka_pid else None,
            }

        # The servers' idle CPU (the services' periodic work, idle consumers' long polls, the broker's own upkeep)
        # over a few seconds with nothing flowing: what each would spend over the backlog's time anyway.
        idle_started, idle_before = time.perf_counter(), servers_cpu_now()
        services_idle_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        await asyncio.sleep(IDLE_WINDOW_S)
        idle_after, idle_s = servers_cpu_now(), time.perf_counter() - idle_started
        services_idle = {name: (cpu_seconds(pid) - services_idle_before[name]) / idle_s for name, pid in pids.items()}
        idle_rate = {
            name: (after - before) / idle_s if after is not None and before is not None else None
            for (name, before), after in zip(idle_before.items(), idle_after.values(), strict=True)
        }
        spies = {}
        if spy is not None:
            spy.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything is timed
            spies = {name: py_spy(pid, spy / f"{name}.txt") for name, pid in pids.items()}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        servers_before = servers_cpu_now()
        broker_threads_before = thread_cpu_seconds(kafka_pid) if kafka_pid else {}
        load_before = MachineLoad.now()
        statements = Statements(pipeline.admin_url, statements_on, unit="event")
        wal = WalByRelation(pipeline.admin_url, wal_on, unit="event")
        await statements.reset()
        await wal.start()
        wal_before = await admin.fetchval("SELECT pg_current_wal_lsn()")
        started = time.perf_counter()
        await admin.fetchval("SELECT pg_advisory_unlock(hashtext($1))", lock)
        # The relay retries the leader lock every CLAIMFLOW_RELAY_POLL_INTERVAL_S (1 s): up to that long passes before
        # it starts, which a running relay (leader from its start) never waits. When it took the lock, to 10 ms.
        while not await admin.fetchval(
            "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND objid = (hashtext($1)::bigint & 4294967295)::oid "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            lock,
        ):
            await asyncio.sleep(0.01)
        leader_at = time.perf_counter()
        published_at: float | None = None
        consumed_at: float | None = None
        first_commit_at: float | None = None
        while consumed_at is None:
            if published_at is None and not await admin.fetchval(
                "SELECT EXISTS (SELECT FROM intake.outbox WHERE published_at IS NULL)"
            ):
                published_at = time.perf_counter()
            # The feed group's committed offsets move only after its transactions commit: asking Kafka, not
            # counting feed rows every 50 ms (a count that grows with the table, in the Postgres figure).
            committed = await kafka_admin.list_consumer_group_offsets(feed_group)
            done = sum(committed[tp].offset - start for tp, start in first.items() if tp in committed)
            if first_commit_at is None and done > 0:
                first_commit_at = time.perf_counter()
            if done >= events:
                fed = await admin.fetchval("SELECT count(*) FROM notifications.activity WHERE tenant_id = $1", tenant)
                if fed >= events:
                    consumed_at = time.perf_counter()
                    published_at = published_at or consumed_at
            await asyncio.sleep(0.05)
        await kafka_admin.close()
        wal_bytes = await admin.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)", wal_before)
        broker_threads = {
            kind: after - broker_threads_before.get(kind, 0.0)
            for kind, after in (thread_cpu_seconds(kafka_pid) if kafka_pid else {}).items()
        }
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        servers_cpu = {
            name: after - before if after is not None and before is not None else None
            for (name, before), after in zip(servers_before.items(), servers_cpu_now().values(), strict=True)
        }
        # After the CPU figures (these queries cost Postgres too); before the inbox-only pass, which writes the inbox.
        # The feed group's inbox rows of one consumed batch share their transaction id (xmin): a batch's fixed costs
        # (session, round trips, spans, the offset commit) are shared by this many events.
        feed_batches = await admin.fetchval(
            "SELECT count(DISTINCT xmin::text) FROM notifications.inbox WHERE consumer_group = $1", feed_group
        )
        await statements.report(events)
        await wal.report(events)
        for sampler in spies.values():
            if sampler is not None:
                sampler.send_signal(signal.SIGINT)
        for sampler in spies.values():
            if sampler is not None:
                await asyncio.to_thread(sampler.wait, 60)
        if profile is not None:
            for pid in pids.values():
                os.kill(pid, signal.SIGUSR2)
            await asyncio.sleep(2)  # the processes write their statistics
        load = MachineLoad.now()
        profiler = cProfile.Profile(time.thread_time) if profile is not None else None
        if profiler is not None:
            profiler.enable()
        inbox_s, inbox_cpu = await inbox_only_pass(pipeline, inbox_only, admin, events)
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile / "inbox-only.prof")
        await admin.close()

        total = consumed_at - started
        publish_s = (published_at or consumed_at) - started
        traces = ", each with its own trace (--traced)" if traced else ""
        print(f"\nclaimflow messaging benchmark  (events: {events}{traces}, outbox batch: {batch})")
        if service_env:
            print(f"  service environment: {' '.join(f'{k}={v}' for k, v in sorted(service_env.items()))}")
        print(f"  machine: {load_before} at the start, {load.load_1m:.2f} at the end")
        print(f"  outbox writes (batched transactions)     {events / written:>10,.0f} events/s   (not timed below)")
        print(f"  outbox -> Kafka (relay, acks=all)        {events / publish_s:>10,.0f} events/s")
        print(
            f"  outbox -> Kafka -> inbox + feed row      {events / total:>10,.0f} events/s"
            f"   ({total:.2f} s for the backlog)"
        )
        print(
            f"    from the relay taking its leader lock ({leader_at - started:.2f} s after it was let go): "
            f"{events / (consumed_at - leader_at):,.0f} events/s; the feed group's first offsets committed "
            f"{(first_commit_at or consumed_at) - leader_at:.2f} s after it; tail: the last "
            f"{consumed_at - (published_at or consumed_at):.2f} s after the relay had published everything"
            " (within 50 ms)"
        )
        for name, seconds in cpu.items():
            role = "relay" if name == "intake" else "consumer"
            label = f"CPU per event, {name} ({role})"
            print(
                f"  {label:<39}{seconds / events * 1e6:>10,.1f} µs   ({seconds:.2f} s CPU over {total:.2f} s: "
                f"{seconds / total:.0%} of a core; {events / seconds if seconds else 0:,.0f} events per CPU-second; "
                f"idle it uses {services_idle[name]:.0%} of a core)"
            )
            if name == "notifications" and feed_batches:
                print(
                    f"    its batches (transactions): {feed_batches:,}, "
                    f"{events / feed_batches:,.0f} events each on average"
                )
        for name, server_s in servers_cpu.items():
            label = f"CPU per event, {name} server"
            if server_s is None:
                print(f"  {label:<39}{'n/a':>10}      (not a process of this machine)")
                continue
            idle = idle_rate[name] or 0.0
            print(
                f"  {label:<39}{server_s / events * 1e6:>10,.1f} µs   ({server_s:.2f} s CPU over {total:.2f} s: "
                f"{server_s / total:.0%} of a core; idle it uses {idle:.0%} of a core: "
                f"{max(0.0, server_s - idle * total) / events * 1e6:,.1f} µs per event above idle)"
            )
        print(f"  WAL per event, Postgres                  {float(wal_bytes) / events:>10,.0f} B")
        if broker_threads:
            split = ", ".join(
                f"{kind} {seconds / events * 1e6:,.1f} µs"
                for kind, seconds in sorted(broker_threads.items(), key=lambda item: -item[1])
            )
            print(f"    Kafka server by thread: {split}")
        every = sum(cpu.values()) + sum(server_s or 0.0 for server_s in servers_cpu.values())
        print(f"  CPU per event, all of the above          {every / events * 1e6:>10,.1f} µs")
        print(
            f"  Kafka -> inbox alone (this process, typed payload, no effect)"
            f"{events / inbox_s:>8,.0f} events/s   ({inbox_cpu / events * 1e6:,.1f} µs CPU per event; "
            f"{events / inbox_cpu if inbox_cpu else 0:,.0f} events per CPU-second)"
        )
        if floor is not None:
            print(floor.report())
        if spy is not None:
            for name in spies:
                collapsed = spy / f"{name}.txt"
                if not collapsed.exists():
                    continue
                print(f"  py-spy, {name}: functions with the most own samples ({collapsed})")
                for function, share in top_own(collapsed):
                    print(f"    {share:>6.1%}  {function}")


async def validate_only(_session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        envelope.wire_payload()


async def inbox_only_pass(
    pipeline: Pipeline, subscription: Subscription, admin: asyncpg.Connection, events: int
) -> tuple[float, float]:
    """The same events once more from Kafka into the inbox through the consumer runner alone, in this process,
    with a handler that only validates the typed payload: the messaging layer without a service's effect."""
    engine = create_engine(sqlalchemy_url(pipeline.admin_url), pool_size=2)
    publisher = KafkaPublisher(pipeline.kafka, client_id="bench-inbox", send_timeout_s=10, stop_timeout_s=10)
    runner = ConsumerRunner(
        service="bench",
        subscription=replace(subscription, group_id=pipeline.group(subscription.group_id)),
        sessions=create_sessionmaker(engine),
        inbox=NOTIFICATIONS.messaging.inbox,
        publisher=publisher,
        kafka=pipeline.kafka,
        max_attempts=3,
        batch_size=500,
    )
    group = pipeline.group(subscription.group_id)
    settle_heap()  # the collector tuned as in a service process (else its sweeps were half the CPU per event)
    cpu_before = time.process_time()
    started = time.perf_counter()
    task = asyncio.create_task(runner.run())
    try:
        while (
            await admin.fetchval("SELECT count(*) FROM notifications.inbox WHERE consumer_group = $1", group) < events
        ):
            await asyncio.sleep(0.05)
        return time.perf_counter() - started, time.process_time() - cpu_before
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await publisher.stop()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--traced",
        action="store_true",
        help="each event carries its own W3C traceparent, as events of encounters posted over HTTP do",
    )
    parser.add_argument("--no-floors", action="store_true", help="skip the servers' floor (Kafka perf tools, Postgres)")
    parser.add_argument("--profile", type=Path, help="cProfile each service process over the timed window into DIR")
    parser.add_argument("--py-spy", type=Path, help="sample each service process with py-spy into DIR")
    parser.add_argument(
        "--statements", action="store_true", help="print pg_stat_statements of the timed window, per event"
    )
    parser.add_argument(
        "--wal", action="store_true", help="print the timed window's WAL by relation and record type (pg_walinspect)"
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for both service processes (CLAIMFLOW_RELAY_BATCH_SIZE=2000); repeatable",
    )
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a timeout still stops the services
    service_env = dict(item.split("=", 1) for item in arguments.service_env)
    floors = not arguments.no_floors
    stack: LocalStack | None = None
    servers: StackEndpoints | None = None
    if arguments.statements and not os.environ.get("CLAIMFLOW_TEST_DATABASE_URL"):
        # A stack of its own: the module stays loaded (postgresql.auto.conf), and costs every statement a little,
        # so the stack timed runs use (.local/bench-stack) is left without it.
        statements_dir = Path(".local") / "bench-stack-statements"
        stack = LocalStack(stack_dir=statements_dir, progress=lambda m: print(f"  stack: {m}"))
        preload_statements(stack)
        servers = stack.up()
    try:
        asyncio.run(
            run(
                arguments.events,
                arguments.batch,
                floors,
                arguments.profile,
                arguments.py_spy,
                service_env,
                traced=arguments.traced,
                servers=servers,
                statements_on=arguments.statements,
                wal_on=arguments.wal,
            )
        )
    finally:
        if stack is not None:
            stack.down()


if __name__ == "__main__":
    main()
