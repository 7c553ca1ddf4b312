"""Encounter-coded events (from the intake examples) mapped to claims: pricing, the scrubber's draft,
and 837s that pyx12 accepts for every claim shape."""

from __future__ import annotations

import datetime as dt

import pytest

from services.claims.domain.claim import Receiver, Submitter
from services.claims.domain.claim_builder import (
    ClaimMappingError,
    claim_from_encounter,
    draft_from_encounter,
    fee_schedule_codes,
    missing_parts,
    price,
    total_charge_cents,
    writer_findings,
)
from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.scrubber import MissingPart, ScrubContext, holds, scrub
from services.claims.domain.x12_837 import write_batches
from tests.support.encounters import EXAMPLES, EXAMPLES_TODAY, event_of, writable
from tests.support.pyx12_check import pyx12_errors

SHAPES = sorted(p.stem for p in EXAMPLES.glob("*.json"))
SUBMITTER = Submitter("CLAIMFLOW BILLING", "CLAIMFLOW", "BILLING DESK", "5555550100")
RECEIVER = Receiver("SANDBOX CLEARINGHOUSE", "SANDBOXCH")
TODAY = EXAMPLES_TODAY


def test_there_are_examples_to_map() -> None:
    assert len(SHAPES) >= 8


@pytest.mark.parametrize("name", SHAPES)
def test_every_example_is_a_complete_clean_claim(name: str) -> None:
    event = event_of(name)
    draft = draft_from_encounter(event)
    assert draft.missing == frozenset()
    findings = scrub(draft, ScrubContext(today=event.service_date_to + dt.timedelta(days=30)))
    assert not holds(findings), findings


def test_a_claim_the_writer_would_refuse_is_held_with_the_field_named_not_its_value() -> None:
    event = event_of("institutional")
    assert event.billing_provider is not None and event.billing_provider.address is not None
    five_digits = event.billing_provider.address.model_copy(update={"postal_code": "62703"})
    provider = event.billing_provider.model_copy(update={"address": five_digits})
    refused = event.model_copy(update={"billing_provider": provider})
    findings = writer_findings(refused, submitter=SUBMITTER, receiver=RECEIVER)
    assert [(f.rule_id, f.message) for f in findings] == [
        ("x12.837", "billing_provider.address.postal_code: must be 9 digits")
    ]
    assert writer_findings(writable(refused), submitter=SUBMITTER, receiver=RECEIVER) == []


def test_all_shapes_in_one_batch_validate_clean_in_pyx12() -> None:
    claims = [
        claim_from_encounter(
            writable(event_of(name)), control_number=f"CF{index:08d}", submitter=SUBMITTER, receiver=RECEIVER
        )
        for index, name in enumerate(SHAPES, start=1)
    ]
    batch = write_batches(claims, ControlNumbers(1, 1, 1), dt.datetime(2026, 11, 27, 12, 0))
    assert batch.interchanges
    for interchange in batch.interchanges:
        assert pyx12_errors(interchange.text) == []
    text = "".join(i.text for i in batch.interchanges)
    assert "REF*F8*" in text and "CLM*CF" in text and "REF*6R*CF00000001-1" in text


def test_a_dependent_gets_a_patient_loop_and_self_does_not() -> None:
    dependent = claim_from_encounter(event_of("dependent"), control_number="C1", submitter=SUBMITTER, receiver=RECEIVER)
    assert dependent.patient is not None and dependent.patient.relationship == "19"
    own = claim_from_encounter(event_of("professional"), control_number="C2", submitter=SUBMITTER, receiver=RECEIVER)
    assert own.patient is None and own.subscriber.birth_date is not None


def test_secondary_claims_carry_the_primary_payer_adjudication() -> None:
    claim = claim_from_encounter(event_of("secondary"), control_number="C3", submitter=SUBMITTER, receiver=RECEIVER)
    assert claim.payer_responsibility == "S"
    assert claim.other_payers and claim.other_payers[0].paid_cents == 9000


def test_pricing_fills_unpriced_lines_from_the_fee_schedule_per_unit_and_modifier() -> None:
    event = event_of("professional")
    lines = [
        event.lines[0].model_copy(update={"charge_cents": None, "units": 2}),
        event.lines[1].model_copy(update={"charge_cents": None}),
    ]
    unpriced = event.model_copy(update={"lines": lines})
    code0, code1 = lines[0].procedure_code, lines[1].procedure_code
    assert code0 and code1
    assert fee_schedule_codes(unpriced) == {code0, code1}
    schedule = {(code0, ""): 10000, (code1, lines[1].modifiers[0] if lines[1].modifiers else ""): 2500}
    priced = price(unpriced, schedule)
    assert [line.charge_cents for line in priced.lines] == [20000, 2500]
    assert total_charge_cents(priced) == 22500
    half = price(unpriced, {(code0, ""): 10000})
    assert half.lines[1].charge_cents is None
    assert "charge.priced" in {f.rule_id for f in scrub(draft_from_encounter(half), ScrubContext(today=TODAY))}
    assert price(event, {}) is event, "a fully priced encounter is left alone"


def test_an_encounter_without_parties_names_each_missing_part_and_cannot_be_mapped() -> None:
    bare = event_of("institutional").model_copy(
        update={"coverage": None, "billing_provider": None, "phi": None, "institutional": None}
    )
    assert missing_parts(bare) == {
        MissingPart.COVERAGE,
        MissingPart.PATIENT_DEMOGRAPHICS,
        MissingPart.BILLING_PROVIDER,
        MissingPart.INSTITUTIONAL_DETAILS,
    }
    with pytest.raises(ClaimMappingError, match="missing"):
        claim_from_encounter(bare, control_number="C4", submitter=SUBMITTER, receiver=RECEIVER)
    draft = draft_from_encounter(bare)
    assert {"required.coverage", "required.billing_provider"} <= {
        f.rule_id for f in scrub(draft, ScrubContext(today=TODAY))
    }
