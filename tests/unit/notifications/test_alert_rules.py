"""Ops alert rules without servers: what fires, and which notices go out (rate-limited, resolved once)."""

from __future__ import annotations

import datetime as dt

from services.notifications.domain.alerts import (
    AlertState,
    Condition,
    NoticeKind,
    StuckClaims,
    dead_letter_conditions,
    health_conditions,
    notice_text,
    plan_notices,
    read_metrics,
    stuck_conditions,
)

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
METRICS = """\
# HELP claimflow_consumer_lag Messages between the committed position and the high watermark.
# TYPE claimflow_consumer_lag gauge
claimflow_consumer_lag{group="claims",partition="0",service="claims",topic="encounter-coded"} 700.0
claimflow_consumer_lag{group="claims",partition="1",service="claims",topic="encounter-coded"} 400.0
claimflow_consumer_lag{group="other",partition="0",service="claims",topic="payment-received"} 3.0
# HELP claimflow_outbox_oldest_age_seconds Age of the oldest unpublished outbox event.
# TYPE claimflow_outbox_oldest_age_seconds gauge
claimflow_outbox_oldest_age_seconds{service="claims"} 612.5
"""


def test_lag_and_outbox_age_are_read_from_metrics_and_fire_over_their_thresholds() -> None:
    health = read_metrics(METRICS)
    assert health.lag_by_group == {"claims": 1100.0, "other": 3.0}
    assert health.outbox_oldest_age_s == 612.5
    keys = [c.key for c in health_conditions("claims", health, max_lag=1000, max_outbox_age_s=300)]
    assert keys == ["outbox-age:claims", "consumer-lag:claims:claims"]
    assert health_conditions("claims", health, max_lag=5000, max_outbox_age_s=900) == []


def test_dead_letters_fire_while_arriving_and_resolve_when_quiet() -> None:
    marks = {
        "claim-submitted.dlt": (3, NOW - dt.timedelta(seconds=30)),
        "encounter-coded.dlt": (9, NOW - dt.timedelta(hours=2)),
    }
    assert [c.key for c in dead_letter_conditions(marks, NOW, quiet_s=900)] == ["dead-letters:claim-submitted.dlt"]
    assert dead_letter_conditions(marks, NOW + dt.timedelta(hours=1), quiet_s=900) == []


def test_stuck_claims_fire_per_state() -> None:
    stuck = [StuckClaims("submitted", 4, NOW - dt.timedelta(days=3)), StuckClaims("rejected", 0, NOW)]
    conditions = stuck_conditions(stuck, {"submitted": 86400.0, "rejected": 3600.0}, NOW)
    assert [c.key for c in conditions] == ["claims-stuck:submitted"]
    assert "4 claim(s)" in conditions[0].summary


def _state(key: str, *, firing: bool, notified: dt.datetime | None) -> AlertState:
    return AlertState(key, firing, "was bad", NOW - dt.timedelta(hours=3), notified, None)


def test_notices_are_rate_limited_and_resolved_once() -> None:
    lag = Condition("consumer-lag:claims:claims", "behind")
    first = plan_notices({}, [lag], NOW, repeat_s=3600)
    assert [(n.key, n.kind) for n in first] == [(lag.key, NoticeKind.FIRING)]

    told_recently = {lag.key: _state(lag.key, firing=True, notified=NOW - dt.timedelta(minutes=5))}
    assert plan_notices(told_recently, [lag], NOW, repeat_s=3600) == [], "no repeat inside the window"

    told_long_ago = {lag.key: _state(lag.key, firing=True, notified=NOW - dt.timedelta(hours=2))}
    repeated = plan_notices(told_long_ago, [lag], NOW, repeat_s=3600)
    assert [(n.kind, n.since) for n in repeated] == [(NoticeKind.FIRING, NOW - dt.timedelta(hours=3))]

    resolved = plan_notices(told_recently, [], NOW, repeat_s=3600)
    assert [(n.key, n.kind) for n in resolved] == [(lag.key, NoticeKind.RESOLVED)]
    assert "RESOLVED" in notice_text(resolved[0])[0]

    already_resolved = {lag.key: _state(lag.key, firing=False, notified=NOW - dt.timedelta(minutes=1))}
    assert plan_notices(already_resolved, [], NOW, repeat_s=3600) == []
    assert [n.kind for n in plan_notices(already_resolved, [lag], NOW, repeat_s=3600)] == [NoticeKind.FIRING]
