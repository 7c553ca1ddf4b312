"""FHIR R4 `Claim` (alone, or in a `Bundle` with its Patient and Coverage) mapped onto intake's shapes.

Structure is validated by `fhir.resources` (its R4B models, identical to R4 for Patient, Coverage,
Claim and Bundle); the mapping then reads the subset a claim needs and remembers, for every intake
field it fills, the FHIR path it came from, so intake's own 422s can name the FHIR element.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim, ClaimItem
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.relatedperson import RelatedPerson
from pydantic import ValidationError

from services.intake.domain.encounter import Location, Problem

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
GENDER = {"female": "F", "male": "M", "other": "U", "unknown": "U"}
RELATIONSHIP = {"self": "18", "spouse": "01", "child": "19", "common": "53", "other": "G8", "parent": "G8"}
PRIORITY = {1: "primary", 2: "secondary", 3: "tertiary"}
RENDERING_ROLES = {"primary", "rendering", "performing"}


class FhirRejected(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = problems


@dataclass
class Origins:
    """Intake field location -> the FHIR path it was read from; unknown fields map to their nearest parent."""

    paths: dict[Location, Location] = field(default_factory=dict)

    def note(self, intake: Location, fhir: Location) -> None:
        self.paths[intake] = fhir

    def fhir_path(self, intake: Location) -> Location:
        for length in range(len(intake), -1, -1):
            if intake[:length] in self.paths:
                return self.paths[intake[:length]]
        return ()


Unvalidated = dict[str, object]
"""Fields mapped from FHIR under intake's names, not validated yet: the request models validate them,
so each bad field is named (by the FHIR path it came from)."""


@dataclass
class MappedClaim:
    encounter: Unvalidated
    encounter_origins: Origins
    patient: Unvalidated | None = None
    patient_origins: Origins = field(default_factory=Origins)
    coverages: list[tuple[Unvalidated, Origins]] = field(default_factory=list)


def expression(loc: Iterable[str | int]) -> str:
    """A FHIRPath-like rendering of a location: Bundle.entry[2].resource.item[0].net.value."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def parse(body: dict[str, object]) -> MappedClaim:
    """Validate and map a Claim or a Bundle; raises FhirRejected naming FHIR paths."""
    kind = body.get("resourceType")
    models: dict[str, type[Bundle] | type[Claim]] = {"Bundle": Bundle, "Claim": Claim}
    model = models.get(str(kind))
    if model is None:
        raise FhirRejected(
            [Problem(("resourceType",), "send a FHIR R4 Claim, or a Bundle with Patient, Coverage and Claim")]
        )
    try:
        resource = model.model_validate(body)
    except ValidationError as exc:
        raise FhirRejected(
            [Problem(tuple(e["loc"]), e["msg"]) for e in exc.errors(include_url=False, include_input=False)[:20]]
        ) from None
    if isinstance(resource, Claim):
        return _map_claim(resource, (), bundle=None)
    return _map_bundle(resource)


def _map_bundle(bundle: Bundle) -> MappedClaim:
    entries = [(index, entry.resource) for index, entry in enumerate(bundle.entry or []) if entry.resource is not None]
    by_type: dict[str, list[tuple[int, Any]]] = {}
    for index, resource in entries:
        by_type.setdefault(resource.get_resource_type(), []).append((index, resource))
    problems = []
    for kind, wanted in (("Claim", "exactly one"), ("Patient", "exactly one"), ("Coverage", "at least one")):
        count = len(by_type.get(kind, []))
        if count == 0 or (wanted == "exactly one" and count > 1):
            problems.append(Problem(("entry",), f"the Bundle needs {wanted} {kind} (has {count})"))
    if problems:
        raise FhirRejected(problems)
    references = _references(bundle)
    (claim_index, claim), (patient_index, patient) = by_type["Claim"][0], by_type["Patient"][0]
    mapped = _map_claim(claim, ("entry", claim_index, "resource"), bundle=references)
    patient_at: Location = ("entry", patient_index, "resource")
    mapped.patient, mapped.patient_origins = _map_person(patient, patient_at, with_identifier=True)
    mapped.encounter.pop("patient_id", None)
    mapped.encounter["patient_external_id"] = mapped.patient.get("external_patient_id")
    mapped.encounter_origins.note(("patient_external_id",), (*patient_at, "identifier"))
    for index, coverage in by_type["Coverage"]:
        mapped.coverages.append(_map_coverage(coverage, ("entry", index, "resource"), references))
    return mapped


def _references(bundle: Bundle) -> dict[str, tuple[int, Any]]:
    found: dict[str, tuple[int, Any]] = {}
    for index, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        if resource is None:
            continue
        if entry.fullUrl:
            found[str(entry.fullUrl)] = (index, resource)
        if resource.id:
            found[f"{resource.get_resource_type()}/{resource.id}"] = (index, resource)
    return found


