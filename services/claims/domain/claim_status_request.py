"""Claim status follow-up: the 276 request (005010X212) we write, the 277 response we read.

Claims that go quiet (no 277CA, or accepted but no 835 after a while) are asked about
with a 276; the payer answers with a 277 per claim, keyed by our TRN02 trace number and
REF*EJ (the CLM01). Pure: values in, text out; control numbers come from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.claims.domain.acknowledgments import ClaimStatusReport, read_277
from services.claims.domain.claim import Patient, Payer, Receiver, Submitter, Subscriber
from services.claims.domain.control_numbers import ControlNumbers, following, gs06, isa13, st02
from services.claims.domain.x12_numbers import cents_to_x12, d8

IMPLEMENTATION_276_277 = "005010X212"


@dataclass(frozen=True, slots=True)
class ClaimStatusInquiry:
    """One claim to ask about. ``trace_number`` (TRN02) must be unique per inquiry: the 277 echoes it."""

    trace_number: str
    claim_control_number: str
    payer: Payer
    provider_name: str
    provider_npi: str
    subscriber: Subscriber
    total_charge_cents: int
    service_from: date
    service_to: date | None = None
    patient: Patient | None = None
    payer_claim_number: str | None = None
    bill_type: str | None = None
    """Three-digit type of bill for institutional claims (REF*BLT)."""


@dataclass(frozen=True, slots=True)
class Request276:
    text: str
    interchange_control_number: int
    trace_numbers: tuple[str, ...]
    next_control_numbers: ControlNumbers


def write_276(
    inquiries: Sequence[ClaimStatusInquiry],
    submitter: Submitter,
    receiver: Receiver,
    control: ControlNumbers,
    created_at: datetime,
    *,
    usage: str = "T",
) -> Request276:
    """One interchange, one transaction set: payer (HL 20), us (21), provider (19), subscriber (22), dependent (23)."""
    if not inquiries:
        raise ValueError("a 276 needs at least one claim to ask about")
    traces = [inquiry.trace_number for inquiry in inquiries]
    if len(set(traces)) != len(traces) or not all(traces):
        raise ValueError("every inquiry needs its own non-empty trace number (TRN02)")
    ymd, hhmm = d8(created_at.date()), f"{created_at.hour:02d}{created_at.minute:02d}"
    number = isa13(control.interchange)
    transaction = st02(control.transaction)
    body: list[str] = [f"BHT*0010*13*{number}{transaction}*{ymd}*{hhmm}"]
    hl = 0
    by_payer: dict[str, list[ClaimStatusInquiry]] = {}
    for inquiry in inquiries:
        by_payer.setdefault(inquiry.payer.payer_id, []).append(inquiry)
    for payer_inquiries in by_payer.values():
        payer = payer_inquiries[0].payer
        hl += 1
        payer_hl = hl
        body += [f"HL*{payer_hl}**20*1", f"NM1*PR*2*{payer.name}*****PI*{payer.payer_id}"]
        hl += 1
        receiver_hl = hl
        body += [f"HL*{receiver_hl}*{payer_hl}*21*1", f"NM1*41*2*{submitter.name}*****46*{submitter.identifier}"]
        by_provider: dict[str, list[ClaimStatusInquiry]] = {}
        for inquiry in payer_inquiries:
            by_provider.setdefault(inquiry.provider_npi, []).append(inquiry)
        for npi, provider_inquiries in by_provider.items():
            hl += 1
            provider_hl = hl
            body += [
                f"HL*{provider_hl}*{receiver_hl}*19*1",
                f"NM1*1P*2*{provider_inquiries[0].provider_name}*****XX*{npi}",
            ]
            for inquiry in provider_inquiries:
                subscriber = inquiry.subscriber
                hl += 1
                subscriber_hl = hl
                patient = inquiry.patient
                dependent = patient is not None
                body.append(f"HL*{subscriber_hl}*{provider_hl}*22*{1 if dependent else 0}")
                if not dependent and subscriber.birth_date is not None:
                    body.append(f"DMG*D8*{d8(subscriber.birth_date)}*{subscriber.sex or 'U'}")
                body.append(
                    f"NM1*IL*1*{subscriber.last_name}*{subscriber.first_name or ''}****MI*{subscriber.member_id}"
                    if subscriber.first_name
                    else f"NM1*IL*1*{subscriber.last_name}*****MI*{subscriber.member_id}"
                )
                if patient is not None:
                    hl += 1
                    body += [
                        f"HL*{hl}*{subscriber_hl}*23",
                        f"DMG*D8*{d8(patient.birth_date)}*{patient.sex}",
                        f"NM1*QC*1*{patient.last_name}*{patient.first_name}",
                    ]
                body += _claim_segments(inquiry)
    segments = [
        f"ISA*00*{'':10}*00*{'':10}*{submitter.interchange_qualifier}*{submitter.identifier:<15}"
        f"*{receiver.interchange_qualifier}*{receiver.identifier:<15}*{ymd[2:]}*{hhmm}*^*00501*{number}*0*{usage}*:",
        f"GS*HR*{submitter.identifier}*{receiver.identifier}*{ymd}*{hhmm}*{gs06(control.group)}*X*{IMPLEMENTATION_276_277}",
        f"ST*276*{transaction}*{IMPLEMENTATION_276_277}",
        *body,
        f"SE*{len(body) + 2}*{transaction}",
        f"GE*1*{gs06(control.group)}",
        f"IEA*1*{number}",
    ]
    return Request276(
        text="~\n".join(segments) + "~\n",
        interchange_control_number=control.interchange,
        trace_numbers=tuple(traces),
        next_control_numbers=ControlNumbers(
            following(control.interchange), following(control.group), following(control.transaction)
        ),
    )


def _claim_segments(inquiry: ClaimStatusInquiry) -> list[str]:
    segments = [f"TRN*1*{inquiry.trace_number}"]
    if inquiry.payer_claim_number:
        segments.append(f"REF*1K*{inquiry.payer_claim_number}")
    if inquiry.bill_type:
        segments.append(f"REF*BLT*{inquiry.bill_type}")
    segments.append(f"REF*EJ*{inquiry.claim_control_number}")
    segments.append(f"AMT*T3*{cents_to_x12(inquiry.total_charge_cents)}")
    end = inquiry.service_to or inquiry.service_from
    segments.append(f"DTP*472*RD8*{d8(inquiry.service_from)}-{d8(end)}")
    return segments


def parse_277(data: bytes | str) -> tuple[ClaimStatusReport, ...]:
    """Every 277 claim status response (005010X212) in the file; claims keyed by TRN02 and REF*EJ."""
    return read_277(data, (IMPLEMENTATION_276_277,))
