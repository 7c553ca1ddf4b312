"""intake passes an encounter's request mirror (`request_wire.EncounterW`) through its domain and repository instead of
the pydantic model: for every example encounter the mirror gives what the model gives, byte for byte where bytes are
written (the `encounter-coded` payload, the `coding` JSON stored, the PHI sealed, the idempotency fingerprint), and the
same problems where the domain refuses. Pure: no I/O."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from services.intake import request_wire
from services.intake.domain.documents import registry_from_document
from services.intake.domain.encounter import CodeVerdicts, check_encounter, diagnosis_release, total_charge_cents
from services.intake.domain.parties import coded_event, resolve
from services.intake.repository import ENCOUNTER_PHI, encounter_coding_json, encounter_phi_json
from services.intake.schemas import EncounterBatchIn, EncounterDocument, EncounterIn
from shared.events.envelope import payload_json
from shared.http_guard import json_problem
from shared.idempotency import request_fingerprint
from tests.support.intake_builders import setting

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "encounters"
DOCUMENTS = {
    path.stem: EncounterDocument.model_validate_json(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))
}
MIRRORED = {
    name: (document, mirror)
    for name, document in DOCUMENTS.items()
    if (mirror := request_wire.mirrored_encounter(document.encounter.model_dump_json().encode())) is not None
}
TODAY = dt.date(2026, 11, 30)


def test_every_example_is_mirrored_but_those_with_a_drug_or_a_trip() -> None:
    assert len(MIRRORED) >= 10
    for name, document in DOCUMENTS.items():
        encounter = document.encounter
        has_decimals = encounter.ambulance is not None or any(line.drug is not None for line in encounter.lines)
        assert (name in MIRRORED) != has_decimals, name


@pytest.mark.parametrize("name", list(MIRRORED))
def test_the_mirror_writes_the_models_bytes(name: str) -> None:
    document, mirror = MIRRORED[name]
    model = document.encounter
    assert encounter_coding_json(mirror) == model.model_dump_json(exclude=ENCOUNTER_PHI)
    assert encounter_phi_json(mirror) == encounter_phi_json(model)
    assert msgspec.to_builtins(mirror) == model.model_dump(mode="json")
    assert total_charge_cents(mirror.lines) == total_charge_cents(model.lines)
    registry = registry_from_document(document)
    encounter_id = uuid.uuid4()
    events = []
    for sent in (model, mirror):
        resolved, problems = resolve(sent, registry_from_document(document))
        assert problems == [] and resolved is not None
        events.append(payload_json(coded_event(encounter_id, sent, resolved, registry, "FY2026")))
    assert events[0] == events[1], "the event payload's bytes are today's"


def test_a_batch_fingerprint_is_the_models() -> None:
    body = json.dumps({"encounters": [document.encounter.model_dump(mode="json") for document, _ in MIRRORED.values()]})
    shell = request_wire.batch_shell(body.encode())
    assert shell is not None
    model = EncounterBatchIn.model_validate_json(body)
    assert request_fingerprint("POST", "/v1/encounters:batch", request_wire.batch_body(shell)) == request_fingerprint(
        "POST", "/v1/encounters:batch", model
    )
    assert request_wire.encounters_of(shell) == shell._mirror.encounters
    assert [request_wire.as_model(e) for e in shell._mirror.encounters] == model.encounters
    with pytest.raises(AttributeError):
        _ = shell.encounters  # the shell carries no field: nothing reads a wrong value from it


TEXTS: dict[str, str] = {
    "quote and backslash": 'PA "1" \\ 2',
    "non-ascii": "CAF\N{LATIN CAPITAL LETTER E WITH ACUTE} \N{EM DASH} 1",
    "slash": "PA/1",
}


@pytest.mark.parametrize("name", list(TEXTS))
def test_text_is_written_as_the_model_writes_it(name: str) -> None:
    document, _ = MIRRORED["professional"]
    address = {"line1": TEXTS[name], "city": "SPRINGFIELD", "state": "IL", "postal_code": "62701"}
    sent = {**document.encounter.model_dump(mode="json"), "pay_to_address": address}
    body = json.dumps(sent, ensure_ascii=False).encode()
    mirror = request_wire.mirrored_encounter(body)
    model = EncounterIn.model_validate_json(body)
    assert mirror is not None
    assert encounter_coding_json(mirror) == model.model_dump_json(exclude=ENCOUNTER_PHI)


DOMAIN_PROBLEMS: dict[str, Callable[[dict[str, Any]], None]] = {
    "service in the future": setting("service_date_to", "2027-01-01"),
    "line outside the encounter": setting("lines", 0, "service_date", "2020-01-01"),
    "pointer to no diagnosis": setting("lines", 0, "diagnosis_pointers", [9]),
    "repeated modifier": setting("lines", 0, "modifiers", ["25", "25"]),
    "void without the original": setting("frequency_code", "8"),
    "unknown diagnosis": setting("diagnosis_codes", ["Z99.999"]),
    "institutional on a professional claim": setting("claim_type", "institutional"),
    "repeated line number": lambda e: e["lines"].append({**e["lines"][0]}),
}


@pytest.mark.parametrize("name", list(DOMAIN_PROBLEMS))
def test_the_domain_finds_the_same_problems_in_the_mirror(name: str) -> None:
    document, _ = MIRRORED["professional"]
    sent = copy.deepcopy(document.encounter.model_dump(mode="json"))
    DOMAIN_PROBLEMS[name](sent)
    body = json.dumps(sent).encode()
    mirror = request_wire.mirrored_encounter(body)
    assert mirror is not None, "a domain problem, not the schema's"
    model = EncounterIn.model_validate_json(body)
    found = []
    for encounter in (model, mirror):
        release = diagnosis_release(encounter.service_date_from)
        problems = check_encounter(encounter, today=TODAY, release=release, verdicts=CodeVerdicts())
        resolved, unresolvable = resolve(encounter, registry_from_document(document))
        found.append((problems, unresolvable, resolved is None))
    assert found[0] == found[1]
    assert found[0][0] or found[0][1], "the change breaks a rule"


BODIES = [
    b'{"encounters": [{"external_encounter_id": NaN}]}',
    b'{"encounters": []} x',
    b'{"encounters": [{"external_encounter_id": "\\ud800"}]}',
    b'{"encounters": [{"external_encounter_id": "\xff"}]}',
    b'{"encounters": [{"external_encounter_id": "A\\u0000"}]}',
    b"[" * 70 + b"]" * 70,
]


@pytest.mark.parametrize("body", BODIES)
def test_what_the_guard_refuses_the_mirror_declines(body: bytes) -> None:
    """The request guard does not check the JSON of a body the mirror decoded: the mirror declines all it refuses."""
    assert json_problem(body) is not None
    assert request_wire.mirrored_batch(body) is None
    assert request_wire.batch_shell(body) is None


def test_every_mirrored_example_is_json_the_guard_accepts() -> None:
    for document, _ in MIRRORED.values():
        body = json.dumps({"encounters": [document.encounter.model_dump(mode="json")]}).encode()
        assert request_wire.mirrored_batch(body) is not None
        assert json_problem(body) is None
