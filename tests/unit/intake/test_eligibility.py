"""270 writing and 271 reading (005010X279A1), against the public samples in ../shared/x12/ when present."""

from __future__ import annotations

import datetime as dt

import pytest

from services.intake.domain.eligibility import (
    EligibilityInquiry,
    EligibilityResponseError,
    InquiryPerson,
    Submission,
    build_270,
    parse_271,
)
from shared.x12 import read_interchanges
from shared.x12.errors import X12Error
from tests.support.x12_samples import sample

SUBMISSION = Submission("CLAIMFLOW", "SANDBOX", "1999999999", 42, dt.datetime(2026, 3, 1, 9, 30))
SUBSCRIBER = InquiryPerson("DOE", "JOHN", dt.date(1978, 2, 20), "M")
DEPENDENT = InquiryPerson("DOE", "JIMMY", dt.date(2016, 6, 1), "M")


def inquiry(dependent: InquiryPerson | None = None) -> EligibilityInquiry:
    return EligibilityInquiry(
        trace_number="TRACE-0001", payer_name="SANDBOX HEALTH PLAN", payer_id="SANDBOX",
        provider_name="EXAMPLE FAMILY CLINIC", provider_npi="1234567893", member_id="SYN000000101",
        subscriber=SUBSCRIBER, service_date=dt.date(2026, 3, 2), dependent=dependent,
    )  # fmt: skip


def segment_ids(data: bytes | str) -> list[str]:
    (interchange,) = read_interchanges(data)
    (transaction,) = interchange.groups[0].transactions
    return [segment.id for segment in transaction.segments]


def test_a_subscriber_270_has_a_sound_envelope_and_the_tr3_hierarchy() -> None:
    text = build_270(inquiry(), SUBMISSION)
    (interchange,) = read_interchanges(text)
    assert interchange.control_number == "000000042" and interchange.groups[0].version == "005010X279A1"
    assert segment_ids(text) == ["BHT", "HL", "NM1", "HL", "NM1", "HL", "TRN", "NM1", "DMG", "DTP", "EQ"]
    assert "NM1*IL*1*DOE*JOHN****MI*SYN000000101" in text


def test_a_dependent_270_has_the_same_segments_as_the_public_sample() -> None:
    ours = segment_ids(build_270(inquiry(DEPENDENT), SUBMISSION))
    assert ours == segment_ids(sample("linuxforhealth_x12/dependent-health-benefit-check.270"))


def test_our_270_reads_back_as_an_inquiry_and_not_as_a_271() -> None:
    with pytest.raises(EligibilityResponseError, match="not a 271"):
        parse_271(build_270(inquiry(), SUBMISSION))


def test_a_dependent_271_says_active_coverage_and_the_plan() -> None:
    (response,) = parse_271(sample("linuxforhealth_x12/dependent-health-benefit-check.271"))
    subscriber, dependent = response.answers
    assert subscriber.member_id == "123456789"
    assert dependent.level == "dependent" and dependent.active is True
    assert dependent.trace_numbers == ["93175-012547"]
    assert any(b.plan == "GOLD 123 PLAN" for b in dependent.benefits)
    assert dependent.dates["346"] == "20060101"


def test_a_rejected_271_gives_the_reason() -> None:
    data = sample("linuxforhealth_x12/subscriber-health-benefit-check-error.271")
    with pytest.raises(X12Error, match="SE02 '4323' does not match ST02 '4321'"):
        parse_271(data)
    (response,) = parse_271(data.replace(b"SE*8*4323", b"SE*8*4321"))  # the sample's one defect, mended
    assert [(r.loop, r.reason_code, r.follow_up) for r in response.rejections] == [("receiver", "50", "N")]
    assert response.answers == []


@pytest.mark.parametrize(
    ("relative", "says"),
    [("node-x12/271.edi", "truncated"), ("imsweb_x12-parser/x271.txt", "SE01 says 22 segments")],
)
def test_broken_samples_are_clear_x12_errors(relative: str, says: str) -> None:
    with pytest.raises(X12Error, match=says) as raised:
        parse_271(sample(relative))
    assert raised.value.position is not None
