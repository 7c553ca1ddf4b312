"""Who a claim names: the encounter's references resolved against the tenant's registered records,
and the `encounter-coded` event built from them.

References the sender made by intake's own ids or NPIs (patient_id, payer_id, provider NPIs) may
name records intake does not hold yet (charges often arrive before registration): the event then
lacks those parties and lists the fields in `unresolved`, and the claim waits on hold. References
by the sender's external ids (patient_external_id, facility ids) and coverage conflicts are 422s.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Literal

from services.intake.domain.encounter import Problem
from services.intake.request_wire import (
    AddressBody,
    AdjustmentBody,
    AttachmentBody,
    EncounterBody,
    InstitutionalBody,
    PriorPayerBody,
    ServiceLineBody,
    lines_of,
    prior_payers_of,
)
from services.intake.schemas import (
    AmbulanceIn,
    CoverageOut,
    FacilityOut,
    PatientOut,
    PayerOut,
    PersonIn,
    ProviderIn,
)
from shared.events import wire

PRIORITY_ORDER = {"primary": 0, "secondary": 1, "tertiary": 2}
RESPONSIBILITY: dict[str, Literal["P", "S", "T"]] = {"primary": "P", "secondary": "S", "tertiary": "T"}
FREQUENCIES: dict[str, tuple[Literal["1", "7", "8"], Literal["2", "3", "4", "5"] | None]] = {
    "1": ("1", None), "7": ("7", None), "8": ("8", None), "2": ("1", "2"), "3": ("1", "3"), "4": ("1", "4"),
    "5": ("1", "5"),
}  # fmt: skip
"""The request's frequency code as the event's (CLM05-3, and the interim bill's own code: 2-5 are original bills)."""


@dataclass(frozen=True, slots=True)
class Registry:
    """The tenant's records an encounter (or a batch of them) may name, looked up in bulk."""

    patients: dict[uuid.UUID, PatientOut] = field(default_factory=dict)
    patients_by_external_id: dict[str, PatientOut] = field(default_factory=dict)
    coverages: dict[uuid.UUID, list[CoverageOut]] = field(default_factory=dict)
    """By patient id."""
    payers: dict[str, PayerOut] = field(default_factory=dict)
    providers: dict[str, ProviderIn] = field(default_factory=dict)
    """By NPI."""
    facilities: dict[uuid.UUID, FacilityOut] = field(default_factory=dict)
    facilities_by_external_id: dict[str, FacilityOut] = field(default_factory=dict)
    provider_details: dict[str, wire.ProviderDetails | None] = field(default_factory=dict, repr=False)
    coverage_details: dict[uuid.UUID, wire.CoverageDetails] = field(default_factory=dict, repr=False)
    patient_phi: dict[tuple[uuid.UUID, tuple[uuid.UUID, ...]], wire.EncounterPhi] = field(
        default_factory=dict, repr=False
    )
    """Event parts built from these records once, shared by the events of a batch (event payloads are frozen)."""


@dataclass(frozen=True, slots=True)
class Resolved:
    patient_id: uuid.UUID
    patient: PatientOut | None
    billed: CoverageOut | None
    others: list[CoverageOut]
    facility: FacilityOut | None
    unresolved: list[str]


def resolve(encounter: EncounterBody, registry: Registry) -> tuple[Resolved | None, list[Problem]]:
    problems: list[Problem] = []
    unresolved: list[str] = []
    patient = _patient(encounter, registry, problems, unresolved)
    facility = _facility(encounter, registry, problems)
    billed, others = None, []
    if patient is not None:
        in_force = sorted(
            (c for c in registry.coverages.get(patient.id, []) if c.in_force_on(encounter.service_date_from)),
            key=lambda c: PRIORITY_ORDER[c.priority],
        )
        billed = next((c for c in in_force if c.payer_id == encounter.payer_id), None)
        if not in_force:
            unresolved.append("coverage")
        elif billed is None:
            problems.append(
                Problem(
                    ("payer_id",),
                    f"the patient has no coverage with payer {encounter.payer_id} in force on "
                    f"{encounter.service_date_from} (has {', '.join(c.payer_id for c in in_force)})",
                )
            )
        others = [c for c in in_force if c is not billed]
        other_payers = {c.payer_id for c in others}
        for index, prior in enumerate(prior_payers_of(encounter)):
            if billed is not None and prior.payer_id not in other_payers:
                problems.append(
                    Problem(
                        ("prior_payer_adjudications", index, "payer_id"),
                        f"{prior.payer_id} is not another coverage of the patient in force on the date of service",
                    )
                )
    elif encounter.prior_payer_adjudications:
        unresolved.append("prior_payer_adjudications")
    problems.extend(_billing_provider_problems(encounter, registry))
    unresolved.extend(_unregistered_providers(encounter, registry))
    if problems or (patient is None and encounter.patient_id is None):
        return None, problems
    patient_id = patient.id if patient is not None else encounter.patient_id
    assert patient_id is not None
    return Resolved(patient_id, patient, billed, others, facility, unresolved), []


def _patient(
    encounter: EncounterBody, registry: Registry, problems: list[Problem], unresolved: list[str]
) -> PatientOut | None:
    if encounter.patient_external_id is not None:
        patient = registry.patients_by_external_id.get(encounter.patient_external_id)
        if patient is None:
            problems.append(
                Problem(("patient_external_id",), "no patient with this external id: register it (POST /v1/patients)")
            )
        return patient
    assert encounter.patient_id is not None
    patient = registry.patients.get(encounter.patient_id)
    if patient is None:
        unresolved.append("patient_id")
    return patient


def _facility(encounter: EncounterBody, registry: Registry, problems: list[Problem]) -> FacilityOut | None:
    if encounter.facility_id is not None:
        facility = registry.facilities.get(encounter.facility_id)
        if facility is None:
            problems.append(Problem(("facility_id",), "no facility with this id"))
        return facility
    if encounter.facility_external_id is not None:
        facility = registry.facilities_by_external_id.get(encounter.facility_external_id)
        if facility is None:
            problems.append(Problem(("facility_external_id",), "no facility with this external id"))
        return facility
    return None


_LINE_ROLES = ("rendering_provider_npi", "ordering_provider_npi", "supervising_provider_npi")


def _unregistered_providers(encounter: EncounterBody, registry: Registry) -> list[str]:
    """The fields naming a provider NPI the tenant has not registered (each line's named only when it does: this runs
    for every encounter of every batch)."""
    providers = registry.providers
    institutional = encounter.institutional
    references = [
        ("billing_provider_npi", encounter.billing_provider_npi),
        ("rendering_provider_npi", encounter.rendering_provider_npi),
        ("referring_provider_npi", encounter.referring_provider_npi),
        ("supervising_provider_npi", encounter.supervising_provider_npi),
    ]
    if institutional is not None:
        references.append(("institutional.attending_provider_npi", institutional.attending_provider_npi))
        references.append(("institutional.operating_provider_npi", institutional.operating_provider_npi))
        references.append(("institutional.other_operating_provider_npi", institutional.other_operating_provider_npi))
    unregistered = [name for name, npi in references if npi is not None and npi not in providers]
    for index, line in enumerate(lines_of(encounter)):
        npis = (line.rendering_provider_npi, line.ordering_provider_npi, line.supervising_provider_npi)
        if npis == (None, None, None):
            continue
        unregistered += [
            f"lines.{index}.{role}"
            for role, npi in zip(_LINE_ROLES, npis, strict=True)
            if npi is not None and npi not in providers
        ]
    return unregistered


def _line_provider_npis(encounter: EncounterBody) -> list[str]:
    npis = (
        npi
        for line in encounter.lines
        for npi in (line.rendering_provider_npi, line.ordering_provider_npi, line.supervising_provider_npi)
        if npi is not None
    )
    return list(dict.fromkeys(npis))


def _billing_provider_problems(encounter: EncounterBody, registry: Registry) -> list[Problem]:
    provider = registry.providers.get(encounter.billing_provider_npi)
    if provider is None:
        return []
    if provider.tax_id is None or provider.address is None:
        return [Problem(("billing_provider_npi",), "this provider has no tax id or address on record, so cannot bill")]
    if len(provider.address.postal_code) != 9:
        return [
            Problem(
                ("billing_provider_npi",),
                "the billing provider's address needs its 9-digit ZIP+4 (the 837 requires it): update the provider",
            )
        ]
    return []


def coded_event(
    encounter_id: uuid.UUID, encounter: EncounterBody, resolved: Resolved, registry: Registry, icd10cm_release: str
) -> wire.EncounterCodedV1:
    """The event the claims service builds its 837 from; PHI only inside `phi`.

    Built as the payload's msgspec mirror (`shared.events.wire`) straight from the request's model: no catalog
    model is validated on the way, so the mirror must carry exactly what `catalog.EncounterCodedV1` accepts
    (tests/unit/intake/test_coded_event_mirror.py validates the bytes against the catalog model)."""
    coverages = [c for c in (resolved.billed, *resolved.others) if c is not None]
    coverage_ids = {c.payer_id: c.id for c in coverages}
    institutional = encounter.institutional
    frequency, interim = FREQUENCIES[encounter.frequency_code]
    options = encounter.claim_options
    return wire.EncounterCodedV1(
        encounter_id=encounter_id,
        external_encounter_id=encounter.external_encounter_id,
        claim_type=encounter.claim_type,
        patient_id=resolved.patient_id,
        payer_id=encounter.payer_id,
        billing_provider_npi=encounter.billing_provider_npi,
        rendering_provider_npi=encounter.rendering_provider_npi,
        referring_provider_npi=encounter.referring_provider_npi,
        place_of_service=encounter.place_of_service,
        service_date_from=encounter.service_date_from,
        service_date_to=encounter.service_date_to,
        diagnosis_codes=[code.upper() for code in encounter.diagnosis_codes],
        lines=[_line(line) for line in encounter.lines],
        currency=encounter.currency,
        frequency_code=frequency,
        interim_frequency_code=interim,
        original_claim_number=encounter.original_claim_number,
        prior_authorization=encounter.prior_authorization,
        icd10cm_release=icd10cm_release,
        coverage=_coverage(resolved.billed, registry),
        other_coverages=[_coverage_of(c, registry) for c in resolved.others],
        billing_provider=_provider(encounter.billing_provider_npi, registry),
        rendering_provider=_provider(encounter.rendering_provider_npi, registry),
        referring_provider=_provider(encounter.referring_provider_npi, registry),
        service_facility=None if resolved.facility is None else _facility_details(resolved.facility),
        institutional=None if institutional is None else _institutional(institutional, registry),
        prior_payer_adjudications=[
            _prior_payer(coverage_ids[prior.payer_id], prior)
            for prior in encounter.prior_payer_adjudications
            if prior.payer_id in coverage_ids
        ],
        phi=None if resolved.patient is None else _phi(resolved.patient, coverages, encounter.ambulance, registry),
        unresolved=resolved.unresolved,
        supervising_provider_npi=encounter.supervising_provider_npi,
        supervising_provider=_provider(encounter.supervising_provider_npi, registry),
        line_providers=[p for npi in _line_provider_npis(encounter) if (p := _provider(npi, registry)) is not None],
        pay_to_address=_address(encounter.pay_to_address),
        attachments=[_attachment(a) for a in encounter.attachments],
        delay_reason_code=encounter.delay_reason_code,
        accident=None
        if encounter.accident is None
        else wire.Accident(
            causes=list(encounter.accident.causes),
            state=encounter.accident.state,
            occurred_on=encounter.accident.occurred_on,
        ),
        onset_date=encounter.onset_date,
        ambulance=None if encounter.ambulance is None else _ambulance(encounter.ambulance),
        claim_options=wire.ClaimOptions(
            provider_signature_on_file=options.provider_signature_on_file,
            assignment=options.assignment,
            benefits_assigned=options.benefits_assigned,
            release_of_information=options.release_of_information,
        ),
    )


def _line(line: ServiceLineBody) -> wire.CodedServiceLine:
    drug, certificate = line.drug, line.dme_certificate
    return wire.CodedServiceLine(
        line_number=line.line_number,
        procedure_code=line.procedure_code,
        revenue_code=line.revenue_code,
        modifiers=list(line.modifiers),
        units=line.units,
        charge_cents=line.charge_cents,
        diagnosis_pointers=list(line.diagnosis_pointers),
        service_date=line.service_date,
        service_date_end=line.service_date_end,
        place_of_service=line.place_of_service,
        drug=None if drug is None else wire.DrugLine(ndc=drug.ndc, quantity=str(drug.quantity), unit=drug.unit),
        emergency=line.emergency,
        unit_basis=line.unit_basis,
        rendering_provider_npi=line.rendering_provider_npi,
        ordering_provider_npi=line.ordering_provider_npi,
        supervising_provider_npi=line.supervising_provider_npi,
        attachments=[_attachment(a) for a in line.attachments],
        dme_certificate=None
        if certificate is None
        else wire.DmeCertificate(certification=certificate.certification, duration_months=certificate.duration_months),
    )


def _attachment(attachment: AttachmentBody) -> wire.Attachment:
    return wire.Attachment(
        report_type=attachment.report_type,
        transmission=attachment.transmission,
        control_number=attachment.control_number,
    )


def _dated(code: str, date: dt.date) -> wire.DatedCode:
    return wire.DatedCode(code=code, date=date)


def _institutional(institutional: InstitutionalBody, registry: Registry) -> wire.InstitutionalDetails:
    admission, principal = institutional.admission, institutional.principal_procedure
    return wire.InstitutionalDetails(
        facility_type_code=institutional.facility_type_code,
        patient_status_code=institutional.patient_status_code,
        attending_provider_npi=institutional.attending_provider_npi,
        attending=_provider(institutional.attending_provider_npi, registry),
        admission=None
        if admission is None
        else wire.Admission(
            admitted_on=admission.admitted_on,
            type_code=admission.type_code,
            source_code=admission.source_code,
            hour=admission.hour,
        ),
        admitting_diagnosis=institutional.admitting_diagnosis,
        present_on_admission=list(institutional.present_on_admission),
        discharge_hour=institutional.discharge_hour,
        patient_reasons_for_visit=[code.upper() for code in institutional.patient_reasons_for_visit],
        drg=institutional.drg,
        principal_procedure=None if principal is None else _dated(principal.code, principal.date),
        other_procedures=[_dated(p.code, p.date) for p in institutional.other_procedures],
        occurrences=[_dated(o.code, o.date) for o in institutional.occurrences],
        occurrence_spans=[wire.CodeSpan(code=o.code, start=o.start, end=o.end) for o in institutional.occurrence_spans],
        values=[wire.CodeAmount(code=v.code, amount_cents=v.amount_cents) for v in institutional.values],
        condition_codes=list(institutional.condition_codes),
        operating_provider_npi=institutional.operating_provider_npi,
        operating=_provider(institutional.operating_provider_npi, registry),
        other_operating_provider_npi=institutional.other_operating_provider_npi,
        other_operating=_provider(institutional.other_operating_provider_npi, registry),
    )


def _adjustment(adjustment: AdjustmentBody) -> wire.PriorPayerAdjustment:
    return wire.PriorPayerAdjustment(
        group=adjustment.group, reason_code=adjustment.reason_code, amount_cents=adjustment.amount_cents
    )


def _prior_payer(coverage_id: uuid.UUID, prior: PriorPayerBody) -> wire.PriorPayerAdjudication:
    return wire.PriorPayerAdjudication(
        coverage_id=coverage_id,
        paid_cents=prior.paid_cents,
        adjudication_date=prior.adjudication_date,
        claim_adjustments=[_adjustment(a) for a in prior.claim_adjustments],
        lines=[
            wire.PriorPayerLine(
                line_number=line.line_number,
                paid_cents=line.paid_cents,
                paid_units=line.paid_units,
                adjustments=[_adjustment(a) for a in line.adjustments],
            )
            for line in prior.lines
        ],
        payer_claim_control_number=prior.payer_claim_control_number,
    )


def _ambulance(trip: AmbulanceIn) -> wire.AmbulanceTransport:
    """The trip without the pick-up address and the patient's weight, which go in `phi`."""
    return wire.AmbulanceTransport(
        reason_code=trip.reason_code,
        distance_miles=str(trip.distance_miles),
        condition_codes=list(trip.condition_codes),
        round_trip_purpose=trip.round_trip_purpose,
        stretcher_purpose=trip.stretcher_purpose,
        drop_off_name=trip.drop_off_name,
        drop_off=_address_of(trip.drop_off),
    )


def _address_of(address: AddressBody) -> wire.Address:
    return wire.Address(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        state=address.state,
        postal_code=address.postal_code,
    )


def _address(address: AddressBody | None) -> wire.Address | None:
    return None if address is None else _address_of(address)


def _facility_details(facility: FacilityOut) -> wire.FacilityDetails:
    return wire.FacilityDetails(
        facility_id=facility.id, name=facility.name, npi=facility.npi, address=_address_of(facility.address)
    )


def _coverage(coverage: CoverageOut | None, registry: Registry) -> wire.CoverageDetails | None:
    return None if coverage is None else _coverage_of(coverage, registry)


def _coverage_of(coverage: CoverageOut, registry: Registry) -> wire.CoverageDetails:
    built = registry.coverage_details.get(coverage.id)
    if built is None:
        built = registry.coverage_details[coverage.id] = _coverage_details(coverage, registry.payers[coverage.payer_id])
    return built


def _payer_details(payer: PayerOut) -> wire.PayerDetails:
    return wire.PayerDetails(
        payer_id=payer.payer_id,
        name=payer.name,
        claim_filing_indicator=payer.claim_filing_indicator,
        timely_filing_days=payer.timely_filing_days,
        appeal_days=payer.appeal_days,
        address=_address(payer.address),
    )


def _coverage_details(coverage: CoverageOut, payer: PayerOut) -> wire.CoverageDetails:
    return wire.CoverageDetails(
        coverage_id=coverage.id,
        responsibility=RESPONSIBILITY[coverage.priority],
        relationship=coverage.relationship,
        payer=_payer_details(payer),
    )


def _provider_details(provider: ProviderIn) -> wire.ProviderDetails:
    return wire.ProviderDetails(
        npi=provider.npi,
        entity=provider.entity,
        name=provider.name,
        first_name=provider.first_name,
        middle_name=provider.middle_name,
        taxonomy=provider.taxonomy,
        tax_id=provider.tax_id,
        tax_id_type=provider.tax_id_type,
        address=_address(provider.address),
    )


def _provider(npi: str | None, registry: Registry) -> wire.ProviderDetails | None:
    if npi is None:
        return None
    if npi not in registry.provider_details:
        provider = registry.providers.get(npi)
        registry.provider_details[npi] = None if provider is None else _provider_details(provider)
    return registry.provider_details[npi]


def _person(person: PersonIn) -> wire.Person:
    return wire.Person(
        last_name=person.last_name,
        first_name=person.first_name,
        middle_name=person.middle_name,
        birth_date=person.birth_date,
        sex=person.sex,
        address=_address(person.address),
    )


def _phi(
    patient: PatientOut, coverages: list[CoverageOut], trip: AmbulanceIn | None, registry: Registry
) -> wire.EncounterPhi:
    if trip is not None:  # the trip's pick-up is the encounter's own
        return _encounter_phi(patient, coverages, trip)
    key = (patient.id, tuple(coverage.id for coverage in coverages))
    built = registry.patient_phi.get(key)
    if built is None:
        built = registry.patient_phi[key] = _encounter_phi(patient, coverages, None)
    return built


def _subscriber_phi(coverage: CoverageOut, patient: PatientOut) -> wire.SubscriberPhi:
    return wire.SubscriberPhi(
        coverage_id=coverage.id,
        member_id=coverage.member_id,
        group_number=coverage.group_number,
        group_name=coverage.group_name,
        subscriber=_person(coverage.subscriber or patient),
    )


def _encounter_phi(patient: PatientOut, coverages: list[CoverageOut], trip: AmbulanceIn | None) -> wire.EncounterPhi:
    return wire.EncounterPhi(
        patient=_person(patient),
        subscribers=[_subscriber_phi(coverage, patient) for coverage in coverages],
        ambulance_pick_up=None if trip is None else _address_of(trip.pick_up),
        patient_weight_lbs=None if trip is None else trip.patient_weight_lbs,
    )


# A registered party changed: the `party-changed` event --------------------------------------------------


ChangeSource = Literal["api", "claim-fix"]


def provider_changed(
    provider_id: uuid.UUID, provider: ProviderIn, changed: list[str], source: ChangeSource = "api"
) -> wire.PartyChangedV1:
    return wire.PartyChangedV1(
        party_kind="provider",
        party_id=provider_id,
        changed_fields=changed,
        source=source,
        provider=_provider_details(provider),
    )


def payer_changed(payer: PayerOut, changed: list[str], source: ChangeSource = "api") -> wire.PartyChangedV1:
    return wire.PartyChangedV1(
        party_kind="payer", party_id=payer.id, changed_fields=changed, source=source, payer=_payer_details(payer)
    )


def facility_changed(facility: FacilityOut, changed: list[str], source: ChangeSource = "api") -> wire.PartyChangedV1:
    return wire.PartyChangedV1(
        party_kind="facility",
        party_id=facility.id,
        changed_fields=changed,
        source=source,
        facility=_facility_details(facility),
    )


def patient_changed(patient: PatientOut, changed: list[str], source: ChangeSource = "api") -> wire.PartyChangedV1:
    return wire.PartyChangedV1(
        party_kind="patient",
        party_id=patient.id,
        patient_id=patient.id,
        changed_fields=changed,
        source=source,
        phi=wire.PartyPhi(patient=_person(patient)),
    )


def coverage_changed(
    coverage: CoverageOut, payer: PayerOut, patient: PatientOut, changed: list[str], source: ChangeSource = "api"
) -> wire.PartyChangedV1:
    return wire.PartyChangedV1(
        party_kind="coverage",
        party_id=coverage.id,
        patient_id=coverage.patient_id,
        changed_fields=changed,
        source=source,
        coverage=_coverage_details(coverage, payer),
        phi=wire.PartyPhi(subscriber=_subscriber_phi(coverage, patient)),
    )
