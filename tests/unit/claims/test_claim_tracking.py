"""After submission, pure parts: the sandbox's 999/277CA read back onto our transaction sets and
claims, acknowledgment and payment outcomes on the state machine, the secondary claim built from
the primary's payment (pyx12-clean), and the 276 of a follow-up."""

from __future__ import annotations

import datetime as dt
import uuid

from sandbox.clearinghouse import SandboxClearinghouse
from services.claims.domain.acknowledgment_outcomes import (
    acknowledged_path,
    rejections_from_999,
    transaction_of_277ca,
    verdicts_from_277,
)
from services.claims.domain.acknowledgments import parse_277ca, parse_999
from services.claims.domain.claim import Receiver, Submitter
from services.claims.domain.claim_builder import claim_from_encounter
from services.claims.domain.claim_state import ClaimState
from services.claims.domain.claim_status_request import write_276
from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.follow_up import inquiry_for, is_quiet, trace_number
from services.claims.domain.payment_outcomes import (
    needs_secondary,
    payment_outcome,
    reason_codes,
    secondary_encounter,
)
from services.claims.domain.x12_837 import write_batches
from shared.events.catalog import Adjustment, EncounterCodedV1, PaidLine, PaymentReceivedV1
from tests.support.encounters import billed_to_primary, writable
from tests.support.encounters import event_of as example_event
from tests.support.pyx12_check import pyx12_errors

SUBMITTER = Submitter("CLAIMFLOW BILLING", "CLAIMFLOW", "BILLING DESK", "5555550100")
RECEIVER = Receiver("SANDBOX CLEARINGHOUSE", "SANDBOXCH")
NOW = dt.datetime(2026, 3, 10, 9, 30)


def event_of(name: str) -> EncounterCodedV1:
    return writable(example_event(name, today=dt.date(2026, 3, 10)))


def primary_with_secondary() -> EncounterCodedV1:
    """The secondary example billed to its primary first: coverage P, the S coverage among the others."""
    return billed_to_primary(event_of("secondary"))


def payment(**changes: object) -> PaymentReceivedV1:
    values: dict[str, object] = {
        "payment_id": uuid.uuid4(),
        "claim_control_number": "CF0000000001",
        "payer_id": "SANDBOX",
        "trace_number": "EFT1",
        "claim_status_code": "1",
        "charge_cents": 15000,
        "paid_cents": 9000,
        "patient_responsibility_cents": 2000,
        "adjustments": [
            Adjustment(group="CO", carc="45", amount_cents=4000, line_number=1),
            Adjustment(group="PR", carc="2", amount_cents=2000, line_number=1),
        ],
        "next_responsible": "patient",
        "paid_date": dt.date(2026, 3, 20),
        "payer_claim_control_number": "SBX-1",
        "lines": [PaidLine(line_number=1, procedure_code="99214", charge_cents=15000, paid_cents=9000)],
    }
    return PaymentReceivedV1.model_validate(values | changes)


class TestSandboxAnswers:
    def answers(self, *events: EncounterCodedV1) -> tuple[object, dict[str, bytes]]:
        claims = [
            claim_from_encounter(e, control_number=f"CF{n:010d}", submitter=SUBMITTER, receiver=RECEIVER)
            for n, e in enumerate(events, start=1)
        ]
        batch = write_batches(claims, ControlNumbers(7, 7, 7), NOW)
        (interchange,) = batch.interchanges
        files = SandboxClearinghouse().answer("837-x.x12", interchange.text.encode(), NOW)
        return interchange, {answer.file_name.rsplit(".", 1)[1]: answer.content for answer in files}

    def test_an_accepted_claim_is_found_by_its_transaction_and_clm01(self) -> None:
        interchange, files = self.answers(event_of("professional"))
        (ack,) = parse_999(files["999"])
        assert rejections_from_999(ack) == []
        (report,) = parse_277ca(files["277CA"])
        (transaction,) = interchange.transactions  # type: ignore[attr-defined]
        assert transaction_of_277ca(report) == transaction.control_number
        (verdict,) = verdicts_from_277(report, by_trace=False)
        assert verdict.key == "CF0000000001" and verdict.accepted and verdict.payer_claim_number

    def test_a_front_end_rejection_carries_its_stc_codes(self) -> None:
        event = event_of("professional")
        assert event.phi is not None
        subscriber = event.phi.subscribers[0].model_copy(update={"member_id": "BAD-ID!"})
        bad = event.model_copy(update={"phi": event.phi.model_copy(update={"subscribers": [subscriber]})})
        _, files = self.answers(bad)
        (report,) = parse_277ca(files["277CA"])
        (verdict,) = verdicts_from_277(report, by_trace=False)
        assert not verdict.accepted and "A7:164:IL" in verdict.codes


def test_a_rejected_transaction_set_names_its_errors_without_values() -> None:
    isa = "ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*CLAIMFLOW      *260310*0930*^*00501*000000005*0*T*:~"
    text = (
        f"{isa}GS*FA*SANDBOXCH*CLAIMFLOW*20260310*0930*5*X*005010X231A1~ST*999*0001*005010X231A1~"
        "AK1*HC*12*005010X222A1~AK2*837*0034*005010X222A1~IK3*NM1*12*2010BA*8~CTX*CLM01:CF0000000009~"
        "IK4*9*67*7*SECRETMEMBER~IK5*R*5~AK9*R*1*1*0~SE*9*0001~GE*1*5~IEA*1*000000005~"
    )
    (ack,) = parse_999(text)
    (rejection,) = rejections_from_999(ack)
    assert (rejection.group_control_number, rejection.transaction_control_number) == (12, 34)
    assert rejection.reasons == ("999 IK5 R", "IK5 5", "IK3 NM1 at 12 loop 2010BA code 8", "IK4 NM109 code 7")
    assert not any("SECRETMEMBER" in reason for reason in rejection.reasons)


