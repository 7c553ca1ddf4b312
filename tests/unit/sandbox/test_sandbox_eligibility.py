"""The sandbox answers 270s with 271s: active coverage for valid member ids, AAA 72 for ``BAD...``.

pyx12 has no 5010 270/271 maps, so each 271 is checked with ``shared.x12``'s envelope reader and
read back with the intake service's own 271 parser.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sandbox.clearinghouse import FolderClearinghouse, SandboxClearinghouse
from services.intake.domain.eligibility import (
    EligibilityInquiry,
    InquiryPerson,
    Submission,
    answer_for,
    build_270,
    parse_271,
)
from shared.clearinghouse import FileDropAdapter, InboundKind, classify_x12
from shared.x12 import read_interchanges

NOW = dt.datetime(2026, 3, 2, 10, 0)
SUBMISSION = Submission("CLAIMFLOW", "SANDBOXCH", "1999999999", 42, dt.datetime(2026, 3, 2, 9, 30))
SUBSCRIBER = InquiryPerson("DOE", "JOHN", dt.date(1978, 2, 20), "M")


def a_270(member_id: str, trace: str = "TRACE-1", dependent: InquiryPerson | None = None) -> bytes:
    inquiry = EligibilityInquiry(
        trace_number=trace, payer_name="SANDBOX HEALTH PLAN", payer_id="SANDBOX", provider_name="CLINIC",
        provider_npi="1234567893", member_id=member_id, subscriber=SUBSCRIBER, service_date=dt.date(2026, 3, 2),
        dependent=dependent,
    )  # fmt: skip
    return build_270(inquiry, SUBMISSION).encode()


def answer(content: bytes) -> bytes:
    (only,) = SandboxClearinghouse().answer("270-TRACE-1.x12", content, NOW)
    assert only.file_name == "270-TRACE-1.271"
    return only.content


def test_a_valid_member_id_has_active_coverage_with_plan_dates_and_a_copay() -> None:
    content = answer(a_270("SYN0001"))
    (interchange,) = read_interchanges(content)  # envelope counts and control numbers are sound
    assert interchange.receiver_id == "CLAIMFLOW" and interchange.groups[0].version == "005010X279A1"
    assert classify_x12(content) is InboundKind.ELIGIBILITY_271
    found = answer_for(parse_271(content), "TRACE-1")
    assert found is not None and found["status"] == "active"
    assert (found["plan_begin"], found["plan_end"]) == ("2026-01-01", "2026-12-31")
    copays = [b for b in found["benefits"] if b["code"] == "B"]  # type: ignore[union-attr]
    assert copays == [
        {"code": "B", "meaning": "co-payment", "coverage_level": "IND", "service_types": ["98"],
         "insurance_type": "HM", "plan": "SANDBOX GOLD PLAN", "time_period": "27", "amount": "25", "percent": None}
    ]  # fmt: skip


def test_a_member_id_starting_with_bad_is_rejected_with_aaa_72() -> None:
    content = answer(a_270("BAD00042"))
    found = answer_for(parse_271(content), "TRACE-1")
    assert found is not None and found["status"] == "rejected" and found["benefits"] == []
    assert [(r["reason_code"], r["follow_up"]) for r in found["rejections"]] == [("72", "C")]  # type: ignore[union-attr]


def test_a_dependent_inquiry_is_answered_in_the_dependent_loop() -> None:
    content = answer(a_270("SYN0001", dependent=InquiryPerson("DOE", "JIMMY", dt.date(2016, 6, 1), "M")))
    found = answer_for(parse_271(content), "TRACE-1")
    assert found is not None and found["status"] == "active" and found["level"] == "dependent"


def test_answers_are_deterministic_apart_from_control_numbers() -> None:
    first, second = answer(a_270("SYN0001")), answer(a_270("SYN0001"))
    assert first == second  # a fresh sandbox numbers from 1 each time


async def test_a_270_through_the_folder_is_answered_once(tmp_path: Path) -> None:
    adapter = FileDropAdapter(tmp_path)
    await adapter.submit("270-A.x12", a_270("SYN0001", "A"))
    await adapter.submit("270-B.x12", a_270("BAD0001", "B"))
    sandbox = FolderClearinghouse(tmp_path)
    assert sandbox.process_once(NOW) == ["270-A.271", "270-B.271"]
    inbound = await adapter.fetch_inbound_of({InboundKind.ELIGIBILITY_271})
    assert [f.file_name for f in inbound] == ["270-A.271", "270-B.271"]
    statuses = [answer_for(parse_271(f.content), f.file_name[4]) for f in inbound]
    assert [s["status"] for s in statuses if s] == ["active", "rejected"]
    numbers = [read_interchanges(f.content)[0].control_number for f in inbound]
    assert len(set(numbers)) == 2
    assert FolderClearinghouse(tmp_path).process_once(NOW) == []
