"""Signed webhook deliveries per second from the notifications service to a local receiver, on this machine.

    .venv/bin/python bench/webhooks.py [--deliveries 20000]

Servers: CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS when set, else the local stack in
.local/bench-stack (started and stopped here). The notifications service runs as a real process; the receiver
is a separate process on 127.0.0.1 answering 204 (it checks a sample of signatures with the standardwebhooks
library). Due delivery rows are written into the notifications schema as its consumer would, then the time until
all are delivered (claimed, signed, POSTed, logged) is measured. Beside it: the receiver's own floor, the same
number of POSTs from the sender's HTTP client (aiohttp) with the same concurrency and no database.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.notifications.domain.webhooks import webhook_body, webhook_id
from services.notifications.settings import NotificationsSettings
from shared.events.catalog import ClaimStatusChangedV1
from tests.support.pipeline import bench_pipeline, free_port, metric_total

MAX_IN_FLIGHT = 256
PER_TARGET = NotificationsSettings.model_fields["webhook_max_per_target"].default
TARGET_PER_S = 2000
STALL_S = 120.0
"""The run fails when nothing is delivered for this long (a broken sender, not a slow one)."""


def serve(port: int) -> None:
    """The receiver: 204 to every POST, a count on GET, the secret by PUT; every 100th POST's signature verified."""
    import uvicorn
    from standardwebhooks.webhooks import Webhook

    state: dict[str, Any] = {"count": 0, "floor": 0, "verified": 0, "failed": 0, "webhook": None}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] == "PUT":
            state["webhook"] = Webhook(body.decode())
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["method"] == "GET":
            answer = json.dumps({k: v for k, v in state.items() if k != "webhook"}).encode()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": answer})
            return
        if scope["path"] != "/hook":
            state["floor"] += 1
        else:
            state["count"] += 1
        if scope["path"] == "/hook" and state["count"] % 100 == 1 and state["webhook"] is not None:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            try:
                state["webhook"].verify(body, headers)
                state["verified"] += 1
            except Exception:
                state["failed"] += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=300
    )


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def receiver_count(client: httpx.AsyncClient, url: str) -> dict[str, int]:
    answer: dict[str, int] = (await client.get(url)).json()
    return answer


async def floor(url: str, count: int) -> float:
    """POSTs per second from the sender's HTTP client (aiohttp) alone, same concurrency, no database, no signing."""
    body = b"x" * 420
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT, limit_per_host=PER_TARGET)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with session.post(url, data=body) as response:
                await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return count / (time.perf_counter() - started)


