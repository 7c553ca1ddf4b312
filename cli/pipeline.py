"""`claimflow up`: the local stack, the five services, and a first encounter through the pipeline."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.demo import run_and_report
from cli.demo_practice import DEMO_SANDBOX_RULES
from cli.endpoints import ServiceUrls, endpoints_path, save_service_urls
from cli.services import (
    FIRST_PORT,
    SERVICE_NAMES,
    ReplicasError,
    ServiceProcess,
    ServiceSecrets,
    listening_socket,
    parse_replicas,
    provision_all,
    service_environment,
)
from cli.stack.local_stack import LocalStack
from cli.stack.paths import find_repo_root
from cli.supervisor import STATE_FILE, Supervisor
from shared.auth import TokenVerifier
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.principals import ANALYTICS_PRINCIPAL

console = Console()
ALL_SCOPES = [
    f"{resource}:{access}"
    for resource in ("patients", "providers", "payers", "facilities", "encounters", "claims", "remittance")
    for access in ("read", "write")
] + [
    "codesets:write",
    "denials:read",
    "denials:write",
    "notifications:read",
    "notifications:write",
    "webhooks:read",
    "webhooks:write",
    "eligibility:read",
    "eligibility:write",
    "auditor",
]
"""Every scope a development token carries: what the services' endpoints ask for."""


def _free_port(preferred: int) -> int:
    """`preferred` when it is free, else any free port (0: any)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


DEMO_TENANT = "demo"


class SandboxProcess:
    """The sandbox clearinghouse and payer answering the claims service's file drop (never in production)."""

    def __init__(self, folder: Path, log_path: Path, rules: Path | None = None, interval_s: float = 1.0) -> None:
        self.folder, self.log_path, self.rules, self.interval_s = folder, log_path, rules, interval_s
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        rules = ["--rules", str(self.rules)] if self.rules is not None else []
        rules += ["--interval", str(self.interval_s)]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "sandbox.clearinghouse", "--folder", str(self.folder), *rules],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def dev_token(secret: str, *, tenant: str = DEMO_TENANT, ttl: dt.timedelta = dt.timedelta(hours=12)) -> str:
    verifier = TokenVerifier(secret=secret, issuer="claimflow", audience="claimflow")
    return verifier.mint(subject="claimflow-cli", tenant=tenant, scopes=ALL_SCOPES, ttl=ttl)


DEMO_DOCUMENT = "examples/encounters/professional.json"


async def submit_document(client: httpx.AsyncClient, intake_url: str, document: dict[str, Any]) -> dict[str, Any]:
    """Register a document's payers, providers, patient and coverages, then post its encounter.

    Registration is idempotent (external ids), so the same document can be sent again; the
    encounter gets a fresh external id each time so each run bills a new visit, its dates moved
    so the document's `as_of` is today.
    """
    from services.intake.domain.documents import rebased

    document = rebased(document, dt.date.today())
    for payer in document.get("payers", []):
        (await client.post(f"{intake_url}/v1/payers", json=payer)).raise_for_status()
    for provider in document.get("providers", []):
        (await client.post(f"{intake_url}/v1/providers", json=provider)).raise_for_status()
    patient = await client.post(f"{intake_url}/v1/patients", json=document["patient"])
    patient.raise_for_status()
    patient_id = patient.json()["id"]
    for coverage in document.get("coverages", []):
        (await client.post(f"{intake_url}/v1/patients/{patient_id}/coverages", json=coverage)).raise_for_status()
    encounter = {**document["encounter"], "external_encounter_id": f"DEMO-{uuid.uuid4().hex[:10].upper()}"}
    response = await client.post(f"{intake_url}/v1/encounters", json=encounter)
    response.raise_for_status()
    return dict(response.json())


