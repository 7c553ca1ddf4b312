"""The remittance ledger read back from the database, for balance assertions in integration tests."""

from __future__ import annotations

import asyncpg


async def ledger_totals(admin_db: asyncpg.Connection, tenant: str) -> dict[tuple[str, str, str], int]:
    """Sum of cents per (account type, account id, entry kind) in the tenant's remittance ledger."""
    rows = await admin_db.fetch(
        "SELECT account_type, account_id, kind, sum(amount_cents) AS total FROM remittance.ledger_entries "
        "WHERE tenant_id = $1 GROUP BY 1, 2, 3",
        tenant,
    )
    return {(row["account_type"], row["account_id"], row["kind"]): int(row["total"]) for row in rows}
