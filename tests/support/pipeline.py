"""Real services in real processes against the test database and broker."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from cli.services import (
    ServiceProcess,
    ServiceSecrets,
    listening_socket,
    provision_all,
    service_environment,
    with_database,
)
from cli.stack import LocalStack, StackEndpoints
from cli.stack.kafka import ensure_acls
from shared.db import create_engine
from shared.messaging.consumer import Subscription
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.principals import SERVICE_PRINCIPALS, ResourceType, all_bindings
from shared.migrations import alembic_config, upgrade_to_head
from shared.phi.keys import PhiSettings, configure_keyring
from shared.service import ServiceDefinition
from tests.support.intake_builders import visit_lines
from tests.support.oidc import LocalIdentityProvider

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_SECRETS = REPO_ROOT / ".local" / "test-secrets.json"


def test_secrets() -> ServiceSecrets:
    """One set of role passwords for every test and bench session of this checkout.

    Roles are server-wide: sessions sharing a server with different passwords would lock each
    other out, so they all provision the same ones (kept in the ignored .local/).
    """
    return ServiceSecrets.load_or_create(TEST_SECRETS)


@asynccontextmanager
async def bench_pipeline(
    definitions: Sequence[ServiceDefinition], servers: StackEndpoints | None = None
) -> AsyncIterator[Pipeline]:
    """A fresh database with `definitions` migrated, for a benchmark.

    Servers: `servers` (a stack the caller started), else CLAIMFLOW_TEST_DATABASE_URL +
    CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS (a broker taking anonymous clients), else a
    local stack in .local/bench-stack; at the end the services are stopped, the database dropped and
    a stack started here stopped.
    """
    database_url = os.environ.get("CLAIMFLOW_TEST_DATABASE_URL")
    kafka = os.environ.get("CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS")
    stack: LocalStack | None = None
    if servers is not None:  # a stack of the caller's, with its Kafka principals' credentials
        endpoints, database_url = servers, servers.database_url
    elif database_url and kafka:
        endpoints = StackEndpoints(database_url, kafka)
    else:
        stack = LocalStack(stack_dir=Path(".local") / "bench-stack", progress=lambda m: print(f"  stack: {m}"))
        endpoints = stack.up()
        database_url = endpoints.database_url
    database = f"claimflow_bench_{uuid.uuid4().hex[:8]}"
    await provision_all(database_url, test_secrets(), database)
    pipeline = Pipeline(
        admin_url=with_database(database_url, database),
        server_admin_url=database_url,
        database=database,
        servers=endpoints,
        secrets=test_secrets(),
        log_dir=Path(tempfile.mkdtemp(prefix="claimflow-bench-")),
    )
    configure_keyring(pipeline.phi_settings())
    try:
        for definition in definitions:
            engine = create_engine(pipeline.role_url(definition.name), pool_size=1)
            try:
                await upgrade_to_head(
                    engine, alembic_config(definition.migrations_dir, str(definition.metadata.schema))
                )
            finally:
                await engine.dispose()
        yield pipeline
    finally:
        pipeline.close()
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()
        if stack is not None:
            stack.down()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Pipeline:
    admin_url: str
    """libpq URL of a superuser, on the test database."""
    server_admin_url: str
    database: str
    servers: StackEndpoints
    """The broker's credentials: the suite acts as the admin principal, each service as its own."""
    secrets: ServiceSecrets
    log_dir: Path
    started: list[ServiceProcess] = field(default_factory=list)
    shared_sockets: list[socket.socket] = field(default_factory=list)
    """Service ports shared by replicas (`start_replicas`), closed by `stop_all`."""
    identity: LocalIdentityProvider = field(default_factory=lambda: LocalIdentityProvider().start())
    """The services run outside development, so they take only OIDC tokens: this provider's."""

    def phi_settings(self, cache_s: float = 60.0) -> PhiSettings:
        """The PHI keys the stack's services run with (its KEK): for their repositories used in this process."""
        return PhiSettings(environment="test", phi_keks=f"local:{self.secrets.phi_kek}", phi_key_cache_s=cache_s)

    @property
    def kafka(self) -> KafkaAccess:
        """The admin principal (a super user): what tests produce, read and rewind with."""
        return self.servers.kafka

    @property
    def kafka_bootstrap_servers(self) -> KafkaAccess:
        """The former name of `kafka`, kept so tests written before SASL still run."""
        return self.kafka

    def kafka_as(self, principal: str) -> KafkaAccess:
        return self.servers.kafka_as(principal)

    async def grant_groups(self) -> None:
        """ACLs for this session's consumer groups (named after its prefix), when the broker checks ACLs."""
        if self.servers.kafka_credentials is not None:
            groups = [b for b in all_bindings(self.group_prefix) if b.resource_type is ResourceType.GROUP]
            await ensure_acls(self.kafka, groups)

    @property
    def group_prefix(self) -> str:
        """This session's consumer groups are its own: other sessions on the broker cannot take partitions."""
        return f"{self.database}."

    def group(self, name: str) -> str:
        return self.group_prefix + name

    async def start_groups_at_end(self, subscriptions: Iterable[Subscription]) -> None:
        """Commit this session's groups at the topics' current ends, so they skip earlier sessions' events."""
        await self.grant_groups()
        subscriptions = list(subscriptions)
        ends = await end_offsets_of(self.kafka, sorted({topic for s in subscriptions for topic in s.topics}))
        await asyncio.gather(
            *(
                rewind_group(
                    self.kafka,
                    self.group(subscription.group_id),
                    {tp: offset for tp, offset in ends.items() if tp.topic in subscription.topics},
                )
                for subscription in subscriptions
            )
        )

    def token(self, tenant: str, *scopes: str, ttl: dt.timedelta = dt.timedelta(minutes=30)) -> str:
        return self.identity.mint(subject="test-suite", tenant=tenant, scopes=list(scopes), ttl=ttl)

    def auth(self, tenant: str, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant, *scopes)}"}

    def role_url(self, service: str) -> str:
        env = service_environment(
            service,
            admin_url=self.server_admin_url,
            kafka=self.kafka_as(service),
            service_secrets=self.secrets,
            database=self.database,
        )
        return env["CLAIMFLOW_DATABASE_URL"]

    def service_env(self, name: str, **extra_env: str) -> dict[str, str]:
        return service_environment(
            name,
            admin_url=self.server_admin_url,
            kafka=self.kafka_as(name) if name in SERVICE_PRINCIPALS else self.kafka,
            service_secrets=self.secrets,
            database=self.database,
            environment="test",
            extra={
                **self.identity.env(),
                "CLAIMFLOW_RELAY_POLL_INTERVAL_S": "0.2",
                "CLAIMFLOW_CONSUMER_GROUP_PREFIX": self.group_prefix,
                **extra_env,
            },
        )

    async def start(self, name: str, **extra_env: str) -> ServiceProcess:
        """Start service `name` in its own process and wait until /readyz answers 200."""
        process = ServiceProcess(
            name=name,
            port=free_port(),
            env=self.service_env(name, **extra_env),
            log_path=self.log_dir / f"{name}-{len(self.started)}.log",
        )
        self.started.append(process)
        process.start()
        await process.wait_ready(90)
        return process

    async def start_together(self, environments: dict[str, dict[str, str]]) -> dict[str, ServiceProcess]:
        """Start each named service (its extra environment beside it) in its own process, all at once; return once
        every one answers /readyz 200. A start that fails cancels the others' waits (`stop_all` kills them)."""
        processes = {
            name: ServiceProcess(
                name=name,
                port=free_port(),
                env=self.service_env(name, **extra_env),
                log_path=self.log_dir / f"{name}-{len(self.started) + index}.log",
            )
            for index, (name, extra_env) in enumerate(environments.items())
        }
        for process in processes.values():
            self.started.append(process)
            process.start()
        async with asyncio.TaskGroup() as waits:
            for process in processes.values():
                waits.create_task(process.wait_ready(90))
        return processes

    async def start_replicas(self, name: str, count: int, **extra_env: str) -> list[ServiceProcess]:
        """`count` processes of service `name` as `claimflow up --replicas` runs them: one listening socket on the
        service's port shared by all, an own port each; returns once every one is ready."""
        shared = listening_socket(free_port())
        self.shared_sockets.append(shared)
        replicas = [
            ServiceProcess(
                name=name,
                port=free_port(),
                env=self.service_env(name, **extra_env),
                log_path=self.log_dir / f"{name}-{len(self.started) + index}.log",
                replica=index + 1,
                shared_socket=shared,
            )
            for index in range(count)
        ]
        for replica in replicas:
            self.started.append(replica)
            replica.start()
        await asyncio.gather(*(replica.wait_ready(120) for replica in replicas))
        return replicas

    def stop_all(self) -> None:
        for process in self.started:
            process.kill()
        for shared in self.shared_sockets:
            shared.close()
        self.shared_sockets.clear()

    def close(self) -> None:
        self.stop_all()
        self.identity.stop()


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:12]}"


