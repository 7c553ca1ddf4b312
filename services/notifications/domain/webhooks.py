"""Webhooks for hospital systems, as pure rules: which events a subscription takes, the thin payload it gets,
the Standard Webhooks signature, when a failed delivery is tried again, and which targets are refused (SSRF)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import math
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from shared.events.catalog import (
    EVENT_TYPES,
    AppealFiledV1,
    ClaimCancelledV1,
    ClaimCorrectedV1,
    ClaimCorrectionRequestedV1,
    ClaimDeniedV1,
    ClaimStatusChangedV1,
    ClaimSubmittedV1,
    CoverageCorrectionRequestedV1,
    EncounterCodedV1,
    EventPayload,
    LedgerAdjustmentRequestedV1,
    PartyChangedV1,
    PatientPaymentReceivedV1,
    PatientPaymentSubmittedV1,
    PaymentPlanChangedV1,
    PaymentReceivedV1,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
_WEBHOOK_ID_NAMESPACE = uuid.UUID("6f0d7a3e-2c1b-4e57-9a51-8b1f0c2d9e44")


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    """Every scheduled attempt failed, or the receiver answered 410 Gone; re-send by API."""


class UnsafeTarget(ValueError):
    """A webhook URL or the address it resolves to that claimflow will not call."""


class UnknownEventType(ValueError):
    pass


# --- subscriptions ------------------------------------------------------------------------------


def validate_event_types(event_types: Sequence[str]) -> list[str]:
    """Catalog names (`claim-status-changed.v1`); empty means every event. Sorted, without repeats."""
    unknown = sorted(set(event_types) - EVENT_TYPES.keys())
    if unknown:
        raise UnknownEventType(f"unknown event types {unknown}; known: {sorted(EVENT_TYPES)}")
    return sorted(set(event_types))


def subscribes_to(event_types: Sequence[str], event_type: str) -> bool:
    return not event_types or event_type in event_types


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_id(subscription_id: uuid.UUID, event_id: str) -> str:
    """Stable per event and subscription, so every retry and re-send carries the same `webhook-id`."""
    return "msg_" + uuid.uuid5(_WEBHOOK_ID_NAMESPACE, f"{subscription_id}:{event_id}").hex


# --- payloads -----------------------------------------------------------------------------------


def thin_data(payload: EventPayload) -> dict[str, Any]:
    """Ids, states, codes and amounts only: never names, birth dates, member ids, addresses or dates of service."""
    match payload:
        case EncounterCodedV1():
            charges = [line.charge_cents for line in payload.lines]
            return {
                "encounter_id": str(payload.encounter_id),
                "external_encounter_id": payload.external_encounter_id,
                "patient_id": str(payload.patient_id),
                "claim_type": payload.claim_type,
                "payer_id": payload.payer_id,
                "frequency_code": payload.frequency_code,
                "total_charge_cents": sum(c for c in charges if c is not None)
                if all(c is not None for c in charges)
                else None,
                "currency": payload.currency,
                "state": "coded",
            }
        case ClaimSubmittedV1():
            return {
                "claim_id": str(payload.claim_id),
                "encounter_id": str(payload.encounter_id),
                "patient_id": str(payload.patient_id) if payload.patient_id else None,
                "claim_control_number": payload.claim_control_number,
                "payer_id": payload.payer_id,
                "claim_type": payload.claim_type,
                "frequency_code": payload.frequency_code,
                "total_charge_cents": payload.total_charge_cents,
                "currency": payload.currency,
                "state": "submitted",
            }
        case PaymentReceivedV1():
            return {
                "payment_id": str(payload.payment_id),
                "claim_id": str(payload.claim_id) if payload.claim_id else None,
                "patient_id": str(payload.patient_id) if payload.patient_id else None,
                "claim_control_number": payload.claim_control_number,
                "payer_id": payload.payer_id,
                "claim_status_code": payload.claim_status_code,
                "charge_cents": payload.charge_cents,
                "paid_cents": payload.paid_cents,
                "patient_responsibility_cents": payload.patient_responsibility_cents,
                "adjustment_cents": sum(adjustment.amount_cents for adjustment in payload.adjustments),
                "currency": payload.currency,
                "next_responsible": payload.next_responsible,
                "reversal_of": str(payload.reversal_of) if payload.reversal_of else None,
            }
        case ClaimDeniedV1():
            return {
                "claim_id": str(payload.claim_id) if payload.claim_id else None,
                "claim_control_number": payload.claim_control_number,
                "payer_id": payload.payer_id,
                "denial": payload.denial,
                "denied_cents": payload.denied_cents,
                "currency": payload.currency,
                "carcs": payload.carcs,
                "rarcs": payload.rarcs,
            }
        case ClaimStatusChangedV1():
            return {
                "claim_id": str(payload.claim_id),
                "claim_control_number": payload.claim_control_number,
                "payer_id": payload.payer_id,
                "from_state": payload.from_state,
                "to_state": payload.to_state,
                "reason_codes": payload.reason_codes,
                "source": payload.source,
                "changed_at": payload.changed_at.isoformat(),
            }
        case PatientPaymentSubmittedV1():
            return {
                "payment_id": str(payload.payment_id),
                "patient_id": str(payload.patient_id),
                "statement_id": str(payload.statement_id),
                "amount_cents": payload.amount_cents,
                "currency": payload.currency,
                "method": payload.method,
            }
        case PatientPaymentReceivedV1():
            return {
                "payment_id": str(payload.payment_id),
                "patient_id": str(payload.patient_id),
                "amount_cents": payload.amount_cents,
                "currency": payload.currency,
                "method": payload.method,
            }
        case PaymentPlanChangedV1():
            return {
                "plan_id": str(payload.plan_id),
                "patient_id": str(payload.patient_id),
                "status": payload.status,
                "total_cents": payload.total_cents,
                "currency": payload.currency,
                "installments": len(payload.installments),
            }
        case ClaimCorrectionRequestedV1():
            return {
                "action_id": str(payload.action_id),
                "case_id": str(payload.case_id),
                "claim_id": str(payload.claim_id) if payload.claim_id else None,
                "claim_control_number": payload.claim_control_number,
                "frequency_code": payload.frequency_code,
                "payer_claim_control_number": payload.payer_claim_control_number,
            }
        case ClaimCorrectedV1():
            return {
                "action_id": str(payload.action_id),
                "case_id": str(payload.case_id),
                "original_claim_id": str(payload.original_claim_id),
                "original_claim_control_number": payload.original_claim_control_number,
                "claim_id": str(payload.claim_id),
                "claim_control_number": payload.claim_control_number,
                "frequency_code": payload.frequency_code,
                "payer_claim_control_number": payload.payer_claim_control_number,
            }
        case LedgerAdjustmentRequestedV1():
            return {
                "action_id": str(payload.action_id),
                "case_id": str(payload.case_id),
                "claim_id": str(payload.claim_id) if payload.claim_id else None,
                "claim_control_number": payload.claim_control_number,
                "kind": payload.kind,
                "amount_cents": payload.amount_cents,
                "currency": payload.currency,
                "reason_code": payload.reason_code,
            }
        case AppealFiledV1():
            return {
                "action_id": str(payload.action_id),
                "case_id": str(payload.case_id),
                "claim_id": str(payload.claim_id) if payload.claim_id else None,
                "claim_control_number": payload.claim_control_number,
                "payer_id": payload.payer_id,
                "appeal_level": payload.appeal_level,
                "amount_cents": payload.amount_cents,
                "currency": payload.currency,
                "carcs": payload.carcs,
                "rarcs": payload.rarcs,
            }
        case PartyChangedV1():
            return {
                "party_kind": payload.party_kind,
                "party_id": str(payload.party_id),
                "patient_id": str(payload.patient_id) if payload.patient_id else None,
                "changed_fields": payload.changed_fields,
                "source": payload.source,
            }
        case CoverageCorrectionRequestedV1():
            return {
                "claim_id": str(payload.claim_id),
                "coverage_id": str(payload.coverage_id),
                "patient_id": str(payload.patient_id),
            }
        case ClaimCancelledV1():
            return {
                "claim_id": str(payload.claim_id),
                "encounter_id": str(payload.encounter_id),
                "claim_control_number": payload.claim_control_number,
                "from_state": payload.from_state,
                "state": "cancelled",
                "encounter_cancelled": payload.encounter_cancelled,
            }
    raise UnknownEventType(f"no webhook payload for {type(payload).__name__}")


def webhook_body(*, event_id: str, event_type: str, occurred_at: dt.datetime, payload: EventPayload) -> str:
    """The body every attempt of a delivery sends, byte for byte (the signature covers it)."""
    return json.dumps(
        {
            "type": event_type,
            "timestamp": occurred_at.astimezone(dt.UTC).isoformat(),
            "event_id": event_id,
            "data": thin_data(payload),
        },
        separators=(",", ":"),
    )


# --- signing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """The secrets that sign a subscription's deliveries: the current one, and after a rotation the previous
    one until its grace ends, so a receiver that has not yet switched keeps verifying.

    Signatures are the Standard Webhooks ones (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`), computed from
    HMAC states keyed once per secret (the standard library's `Webhook.sign` keys a new HMAC on every call)."""

    current: Webhook
    previous: Webhook | None = None
    macs: tuple[hmac.HMAC, ...] = ()

    @classmethod
    def of(cls, current: str, previous: str | None = None) -> SigningKeys:
        secrets_ = [current] + ([previous] if previous else [])
        return cls(
            Webhook(current),
            Webhook(previous) if previous else None,
            tuple(hmac.new(_secret_bytes(secret), digestmod=hashlib.sha256) for secret in secrets_),
        )

    def _signatures(self, message_id: str, stamp: str, body: str) -> str:
        signed = f"{message_id}.{stamp}.{body}".encode()
        signatures = []
        for keyed in self.macs:
            mac = keyed.copy()
            mac.update(signed)
            signatures.append("v1," + base64.b64encode(mac.digest()).decode())
        return " ".join(signatures)

    def signature(self, message_id: str, timestamp: dt.datetime, body: str) -> str:
        """`webhook-signature`: space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
        return self._signatures(message_id, _stamp(timestamp), body)

    def headers(self, message_id: str, timestamp: dt.datetime, body: str) -> dict[str, str]:
        stamp = _stamp(timestamp)
        return {
            "webhook-id": message_id,
            "webhook-timestamp": stamp,
            "webhook-signature": self._signatures(message_id, stamp, body),
            "content-type": "application/json",
        }


def _stamp(timestamp: dt.datetime) -> str:
    """`webhook-timestamp`: whole seconds since the epoch, read as the standard's own code reads it (the clock
    fields taken as UTC; every time here is UTC already)."""
    return str(math.floor(timestamp.replace(tzinfo=dt.UTC).timestamp()))


def _secret_bytes(secret: str) -> bytes:
    """The key of a `whsec_...` secret, decoded as the Standard Webhooks libraries do."""
    raw = secret.removeprefix(SECRET_PREFIX)
    key = base64.b64decode(raw + "==")
    if not key:
        raise ValueError("webhook secret may not be empty")
    return key


# --- retries and failures -----------------------------------------------------------------------


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"
    """410: the receiver says the endpoint is gone; the subscription is disabled."""


def outcome_of(status_code: int | None) -> Outcome:
    """2xx delivered; 410 gone; anything else (or no answer) is tried again."""
    if status_code is not None and 200 <= status_code < 300:
        return Outcome.DELIVERED
    if status_code == 410:
        return Outcome.GONE
    return Outcome.RETRY


def next_attempt_delay(
    attempts_made: int, schedule_s: Sequence[float], jitter: float, rng: random.Random
) -> float | None:
    """Seconds until the next attempt after `attempts_made` attempts of the current schedule, or None when the
    schedule is used up. Each delay varies by ±`jitter` so receivers coming back are not hit all at once."""
    if attempts_made >= len(schedule_s):
        return None
    delay = schedule_s[attempts_made]
    return max(0.0, delay * (1 + rng.uniform(-jitter, jitter)))


def should_disable(
    consecutive_failures: int,
    failing_since: dt.datetime | None,
    now: dt.datetime,
    *,
    after_failures: int,
    after_s: float,
) -> bool:
    """Disabled after `after_failures` consecutive failed attempts that have gone on for at least `after_s`."""
    if consecutive_failures < after_failures or failing_since is None:
        return False
    return (now - failing_since).total_seconds() >= after_s


# --- SSRF ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Outside development only `https` targets on public addresses are called."""

    allow_private: bool

    def check_url(self, url: str) -> tuple[str, int]:
        """The host and port to resolve; raises UnsafeTarget for a URL claimflow will not call."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port
        except ValueError:
            raise UnsafeTarget("webhook URL is not a valid URL") from None
        if parts.scheme not in ("https", "http"):
            raise UnsafeTarget("webhook URLs must be https")
        if parts.scheme == "http" and not self.allow_private:
            raise UnsafeTarget("webhook URLs must be https outside development")
        if parts.username or parts.password:
            raise UnsafeTarget("webhook URLs must not carry credentials")
        if not host:
            raise UnsafeTarget("webhook URL has no host")
        port = port or (443 if parts.scheme == "https" else 80)
        if not self.allow_private and (host == "localhost" or host.endswith((".localhost", ".local", ".internal"))):
            raise UnsafeTarget(f"webhook host {host} is local")
        try:
            self.check_address(host)
        except ValueError as exc:
            if isinstance(exc, UnsafeTarget):
                raise
        return host, port

    def check_address(self, address: str) -> None:
        """Raise UnsafeTarget when `address` (an IP literal) is not a public one; ValueError when not an IP."""
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if self.allow_private:
            return
        if not ip.is_global or ip.is_multicast:
            raise UnsafeTarget(f"webhook target address {ip} is private, loopback or reserved")
