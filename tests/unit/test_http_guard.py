"""The request guard every service installs: bodies capped while streaming, strict JSON, errors that do
not echo what was sent. Driven in-process through ASGI (no servers)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Form, Request
from pydantic import BaseModel, field_validator

from shared.http_guard import MAX_JSON_DEPTH, BodyLimits, _bytes_depth, install, json_problem
from shared.telemetry.logging import JsonFormatter

CANARY = "Zebediah-Canary"


class PatientIn(BaseModel):
    last_name: str
    birth_year: int


class ProviderIn(BaseModel):
    taxonomy: str

    @field_validator("taxonomy")
    @classmethod
    def _shaped(cls, value: str) -> str:
        if len(value) != 10:
            raise ValueError(f"taxonomy {value!r} must be 10 characters like 207Q00000X")
        return value


def guarded_app() -> FastAPI:
    app = FastAPI()
    install(app, BodyLimits(default=1024, by_path_prefix={"/files": 64 * 1024}))

    @app.post("/patients")
    async def create(patient: PatientIn) -> dict[str, str]:
        return {"last_name": patient.last_name}

    @app.post("/providers")
    async def register(provider: ProviderIn) -> dict[str, str]:
        return {"taxonomy": provider.taxonomy}

    @app.post("/files")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.post("/payments")
    async def pay(amount: Annotated[str, Form()]) -> dict[str, str]:
        return {"amount": amount}

    @app.post("/explode")
    async def explode(patient: PatientIn) -> None:
        raise RuntimeError(f"cannot store {patient.last_name}")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=guarded_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://guard") as http:
        yield http


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"last_name": "A", "birth_year": NaN}',
        b'{"last_name": "A", "birth_year": Infinity}',
        b'{"last_name": "A", "birth_year": -Infinity}',
        b'{"last_name": "\\ud800", "birth_year": 1}',
        b'{"last_name": "\xff", "birth_year": 1}',
        b"[" * 1000,  # within the size limit, deeper than any parser downstream should recurse
        b'{"last_name": "A", "birth_year": 1',
    ],
    ids=["nan", "infinity", "minus-infinity", "lone-surrogate", "invalid-utf8", "deep-nesting", "truncated"],
)
async def test_malformed_json_is_a_400_naming_where(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/patients", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request" and problem["type"] == "about:blank"
    assert problem["detail"].startswith("malformed JSON body: ")
    assert "column" in problem["detail"] or "nested deeper" in problem["detail"]


async def test_nesting_up_to_the_bound_reaches_the_route(client: httpx.AsyncClient) -> None:
    assert json_problem(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is None
    assert json_problem(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)) is not None
    response = await client.post("/patients", json={"last_name": "A", "birth_year": 1970})
    assert response.status_code == 200


def _walked_depth(node: object) -> int:
    """Nesting counted on the parsed document: what the guard reads from the bytes."""
    if isinstance(node, dict):
        return 1 + max((_walked_depth(child) for child in node.values()), default=0)
    if isinstance(node, list):
        return 1 + max((_walked_depth(child) for child in node), default=0)
    return 0


@pytest.mark.parametrize(
    "document",
    [
        b"1",
        b'"[[[{"',
        b"[]",
        b"{}",
        b'{"a": [[{}], []], "b": {"c": [1, [2, [3]]]}}',
        b'{"brackets in a string": "]]]]}}}}", "d": [[[["[[[["]]]]}',
        b'{"escaped quote": "say \\"[[[\\" twice", "x": [[1]]}',
        b'{"escaped backslash": "C:\\\\", "y": [[[["\\\\"]]]]}',
        b'{"unicode \\u005b": "\\u005d\\u007b", "z": [{"w": []}]}',
        b'[{"k\\"]": 1}, [[], [[["\\\\\\"]"]]]]]',
    ],
)
def test_nesting_read_from_the_bytes_is_the_parsed_documents(document: bytes) -> None:
    assert _bytes_depth(document) == _walked_depth(json.loads(document))


def test_a_nul_escape_refuses_only_a_real_nul() -> None:
    assert json_problem(b'{"a": "\\u0000"}') is not None
    assert json_problem(b'{"a": "\\\\u0000"}') is None  # a backslash, then the text u0000
    assert json_problem(b'{"a": ["\\\\", "\\u0000"]}') is not None


async def test_a_body_over_the_limit_is_refused_from_its_length_or_while_streaming(client: httpx.AsyncClient) -> None:
    declared = await client.post("/patients", content=b"x" * 2048, headers=JSON)
    assert declared.status_code == 413
    assert declared.json()["detail"] == "request body too large: at most 1024 bytes"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(64):
            yield b"x" * 100

    streamed = await client.post("/patients", content=chunks(), headers=JSON)
    assert streamed.status_code == 413


async def test_a_route_with_a_larger_limit_takes_its_files(client: httpx.AsyncClient) -> None:
    response = await client.post("/files", content=b"ISA" * 10_000, headers={"content-type": "text/plain"})
    assert response.status_code == 200
    assert response.json() == {"bytes": 30_000}
    too_big = await client.post("/files", content=b"x" * (64 * 1024 + 1), headers={"content-type": "text/plain"})
    assert too_big.status_code == 413


async def test_validation_errors_say_what_and_where_without_the_values(client: httpx.AsyncClient) -> None:
    response = await client.post("/patients", json={"last_name": CANARY, "birth_year": "nineteen-seventy"})
    assert response.status_code == 422
    assert CANARY not in response.text and "nineteen" not in response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["detail"] == "1 field is not valid: body.birth_year"
    assert problem["errors"] == [
        {
            "type": "int_parsing",
            "loc": ["body", "birth_year"],
            "pointer": "/birth_year",
            "msg": problem["errors"][0]["msg"],
        }
    ]


async def test_a_validator_quoting_the_value_has_it_taken_out(client: httpx.AsyncClient) -> None:
    response = await client.post("/providers", json={"taxonomy": CANARY})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "taxonomy"] and CANARY not in response.text
    assert error["msg"] == "Value error, taxonomy (value withheld) must be 10 characters like 207Q00000X"


async def test_a_body_that_is_not_json_is_a_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/patients", content=b"last_name=A", headers={"content-type": "text/plain"})
    assert response.status_code == 415


async def test_a_form_missing_a_field_is_a_422_not_a_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/payments", data={"other": "1"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "amount"]
    assert (await client.post("/payments", data={"amount": "12.00"})).json() == {"amount": "12.00"}


async def test_an_unhandled_error_is_a_500_that_names_nothing_and_logs_no_values(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.post("/explode", json={"last_name": CANARY, "birth_year": 1970})
    assert response.status_code == 500
    assert CANARY not in response.text
    logged = [JsonFormatter("unit").format(record) for record in caplog.records]
    assert logged and any("RuntimeError" in line for line in logged)
    assert all(CANARY not in line for line in logged)
    assert all(json.loads(line)["level"] == "error" for line in logged)


async def test_nul_characters_in_the_query_path_or_a_json_string_are_refused_before_the_route(
    client: httpx.AsyncClient,
) -> None:
    in_query = await client.post("/patients?tag=a%00b", json={"last_name": "A", "birth_year": 1})
    assert in_query.status_code == 422
    assert in_query.json()["errors"] == [
        {"type": "value_error", "loc": ["query", "tag"], "msg": "must not contain NUL characters"}
    ]
    in_path = await client.get("/patients/a%00b")
    assert in_path.status_code == 422 and in_path.json()["errors"][0]["loc"] == ["path"]
    in_body = await client.post("/patients", content=b'{"last_name": "A\\u0000", "birth_year": 1}', headers=JSON)
    assert in_body.status_code == 400 and "NUL" in in_body.json()["detail"]
    in_key = await client.post("/patients", content=b'{"a\\u0000": 1}', headers=JSON)
    assert in_key.status_code == 400
