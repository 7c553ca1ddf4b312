"""The no-Docker local stack: Postgres and Kafka on loopback, state in `<stack>/stack.json`.

    stack = LocalStack(find_repo_root())           # dev stack in <repo>/.local/stack/
    endpoints = stack.up()                         # starts (or reuses) both servers, creates topics
    endpoints.database_url, endpoints.kafka_bootstrap_servers
    stack.status(); stack.down()

`LocalStack.from_env()` uses the servers named by DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS instead of
starting its own. `LocalStack.for_tests()` keeps a separate instance in `<repo>/.local/test-stack/`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import re
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cli.stack.kafka import (
    KafkaCredentials,
    LocalKafka,
    describe_cluster,
    ensure_acls,
    ensure_topics,
    fetch_kafka,
    find_java,
    wait_for_kafka,
)
from cli.stack.paths import TEST_STACK_DIR, StackPaths, find_repo_root
from cli.stack.postgres import LocalPostgres, PostgresRun, postgres_version, wait_for_postgres
from cli.stack.process import file_lock, pick_port
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.principals import ADMIN_PRINCIPAL, all_bindings

ENV_DATABASE_URL = "DATABASE_URL"
ENV_KAFKA_BOOTSTRAP_SERVERS = "KAFKA_BOOTSTRAP_SERVERS"
STATE_VERSION = 1

T = TypeVar("T")
Progress = Callable[[str], None]


def libpq_url(url: str) -> str:
    """`postgresql+asyncpg://...` (SQLAlchemy form) -> `postgresql://...` (asyncpg/libpq form)."""
    return re.sub(r"^postgres(?:ql)?(?:\+[a-z0-9_]+)?://", "postgresql://", url)


def sqlalchemy_url(url: str) -> str:
    """Any Postgres URL -> the SQLAlchemy asyncpg form `postgresql+asyncpg://...`."""
    return re.sub(r"^postgres(?:ql)?(?:\+[a-z0-9_]+)?://", "postgresql+asyncpg://", url)


@dataclass(frozen=True, slots=True)
class StackEndpoints:
    """Where the servers answer. `database_url` is libpq form (`postgresql://user:pw@host:port/db`)."""

    database_url: str
    kafka_bootstrap_servers: str
    kafka_credentials: KafkaCredentials | None = None
    """SCRAM passwords of the stack's principals; None: a broker that takes anonymous clients."""

    @property
    def sqlalchemy_url(self) -> str:
        return sqlalchemy_url(self.database_url)

    @property
    def kafka(self) -> KafkaAccess:
        """The admin principal's access (tools, tests): a super user of the broker."""
        return self.kafka_as(ADMIN_PRINCIPAL)

    def kafka_as(self, principal: str) -> KafkaAccess:
        """A service's (or the analytics sink's) own principal, limited by its ACLs."""
        if self.kafka_credentials is None:
            return KafkaAccess(self.kafka_bootstrap_servers)
        return self.kafka_credentials.access(self.kafka_bootstrap_servers, principal)

    def as_env(self) -> dict[str, str]:
        return {
            ENV_DATABASE_URL: self.database_url,
            ENV_KAFKA_BOOTSTRAP_SERVERS: self.kafka_bootstrap_servers,
            **self.kafka.env(),
        }


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    name: str  # "postgres" or "kafka"
    up: bool  # answered a real call (SELECT 1 / describe_cluster) just now
    managed: bool  # started by this stack; False = an external server from the environment
    endpoint: str | None
    pid: int | None
    detail: str  # server version, or why it is down
    log: Path | None


@dataclass(frozen=True, slots=True)
class StackStatus:
    stack_dir: Path
    components: tuple[ComponentStatus, ...]
    started_at: str | None
    endpoints: StackEndpoints | None

    @property
    def up(self) -> bool:
        return all(c.up for c in self.components)


def _default_topics() -> list[tuple[str, int]]:
    from shared.messaging.topics import all_topic_names

    return all_topic_names()


