"""From a coded encounter to a claim: pricing from the fee schedule, the scrubber's draft view, and
the 837 writer's `Claim`.

Pure: the encounter event (as amended by fixes) is the claim's source document; everything here
is a function of it, the tenant's fee schedule, and the submitter/receiver of the interchange.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar, cast, overload

import msgspec

from services.claims.domain.claim import (
    Accident,
    Address,
    Adjustment,
    AdjustmentGroup,
    Admission,
    AmbulanceTransport,
    AssignmentCode,
    Attachment,
    AttachmentTransmission,
    BillingProvider,
    Claim,
    ClaimFilingIndicator,
    ClaimFrequency,
    DmeCertificate,
    DmeCertification,
    DrugIdentification,
    DrugUnit,
    InstitutionalDetails,
    LineAdjudication,
    Occurrence,
    OccurrenceSpan,
    OtherCoverage,
    OtherPayer,
    Patient,
    Payer,
    PayerResponsibility,
    ProcedureCode,
    Provider,
    Receiver,
    RelatedCause,
    Relationship,
    ReleaseOfInformation,
    ServiceFacility,
    ServiceLine,
    Sex,
    Submitter,
    Subscriber,
    TaxIdQualifier,
    UnitBasis,
    ValueAmount,
)
from services.claims.domain.claim_checks import validate_claims
from services.claims.domain.scrubber import DraftClaim, DraftLine, Finding, MissingPart, Severity
from shared.events import catalog as ev
from shared.events import wire
from shared.x12.transliteration import transliterate

FeeSchedule = Mapping[tuple[str, str], int]
"""Charge in cents by (procedure or revenue code, first modifier or "")."""

# An encounter is read here as its catalog model (fixes, corrections, the CLI) or, on the consumer's hot path, as
# its msgspec mirror (`shared.events.wire`: same fields, same rules, decoded without pydantic): both are accepted.
CodedEncounter = ev.EncounterCodedV1 | wire.EncounterCodedV1
_E = TypeVar("_E", ev.EncounterCodedV1, wire.EncounterCodedV1)
_Line = ev.CodedServiceLine | wire.CodedServiceLine
_Coverage = ev.CoverageDetails | wire.CoverageDetails
_SubscriberPhi = ev.SubscriberPhi | wire.SubscriberPhi
_Person = ev.Person | wire.Person
_Address = ev.Address | wire.Address
_ProviderDetails = ev.ProviderDetails | wire.ProviderDetails
_PayerDetails = ev.PayerDetails | wire.PayerDetails
_PriorAdjustment = ev.PriorPayerAdjustment | wire.PriorPayerAdjustment
_AttachmentIn = ev.Attachment | wire.Attachment
_AccidentIn = ev.Accident | wire.Accident
_Ambulance = ev.AmbulanceTransport | wire.AmbulanceTransport
_EncounterPhi = ev.EncounterPhi | wire.EncounterPhi


_Code = TypeVar("_Code", bound=StrEnum)


def _code(kind: type[_Code], value: str | None) -> _Code:
    """`kind(value)` by one dict lookup (an enum's call is slow); an unknown value raises what the call raises
    (these enums have no `_missing_`)."""
    member = kind._value2member_map_.get(value)
    if member is None:
        raise ValueError(f"{value!r} is not a valid {kind.__qualname__}")
    return cast(_Code, member)


_Build = TypeVar("_Build", bound=Callable[..., object])
_WIRE_PARTIES: frozenset[type] = frozenset(
    {wire.Address, wire.ProviderDetails, wire.PayerDetails, wire.FacilityDetails}
)
"""The msgspec mirrors of a claim's shared parties: frozen and hashable, so equal values are one key."""


def _remembered_by_value(build: _Build, maxsize: int = 1024) -> _Build:
    """`build`, remembered by value when every argument is a wire mirror of a party (or None): the billing
    provider, the payer, the facility, their addresses and the practice's few providers come back on every claim,
    and one frozen 837 part serves them all (the writer's party checks then find it by identity). Built anew from
    anything else (the catalog's pydantic models: a fix, a correction, the CLI). A ValueError (an unknown code)
    is raised again each time, never remembered."""
    remembered = lru_cache(maxsize=maxsize)(build)

    def part(*args: object) -> object:
        for arg in args:
            if arg is not None and type(arg) not in _WIRE_PARTIES:
                return build(*args)
        return remembered(*args)

    return cast(_Build, part)


class ClaimMappingError(ValueError):
    """The encounter lacks what an 837 needs; the scrubber names it as a hold reason first."""


def line_code(line: _Line) -> str:
    return line.procedure_code or line.revenue_code or ""


def fee_schedule_codes(encounter: CodedEncounter) -> set[str]:
    """Codes whose fee-schedule entries pricing this encounter may need."""
    return {line_code(line) for line in encounter.lines if line.charge_cents is None and line_code(line)}


def price(encounter: _E, schedule: FeeSchedule) -> _E:
    """Lines without a charge get the fee-schedule charge of their code (and first modifier, if listed)."""
    if all(line.charge_cents is not None for line in encounter.lines):
        return encounter
    charges = [_scheduled_charge(line, schedule) for line in encounter.lines]
    if isinstance(encounter, wire.EncounterCodedV1):
        wire_lines = [
            line if cents is None else msgspec.structs.replace(line, charge_cents=cents)
            for line, cents in zip(encounter.lines, charges, strict=True)
        ]
        return msgspec.structs.replace(encounter, lines=wire_lines)
    lines = [
        line if cents is None else line.model_copy(update={"charge_cents": cents})
        for line, cents in zip(encounter.lines, charges, strict=True)
    ]
    return encounter.model_copy(update={"lines": lines})


def _scheduled_charge(line: _Line, schedule: FeeSchedule) -> int | None:
    """The charge a line without one gets from the fee schedule, or None (charged already, or not listed)."""
    if line.charge_cents is not None:
        return None
    code = line_code(line)
    first_modifier = line.modifiers[0] if line.modifiers else ""
    unit_cents = schedule.get((code, first_modifier), schedule.get((code, "")))
    return None if unit_cents is None else unit_cents * line.units


def total_charge_cents(encounter: CodedEncounter) -> int:
    return sum(line.charge_cents or 0 for line in encounter.lines)


def _subscriber_phi(encounter: CodedEncounter, coverage: _Coverage) -> _SubscriberPhi | None:
    if encounter.phi is None:
        return None
    return next((s for s in encounter.phi.subscribers if s.coverage_id == coverage.coverage_id), None)


def _complete_person(person: _Person | None) -> bool:
    return bool(person and person.first_name and person.birth_date and person.sex and person.address is not None)


def missing_parts(encounter: CodedEncounter) -> frozenset[MissingPart]:
    missing: set[MissingPart] = set()
    coverage = encounter.coverage
    if coverage is None:
        missing.add(MissingPart.COVERAGE)
    elif _subscriber_phi(encounter, coverage) is None:
        missing.add(MissingPart.SUBSCRIBER)
    patient = encounter.phi.patient if encounter.phi else None
    if not _complete_person(patient):
        missing.add(MissingPart.PATIENT_DEMOGRAPHICS)
    provider = encounter.billing_provider
    if provider is None or provider.address is None or provider.tax_id is None:
        missing.add(MissingPart.BILLING_PROVIDER)
    if encounter.claim_type == "institutional":
        if encounter.institutional is None:
            missing.add(MissingPart.INSTITUTIONAL_DETAILS)
        elif encounter.institutional.attending is None:
            missing.add(MissingPart.ATTENDING_PROVIDER)
    return frozenset(missing)


def draft_from_encounter(encounter: CodedEncounter) -> DraftClaim:
    """The scrubber's view: codes, units, charges, dates, NPIs; the patient's sex and birth date only."""
    patient = encounter.phi.patient if encounter.phi else None
    institutional = encounter.institutional
    named: list[tuple[str, str | None]] = [
        ("rendering", encounter.rendering_provider_npi),
        ("referring", encounter.referring_provider_npi),
    ]
    if institutional is not None:
        named += [
            ("attending", institutional.attending_provider_npi),
            ("operating", institutional.operating_provider_npi),
            ("other operating", institutional.other_operating_provider_npi),
        ]
    named.append(("supervising", encounter.supervising_provider_npi))
    other_npis = [(role, npi) for role, npi in named if npi]
    for line in encounter.lines:  # few lines name their own providers: no tuple made for those that do not
        if line.rendering_provider_npi:
            other_npis.append((f"line {line.line_number} rendering", line.rendering_provider_npi))
        if line.ordering_provider_npi:
            other_npis.append((f"line {line.line_number} ordering", line.ordering_provider_npi))
        if line.supervising_provider_npi:
            other_npis.append((f"line {line.line_number} supervising", line.supervising_provider_npi))
    if encounter.service_facility is not None and encounter.service_facility.npi:
        other_npis.append(("service facility", encounter.service_facility.npi))
    return DraftClaim(
        claim_type=encounter.claim_type,
        patient_id=str(encounter.patient_id),
        payer_id=encounter.payer_id,
        place_of_service=encounter.place_of_service,
        service_date_from=encounter.service_date_from,
        service_date_to=encounter.service_date_to,
        diagnoses=tuple(encounter.diagnosis_codes),
        lines=tuple(
            DraftLine(
                line_number=line.line_number,
                service_date=line.service_date,
                units=line.units,
                procedure_code=line.procedure_code,
                revenue_code=line.revenue_code,
                modifiers=tuple(line.modifiers),
                charge_cents=line.charge_cents,
                diagnosis_pointers=tuple(line.diagnosis_pointers),
                service_date_end=line.service_date_end,
                place_of_service=line.place_of_service,
            )
            for line in encounter.lines
        ),
        billing_provider_npi=encounter.billing_provider_npi or None,
        other_npis=tuple(other_npis),
        frequency_code=encounter.frequency_code,
        original_claim_number=encounter.original_claim_number,
        patient_sex=patient.sex if patient else None,
        patient_birth_date=patient.birth_date if patient else None,
        timely_filing_days=encounter.coverage.payer.timely_filing_days if encounter.coverage else None,
        facility_type_code=encounter.institutional.facility_type_code if encounter.institutional else None,
        missing=missing_parts(encounter),
        unresolved=tuple(encounter.unresolved),
    )


@overload
def _address(address: _Address) -> Address: ...
@overload
def _address(address: None) -> None: ...
def _address(address: _Address | None) -> Address | None:
    if address is None:
        return None
    return _party_address(address)


def _new_address(address: _Address) -> Address:
    return Address(
        line1=x12_text(address.line1), line2=x12_text(address.line2), city=x12_text(address.city),
        state=address.state, postal_code=address.postal_code,
    )  # fmt: skip


_party_address = _remembered_by_value(_new_address, maxsize=4096)  # patients' addresses too: more of them


@overload
def x12_text(text: str) -> str: ...
@overload
def x12_text(text: None) -> None: ...
def x12_text(text: str | None) -> str | None:
    """A name or address as the 837 carries it (José Núñez: JOSE NUNEZ); the record keeps the original.

    Intake refuses what has no X12 form; text that still has none (an older record) is passed on
    unchanged for the writer's checks to name."""
    if text is None:
        return None
    return _x12_form(text)


@lru_cache(maxsize=8192)
def _x12_form(text: str) -> str:
    """Remembered: the same provider, payer and address texts come back on every claim."""
    try:
        return transliterate(text)
    except ValueError:
        return text


def _provider(details: _ProviderDetails | None) -> Provider | None:
    if details is None:
        return None
    return _party_provider(details)


@_remembered_by_value
def _party_provider(details: _ProviderDetails) -> Provider:
    return Provider(
        npi=details.npi,
        last_name=x12_text(details.name),
        first_name=x12_text(details.first_name) if details.entity == "individual" else None,
        middle_name=x12_text(details.middle_name) if details.entity == "individual" else None,
        taxonomy=details.taxonomy,
    )


@_remembered_by_value
def _payer(details: _PayerDetails) -> Payer:
    return Payer(
        name=x12_text(details.name),
        payer_id=details.payer_id,
        claim_filing_indicator=_code(ClaimFilingIndicator, details.claim_filing_indicator),
        address=_address(details.address),
    )


def _subscriber(phi: _SubscriberPhi, fallback: _Person | None) -> Subscriber:
    person = phi.subscriber
    return Subscriber(
        member_id=phi.member_id,
        last_name=x12_text(person.last_name),
        first_name=x12_text(person.first_name),
        middle_name=x12_text(person.middle_name),
        birth_date=person.birth_date or (fallback.birth_date if fallback else None),
        sex=_code(Sex, person.sex or (fallback.sex if fallback else None) or "U"),
        address=_address(person.address or (fallback.address if fallback else None)),
        group_number=phi.group_number,
        group_name=x12_text(phi.group_name),
    )


def _adjustments(adjustments: Sequence[_PriorAdjustment]) -> tuple[Adjustment, ...]:
    return tuple(Adjustment(AdjustmentGroup(a.group), a.reason_code, a.amount_cents) for a in adjustments)


def _patient_liability(adjustments: Sequence[_PriorAdjustment]) -> int | None:
    """AMT*EAF: what the prior payer left the patient (its PR adjustments), when it left anything."""
    owed = sum(a.amount_cents for a in adjustments if a.group == "PR")
    return owed if owed > 0 else None


def _other_payers(encounter: CodedEncounter) -> tuple[OtherPayer, ...]:
    coverages = {c.coverage_id: c for c in encounter.other_coverages}
    lines = {line.line_number: line for line in encounter.lines}
    patient = encounter.phi.patient if encounter.phi else None
    others = []
    for prior in encounter.prior_payer_adjudications:
        coverage = coverages.get(prior.coverage_id)
        phi = _subscriber_phi(encounter, coverage) if coverage else None
        if coverage is None or phi is None:
            raise ClaimMappingError("a prior payer's coverage or subscriber is missing")
        others.append(
            OtherPayer(
                payer=_payer(coverage.payer),
                responsibility=_code(PayerResponsibility, coverage.responsibility),
                subscriber=_subscriber(phi, patient if coverage.relationship == "18" else None),
                relationship=_code(Relationship, coverage.relationship),
                paid_cents=prior.paid_cents,
                adjudication_date=prior.adjudication_date,
                claim_adjustments=_adjustments(prior.claim_adjustments),
                line_adjudications=tuple(
                    LineAdjudication(
                        line_number=paid.line_number,
                        paid_cents=paid.paid_cents,
                        adjudication_date=prior.adjudication_date,
                        paid_units=paid.paid_units,
                        procedure_code=lines[paid.line_number].procedure_code,
                        modifiers=tuple(lines[paid.line_number].modifiers),
                        revenue_code=lines[paid.line_number].revenue_code,
                        adjustments=_adjustments(paid.adjustments),
                        remaining_patient_liability_cents=_patient_liability(paid.adjustments),
                    )
                    for paid in prior.lines
                    if paid.line_number in lines
                ),
                remaining_patient_liability_cents=_patient_liability(
                    [*prior.claim_adjustments, *(a for paid in prior.lines for a in paid.adjustments)]
                ),
                payer_claim_control_number=prior.payer_claim_control_number,
            )
        )
    return tuple(others)


def _institutional(encounter: CodedEncounter) -> InstitutionalDetails | None:
    details = encounter.institutional
    if encounter.claim_type != "institutional":
        return None
    if details is None or details.attending is None:
        raise ClaimMappingError("institutional details or the attending provider are missing")
    attending = _provider(details.attending)
    assert attending is not None
    admission = details.admission
    return InstitutionalDetails(
        facility_type_code=details.facility_type_code,
        statement_from=encounter.service_date_from,
        statement_to=encounter.service_date_to,
        patient_status_code=details.patient_status_code,
        attending=attending,
        admission=Admission(admission.admitted_on, admission.type_code, admission.source_code, admission.hour)
        if admission
        else None,
        admitting_diagnosis=details.admitting_diagnosis,
        present_on_admission=tuple(details.present_on_admission),
        discharge_hour=details.discharge_hour,
        discharge_minute=details.discharge_minute,
        patient_reasons_for_visit=tuple(details.patient_reasons_for_visit),
        drg=details.drg,
        principal_procedure=ProcedureCode(details.principal_procedure.code, details.principal_procedure.date)
        if details.principal_procedure
        else None,
        other_procedures=tuple(ProcedureCode(p.code, p.date) for p in details.other_procedures),
        occurrences=tuple(Occurrence(o.code, o.date) for o in details.occurrences),
        occurrence_spans=tuple(OccurrenceSpan(o.code, o.start, o.end) for o in details.occurrence_spans),
        values=tuple(ValueAmount(v.code, v.amount_cents) for v in details.values),
        condition_codes=tuple(details.condition_codes),
        operating=_provider(details.operating),
        other_operating=_provider(details.other_operating),
    )


def _line_provider(npi: str | None, providers: Mapping[str, _ProviderDetails]) -> Provider | None:
    if npi is None:
        return None
    details = providers.get(npi)
    if details is None:
        raise ClaimMappingError(f"line provider {npi} is not among the encounter's providers")
    return _provider(details)


def _attachments(attachments: Sequence[_AttachmentIn]) -> tuple[Attachment, ...]:
    if not attachments:  # most claims and lines have none
        return ()
    return tuple(
        Attachment(a.report_type, AttachmentTransmission(a.transmission), a.control_number) for a in attachments
    )


def _accident(accident: _AccidentIn | None) -> Accident | None:
    if accident is None:
        return None
    return Accident(tuple(RelatedCause(c) for c in accident.causes), accident.state, accident.occurred_on)


def _ambulance(trip: _Ambulance | None, phi: _EncounterPhi) -> AmbulanceTransport | None:
    if trip is None:
        return None
    if phi.ambulance_pick_up is None:
        raise ClaimMappingError("the ambulance trip's pick-up location is missing")
    miles = Decimal(trip.distance_miles)
    return AmbulanceTransport(
        reason_code=trip.reason_code,
        distance_miles=int(miles) if miles == miles.to_integral_value() else miles,
        pick_up=_address(phi.ambulance_pick_up),
        drop_off=_address(trip.drop_off),
        drop_off_name=x12_text(trip.drop_off_name),
        patient_weight_lbs=phi.patient_weight_lbs,
        condition_codes=tuple(trip.condition_codes),
        round_trip_purpose=trip.round_trip_purpose,
        stretcher_purpose=trip.stretcher_purpose,
    )


def _other_coverages(encounter: CodedEncounter) -> tuple[OtherCoverage, ...]:
    """2320 for every other coverage in force that has not adjudicated this claim (who, not how much)."""
    adjudicated = {prior.coverage_id for prior in encounter.prior_payer_adjudications}
    patient = encounter.phi.patient if encounter.phi else None
    billed = encounter.coverage
    known = []
    for coverage in encounter.other_coverages:
        if coverage.coverage_id in adjudicated or (billed and coverage.responsibility == billed.responsibility):
            continue
        phi = _subscriber_phi(encounter, coverage)
        if phi is None or coverage.payer.payer_id == encounter.payer_id:
            continue
        known.append(
            OtherCoverage(
                payer=_payer(coverage.payer),
                responsibility=_code(PayerResponsibility, coverage.responsibility),
                subscriber=_subscriber(phi, patient if coverage.relationship == "18" else None),
                relationship=_code(Relationship, coverage.relationship),
            )
        )
    return tuple(known)


def _line(line: _Line, control_number: str, providers: Mapping[str, _ProviderDetails]) -> ServiceLine:
    drug = line.drug
    return ServiceLine(
        charge_cents=line.charge_cents if line.charge_cents is not None else 0,
        units=line.units,
        procedure_code=line.procedure_code,
        modifiers=tuple(line.modifiers),
        diagnosis_pointers=tuple(line.diagnosis_pointers),
        service_date=line.service_date,
        service_date_end=line.service_date_end,
        revenue_code=line.revenue_code,
        place_of_service=line.place_of_service,
        control_number=line_control_number(control_number, line.line_number),
        drug=DrugIdentification(
            ndc=drug.ndc,
            quantity=int(drug.quantity) if drug.quantity.isdigit() else Decimal(drug.quantity),
            unit=DrugUnit(drug.unit),
        )
        if drug
        else None,
        emergency=line.emergency,
        unit_basis=_code(UnitBasis, line.unit_basis),
        rendering_provider=_line_provider(line.rendering_provider_npi, providers),
        ordering_provider=_line_provider(line.ordering_provider_npi, providers),
        supervising_provider=_line_provider(line.supervising_provider_npi, providers),
        attachments=_attachments(line.attachments),
        dme_certificate=DmeCertificate(
            DmeCertification(line.dme_certificate.certification), line.dme_certificate.duration_months
        )
        if line.dme_certificate
        else None,
    )


def line_control_number(claim_control_number: str, line_number: int) -> str:
    """REF*6R: the payer echoes it in the 835, so each paid line finds its claim line."""
    return f"{claim_control_number}-{line_number}"


def claim_from_encounter(
    encounter: CodedEncounter, *, control_number: str, submitter: Submitter, receiver: Receiver
) -> Claim:
    """The 837 writer's claim; `ClaimMappingError` when a required party is missing."""
    if missing := missing_parts(encounter):
        raise ClaimMappingError(f"missing: {', '.join(sorted(missing))}")
    return _mapped_claim(encounter, control_number=control_number, submitter=submitter, receiver=receiver)


@_remembered_by_value
def _billing_provider(provider: _ProviderDetails, pay_to: _Address | None) -> BillingProvider:
    assert provider.address is not None and provider.tax_id is not None
    return BillingProvider(
        npi=provider.npi,
        name=x12_text(provider.name),
        first_name=x12_text(provider.first_name) if provider.entity == "individual" else None,
        taxonomy=provider.taxonomy,
        tax_id=provider.tax_id,
        tax_id_qualifier=TaxIdQualifier.SSN if provider.tax_id_type == "SSN" else TaxIdQualifier.EIN,
        address=_address(provider.address),
        pay_to_address=_address(pay_to),
    )


def _service_facility(facility: ev.FacilityDetails | wire.FacilityDetails | None) -> ServiceFacility | None:
    if facility is None:
        return None
    return _party_facility(facility)


@_remembered_by_value
def _party_facility(facility: ev.FacilityDetails | wire.FacilityDetails) -> ServiceFacility:
    return ServiceFacility(name=x12_text(facility.name), address=_address(facility.address), npi=facility.npi)


def _mapped_claim(encounter: CodedEncounter, *, control_number: str, submitter: Submitter, receiver: Receiver) -> Claim:
    """`claim_from_encounter` once no part is missing."""
    coverage, provider, phi = encounter.coverage, encounter.billing_provider, encounter.phi
    assert coverage is not None and provider is not None and phi is not None
    assert provider.address is not None and provider.tax_id is not None
    subscriber_phi = _subscriber_phi(encounter, coverage)
    assert subscriber_phi is not None
    patient = phi.patient
    is_self = coverage.relationship == Relationship.SELF
    options = encounter.claim_options
    line_providers = {p.npi: p for p in encounter.line_providers}
    try:
        dependent = None
        if not is_self:
            assert patient.first_name and patient.birth_date and patient.sex and patient.address
            dependent = Patient(
                last_name=x12_text(patient.last_name),
                first_name=x12_text(patient.first_name),
                middle_name=x12_text(patient.middle_name),
                birth_date=patient.birth_date,
                sex=_code(Sex, patient.sex),
                address=_address(patient.address),
                relationship=_code(Relationship, coverage.relationship),
            )
        return Claim(
            control_number=control_number,
            submitter=submitter,
            receiver=receiver,
            billing_provider=_billing_provider(provider, encounter.pay_to_address),
            subscriber=_subscriber(subscriber_phi, patient if is_self else None),
            payer=_payer(coverage.payer),
            payer_responsibility=_code(PayerResponsibility, coverage.responsibility),
            total_charge_cents=total_charge_cents(encounter),
            diagnoses=tuple(encounter.diagnosis_codes),
            lines=tuple(_line(line, control_number, line_providers) for line in encounter.lines),
            patient=dependent,
            place_of_service=encounter.place_of_service,
            frequency=_code(ClaimFrequency, encounter.interim_frequency_code or encounter.frequency_code),
            original_claim_number=encounter.original_claim_number,
            prior_authorization=encounter.prior_authorization,
            referring_provider=_provider(encounter.referring_provider),
            rendering_provider=_provider(encounter.rendering_provider),
            service_facility=_service_facility(encounter.service_facility),
            other_payers=_other_payers(encounter),
            institutional=_institutional(encounter),
            other_coverages=_other_coverages(encounter),
            attachments=_attachments(encounter.attachments),
            delay_reason=encounter.delay_reason_code,
            accident=_accident(encounter.accident),
            onset_date=encounter.onset_date,
            supervising_provider=_provider(encounter.supervising_provider),
            ambulance=_ambulance(encounter.ambulance, phi),
            provider_signature_on_file=options.provider_signature_on_file,
            assignment=_code(AssignmentCode, options.assignment),
            benefits_assigned=options.benefits_assigned,
            release_of_information=_code(ReleaseOfInformation, options.release_of_information),
        )
    except ValueError as exc:  # an enum code the 837 does not know
        if isinstance(exc, ClaimMappingError):
            raise
        raise ClaimMappingError(str(exc)) from None


WRITER_RULE_ID = "x12.837"
"""Findings from the 837 writer's own checks; they cannot be disabled (the writer would refuse the claim)."""


def writer_findings(encounter: CodedEncounter, *, submitter: Submitter, receiver: Receiver) -> list[Finding]:
    """Why the 837 writer would refuse this claim (field paths, not values), or nothing."""
    return checked_claim(encounter, submitter=submitter, receiver=receiver, control_number="X" * 20)[1]


def checked_claim(
    encounter: CodedEncounter,
    *,
    submitter: Submitter,
    receiver: Receiver,
    control_number: str,
    missing: frozenset[MissingPart] | None = None,
) -> tuple[Claim | None, list[Finding]]:
    """The 837 writer's claim and why the writer would refuse it (field paths, not values); the claim is
    None when it cannot be built at all (a missing part, which the required.* edits name). `missing` is the
    encounter's `missing_parts` when the caller has it already (its draft's)."""
    if missing_parts(encounter) if missing is None else missing:
        return None, []  # the required.* edits already name what is missing
    try:
        claim = _mapped_claim(encounter, control_number=control_number, submitter=submitter, receiver=receiver)
    except ClaimMappingError as exc:
        return None, [Finding(WRITER_RULE_ID, Severity.ERROR, f"cannot be written as an 837: {exc}")]
    return claim, [
        Finding(WRITER_RULE_ID, Severity.ERROR, f"{problem.field.removeprefix('claims[0].')}: "
                f"{problem.message.split(', got ')[0]}")
        for problem in validate_claims([claim])
    ]  # fmt: skip