def coded_encounter(**overrides: Any) -> dict[str, Any]:
    """A synthetic professional encounter (no real person or identifier)."""
    day = "2026-11-02"
    encounter: dict[str, Any] = {
        "external_encounter_id": f"ENC-{uuid.uuid4().hex[:12]}",
        "claim_type": "professional",
        "patient_id": str(uuid.uuid4()),
        "payer_id": "SANDBOX",
        "billing_provider_npi": "1234567893",
        "place_of_service": "11",
        "service_date_from": day,
        "service_date_to": day,
        "diagnosis_codes": ["J06.9", "R05.9"],
        "lines": visit_lines(day),
    }
    encounter.update(overrides)
    return encounter


EVENTUALLY_POLL_S = 0.1
"""Between two checks of `eventually`: a check is a query or a request, and a test waits at most this long past
the moment its condition came true."""


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout_s: float = 30.0, what: str) -> Any:
    """Poll `check` until it returns a truthy value; fail with `what` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(EVENTUALLY_POLL_S)


async def role_waits_on_a_lock(admin_db: asyncpg.Connection, role: str) -> bool:
    """Whether a connection of the service role `role` waits on a lock in this database now."""
    return bool(
        await admin_db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock' "
            "AND datname = current_database()",
            role,
        )
    )


async def metric_total(process: ServiceProcess, name: str, **labels: str) -> float:
    async with httpx.AsyncClient(base_url=process.base_url) as client:
        text = (await client.get("/metrics")).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def end_offsets(kafka: KafkaAccess, topic: str) -> dict[TopicPartition, int]:
    return await end_offsets_of(kafka, [topic])


async def end_offsets_of(kafka: KafkaAccess, topics: Sequence[str]) -> dict[TopicPartition, int]:
    """The current end of every partition of `topics`: one metadata request and one offsets request for all."""
    if not topics:
        return {}
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        descriptions = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = sorted(TopicPartition(d["topic"], p["partition"]) for d in descriptions for p in d["partitions"])
    consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def read_from(kafka: KafkaAccess, start: dict[TopicPartition, int], *, idle_s: float = 1.0) -> list[Any]:
    """Every record from `start` offsets up to the current end, without a consumer group."""
    consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        end = await consumer.end_offsets(list(start))
        records: list[Any] = []
        deadline = time.monotonic() + 30
        while await _behind(consumer, end) and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=int(idle_s * 1000))).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    return any([await consumer.position(tp) < offset for tp, offset in end.items()])


async def produce(kafka: KafkaAccess, topic: str, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Any:
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        return await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def rewind_group(
    kafka: KafkaAccess, group_id: str, offsets: dict[TopicPartition, int], timeout_s: float = 60
) -> None:
    """Set a group's committed offsets, as if its last commits never happened (the group must be empty)."""
    deadline = time.monotonic() + timeout_s
    while True:
        consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=group_id, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(list(offsets))
            await consumer.commit(offsets)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
        finally:
            await consumer.stop()
        await asyncio.sleep(1)
