"""Corrections of registered parties, pure: which fields differ, JSON merge patch, ETags, the 837's
address rules applied at registration, and the `party-changed` event without values outside `phi`."""

from __future__ import annotations

import msgspec
import pytest
from pydantic import ValidationError

from services.intake.domain.changes import differing_fields, entity_tag, merge_patch, tag_matches
from services.intake.domain.parties import coverage_changed, patient_changed, provider_changed
from services.intake.schemas import ProviderIn
from shared.events.envelope import payload_json
from tests.support.intake_builders import ADDRESS, PATIENT, coverage, payer

BILLING = {"npi": "1234567893", "entity": "organization", "name": "SYNTHETIC CLINIC", "tax_id": "990000001",
           "tax_id_type": "EIN", "address": ADDRESS | {"postal_code": "627010001"}}  # fmt: skip


def test_differing_fields_are_named_by_dotted_path_and_a_missing_field_equals_null() -> None:
    before = {"name": "A", "address": {"city": "X", "postal_code": "62701"}, "lines": [{"units": 1}], "note": None}
    after = {"name": "A", "address": {"city": "X", "postal_code": "627010001"}, "lines": [{"units": 2}]}
    assert differing_fields(before, after) == ["address.postal_code", "lines.0.units"]
    assert differing_fields(before, before) == []
    assert differing_fields({"codes": ["A", "B"]}, {"codes": ["A"]}) == ["codes"]


def test_a_merge_patch_merges_objects_removes_nulls_and_replaces_the_rest() -> None:
    target = {"name": "A", "address": {"city": "X", "line2": "STE 1"}, "codes": ["A", "B"]}
    patch = {"address": {"line2": None, "postal_code": "627010001"}, "codes": ["C"], "taxonomy": "207Q00000X"}
    assert merge_patch(target, patch) == {
        "name": "A",
        "address": {"city": "X", "postal_code": "627010001"},
        "codes": ["C"],
        "taxonomy": "207Q00000X",
    }
    assert target["address"] == {"city": "X", "line2": "STE 1"}, "the stored record is not changed in place"


def test_an_etag_follows_the_content_and_if_match_accepts_star_or_a_listed_tag() -> None:
    tag = entity_tag({"b": 1, "a": 2})
    assert tag == entity_tag({"a": 2, "b": 1}) and tag != entity_tag({"a": 2, "b": 2})
    assert tag_matches(tag, tag) and tag_matches("*", tag) and tag_matches(f'"old", {tag}', tag)
    assert not tag_matches('"old"', tag)


def test_a_provider_that_bills_needs_the_zip_plus_4_the_837_needs() -> None:
    assert ProviderIn.model_validate(BILLING).address is not None
    with pytest.raises(ValidationError, match="postal_code: must be 9 digits"):
        ProviderIn.model_validate(BILLING | {"address": ADDRESS})
    rendering = {"npi": "1987654328", "entity": "individual", "name": "SMITH", "address": ADDRESS}
    assert ProviderIn.model_validate(rendering).address is not None, "a provider that cannot bill keeps 5 digits"
    with pytest.raises(ValidationError, match="state: must be a USPS state"):
        ProviderIn.model_validate(rendering | {"address": ADDRESS | {"state": "ZZ"}})


def test_the_party_changed_event_keeps_phi_inside_phi_and_names_fields_not_values() -> None:
    provider = ProviderIn.model_validate(BILLING)
    event = provider_changed(PATIENT.id, provider, ["address.postal_code"])
    assert event.provider is not None and event.provider.address is not None
    assert event.provider.address.postal_code == "627010001" and event.phi is None
    billed = coverage("SANDBOX", "primary")
    changed = coverage_changed(billed, payer("SANDBOX"), PATIENT, ["member_id"], "claim-fix")
    assert changed.coverage is not None and changed.coverage.coverage_id == billed.id
    assert changed.phi is not None and changed.phi.subscriber is not None
    assert changed.phi.subscriber.member_id == billed.member_id and changed.source == "claim-fix"
    moved = patient_changed(PATIENT, ["address.line1"])
    assert moved.changed_fields == ["address.line1"] and moved.phi is not None and moved.phi.patient is not None
    assert PATIENT.last_name.encode() not in payload_json(msgspec.structs.replace(moved, phi=None))
