"""Parse 835 remittances (005010X221A1) into `RemittanceAdvice` values.

A payer's payment is not refused over a non-financial element. What raises (`X12Error`
subclasses, each naming the segment, its position and the element):
- envelope and syntax problems, control characters in an element (from `shared.x12`);
- a group or transaction set that is not an 835 in version 005010X221A1 (4010 is refused);
- what the money or a claim payment's identity rests on: an amount that is not a number (or is beyond
  any payment), CLP01-04, CAS group codes, PLB pairs, BPR/TRN, identities too long to be one, and
  segments outside the loop they belong to.

What becomes a positioned `ParseWarning` on the advice instead: a faulty SVC01 procedure composite (a
foreign component separator such as `HC>55669` under ISA16 `:`, a missing qualifier or code, the code sent
as an element of its own), a faulty SVC06, a REF/DTM/NM1/PER/LQ/QTY/RDM without its required elements,
a count or rate that is not a number, a missing payer/payee name, LX01, TS301 or PLB02. Missing
informational segments the TR3 also requires (payer PER, BPR16, NM1*QC...) are neither. Whether the file
balances is `balancing`'s question; full TR3 conformance the independent validator's (`claimflow x12 validate`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from services.remittance.domain.remittance_advice import (
    CLAIM_ADJUSTMENT_GROUPS,
    Address,
    Claim,
    ClaimAdjustment,
    ClaimName,
    Contact,
    Currency,
    DateReference,
    DeliveryMethod,
    FinancialInformation,
    HeaderNumber,
    InpatientAdjudication,
    MonetaryAmount,
    OutpatientAdjudication,
    ParseWarning,
    Party,
    ProcedureCode,
    ProviderAdjustment,
    ProviderSummary,
    ProviderSupplementalSummary,
    Quantity,
    ReassociationTrace,
    Reference,
    RemarkCode,
    RemittanceAdvice,
    ServiceLine,
)
from shared.x12 import (
    FunctionalGroup,
    Interchange,
    Segment,
    TransactionSet,
    X12SyntaxError,
    X12VersionError,
    parse_cents,
    parse_decimal,
    read_interchanges,
)
from shared.x12.tokenizer import paused_gc

IMPLEMENTATION = "005010X221A1"
"""The only 835 implementation guide accepted (HIPAA-mandated since 2012)."""

_HEADER_IDS = frozenset({"CUR", "REF", "DTM"})
_PARTY_IDS = frozenset({"N3", "N4", "REF", "PER", "RDM"})
_CLAIM_IDS = frozenset({"CAS", "NM1", "MIA", "MOA", "REF", "DTM", "PER", "AMT", "QTY"})
_CLAIM_ONLY_IDS = frozenset({"NM1", "MIA", "MOA", "PER"})
_LINE_IDS = frozenset({"DTM", "CAS", "REF", "AMT", "QTY", "LQ"})
_MIA_AMOUNTS = (2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 24)
_MIA_REMARKS = (5, 20, 21, 22, 23)
_TS3_QUANTITIES = frozenset({4, 23})
_MAX_CENTS = 10**15
"""Ten trillion dollars: an amount at or beyond it is a damaged file, and would not fit the ledger's BIGINT."""
_MAX_IDENTITY = 80
"""Longest CLP01/CLP02, TRN02/TRN03, payer id or name and PLB01 accepted (the TR3 allows at most 80)."""
_FOREIGN_COMPONENT_SEPARATORS = frozenset(":>^|\\!}{<+")
"""Characters senders use as component separator; seen after a two-character SVC01 qualifier when the
file declares another one in ISA16."""
_Read = TypeVar("_Read")


class _BeyondAnyPayment(ValueError):
    """An amount at or beyond `_MAX_CENTS`."""


class _KnownCents(dict[str, int]):
    """`parse_cents` of amounts within `_MAX_CENTS`, remembered: a remittance repeats the same few thousand amounts
    (fee schedules, copays, zero) hundreds of thousands of times, and a hit is one dictionary lookup in C. A text
    that is not an amount raises `ValueError` (`_BeyondAnyPayment` beyond any payment) and is not remembered; the
    table starts over past `_KNOWN_CENTS_LIMIT` texts, so a long-running service does not grow it for ever."""

    def __missing__(self, value: str) -> int:
        cents = parse_cents(value)
        if not -_MAX_CENTS < cents < _MAX_CENTS:
            raise _BeyondAnyPayment(value)
        if len(self) >= _KNOWN_CENTS_LIMIT:
            self.clear()
        self[value] = cents
        return cents


_KNOWN_CENTS_LIMIT = 1 << 16
_known_cents = _KnownCents()

