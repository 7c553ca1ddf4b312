"""A canary patient — name, MRN, member id, birth date, street — pushed through the whole pipeline and through
every operation of every service's OpenAPI document on every failure path (wrong types, non-finite numbers,
malformed JSON, a wrong content type, no token, unknown ids). Afterwards the canary is in no service log line
(at DEBUG), no metric, no span attribute, no event field outside those the catalog marks `x-phi` (the `phi` block of
`encounter-coded` and `party-changed`, a corrected member id),
and no error answer; and no input got a 5xx."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pypdf
import pytest

from cli.demo import DemoProgress, DemoRun
from cli.demo_practice import build_practice
from shared.events.catalog import EVENT_TYPES
from shared.messaging.topics import all_topic_names
from tests.support.demo_system import RunningSystem, demo_end_date, running_system
from tests.support.otlp import OtlpReceiver
from tests.support.pipeline import Pipeline, end_offsets_of, eventually, read_from

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
    start: dict[Any, int] = await end_offsets_of(pipeline.kafka, [name for name, _ in all_topic_names()])
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
    """Register a one-encounter practice and the canary patient; bill the canary's encounters until the payer has
    answered and the 835 is posted: the practice's MRI (no prior authorization: denied CO-197), appealed, and an
    office visit leaving a copay, on the canary's statement (a print batch: the canary has an address)."""
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
        visit = {**encounter, "lines": [{**encounter["lines"][0], "procedure_code": "99213", "charge_cents": 15000}]}
        encounter_ids = []
        for number, body in enumerate((encounter, visit), start=1):
            body = {**body, "external_encounter_id": f"CANARY-TEST-ENC-{number}", "patient_external_id": MRN}
            sent = await client.post(f"{system.urls.intake}/v1/encounters", json=body)  # ids, not PHI
            assert sent.status_code == 201, sent.status_code
            encounter_ids.append(sent.json()["id"])

        async def adjudicated() -> list[dict[str, Any]]:
            claims = [claim for encounter_id in encounter_ids for claim in await run.claims_of(encounter_id)]
            settled = [c for c in claims if c["state"] in ("paid", "partially_paid", "denied")]
            return claims if len(settled) == len(encounter_ids) else []

        claims = await eventually(adjudicated, timeout_s=120, what="the canary's claims adjudicated and posted")
        assert "denied" in {c["state"] for c in claims}, [c["state"] for c in claims]
        await statement_and_appeal(system, client, patient_id)


async def statement_and_appeal(system: RunningSystem, client: httpx.AsyncClient, patient_id: str) -> None:
    """The canary's statement, made by a statement run once notifications heard the visit's payment; and an appeal
    letter for the MRI's denial."""
    notifications, denials = system.urls.notifications, system.urls.denials

    async def statement() -> list[Any]:
        made = await client.post(f"{notifications}/v1/statement-runs", json={})
        assert made.status_code == 201, made.status_code
        found = await client.get(f"{notifications}/v1/statements", params={"patient_id": patient_id})
        return list(found.json())

    (made,) = await eventually(statement, timeout_s=60, what="the canary's statement")
    assert (made["delivery_status"], made["balance_cents"]) == ("printed", 2500)

    async def case() -> list[Any]:
        return list((await client.get(f"{denials}/v1/denial-cases")).json())

    (opened,) = await eventually(case, timeout_s=60, what="the denial case of the canary's MRI")
    appeal = await client.post(
        f"{denials}/v1/denial-cases/{opened['id']}/actions",
        json={"kind": "appeal"},
        headers={"Idempotency-Key": "canary-appeal-1"},
    )
    assert appeal.status_code == 201, appeal.status_code
    letters = (await client.get(f"{denials}/v1/denial-cases/{opened['id']}")).json()["appeal_letters"]
    assert len(letters) == 1


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


SEALED_SCHEMAS = ("intake", "claims", "notifications", "denials", "remittance")
"""Services whose every table keeps the canary's PHI sealed at rest (shared.phi) or, for an outbox, emptied once
published: intake's parties, their history and encounters; claims' documents and stored 837s and 276s;
notifications' statement contacts, statements and print batches. Denials and remittance keep no PHI: cases and
appeal letters name the claim by its numbers, never the patient; remittance reads the patient's name and member id
from the 835 (NM1*QC/IL) but stores only keyed digests of member ids."""
BYTEA = {("notifications", "statements", "pdf"), ("notifications", "print_batches", "pdf"),
         ("denials", "appeal_letters", "pdf")}  # fmt: skip
"""Binary columns, searched as bytes too (a dump shows them in hex): a PDF in plaintext would carry the name."""


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
    for schema, table, column in sorted(BYTEA):
        query = f"SELECT {column} FROM {schema}.{table} WHERE tenant_id = $1"  # noqa: S608
        for number, (value,) in enumerate(await admin_db.fetch(query, canary.system.tenant)):
            pdf = value.startswith(b"%PDF")  # in plaintext its text is compressed: read it as a PDF reader would
            text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(value)).pages) if pdf else ""
            seen.look(f"{schema}.{table}.{column} row {number}", text or value.decode("latin-1"))
    stored = {
        "intake.patients", "intake.coverages", "intake.encounters", "claims.claims", "claims.submissions",
        "notifications.statement_patients", "notifications.statements", "notifications.print_batches",
        "denials.appeal_letters", "remittance.claim_payments",
    }  # fmt: skip
    assert stored <= set(rows), "the canary's parties, encounter, claim, 837, statement, letter and payments are stored"
    answered = [path.read_bytes().decode("latin-1") for path in canary.system.clearinghouse.rglob("*.835*")]
    assert any(FOUND.search(text) for text in answered), "the payer's 835 named the canary to remittance"
    for schema, table in (("notifications", "statements"), ("denials", "appeal_letters")):
        query = f"SELECT count(*) FROM {schema}.{table} WHERE tenant_id = $1"  # noqa: S608
        assert await admin_db.fetchval(query, canary.system.tenant) == 1, f"a row in {schema}.{table}"
    assert seen.places == []


async def test_the_canary_statement_shows_the_canary(canary: CanaryRun) -> None:
    """Sealed at rest, the statement still reads in plaintext to the hospital system (not an error answer)."""
    system = canary.system
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {system.token}"}, timeout=30) as client:
        patients = (await client.get(f"{system.urls.intake}/v1/patients", params={"limit": 100})).json()["items"]
        (patient_id,) = [p["id"] for p in patients if p["external_patient_id"] == MRN]
        (statement,) = (
            await client.get(f"{system.urls.notifications}/v1/statements", params={"patient_id": patient_id})
        ).json()
        text = (await client.get(f"{system.urls.notifications}/v1/statements/{statement['id']}/text")).text
        pdf = (await client.get(f"{system.urls.notifications}/v1/statements/{statement['id']}/pdf")).content
    assert f"{FIRST} {LAST}" in text and STREET in text
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    assert STREET in "\n".join(page.extract_text() for page in pages)
