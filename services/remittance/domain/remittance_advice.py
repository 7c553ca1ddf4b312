"""The 835 health care claim payment/advice (005010X221A1) as immutable values.

Money is integer cents with the sign written in the file; dates are kept as written
(CCYYMMDD) because payers do send impossible ones and posting must not fail on an
informational date. `position` on every record is the segment's 1-based index in the file,
so a posting problem can be traced back to the exact segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.fast_init import fast_init

CLAIM_ADJUSTMENT_GROUPS = frozenset({"CO", "OA", "PI", "PR"})
"""CAS01 in 005010X221A1: contractual obligation, other adjustment, payer-initiated, patient responsibility."""


@fast_init
@dataclass(frozen=True, slots=True)
class ParseWarning:
    """A non-financial element the payer got wrong, read around or ignored: the money still posts.

    Located like an `X12Error` (segment id, 1-based segment position in the file, element number)."""

    segment_id: str
    position: int
    element: int | None
    message: str

    def __str__(self) -> str:
        where = f"segment {self.position} ({self.segment_id})"
        if self.element is not None:
            where += f", element {self.element}"
        return f"{where}: {self.message}"


@fast_init
@dataclass(frozen=True, slots=True)
class Reference:
    """REF: an identifier with its qualifier (e.g. 6R line item control number, EV receiver id)."""

    qualifier: str
    value: str
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class DateReference:
    """DTM: a qualified date (405 production, 232/233 statement period, 472 service date...)."""

    qualifier: str
    date: str
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class MonetaryAmount:
    """AMT: a supplemental amount (AU coverage amount, B6 allowed, I interest...)."""

    qualifier: str
    amount_cents: int
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class Quantity:
    """QTY: a supplemental quantity (CA covered days, ZK federal units...)."""

    qualifier: str
    quantity: Decimal
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class Contact:
    """PER: a contact and up to three (qualifier, number) channels such as ("TE", "8005551212")."""

    function: str
    name: str
    channels: tuple[tuple[str, str], ...]
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class Address:
    """N3 and N4 of a payer or payee."""

    lines: tuple[str, ...]
    city: str
    state: str
    postal_code: str
    country: str
    country_subdivision: str


@fast_init
@dataclass(frozen=True, slots=True)
class DeliveryMethod:
    """RDM: how the payee asked to receive the remittance."""

    method: str
    name: str
    communication_number: str
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class Party:
    """Loop 1000A payer (N1*PR) or 1000B payee (N1*PE)."""

    entity: str
    name: str
    id_qualifier: str
    id: str
    address: Address | None
    references: tuple[Reference, ...]
    contacts: tuple[Contact, ...]
    delivery: DeliveryMethod | None
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class FinancialInformation:
    """BPR: the payment itself (amount, credit/debit, method, banks, date)."""

    handling_code: str
    """BPR01: C payment with remittance, D make payment only, H notification only, I remittance only..."""
    amount_cents: int
    credit_debit: str
    method: str
    """BPR04: ACH, BOP, CHK, FWT or NON."""
    format: str
    sender_dfi_qualifier: str
    sender_dfi_id: str
    sender_account_qualifier: str
    sender_account: str
    originating_company_id: str
    originating_company_supplemental_code: str
    receiver_dfi_qualifier: str
    receiver_dfi_id: str
    receiver_account_qualifier: str
    receiver_account: str
    payment_date: str
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class ReassociationTrace:
    """TRN: ties the remittance to the money; TRN02 is the check or EFT trace number."""

    trace_type: str
    trace_number: str
    originating_company_id: str
    originating_company_supplemental_code: str
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class Currency:
    """CUR: the payment currency when it is not USD."""

    entity: str
    code: str
    exchange_rate: Decimal | None
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class ClaimAdjustment:
    """One reason/amount/quantity triplet of a CAS segment.

    `group` is CAS01 (CO, OA, PI, PR), `reason` the CARC.
    """

    group: str
    reason: str
    amount_cents: int
    quantity: Decimal | None
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class ClaimName:
    """NM1 in loop 2100: QC patient, IL insured, 74 corrected insured, 82 rendering provider,
    TT crossover carrier, PR corrected priority payer, GB other subscriber."""

    entity: str
    entity_type: str
    last_or_organization_name: str
    first_name: str
    middle_name: str
    suffix: str
    id_qualifier: str
    id: str
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class InpatientAdjudication:
    """MIA: Medicare inpatient adjudication; amounts keyed by element ("MIA02") in cents."""

    covered_days: Decimal | None
    lifetime_psychiatric_days: Decimal | None
    cost_report_day_count: Decimal | None
    amounts: tuple[tuple[str, int], ...]
    remark_codes: tuple[str, ...]
    position: int

    def amount(self, element: str) -> int | None:
        return dict(self.amounts).get(element)


@fast_init
@dataclass(frozen=True, slots=True)
class OutpatientAdjudication:
    """MOA: Medicare outpatient adjudication."""

    reimbursement_rate: Decimal | None
    hcpcs_payable_cents: int | None
    remark_codes: tuple[str, ...]
    esrd_payment_cents: int | None
    nonpayable_professional_component_cents: int | None
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class ProcedureCode:
    """The composite in SVC01/SVC06: qualifier (HC, NU, AD, N4...), code, modifiers, description."""

    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    description: str


@fast_init
@dataclass(frozen=True, slots=True)
class RemarkCode:
    """LQ: HE is a RARC, RX an NCPDP reject code."""

    qualifier: str
    code: str
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class ServiceLine:
    """Loop 2110: one adjudicated service line."""

    procedure: ProcedureCode
    charge_cents: int
    """SVC02: the line charge as submitted."""
    paid_cents: int
    """SVC03: what the payer paid for the line."""
    revenue_code: str
    units_paid: Decimal | None
    submitted_procedure: ProcedureCode | None
    units_submitted: Decimal | None
    dates: tuple[DateReference, ...]
    adjustments: tuple[ClaimAdjustment, ...]
    references: tuple[Reference, ...]
    amounts: tuple[MonetaryAmount, ...]
    quantities: tuple[Quantity, ...]
    remarks: tuple[RemarkCode, ...]
    position: int
    procedure_unreliable: bool = False
    """SVC01 could not be read as the guide writes it (a `ParseWarning` says why): the line is matched to
    ours by REF*6R or by its order in the claim, never by this procedure code."""

    @property
    def control_number(self) -> str | None:
        """REF*6R: the line item control number the provider sent on the 837, echoed back."""
        for reference in self.references:
            if reference.qualifier == "6R":
                return reference.value
        return None


@fast_init
@dataclass(frozen=True, slots=True)
class Claim:
    """Loop 2100: the payment of one claim."""

    patient_control_number: str
    """CLP01: the provider's claim identifier (CLM01 of the 837)."""
    status: str
    """CLP02 as written: 1 processed as primary, 2 secondary, 3 tertiary, 4 denied, 22 reversal..."""
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int | None
    filing_indicator: str
    payer_claim_control_number: str
    facility_type: str
    frequency: str
    drg_code: str
    drg_weight: Decimal | None
    discharge_fraction: Decimal | None
    adjustments: tuple[ClaimAdjustment, ...]
    """Claim-level CAS only; see `all_adjustments` for claim and line together."""
    names: tuple[ClaimName, ...]
    inpatient: InpatientAdjudication | None
    outpatient: OutpatientAdjudication | None
    references: tuple[Reference, ...]
    dates: tuple[DateReference, ...]
    contacts: tuple[Contact, ...]
    amounts: tuple[MonetaryAmount, ...]
    quantities: tuple[Quantity, ...]
    lines: tuple[ServiceLine, ...]
    header_number: str | None
    """LX01 of the loop 2000 the claim sits in, None when the payer sent no LX."""
    position: int

    @property
    def all_adjustments(self) -> tuple[ClaimAdjustment, ...]:
        """Claim-level then line-level CAS triplets, in file order within each level."""
        if not self.lines:
            return self.adjustments
        return self.adjustments + tuple(adj for line in self.lines for adj in line.adjustments)

    def name(self, entity: str) -> ClaimName | None:
        for name in self.names:
            if name.entity == entity:
                return name
        return None


