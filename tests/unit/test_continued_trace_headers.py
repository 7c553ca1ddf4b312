"""continued_trace_headers: the trace context kept for work done later on behalf of one consumed event."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider

from shared.telemetry.tracing import continued_trace_headers, trace_headers_continuer

PRODUCER = {"traceparent": "00-5cf92f3577b34da6a3ce929d0e0e4731-a0f067aa0ba902b7-01"}
tracer = TracerProvider().get_tracer("test")


def _parts(headers: dict[str, str]) -> tuple[str, str]:
    _, trace_id, span_id, _ = headers["traceparent"].split("-")
    return trace_id, span_id


def test_a_single_events_processing_span_is_kept_it_continues_the_events_trace() -> None:
    with tracer.start_as_current_span("process", context=propagate.extract(PRODUCER)) as span:
        kept = continued_trace_headers(PRODUCER)
    assert _parts(kept) == ("5cf92f3577b34da6a3ce929d0e0e4731", format(span.get_span_context().span_id, "016x"))


def test_under_a_batch_span_in_another_trace_the_events_own_context_is_kept() -> None:
    with tracer.start_as_current_span("process batch"):
        assert trace.get_current_span().get_span_context().is_valid
        assert continued_trace_headers(PRODUCER) == PRODUCER


def test_an_event_without_a_context_keeps_the_current_span_and_outside_any_span_nothing() -> None:
    with tracer.start_as_current_span("process") as span:
        assert _parts(continued_trace_headers({}))[1] == format(span.get_span_context().span_id, "016x")
    assert continued_trace_headers({}) == {}
    assert continued_trace_headers(PRODUCER) == PRODUCER


def _by_extract(here: dict[str, str], producer_headers: dict[str, str]) -> dict[str, str]:
    """The rule read through the propagator's own extract: the current span's context when the event is in its
    trace or has none, else the event's own."""
    mine = trace.get_current_span().get_span_context()
    producer = trace.get_current_span(propagate.extract(producer_headers)).get_span_context()
    if mine.is_valid and (not producer.is_valid or mine.trace_id == producer.trace_id):
        return here
    return producer_headers


def test_a_batchs_continuer_answers_as_the_propagator_would_for_each_event() -> None:
    other = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    odd = [
        {"traceparent": " 00-5cf92f3577b34da6a3ce929d0e0e4731-a0f067aa0ba902b7-01"},  # spaces: extract's own rules
        {"traceparent": "00-5cf92f3577b34da6a3ce929d0e0e4731-a0f067aa0ba902b7-01-extra"},  # not version 00's form
        {"traceparent": "00-00000000000000000000000000000000-a0f067aa0ba902b7-01"},  # no trace
        {"traceparent": "00-5cf92f3577b34da6a3ce929d0e0e4731-0000000000000000-01"},  # no span
        {"traceparent": "not a trace context"},
        {**other, "tracestate": "vendor=1", "baggage": "k=v"},
    ]
    events = [PRODUCER, other, {}, *odd]
    with tracer.start_as_current_span("process", context=propagate.extract(PRODUCER)):
        here: dict[str, str] = {}
        propagate.inject(here)
        continued = trace_headers_continuer()
        assert [continued(headers) for headers in events] == [_by_extract(here, h) for h in events]
        assert _parts(continued(PRODUCER))[0] == "5cf92f3577b34da6a3ce929d0e0e4731"
        assert continued(other) == other
    with tracer.start_as_current_span("process batch"):
        here = {}
        propagate.inject(here)
        continued = trace_headers_continuer()
        assert [continued(headers) for headers in events] == [_by_extract(here, h) for h in events]
        assert continued(PRODUCER) == PRODUCER
    outside = trace_headers_continuer()
    assert [outside(headers) for headers in events] == events
