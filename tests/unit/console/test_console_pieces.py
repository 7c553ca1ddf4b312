"""Pure pieces of the console and the analytics feed: money display, per-minute rates, PHI stripping."""

from __future__ import annotations

import uuid

from cli.analytics import without_phi
from console.metrics import MetricsHistory, Sample, parse_metrics
from console.services_api import money
from shared.events.catalog import EncounterCodedV1
from tests.support.pipeline import coded_encounter


def test_money_is_integer_arithmetic() -> None:
    assert money(0) == "$0.00"
    assert money(123456789) == "$1,234,567.89"
    assert money(-5) == "-$0.05"
    assert money(None) == "—"


def published(value: float) -> list[Sample]:
    text = f'claimflow_events_published_total{{service="intake",topic="encounter-coded"}} {value}\n'
    return parse_metrics("# TYPE claimflow_events_published_total counter\n" + text)


def test_per_minute_rate_from_samples_a_minute_apart() -> None:
    history = MetricsHistory()
    history.add(published(100), at=0.0)
    assert history.per_minute("claimflow_events_published_total", "topic") == {"encounter-coded": None}
    history.add(published(130), at=30.0)
    assert history.per_minute("claimflow_events_published_total", "topic") == {"encounter-coded": 60.0}
    history.add(published(220), at=90.0)  # newest scrape at least a minute older: the one at 30 s
    assert history.per_minute("claimflow_events_published_total", "topic") == {"encounter-coded": 90.0}
    history.add(published(10), at=120.0)  # a restarted process: counters start again, never a negative rate
    assert history.per_minute("claimflow_events_published_total", "topic") == {"encounter-coded": 0.0}


def test_analytics_rows_carry_no_field_marked_phi() -> None:
    phi = {"patient": {"last_name": "SYNTHETICA", "birth_date": "1970-05-05"}, "subscribers": []}
    provider = {"npi": "1234567893", "entity": "organization", "name": "CLINIC", "tax_id": "990000001",
                "tax_id_type": "EIN"}  # fmt: skip
    event = EncounterCodedV1.model_validate(
        {**coded_encounter(), "encounter_id": str(uuid.uuid4()), "phi": phi, "billing_provider": provider}
    ).model_dump(mode="json")
    kept = without_phi("encounter-coded.v1", event)
    assert "phi" not in kept and "tax_id" not in kept["billing_provider"]
    assert kept["billing_provider"]["npi"] == "1234567893" and kept["lines"] == event["lines"]
    assert without_phi("unknown.v1", event) == {}
