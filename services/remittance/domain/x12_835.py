"""Parse 835 remittances (005010X221A1) into `RemittanceAdvice` values.

What raises (`X12Error` subclasses, each naming the segment and its position):
- envelope and syntax problems (from `shared.x12`);
- a group or transaction set that is not an 835 in version 005010X221A1 (4010 is refused);
- anything that would make money or a claim's identity ambiguous: a missing or malformed
  amount, CLP01-04, CAS group/triplets, the SVC procedure composite, PLB pairs, BPR/TRN,
  and segments outside the loop they belong to.

What does not raise: missing informational segments or elements the TR3 also requires
(payer PER, BPR16, NM1*QC...). Full TR3 conformance is the independent validator's job
(`claimflow x12 validate`); this parser reads what posting needs, exactly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, overload

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
    """Reads one ST..SE body loop by loop; each `_read_*` returns the index after what it consumed."""

    def __init__(self, transaction: TransactionSet, interchange: Interchange, group: FunctionalGroup) -> None:
        self.transaction = transaction
        self.interchange = interchange
        self.group = group
        self.segments = transaction.segments
        self.component = interchange.delimiters.component

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
            trace_number=_required(trace_segment, 2, "check or EFT trace number"),
            originating_company_id=_required(trace_segment, 3, "payer identifier"),
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
                references.append(_reference(segment))
            else:
                dates.append(_date(segment))
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
        )

    def _at(self, index: int) -> Segment:
        """The segment at `index`, or the SE trailer once the body is exhausted."""
        segments = self.segments
        return segments[index] if index < len(segments) else self.transaction.trailer

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
                references.append(_reference(segment))
            elif segment_id == "PER":
                contacts.append(_contact(segment))
            else:
                delivery = DeliveryMethod(
                    method=_required(segment, 1, "report transmission code"),
                    name=segment.element(2),
                    communication_number=segment.element(3),
                    position=segment.position,
                )
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
        party = Party(
            entity=entity,
            name=_required(n1, 2, f"{role} name"),
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
                number, position = _required(lx, 1, "assigned number"), lx.position
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
            provider_id=_required(segment, 1, "provider identifier"),
            facility_type=segment.element(2),
            fiscal_period_date=segment.element(3),
            claim_count=_decimal(segment, 4) if segment.element(4) else None,
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
                adjustments.extend(_adjustments(segment))
            elif segment_id == "NM1":
                names.append(_claim_name(segment))
            elif segment_id == "REF":
                references.append(_reference(segment))
            elif segment_id == "DTM":
                dates.append(_date(segment))
            elif segment_id == "AMT":
                amounts.append(_amount(segment))
            elif segment_id == "QTY":
                quantities.append(_quantity(segment))
            elif segment_id == "MIA":
                inpatient = _inpatient(segment)
            elif segment_id == "MOA":
                outpatient = _outpatient(segment)
            else:
                contacts.append(_contact(segment))
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
        claim = Claim(
            patient_control_number=elements[1],
            status=elements[2],
            charge_cents=_cents(clp, 3, elements[3]),
            paid_cents=_cents(clp, 4, elements[4]),
            patient_responsibility_cents=_cents(clp, 5, elements[5]) if elements[5] else None,
            filing_indicator=elements[6],
            payer_claim_control_number=elements[7],
            facility_type=elements[8],
            frequency=elements[9],
            drg_code=elements[11],
            drg_weight=_decimal(clp, 12) if elements[12] else None,
            discharge_fraction=_decimal(clp, 13) if elements[13] else None,
            adjustments=tuple(adjustments),
            names=tuple(names),
            inpatient=inpatient,
            outpatient=outpatient,
            references=tuple(references),
            dates=tuple(dates),
            contacts=tuple(contacts),
            amounts=tuple(amounts),
            quantities=tuple(quantities),
            lines=tuple(lines),
            header_number=header_number,
            position=clp.position,
        )
        return claim, index

    def _read_line(self, index: int) -> tuple[ServiceLine, int]:
        """Loop 2110: SVC and its DTM, CAS, REF, AMT, QTY and LQ."""
        segments = self.segments
        count = len(segments)
        svc = segments[index]
        elements = _padded(svc.elements, 8)
        parts = elements[1].split(self.component)
        if len(parts) >= 2 and len(parts[0]) == 2 and parts[1] and parts[0].isalnum():
            procedure = ProcedureCode(
                qualifier=parts[0],
                code=parts[1],
                modifiers=tuple(filter(None, parts[2:6])) if len(parts) > 2 else (),
                description=parts[6] if len(parts) > 6 else "",
            )
        else:
            procedure = self._procedure(svc, 1)  # raises the precise error
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
                adjustments.extend(_adjustments(segment))
            elif segment_id == "DTM":
                dates.append(_date(segment))
            elif segment_id == "REF":
                references.append(_reference(segment))
            elif segment_id == "AMT":
                amounts.append(_amount(segment))
            elif segment_id == "LQ":
                remarks.append(_remark(segment))
            else:
                quantities.append(_quantity(segment))
            index += 1
        line = ServiceLine(
            procedure=procedure,
            charge_cents=_cents(svc, 2, elements[2]),
            paid_cents=_cents(svc, 3, elements[3]),
            revenue_code=elements[4],
            units_paid=_decimal(svc, 5) if elements[5] else None,
            submitted_procedure=self._procedure(svc, 6, required=False) if elements[6] else None,
            units_submitted=_decimal(svc, 7) if elements[7] else None,
            dates=tuple(dates),
            adjustments=tuple(adjustments),
            references=tuple(references),
            amounts=tuple(amounts),
            quantities=tuple(quantities),
            remarks=tuple(remarks),
            position=svc.position,
        )
        return line, index

    @overload
    def _procedure(self, segment: Segment, index: int, *, required: Literal[True] = True) -> ProcedureCode: ...

    @overload
    def _procedure(self, segment: Segment, index: int, *, required: Literal[False]) -> ProcedureCode | None: ...

    def _procedure(self, segment: Segment, index: int, *, required: bool = True) -> ProcedureCode | None:
        value = segment.element(index)
        if not value:
            if required:
                raise _missing(segment, index)
            return None
        parts = value.split(self.component)
        qualifier = parts[0]
        code = parts[1] if len(parts) > 1 else ""
        name = f"{segment.id}{index:02d}"
        if len(qualifier) != 2 or not qualifier.isalnum():
            raise X12SyntaxError(
                f"{name} {value!r} does not start with a two-character product/service qualifier "
                f"(HC, NU, AD...) followed by the component separator {self.component!r} declared in ISA16",
                segment_id=segment.id,
                position=segment.position,
                element_index=index,
            )
        if not code:
            raise X12SyntaxError(
                f"{name} {value!r} has no procedure code ({name}-2 is required)",
                segment_id=segment.id,
                position=segment.position,
                element_index=index,
            )
        return ProcedureCode(
            qualifier=qualifier,
            code=code,
            modifiers=tuple(modifier for modifier in parts[2:6] if modifier),
            description=parts[6] if len(parts) > 6 else "",
        )

    def _read_provider_adjustments(self, index: int) -> tuple[tuple[ProviderAdjustment, ...], int]:
        """PLB segments: up to six (reason:reference, amount) pairs each."""
        segments = self.segments
        adjustments: list[ProviderAdjustment] = []
        while index < len(segments) and segments[index].id == "PLB":
            segment = segments[index]
            elements = segment.elements
            provider_id = _required(segment, 1, "provider identifier")
            fiscal_period = _required(segment, 2, "fiscal period date")
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


def _adjustments(cas: Segment) -> list[ClaimAdjustment]:
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
                quantity=_decimal(cas, reason_index + 2) if quantity else None,
                position=cas.position,
            )
        )
    if not adjustments:
        raise _missing(cas, 2)
    return adjustments


def _claim_name(nm1: Segment) -> ClaimName:
    elements = _padded(nm1.elements, 10)
    if not (elements[1] and elements[2]):
        raise _missing(nm1, 1 if not elements[1] else 2, "entity identifier" if not elements[1] else "entity type")
    return ClaimName(
        entity=elements[1],
        entity_type=elements[2],
        last_or_organization_name=elements[3],
        first_name=elements[4],
        middle_name=elements[5],
        suffix=elements[7],
        id_qualifier=elements[8],
        id=elements[9],
        position=nm1.position,
    )


def _inpatient(mia: Segment) -> InpatientAdjudication:
    element = mia.element
    return InpatientAdjudication(
        covered_days=_decimal(mia, 1) if element(1) else None,
        lifetime_psychiatric_days=_decimal(mia, 3) if element(3) else None,
        cost_report_day_count=_decimal(mia, 15) if element(15) else None,
        amounts=tuple((f"MIA{i:02d}", _cents(mia, i)) for i in _MIA_AMOUNTS if element(i)),
        remark_codes=tuple(element(i) for i in _MIA_REMARKS if element(i)),
        position=mia.position,
    )


def _outpatient(moa: Segment) -> OutpatientAdjudication:
    element = moa.element
    return OutpatientAdjudication(
        reimbursement_rate=_decimal(moa, 1) if element(1) else None,
        hcpcs_payable_cents=_cents(moa, 2) if element(2) else None,
        remark_codes=tuple(element(i) for i in range(3, 8) if element(i)),
        esrd_payment_cents=_cents(moa, 8) if element(8) else None,
        nonpayable_professional_component_cents=_cents(moa, 9) if element(9) else None,
        position=moa.position,
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
        return parse_cents(value)
    except ValueError as exc:
        if not value:
            raise _missing(segment, index, "amount") from None
        raise X12SyntaxError(
            f"{segment.id}{index:02d} {exc}", segment_id=segment.id, position=segment.position, element_index=index
        ) from None


def _decimal(segment: Segment, index: int) -> Decimal:
    value = segment.element(index)
    if value.isdigit() and value.isascii():  # whole units, the common case
        return Decimal(value)
    try:
        return parse_decimal(value)
    except ValueError as exc:
        raise X12SyntaxError(
            f"{segment.id}{index:02d} {exc}", segment_id=segment.id, position=segment.position, element_index=index
        ) from None
