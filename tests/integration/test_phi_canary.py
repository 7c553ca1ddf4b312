"""A canary patient — name, MRN, member id, birth date, street — pushed through the whole pipeline and through
every operation of every service's OpenAPI document on every failure path (wrong types, non-finite numbers,
malformed JSON, a wrong content type, no token, unknown ids). Afterwards the canary is in no service log line
(at DEBUG), no metric, no span attribute, no event field outside those the catalog marks `x-phi` (the `phi` block of
`encounter-coded` and `party-changed`, a corrected member id),
and no error answer; and no input got a 5xx."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from cli.demo import DemoProgress, DemoRun
from cli.demo_practice import build_practice
from shared.events.catalog import EVENT_TYPES
from shared.messaging.topics import all_topic_names
from tests.support.demo_system import RunningSystem, demo_end_date, running_system
from tests.support.otlp import OtlpReceiver
from tests.support.pipeline import Pipeline, end_offsets, eventually, read_from

pytestmark = pytest.mark.integration
OTEL = {"OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_EXPORTER_OTLP_TIMEOUT": "5", "CLAIMFLOW_LOG_LEVEL": "DEBUG"}

LAST, FIRST, MRN, MEMBER, STREET = "QXCANARYLAST", "QXCANARYFIRST", "QXCANARYMRN", "QXCANARYMBR", "77 QXCANARY LANE"
BIRTH = "1911-11-11"
FOUND = re.compile(r"QXCANARY|1911-11-11|19111111", re.IGNORECASE)
"""Every canary value shares the QXCANARY stem; the birth date as JSON and as X12 (D8) writes it."""
LAST_TRACE = "7c0ffee0000000000000000000000047"
"""The trace id of one last request to each service: once its span is exported, every earlier span was."""


@dataclass
class Sightings:
    """Where a canary value was seen: the sink and a location, never the line itself."""

    places: list[str]

    def look(self, where: str, text: str) -> None:
        if FOUND.search(text):
            self.places.append(where)


@dataclass(frozen=True)
class CanaryRun:
    system: RunningSystem
    otlp: OtlpReceiver
    answers: list[tuple[str, int, str]]
    """(operation, status, body) of every fuzzed request."""
    log_paths: list[Path]
    start: dict[Any, int]


@pytest.fixture(scope="module")
async def canary(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CanaryRun]:
    start: dict[Any, int] = {}
    for name, _ in all_topic_names():
        start.update(await end_offsets(pipeline.kafka_bootstrap_servers, name))
    with OtlpReceiver().running() as otlp:
        folder = tmp_path_factory.mktemp("canary")
        async with running_system(pipeline, folder, OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint, **OTEL) as system:
            await bill_the_canary(system)
            answers = await fuzz_every_operation(system)
            await eventually(
                lambda: _last_spans_exported(system, otlp), timeout_s=30, what="every service's last span exported"
            )
            log_paths = [process.log_path for process in system.processes.values()]
            yield CanaryRun(system, otlp, answers, log_paths, start)


async def _last_spans_exported(system: RunningSystem, otlp: OtlpReceiver) -> bool:
    exported = {span.service for span in otlp.snapshot() if span.trace_id == LAST_TRACE}
    return exported >= {f"claimflow-{name}" for name in system.processes}


def canary_patient(practice_payer: str) -> tuple[dict[str, Any], dict[str, Any]]:
    patient = {
        "external_patient_id": MRN,
        "last_name": LAST,
        "first_name": FIRST,
        "birth_date": BIRTH,
        "sex": "F",
        "address": {"line1": STREET, "city": "SPRINGFIELD", "state": "IL", "postal_code": "62704"},
    }
    coverage = {"payer_id": practice_payer, "priority": "primary", "member_id": MEMBER}
    return patient, coverage


async def bill_the_canary(system: RunningSystem) -> None:
    """Register a one-encounter practice and the canary patient; bill the canary's encounter until the payer
    has answered and the 835 is posted."""
    practice = build_practice(47, 1, demo_end_date())
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {system.token}"}, timeout=30) as client:
        run = DemoRun(client, system.urls)
        await run.register(practice, DemoProgress(None))
        encounter = dict(practice.encounters[0])
        patient, coverage = canary_patient(str(encounter["payer_id"]))
        created = await client.post(f"{system.urls.intake}/v1/patients", json=patient)
        assert created.status_code in (200, 201), created.status_code
        patient_id = created.json()["id"]
        added = await client.post(f"{system.urls.intake}/v1/patients/{patient_id}/coverages", json=coverage)
        assert added.status_code in (200, 201), added.status_code
        encounter.update(external_encounter_id="CANARY-TEST-ENC-1", patient_external_id=MRN)  # an id, not PHI
        sent = await client.post(f"{system.urls.intake}/v1/encounters", json=encounter)
        assert sent.status_code == 201, sent.status_code
        encounter_id = sent.json()["id"]

        async def adjudicated() -> bool:
            claims = await run.claims_of(encounter_id)
            return any(c["state"] in ("paid", "partially_paid", "denied") for c in claims)

        await eventually(adjudicated, timeout_s=120, what="the canary's claim adjudicated and posted")


def _canary_value(schema: dict[str, Any]) -> Any:
    """A canary in the shape the schema asks for where that is easy (strings, dates), else a string: a type error
    whose answer must name the field without echoing the value."""
    if schema.get("format") == "date":
        return BIRTH
    return f"{LAST} {FIRST} {MRN} {MEMBER} {STREET}"


def _body_for(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    schema = content["application/json"].get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    properties = schema.get("properties") or {"last_name": {}, "member_id": {}, "birth_date": {"format": "date"}}
    return {name: _canary_value(spec) for name, spec in properties.items()}


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


async def fuzz_every_operation(system: RunningSystem) -> list[tuple[str, int, str]]:
    answers: list[tuple[str, int, str]] = []
    token = {"Authorization": f"Bearer {system.token}"}
    for base in system.urls.as_dict().values():
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            document = (await client.get("/openapi.json")).json()
            for path, method, operation in _operations(document):
                url = re.sub(r"\{[^}]+\}", MRN, path)
                params = {p["name"]: MRN for p in operation.get("parameters", []) if p.get("in") == "query"}
                body = _body_for(document, operation)
                label = f"{method.upper()} {base.rsplit(':', 1)[-1]}{path}"
                attempts: list[dict[str, Any]] = [
                    {"headers": token, "params": params},
                    {"headers": {}, "params": params},
                ]
                if method in ("post", "put", "patch"):
                    raw = json.dumps(body or {"last_name": LAST})
                    attempts += [
                        {"headers": token, "params": params, "json": body or {"last_name": LAST, "birth_date": BIRTH}},
                        {"headers": {**token, "content-type": "application/json"},
                         "content": raw[:-1] + ', "member_id": NaN}'},
                        {"headers": {**token, "content-type": "application/json"}, "content": raw[:-2]},
                        {"headers": {**token, "content-type": "text/plain"}, "content": raw},
                        {"headers": {}, "json": body or {"last_name": LAST}},
                    ]  # fmt: skip
                for attempt in attempts:
                    response = await client.request(method, url, **attempt)
                    answers.append((label, response.status_code, response.text))
            last = {"traceparent": f"00-{LAST_TRACE}-00f067aa0ba902b7-01", **token}
            await client.get(f"/v1/{MRN}", headers=last)  # any route: a 404 is traced too
    return answers


async def test_no_input_gets_a_5xx(canary: CanaryRun) -> None:
    failed = sorted({f"{label} -> {status}" for label, status, _ in canary.answers if status >= 500})
    assert len(canary.answers) > 100
    assert failed == []


async def test_error_answers_never_echo_the_canary(canary: CanaryRun) -> None:
    seen = Sightings([])
    for label, status, body in canary.answers:
        if status >= 400:
            seen.look(f"{label} -> {status}", body)
    assert seen.places == []


async def test_no_log_line_names_the_canary(canary: CanaryRun) -> None:
    seen = Sightings([])
    lines = 0
    for path in canary.log_paths:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            lines += 1
            seen.look(f"{path.name}:{number}", line)
    assert lines > 100, "the services logged (at DEBUG) while the canary went through"
    assert seen.places == []


async def test_no_metric_names_the_canary(canary: CanaryRun) -> None:
    seen = Sightings([])
    async with httpx.AsyncClient(timeout=30) as client:
        for name, process in canary.system.processes.items():
            text = (await client.get(f"{process.base_url}/metrics")).text
            assert "claimflow_" in text
            seen.look(f"{name}/metrics", text)
    assert seen.places == []


async def test_no_span_attribute_names_the_canary(canary: CanaryRun) -> None:
    seen = Sightings([])
    spans = canary.otlp.snapshot()
    assert {span.service for span in spans} >= {f"claimflow-{name}" for name in canary.system.processes}
    for span in spans:
        seen.look(f"{span.service} span {span.name!r}", span.name)
        for key, value in span.attributes.items():
            seen.look(f"{span.service} span {span.name!r} attribute {key}", str(value))
    assert seen.places == []


def _outside_phi_fields(event_type: str, value: bytes) -> str:
    """The event's JSON without the fields its payload model marks `x-phi` (all of it when the type is unknown)."""
    data = json.loads(value)
    entry = EVENT_TYPES.get(event_type)
    if entry is not None and isinstance(data, dict):
        properties = entry[1].model_json_schema().get("properties", {})
        for name, spec in properties.items():
            if spec.get("x-phi"):
                data.pop(name, None)
    return json.dumps(data)


