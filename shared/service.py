"""One way to run a service: settings, engine, migrations, relay, consumers, the clearinghouse adapter and
periodic work, all owned by the runtime the app lifespan builds and tears down."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic_settings import BaseSettings
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import OidcSettings, TokenVerifier, credential_verifier
from shared.clearinghouse import ClearinghouseAdapter, ClearinghouseSettings, adapter_from_settings
from shared.db import create_engine, create_sessionmaker
from shared.events.catalog import EVENT_TYPES
from shared.http_guard import BodyLimits
from shared.http_guard import install as install_request_guard
from shared.messaging.consumer import ConsumerRunner, Handler, Subscription
from shared.messaging.outbox import Outbox
from shared.messaging.publisher import KafkaPublisher
from shared.messaging.relay import OutboxRelay
from shared.messaging.retention import outbox_pruning
from shared.messaging.tables import MessagingTables
from shared.migrations import alembic_config, current_revision, head_revision, upgrade_to_head
from shared.openapi import Examples
from shared.openapi import install as install_openapi
from shared.periodic import Periodic, run_periodically
from shared.phi.access import phi_access_router
from shared.phi.crypto import PhiKeyError
from shared.phi.keys import PhiSettings, configure_keyring
from shared.settings import InsecureSettings, ServiceSettings
from shared.telemetry.logging import configure_logging
from shared.telemetry.metrics import HTTP_REQUEST_SECONDS
from shared.telemetry.tracing import configure_tracing, request_span_redactor

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 10.0
METRICS_TIMEOUT_S = 2.0
OwnSettings = TypeVar("OwnSettings", bound=BaseSettings)


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    description: str
    metadata: sa.MetaData
    messaging: MessagingTables
    migrations_dir: Path
    routers: Sequence[APIRouter] = ()
    subscriptions: Sequence[Subscription] = ()
    own_settings: type[BaseSettings] | None = None
    """The service's own settings (e.g. `ClaimsSettings`), read from the environment once per runtime."""
    body_limits: Mapping[str, int] = field(default_factory=dict)
    """Path prefix to the largest request body it takes (e.g. 835 uploads); others get the default."""
    periodic: Sequence[Callable[[ServiceRuntime], Periodic | None]] = ()
    """Periodic work (e.g. an inbound file poller), each built from the runtime (None: switched off by
    settings), run by `run_periodically` after migrations, cancelled at shutdown."""
    openapi_examples: Examples = field(default_factory=dict)
    """Curated request and response examples by (METHOD, path); other operations get examples built from
    their schemas."""
    metrics: Sequence[Callable[[ServiceRuntime], Awaitable[None]]] = ()
    """Gauges read from the database when `/metrics` is scraped (so they agree with it), e.g. claims by state."""
    handlers: Callable[[ServiceRuntime], Mapping[str, Handler]] | None = None
    phi_access: sa.Table | None = None
    """The service's PHI access log (`shared.phi.access`): with it the service serves `GET /v1/phi-access`
    and needs the PHI keys of the environment to start."""
    """Handlers that need the runtime (the service's own settings, its outbox), by event type, built once
    it exists; each joins the declared subscription that reads its event's topic."""

    def bound_subscriptions(self, runtime: ServiceRuntime) -> list[Subscription]:
        """The declared subscriptions with the runtime's handlers joined to them."""
        bound = self.handlers(runtime) if self.handlers is not None else {}
        return [
            dataclasses.replace(
                subscription,
                handlers={
                    **subscription.handlers,
                    **{kind: h for kind, h in bound.items() if EVENT_TYPES[kind][0].name in subscription.topics},
                },
            )
            for subscription in self.subscriptions
        ]


@dataclass
class ServiceRuntime:
    definition: ServiceDefinition
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    publisher: KafkaPublisher
    relay: OutboxRelay
    consumers: list[ConsumerRunner]
    head: str | None
    own: BaseSettings | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _clearinghouse: ClearinghouseAdapter | None = field(default=None, init=False, repr=False)

    def settings_of(self, kind: type[OwnSettings]) -> OwnSettings:
        """The service's own settings, typed: `runtime.settings_of(ClaimsSettings)`."""
        if not isinstance(self.own, kind):
            raise TypeError(f"{self.definition.name} runs with {type(self.own).__name__}, not {kind.__name__}")
        return self.own

    @property
    def clearinghouse(self) -> ClearinghouseAdapter:
        """One adapter per process (``CLAIMFLOW_CLEARINGHOUSE_*``), opened on first use, closed at shutdown."""
        if self._clearinghouse is None:
            self._clearinghouse = adapter_from_settings(ClearinghouseSettings())
        return self._clearinghouse