@fast_init
@dataclass(frozen=True, slots=True)
class ProviderSummary:
    """TS3: provider summary totals for one loop 2000 (institutional remits)."""

    provider_id: str
    facility_type: str
    fiscal_period_date: str
    claim_count: Decimal | None
    total_charge_cents: int | None
    amounts: tuple[tuple[str, int], ...]
    """Other TS3 monetary elements present, keyed by element ("TS313")."""
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class ProviderSupplementalSummary:
    """TS2: Medicare Part A supplemental totals, kept as written keyed by element ("TS201")."""

    values: tuple[tuple[str, str], ...]
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class HeaderNumber:
    """Loop 2000: an LX grouping of claims (by provider, bill type...)."""

    number: str | None
    provider_summary: ProviderSummary | None
    supplemental_summary: ProviderSupplementalSummary | None
    claims: tuple[Claim, ...]
    position: int | None


@fast_init
@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One reason/amount pair of a PLB segment; a positive amount reduces the payment."""

    provider_id: str
    fiscal_period_date: str
    reason: str
    reference: str
    amount_cents: int
    position: int


@fast_init
@dataclass(frozen=True, slots=True)
class RemittanceAdvice:
    """One 835 transaction set: one payment (BPR) and the claims it pays."""

    control_number: str
    implementation: str
    interchange_control_number: str
    group_control_number: str
    payment: FinancialInformation
    trace: ReassociationTrace
    currency: Currency | None
    references: tuple[Reference, ...]
    dates: tuple[DateReference, ...]
    payer: Party
    payee: Party
    header_numbers: tuple[HeaderNumber, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...]
    position: int
    """Position of the ST segment."""
    warnings: tuple[ParseWarning, ...] = ()
    """Faulty non-financial elements of this transaction set, in file order."""

    @property
    def claims(self) -> tuple[Claim, ...]:
        return tuple(claim for group in self.header_numbers for claim in group.claims)

    @property
    def provider_adjustment_total_cents(self) -> int:
        return sum(adjustment.amount_cents for adjustment in self.provider_adjustments)

    @property
    def production_date(self) -> str | None:
        for date in self.dates:
            if date.qualifier == "405":
                return date.date
        return None
