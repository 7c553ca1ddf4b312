"""`claimflow status`: each service of `claimflow up` (each replica of a scaled one) with its state, restarts,
consumer lag, outbox backlog and resident memory."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from cli.stack.paths import find_repo_root
from cli.supervisor import STATE_FILE

console = Console()


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    name: str
    """`claims`, or `claims-2` for the second replica of a scaled service."""
    state: str
    """running, backoff, waiting-for-port, stopped; `down` when the supervisor itself is gone."""
    pid: int | None
    port: int
    """The process's own port: its readiness and metrics are read there."""
    url: str
    restarts: int
    last_exit_code: int | None
    ready: bool
    consumer_lag: int | None
    """Messages behind the high watermarks, over every group and partition (None: no answer)."""
    outbox_backlog: int | None
    outbox_oldest_age_s: float | None
    service: str
    replica: int
    replicas: int
    service_port: int
    """The port clients use; every replica of the service answers on it."""
    rss_mb: float | None
    """Resident memory of the process (Linux /proc), None when it is not running here."""


def resident_mb(pid: int | None) -> float | None:
    """A process's resident set size in MB, from /proc (None elsewhere or when it is gone)."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass(frozen=True, slots=True)
class MetricsReading:
    ready: bool
    consumer_lag: int | None
    outbox_backlog: int | None
    outbox_oldest_age_s: float | None


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_metrics(text: str) -> tuple[int, int, float]:
    """(consumer lag summed, outbox backlog summed, oldest outbox age) from a Prometheus exposition."""
    lag, backlog, oldest = 0.0, 0.0, 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "claimflow_consumer_lag":
                lag += sample.value
            elif sample.name == "claimflow_outbox_backlog":
                backlog += sample.value
            elif sample.name == "claimflow_outbox_oldest_age_seconds":
                oldest = max(oldest, sample.value)
    return int(lag), int(backlog), oldest


async def _probe(client: httpx.AsyncClient, url: str) -> MetricsReading:
    try:
        ready, metrics = await asyncio.gather(client.get(f"{url}/readyz"), client.get(f"{url}/metrics"))
    except httpx.HTTPError:
        return MetricsReading(False, None, None, None)
    if metrics.status_code != 200:
        return MetricsReading(ready.status_code == 200, None, None, None)
    lag, backlog, oldest = read_metrics(metrics.text)
    return MetricsReading(ready.status_code == 200, lag, backlog, round(oldest, 1))


async def collect(state: dict[str, Any], timeout_s: float = 3.0) -> list[ServiceStatus]:
    supervised = _alive(state.get("supervisor_pid"))
    services: dict[str, dict[str, Any]] = state.get("services") or {}
    async with httpx.AsyncClient(timeout=timeout_s, trust_env=False) as client:
        readings = await asyncio.gather(*(_probe(client, record["url"]) for record in services.values()))
    return [
        ServiceStatus(
            name=name,
            state=record["state"] if supervised else "down",
            pid=record.get("pid") if supervised else None,
            port=record["port"],
            url=record["url"],
            restarts=record.get("restarts", 0),
            last_exit_code=record.get("last_exit_code"),
            ready=reading.ready,
            consumer_lag=reading.consumer_lag,
            outbox_backlog=reading.outbox_backlog,
            outbox_oldest_age_s=reading.outbox_oldest_age_s,
            service=record.get("service") or name,
            replica=record.get("replica", 1),
            replicas=record.get("replicas", 1),
            service_port=record.get("service_port") or record["port"],
            rss_mb=resident_mb(record.get("pid")) if supervised else None,
        )
        for (name, record), reading in zip(services.items(), readings, strict=True)
    ]


def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead of a table.")] = False,
    state_file: Annotated[
        Path | None, typer.Option(help="The supervisor's state (default: .local/supervisor.json).", hidden=True)
    ] = None,
) -> None:
    """Each service `claimflow up` runs, a row per replica: state, restarts, readiness, RSS, lag, outbox backlog."""
    path = state_file or find_repo_root() / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        message = "nothing is running: start it with `claimflow up`"
        if as_json:
            typer.echo(json.dumps({"supervisor": {"running": False}, "services": [], "error": message}))
        else:
            console.print(message)
        raise typer.Exit(1) from None
    services = asyncio.run(collect(state))
    supervised = _alive(state.get("supervisor_pid"))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "supervisor": {"running": supervised, "pid": state.get("supervisor_pid")},
                    "services": [asdict(service) for service in services],
                }
            )
        )
    else:
        table = Table(title="claimflow services" + ("" if supervised else " (supervisor not running)"))
        scaled = any(service.replicas > 1 for service in services)
        columns = ["service", "state", "pid", "port", *(["own port"] if scaled else []), "restarts", "ready"]
        for column in (*columns, "RSS MB", "consumer lag", "outbox backlog"):
            table.add_column(column, no_wrap=column in ("service", "state"))
        for service in services:
            table.add_row(
                service.name,
                service.state,
                str(service.pid or "-"),
                str(service.service_port),
                *([str(service.port)] if scaled else []),
                str(service.restarts),
                "yes" if service.ready else "no",
                "-" if service.rss_mb is None else f"{service.rss_mb:.0f}",
                "-" if service.consumer_lag is None else str(service.consumer_lag),
                "-"
                if service.outbox_backlog is None
                else f"{service.outbox_backlog} (oldest {service.outbox_oldest_age_s:.0f}s)",
            )
        console.print(table)
    if not supervised or any(s.state != "running" for s in services):
        raise typer.Exit(1)
