"""Webhooks for hospital systems: subscriptions kept per tenant, one delivery row per matching subscription written
in the consumer's transaction (outbox-style), and a periodic sender that claims due deliveries, signs them per
Standard Webhooks, posts them and writes what happened; at-least-once, with one `webhook-id` per event."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications.domain.secret_box import DEVELOPMENT_KEY, SecretBox
from services.notifications.domain.webhooks import (
    DeliveryStatus,
    Outcome,
    SigningKeys,
    TargetPolicy,
    UnsafeTarget,
    new_secret,
    next_attempt_delay,
    outcome_of,
    should_disable,
    subscribes_to,
    validate_event_types,
    webhook_body,
    webhook_id,
)
from services.notifications.settings import NotificationsSettings
from services.notifications.webhook_repository import (
    AttemptResult,
    DueDelivery,
    NewDelivery,
    SubscriptionRecord,
    SubscriptionRepository,
    WebhookStream,
)
from shared.db import unit_of_work
from shared.events.envelope import EventEnvelope
from shared.periodic import Periodic
from shared.service import ServiceRuntime
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 10.0
LEASE_MARGIN_S = 30.0
MAX_RESPONSE_BYTES = 64 * 1024

WEBHOOK_ATTEMPTS = Counter("claimflow_webhook_attempts_total", "Webhook delivery attempts by outcome.", ["outcome"])
WEBHOOK_SECONDS = Histogram("claimflow_webhook_attempt_duration_seconds", "Time of one webhook attempt.")
WEBHOOKS_DISABLED = Counter("claimflow_webhook_subscriptions_disabled_total", "Subscriptions disabled by failures.")
_ATTEMPTS_BY_OUTCOME = {outcome: WEBHOOK_ATTEMPTS.labels(outcome.value) for outcome in Outcome}
"""The counter's children, looked up once rather than by label on every attempt."""

Resolver = Callable[[str, int], Awaitable[list[str]]]


class SubscriptionNotFound(LookupError):
    pass


class SubscriptionDisabled(ValueError):
    pass


# --- configuration ------------------------------------------------------------------------------


def target_policy(service: ServiceSettings, own: NotificationsSettings) -> TargetPolicy:
    """Private targets and plain http only in development, unless set; never in production."""
    allow = own.webhook_allow_private_targets
    if allow is None:
        allow = service.environment == "development"
    if allow and service.environment == "production":
        raise ValueError("CLAIMFLOW_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS cannot be set in production")
    return TargetPolicy(allow_private=allow)


def secret_box(service: ServiceSettings, own: NotificationsSettings) -> SecretBox:
    if own.secrets_key is not None:
        return SecretBox.from_base64(own.secrets_key.get_secret_value())
    if service.environment == "production":
        raise ValueError("CLAIMFLOW_NOTIFICATIONS_SECRETS_KEY must be set in production")
    return SecretBox(DEVELOPMENT_KEY)


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def checked_addresses(policy: TargetPolicy, url: str, resolver: Resolver = resolve) -> tuple[str, list[str]]:
    """The URL's host and its addresses, every one of them allowed; raises UnsafeTarget otherwise."""
    host, port = policy.check_url(url)
    try:
        httpx.URL(url)
    except httpx.InvalidURL:
        raise UnsafeTarget("webhook URL is not a valid URL") from None
    try:
        addresses = await resolver(host, port)
    except (OSError, UnicodeError, ValueError):
        raise UnsafeTarget(f"webhook host {host} does not resolve") from None
    if not addresses:
        raise UnsafeTarget(f"webhook host {host} does not resolve")
    for address in addresses:
        try:
            policy.check_address(address)
        except UnsafeTarget:
            raise
        except ValueError:
            raise UnsafeTarget(f"webhook host {host} resolves to an unusable address") from None
    return host, addresses


