"""Every service's OpenAPI document, finished the same way: each error answer documented as RFC 9457
problem details (FHIR routes: a FHIR `OperationOutcome`) with the statuses it can really give (401/403
for a credential, 404 for a path naming a record, 400/413/415/422 for a body), a request and a response
example on every operation, and the docs pages served with their own assets (no CDN: they work offline).
`merge_documents` joins the five documents into one API reference, each operation naming its server.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

JsonObject = dict[str, Any]
PROBLEM_MEDIA_TYPE = "application/problem+json"
FHIR_MEDIA_TYPE = "application/fhir+json"
FHIR_PREFIX = "/fhir/"
ASSETS_PATH = "/docs-assets"
ASSET_NAMES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA_TYPES = ("application/json", FHIR_MEDIA_TYPE, "application/merge-patch+json")

PROBLEM_SCHEMA: JsonObject = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. `errors` (422) names each refused field; no answer repeats a value sent.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the problem type; `about:blank` for plain HTTP ones."},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong and where (never the value sent)."},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "pointer": {"type": "string", "description": "RFC 6901 JSON pointer into the body, when in it."},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
OPERATION_OUTCOME_SCHEMA: JsonObject = {
    "title": "OperationOutcome",
    "type": "object",
    "description": "FHIR R4 OperationOutcome: one issue per problem, `expression` naming the FHIR element.",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string", "description": "FHIR IssueType, e.g. invalid, login, forbidden."},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
ERROR_DESCRIPTIONS: Mapping[int, str] = {
    400: "Malformed JSON (NaN, Infinity, a lone surrogate, invalid UTF-8 or nesting deeper than 64): line and "
    "column, never the value.",
    401: "No bearer credential, or an invalid or expired one (`WWW-Authenticate: Bearer`).",
    403: "The credential lacks the scope this operation needs.",
    404: "No such record for this tenant (another tenant's record answers 404 too).",
    409: "The request conflicts with the record's state.",
    413: "The body is larger than this route takes (checked while it streams in, before parsing).",
    415: "The body is in a media type this route does not take: send application/json.",
    422: "A field is not valid: `errors` name each one (`loc`, `pointer`) and the rule, never the value sent.",
}
TITLES: Mapping[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
FHIR_ISSUE_CODES: Mapping[int, str] = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    503: "transient",
}
PROBLEM_EXAMPLES: Mapping[int, JsonObject] = {
    400: {"detail": "unexpected character at line 1, column 9 (byte 8)"},
    401: {"detail": "missing bearer credential"},
    403: {"detail": "missing scope claims:write"},
    404: {"detail": "not found"},
    409: {"detail": "the claim is neither on hold nor rejected"},
    413: {"detail": "at most 4194304 bytes"},
    415: {"detail": "send the body as application/json"},
    422: {
        "detail": "1 field is not valid: body.billing_provider_npi",
        "errors": [
            {
                "loc": ["body", "billing_provider_npi"],
                "pointer": "/billing_provider_npi",
                "msg": "NPI check digit does not match",
                "type": "value_error",
            }
        ],
    },
    503: {"detail": "the clearinghouse did not answer"},
}


@dataclass(frozen=True, slots=True)
class OperationExamples:
    """A curated example of one operation: the body a client sends and the body it gets back."""

    request: object = None
    response: object = None


Examples = Mapping[tuple[str, str], OperationExamples]
"""Curated examples by (METHOD, path template), e.g. ("POST", "/v1/patients")."""


def problem(status_code: int, detail: str, **extensions: object) -> JsonObject:
    """An RFC 9457 problem details object (`type` about:blank: the HTTP status says what it is)."""
    return {
        "type": "about:blank",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        **extensions,
    }


def operation_outcome(status_code: int, issues: Sequence[tuple[str, Sequence[str]]]) -> JsonObject:
    """A FHIR OperationOutcome: one error issue per (diagnostics, expressions)."""
    code = FHIR_ISSUE_CODES.get(status_code, "exception")
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": code, "diagnostics": text, **({"expression": list(where)} if where else {})}
            for text, where in issues
        ],
    }


def json_pointer(loc: Sequence[str | int]) -> str | None:
    """RFC 6901 pointer of a `loc` that starts in the body (`["body", "lines", 0]` -> `/lines/0`)."""
    if not loc or loc[0] != "body":
        return None
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc[1:])


# The document ------------------------------------------------------------------------------------------


def finish_document(document: JsonObject, examples: Examples | None = None) -> JsonObject:
    """Problem details on every error answer, the statuses each operation can give, and an example for
    every request body and success answer (curated first, else built from the schema)."""
    examples = examples or {}
    finished = copy.deepcopy(document)
    schemas = finished.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["OperationOutcome"] = OPERATION_OUTCOME_SCHEMA
    for path, path_item in finished.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = path_item.get(method)
            if operation is not None:
                _finish_operation(finished, path, method, operation, examples.get((method.upper(), path)))
    return finished


def _finish_operation(
    document: JsonObject, path: str, method: str, operation: JsonObject, curated: OperationExamples | None
) -> None:
    responses: JsonObject = operation.setdefault("responses", {})
    body = operation.get("requestBody")
    json_body = body is not None and any(mt in body.get("content", {}) for mt in JSON_MEDIA_TYPES)
    statuses: set[int] = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    if operation.get("security"):
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if body is not None:
        statuses |= {413, 415, 422}
    if json_body:
        statuses.add(400)
    if operation.get("parameters"):
        statuses.add(422)
    fhir = path.startswith(FHIR_PREFIX)
    for code in sorted(statuses):
        declared = responses.get(str(code), {})
        description = declared.get("description") or ERROR_DESCRIPTIONS.get(code, TITLES.get(code, "Error"))
        if description == "Validation Error":
            description = ERROR_DESCRIPTIONS[422]
        responses[str(code)] = {**declared, "description": description, "content": _error_content(code, fhir)}
    if body is not None:
        for media_type, content in body.get("content", {}).items():
            if "example" in content or "examples" in content:
                continue
            if curated is not None and curated.request is not None:
                content["example"] = curated.request
            elif media_type in JSON_MEDIA_TYPES:
                content["example"] = example_of(content.get("schema", {}), document)
    main = next((r["content"] for c, r in sorted(responses.items()) if c.startswith("2") and r.get("content")), None)
    for status_code, response in responses.items():
        if status_code.startswith("2") and status_code != "204" and not response.get("content") and main:
            response["content"] = copy.deepcopy(main)
    for status_code, response in responses.items():
        if not status_code.startswith("2"):
            continue
        for media_type, content in response.get("content", {}).items():
            if "example" in content or "examples" in content:
                continue
            if curated is not None and curated.response is not None and media_type in JSON_MEDIA_TYPES:
                content["example"] = curated.response
            elif media_type in JSON_MEDIA_TYPES:
                content["example"] = example_of(content.get("schema", {}), document)


def _error_content(code: int, fhir: bool) -> JsonObject:
    example = PROBLEM_EXAMPLES.get(code, {"detail": TITLES.get(code, "Error").lower()})
    if fhir:
        where = [str(e.get("pointer", "")) for e in example.get("errors", [])] if code == 422 else []
        outcome = operation_outcome(code, [(str(example["detail"]), ["Claim.provider"] if where else [])])
        return {FHIR_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}, "example": outcome}}
    return {
        PROBLEM_MEDIA_TYPE: {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": problem(code, str(example["detail"]), **{k: v for k, v in example.items() if k != "detail"}),
        }
    }


# Examples from schemas -----------------------------------------------------------------------------------

_EXAMPLE_DATE = dt.date(2026, 11, 2)
_STRINGS_BY_NAME: Mapping[str, str] = {
    "currency": "USD",
    "npi": "1234567893",
    "billing_provider_npi": "1234567893",
    "rendering_provider_npi": "1234567893",
    "provider_npi": "1234567893",
    "claim_control_number": "CF0000000001",
    "control_number": "CF0000000001",
    "carc": "45",
    "reason_code": "45",
    "group_code": "CO",
    "procedure_code": "99213",
    "diagnosis_code": "J06.9",
    "place_of_service": "11",
    "payer_id": "SANDBOX",
    "email": "billing@example.org",
    "url": "https://hooks.example.org/claimflow",
    "tenant": "demo",
    "subject": "7d0c5b1e-2f4a-4b8e-9a43-2b1c6f0e8d21",
    "state": "submitted",
    "status": "open",
    "name": "Example Clinic",
    "description": "Contracted rate: 80% of charge",
    "reason": "claim lacks information needed for adjudication",
    "last_name": "DOE",
    "first_name": "JANE",
    "middle_name": "Q",
    "line1": "100 SYNTHETIC AVE",
    "line2": "SUITE 3",
    "city": "SPRINGFIELD",
    "postal_code": "62701",
    "member_id": "SYN000000101",
    "external_patient_id": "MRN-EX-0001",
    "external_encounter_id": "EX-PROF-0001",
    "taxonomy": "207Q00000X",
    "sex": "F",
    "claim_type": "professional",
    "frequency_code": "1",
    "revenue_code": "0450",
    "modifier": "25",
    "from_state": "ready",
    "to_state": "batched",
    "code": "A7:164:IL",
    "rule_id": "billing_provider.npi",
    "payer_claim_number": "SBX263330000001",
    "payer_claim_control_number": "SBX263330000001",
    "message": "billing provider NPI fails its check digit",
    "text": "Called the payer: sending a corrected claim.",
    "trace_number": "SBXEFT00000000101",
    "file_name": "remit-20261102.835",
    "event_type": "claim-submitted",
    "assignee": "biller-7",
    "actor": "biller-7",
    "root_cause": "authorization_referral",
    "owner": "front_desk",
    "kind": "denial",
    "method": "card",
    "delivery": "email",
}
_PATTERN_CANDIDATES = ("IL", "62701", "99213", "0450", "45", "CO", "USD", "11", "1", "A", "AB12", "SYN000000101")


def example_of(schema: JsonObject, document: JsonObject, name: str = "", depth: int = 0) -> object:
    """A plausible value for `schema`: its own `example(s)`, default, const or first enum value, else one
    built from its type, format and the property's name (cents are integers, ids UUIDs, NPIs valid)."""
    if depth > 12:
        return None
    if "$ref" in schema:
        return example_of(_resolve(schema["$ref"], document), document, name, depth + 1)
    for key in ("example", "const", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [option for option in schema.get(key, []) if option.get("type") != "null"]
        if options:
            return example_of(options[0], document, name, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        properties: JsonObject = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return {
            key: example_of(value, document, key, depth + 1)
            for key, value in properties.items()
            if key in required or depth < 3
        }
    if kind == "array":
        item = example_of(schema.get("items", {}), document, _singular(name), depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return _integer(schema, name)
    if kind == "number":
        return float(_integer(schema, name))
    if kind == "boolean":
        return True
    if kind == "string":
        return _string(schema, name)
    return {}


def _resolve(reference: str, document: JsonObject) -> JsonObject:
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    resolved: JsonObject = node
    return resolved


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") else name


def _integer(schema: JsonObject, name: str) -> int:
    if name.endswith("_cents"):
        value = 12_500
    elif name.endswith(("_bp", "_basis_points")):
        value = 1_180
    elif name.endswith(("_days", "days")):
        value = 30
    else:
        value = 1
    low = schema.get("minimum", schema.get("exclusiveMinimum", value - 1) + 1)
    high = schema.get("maximum", schema.get("exclusiveMaximum", value + 1) - 1)
    return int(min(max(value, low), high))


def _string(schema: JsonObject, name: str) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        return "3f2c8f5e-8d1a-4c4b-9f0e-6a2d7b1c9e40"
    if fmt == "date":
        return _EXAMPLE_DATE.isoformat()
    if fmt == "date-time":
        return "2026-11-02T14:30:00Z"
    if fmt in ("uri", "url"):
        return "https://hooks.example.org/claimflow"
    if fmt == "email":
        return "billing@example.org"
    if fmt == "binary":
        return ""
    value = _STRINGS_BY_NAME.get(name)
    if value is None and name.endswith("_at"):
        value = "2026-11-02T14:30:00Z"
    elif value is None and name.endswith(("_on", "_date", "_due")):
        value = _EXAMPLE_DATE.isoformat()
    elif value is None and name.endswith("_id"):
        value = "3f2c8f5e-8d1a-4c4b-9f0e-6a2d7b1c9e40"
    if value is None:
        value = name.replace("_", " ") or "text"
    pattern = schema.get("pattern")
    if pattern is not None and re.search(pattern, value) is None:
        value = next((c for c in _PATTERN_CANDIDATES if re.search(pattern, c)), value)
    low, high = int(schema.get("minLength", 0)), int(schema.get("maxLength", 10_000))
    return (value + "x" * low)[: max(low, min(len(value), high))]


# Serving ---------------------------------------------------------------------------------------------------


def assets_directory() -> Path:
    """Swagger UI and ReDoc, as the installed `fastapi-offline` wheel ships them."""
    return Path(str(resources.files("fastapi_offline") / "static"))


def swagger_page(openapi_url: str, title: str, assets: str = ASSETS_PATH) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} — Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )


def redoc_page(openapi_url: str, title: str, assets: str = ASSETS_PATH) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=openapi_url,
        title=f"{title} — API reference",
        redoc_js_url=f"{assets}/redoc.standalone.js",
        redoc_favicon_url=f"{assets}/favicon.png",
        with_google_fonts=False,
    )


