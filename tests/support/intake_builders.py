"""Synthetic intake records for unit tests: fake people, NPIs that pass Luhn, no real identifiers."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from services.intake.domain.parties import Registry
from services.intake.schemas import CoverageOut, EncounterIn, PatientOut, PayerOut, ProviderIn

DAY = dt.date(2026, 3, 2)
TODAY = dt.date(2026, 3, 20)
BILLING_NPI = "1234567893"
RENDERING_NPI = "1987654328"
REFERRING_NPI = "1555555550"
ATTENDING_NPI = "1444444446"
ADDRESS = {"line1": "1 SYNTHETIC WAY", "city": "SPRINGFIELD", "state": "IL", "postal_code": "62701"}
BILLING_ADDRESS = {**ADDRESS, "postal_code": "627011234"}
"""A billing provider's address has the ZIP+4 the 837 requires."""


def visit_lines(day: str) -> list[dict[str, Any]]:
    """An office visit and a rapid strep test on `day`: the two lines most encounters here carry."""
    return [
        {
            "line_number": 1,
            "procedure_code": "99213",
            "units": 1,
            "charge_cents": 12500,
            "diagnosis_pointers": [1, 2],
            "service_date": day,
        },
        {
            "line_number": 2,
            "procedure_code": "87880",
            "modifiers": ["QW"],
            "units": 1,
            "charge_cents": 3000,
            "diagnosis_pointers": [1],
            "service_date": day,
        },
    ]


def registered_encounter(
    external_id: str,
    mrn: str = "MRN-1",
    day: str = DAY.isoformat(),
    procedure: str = "99213",
    charge_cents: int = 12500,
    **overrides: Any,
) -> dict[str, Any]:
    """A one-line encounter of a patient registered under `mrn`, parties named by their registered ids."""
    body: dict[str, Any] = {
        "external_encounter_id": external_id,
        "claim_type": "professional",
        "patient_external_id": mrn,
        "payer_id": "SANDBOX",
        "billing_provider_npi": BILLING_NPI,
        "rendering_provider_npi": RENDERING_NPI,
        "place_of_service": "11",
        "service_date_from": day,
        "service_date_to": day,
        "diagnosis_codes": ["J06.9"],
        "lines": [{"line_number": 1, "procedure_code": procedure, "units": 1, "charge_cents": charge_cents,
                   "diagnosis_pointers": [1], "service_date": day}],
    }  # fmt: skip
    body.update(overrides)
    return body


def encounter_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_encounter_id": "ENC-0001",
        "claim_type": "professional",
        "patient_id": str(uuid.UUID(int=1)),
        "payer_id": "SANDBOX",
        "billing_provider_npi": BILLING_NPI,
        "rendering_provider_npi": RENDERING_NPI,
        "place_of_service": "11",
        "service_date_from": DAY.isoformat(),
        "service_date_to": DAY.isoformat(),
        "diagnosis_codes": ["J06.9", "R05.9"],
        "lines": visit_lines(DAY.isoformat()),
    }
    body.update(overrides)
    return body


def encounter(**overrides: Any) -> EncounterIn:
    return EncounterIn.model_validate(encounter_body(**overrides))


def institutional_body(**overrides: Any) -> dict[str, Any]:
    return encounter_body(
        claim_type="institutional",
        place_of_service="22",
        lines=[
            {"line_number": 1, "revenue_code": "0450", "procedure_code": "99283", "units": 1, "charge_cents": 90000,
             "service_date": DAY.isoformat()},
        ],
        institutional={"facility_type_code": "13", "patient_status_code": "01",
                       "attending_provider_npi": ATTENDING_NPI},
        **overrides,
    )  # fmt: skip


PATIENT = PatientOut.model_validate(
    {
        "id": str(uuid.UUID(int=1)),
        "external_patient_id": "MRN-1",
        "last_name": "DOE",
        "first_name": "JANE",
        "birth_date": "1980-01-01",
        "sex": "F",
        "address": ADDRESS,
    }
)


def coverage(payer_id: str, priority: str, **overrides: Any) -> CoverageOut:
    return CoverageOut.model_validate(
        {
            "id": str(uuid.uuid4()),
            "patient_id": str(PATIENT.id),
            "payer_id": payer_id,
            "priority": priority,
            "member_id": f"M{priority[:3].upper()}0001",
            **overrides,
        }
    )


def payer(payer_id: str) -> PayerOut:
    return PayerOut.model_validate(
        {
            "id": str(uuid.uuid4()),
            "payer_id": payer_id,
            "name": f"{payer_id} HEALTH PLAN",
            "claim_filing_indicator": "CI",
            "timely_filing_days": 365,
            "appeal_days": 180,
        }
    )


def provider(npi: str, **overrides: Any) -> ProviderIn:
    values: dict[str, Any] = {"npi": npi, "entity": "individual", "name": "SMITH", "first_name": "ALEX"}
    values.update(overrides)
    return ProviderIn.model_validate(values)


def full_registry(*coverages: CoverageOut) -> Registry:
    billed = coverages or (coverage("SANDBOX", "primary"),)
    billing = provider(
        BILLING_NPI, entity="organization", name="SYNTHETIC CLINIC", first_name=None,
        tax_id="123456789", tax_id_type="EIN", address=BILLING_ADDRESS, taxonomy="207Q00000X",
    )  # fmt: skip
    return Registry(
        patients={PATIENT.id: PATIENT},
        patients_by_external_id={PATIENT.external_patient_id: PATIENT},
        coverages={PATIENT.id: list(billed)},
        payers={c.payer_id: payer(c.payer_id) for c in billed},
        providers={BILLING_NPI: billing, RENDERING_NPI: provider(RENDERING_NPI)},
    )


BodyChange = Callable[[dict[str, Any]], None]
"""A change made in place to a request body (a dict as JSON gives it)."""


def setting(*path_and_value: object) -> BodyChange:
    """Sets the value at a path of keys and indexes, e.g. `setting("lines", 0, "units", 2)`."""
    *path, value = path_and_value

    def apply(body: dict[str, Any]) -> None:
        node: Any = body
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = copy.deepcopy(value)

    return apply


def dropping(*path: str | int) -> BodyChange:
    """Deletes the key or item at a path of keys and indexes."""

    def apply(body: dict[str, Any]) -> None:
        node: Any = body
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return apply
