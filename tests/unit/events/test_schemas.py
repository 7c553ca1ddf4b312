"""The checked-in event schemas are the contract with analytics consumers: changes must be compatible."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import create_model

from shared.events.catalog import EVENT_TYPES, ClaimDeniedV1, EventPayload
from shared.events.schemas import generate_schema, incompatibilities, render, schema_path


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_current_model_is_compatible_with_checked_in_schema(event_type: str) -> None:
    checked_in = json.loads(schema_path(event_type).read_text())
    problems = incompatibilities(checked_in, generate_schema(event_type))
    assert problems == [], f"{event_type} changed incompatibly; publish a new version instead: {problems}"


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_checked_in_schema_is_up_to_date(event_type: str) -> None:
    assert schema_path(event_type).read_text() == render(generate_schema(event_type)), (
        "run `claimflow events export-schemas` and commit the result"
    )


def _schema_of(model: type[EventPayload]) -> dict[str, object]:
    return model.model_json_schema(mode="serialization")


def _variant(**fields: object) -> type[EventPayload]:
    return create_model("ClaimDeniedV1", __base__=ClaimDeniedV1, **fields)  # type: ignore[call-overload,no-any-return]


def test_changing_a_field_type_is_incompatible() -> None:
    problems = incompatibilities(_schema_of(ClaimDeniedV1), _schema_of(_variant(denied_cents=(str, ...))))
    assert any("denied_cents" in p and "type changed" in p for p in problems), problems


def test_narrowing_allowed_values_is_incompatible() -> None:
    changed = _variant(denial=(Literal["full"], ...))
    problems = incompatibilities(_schema_of(ClaimDeniedV1), _schema_of(changed))
    assert any(p.startswith("#/denial:") for p in problems), problems


def test_a_new_required_field_is_incompatible() -> None:
    problems = incompatibilities(_schema_of(ClaimDeniedV1), _schema_of(_variant(appeal_deadline=(str, ...))))
    assert problems == ["#/appeal_deadline: became required"]


def test_removing_a_field_is_incompatible() -> None:
    old = _schema_of(ClaimDeniedV1)
    new = json.loads(json.dumps(old))
    del new["properties"]["trace_number"]
    new["required"].remove("trace_number")
    problems = incompatibilities(old, new)
    assert "#/trace_number: property removed" in problems
    assert "#/trace_number: no longer required" in problems


def test_changing_a_nested_definition_is_incompatible() -> None:
    old = _schema_of(ClaimDeniedV1)
    new = json.loads(json.dumps(old))
    new["$defs"]["DeniedLine"]["properties"]["denied_cents"]["type"] = "number"
    problems = incompatibilities(old, new)
    assert problems == ["#/lines/items/denied_cents: type changed from 'integer' to 'number'"], problems


def test_an_optional_field_may_be_added() -> None:
    assert incompatibilities(_schema_of(ClaimDeniedV1), _schema_of(_variant(note=(str | None, None)))) == []