def _first_coding(concept: Any) -> str | None:
    if concept is None or not concept.coding:
        return None
    code = concept.coding[0].code
    return None if code is None else str(code)


def _day(value: dt.date | None) -> dt.date | None:
    """FHIR dateTime may be a date or a datetime; a claim's dates are days."""
    return value.date() if isinstance(value, dt.datetime) else value


def _cents(value: Decimal) -> int | str:
    cents = value * 100
    if cents != cents.to_integral_value():
        return f"{value} has fractions of a cent"
    return int(cents)


def _map_claim(claim: Claim, at: Location, *, bundle: dict[str, tuple[int, Any]] | None) -> MappedClaim:
    origins = Origins()
    encounter: Unvalidated = {}
    problems: list[Problem] = []

    def put(name: str, value: object, path: Location) -> None:
        encounter[name] = value
        origins.note((name,), (*at, *path))

    identifier = next((i.value for i in claim.identifier or [] if i.value), None)
    put("external_encounter_id", identifier or claim.id, ("identifier",))
    kind = _first_coding(claim.type)
    if kind not in ("professional", "institutional"):
        problems.append(Problem((*at, "type"), f"claim type {kind!r}: intake takes professional claims over FHIR"))
    elif kind == "institutional":
        problems.append(Problem((*at, "type"), "institutional claims are not mapped from FHIR yet: use /v1/encounters"))
    put("claim_type", kind, ("type",))
    reference = claim.patient.reference or ""
    if bundle is None:
        put("patient_id", reference.removeprefix("Patient/") or None, ("patient", "reference"))
    put("payer_id", claim.insurer.identifier.value if claim.insurer and claim.insurer.identifier else None,
        ("insurer", "identifier", "value"))  # fmt: skip
    provider_identifier = claim.provider.identifier if claim.provider else None
    put("billing_provider_npi", provider_identifier.value if provider_identifier else None,
        ("provider", "identifier", "value"))  # fmt: skip
    for index, member in enumerate(claim.careTeam or []):
        role = _first_coding(member.role)
        npi = member.provider.identifier.value if member.provider and member.provider.identifier else None
        if role in RENDERING_ROLES:
            put("rendering_provider_npi", npi, ("careTeam", index, "provider", "identifier", "value"))
        elif role == "referring":
            put("referring_provider_npi", npi, ("careTeam", index, "provider", "identifier", "value"))
    if claim.facility is not None and claim.facility.identifier is not None:
        put("facility_external_id", claim.facility.identifier.value, ("facility", "identifier", "value"))
    diagnoses = sorted(enumerate(claim.diagnosis or []), key=lambda pair: pair[1].sequence or 0)
    diagnosis_codes: list[str | None] = []
    put("diagnosis_codes", diagnosis_codes, ("diagnosis",))
    position_of_sequence = {}
    for position, (index, diagnosis) in enumerate(diagnoses, start=1):
        position_of_sequence[diagnosis.sequence] = position
        diagnosis_codes.append(_first_coding(diagnosis.diagnosisCodeableConcept))
        origins.note(("diagnosis_codes", position - 1), (*at, "diagnosis", index, "diagnosisCodeableConcept"))
    for insurance in claim.insurance or []:
        if insurance.focal and insurance.preAuthRef:
            put("prior_authorization", insurance.preAuthRef[0], ("insurance",))
    lines: list[Unvalidated] = []
    put("lines", lines, ("item",))
    days: list[dt.date] = []
    for index, item in enumerate(claim.item or []):
        line, day = _map_item(item, (*at, "item", index), index, position_of_sequence, origins, problems)
        lines.append(line)
        if day is not None:
            days.append(day)
    first_location = next((line.get("place_of_service") for line in lines), None)
    put("place_of_service", first_location, ("item", 0, "locationCodeableConcept"))
    period = claim.billablePeriod
    start = _day(period.start) if period and period.start else min(days, default=None)
    end = _day(period.end) if period and period.end else max(days, default=None)
    put("service_date_from", start, ("billablePeriod", "start"))
    put("service_date_to", end, ("billablePeriod", "end"))
    if problems:
        raise FhirRejected(problems)
    return MappedClaim(encounter=encounter, encounter_origins=origins)