async def test_no_event_names_the_canary_outside_its_phi_fields(canary: CanaryRun, pipeline: Pipeline) -> None:
    seen = Sightings([])
    records = await read_from(pipeline.kafka_bootstrap_servers, canary.start)
    tenant = canary.system.tenant.encode()
    mine = [r for r in records if dict(r.headers or ()).get("ce_tenant") == tenant]
    assert {r.topic for r in mine} >= {"encounter-coded", "claim-submitted", "payment-received"}
    assert any(FOUND.search((r.value or b"").decode(errors="replace")) for r in mine), "the canary was billed"
    for record in mine:
        headers = dict(record.headers or ())
        at = f"{record.topic}@{record.partition}:{record.offset}"
        seen.look(at, _outside_phi_fields(headers.get("ce_type", b"").decode(), record.value or b"{}"))
        for key, value in headers.items():
            seen.look(f"{at} header {key}", value.decode(errors="replace"))
    assert seen.places == []


SEALED_SCHEMAS = ("intake", "claims")
"""Services whose every table keeps the canary's PHI sealed at rest (shared.phi) or, for the outbox, emptied once
published: intake's parties, their history and encounters; claims' documents and stored 837s and 276s."""


async def test_the_database_dump_of_sealed_phi_tables_holds_no_canary(
    canary: CanaryRun, admin_db: asyncpg.Connection
) -> None:
    seen = Sightings([])
    rows: dict[str, int] = {}
    tables = await admin_db.fetch(
        "SELECT table_schema, table_name FROM information_schema.columns "
        "WHERE table_schema = ANY($1::text[]) AND column_name = 'tenant_id' ORDER BY 1, 2",
        list(SEALED_SCHEMAS),
    )
    for schema, table in tables:
        query = f"SELECT t::text FROM {schema}.{table} t WHERE tenant_id = $1"  # noqa: S608 - names from the catalog
        for number, (text,) in enumerate(await admin_db.fetch(query, canary.system.tenant)):
            rows[f"{schema}.{table}"] = number + 1
            seen.look(f"{schema}.{table} row {number}", text)
    stored = {"intake.patients", "intake.coverages", "intake.encounters", "claims.claims", "claims.submissions"}
    assert stored <= set(rows), "the canary's parties, encounter, claim and 837 are stored"
    assert seen.places == []