_whole_units = lru_cache(maxsize=1024)(Decimal)
"""Decimal of a count such as SVC05 "1", remembered for the same reason."""


def parse_835(data: bytes | str) -> tuple[RemittanceAdvice, ...]:
    """Every 835 transaction set in an X12 file, in file order.

    Raises `X12Error` (syntax, envelope or version) naming the segment and its position.
    """
    with paused_gc():
        interchanges = read_interchanges(data, check_header=_check_835_header)
        return tuple(
            _TransactionReader(transaction, interchange, group).read()
            for interchange in interchanges
            for group in interchange.groups
            for transaction in group.transactions
        )


def _check_835_header(segment: Segment) -> None:
    if segment.id == "GS":
        functional_id, version = segment.element(1), segment.element(8)
        if functional_id != "HP":
            raise X12VersionError(
                f"GS01 {functional_id!r} is not HP (health care claim payment/advice): not an 835 file",
                segment_id="GS",
                position=segment.position,
                element_index=1,
            )
        _check_version(segment, 8, version)
    else:
        if segment.element(1) != "835":
            raise X12VersionError(
                f"ST01 {segment.element(1)!r}: transaction set is not an 835",
                segment_id="ST",
                position=segment.position,
                element_index=1,
            )
        if segment.element(3):
            _check_version(segment, 3, segment.element(3))


def _check_version(segment: Segment, index: int, version: str) -> None:
    if version == IMPLEMENTATION:
        return
    if version.startswith("004010"):
        message = (
            f"{segment.id}{index:02d} {version!r} is a 4010 835, obsolete since HIPAA moved to 5010 in 2012; "
            f"only {IMPLEMENTATION} is accepted: ask the payer for a 5010 remittance"
        )
    else:
        message = (
            f"{segment.id}{index:02d} {version!r} is not a supported 835 version; only {IMPLEMENTATION} is accepted"
        )
    raise X12VersionError(message, segment_id=segment.id, position=segment.position, element_index=index)


