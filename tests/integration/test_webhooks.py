"""Webhooks end to end: events on the real broker, the notifications service in its own process, and a real local
receiver verifying every request with the Standard Webhooks library."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from cli.services import ServiceProcess
from shared.events.catalog import ClaimDeniedV1, ClaimStatusChangedV1
from tests.support.events import publish
from tests.support.pipeline import Pipeline, eventually, metric_total, new_tenant
from tests.support.receivers import WebhookReceiver

pytestmark = pytest.mark.integration

FAST = {
    "CLAIMFLOW_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "CLAIMFLOW_NOTIFICATIONS_WEBHOOK_INTERVAL_S": "0.1",
    "CLAIMFLOW_NOTIFICATIONS_WEBHOOK_RETRY_SCHEDULE_S": json.dumps([0] + [0.3] * 40),
    "CLAIMFLOW_NOTIFICATIONS_WEBHOOK_TIMEOUT_S": "15",
    "CLAIMFLOW_NOTIFICATIONS_RUN_ALERTS": "false",
}
READ_WRITE = ("webhooks:read", "webhooks:write")


def status_changed(claim_id: uuid.UUID, number: int) -> ClaimStatusChangedV1:
    return ClaimStatusChangedV1(
        claim_id=claim_id,
        claim_control_number=f"CLM{number:05d}",
        payer_id="SANDBOX",
        from_state="submitted",
        to_state="accepted",
        reason_codes=["A1:19:PR"],
        source="277CA",
        changed_at=dt.datetime.now(dt.UTC),
    )


def denied(number: int) -> ClaimDeniedV1:
    return ClaimDeniedV1(
        claim_id=uuid.uuid4(),
        claim_control_number=f"CLM{number:05d}",
        payer_id="SANDBOX",
        trace_number=f"TRN{number}",
        denial="full",
        denied_cents=12500,
        carcs=["50"],
    )


async def subscribe(
    client: httpx.AsyncClient, pipeline: Pipeline, tenant: str, url: str, event_types: list[str] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook-subscriptions",
        json={"url": url, "event_types": event_types or [], "description": "hospital EHR"},
        headers=pipeline.auth(tenant, *READ_WRITE),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["secret"].startswith("whsec_")
    return created


async def deliveries(
    client: httpx.AsyncClient, pipeline: Pipeline, tenant: str, subscription_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/webhook-deliveries",
        params={"subscription_id": subscription_id, "limit": 500},
        headers=pipeline.auth(tenant, "webhooks:read"),
    )
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def sender_rounds(process: ServiceProcess) -> float:
    return await metric_total(process, "claimflow_periodic_runs_total", work="webhooks")


async def test_every_event_reaches_the_receiver_once_per_webhook_id_across_an_outage_and_retries(
    services: Pipeline,
) -> None:
    # The receiver is down at first, then answers 503 to its first 5 requests, then 500 to every 4th after
    # having taken it in (so the same webhook-id arrives again), else 204.
    receiver = WebhookReceiver(answer=lambda n: 503 if n < 5 else (500 if n % 4 == 0 else 204))
    notifications = await services.start("notifications", **FAST)
    tenant, other_tenant = new_tenant(), new_tenant()
    async with httpx.AsyncClient(base_url=notifications.base_url, timeout=10) as client:
        subscription = await subscribe(
            client, services, tenant, f"{receiver.url}/hook", ["claim-status-changed.v1", "claim-denied.v1"]
        )
        receiver.secret = subscription["secret"]
        other = await subscribe(client, services, other_tenant, f"{receiver.url}/other")

        claim_id = uuid.uuid4()
        events = await publish(services.kafka, tenant, [status_changed(claim_id, n) for n in range(20)])
        events += await publish(services.kafka, tenant, [denied(n) for n in range(10)])

        # While the receiver is down every attempt fails and is logged.
        failed = await eventually(
            lambda: _with_errors(client, services, tenant, subscription["id"]), what="failed attempts while down"
        )
        assert all(d["status"] == "pending" for d in failed)
        await receiver.start()
        try:
            all_delivered = await eventually(
                lambda: _all_delivered(client, services, tenant, subscription["id"], len(events)),
                timeout_s=60,
                what="every delivery delivered",
            )
        finally:
            await receiver.stop()

        taken = [r for r in receiver.received if r.path == "/hook"]
        assert all(r.verified for r in taken), "every request verifies with the subscription's secret"
        by_webhook_id: dict[str, set[bytes]] = {}
        for request in taken:
            by_webhook_id.setdefault(request.headers["webhook-id"], set()).add(request.body)
        assert len(by_webhook_id) == len(events), "one webhook-id per event"
        assert all(len(bodies) == 1 for bodies in by_webhook_id.values()), "a retry sends the same body"
        event_ids = {json.loads(next(iter(b)))["event_id"] for b in by_webhook_id.values()}
        assert event_ids == {e.id for e in events}
        assert len(taken) > len(events), "some events were sent more than once (retries after a 500)"
        assert not [r for r in receiver.received if r.path == "/other"], "other tenant's events are its own"

        # The delivery log: status codes, timings and attempts.
        retried = [d for d in all_delivered if d["attempts"] > 1]
        assert retried
        detail = (
            await client.get(
                f"/v1/webhook-deliveries/{retried[0]['id']}", headers=services.auth(tenant, "webhooks:read")
            )
        ).json()
        assert len(detail["attempt_log"]) == detail["attempts"]
        assert detail["attempt_log"][-1]["status_code"] == 204
        assert all(a["duration_ms"] >= 0 for a in detail["attempt_log"])
        assert any(a["status_code"] is None and a["error"] for a in detail["attempt_log"]) or any(
            a["status_code"] in (500, 503) for a in detail["attempt_log"]
        )

        # A tampered body or signature is detected by the standard's library.
        sample = taken[-1]
        with pytest.raises(WebhookVerificationError):
            Webhook(subscription["secret"]).verify(sample.body.replace(b"CLM", b"CLX"), sample.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(subscription["secret"]).verify(
                sample.body, {**sample.headers, "webhook-signature": "v1," + "A" * 44}
            )

        # Re-send by API: the same webhook-id and body again.
        await receiver.start()
        receiver.answer = lambda _: 204
        try:
            before = len(receiver.received)
            chosen = all_delivered[0]
            resent = await client.post(
                f"/v1/webhook-deliveries/{chosen['id']}/resend", headers=services.auth(tenant, *READ_WRITE)
            )
            assert resent.status_code == 202, resent.text
            await eventually(lambda: _received_after(receiver, before), what="the re-sent delivery")
            again = receiver.received[before]
            assert again.headers["webhook-id"] == chosen["webhook_id"]
            assert again.verified
        finally:
            await receiver.stop()

        # Tenancy and scopes.
        foreign = await client.get(
            f"/v1/webhook-subscriptions/{other['id']}", headers=services.auth(tenant, "webhooks:read")
        )
        assert foreign.status_code == 404
        forbidden = await client.get("/v1/webhook-subscriptions", headers=services.auth(tenant, "claims:read"))
        assert forbidden.status_code == 403


async def _with_errors(
    client: httpx.AsyncClient, pipeline: Pipeline, tenant: str, subscription_id: str
) -> list[dict[str, Any]]:
    found = await deliveries(client, pipeline, tenant, subscription_id)
    return found if found and all(d["last_error"] for d in found) else []


async def _all_delivered(
    client: httpx.AsyncClient, pipeline: Pipeline, tenant: str, subscription_id: str, count: int
) -> list[dict[str, Any]]:
    found = await deliveries(client, pipeline, tenant, subscription_id)
    return found if len(found) == count and all(d["status"] == "delivered" for d in found) else []


async def _received_after(receiver: WebhookReceiver, count: int) -> bool:
    return len(receiver.received) > count


async def test_a_failing_subscription_is_disabled_stops_and_resumes_when_enabled(services: Pipeline) -> None:
    receiver = WebhookReceiver(answer=lambda _: 500)
    notifications = await services.start(
        "notifications",
        **FAST,
        CLAIMFLOW_NOTIFICATIONS_WEBHOOK_DISABLE_AFTER_FAILURES="3",
        CLAIMFLOW_NOTIFICATIONS_WEBHOOK_DISABLE_AFTER_S="0",
    )
    tenant = new_tenant()
    await receiver.start()
    try:
        async with httpx.AsyncClient(base_url=notifications.base_url, timeout=10) as client:
            subscription = await subscribe(client, services, tenant, f"{receiver.url}/hook")
            receiver.secret = subscription["secret"]
            first = await publish(services.kafka, tenant, [denied(n) for n in range(3)])

            disabled = await eventually(
                lambda: _subscription_if(client, services, tenant, subscription["id"], enabled=False),
                what="the subscription disabled after failures",
            )
            assert "consecutive failed attempts" in disabled["disabled_reason"]
            assert disabled["consecutive_failures"] >= 3

            # Disabled: new events are recorded but nothing is sent, however many rounds the sender runs.
            requests_when_disabled = len(receiver.received)
            later = await publish(services.kafka, tenant, [denied(n) for n in range(3, 6)])
            await eventually(
                lambda: _count_at_least(client, services, tenant, subscription["id"], len(first) + len(later)),
                what="deliveries recorded while disabled",
            )
            rounds = await sender_rounds(notifications)
            await eventually(lambda: _rounds_past(notifications, rounds + 10), what="ten more sender rounds")
            assert len(receiver.received) == requests_when_disabled
            waiting = await deliveries(client, services, tenant, subscription["id"])
            assert all(d["status"] == "pending" for d in waiting)
            assert all(d["attempts"] == 0 for d in waiting if d["event_id"] in {e.id for e in later})

            # Enabled again (the receiver mended): everything waiting goes out.
            receiver.answer = lambda _: 204
            enabled = await client.post(
                f"/v1/webhook-subscriptions/{subscription['id']}/enable", headers=services.auth(tenant, *READ_WRITE)
            )
            assert enabled.status_code == 200, enabled.text
            assert enabled.json()["enabled"] is True
            assert enabled.json()["consecutive_failures"] == 0
            await eventually(
                lambda: _all_delivered(client, services, tenant, subscription["id"], len(first) + len(later)),
                what="everything delivered after re-enabling",
            )
            delivered_ids = {r.headers["webhook-id"] for r in receiver.delivered()}
            assert len(delivered_ids) == len(first) + len(later)
            assert all(r.verified for r in receiver.received)

            # 410 Gone disables at once.
            receiver.answer = lambda _: 410
            await publish(services.kafka, tenant, [denied(99)])
            gone = await eventually(
                lambda: _subscription_if(client, services, tenant, subscription["id"], enabled=False),
                what="disabled by 410",
            )
            assert "410" in gone["disabled_reason"]
    finally:
        await receiver.stop()


async def test_subscriptions_are_managed_and_secrets_rotate(services: Pipeline) -> None:
    receiver = WebhookReceiver()
    notifications = await services.start("notifications", **FAST)
    tenant = new_tenant()
    auth = services.auth(tenant, *READ_WRITE)
    await receiver.start()
    try:
        async with httpx.AsyncClient(base_url=notifications.base_url, timeout=10) as client:
            created = await subscribe(client, services, tenant, f"{receiver.url}/hook", ["claim-denied.v1"])
            bad = await client.post(
                "/v1/webhook-subscriptions", json={"url": f"{receiver.url}/x", "event_types": ["nope.v1"]}, headers=auth
            )
            assert bad.status_code == 422
            listed = (await client.get("/v1/webhook-subscriptions", headers=auth)).json()
            assert [s["id"] for s in listed] == [created["id"]]
            assert "secret" not in listed[0]

            patched = await client.patch(
                f"/v1/webhook-subscriptions/{created['id']}",
                json={"event_types": ["claim-denied.v1", "payment-received.v1"]},
                headers=auth,
            )
            assert patched.json()["event_types"] == ["claim-denied.v1", "payment-received.v1"]

            rotated = (
                await client.post(f"/v1/webhook-subscriptions/{created['id']}/rotate-secret", headers=auth)
            ).json()
            assert rotated["secret"] != created["secret"]
            assert rotated["previous_secret_expires_at"] is not None
            shown = (await client.get(f"/v1/webhook-subscriptions/{created['id']}/secret", headers=auth)).json()
            assert shown["secret"] == rotated["secret"]

            await publish(services.kafka, tenant, [denied(1)])
            await eventually(lambda: _received_after(receiver, 0), what="a delivery after rotation")
            request = receiver.received[0]
            Webhook(created["secret"]).verify(request.body, request.headers)  # old secret, within its grace
            Webhook(rotated["secret"]).verify(request.body, request.headers)

            gone = await client.delete(f"/v1/webhook-subscriptions/{created['id']}", headers=auth)
            assert gone.status_code == 204
            missing = await client.get(f"/v1/webhook-subscriptions/{created['id']}", headers=auth)
            assert missing.status_code == 404
    finally:
        await receiver.stop()


async def _subscription_if(
    client: httpx.AsyncClient, pipeline: Pipeline, tenant: str, subscription_id: str, *, enabled: bool
) -> dict[str, Any] | None:
    response = await client.get(
        f"/v1/webhook-subscriptions/{subscription_id}", headers=pipeline.auth(tenant, "webhooks:read")
    )
    found: dict[str, Any] = response.json()
    return found if found["enabled"] is enabled else None


async def _count_at_least(
    client: httpx.AsyncClient, pipeline: Pipeline, tenant: str, subscription_id: str, count: int
) -> bool:
    return len(await deliveries(client, pipeline, tenant, subscription_id)) >= count


async def _rounds_past(process: ServiceProcess, rounds: float) -> bool:
    return await sender_rounds(process) >= rounds


async def test_outside_development_only_https_public_targets_are_accepted(services: Pipeline) -> None:
    notifications = await services.start("notifications", CLAIMFLOW_NOTIFICATIONS_RUN_ALERTS="false")
    tenant = new_tenant()
    async with httpx.AsyncClient(base_url=notifications.base_url, timeout=10) as client:
        for url in (
            "http://ehr.example.com/hooks",
            "https://127.0.0.1/hooks",
            "https://localhost:8443/hooks",
            "https://10.1.2.3/hooks",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hooks",
            "https://[::1",
        ):
            refused = await client.post(
                "/v1/webhook-subscriptions", json={"url": url}, headers=services.auth(tenant, *READ_WRITE)
            )
            assert refused.status_code == 422, (url, refused.text)
        assert (
            await client.get("/v1/webhook-subscriptions", headers=services.auth(tenant, "webhooks:read"))
        ).json() == []
