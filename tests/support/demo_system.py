"""The whole system in real processes for one tenant, as `claimflow up` runs it: the five services on a
file-drop clearinghouse answered by the sandbox payer (demo rules, fast polls)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from cli.endpoints import ServiceUrls
from cli.pipeline import ALL_SCOPES, SandboxProcess, write_demo_rules
from cli.services import ServiceProcess
from services.claims.app import DEFINITION as CLAIMS
from services.denials.app import DEFINITION as DENIALS
from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.remittance.app import DEFINITION as REMITTANCE
from tests.support.file_drop import FAST, fast_billing
from tests.support.pipeline import Pipeline, new_tenant

SYSTEM_TOKEN_TTL = dt.timedelta(hours=12)
"""A running system may be driven for hours (bench/chaos.py): its token outlives the run."""


@dataclass(frozen=True)
class RunningSystem:
    tenant: str
    token: str
    urls: ServiceUrls
    processes: dict[str, ServiceProcess]
    clearinghouse: Path


@asynccontextmanager
async def running_system(pipeline: Pipeline, folder: Path, **extra_env: str) -> AsyncIterator[RunningSystem]:
    """Start every service and the sandbox for a fresh tenant; stop them (SIGTERM) at the end.

    The session's consumer groups start at the topics' ends: events an earlier test left unconsumed (its services
    killed on purpose) belong to other tenants, and their claims must not go out through this clearinghouse, whose
    835s remittance posts for this tenant alone."""
    await pipeline.start_groups_at_end(
        s for d in (INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS) for s in d.subscriptions
    )
    tenant = new_tenant()
    clearinghouse = folder / "clearinghouse"
    for sub in ("outbound", "inbound"):
        (clearinghouse / sub).mkdir(parents=True, exist_ok=True)
    shared = {
        "CLAIMFLOW_CLEARINGHOUSE_TRANSPORT": "file_drop",
        "CLAIMFLOW_CLEARINGHOUSE_FOLDER": str(clearinghouse),
        **extra_env,
    }
    sandbox = SandboxProcess(
        clearinghouse, folder / "sandbox.log", write_demo_rules(folder / "rules.json"), interval_s=float(FAST)
    )
    sandbox.start()
    first = len(pipeline.started)
    try:
        # The five start side by side (each imports, migrates and connects on its own): the slowest one's start-up,
        # not the sum of five, before the system answers.
        environments: dict[str, dict[str, str]] = {
            "intake": shared,
            **fast_billing(tenant, shared),
            "denials": shared,
            # As in development (`claimflow up`): the demo's webhook receiver listens on 127.0.0.1.
            "notifications": {"CLAIMFLOW_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true", **shared},
        }
        processes = await pipeline.start_together(environments)
        yield RunningSystem(
            tenant=tenant,
            token=pipeline.token(tenant, *ALL_SCOPES, ttl=SYSTEM_TOKEN_TTL),
            urls=ServiceUrls.from_dict({name: process.base_url for name, process in processes.items()}),
            processes=processes,
            clearinghouse=clearinghouse,
        )
    finally:
        for process in pipeline.started[first:]:
            process.stop()
        del pipeline.started[first:]
        sandbox.stop()


def demo_end_date() -> dt.date:
    return dt.date.today() - dt.timedelta(days=1)
