"""Checked-in JSON Schemas of every event type, and the rule for evolving them.

A version's schema may only change compatibly: consumers of the old schema must read new events,
and new consumers must read old events (replays). So no property may disappear, change type or
change its allowed values, and no property may become required or stop being required.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.events.catalog import EVENT_TYPES
from shared.messaging.topics import CORE_TOPICS

SCHEMA_DIR = Path(__file__).parent / "schemas"
_SHAPE_KEYS = ("type", "format", "enum", "const", "$ref", "pattern", "anyOf")


def generate_schema(event_type: str) -> dict[str, Any]:
    _, model = EVENT_TYPES[event_type]
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = f"https://claimflow.dev/events/{event_type}.json"
    schema["title"] = event_type
    return schema


def schema_path(event_type: str) -> Path:
    return SCHEMA_DIR / f"{event_type}.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def incompatibilities(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every way `new` breaks readers or writers of `old`; empty when the change is compatible."""
    problems: list[str] = []
    _compare(old, new, "#", problems, old.get("$defs", {}), new.get("$defs", {}))
    return problems


def _compare(
    old: dict[str, Any],
    new: dict[str, Any],
    where: str,
    problems: list[str],
    old_defs: dict[str, Any],
    new_defs: dict[str, Any],
) -> None:
    old, new = _resolve(old, old_defs), _resolve(new, new_defs)
    for key in _SHAPE_KEYS:
        if key in ("$ref", "anyOf"):
            continue
        if _normalise(old.get(key)) != _normalise(new.get(key)):
            problems.append(f"{where}: {key} changed from {old.get(key)!r} to {new.get(key)!r}")
    if "anyOf" in old or "anyOf" in new:
        old_options, new_options = old.get("anyOf", [old]), new.get("anyOf", [new])
        if len(old_options) != len(new_options):
            problems.append(f"{where}: allowed types changed")
        else:
            for index, (o, n) in enumerate(zip(old_options, new_options, strict=True)):
                _compare(o, n, f"{where}/anyOf/{index}", problems, old_defs, new_defs)
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in old_props:
        if name not in new_props:
            problems.append(f"{where}/{name}: property removed")
        else:
            _compare(old_props[name], new_props[name], f"{where}/{name}", problems, old_defs, new_defs)
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(new_required - old_required):
        problems.append(f"{where}/{name}: became required")
    for name in sorted(old_required - new_required):
        problems.append(f"{where}/{name}: no longer required")
    if "items" in old and "items" in new:
        _compare(old["items"], new["items"], f"{where}/items", problems, old_defs, new_defs)


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return dict(defs.get(ref.removeprefix("#/$defs/"), {}))
    return schema


def _normalise(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(map(str, value))
    return value


def asyncapi_document() -> dict[str, Any]:
    """AsyncAPI 3.0 for analytics consumers: every topic, its key, its event types and their schemas."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in CORE_TOPICS:
        channel_messages = {}
        for event_type, (event_topic, _) in EVENT_TYPES.items():
            if event_topic != topic:
                continue
            message_name = event_type.replace(".", "_").replace("-", "_")
            messages[message_name] = {
                "name": event_type,
                "contentType": "application/json",
                "summary": f"CloudEvents binary mode; ce_type={event_type}; key = the aggregate id.",
                "payload": {"$ref": f"./schemas/{event_type}.json"},
            }
            channel_messages[message_name] = {"$ref": f"#/components/messages/{message_name}"}
        channels[topic.name] = {"address": topic.name, "description": topic.description, "messages": channel_messages}
        channels[topic.dead_letter] = {
            "address": topic.dead_letter,
            "description": f"Messages of {topic.name} that could not be processed; headers dlt-* say why.",
        }
        operations[f"consume_{topic.name}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{topic.name}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "claimflow domain events", "version": "1.0.0"},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def write_all() -> list[Path]:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in EVENT_TYPES:
        path = schema_path(event_type)
        path.write_text(render(generate_schema(event_type)))
        written.append(path)
    asyncapi = SCHEMA_DIR.parent / "asyncapi.json"
    asyncapi.write_text(render(asyncapi_document()))
    written.append(asyncapi)
    return written