class _TransactionReader:
    """Reads one ST..SE body loop by loop; each `_read_*` returns the index after what it consumed.

    Faults in non-financial elements are collected in `warnings` rather than raised."""

    def __init__(self, transaction: TransactionSet, interchange: Interchange, group: FunctionalGroup) -> None:
        self.transaction = transaction
        self.interchange = interchange
        self.group = group
        self.segments = transaction.segments
        self.component = interchange.delimiters.component
        self.warnings: list[ParseWarning] = []
        self.procedures: dict[str, ProcedureCode] = {}
        """SVC01 composites read well, by text: a remittance repeats a few hundred codes thousands of times."""

    def read(self) -> RemittanceAdvice:
        segments = self.segments
        if not segments or segments[0].id != "BPR":
            found = segments[0] if segments else self.transaction.trailer
            raise X12SyntaxError(
                f"an 835 starts with BPR after ST, found {found.id}",
                segment_id=found.id,
                position=found.position,
            )
        payment = _financial_information(segments[0])
        trace_segment = self._at(1)
        if trace_segment.id != "TRN":
            raise X12SyntaxError(
                f"the reassociation trace TRN must follow BPR, found {trace_segment.id}",
                segment_id=trace_segment.id,
                position=trace_segment.position,
            )
        trace = ReassociationTrace(
            trace_type=_required(trace_segment, 1, "trace type code"),
            trace_number=_identity(trace_segment, 2, "check or EFT trace number"),
            originating_company_id=_identity(trace_segment, 3, "payer identifier"),
            originating_company_supplemental_code=trace_segment.element(4),
            position=trace_segment.position,
        )
        currency: Currency | None = None
        references: list[Reference] = []
        dates: list[DateReference] = []
        index = 2
        while (segment := self._at(index)).id in _HEADER_IDS:
            if segment.id == "CUR":
                rate = segment.element(3)
                currency = Currency(
                    entity=_required(segment, 1, "entity identifier code"),
                    code=_required(segment, 2, "currency code"),
                    exchange_rate=_decimal(segment, 3) if rate else None,
                    position=segment.position,
                )
            elif segment.id == "REF":
                self._collect(_reference, segment, references)
            else:
                self._collect(_date, segment, dates)
            index += 1
        payer, index = self._read_party(index, "PR")
        payee, index = self._read_party(index, "PE")
        header_numbers, index = self._read_detail(index)
        provider_adjustments, index = self._read_provider_adjustments(index)
        if index < len(segments):
            segment, previous = segments[index], segments[index - 1]
            raise X12SyntaxError(
                f"{segment.id} is out of place after {previous.id} at segment {previous.position}: "
                f"the {IMPLEMENTATION} 835 does not allow it there",
                segment_id=segment.id,
                position=segment.position,
            )
        return RemittanceAdvice(
            control_number=self.transaction.control_number,
            implementation=self.transaction.implementation,
            interchange_control_number=self.interchange.control_number,
            group_control_number=self.group.control_number,
            payment=payment,
            trace=trace,
            currency=currency,
            references=tuple(references),
            dates=tuple(dates),
            payer=payer,
            payee=payee,
            header_numbers=header_numbers,
            provider_adjustments=provider_adjustments,
            position=self.transaction.header.position,
            warnings=tuple(self.warnings),
        )

    def _at(self, index: int) -> Segment:
        """The segment at `index`, or the SE trailer once the body is exhausted."""
        segments = self.segments
        return segments[index] if index < len(segments) else self.transaction.trailer

    def _warn(self, segment: Segment, element: int | None, message: str) -> None:
        self.warnings.append(ParseWarning(segment.id, segment.position, element, message))

    def _tolerated(self, error: X12SyntaxError, segment: Segment, consequence: str) -> None:
        self._warn(segment, error.element_index, f"{error.message}; {consequence}")

    def _collect(self, read: Callable[[Segment], _Read], segment: Segment, into: list[_Read]) -> None:
        """`read(segment)` appended to `into`; a segment missing a required non-financial element is
        left out with a warning. (The claim and line loops, run for every segment of a large file, write
        this out themselves to save a call per segment.)"""
        try:
            into.append(read(segment))
        except X12SyntaxError as error:
            self._ignored(error, segment)

    def _ignored(self, error: X12SyntaxError, segment: Segment) -> None:
        self._tolerated(error, segment, f"the {segment.id} segment is ignored")

    def _number(self, segment: Segment, index: int, what: str) -> Decimal | None:
        """A count or rate (never an amount): None with a warning when it is not a number."""
        value = segment.element(index)
        if not value:
            return None
        try:
            return _decimal(segment, index)
        except X12SyntaxError as error:
            self._tolerated(error, segment, f"the {what} is ignored (not an amount)")
            return None

    def _text(self, segment: Segment, index: int, what: str) -> str:
        """A required non-financial element; "" with a warning when it is missing."""
        value = segment.element(index)
        if not value:
            self._warn(segment, index, f"{segment.id}{index:02d} ({what}) is required but missing")
        return value

    def _read_party(self, index: int, entity: str) -> tuple[Party, int]:
        """Loop 1000A (payer, N1*PR) or 1000B (payee, N1*PE)."""
        n1 = self._at(index)
        role = "payer" if entity == "PR" else "payee"
        if n1.id != "N1" or n1.element(1) != entity:
            found = f"{n1.id}*{n1.element(1)}" if n1.id == "N1" else n1.id
            raise X12SyntaxError(
                f"expected the {role} loop N1*{entity}, found {found}",
                segment_id=n1.id,
                position=n1.position,
            )
        lines: tuple[str, ...] = ()
        n4: Segment | None = None
        references: list[Reference] = []
        contacts: list[Contact] = []
        delivery: DeliveryMethod | None = None
        index += 1
        while (segment := self._at(index)).id in _PARTY_IDS:
            segment_id = segment.id
            if segment_id == "N3":
                lines = tuple(line for line in segment.elements[1:3] if line)
            elif segment_id == "N4":
                n4 = segment
            elif segment_id == "REF":
                self._collect(_reference, segment, references)
            elif segment_id == "PER":
                self._collect(_contact, segment, contacts)
            elif segment.element(1):
                delivery = DeliveryMethod(
                    method=segment.element(1),
                    name=segment.element(2),
                    communication_number=segment.element(3),
                    position=segment.position,
                )
            else:
                self._warn(segment, 1, "RDM01 (report transmission code) is required but missing; RDM is ignored")
            index += 1
        address = None
        if lines or n4 is not None:
            address = Address(
                lines=lines,
                city=n4.element(1) if n4 else "",
                state=n4.element(2) if n4 else "",
                postal_code=n4.element(3) if n4 else "",
                country=n4.element(4) if n4 else "",
                country_subdivision=n4.element(7) if n4 else "",
            )
        if entity == "PR":  # the payer's id or name keys its payments when TRN03 is absent
            _identity(n1, 2, "payer name", required=False)
            _identity(n1, 4, "payer identifier", required=False)
        party = Party(
            entity=entity,
            name=self._text(n1, 2, f"{role} name"),
            id_qualifier=n1.element(3),
            id=n1.element(4),
            address=address,
            references=tuple(references),
            contacts=tuple(contacts),
            delivery=delivery,
            position=n1.position,
        )
        return party, index

    def _read_detail(self, index: int) -> tuple[tuple[HeaderNumber, ...], int]:
        """Loops 2000 (LX, TS3, TS2) each holding loops 2100 (claims)."""
        groups: list[HeaderNumber] = []
        segments = self.segments
        count = len(segments)
        while index < count and segments[index].id in ("LX", "CLP"):
            lx = segments[index]
            number: str | None = None
            position: int | None = None
            summary: ProviderSummary | None = None
            supplemental: ProviderSupplementalSummary | None = None
            if lx.id == "LX":
                number, position = self._text(lx, 1, "assigned number"), lx.position
                index += 1
                if index < count and segments[index].id == "TS3":
                    summary = self._provider_summary(segments[index])
                    index += 1
                if index < count and segments[index].id == "TS2":
                    supplemental = ProviderSupplementalSummary(
                        values=tuple(
                            (f"TS2{i:02d}", value) for i, value in enumerate(segments[index].elements) if i and value
                        ),
                        position=segments[index].position,
                    )
                    index += 1
            claims: list[Claim] = []
            while index < count and segments[index].id == "CLP":
                claim, index = self._read_claim(index, number)
                claims.append(claim)
            groups.append(HeaderNumber(number, summary, supplemental, tuple(claims), position))
        return tuple(groups), index

    def _provider_summary(self, segment: Segment) -> ProviderSummary:
        amounts = tuple(
            (f"TS3{i:02d}", _cents(segment, i))
            for i in range(6, len(segment.elements))
            if i not in _TS3_QUANTITIES and segment.elements[i]
        )
        return ProviderSummary(
            provider_id=self._text(segment, 1, "provider identifier"),
            facility_type=segment.element(2),
            fiscal_period_date=segment.element(3),
            claim_count=self._number(segment, 4, "claim count"),
            total_charge_cents=_cents(segment, 5) if segment.element(5) else None,
            amounts=amounts,
            position=segment.position,
        )

    def _read_claim(self, index: int, header_number: str | None) -> tuple[Claim, int]:
        """Loop 2100 (CLP and its claim-level segments) and its loops 2110 (service lines)."""
        segments = self.segments
        count = len(segments)
        clp = segments[index]
        elements = _padded(clp.elements, 14)
        if not (elements[1] and elements[2] and elements[3] and elements[4]):
            raise _missing(clp, next(i for i in (1, 2, 3, 4) if not elements[i]))
        if len(elements[1]) > _MAX_IDENTITY or len(elements[2]) > _MAX_IDENTITY:  # both present (checked above)
            _identity(clp, 1, "patient control number")
            _identity(clp, 2, "claim status code")
        adjustments: list[ClaimAdjustment] = []
        names: list[ClaimName] = []
        inpatient: InpatientAdjudication | None = None
        outpatient: OutpatientAdjudication | None = None
        references: list[Reference] = []
        dates: list[DateReference] = []
        contacts: list[Contact] = []
        amounts: list[MonetaryAmount] = []
        quantities: list[Quantity] = []
        index += 1
        while index < count and (segment := segments[index]).id in _CLAIM_IDS:
            segment_id = segment.id
            if segment_id == "CAS":
                adjustments.extend(self._adjustments(segment))
            elif segment_id == "NM1":
                try:
                    names.append(_claim_name(segment))
                except X12SyntaxError as error:
                    self._ignored(error, segment)
            elif segment_id == "REF":
                try:
                    references.append(_reference(segment))
                except X12SyntaxError as error:
                    self._ignored(error, segment)
            elif segment_id == "DTM":
                try:
                    dates.append(_date(segment))
                except X12SyntaxError as error:
                    self._ignored(error, segment)
            elif segment_id == "AMT":
                amounts.append(_amount(segment))
            elif segment_id == "QTY":
                try:
                    quantities.append(_quantity(segment))
                except X12SyntaxError as error:
                    self._ignored(error, segment)
            elif segment_id == "MIA":
                inpatient = self._inpatient(segment)
            elif segment_id == "MOA":
                outpatient = self._outpatient(segment)
            else:
                try:
                    contacts.append(_contact(segment))
                except X12SyntaxError as error:
                    self._ignored(error, segment)
            index += 1
        lines: list[ServiceLine] = []
        while index < count and segments[index].id == "SVC":
            line, index = self._read_line(index)
            lines.append(line)
        if lines and index < count and segments[index].id in _CLAIM_ONLY_IDS:
            misplaced = segments[index]
            raise X12SyntaxError(
                f"{misplaced.id} belongs to the claim (loop 2100) before its service lines, "
                f"found after SVC at segment {lines[-1].position} of claim {elements[1]!r}",
                segment_id=misplaced.id,
                position=misplaced.position,
            )
        # positional, each field named beside it: binding keywords cost a third of building a record
        claim = Claim(
            elements[1],  # patient_control_number
            elements[2],  # status
            _cents(clp, 3, elements[3]),  # charge_cents
            _cents(clp, 4, elements[4]),  # paid_cents
            _cents(clp, 5, elements[5]) if elements[5] else None,  # patient_responsibility_cents
            elements[6],  # filing_indicator
            elements[7],  # payer_claim_control_number
            elements[8],  # facility_type
            elements[9],  # frequency
            elements[11],  # drg_code
            self._number(clp, 12, "DRG weight") if elements[12] else None,  # drg_weight
            self._number(clp, 13, "discharge fraction") if elements[13] else None,  # discharge_fraction
            tuple(adjustments),  # adjustments
            tuple(names),  # names
            inpatient,  # inpatient
            outpatient,  # outpatient
            tuple(references),  # references
            tuple(dates),  # dates
            tuple(contacts),  # contacts
            tuple(amounts),  # amounts
            tuple(quantities),  # quantities
            tuple(lines),  # lines
            header_number,  # header_number
            clp.position,  # position
        )
        return claim, index

    def _read_line(self, index: int) -> tuple[ServiceLine, int]:
        """Loop 2110: SVC and its DTM, CAS, REF, AMT, QTY and LQ."""
        segments = self.segments
        count = len(segments)
        svc = segments[index]
        written = elements = _padded(svc.elements, 8)
        faults: list[tuple[int, str]] = []
        procedure = self.procedures.get(elements[1])
        if procedure is None:
            parts = elements[1].split(self.component)
            if len(parts) >= 2 and len(parts[0]) == 2 and parts[1] and parts[0].isalnum():
                procedure = self.procedures[elements[1]] = ProcedureCode(
                    qualifier=parts[0],
                    code=parts[1],
                    modifiers=tuple(filter(None, parts[2:6])) if len(parts) > 2 else (),
                    description=parts[6] if len(parts) > 6 else "",
                )
            else:
                procedure, fault = self._faulty_procedure(elements[1])
                faults.append((1, fault))
        dates: list[DateReference] = []
        adjustments: list[ClaimAdjustment] = []
        references: list[Reference] = []
        amounts: list[MonetaryAmount] = []
        quantities: list[Quantity] = []
        remarks: list[RemarkCode] = []
        index += 1
        while index < count and (segment := segments[index]).id in _LINE_IDS:
            segment_id = segment.id
            if segment_id == "CAS":
                adjustments.extend(self._adjustments(segment))
            elif segment_id == "DTM":
                try:
                    dates.append(_date(segment))
                except X12SyntaxError as error:
                    self._ignored(error, segment)
            elif segment_id == "REF":
                try:
                    references.append(_reference(segment))
                except X12SyntaxError as error:
                    self._ignored(error, segment)
            elif segment_id == "AMT":
                amounts.append(_amount(segment))
            elif segment_id == "LQ":
                try:
                    remarks.append(_remark(segment))
                except X12SyntaxError as error:
                    self._ignored(error, segment)
            else:
                try:
                    quantities.append(_quantity(segment))
                except X12SyntaxError as error:
                    self._ignored(error, segment)
            index += 1
        if faults and procedure.qualifier and not procedure.code:
            shifted = _shifted_line(svc, elements, sum(adjustment.amount_cents for adjustment in adjustments))
            if shifted is not None:
                elements = shifted
                procedure = ProcedureCode(procedure.qualifier, elements[1], (), "")
                faults = [
                    (
                        1,
                        f"SVC01 {procedure.qualifier!r} has no procedure code and SVC02 {svc.element(2)!r} is "
                        f"not the line charge: the code was sent as an element of its own (an element separator "
                        f"where the component separator {self.component!r} belongs); SVC02-SVC07 are read one "
                        "element to the right, where the line balances",
                    )
                ]
        for element, fault in faults:
            self._warn(svc, element, f"{fault}; the line is matched by REF*6R or its order in the claim")
        # positional, each field named beside it: binding keywords cost a third of building a record
        line = ServiceLine(
            procedure,  # procedure
            _cents(svc, 2, elements[2]),  # charge_cents
            _cents(svc, 3, elements[3]),  # paid_cents
            elements[4],  # revenue_code
            self._number(svc, 5, "units paid") if written[5] else None,  # units_paid
            self._submitted_procedure(svc, elements[6]) if elements[6] else None,  # submitted_procedure
            self._number(svc, 7, "units submitted") if written[7] else None,  # units_submitted
            tuple(dates),  # dates
            tuple(adjustments),  # adjustments
            tuple(references),  # references
            tuple(amounts),  # amounts
            tuple(quantities),  # quantities
            tuple(remarks),  # remarks
            svc.position,  # position
            bool(faults),  # procedure_unreliable
        )
        return line, index

    def _faulty_procedure(self, value: str) -> tuple[ProcedureCode, str]:
        """What can be read of an SVC01 composite that is not `qualifier:code[:modifiers]`, and why."""
        component = self.component
        if not value:
            return ProcedureCode("", "", (), ""), "SVC01 (the adjudicated procedure) is missing"
        parts = value.split(component)
        separator = value[2] if len(value) > 3 and len(parts) == 1 else ""
        if separator in _FOREIGN_COMPONENT_SEPARATORS and value[:2].isalnum():
            parts = value.split(separator)
            procedure = ProcedureCode(parts[0], parts[1], tuple(filter(None, parts[2:6])), "")
            read_as = " ".join(filter(None, (procedure.qualifier, procedure.code, *procedure.modifiers)))
            return procedure, (
                f"SVC01 {value!r} separates its components with {separator!r} but ISA16 declares "
                f"{component!r}: read as {read_as!r}"
            )
        qualifier = parts[0]
        code = parts[1] if len(parts) > 1 else ""
        procedure = ProcedureCode(qualifier, code, tuple(filter(None, parts[2:6])), "")
        if len(qualifier) != 2 or not qualifier.isalnum():
            return ProcedureCode("", code or value, procedure.modifiers, ""), (
                f"SVC01 {value!r} does not start with a two-character product/service qualifier "
                f"(HC, NU, AD...) followed by the component separator {component!r} declared in ISA16"
            )
        return procedure, f"SVC01 {value!r} has no procedure code (SVC01-2 is required)"

    def _submitted_procedure(self, svc: Segment, value: str) -> ProcedureCode | None:
        """SVC06, the procedure as submitted when the payer changed it; None with a warning when faulty."""
        parts = value.split(self.component)
        qualifier = parts[0]
        code = parts[1] if len(parts) > 1 else ""
        if len(qualifier) == 2 and qualifier.isalnum() and code:
            return ProcedureCode(qualifier, code, tuple(filter(None, parts[2:6])), parts[6] if len(parts) > 6 else "")
        self._warn(
            svc,
            6,
            f"SVC06 {value!r} is not a qualifier and a procedure code joined by the component separator "
            f"{self.component!r} declared in ISA16; the submitted procedure is ignored",
        )
        return None

    def _adjustments(self, cas: Segment) -> list[ClaimAdjustment]:
        """The reason/amount/quantity triplets of one CAS (CAS02-04 ... CAS17-19)."""
        elements = cas.elements
        count = len(elements)
        group = elements[1] if count > 1 else ""
        if group not in CLAIM_ADJUSTMENT_GROUPS:
            hint = "; CR was a 4010 code" if group == "CR" else ""
            raise X12SyntaxError(
                f"CAS01 {group!r} is not a claim adjustment group code (CO, OA, PI, PR){hint}",
                segment_id="CAS",
                position=cas.position,
                element_index=1,
            )
        if count == 4 and elements[2]:  # one triplet without quantity: most CAS segments
            return [ClaimAdjustment(group, elements[2], _cents(cas, 3, elements[3]), None, cas.position)]
        if count > 20:
            raise X12SyntaxError(
                "CAS carries more than six reason/amount/quantity triplets",
                segment_id="CAS",
                position=cas.position,
                element_index=20,
            )
        elements = _padded(elements, 20)
        adjustments: list[ClaimAdjustment] = []
        for reason_index in range(2, count, 3):
            reason, amount, quantity = elements[reason_index : reason_index + 3]
            if not reason:
                if amount or quantity:
                    raise _missing(cas, reason_index)
                continue
            adjustments.append(
                ClaimAdjustment(
                    group=group,
                    reason=reason,
                    amount_cents=_cents(cas, reason_index + 1, amount),
                    quantity=self._number(cas, reason_index + 2, "adjustment quantity") if quantity else None,
                    position=cas.position,
                )
            )
        if not adjustments:
            raise _missing(cas, 2)
        return adjustments

    def _inpatient(self, mia: Segment) -> InpatientAdjudication:
        element = mia.element
        return InpatientAdjudication(
            covered_days=self._number(mia, 1, "covered days"),
            lifetime_psychiatric_days=self._number(mia, 3, "lifetime psychiatric days"),
            cost_report_day_count=self._number(mia, 15, "cost report day count"),
            amounts=tuple((f"MIA{i:02d}", _cents(mia, i)) for i in _MIA_AMOUNTS if element(i)),
            remark_codes=tuple(element(i) for i in _MIA_REMARKS if element(i)),
            position=mia.position,
        )

    def _outpatient(self, moa: Segment) -> OutpatientAdjudication:
        element = moa.element
        return OutpatientAdjudication(
            reimbursement_rate=self._number(moa, 1, "reimbursement rate"),
            hcpcs_payable_cents=_cents(moa, 2) if element(2) else None,
            remark_codes=tuple(element(i) for i in range(3, 8) if element(i)),
            esrd_payment_cents=_cents(moa, 8) if element(8) else None,
            nonpayable_professional_component_cents=_cents(moa, 9) if element(9) else None,
            position=moa.position,
        )

    def _read_provider_adjustments(self, index: int) -> tuple[tuple[ProviderAdjustment, ...], int]:
        """PLB segments: up to six (reason:reference, amount) pairs each."""
        segments = self.segments
        adjustments: list[ProviderAdjustment] = []
        while index < len(segments) and segments[index].id == "PLB":
            segment = segments[index]
            elements = segment.elements
            provider_id = _identity(segment, 1, "provider identifier")
            fiscal_period = self._text(segment, 2, "fiscal period date")
            if len(elements) > 15:
                raise X12SyntaxError(
                    "PLB carries more than six adjustment pairs",
                    segment_id="PLB",
                    position=segment.position,
                    element_index=15,
                )
            found = 0
            for pair in range(3, len(elements), 2):
                composite = elements[pair]
                amount = elements[pair + 1] if pair + 1 < len(elements) else ""
                if not composite:
                    if amount:
                        raise _missing(segment, pair)
                    continue
                reason, _, reference = composite.partition(self.component)
                if not reason:
                    raise _missing(segment, pair)
                if not amount:
                    raise _missing(segment, pair + 1)
                adjustments.append(
                    ProviderAdjustment(
                        provider_id=provider_id,
                        fiscal_period_date=fiscal_period,
                        reason=reason,
                        reference=reference,
                        amount_cents=_cents(segment, pair + 1),
                        position=segment.position,
                    )
                )
                found += 1
            if not found:
                raise _missing(segment, 3)
            index += 1
        return tuple(adjustments), index


