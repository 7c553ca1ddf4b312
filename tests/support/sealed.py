"""Opening what a service sealed at rest (shared.phi), from the database as its administrator sees it, with the
test stack's KEK: for tests that check a stored 837 or 276 whose text is sealed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import asyncpg

from shared.phi.crypto import Binding, KekRing, TenantKeys
from shared.phi.keys import StoredKey, unwrap_keys
from tests.support.pipeline import Pipeline

FILE_COLUMNS = "s.id, s.tenant_id, s.x12, s.phi"
"""What `file_text` needs of a `submissions` or `status_requests` row aliased `s`."""


class SealedPhi:
    def __init__(self, admin_db: asyncpg.Connection, pipeline: Pipeline, schema: str = "claims") -> None:
        self._db = admin_db
        self._ring = KekRing.parse(f"local:{pipeline.secrets.phi_kek}")
        self._schema = schema

    async def keys(self, tenant: str) -> TenantKeys:
        rows = await self._db.fetch(
            f"SELECT tenant_id, purpose, version, kek_id, wrapped, active FROM {self._schema}.phi_keys "  # noqa: S608
            "WHERE tenant_id = $1",
            tenant,
        )
        return unwrap_keys(self._ring, self._schema, tenant, [StoredKey(*row) for row in rows])

    async def opened(self, table: str, row: Mapping[str, object]) -> bytes:
        """The sealed `phi` of a row (with `id` and `tenant_id`), opened."""
        tenant, sealed, row_id = str(row["tenant_id"]), row["phi"], row["id"]
        assert isinstance(sealed, bytes) and isinstance(row_id, uuid.UUID)
        return (await self.keys(tenant)).open(sealed, Binding(tenant, table, "phi", str(row_id)))

    async def file_text(self, table: str, row: Mapping[str, object]) -> str:
        """A stored X12 file's text: sealed in `phi`, or in `x12` on a row stored before encryption."""
        if row["phi"] is None:
            return str(row["x12"])
        return (await self.opened(table, row)).decode()


async def x12_of_claim(admin_db: asyncpg.Connection, pipeline: Pipeline, claim_id: uuid.UUID) -> str:
    """The 837 the claim last went out in, as stored."""
    row = await admin_db.fetchrow(
        f"SELECT {FILE_COLUMNS} FROM claims.submissions s JOIN claims.claims c ON c.submission_id = s.id "  # noqa: S608
        "WHERE c.id = $1",
        claim_id,
    )
    assert row is not None, "the claim went out in an 837"
    return await SealedPhi(admin_db, pipeline).file_text("submissions", row)
