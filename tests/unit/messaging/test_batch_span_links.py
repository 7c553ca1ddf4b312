"""A batch's processing span links to each producer's span: `remote_span` reads a `traceparent` as the W3C
propagator does."""

from __future__ import annotations

import datetime as dt

import pytest
from opentelemetry import propagate, trace

from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import remote_span

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


def _envelope(trace_headers: dict[str, str]) -> EventEnvelope:
    return EventEnvelope(
        id="e",
        type="claim-denied.v1",
        source="/t",
        subject="s",
        tenant="t",
        time=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        data={},
        trace_headers=trace_headers,
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": f"00-{TRACE}-{SPAN}-01"},
        {"traceparent": f"00-{TRACE}-{SPAN}-00"},
        {"traceparent": f"00-{TRACE}-{SPAN}-01", "tracestate": "vendor=value"},
        {"traceparent": f"01-{TRACE}-{SPAN}-01-extra"},
        {"traceparent": f"ff-{TRACE}-{SPAN}-01"},
        {"traceparent": f"00-{'0' * 32}-{SPAN}-01"},
        {"traceparent": f"00-{TRACE}-{'0' * 16}-01"},
        {"traceparent": f"00-{TRACE.upper()}-{SPAN}-01"},
        {"traceparent": "garbage"},
        {},
    ],
)
def test_reads_the_traceparent_as_the_propagator_does(headers: dict[str, str]) -> None:
    expected = trace.get_current_span(propagate.extract(headers)).get_span_context()
    found = remote_span(_envelope(headers))
    if expected.is_valid:
        assert found == expected
    else:
        assert found is None


def test_a_batch_span_keeps_the_links_the_sdk_would_keep_of_all() -> None:
    """Built only for the last MAX_SPAN_LINKS events that carry a trace: a span given every event's link keeps
    exactly these (the SDK drops the earlier ones)."""
    from opentelemetry.sdk.trace import TracerProvider

    from shared.messaging.consumer import MAX_SPAN_LINKS, batch_links

    assert MAX_SPAN_LINKS is not None
    envelopes = [
        _envelope({"traceparent": f"00-{TRACE}-{index + 1:016x}-01"} if index % 3 else {})
        for index in range(3 * MAX_SPAN_LINKS)
    ]
    every = [trace.Link(found) for envelope in envelopes if (found := remote_span(envelope)) is not None]
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("all", links=every) as span:
        kept = [link.context for link in span.links]  # type: ignore[attr-defined]  # the SDK span has links

    built = [link.context for link in batch_links(envelopes)]

    assert len(built) == MAX_SPAN_LINKS
    assert built == kept
    assert built[-1] == remote_span(envelopes[-1])