# --- subscriptions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """A tenant's subscriptions: creating checks the target, secrets are sealed before they are stored."""

    session: AsyncSession
    tenant: str
    box: SecretBox
    policy: TargetPolicy
    resolver: Resolver = resolve

    @property
    def _repository(self) -> SubscriptionRepository:
        return SubscriptionRepository(self.session, self.tenant)

    async def create(
        self, *, url: str, event_types: Sequence[str], description: str | None
    ) -> tuple[SubscriptionRecord, str]:
        await checked_addresses(self.policy, url, self.resolver)
        subscription_id = uuid.uuid4()
        secret = new_secret()
        now = dt.datetime.now(dt.UTC)
        record = SubscriptionRecord(
            id=subscription_id,
            tenant_id=self.tenant,
            url=url,
            description=description,
            event_types=validate_event_types(event_types),
            secret_sealed=self.box.seal(secret, str(subscription_id)),
            previous_secret_sealed=None,
            previous_secret_expires_at=None,
            enabled=True,
            disabled_reason=None,
            disabled_at=None,
            consecutive_failures=0,
            failing_since=None,
            created_at=now,
            updated_at=now,
        )
        await self._repository.create(record)
        return record, secret

    async def get(self, subscription_id: uuid.UUID) -> SubscriptionRecord:
        record = await self._repository.get(subscription_id)
        if record is None:
            raise SubscriptionNotFound(subscription_id)
        return record

    async def all(self) -> list[SubscriptionRecord]:
        return await self._repository.all()

    async def update(
        self,
        subscription_id: uuid.UUID,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
    ) -> SubscriptionRecord:
        await self.get(subscription_id)
        values: dict[str, object] = {"updated_at": dt.datetime.now(dt.UTC)}
        if url is not None:
            await checked_addresses(self.policy, url, self.resolver)
            values["url"] = url
        if event_types is not None:
            values["event_types"] = validate_event_types(event_types)
        if description is not None:
            values["description"] = description
        await self._repository.update(subscription_id, **values)
        return await self.get(subscription_id)

    async def delete(self, subscription_id: uuid.UUID) -> None:
        if not await self._repository.delete(subscription_id):
            raise SubscriptionNotFound(subscription_id)

    async def enable(self, subscription_id: uuid.UUID) -> SubscriptionRecord:
        """Enabled again with a clean failure streak; what waited meanwhile is sent at once."""
        await self.get(subscription_id)
        now = dt.datetime.now(dt.UTC)
        await self._repository.update(
            subscription_id,
            enabled=True,
            disabled_reason=None,
            disabled_at=None,
            consecutive_failures=0,
            failing_since=None,
            updated_at=now,
        )
        await self._repository.make_pending_due(subscription_id, now)
        return await self.get(subscription_id)

    async def disable(self, subscription_id: uuid.UUID) -> SubscriptionRecord:
        """Deliveries keep being recorded while disabled, and go out when it is enabled again."""
        await self.get(subscription_id)
        now = dt.datetime.now(dt.UTC)
        await self._repository.update(
            subscription_id, enabled=False, disabled_reason="disabled by API", disabled_at=now, updated_at=now
        )
        return await self.get(subscription_id)

    async def rotate_secret(self, subscription_id: uuid.UUID, grace_s: float) -> tuple[SubscriptionRecord, str]:
        """A new secret signs from now on; the previous one signs beside it for `grace_s`."""
        current = await self._repository.get(subscription_id, for_update=True)
        if current is None:
            raise SubscriptionNotFound(subscription_id)
        secret = new_secret()
        now = dt.datetime.now(dt.UTC)
        await self._repository.update(
            subscription_id,
            secret_sealed=self.box.seal(secret, str(subscription_id)),
            previous_secret_sealed=current.secret_sealed if grace_s > 0 else None,
            previous_secret_expires_at=now + dt.timedelta(seconds=grace_s) if grace_s > 0 else None,
            updated_at=now,
        )
        return await self.get(subscription_id), secret

    async def secret(self, subscription_id: uuid.UUID) -> str:
        record = await self.get(subscription_id)
        return self.box.open(record.secret_sealed, str(record.id))


# --- from the event stream ----------------------------------------------------------------------


