"""Claims the claims service built READY are kept for its batcher only while the stored claim is still what
they were built from: the same document (as a JSON value), number, submitter and receiver."""

from __future__ import annotations

import json
import uuid

from services.claims.domain.claim import Receiver, Submitter
from services.claims.domain.claim_builder import checked_claim
from services.claims.records import ReadyClaim
from services.claims.service import _built, _BuiltClaims
from shared.events.catalog import EncounterCodedV1
from tests.support.encounters import event_of, writable

SUBMITTER = Submitter("CLAIMFLOW BILLING", "CLAIMFLOW", "BILLING DESK", "5555550100")
RECEIVER = Receiver("SANDBOX CLEARINGHOUSE", "SANDBOXCH")
NUMBER = "CF0000000042"


def _kept(encounter: EncounterCodedV1) -> tuple[_BuiltClaims, uuid.UUID, dict[str, object]]:
    claim, findings = checked_claim(encounter, submitter=SUBMITTER, receiver=RECEIVER, control_number=NUMBER)
    assert claim is not None and findings == []
    document = encounter.model_dump(mode="json")
    kept = _BuiltClaims(capacity=10, max_age_s=300)
    claim_id = uuid.uuid4()
    kept.keep(claim_id, _built(claim, encounter, document))
    return kept, claim_id, document


def _row(claim_id: uuid.UUID, document: str, number: str = NUMBER) -> ReadyClaim:
    return ReadyClaim(claim_id, "t1", uuid.uuid4(), None, number, document, None)


def test_the_kept_claim_is_used_for_the_same_document_in_any_key_order_once() -> None:
    encounter = writable(event_of("professional"))
    kept, claim_id, document = _kept(encounter)
    stored = json.dumps(dict(reversed(list(document.items()))))  # jsonb keeps keys in its own order

    built = kept.take(_row(claim_id, stored), SUBMITTER, RECEIVER)

    assert built is not None and built.claim.control_number == NUMBER
    assert built.line_numbers == tuple(line.line_number for line in encounter.lines)
    assert kept.take(_row(claim_id, stored), SUBMITTER, RECEIVER) is None  # taken: a second round builds it


def test_a_document_changed_since_is_built_again() -> None:
    kept, claim_id, document = _kept(writable(event_of("professional")))
    fixed = {**document, "prior_authorization": "AUTH-2"}

    assert kept.take(_row(claim_id, json.dumps(fixed)), SUBMITTER, RECEIVER) is None


def test_another_number_submitter_or_receiver_is_built_again() -> None:
    for number, submitter, receiver in [
        ("CF0000000043", SUBMITTER, RECEIVER),
        (NUMBER, Submitter("OTHER BILLING", "OTHER", "DESK", "5555550100"), RECEIVER),
        (NUMBER, SUBMITTER, Receiver("OTHER CLEARINGHOUSE", "OTHERCH")),
    ]:
        kept, claim_id, document = _kept(writable(event_of("professional")))
        assert kept.take(_row(claim_id, json.dumps(document), number), submitter, receiver) is None


def test_a_full_store_keeps_its_recent_claims_and_lets_old_ones_go() -> None:
    encounter = writable(event_of("professional"))
    claim, _ = checked_claim(encounter, submitter=SUBMITTER, receiver=RECEIVER, control_number=NUMBER)
    assert claim is not None
    document = encounter.model_dump(mode="json")
    stored = json.dumps(document)
    ids = [uuid.uuid4() for _ in range(3)]

    recent = _BuiltClaims(capacity=2, max_age_s=300)
    for claim_id in ids:
        recent.keep(claim_id, _built(claim, encounter, document))
    assert [recent.take(_row(i, stored), SUBMITTER, RECEIVER) is not None for i in ids] == [True, True, False]

    aged = _BuiltClaims(capacity=2, max_age_s=0)
    for claim_id in ids:
        aged.keep(claim_id, _built(claim, encounter, document))
    assert [aged.take(_row(i, stored), SUBMITTER, RECEIVER) is not None for i in ids] == [False, True, True]
