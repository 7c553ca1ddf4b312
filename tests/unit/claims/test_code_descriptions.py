"""Claims responses explain their codes beside the raw ones: 277CA composites, 999 errors, revenue codes."""

from __future__ import annotations

import datetime as dt
import uuid

from services.claims.schemas import ClaimLineOut, FollowUpOut, RejectionReasonOut


def test_rejection_reasons_are_described_by_source() -> None:
    stc = RejectionReasonOut(source="277CA", code="A7:164:IL")
    assert stc.model_dump() == {
        "source": "277CA",
        "code": "A7:164:IL",
        "description": "Acknowledgement/rejected for invalid information: "
        "Entity's contract/member number (insured or subscriber)",
    }
    assert RejectionReasonOut(source="999", code="999 IK5 R").description == "Rejected"
    assert RejectionReasonOut(source="999", code="IK4 NM109 code 7").description == "Invalid code value"
    assert RejectionReasonOut(source="277", code="ZZ:1").description is None


def test_lines_describe_revenue_codes_and_follow_ups_their_answers() -> None:
    line = ClaimLineOut(
        line_number=1,
        procedure_code="99283",
        revenue_code="0450",
        modifiers=[],
        units=1,
        charge_cents=90000,
        diagnosis_pointers=[],
        service_date=dt.date(2026, 3, 2),
    )
    assert (line.revenue_code, line.revenue_code_description) == ("0450", "Emergency room")
    assert line.procedure_code_description is None, "CPT descriptions are the AMA's: none shipped"
    follow_up = FollowUpOut(
        claim_id=uuid.uuid4(),
        claim_control_number="CF0000000001",
        payer_id="SANDBOX",
        state="submitted",
        state_when_flagged="submitted",
        trace_number="T1",
        flagged_at=dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
        sent_at=None,
        answered_at=None,
        answer_codes=["F1:65"],
    )
    assert follow_up.answer_codes == ["F1:65"]
    assert [d.model_dump() for d in follow_up.answer_code_descriptions] == [
        {"code": "F1:65", "description": "Finalized/payment: the claim/line has been paid: Claim/line has been paid"}
    ]
