"""Per-tenant data keys in each service's own schema (`phi_keys`), wrapped by the KEKs of the environment,
unwrapped once and cached per process.

Key settings (prefix CLAIMFLOW_): `PHI_KEKS` = `kid1:base64,kid2:base64` (32-byte keys; every one listed can
unwrap, `PHI_ACTIVE_KEK` names the one that wraps, default the first), or `PHI_KEK` = one base64 key (id
`default`). With neither, the development environment uses a key published in this repository; every other
environment refuses to start. `PHI_KMS` names the key provider that wraps the data keys (`env`, the KEKs
above, is the one implementation today; see `shared.phi.kms` for adding a KMS).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shared.phi.crypto import (
    DEVELOPMENT_KEK,
    DEVELOPMENT_KEK_ID,
    KekRing,
    PhiKeyError,
    TenantKeys,
    decode_key,
    key_version,
    new_key,
    wrap_context,
)
from shared.phi.kms import KeyProvider, key_provider

DATA = "data"
INDEX = "index"


class PhiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_", env_file=".env", extra="ignore")

    environment: str = "production"
    phi_keks: SecretStr | None = None
    phi_kek: SecretStr | None = None
    phi_active_kek: str | None = None
    phi_kms: str = "env"
    """The key provider wrapping data keys (shared.phi.kms): `env` = the KEKs of the environment."""
    phi_key_cache_s: float = 60.0
    """How long a process trusts its cached keys; a data key rotated elsewhere is picked up within it."""

    def kek_ring(self) -> KekRing:
        if self.phi_keks is not None and self.phi_keks.get_secret_value().strip():
            ring = KekRing.parse(self.phi_keks.get_secret_value(), self.phi_active_kek)
        elif self.phi_kek is not None and self.phi_kek.get_secret_value().strip():
            ring = KekRing({"default": decode_key(self.phi_kek.get_secret_value(), "CLAIMFLOW_PHI_KEK")}, "default")
        elif self.environment == "development":
            ring = KekRing({DEVELOPMENT_KEK_ID: DEVELOPMENT_KEK}, DEVELOPMENT_KEK_ID)
        else:
            raise PhiKeyError(
                f"set CLAIMFLOW_PHI_KEKS (kid:base64 of 32 bytes, comma-separated) or CLAIMFLOW_PHI_KEK "
                f"(environment {self.environment}); only development has a built-in key"
            )
        if ring.is_development and self.environment != "development":
            raise PhiKeyError(
                f"the development PHI key is published in the repository (environment {self.environment})"
            )
        return ring

    def key_provider(self) -> KeyProvider:
        """The provider `phi_kms` names (checked at service start, like the KEKs)."""
        return key_provider(self)


def phi_keys_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "phi_keys",
        metadata,
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("purpose", sa.Text, primary_key=True, doc="data (seals values) or index (blind indexes)"),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("kek_id", sa.Text, nullable=False, doc="the KEK that wraps it"),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, doc="seals new values; older versions only open"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Index(
            "uq_phi_keys_one_active",
            "tenant_id",
            "purpose",
            unique=True,
            postgresql_where=sa.text("active"),
        ),
    )


@dataclass(frozen=True, slots=True)
class StoredKey:
    tenant_id: str
    purpose: str
    version: int
    kek_id: str
    wrapped: bytes
    active: bool


async def stored_keys(conn: AsyncConnection | AsyncSession, table: sa.Table, tenant: str) -> list[StoredKey]:
    rows = await conn.execute(
        sa.select(
            table.c.tenant_id, table.c.purpose, table.c.version, table.c.kek_id, table.c.wrapped, table.c.active
        ).where(table.c.tenant_id == tenant)
    )
    return [StoredKey(*row) for row in rows.tuples()]


async def add_key(
    conn: AsyncConnection, kek: KeyProvider, table: sa.Table, tenant: str, purpose: str, version: int, *, active: bool
) -> bool:
    """Store a new wrapped key; False when another process stored that version first."""
    kek_id, wrapped = kek.wrap(new_key(), wrap_context(str(table.schema), tenant, purpose, version))
    done = await conn.execute(
        insert(table)
        .values(tenant_id=tenant, purpose=purpose, version=version, kek_id=kek_id, wrapped=wrapped, active=active)
        .on_conflict_do_nothing()
        .returning(table.c.version)
    )
    return done.first() is not None


def unwrap_keys(kek: KeyProvider, schema: str, tenant: str, stored: list[StoredKey]) -> TenantKeys:
    ciphers = {}
    active: int | None = None
    index_key: bytes | None = None
    for key in stored:
        raw = kek.unwrap(key.kek_id, key.wrapped, wrap_context(schema, tenant, key.purpose, key.version))
        if key.purpose == DATA:
            ciphers[key.version] = AESGCM(raw)
            if key.active:
                active = key.version
        elif key.purpose == INDEX and key.active:
            index_key = raw
    if active is None or index_key is None:
        raise PhiKeyError(f"tenant {tenant!r} has no active data or index key")
    return TenantKeys(tenant=tenant, active=active, ciphers=ciphers, index_key=index_key)


class PhiKeyring:
    """Tenants' keys for one process: loaded (or created) on first use, cached for `cache_s`.

    Keys are created in their own committed transaction, never in the caller's: a value is sealed only with
    a key that is stored."""

    def __init__(self, kek: KeyProvider, cache_s: float = 60.0) -> None:
        self.kek = kek
        self._cache_s = cache_s
        self._cache: dict[tuple[str, str], tuple[float, TenantKeys]] = {}

    async def keys(
        self, session: AsyncSession, table: sa.Table, tenant: str, *, opening: Iterable[bytes | None] = ()
    ) -> TenantKeys:
        """The tenant's keys; reloaded when stale or when a value in `opening` needs a version not cached
        (a data key rotated by another process)."""
        cached = self._cache.get((str(table.schema), tenant))
        now = time.monotonic()
        if (
            cached is not None
            and now - cached[0] < self._cache_s
            and all(key_version(sealed) in cached[1].ciphers for sealed in opening if sealed is not None)
        ):
            return cached[1]
        stored = await stored_keys(session, table, tenant)
        if not _complete(stored):
            bind = session.bind
            if not isinstance(bind, AsyncEngine):
                raise TypeError("a PHI key is created on the session's engine")
            await self.create(bind, table, tenant)
            stored = await stored_keys(session, table, tenant)
        keys = unwrap_keys(self.kek, str(table.schema), tenant, stored)
        self._cache[(str(table.schema), tenant)] = (now, keys)
        return keys

    async def create(self, engine: AsyncEngine, table: sa.Table, tenant: str) -> None:
        """The tenant's first data key and index key, committed."""
        async with engine.begin() as conn:
            stored = await stored_keys(conn, table, tenant)
            for purpose in (DATA, INDEX):
                if not any(key.purpose == purpose and key.active for key in stored):
                    await add_key(conn, self.kek, table, tenant, purpose, 1, active=True)

    def forget(self) -> None:
        self._cache.clear()


def _complete(stored: list[StoredKey]) -> bool:
    return {key.purpose for key in stored if key.active} >= {DATA, INDEX}


_keyring: PhiKeyring | None = None


def configure_keyring(settings: PhiSettings | None = None) -> PhiKeyring:
    """Build the process's keyring from the environment (checked at service start: a missing or published
    key outside development stops the service)."""
    global _keyring
    settings = settings or PhiSettings()
    _keyring = PhiKeyring(settings.key_provider(), settings.phi_key_cache_s)
    return _keyring


def keyring() -> PhiKeyring:
    return _keyring if _keyring is not None else configure_keyring()


async def tenant_keys(
    session: AsyncSession, table: sa.Table, tenant: str, *, opening: Iterable[bytes | None] = ()
) -> TenantKeys:
    """The tenant's keys in this service's `phi_keys` table (able to open every value in `opening`)."""
    return await keyring().keys(session, table, tenant, opening=opening)