def _shifted_line(svc: Segment, elements: tuple[str, ...], adjusted_cents: int) -> tuple[str, ...] | None:
    """SVC read one element to the right (SVC02 as the procedure code) when SVC01 is a bare qualifier and
    only that reading balances the line against its CAS; None when the line should be read as written."""
    if _line_balances(elements[2], elements[3], adjusted_cents) or len(elements) < 4:
        return None
    shifted = _padded((elements[0], *elements[2:]), 8)
    if not shifted[1] or not _line_balances(shifted[2], shifted[3], adjusted_cents):
        return None
    return shifted


def _line_balances(charge: str, paid: str, adjusted_cents: int) -> bool:
    try:
        return parse_cents(charge) - parse_cents(paid) == adjusted_cents
    except ValueError:
        return False


def _financial_information(bpr: Segment) -> FinancialInformation:
    element = bpr.element
    return FinancialInformation(
        handling_code=_required(bpr, 1, "transaction handling code"),
        amount_cents=_cents(bpr, 2),
        credit_debit=_required(bpr, 3, "credit/debit flag"),
        method=_required(bpr, 4, "payment method code"),
        format=element(5),
        sender_dfi_qualifier=element(6),
        sender_dfi_id=element(7),
        sender_account_qualifier=element(8),
        sender_account=element(9),
        originating_company_id=element(10),
        originating_company_supplemental_code=element(11),
        receiver_dfi_qualifier=element(12),
        receiver_dfi_id=element(13),
        receiver_account_qualifier=element(14),
        receiver_account=element(15),
        payment_date=element(16),
        position=bpr.position,
    )


