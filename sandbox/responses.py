"""X12 the sandbox writes back: 999 (005010X231A1), 277CA (005010X214) and 835 (005010X221A1).

Pure functions of what was read, the adjudication and a clock; control numbers come from
the caller. Every file here passes pyx12 with zero errors (tests/unit/sandbox).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sandbox.claims_837 import Received837, ReceivedClaim, ReceivedTransaction
from sandbox.rules import ClaimAdjudication
from services.claims.domain.x12_numbers import cents_to_x12, d8
from shared.x12 import Delimiters, encode_segments

DELIMITERS = Delimiters(element="*", component=":", segment="~", repetition="^")


@dataclass(frozen=True, slots=True)
class Party:
    """An interchange party: ISA qualifier and id (also GS sender/receiver)."""

    qualifier: str
    identifier: str


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: Party
    receiver: Party
    interchange_control_number: int
    group_control_number: int
    created_at: datetime
    usage: str = "T"


def _interchange(envelope: Envelope, functional_id: str, version: str, transactions: Sequence[list[list[str]]]) -> str:
    created = envelope.created_at
    isa13 = f"{envelope.interchange_control_number:09d}"
    segments: list[list[str]] = [
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            envelope.sender.qualifier,
            f"{envelope.sender.identifier:<15}",
            envelope.receiver.qualifier,
            f"{envelope.receiver.identifier:<15}",
            created.strftime("%y%m%d"),
            created.strftime("%H%M"),
            "^",
            "00501",
            isa13,
            "0",
            envelope.usage,
            ":",
        ],
        [
            "GS",
            functional_id,
            envelope.sender.identifier,
            envelope.receiver.identifier,
            created.strftime("%Y%m%d"),
            created.strftime("%H%M"),
            str(envelope.group_control_number),
            "X",
            version,
        ],
    ]
    for number, body in enumerate(transactions, 1):
        control = f"{number:04d}"
        transaction_id = {"FA": "999", "HN": "277", "HP": "835", "HB": "271"}[functional_id]
        # pyx12's 835 map marks ST03 "not used"; GS08 carries the implementation guide there.
        segments.append(["ST", transaction_id, control] + ([] if functional_id == "HP" else [version]))
        segments.extend(body)
        segments.append(["SE", str(len(body) + 2), control])
    segments.append(["GE", str(len(transactions)), str(envelope.group_control_number)])
    segments.append(["IEA", "1", isa13])
    return encode_segments(_trimmed(segments), DELIMITERS, line_break="\n")


def _trimmed(segments: Iterable[list[str]]) -> Iterable[list[str]]:
    """Drop trailing empty elements, as X12 requires (the ISA is fixed width and kept whole)."""
    for elements in segments:
        if elements[0] != "ISA":
            while elements and elements[-1] == "":
                elements = elements[:-1]
        yield elements


# --------------------------------------------------------------------------- 999


def write_999(received: Received837, envelope: Envelope) -> str:
    """One 999 transaction per functional group of the 837, each AK2 with its IK3/IK4 errors and IK5 verdict."""
    bodies = []
    for group in received.groups:
        body: list[list[str]] = [["AK1", "HC", group.control_number, group.version]]
        accepted = 0
        for transaction in group.transactions:
            body.append(["AK2", "837", transaction.control_number, transaction.implementation])
            for problem in transaction.problems[:20]:
                body.append(["IK3", problem.segment_id, str(problem.position_in_set), problem.loop, problem.code])
                if problem.claim_control_number:
                    body.append(["CTX", f"CLM01:{problem.claim_control_number}"])
                for element in problem.elements:
                    body.append(["IK4", element.element, element.reference, element.code, element.bad_value])
            if transaction.accepted:
                accepted += 1
                body.append(["IK5", "A"])
            else:
                body.append(["IK5", "R", *transaction.transaction_errors[:5]])
        total = len(group.transactions)
        if group.group_errors or accepted == 0:
            status = "R"
        else:
            status = "A" if accepted == total else "P"
        body.append(["AK9", status, str(total), str(total), str(accepted), *group.group_errors[:5]])
        bodies.append(body)
    return _interchange(envelope, "FA", "005010X231A1", bodies)


# --------------------------------------------------------------------------- 277CA


@dataclass(frozen=True, slots=True)
class ClaimVerdict:
    """The clearinghouse's front-end verdict on one claim: accepted, or rejected with STC01 codes."""

    claim: ReceivedClaim
    rejections: tuple[tuple[str, str, str], ...]
    """(category, status, entity) per reason, e.g. ("A7", "164", "IL"); empty when accepted."""
    payer_claim_number: str | None

    @property
    def accepted(self) -> bool:
        return not self.rejections