async def show_pipeline_working(urls: ServiceUrls, token: str, root: Path) -> None:
    document = json.loads((root / DEMO_DOCUMENT).read_text())
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        encounter = await submit_document(client, urls.intake, document)
        console.print(f"[green]intake[/] accepted encounter {encounter['id']} ({DEMO_DOCUMENT})")
        claims_url = urls.claims
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = await client.get(f"{claims_url}/v1/claims", params={"encounter_id": encounter["id"]})
            claims = found.json()["items"]
            if claims:
                claim = (await client.get(f"{claims_url}/v1/claims/{claims[0]['id']}")).json()
                for change in claim.get("status_history", []):
                    label = f"{change['to_state']}" + (f" ({change['reason']})" if change.get("reason") else "")
                    if label not in seen:
                        seen.append(label)
                        console.print(f"[green]claims[/] claim {claim['claim_control_number']} → {label}")
                if claim["state"] in ("accepted", "rejected", "paid", "partially_paid", "denied", "on_hold"):
                    break
            await asyncio.sleep(0.5)
        activity = (await client.get(f"{urls.notifications}/v1/activity/{encounter['id']}")).json()
        for entry in activity:
            console.print(f"[green]notifications[/] recorded {entry['event_type']}")


CONSOLE_PORT = 8080


def console_process(
    urls: ServiceUrls,
    *,
    port: int,
    auth_secret: str,
    kafka: KafkaAccess,
    analytics_dir: Path,
    log_path: Path,
    metrics_interval_s: float = 10.0,
    extra_env: dict[str, str] | None = None,
) -> ServiceProcess:
    """The ops console (`console.app`) reading the services at `urls` and the sink's files in `analytics_dir`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLAIMFLOW_")}
    env.update({f"CLAIMFLOW_CONSOLE_{name.upper()}_URL": url for name, url in urls.as_dict().items()})
    env.update(
        {
            "CLAIMFLOW_ENVIRONMENT": "development",
            "CLAIMFLOW_AUTH_SECRET": auth_secret,
            "CLAIMFLOW_CONSOLE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            **kafka.env(),
            "CLAIMFLOW_CONSOLE_ANALYTICS_DIR": str(analytics_dir),
            "CLAIMFLOW_CONSOLE_METRICS_INTERVAL_S": str(metrics_interval_s),
            **(extra_env or {}),
        }
    )
    return ServiceProcess(name="console", port=port, env=env, log_path=log_path, factory="console.app:app")


class SinkProcess:
    """`claimflow analytics sink` following the topics in its own process."""

    def __init__(self, directory: Path, kafka: KafkaAccess, log_path: Path) -> None:
        self.directory, self.kafka, self.log_path = directory, kafka, log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "cli", "analytics", "sink", "--dir", str(self.directory)]
        with self.log_path.open("ab") as log:
            env = {key: value for key, value in os.environ.items() if not key.startswith("CLAIMFLOW_KAFKA_")}
            self._process = subprocess.Popen(
                [*command, "--bootstrap", self.kafka.bootstrap_servers],
                env={**env, **self.kafka.env()},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def write_demo_rules(path: Path) -> Path:
    """The sandbox payer's adjudication table for the demo's mix (`cli.demo_practice.DEMO_SANDBOX_RULES`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(DEMO_SANDBOX_RULES, indent=2))
    return path


