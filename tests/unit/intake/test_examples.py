"""Every document under examples/encounters/ is valid intake input and yields a complete encounter-coded event."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from services.intake.domain.documents import document_event
from services.intake.schemas import EncounterDocument
from shared.events.catalog import EncounterCodedV1
from shared.npi import npi_is_valid
from shared.x12.transliteration import transliterate

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "encounters"
SHAPES = ["professional", "institutional", "dependent", "secondary", "corrected", "void", "drug-ndc",
          "prior-authorization", "inpatient", "interim-bill", "anesthesia", "ambulance", "dme", "post-op-no-charge",
          "primary-with-secondary"]  # fmt: skip


def event_of(name: str) -> EncounterCodedV1:
    document = EncounterDocument.model_validate_json((EXAMPLES / f"{name}.json").read_text())
    event, problems = document_event(document, today=dt.date(2026, 11, 27))
    assert problems == [], [(p.loc, p.msg) for p in problems]
    assert event is not None
    return event


def test_every_claim_shape_has_an_example() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.json")) == sorted(SHAPES)


@pytest.mark.parametrize("name", SHAPES)
def test_example_is_valid_and_complete(name: str) -> None:
    event = event_of(name)
    assert event.unresolved == []
    assert event.coverage is not None and event.billing_provider is not None and event.phi is not None
    assert event.billing_provider.tax_id is not None and event.billing_provider.address is not None
    assert EncounterCodedV1.model_validate(event.model_dump(mode="json")) == event


@pytest.mark.parametrize("name", SHAPES)
def test_examples_hold_only_synthetic_identifiers(name: str) -> None:
    document = json.loads((EXAMPLES / f"{name}.json").read_text())
    assert "Synthetic" in document["_comment"]
    for provider in document["providers"]:
        assert npi_is_valid(provider["npi"])
        assert provider.get("tax_id", "99")[:2] == "99"
    assert "DOE" in transliterate(document["patient"]["last_name"])


def test_each_example_shows_its_shape() -> None:
    assert event_of("institutional").institutional is not None
    dependent = event_of("dependent")
    assert dependent.coverage is not None and dependent.coverage.relationship == "19"
    assert dependent.phi is not None and dependent.phi.subscribers[0].subscriber.first_name == "JOHN"
    secondary = event_of("secondary")
    assert secondary.coverage is not None and secondary.coverage.responsibility == "S"
    assert [c.responsibility for c in secondary.other_coverages] == ["P"]
    assert secondary.prior_payer_adjudications[0].paid_cents == 9000
    assert (event_of("corrected").frequency_code, event_of("void").frequency_code) == ("7", "8")
    assert event_of("corrected").original_claim_number == "SBX-PAYER-0002"
    drug = event_of("drug-ndc").lines[0].drug
    assert drug is not None and (drug.ndc, drug.quantity, drug.unit) == ("99999099901", "1", "ML")
    authorized = event_of("prior-authorization")
    assert authorized.prior_authorization == "AUTH-EX-000123" and authorized.referring_provider is not None


@pytest.mark.parametrize("name", SHAPES)
def test_an_example_sent_years_later_keeps_its_distance_from_today(name: str) -> None:
    from services.intake.domain.documents import rebased

    raw = json.loads((EXAMPLES / f"{name}.json").read_text())
    later = dt.date(2031, 7, 1)
    moved = EncounterDocument.model_validate(rebased(raw, later))
    original = EncounterDocument.model_validate(raw)
    assert original.as_of is not None and moved.as_of == later
    assert moved.encounter.service_date_to - later == original.encounter.service_date_to - original.as_of
    assert moved.patient.birth_date == original.patient.birth_date
    event, problems = document_event(moved, today=later)
    assert problems == [] and event is not None
