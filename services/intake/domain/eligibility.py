"""Eligibility, pure parts: the X12 270 inquiry intake sends and the 271 answer it reads (005010X279A1).

Sending goes through the clearinghouse adapter (built with the claims issue); this module only
writes and reads text. pyx12 has no 5010 maps for 270/271, so the 270 is checked by our own
envelope reader and against the public samples' structure.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from services.intake.schemas import CoverageOut, PatientOut, PayerOut, PersonIn, ProviderIn
from shared.x12 import Delimiters, Segment, encode_segments, read_interchanges, split_repetitions
from shared.x12.errors import X12Error

IMPLEMENTATION = "005010X279A1"
DELIMITERS = Delimiters(element="*", component=":", segment="~", repetition="^")


@dataclass(frozen=True, slots=True)
class InquiryPerson:
    last_name: str
    first_name: str
    birth_date: dt.date
    sex: str | None = None


@dataclass(frozen=True, slots=True)
class EligibilityInquiry:
    """One subscriber (and optionally a dependent) asked about at one payer on one date."""

    trace_number: str
    payer_name: str
    payer_id: str
    provider_name: str
    provider_npi: str
    member_id: str
    subscriber: InquiryPerson
    service_date: dt.date
    dependent: InquiryPerson | None = None
    service_types: tuple[str, ...] = ("30",)
    """EQ01: 30 = health benefit plan coverage."""


@dataclass(frozen=True, slots=True)
class Submission:
    """Envelope identities: ISA06/GS02 sender, ISA08/GS03 receiver, the 10-digit TRN03 originator id."""

    sender_id: str
    receiver_id: str
    originator_id: str
    interchange_control_number: int
    created_at: dt.datetime
    usage: str = "T"


def trace_number_of(check_id: uuid.UUID) -> str:
    """TRN02 of a check's 270: its id without dashes, echoed by the 271."""
    return check_id.hex.upper()


def file_name_of(check_id: uuid.UUID) -> str:
    return f"270-{check_id.hex}.x12"


def _inquiry_person(person: PersonIn) -> InquiryPerson:
    return InquiryPerson(
        last_name=person.last_name,
        first_name=person.first_name,
        birth_date=person.birth_date,
        sex=person.sex if person.sex in ("M", "F") else None,
    )


def inquiry_about(
    check_id: uuid.UUID,
    *,
    patient: PatientOut,
    coverage: CoverageOut,
    payer: PayerOut,
    provider: ProviderIn,
    service_date: dt.date,
) -> EligibilityInquiry:
    """The 270's question about a registered coverage: the subscriber, and the patient as the dependent
    when the patient is not the subscriber (relationship other than 18)."""
    subscriber: PersonIn = patient
    if coverage.relationship != "18" and coverage.subscriber is not None:
        subscriber = coverage.subscriber
    provider_name = provider.name
    if provider.entity == "individual" and provider.first_name:
        provider_name = f"{provider.name} {provider.first_name}"
    return EligibilityInquiry(
        trace_number=trace_number_of(check_id),
        payer_name=payer.name,
        payer_id=payer.payer_id,
        provider_name=provider_name,
        provider_npi=provider.npi,
        member_id=coverage.member_id,
        subscriber=_inquiry_person(subscriber),
        service_date=service_date,
        dependent=None if subscriber is patient else _inquiry_person(patient),
    )


def build_270(inquiry: EligibilityInquiry, submission: Submission) -> str:
    """A complete interchange holding one 270 transaction."""
    day, time = submission.created_at.strftime("%Y%m%d"), submission.created_at.strftime("%H%M")
    control = f"{submission.interchange_control_number:09d}"
    body: list[list[str]] = [
        ["ST", "270", "0001", IMPLEMENTATION],
        ["BHT", "0022", "13", inquiry.trace_number, day, time],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", inquiry.payer_name, "", "", "", "", "PI", inquiry.payer_id],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "1P", "2", inquiry.provider_name, "", "", "", "", "XX", inquiry.provider_npi],
        ["HL", "3", "2", "22", "1" if inquiry.dependent else "0"],
    ]
    asked = _person_loop("IL", inquiry.subscriber, inquiry, member_id=inquiry.member_id, submission=submission)
    if inquiry.dependent is None:
        body += asked
    else:
        body += [["NM1", "IL", "1", inquiry.subscriber.last_name, inquiry.subscriber.first_name, "", "", "", "MI",
                  inquiry.member_id]]  # fmt: skip
        body += [["HL", "4", "3", "23", "0"]]
        body += _person_loop("03", inquiry.dependent, inquiry, member_id=None, submission=submission)
    body.append(["SE", str(len(body) + 1), "0001"])
    isa = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", submission.sender_id.ljust(15), "ZZ",
           submission.receiver_id.ljust(15), day[2:], time, DELIMITERS.repetition or "^", "00501", control, "0",
           submission.usage, DELIMITERS.component]  # fmt: skip
    group = ["GS", "HS", submission.sender_id, submission.receiver_id, day, time, "1", "X", IMPLEMENTATION]
    segments = [isa, group, *body, ["GE", "1", "1"], ["IEA", "1", control]]
    return encode_segments(segments, DELIMITERS, line_break="\n")