def test_acknowledgments_only_move_claims_forward() -> None:
    assert acknowledged_path(ClaimState.SUBMITTED, True) == [(ClaimState.SUBMITTED, ClaimState.ACCEPTED)]
    assert acknowledged_path(ClaimState.RESUBMITTED, False) == [(ClaimState.RESUBMITTED, ClaimState.REJECTED)]
    assert acknowledged_path(ClaimState.BATCHED, True) == [
        (ClaimState.BATCHED, ClaimState.SUBMITTED),
        (ClaimState.SUBMITTED, ClaimState.ACCEPTED),
    ]
    assert acknowledged_path(ClaimState.ACCEPTED, False) == [(ClaimState.ACCEPTED, ClaimState.REJECTED)]
    for later in (ClaimState.ACCEPTED, ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.DENIED):
        assert acknowledged_path(later, True) == [], "an 835 may come first; a late 277CA changes nothing"
    assert acknowledged_path(ClaimState.PAID, False) == []


def test_payment_outcomes() -> None:
    assert payment_outcome(payment()) is ClaimState.PARTIALLY_PAID
    assert payment_outcome(payment(patient_responsibility_cents=0)) is ClaimState.PAID
    assert (
        payment_outcome(payment(claim_status_code="4", paid_cents=0, patient_responsibility_cents=0))
        is ClaimState.DENIED
    )
    assert payment_outcome(payment(paid_cents=0)) is ClaimState.DENIED
    lines = [
        PaidLine(line_number=1, procedure_code="99214", charge_cents=10000, paid_cents=8000),
        PaidLine(line_number=2, procedure_code="87880", charge_cents=5000, paid_cents=0),
    ]
    assert payment_outcome(payment(patient_responsibility_cents=0, lines=lines)) is ClaimState.PARTIALLY_PAID
    assert payment_outcome(payment(claim_status_code="22", reversal_of=uuid.uuid4())) is ClaimState.ACCEPTED
    assert reason_codes(payment()) == ["CLP02 1", "CO-45 line 1", "PR-2 line 1"]


def test_a_secondary_claim_from_the_primary_payment_validates_in_pyx12() -> None:
    primary = primary_with_secondary()
    paid = payment()
    assert needs_secondary(primary, paid)
    secondary = secondary_encounter(primary, paid)
    assert secondary is not None and secondary.coverage is not None
    assert (secondary.payer_id, secondary.coverage.responsibility) == ("SANDBOX2", "S")
    assert [c.responsibility for c in secondary.other_coverages] == ["P"]
    (prior,) = secondary.prior_payer_adjudications
    assert (prior.paid_cents, prior.payer_claim_control_number, prior.claim_adjustments) == (9000, "SBX-1", [])
    (line,) = prior.lines
    assert (line.paid_cents, line.paid_units, [(a.group, a.reason_code, a.amount_cents) for a in line.adjustments]) == (
        9000,
        1,
        [("CO", "45", 4000), ("PR", "2", 2000)],
    )
    claim = claim_from_encounter(secondary, control_number="CF0000000002", submitter=SUBMITTER, receiver=RECEIVER)
    (other,) = claim.other_payers
    assert other.remaining_patient_liability_cents == 2000
    text = write_batches([claim], ControlNumbers(1, 1, 1), NOW).interchanges[0].text
    assert "SBR*S*" in text and "AMT*D*90~" in text and "AMT*EAF*20~" in text
    assert pyx12_errors(text) == []


def test_no_secondary_without_open_money_or_coverage_or_for_a_secondary() -> None:
    primary = primary_with_secondary()
    assert not needs_secondary(primary, payment(patient_responsibility_cents=0, adjustments=[]))
    assert needs_secondary(primary, payment(patient_responsibility_cents=0, next_responsible="secondary_payer"))
    assert not needs_secondary(primary.model_copy(update={"other_coverages": []}), payment())
    assert not needs_secondary(event_of("secondary"), payment()), "a secondary claim does not call for another"
    assert secondary_encounter(primary, payment(claim_status_code="22", reversal_of=uuid.uuid4())) is None


def test_a_follow_up_asks_about_the_claim_in_a_276() -> None:
    event = event_of("professional")
    claim = claim_from_encounter(event, control_number="CF0000000003", submitter=SUBMITTER, receiver=RECEIVER)
    trace = trace_number(41, 1)
    assert trace == "CF00000004100001"
    inquiry = inquiry_for(
        claim,
        trace=trace,
        service_from=event.service_date_from,
        service_to=event.service_date_to,
        payer_claim_number="SBX-9",
    )
    request = write_276([inquiry], SUBMITTER, RECEIVER, ControlNumbers(41, 41, 41), NOW)
    assert f"TRN*1*{trace}~" in request.text and "REF*EJ*CF0000000003~" in request.text
    assert "REF*1K*SBX-9~" in request.text
    age = dt.timedelta(hours=1)
    assert is_quiet("accepted", NOW - age, NOW, age) and not is_quiet("paid", NOW - 2 * age, NOW, age)
    assert not is_quiet("submitted", NOW, NOW, age)