async def run(deliveries: int) -> None:
    port = free_port()
    receiver = await asyncio.create_subprocess_exec(sys.executable, __file__, "--serve", str(port))
    try:
        async with bench_pipeline((NOTIFICATIONS,)) as pipeline:
            await pipeline.start_groups_at_end(NOTIFICATIONS.subscriptions)
            notifications = await pipeline.start(
                "notifications",
                CLAIMFLOW_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
                CLAIMFLOW_NOTIFICATIONS_WEBHOOK_INTERVAL_S="0.05",
                CLAIMFLOW_NOTIFICATIONS_WEBHOOK_BATCH="1000",
                CLAIMFLOW_NOTIFICATIONS_WEBHOOK_MAX_IN_FLIGHT=str(MAX_IN_FLIGHT),
                CLAIMFLOW_NOTIFICATIONS_RUN_ALERTS="false",
            )
            tenant = f"bench-{uuid.uuid4().hex[:8]}"
            url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=notifications.base_url, timeout=10, trust_env=False) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        await receiver_count(client, url)
                        break
                    except httpx.HTTPError:
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(0.1)
                created = await client.post(
                    "/v1/webhook-subscriptions",
                    json={"url": f"{url}/hook"},
                    headers=pipeline.auth(tenant, "webhooks:write"),
                )
                created.raise_for_status()
                subscription = created.json()
                (await client.put(url, content=subscription["secret"].encode())).raise_for_status()
                floor_per_s = await floor(f"{url}/floor", min(deliveries, 10_000))
                before = await receiver_count(client, url)

                rows = []
                now = dt.datetime.now(dt.UTC)
                subscription_id = uuid.UUID(subscription["id"])
                for number in range(deliveries):
                    event_id = str(uuid.uuid4())
                    payload = ClaimStatusChangedV1(
                        claim_id=uuid.uuid4(),
                        claim_control_number=f"CLM{number:07d}",
                        payer_id="SANDBOX",
                        from_state="submitted",
                        to_state="accepted",
                        source="277CA",
                        changed_at=now,
                    )
                    body = webhook_body(
                        event_id=event_id, event_type="claim-status-changed.v1", occurred_at=now, payload=payload
                    )
                    rows.append(
                        (
                            uuid.uuid4(),
                            tenant,
                            subscription_id,
                            event_id,
                            "claim-status-changed.v1",
                            webhook_id(subscription_id, event_id),
                            body,
                            "pending",
                            0,
                            0,
                            now,
                            now,
                        )
                    )
                admin = await asyncpg.connect(pipeline.admin_url)
                try:
                    sender_cpu = process_cpu_s(notifications.process.pid if notifications.process else None)
                    rounds = await metric_total(notifications, "claimflow_periodic_runs_total", work="webhooks")
                    started = time.perf_counter()
                    await admin.copy_records_to_table(
                        "webhook_deliveries",
                        schema_name="notifications",
                        records=rows,
                        columns=[
                            "id",
                            "tenant_id",
                            "subscription_id",
                            "event_id",
                            "event_type",
                            "webhook_id",
                            "body",
                            "status",
                            "attempts",
                            "schedule_attempts",
                            "next_attempt_at",
                            "created_at",
                        ],
                    )
                    next_report = started + 5
                    loads = [os.getloadavg()[0]]
                    moved, last = time.perf_counter(), -1
                    while True:
                        delivered = await admin.fetchval(
                            "SELECT count(*) FROM notifications.webhook_deliveries"
                            " WHERE tenant_id = $1 AND status = 'delivered'",
                            tenant,
                        )
                        if delivered >= deliveries:
                            break
                        if delivered != last:
                            moved, last = time.perf_counter(), delivered
                        elif time.perf_counter() - moved > STALL_S:
                            log_path = notifications.log_path
                            raise RuntimeError(f"nothing delivered for {STALL_S:.0f} s ({delivered:,}); see {log_path}")
                        if time.perf_counter() >= next_report:
                            print(
                                f"  ... {delivered:,} delivered after {time.perf_counter() - started:.1f} s", flush=True
                            )
                            next_report += 5
                        await asyncio.sleep(0.05)
                    elapsed = time.perf_counter() - started
                    loads.append(os.getloadavg()[0])
                    sender_cpu = (
                        process_cpu_s(notifications.process.pid if notifications.process else None) - sender_cpu
                    )
                    rounds = (
                        await metric_total(notifications, "claimflow_periodic_runs_total", work="webhooks") - rounds
                    )
                    attempts = await admin.fetchval(
                        "SELECT count(*) FROM notifications.webhook_attempts a JOIN notifications.webhook_deliveries d"
                        " ON d.id = a.delivery_id WHERE d.tenant_id = $1",
                        tenant,
                    )
                finally:
                    await admin.close()
                after = await receiver_count(client, url)

        received = after["count"] - before["count"]
        per_s = deliveries / elapsed
        print(
            f"\nclaimflow webhooks benchmark  (cores: {os.cpu_count()}, deliveries: {deliveries},"
            f" in flight: {MAX_IN_FLIGHT})"
        )
        print(
            f"  due rows -> signed POST -> 204 -> logged   {per_s:>10,.0f} deliveries/s   ({elapsed:.2f} s;"
            f" target >= {TARGET_PER_S:,}/s: {'met' if per_s >= TARGET_PER_S else 'NOT met'})"
        )
        print(f"  floor: aiohttp alone -> the same receiver  {floor_per_s:>10,.0f} POSTs/s   (no database, no signing)")
        print(
            f"  receiver took {received} requests for {deliveries} deliveries ({attempts} attempts logged);"
            f" signatures checked {after['verified']}, failed {after['failed']}"
        )
        print(
            f"  notifications process CPU: {sender_cpu / deliveries * 1000:.2f} ms per delivery"
            f" -> {deliveries / sender_cpu:,.0f} deliveries/s per free core"
        )
        print(
            f"  sender rounds: {rounds:,.0f} ({deliveries / max(rounds, 1):,.1f} deliveries per round;"
            " a round writes the results so far and claims more in one transaction)"
        )
        print(
            f"  load average at the start and end of the run: {loads[0]:.1f}, {loads[1]:.1f}"
            " (other work on this machine shares its cores)"
        )
    finally:
        receiver.terminate()
        await receiver.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve)
        return
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a timeout still stops the services
    asyncio.run(run(arguments.deliveries))


if __name__ == "__main__":
    main()