def _person_loop(
    entity: str, person: InquiryPerson, inquiry: EligibilityInquiry, *, member_id: str | None, submission: Submission
) -> list[list[str]]:
    name = ["NM1", entity, "1", person.last_name, person.first_name]
    if member_id is not None:
        name += ["", "", "", "MI", member_id]
    demographics = ["DMG", "D8", person.birth_date.strftime("%Y%m%d")]
    if person.sex:
        demographics.append(person.sex)
    return [
        ["TRN", "1", inquiry.trace_number, submission.originator_id],
        name,
        demographics,
        ["DTP", "291", "D8", inquiry.service_date.strftime("%Y%m%d")],
        *(["EQ", code] for code in inquiry.service_types),
    ]


@dataclass(frozen=True, slots=True)
class Benefit:
    """EB: what the payer says about one kind of service (EB01 1 = active coverage, 6 = inactive, ...)."""

    information_code: str
    coverage_level: str
    service_types: tuple[str, ...]
    insurance_type: str
    plan: str
    time_period: str = ""
    """EB06: e.g. 27 visit, 23 calendar year."""
    amount: str = ""
    """EB07: a money amount as sent (a copay for EB01 B, a deductible for C, ...)."""
    percent: str = ""
    """EB08: a percentage as a decimal fraction (coinsurance for EB01 A)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """AAA: the payer could not answer (e.g. 72 invalid member id, 75 subscriber not found)."""

    loop: str
    reason_code: str
    follow_up: str


@dataclass
class EligibilityAnswer:
    """The answer about one person (subscriber or dependent) of a 271."""

    level: str
    """"subscriber" or "dependent"."""
    trace_numbers: list[str] = field(default_factory=list)
    member_id: str | None = None
    benefits: list[Benefit] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    dates: dict[str, str] = field(default_factory=dict)
    """DTP qualifier -> date or range as sent (346 plan begin, 356 eligibility begin, 291 plan, 307 eligibility)."""

    @property
    def active(self) -> bool | None:
        codes = {benefit.information_code for benefit in self.benefits}
        if "1" in codes:
            return True
        if codes & {"6", "7", "8"}:
            return False
        return None


@dataclass
class EligibilityResponse:
    answers: list[EligibilityAnswer] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    """Rejections above the person level (payer or provider loop)."""


class EligibilityResponseError(X12Error):
    """The file is not a 005010X279A1 271."""


def parse_271(data: bytes | str) -> list[EligibilityResponse]:
    """Every 271 transaction in the file; envelope problems raise the X12 reader's errors."""
    responses = []
    for interchange in read_interchanges(data):
        delimiters = interchange.delimiters
        for group in interchange.groups:
            for transaction in group.transactions:
                if transaction.id != "271":
                    raise EligibilityResponseError(
                        f"transaction set {transaction.id} is not a 271",
                        segment_id="ST",
                        position=transaction.header.position,
                    )
                responses.append(_read_271(transaction.segments, delimiters))
    return responses


