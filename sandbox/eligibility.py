"""The sandbox payer's eligibility answers: every 270 (005010X279A1) gets a 271, deterministically.

- A member id starting with ``BAD`` (any case) is rejected: the subscriber loop carries the
  inquiry's TRN and ``AAA*N**72*C`` (72 invalid/missing subscriber/insured id; C please correct
  and resubmit), no benefits.
- Any other member id has active coverage on a plan running over the calendar year of the
  inquiry's service date (DTP 346/347), with ``EB*1`` active coverage (health benefit plan
  coverage, 30), a $25 office-visit copay (``EB*B``, 98, per visit), a $500 calendar-year
  deductible (``EB*C``) and 20% coinsurance (``EB*A``).

The 271 echoes the payer, provider and the person asked about; for a dependent inquiry the
answer (TRN, benefits) is in the dependent loop. pyx12 has no 5010 270/271 maps, so the tests
check these files with ``shared.x12`` and the intake service's own 271 reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sandbox.responses import Envelope, _interchange
from shared.x12 import Segment, read_interchanges

IMPLEMENTATION = "005010X279A1"
PLAN_NAME = "SANDBOX GOLD PLAN"
REJECTED_PREFIX = "BAD"
OFFICE_COPAY = "25"
DEDUCTIBLE = "500"
COINSURANCE = ".2"


@dataclass
class Inquiry:
    """What the sandbox reads from one 270 transaction."""

    reference: str = ""
    payer: list[str] = field(default_factory=list)
    provider: list[str] = field(default_factory=list)
    subscriber: list[str] = field(default_factory=list)
    dependent: list[str] = field(default_factory=list)
    traces: list[tuple[str, str]] = field(default_factory=list)
    """(TRN02, TRN03) as sent; their level is that of the person the 270 asks about."""
    service_date: str = ""

    @property
    def member_id(self) -> str:
        return self.subscriber[9] if len(self.subscriber) > 9 else ""


def is_270(content: bytes) -> bool:
    """True when the file's first transaction set is a 270."""
    try:
        interchanges = read_interchanges(content)
    except Exception:  # an unreadable file is the 837 path's business
        return False
    return any(t.id == "270" for i in interchanges for g in i.groups for t in g.transactions)


def read_270(content: bytes) -> list[tuple[str, str, list[Inquiry]]]:
    """(sender id, usage, inquiries) per interchange of a 270 file."""
    result = []
    for interchange in read_interchanges(content):
        inquiries = [
            _inquiry(transaction.segments)
            for group in interchange.groups
            for transaction in group.transactions
            if transaction.id == "270"
        ]
        result.append((interchange.sender_id, interchange.usage, inquiries))
    return result


def _elements(segment: Segment) -> list[str]:
    return list(segment.elements)


def _inquiry(segments: tuple[Segment, ...]) -> Inquiry:
    inquiry = Inquiry()
    for segment in segments:
        if segment.id == "BHT":
            inquiry.reference = segment.element(3)
        elif segment.id == "NM1":
            target = {"PR": "payer", "1P": "provider", "IL": "subscriber", "03": "dependent"}.get(segment.element(1))
            if target:
                setattr(inquiry, target, _elements(segment))
        elif segment.id == "TRN":
            inquiry.traces.append((segment.element(2), segment.element(3)))
        elif segment.id == "DTP" and segment.element(1) == "291":
            inquiry.service_date = segment.element(3)
    return inquiry


def is_rejected(member_id: str) -> bool:
    return member_id.upper().startswith(REJECTED_PREFIX)


def _service_day(inquiry: Inquiry, fallback: date) -> date:
    text = inquiry.service_date.split("-")[0]
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return fallback


def _body(inquiry: Inquiry, received_on: date, created: str) -> list[list[str]]:
    day = _service_day(inquiry, received_on)
    traces = [["TRN", "2", number, originator] for number, originator in inquiry.traces]
    body: list[list[str]] = [
        ["BHT", "0022", "11", inquiry.reference, created[:8], created[8:]],
        ["HL", "1", "", "20", "1"],
        inquiry.payer or ["NM1", "PR", "2", "SANDBOX HEALTH PLAN", "", "", "", "", "PI", "SANDBOX"],
        ["HL", "2", "1", "21", "1"],
        inquiry.provider or ["NM1", "1P", "2", "UNKNOWN PROVIDER"],
    ]
    subscriber = inquiry.subscriber or ["NM1", "IL", "1"]
    if is_rejected(inquiry.member_id):
        return body + [["HL", "3", "2", "22", "0"], *traces, subscriber, ["AAA", "N", "", "72", "C"]]
    benefits = [
        ["DTP", "346", "D8", f"{day.year}0101"],
        ["DTP", "347", "D8", f"{day.year}1231"],
        ["EB", "1", "IND", "30", "HM", PLAN_NAME],
        ["EB", "B", "IND", "98", "HM", PLAN_NAME, "27", OFFICE_COPAY],
        ["EB", "C", "IND", "30", "HM", PLAN_NAME, "23", DEDUCTIBLE],
        ["EB", "A", "IND", "30", "HM", PLAN_NAME, "", "", COINSURANCE],
    ]
    if not inquiry.dependent:
        return body + [["HL", "3", "2", "22", "0"], *traces, subscriber, *benefits]
    return body + [
        ["HL", "3", "2", "22", "1"],
        subscriber,
        ["HL", "4", "3", "23", "0"],
        *traces,
        inquiry.dependent,
        *benefits,
    ]


def write_271(inquiries: list[Inquiry], envelope: Envelope) -> str:
    """One 271 interchange answering `inquiries` (one 271 transaction each)."""
    created = envelope.created_at.strftime("%Y%m%d%H%M")
    bodies = [_body(inquiry, envelope.created_at.date(), created) for inquiry in inquiries]
    return _interchange(envelope, "HB", IMPLEMENTATION, bodies)
