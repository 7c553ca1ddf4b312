"""run_periodically: full rounds repeat at once, failures back off (capped, jittered), a failure never
ends the loop, and the log carries the traceback without the exception's message."""

from __future__ import annotations

import asyncio
import json
import logging
import random

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from shared import periodic
from shared.periodic import (
    MIN_FAILURE_BACKOFF_S,
    PERIODIC_FAILURES,
    PERIODIC_RUNS,
    Periodic,
    backoff_delay,
    run_periodically,
)
from shared.telemetry.logging import JsonFormatter


class Stop(BaseException):
    """Ends the loop from the fake sleep once enough rounds ran."""


def test_backoff_doubles_from_the_interval_and_is_capped() -> None:
    rng = random.Random(7)
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        delays = [backoff_delay(failures, 1.0, 10.0, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert max(delays) - min(delays) > 0  # jittered


def test_a_zero_interval_still_backs_off_after_a_failure() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(1, 0.0, 10.0, rng) for _ in range(200)]
    assert min(delays) >= MIN_FAILURE_BACKOFF_S / 2
    assert backoff_delay(4, 0.0, 10.0, rng) >= MIN_FAILURE_BACKOFF_S * 4


async def test_rounds_wait_only_when_no_work_is_left_and_failures_back_off(caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[object] = [True, True, None, RuntimeError("Jane Canary 1970-01-01"), RuntimeError("x"), False]
    sleeps: list[float] = []

    async def one_round() -> bool | None:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[return-value]

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if not outcomes:
            raise Stop

    work = Periodic("test-work", interval_s=2.0, round=one_round, max_backoff_s=3.0)
    runs_before = PERIODIC_RUNS.labels("unit", "test-work")._value.get()
    failures_before = PERIODIC_FAILURES.labels("unit", "test-work")._value.get()
    with caplog.at_level(logging.ERROR, logger="shared.periodic"), pytest.raises(Stop):
        await run_periodically("unit", work, sleep=fake_sleep, rng=random.Random(1))

    # two full rounds run back to back; the idle one waits the interval; two failures back off
    # (first within [1, 2], second capped at 3 -> within [1.5, 3]); the last idle round waits again
    assert len(sleeps) == 4
    assert sleeps[0] == 2.0
    assert 1.0 <= sleeps[1] <= 2.0
    assert 1.5 <= sleeps[2] <= 3.0
    assert sleeps[3] == 2.0
    assert PERIODIC_RUNS.labels("unit", "test-work")._value.get() - runs_before == 6
    assert PERIODIC_FAILURES.labels("unit", "test-work")._value.get() - failures_before == 2

    failure = caplog.records[0]
    line = JsonFormatter("unit").format(failure)
    entry = json.loads(line)
    assert entry["work"] == "test-work"
    assert "one_round" in entry["error"] and "builtins.RuntimeError" in entry["error"]
    assert "Canary" not in line and "1970" not in line


async def test_cancellation_ends_the_loop() -> None:
    started = asyncio.Event()

    async def one_round() -> None:
        started.set()

    task = asyncio.create_task(run_periodically("unit", Periodic("idle", 60.0, one_round)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_each_round_has_a_span_and_a_failed_one_is_an_error_without_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(periodic, "tracer", provider.get_tracer("test"))
    outcomes: list[object] = [None, RuntimeError("Jane Canary 1970-01-01")]
    inside: list[bool] = []

    async def one_round() -> None:
        inside.append(trace.get_current_span().get_span_context().is_valid)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome

    async def fake_sleep(seconds: float) -> None:
        if not outcomes:
            raise Stop

    with pytest.raises(Stop):
        await run_periodically("unit", Periodic("traced", 1.0, one_round), sleep=fake_sleep, rng=random.Random(1))

    assert inside == [True, True]  # the round's own work (its database spans) runs under the round's span
    idle, failed = exporter.get_finished_spans()
    assert idle.name == failed.name == "periodic traced"
    assert idle.status.status_code is StatusCode.UNSET
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["error.type"] == "RuntimeError"
    assert not failed.events  # no exception event: its message can hold PHI
    assert "Canary" not in repr(failed.to_json())
