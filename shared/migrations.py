"""Alembic per service: its own history, its version table in its own schema, run at start-up."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

VERSION_TABLE = "alembic_version"


def alembic_config(migrations_dir: Path, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["schema"] = schema
    return config


def head_revision(config: Config) -> str | None:
    return ScriptDirectory.from_config(config).get_current_head()


async def upgrade_to_head(engine: AsyncEngine, config: Config) -> None:
    """Upgrade under an advisory lock so replicas starting together migrate once."""
    schema = config.attributes["schema"]

    def _upgrade(connection: sa.Connection) -> None:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"migrate-{schema}"})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine, schema: str) -> str | None:
    async with engine.connect() as conn:
        exists = await conn.scalar(sa.text("SELECT to_regclass(:name)"), {"name": f"{schema}.{VERSION_TABLE}"})
        if exists is None:
            return None
        revision: str | None = await conn.scalar(sa.text(f"SELECT version_num FROM {schema}.{VERSION_TABLE}"))  # noqa: S608
        return revision


def run_migrations(target_metadata: sa.MetaData) -> None:
    """Body of every service's migrations/env.py: online only, on the connection given by the service."""
    config = context.config
    schema = config.attributes["schema"]
    connection = config.attributes["connection"]

    def include_name(name: str | None, type_: str, parent_names: object) -> bool:
        return type_ != "schema" or name == schema

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