def up(
    keep_stack: Annotated[bool, typer.Option(help="Leave Kafka and Postgres running after Ctrl-C.")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="Run `claimflow demo` once the services are up.")] = False,
    demo_encounters: Annotated[int, typer.Option(min=1, help="Encounters for --demo.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed for --demo.")] = 1,
    replicas: Annotated[
        list[str] | None,
        typer.Option(
            "--replicas",
            metavar="SERVICE=N",
            help="Run N processes of a service in one consumer group, all answering on its usual port "
            "(repeat or comma-separate: claims=2,remittance=2; default 1 each, at most 6).",
        ),
    ] = None,
) -> None:
    """Start Kafka and Postgres, migrate, run the five services and the sandbox payer until Ctrl-C."""
    try:
        counts = parse_replicas(replicas or [])
    except ReplicasError as exc:
        raise typer.BadParameter(str(exc), param_hint="--replicas") from None
    root = find_repo_root()
    stack = LocalStack.from_env(root, progress=lambda message: console.print(f"  • {message}"))
    started = time.monotonic()
    endpoints = stack.up()
    console.print(f"[bold]stack up[/] in {time.monotonic() - started:.1f}s")
    service_secrets = ServiceSecrets.load_or_create(stack.paths.stack_dir / "service-secrets.json")
    asyncio.run(provision_all(endpoints.database_url, service_secrets))
    log_dir = root / ".local" / "logs"
    clearinghouse = root / ".local" / "clearinghouse"
    shared_env = {
        "CLAIMFLOW_CLEARINGHOUSE_FOLDER": str(clearinghouse),
        "CLAIMFLOW_REMITTANCE_INBOUND_TENANT": DEMO_TENANT,
    }
    processes: dict[str, ServiceProcess] = {}
    for index, name in enumerate(SERVICE_NAMES):
        env = service_environment(
            name,
            admin_url=endpoints.database_url,
            kafka=endpoints.kafka_as(name),
            service_secrets=service_secrets,
            extra=shared_env,
        )
        for process in service_processes(name, counts[name], FIRST_PORT + index, env, log_dir):
            processes[process.label] = process
    sandbox = SandboxProcess(
        clearinghouse, log_dir / "sandbox.log", write_demo_rules(root / ".local" / "sandbox-demo-rules.json")
    )
    urls = ServiceUrls.from_dict({process.name: process.service_url for process in processes.values()})
    analytics_dir = root / ".local" / "analytics"
    sink = SinkProcess(analytics_dir, endpoints.kafka_as(ANALYTICS_PRINCIPAL), log_dir / "analytics-sink.log")
    ops_console = console_process(
        urls,
        port=_free_port(CONSOLE_PORT),
        auth_secret=service_secrets.auth_secret,
        kafka=endpoints.kafka,
        analytics_dir=analytics_dir,
        log_path=log_dir / "console.log",
    )
    supervisor: Supervisor | None = None
    try:
        sandbox.start()
        sink.start()
        for process in processes.values():
            process.start()
        ops_console.start()
        asyncio.run(_wait_all_ready({**processes, "console": ops_console}))
        save_service_urls(urls, root)
        _print_services(processes)
        token = dev_token(service_secrets.auth_secret)
        if demo:
            run_and_report(urls, token, encounters=demo_encounters, seed=seed, as_json=False)
        else:
            asyncio.run(show_pipeline_working(urls, token, root))
        console.print(f"\n[bold]Ops console:[/] {ops_console.base_url}/login  (sign in with the token below)")
        console.print("A development token for tenant 'demo' (12 h; also `claimflow token`):")
        console.print(token, soft_wrap=True, highlight=False)
        console.print(
            "Following the service logs; a service that exits is started again on its port "
            "(`claimflow status`); Ctrl-C stops everything."
        )
        supervisor = Supervisor(
            {**processes, "console": ops_console},
            root / STATE_FILE,
            report=lambda message: console.print(f"[yellow]supervisor[/] {message}"),
        )
        _follow_logs(processes, supervisor)
    finally:
        endpoints_path(root).unlink(missing_ok=True)
        ops_console.stop()
        for process in processes.values():
            process.stop()
        if supervisor is not None:
            supervisor.stop_all()
        sink.stop()
        sandbox.stop()
        for process in processes.values():
            if process.shared_socket is not None:
                process.shared_socket.close()
        if not keep_stack:
            stack.down()
        console.print("[bold]stopped[/]")


def service_processes(
    name: str, replicas: int, preferred_port: int, env: dict[str, str], log_dir: Path
) -> list[ServiceProcess]:
    """One process on the service's port; or, for several replicas, one listening socket on that port shared by
    them all (connections spread by the kernel) and an own port per replica for its readiness and metrics."""
    port = _free_port(preferred_port)
    if replicas == 1:
        return [ServiceProcess(name=name, port=port, env=env, log_path=log_dir / f"{name}.log")]
    shared = listening_socket(port)
    return [
        ServiceProcess(
            name=name,
            port=_free_port(0),
            env=env,
            log_path=log_dir / f"{name}-{replica}.log",
            replica=replica,
            shared_socket=shared,
        )
        for replica in range(1, replicas + 1)
    ]


async def _wait_all_ready(processes: dict[str, ServiceProcess]) -> None:
    with console.status("waiting for the services to be ready"):
        await asyncio.gather(*(process.wait_ready(90) for process in processes.values()))


def _print_services(processes: dict[str, ServiceProcess]) -> None:
    table = Table(title="claimflow services")
    for column in ("service", "API docs", "own port", "log"):
        table.add_column(column)
    for label, process in processes.items():
        table.add_row(label, f"{process.service_url}/docs", str(process.port), str(process.log_path))
    console.print(table)


def _follow_logs(processes: dict[str, ServiceProcess], supervisor: Supervisor) -> None:
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
            supervisor.check()
            time.sleep(0.3)
    finally:
        for handle in handles.values():
            handle.close()
