"""Who a claim names: the encounter's references resolved against the tenant's registered records,
and the `encounter-coded` event built from them.

References the sender made by intake's own ids or NPIs (patient_id, payer_id, provider NPIs) may
name records intake does not hold yet (charges often arrive before registration): the event then
lacks those parties and lists the fields in `unresolved`, and the claim waits on hold. References
by the sender's external ids (patient_external_id, facility ids) and coverage conflicts are 422s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from services.intake.domain.encounter import Problem
from services.intake.schemas import (
    AddressIn,
    AmbulanceIn,
    CoverageOut,
    EncounterIn,
    FacilityOut,
    PatientOut,
    PayerOut,
    PersonIn,
    ProviderIn,
)
from shared.events import catalog

INTERIM_FREQUENCIES = frozenset({"2", "3", "4", "5"})
PRIORITY_ORDER = {"primary": 0, "secondary": 1, "tertiary": 2}
RESPONSIBILITY = {"primary": "P", "secondary": "S", "tertiary": "T"}


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
    provider_details: dict[str, catalog.ProviderDetails | None] = field(default_factory=dict, repr=False)
    coverage_details: dict[uuid.UUID, catalog.CoverageDetails] = field(default_factory=dict, repr=False)
    patient_phi: dict[tuple[uuid.UUID, tuple[uuid.UUID, ...]], catalog.EncounterPhi] = field(
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


def resolve(encounter: EncounterIn, registry: Registry) -> tuple[Resolved | None, list[Problem]]:
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
        for index, prior in enumerate(encounter.prior_payer_adjudications):
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
    for name, npi in _provider_references(encounter):
        if npi is not None and npi not in registry.providers:
            unresolved.append(name)
    if problems or (patient is None and encounter.patient_id is None):
        return None, problems
    patient_id = patient.id if patient is not None else encounter.patient_id
    assert patient_id is not None
    return Resolved(patient_id, patient, billed, others, facility, unresolved), []


def _patient(
    encounter: EncounterIn, registry: Registry, problems: list[Problem], unresolved: list[str]
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


def _facility(encounter: EncounterIn, registry: Registry, problems: list[Problem]) -> FacilityOut | None:
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


def _provider_references(encounter: EncounterIn) -> list[tuple[str, str | None]]:
    references = [
        ("billing_provider_npi", encounter.billing_provider_npi),
        ("rendering_provider_npi", encounter.rendering_provider_npi),
        ("referring_provider_npi", encounter.referring_provider_npi),
    ]
    references.append(("supervising_provider_npi", encounter.supervising_provider_npi))
    if encounter.institutional is not None:
        references.append(("institutional.attending_provider_npi", encounter.institutional.attending_provider_npi))
        references.append(("institutional.operating_provider_npi", encounter.institutional.operating_provider_npi))
        references.append(
            ("institutional.other_operating_provider_npi", encounter.institutional.other_operating_provider_npi)
        )
    for index, line in enumerate(encounter.lines):
        for role in ("rendering_provider_npi", "ordering_provider_npi", "supervising_provider_npi"):
            references.append((f"lines.{index}.{role}", getattr(line, role)))
    return references


def _line_provider_npis(encounter: EncounterIn) -> list[str]:
    npis = (
        npi
        for line in encounter.lines
        for npi in (line.rendering_provider_npi, line.ordering_provider_npi, line.supervising_provider_npi)
        if npi is not None
    )
    return list(dict.fromkeys(npis))


def _billing_provider_problems(encounter: EncounterIn, registry: Registry) -> list[Problem]:
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
    encounter_id: uuid.UUID, encounter: EncounterIn, resolved: Resolved, registry: Registry, icd10cm_release: str
) -> catalog.EncounterCodedV1:
    """The event the claims service builds its 837 from; PHI only inside `phi`."""
    coverages = [c for c in (resolved.billed, *resolved.others) if c is not None]
    coverage_ids = {c.payer_id: c.id for c in coverages}
    institutional = encounter.institutional
    return catalog.EncounterCodedV1(
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
        lines=[
            catalog.CodedServiceLine(
                **line.model_dump(exclude={"drug"}),
                drug=None
                if line.drug is None
                else catalog.DrugLine(ndc=line.drug.ndc, quantity=str(line.drug.quantity), unit=line.drug.unit),
            )
            for line in encounter.lines
        ],
        currency=encounter.currency,
        frequency_code="1" if encounter.frequency_code in INTERIM_FREQUENCIES else encounter.frequency_code,
        interim_frequency_code=encounter.frequency_code if encounter.frequency_code in INTERIM_FREQUENCIES else None,
        original_claim_number=encounter.original_claim_number,
        prior_authorization=encounter.prior_authorization,
        icd10cm_release=icd10cm_release,
        coverage=_coverage(resolved.billed, registry),
        other_coverages=[_coverage(c, registry) for c in resolved.others],
        billing_provider=_provider(encounter.billing_provider_npi, registry),
        rendering_provider=_provider(encounter.rendering_provider_npi, registry),
        referring_provider=_provider(encounter.referring_provider_npi, registry),
        service_facility=None
        if resolved.facility is None
        else catalog.FacilityDetails(
            facility_id=resolved.facility.id,
            name=resolved.facility.name,
            npi=resolved.facility.npi,
            address=_address(resolved.facility.address),
        ),
        institutional=None
        if institutional is None
        else catalog.InstitutionalDetails(
            facility_type_code=institutional.facility_type_code,
            patient_status_code=institutional.patient_status_code,
            attending_provider_npi=institutional.attending_provider_npi,
            attending=_provider(institutional.attending_provider_npi, registry),
            admission=None
            if institutional.admission is None
            else catalog.Admission(**institutional.admission.model_dump()),
            admitting_diagnosis=institutional.admitting_diagnosis,
            present_on_admission=list(institutional.present_on_admission),
            discharge_hour=institutional.discharge_hour,
            patient_reasons_for_visit=[code.upper() for code in institutional.patient_reasons_for_visit],
            drg=institutional.drg,
            principal_procedure=None
            if institutional.principal_procedure is None
            else catalog.DatedCode(**institutional.principal_procedure.model_dump()),
            other_procedures=[catalog.DatedCode(**p.model_dump()) for p in institutional.other_procedures],
            occurrences=[catalog.DatedCode(**o.model_dump()) for o in institutional.occurrences],
            occurrence_spans=[catalog.CodeSpan(**o.model_dump()) for o in institutional.occurrence_spans],
            values=[catalog.CodeAmount(**v.model_dump()) for v in institutional.values],
            condition_codes=list(institutional.condition_codes),
            operating_provider_npi=institutional.operating_provider_npi,
            operating=_provider(institutional.operating_provider_npi, registry),
            other_operating_provider_npi=institutional.other_operating_provider_npi,
            other_operating=_provider(institutional.other_operating_provider_npi, registry),
        ),
        prior_payer_adjudications=[
            catalog.PriorPayerAdjudication(
                coverage_id=coverage_ids[prior.payer_id], **prior.model_dump(exclude={"payer_id"})
            )
            for prior in encounter.prior_payer_adjudications
            if prior.payer_id in coverage_ids
        ],
        phi=None if resolved.patient is None else _phi(resolved.patient, coverages, encounter.ambulance, registry),
        unresolved=resolved.unresolved,
        supervising_provider_npi=encounter.supervising_provider_npi,
        supervising_provider=_provider(encounter.supervising_provider_npi, registry),
        line_providers=[p for npi in _line_provider_npis(encounter) if (p := _provider(npi, registry)) is not None],
        pay_to_address=_address(encounter.pay_to_address),
        attachments=[catalog.Attachment(**a.model_dump()) for a in encounter.attachments],
        delay_reason_code=encounter.delay_reason_code,
        accident=None if encounter.accident is None else catalog.Accident(**encounter.accident.model_dump()),
        onset_date=encounter.onset_date,
        ambulance=None if encounter.ambulance is None else _ambulance(encounter.ambulance),
        claim_options=catalog.ClaimOptions(**encounter.claim_options.model_dump()),
    )


def _ambulance(trip: AmbulanceIn) -> catalog.AmbulanceTransport:
    """The trip without the pick-up address and the patient's weight, which go in `phi`."""
    drop_off = _address(trip.drop_off)
    assert drop_off is not None
    return catalog.AmbulanceTransport(
        **trip.model_dump(exclude={"pick_up", "drop_off", "distance_miles", "patient_weight_lbs"}),
        distance_miles=str(trip.distance_miles),
        drop_off=drop_off,
    )


