"""The chaos run shared by `bench/chaos.py` and its shorter twin in the suite: a synthetic practice's encounters
and their remittances flow through every service while the services are SIGKILLed and restarted on their own
ports (and, in the benchmark, the broker and Postgres each restarted once); afterwards the books are audited:
one claim per encounter, each claim payment posted once, every claim's ledger balanced to the cent, every event
applied once by each consumer group, no outbox row left behind."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx
from aiokafka import TopicPartition

from cli.demo import DemoProgress, DemoRun
from cli.demo_practice import build_practice
from cli.demo_summary import ClaimOutcome, summarize
from services.claims.app import DEFINITION as CLAIMS
from services.denials.app import DEFINITION as DENIALS
from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.remittance.app import DEFINITION as REMITTANCE
from shared.messaging.topics import all_topic_names
from tests.support.demo_system import RunningSystem, demo_end_date, running_system
from tests.support.pipeline import Pipeline, end_offsets_of, read_from

DEFINITIONS = (INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS)
BATCH = 100


class ServerRestarts(Protocol):
    """Restarts the broker or Postgres in place (same port, same data)."""

    def restart_broker(self) -> None: ...

    def restart_postgres(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChaosPlan:
    encounters: int
    kill_rounds: int
    """How many times each service is SIGKILLed and restarted."""
    pause_s: tuple[float, float] = (1.0, 3.0)
    seed: int = 11
    settle_timeout_s: float = 600.0


@dataclass
class ChaosReport:
    actions: list[str] = field(default_factory=list)
    encounters: int = 0
    claims: int = 0
    encounters_without_one_claim: int = 0
    payments_posted: int = 0
    payments_posted_twice: int = 0
    claims_unbalanced: int = 0
    """Claim ledgers still unbalanced once the pipeline is quiet (see `claims_unbalanced_at_settle`)."""
    claims_unbalanced_at_settle: int = 0
    """Claim ledgers unbalanced when every claim had reached a final state (postings may still be in flight)."""
    unbalanced_examples: list[str] = field(default_factory=list)
    """A few of the ledgers still unbalanced: state, primary/secondary and the amounts (no PHI)."""
    ledger_balanced: bool = False
    events_on_topics: int = 0
    group_mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Consumer group -> (events it should have applied, events its inbox records), where they differ."""
    dead_letters: int = 0
    outbox_left: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def problems(self) -> list[str]:
        found = []
        if self.encounters_without_one_claim:
            found.append(f"{self.encounters_without_one_claim} encounters without exactly one claim")
        if self.payments_posted_twice:
            found.append(f"{self.payments_posted_twice} claim payments posted more than once")
        if self.claims_unbalanced:
            found.append(f"{self.claims_unbalanced} claim ledgers unbalanced: {self.unbalanced_examples}")
        if self.group_mismatches:
            found.append(f"consumer groups applying other than each event once: {self.group_mismatches}")
        if self.dead_letters:
            found.append(f"{self.dead_letters} dead letters")
        if any(self.outbox_left.values()):
            found.append(f"outbox rows left: {self.outbox_left}")
        return found


async def _until_answered(what: Callable[[], Awaitable[httpx.Response]], *, timeout_s: float = 180) -> httpx.Response:
    """The answer once the service is back: connection errors and 5xx (a service restarting) are retried."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            response = await what()
            if response.status_code < 500:
                return response
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError("no answer while services restarted")
        await asyncio.sleep(0.5)


async def _send_encounters(client: httpx.AsyncClient, intake: str, encounters: list[dict[str, Any]]) -> list[str]:
    """Every encounter in batches, each batch retried under its Idempotency-Key until it is answered."""
    ids: list[str] = []
    for start in range(0, len(encounters), BATCH):
        batch = {"encounters": encounters[start : start + BATCH]}
        key = {"Idempotency-Key": f"chaos-{start}-{len(encounters)}"}
        response = await _until_answered(
            lambda: client.post(f"{intake}/v1/encounters:batch", json=batch, headers=key)  # noqa: B023
        )
        assert response.status_code in (200, 201, 207), response.status_code
        ids.extend(str(result["id"]) for result in response.json()["results"])
    return ids


async def _chaos(
    system: RunningSystem, plan: ChaosPlan, servers: ServerRestarts | None, report: ChaosReport, rng: random.Random
) -> None:
    """Each round kills every service once, in a random order, and waits until it is ready again."""
    for round_number in range(1, plan.kill_rounds + 1):
        names = list(system.processes)
        rng.shuffle(names)
        for name in names:
            await asyncio.sleep(rng.uniform(*plan.pause_s))
            process = system.processes[name]
            process.kill()
            report.actions.append(f"round {round_number}: SIGKILL {name}")
            process.start()
            await process.wait_ready(120)
        if servers is not None and round_number == 1:
            await asyncio.sleep(rng.uniform(*plan.pause_s))
            await asyncio.to_thread(servers.restart_broker)
            report.actions.append("broker restarted")
        if servers is not None and round_number == min(2, plan.kill_rounds):
            await asyncio.sleep(rng.uniform(*plan.pause_s))
            await asyncio.to_thread(servers.restart_postgres)
            report.actions.append("Postgres restarted")


async def run_chaos(
    pipeline: Pipeline, folder: Path, plan: ChaosPlan, servers: ServerRestarts | None = None
) -> ChaosReport:
    report = ChaosReport()
    rng = random.Random(plan.seed)
    start = await end_offsets_of(pipeline.kafka, [name for name, _ in all_topic_names()])
    started = time.monotonic()
    async with running_system(pipeline, folder) as system:
        practice = build_practice(plan.seed, plan.encounters, demo_end_date())
        headers = {"Authorization": f"Bearer {system.token}"}
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            run = DemoRun(client, system.urls)
            await run.register(practice, DemoProgress(None))
            chaos = asyncio.create_task(_chaos(system, plan, servers, report, rng))
            try:
                ids = await _send_encounters(client, system.urls.intake, list(practice.encounters))
                await chaos
            finally:
                chaos.cancel()
            report.encounters = len(ids)
            claims, _ = await run.wait_settled(ids, DemoProgress(None), plan.settle_timeout_s)
            outcomes = [await run.outcome(claim) for claim in claims.values()]
            summary = summarize(
                outcomes, encounters=len(ids), encounters_created=len(ids), suspense_matched=0, elapsed_s=0, seed=0
            )
            report.claims = len(claims)
            report.ledger_balanced = summary.ledger_balanced
            unbalanced = [outcome.claim_id for outcome in outcomes if not outcome.balanced]
            report.claims_unbalanced_at_settle = len(unbalanced)
            by_id = {str(claim["id"]): claim for claim in claims.values()}
            still = await _still_unbalanced(run, [by_id[claim_id] for claim_id in unbalanced], QUIET_TIMEOUT_S)
            report.claims_unbalanced = len(still)
            report.unbalanced_examples = [_described(outcome) for outcome in still[:5]]
        report.elapsed_s = time.monotonic() - started
        admin = await asyncpg.connect(pipeline.admin_url)
        try:
            await _audit(admin, pipeline, system.tenant, start, report)
        finally:
            await admin.close()
    return report


QUIET_TIMEOUT_S = 120.0


async def _still_unbalanced(run: DemoRun, claims: list[dict[str, Any]], timeout_s: float) -> list[ClaimOutcome]:
    """The claims whose ledgers stay unbalanced while the last postings (secondary payments, netting, write-offs
    in flight when every claim had reached a final state) land; read again until none is left or time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        outcomes = [await run.outcome(claim) for claim in claims]
        still = [outcome for outcome in outcomes if not outcome.balanced]
        if not still or time.monotonic() > deadline:
            return still
        claims = [claim for claim in claims if str(claim["id"]) in {outcome.claim_id for outcome in still}]
        await asyncio.sleep(1.0)  # polling the ledgers: no event says "this claim's postings are all in"


