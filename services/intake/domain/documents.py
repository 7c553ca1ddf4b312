"""An encounter document (patient, coverages, providers, payers, facility, encounter) checked alone.

The same rules and the same event as the API, with the document standing in for the tenant's
registered records: ids are derived from the document's external ids, so the result is repeatable.
Used by the examples under examples/encounters/ and by offline tools.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from services.intake.domain.encounter import Problem, check_encounter, diagnosis_release
from services.intake.domain.parties import Registry, coded_event, resolve
from services.intake.schemas import CoverageOut, EncounterDocument, FacilityOut, PatientOut, PayerOut
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import payload_json

DOCUMENT_NAMESPACE = uuid.UUID("6d1f3c52-3a55-4d6e-9a4b-7f0c2e8e9b11")


def document_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(DOCUMENT_NAMESPACE, "/".join(parts))


def registry_from_document(document: EncounterDocument) -> Registry:
    patient_id = document_id("patient", document.patient.external_patient_id)
    patient = PatientOut(id=patient_id, **document.patient.model_dump())
    coverages = [
        CoverageOut(id=document_id("coverage", c.payer_id, c.member_id), patient_id=patient.id, **c.model_dump())
        for c in document.coverages
    ]
    facilities = (
        []
        if document.facility is None
        else [
            FacilityOut(
                id=document_id("facility", document.facility.external_facility_id), **document.facility.model_dump()
            )
        ]
    )
    return Registry(
        patients={patient.id: patient},
        patients_by_external_id={patient.external_patient_id: patient},
        coverages={patient.id: coverages},
        payers={p.payer_id: PayerOut(id=document_id("payer", p.payer_id), **p.model_dump()) for p in document.payers},
        providers={p.npi: p for p in document.providers},
        facilities={f.id: f for f in facilities},
        facilities_by_external_id={f.external_facility_id: f for f in facilities},
    )


DANGLING = {
    "patient_id": "the document's patient",
    "coverage": "the document's coverages",
    "prior_payer_adjudications": "the document's coverages",
}


def _dangling(reference: str) -> Problem:
    """A reference the document makes to a party it does not define, at the document's own path."""
    parts = tuple(int(part) if part.isdigit() else part for part in reference.split("."))
    defined_in = DANGLING.get(reference, "the document's providers")
    return Problem(("encounter", *parts), f"names a party that {defined_in} do not define (a dangling reference)")


def document_event(document: EncounterDocument, *, today: dt.date) -> tuple[EncounterCodedV1 | None, list[Problem]]:
    """The encounter-coded event the document would produce, or the problems (under `encounter`).

    A document stands alone: every party it names must be in it, so what the API would hold as
    `unresolved` is a problem here."""
    encounter = document.encounter
    release = diagnosis_release(encounter.service_date_from)
    problems = check_encounter(encounter, today=today, release=release)
    registry = registry_from_document(document)
    resolved, unresolvable = resolve(encounter, registry)
    problems = [Problem(("encounter", *p.loc), p.msg) for p in problems + unresolvable]
    for index, coverage in enumerate(document.coverages):
        if coverage.payer_id not in registry.payers:
            problems.append(Problem(("coverages", index, "payer_id"), "no payer with this id in the document"))
    if resolved is not None:
        problems.extend(_dangling(reference) for reference in resolved.unresolved)
    if problems or resolved is None:
        return None, problems
    event_id = document_id("encounter", encounter.external_encounter_id)
    event = coded_event(event_id, encounter, resolved, registry, release.name)
    return EncounterCodedV1.model_validate_json(payload_json(event)), []


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def rebased(document: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The document (as JSON) with its encounter's dates moved so that its `as_of` falls on `today`.

    Examples are written on one day; sent to a running system on another, their visit keeps the same
    distance from "today" (so it is never in the future nor past a payer's filing limit). Only the
    encounter and coverage dates move; birth dates stay."""
    as_of = document.get("as_of")
    if not isinstance(as_of, str):
        return document
    shift = today - dt.date.fromisoformat(as_of)

    def moved(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: moved(item) for key, item in value.items()}
        if isinstance(value, list):
            return [moved(item) for item in value]
        if isinstance(value, str) and _ISO_DAY.match(value):
            return (dt.date.fromisoformat(value) + shift).isoformat()
        return value

    coverages = [
        {**c, **{k: moved(c[k]) for k in ("effective_from", "effective_to") if c.get(k)}}
        for c in document.get("coverages", [])
    ]
    return {**document, "as_of": today.isoformat(), "coverages": coverages, "encounter": moved(document["encounter"])}
