"""AES-GCM envelope encryption, pure: key-encryption keys (KEKs) from the environment wrap one data key per
tenant; a sealed value is bound to tenant, table, column and row id, so it cannot be moved to another row.

Sealed value layout: format byte 0x01, the data key's version (4 bytes, big-endian), a 12-byte nonce, then
the AES-GCM ciphertext and tag. A wrapped data key: the 12-byte nonce, then the ciphertext of the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = 1
NONCE_BYTES = 12
KEY_BYTES = 32
HEADER_BYTES = 1 + 4
DEVELOPMENT_KEK_ID = "development"
DEVELOPMENT_KEK = hashlib.sha256(b"claimflow-development-phi-kek: published, refused outside development").digest()
"""Written in this repository, so anyone can unwrap with it: only the development environment takes it."""
BLIND_INDEX_BYTES = 16


class PhiKeyError(ValueError):
    """A key is missing or not acceptable (an unknown KEK id, a data key version no longer kept)."""


class PhiIntegrityError(ValueError):
    """A sealed value failed authentication: tampered with, or moved from another tenant, table, column or row."""


@dataclass(frozen=True, slots=True)
class Binding:
    """Where a sealed value lives; it is authenticated as associated data and must match when opened."""

    tenant: str
    table: str
    column: str
    row_id: str

    def aad(self) -> bytes:
        return "\x1f".join(("claimflow-phi", self.tenant, self.table, self.column, self.row_id)).encode()


def decode_key(text: str, what: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise PhiKeyError(f"{what} is not base64") from None
    if len(key) != KEY_BYTES:
        raise PhiKeyError(f"{what} must decode to {KEY_BYTES} bytes, not {len(key)}")
    return key


@dataclass(frozen=True)
class KekRing:
    """The key-encryption keys by id; `active` wraps new data keys, every one listed can unwrap."""

    keys: Mapping[str, bytes]
    active: str
    _aead: dict[str, AESGCM] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise PhiKeyError(f"the active KEK {self.active!r} is not among the KEKs configured")
        for kid, key in self.keys.items():
            self._aead[kid] = AESGCM(key)

    @property
    def is_development(self) -> bool:
        return any(key == DEVELOPMENT_KEK for key in self.keys.values())

    @classmethod
    def parse(cls, keks: str, active: str | None = None) -> KekRing:
        """`kid1:base64,kid2:base64`; the active one is `active`, else the first listed."""
        keys: dict[str, bytes] = {}
        for entry in (part.strip() for part in keks.split(",")):
            if not entry:
                continue
            kid, sep, encoded = entry.partition(":")
            if not sep or not kid:
                raise PhiKeyError("CLAIMFLOW_PHI_KEKS entries are kid:base64 separated by commas")
            keys[kid] = decode_key(encoded, f"KEK {kid!r}")
        if not keys:
            raise PhiKeyError("CLAIMFLOW_PHI_KEKS names no key")
        return cls(keys, active or next(iter(keys)))

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return self.active, nonce + self._aead[self.active].encrypt(nonce, data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        aead = self._aead.get(kek_id)
        if aead is None:
            raise PhiKeyError(f"a data key is wrapped by KEK {kek_id!r}, which is not configured")
        try:
            return aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag:
            raise PhiIntegrityError(f"a data key wrapped by KEK {kek_id!r} does not open with it") from None


def wrap_context(schema: str, tenant: str, purpose: str, version: int) -> bytes:
    """Associated data of a wrapped key: a wrapped key copied to another tenant or version does not open."""
    return "\x1f".join(("claimflow-phi-key", schema, tenant, purpose, str(version))).encode()


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def key_version(sealed: bytes) -> int:
    """The data key version a sealed value was made with."""
    if len(sealed) < HEADER_BYTES + NONCE_BYTES or sealed[0] != FORMAT:
        raise PhiIntegrityError("not a sealed value")
    return int.from_bytes(sealed[1:HEADER_BYTES], "big")


def version_prefix(version: int) -> bytes:
    """The first bytes of every value sealed with this version (to find rows not yet re-encrypted)."""
    return bytes([FORMAT]) + version.to_bytes(4, "big")


@dataclass(frozen=True)
class TenantKeys:
    """One tenant's data keys (by version; `active` seals) and its blind-index key, unwrapped.

    Built once per tenant and cached by the keyring: one AESGCM object per data key."""

    tenant: str
    active: int
    ciphers: Mapping[int, AESGCM]
    index_key: bytes

    def seal(self, plaintext: bytes, binding: Binding) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return version_prefix(self.active) + nonce + self.ciphers[self.active].encrypt(nonce, plaintext, binding.aad())

    def open(self, sealed: bytes, binding: Binding) -> bytes:
        version = key_version(sealed)
        cipher = self.ciphers.get(version)
        if cipher is None:
            raise PhiKeyError(f"data key version {version} of this tenant is not kept")
        nonce = sealed[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
        try:
            return cipher.decrypt(nonce, sealed[HEADER_BYTES + NONCE_BYTES :], binding.aad())
        except InvalidTag:
            raise PhiIntegrityError(
                f"a sealed {binding.table}.{binding.column} value does not open for this row"
            ) from None

    def seal_json(self, value: Mapping[str, object], binding: Binding) -> bytes:
        return self.seal(json.dumps(value, separators=(",", ":"), sort_keys=True).encode(), binding)

    def open_json(self, sealed: bytes, binding: Binding) -> dict[str, object]:
        opened = json.loads(self.open(sealed, binding))
        if not isinstance(opened, dict):
            raise PhiIntegrityError("a sealed record is not a JSON object")
        return opened

    def blind_index(self, column: str, value: str) -> bytes:
        """A keyed HMAC of a value searched by equality (normalise it first, e.g. upper-case names)."""
        return hmac.new(self.index_key, f"{column}\x1f{value}".encode(), hashlib.sha256).digest()[:BLIND_INDEX_BYTES]
