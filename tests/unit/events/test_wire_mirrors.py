"""The msgspec mirrors in `shared/events/wire.py` are generated from the catalog's pydantic models and take and
refuse the same payloads, with equal values; the typed accessor built on them answers as the model would."""

from __future__ import annotations

import copy
import datetime as dt
import inspect
import itertools
import json
import types
import typing
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from shared.events import wire
from shared.events.catalog import EVENT_TYPES, EncounterCodedV1, EventPayload
from shared.events.envelope import EventEnvelope, MalformedEvent, from_kafka, payload_json, to_kafka
from shared.events.mirror import WIRE_MODULE, payload_models, render_wire_module
from tests.support.encounters import event_of
from tests.unit.intake.test_examples import SHAPES

PATTERN_SAMPLES = {
    r"^[A-Z]{2}$": "TX",
    r"^\d{5}(\d{4})?$": "787010001",
    r"^\d{11}$": "00002143380",
    r"^\d{1,7}(\.\d{1,3})?$": "1.5",
    r"^[0-9A-Z]{2}$": "OZ",
    r"^\d{10}$": "1234567893",
    r"^\d{2}$": "11",
    r"^[A-Z]{3}$": "USD",
    r"^\d{1,5}(\.\d{1,2})?$": "12.5",
    r"^[A-Z0-9]{1,5}$": "CO45",
}
"""A valid value for every pattern the catalog uses (a new pattern fails here until it has one)."""
MUTATIONS: tuple[object, ...] = (None, "x", "", 1.5, -1, 0, 3, True, [], {}, "2026-13-01", "1234567893\n", ["x"], [{}])


def test_the_checked_in_mirrors_are_generated_from_the_catalog() -> None:
    assert WIRE_MODULE.read_text() == render_wire_module(), "run `claimflow events export-schemas` and commit"


def test_every_catalog_model_has_a_mirror_with_the_same_fields() -> None:
    for model in payload_models():
        mirror = getattr(wire, model.__name__)
        assert mirror.__struct_fields__ == tuple(model.model_fields), model.__name__
    assert {name: getattr(wire, model.__name__) for name, (_, model) in EVENT_TYPES.items()} == wire.WIRE_TYPES


# --- documents: the intake examples, and per event type one with every field and one with the required only ------


def _sample(annotation: Any, info: FieldInfo | None, full: bool) -> Any:
    origin = typing.get_origin(annotation)
    metadata = list(info.metadata) if info is not None else []
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        nested = [m for m in extra if isinstance(m, FieldInfo)]
        return _sample(inner, nested[0] if nested else info, full)
    if origin in (typing.Union, types.UnionType):
        return _sample(next(a for a in typing.get_args(annotation) if a is not type(None)), info, full)
    if origin is typing.Literal:
        return typing.get_args(annotation)[-1]
    if origin is list:
        (item,) = typing.get_args(annotation)
        least = next((m.min_length for m in metadata if hasattr(m, "min_length")), 0)
        return [_sample(item, None, full) for _ in range(max(least, 1 if full else 0))]
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return document(annotation, full)
    pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
    if pattern is not None:
        return PATTERN_SAMPLES[pattern]
    lowest = next((getattr(m, name) for m in metadata for name in ("ge", "gt") if getattr(m, name, None)), 0)
    return {
        str: "S-1",
        int: lowest + 1,
        bool: True,
        uuid.UUID: str(uuid.UUID(int=7)),
        dt.date: "2026-11-02",
        dt.datetime: "2026-11-02T10:20:30.123456Z",
    }[annotation]


def document(model: type[BaseModel], full: bool) -> dict[str, Any]:
    """A valid document of `model`: every field set (`full`), or only the required ones."""
    return {
        name: _sample(info.annotation, info, full)
        for name, info in model.model_fields.items()
        if full or info.is_required()
    }


def documents() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name in SHAPES:
        yield "encounter-coded.v1", f"example {name}", event_of(name).model_dump(mode="json")
    for event_type, (_, model) in EVENT_TYPES.items():
        yield event_type, "every field", document(model, full=True)
        yield event_type, "required fields", document(model, full=False)


DOCUMENTS = list(documents())
BROKEN_FROM = [d for d in DOCUMENTS if not d[1].startswith("example")]
"""Documents the broken ones are made from: between them they hold every field of every model."""


def _verdicts(event_type: str, doc: object) -> tuple[Any, Any]:
    """What the model and the raw mirror make of a document: a builtins value, or None when refused."""
    _, model = EVENT_TYPES[event_type]
    try:
        by_model: Any = model.model_validate(doc).model_dump(mode="json")
    except ValidationError:
        by_model = None
    try:
        by_mirror: Any = msgspec.to_builtins(msgspec.json.decode(json.dumps(doc), type=wire.WIRE_TYPES[event_type]))
    except msgspec.ValidationError:
        by_mirror = None
    return by_model, by_mirror


@pytest.mark.parametrize(("event_type", "what", "doc"), DOCUMENTS, ids=[f"{t} {w}" for t, w, _ in DOCUMENTS])
def test_model_and_mirror_take_each_document_with_equal_values(event_type: str, what: str, doc: dict[str, Any]) -> None:
    by_model, by_mirror = _verdicts(event_type, doc)
    assert by_model is not None, f"{what} is not valid"
    assert by_mirror == by_model


