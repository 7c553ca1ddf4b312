"""Chaos run: a synthetic practice's encounters and their remittances flow through the five services while every
service is SIGKILLed and restarted several times, and the broker and Postgres are each restarted once; then the
books are audited (one claim per encounter, each claim payment posted once, every ledger balanced to the cent,
every event applied once by each consumer group, no outbox row left). Prints what it did and the counts.

    .venv/bin/python bench/chaos.py [--encounters 10000] [--rounds 3]

Runs its own Kafka and Postgres in .local/chaos-stack (started and stopped here), so that it may restart them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.stack.local_stack import LocalStack
from services.claims.app import DEFINITION as CLAIMS
from services.denials.app import DEFINITION as DENIALS
from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.remittance.app import DEFINITION as REMITTANCE
from tests.support.chaos import ChaosPlan, ChaosReport, run_chaos
from tests.support.pipeline import bench_pipeline


class StackRestarts:
    """Stops one server of the stack and brings the stack up again: the same port, the same data."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack

    def restart_broker(self) -> None:
        self.stack.kafka.stop((self.stack.read_state().get("pids") or {}).get("kafka"))
        self.stack.up()

    def restart_postgres(self) -> None:
        self.stack.postgres.stop()
        self.stack.up()


def print_report(plan: ChaosPlan, report: ChaosReport) -> None:
    print(
        f"\nclaimflow chaos run  (cores: {os.cpu_count()}, encounters: {plan.encounters}, rounds: {plan.kill_rounds})"
    )
    for action in report.actions:
        print(f"  {action}")
    print(f"  encounters sent                         {report.encounters:>8,}")
    print(f"  claims (primaries and secondaries)      {report.claims:>8,}")
    print(f"  encounters without exactly one claim    {report.encounters_without_one_claim:>8,}")
    print(f"  claim payments posted                   {report.payments_posted:>8,}")
    print(f"  claim payments posted more than once    {report.payments_posted_twice:>8,}")
    print(f"  claim ledgers unbalanced at settle      {report.claims_unbalanced_at_settle:>8,}")
    print(f"  claim ledgers unbalanced once quiet     {report.claims_unbalanced:>8,}")
    for example in report.unbalanced_examples:
        print(f"    {example}")
    print(f"  events on the topics (this tenant)      {report.events_on_topics:>8,}")
    print(f"  consumer groups not applying each once  {len(report.group_mismatches):>8,}  {report.group_mismatches}")
    print(f"  dead letters                            {report.dead_letters:>8,}")
    print(f"  outbox rows left                        {sum(report.outbox_left.values()):>8,}")
    print(f"  elapsed                                 {report.elapsed_s:>8.1f} s")
    problems = report.problems()
    print("  verdict: " + ("exact" if not problems else "; ".join(problems)))


async def run(plan: ChaosPlan) -> int:
    stack = LocalStack(stack_dir=Path(".local") / "chaos-stack", progress=lambda m: print(f"  stack: {m}"))
    endpoints = stack.up()
    try:
        async with bench_pipeline((INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS), servers=endpoints) as pipeline:
            await pipeline.start_groups_at_end(
                s for d in (INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS) for s in d.subscriptions
            )
            report = await run_chaos(
                pipeline, Path(tempfile.mkdtemp(prefix="claimflow-chaos-")), plan, StackRestarts(stack)
            )
    finally:
        stack.down()
    print_report(plan, report)
    return 1 if report.problems() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="times each service is killed and restarted")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    plan = ChaosPlan(encounters=args.encounters, kill_rounds=args.rounds, pause_s=(3.0, 10.0), seed=args.seed,
                     settle_timeout_s=3600.0)  # fmt: skip
    sys.exit(asyncio.run(run(plan)))


if __name__ == "__main__":
    main()
