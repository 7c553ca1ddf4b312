"""Claims the claims service built READY are kept for its batcher only while the stored claim is still what
they were built from: the same row version (nothing wrote the claim since its insert), number, submitter and
receiver."""

from __future__ import annotations

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
INSERTED = 7_301  # the xmin its insert returned


def _kept(encounter: EncounterCodedV1) -> tuple[_BuiltClaims, uuid.UUID]:
    claim, findings = checked_claim(encounter, submitter=SUBMITTER, receiver=RECEIVER, control_number=NUMBER)
    assert claim is not None and findings == []
    kept = _BuiltClaims(capacity=10, max_age_s=300)
    claim_id = uuid.uuid4()
    kept.keep(claim_id, INSERTED, _built(claim, encounter))
    return kept, claim_id


def _row(claim_id: uuid.UUID, row_version: int = INSERTED, number: str = NUMBER) -> ReadyClaim:
    return ReadyClaim(claim_id, "t1", uuid.uuid4(), None, number, None, "PAYER1", row_version)


def test_the_kept_claim_is_used_for_the_row_its_insert_wrote_once() -> None:
    encounter = writable(event_of("professional"))
    kept, claim_id = _kept(encounter)

    built = kept.take(_row(claim_id), SUBMITTER, RECEIVER)

    assert built is not None and built.claim.control_number == NUMBER
    assert built.line_numbers == tuple(line.line_number for line in encounter.lines)
    assert kept.take(_row(claim_id), SUBMITTER, RECEIVER) is None  # taken: a second round builds it


def test_a_claim_written_since_is_built_again() -> None:
    kept, claim_id = _kept(writable(event_of("professional")))

    assert kept.take(_row(claim_id, row_version=INSERTED + 5), SUBMITTER, RECEIVER) is None  # held, fixed, released


def test_another_number_submitter_or_receiver_is_built_again() -> None:
    for number, submitter, receiver in [
        ("CF0000000043", SUBMITTER, RECEIVER),
        (NUMBER, Submitter("OTHER BILLING", "OTHER", "DESK", "5555550100"), RECEIVER),
        (NUMBER, SUBMITTER, Receiver("OTHER CLEARINGHOUSE", "OTHERCH")),
    ]:
        kept, claim_id = _kept(writable(event_of("professional")))
        assert kept.take(_row(claim_id, number=number), submitter, receiver) is None


def test_a_full_store_keeps_its_recent_claims_and_lets_old_ones_go() -> None:
    encounter = writable(event_of("professional"))
    claim, _ = checked_claim(encounter, submitter=SUBMITTER, receiver=RECEIVER, control_number=NUMBER)
    assert claim is not None
    ids = [uuid.uuid4() for _ in range(3)]

    recent = _BuiltClaims(capacity=2, max_age_s=300)
    for claim_id in ids:
        recent.keep(claim_id, INSERTED, _built(claim, encounter))
    assert [recent.take(_row(i), SUBMITTER, RECEIVER) is not None for i in ids] == [True, True, False]

    aged = _BuiltClaims(capacity=2, max_age_s=0)
    for claim_id in ids:
        aged.keep(claim_id, INSERTED, _built(claim, encounter))
    assert [aged.take(_row(i), SUBMITTER, RECEIVER) is not None for i in ids] == [False, True, True]
