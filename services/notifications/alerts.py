"""Ops alerts from what notifications can see itself: the dead-letter topics' sizes on the broker, each claim's
state from `claim-submitted`/`claim-status` events, and the other services' /metrics over HTTP (never their
schemas). Firing and resolved notices go to a webhook and/or by email, rate-limited (see `plan_notices`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications.alert_repository import AlertStore, ClaimStateSeen
from services.notifications.domain.alerts import (
    Condition,
    Notice,
    dead_letter_conditions,
    health_conditions,
    notice_text,
    plan_notices,
    read_metrics,
    stuck_conditions,
    unreachable_condition,
)
from services.notifications.domain.webhooks import SigningKeys
from services.notifications.settings import NotificationsSettings
from shared.db import unit_of_work
from shared.events.catalog import ClaimStatusChangedV1, ClaimSubmittedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.topics import CORE_TOPICS
from shared.periodic import Periodic
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
SCRAPE_TIMEOUT_S = 5.0
NOTIFY_TIMEOUT_S = 15.0
MAX_BACKOFF_S = 60.0


async def track_claim_states(session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
    """Each claim's latest state and since when, for the stuck-claims alert; in the consumer's transaction."""
    seen: list[ClaimStateSeen] = []
    for envelope in envelopes:
        if envelope.type == "claim-submitted.v1":
            submitted: ClaimSubmittedV1 = envelope.payload_as(ClaimSubmittedV1)
            seen.append(ClaimStateSeen(submitted.claim_id, envelope.tenant, "submitted", submitted.submitted_at))
        elif envelope.type == "claim-status-changed.v1":
            changed: ClaimStatusChangedV1 = envelope.payload_as(ClaimStatusChangedV1)
            seen.append(ClaimStateSeen(changed.claim_id, envelope.tenant, changed.to_state, changed.changed_at))
    if seen:
        await AlertStore(session).track_claims(seen)


async def dead_letter_sizes(kafka: KafkaAccess) -> dict[str, int]:
    """How many messages each dead-letter topic holds (the sum of its partitions' end offsets)."""
    topics = [topic.dead_letter for topic in CORE_TOPICS]
    admin = AIOKafkaAdminClient(**kafka.client_options(), client_id="claimflow-notifications-alerts")
    await admin.start()
    try:
        descriptions = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(description["topic"], partition["partition"])
        for description in descriptions
        if not description.get("error_code")
        for partition in description["partitions"]
    ]
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    sizes: dict[str, int] = {}
    for tp, end in ends.items():
        sizes[tp.topic] = sizes.get(tp.topic, 0) + end
    return sizes


@dataclass(frozen=True, slots=True)
class AlertChannels:
    """Where notices go: a webhook (Standard Webhooks-signed when a secret is set) and/or email over SMTP."""

    settings: NotificationsSettings
    client: httpx.AsyncClient

    @property
    def configured(self) -> bool:
        return bool(self.settings.alert_webhook_url or self.settings.alert_email_to)

    async def send(self, notice: Notice) -> None:
        """Raises when a configured channel fails: the notice is then tried again next round."""
        if self.settings.alert_webhook_url:
            await self._post(notice)
        if self.settings.alert_email_to:
            await self._mail(notice)

    async def _post(self, notice: Notice) -> None:
        assert self.settings.alert_webhook_url is not None
        now = dt.datetime.now(dt.UTC)
        _, text = notice_text(notice)
        body = json.dumps(
            {
                "type": f"ops-alert.{notice.kind.value}",
                "timestamp": now.isoformat(),
                "data": {"key": notice.key, "summary": notice.summary, "since": notice.since.isoformat(), "text": text},
            },
            separators=(",", ":"),
        )
        headers = {"content-type": "application/json"}
        if self.settings.alert_webhook_secret is not None:
            message_id = f"alert_{notice.key}_{notice.kind.value}_{int(now.timestamp())}"
            headers = SigningKeys.of(self.settings.alert_webhook_secret.get_secret_value()).headers(
                message_id, now, body
            )
        response = await self.client.post(self.settings.alert_webhook_url, content=body.encode(), headers=headers)
        response.raise_for_status()

    async def _mail(self, notice: Notice) -> None:
        subject, text = notice_text(notice)
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = ", ".join(self.settings.alert_email_to)
        message["Subject"] = subject
        message.set_content(text)
        await aiosmtplib.send(
            message,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username,
            password=self.settings.smtp_password.get_secret_value() if self.settings.smtp_password else None,
            start_tls=self.settings.smtp_starttls,
            timeout=NOTIFY_TIMEOUT_S,
        )


class AlertMonitor:
    """One evaluation per round: gather what is firing, then (one replica at a time) send the planned notices."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: NotificationsSettings,
        kafka: KafkaAccess,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._kafka = kafka
        self._client = client or httpx.AsyncClient(timeout=NOTIFY_TIMEOUT_S, trust_env=False)
        self._channels = AlertChannels(settings, self._client)

    async def round(self) -> None:
        now = dt.datetime.now(dt.UTC)
        firing = await self._scrape_metrics()
        sizes = await dead_letter_sizes(self._kafka)
        async with unit_of_work(self._sessions) as session:
            store = AlertStore(session)
            if not await store.lock():
                return
            marks = await store.mark_dead_letters(sizes, now)
            firing += dead_letter_conditions(marks, now, self._settings.alert_dead_letter_quiet_s)
            stuck = await store.stuck_claims(self._settings.alert_stuck_after_s, now)
            firing += stuck_conditions(stuck, self._settings.alert_stuck_after_s, now)
            notices = plan_notices(await store.states(), firing, now, self._settings.alert_repeat_s)
            for notice in notices:
                if self._channels.configured:
                    try:
                        await self._channels.send(notice)
                    except (OSError, httpx.HTTPError, aiosmtplib.SMTPException) as exc:
                        log.warning(
                            "ops alert not delivered; retried next round",
                            extra={"alert": notice.key, "error": type(exc).__name__},
                        )
                        continue
                log.warning("ops alert", extra={"alert": notice.key, "kind": notice.kind.value})
                await store.told(notice, now)

    async def _scrape_metrics(self) -> list[Condition]:
        urls = sorted(self._settings.alert_metrics_urls.items())
        answers = await asyncio.gather(
            *(self._client.get(url, timeout=SCRAPE_TIMEOUT_S) for _, url in urls), return_exceptions=True
        )
        conditions: list[Condition] = []
        for (service, _), answer in zip(urls, answers, strict=True):
            if isinstance(answer, BaseException) or answer.status_code != 200:
                conditions.append(unreachable_condition(service))
                continue
            conditions += health_conditions(
                service,
                read_metrics(answer.text),
                max_lag=self._settings.alert_consumer_lag,
                max_outbox_age_s=self._settings.alert_outbox_age_s,
            )
        return conditions


def ops_alerts(runtime: ServiceRuntime) -> Periodic | None:
    settings = runtime.settings_of(NotificationsSettings)
    if not settings.run_alerts:
        return None
    monitor = AlertMonitor(sessions=runtime.sessions, settings=settings, kafka=runtime.settings.kafka_access())
    return Periodic("ops-alerts", settings.alert_interval_s, monitor.round, MAX_BACKOFF_S)
