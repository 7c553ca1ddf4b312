"""Curated OpenAPI examples of the intake API: the requests a hospital system sends, as in
`examples/encounters/professional.json` (synthetic: no real person, payer or identifier)."""

from __future__ import annotations

from shared.openapi import OperationExamples

PATIENT_ID = "6f1c2f1e-8a40-4c55-9d43-3f1a2b7c9d10"
COVERAGE_ID = "0b7e9a52-3c1d-4f3e-8a6b-2d9c4e1f7a31"
ENCOUNTER_ID = "9e2d4c6a-1b3f-4a5e-8c7d-0f1e2a3b4c5d"
ADDRESS = {"line1": "100 SYNTHETIC AVE", "city": "SPRINGFIELD", "state": "IL", "postal_code": "62701"}
PATIENT = {
    "external_patient_id": "MRN-EX-0001",
    "last_name": "DOE",
    "first_name": "JANE",
    "middle_name": "Q",
    "birth_date": "1980-01-15",
    "sex": "F",
    "address": ADDRESS,
}
COVERAGE = {
    "payer_id": "SANDBOX",
    "priority": "primary",
    "member_id": "SYN000000101",
    "group_number": "GRP-EX-1",
    "group_name": "EXAMPLE EMPLOYER",
    "relationship": "18",
}
PROVIDER = {
    "npi": "1234567893",
    "entity": "organization",
    "name": "EXAMPLE FAMILY CLINIC",
    "taxonomy": "207Q00000X",
    "tax_id": "990000001",
    "tax_id_type": "EIN",
    "address": {
        "line1": "200 EXAMPLE BLVD",
        "line2": "SUITE 3",
        "city": "SPRINGFIELD",
        "state": "IL",
        "postal_code": "627041234",
    },
}
PAYER = {
    "payer_id": "SANDBOX",
    "name": "SANDBOX HEALTH PLAN",
    "claim_filing_indicator": "CI",
    "timely_filing_days": 365,
    "appeal_days": 180,
    "address": {"line1": "1 PAYER PLAZA", "city": "SPRINGFIELD", "state": "IL", "postal_code": "62702"},
}
FACILITY = {
    "external_facility_id": "FAC-EX-1",
    "name": "EXAMPLE SURGERY CENTER",
    "npi": "1497758544",
    "address": {"line1": "300 EXAMPLE WAY", "city": "SPRINGFIELD", "state": "IL", "postal_code": "627011234"},
}
ENCOUNTER = {
    "external_encounter_id": "EX-PROF-0001",
    "claim_type": "professional",
    "patient_external_id": "MRN-EX-0001",
    "payer_id": "SANDBOX",
    "billing_provider_npi": "1234567893",
    "rendering_provider_npi": "1987654328",
    "place_of_service": "11",
    "service_date_from": "2026-03-02",
    "service_date_to": "2026-03-02",
    "diagnosis_codes": ["J06.9", "R05.9"],
    "lines": [
        {
            "line_number": 1,
            "procedure_code": "99213",
            "units": 1,
            "charge_cents": 12500,
            "diagnosis_pointers": [1, 2],
            "service_date": "2026-03-02",
        },
        {
            "line_number": 2,
            "procedure_code": "87880",
            "modifiers": ["QW"],
            "units": 1,
            "charge_cents": 3000,
            "diagnosis_pointers": [1],
            "service_date": "2026-03-02",
        },
    ],
}
ENCOUNTER_OUT = {
    "id": ENCOUNTER_ID,
    "external_encounter_id": "EX-PROF-0001",
    "claim_type": "professional",
    "total_charge_cents": 15500,
    "currency": "USD",
    "received_at": "2026-03-03T09:15:00Z",
    "unresolved": [],
}
FHIR_CLAIM = {
    "resourceType": "Claim",
    "identifier": [{"value": "FHIR-CLAIM-0001"}],
    "status": "active",
    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
    "use": "claim",
    "patient": {"reference": f"Patient/{PATIENT_ID}"},
    "created": "2026-03-03",
    "insurer": {"identifier": {"value": "SANDBOX"}},
    "provider": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}},
    "priority": {"coding": [{"code": "normal"}]},
    "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "J06.9"}]}}],
    "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/{COVERAGE_ID}"}}],
    "billablePeriod": {"start": "2026-03-02", "end": "2026-03-02"},
    "item": [
        {
            "sequence": 1,
            "productOrService": {"coding": [{"code": "99213"}]},
            "diagnosisSequence": [1],
            "servicedDate": "2026-03-02",
            "locationCodeableConcept": {"coding": [{"code": "11"}]},
            "quantity": {"value": 1},
            "net": {"value": 125.00, "currency": "USD"},
        }
    ],
}

EXAMPLES: dict[tuple[str, str], OperationExamples] = {
    ("POST", "/v1/patients"): OperationExamples(PATIENT, {**PATIENT, "id": PATIENT_ID}),
    ("GET", "/v1/patients/{patient_id}"): OperationExamples(response={**PATIENT, "id": PATIENT_ID}),
    ("POST", "/v1/patients/{patient_id}/coverages"): OperationExamples(
        COVERAGE, {**COVERAGE, "id": COVERAGE_ID, "patient_id": PATIENT_ID}
    ),
    ("POST", "/v1/patients/{patient_id}/coverages/{coverage_id}/eligibility-checks"): OperationExamples(
        {"provider_npi": "1234567893", "service_date": "2026-03-02"}
    ),
    ("POST", "/v1/providers"): OperationExamples(PROVIDER),
    ("POST", "/v1/payers"): OperationExamples(PAYER),
    ("POST", "/v1/facilities"): OperationExamples(FACILITY),
    ("POST", "/v1/cpt-codes"): OperationExamples(
        {"codes": [{"code": "99213", "description": "Office visit, established patient"}, {"code": "87880"}]},
        {"loaded": 2, "total": 2},
    ),
    ("POST", "/v1/encounters"): OperationExamples(ENCOUNTER, ENCOUNTER_OUT),
    ("GET", "/v1/encounters/{encounter_id}"): OperationExamples(response=ENCOUNTER_OUT),
    ("POST", "/v1/encounters:batch"): OperationExamples(
        {"encounters": [ENCOUNTER, {**ENCOUNTER, "external_encounter_id": "EX-PROF-0002"}]},
        {
            "created": 1,
            "existing": 1,
            "results": [
                {"index": 0, "id": ENCOUNTER_ID, "external_encounter_id": "EX-PROF-0001", "status": "existing"},
                {
                    "index": 1,
                    "id": "4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5e",
                    "external_encounter_id": "EX-PROF-0002",
                    "status": "created",
                },
            ],
        },
    ),
    ("POST", "/fhir/Claim"): OperationExamples(FHIR_CLAIM, ENCOUNTER_OUT),
}
