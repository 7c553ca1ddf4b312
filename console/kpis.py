"""The claim and denial KPIs, each defined once: in `analytics/kpis.sql`, run here over the analytics feed.

`KPIS` names each view, what it means and where the definition comes from; the numbers are whatever the
SQL computes, so the console and a `duckdb` session over the same files agree by construction.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from analytics import kpi_sql


@dataclass(frozen=True, slots=True)
class Kpi:
    view: str
    title: str
    definition: str
    source: str


KPIS = (
    Kpi("kpi_clean_claim_rate", "Clean-claim rate",
        "Coded encounters whose claim went to the payer without being worked / coded encounters.",
        "HFMA MAP Key CL-1 (clean claim rate)"),
    Kpi("kpi_first_pass_rate", "First-pass acceptance rate",
        "Claims accepted on their one submission, never rejected by a 999/277CA/277 / claims answered.",
        "HFMA Claim Integrity Task Force (first-pass resolution)"),
    Kpi("kpi_denial_rate", "Remittance denial rate",
        "Claims denied in full / claims remitted.", "HFMA MAP Key AR-5 (remittance denial rate)"),
    Kpi("kpi_days_in_ar", "Days in A/R",
        "Net A/R / average daily net revenue (charges - contractual adjustments, last 90 days / 90).",
        "HFMA MAP Key: net days in accounts receivable"),
    Kpi("kpi_net_collection_rate", "Net collection rate",
        "Payments / (charges - contractual adjustments) over adjudicated claims.",
        "MGMA adjusted (net) collection rate"),
)  # fmt: skip
TABLES = (
    "kpi_claims_by_state",
    "kpi_ar_aging_by_payer",
    "kpi_denial_rate_by_payer",
    "kpi_denials_by_carc",
    "kpi_denial_rate_by_provider",
)


@dataclass(frozen=True, slots=True)
class KpiTable:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True, slots=True)
class FeedEvent:
    at: str
    event_type: str
    event_id: str
    trace_id: str | None
    payload: dict[str, Any]


class FeedMissing(LookupError):
    """No analytics files yet: `claimflow analytics sink` has landed nothing in the directory."""


def files_glob(directory: Path) -> str:
    return str(directory / "event_type=*" / "event_date=*" / "*.parquet")


class FeedReader:
    """One DuckDB connection per read, the KPI views created for one tenant, queried by name."""

    def __init__(self, directory: Path, tenant: str, as_of: dt.date | None = None) -> None:
        if not any(directory.glob("event_type=*/event_date=*/*.parquet")):
            raise FeedMissing(str(directory))
        self._connection = duckdb.connect()
        self._connection.execute("SET VARIABLE events_glob = ?", [files_glob(directory)])
        self._connection.execute("SET VARIABLE tenant = ?", [tenant])
        self._connection.execute("SET VARIABLE as_of = ?", [as_of or dt.date.today()])
        self._connection.execute(kpi_sql())

    def table(self, view: str) -> KpiTable:
        result = self._connection.execute(f"SELECT * FROM {view}")  # noqa: S608 - a view name from KPIS/TABLES
        columns = tuple(str(column[0]) for column in result.description)
        return KpiTable(columns, tuple(tuple(row) for row in result.fetchall()))

    def row(self, view: str) -> dict[str, Any]:
        rows = self.table(view).as_dicts()
        return rows[0] if rows else {}

    def claim_events(self, claim_id: str, encounter_id: str | None) -> list[FeedEvent]:
        """Every event about one claim (and its encounter), oldest first, with its trace id."""
        result = self._connection.execute(
            "SELECT event_time, event_type, event_id, trace_id, payload FROM events "
            "WHERE subject = $claim OR payload->>'$.claim_id' = $claim "
            "OR (event_type = 'encounter-coded.v1' AND payload->>'$.encounter_id' = $encounter) "
            "ORDER BY event_time, event_type",
            {"claim": claim_id, "encounter": encounter_id or ""},
        )
        return [
            FeedEvent(str(row[0]), str(row[1]), str(row[2]), row[3], json.loads(row[4])) for row in result.fetchall()
        ]

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> FeedReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
