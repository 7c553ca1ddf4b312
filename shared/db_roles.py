"""Provisioning of one schema and one login role per service: a role can touch only its own schema."""

from __future__ import annotations

import re

import asyncpg

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def provision_service(admin_dsn: str, *, service: str, password: str, database: str) -> None:
    """Create (or update) role `service` owning schema `service`; idempotent.

    `admin_dsn` is a plain libpq URL of a superuser. The role gets no rights outside its schema,
    and PUBLIC loses CREATE on `public`, so no role can share tables by accident.
    """
    if not _IDENTIFIER.match(service):
        raise ValueError(f"service name is not a safe SQL identifier: {service!r}")
    conn = await asyncpg.connect(admin_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('claimflow-provision'))")
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", service)
            verb = "ALTER" if exists else "CREATE"
            await conn.execute(
                f"{verb} ROLE {service} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {_quote_literal(password)}"
            )
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION {service}")
            await conn.execute(f"ALTER SCHEMA {service} OWNER TO {service}")
            await conn.execute(f"REVOKE ALL ON SCHEMA {service} FROM PUBLIC")
            await conn.execute(f"ALTER ROLE {service} SET search_path = {service}")
            await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {service}')
            await conn.execute(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM {service}')
            for maintenance in await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname IN ('postgres', 'template1') AND datname <> $1",
                database,
            ):  # PUBLIC may connect to these and make TEMP tables there by default; service roles may not
                await conn.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{maintenance["datname"]}" FROM PUBLIC')
    finally:
        await conn.close()


async def ensure_database(admin_dsn: str, database: str) -> None:
    if not _IDENTIFIER.match(database):
        raise ValueError(f"database name is not a safe SQL identifier: {database!r}")
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')
            await conn.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
    finally:
        await conn.close()