YOUNG_GENERATION_THRESHOLD = 100_000
"""Net allocations (tracked objects allocated less those freed) between two collections of the cyclic collector's
youngest generation (CPython's default: 700)."""


def settle_heap() -> None:
    """What a service holds from its start (modules, pydantic schemas, compiled SQL) is frozen out of the cyclic
    collector's sweeps, and its youngest generation is swept once the heap has grown by 100,000 objects instead of
    700. A consumed batch or a 1,000-encounter request allocates tens of thousands of objects that live until the
    batch is done (reference counting frees them then, which counts against the growth): sweeping every 700
    allocations took about a fifth of the claims service's CPU, and every 10,000 still about an eighth (each sweep
    found a batch's live objects and promoted them, and the middle generation's sweeps then walked them again);
    at 100,000 a steady service sweeps about once per 10,000 claims (`bench/claims_throughput.py`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, 10, 10)


def create_service_app(
    definition: ServiceDefinition, settings: ServiceSettings | None = None, own: BaseSettings | None = None
) -> FastAPI:
    settings = settings or ServiceSettings()
    oidc = OidcSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.check_auth_secret()
        settings.check_kafka_security()
        if (problem := oidc.problem(settings.environment)) is not None:
            raise InsecureSettings(problem)
        if definition.phi_access is not None:
            try:
                configure_keyring(PhiSettings(environment=settings.environment))
            except PhiKeyError as exc:
                raise InsecureSettings(str(exc)) from None
        configure_logging(definition.name, settings.log_level)
        configure_tracing(definition.name)
        settle_heap()
        runtime = await _start(definition, settings, own)
        app.state.runtime = runtime
        log.info("service started", extra={"schema": definition.metadata.schema, "revision": runtime.head})
        try:
            yield
        finally:
            await _stop(runtime)
            log.info("service stopped")

    app = FastAPI(
        title=f"claimflow {definition.name}",
        description=definition.description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.token_verifier = credential_verifier(
        settings.environment,
        TokenVerifier(
            secret=settings.auth_secret.get_secret_value(), issuer=settings.auth_issuer, audience=settings.auth_audience
        ),
        oidc,
    )
    install_request_guard(app, BodyLimits(settings.max_body_bytes, definition.body_limits))
    install_openapi(app, definition.openapi_examples)
    app.include_router(_operations_router())
    for router in definition.routers:
        app.include_router(router)
    if definition.phi_access is not None:
        app.include_router(phi_access_router())
    _add_request_metrics(app, definition.name)
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz,metrics", server_request_hook=request_span_redactor(app)
    )
    return app


async def _start(
    definition: ServiceDefinition, settings: ServiceSettings, own: BaseSettings | None = None
) -> ServiceRuntime:
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, enable_commenter=False)
    schema = str(definition.metadata.schema)
    config = alembic_config(definition.migrations_dir, schema)
    await upgrade_to_head(engine, config)
    sessions = create_sessionmaker(engine)
    publisher = KafkaPublisher(
        settings.kafka_access(),
        client_id=f"claimflow-{definition.name}",
        send_timeout_s=settings.kafka_send_timeout_s,
        stop_timeout_s=settings.kafka_stop_timeout_s,
    )
    relay = OutboxRelay(
        service=definition.name,
        engine=engine,
        outbox=definition.messaging.outbox,
        publisher=publisher,
        batch_size=settings.relay_batch_size,
        poll_interval_s=settings.relay_poll_interval_s,
    )
    runtime = ServiceRuntime(
        definition=definition,
        settings=settings,
        engine=engine,
        sessions=sessions,
        outbox=Outbox(definition.messaging.outbox, source=f"/claimflow/{definition.name}"),
        publisher=publisher,
        relay=relay,
        consumers=[],
        head=head_revision(config),
        own=own if own is not None else (definition.own_settings() if definition.own_settings else None),
    )
    runtime.consumers += [
        ConsumerRunner(
            service=definition.name,
            subscription=dataclasses.replace(
                subscription, group_id=settings.consumer_group_prefix + subscription.group_id
            ),
            sessions=sessions,
            inbox=definition.messaging.inbox,
            publisher=publisher,
            kafka=settings.kafka_access(),
            max_attempts=settings.consumer_max_attempts,
            batch_size=settings.consumer_batch_size,
            fetch_min_bytes=settings.consumer_fetch_min_bytes,
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
            max_in_flight=settings.consumer_max_in_flight,
        )
        for subscription in definition.bound_subscriptions(runtime)
    ]
    # Built before any task starts: a builder that raises (wrong settings) leaves nothing running.
    periodic = [work for build in definition.periodic if (work := build(runtime)) is not None]
    retention = outbox_pruning(definition.name, sessions, definition.messaging.outbox, settings.outbox_retention_days)
    if settings.run_relay and retention is not None:  # published rows are pruned where they are published
        periodic.append(retention)
    if settings.run_relay:
        runtime.tasks.append(asyncio.create_task(relay.run(), name=f"{definition.name}-relay"))
    for work in periodic:
        runtime.tasks.append(
            asyncio.create_task(run_periodically(definition.name, work), name=f"{definition.name}-{work.name}")
        )
    if settings.run_consumers:
        for consumer in runtime.consumers:
            runtime.tasks.append(asyncio.create_task(consumer.run(), name=f"{definition.name}-{consumer.group_id}"))
    return runtime


async def _stop(runtime: ServiceRuntime) -> None:
    """Cancel the tasks, then close what they used; a failing close does not skip the next one."""
    for task in runtime.tasks:
        task.cancel()
    if runtime.tasks:
        await asyncio.wait(runtime.tasks, timeout=STOP_TIMEOUT_S)
    try:
        await runtime.publisher.stop()
    finally:
        try:
            if runtime._clearinghouse is not None:
                await runtime._clearinghouse.close()
        finally:
            await runtime.engine.dispose()


def get_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database, migrations at head, Kafka reachable.")
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        checks = await readiness_checks(runtime)
        ready = all(check["ok"] for check in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics.", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        runtime: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            await observe_gauges(runtime)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def observe_gauges(runtime: ServiceRuntime) -> None:
    """Refresh the service's database gauges for this scrape; one that fails (database down, slow) keeps
    its last value and is logged, the scrape still answers."""
    for observe in runtime.definition.metrics:
        try:
            async with asyncio.timeout(METRICS_TIMEOUT_S):
                await observe(runtime)
        except Exception as exc:
            log.warning("database gauge not refreshed", extra={"error": type(exc).__name__})


async def readiness_checks(runtime: ServiceRuntime) -> dict[str, dict[str, object]]:
    checks: dict[str, dict[str, object]] = {}
    schema = str(runtime.definition.metadata.schema)
    try:
        async with asyncio.timeout(2):
            revision = await current_revision(runtime.engine, schema)
        checks["database"] = {"ok": True}
        checks["migrations"] = {"ok": revision == runtime.head, "current": revision, "head": runtime.head}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
        checks["migrations"] = {"ok": False, "error": "database unreachable"}
    reachable = await kafka_reachable(runtime.settings.kafka_bootstrap_servers)
    consumers_up = all(consumer.connected for consumer in runtime.consumers) or not runtime.settings.run_consumers
    kafka_ok = reachable and consumers_up and runtime.publisher.last_error is None
    checks["kafka"] = {"ok": kafka_ok, "error": runtime.publisher.last_error}
    return checks


async def kafka_reachable(bootstrap_servers: str, timeout_s: float = 1.0) -> bool:
    """A TCP connect to any bootstrap server; a stuck idempotent producer is caught by last_error."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            async with asyncio.timeout(timeout_s):
                _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
            return True
        except (OSError, TimeoutError, ValueError):
            continue
    return False


def _add_request_metrics(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        HTTP_REQUEST_SECONDS.labels(service, request.method, path, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
