"""`claimflow x12 render-837`: an encounter document through the claims mapper to an 837, offline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pydantic import ValidationError

from services.claims.domain.claim_builder import ClaimMappingError, claim_from_encounter, draft_from_encounter
from services.claims.domain.claim_checks import ClaimValidationError
from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.scrubber import Finding, ScrubContext, scrub
from services.claims.domain.x12_837 import write_interchange
from services.claims.settings import ClaimsSettings
from services.intake.domain.documents import document_event
from services.intake.schemas import EncounterDocument
from shared import codesets
from shared.events.catalog import EncounterCodedV1


class RenderError(ValueError):
    pass


def encounter_from_json(text: str, today: dt.date) -> EncounterCodedV1:
    """An intake document (patient, coverages, providers, payers, encounter) or an encounter-coded payload."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RenderError(f"not JSON: {exc}") from None
    try:
        if isinstance(raw, dict) and "encounter_id" in raw:
            return EncounterCodedV1.model_validate(raw)
        document = EncounterDocument.model_validate(raw)
    except ValidationError as exc:
        raise RenderError(_errors(exc)) from None
    event, problems = document_event(document, today=today)
    if event is None:
        raise RenderError("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
    return event


def render_837(
    path: Path, *, control_number: str, now: dt.datetime, line_breaks: bool = True
) -> tuple[str, list[Finding]]:
    """The 837 text and the scrubber's findings (which do not stop the rendering)."""
    encounter = encounter_from_json(path.read_text(encoding="utf-8-sig"), now.date())
    findings = scrub(
        draft_from_encounter(encounter),
        ScrubContext(today=now.date(), diagnosis_problem=codesets.validate_icd10cm),
    )
    settings = ClaimsSettings()
    try:
        claim = claim_from_encounter(
            encounter, control_number=control_number, submitter=settings.submitter, receiver=settings.receiver
        )
        interchange = write_interchange([claim], ControlNumbers(1, 1, 1), now, line_breaks=line_breaks)
    except (ClaimMappingError, ClaimValidationError) as exc:
        raise RenderError(str(exc)) from None
    return interchange.text, findings


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])