def install(app: FastAPI, examples: Examples | None = None) -> None:
    """Replace FastAPI's CDN docs pages with pages served from the service's own assets, and its
    OpenAPI document with the finished one. Call before any router is added (docs_url must be None)."""
    title = app.title

    def finished_openapi() -> JsonObject:
        if app.openapi_schema is None:
            raw = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = finish_document(raw, examples)
        return app.openapi_schema

    app.openapi = finished_openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the document
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")
    app.include_router(docs_router(title))


def docs_router(title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger() -> HTMLResponse:
        return swagger_page(openapi_url, title)

    @router.get("/docs/oauth2-redirect")
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return redoc_page(openapi_url, title)

    return router


# One reference for the five services --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceDocument:
    service: str
    base_url: str
    document: JsonObject


def merge_documents(
    services: Sequence[ServiceDocument],
    title: str = "claimflow API reference",
    skip_tags: Sequence[str] = ("operations", "audit"),
) -> JsonObject:
    """One OpenAPI 3.1 document: every operation with its own `servers` entry (the service that answers
    it), components renamed `<service>.<name>`, tags `<service>: <tag>` grouped by service (`x-tagGroups`).
    Operations tagged `skip_tags` (health, readiness, the PHI access log: the same on every service) are left
    out."""
    merged: JsonObject = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": services[0].document.get("info", {}).get("version", "0") if services else "0",
            "description": "Every claimflow service in one document. Each operation names the service (and its "
            "server) that answers it. Every service also serves `/healthz`, `/readyz`, `/metrics` and its own PHI "
            "access log, `GET /v1/phi-access` (scope `auditor`).",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
        "x-tagGroups": [],
    }
    for source in services:
        document = _prefixed(source.service, source.document)
        tags: list[str] = []
        for name, scheme in document.get("components", {}).get("securitySchemes", {}).items():
            merged["components"]["securitySchemes"].setdefault(name, scheme)
        merged["components"]["schemas"].update(document.get("components", {}).get("schemas", {}))
        for path, path_item in document.get("paths", {}).items():
            for method in HTTP_METHODS:
                operation = path_item.get(method)
                if operation is None or set(operation.get("tags", ())) & set(skip_tags):
                    continue
                target = merged["paths"].setdefault(path, {})
                if method in target:
                    raise ValueError(f"{method.upper()} {path} is served by two services")
                operation = {
                    **operation,
                    "tags": [f"{source.service}: {tag}" for tag in operation.get("tags") or ["other"]],
                    "operationId": f"{source.service}_{operation.get('operationId', method + path)}",
                    "servers": [{"url": source.base_url, "description": source.service}],
                }
                target[method] = operation
                tags.extend(tag for tag in operation["tags"] if tag not in tags)
        merged["tags"].extend({"name": tag} for tag in tags)
        merged["x-tagGroups"].append({"name": source.service, "tags": tags})
    return merged


