"""One rule, one place: over a table of codes, intake accepts exactly what the claims scrubber passes,
and every code both accept goes through the 837 writer's own checks.

Each code is put into an example encounter document. Intake's verdict is the document's (a 422 or an
`encounter-coded` event); the scrubber's is whether it holds the claim built from the event with the
code swapped in; the writer's is `validate_claims` on the claim it would write.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from services.claims.domain.claim_builder import claim_from_encounter, draft_from_encounter
from services.claims.domain.claim_checks import validate_claims
from services.claims.domain.scrubber import ScrubContext, Severity, scrub
from services.claims.settings import ClaimsSettings
from services.intake.domain.documents import document_event
from services.intake.schemas import EncounterDocument
from shared import codesets
from shared.events.catalog import EncounterCodedV1
from tests.support.encounters import EXAMPLES, EXAMPLES_TODAY, event_of, writable

CASES: list[tuple[str, str, bool]] = [
    ("procedure", "99213", True),
    ("procedure", "0001F", True),
    ("procedure", "0042T", True),
    ("procedure", "0001U", True),
    ("procedure", "0001M", True),  # CPT MAAA: intake refused it before
    ("procedure", "J3420", True),
    ("procedure", "G0008", True),
    ("procedure", "W1234", False),  # no HCPCS section W: intake accepted it before
    ("procedure", "F1234", False),
    ("procedure", "9921", False),
    ("procedure", "ABCDE", False),
    ("modifier", "25", True),
    ("modifier", "QW", True),
    ("modifier", "XS", True),
    ("modifier", "ABC", False),
    ("modifier", "q1", False),
    ("place_of_service", "11", True),
    ("place_of_service", "02", True),
    ("place_of_service", "30", False),
    ("place_of_service", "00", False),
    ("diagnosis", "J06.9", True),
    ("diagnosis", "Z79.4", True),
    ("diagnosis", "S12.000A", True),
    ("diagnosis", "J06", False),  # a category
    ("diagnosis", "U99.9", False),  # not in the release
    ("revenue", "0450", True),
    ("revenue", "0300", True),
    ("revenue", "0001", False),  # the total line, not a service
    ("revenue", "9990", False),
]


def _document(kind: str, code: str) -> tuple[str, dict[str, Any]]:
    name = "institutional" if kind == "revenue" else "professional"
    raw: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    encounter = raw["encounter"]
    line = encounter["lines"][0]
    if kind == "procedure":
        line["procedure_code"] = code
    elif kind == "modifier":
        line["modifiers"] = [code]
    elif kind == "place_of_service":
        encounter["place_of_service"] = code
    elif kind == "diagnosis":
        encounter["diagnosis_codes"][0] = code
    else:
        line["revenue_code"] = code
    return name, raw


def _event_with(event: EncounterCodedV1, kind: str, code: str) -> EncounterCodedV1:
    """The event with the code swapped in, past intake's checks: what the scrubber alone would see."""
    first = event.lines[0]
    line_changes: dict[str, object] = {
        "procedure": {"procedure_code": code},
        "modifier": {"modifiers": [code]},
        "revenue": {"revenue_code": code},
    }.get(kind, {})
    lines = [first.model_copy(update=line_changes), *event.lines[1:]]
    changes: dict[str, object] = {"lines": lines}
    if kind == "place_of_service":
        changes["place_of_service"] = code
    if kind == "diagnosis":
        changes["diagnosis_codes"] = [code, *event.diagnosis_codes[1:]]
    return event.model_copy(update=changes)


def intake_accepts(raw: dict[str, Any]) -> bool:
    try:
        document = EncounterDocument.model_validate(raw)
    except ValidationError:
        return False
    event, _ = document_event(document, today=EXAMPLES_TODAY)
    return event is not None


def scrubber_passes(event: EncounterCodedV1) -> bool:
    context = ScrubContext(today=EXAMPLES_TODAY, diagnosis_problem=codesets.validate_icd10cm)
    return not [f for f in scrub(draft_from_encounter(event), context) if f.severity is Severity.ERROR]


def writer_problems(event: EncounterCodedV1) -> list[str]:
    settings = ClaimsSettings()
    claim = claim_from_encounter(
        writable(event), control_number="CF0000000001", submitter=settings.submitter, receiver=settings.receiver
    )
    return [str(problem) for problem in validate_claims([claim])]


@pytest.fixture(autouse=True)
def packaged_code_sets() -> None:
    codesets.use_directory(None)


@pytest.mark.parametrize(("kind", "code", "billable"), CASES, ids=[f"{k}-{c}" for k, c, _ in CASES])
def test_intake_and_the_scrubber_agree_and_the_837_carries_it(kind: str, code: str, billable: bool) -> None:
    name, raw = _document(kind, code)
    event = _event_with(event_of(name), kind, code)
    assert intake_accepts(raw) is billable, f"intake on {kind} {code}"
    assert scrubber_passes(event) is billable, f"scrubber on {kind} {code}"
    if billable:
        assert writer_problems(event) == []


def test_the_unchanged_examples_pass_all_three() -> None:
    for name in ("professional", "institutional"):
        raw = json.loads((EXAMPLES / f"{name}.json").read_text())
        assert intake_accepts(raw) and scrubber_passes(event_of(name)) and writer_problems(event_of(name)) == []