def write_277ca(
    transaction: ReceivedTransaction, verdicts: Sequence[ClaimVerdict], envelope: Envelope, received_on: date
) -> str:
    """A 277CA for one 837 transaction set: batch totals for us, then one status per claim, by billing provider."""
    today = d8(envelope.created_at.date())
    first = verdicts[0].claim
    reference = transaction.reference or transaction.control_number
    body: list[list[str]] = [
        ["BHT", "0085", "08", reference, today, envelope.created_at.strftime("%H%M%S"), "TH"],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", first.payer_name or "SANDBOX PAYER", "", "", "", "", "PI", first.payer_id or "SANDBOX"],
        ["TRN", "1", reference],
        ["DTP", "050", "D8", d8(received_on)],
        ["DTP", "009", "D8", today],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "41", "2", "CLAIMFLOW SUBMITTER", "", "", "", "", "46", envelope.receiver.identifier],
        ["TRN", "2", reference],
    ]
    accepted = [v for v in verdicts if v.accepted]
    rejected = [v for v in verdicts if not v.accepted]
    total = sum(v.claim.charge_cents for v in verdicts)
    body.append(["STC", "A1:19", today, "WQ", cents_to_x12(total)])
    if accepted:
        body.append(["QTY", "90", str(len(accepted))])
    if rejected:
        body.append(["QTY", "AA", str(len(rejected))])
    if accepted:
        body.append(["AMT", "YU", cents_to_x12(sum(v.claim.charge_cents for v in accepted))])
    if rejected:
        body.append(["AMT", "YY", cents_to_x12(sum(v.claim.charge_cents for v in rejected))])
    hl = 2
    by_provider: dict[str, list[ClaimVerdict]] = {}
    for verdict in verdicts:
        by_provider.setdefault(verdict.claim.billing_provider_npi, []).append(verdict)
    for npi, provider_verdicts in by_provider.items():
        hl += 1
        provider_hl = hl
        provider = provider_verdicts[0].claim
        body.append(["HL", str(provider_hl), "2", "19", "1"])
        body.append(["NM1", "85", "2", provider.billing_provider_name, "", "", "", "", "XX", npi])
        body.append(["TRN", "1", f"{reference}-{provider_hl}"])
        provider_total = sum(v.claim.charge_cents for v in provider_verdicts)
        body.append(["STC", "A1:19:85", "", "WQ", cents_to_x12(provider_total)])
        for verdict in provider_verdicts:
            hl += 1
            claim = verdict.claim
            body.append(["HL", str(hl), str(provider_hl), "PT"])
            last = claim.patient_last_name or claim.subscriber_last_name
            first_name = claim.patient_first_name if claim.patient_last_name else claim.subscriber_first_name
            # NM109 is required: the subscriber's id, or a placeholder when the 837 had none (rejected A6:164:IL).
            member_id = claim.member_id or "NOTPROVIDED"
            body.append(["NM1", "QC", "1", last or "UNKNOWN", first_name or "", "", "", "", "MI", member_id])
            body.append(["TRN", "2", claim.control_number])
            charge = cents_to_x12(claim.charge_cents)
            if verdict.accepted:
                body.append(["STC", "A2:20", today, "WQ", charge])
            else:
                for category, status, entity in verdict.rejections:
                    code = ":".join(part for part in (category, status, entity) if part)
                    body.append(["STC", code, today, "U", charge])
            if verdict.payer_claim_number:
                body.append(["REF", "1K", verdict.payer_claim_number])
            if claim.bill_type:
                body.append(["REF", "BLT", claim.bill_type])
            body.append(_service_dtp(claim, received_on))
    return _interchange(envelope, "HN", "005010X214", [body])


