"""Splitting the PHI members out of a JSON document and putting them back (shared.phi.fields)."""

from __future__ import annotations

import json

import orjson

from shared.events.catalog import EncounterCodedV1
from shared.phi.fields import marked_paths, merged, merged_text, split
from tests.support.encounters import EXAMPLES, example

PATHS = ("phi", "billing_provider.tax_id", "line_providers[].tax_id")


def test_every_field_the_encounter_event_marks_phi_is_a_path_through_the_providers_and_lists() -> None:
    paths = marked_paths(EncounterCodedV1)
    assert "phi" in paths
    assert {"billing_provider.tax_id", "line_providers[].tax_id", "institutional.attending.tax_id"} <= set(paths)
    assert not any(path.startswith("phi.") for path in paths), "a marked block is taken whole"


def test_a_top_level_member_holding_phi_is_taken_whole_and_put_back() -> None:
    document = {
        "encounter_id": "E1",
        "phi": {"patient": {"last_name": "DOE"}},
        "billing_provider": {"npi": "1234567893", "tax_id": "123456789"},
        "line_providers": [{"npi": "1"}, {"npi": "2", "tax_id": "987654321"}],
        "rendering_provider": {"npi": "3", "tax_id": None},
    }
    plain, taken = split(document, PATHS)
    assert plain == {"encounter_id": "E1", "rendering_provider": {"npi": "3", "tax_id": None}}
    assert list(plain) == ["encounter_id", "rendering_provider"], "the plain members keep the document's order"
    assert set(taken) == {"phi", "billing_provider", "line_providers"}
    assert merged(plain, taken) == document
    assert json.loads(merged_text(json.dumps(plain), orjson.dumps(taken))) == document
    assert document["phi"] == {"patient": {"last_name": "DOE"}}, "the document itself is left as it was"


def test_a_document_without_phi_values_splits_into_itself_and_nothing() -> None:
    document = {"encounter_id": "E1", "phi": None, "line_providers": [{"npi": "1", "tax_id": None}]}
    plain, taken = split(document, PATHS)
    assert (plain, taken) == (document, {})
    assert merged_text('{"a": 1}', b"{}") == '{"a": 1}'
    assert json.loads(merged_text("{}", b'{"phi": {"x": 1}}')) == {"phi": {"x": 1}}


def test_every_example_encounter_round_trips_through_its_plain_and_sealed_parts() -> None:
    paths = marked_paths(EncounterCodedV1)
    names = sorted(path.stem for path in EXAMPLES.glob("*.json"))
    assert len(names) > 5
    for name in names:
        encounter = example(name)
        document = encounter.model_dump(mode="json")
        plain, taken = split(document, paths)
        assert "phi" not in plain and (document["phi"] is None or "phi" in taken), name
        text = merged_text(orjson.dumps(plain).decode(), orjson.dumps(taken))
        assert EncounterCodedV1.model_validate_json(text) == encounter, name
