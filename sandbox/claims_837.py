"""What the sandbox clearinghouse reads from an 837P/837I: claims, plus the syntax problems a 999 reports.

Not a full TR3 validator (that is pyx12's job). It walks each ST..SE with the project's
tokenizer, keeps what adjudication needs, and notes the problems a real clearinghouse's
front end rejects a transaction set for: wrong SE count or control number, an unsupported
implementation guide, a missing CLM01, amounts and dates that are not amounts and dates.
Each problem carries the segment's position in its transaction set (ST is 1) and its loop,
which is exactly what IK3/IK4 need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shared.x12 import Delimiters, Segment, X12Error, parse_cents, split_components
from shared.x12.tokenizer import tokenize_file

SUPPORTED = {"005010X222A1": "837P", "005010X223A2": "837I"}


class UnreadableFileError(Exception):
    """The file has no readable ISA envelope, so not even a 999 can answer it."""


@dataclass(frozen=True, slots=True)
class ElementProblem:
    """IK4: element position (with component, e.g. "5:1"), data element number, IK403 code, bad value."""

    element: str
    reference: str
    code: str
    bad_value: str = ""


@dataclass(frozen=True, slots=True)
class SegmentProblem:
    """IK3: segment id, position in the transaction set (ST is 1), loop, IK304 code."""

    segment_id: str
    position_in_set: int
    loop: str
    code: str
    elements: tuple[ElementProblem, ...] = ()
    claim_control_number: str | None = None


@dataclass(slots=True)
class ReceivedLine:
    number: int
    charge_cents: int
    units: str
    procedure_code: str = ""
    modifiers: tuple[str, ...] = ()
    revenue_code: str = ""
    service_date: date | None = None
    service_date_end: date | None = None
    control_number: str = ""


@dataclass(slots=True)
class ReceivedClaim:
    """One CLM and what hangs from it. Names are kept only to echo them back in 277CA/835."""

    control_number: str
    charge_cents: int
    kind: str
    facility_code: str
    frequency: str
    responsibility: str
    filing_indicator: str
    billing_provider_name: str
    billing_provider_npi: str
    billing_provider_tax_id: str
    subscriber_last_name: str
    subscriber_first_name: str
    member_id: str
    payer_name: str
    payer_id: str
    patient_last_name: str | None = None
    patient_first_name: str | None = None
    prior_authorization: str | None = None
    original_claim_number: str | None = None
    statement_from: date | None = None
    statement_to: date | None = None
    lines: list[ReceivedLine] = field(default_factory=list)

    @property
    def bill_type(self) -> str:
        return f"{self.facility_code}{self.frequency}" if self.kind == "837I" else ""

    def service_period(self) -> tuple[date | None, date | None]:
        if self.statement_from is not None:
            return self.statement_from, self.statement_to or self.statement_from
        starts = [line.service_date for line in self.lines if line.service_date is not None]
        ends = [line.service_date_end or line.service_date for line in self.lines if line.service_date is not None]
        return (min(starts), max(ends)) if starts else (None, None)


@dataclass(slots=True)
class ReceivedTransaction:
    """One ST..SE: its identity for AK2, its claims, and what makes a 999 reject it."""

    control_number: str
    implementation: str
    reference: str
    """BHT03, echoed by the 277CA."""
    claims: list[ReceivedClaim]
    problems: list[SegmentProblem]
    transaction_errors: list[str]
    """IK502 codes: 1 not supported, 3 control numbers differ, 4 segment count wrong, 5 segments in error."""

    @property
    def accepted(self) -> bool:
        return not self.problems and not self.transaction_errors

    @property
    def kind(self) -> str:
        return SUPPORTED.get(self.implementation, "")


@dataclass(slots=True)
class ReceivedGroup:
    control_number: str
    version: str
    sender_id: str
    receiver_id: str
    transactions: list[ReceivedTransaction]
    group_errors: list[str]
    """AK905 codes: 5 transaction set count wrong, 4 GS06/GE02 control numbers differ."""


@dataclass(slots=True)
class Received837:
    interchange_control_number: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    usage: str
    delimiters: Delimiters
    groups: list[ReceivedGroup]


def read_837(data: bytes | str) -> list[Received837]:
    """Every interchange of an 837 file; raises ``UnreadableFileError`` when no envelope can be read."""
    try:
        tokenized = tokenize_file(data)
    except X12Error as exc:
        raise UnreadableFileError(str(exc)) from exc
    interchanges: list[Received837] = []
    segments = tokenized.segments
    index = 0
    while index < len(segments):
        isa = segments[index]
        if isa.id != "ISA":
            raise UnreadableFileError(f"segment {isa.position} ({isa.id}): expected ISA")
        interchange = Received837(
            isa.element(13),
            isa.element(5),
            isa.element(6).strip(),
            isa.element(7),
            isa.element(8).strip(),
            isa.element(15),
            tokenized.delimiters[isa.position],
            [],
        )
        interchanges.append(interchange)
        index += 1
        group: ReceivedGroup | None = None
        while index < len(segments) and segments[index].id != "ISA":
            segment = segments[index]
            if segment.id == "GS":
                group = ReceivedGroup(
                    segment.element(6), segment.element(8), segment.element(2), segment.element(3), [], []
                )
                interchange.groups.append(group)
                index += 1
            elif segment.id == "ST" and group is not None:
                end = index + 1
                while end < len(segments) and segments[end].id not in ("SE", "ST", "GE", "IEA", "ISA"):
                    end += 1
                trailer = segments[end] if end < len(segments) and segments[end].id == "SE" else None
                group.transactions.append(
                    _read_transaction(
                        segment, segments[index + 1 : end], trailer, group.version, interchange.delimiters
                    )
                )
                index = end + 1 if trailer is not None else end
            elif segment.id == "GE" and group is not None:
                if segment.element(1) != str(len(group.transactions)):
                    group.group_errors.append("5")
                if segment.element(2).lstrip("0") != group.control_number.lstrip("0"):
                    group.group_errors.append("4")
                group = None
                index += 1
            else:
                index += 1
        if not interchange.groups:
            raise UnreadableFileError(f"interchange {interchange.interchange_control_number} holds no functional group")
    return interchanges


def _read_transaction(
    st: Segment, body: tuple[Segment, ...], se: Segment | None, group_version: str, delimiters: Delimiters
) -> ReceivedTransaction:
    implementation = st.element(3) or group_version
    transaction = ReceivedTransaction(st.element(2), implementation, "", [], [], [])
    if se is None:
        transaction.transaction_errors.append("2")
    else:
        if se.element(1) != str(len(body) + 2):
            transaction.transaction_errors.append("4")
        if se.element(2) != st.element(2):
            transaction.transaction_errors.append("3")
    if st.element(1) != "837" or implementation not in SUPPORTED:
        transaction.transaction_errors.insert(0, "1")
        return transaction
    _ClaimWalker(transaction, body, st.position, delimiters).walk()
    if transaction.problems:
        transaction.transaction_errors.append("5")
    return transaction


class _ClaimWalker:
    def __init__(
        self, transaction: ReceivedTransaction, body: tuple[Segment, ...], st_position: int, delimiters: Delimiters
    ) -> None:
        self.transaction = transaction
        self.body = body
        self.st_position = st_position
        self.delimiters = delimiters
        self.kind = transaction.kind
        self.loop = "HEADER"
        self.provider: dict[str, str] = {}
        self.subscriber: dict[str, str] = {}
        self.patient: dict[str, str] | None = None
        self.claim: ReceivedClaim | None = None
        self.line: ReceivedLine | None = None

    def problem(self, segment: Segment, code: str, *elements: ElementProblem) -> None:
        claim = self.claim.control_number if self.claim is not None and self.claim.control_number else None
        self.transaction.problems.append(
            SegmentProblem(segment.id, segment.position - self.st_position + 1, self.loop, code, elements, claim)
        )

    def amount(self, segment: Segment, index: int, element: str | None = None) -> int:
        value = segment.element(index)
        try:
            return parse_cents(value)
        except ValueError:
            code = "1" if not value else "6"
            self.problem(segment, "8", ElementProblem(element or str(index), "782", code, value[:99]))
            return 0

    def day(self, segment: Segment) -> tuple[date | None, date | None]:
        qualifier, value = segment.element(2), segment.element(3)
        try:
            if qualifier == "RD8":
                start, _, end = value.partition("-")
                return _d8(start), _d8(end)
            return _d8(value[:8]), None
        except ValueError:
            self.problem(segment, "8", ElementProblem("3", "1251", "8", value[:99]))
            return None, None

    def walk(self) -> None:
        for segment in self.body:
            handler = getattr(self, f"_on_{segment.id}", None)
            if handler is not None:
                handler(segment)

    def _on_BHT(self, segment: Segment) -> None:
        self.transaction.reference = segment.element(3)

    def _on_HL(self, segment: Segment) -> None:
        level = segment.element(3)
        self.line = None
        self.claim = None
        self.loop = {"20": "2000A", "22": "2000B", "23": "2000C"}.get(level, "2000")
        if level == "22":
            self.subscriber, self.patient = {}, None
        elif level == "23":
            self.patient = {}

    def _on_SBR(self, segment: Segment) -> None:
        if self.loop == "2000B":
            self.subscriber["responsibility"] = segment.element(1)
            self.subscriber["filing"] = segment.element(9)
        else:
            self.loop = "2320"

    def _on_NM1(self, segment: Segment) -> None:
        entity = segment.element(1)
        if self.loop in ("2320", "2330"):
            self.loop = "2330"
            return
        if entity == "85":
            self.loop = "2010AA"
            self.provider = {"name": segment.element(3), "npi": segment.element(9)}
        elif entity == "IL" and self.loop.startswith(("2000B", "2010B")):
            self.loop = "2010BA"
            self.subscriber.update(last=segment.element(3), first=segment.element(4), member=segment.element(9))
        elif entity == "PR" and self.loop.startswith(("2000B", "2010B")):
            self.loop = "2010BB"
            self.subscriber.update(payer_name=segment.element(3), payer_id=segment.element(9))
        elif entity == "QC" and self.patient is not None:
            self.loop = "2010CA"
            self.patient.update(last=segment.element(3), first=segment.element(4))
        elif self.claim is not None and self.line is None:
            self.loop = "2310"

    def _on_REF(self, segment: Segment) -> None:
        qualifier, value = segment.element(1), segment.element(2)
        if self.loop == "2010AA" and qualifier in ("EI", "SY"):
            self.provider["tax_id"] = value
        elif self.line is not None and qualifier == "6R":
            self.line.control_number = value
        elif self.claim is not None and self.line is None and self.loop == "2300":
            if qualifier == "G1":
                self.claim.prior_authorization = value
            elif qualifier == "F8":
                self.claim.original_claim_number = value

    def _on_CLM(self, segment: Segment) -> None:
        self.loop, self.line = "2300", None
        control_number = segment.element(1)
        self.claim = ReceivedClaim(
            control_number=control_number,
            charge_cents=0,
            kind=self.kind,
            facility_code="",
            frequency="",
            responsibility=self.subscriber.get("responsibility", "P"),
            filing_indicator=self.subscriber.get("filing", ""),
            billing_provider_name=self.provider.get("name", ""),
            billing_provider_npi=self.provider.get("npi", ""),
            billing_provider_tax_id=self.provider.get("tax_id", ""),
            subscriber_last_name=self.subscriber.get("last", ""),
            subscriber_first_name=self.subscriber.get("first", ""),
            member_id=self.subscriber.get("member", ""),
            payer_name=self.subscriber.get("payer_name", ""),
            payer_id=self.subscriber.get("payer_id", ""),
            patient_last_name=self.patient.get("last") if self.patient else None,
            patient_first_name=self.patient.get("first") if self.patient else None,
        )
        if not control_number:
            self.problem(segment, "8", ElementProblem("1", "1028", "1"))
        self.claim.charge_cents = self.amount(segment, 2)
        location = split_components(segment.element(5), self.delimiters)
        self.claim.facility_code = location[0]
        self.claim.frequency = location[2] if len(location) > 2 else ""
        self.transaction.claims.append(self.claim)

    def _on_DTP(self, segment: Segment) -> None:
        qualifier = segment.element(1)
        if qualifier == "472" and self.line is not None:
            self.line.service_date, self.line.service_date_end = self.day(segment)
        elif qualifier == "434" and self.claim is not None and self.line is None:
            self.claim.statement_from, self.claim.statement_to = self.day(segment)

    def _on_LX(self, segment: Segment) -> None:
        self.loop = "2400"
        if self.claim is None:
            self.problem(segment, "2")
            return
        self.line = ReceivedLine(number=len(self.claim.lines) + 1, charge_cents=0, units="")
        self.claim.lines.append(self.line)

    def _on_SV1(self, segment: Segment) -> None:
        if self.line is None:
            self.problem(segment, "2")
            return
        procedure = split_components(segment.element(1), self.delimiters)
        self.line.procedure_code = procedure[1] if len(procedure) > 1 else ""
        self.line.modifiers = tuple(m for m in procedure[2:6] if m)
        self.line.charge_cents = self.amount(segment, 2)
        self.line.units = segment.element(4)

    def _on_SV2(self, segment: Segment) -> None:
        if self.line is None:
            self.problem(segment, "2")
            return
        self.line.revenue_code = segment.element(1)
        procedure = split_components(segment.element(2), self.delimiters) if segment.element(2) else ()
        self.line.procedure_code = procedure[1] if len(procedure) > 1 else ""
        self.line.modifiers = tuple(m for m in procedure[2:6] if m)
        self.line.charge_cents = self.amount(segment, 3)
        self.line.units = segment.element(5)


def _d8(text: str) -> date:
    if len(text) != 8 or not text.isdigit():
        raise ValueError(text)
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))