def _address(address: AddressIn | None) -> catalog.Address | None:
    return None if address is None else catalog.Address(**address.model_dump())


def _coverage(coverage: CoverageOut | None, registry: Registry) -> catalog.CoverageDetails | None:
    if coverage is None:
        return None
    built = registry.coverage_details.get(coverage.id)
    if built is None:
        built = registry.coverage_details[coverage.id] = _coverage_details(coverage, registry)
    return built


def _coverage_details(coverage: CoverageOut, registry: Registry) -> catalog.CoverageDetails:
    payer = registry.payers[coverage.payer_id]
    return catalog.CoverageDetails(
        coverage_id=coverage.id,
        responsibility=RESPONSIBILITY[coverage.priority],
        relationship=coverage.relationship,
        payer=catalog.PayerDetails(
            payer_id=payer.payer_id,
            name=payer.name,
            claim_filing_indicator=payer.claim_filing_indicator,
            timely_filing_days=payer.timely_filing_days,
            appeal_days=payer.appeal_days,
            address=_address(payer.address),
        ),
    )


def _provider(npi: str | None, registry: Registry) -> catalog.ProviderDetails | None:
    if npi is None:
        return None
    if npi not in registry.provider_details:
        provider = registry.providers.get(npi)
        registry.provider_details[npi] = (
            None
            if provider is None
            else catalog.ProviderDetails(**{**provider.model_dump(), "address": _address(provider.address)})
        )
    return registry.provider_details[npi]


