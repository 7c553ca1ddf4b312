"""Resident memory of each service process at idle (target: < 150 MB each), and which heavy optional libraries
its app loads at start-up (each should be imported where it is used, not by a service that idles).

    .venv/bin/python bench/idle_rss.py [--idle-s 5] [--test-stack]

Every service is started as a real process (as `claimflow up` runs it) against real Postgres and Kafka, left
ready and idle for `--idle-s` seconds, and its VmRSS read from /proc. The libraries column comes from importing
each service's app alone in a fresh interpreter. `claimflow status` shows the same RSS for a running system.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.services import SERVICE_NAMES
from cli.stack import LocalStack, StackEndpoints
from cli.status import resident_mb
from services.claims.app import DEFINITION as CLAIMS
from services.denials.app import DEFINITION as DENIALS
from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.remittance.app import DEFINITION as REMITTANCE
from tests.support.pipeline import bench_pipeline

TARGET_MB = 150
HEAVY = ("reportlab", "PIL", "jinja2", "pypdf", "pyarrow", "duckdb", "playwright", "pyx12", "oxedi", "numpy", "pandas")
PROBE = """
import json, sys
import services.{name}.app
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
print(json.dumps({{"rss_mb": rss / 1024, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def imported_alone(name: str) -> dict[str, object]:
    """RSS after importing the service's app in a fresh interpreter, and the heavy libraries that pulled in."""
    code = PROBE.format(name=name, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def run(idle_s: float, servers: StackEndpoints | None) -> None:
    async with bench_pipeline((INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS), servers) as pipeline:
        await pipeline.start_groups_at_end(
            s for d in (INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS) for s in d.subscriptions
        )
        folder = {"CLAIMFLOW_CLEARINGHOUSE_FOLDER": str(pipeline.log_dir / "clearinghouse")}
        processes = {name: await pipeline.start(name, **folder) for name in SERVICE_NAMES}
        await asyncio.sleep(idle_s)  # idle on purpose: nothing to wait for, memory is read after a quiet spell
        idle = {
            name: resident_mb(process.process.pid if process.process else None) for name, process in processes.items()
        }
    alone = {name: imported_alone(name) for name in SERVICE_NAMES}
    print(f"\nclaimflow idle RSS per service  (cores: {os.cpu_count()}, target < {TARGET_MB} MB, idle {idle_s:.0f} s)")
    print(f"  {'service':<14} {'idle RSS':>9}   {'app import alone':>16}   heavy libraries loaded at start-up")
    for name in SERVICE_NAMES:
        rss = idle[name]
        mark = "" if rss is not None and rss < TARGET_MB else "   OVER"
        heavy = ", ".join(alone[name]["heavy"]) or "-"  # type: ignore[arg-type]
        print(f"  {name:<14} {rss or 0:>6.0f} MB   {alone[name]['rss_mb']:>13.0f} MB   {heavy}{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=5.0)
    parser.add_argument("--test-stack", action="store_true", help="Use this checkout's test stack.")
    arguments = parser.parse_args()
    servers = LocalStack.for_tests(Path(__file__).resolve().parents[1]).up() if arguments.test_stack else None
    asyncio.run(run(arguments.idle_s, servers))


if __name__ == "__main__":
    main()
