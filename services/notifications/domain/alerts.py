"""Ops alerts as pure rules: what counts as firing (dead letters arriving, consumer lag, outbox age, claims stuck
in a state, a service's metrics unreachable), and which notices to send so each alert is told once when it fires,
repeated at most every `repeat_s` while it lasts, and told again when it resolves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from prometheus_client.parser import text_string_to_metric_families

OUTBOX_AGE_METRIC = "claimflow_outbox_oldest_age_seconds"
CONSUMER_LAG_METRIC = "claimflow_consumer_lag"


@dataclass(frozen=True, slots=True)
class Condition:
    """An alert that is firing now; `key` names it across rounds (e.g. `consumer-lag:claims`)."""

    key: str
    summary: str


@dataclass(frozen=True, slots=True)
class AlertState:
    """What was last told about an alert."""

    key: str
    firing: bool
    summary: str
    first_fired_at: dt.datetime
    last_notified_at: dt.datetime | None
    resolved_at: dt.datetime | None


class NoticeKind(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Notice:
    key: str
    kind: NoticeKind
    summary: str
    since: dt.datetime


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """What one service's /metrics says: the oldest unpublished outbox row and the lag per consumer group."""

    outbox_oldest_age_s: float
    lag_by_group: dict[str, float]


@dataclass(frozen=True, slots=True)
class StuckClaims:
    state: str
    count: int
    oldest_since: dt.datetime


def read_metrics(text: str) -> ServiceHealth:
    """The figures alerts need from a Prometheus text exposition."""
    outbox_age = 0.0
    lag: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == OUTBOX_AGE_METRIC:
                outbox_age = max(outbox_age, sample.value)
            elif sample.name == CONSUMER_LAG_METRIC:
                group = sample.labels.get("group", "")
                lag[group] = lag.get(group, 0.0) + sample.value
    return ServiceHealth(outbox_oldest_age_s=outbox_age, lag_by_group=lag)


def health_conditions(service: str, health: ServiceHealth, *, max_lag: int, max_outbox_age_s: float) -> list[Condition]:
    conditions = []
    if health.outbox_oldest_age_s > max_outbox_age_s:
        conditions.append(
            Condition(
                f"outbox-age:{service}",
                f"{service}: the oldest unpublished outbox event is {health.outbox_oldest_age_s:.0f} s old "
                f"(threshold {max_outbox_age_s:.0f} s)",
            )
        )
    for group, lag in sorted(health.lag_by_group.items()):
        if lag > max_lag:
            conditions.append(
                Condition(
                    f"consumer-lag:{service}:{group}",
                    f"{service}: consumer group {group} is {lag:.0f} messages behind (threshold {max_lag})",
                )
            )
    return conditions


def unreachable_condition(service: str) -> Condition:
    return Condition(f"metrics-unreachable:{service}", f"{service}: /metrics did not answer")


def stuck_conditions(
    stuck: Iterable[StuckClaims], thresholds_s: Mapping[str, float], now: dt.datetime
) -> list[Condition]:
    return [
        Condition(
            f"claims-stuck:{group.state}",
            f"{group.count} claim(s) in state {group.state} for more than {thresholds_s[group.state]:.0f} s "
            f"(oldest since {group.oldest_since.isoformat()})",
        )
        for group in sorted(stuck, key=lambda g: g.state)
        if group.count > 0
    ]


def dead_letter_conditions(
    arrivals: Mapping[str, tuple[int, dt.datetime]], now: dt.datetime, quiet_s: float
) -> list[Condition]:
    """`arrivals`: per dead-letter topic, its size and when it last grew. Firing while it grew within `quiet_s`."""
    return [
        Condition(
            f"dead-letters:{topic}",
            f"dead letters arriving on {topic} ({size} in total, the last at {grew_at.isoformat()})",
        )
        for topic, (size, grew_at) in sorted(arrivals.items())
        if (now - grew_at).total_seconds() < quiet_s
    ]


def plan_notices(
    known: Mapping[str, AlertState], firing: Iterable[Condition], now: dt.datetime, repeat_s: float
) -> list[Notice]:
    """Rate-limited: a new alert is told at once, a lasting one again only after `repeat_s`, a cleared one once."""
    notices: list[Notice] = []
    firing_keys = set()
    for condition in firing:
        firing_keys.add(condition.key)
        state = known.get(condition.key)
        if state is None or not state.firing:
            notices.append(Notice(condition.key, NoticeKind.FIRING, condition.summary, now))
        elif state.last_notified_at is None or (now - state.last_notified_at).total_seconds() >= repeat_s:
            notices.append(Notice(condition.key, NoticeKind.FIRING, condition.summary, state.first_fired_at))
    for key, state in sorted(known.items()):
        if state.firing and key not in firing_keys:
            notices.append(Notice(key, NoticeKind.RESOLVED, state.summary, state.first_fired_at))
    return notices


def notice_text(notice: Notice) -> tuple[str, str]:
    """Subject and body of a notice (email, or the text of a webhook)."""
    if notice.kind is NoticeKind.RESOLVED:
        return (
            f"[claimflow] RESOLVED {notice.key}",
            f"Resolved: {notice.key}\nIt had fired since {notice.since.isoformat()}: {notice.summary}\n",
        )
    return (
        f"[claimflow] FIRING {notice.key}",
        f"Firing since {notice.since.isoformat()}: {notice.key}\n{notice.summary}\n",
    )
