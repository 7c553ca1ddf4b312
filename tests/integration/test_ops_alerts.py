"""Ops alerts end to end: dead letters on the real broker, stuck claims from real events, consumer lag from a
service's /metrics over HTTP; notices to a real webhook receiver (signed) and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from cli.services import ServiceProcess
from services.notifications.domain.webhooks import new_secret
from shared.events.catalog import ClaimStatusChangedV1, ClaimSubmittedV1, SubmittedClaimLine
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import CLAIM_DENIED
from tests.support.events import publish
from tests.support.pipeline import Pipeline, eventually, metric_total, new_tenant, produce
from tests.support.receivers import Received, SmtpReceiver, WebhookReceiver

pytestmark = pytest.mark.integration

LAGGING = """\
# TYPE claimflow_consumer_lag gauge
claimflow_consumer_lag{group="claims",partition="0",service="claims",topic="encounter-coded"} 50000.0
# TYPE claimflow_outbox_oldest_age_seconds gauge
claimflow_outbox_oldest_age_seconds{service="claims"} 1.0
"""
HEALTHY = LAGGING.replace("50000.0", "0.0")


def submitted(claim_id: uuid.UUID, at: dt.datetime) -> ClaimSubmittedV1:
    return ClaimSubmittedV1(
        claim_id=claim_id,
        encounter_id=uuid.uuid4(),
        claim_control_number="CLM-STUCK",
        payer_id="SANDBOX",
        claim_type="professional",
        total_charge_cents=12500,
        lines=[
            SubmittedClaimLine(
                line_number=1, line_control_number="1", procedure_code="99213", units=1, charge_cents=12500
            )
        ],
        interchange_control_number="000000001",
        submitted_at=at,
    )


def paid(claim_id: uuid.UUID) -> ClaimStatusChangedV1:
    return ClaimStatusChangedV1(
        claim_id=claim_id,
        claim_control_number="CLM-STUCK",
        payer_id="SANDBOX",
        from_state="submitted",
        to_state="paid",
        source="835",
        changed_at=dt.datetime.now(dt.UTC),
    )


def alerts(receiver: WebhookReceiver) -> list[tuple[str, str]]:
    """(type, key) of every alert the receiver took, in order."""
    taken: list[Received] = [r for r in receiver.received if r.path == "/alerts"]
    return [(body["type"], body["data"]["key"]) for body in (json.loads(r.body) for r in taken)]


async def alert_rounds(process: ServiceProcess) -> float:
    return await metric_total(process, "claimflow_periodic_last_success_timestamp_seconds", work="ops-alerts")


async def test_alerts_fire_once_rate_limited_and_resolve(services: Pipeline) -> None:
    secret = new_secret()
    receiver = WebhookReceiver(secret=secret, metrics_text=LAGGING)
    smtp = SmtpReceiver()
    smtp.start()
    await receiver.start()
    try:
        notifications = await services.start(
            "notifications",
            CLAIMFLOW_NOTIFICATIONS_RUN_WEBHOOKS="false",
            CLAIMFLOW_NOTIFICATIONS_ALERT_INTERVAL_S="0.3",
            CLAIMFLOW_NOTIFICATIONS_ALERT_WEBHOOK_URL=f"{receiver.url}/alerts",
            CLAIMFLOW_NOTIFICATIONS_ALERT_WEBHOOK_SECRET=secret,
            CLAIMFLOW_NOTIFICATIONS_ALERT_EMAIL_TO=json.dumps(["ops@claimflow.test"]),
            CLAIMFLOW_NOTIFICATIONS_SMTP_HOST="127.0.0.1",
            CLAIMFLOW_NOTIFICATIONS_SMTP_PORT=str(smtp.port),
            CLAIMFLOW_NOTIFICATIONS_ALERT_METRICS_URLS=json.dumps({"claims": f"{receiver.url}/metrics"}),
            CLAIMFLOW_NOTIFICATIONS_ALERT_CONSUMER_LAG="1000",
            CLAIMFLOW_NOTIFICATIONS_ALERT_STUCK_AFTER_S=json.dumps({"submitted": 365 * 86400}),
            CLAIMFLOW_NOTIFICATIONS_ALERT_DEAD_LETTER_QUIET_S="2",
            CLAIMFLOW_NOTIFICATIONS_ALERT_REPEAT_S="3600",
        )
        lag_firing = ("ops-alert.firing", "consumer-lag:claims:claims")
        await eventually(lambda: _has(receiver, lag_firing), what="the consumer-lag alert")

        # A claim submitted two years ago with no answer since is stuck (claims of other tests in this session are
        # younger than the threshold); its payment resolves the alert.
        claim_id = uuid.uuid4()
        tenant = new_tenant()
        await publish(
            services.kafka,
            tenant,
            [submitted(claim_id, dt.datetime.now(dt.UTC) - dt.timedelta(days=730))],
        )
        stuck_firing = ("ops-alert.firing", "claims-stuck:submitted")
        await eventually(lambda: _has(receiver, stuck_firing), what="the stuck-claims alert")
        await publish(services.kafka, tenant, [paid(claim_id)])
        await eventually(
            lambda: _has(receiver, ("ops-alert.resolved", "claims-stuck:submitted")), what="stuck claims resolved"
        )

        # A dead letter arriving fires; quiet for 2 s resolves.
        envelope = EventEnvelope.new(source="/tests", subject=str(uuid.uuid4()), tenant=tenant, payload=paid(claim_id))
        key, value, headers = to_kafka(envelope)
        await produce(
            services.kafka,
            CLAIM_DENIED.dead_letter,
            key=key,
            value=value,
            headers=headers + [("dlt-error", b"ValueError: test")],
        )
        dlt_key = f"dead-letters:{CLAIM_DENIED.dead_letter}"
        await eventually(lambda: _has(receiver, ("ops-alert.firing", dlt_key)), what="the dead-letter alert")
        await eventually(lambda: _has(receiver, ("ops-alert.resolved", dlt_key)), what="dead letters resolved")

        # The lag alert has been firing all along: told once (rate-limited), then resolved when the lag clears.
        assert alerts(receiver).count(lag_firing) == 1
        receiver.metrics_text = HEALTHY
        await eventually(
            lambda: _has(receiver, ("ops-alert.resolved", "consumer-lag:claims:claims")), what="lag resolved"
        )
        rounds = await alert_rounds(notifications)
        await eventually(lambda: _rounds_past(notifications, rounds), what="another alert round")
        sent = alerts(receiver)
        assert sent.count(lag_firing) == 1
        assert sent.count(("ops-alert.resolved", "consumer-lag:claims:claims")) == 1
        assert sent.count(stuck_firing) == 1

        # Every webhook notice is signed; every notice also went by email.
        for request in (r for r in receiver.received if r.path == "/alerts"):
            Webhook(secret).verify(request.body, request.headers)
        subjects = smtp.subjects()
        assert "[claimflow] FIRING consumer-lag:claims:claims" in subjects
        assert "[claimflow] RESOLVED consumer-lag:claims:claims" in subjects
        assert f"[claimflow] RESOLVED {dlt_key}" in subjects
        assert subjects.count("[claimflow] FIRING consumer-lag:claims:claims") == 1
    finally:
        await receiver.stop()
        smtp.stop()


async def _has(receiver: WebhookReceiver, alert: tuple[str, str]) -> bool:
    return alert in alerts(receiver)


async def _rounds_past(process: ServiceProcess, last_success: float) -> bool:
    value: Any = await alert_rounds(process)
    return bool(value > last_success)
