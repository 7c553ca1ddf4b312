"""`driver_connection` begins the session's transaction on the driver without sending a statement of its own, and
that transaction stays the session's: SQLAlchemy's statements run in it, its commit keeps what the driver wrote, its
rollback drops it. A checkout pings its pooled connection in one round trip, and replaces one that fails it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cli.stack.local_stack import sqlalchemy_url
from shared.db import create_engine, create_sessionmaker, driver_connection, unit_of_work
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration


class Undone(Exception):
    """Raised inside a unit of work to have it roll back."""


@pytest.fixture
async def sessions(pipeline: Pipeline) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(sqlalchemy_url(pipeline.admin_url), pool_size=1)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def table(admin_db: asyncpg.Connection) -> AsyncIterator[str]:
    name = f"public.driver_{uuid.uuid4().hex[:10]}"
    await admin_db.execute(f"CREATE TABLE {name} (n integer PRIMARY KEY)")
    yield name
    await admin_db.execute(f"DROP TABLE {name}")


async def test_begins_without_a_statement_of_its_own(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    async with unit_of_work(sessions) as session:
        driver = await driver_connection(session)
        assert driver.is_in_transaction()
        state, last = await admin_db.fetchrow(
            "SELECT state, query FROM pg_stat_activity WHERE pid = $1", driver.get_server_pid()
        )
        assert state == "idle in transaction"
        assert last.strip().rstrip(";").upper().startswith("BEGIN"), last  # not a `SELECT 1` sent to begin it


async def test_the_transaction_is_the_sessions(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection, table: str
) -> None:
    async with unit_of_work(sessions) as session:
        driver = await driver_connection(session)
        await driver.execute(f"INSERT INTO {table} VALUES (1)")  # noqa: S608 - the test's own table
        assert await driver_connection(session) is driver  # a second call begins nothing more
        own = await driver.fetchval("SELECT pg_current_xact_id()::text")
        assert (await session.execute(sa.text("SELECT pg_current_xact_id()::text"))).scalar_one() == own
        await session.execute(sa.text(f"INSERT INTO {table} VALUES (2)"))  # noqa: S608
    assert await admin_db.fetchval(f"SELECT array_agg(n ORDER BY n) FROM {table}") == [1, 2]  # noqa: S608

    with pytest.raises(Undone):
        async with unit_of_work(sessions) as session:
            driver = await driver_connection(session)
            await driver.execute(f"INSERT INTO {table} VALUES (3)")  # noqa: S608
            raise Undone
    async with unit_of_work(sessions) as session:  # the pooled connection is clean again
        driver = await driver_connection(session)
        await driver.execute(f"INSERT INTO {table} VALUES (4)")  # noqa: S608
    assert await admin_db.fetchval(f"SELECT array_agg(n ORDER BY n) FROM {table}") == [1, 2, 4]  # noqa: S608


async def test_a_sessions_next_transaction_begins_its_own(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection, table: str
) -> None:
    """The connection kept for a session's transaction is not handed to its next one as it is: that one begins
    again (and may hold another pooled connection)."""
    async with sessions() as session:
        first = await driver_connection(session)
        await first.execute(f"INSERT INTO {table} VALUES (1)")  # noqa: S608 - the test's own table
        await session.commit()
        second = await driver_connection(session)
        assert second.is_in_transaction()
        await second.execute(f"INSERT INTO {table} VALUES (2)")  # noqa: S608
        await session.rollback()
        third = await driver_connection(session)
        assert third.is_in_transaction()
        await third.execute(f"INSERT INTO {table} VALUES (3)")  # noqa: S608
        await session.commit()
    assert await admin_db.fetchval(f"SELECT array_agg(n ORDER BY n) FROM {table}") == [1, 3]  # noqa: S608


async def _server_pid(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with unit_of_work(sessions) as session:
        return int((await session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_checkout_pings_in_one_round_trip(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    pid = await _server_pid(sessions)
    async with sessions() as session:
        await session.connection()  # checked out (and pinged), nothing run yet
        last = await admin_db.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        assert last == "SELECT 1", last  # alone: not BEGIN, a query and ROLLBACK


async def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    pid = await _server_pid(sessions)
    assert await admin_db.fetchval("SELECT pg_terminate_backend($1)", pid)
    for _ in range(100):  # until the backend is gone
        if not await admin_db.fetchval("SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)", pid):
            break
        await asyncio.sleep(0.05)
    assert await _server_pid(sessions) != pid  # no error: the ping failed and a new connection was taken