async def record_deliveries(session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> int:
    """One delivery per event and matching subscription, in the consumer's transaction: the event's inbox row and
    its deliveries commit together, so an event is neither lost nor fanned out twice."""
    stream = WebhookStream(session)
    filters = await stream.filters_for([envelope.tenant for envelope in envelopes])
    if not filters:
        return 0
    by_tenant: dict[str, list[tuple[uuid.UUID, list[str]]]] = {}
    for subscription in filters:
        by_tenant.setdefault(subscription.tenant_id, []).append((subscription.id, subscription.event_types))
    now = dt.datetime.now(dt.UTC)
    deliveries: list[NewDelivery] = []
    for envelope in envelopes:
        matching = [
            subscription_id
            for subscription_id, event_types in by_tenant.get(envelope.tenant, [])
            if subscribes_to(event_types, envelope.type)
        ]
        if not matching:
            continue
        body = webhook_body(
            event_id=envelope.id, event_type=envelope.type, occurred_at=envelope.time, payload=envelope.payload()
        )
        deliveries.extend(
            NewDelivery(
                id=uuid.uuid4(),
                tenant_id=envelope.tenant,
                subscription_id=subscription_id,
                event_id=envelope.id,
                event_type=envelope.type,
                webhook_id=webhook_id(subscription_id, envelope.id),
                body=body,
                created_at=now,
            )
            for subscription_id in matching
        )
    await stream.add_deliveries(deliveries)
    return len(deliveries)


# --- the sender ---------------------------------------------------------------------------------


class WebhookSender:
    """Claims due deliveries, sends them concurrently (at most `max_in_flight` at once) and writes the results in
    batches. A round does not wait for slow receivers: it tops up the requests in flight and returns.

    Claimed deliveries wait in a small buffer ahead of the free slots, and a finished request starts the next one at
    once, so the slots stay busy while a round writes results and claims more. A round claims again only when a good
    part of the room is free (or on the interval), so each transaction writes and claims many deliveries, not the one
    or two that just finished."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: NotificationsSettings,
        box: SecretBox,
        policy: TargetPolicy,
        resolver: Resolver = resolve,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._box = box
        self._policy = policy
        # aiohttp rather than httpx: on this kind of machine it sends several times the requests per second per core.
        # Every host name goes through CheckedResolver, so each connection is made to an address that was checked.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=settings.webhook_max_in_flight,
                limit_per_host=settings.webhook_max_per_target,
                resolver=CheckedResolver(policy, resolver),
            ),
            timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_s),
            headers={"user-agent": "claimflow-webhooks/1"},
            trust_env=False,
            auto_decompress=False,
        )
        self._rng = rng or random.Random()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._claimed: collections.deque[DueDelivery] = collections.deque()
        """Claimed (leased) and not yet started: each starts as soon as a slot frees."""
        self._capacity = settings.webhook_max_in_flight + max(1, settings.webhook_max_in_flight // 2)
        """Slots plus the buffer ahead of them."""
        self._refill_at = max(1, self._capacity // 4)
        """Room (free slots and buffer) worth a transaction while requests are in flight."""
        self._room_free = asyncio.Event()
        self._idle = asyncio.Event()
        self._results: list[AttemptResult] = []
        self._keys: dict[tuple[uuid.UUID, bytes, bytes | None], SigningKeys] = {}
        self._refused_urls: dict[str, UnsafeTarget | None] = {}
        """The policy's answer per target URL (the addresses are still checked at every connect)."""

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def _room(self) -> int:
        return self._capacity - len(self._in_flight) - len(self._claimed)

    async def round(self) -> bool:
        """One pass; True when there is more to do at once. The results written since the last pass and the next
        due deliveries claimed go in one transaction (fewer round trips per delivery)."""
        if self._room() < self._refill_at and self._in_flight:
            await self._wait_for_room(self._settings.webhook_interval_s)
        limit = min(self._room(), self._settings.webhook_batch)
        now = dt.datetime.now(dt.UTC)
        lease = now + dt.timedelta(seconds=self._settings.webhook_timeout_s + LEASE_MARGIN_S)
        results, self._results = self._results, []
        try:
            async with unit_of_work(self._sessions) as session:
                stream = WebhookStream(session)
                failing = await self._record(stream, results, now)
                due = await stream.claim_due(now, lease, limit) if limit > 0 else []
        except BaseException:
            self._results = results + self._results  # written next round; the leases keep them from others
            raise
        self._disabled(failing)
        self._claimed.extend(due)
        self._start_claimed()
        if limit > 0 and len(due) == limit:
            return True
        if self._in_flight:
            # Nothing more is due yet: let the requests in flight finish (or the interval pass) and write them.
            await self._wait_for_idle(self._settings.webhook_interval_s)
            await self.flush()
        return bool(self._in_flight or self._claimed)

    async def drain(self) -> None:
        """Wait for every request in flight (and every one claimed) and write the results."""
        while self._in_flight:
            await self._wait_for_idle(None)
        await self.flush()

    async def close(self) -> None:
        self._claimed.clear()  # their leases run out and they are claimed again
        for task in self._in_flight:
            task.cancel()
        await self._session.close()

    def _start_claimed(self) -> None:
        while self._claimed and len(self._in_flight) < self._settings.webhook_max_in_flight:
            task = asyncio.create_task(self._attempt(self._claimed.popleft()))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._start_claimed()
        if not self._in_flight:
            self._idle.set()
            self._room_free.set()
        elif self._room() >= self._refill_at:
            self._room_free.set()

    async def _wait_for_room(self, timeout_s: float) -> None:
        """Until a good part of the room is free, every request has finished, or `timeout_s` passed."""
        if self._room() >= self._refill_at or not self._in_flight:
            return
        self._room_free.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room_free.wait(), timeout_s)

    async def _wait_for_idle(self, timeout_s: float | None) -> None:
        """Until every request in flight has finished, or `timeout_s` passed."""
        if not self._in_flight:
            return
        self._idle.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)

    async def flush(self) -> None:
        if not self._results:
            return
        results, self._results = self._results, []
        now = dt.datetime.now(dt.UTC)
        try:
            async with unit_of_work(self._sessions) as session:
                failing = await self._record(WebhookStream(session), results, now)
        except BaseException:
            self._results = results + self._results  # written next round; the leases keep them from others
            raise
        self._disabled(failing)

    async def _record(self, stream: WebhookStream, results: list[AttemptResult], now: dt.datetime) -> list[uuid.UUID]:
        """Write `results` and disable the subscriptions whose failures reached the limit; returns those."""
        if not results:
            return []
        streaks = await stream.record(results, now)
        failing = [
            streak.id
            for streak in streaks
            if should_disable(
                streak.consecutive_failures,
                streak.failing_since,
                now,
                after_failures=self._settings.webhook_disable_after_failures,
                after_s=self._settings.webhook_disable_after_s,
            )
        ]
        if failing:
            await stream.disable(failing, "too many consecutive failed attempts", now)
        return failing

    @staticmethod
    def _disabled(failing: list[uuid.UUID]) -> None:
        if failing:
            WEBHOOKS_DISABLED.inc(len(failing))
            log.warning("webhook subscriptions disabled after failures", extra={"subscriptions": len(failing)})

    def _signing_keys(self, delivery: DueDelivery, now: dt.datetime) -> SigningKeys:
        previous = delivery.previous_secret_sealed
        if previous is not None and (
            delivery.previous_secret_expires_at is None or delivery.previous_secret_expires_at <= now
        ):
            previous = None
        cache_key = (delivery.subscription_id, delivery.secret_sealed, previous)
        keys = self._keys.get(cache_key)
        if keys is None:
            bound_to = str(delivery.subscription_id)
            keys = SigningKeys.of(
                self._box.open(delivery.secret_sealed, bound_to),
                self._box.open(previous, bound_to) if previous is not None else None,
            )
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[cache_key] = keys
        return keys

    async def _attempt(self, delivery: DueDelivery) -> None:
        attempted_at = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            # The session's total timeout bounds the whole attempt, the bounded read of the answer included (aiohttp
            # keeps it running until the response is released), so a slow drip ends well inside the lease.
            status_code = await self._post(delivery, attempted_at)
        except UnsafeTarget:
            error = "UnsafeTarget: the target resolves to a refused address"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure to get an answer is one failed attempt
            error = type(exc).__name__
        elapsed = time.perf_counter() - started
        WEBHOOK_SECONDS.observe(elapsed)
        self._results.append(self._result(delivery, attempted_at, status_code, error, elapsed))

    def _result(
        self,
        delivery: DueDelivery,
        attempted_at: dt.datetime,
        status_code: int | None,
        error: str | None,
        elapsed_s: float,
    ) -> AttemptResult:
        outcome = outcome_of(status_code)
        _ATTEMPTS_BY_OUTCOME[outcome].inc()
        status = DeliveryStatus.PENDING
        next_at = attempted_at
        if outcome is Outcome.DELIVERED:
            status = DeliveryStatus.DELIVERED
        elif outcome is Outcome.GONE:
            status = DeliveryStatus.FAILED
        else:
            delay = next_attempt_delay(
                delivery.schedule_attempts + 1,
                self._settings.webhook_retry_schedule_s,
                self._settings.webhook_retry_jitter,
                self._rng,
            )
            if delay is None:
                status = DeliveryStatus.FAILED
            else:
                next_at = attempted_at + dt.timedelta(seconds=delay)
        return AttemptResult(
            delivery_id=delivery.id,
            subscription_id=delivery.subscription_id,
            attempted_at=attempted_at,
            status_code=status_code,
            duration_ms=round(elapsed_s * 1000),
            error=error,
            status=status,
            next_attempt_at=next_at,
            gone=outcome is Outcome.GONE,
        )

    def _check_url(self, url: str) -> None:
        """Scheme, credentials, local names (the policy is fixed, so once per URL); the addresses at connect time."""
        try:
            refused = self._refused_urls[url]
        except KeyError:
            try:
                self._policy.check_url(url)
                refused = None
            except UnsafeTarget as exc:
                refused = exc
            if len(self._refused_urls) > 10_000:
                self._refused_urls.clear()
            self._refused_urls[url] = refused
        if refused is not None:
            raise UnsafeTarget(str(refused))

    async def _post(self, delivery: DueDelivery, attempted_at: dt.datetime) -> int:
        self._check_url(delivery.url)
        headers = self._signing_keys(delivery, attempted_at).headers(delivery.webhook_id, attempted_at, delivery.body)
        async with self._session.post(
            delivery.url, data=delivery.body.encode(), headers=headers, allow_redirects=False
        ) as response:
            received = 0
            while chunk := await response.content.readany():  # the answer is not used: read a bounded part of it
                received += len(chunk)
                if received > MAX_RESPONSE_BYTES:
                    break
            return response.status


class CheckedResolver(AbstractResolver):
    """Resolves a webhook host for the connection pool and refuses it unless every address it resolves to is
    allowed by the policy, so the connection goes to an address that was checked (no DNS swap in between)."""

    def __init__(self, policy: TargetPolicy, resolver: Resolver = resolve) -> None:
        self._policy = policy
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await self._resolver(host, port)
        except (UnicodeError, ValueError):
            raise UnsafeTarget(f"webhook host {host} does not resolve") from None
        if not addresses:
            raise UnsafeTarget(f"webhook host {host} does not resolve")
        for address in addresses:
            self._policy.check_address(address)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def webhook_sender(runtime: ServiceRuntime) -> Periodic | None:
    settings = runtime.settings_of(NotificationsSettings)
    if not settings.run_webhooks:
        return None
    sender = WebhookSender(
        sessions=runtime.sessions,
        settings=settings,
        box=secret_box(runtime.settings, settings),
        policy=target_policy(runtime.settings, settings),
    )
    return Periodic("webhooks", settings.webhook_interval_s, sender.round, MAX_BACKOFF_S)
