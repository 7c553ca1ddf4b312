"""The claims consumer reads `encounter-coded` as its msgspec mirror (`shared.events.wire`), not the pydantic
model: every claim built from the mirror (priced, drafted, checked, stored) must be the one built from the model."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
import orjson
import pytest

from services.claims.domain.claim_builder import checked_claim, draft_from_encounter, price, total_charge_cents
from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.x12_837 import write_batches
from services.claims.records import ReadyClaim
from services.claims.service import _contents, _stored_encounter, _submitted_event, _Writable, _writable_claim
from shared.events import wire
from shared.events.catalog import ClaimSubmittedV1, EncounterCodedV1
from shared.events.envelope import payload_json
from shared.patient_match import MemberDigest
from tests.support.encounters import EXAMPLES, event_of, writable
from tests.unit.claims.test_claim_builder import RECEIVER, SUBMITTER

NAMES = sorted(path.stem for path in EXAMPLES.glob("*.json"))
_DECODER = msgspec.json.Decoder(wire.EncounterCodedV1)


def _mirror(event: EncounterCodedV1) -> wire.EncounterCodedV1:
    return _DECODER.decode(payload_json(event))


def _unpriced(event: EncounterCodedV1) -> EncounterCodedV1:
    lines = [line.model_copy(update={"charge_cents": None}) for line in event.lines]
    return event.model_copy(update={"lines": lines})


@pytest.mark.parametrize("name", NAMES)
def test_the_mirror_builds_the_claim_the_model_builds(name: str) -> None:
    event = writable(event_of(name))
    mirror = _mirror(event)
    assert draft_from_encounter(mirror) == draft_from_encounter(event)
    assert checked_claim(mirror, submitter=SUBMITTER, receiver=RECEIVER, control_number="CF0000000001") == (
        checked_claim(event, submitter=SUBMITTER, receiver=RECEIVER, control_number="CF0000000001")
    )
    assert _contents(mirror) == _contents(event), "the stored document and columns are the model's"


@pytest.mark.parametrize("name", NAMES)
def test_the_mirror_is_priced_as_the_model_is(name: str) -> None:
    event = _unpriced(writable(event_of(name)))
    schedule = {(line.procedure_code or line.revenue_code or "", ""): 1234 for line in event.lines}
    priced_model, priced_mirror = price(event, schedule), price(_mirror(event), schedule)
    assert isinstance(priced_mirror, wire.EncounterCodedV1)
    assert total_charge_cents(priced_mirror) == total_charge_cents(priced_model) > 0
    assert _contents(priced_mirror) == _contents(priced_model)
    assert payload_json(priced_mirror) == payload_json(priced_model)


@pytest.mark.parametrize("name", NAMES)
def test_claim_submitted_built_as_the_mirror_is_a_valid_event_of_the_model(name: str) -> None:
    event = writable(event_of(name))
    claim, _ = checked_claim(event, submitter=SUBMITTER, receiver=RECEIVER, control_number="CF0000000001")
    if claim is None:
        pytest.skip("not writable as an 837 alone")
    ready = ReadyClaim(uuid.uuid4(), "t1", event.encounter_id, event.patient_id, "CF0000000001", None, "P1", 1)
    numbers = tuple(line.line_number for line in event.lines)
    item = _Writable(ready, claim, event.currency, numbers, event.service_date_from)
    at = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)

    built = _submitted_event("t1", item, 42, at, MemberDigest(b"k" * 32))

    body = payload_json(built)
    model = ClaimSubmittedV1.model_validate_json(body)  # what the catalog's schema accepts, pydantic's judgement
    assert payload_json(model) == body, "the mirror's bytes are the model's"
    assert model.frequency_code + (model.interim_frequency_code or "") in {"1", "7", "8", "12", "13", "14", "15"}
    assert (model.interim_frequency_code or model.frequency_code) == claim.frequency.value
    assert [line.line_number for line in model.lines] == list(numbers)
    assert model.total_charge_cents == claim.total_charge_cents == sum(line.charge_cents for line in model.lines)


def test_claims_built_from_equal_mirrors_share_their_parties_and_write_the_same_837_as_the_model() -> None:
    event = writable(event_of("professional"))
    first, second = _mirror(event), _mirror(event)  # two decodes: equal values, different objects
    assert first.billing_provider is not second.billing_provider
    claims = [
        checked_claim(encounter, submitter=SUBMITTER, receiver=RECEIVER, control_number=number)[0]
        for encounter, number in ((first, "CF0000000001"), (second, "CF0000000002"))
    ]
    model_claims = [
        checked_claim(event, submitter=SUBMITTER, receiver=RECEIVER, control_number=number)[0]
        for number in ("CF0000000001", "CF0000000002")
    ]
    assert claims[0] is not None and claims[1] is not None
    assert claims[0].billing_provider is claims[1].billing_provider, "one billing provider object per value"
    assert claims[0].payer is claims[1].payer
    assert claims[0].billing_provider.address is claims[1].billing_provider.address
    assert claims == model_claims
    at = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    mirror_837 = write_batches([c for c in claims if c], ControlNumbers(1, 1, 1), at)
    model_837 = write_batches([c for c in model_claims if c], ControlNumbers(1, 1, 1), at)
    assert [i.text for i in mirror_837.interchanges] == [i.text for i in model_837.interchanges]


@pytest.mark.parametrize(("field", "value"), [("claim_filing_indicator", "Q9"), ("name", "PAYER\u00a7")])
def test_a_payer_the_837_cannot_carry_is_named_the_same_from_the_mirror_twice(field: str, value: str) -> None:
    event = writable(event_of("professional"))
    assert event.coverage is not None
    payer = event.coverage.payer.model_copy(update={field: value})
    bad = event.model_copy(update={"coverage": event.coverage.model_copy(update={"payer": payer})})
    expected = checked_claim(bad, submitter=SUBMITTER, receiver=RECEIVER, control_number="CF0000000001")
    assert expected[1], "the model's build names the problem"
    for _ in range(2):  # the second build meets the remembered (or not remembered) payer
        got = checked_claim(_mirror(bad), submitter=SUBMITTER, receiver=RECEIVER, control_number="CF0000000001")
        assert got == expected


def test_the_shared_parties_of_mirrors_are_one_object_per_value_and_a_models_are_built_anew() -> None:
    event = writable(event_of("professional"))
    first, second = _mirror(event), _mirror(event)  # equal values, distinct mirrors (two consumed events)
    built = [
        checked_claim(e, submitter=SUBMITTER, receiver=RECEIVER, control_number="CF0000000001")[0]
        for e in (first, second, event, event)
    ]
    assert all(claim is not None for claim in built)
    one, two, model_one, model_two = (claim for claim in built if claim is not None)
    assert one.billing_provider is two.billing_provider and one.payer is two.payer
    assert one.billing_provider.address is two.billing_provider.address
    assert model_one.billing_provider is not model_two.billing_provider  # pydantic models are never remembered
    assert model_one.billing_provider == one.billing_provider and model_one.payer == one.payer


@pytest.mark.parametrize("name", NAMES)
def test_the_batcher_builds_a_stored_document_as_the_model_would(name: str) -> None:
    """A READY claim another replica built is written from its stored document (the model's JSON) read as the
    mirror: the same 837 claim and event fields as the model gives; a document the mirror refuses goes to the model."""
    event = writable(event_of(name))
    document = _contents(event).document
    text = orjson.dumps(document).decode()
    assert isinstance(_stored_encounter(text), wire.EncounterCodedV1)
    ready = ReadyClaim(
        uuid.uuid4(), "t1", event.encounter_id, event.patient_id, "CF0000000001", None, event.payer_id, 1
    )
    built = _writable_claim(ready, text, SUBMITTER, RECEIVER)
    from_model = EncounterCodedV1.model_validate_json(text)
    claim, _ = checked_claim(from_model, submitter=SUBMITTER, receiver=RECEIVER, control_number="CF0000000001")
    assert built.claim == claim
    assert (built.currency, built.service_date_from) == (from_model.currency, from_model.service_date_from)
    assert built.line_numbers == tuple(line.line_number for line in from_model.lines)


def test_a_stored_document_the_mirror_refuses_is_judged_by_the_model() -> None:
    document = dict(_contents(writable(event_of("professional"))).document)
    document["lines"] = "not a list"
    with pytest.raises(ValueError):  # pydantic's ValidationError: the batcher holds the claim with its reason
        _stored_encounter(orjson.dumps(document).decode())