def _prefixed(service: str, document: JsonObject) -> JsonObject:
    """The document with its component schemas named `<service>.<name>` and every reference rewritten."""
    names = set(document.get("components", {}).get("schemas", {}))

    def rename(node: object) -> object:
        if isinstance(node, dict):
            return {
                key: _renamed_ref(value, service, names) if key == "$ref" else rename(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [rename(value) for value in node]
        return node

    renamed = rename(document)
    assert isinstance(renamed, dict)
    schemas = renamed.get("components", {}).get("schemas", {})
    if schemas:
        renamed["components"]["schemas"] = {f"{service}.{name}": schema for name, schema in schemas.items()}
    return renamed


def _renamed_ref(reference: object, service: str, names: set[str]) -> object:
    prefix = "#/components/schemas/"
    if isinstance(reference, str) and reference.startswith(prefix) and reference[len(prefix) :] in names:
        return f"{prefix}{service}.{reference[len(prefix) :]}"
    return reference


def reference_page(document: JsonObject, title: str = "claimflow API reference", assets: str = "assets") -> str:
    """One self-contained HTML page: ReDoc from `assets`, the document embedded (so it opens from the file
    system too, where a browser would refuse to fetch a separate openapi.json)."""
    spec = json.dumps(document).replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f'<link rel="icon" href="{assets}/favicon.png"><style>body {{ margin: 0; padding: 0; }}</style></head>'
        f'<body><div id="redoc"></div><script src="{assets}/redoc.standalone.js"></script>'
        f'<script>Redoc.init({spec}, {{}}, document.getElementById("redoc"));</script>'
        "</body></html>\n"
    )
