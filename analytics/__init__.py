"""The analytics feed's KPI queries (`kpis.sql`), shipped with the package so the console runs the same SQL."""

from __future__ import annotations

from importlib.resources import files


def kpi_sql() -> str:
    """The text of `analytics/kpis.sql`: views over the sink's Parquet files, then one SELECT per KPI."""
    return files("analytics").joinpath("kpis.sql").read_text(encoding="utf-8")