def _person(person: PersonIn) -> catalog.Person:
    return catalog.Person(
        last_name=person.last_name,
        first_name=person.first_name,
        middle_name=person.middle_name,
        birth_date=person.birth_date,
        sex=person.sex,
        address=_address(person.address),
    )


def _phi(
    patient: PatientOut, coverages: list[CoverageOut], trip: AmbulanceIn | None, registry: Registry
) -> catalog.EncounterPhi:
    if trip is not None:  # the trip's pick-up is the encounter's own
        return _encounter_phi(patient, coverages, trip)
    key = (patient.id, tuple(coverage.id for coverage in coverages))
    built = registry.patient_phi.get(key)
    if built is None:
        built = registry.patient_phi[key] = _encounter_phi(patient, coverages, None)
    return built


def _encounter_phi(patient: PatientOut, coverages: list[CoverageOut], trip: AmbulanceIn | None) -> catalog.EncounterPhi:
    return catalog.EncounterPhi(
        ambulance_pick_up=None if trip is None else _address(trip.pick_up),
        patient_weight_lbs=None if trip is None else trip.patient_weight_lbs,
        patient=_person(patient),
        subscribers=[
            catalog.SubscriberPhi(
                coverage_id=coverage.id,
                member_id=coverage.member_id,
                group_number=coverage.group_number,
                group_name=coverage.group_name,
                subscriber=_person(coverage.subscriber or patient),
            )
            for coverage in coverages
        ],
    )


# A registered party changed: the `party-changed` event --------------------------------------------------


ChangeSource = Literal["api", "claim-fix"]


def provider_changed(
    provider_id: uuid.UUID, provider: ProviderIn, changed: list[str], source: ChangeSource = "api"
) -> catalog.PartyChangedV1:
    details = catalog.ProviderDetails(**{**provider.model_dump(), "address": _address(provider.address)})
    return catalog.PartyChangedV1(
        party_kind="provider", party_id=provider_id, changed_fields=changed, source=source, provider=details
    )


def payer_changed(payer: PayerOut, changed: list[str], source: ChangeSource = "api") -> catalog.PartyChangedV1:
    details = catalog.PayerDetails(
        payer_id=payer.payer_id,
        name=payer.name,
        claim_filing_indicator=payer.claim_filing_indicator,
        timely_filing_days=payer.timely_filing_days,
        appeal_days=payer.appeal_days,
        address=_address(payer.address),
    )
    return catalog.PartyChangedV1(
        party_kind="payer", party_id=payer.id, changed_fields=changed, source=source, payer=details
    )


def facility_changed(facility: FacilityOut, changed: list[str], source: ChangeSource = "api") -> catalog.PartyChangedV1:
    details = catalog.FacilityDetails(
        facility_id=facility.id, name=facility.name, npi=facility.npi, address=_address(facility.address)
    )
    return catalog.PartyChangedV1(
        party_kind="facility", party_id=facility.id, changed_fields=changed, source=source, facility=details
    )


def patient_changed(patient: PatientOut, changed: list[str], source: ChangeSource = "api") -> catalog.PartyChangedV1:
    return catalog.PartyChangedV1(
        party_kind="patient",
        party_id=patient.id,
        patient_id=patient.id,
        changed_fields=changed,
        source=source,
        phi=catalog.PartyPhi(patient=_person(patient)),
    )


def coverage_changed(
    coverage: CoverageOut, payer: PayerOut, patient: PatientOut, changed: list[str], source: ChangeSource = "api"
) -> catalog.PartyChangedV1:
    details = _coverage(coverage, Registry(payers={payer.payer_id: payer}))
    subscriber = catalog.SubscriberPhi(
        coverage_id=coverage.id,
        member_id=coverage.member_id,
        group_number=coverage.group_number,
        group_name=coverage.group_name,
        subscriber=_person(coverage.subscriber or patient),
    )
    return catalog.PartyChangedV1(
        party_kind="coverage",
        party_id=coverage.id,
        patient_id=coverage.patient_id,
        changed_fields=changed,
        source=source,
        coverage=details,
        phi=catalog.PartyPhi(subscriber=subscriber),
    )
