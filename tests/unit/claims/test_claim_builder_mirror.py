"""The claims consumer reads `encounter-coded` as its msgspec mirror (`shared.events.wire`), not the pydantic
model: every claim built from the mirror (priced, drafted, checked, stored) must be the one built from the model."""

from __future__ import annotations

import msgspec
import pytest

from services.claims.domain.claim_builder import checked_claim, draft_from_encounter, price, total_charge_cents
from services.claims.service import _contents
from shared.events import wire
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import payload_json
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
