"""The key provider: what wraps and unwraps tenants' data keys, chosen by `CLAIMFLOW_PHI_KMS`.

Callers (`PhiKeyring`, `add_key`, `unwrap_keys`, `rotate_kek`) see only `KeyProvider`: a key id that wraps new
data keys (`active`), `wrap` (data key + context -> the key id used and the wrapped bytes) and `unwrap` (key id,
wrapped bytes, context -> the data key). The context is the associated data of the wrap (schema, tenant,
purpose, version): a provider must bind it (AES-GCM associated data, AWS KMS `EncryptionContext`, GCP KMS
`additional_authenticated_data`), so a wrapped key copied to another tenant or version does not open.

One provider exists today: `env`, the KEKs of the environment (`CLAIMFLOW_PHI_KEKS` / `CLAIMFLOW_PHI_KEK`,
`CLAIMFLOW_PHI_ACTIVE_KEK`; see `shared.phi.keys`). To add a KMS (AWS, GCP, Vault transit):

1. write a class with `active`, `wrap` and `unwrap` (the key id is the KMS key's ARN or resource name; `wrap`
   calls the KMS Encrypt with the context, `unwrap` calls Decrypt; both are called once per tenant key and
   cached by `PhiKeyring`, never per value);
2. `register_provider("aws", factory)` at import of its module, the factory taking `PhiSettings` (read the
   provider's own settings from the environment there);
3. set `CLAIMFLOW_PHI_KMS=aws`. Nothing else changes: `phi_keys.kek_id` records which key wrapped each data key,
   and `claimflow phi rotate-kek` re-wraps every data key from the env provider's KEKs under the KMS key when
   the new provider can still unwrap the old ids (or moves them in two steps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from shared.phi.crypto import PhiKeyError

if TYPE_CHECKING:
    from shared.phi.keys import PhiSettings


class KeyProvider(Protocol):
    """Wraps and unwraps data keys by key id; `KekRing` (the environment's KEKs) is the `env` provider."""

    @property
    def active(self) -> str:
        """The id of the key that wraps new data keys."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        """The data key wrapped by the active key, bound to `context`: (key id, wrapped bytes)."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        """The data key `kek_id` wrapped with `context`; PhiKeyError for an unknown id, PhiIntegrityError when
        the wrapped bytes or the context do not match."""
        ...


ProviderFactory = Callable[["PhiSettings"], KeyProvider]
_PROVIDERS: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make a provider selectable by `CLAIMFLOW_PHI_KMS=<name>`."""
    _PROVIDERS[name] = factory


def providers() -> list[str]:
    return sorted(_PROVIDERS)


def key_provider(settings: PhiSettings) -> KeyProvider:
    """The provider `settings.phi_kms` names, built from the settings (PhiKeyError when unknown or misconfigured)."""
    factory = _PROVIDERS.get(settings.phi_kms)
    if factory is None:
        raise PhiKeyError(
            f"CLAIMFLOW_PHI_KMS={settings.phi_kms!r} is not a key provider; one of {', '.join(providers())}"
        )
    return factory(settings)


def _environment(settings: PhiSettings) -> KeyProvider:
    return settings.kek_ring()


register_provider("env", _environment)