def _service_dtp(claim: ReceivedClaim, fallback: date) -> list[str]:
    start, end = claim.service_period()
    start = start or fallback
    end = end or start
    if start == end:
        return ["DTP", "472", "D8", d8(start)]
    return ["DTP", "472", "RD8", f"{d8(start)}-{d8(end)}"]


# --------------------------------------------------------------------------- 835


@dataclass(frozen=True, slots=True)
class PayerDetails:
    """What the sandbox payer prints about itself on an 835 (all synthetic)."""

    name: str = "SANDBOX HEALTH PLAN"
    tax_id: str = "1999999999"
    address_line: str = "1 SANDBOX WAY"
    city: str = "TESTVILLE"
    state: str = "CA"
    postal_code: str = "90000"
    phone: str = "5555550199"
    bank_routing: str = "999999992"
    bank_account: str = "123456789"


def write_835(
    adjudications: Sequence[ClaimAdjudication],
    envelope: Envelope,
    payer_claim_numbers: dict[str, str],
    trace_numbers: Sequence[str],
    received_on: date,
    payer: PayerDetails | None = None,
) -> str:
    """One 835 transaction per billing provider (payee); all claims of one payer.

    ``trace_numbers`` gives the TRN02 (check/EFT number) for each payee in order of first appearance.
    """
    payer = payer or PayerDetails()
    by_payee: dict[str, list[ClaimAdjudication]] = {}
    for adjudication in adjudications:
        by_payee.setdefault(adjudication.claim.billing_provider_npi, []).append(adjudication)
    bodies = [
        _remittance(claims, trace, payer, payer_claim_numbers, envelope.created_at.date(), received_on)
        for (claims, trace) in zip(by_payee.values(), trace_numbers, strict=False)
    ]
    return _interchange(envelope, "HP", "005010X221A1", bodies)


def _remittance(
    adjudications: list[ClaimAdjudication],
    trace: str,
    payer: PayerDetails,
    payer_claim_numbers: dict[str, str],
    paid_on: date,
    received_on: date,
) -> list[list[str]]:
    total = sum(a.paid_cents for a in adjudications)
    first = adjudications[0].claim
    payer_name = first.payer_name or payer.name
    forwarded = _forward_balance(adjudications, total, paid_on)
    if forwarded:
        total = 0
    if total > 0:
        bpr = [
            "BPR",
            "I",
            cents_to_x12(total),
            "C",
            "ACH",
            "CCP",
            "01",
            payer.bank_routing,
            "DA",
            payer.bank_account,
            payer.tax_id,
            "",
            "01",
            "999988880",
            "DA",
            "98765",
            d8(paid_on),
        ]
    else:
        bpr = ["BPR", "H", "0", "C", "NON", "", "", "", "", "", "", "", "", "", "", "", d8(paid_on)]
    body: list[list[str]] = [
        bpr,
        ["TRN", "1", trace, payer.tax_id],
        ["DTM", "405", d8(paid_on)],
        ["N1", "PR", payer_name],
        ["N3", payer.address_line],
        ["N4", payer.city, payer.state, payer.postal_code],
        ["PER", "BL", "SANDBOX EDI DESK", "TE", payer.phone],
        ["N1", "PE", first.billing_provider_name, "XX", first.billing_provider_npi],
    ]
    if first.billing_provider_tax_id:
        body.append(["REF", "TJ", first.billing_provider_tax_id])
    body.append(["LX", "1"])
    for adjudication in adjudications:
        number = adjudication.reverses or payer_claim_numbers[adjudication.claim.control_number]
        body.extend(_claim_payment(adjudication, number, received_on))
    body.extend(forwarded)
    return body