def _map_item(
    item: ClaimItem,
    at: Location,
    index: int,
    position_of_sequence: dict[int | None, int],
    origins: Origins,
    problems: list[Problem],
) -> tuple[Unvalidated, dt.date | None]:
    """One Claim.item (at `at`) as encounter line `index`, and its date of service."""
    line: Unvalidated = {}
    origins.note(("lines", index), at)

    def put_line(name: str, value: object, element: Location) -> None:
        line[name] = value
        origins.note(("lines", index, name), (*at, *element))

    put_line("line_number", item.sequence, ("sequence",))
    put_line("procedure_code", _first_coding(item.productOrService), ("productOrService",))
    if item.revenue is not None:
        put_line("revenue_code", _first_coding(item.revenue), ("revenue",))
    put_line("modifiers", [_first_coding(m) for m in item.modifier or []], ("modifier",))
    quantity = item.quantity.value if item.quantity is not None and item.quantity.value is not None else Decimal(1)
    put_line("units", int(quantity) if quantity == quantity.to_integral_value() else str(quantity), ("quantity",))
    money = item.net or item.unitPrice
    if money is not None and money.value is not None:
        total = money.value if item.net is not None else money.value * quantity
        element = ("net" if item.net is not None else "unitPrice", "value")
        cents = _cents(total)
        if isinstance(cents, str):
            problems.append(Problem((*at, *element), cents))
        put_line("charge_cents", cents, element)
    put_line(
        "diagnosis_pointers",
        [position_of_sequence.get(sequence, (sequence or 0) + 100) for sequence in item.diagnosisSequence or []],
        ("diagnosisSequence",),
    )
    start = item.servicedDate or (_day(item.servicedPeriod.start) if item.servicedPeriod else None)
    put_line("service_date", start, ("servicedDate",))
    location = _first_coding(item.locationCodeableConcept)
    if location is not None:
        put_line("place_of_service", location, ("locationCodeableConcept",))
    return line, start


def _map_person(
    resource: Patient | RelatedPerson, at: Location, *, with_identifier: bool
) -> tuple[Unvalidated, Origins]:
    origins = Origins()
    person: Unvalidated = {}
    if with_identifier:
        identifier = next((i.value for i in resource.identifier or [] if i.value), None)
        person["external_patient_id"] = identifier
        origins.note(("external_patient_id",), (*at, "identifier"))
    name = resource.name[0] if resource.name else None
    given = list(name.given or []) if name is not None else []
    person["last_name"] = name.family if name is not None else None
    person["first_name"] = given[0] if given else None
    if len(given) > 1:
        person["middle_name"] = given[1]
    for field_name in ("last_name", "first_name", "middle_name"):
        origins.note((field_name,), (*at, "name", 0))
    person["birth_date"] = resource.birthDate
    origins.note(("birth_date",), (*at, "birthDate"))
    person["sex"] = GENDER.get(resource.gender or "", None)
    origins.note(("sex",), (*at, "gender"))
    address = resource.address[0] if resource.address else None
    if address is not None:
        lines = list(address.line or [])
        mapped_address: Unvalidated = {
            "line1": lines[0] if lines else None,
            "city": address.city,
            "state": address.state,
            "postal_code": (address.postalCode or "").replace("-", ""),
        }
        if len(lines) > 1:
            mapped_address["line2"] = lines[1]
        person["address"] = mapped_address
    origins.note(("address",), (*at, "address", 0))
    return person, origins


def _map_coverage(
    coverage: Coverage, at: Location, references: dict[str, tuple[int, Any]]
) -> tuple[Unvalidated, Origins]:
    origins = Origins()
    payer = next((p.identifier.value for p in coverage.payor or [] if p.identifier is not None), None)
    mapped: Unvalidated = {
        "payer_id": payer,
        "priority": PRIORITY.get(coverage.order or 1),
        "member_id": coverage.subscriberId,
        "relationship": RELATIONSHIP.get(_first_coding(coverage.relationship) or "self"),
    }
    origins.note(("payer_id",), (*at, "payor", 0, "identifier", "value"))
    origins.note(("priority",), (*at, "order"))
    origins.note(("member_id",), (*at, "subscriberId"))
    origins.note(("relationship",), (*at, "relationship"))
    for index, coverage_class in enumerate(coverage.class_fhir or []):
        if _first_coding(coverage_class.type) == "group":
            mapped["group_number"] = coverage_class.value
            if coverage_class.name:
                mapped["group_name"] = coverage_class.name
            origins.note(("group_number",), (*at, "class", index, "value"))
    if coverage.period is not None:
        if coverage.period.start:
            mapped["effective_from"] = _day(coverage.period.start)
        if coverage.period.end:
            mapped["effective_to"] = _day(coverage.period.end)
        origins.note(("effective_from",), (*at, "period"))
        origins.note(("effective_to",), (*at, "period"))
    if mapped["relationship"] != "18" and coverage.subscriber is not None:
        found = references.get(coverage.subscriber.reference or "")
        if found is not None:
            index, subscriber = found
            person, person_origins = _map_person(subscriber, ("entry", index, "resource"), with_identifier=False)
            mapped["subscriber"] = person
            for loc, path in person_origins.paths.items():
                origins.note(("subscriber", *loc), path)
    origins.note(("subscriber",), (*at, "subscriber"))
    return mapped, origins
