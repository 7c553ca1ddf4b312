"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUEST_SECONDS = Histogram(
    "claimflow_http_request_duration_seconds",
    "HTTP request latency.",
    ["service", "method", "route", "status"],
)
HANDLER_SECONDS = Histogram(
    "claimflow_handler_duration_seconds",
    "Time to apply one consumed batch of a partition, inbox and effects in one transaction.",
    ["service", "topic"],
)
EVENTS_PROCESSED = Counter(
    "claimflow_events_processed_total", "Events applied by a consumer.", ["service", "topic", "event_type"]
)
DUPLICATES_SKIPPED = Counter(
    "claimflow_events_duplicate_total", "Events skipped because the inbox already held them.", ["service", "topic"]
)
DEAD_LETTERS = Counter("claimflow_dead_letters_total", "Messages sent to a dead-letter topic.", ["service", "topic"])
EVENTS_PUBLISHED = Counter(
    "claimflow_events_published_total", "Outbox events published to Kafka.", ["service", "topic"]
)
OUTBOX_BACKLOG = Gauge(
    "claimflow_outbox_backlog",
    "Outbox events not yet published (counted up to 10,000; beyond that, the span of their ids).",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "claimflow_outbox_oldest_age_seconds", "Age of the first (lowest id) unpublished outbox event.", ["service"]
)
CONSUMER_LAG = Gauge(
    "claimflow_consumer_lag",
    "Messages between the committed position and the high watermark.",
    ["service", "group", "topic", "partition"],
)
