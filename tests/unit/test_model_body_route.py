"""`ModelBodyRoute` validates a model body straight from the request's bytes; FastAPI's own route parses the JSON
first and validates the dicts; intake's route (`IntakeRoute`) decodes encounter bodies by their msgspec mirror
first. The same requests sent to all three, valid and not, get the same answers: status and body, every error's
location and message. Driven in-process through ASGI (no servers)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.intake import request_wire
from services.intake.api import IntakeRoute
from services.intake.schemas import CoverageIn, EncounterBatchIn, EncounterIn, PatientIn, ProviderIn
from shared.http import ModelBodyRoute
from shared.http_guard import DECODED_BODY, BodyLimits, install
from tests.support.intake_builders import setting

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "encounters"
DOCUMENTS = {path.stem: json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))}
ENCOUNTERS = [document["encounter"] for document in DOCUMENTS.values()]
MIRRORED = [encounter for encounter in ENCOUNTERS if request_wire.mirrored_encounter(json.dumps(encounter).encode())]
"""The examples the mirror decodes (not those with a drug or an ambulance trip)."""


def as_json(body: BaseModel | msgspec.Struct) -> Any:
    """The body's values as JSON: the model's dump, or the mirror's (intake's route hands the endpoint a shell that
    carries the mirror)."""
    return body.model_dump(mode="json") if isinstance(body, BaseModel) else msgspec.to_builtins(body)


def app_with(route_class: type[APIRoute]) -> FastAPI:
    app = FastAPI()
    install(app, BodyLimits())
    router = APIRouter(route_class=route_class)

    @router.post("/encounters:batch")
    async def batch(encounters: EncounterBatchIn) -> Any:
        return as_json(request_wire.batch_body(encounters))

    @router.post("/encounters")
    async def one(encounter: EncounterIn) -> Any:
        return as_json(request_wire.encounter_of(encounter))

    @router.post("/patients")
    async def patient(patient: PatientIn) -> dict[str, Any]:
        return patient.model_dump(mode="json")

    @router.post("/coverages")
    async def coverage(coverage: CoverageIn) -> dict[str, Any]:
        return coverage.model_dump(mode="json")

    @router.post("/providers")
    async def provider(provider: ProviderIn) -> dict[str, Any]:
        return provider.model_dump(mode="json")

    app.include_router(router)
    return app


FASTAPI_APP = app_with(APIRoute)
OUR_APPS = {"ModelBodyRoute": app_with(ModelBodyRoute), "IntakeRoute": app_with(IntakeRoute)}


@pytest.fixture(params=list(OUR_APPS))
async def clients(request: pytest.FixtureRequest) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=FASTAPI_APP), base_url="http://a") as fastapi,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=OUR_APPS[request.param]), base_url="http://b") as ours,
    ):
        yield fastapi, ours


@pytest.mark.parametrize(
    ("route_class", "guarded", "expected"),
    [
        (ModelBodyRoute, False, {"parsed as": "EncounterBatchIn", "decoded by the guard": False}),
        (ModelBodyRoute, True, {"parsed as": "EncounterBatchIn", "decoded by the guard": False}),
        (IntakeRoute, False, {"parsed as": "MirroredBatchIn", "decoded by the guard": False}),
        (IntakeRoute, True, {"parsed as": "MirroredBatchIn", "decoded by the guard": True}),
    ],
)
async def test_the_route_hands_fastapi_the_model_validated_from_the_bytes(
    route_class: type[APIRoute], guarded: bool, expected: dict[str, object]
) -> None:
    """IntakeRoute hands over the shell carrying the mirror; behind the request guard the guard decoded it (the body
    is parsed once) and the route takes that."""
    app = FastAPI()
    if guarded:
        install(app, BodyLimits())
    router = APIRouter(route_class=route_class)

    @router.post("/encounters:batch")
    async def batch(encounters: EncounterBatchIn, request: Request) -> dict[str, object]:
        parsed = await request.json()
        return {"parsed as": type(parsed).__name__, "decoded by the guard": request.scope.get(DECODED_BODY) is parsed}

    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as client:
        answered = await client.post("/encounters:batch", json={"encounters": MIRRORED})
    assert answered.json() == expected


def changed(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """The batch of every example encounter with `change` made to the first."""
    batch = {"encounters": copy.deepcopy(ENCOUNTERS)}
    change(batch["encounters"][0])
    return batch


def drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda encounter: encounter.pop(name)


BATCHES: dict[str, object] = {
    "every example": {"encounters": ENCOUNTERS},
    "empty": {"encounters": []},
    "not an object": [ENCOUNTERS[0]],
    "a string": "encounters",
    "missing field": changed(drop("payer_id")),
    "extra field": changed(setting("extra", 1)),
    "float cents": changed(setting("lines", 0, "charge_cents", 125.0)),
    "string cents": changed(setting("lines", 0, "charge_cents", "12500")),
    "bad date": changed(setting("service_date_from", "2026-02-30")),
    "date as a number": changed(setting("service_date_from", 20260101)),
    "bad npi": changed(setting("billing_provider_npi", "1234567890")),
    "npi as a number": changed(setting("billing_provider_npi", 1234567893)),
    "bad literal": changed(setting("claim_type", "dental")),
    "null list": changed(setting("diagnosis_codes", None)),
    "control character": changed(setting("external_encounter_id", "A\tB")),
    "no patient": changed(setting("patient_external_id", None)),
    "both patients": changed(setting("patient_id", "6f1c2f1e-8a40-4c55-9d43-3f1a2b7c9d10")),
    "bad uuid": changed(setting("patient_id", "not-a-uuid")),
    "bool units": changed(setting("lines", 0, "units", True)),
    "lines an object": changed(setting("lines", {"0": {}})),
    "quantity precision": changed(
        setting("lines", 0, "drug", {"ndc": "00002014380", "quantity": 1.2345, "unit": "UN"})
    ),
    "escaped control character": changed(setting("prior_authorization", "PA\u00011")),
    "bad place of service": changed(setting("place_of_service", "00")),
    "bad modifier": changed(setting("lines", 0, "modifiers", ["!!"])),
    "pointer out of range": changed(setting("lines", 0, "diagnosis_pointers", [13])),
    "attachment without number": changed(setting("attachments", [{"report_type": "OZ", "transmission": "BM"}])),
    "identifier with a delimiter": changed(setting("prior_authorization", "PA*1")),
    "address city too short": changed(
        setting("pay_to_address", {"line1": "1 MAIN ST", "city": "X", "state": "IL", "postal_code": "62701"})
    ),
}


@pytest.mark.parametrize("name", list(BATCHES))
async def test_a_batch_gets_the_answer_fastapi_gives(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], name: str
) -> None:
    fastapi, ours = clients
    body = json.dumps(BATCHES[name]).encode()
    expected = await fastapi.post("/encounters:batch", content=body, headers={"content-type": "application/json"})
    answered = await ours.post("/encounters:batch", content=body, headers={"content-type": "application/json"})
    assert (answered.status_code, answered.json()) == (expected.status_code, expected.json())
    assert expected.status_code == (200 if name == "every example" else 422)


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_each_part_of_each_example_gets_the_answer_fastapi_gives(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], name: str
) -> None:
    fastapi, ours = clients
    document = DOCUMENTS[name]
    sent = [("/encounters", document["encounter"]), ("/patients", document["patient"])]
    sent += [("/coverages", coverage) for coverage in document["coverages"]]
    sent += [("/providers", provider) for provider in document["providers"]]
    sent += [("/patients", {**document["patient"], "birth_date": "1980-13-01"}), ("/providers", {"npi": 1})]
    for path, value in sent:
        expected = await fastapi.post(path, json=value)
        answered = await ours.post(path, json=value)
        assert (answered.status_code, answered.json()) == (expected.status_code, expected.json()), path


async def test_a_body_sent_as_another_media_type_is_refused_as_before(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    fastapi, ours = clients
    body = json.dumps({"encounters": ENCOUNTERS}).encode()
    for headers in ({"content-type": "text/plain"}, {}):
        expected = await fastapi.post("/encounters:batch", content=body, headers=headers)
        answered = await ours.post("/encounters:batch", content=body, headers=headers)
        assert (answered.status_code, answered.json()) == (expected.status_code, expected.json())
        assert expected.status_code in (200, 415, 422)
