"""The key-provider interface: `CLAIMFLOW_PHI_KMS` chooses what wraps tenants' data keys; `env` (the KEKs of the
environment) is the default, an unknown name is refused, and a provider registered under a new name is used by
the keyring for wrapping and unwrapping without any caller changing."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.phi import keys as phi_keys
from shared.phi import kms
from shared.phi.crypto import NONCE_BYTES, Binding, KekRing, PhiIntegrityError, PhiKeyError, new_key, wrap_context
from shared.phi.keys import DATA, INDEX, PhiSettings, StoredKey, configure_keyring, unwrap_keys

ROW = Binding("tenant-a", "statements", "phi", "7d8f0a36-0000-4000-8000-000000000001")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass
class RecordingKms:
    """A stand-in for a cloud KMS: one AES key per key id kept 'remotely', each call recorded."""

    key_id: str = "arn:aws:kms:us-east-1:000000000000:key/synthetic"
    calls: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._remote = AESGCM(b"k" * 32)

    @property
    def active(self) -> str:
        return self.key_id

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        self.calls.append(("wrap", self.key_id))
        nonce = b"n" * NONCE_BYTES
        return self.key_id, nonce + self._remote.encrypt(nonce, data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        self.calls.append(("unwrap", kek_id))
        if kek_id != self.key_id:
            raise PhiKeyError(f"unknown KMS key {kek_id}")
        try:
            return self._remote.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag:
            raise PhiIntegrityError("the KMS refused the context") from None


def stored(provider: kms.KeyProvider, tenant: str = "tenant-a") -> list[StoredKey]:
    rows = []
    for purpose in (DATA, INDEX):
        kek_id, wrapped = provider.wrap(new_key(), wrap_context("notifications", tenant, purpose, 1))
        rows.append(StoredKey(tenant, purpose, 1, kek_id, wrapped, active=True))
    return rows


class TestSelection:
    def test_the_environment_provider_is_the_default(self) -> None:
        settings = PhiSettings(environment="production", phi_kek=b64(b"3" * 32), phi_keks=None)
        assert settings.phi_kms == "env"
        provider = settings.key_provider()
        assert isinstance(provider, KekRing) and provider.active == "default"
        assert "env" in kms.providers()

    def test_chosen_by_the_environment_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CLAIMFLOW_PHI_KMS", "nosuch")
        with pytest.raises(PhiKeyError, match=r"CLAIMFLOW_PHI_KMS='nosuch' is not a key provider; one of .*env"):
            PhiSettings(environment="production", phi_kek=b64(b"3" * 32)).key_provider()

    def test_the_environment_provider_keeps_its_checks(self) -> None:
        with pytest.raises(PhiKeyError, match="CLAIMFLOW_PHI_KEKS"):
            PhiSettings(environment="production", phi_keks=None, phi_kek=None, phi_kms="env").key_provider()


class TestAnotherProvider:
    def test_a_registered_provider_wraps_and_unwraps_the_tenant_keys(self, monkeypatch: pytest.MonkeyPatch) -> None:
        remote = RecordingKms()
        monkeypatch.setitem(kms._PROVIDERS, "synthetic-kms", lambda settings: remote)
        monkeypatch.setattr(phi_keys, "_keyring", None)
        keyring = configure_keyring(PhiSettings(environment="production", phi_kms="synthetic-kms"))
        assert keyring.kek is remote, "no KEK is needed from the environment when a KMS wraps the keys"

        rows = stored(keyring.kek)
        assert {row.kek_id for row in rows} == {remote.key_id}, "phi_keys.kek_id names the KMS key"
        tenant = unwrap_keys(keyring.kek, "notifications", "tenant-a", rows)
        sealed = tenant.seal(b"JO DOE, 1 SYNTHETIC WAY", ROW)
        again = unwrap_keys(keyring.kek, "notifications", "tenant-a", rows)
        assert again.open(sealed, ROW) == b"JO DOE, 1 SYNTHETIC WAY"
        assert remote.calls.count(("unwrap", remote.key_id)) == 4, "once per stored key and unwrapping"

    def test_the_wrap_context_binds_tenant_and_version(self) -> None:
        for provider in (RecordingKms(), KekRing.parse(f"k1:{b64(b'1' * 32)}")):
            rows = stored(provider, tenant="tenant-a")
            with pytest.raises(PhiIntegrityError):
                unwrap_keys(provider, "notifications", "tenant-b", rows)

    def test_an_unknown_key_id_is_a_key_error(self) -> None:
        remote = RecordingKms()
        (data, index) = stored(remote)
        moved = StoredKey(data.tenant_id, data.purpose, data.version, "arn:other", data.wrapped, active=True)
        with pytest.raises(PhiKeyError, match="unknown KMS key"):
            unwrap_keys(remote, "notifications", "tenant-a", [moved, index])
