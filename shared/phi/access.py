"""The append-only PHI access log: one row per record of PHI read over HTTP (who, which record, when, why),
written in the request's own transaction, readable at `GET /v1/phi-access` with the `auditor` scope.

The service's role may INSERT and SELECT the table but not UPDATE, DELETE or TRUNCATE it (its migration
revokes those rights from the owning role and adds a trigger refusing them).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, authenticate, require_scope
from shared.http import SessionDep
from shared.paging import PRINTABLE, CursorParam, Limit, Page, after_cursor, next_cursor, rows_after

AUDITOR_SCOPE = "auditor"
PURPOSE_HEADER = "X-Purpose-Of-Use"
DEFAULT_PURPOSE = "payment"
"""A billing pipeline reads PHI to get claims paid (HIPAA's "payment"), unless the caller says otherwise."""
_PURPOSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,63}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")


def phi_access_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "phi_access",
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False, doc="the token's subject"),
        sa.Column("record_type", sa.Text, nullable=False, doc="patient, coverage, encounter, claim, ..."),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False, doc="X-Purpose-Of-Use, or the route's default"),
        sa.Column("request_id", sa.Text, nullable=False, doc="X-Request-ID, or one made for the request"),
        sa.Column("route", sa.Text, nullable=False, doc="method and route template, e.g. GET /v1/patients/{id}"),
        sa.Column("accessed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Index("ix_phi_access_tenant_id_accessed_at", "tenant_id", "accessed_at", "id"),
        sa.Index("ix_phi_access_tenant_id_record", "tenant_id", "record_type", "record_id"),
    )


def append_only_sql(schema: str, table: str = "phi_access") -> list[str]:
    """Migration statements: the owning (service) role keeps INSERT and SELECT only; a trigger refuses the
    rest even if the rights were granted back."""
    return [
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.{table} FROM CURRENT_USER",
        f"""
        CREATE OR REPLACE FUNCTION {schema}.{table}_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the PHI access log is append-only' USING ERRCODE = 'insufficient_privilege';
        END $$
        """,
        f"""
        CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {schema}.{table}
        FOR EACH ROW EXECUTE FUNCTION {schema}.{table}_append_only()
        """,
        f"""
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {schema}.{table}
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{table}_append_only()
        """,
    ]


def drop_append_only_sql(schema: str, table: str = "phi_access") -> list[str]:
    return [f"DROP FUNCTION IF EXISTS {schema}.{table}_append_only() CASCADE"]


@dataclass(frozen=True, slots=True)
class PhiReader:
    """Who reads PHI in this request, and why; `read` appends a row per record read."""

    session: AsyncSession
    table: sa.Table
    principal: Principal
    purpose: str
    request_id: str
    route: str

    async def read(self, record_type: str, record_ids: Iterable[object]) -> None:
        rows = [
            {
                "id": uuid.uuid4(),
                "tenant_id": self.principal.tenant,
                "subject": self.principal.subject,
                "record_type": record_type,
                "record_id": str(record_id),
                "purpose": self.purpose,
                "request_id": self.request_id,
                "route": self.route,
            }
            for record_id in dict.fromkeys(record_ids)
        ]
        if rows:
            await self.session.execute(sa.insert(self.table), rows)


def _access_table(request: Request) -> sa.Table:
    table: sa.Table | None = request.app.state.runtime.definition.phi_access
    if table is None:
        raise RuntimeError("this service keeps no PHI access log")
    return table


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def phi_reader(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(authenticate)],
    purpose: Annotated[
        str | None,
        Header(
            alias=PURPOSE_HEADER,
            description="Why PHI is read (e.g. treatment, payment, operations, audit); logged with the read.",
        ),
    ] = None,
    request_id: Annotated[str | None, Header(alias="X-Request-ID", include_in_schema=False)] = None,
) -> PhiReader:
    if purpose is not None and not _PURPOSE.match(purpose):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[
                {
                    "loc": ["header", PURPOSE_HEADER],
                    "msg": "letters, digits, spaces and . _ : / -, at most 64",
                    "type": "value_error",
                }
            ],
        )
    return PhiReader(
        session=session,
        table=_access_table(request),
        principal=principal,
        purpose=purpose or DEFAULT_PURPOSE,
        request_id=request_id if request_id is not None and _REQUEST_ID.match(request_id) else str(uuid.uuid4()),
        route=_route(request),
    )


def link_reader(request: Request, session: AsyncSession, *, tenant: str, subject: str, purpose: str) -> PhiReader:
    """The reader of a page opened by a signed link rather than a bearer token (the patient's statement page):
    the link is the credential, so `subject` names the link's holder."""
    request_id = request.headers.get("X-Request-ID")
    return PhiReader(
        session=session,
        table=_access_table(request),
        principal=Principal(subject=subject, tenant=tenant, scopes=frozenset()),
        purpose=purpose,
        request_id=request_id if request_id is not None and _REQUEST_ID.match(request_id) else str(uuid.uuid4()),
        route=_route(request),
    )


PhiReaderDep = Annotated[PhiReader, Depends(phi_reader)]
Auditor = Annotated[Principal, require_scope(AUDITOR_SCOPE)]


class PhiAccessOut(BaseModel):
    id: uuid.UUID
    subject: str
    record_type: str
    record_id: str
    purpose: str
    request_id: str
    route: str
    accessed_at: dt.datetime


def phi_access_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["audit"])

    @router.get(
        "/phi-access",
        summary="The PHI access log: who read which record, when and why (scope `auditor`).",
    )
    async def list_phi_access(
        request: Request,
        principal: Auditor,
        session: SessionDep,
        record_type: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
        record_id: Annotated[str | None, Query(max_length=128, pattern=PRINTABLE)] = None,
        subject: Annotated[str | None, Query(max_length=256, pattern=PRINTABLE)] = None,
        since: Annotated[dt.datetime | None, Query(description="Reads at or after this time.")] = None,
        until: Annotated[dt.datetime | None, Query(description="Reads before this time.")] = None,
        cursor: CursorParam = None,
        limit: Limit = 100,
    ) -> Page[PhiAccessOut]:
        table = _access_table(request)
        statement = sa.select(table).where(table.c.tenant_id == principal.tenant)
        for column, value in (("record_type", record_type), ("record_id", record_id), ("subject", subject)):
            if value is not None:
                statement = statement.where(table.c[column] == value)
        if since is not None:
            statement = statement.where(table.c.accessed_at >= since)
        if until is not None:
            statement = statement.where(table.c.accessed_at < until)
        after = after_cursor(cursor)
        if after is not None:
            statement = statement.where(rows_after(table.c.accessed_at, table.c.id, after))
        rows = (await session.execute(statement.order_by(table.c.accessed_at, table.c.id).limit(limit))).mappings()
        items = [PhiAccessOut.model_validate(dict(row)) for row in rows]
        return Page(items=items, next_cursor=next_cursor([(item.accessed_at, item.id) for item in items], limit))

    return router