def _claim_name(nm1: Segment) -> ClaimName:
    elements = _padded(nm1.elements, 10)
    if not (elements[1] and elements[2]):
        raise _missing(nm1, 1 if not elements[1] else 2, "entity identifier" if not elements[1] else "entity type")
    # positional, each field named beside it: binding keywords cost a third of building a record
    return ClaimName(
        elements[1],  # entity
        elements[2],  # entity_type
        elements[3],  # last_or_organization_name
        elements[4],  # first_name
        elements[5],  # middle_name
        elements[7],  # suffix
        elements[8],  # id_qualifier
        elements[9],  # id
        nm1.position,  # position
    )


def _contact(per: Segment) -> Contact:
    elements = per.elements
    channels = tuple((elements[i], elements[i + 1]) for i in (3, 5, 7) if i + 1 < len(elements) and elements[i + 1])
    return Contact(
        function=_required(per, 1, "contact function code"),
        name=per.element(2),
        channels=channels,
        position=per.position,
    )


def _reference(ref: Segment) -> Reference:
    elements = ref.elements
    if len(elements) > 2 and elements[1] and elements[2]:
        return Reference(elements[1], elements[2], ref.position)
    _required(ref, 1, "reference identification qualifier")
    raise _missing(ref, 2, "reference identification")


