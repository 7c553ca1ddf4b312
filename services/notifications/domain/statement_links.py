"""Signed, expiring links to a statement page: HMAC-SHA256 over the statement id and the expiry, so the
link itself is the credential and carries neither the balance nor anything about the patient."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass


class LinkRefused(Exception):
    """The link was altered, is malformed, or has expired."""


@dataclass(frozen=True, slots=True)
class StatementLink:
    statement_id: uuid.UUID
    expires_at: dt.datetime


def _signature(secret: bytes, message: str) -> str:
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_link(secret: bytes, statement_id: uuid.UUID, expires_at: dt.datetime) -> str:
    """A URL-safe token `<statement id>.<expiry, unix seconds>.<signature>`."""
    message = f"{statement_id.hex}.{int(expires_at.timestamp())}"
    return f"{message}.{_signature(secret, message)}"


def verify_link(secret: bytes, token: str, now: dt.datetime) -> StatementLink:
    parts = token.split(".")
    if len(parts) != 3:
        raise LinkRefused("malformed link")
    statement_hex, expiry, signature = parts
    if not hmac.compare_digest(_signature(secret, f"{statement_hex}.{expiry}"), signature):
        raise LinkRefused("link signature does not match")
    try:
        statement_id = uuid.UUID(hex=statement_hex)
        expires_at = dt.datetime.fromtimestamp(int(expiry), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise LinkRefused("malformed link") from None
    if now >= expires_at:
        raise LinkRefused("link has expired")
    return StatementLink(statement_id, expires_at)
