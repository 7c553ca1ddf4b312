"""Work a service repeats while it runs (batching claims, collecting inbound files): one runner for all,
so every loop backs off the same way after failures, logs a traceback without PHI and is measured."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from opentelemetry import trace
from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)
tracer = trace.get_tracer("claimflow.periodic")
MIN_FAILURE_BACKOFF_S = 0.1
"""Floor of the first retry, so work configured with a zero interval cannot spin on a failure."""

PERIODIC_RUNS = Counter("claimflow_periodic_runs_total", "Rounds of periodic work started.", ["service", "work"])
PERIODIC_FAILURES = Counter(
    "claimflow_periodic_failures_total", "Rounds of periodic work that raised.", ["service", "work"]
)
PERIODIC_LAST_SUCCESS = Gauge(
    "claimflow_periodic_last_success_timestamp_seconds",
    "Unix time of the last round of periodic work that completed.",
    ["service", "work"],
)


@dataclass(frozen=True, slots=True)
class Periodic:
    """One named piece of periodic work.

    `round` does one pass and returns True when work is left over (the next round starts at once),
    else False/None (the next round waits `interval_s`). A round that raises is logged and retried
    after a capped exponential backoff with jitter, starting at `interval_s`.
    """

    name: str
    interval_s: float
    round: Callable[[], Awaitable[bool | None]]
    max_backoff_s: float = 60.0


def backoff_delay(failures: int, interval_s: float, max_backoff_s: float, rng: random.Random) -> float:
    """Delay before the retry after `failures` consecutive failures: interval, twice that, four times … capped, with
    "equal jitter" (half fixed, half random) so replicas that failed together do not retry together."""
    ceiling = min(max_backoff_s, max(interval_s, MIN_FAILURE_BACKOFF_S) * 2.0 ** max(failures - 1, 0))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


async def run_periodically(
    service: str,
    work: Periodic,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> None:
    """Run `work` until cancelled; a failing round never ends the loop."""
    rng = rng or random.Random()
    failures = 0
    runs = PERIODIC_RUNS.labels(service, work.name)
    failed = PERIODIC_FAILURES.labels(service, work.name)
    last_success = PERIODIC_LAST_SUCCESS.labels(service, work.name)
    span_name = f"periodic {work.name}"
    while True:
        runs.inc()
        delay: float | None = None
        # One span per round groups its database work; no exception event, its message can hold PHI.
        with tracer.start_as_current_span(span_name, record_exception=False, set_status_on_exception=False) as span:
            try:
                more = await work.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                failed.inc()
                delay = backoff_delay(failures, work.interval_s, work.max_backoff_s, rng)
                span.set_status(trace.StatusCode.ERROR)
                span.set_attribute("error.type", type(exc).__qualname__)
                log.error(
                    "periodic work failed",
                    exc_info=True,
                    extra={"work": work.name, "failures": failures, "retry_in_s": round(delay, 3)},
                )
        if delay is not None:
            await sleep(delay)
            continue
        failures = 0
        last_success.set(time.time())
        if not more:
            await sleep(work.interval_s)
