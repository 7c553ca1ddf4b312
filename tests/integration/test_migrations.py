"""Each service's Alembic head builds exactly the schema its `models.py` describes.

Migrations restate the models by hand; this compares what the migrations built in a fresh database
(the `pipeline` fixture migrates every service) with the models' metadata, the way autogenerate would.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cli.stack import sqlalchemy_url
from shared.db import create_engine
from shared.migrations import VERSION_TABLE
from shared.service import ServiceDefinition
from tests.integration.conftest import DEFINITIONS
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration


def schema_drift(connection: sa.Connection, metadata: sa.MetaData) -> list[Any]:
    """Autogenerate's differences between the database and `metadata`, within the metadata's schema."""
    schema = metadata.schema

    def include_name(name: str | None, type_: str, parent_names: object) -> bool:
        return type_ != "schema" or name == schema

    def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object | None) -> bool:
        if type_ == "table":
            return isinstance(obj, sa.Table) and obj.schema == schema and name != VERSION_TABLE
        return True

    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": include_name,
            "include_object": include_object,
            "compare_type": True,
            "compare_server_default": True,
            "version_table_schema": schema,
        },
    )
    return list(compare_metadata(context, metadata))


def describe(difference: Any) -> str:
    """One line per autogenerate difference: the operation, where, and what changes."""
    if isinstance(difference, list):  # column modifications come grouped per column
        return "; ".join(describe(part) for part in difference)
    operation, *details = difference
    if operation.startswith("modify_"):
        _, table, column, _, old, new = details
        return f"{operation} {table}.{column}: database {_shown(old)}, model {_shown(new)}"
    if operation in ("add_column", "remove_column"):
        _, table, column = details
        return f"{operation} {table}.{column.name} {column.type}"
    target = details[0]
    if isinstance(target, sa.Table):
        return f"{operation} {target.name}"
    name = getattr(target, "name", None)
    table = getattr(getattr(target, "table", None), "name", "?")
    columns = ", ".join(column.name for column in getattr(target, "columns", ()))
    return f"{operation} {table}: {name or 'unnamed'} ({columns})"


def _shown(value: object) -> str:
    """A type, comment or server default as SQL would say it."""
    default = getattr(value, "arg", value)  # a server default's clause
    return repr(getattr(default, "text", default)) if not isinstance(default, sa.types.TypeEngine) else str(default)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=[definition.name for definition in DEFINITIONS])
async def test_models_match_the_migrations_head(pipeline: Pipeline, definition: ServiceDefinition) -> None:
    # As the administrator, whose search_path is not the service's schema: autogenerate then reflects
    # the schema under its own name, as the models name it, foreign keys included.
    engine = create_engine(sqlalchemy_url(pipeline.admin_url), pool_size=1)
    try:
        async with engine.connect() as conn:
            drift = await conn.run_sync(schema_drift, definition.metadata)
    finally:
        await engine.dispose()
    if drift:
        pytest.fail(
            f"{definition.name}: models.py and the Alembic head differ:\n"
            + "\n".join(f"  {describe(difference)}" for difference in drift),
            pytrace=False,
        )
