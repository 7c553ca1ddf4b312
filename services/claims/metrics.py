"""Metrics only the claims service has."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CLAIMS_BY_STATE = Gauge("claimflow_claims_by_state", "Claims in each lifecycle state (all tenants).", ["state"])
CLAIMS_BATCHED = Counter("claimflow_claims_batched_total", "Claims written into stored 837 interchanges.")
CLAIMS_HELD = Counter("claimflow_claims_held_total", "Claims put on hold by the scrubber.", ["rule_id"])