def _read_271(segments: tuple[Segment, ...], delimiters: Delimiters) -> EligibilityResponse:
    response = EligibilityResponse()
    current: EligibilityAnswer | None = None
    level = "source"
    in_benefit_loop = False
    for segment in segments:
        match segment.id:
            case "HL":
                code = segment.element(3)
                level = {"20": "source", "21": "receiver", "22": "subscriber", "23": "dependent"}.get(code, code)
                current = None
                if level in ("subscriber", "dependent"):
                    current = EligibilityAnswer(level=level)
                    response.answers.append(current)
                in_benefit_loop = False
            case "LS":
                in_benefit_loop = True
            case "LE":
                in_benefit_loop = False
            case "TRN" if current is not None:
                current.trace_numbers.append(segment.element(2))
            case "NM1" if current is not None and not in_benefit_loop and segment.element(8) == "MI":
                current.member_id = segment.element(9)
            case "EB" if current is not None:
                current.benefits.append(
                    Benefit(
                        information_code=segment.element(1),
                        coverage_level=segment.element(2),
                        service_types=tuple(t for t in split_repetitions(segment.element(3), delimiters) if t),
                        insurance_type=segment.element(4),
                        plan=segment.element(5),
                        time_period=segment.element(6),
                        amount=segment.element(7),
                        percent=segment.element(8),
                    )
                )
            case "DTP" if current is not None and not current.benefits:
                current.dates[segment.element(1)] = segment.element(3)
            case "AAA":
                rejection = Rejection(loop=level, reason_code=segment.element(3), follow_up=segment.element(4))
                (current.rejections if current is not None else response.rejections).append(rejection)
    return response


# --------------------------------------------------------------------------- the stored answer

BENEFIT_MEANINGS = {
    "1": "active coverage", "6": "inactive", "7": "inactive, pending eligibility update",
    "8": "inactive, pending investigation", "A": "co-insurance", "B": "co-payment", "C": "deductible",
    "D": "benefit description", "F": "limitations", "G": "out of pocket (stop loss)", "I": "non-covered",
    "L": "primary care provider", "R": "other or additional payor", "V": "cannot process",
}  # fmt: skip
REJECTION_MEANINGS = {
    "15": "required application data missing", "41": "authorization/access restrictions",
    "42": "unable to respond at current time", "43": "invalid/missing provider identification",
    "57": "invalid/missing date(s) of service", "58": "invalid/missing date of birth",
    "65": "invalid/missing patient name", "67": "patient not found", "71": "patient birth date does not match",
    "72": "invalid/missing subscriber/insured id", "73": "invalid/missing subscriber/insured name",
    "75": "subscriber/insured not found", "76": "duplicate subscriber/insured id number",
    "79": "invalid participant identification",
}  # fmt: skip


def _range(dates: dict[str, str], single: str, period: str, end: bool) -> str | None:
    """An ISO date from DTP `single` (D8), else from one side of the `period` (D8 or RD8 start-end)."""
    text = dates.get(single)
    if not text and dates.get(period):
        parts = dates[period].split("-")
        text = parts[-1] if end else parts[0]
    if not text or len(text) != 8 or not text.isdigit():
        return None
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def answer_for(responses: list[EligibilityResponse], trace_number: str) -> dict[str, object] | None:
    """What a 271 says about the inquiry traced `trace_number` (TRN02), summarised for storage; None when
    the file does not answer it.

    ``status`` is ``rejected`` when the payer sent any AAA (reason codes kept), else ``active`` or
    ``inactive`` from EB01, else ``unknown``. Plan dates come from DTP 346/347 or the 291 period, falling
    back to the eligibility dates (356/357, 307). No names, birth dates or member ids are kept.
    """
    for response in responses:
        for answer in response.answers:
            if trace_number not in answer.trace_numbers:
                continue
            rejections = [*response.rejections, *answer.rejections]
            if rejections:
                status = "rejected"
            else:
                status = {True: "active", False: "inactive", None: "unknown"}[answer.active]
            begin = _range(answer.dates, "346", "291", end=False) or _range(answer.dates, "356", "307", end=False)
            end = _range(answer.dates, "347", "291", end=True) or _range(answer.dates, "357", "307", end=True)
            return {
                "status": status,
                "level": answer.level,
                "rejections": [
                    {
                        "loop": r.loop,
                        "reason_code": r.reason_code,
                        "follow_up": r.follow_up,
                        "description": REJECTION_MEANINGS.get(r.reason_code, ""),
                    }
                    for r in rejections
                ],
                "plan_begin": begin,
                "plan_end": end,
                "benefits": [
                    {
                        "code": b.information_code,
                        "meaning": BENEFIT_MEANINGS.get(b.information_code, ""),
                        "coverage_level": b.coverage_level or None,
                        "service_types": list(b.service_types),
                        "insurance_type": b.insurance_type or None,
                        "plan": b.plan or None,
                        "time_period": b.time_period or None,
                        "amount": b.amount or None,
                        "percent": b.percent or None,
                    }
                    for b in answer.benefits
                ],
            }
    return None
