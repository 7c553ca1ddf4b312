"""Fuzz run: mutated 835s against the parser (in process) and, with --api, `POST /v1/remittances`.

Usage: .venv/bin/python bench/fuzz_835.py [--mutants 20000] [--seed 1] [--api 1000]

The same seeded mutator as the suite's bounded fuzz tests (`tests/support/mutated_835.py`), for longer.
In process, every mutant must be read (then balanced, turned into posting facts and the CLI's JSON) or
refused with a `RemittanceRejected`; anything else is a crash, printed with the seed and index that
reproduce it. With --api N, a local stack (or CLAIMFLOW_TEST_DATABASE_URL + ..._KAFKA_BOOTSTRAP_SERVERS)
and a real remittance service take the first N mutants over HTTP; any 5xx is a failure. Prints the outcome
counts, mutants/s and the core count; exit status 1 on any crash or 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
import traceback
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from cli.parse_835 import remittance_json
from services.remittance.app import DEFINITION as REMITTANCE
from services.remittance.domain.balancing import balance_findings
from services.remittance.domain.posting import facts_to_json, read_claim_payments
from services.remittance.service import RemittanceRejected, parse_remittance
from tests.support.mutated_835 import mutants
from tests.support.pipeline import bench_pipeline


def fuzz_parser(seed: int, count: int) -> tuple[Counter[str], list[str]]:
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    for index, mutant in enumerate(mutants(seed, count)):
        try:
            try:
                advices = parse_remittance(mutant)
            except RemittanceRejected:
                outcomes["refused (positioned)"] += 1
                continue
            findings = [balance_findings(advice) for advice in advices]
            remittance_json(advices, findings)
            for facts in read_claim_payments(advices, today=dt.date(2026, 1, 1)):
                facts_to_json(facts)
            outcomes["read, unbalanced" if any(findings) else "read, balanced"] += 1
            if any(advice.warnings for advice in advices):
                outcomes["  of which with warnings"] += 1
        except Exception:
            outcomes["CRASH"] += 1
            crashes.append(f"seed {seed} mutant {index}:\n{traceback.format_exc()}")
    return outcomes, crashes


async def fuzz_api(seed: int, count: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    async with bench_pipeline((REMITTANCE,)) as pipeline:
        service = await pipeline.start("remittance", CLAIMFLOW_RUN_RELAY="false")
        tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
        headers = pipeline.auth(tenant, "remittance:write") | {"content-type": "application/edi-x12"}
        async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=120) as client:
            for index, mutant in enumerate(mutants(seed, count)):
                answer = await client.post("/v1/remittances", content=mutant)
                statuses[answer.status_code] += 1
                if answer.status_code >= 500:
                    print(f"  5xx for seed {seed} mutant {index}: {answer.text[:300]}")
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--api", type=int, default=0, help="also POST the first N mutants to a real service")
    arguments = parser.parse_args()

    print(f"mutated-835 fuzz  (cores: {os.cpu_count()}, seed {arguments.seed})")
    started = time.perf_counter()
    outcomes, crashes = fuzz_parser(arguments.seed, arguments.mutants)
    elapsed = time.perf_counter() - started
    print(f"  parser: {arguments.mutants:,} mutants in {elapsed:.1f} s ({arguments.mutants / elapsed:,.0f}/s)")
    for outcome, count in sorted(outcomes.items()):
        print(f"    {outcome:<28}{count:>8,}")
    for crash in crashes[:5]:
        print(crash)
    failed = bool(crashes)
    if arguments.api:
        started = time.perf_counter()
        statuses = asyncio.run(fuzz_api(arguments.seed, arguments.api))
        elapsed = time.perf_counter() - started
        print(f"  POST /v1/remittances: {arguments.api:,} mutants in {elapsed:.1f} s (stack start included)")
        for code, count in sorted(statuses.items()):
            print(f"    HTTP {code:<23}{count:>8,}")
        failed = failed or any(code >= 500 for code in statuses)
    print("  result: " + ("FAILED" if failed else "no crash, no 5xx"))
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
