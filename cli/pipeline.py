"""`claimflow up`: the local stack, the five services, and a first encounter through the pipeline."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import socket
import time
import uuid
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.services import FIRST_PORT, SERVICE_NAMES, ServiceProcess, ServiceSecrets, provision_all, service_environment
from cli.stack.local_stack import LocalStack
from cli.stack.paths import find_repo_root
from shared.auth import TokenVerifier

console = Console()
ALL_SCOPES = [
    f"{resource}:{access}"
    for resource in ("patients", "providers", "payers", "facilities", "encounters", "claims", "remittance")
    for access in ("read", "write")
] + ["codesets:write", "denials:read", "notifications:read"]
"""Every scope a development token carries: what the services' endpoints ask for."""


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def dev_token(secret: str, *, tenant: str = "demo", ttl: dt.timedelta = dt.timedelta(hours=12)) -> str:
    verifier = TokenVerifier(secret=secret, issuer="claimflow", audience="claimflow")
    return verifier.mint(subject="claimflow-cli", tenant=tenant, scopes=ALL_SCOPES, ttl=ttl)


def demo_encounter() -> dict[str, object]:
    """A synthetic office visit: no real person, no real identifiers."""
    today = dt.date.today().isoformat()
    return {
        "external_encounter_id": f"DEMO-{uuid.uuid4().hex[:10].upper()}",
        "claim_type": "professional",
        "patient_id": str(uuid.uuid4()),
        "payer_id": "SANDBOX",
        "billing_provider_npi": "1234567893",
        "place_of_service": "11",
        "service_date_from": today,
        "service_date_to": today,
        "diagnosis_codes": ["J06.9"],
        "lines": [
            {
                "line_number": 1,
                "procedure_code": "99213",
                "units": 1,
                "charge_cents": 12500,
                "diagnosis_pointers": [1],
                "service_date": today,
            },
        ],
    }


async def show_pipeline_working(processes: dict[str, ServiceProcess], token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=10) as client:
        response = await client.post(f"{processes['intake'].base_url}/v1/encounters", json=demo_encounter())
        response.raise_for_status()
        encounter = response.json()
        console.print(
            f"[green]intake[/] accepted encounter {encounter['id']} ({encounter['total_charge_cents']} cents)"
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            claims = (
                await client.get(f"{processes['claims'].base_url}/v1/claims", params={"encounter_id": encounter["id"]})
            ).json()
            if claims:
                console.print(f"[green]claims[/] built claim {claims[0]['id']} in state {claims[0]['state']!r}")
                break
            await asyncio.sleep(0.2)
        else:
            console.print("[red]no claim within 30 s: see the service logs[/]")
        activity = (await client.get(f"{processes['notifications'].base_url}/v1/activity/{encounter['id']}")).json()
        for entry in activity:
            console.print(f"[green]notifications[/] recorded {entry['event_type']}")


def up(
    keep_stack: Annotated[bool, typer.Option(help="Leave Kafka and Postgres running after Ctrl-C.")] = False,
) -> None:
    """Start Kafka and Postgres, migrate, run the five services with their logs until Ctrl-C."""
    root = find_repo_root()
    stack = LocalStack.from_env(root, progress=lambda message: console.print(f"  • {message}"))
    started = time.monotonic()
    endpoints = stack.up()
    console.print(f"[bold]stack up[/] in {time.monotonic() - started:.1f}s")
    service_secrets = ServiceSecrets.load_or_create(stack.paths.stack_dir / "service-secrets.json")
    asyncio.run(provision_all(endpoints.database_url, service_secrets))
    log_dir = root / ".local" / "logs"
    processes = {
        name: ServiceProcess(
            name=name,
            port=_free_port(FIRST_PORT + index),
            env=service_environment(
                name,
                admin_url=endpoints.database_url,
                kafka_bootstrap_servers=endpoints.kafka_bootstrap_servers,
                service_secrets=service_secrets,
            ),
            log_path=log_dir / f"{name}.log",
        )
        for index, name in enumerate(SERVICE_NAMES)
    }
    try:
        for process in processes.values():
            process.start()
        asyncio.run(_wait_all_ready(processes))
        _print_services(processes, log_dir)
        token = dev_token(service_secrets.auth_secret)
        asyncio.run(show_pipeline_working(processes, token))
        console.print("\nA development token for tenant 'demo' (12 h; also `claimflow token`):")
        console.print(token, soft_wrap=True, highlight=False)
        console.print("Following the service logs; Ctrl-C stops everything.")
        _follow_logs(processes)
    finally:
        for process in processes.values():
            process.stop()
        if not keep_stack:
            stack.down()
        console.print("[bold]stopped[/]")


async def _wait_all_ready(processes: dict[str, ServiceProcess]) -> None:
    with console.status("waiting for the services to be ready"):
        await asyncio.gather(*(process.wait_ready(90) for process in processes.values()))


def _print_services(processes: dict[str, ServiceProcess], log_dir: Path) -> None:
    table = Table(title="claimflow services")
    for column in ("service", "API docs", "log"):
        table.add_column(column)
    for name, process in processes.items():
        table.add_row(name, f"{process.base_url}/docs", str(log_dir / f"{name}.log"))
    console.print(table)


def _follow_logs(processes: dict[str, ServiceProcess]) -> None:
    stop = False

    def _on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    handles = {name: process.log_path.open("r", errors="replace") for name, process in processes.items()}
    for handle in handles.values():
        handle.seek(0, 2)
    try:
        while not stop:
            for name, handle in handles.items():
                for line in handle.readlines():
                    console.print(Text.assemble((f"{name:>13} ", "cyan"), line.rstrip()), highlight=False)
                if processes[name].process is not None and processes[name].process.poll() is not None:
                    console.print(f"[red]{name} exited; see {processes[name].log_path}[/]")
                    stop = True
            time.sleep(0.3)
    finally:
        for handle in handles.values():
            handle.close()
