"""Shared fixtures. `servers`: a real Postgres and a real Kafka broker for integration tests.

Where they come from, in order:
1. CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS, when both are set;
2. testcontainers (postgres:18, apache/kafka:4.1.1), when a Docker engine answers `docker info`;
3. the project's own local stack in <repo>/.local/test-stack/ (never the dev stack), started once
   per session and stopped at the end (CLAIMFLOW_TEST_KEEP_STACK=1 leaves it running for reruns).
   When only one of the two variables is set, the local stack starts just the other server.

Topics from `shared.messaging.topics.all_topic_names()` exist in every case.
"""

from __future__ import annotations

import compileall
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.stack import LocalStack, StackEndpoints, libpq_url, prepare_endpoints

ROOT = Path(__file__).resolve().parents[1]

ENV_TEST_DATABASE_URL = "CLAIMFLOW_TEST_DATABASE_URL"
ENV_TEST_KAFKA = "CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS"
ENV_KEEP_STACK = "CLAIMFLOW_TEST_KEEP_STACK"
POSTGRES_IMAGE = "postgres:18"
KAFKA_IMAGE = "apache/kafka:4.1.1"

SERVERS_SOURCE = pytest.StashKey[str]()
log = logging.getLogger("claimflow.tests.servers")


SOURCE_DIRS = ("analytics", "cli", "console", "sandbox", "services", "shared", "tests")
"""The project's own packages, compiled beside the venv's when Python is told not to write bytecode."""


def pytest_configure(config: pytest.Config) -> None:
    """Where PYTHONDONTWRITEBYTECODE is set (as on this team's machines and CI) nothing is ever cached: every
    process (the suite, each service it starts, a CLI run) compiles every module it imports from source, some 3 s
    of CPU for one service. Compile the venv's packages and the project's once; later runs only check mtimes."""
    if not sys.dont_write_bytecode:
        return
    paths = sysconfig.get_paths()
    for folder in dict.fromkeys((paths["purelib"], paths["platlib"], *(str(ROOT / name) for name in SOURCE_DIRS))):
        if Path(folder).is_dir():
            compileall.compile_dir(folder, quiet=2, workers=0)


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _testcontainers_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("testcontainers") is not None


@contextlib.contextmanager
def _containers() -> Iterator[StackEndpoints]:
    """Postgres and a single-node KRaft Kafka in containers (images pinned)."""
    import warnings

    from testcontainers.core.container import DockerContainer
    from testcontainers.core.docker_client import DockerClient

    from cli.stack.process import free_port

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:
            from testcontainers.postgres import PostgresContainer

    host = DockerClient().host()
    kafka_port = free_port()  # the advertised listener must name the host port, so it is fixed up front
    kafka = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, kafka_port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://{host}:{kafka_port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT")
        .with_env("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        .with_env("KAFKA_HEAP_OPTS", "-Xms768m -Xmx768m")
    )
    postgres = PostgresContainer(POSTGRES_IMAGE, driver="asyncpg")
    with postgres, kafka:
        yield StackEndpoints(libpq_url(postgres.get_connection_url()), f"{host}:{kafka_port}")


@pytest.fixture(scope="session")
def servers(request: pytest.FixtureRequest) -> Iterator[StackEndpoints]:
    """Endpoints of a real Postgres (libpq URL; `.sqlalchemy_url` for SQLAlchemy) and Kafka broker."""
    db_url = os.environ.get(ENV_TEST_DATABASE_URL) or None
    bootstrap = os.environ.get(ENV_TEST_KAFKA) or None

    if db_url and bootstrap:
        request.config.stash[SERVERS_SOURCE] = "env"
        endpoints = StackEndpoints(libpq_url(db_url), bootstrap)
        prepare_endpoints(endpoints)
        yield endpoints
        return

    if not (db_url or bootstrap) and _docker_answers() and _testcontainers_available():
        request.config.stash[SERVERS_SOURCE] = "testcontainers"
        with _containers() as endpoints:
            prepare_endpoints(endpoints)
            yield endpoints
        return

    request.config.stash[SERVERS_SOURCE] = "local-stack"
    stack = LocalStack.for_tests(ROOT, database_url=db_url, kafka_bootstrap_servers=bootstrap, progress=log.info)
    endpoints = stack.up()
    try:
        yield endpoints
    finally:
        if os.environ.get(ENV_KEEP_STACK, "") in ("", "0", "false"):
            stack.down()


@pytest.fixture(scope="session")
def servers_source(servers: StackEndpoints, request: pytest.FixtureRequest) -> str:
    """Where `servers` came from: "env", "testcontainers" or "local-stack"."""
    return request.config.stash[SERVERS_SOURCE]
