"""`claimflow x12 render-837`: an encounter document through the claims mapper to an 837, offline."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Source:
    """What a file held: the event to render, the day it is billed on, and the document (if it was one)."""

    event: EncounterCodedV1
    as_of: dt.date
    document: EncounterDocument | None


def encounter_from_json(text: str, today: dt.date) -> EncounterCodedV1:
    """An intake document (patient, coverages, providers, payers, encounter) or an encounter-coded payload."""
    return source_from_json(text, today).event


def source_from_json(text: str, today: dt.date, as_of: dt.date | None = None) -> Source:
    """An intake document (patient, coverages, providers, payers, encounter) or an encounter-coded payload.

    The document's own `as_of` (or the caller's, which wins) stands for today, so an example renders
    the same on any date."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RenderError(f"not JSON: {exc}") from None
    try:
        if isinstance(raw, dict) and "encounter_id" in raw:
            return Source(EncounterCodedV1.model_validate(raw), as_of or today, None)
        document = EncounterDocument.model_validate(raw)
    except ValidationError as exc:
        raise RenderError(_errors(exc)) from None
    day = as_of or document.as_of or today
    event, problems = document_event(document, today=day)
    if event is None:
        raise RenderError("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
    return Source(event, day, document)


def render_837(
    path: Path, *, control_number: str, now: dt.datetime, line_breaks: bool = True, as_of: dt.date | None = None
) -> tuple[str, list[Finding]]:
    """The 837 text and the scrubber's findings (which do not stop the rendering)."""
    source = source_from_json(path.read_text(encoding="utf-8-sig"), now.date(), as_of)
    encounter = source.event
    findings = scrub(
        draft_from_encounter(encounter),
        ScrubContext(today=source.as_of, diagnosis_problem=codesets.validate_icd10cm),
    )
    settings = ClaimsSettings()
    try:
        claim = claim_from_encounter(
            encounter, control_number=control_number, submitter=settings.submitter, receiver=settings.receiver
        )
        interchange = write_interchange([claim], ControlNumbers(1, 1, 1), now, line_breaks=line_breaks)
    except ClaimMappingError as exc:
        raise RenderError(str(exc)) from None
    except ClaimValidationError as exc:
        raise RenderError("; ".join(f"{document_path(p.field, source)}: {p.message}" for p in exc.problems)) from None
    return interchange.text, findings


_CLAIM_TO_DOCUMENT = (
    ("lines[", "encounter.lines["),
    ("institutional.attending", "encounter.institutional.attending_provider_npi"),
    ("institutional.", "encounter.institutional."),
    ("diagnoses", "encounter.diagnosis_codes"),
    ("service_facility", "facility"),
    ("patient", "patient"),
    ("prior_authorization", "encounter.prior_authorization"),
    ("original_claim_number", "encounter.original_claim_number"),
)
_PROVIDER_FIELDS = {"last_name": "name"}


def document_path(field: str, source: Source) -> str:
    """The writer's field path (``claims[0].subscriber.first_name``) as the document names it
    (``patient.first_name``, ``providers[0].address.postal_code``)."""
    path = field.removeprefix("claims[0].")
    document = source.document
    if document is None:
        return path
    head, _, rest = path.partition(".")
    tail = f".{rest}" if rest else ""
    encounter = document.encounter
    providers = [p.npi for p in document.providers]
    npis = {
        "billing_provider": encounter.billing_provider_npi,
        "rendering_provider": encounter.rendering_provider_npi,
        "referring_provider": encounter.referring_provider_npi,
        "supervising_provider": encounter.supervising_provider_npi,
    }
    npi = npis.get(head)
    if npi is not None and npi in providers:
        field_name = _PROVIDER_FIELDS.get(rest, rest)
        return f"providers[{providers.index(npi)}]" + (f".{field_name}" if field_name else "")
    if head == "subscriber":
        billed = next((i for i, c in enumerate(document.coverages) if c.payer_id == encounter.payer_id), None)
        if billed is None or document.coverages[billed].subscriber is None:
            return f"patient{tail}" if rest not in ("member_id", "group_number", "group_name") else f"coverages{tail}"
        if rest in ("member_id", "group_number", "group_name"):
            return f"coverages[{billed}]{tail}"
        return f"coverages[{billed}].subscriber{tail}"
    if head == "payer":
        payers = [p.payer_id for p in document.payers]
        if encounter.payer_id in payers:
            return f"payers[{payers.index(encounter.payer_id)}]{tail}"
    for prefix, replacement in _CLAIM_TO_DOCUMENT:
        if path.startswith(prefix):
            return replacement + path.removeprefix(prefix)
    return f"encounter.{path}"


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])
