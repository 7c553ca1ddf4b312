"""Every operation of every service's OpenAPI document: request and response examples that conform to
their schemas, and every error answer it can give documented as problem details (FHIR routes: an
OperationOutcome). Built from the real apps, no servers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI

from services.claims.app import DEFINITION as CLAIMS
from services.denials.app import DEFINITION as DENIALS
from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.remittance.app import DEFINITION as REMITTANCE
from shared.openapi import (
    ASSET_NAMES,
    HTTP_METHODS,
    PROBLEM_MEDIA_TYPE,
    ServiceDocument,
    example_of,
    merge_documents,
)
from shared.service import ServiceDefinition, create_service_app
from shared.settings import ServiceSettings

DEFINITIONS = (INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS)
JSON_TYPES = ("application/json", "application/fhir+json", "application/merge-patch+json")
Operation = tuple[str, str, str, dict[str, Any]]


def app_of(definition: ServiceDefinition) -> FastAPI:
    return create_service_app(definition, ServiceSettings(environment="development"))


DOCUMENTS = {definition.name: app_of(definition).openapi() for definition in DEFINITIONS}


def operations() -> list[Operation]:
    return [
        (service, method, path, operation)
        for service, document in DOCUMENTS.items()
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


OPERATIONS = operations()
IDS = [f"{service} {method.upper()} {path}" for service, method, path, _ in OPERATIONS]


def conforms(service: str, schema: dict[str, Any], value: object) -> list[str]:
    """Validation errors of `value` against `schema`, whose references point into the service's document."""
    root = {**schema, "components": DOCUMENTS[service]["components"]}
    validator = jsonschema_rs.validator_for(root)
    return [error.message for error in validator.iter_errors(value)]


