"""HTTP shapes of the webhook subscriptions and the delivery log."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.domain.webhooks import DeliveryStatus


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="https URL on a public address (outside development).")
    event_types: list[str] = Field(
        default_factory=list, max_length=50, description="Catalog names such as `claim-status-changed.v1`; empty: all."
    )
    description: str | None = Field(default=None, max_length=500)


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=500)


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: dt.datetime | None
    consecutive_failures: int
    failing_since: dt.datetime | None
    previous_secret_expires_at: dt.datetime | None = Field(
        description="Until then deliveries carry a second signature made with the previous secret."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="`whsec_...`: verify `webhook-signature` with it (Standard Webhooks libraries).")


class SecretOut(BaseModel):
    secret: str


class DeliveryOut(BaseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: str
    event_type: str
    webhook_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None = Field(description="When the next attempt is due (pending only).")
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_duration_ms: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class AttemptOut(BaseModel):
    attempted_at: dt.datetime
    status_code: int | None
    duration_ms: int
    error: str | None


class DeliveryDetailOut(DeliveryOut):
    attempt_log: list[AttemptOut]