def _described(outcome: ClaimOutcome) -> str:
    ledger = outcome.ledger
    amounts = (
        "no ledger"
        if ledger is None
        else f"charge {ledger.charge_cents} paid {ledger.paid_cents} adjusted {ledger.adjustment_cents} "
        f"patient {ledger.patient_responsibility_cents} open {ledger.open_cents}"
    )
    kind = "secondary" if outcome.is_secondary else "primary"
    return f"{kind} {outcome.state} (billed {outcome.total_charge_cents}): {amounts}"


async def _audit(
    admin: asyncpg.Connection, pipeline: Pipeline, tenant: str, start: dict[TopicPartition, int], report: ChaosReport
) -> None:
    report.encounters_without_one_claim = await admin.fetchval(
        "SELECT count(*) FROM intake.encounters e WHERE e.tenant_id = $1 AND (SELECT count(*) FROM claims.claims c "
        "WHERE c.tenant_id = e.tenant_id AND c.encounter_id = e.id AND c.responsibility = 'P' "
        "AND c.frequency_code = '1') <> 1",
        tenant,
    )
    report.payments_posted = await admin.fetchval(
        "SELECT count(*) FROM remittance.claim_payments WHERE tenant_id = $1 AND state = 'posted'", tenant
    )
    report.payments_posted_twice = await admin.fetchval(
        "SELECT count(*) FROM (SELECT claim_id FROM remittance.claim_payments WHERE tenant_id = $1 "
        "AND state = 'posted' AND reversal_of IS NULL AND status_code <> '22' "
        "GROUP BY claim_id, payer_claim_control_number, paid_cents HAVING count(*) > 1) twice",
        tenant,
    )
    records = await read_from(pipeline.kafka_bootstrap_servers, start)
    mine = [r for r in records if dict(r.headers or ()).get("ce_tenant") == tenant.encode()]
    report.dead_letters = sum(1 for r in mine if r.topic.endswith(".dlt"))
    by_topic: dict[str, set[str]] = {}
    for record in mine:
        event_id = dict(record.headers or ()).get("ce_id", b"").decode()
        by_topic.setdefault(record.topic, set()).add(event_id)
    report.events_on_topics = sum(len(ids) for ids in by_topic.values())
    for definition in DEFINITIONS:
        schema = str(definition.metadata.schema)  # the service's own schema name, not input
        for subscription in definition.subscriptions:
            expected = set().union(*(by_topic.get(topic, set()) for topic in subscription.topics))
            applied = Counter(
                row["event_id"]
                for row in await admin.fetch(
                    f"SELECT event_id FROM {schema}.inbox WHERE consumer_group = $1 AND event_id = ANY($2::text[])",  # noqa: S608
                    pipeline.group(subscription.group_id),
                    list(expected),
                )
            )
            if set(applied) != expected or any(count != 1 for count in applied.values()):
                report.group_mismatches[subscription.group_id] = (len(expected), sum(applied.values()))
        report.outbox_left[schema] = await admin.fetchval(
            f"SELECT count(*) FROM {schema}.outbox WHERE tenant_id = $1 AND published_at IS NULL",  # noqa: S608
            tenant,
        )