def test_there_are_operations_in_every_document() -> None:
    assert {service for service, *_ in OPERATIONS} == {d.name for d in DEFINITIONS}
    assert len(OPERATIONS) > 70


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_has_conforming_request_and_response_examples(
    service: str, method: str, path: str, operation: dict[str, Any]
) -> None:
    for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
        named = [example["value"] for example in content.get("examples", {}).values()]
        values = [content["example"]] if "example" in content else named
        assert values, f"no request example for {media_type}"
        if media_type in JSON_TYPES:
            for value in values:
                assert conforms(service, content["schema"], value) == []
    successes = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
    assert successes, "no success answer documented"
    for code, response in successes.items():
        for media_type, content in response.get("content", {}).items():
            if media_type in JSON_TYPES:
                assert "example" in content, f"no {code} example"
                assert conforms(service, content["schema"], content["example"]) == [], code


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_error_answer_is_documented_as_problem_details(
    service: str, method: str, path: str, operation: dict[str, Any]
) -> None:
    responses = operation["responses"]
    expected: set[str] = set()
    if operation.get("security"):
        expected |= {"401", "403"}
    if "{" in path:
        expected.add("404")
    if "requestBody" in operation:
        expected |= {"413", "415", "422"}
    if operation.get("parameters"):
        expected.add("422")
    assert expected <= set(responses)
    fhir = path.startswith("/fhir/")
    for code, response in responses.items():
        if int(code) < 400:
            continue
        ((media_type, content),) = response["content"].items()
        if fhir:
            assert media_type == "application/fhir+json"
            assert content["schema"] == {"$ref": "#/components/schemas/OperationOutcome"}
            assert content["example"]["resourceType"] == "OperationOutcome"
        else:
            assert media_type == PROBLEM_MEDIA_TYPE
            assert content["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert content["example"]["status"] == int(code)
        assert conforms(service, content["schema"], content["example"]) == []
        assert response["description"] and response["description"] != "Validation Error"


def test_curated_examples_name_real_operations() -> None:
    for definition in DEFINITIONS:
        paths = DOCUMENTS[definition.name]["paths"]
        for method, path in definition.openapi_examples:
            assert method.lower() in paths.get(path, {}), f"{definition.name}: {method} {path} is not an operation"


def test_curated_request_examples_pass_the_routes_own_validation() -> None:
    """The schema is not every rule (NPI check digits, ICD-10-CM codes): the real route parses them."""
    for definition in DEFINITIONS:
        app = app_of(definition)
        for route in app.routes:
            body_field = getattr(route, "body_field", None)
            methods = getattr(route, "methods", set())
            for method in methods:
                curated = definition.openapi_examples.get((method, getattr(route, "path", "")))
                if curated is None or curated.request is None or body_field is None:
                    continue
                _, errors = body_field.validate(curated.request, {}, loc=("body",))
                assert not errors, f"{definition.name} {method} {route.path}: {errors}"  # type: ignore[attr-defined]


def test_fhir_claim_is_described_not_a_bare_object() -> None:
    body = DOCUMENTS["intake"]["paths"]["/fhir/Claim"]["post"]["requestBody"]["content"]["application/fhir+json"]
    assert body["schema"]["properties"]["resourceType"] == {"enum": ["Claim", "Bundle"]}
    assert body["example"]["resourceType"] == "Claim"


def test_examples_from_schemas_keep_integer_cents_and_valid_npis() -> None:
    schema = {
        "type": "object",
        "required": ["charge_cents", "billing_provider_npi", "service_date", "claim_id"],
        "properties": {
            "charge_cents": {"type": "integer", "minimum": 0},
            "billing_provider_npi": {"type": "string"},
            "service_date": {"type": "string", "format": "date"},
            "claim_id": {"type": "string", "format": "uuid"},
            "state": {"enum": ["on_hold", "ready"]},
        },
    }
    example = example_of(schema, {})
    assert isinstance(example, dict)
    assert example["charge_cents"] == 12_500 and example["billing_provider_npi"] == "1234567893"
    assert example["service_date"] == "2026-11-02" and example["state"] == "on_hold"


def test_the_five_documents_merge_into_one_reference_with_a_server_per_operation() -> None:
    merged = merge_documents(
        [
            ServiceDocument(name, f"http://127.0.0.1:800{i + 1}", document)
            for i, (name, document) in enumerate(DOCUMENTS.items())
        ]
    )
    operations_in = sum(
        1
        for document in DOCUMENTS.values()
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS and not {"operations", "audit"} & set(operation.get("tags", ()))
    )
    merged_operations = [
        operation for item in merged["paths"].values() for method, operation in item.items() if method in HTTP_METHODS
    ]
    assert len(merged_operations) == operations_in
    assert {op["servers"][0]["description"] for op in merged_operations} == set(DOCUMENTS)
    references = {ref for ref in _refs(merged) if ref.startswith("#/components/schemas/")}
    assert references and all(
        ref.removeprefix("#/components/schemas/") in merged["components"]["schemas"] for ref in references
    )
    assert [group["name"] for group in merged["x-tagGroups"]] == list(DOCUMENTS)
    json.dumps(merged)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_docs_pages_and_their_assets_are_served_by_the_service_itself() -> None:
    app = app_of(CLAIMS)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://claims") as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            assert "cdn." not in html and "googleapis" not in html and "https://" not in html
            assert "/docs-assets/" in html
        for name in ASSET_NAMES:
            asset = await client.get(f"/docs-assets/{name}")
            assert asset.status_code == 200 and len(asset.content) > 1000, name
        assert (await client.get("/openapi.json")).json()["components"]["schemas"]["Problem"]


async def test_errors_of_routes_and_dependencies_answer_problem_details_and_fhir_operation_outcomes() -> None:
    app = app_of(INTAKE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        unauthenticated = await client.get("/v1/patients/6f1c2f1e-8a40-4c55-9d43-3f1a2b7c9d10")
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert unauthenticated.headers["www-authenticate"] == "Bearer"
        assert unauthenticated.json() == {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": "missing bearer credential",
        }
        fhir = await client.post("/fhir/Claim", json={"resourceType": "Claim"})
        assert fhir.status_code == 401 and fhir.headers["content-type"] == "application/fhir+json"
        assert fhir.json() == {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "login", "diagnostics": "missing bearer credential"}],
        }
        malformed = await client.post(
            "/fhir/Claim", content=b'{"resourceType": NaN}', headers={"content-type": "application/fhir+json"}
        )
        assert malformed.status_code == 400 and malformed.json()["issue"][0]["code"] == "structure"
        unknown = await client.get("/v1/nothing-here")
        assert unknown.status_code == 404 and unknown.json()["title"] == "Not Found"
