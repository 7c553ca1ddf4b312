"""One claim's trace across real service processes, collected by an in-memory OTLP receiver: the HTTP
intake span, its database transaction writing the outbox row, the event over Kafka, each consumer's
processing span and the database work under it, all in one trace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from cli.demo import DemoProgress, DemoRun
from cli.demo_practice import build_practice
from tests.support.demo_system import RunningSystem, demo_end_date, running_system
from tests.support.otlp import OtlpReceiver, ReceivedSpan
from tests.support.pipeline import Pipeline, eventually

pytestmark = pytest.mark.integration
TRACE_ID = "5cf92f3577b34da6a3ce929d0e0e4731"
CALLER_SPAN = "a0f067aa0ba902b7"
OTEL = {"OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_EXPORTER_OTLP_TIMEOUT": "5"}


@pytest.fixture(scope="module")
async def receiver(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OtlpReceiver]:
    """The receiver, once one claim went from the HTTP intake to the payer's answer with every service up."""
    with OtlpReceiver().running() as running:
        folder = tmp_path_factory.mktemp("trace")
        async with running_system(pipeline, folder, OTEL_EXPORTER_OTLP_ENDPOINT=running.endpoint, **OTEL) as system:
            await one_claim(system)

            async def both_consumers_reported() -> bool:
                consumers = {s.service for s in running.snapshot()
                             if s.trace_id == TRACE_ID and s.name == "process encounter-coded"}  # fmt: skip
                return {"claimflow-claims", "claimflow-notifications"} <= consumers

            await eventually(both_consumers_reported, timeout_s=60, what="every consumer's span in the trace")
            yield running


async def one_claim(system: RunningSystem) -> str:
    """Register a one-encounter practice, post its encounter under the caller's trace; the claim's id once
    the payer has answered."""
    practice = build_practice(31, 1, demo_end_date())
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {system.token}"}, timeout=30) as client:
        run = DemoRun(client, system.urls)
        await run.register(practice, DemoProgress(None))
        traced = {"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"}
        response = await client.post(f"{system.urls.intake}/v1/encounters", json=practice.encounters[0], headers=traced)
        assert response.status_code == 201, response.text
        encounter_id = response.json()["id"]

        async def adjudicated() -> str | None:
            claims = await run.claims_of(encounter_id)
            done = [c for c in claims if c["state"] in ("paid", "partially_paid", "denied")]
            return str(done[0]["id"]) if done else None

        return str(await eventually(adjudicated, timeout_s=120, what="the claim adjudicated"))


def children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [span for span in spans if span.parent_span_id == parent.span_id]


def descendants(spans: list[ReceivedSpan], root: ReceivedSpan) -> list[ReceivedSpan]:
    found, frontier = [], [root]
    while frontier:
        level = [child for parent in frontier for child in children(spans, parent)]
        found.extend(level)
        frontier = level
    return found


async def test_one_claims_trace_links_http_outbox_kafka_consumers_and_database(receiver: OtlpReceiver) -> None:
    spans = [span for span in receiver.snapshot() if span.trace_id == TRACE_ID]

    # HTTP intake: the server span continues the caller's trace.
    (intake,) = [s for s in spans if s.service == "claimflow-intake" and s.kind == "server"]
    assert intake.parent_span_id == CALLER_SPAN
    assert intake.attributes.get("http.route") == "/v1/encounters"
    # The database transaction under it writes the encounter and the outbox row.
    intake_db = [s for s in descendants(spans, intake) if s.kind == "client" and s.attributes.get("db.system")]
    statements = " ".join(str(s.attributes.get("db.statement", "")) for s in intake_db)
    assert "intake.outbox" in statements and "intake.encounters" in statements
    # Outbox -> relay -> Kafka -> each consumer: the processing span's parent is the span that wrote the
    # outbox row (the context saved in the row travels in the Kafka headers).
    intake_ids = {intake.span_id} | {s.span_id for s in descendants(spans, intake)}
    for service in ("claimflow-claims", "claimflow-notifications"):
        (process,) = [s for s in spans if s.service == service and s.name == "process encounter-coded"]
        assert process.parent_span_id in intake_ids, service
        assert process.attributes["messaging.destination.name"] == "encounter-coded"
        assert process.attributes["messaging.system"] == "kafka"
        assert isinstance(process.attributes["messaging.kafka.offset"], int)
        # ... and the handler's database work (its effects in the service's own schema) is under that span.
        schema = service.removeprefix("claimflow-")
        consumer_db = [s for s in descendants(spans, process) if s.attributes.get("db.system")]
        assert any(f"{schema}." in str(s.attributes.get("db.statement", "")) for s in consumer_db), service


async def test_the_837_batch_and_the_835_posting_join_the_claims_trace(receiver: OtlpReceiver) -> None:
    async def joined() -> bool:
        spans = receiver.snapshot()
        ours = {s.span_id for s in spans if s.trace_id == TRACE_ID}
        downstream = [
            s for s in spans
            if s.name in ("process claim-submitted", "process payment-received")
            and (s.trace_id == TRACE_ID or any(link[1] in ours for link in s.links))
        ]  # fmt: skip
        return {s.name for s in downstream} == {"process claim-submitted", "process payment-received"}

    await eventually(joined, timeout_s=20, what="the 837 and 835 hops in the claim's trace")
