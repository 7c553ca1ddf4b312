"""The supervisor of `claimflow up`: a service that exits is started again, with backoff, on the same port.

A service run as several replicas (`--replicas claims=2`) is one process per replica: each replica is watched and
restarted on its own, on its own port, while the others keep serving the service's port (a listening socket the
replicas share). Its state (per process: service, replica, state, pid, ports, restarts, last exit code) is written
to `.local/supervisor.json`
after every change, so `claimflow status` can show it next to what each service's `/metrics` says (consumer
lag, outbox backlog) without talking to the supervising process.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from cli.services import ServiceProcess

STATE_FILE = Path(".local") / "supervisor.json"
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0
"""A service that ran this long before exiting starts again after the first backoff, not a longer one."""
PORT_WAIT_S = 30.0

ServiceState = Literal["running", "backoff", "waiting-for-port", "stopped"]
Report = Callable[[str], None]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` now (with SO_REUSEADDR, as uvicorn binds: TIME_WAIT is no obstacle)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


@dataclass
class ServiceRecord:
    """What `claimflow status` reads about one supervised process (a service, or one replica of it)."""

    name: str
    """`claims`, or `claims-2` for the second of several replicas."""
    port: int
    """The process's own port (its readiness and metrics)."""
    url: str
    log: str
    service: str = ""
    replica: int = 1
    replicas: int = 1
    service_port: int | None = None
    """The port clients use, shared by every replica of the service."""
    state: ServiceState = "running"
    pid: int | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    started_at: float = field(default_factory=time.time)
    next_start_at: float | None = None


class Supervisor:
    """Keeps `processes` running: call `check()` periodically (the log-following loop does)."""

    def __init__(
        self,
        processes: Mapping[str, ServiceProcess],
        state_file: Path,
        *,
        report: Report = lambda _message: None,
        first_backoff_s: float = FIRST_BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        port_wait_s: float = PORT_WAIT_S,
    ) -> None:
        self.processes = dict(processes)
        self.state_file = state_file
        self._report = report
        self._first_backoff_s = first_backoff_s
        self._max_backoff_s = max_backoff_s
        self._port_wait_s = port_wait_s
        self._backoff: dict[str, float] = {name: first_backoff_s for name in self.processes}
        self._port_wait_since: dict[str, float] = {}
        self.records = {
            name: ServiceRecord(
                name=name,
                port=process.port,
                url=process.base_url,
                log=str(process.log_path),
                pid=process.process.pid if process.process is not None else None,
                service=process.name,
                replica=process.replica,
                replicas=sum(1 for other in self.processes.values() if other.name == process.name),
                service_port=process.service_port,
            )
            for name, process in self.processes.items()
        }
        self.write_state()

    def check(self, now: float | None = None) -> None:
        """One round: note exits, schedule restarts with backoff, start what is due once its port is free."""
        now = time.monotonic() if now is None else now
        changed = False
        for name, process in self.processes.items():
            record = self.records[name]
            if record.state == "running":
                child = process.process
                code = child.poll() if child is not None else -1
                if code is None:
                    continue
                ran_s = time.time() - record.started_at
                if ran_s >= STABLE_AFTER_S:
                    self._backoff[name] = self._first_backoff_s
                delay = self._backoff[name]
                self._backoff[name] = min(delay * 2, self._max_backoff_s)
                record.state, record.last_exit_code, record.pid = "backoff", code, None
                record.next_start_at = now + delay
                self._report(f"{name} exited with {code} after {ran_s:.0f}s; starting it again in {delay:.0f}s")
                changed = True
            elif record.next_start_at is not None and now >= record.next_start_at:
                changed |= self._start_when_port_free(name, process, record, now)
        if changed:
            self.write_state()

    def _start_when_port_free(self, name: str, process: ServiceProcess, record: ServiceRecord, now: float) -> bool:
        if not port_is_free(process.port):
            since = self._port_wait_since.setdefault(name, now)
            if record.state != "waiting-for-port":
                record.state = "waiting-for-port"
                self._report(f"{name}: port {process.port} is still held; waiting for it (the service keeps its port)")
                return True
            if now - since > self._port_wait_s:
                self._report(f"{name}: port {process.port} still held after {self._port_wait_s:.0f}s; still waiting")
                self._port_wait_since[name] = now
            return False
        self._port_wait_since.pop(name, None)
        process.stop()  # closes the previous run's log handle
        process.start()
        record.restarts += 1
        record.state, record.next_start_at = "running", None
        record.pid = process.process.pid if process.process is not None else None
        record.started_at = time.time()
        self._report(f"{name} started again on port {process.port} (restart {record.restarts})")
        return True

    def stop_all(self) -> None:
        for name, process in self.processes.items():
            process.stop()
            record = self.records[name]
            record.state, record.pid, record.next_start_at = "stopped", None, None
        self.write_state()

    def write_state(self) -> None:
        body = {
            "supervisor_pid": os.getpid(),
            "updated_at": time.time(),
            "services": {name: asdict(record) for name, record in self.records.items()},
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=2))
        tmp.replace(self.state_file)
