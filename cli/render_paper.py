"""`claimflow x12 render-paper`: an encounter document through the claims mapper onto a CMS-1500 or UB-04 PDF."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cli.render_837 import RenderError, encounter_from_json
from services.claims.domain.claim_builder import ClaimMappingError, claim_from_encounter
from services.claims.domain.paper_forms import FORMS, PaperFormError, fill
from services.claims.domain.paper_pdf import paper_pdf
from services.claims.settings import ClaimsSettings


def render_paper(path: Path, *, form_name: str, control_number: str, now: dt.datetime) -> bytes:
    """The PDF of the document's claim on the named form; `RenderError` when it cannot be one."""
    encounter = encounter_from_json(path.read_text(encoding="utf-8-sig"), now.date())
    settings = ClaimsSettings()
    try:
        claim = claim_from_encounter(
            encounter, control_number=control_number, submitter=settings.submitter, receiver=settings.receiver
        )
    except ClaimMappingError as exc:
        raise RenderError(str(exc)) from None
    form = FORMS[form_name]
    try:
        pages = fill(form, claim, printed_on=now.date())
    except PaperFormError as exc:
        raise RenderError(str(exc)) from None
    return paper_pdf(form, pages)