def run_sync(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code.

    On a private event loop that is never made the thread's current loop (so a caller's loop, e.g.
    pytest-asyncio's session loop, is left alone), or in a worker thread when a loop already runs here.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_private(coro_factory)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_run_private, coro_factory).result()


def _run_private(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro_factory())
    finally:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def prepare_endpoints(
    endpoints: StackEndpoints,
    *,
    topics: Iterable[tuple[str, int]] | None = None,
    kafka_ready_timeout: float = 120.0,
    postgres_ready_timeout: float = 60.0,
) -> dict[str, int]:
    """For servers started elsewhere (environment, containers): wait for real answers, create the topics.

    Returns {topic: partitions}.
    """
    wanted = list(topics) if topics is not None else _default_topics()

    async def prepare() -> dict[str, int]:
        await asyncio.gather(
            wait_for_postgres(endpoints.database_url, postgres_ready_timeout),
            wait_for_kafka(endpoints.kafka, kafka_ready_timeout),
        )
        counts = await ensure_topics(endpoints.kafka, wanted)
        if endpoints.kafka_credentials is not None:
            await ensure_acls(endpoints.kafka, all_bindings())
        return counts

    return run_sync(prepare)


def _safe_progress(progress: Progress | None) -> Progress:
    """A progress callback that can never abort a start or stop (e.g. a closed stdout pipe)."""
    if progress is None:
        return lambda _msg: None

    def report(message: str) -> None:
        with contextlib.suppress(Exception, SystemExit):  # rich exits on a broken pipe
            progress(message)

    return report


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LocalStack:
    """Postgres + Kafka for development and tests, without Docker."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        stack_dir: Path | None = None,
        database_url: str | None = None,
        kafka_bootstrap_servers: str | None = None,
        topics: Iterable[tuple[str, int]] | None = None,
        progress: Progress | None = None,
        kafka_ready_timeout: float = 120.0,
        postgres_ready_timeout: float = 60.0,
    ) -> None:
        """`stack_dir` (relative to `root` or absolute) defaults to `.local/stack`.

        `database_url` / `kafka_bootstrap_servers` name external servers to use instead of starting
        ours; `topics` defaults to `shared.messaging.topics.all_topic_names()`.
        """
        self.paths = StackPaths.for_root(root if root is not None else find_repo_root(), stack_dir)
        self.external_database_url = database_url or None
        self.external_kafka = kafka_bootstrap_servers or None
        self._topics = list(topics) if topics is not None else None
        self._progress: Progress = _safe_progress(progress)
        self.kafka_ready_timeout = kafka_ready_timeout
        self.postgres_ready_timeout = postgres_ready_timeout
        self.postgres = LocalPostgres(self.paths, self._progress)
        self.kafka = LocalKafka(self.paths, self._progress)

    @classmethod
    def from_env(
        cls, root: Path | None = None, *, stack_dir: Path | None = None, progress: Progress | None = None
    ) -> LocalStack:
        """A stack that honours DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS when they are set."""
        return cls(
            root,
            stack_dir=stack_dir,
            database_url=os.environ.get(ENV_DATABASE_URL),
            kafka_bootstrap_servers=os.environ.get(ENV_KAFKA_BOOTSTRAP_SERVERS),
            progress=progress,
        )

    @classmethod
    def for_tests(
        cls,
        root: Path | None = None,
        *,
        database_url: str | None = None,
        kafka_bootstrap_servers: str | None = None,
        progress: Progress | None = None,
    ) -> LocalStack:
        """The test suite's own instance in `<repo>/.local/test-stack/` (never touches the dev stack)."""
        return cls(
            root,
            stack_dir=TEST_STACK_DIR,
            database_url=database_url,
            kafka_bootstrap_servers=kafka_bootstrap_servers,
            progress=progress,
        )

    @property
    def topics(self) -> list[tuple[str, int]]:
        if self._topics is None:
            self._topics = _default_topics()
        return self._topics

    # --- state --------------------------------------------------------------------------------------
    def read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.paths.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, state: dict[str, Any]) -> None:
        self.paths.stack_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.paths.state_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.chmod(0o600)  # holds the database password
        tmp.replace(self.paths.state_file)

    def endpoints(self) -> StackEndpoints | None:
        """The endpoints recorded by the last successful `up` (None when the stack is down)."""
        state = self.read_state()
        if not state.get("up"):
            return None
        return StackEndpoints(state["database_url"], state["kafka_bootstrap_servers"], self._kafka_credentials())

    def _kafka_credentials(self) -> KafkaCredentials | None:
        return None if self.external_kafka is not None else self.kafka.credentials()

    # --- commands -----------------------------------------------------------------------------------
    def fetch(self) -> Path:
        """Check java (and mvn when needed) and fetch the Kafka jars once; returns the jar folder."""
        find_java()
        return fetch_kafka(self.paths, self._progress)

    def up(self) -> StackEndpoints:
        """Start what is not running (reusing what is), wait for real answers, create the topics."""
        with file_lock(self.paths.lock_file):
            return self._up()

    def down(self) -> None:
        """Stop the servers this stack started (external ones are left alone). Data and logs stay."""
        with file_lock(self.paths.lock_file):
            state = self.read_state()
            kafka_pid = (state.get("pids") or {}).get("kafka") or self._kafka_pid_file()
            stopped_kafka = self.kafka.stop(kafka_pid)
            stopped_pg = self.postgres.stop()
            self.paths.kafka_dir.joinpath("broker.pid").unlink(missing_ok=True)
            if not (stopped_kafka or stopped_pg):
                self._progress("nothing was running")
            if state:
                state.update(up=False, stopped_at=_now(), pids={"postgres": None, "kafka": None})
                self._write_state(state)

    def status(self, timeout: float = 3.0) -> StackStatus:
        """Ask each server for a real answer now (SELECT 1 / describe_cluster)."""
        state = self.read_state()
        pg_managed = self.external_database_url is None
        kafka_managed = self.external_kafka is None
        pg_pid = self.postgres.running_pid() if pg_managed else None
        kafka_pid = (state.get("pids") or {}).get("kafka") or self._kafka_pid_file()
        kafka_pid = kafka_pid if kafka_managed and self.kafka.alive(kafka_pid) else None
        db_url = self.external_database_url
        if pg_pid is not None:
            with contextlib.suppress(OSError):
                db_url = self.postgres.running_url()
        bootstrap = self.external_kafka
        kafka_ports = self.kafka.configured_ports() if kafka_pid is not None else None
        if kafka_ports is not None:
            bootstrap = f"127.0.0.1:{kafka_ports[0]}"

        async def check() -> tuple[tuple[bool, str], tuple[bool, str]]:
            async def pg() -> tuple[bool, str]:
                if db_url is None:
                    return False, "not running"
                try:
                    return True, f"PostgreSQL {await postgres_version(db_url, timeout)}"
                except Exception as err:
                    return False, f"no answer: {err!r}"

            async def kf() -> tuple[bool, str]:
                if bootstrap is None:
                    return False, "not running"
                try:
                    async with asyncio.timeout(timeout + 2):
                        info = await describe_cluster(
                            StackEndpoints("", bootstrap, self._kafka_credentials()).kafka, timeout
                        )
                    return True, f"cluster {info.get('cluster_id')}, {len(info.get('brokers') or [])} broker(s)"  # type: ignore[arg-type]
                except Exception as err:
                    return False, f"no answer: {err!r}"

            pg_result, kafka_result = await asyncio.gather(pg(), kf())
            return pg_result, kafka_result

        (pg_up, pg_detail), (kafka_up, kafka_detail) = run_sync(check)
        components = (
            ComponentStatus(
                "postgres",
                pg_up,
                pg_managed,
                _redact(db_url) if db_url else None,
                pg_pid,
                pg_detail,
                self.paths.postgres_log if pg_managed else None,
            ),
            ComponentStatus(
                "kafka",
                kafka_up,
                kafka_managed,
                bootstrap,
                kafka_pid,
                kafka_detail,
                self.paths.kafka_server_log if kafka_managed else None,
            ),
        )
        endpoints = StackEndpoints(db_url, bootstrap, self._kafka_credentials()) if db_url and bootstrap else None
        return StackStatus(self.paths.stack_dir, components, state.get("started_at"), endpoints)

    # --- internals ----------------------------------------------------------------------------------
    def _kafka_pid_file(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(self.paths.kafka_dir.joinpath("broker.pid").read_text().strip())
        return None

    def _up(self) -> StackEndpoints:
        state = self.read_state()
        previous_ports: dict[str, int] = state.get("ports") or {}
        previous_pids: dict[str, int | None] = state.get("pids") or {}
        taken: set[int] = set()
        started_here: list[str] = []
        ports: dict[str, int | None] = {"postgres": None, "kafka": None, "kafka_controller": None}
        pids: dict[str, int | None] = {"postgres": None, "kafka": None}

        # Kafka: reuse a running broker of this stack, else launch one (in a thread, while Postgres starts)
        kafka_future: concurrent.futures.Future[Any] | None = None
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            if self.external_kafka is None:
                find_java()
                fetch_kafka(self.paths, self._progress)
                kafka_pid = previous_pids.get("kafka") or self._kafka_pid_file()
                if self.kafka.alive(kafka_pid) and not self.kafka.running_with_sasl():
                    self._progress("the running Kafka takes anonymous clients: restarting it with SASL/SCRAM and ACLs")
                    self.kafka.stop(kafka_pid)
                running_ports = self.kafka.configured_ports() if self.kafka.alive(kafka_pid) else None
                if running_ports is not None:
                    self._progress(f"Kafka already running (pid {kafka_pid}) on 127.0.0.1:{running_ports[0]}")
                    pids["kafka"] = kafka_pid
                    ports["kafka"], ports["kafka_controller"] = running_ports
                else:
                    broker_port = pick_port(previous_ports.get("kafka"), taken)
                    taken.add(broker_port)
                    controller_port = pick_port(previous_ports.get("kafka_controller"), taken)
                    taken.add(controller_port)
                    kafka_future = pool.submit(self.kafka.start, broker_port, controller_port)
                    started_here.append("kafka")

            # Postgres
            if self.external_database_url is None:
                running = self.postgres.running_pid()
                if running is not None:
                    run: PostgresRun = self.postgres.start(port=0)  # reuses the running server
                    self._progress(f"Postgres already running (pid {run.pid}) on 127.0.0.1:{run.port}")
                else:
                    pg_port = pick_port(previous_ports.get("postgres"), taken)
                    taken.add(pg_port)
                    run = self.postgres.start(pg_port, timeout=self.postgres_ready_timeout)
                    started_here.append("postgres")
                pids["postgres"], ports["postgres"] = run.pid, run.port
                database_url = run.database_url
            else:
                database_url = libpq_url(self.external_database_url)

            if kafka_future is not None:
                kafka_run = kafka_future.result()
                pids["kafka"], ports["kafka"] = kafka_run.pid, kafka_run.broker_port
                ports["kafka_controller"] = kafka_run.controller_port
                self.paths.kafka_dir.joinpath("broker.pid").write_text(f"{kafka_run.pid}\n")
            bootstrap = self.external_kafka or f"127.0.0.1:{ports['kafka']}"
            admin = StackEndpoints(database_url, bootstrap, self._kafka_credentials()).kafka

            kafka_pid_now = pids["kafka"]

            async def ready() -> tuple[str, dict[str, int]]:
                self._progress("waiting for Postgres (SELECT 1) and Kafka (describe_cluster)")
                version, _cluster = await asyncio.gather(
                    wait_for_postgres(
                        database_url,
                        self.postgres_ready_timeout,
                        self.paths.postgres_log if self.external_database_url is None else None,
                    ),
                    wait_for_kafka(
                        admin,
                        self.kafka_ready_timeout,
                        alive=(lambda: self.kafka.alive(kafka_pid_now)) if kafka_pid_now else None,
                        log_tail=self.kafka.log_tail if self.external_kafka is None else None,
                    ),
                )
                self._progress(f"creating {len(self.topics)} topics (existing ones are kept)")
                counts = await ensure_topics(admin, self.topics)
                if admin.uses_sasl:
                    self._progress("granting each service principal its topics (ACLs)")
                    await ensure_acls(admin, all_bindings())
                return version, counts

            _version, topic_counts = run_sync(ready)
        except BaseException:
            # leave nothing half-started behind: stop what this call launched
            if kafka_future is not None:
                with contextlib.suppress(Exception):
                    self.kafka.stop(kafka_future.result().pid, grace=10)
            if "postgres" in started_here:
                with contextlib.suppress(Exception):
                    self.postgres.stop()
            raise
        finally:
            pool.shutdown(wait=True)

        was_up = bool(state.get("up")) and not started_here
        endpoints = StackEndpoints(database_url, bootstrap, self._kafka_credentials())
        self._write_state(
            {
                "version": STATE_VERSION,
                "up": True,
                "stack_dir": str(self.paths.stack_dir),
                "started_at": state.get("started_at") if was_up else _now(),
                "stopped_at": None,
                "database_url": endpoints.database_url,
                "kafka_bootstrap_servers": endpoints.kafka_bootstrap_servers,
                "pids": pids,
                "ports": {k: v for k, v in ports.items() if v} or previous_ports,
                "managed": {
                    "postgres": self.external_database_url is None,
                    "kafka": self.external_kafka is None,
                },
                "logs": {
                    "postgres": str(self.paths.postgres_log),
                    "kafka": str(self.paths.kafka_server_log),
                },
                "topics": topic_counts,
            }
        )
        return endpoints


def _redact(url: str) -> str:
    """The URL with its password replaced by ***, for display."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