def _forward_balance(adjudications: list[ClaimAdjudication], total: int, paid_on: date) -> list[list[str]]:
    """A check that reversals leave negative pays nothing: the provider's debt goes forward to a later check as
    a PLB FB (forward balance, negative here) naming the first payer claim number reversed, so BPR02 = 0 =
    payments - PLB."""
    if total >= 0:
        return []
    reversal = next(a for a in adjudications if a.reverses)
    provider = adjudications[0].claim.billing_provider_npi
    return [["PLB", provider, f"{paid_on.year}1231", f"FB:{reversal.reverses}", cents_to_x12(total)]]


# CLP06 takes fewer codes than SBR09: commercial (CI), Blue Cross (BL) and the like become ZZ (mutually defined).
_CLP06_CODES = frozenset(
    {"12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"}
)


def _clp06(filing_indicator: str) -> str:
    return filing_indicator if filing_indicator in _CLP06_CODES else "ZZ"


def _claim_payment(adjudication: ClaimAdjudication, payer_claim_number: str, received_on: date) -> list[list[str]]:
    """One CLP loop; a reversal's amounts (charge, payments, adjustments, allowed) written negated."""
    claim = adjudication.claim
    sign = adjudication.sign
    segments: list[list[str]] = [
        [
            "CLP",
            claim.control_number,
            adjudication.status_code,
            cents_to_x12(sign * claim.charge_cents),
            cents_to_x12(adjudication.paid_cents),
            cents_to_x12(adjudication.patient_responsibility_cents),
            _clp06(claim.filing_indicator),
            payer_claim_number,
            claim.facility_code,
            claim.frequency or "1",
        ]
    ]
    if claim.patient_last_name is not None:
        segments.append(["NM1", "QC", "1", claim.patient_last_name, claim.patient_first_name or ""])
        segments.append(
            [
                "NM1",
                "IL",
                "1",
                claim.subscriber_last_name,
                claim.subscriber_first_name,
                "",
                "",
                "",
                "MI",
                claim.member_id,
            ]
        )
    else:
        segments.append(
            [
                "NM1",
                "QC",
                "1",
                claim.subscriber_last_name,
                claim.subscriber_first_name,
                "",
                "",
                "",
                "MI",
                claim.member_id,
            ]
        )
    if adjudication.claim_remarks:
        segments.append(["MOA", "", "", *adjudication.claim_remarks[:5]])
    if claim.statement_from is not None:
        segments.append(["DTM", "232", d8(claim.statement_from)])
        segments.append(["DTM", "233", d8(claim.statement_to or claim.statement_from)])
    segments.append(["DTM", "050", d8(received_on)])
    for line in adjudication.lines:
        received = line.line
        charge, paid = cents_to_x12(sign * received.charge_cents), cents_to_x12(sign * line.paid_cents)
        if received.procedure_code:
            procedure = ":".join(("HC", received.procedure_code, *received.modifiers))
            svc = ["SVC", procedure, charge, paid, received.revenue_code, received.units or "1"]
        else:
            svc = ["SVC", f"NU:{received.revenue_code}", charge, paid, "", received.units or "1"]
        segments.append(svc)
        if received.service_date is not None and claim.statement_from is None:
            if received.service_date_end and received.service_date_end != received.service_date:
                segments.append(["DTM", "150", d8(received.service_date)])
                segments.append(["DTM", "151", d8(received.service_date_end)])
            else:
                segments.append(["DTM", "472", d8(received.service_date)])
        by_group: dict[str, list[str]] = {}
        for adjustment in line.adjustments:
            by_group.setdefault(adjustment.group, []).extend(
                [adjustment.reason, cents_to_x12(sign * adjustment.amount_cents), ""]
            )
        for group, triplets in by_group.items():
            segments.append(["CAS", group, *triplets])
        if received.control_number:
            segments.append(["REF", "6R", received.control_number])
        if line.allowed_cents or not line.adjustments or line.adjustments[0].reason == "45":
            segments.append(["AMT", "B6", cents_to_x12(sign * line.allowed_cents)])
        for remark in line.remarks:
            segments.append(["LQ", "HE", remark])
    return segments