def _mutants(doc: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], object]]:
    """Every document with one value replaced by a wrong one, or one field left out."""
    children = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for key, child in children:
        for wrong in (*MUTATIONS, *([child + "\n"] if isinstance(child, str) else [])):
            yield (*path, key), _replaced(doc, key, wrong)
        if isinstance(doc, dict):
            yield (*path, key, "<absent>"), {k: v for k, v in doc.items() if k != key}
        for sub_path, mutant in _mutants(child, (*path, key)):
            yield sub_path, _replaced(doc, key, mutant)


def _replaced(doc: Any, key: str | int, value: object) -> Any:
    changed = copy.copy(doc)
    changed[key] = value
    return changed


LAX_ONLY = {"bool for an int", "numeric string for an int", "unix time for a date or time", "0 or 1 for a bool"}
"""What only the model's lax mode takes (the mirror is strict): the accessor then goes by the model."""


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_model_and_mirror_refuse_the_same_broken_documents(event_type: str) -> None:
    lax: set[str] = set()
    checked = 0
    for _, what, doc in [d for d in BROKEN_FROM if d[0] == event_type]:
        for path, mutant in _mutants(doc):
            by_model, by_mirror = _verdicts(event_type, mutant)
            checked += 1
            if by_mirror is not None:
                assert by_mirror == by_model, (what, path)  # the mirror takes nothing the model refuses
            elif by_model is not None:
                lax.add(_lax_kind(mutant, by_model, path))
    assert checked > 20
    assert lax <= LAX_ONLY, lax


def _lax_kind(mutant: object, by_model: object, path: tuple[str | int, ...]) -> str:
    given: Any = mutant
    taken: Any = by_model
    for key in path:
        if key == "<absent>":
            return f"absent {path}"
        given, taken = given[key], taken[key]
    if isinstance(taken, bool) and given in (0, 1):
        return "0 or 1 for a bool"
    if isinstance(taken, int) and isinstance(given, bool):
        return "bool for an int"
    if isinstance(taken, int) and isinstance(given, str):
        return "numeric string for an int"
    if isinstance(taken, str) and isinstance(given, (int, float)) and taken.startswith("19"):
        return "unix time for a date or time"
    return f"{given!r} taken as {taken!r} at {path}"


# --- the accessor ----------------------------------------------------------------------------------------------


def _message(event_type: str, data: object) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    envelope = EventEnvelope(
        id=str(uuid.uuid4()),
        type=event_type,
        source="/t",
        subject="s",
        tenant="t",
        time=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        value=json.dumps(data).encode(),
    )
    return to_kafka(envelope)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_wire_accessor_answers_as_the_model_does(event_type: str) -> None:
    _, model = EVENT_TYPES[event_type]
    wire_type = wire.WIRE_TYPES[event_type]
    for _, _, doc in [d for d in BROKEN_FROM if d[0] == event_type]:
        for _, mutant in [((), doc), *itertools.islice(_mutants(doc), 0, None, 7)]:  # every 7th: the test above has all
            envelope = from_kafka(*_message(event_type, mutant))
            by_model, _ = _verdicts(event_type, mutant)
            if by_model is None:
                with pytest.raises(MalformedEvent, match=f"{event_type} payload invalid"):
                    envelope.payload_as(wire_type)
            else:
                assert msgspec.to_builtins(envelope.payload_as(wire_type)) == by_model
                assert envelope.payload_as(model).model_dump(mode="json") == by_model


def test_an_invalid_payload_names_its_field_through_the_mirror() -> None:
    doc = event_of("professional").model_dump(mode="json")
    doc["lines"][0]["units"] = "many"
    envelope = from_kafka(*_message("encounter-coded.v1", doc))
    with pytest.raises(MalformedEvent, match=r"lines\.0\.units"):
        envelope.payload_as(wire.EncounterCodedV1)


def test_the_wire_accessor_refuses_another_declared_type() -> None:
    envelope = from_kafka(*_message("encounter-coded.v1", event_of("professional").model_dump(mode="json")))
    with pytest.raises(MalformedEvent, match="is not a ClaimSubmittedV1"):
        envelope.payload_as(wire.ClaimSubmittedV1)


def test_a_mirror_is_decoded_once_and_shared() -> None:
    envelope = from_kafka(*_message("encounter-coded.v1", event_of("professional").model_dump(mode="json")))
    assert envelope.payload_as(wire.EncounterCodedV1) is envelope.payload_as(wire.EncounterCodedV1)
    assert envelope.payload_as(EncounterCodedV1) is envelope.payload()


@pytest.mark.parametrize(("event_type", "what", "doc"), DOCUMENTS, ids=[f"{t} {w}" for t, w, _ in DOCUMENTS])
def test_payloads_serialise_as_model_dump_does(event_type: str, what: str, doc: dict[str, Any]) -> None:
    _, model = EVENT_TYPES[event_type]
    payload: EventPayload = model.model_validate(doc)
    mirror = msgspec.convert(payload.model_dump(mode="json"), wire.WIRE_TYPES[event_type])
    assert json.loads(payload_json(payload)) == payload.model_dump(mode="json")
    assert json.loads(payload_json(mirror)) == payload.model_dump(mode="json")
    assert EventEnvelope.new(source="/t", subject="s", tenant="t", payload=mirror).type == event_type
