"""Structured JSON logs carrying the trace id; messages name ids and codes, never PHI."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType

from opentelemetry import trace

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["error"] = traceback_without_values(record.exc_info)
        return json.dumps(entry, default=str)


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def traceback_without_values(exc_info: ExcInfo) -> str:
    """The whole traceback (every frame, every chained cause) with exception types but not their
    messages: a message can quote the data that failed (a name, a bound SQL parameter)."""
    exc = exc_info[1]
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    link: tuple[BaseException, str] | None = (exc, "") if exc is not None else None
    while link is not None and id(link[0]) not in seen:
        seen.add(id(link[0]))
        chain.append(link)
        current = link[0]
        if current.__cause__ is not None:
            link = (current.__cause__, "The above exception was the direct cause of the following exception:")
        elif current.__context__ is not None and not current.__suppress_context__:
            link = (current.__context__, "During handling of the above exception, another exception occurred:")
        else:
            link = None
    parts: list[str] = []
    for error, relation in reversed(chain):
        parts.append("Traceback (most recent call last):\n")
        frames = traceback.StackSummary.extract(traceback.walk_tb(error.__traceback__), capture_locals=False)
        parts.extend(frames.format())
        kind = type(error)
        parts.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)\n")
        if relation:
            parts.append(f"\n{relation}\n\n")
    return "".join(parts).rstrip("\n")


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
