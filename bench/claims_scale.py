"""Claims scaled out, posting unaffected: claims per second with 1 and with 2 claims replicas on the same backlog,
and 835 posting alone and while claims work through a backlog beside it.

    .venv/bin/python bench/claims_scale.py [--encounters 20000] [--claims-per-835 5000] [--test-stack]

1. A backlog of `--encounters` coded encounters (`encounter-coded`, as intake writes them) is produced first;
   then one claims process (consumer, scrubber, 837 batcher, relay) works it off. The same again with two
   replicas in one consumer group (`claimflow up --replicas claims=2`). Timed from the database's own
   timestamps: first claim built to last `claim-submitted` published.
2. An 835 of `--claims-per-835` paid claims is POSTed to the remittance service alone; then another one while a
   fresh backlog keeps both claims replicas busy.

Printed beside each figure: the core count, the load average during the run and each process's CPU seconds
(from /proc), so a figure taken on a busy machine can be read as CPU per item. Servers: `--test-stack` (this
checkout's test stack, started if needed and left running), else as `bench_pipeline` chooses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.claims_throughput import produce
from bench.remittance_posting import _seed as seed_submitted_claims
from cli.services import ServiceProcess
from cli.stack import LocalStack, StackEndpoints
from services.claims.app import DEFINITION as CLAIMS
from services.remittance.app import DEFINITION as REMITTANCE
from tests.support.pipeline import Pipeline, bench_pipeline
from tests.support.remittance_builder import paid_claim, remittance_file

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CLAIMS_ENV = {"CLAIMFLOW_CLAIMS_BATCH_INTERVAL_S": "0.2", "CLAIMFLOW_CLAIMS_RUN_ACKNOWLEDGMENTS": "false"}


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a live process (Linux /proc), 0 when it is gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def pid_of(process: ServiceProcess) -> int | None:
    return process.process.pid if process.process is not None else None


@dataclass(frozen=True)
class ClaimsRun:
    replicas: int
    encounters: int
    seconds: float
    cpu_s: tuple[float, ...]
    load: tuple[float, float, float]

    @property
    def rate(self) -> float:
        return self.encounters / self.seconds


async def _claims_done(admin: asyncpg.Connection, tenant: str, encounters: int) -> bool:
    return bool(
        await admin.fetchval(
            "SELECT (SELECT count(*) FROM claims.claims WHERE tenant_id = $1 AND state IN ('batched', 'submitted')) "
            ">= $2 AND NOT EXISTS (SELECT 1 FROM claims.outbox WHERE tenant_id = $1 AND published_at IS NULL)",
            tenant,
            encounters,
        )
    )


async def _wait(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 1800) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def _new_tenant(admin: asyncpg.Connection) -> str:
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    # The example's dates are fixed; its payer's filing window may have closed since.
    await admin.execute(
        "INSERT INTO claims.disabled_scrub_rules (tenant_id, rule_id) VALUES ($1, 'timely_filing.expired')", tenant
    )
    return tenant


async def claims_run(pipeline: Pipeline, admin: asyncpg.Connection, replicas: int, encounters: int) -> ClaimsRun:
    """A fresh backlog worked off by `replicas` claims processes, which are stopped afterwards."""
    tenant = await _new_tenant(admin)
    await produce(pipeline.kafka, tenant, encounters)
    folder = {"CLAIMFLOW_CLEARINGHOUSE_FOLDER": str(pipeline.log_dir / "clearinghouse")}
    if replicas == 1:
        processes = [await pipeline.start("claims", **CLAIMS_ENV, **folder)]
    else:
        processes = await pipeline.start_replicas("claims", replicas, **CLAIMS_ENV, **folder)
    cpu_before = [cpu_seconds(pid_of(process)) for process in processes]
    await _wait(lambda: _claims_done(admin, tenant, encounters), f"{encounters} claims with {replicas} replica(s)")
    cpu = tuple(cpu_seconds(pid_of(p)) - before for p, before in zip(processes, cpu_before, strict=True))
    load = os.getloadavg()
    first, published = await admin.fetchrow(
        "SELECT (SELECT min(created_at) FROM claims.claims WHERE tenant_id = $1), "
        "(SELECT max(published_at) FROM claims.outbox WHERE tenant_id = $1)",
        tenant,
    )
    for process in processes:
        process.stop()
    return ClaimsRun(replicas, encounters, (published - first).total_seconds(), cpu, load)


@dataclass(frozen=True)
class PostingRun:
    label: str
    payments: int
    seconds: float
    cpu_s: float
    load: tuple[float, float, float]
    claims_built_meanwhile: int


async def post_835(
    client: httpx.AsyncClient, remittance: ServiceProcess, body: bytes, payments: int, label: str
) -> tuple[float, float]:
    cpu_before = cpu_seconds(pid_of(remittance))
    started = time.perf_counter()
    answer = await client.post(f"{remittance.base_url}/v1/remittances", content=body)
    seconds = time.perf_counter() - started
    assert answer.status_code == 201 and answer.json()["posted"] == payments, (label, answer.text[:300])
    return seconds, cpu_seconds(pid_of(remittance)) - cpu_before


async def posting_runs(
    pipeline: Pipeline, admin: asyncpg.Connection, claims_per_835: int, encounters: int
) -> list[PostingRun]:
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    alone_numbers = [f"A{n:07d}" for n in range(claims_per_835)]
    loaded_numbers = [f"L{n:07d}" for n in range(claims_per_835)]
    await seed_submitted_claims(admin, tenant, alone_numbers + loaded_numbers, uuid.uuid4())
    alone = remittance_file([paid_claim(n) for n in alone_numbers], trace="SCALE-ALONE").encode()
    loaded = remittance_file(
        [paid_claim(n) for n in loaded_numbers], trace="SCALE-LOADED", interchange_control="000000902"
    ).encode()
    remittance = await pipeline.start("remittance", CLAIMFLOW_RUN_RELAY="false")
    headers = pipeline.auth(tenant, "remittance:write") | {"content-type": "application/edi-x12"}
    runs = []
    async with httpx.AsyncClient(headers=headers, timeout=900) as client:
        seconds, cpu = await post_835(client, remittance, alone, claims_per_835, "alone")
        runs.append(PostingRun("alone", claims_per_835, seconds, cpu, os.getloadavg(), 0))

        claims_tenant = await _new_tenant(admin)
        await produce(pipeline.kafka, claims_tenant, encounters)
        folder = {"CLAIMFLOW_CLEARINGHOUSE_FOLDER": str(pipeline.log_dir / "clearinghouse")}
        replicas = await pipeline.start_replicas("claims", 2, **CLAIMS_ENV, **folder)

        async def claims_flowing() -> bool:
            count = await admin.fetchval("SELECT count(*) FROM claims.claims WHERE tenant_id = $1", claims_tenant)
            return bool(count >= min(500, encounters // 10))

        await _wait(claims_flowing, "the claims replicas to be working the backlog")
        before = await admin.fetchval("SELECT count(*) FROM claims.claims WHERE tenant_id = $1", claims_tenant)
        seconds, cpu = await post_835(client, remittance, loaded, claims_per_835, "loaded")
        after = await admin.fetchval("SELECT count(*) FROM claims.claims WHERE tenant_id = $1", claims_tenant)
        runs.append(
            PostingRun("while 2 claims replicas work", claims_per_835, seconds, cpu, os.getloadavg(), after - before)
        )
        if await _claims_done(admin, claims_tenant, encounters):
            print("  (note: the claims backlog was worked off before the posting ended: raise --encounters)")
        for process in replicas:
            process.stop()
    remittance.stop()
    return runs


async def run(encounters: int, claims_per_835: int, servers: StackEndpoints | None) -> None:
    async with bench_pipeline((CLAIMS, REMITTANCE), servers) as pipeline:
        await pipeline.start_groups_at_end([*CLAIMS.subscriptions, *REMITTANCE.subscriptions])
        admin = await asyncpg.connect(pipeline.admin_url)
        try:
            claims = [await claims_run(pipeline, admin, replicas, encounters) for replicas in (1, 2)]
            posting = await posting_runs(pipeline, admin, claims_per_835, encounters)
        finally:
            await admin.close()
    print(f"\nclaimflow scale benchmark  (cores: {os.cpu_count()}, backlog: {encounters:,} encounters per run)")
    print("  claims: encounter-coded backlog -> claims built, scrubbed, in stored 837s, claim-submitted published")
    for result in claims:
        cpu = " + ".join(f"{seconds:.1f}" for seconds in result.cpu_s)
        per_item = sum(result.cpu_s) / result.encounters * 1000
        print(
            f"    {result.replicas} replica{'s' if result.replicas > 1 else ' '}  {result.rate:>8,.0f} claims/s "
            f"({result.seconds:.1f} s)   CPU {cpu} s = {per_item:.2f} ms/claim   "
            f"load avg {result.load[0]:.1f}"
        )
    print(f"    2 replicas / 1 replica: {claims[1].rate / claims[0].rate:.2f}x")
    print(f"  835 posting, {claims_per_835:,} claim payments per file, HTTP to the remittance service:")
    for posted in posting:
        print(
            f"    {posted.label:<30} {posted.payments / posted.seconds:>8,.0f} payments/s ({posted.seconds:.1f} s)   "
            f"CPU {posted.cpu_s:.1f} s = {posted.cpu_s / posted.payments * 1000:.2f} ms/payment   "
            f"load avg {posted.load[0]:.1f}"
            + (f"   claims built meanwhile: {posted.claims_built_meanwhile:,}" if posted.claims_built_meanwhile else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=20_000)
    parser.add_argument("--claims-per-835", type=int, default=5_000)
    parser.add_argument("--test-stack", action="store_true", help="Use this checkout's test stack.")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a timeout still stops the services
    servers = LocalStack.for_tests(Path(__file__).resolve().parents[1]).up() if arguments.test_stack else None
    asyncio.run(run(arguments.encounters, arguments.claims_per_835, servers))


if __name__ == "__main__":
    main()
