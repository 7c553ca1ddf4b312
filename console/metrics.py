"""The services' Prometheus metrics, read from `/metrics` and kept as a short history for rates."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

WINDOW_S = 600.0
MINUTE_S = 60.0


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    def label(self, key: str) -> str:
        return next((value for name, value in self.labels if name == key), "")


def parse_metrics(text: str) -> list[Sample]:
    return [
        Sample(sample.name, tuple(sorted(sample.labels.items())), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


@dataclass(frozen=True, slots=True)
class Scrape:
    at: float
    samples: tuple[Sample, ...]

    def total(self, name: str, by: str) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for sample in self.samples:
            if sample.name == name:
                totals[sample.label(by)] += sample.value
        return dict(totals)


@dataclass
class MetricsHistory:
    """Scrapes of every service's /metrics merged, the last ten minutes of them."""

    scrapes: deque[Scrape] = field(default_factory=lambda: deque(maxlen=600))

    def add(self, samples: list[Sample], at: float | None = None) -> None:
        now = time.monotonic() if at is None else at
        self.scrapes.append(Scrape(now, tuple(samples)))
        while self.scrapes and now - self.scrapes[0].at > WINDOW_S:
            self.scrapes.popleft()

    @property
    def latest(self) -> Scrape | None:
        return self.scrapes[-1] if self.scrapes else None

    def per_minute(self, name: str, by: str) -> dict[str, float | None]:
        """Counter increase per minute by label `by`, over the newest scrape and the newest one at least a
        minute older (or the oldest kept); None where there is no earlier scrape yet."""
        latest = self.latest
        if latest is None:
            return {}
        now = latest.total(name, by)
        earlier = next((s for s in reversed(self.scrapes) if latest.at - s.at >= MINUTE_S), None)
        if earlier is None and len(self.scrapes) > 1:
            earlier = self.scrapes[0]
        if earlier is None or latest.at <= earlier.at:
            return {key: None for key in now}
        before = earlier.total(name, by)
        span_min = (latest.at - earlier.at) / MINUTE_S
        return {key: max(0.0, value - before.get(key, 0.0)) / span_min for key, value in now.items()}
