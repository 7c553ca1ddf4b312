"""OpenTelemetry tracing: always on in-process; exported over OTLP only when configured."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.applications import Starlette
from starlette.routing import Match


def configure_tracing(service_name: str) -> TracerProvider:
    """Install a tracer provider once per process; OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"claimflow-{service_name}"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def continued_trace_headers(producer_headers: Mapping[str, str]) -> dict[str, str]:
    """The W3C trace context to keep for later work done on behalf of one consumed event (its 837
    batch, its 835 posting): the current span's when that span is in the event's trace (a single
    event's processing span), else the event producer's own (a batch's span links many traces)."""
    return trace_headers_continuer()(producer_headers)


def trace_headers_continuer() -> Callable[[Mapping[str, str]], dict[str, str]]:
    """`continued_trace_headers` for the many events of a batch consumed under one current span: that span is
    read once here, not once per event."""
    current: dict[str, str] = {}
    propagate.inject(current)
    here = trace.get_current_span().get_span_context()
    if not here.is_valid:
        return dict

    here_trace = format(here.trace_id, "032x")
    w3c_only = _w3c_only(propagate.get_global_textmap())

    def continued(producer_headers: Mapping[str, str]) -> dict[str, str]:
        parent = producer_headers.get("traceparent") if w3c_only else None
        plain = _PLAIN_TRACEPARENT.fullmatch(parent) if parent is not None else None
        if plain is not None and plain[1] != _NO_TRACE and plain[2] != _NO_SPAN:  # what extract finds, read directly
            return dict(current) if plain[1] == here_trace else dict(producer_headers)
        producer = trace.get_current_span(propagate.extract(producer_headers)).get_span_context()
        if not producer.is_valid or here.trace_id == producer.trace_id:
            return dict(current)
        return dict(producer_headers)

    return continued


_PLAIN_TRACEPARENT = re.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
"""A version-00 `traceparent` as written, nothing around it: the propagator's extract reads a valid context from it."""
_NO_TRACE, _NO_SPAN = "0" * 32, "0" * 16


def _w3c_only(propagator: TextMapPropagator) -> bool:
    """Whether the span context comes from `traceparent` alone (W3C trace context, with or without baggage)."""
    parts = propagator._propagators if isinstance(propagator, CompositePropagator) else [propagator]
    return all(isinstance(part, TraceContextTextMapPropagator | W3CBaggagePropagator) for part in parts)


REDACTED_URL_ATTRIBUTES = ("http.target", "http.url", "url.full", "url.path", "url.query")


def request_span_redactor(app: Starlette) -> Callable[[Span, Mapping[str, Any]], None]:
    """A server-request hook that replaces the request's path and query on its span by the route's template:
    `/v1/patients/{patient_id}` rather than the id, and no `?external_patient_id=...` (query strings and path
    segments can carry MRNs, names and member ids). A path that matches no route is written `/{unmatched}`."""

    def redact(span: Span, scope: Mapping[str, Any]) -> None:
        if not span.is_recording():
            return
        template = "/{unmatched}"
        for route in app.routes:
            match, _ = route.matches(dict(scope))
            if match is Match.FULL:
                template = str(getattr(route, "path", template))
                break
        present = getattr(span, "attributes", None) or {}
        for key in REDACTED_URL_ATTRIBUTES:
            if key in present:
                span.set_attribute(key, "" if key == "url.query" else template)

    return redact
