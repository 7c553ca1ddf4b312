"""Webhook secrets encrypted at rest with AES-256-GCM: the database holds only ciphertext, the key comes from the
environment, and each ciphertext is bound to its subscription (associated data) so rows cannot be swapped."""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
DEVELOPMENT_KEY = hashlib.sha256(b"claimflow-development-webhook-secrets-key").digest()
"""Used only in development when no key is configured; refused elsewhere."""


class SecretUnreadable(Exception):
    """The ciphertext was not written with this key for this subscription."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the webhook secrets key must be 32 bytes (base64 in CLAIMFLOW_NOTIFICATIONS_SECRETS_KEY)")
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, encoded: str) -> SecretBox:
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise ValueError("CLAIMFLOW_NOTIFICATIONS_SECRETS_KEY is not base64") from None
        return cls(key)

    def seal(self, secret: str, bound_to: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> str:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to.encode()).decode()
        except InvalidTag:
            raise SecretUnreadable("webhook secret does not decrypt with the configured key") from None
