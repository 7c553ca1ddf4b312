"""Pure writer of X12 837 claim files: 837P (005010X222A1) and 837I (005010X223A2).

No I/O: claims in, text out. Control numbers come from the caller, who persists them.
Every claim is checked (``claim_checks``) before anything is written; a bad claim raises
``ClaimValidationError`` listing each problem with the field path that caused it, so
nothing half-written ever leaves this module.

Layout of one transaction set (ST..SE), claims grouped by value:

    2000A billing provider HL (2010AA, 2010AB)
      2000B subscriber HL (2010BA, 2010BB)  [+ 2300 claims when the subscriber is the patient]
        2000C patient HL (2010CA)           [+ 2300 claims for a dependent]

2300 carries 2310x providers, 2320/2330A/2330B other-payer adjudication for COB claims,
and 2400 lines with 2410 drug, 2430 line adjudication.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.claims.domain.claim import (
    Address,
    Adjustment,
    AmbulanceTransport,
    Attachment,
    BillingProvider,
    Claim,
    ClaimKind,
    InstitutionalDetails,
    LineAdjudication,
    OtherCoverage,
    OtherPayer,
    Patient,
    Payer,
    Provider,
    Receiver,
    ServiceFacility,
    ServiceLine,
    Submitter,
    Subscriber,
)
from services.claims.domain.claim_checks import (
    MAX_ADJUSTMENTS_PER_CAS,
    ClaimValidationError,
    Problem,
    validate_claims,
)
from services.claims.domain.control_numbers import ControlNumbers, following, gs06, isa13, st02
from services.claims.domain.x12_numbers import d8, quantity_to_x12, x12_amount

VERSION_PROFESSIONAL = "005010X222A1"
VERSION_INSTITUTIONAL = "005010X223A2"
VERSIONS = {ClaimKind.PROFESSIONAL: VERSION_PROFESSIONAL, ClaimKind.INSTITUTIONAL: VERSION_INSTITUTIONAL}

MAX_CLAIMS_PER_HL = 100  # loop 2300 repeats at most 100 times under one HL
DEFAULT_MAX_CLAIMS_PER_TRANSACTION = 5000  # the TR3's recommended ceiling per ST


class UsageIndicator(StrEnum):
    """ISA15."""

    TEST = "T"
    PRODUCTION = "P"


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """One ST..SE written, with the claims it carries (for 999/277CA matching)."""

    group_control_number: int
    control_number: int
    kind: ClaimKind
    claim_control_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Interchange837:
    """One ISA..IEA interchange as text, and what is inside it."""

    text: str = field(repr=False)
    interchange_control_number: int
    submitter_id: str
    receiver_id: str
    payer_ids: tuple[str, ...]
    transactions: tuple[TransactionSet, ...]
    next_control_numbers: ControlNumbers

    @property
    def claim_count(self) -> int:
        return sum(len(t.claim_control_numbers) for t in self.transactions)


@dataclass(frozen=True, slots=True)
class Batch837:
    """The interchanges written by ``write_batches`` and the control numbers to use next."""

    interchanges: tuple[Interchange837, ...]
    next_control_numbers: ControlNumbers


# --------------------------------------------------------------------------- writing


def _nm1_person(entity: str, provider: Provider) -> str:
    middle = provider.middle_name or ""
    return f"NM1*{entity}*1*{provider.last_name}*{provider.first_name or ''}*{middle}***XX*{provider.npi}"


def _address_segments(address: Address) -> tuple[str, str]:
    n3 = f"N3*{address.line1}*{address.line2}" if address.line2 else f"N3*{address.line1}"
    return n3, f"N4*{address.city}*{address.state}*{address.postal_code}"


def _composite_procedure(code: str, modifiers: tuple[str, ...]) -> str:
    if modifiers:
        return f"HC:{code}:{':'.join(modifiers)}"
    return f"HC:{code}"


def _elements(segment: str) -> str:
    """A segment without its trailing empty elements."""
    return segment.rstrip("*")


def _pwk_segments(attachments: tuple[Attachment, ...]) -> list[str]:
    return [
        f"PWK*{a.report_type}*{a.transmission}***AC*{a.control_number}"
        if a.control_number
        else f"PWK*{a.report_type}*{a.transmission}"
        for a in attachments
    ]


def _hi_segments(append: Callable[[str], None], qualifier: str, components: Sequence[str]) -> None:
    """One HI per 12 composites of one qualifier."""
    for start in range(0, len(components), 12):
        append(f"HI*{qualifier}:" + f"*{qualifier}:".join(components[start : start + 12]))


def _cas_segments(adjustments: tuple[Adjustment, ...]) -> list[str]:
    by_group: dict[str, list[str]] = {}
    for adjustment in adjustments:
        quantity = "" if adjustment.quantity is None else quantity_to_x12(adjustment.quantity)
        by_group.setdefault(adjustment.group, []).append(
            f"{adjustment.reason_code}*{x12_amount(adjustment.amount_cents)}*{quantity}"
        )
    segments = []
    for group, triplets in by_group.items():
        for start in range(0, len(triplets), MAX_ADJUSTMENTS_PER_CAS):
            segments.append(f"CAS*{group}*{'*'.join(triplets[start : start + MAX_ADJUSTMENTS_PER_CAS])}".rstrip("*"))
    return segments


class _TransactionWriter:
    """Writes the body (BHT..last 2400) of one transaction set into ``out``."""

    __slots__ = ("cache", "institutional", "out")

    def __init__(self, out: list[str], kind: ClaimKind) -> None:
        self.out = out
        self.institutional = kind is ClaimKind.INSTITUTIONAL
        self.cache: dict[tuple[int, str], tuple[str, ...]] = {}

    def billing_provider(self, provider: BillingProvider, hl: int) -> None:
        out = self.out
        out.append(f"HL*{hl}**20*1")
        if provider.taxonomy:
            out.append(f"PRV*BI*PXC*{provider.taxonomy}")
        if provider.first_name is None:
            out.append(f"NM1*85*2*{provider.name}*****XX*{provider.npi}")
        else:
            out.append(f"NM1*85*1*{provider.name}*{provider.first_name}****XX*{provider.npi}")
        out.extend(_address_segments(provider.address))
        out.append(f"REF*{provider.tax_id_qualifier}*{provider.tax_id}")
        if provider.pay_to_address is not None:
            out.append("NM1*87*2")
            out.extend(_address_segments(provider.pay_to_address))

    def subscriber(
        self, subscriber: Subscriber, payer: Payer, responsibility: str, is_patient: bool, hl: int, parent: int
    ) -> None:
        out = self.out
        out.append(f"HL*{hl}*{parent}*22*{0 if is_patient else 1}")
        out.append(
            f"SBR*{responsibility}*{'18' if is_patient else ''}*{subscriber.group_number or ''}"
            f"*{subscriber.group_name or ''}*****{payer.claim_filing_indicator}"
        )
        out.append(
            f"NM1*IL*1*{subscriber.last_name}*{subscriber.first_name or ''}*{subscriber.middle_name or ''}"
            f"***MI*{subscriber.member_id}"
        )
        if is_patient:
            assert subscriber.address is not None, "validated: a subscriber who is the patient has an address"
            out.extend(_address_segments(subscriber.address))
            out.append(f"DMG*D8*{d8(subscriber.birth_date)}*{subscriber.sex}")
        out.append(f"NM1*PR*2*{payer.name}*****PI*{payer.payer_id}")
        if payer.address is not None:
            out.extend(_address_segments(payer.address))

    def patient(self, patient: Patient, hl: int, parent: int) -> None:
        out = self.out
        out.append(f"HL*{hl}*{parent}*23*0")
        out.append(f"PAT*{patient.relationship}")
        nm1 = f"NM1*QC*1*{patient.last_name}*{patient.first_name}"
        out.append(f"{nm1}*{patient.middle_name}" if patient.middle_name else nm1)
        out.extend(_address_segments(patient.address))
        out.append(f"DMG*D8*{d8(patient.birth_date)}*{patient.sex}")

    def _provider(self, entity: str, specialty: str | None, provider: Provider) -> tuple[str, ...]:
        key = (id(provider), entity)
        cached = self.cache.get(key)
        if cached is None:
            nm1 = _nm1_person(entity, provider)
            if specialty and provider.taxonomy:
                cached = (nm1, f"PRV*{specialty}*PXC*{provider.taxonomy}")
            else:
                cached = (nm1,)
            self.cache[key] = cached
        return cached

    def _facility(self, facility: ServiceFacility) -> tuple[str, ...]:
        if facility.npi:
            nm1 = f"NM1*77*2*{facility.name}*****XX*{facility.npi}"
        else:
            nm1 = f"NM1*77*2*{facility.name}"
        return (nm1, *_address_segments(facility.address))

    def claim(self, claim: Claim) -> None:
        out = self.out
        append = out.append
        total = x12_amount(claim.total_charge_cents)
        details = claim.institutional
        delay = claim.delay_reason or ""
        if details is None:
            accident = claim.accident
            related = ""
            if accident is not None:
                related = ":".join(accident.causes)
                if accident.state:
                    related += ":" * (3 - len(accident.causes)) + f":{accident.state}"
            append(
                _elements(
                    f"CLM*{claim.control_number}*{total}***{claim.place_of_service}:B:{claim.frequency}"
                    f"*{'Y' if claim.provider_signature_on_file else 'N'}*{claim.assignment}"
                    f"*{'Y' if claim.benefits_assigned else 'N'}*{claim.release_of_information}"
                    f"**{related}*********{delay}"
                )
            )
            if claim.onset_date is not None:
                append(f"DTP*431*D8*{d8(claim.onset_date)}")
            if accident is not None and accident.occurred_on is not None:
                append(f"DTP*439*D8*{d8(accident.occurred_on)}")
            out.extend(_pwk_segments(claim.attachments))
        else:
            append(
                _elements(
                    f"CLM*{claim.control_number}*{total}***{details.facility_type_code}:A:{claim.frequency}"
                    f"**{claim.assignment}*{'Y' if claim.benefits_assigned else 'N'}*{claim.release_of_information}"
                    f"***********{delay}"
                )
            )
            if details.discharge_hour is not None:
                append(f"DTP*096*TM*{details.discharge_hour:02d}{details.discharge_minute:02d}")
            append(f"DTP*434*RD8*{d8(details.statement_from)}-{d8(details.statement_to)}")
            admission = details.admission
            if admission is not None:
                if admission.hour is None:
                    append(f"DTP*435*D8*{d8(admission.admitted_on)}")
                else:
                    append(f"DTP*435*DT*{d8(admission.admitted_on)}{admission.hour:02d}{admission.minute:02d}")
                append(f"CL1*{admission.type_code}*{admission.source_code}*{details.patient_status_code}")
            else:
                append(f"CL1***{details.patient_status_code}")
            out.extend(_pwk_segments(claim.attachments))
        if claim.prior_authorization:
            append(f"REF*G1*{claim.prior_authorization}")
        if claim.original_claim_number:
            append(f"REF*F8*{claim.original_claim_number}")
        if details is None and claim.ambulance is not None:
            self._ambulance_transport(claim.ambulance)
        self._diagnoses(claim, details)
        if details is None:
            if claim.referring_provider is not None:
                out.extend(self._provider("DN", None, claim.referring_provider))
            rendering = claim.rendering_provider
            if rendering is not None and rendering.npi != claim.billing_provider.npi:
                out.extend(self._provider("82", "PE", rendering))
            if claim.service_facility is not None:
                out.extend(self._facility(claim.service_facility))
            if claim.supervising_provider is not None:
                out.extend(self._provider("DQ", None, claim.supervising_provider))
            if claim.ambulance is not None:
                append("NM1*PW*2")
                out.extend(_address_segments(claim.ambulance.pick_up))
                append(f"NM1*45*2*{claim.ambulance.drop_off_name}")
                out.extend(_address_segments(claim.ambulance.drop_off))
        else:
            out.extend(self._provider("71", "AT", details.attending))
            if details.operating is not None:
                out.extend(self._provider("72", None, details.operating))
            if details.other_operating is not None:
                out.extend(self._provider("ZZ", None, details.other_operating))
            rendering = claim.rendering_provider
            if rendering is not None and rendering.npi != details.attending.npi:
                out.extend(self._provider("82", None, rendering))
            if claim.service_facility is not None:
                out.extend(self._facility(claim.service_facility))
            if claim.referring_provider is not None:
                out.extend(self._provider("DN", None, claim.referring_provider))
        for other in claim.other_payers:
            self._other_payer(claim, other)
        for coverage in claim.other_coverages:
            self._other_coverage(claim, coverage)
        if claim.other_payers:
            adjudications: dict[int, list[tuple[Payer, LineAdjudication]]] = {}
            for other in claim.other_payers:
                for adjudication in other.line_adjudications:
                    adjudications.setdefault(adjudication.line_number, []).append((other.payer, adjudication))
        else:
            adjudications = {}
        for number, line in enumerate(claim.lines, 1):
            self._line(claim, number, line, adjudications.get(number))

    def _ambulance_transport(self, trip: AmbulanceTransport) -> None:
        weight = f"LB*{trip.patient_weight_lbs}" if trip.patient_weight_lbs is not None else "*"
        self.out.append(
            _elements(
                f"CR1*{weight}**{trip.reason_code}*DH*{quantity_to_x12(trip.distance_miles)}***"
                f"{trip.round_trip_purpose or ''}*{trip.stretcher_purpose or ''}"
            )
        )
        if trip.condition_codes:
            self.out.append(f"CRC*07*Y*{'*'.join(trip.condition_codes)}")

    def _diagnoses(self, claim: Claim, details: InstitutionalDetails | None) -> None:
        codes = [code.replace(".", "") for code in claim.diagnoses]
        if details is None:
            self.out.append("HI*ABK:" + "*ABF:".join(codes))
            return
        poa = details.present_on_admission
        if poa:
            codes = [
                f"{code}:::::::{indicator}" if indicator else code for code, indicator in zip(codes, poa, strict=True)
            ]
        append = self.out.append
        append(f"HI*ABK:{codes[0]}")
        if details.admitting_diagnosis:
            append(f"HI*ABJ:{details.admitting_diagnosis.replace('.', '')}")
        if details.patient_reasons_for_visit:
            append("HI*" + "*".join(f"APR:{code.replace('.', '')}" for code in details.patient_reasons_for_visit))
        if details.drg:
            append(f"HI*DR:{details.drg}")
        _hi_segments(append, "ABF", codes[1:])
        if details.principal_procedure is not None:
            principal = details.principal_procedure
            append(f"HI*BBR:{principal.code}:D8:{d8(principal.performed_on)}")
        _hi_segments(append, "BBQ", [f"{p.code}:D8:{d8(p.performed_on)}" for p in details.other_procedures])
        _hi_segments(append, "BI", [f"{s.code}:RD8:{d8(s.start)}-{d8(s.end)}" for s in details.occurrence_spans])
        _hi_segments(append, "BH", [f"{o.code}:D8:{d8(o.occurred_on)}" for o in details.occurrences])
        _hi_segments(append, "BE", [f"{v.code}:::{x12_amount(v.amount_cents)}" for v in details.values])
        _hi_segments(append, "BG", list(details.condition_codes))

    def _other_coverage(self, claim: Claim, coverage: OtherCoverage) -> None:
        """2320/2330A/2330B for a payer that has not adjudicated the claim: who, not how much."""
        out = self.out
        subscriber = coverage.subscriber
        out.append(
            f"SBR*{coverage.responsibility}*{coverage.relationship}*{subscriber.group_number or ''}"
            f"*{subscriber.group_name or ''}*****{coverage.payer.claim_filing_indicator}"
        )
        out.append(f"OI***{'Y' if claim.benefits_assigned else 'N'}***{claim.release_of_information}")
        out.append(
            f"NM1*IL*1*{subscriber.last_name}*{subscriber.first_name or ''}*{subscriber.middle_name or ''}"
            f"***MI*{subscriber.member_id}"
        )
        if subscriber.address is not None:
            out.extend(_address_segments(subscriber.address))
        out.append(f"NM1*PR*2*{coverage.payer.name}*****PI*{coverage.payer.payer_id}")
        if coverage.payer.address is not None:
            out.extend(_address_segments(coverage.payer.address))

    def _other_payer(self, claim: Claim, other: OtherPayer) -> None:
        out = self.out
        subscriber = other.subscriber
        out.append(
            f"SBR*{other.responsibility}*{other.relationship}*{subscriber.group_number or ''}"
            f"*{subscriber.group_name or ''}*****{other.payer.claim_filing_indicator}"
        )
        out.extend(_cas_segments(other.claim_adjustments))
        out.append(f"AMT*D*{x12_amount(other.paid_cents)}")
        if self.institutional:
            if other.remaining_patient_liability_cents is not None:
                out.append(f"AMT*EAF*{x12_amount(other.remaining_patient_liability_cents)}")
            if other.non_covered_cents is not None:
                out.append(f"AMT*A8*{x12_amount(other.non_covered_cents)}")
        else:
            if other.non_covered_cents is not None:
                out.append(f"AMT*A8*{x12_amount(other.non_covered_cents)}")
            if other.remaining_patient_liability_cents is not None:
                out.append(f"AMT*EAF*{x12_amount(other.remaining_patient_liability_cents)}")
        out.append(f"OI***{'Y' if claim.benefits_assigned else 'N'}***{claim.release_of_information}")
        out.append(
            f"NM1*IL*1*{subscriber.last_name}*{subscriber.first_name or ''}*{subscriber.middle_name or ''}"
            f"***MI*{subscriber.member_id}"
        )
        if subscriber.address is not None:
            out.extend(_address_segments(subscriber.address))
        payer = other.payer
        out.append(f"NM1*PR*2*{payer.name}*****PI*{payer.payer_id}")
        if payer.address is not None:
            out.extend(_address_segments(payer.address))
        if not other.line_adjudications:
            out.append(f"DTP*573*D8*{d8(other.adjudication_date)}")
        if other.payer_claim_control_number:
            out.append(f"REF*F8*{other.payer_claim_control_number}")

    def _line(
        self, claim: Claim, number: int, line: ServiceLine, adjudications: list[tuple[Payer, LineAdjudication]] | None
    ) -> None:
        out = self.out
        append = out.append
        append(f"LX*{number}")
        charge = x12_amount(line.charge_cents)
        units = str(line.units) if type(line.units) is int else quantity_to_x12(line.units)
        code = line.procedure_code
        modifiers = line.modifiers
        if code is None:
            procedure = ""
        elif modifiers:
            procedure = f"HC:{code}:{':'.join(modifiers)}"
        else:
            procedure = f"HC:{code}"
        if self.institutional:
            append(f"SV2*{line.revenue_code}*{procedure}*{charge}*UN*{units}")
            out.extend(_pwk_segments(line.attachments))
        else:
            pos = line.place_of_service
            if pos is None or pos == claim.place_of_service:
                pos = ""
            pointers = _POINTER_TEXT.get(line.diagnosis_pointers)
            if pointers is None:
                pointers = _POINTER_TEXT[line.diagnosis_pointers] = ":".join(map(str, line.diagnosis_pointers))
            basis = line.unit_basis
            if line.emergency:
                append(f"SV1*{procedure}*{charge}*{basis}*{units}*{pos}**{pointers}**Y")
            else:
                append(f"SV1*{procedure}*{charge}*{basis}*{units}*{pos}**{pointers}")
            if line.attachments:
                out.extend(_pwk_segments(line.attachments))
            certificate = line.dme_certificate
            if certificate is not None:
                append(f"CR3*{certificate.certification}*MO*{certificate.duration_months}")
        service_date = line.service_date
        if service_date is not None:
            end = line.service_date_end
            if end is not None and end != service_date:
                append(f"DTP*472*RD8*{d8(service_date)}-{d8(end)}")
            else:
                append(f"DTP*472*D8*{d8(service_date)}")
        if line.control_number:
            append(f"REF*6R*{line.control_number}")
        drug = line.drug
        if drug is not None:
            append(f"LIN**N4*{drug.ndc}")
            append(f"CTP****{quantity_to_x12(drug.quantity)}*{drug.unit}")
        if line.rendering_provider is not None:
            out.extend(self._provider("82", None if self.institutional else "PE", line.rendering_provider))
        if not self.institutional:
            if line.supervising_provider is not None:
                out.extend(self._provider("DQ", None, line.supervising_provider))
            if line.ordering_provider is not None:
                out.extend(self._provider("DK", None, line.ordering_provider))
        if adjudications:
            for payer, adjudication in adjudications:
                paid_units = quantity_to_x12(adjudication.paid_units)
                if adjudication.procedure_code:
                    adj_procedure = _composite_procedure(adjudication.procedure_code, adjudication.modifiers)
                else:
                    adj_procedure = procedure
                paid = x12_amount(adjudication.paid_cents)
                if self.institutional:
                    revenue = adjudication.revenue_code or line.revenue_code
                    append(f"SVD*{payer.payer_id}*{paid}*{adj_procedure}*{revenue}*{paid_units}")
                else:
                    append(f"SVD*{payer.payer_id}*{paid}*{adj_procedure}**{paid_units}")
                out.extend(_cas_segments(adjudication.adjustments))
                append(f"DTP*573*D8*{d8(adjudication.adjudication_date)}")
                if adjudication.remaining_patient_liability_cents is not None:
                    append(f"AMT*EAF*{x12_amount(adjudication.remaining_patient_liability_cents)}")


# Diagnosis pointer tuples as SV107 text; at most 12+12*11+12*11*10+12*11*10*9 valid keys.
_POINTER_TEXT: dict[tuple[int, ...], str] = {}


def _grouping_key(party: object) -> object:
    """A cheap key that equal parties always share; full equality is compared only on a clash."""
    if type(party) is Subscriber:
        return party.member_id
    if type(party) is Patient:
        return (party.last_name, party.first_name, party.birth_date)
    if type(party) is Payer:
        return party.payer_id
    if type(party) is BillingProvider:
        return party.npi
    return party


class _Tokens:
    """Small-int stand-ins for party values, in order of first appearance.

    Looked up by identity first (parties are shared objects, alive while we write), then
    by a cheap key, and only on a clash compared field by field. Nothing here keeps a
    container per party, so a large batch does not feed the cyclic garbage collector.
    """

    __slots__ = ("by_id", "by_key", "parties")

    def __init__(self) -> None:
        self.by_id: dict[int, int] = {}
        self.by_key: dict[object, int | list[int]] = {}
        self.parties: list[object] = []

    def of(self, party: object) -> int:
        found = self.by_id.get(id(party))
        if found is not None:
            return found
        key = _grouping_key(party)
        known = self.by_key.get(key)
        parties = self.parties
        if known is None:
            found = len(parties)
            self.by_key[key] = found
        else:
            candidates = [known] if isinstance(known, int) else known
            for candidate in candidates:
                if parties[candidate] == party:
                    found = candidate
                    break
            else:
                found = len(parties)
                self.by_key[key] = [*candidates, found]
        if found == len(parties):
            parties.append(party)
        self.by_id[id(party)] = found
        return found


def _hierarchy_order(claims: Sequence[Claim]) -> list[tuple[int, int, int, int]]:
    """(billing provider, subscriber level, patient, claim index) for each claim, sorted.

    Equal parties group together; groups keep the order in which they first appear and
    claims keep their order within a group. A subscriber level is one subscriber at one
    payer, either as the patient (patient -1) or as the holder of dependents' coverage.
    """
    tokens = _Tokens()
    by_id = tokens.by_id
    levels: dict[tuple[int, int, int, str, bool], int] = {}
    order = []
    for index, claim in enumerate(claims):
        provider = claim.billing_provider
        provider_token = by_id.get(id(provider))
        if provider_token is None:
            provider_token = tokens.of(provider)
        subscriber = claim.subscriber
        subscriber_token = by_id.get(id(subscriber))
        if subscriber_token is None:
            subscriber_token = tokens.of(subscriber)
        payer = claim.payer
        payer_token = by_id.get(id(payer))
        if payer_token is None:
            payer_token = tokens.of(payer)
        patient = claim.patient
        key = (provider_token, subscriber_token, payer_token, str(claim.payer_responsibility), patient is None)
        level = levels.get(key)
        if level is None:
            level = levels[key] = len(levels)
        order.append((provider_token, level, -1 if patient is None else tokens.of(patient), index))
    order.sort()
    return order


def _write_transaction(
    out: list[str], claims: Sequence[Claim], kind: ClaimKind, control: str, bht03: str, stamp: str
) -> tuple[str, ...]:
    """Write one ST..SE; returns the claim control numbers in the order they were written."""
    version = VERSIONS[kind]
    start = len(out)
    first = claims[0]
    submitter = first.submitter
    receiver = first.receiver
    out.append(f"ST*837*{control}*{version}")
    out.append(f"BHT*0019*00*{bht03}*{stamp}*CH")
    out.append(f"NM1*41*2*{submitter.name}*****46*{submitter.identifier}")
    out.append(f"PER*IC*{submitter.contact_name}*TE*{submitter.contact_phone}")
    out.append(f"NM1*40*2*{receiver.name}*****46*{receiver.identifier}")
    writer = _TransactionWriter(out, kind)
    written: list[str] = []
    hl = provider_hl = subscriber_hl = 0
    current_provider = current_level = current_patient = -2
    in_hl = 0
    for provider_token, level, patient_token, index in _hierarchy_order(claims):
        claim = claims[index]
        if provider_token != current_provider:
            current_provider, current_level = provider_token, -2
            hl += 1
            provider_hl = hl
            writer.billing_provider(claim.billing_provider, hl)
        is_patient = patient_token == -1
        if level != current_level:
            current_level, current_patient = level, -2
            hl += 1
            subscriber_hl = hl
            writer.subscriber(claim.subscriber, claim.payer, claim.payer_responsibility, is_patient, hl, provider_hl)
            in_hl = 0
        if not is_patient and patient_token != current_patient:
            current_patient = patient_token
            hl += 1
            assert claim.patient is not None  # not is_patient
            writer.patient(claim.patient, hl, subscriber_hl)
            in_hl = 0
        if in_hl == MAX_CLAIMS_PER_HL:  # loop 2300 repeats at most 100 times per HL
            hl += 1
            if is_patient:
                subscriber_hl = hl
                writer.subscriber(claim.subscriber, claim.payer, claim.payer_responsibility, True, hl, provider_hl)
            else:
                assert claim.patient is not None  # not is_patient
                writer.patient(claim.patient, hl, subscriber_hl)
            in_hl = 0
        writer.claim(claim)
        written.append(claim.control_number)
        in_hl += 1
    out.append(f"SE*{len(out) - start + 1}*{control}")
    return tuple(written)


def _envelope_check(claims: Sequence[Claim]) -> None:
    if not claims:
        raise ClaimValidationError([Problem("claims", "at least one claim is required")])
    problems = validate_claims(claims)
    given: Sequence[object] = claims  # values from outside: any type may come
    first = given[0]
    for i, claim in enumerate(given):
        if not isinstance(claim, Claim) or not isinstance(first, Claim):
            continue
        if claim.submitter != first.submitter:
            problems.append(
                Problem(f"claims[{i}].submitter", "differs from claims[0]; one interchange has one submitter")
            )
        if claim.receiver != first.receiver:
            problems.append(
                Problem(f"claims[{i}].receiver", "differs from claims[0]; one interchange has one receiver")
            )
    if problems:
        raise ClaimValidationError(problems)


def _write_interchange(
    claims: Sequence[Claim],
    control: ControlNumbers,
    created_at: datetime,
    usage: str,
    acknowledgment_requested: bool,
    max_claims_per_transaction: int,
    line_breaks: bool,
) -> Interchange837:
    first = claims[0]
    submitter = first.submitter
    receiver = first.receiver
    ymd = f"{created_at.year:04d}{created_at.month:02d}{created_at.day:02d}"
    hhmm = f"{created_at.hour:02d}{created_at.minute:02d}"
    interchange_number = control.interchange
    isa_number = isa13(interchange_number)
    out = [
        f"ISA*00*{'':10}*00*{'':10}*{submitter.interchange_qualifier}*{submitter.identifier:<15}"
        f"*{receiver.interchange_qualifier}*{receiver.identifier:<15}*{ymd[2:]}*{hhmm}*^*00501"
        f"*{isa_number}*{1 if acknowledgment_requested else 0}*{usage}*:"
    ]
    by_kind: dict[ClaimKind, list[Claim]] = {}
    for claim in claims:
        by_kind.setdefault(claim.kind, []).append(claim)
    group_number = control.group
    transaction_number = control.transaction
    transactions: list[TransactionSet] = []
    stamp = f"{ymd}*{hhmm}"
    for kind, kind_claims in by_kind.items():
        out.append(
            f"GS*HC*{submitter.identifier}*{receiver.identifier}*{ymd}*{hhmm}*{gs06(group_number)}*X*{VERSIONS[kind]}"
        )
        sets_in_group = 0
        for chunk_start in range(0, len(kind_claims), max_claims_per_transaction):
            chunk = kind_claims[chunk_start : chunk_start + max_claims_per_transaction]
            control_text = st02(transaction_number)
            written = _write_transaction(out, chunk, kind, control_text, f"{isa_number}{control_text}", stamp)
            transactions.append(TransactionSet(group_number, transaction_number, kind, written))
            sets_in_group += 1
            transaction_number = following(transaction_number)
        out.append(f"GE*{sets_in_group}*{gs06(group_number)}")
        group_number = following(group_number)
    out.append(f"IEA*{len(by_kind)}*{isa_number}")
    terminator = "~\n" if line_breaks else "~"
    payer_ids = tuple(dict.fromkeys(c.payer.payer_id for c in claims))
    return Interchange837(
        text=terminator.join(out) + terminator,
        interchange_control_number=interchange_number,
        submitter_id=submitter.identifier,
        receiver_id=receiver.identifier,
        payer_ids=payer_ids,
        transactions=tuple(transactions),
        next_control_numbers=ControlNumbers(following(interchange_number), group_number, transaction_number),
    )


def _check_options(created_at: object, usage: str, max_claims_per_transaction: int) -> None:
    problems = []
    if not isinstance(created_at, datetime):
        problems.append(Problem("created_at", f"must be a datetime, got {type(created_at).__name__}"))
    if usage not in (UsageIndicator.TEST, UsageIndicator.PRODUCTION):
        problems.append(Problem("usage", f"must be T (test) or P (production), got {usage!r}"))
    if type(max_claims_per_transaction) is not int or max_claims_per_transaction < 1:
        problems.append(Problem("max_claims_per_transaction", "must be a positive int"))
    if problems:
        raise ClaimValidationError(problems)


def write_interchange(
    claims: Sequence[Claim],
    control: ControlNumbers,
    created_at: datetime,
    *,
    usage: UsageIndicator = UsageIndicator.TEST,
    acknowledgment_requested: bool = False,
    max_claims_per_transaction: int = DEFAULT_MAX_CLAIMS_PER_TRANSACTION,
    line_breaks: bool = False,
) -> Interchange837:
    """Write claims of one submitter and receiver as one interchange.

    One functional group per claim kind (837P, 837I); within it, one transaction set per
    ``max_claims_per_transaction`` claims. Control numbers start at ``control`` and
    ``next_control_numbers`` on the result says what to use next.
    """
    claims = list(claims)
    _check_options(created_at, usage, max_claims_per_transaction)
    _envelope_check(claims)
    return _write_interchange(
        claims, control, created_at, usage, acknowledgment_requested, max_claims_per_transaction, line_breaks
    )


def _refuse_invalid(claims: Sequence[Claim]) -> None:
    problems = validate_claims(claims)
    if problems:
        raise ClaimValidationError(problems)


def write_batches(
    claims: Iterable[Claim],
    first_control_numbers: ControlNumbers,
    created_at: datetime,
    *,
    usage: UsageIndicator = UsageIndicator.TEST,
    acknowledgment_requested: bool = False,
    max_claims_per_transaction: int = DEFAULT_MAX_CLAIMS_PER_TRANSACTION,
    line_breaks: bool = False,
    checked: bool = False,
) -> Batch837:
    """Write claims as one interchange per (submitter, receiver, payer).

    All claims are validated first; if any is invalid nothing is written. Interchanges
    come out in the order their first claim appears. `checked`: each claim already passed
    `validate_claims` as built from the same document (the claims service checks a claim once,
    when it is scrubbed); then only the first claim of each interchange is checked again, which
    covers what the caller adds later (the submitter, the receiver, the control number's form),
    and any problem found there is reported for every claim, as without `checked`.
    """
    claims = list(claims)
    _check_options(created_at, usage, max_claims_per_transaction)
    if not claims:
        return Batch837((), first_control_numbers)
    if not checked:
        _refuse_invalid(claims)
    groups: dict[tuple[Submitter, Receiver, str], list[Claim]] = {}
    for claim in claims:
        groups.setdefault((claim.submitter, claim.receiver, claim.payer.payer_id), []).append(claim)
    if checked and validate_claims([group[0] for group in groups.values()]):
        _refuse_invalid(claims)
    control = first_control_numbers
    interchanges = []
    for group in groups.values():
        interchange = _write_interchange(
            group, control, created_at, usage, acknowledgment_requested, max_claims_per_transaction, line_breaks
        )
        interchanges.append(interchange)
        control = interchange.next_control_numbers
    return Batch837(tuple(interchanges), control)
