"""intake's msgspec mirror of the encounter request (`services/intake/request_wire.py`) accepts only what the pydantic
model accepts, with the same values: for every example encounter and a set of edge cases, either the mirror declines
(None: the model then judges, and words any 422) or the model accepts the body and builds an equal model (fields,
nested models, defaults, the JSON it dumps). Pure: no I/O."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from pydantic import BaseModel, ValidationError

from services.intake import request_wire, schemas
from tests.support.intake_builders import BodyChange, dropping, setting
from tests.support.pipeline import coded_encounter

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "encounters"
DOCUMENTS = {path.stem: json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))}
NOT_MIRRORED = {"drug", "ambulance"}
"""Parts the mirror leaves to the model (decimal quantities): an encounter with one (not null) is declined."""

BENCH_ENCOUNTER: dict[str, Any] = {
    "external_encounter_id": "BENCH-0000001",
    "claim_type": "professional",
    "patient_external_id": "MRN-1",
    "payer_id": "SANDBOX",
    "billing_provider_npi": "1234567893",
    "rendering_provider_npi": "1987654328",
    "place_of_service": "11",
    "service_date_from": "2026-11-02",
    "service_date_to": "2026-11-02",
    "diagnosis_codes": ["J06.9", "R05.9"],
    "lines": [
        {"line_number": 1, "procedure_code": "99213", "units": 1, "charge_cents": 12500,
         "diagnosis_pointers": [1, 2], "service_date": "2026-11-02"},
        {"line_number": 2, "procedure_code": "87880", "modifiers": ["QW"], "units": 1, "charge_cents": 3000,
         "diagnosis_pointers": [1], "service_date": "2026-11-02"},
    ],
}  # fmt: skip
INSTITUTIONAL = next(d["encounter"] for d in DOCUMENTS.values() if d["encounter"].get("institutional"))


def _mentions(value: object, names: set[str]) -> bool:
    if isinstance(value, dict):
        return any((key in names and item is not None) or _mentions(item, names) for key, item in value.items())
    if isinstance(value, list):
        return any(_mentions(item, names) for item in value)
    return False


def _model(body: bytes, model: type[BaseModel]) -> BaseModel | None:
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


def assert_same_as_the_model(body: bytes, *, accepted: bool | None = None) -> None:
    """The mirror's answer for `body` is the model's: equal models, or the mirror declines."""
    for model, fast in ((schemas.EncounterBatchIn, request_wire.encounter_batch), (schemas.EncounterIn, None)):
        if fast is None:
            continue
        expected = _model(body, model)
        built = fast(body)
        if built is None:
            assert accepted is not True, "the mirror declined a body it should accept"
            continue
        assert expected is not None, "the mirror accepted a body the model refuses"
        assert built == expected
        assert built.model_dump() == expected.model_dump()
        assert built.model_dump_json() == expected.model_dump_json()
        assert type(built) is model
        assert expected.model_fields_set <= built.model_fields_set
        if accepted is False:
            pytest.fail("the mirror accepted a body it should decline")


def encoded(encounters: list[dict[str, Any]]) -> bytes:
    return json.dumps({"encounters": encounters}).encode()


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_each_example_encounter_is_built_as_the_model_builds_it(name: str) -> None:
    encounter = DOCUMENTS[name]["encounter"]
    mirrored = not _mentions(encounter, NOT_MIRRORED)
    assert_same_as_the_model(encoded([encounter]), accepted=mirrored)
    single = json.dumps(encounter).encode()
    built = request_wire.encounter(single)
    assert (built is not None) == mirrored
    if built is not None:
        assert built == schemas.EncounterIn.model_validate_json(single)


def test_a_batch_of_every_example_and_the_bench_encounter_is_built_as_the_model_builds_it() -> None:
    mirrored = [d["encounter"] for d in DOCUMENTS.values() if not _mentions(d["encounter"], NOT_MIRRORED)]
    assert len(mirrored) >= 10
    assert_same_as_the_model(encoded([*mirrored, BENCH_ENCOUNTER, coded_encounter()]), accepted=True)


def test_each_mirror_has_its_models_fields_in_order_with_the_same_defaults() -> None:
    for mirror, builder in _builders():
        model = builder.model
        assert list(mirror.__struct_fields__) == list(model.model_fields), mirror.__name__
        defaults = {
            f.name: f.default if f.default_factory is msgspec.NODEFAULT else f.default_factory()
            for f in msgspec.structs.fields(mirror)
        }
        for name, field in model.model_fields.items():
            if field.is_required():
                assert defaults[name] is msgspec.NODEFAULT, f"{mirror.__name__}.{name}"
                continue
            if name in NOT_MIRRORED:
                continue
            default = defaults[name]
            expected = field.get_default(call_default_factory=True)
            if isinstance(expected, BaseModel):
                assert builder.nested and dict(builder.nested)[name].build(default) == expected
            else:
                assert default == expected, f"{mirror.__name__}.{name}"


def _builders() -> list[tuple[type[msgspec.Struct], Any]]:
    found: dict[type[msgspec.Struct], Any] = {}
    stack = [request_wire._BATCH]  # the test walks the module's own builders
    while stack:
        builder = stack.pop()
        mirror = _mirror_of(builder.model)
        if mirror in found:
            continue
        found[mirror] = builder
        stack.extend(nested for _, nested in builder.nested)
    assert len(found) >= 15
    return list(found.items())


def _mirror_of(model: type[BaseModel]) -> type[msgspec.Struct]:
    name = model.__name__.removesuffix("In") + "W"
    mirror: type[msgspec.Struct] = getattr(request_wire, name)
    return mirror


Change = BodyChange


PATIENT_ID = "6f1c2f1e-8a40-4c55-9d43-3f1a2b7c9d10"


def by_patient_id(patient_id: str) -> Change:
    def apply(encounter: dict[str, Any]) -> None:
        del encounter["patient_external_id"]
        encounter["patient_id"] = patient_id

    return apply


ADDRESS = {"line1": "1 MAIN ST", "city": "SPRINGFIELD", "state": "IL", "postal_code": "62701"}
EDGES: dict[str, tuple[Change, bool | None]] = {
    # (the change to the bench encounter, whether the mirror must accept it: True, False, or None: either)
    "as it is": (lambda e: None, True),
    "optional left out": (dropping("rendering_provider_npi"), True),
    "optional null": (setting("rendering_provider_npi", None), True),
    "defaults sent": (setting("currency", "USD"), True),
    "claim options sent": (setting("claim_options", {"assignment": "B", "benefits_assigned": False}), True),
    "claim options empty": (setting("claim_options", {}), True),
    "claim options null": (setting("claim_options", None), False),
    "extra field": (setting("extra", 1), False),
    "extra field in a line": (setting("lines", 0, "extra", 1), False),
    "missing required": (dropping("payer_id"), False),
    "null required": (setting("payer_id", None), False),
    "patient by id": (by_patient_id(PATIENT_ID), True),
    "patient id without hyphens": (
        by_patient_id(PATIENT_ID.replace("-", "")),
        None,
    ),
    "patient id braces": (by_patient_id("{" + PATIENT_ID + "}"), None),
    "patient id urn": (by_patient_id("urn:uuid:" + PATIENT_ID), None),
    "patient id upper case": (by_patient_id(PATIENT_ID.upper()), None),
    "both patients": (setting("patient_id", PATIENT_ID), False),
    "no patient": (dropping("patient_external_id"), False),
    "external id at 64": (setting("external_encounter_id", "E" * 64), True),
    "external id at 65": (setting("external_encounter_id", "E" * 65), False),
    "external id empty": (setting("external_encounter_id", ""), False),
    "external id with a space": (setting("external_encounter_id", "E 1"), False),
    "external id non-ascii": (setting("external_encounter_id", "É1"), False),
    "external id trailing newline": (setting("external_encounter_id", "E1\n"), False),
    "payer lower case": (setting("payer_id", "sandbox"), True),
    "payer with a hyphen": (setting("payer_id", "SAND-BOX"), False),
    "bad literal": (setting("claim_type", "dental"), False),
    "frequency as a number": (setting("frequency_code", 1), False),
    "currency other": (setting("currency", "EUR"), False),
    "bad npi check digit": (setting("billing_provider_npi", "1234567890"), False),
    "npi as a number": (setting("billing_provider_npi", 1234567893), False),
    "npi nine digits": (setting("billing_provider_npi", "123456789"), False),
    "npi arabic-indic digits": (setting("billing_provider_npi", "١٢٣٤٥٦٧٨٩٣"), False),
    "bad place of service": (setting("place_of_service", "00"), False),
    "line place of service": (setting("lines", 0, "place_of_service", "22"), True),
    "bad date": (setting("service_date_from", "2026-02-30"), False),
    "datetime for a date": (setting("service_date_from", "2026-11-02T00:00:00"), None),
    "date as a number": (setting("service_date_from", 20261102), False),
    "leap day": (setting("service_date_from", "2024-02-29"), True),
    "date short year": (setting("service_date_from", "26-11-02"), False),
    "float cents": (setting("lines", 0, "charge_cents", 125.0), False),
    "string cents": (setting("lines", 0, "charge_cents", "12500"), False),
    "negative cents": (setting("lines", 0, "charge_cents", -1), False),
    "cents at the ceiling": (setting("lines", 0, "charge_cents", 99_999_999_99), True),
    "cents over the ceiling": (setting("lines", 0, "charge_cents", 99_999_999_99 + 1), False),
    "cents null": (setting("lines", 0, "charge_cents", None), True),
    "huge integer": (setting("lines", 0, "charge_cents", 10**30), False),
    "units zero": (setting("lines", 0, "units", 0), False),
    "units bool": (setting("lines", 0, "units", True), False),
    "units float": (setting("lines", 0, "units", 1.0), False),
    "line number as a string": (setting("lines", 0, "line_number", "1"), None),
    "line number float": (setting("lines", 0, "line_number", 1.0), None),
    "line number 1000": (setting("lines", 0, "line_number", 1000), False),
    "emergency as a string": (setting("lines", 0, "emergency", "true"), None),
    "emergency as 1": (setting("lines", 0, "emergency", 1), None),
    "emergency true": (setting("lines", 0, "emergency", True), True),
    "pointer 13": (setting("lines", 0, "diagnosis_pointers", [13]), False),
    "five pointers": (setting("lines", 0, "diagnosis_pointers", [1, 2, 1, 2, 1]), False),
    "four pointers": (setting("lines", 0, "diagnosis_pointers", [1, 2, 1, 2]), True),
    "five modifiers": (setting("lines", 0, "modifiers", ["25", "59", "76", "77", "91"]), False),
    "bad modifier": (setting("lines", 0, "modifiers", ["!!"]), False),
    "bad procedure": (setting("lines", 0, "procedure_code", "9921"), False),
    "revenue code": (setting("lines", 0, "revenue_code", "0450"), True),
    "bad revenue code": (setting("lines", 0, "revenue_code", "0001"), False),
    "no diagnoses": (setting("diagnosis_codes", []), False),
    "diagnosis too short": (setting("diagnosis_codes", ["J0"]), False),
    "26 diagnoses": (setting("diagnosis_codes", ["J06.9"] * 26), False),
    "diagnoses null": (setting("diagnosis_codes", None), False),
    "diagnosis with a control character": (setting("diagnosis_codes", ["J06\x009"]), None),
    "no lines": (setting("lines", []), False),
    "lines an object": (setting("lines", {"0": {}}), False),
    "control character": (setting("external_encounter_id", "A\tB"), False),
    "DEL character": (setting("prior_authorization", "PA\x7f1"), False),
    "escaped quote": (setting("prior_authorization", 'PA"1'), True),
    "escaped slash": (setting("prior_authorization", "PA/1"), True),
    "non-ascii identifier": (setting("prior_authorization", "PAé1"), False),
    "identifier with spaces around": (setting("prior_authorization", " PA1"), False),
    "identifier with a delimiter": (setting("prior_authorization", "PA*1"), False),
    "identifier at 50": (setting("prior_authorization", "P" * 50), True),
    "identifier at 51": (setting("prior_authorization", "P" * 51), False),
    "original claim number": (lambda e: e.update(frequency_code="7", original_claim_number="CLM-1"), True),
    "pay-to address": (setting("pay_to_address", ADDRESS), True),
    "pay-to address ZIP+4": (setting("pay_to_address", {**ADDRESS, "postal_code": "627011234"}), True),
    "pay-to address bad state": (setting("pay_to_address", {**ADDRESS, "state": "XX"}), False),
    "pay-to address accented": (setting("pay_to_address", {**ADDRESS, "line1": "1 PEÑA ST"}), True),
    "pay-to address emoji": (setting("pay_to_address", {**ADDRESS, "line1": "1 MAIN ST \N{GRINNING FACE}"}), False),
    "pay-to address city too short": (setting("pay_to_address", {**ADDRESS, "city": "X"}), False),
    "pay-to address line 56": (setting("pay_to_address", {**ADDRESS, "line1": "A" * 56}), False),
    "attachment on request": (setting("attachments", [{"report_type": "OZ", "transmission": "AA"}]), True),
    "attachment mailed without number": (setting("attachments", [{"report_type": "OZ", "transmission": "BM"}]), False),
    "attachment mailed": (
        setting("attachments", [{"report_type": "OZ", "transmission": "BM", "control_number": "AB-1"}]),
        True,
    ),
    "eleven attachments": (setting("attachments", [{"report_type": "OZ", "transmission": "AA"}] * 11), False),
    "line attachment": (setting("lines", 0, "attachments", [{"report_type": "09", "transmission": "AA"}]), True),
    "dme certificate": (setting("lines", 0, "dme_certificate", {"certification": "I", "duration_months": 6}), True),
    "dme months float": (setting("lines", 0, "dme_certificate", {"certification": "I", "duration_months": 6.0}), False),
    "dme months string": (
        setting("lines", 0, "dme_certificate", {"certification": "I", "duration_months": "6"}),
        False,
    ),
    "drug": (setting("lines", 0, "drug", {"ndc": "00002014380", "quantity": 1.5, "unit": "UN"}), False),
    "drug null": (setting("lines", 0, "drug", None), True),
    "ambulance null": (setting("ambulance", None), True),
    "accident": (setting("accident", {"causes": ["AA"], "state": "IL", "occurred_on": "2026-10-30"}), True),
    "accident no causes": (setting("accident", {"causes": []}), False),
    "accident three causes": (setting("accident", {"causes": ["AA", "EM", "OA"]}), False),
    "delay reason": (setting("delay_reason_code", "11"), True),
    "delay reason 12": (setting("delay_reason_code", "12"), False),
    "prior payer": (
        setting(
            "prior_payer_adjudications",
            [
                {
                    "payer_id": "OTHER",
                    "paid_cents": 100,
                    "adjudication_date": "2026-11-20",
                    "claim_adjustments": [{"group": "CO", "reason_code": "45", "amount_cents": -5}],
                    "lines": [{"line_number": 1, "paid_cents": 100, "paid_units": 0}],
                    "payer_claim_control_number": "PCN-1",
                }
            ],
        ),
        True,
    ),
    "prior payer bad reason": (
        setting(
            "prior_payer_adjudications",
            [
                {
                    "payer_id": "OTHER",
                    "paid_cents": 0,
                    "adjudication_date": "2026-11-20",
                    "claim_adjustments": [{"group": "CO", "reason_code": "toolong", "amount_cents": 0}],
                }
            ],
        ),
        False,
    ),
    "three prior payers": (
        setting(
            "prior_payer_adjudications", [{"payer_id": "P", "paid_cents": 0, "adjudication_date": "2026-11-20"}] * 3
        ),
        False,
    ),
    "duplicate key": (lambda e: None, None),
}
DAY = "2026-10-01"
INSTITUTIONAL_EDGES: dict[str, tuple[Change, bool | None]] = {
    "as it is": (lambda e: None, True),
    "poa values": (setting("institutional", "present_on_admission", ["Y", "N", "U", "W", ""]), True),
    "poa 1": (setting("institutional", "present_on_admission", ["1"]), False),
    "poa two characters": (setting("institutional", "present_on_admission", ["YY"]), False),
    "drg": (setting("institutional", "drg", "470"), True),
    "drg letters": (setting("institutional", "drg", "47A"), False),
    "principal procedure": (setting("institutional", "principal_procedure", {"code": "0DTJ4ZZ", "date": DAY}), True),
    "bad principal procedure": (setting("institutional", "principal_procedure", {"code": "0DT", "date": DAY}), False),
    "span backwards": (
        setting("institutional", "occurrence_spans", [{"code": "70", "start": "2026-10-05", "end": "2026-10-01"}]),
        False,
    ),
    "span": (setting("institutional", "occurrence_spans", [{"code": "70", "start": DAY, "end": "2026-10-05"}]), True),
    "value": (setting("institutional", "values", [{"code": "80", "amount_cents": 300}]), True),
    "bad value code": (setting("institutional", "values", [{"code": "!", "amount_cents": 300}]), False),
    "condition code": (setting("institutional", "condition_codes", ["D9"]), True),
    "admission hour 24": (lambda e: e["institutional"].setdefault("admission", {}).update(hour=24), False),
    "bad attending npi": (setting("institutional", "attending_provider_npi", "1234567890"), False),
    "facility type one digit": (setting("institutional", "facility_type_code", "1"), False),
}  # fmt: skip


@pytest.mark.parametrize("name", list(EDGES))
def test_an_edge_case_is_built_as_the_model_builds_it_or_left_to_the_model(name: str) -> None:
    change, accepted = EDGES[name]
    encounter = copy.deepcopy(BENCH_ENCOUNTER)
    change(encounter)
    body = encoded([encounter])
    if name == "duplicate key":
        body = body.replace(b'"payer_id": "SANDBOX"', b'"payer_id": "X!", "payer_id": "SANDBOX"')
        assert body.count(b'"payer_id"') == 2
    assert_same_as_the_model(body, accepted=accepted)


@pytest.mark.parametrize("name", list(INSTITUTIONAL_EDGES))
def test_an_institutional_edge_case_is_built_as_the_model_builds_it_or_left_to_the_model(name: str) -> None:
    change, accepted = INSTITUTIONAL_EDGES[name]
    encounter = copy.deepcopy(INSTITUTIONAL)
    change(encounter)
    assert_same_as_the_model(encoded([encounter]), accepted=accepted)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'"encounters"',
        b'{"encounters": []}',
        b'{"encounters": null}',
        b'{"encounters": [' + b",".join([json.dumps(BENCH_ENCOUNTER).encode()] * 1001) + b"]}",
        b'{"encounters": [{}]}',
        b'{"encounters": [' + json.dumps(BENCH_ENCOUNTER).encode() + b"]",
        json.dumps({"encounters": [BENCH_ENCOUNTER]}).encode().replace(b"MRN-1", b"MRN-\\ud800"),
        json.dumps({"encounters": [BENCH_ENCOUNTER]}).encode().replace(b"MRN-1", b"MRN-\\u0041"),
        json.dumps({"encounters": [BENCH_ENCOUNTER]}).encode().replace(b"MRN-1", b"MRN-\\u001f"),
        json.dumps({"encounters": [BENCH_ENCOUNTER]}).encode().replace(b"MRN-1", b"MRN-\\u007F"),
        json.dumps({"encounters": [BENCH_ENCOUNTER]}).encode().replace(b"MRN-1", b"MRN-\x7f"),
        json.dumps({"encounters": [BENCH_ENCOUNTER]}).encode().replace(b"MRN-1", "MRN-\N{EM DASH}".encode()),
        json.dumps({"encounters": [BENCH_ENCOUNTER]}).encode() + b" \n",
        json.dumps({"encounters": [BENCH_ENCOUNTER]}).encode() + b" x",
    ],
)
def test_a_malformed_or_unusual_body_is_built_as_the_model_builds_it_or_left_to_the_model(body: bytes) -> None:
    assert_same_as_the_model(body)


def test_a_batch_of_one_thousand_is_built_as_the_model_builds_it() -> None:
    encounters = [{**BENCH_ENCOUNTER, "external_encounter_id": f"B-{i:04d}"} for i in range(1000)]
    assert_same_as_the_model(encoded(encounters), accepted=True)
