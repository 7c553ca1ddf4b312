"""Webhooks over HTTP: a tenant's subscriptions (`/v1/webhook-subscriptions`) and its delivery log
(`/v1/webhook-deliveries`), re-sends and re-enabling included."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from services.notifications.domain.webhooks import DeliveryStatus, UnknownEventType, UnsafeTarget
from services.notifications.settings import NotificationsSettings
from services.notifications.webhook_repository import DeliveryLog, DeliveryRecord, SubscriptionRecord
from services.notifications.webhook_schemas import (
    AttemptOut,
    DeliveryDetailOut,
    DeliveryOut,
    SecretOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionWithSecret,
)
from services.notifications.webhooks import (
    SubscriptionNotFound,
    Subscriptions,
    secret_box,
    target_policy,
)
from shared.auth import Principal, require_scope
from shared.http import SessionDep
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1", tags=["webhooks"])
CanRead = Annotated[Principal, require_scope("webhooks:read")]
CanWrite = Annotated[Principal, require_scope("webhooks:write")]


def _subscriptions(runtime: RuntimeDep, session: SessionDep, principal: CanWrite) -> Subscriptions:
    settings = runtime.settings_of(NotificationsSettings)
    return Subscriptions(
        session=session,
        tenant=principal.tenant,
        box=secret_box(runtime.settings, settings),
        policy=target_policy(runtime.settings, settings),
    )


def _readable_subscriptions(runtime: RuntimeDep, session: SessionDep, principal: CanRead) -> Subscriptions:
    return _subscriptions(runtime, session, principal)


WritableSubscriptions = Annotated[Subscriptions, Depends(_subscriptions)]
ReadableSubscriptions = Annotated[Subscriptions, Depends(_readable_subscriptions)]


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="webhook subscription not found")


def _refused(exc: ValueError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc))


def _out(record: SubscriptionRecord) -> SubscriptionOut:
    return SubscriptionOut.model_validate(record, from_attributes=True)


def _delivery_out(record: DeliveryRecord) -> DeliveryOut:
    out = DeliveryOut.model_validate(record, from_attributes=True)
    return out if record.status == DeliveryStatus.PENDING else out.model_copy(update={"next_attempt_at": None})


@router.post("/webhook-subscriptions", status_code=status.HTTP_201_CREATED)
async def create_subscription(body: SubscriptionIn, subscriptions: WritableSubscriptions) -> SubscriptionWithSecret:
    """The secret is shown here and by `GET .../secret`; deliveries are signed with it."""
    try:
        record, secret = await subscriptions.create(
            url=body.url, event_types=body.event_types, description=body.description
        )
    except (UnsafeTarget, UnknownEventType) as exc:
        raise _refused(exc) from None
    return SubscriptionWithSecret(**_out(record).model_dump(), secret=secret)


@router.get("/webhook-subscriptions")
async def list_subscriptions(subscriptions: ReadableSubscriptions) -> list[SubscriptionOut]:
    return [_out(record) for record in await subscriptions.all()]


@router.get("/webhook-subscriptions/{subscription_id}")
async def get_subscription(subscription_id: uuid.UUID, subscriptions: ReadableSubscriptions) -> SubscriptionOut:
    try:
        return _out(await subscriptions.get(subscription_id))
    except SubscriptionNotFound:
        raise _not_found() from None


@router.patch("/webhook-subscriptions/{subscription_id}")
async def update_subscription(
    subscription_id: uuid.UUID, body: SubscriptionPatch, subscriptions: WritableSubscriptions
) -> SubscriptionOut:
    try:
        record = await subscriptions.update(
            subscription_id, url=body.url, event_types=body.event_types, description=body.description
        )
    except SubscriptionNotFound:
        raise _not_found() from None
    except (UnsafeTarget, UnknownEventType) as exc:
        raise _refused(exc) from None
    return _out(record)


@router.delete("/webhook-subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(subscription_id: uuid.UUID, subscriptions: WritableSubscriptions) -> Response:
    """The subscription and its delivery log go; nothing more is sent to it."""
    try:
        await subscriptions.delete(subscription_id)
    except SubscriptionNotFound:
        raise _not_found() from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/webhook-subscriptions/{subscription_id}/enable")
async def enable_subscription(subscription_id: uuid.UUID, subscriptions: WritableSubscriptions) -> SubscriptionOut:
    """Re-enable after failures (or a disable): the failure streak is cleared and waiting deliveries go at once."""
    try:
        return _out(await subscriptions.enable(subscription_id))
    except SubscriptionNotFound:
        raise _not_found() from None


@router.post("/webhook-subscriptions/{subscription_id}/disable")
async def disable_subscription(subscription_id: uuid.UUID, subscriptions: WritableSubscriptions) -> SubscriptionOut:
    """Stop sending; deliveries keep being recorded and go out when the subscription is enabled again."""
    try:
        return _out(await subscriptions.disable(subscription_id))
    except SubscriptionNotFound:
        raise _not_found() from None


@router.post("/webhook-subscriptions/{subscription_id}/rotate-secret")
async def rotate_secret(
    subscription_id: uuid.UUID, subscriptions: WritableSubscriptions, runtime: RuntimeDep
) -> SubscriptionWithSecret:
    """A new secret; the previous one keeps signing beside it for the configured grace period."""
    grace_s = runtime.settings_of(NotificationsSettings).webhook_secret_rotation_grace_s
    try:
        record, secret = await subscriptions.rotate_secret(subscription_id, grace_s)
    except SubscriptionNotFound:
        raise _not_found() from None
    return SubscriptionWithSecret(**_out(record).model_dump(), secret=secret)


@router.get("/webhook-subscriptions/{subscription_id}/secret")
async def get_secret(subscription_id: uuid.UUID, subscriptions: WritableSubscriptions) -> SecretOut:
    try:
        return SecretOut(secret=await subscriptions.secret(subscription_id))
    except SubscriptionNotFound:
        raise _not_found() from None


@router.get("/webhook-deliveries")
async def list_deliveries(
    principal: CanRead,
    session: SessionDep,
    subscription_id: uuid.UUID | None = None,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    event_id: str | None = None,
    before: Annotated[dt.datetime | None, Query(description="Only deliveries created before (paging).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    """Newest first: status codes, timings and attempts of each delivery."""
    records = await DeliveryLog(session, principal.tenant).find(
        subscription_id=subscription_id, status=delivery_status, event_id=event_id, before=before, limit=limit
    )
    return [_delivery_out(record) for record in records]


@router.get("/webhook-deliveries/{delivery_id}")
async def get_delivery(delivery_id: uuid.UUID, principal: CanRead, session: SessionDep) -> DeliveryDetailOut:
    log = DeliveryLog(session, principal.tenant)
    record = await log.get(delivery_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="webhook delivery not found")
    attempts = [AttemptOut.model_validate(attempt, from_attributes=True) for attempt in await log.attempts(delivery_id)]
    return DeliveryDetailOut(**_delivery_out(record).model_dump(), attempt_log=attempts)


@router.post("/webhook-deliveries/{delivery_id}/resend", status_code=status.HTTP_202_ACCEPTED)
async def resend_delivery(delivery_id: uuid.UUID, principal: CanWrite, session: SessionDep) -> DeliveryOut:
    """Send again now with the same `webhook-id` and body (a receiver de-duplicating by id sees it once)."""
    log = DeliveryLog(session, principal.tenant)
    if await log.get(delivery_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="webhook delivery not found")
    await log.resend(delivery_id, dt.datetime.now(dt.UTC))
    record = await log.get(delivery_id)
    assert record is not None
    return _delivery_out(record)
