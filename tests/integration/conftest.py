"""A fresh database per test session, one role and schema per service, migrated once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cli.services import provision_all, with_database
from services.claims.app import DEFINITION as CLAIMS
from services.denials.app import DEFINITION as DENIALS
from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.remittance.app import DEFINITION as REMITTANCE
from shared.db import create_engine, create_sessionmaker
from shared.migrations import alembic_config, upgrade_to_head
from shared.phi.keys import configure_keyring
from tests.support.pipeline import Pipeline, test_secrets

pytestmark = pytest.mark.integration
DEFINITIONS = (INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS)


@pytest.fixture(scope="session")
async def pipeline(servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Pipeline]:  # type: ignore[no-untyped-def]
    database = f"claimflow_test_{uuid.uuid4().hex[:10]}"
    service_secrets = test_secrets()
    await provision_all(servers.database_url, service_secrets, database)
    result = Pipeline(
        admin_url=with_database(servers.database_url, database),
        server_admin_url=servers.database_url,
        database=database,
        servers=servers,
        secrets=service_secrets,
        log_dir=Path(tmp_path_factory.mktemp("service-logs")),
    )
    configure_keyring(result.phi_settings())  # services' repositories run here too: they seal with the stack's keys
    for definition in DEFINITIONS:
        engine = create_engine(result.role_url(definition.name), pool_size=1)
        try:
            await upgrade_to_head(engine, alembic_config(definition.migrations_dir, str(definition.metadata.schema)))
        finally:
            await engine.dispose()
    await result.start_groups_at_end(
        subscription for definition in DEFINITIONS for subscription in definition.subscriptions
    )
    yield result
    result.close()
    admin = await asyncpg.connect(servers.database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def services(pipeline: Pipeline) -> AsyncIterator[Pipeline]:
    """The pipeline, with every service a test started killed when the test ends."""
    yield pipeline
    pipeline.stop_all()
    pipeline.started.clear()


@pytest.fixture
async def admin_db(pipeline: Pipeline) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(pipeline.admin_url)
    yield connection
    await connection.close()


@pytest.fixture
async def claims_sessions(pipeline: Pipeline) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions as the claims service opens them (its own role), for tests that call its service functions."""
    engine = create_engine(pipeline.role_url("claims"), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()