def _date(dtm: Segment) -> DateReference:
    elements = dtm.elements
    if len(elements) > 2 and elements[1] and elements[2]:
        return DateReference(elements[1], elements[2], dtm.position)
    _required(dtm, 1, "date/time qualifier")
    raise _missing(dtm, 2, "date")


def _amount(amt: Segment) -> MonetaryAmount:
    elements = amt.elements
    if len(elements) > 2 and elements[1]:
        return MonetaryAmount(elements[1], _cents(amt, 2, elements[2]), amt.position)
    raise _missing(amt, 1 if len(elements) < 2 or not elements[1] else 2, "amount qualifier code")


def _remark(lq: Segment) -> RemarkCode:
    elements = lq.elements
    if len(elements) > 2 and elements[1] and elements[2]:
        return RemarkCode(elements[1], elements[2], lq.position)
    _required(lq, 1, "code list qualifier")
    raise _missing(lq, 2, "remark code")


def _quantity(qty: Segment) -> Quantity:
    _required(qty, 2, "quantity")
    return Quantity(
        qualifier=_required(qty, 1, "quantity qualifier"),
        quantity=_decimal(qty, 2),
        position=qty.position,
    )


_PADDING = ("",) * 32


def _padded(elements: tuple[str, ...], length: int) -> tuple[str, ...]:
    """`elements` extended with "" up to `length`, so optional elements index without checks."""
    return elements if len(elements) >= length else elements + _PADDING[: length - len(elements)]


