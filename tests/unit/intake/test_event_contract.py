"""encounter-coded.v1 keeps PHI in one marked block: every PHI field says so in the JSON Schema."""

from __future__ import annotations

from typing import Any

from shared.events.schemas import generate_schema

SCHEMA = generate_schema("encounter-coded.v1")
DEFS = SCHEMA["$defs"]
PHI_FIELDS = {"last_name", "first_name", "middle_name", "birth_date", "sex", "address", "member_id", "group_number"}


def _properties(name: str) -> dict[str, Any]:
    return DEFS[name]["properties"]


def test_the_phi_block_and_every_field_in_it_are_marked() -> None:
    assert SCHEMA["properties"]["phi"]["x-phi"] is True
    for model in ("Person", "SubscriberPhi"):
        for field, spec in _properties(model).items():
            if field != "coverage_id":
                assert spec.get("x-phi") is True, f"{model}.{field}"


def test_outside_the_phi_block_only_the_provider_tax_id_is_sensitive() -> None:
    marked = {
        f"{model}.{field}"
        for model, definition in DEFS.items()
        if model not in ("Person", "SubscriberPhi", "EncounterPhi")
        for field, spec in definition.get("properties", {}).items()
        if spec.get("x-phi")
    }
    assert marked == {"ProviderDetails.tax_id"}
    top_level = set(SCHEMA["properties"])
    assert not (PHI_FIELDS & top_level)


def test_the_claims_service_fields_stay_required() -> None:
    assert {"encounter_id", "claim_type", "payer_id", "lines"} <= set(SCHEMA["required"])
    assert "charge_cents" in _properties("CodedServiceLine")
