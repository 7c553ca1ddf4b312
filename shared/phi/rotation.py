"""Key rotation and sealing of rows stored before encryption, for one service's schema.

- `rotate_kek`: re-wrap every tenant key not wrapped by the active KEK (no data rewritten). Keep the old
  KEK listed in CLAIMFLOW_PHI_KEKS until it has run; afterwards only the new KEK is needed.
- `rotate_data_key`: a new data key version for one tenant, then every sealed value of the tenant re-sealed
  with it in batches (each batch its own transaction, so an interrupted run resumes where it stopped), then
  the old versions deleted. Values sealed with an old version still open meanwhile. A process caches keys
  for `cache_s`: the old version is deleted only once the new one is older than that (no process can still
  be sealing with it); until then the run reports the old version kept, and running it again retires it.
- `encrypt_existing`: rows stored in plaintext before the PHI migration, sealed by the service's own
  function (a migration has no key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from shared.phi.crypto import Binding, TenantKeys, version_prefix, wrap_context
from shared.phi.keys import DATA, PhiKeyring, add_key, stored_keys, tenant_keys
from shared.phi.kms import KeyProvider

SealLegacy = Callable[[AsyncSession, int], Awaitable[int]]
"""Seal up to `limit` rows still in plaintext; how many it sealed (0: none left)."""


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A column of sealed values; each row has `tenant_id` and a row id (`row_id`, unique within the tenant), its
    values bound to (tenant, table, column, row id). A value not starting with the sealed format byte is plaintext
    stored before encryption (e.g. a PDF sealed in place): rotation leaves it to `encrypt_existing`."""

    table: sa.Table
    column: str = "phi"
    row_id: str = "id"


@dataclass(frozen=True, slots=True)
class PhiAtRest:
    """What a service keeps sealed: its key table, its sealed columns and how to seal its legacy rows."""

    keys: sa.Table
    sealed: Sequence[SealedColumn]
    seal_legacy: SealLegacy


@dataclass
class DataKeyRotation:
    tenant: str
    version: int
    resealed: int = 0
    retired: list[int] = field(default_factory=list)
    kept_until: dt.datetime | None = None
    """When the old versions could not be deleted yet (keys cached elsewhere): the time to run again after."""


async def rotate_kek(
    engine: AsyncEngine, keys_table: sa.Table, kek: KeyProvider, *, tenants: Sequence[str] | None = None
) -> int:
    """Re-wrap every stored key (of `tenants`, default all) not wrapped by the active KEK; how many."""
    schema = str(keys_table.schema)
    only = [] if tenants is None else [keys_table.c.tenant_id.in_(tenants)]
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    keys_table.c.tenant_id,
                    keys_table.c.purpose,
                    keys_table.c.version,
                    keys_table.c.kek_id,
                    keys_table.c.wrapped,
                )
                .where(keys_table.c.kek_id != kek.active, *only)
                .with_for_update()
            )
        ).all()
        for tenant, purpose, version, kek_id, wrapped in rows:
            context = wrap_context(schema, tenant, purpose, version)
            new_kid, rewrapped = kek.wrap(kek.unwrap(kek_id, wrapped, context), context)
            await conn.execute(
                sa.update(keys_table)
                .where(
                    keys_table.c.tenant_id == tenant, keys_table.c.purpose == purpose, keys_table.c.version == version
                )
                .values(kek_id=new_kid, wrapped=rewrapped)
            )
    return len(rows)


async def rotate_data_key(
    engine: AsyncEngine,
    at_rest: PhiAtRest,
    keyring: PhiKeyring,
    tenant: str,
    *,
    batch_size: int = 500,
    cache_s: float = 60.0,
    progress: Callable[[str], None] = lambda message: None,
) -> DataKeyRotation:
    """Rotate one tenant's data key (or finish a rotation left unfinished): see the module docstring."""
    keys_table = at_rest.keys
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"phi-rotate-{keys_table.schema}-{tenant}"}
        )
        stored = [key for key in await stored_keys(conn, keys_table, tenant) if key.purpose == DATA]
        active = next((key for key in stored if key.active), None)
        unfinished = any(not key.active for key in stored)
        if active is None:
            await keyring.create(engine, keys_table, tenant)
            version = 1
        elif unfinished:
            version = active.version
            progress(f"resuming the rotation to data key version {version}")
        else:
            version = max(key.version for key in stored) + 1
            await conn.execute(
                sa.update(keys_table)
                .where(keys_table.c.tenant_id == tenant, keys_table.c.purpose == DATA)
                .values(active=False)
            )
            await add_key(conn, keyring.kek, keys_table, tenant, DATA, version, active=True)
            progress(f"data key version {version} is active; re-sealing")
    keyring.forget()
    rotation = DataKeyRotation(tenant, version)
    for sealed in at_rest.sealed:
        rotation.resealed += await _reseal(sessions, keyring, keys_table, sealed, tenant, version, batch_size, progress)
    async with engine.begin() as conn:
        activated = await conn.scalar(
            sa.select(keys_table.c.created_at).where(
                keys_table.c.tenant_id == tenant, keys_table.c.purpose == DATA, keys_table.c.version == version
            )
        )
        now = await conn.scalar(sa.select(sa.func.now()))
        assert activated is not None and now is not None
        if now - activated < dt.timedelta(seconds=cache_s):
            rotation.kept_until = activated + dt.timedelta(seconds=cache_s)
            return rotation
        for sealed in at_rest.sealed:  # what a process sealed with a cached old key meanwhile
            rotation.resealed += await _reseal(
                sessions, keyring, keys_table, sealed, tenant, version, batch_size, progress
            )
            if await _left(conn, sealed, tenant, version):
                rotation.kept_until = now
                return rotation
        retired = await conn.execute(
            sa.delete(keys_table)
            .where(keys_table.c.tenant_id == tenant, keys_table.c.purpose == DATA, keys_table.c.active.is_(False))
            .returning(keys_table.c.version)
        )
        rotation.retired = sorted(retired.scalars())
    keyring.forget()
    return rotation


