"""Database plumbing: one async engine per service, one session (unit of work) per request or message."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy import MetaData, event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """Metadata bound to the service's own schema, with stable constraint names for migrations."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def _json_text(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """JSON and JSONB columns go through orjson both ways: the stdlib's json was the largest single cost
    of reading and writing event payloads and claim documents. Each checkout pings its connection in one round
    trip (`_ping_on_checkout`)."""
    engine = create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"server_settings": {"application_name": "claimflow"}},
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
    )
    event.listen(engine.sync_engine, "checkout", _ping_on_checkout)
    return engine


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection's ping as it is checked out: `SELECT 1` as a simple query, one round trip (asyncpg's
    simple query protocol fails on an empty one). A connection that fails it (closed by a Postgres restart, or by the
    server meanwhile) is replaced by a new one, and the pool's other connections made before it are dropped too
    (`InvalidatePoolError`, as SQLAlchemy's own pre-ping does on a failure). SQLAlchemy's own `pool_pre_ping` sends
    BEGIN, the query and ROLLBACK, for poolers in transaction mode: three round trips before every consumer batch
    and request (claimflow connects to Postgres directly)."""
    try:
        await_only(dbapi_connection.driver_connection.execute("SELECT 1"))
    except Exception as error:
        raise InvalidatePoolError(f"a pooled connection failed its ping: {type(error).__name__}") from error


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Commit when the block succeeds, roll back when it raises; business code never commits."""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under a session, inside the session's open transaction: for COPY and array
    statements on the hot paths, where SQLAlchemy's per-row processing costs more than the query.

    Kept in the session's `info` for the rest of its transaction: asking SQLAlchemy again (its async session, a
    greenlet each call) cost about 35 µs of CPU per call, and a consumed batch asks for it once per statement."""
    transaction = session.sync_session.get_transaction()
    held = session.info.get(_DRIVER_KEY)
    if held is not None and transaction is not None and held[0] is transaction:
        return held[1]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the session's connection is closed")
    if not driver.is_in_transaction():
        await _begin_driver_transaction(raw.dbapi_connection)
    session.info[_DRIVER_KEY] = (session.sync_session.get_transaction(), driver)
    return driver


_DRIVER_KEY = "claimflow.driver_connection"
"""`session.info` key of (the session's transaction, its asyncpg connection): a later transaction of the same session
(after a commit or rollback) is another object, and asks SQLAlchemy again."""


async def _begin_driver_transaction(adapter: Any) -> None:
    """Begin the session's transaction on the driver now, as SQLAlchemy's asyncpg adapter does lazily before its first
    statement (its `_start_transaction`: BEGIN with the connection's isolation level, the adapter then committing or
    rolling it back with the session). Without it, the first statement had to be one through SQLAlchemy (a `SELECT 1`,
    a round trip of its own in every consumer batch and claims transaction). `tests/integration/test_db_driver.py`
    checks the session still commits and rolls back what the driver wrote, and that no statement was sent."""
    await adapter._start_transaction()


_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialect classes are unannotated


@dataclass(frozen=True, slots=True)
class AsyncpgStatement:
    """A SQLAlchemy statement compiled once for asyncpg: its text, and its parameters in `$n` order with the
    compiled-in values (e.g. the relay's PHI event types) kept and the named ones given per call."""

    sql: str
    names: tuple[str, ...]
    fixed: dict[str, Any]

    @classmethod
    def of(cls, statement: sa.Select[Any] | sa.Update | sa.TextClause) -> AsyncpgStatement:
        compiled = statement.compile(dialect=_ASYNCPG, compile_kwargs={"render_postcompile": True})
        return cls(compiled.string, tuple(compiled.positiontup or ()), dict(compiled.params))

    def args(self, **values: Any) -> list[Any]:
        return [values[name] if name in values else self.fixed[name] for name in self.names]


def text_array(values: Sequence[str]) -> str:
    """Postgres's text form of a one-dimensional text array, for a text parameter cast to `text[]` in the statement:
    asyncpg encodes a list parameter element by element, with `isinstance` checks against `collections.abc` classes
    for each (a sixth of a consumer's CPU over its inbox and feed statements). Each value is quoted, its `"` and `\\`
    escaped (values with neither, as event ids, topics and event types, are joined in one call)."""
    joined = '","'.join(values)
    if values and "\\" not in joined and joined.count('"') == 2 * (len(values) - 1):
        return '{"' + joined + '"}'
    return "{" + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


def integer_array(values: Sequence[int]) -> str:
    """Postgres's text form of a one-dimensional integer array."""
    return "{" + ",".join(map(str, values)) + "}"