def _required(segment: Segment, index: int, what: str) -> str:
    value = segment.element(index)
    if not value:
        raise _missing(segment, index, what)
    return value


def _identity(segment: Segment, index: int, what: str, *, required: bool = True) -> str:
    """An element that identifies a payment (trace, payer, claim, provider account): required unless told
    otherwise, and refused beyond `_MAX_IDENTITY` characters, which no identifier of the guide reaches."""
    value = _required(segment, index, what) if required else segment.element(index)
    if len(value) > _MAX_IDENTITY:
        raise X12SyntaxError(
            f"{segment.id}{index:02d} ({what}) is {len(value)} characters long; an identifier has at most "
            f"{_MAX_IDENTITY}",
            segment_id=segment.id,
            position=segment.position,
            element_index=index,
        )
    return value


def _missing(segment: Segment, index: int, what: str = "") -> X12SyntaxError:
    described = f" ({what})" if what else ""
    return X12SyntaxError(
        f"{segment.id}{index:02d}{described} is required but missing",
        segment_id=segment.id,
        position=segment.position,
        element_index=index,
    )


def _cents(segment: Segment, index: int, value: str | None = None) -> int:
    """Element `index` as cents; `value` may be passed when the caller already holds it."""
    if value is None:
        value = segment.element(index)
    try:
        return _known_cents[value]
    except _BeyondAnyPayment:
        pass
    except ValueError as exc:
        if not value:
            raise _missing(segment, index, "amount") from None
        raise X12SyntaxError(
            f"{segment.id}{index:02d} {exc}", segment_id=segment.id, position=segment.position, element_index=index
        ) from None
    raise X12SyntaxError(
        f"{segment.id}{index:02d} {value[:24]!r} is beyond any payment (at most 13 digits before the decimal point)",
        segment_id=segment.id,
        position=segment.position,
        element_index=index,
    )


def _decimal(segment: Segment, index: int) -> Decimal:
    value = segment.element(index)
    if value.isdigit() and value.isascii():  # whole units, the common case
        return _whole_units(value)
    try:
        return parse_decimal(value)
    except ValueError as exc:
        raise X12SyntaxError(
            f"{segment.id}{index:02d} {exc}", segment_id=segment.id, position=segment.position, element_index=index
        ) from None
