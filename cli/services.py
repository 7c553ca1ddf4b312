"""Running the five services as real processes: provisioning their roles, starting, probing, stopping."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from shared.db_roles import ensure_database, provision_service
from shared.messaging.kafka_access import KafkaAccess

SERVICE_NAMES = ("intake", "claims", "remittance", "denials", "notifications")
FIRST_PORT = 8001
DATABASE = "claimflow"


MAX_REPLICAS = 6
"""The partitions of every topic a service consumes: replicas past that would get no partitions."""


class ReplicasError(ValueError):
    """A `--replicas` value that names no service or no sensible count."""


def parse_replicas(values: Sequence[str]) -> dict[str, int]:
    """`--replicas claims=2` (repeated, or `claims=2,remittance=2`) as a count per service; unnamed services 1."""
    counts = dict.fromkeys(SERVICE_NAMES, 1)
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            service, equals, count = item.partition("=")
            service = service.strip()
            if service not in counts:
                raise ReplicasError(f"{item!r}: no service {service!r}; the services are {', '.join(SERVICE_NAMES)}")
            if not equals or not count.strip().isdigit():
                raise ReplicasError(f"{item!r}: write SERVICE=N, e.g. claims=2")
            replicas = int(count)
            if not 1 <= replicas <= MAX_REPLICAS:
                raise ReplicasError(
                    f"{item!r}: between 1 and {MAX_REPLICAS} replicas (the partitions of each topic it consumes)"
                )
            counts[service] = replicas
    return counts


def listening_socket(port: int, host: str = "127.0.0.1") -> socket.socket:
    """The service port's listening socket, held by the supervisor and inherited by each replica: the kernel
    hands every connection to one replica, and a replica restarting never waits for the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(1024)
    except OSError:
        listener.close()
        raise
    return listener


@dataclass(frozen=True, slots=True)
class ServiceSecrets:
    """Per-service database passwords, the token signing secret and the PHI key-encryption key (base64 of 32
    bytes), generated once, kept out of git."""

    database_passwords: dict[str, str]
    auth_secret: str
    phi_kek: str = ""

    @classmethod
    def load_or_create(cls, path: Path) -> ServiceSecrets:
        if path.exists():
            stored = json.loads(path.read_text())
            if stored.get("phi_kek"):
                return cls(stored["database_passwords"], stored["auth_secret"], stored["phi_kek"])
            created = cls(stored["database_passwords"], stored["auth_secret"], _new_phi_kek())
        else:
            created = cls(
                {name: secrets.token_urlsafe(24) for name in SERVICE_NAMES}, secrets.token_urlsafe(48), _new_phi_kek()
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "database_passwords": created.database_passwords,
                    "auth_secret": created.auth_secret,
                    "phi_kek": created.phi_kek,
                }
            )
        )
        path.chmod(0o600)
        return created


def _new_phi_kek() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def role_url(admin_url: str, *, role: str, password: str, database: str) -> str:
    """The SQLAlchemy URL a service connects with: its own role, on the admin URL's host and port."""
    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(role)}:{quote(password, safe='')}@{host}:{parts.port or 5432}"
    return urlunsplit(("postgresql+asyncpg", netloc, f"/{database}", "", ""))


def with_database(admin_url: str, database: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


async def provision_all(admin_url: str, service_secrets: ServiceSecrets, database: str = DATABASE) -> None:
    """Create the database, then one role owning one schema per service."""
    await ensure_database(admin_url, database)
    for name in SERVICE_NAMES:
        await provision_service(
            with_database(admin_url, database),
            service=name,
            password=service_secrets.database_passwords[name],
            database=database,
        )


def service_environment(
    name: str,
    *,
    admin_url: str,
    kafka: KafkaAccess,
    service_secrets: ServiceSecrets,
    database: str = DATABASE,
    environment: str = "development",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CLAIMFLOW_") and key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    env.update(
        {
            "CLAIMFLOW_ENVIRONMENT": environment,
            "CLAIMFLOW_DATABASE_URL": role_url(
                admin_url, role=name, password=service_secrets.database_passwords[name], database=database
            ),
            "CLAIMFLOW_AUTH_SECRET": service_secrets.auth_secret,
            **({"CLAIMFLOW_PHI_KEKS": f"local:{service_secrets.phi_kek}"} if service_secrets.phi_kek else {}),
            **kafka.env(),
        }
    )
    env.update(extra or {})
    return env


READY_POLL_S = 0.05
"""How often a start-up asks /readyz: refused connections cost next to nothing, and every caller (tests, `claimflow
up`, the supervisor) waits a poll less after the service is ready."""


@dataclass
class ServiceProcess:
    """One service under uvicorn in its own process, its output appended to a log file."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    factory: str | None = None
    """An app factory to run instead of `services.<name>.app:app` (the console: `console.app:app`)."""
    replica: int = 1
    shared_socket: socket.socket | None = field(default=None, repr=False)
    """The service port's listening socket, opened by the supervisor and shared by the service's replicas;
    None: the process listens on `port` alone (one replica)."""

    @property
    def base_url(self) -> str:
        """This process's own address (its readiness and metrics)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_port(self) -> int:
        """The service's port: the shared socket's when replicas share one, else the process's own."""
        if self.shared_socket is not None:
            return int(self.shared_socket.getsockname()[1])
        return self.port

    @property
    def service_url(self) -> str:
        """Where clients reach the service, whichever replica answers."""
        return f"http://127.0.0.1:{self.service_port}"

    @property
    def label(self) -> str:
        """`claims` for a single process, `claims-2` for the second of several replicas."""
        return self.name if self.shared_socket is None else f"{self.name}-{self.replica}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        app = ["--factory", self.factory] if self.factory else [f"services.{self.name}.app:app"]
        if self.shared_socket is not None:
            shared_fd = self.shared_socket.fileno()
            command = ["-m", "cli.replica", *app, "--shared-fd", str(shared_fd), "--port", str(self.port)]
            inherited: tuple[int, ...] = (shared_fd,)
        else:
            command = ["-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(self.port)]
            command += ["--no-access-log", "--log-level", "warning"]
            inherited = ()
        self.process = subprocess.Popen(
            [sys.executable, *command],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=inherited,
        )

    async def wait_ready(self, timeout_s: float = 60.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout_s
        last: object = "no answer"
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode}; see {self.log_path}:\n{self.log_tail()}"
                    )
                try:
                    response = await client.get("/readyz")
                    last = response.json()
                    if response.status_code == 200:
                        return dict(response.json())
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                await asyncio.sleep(READY_POLL_S)
        raise TimeoutError(f"{self.name} not ready after {timeout_s}s: {last}\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self._close_log()

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