def _not_with(sealed: SealedColumn, tenant: str, version: int) -> sa.ColumnElement[bool]:
    """Values of the tenant sealed, but not with `version`."""
    table, column = sealed.table, sealed.table.c[sealed.column]
    prefix = version_prefix(version)
    return sa.and_(
        table.c.tenant_id == tenant,
        column.is_not(None),
        sa.func.substring(column, 1, 1) == prefix[:1],
        sa.func.substring(column, 1, len(prefix)) != prefix,
    )


async def _left(conn: AsyncConnection, sealed: SealedColumn, tenant: str, version: int) -> bool:
    return bool(await conn.scalar(sa.select(sa.exists().where(_not_with(sealed, tenant, version)))))


async def _reseal(
    sessions: async_sessionmaker[AsyncSession],
    keyring: PhiKeyring,
    keys_table: sa.Table,
    sealed: SealedColumn,
    tenant: str,
    version: int,
    batch_size: int,
    progress: Callable[[str], None],
) -> int:
    table, column, row_column = sealed.table, sealed.table.c[sealed.column], sealed.table.c[sealed.row_id]
    done = 0
    while True:
        async with sessions() as session, session.begin():
            rows = (
                await session.execute(
                    sa.select(row_column, column)
                    .where(_not_with(sealed, tenant, version))
                    .order_by(row_column)
                    .limit(batch_size)
                    .with_for_update()
                )
            ).all()
            if not rows:
                return done
            keys = await keyring.keys(session, keys_table, tenant, opening=[row[1] for row in rows])
            for row_id, value in rows:
                binding = Binding(tenant, table.name, sealed.column, str(row_id))
                await session.execute(
                    sa.update(table)
                    .where(table.c.tenant_id == tenant, row_column == row_id)
                    .values({sealed.column: keys.seal(keys.open(value, binding), binding)})
                )
        done += len(rows)
        progress(f"{table.name}.{sealed.column}: {done} re-sealed")


async def encrypt_existing(
    engine: AsyncEngine, at_rest: PhiAtRest, *, batch_size: int = 500, progress: Callable[[str], None] = print
) -> int:
    """Seal every row still in plaintext, in batches of its own transaction; how many were sealed."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    total = 0
    while True:
        async with sessions() as session, session.begin():
            sealed = await at_rest.seal_legacy(session, batch_size)
        if sealed == 0:
            return total
        total += sealed
        progress(f"{total} rows sealed")


@dataclass(frozen=True, slots=True)
class PlaintextRows:
    """Rows of one table stored before its PHI was sealed: which (`pending`), and the column values sealing one
    (given its tenant's keys). Each row has `tenant_id` and a row id (`row_id`, unique within the tenant)."""

    table: sa.Table
    pending: sa.ColumnElement[bool]
    sealed_values: Callable[[TenantKeys, sa.RowMapping], Mapping[str, object]]
    row_id: str = "id"


async def seal_plaintext_rows(
    session: AsyncSession, keys_table: sa.Table, tables: Sequence[PlaintextRows], limit: int
) -> int:
    """A service's `seal_legacy`: up to `limit` rows of the first of `tables` with rows left, sealed; how many."""
    for legacy in tables:
        table = legacy.table
        rows = (
            (
                await session.execute(
                    sa.select(table)
                    .where(legacy.pending)
                    .order_by(table.c.tenant_id, table.c[legacy.row_id])
                    .limit(limit)
                    .with_for_update()
                )
            )
            .mappings()
            .all()
        )
        for row in rows:
            keys = await tenant_keys(session, keys_table, row["tenant_id"])
            await session.execute(
                sa.update(table)
                .where(table.c.tenant_id == row["tenant_id"], table.c[legacy.row_id] == row[legacy.row_id])
                .values(dict(legacy.sealed_values(keys, row)))
            )
        if rows:
            return len(rows)
    return 0
