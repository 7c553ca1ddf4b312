"""A synthetic FHIR R4 Bundle (Patient, a dependent's Coverage with its subscriber, Claim)."""

from __future__ import annotations

from typing import Any

DAY = "2026-03-02"


def claim_bundle(external_id: str = "FHIR-CLAIM-0001", mrn: str = "MRN-FHIR-0001") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:example:mrn", "value": mrn}],
                    "name": [{"family": "DOE", "given": ["JIMMY"]}],
                    "gender": "male",
                    "birthDate": "2016-06-01",
                    "address": [{"line": ["100 SYNTHETIC AVE"], "city": "SPRINGFIELD", "state": "IL",
                                 "postalCode": "62701"}],
                },
            },
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000002",
                "resource": {
                    "resourceType": "RelatedPerson",
                    "patient": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
                    "name": [{"family": "DOE", "given": ["JOHN"]}],
                    "gender": "male",
                    "birthDate": "1978-02-20",
                    "address": [{"line": ["100 SYNTHETIC AVE"], "city": "SPRINGFIELD", "state": "IL",
                                 "postalCode": "62701"}],
                },
            },
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000003",
                "resource": {
                    "resourceType": "Coverage",
                    "status": "active",
                    "subscriberId": "SYN000000301",
                    "subscriber": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000002"},
                    "beneficiary": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
                    "relationship": {"coding": [{"code": "child"}]},
                    "order": 1,
                    "payor": [{"identifier": {"value": "SANDBOX"}}],
                    "class": [{"type": {"coding": [{"code": "group"}]}, "value": "GRP-FHIR-1"}],
                },
            },
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000004",
                "resource": {
                    "resourceType": "Claim",
                    "identifier": [{"value": external_id}],
                    "status": "active",
                    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                         "code": "professional"}]},
                    "use": "claim",
                    "patient": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
                    "created": "2026-03-03",
                    "insurer": {"identifier": {"value": "SANDBOX"}},
                    "provider": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}},
                    "priority": {"coding": [{"code": "normal"}]},
                    "careTeam": [{"sequence": 1, "provider": {"identifier": {"value": "1987654328"}},
                                  "role": {"coding": [{"code": "primary"}]}}],
                    "diagnosis": [
                        {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"code": "R05.9"}]}},
                        {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "J06.9"}]}},
                    ],
                    "insurance": [{"sequence": 1, "focal": True,
                                   "coverage": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000003"},
                                   "preAuthRef": ["AUTH-FHIR-1"]}],
                    "billablePeriod": {"start": DAY, "end": DAY},
                    "item": [
                        {"sequence": 1, "productOrService": {"coding": [{"code": "99213"}]},
                         "diagnosisSequence": [1, 2], "servicedDate": DAY,
                         "locationCodeableConcept": {"coding": [{"code": "11"}]},
                         "quantity": {"value": 1}, "net": {"value": 125.00, "currency": "USD"}},
                        {"sequence": 2, "productOrService": {"coding": [{"code": "87880"}]},
                         "modifier": [{"coding": [{"code": "QW"}]}], "diagnosisSequence": [1],
                         "servicedDate": DAY, "locationCodeableConcept": {"coding": [{"code": "11"}]},
                         "quantity": {"value": 1}, "net": {"value": 30.00, "currency": "USD"}},
                    ],
                },
            },
        ],
    }  # fmt: skip
