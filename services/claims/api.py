"""Claims HTTP API: claim search (cursor paging), status and history, the hold queue with fixes and
releases, cancellation of claims no payer has seen, the rejection queue, follow-ups, the tenant's fee
schedule and scrub-rule settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.claims.domain.claim_state import ClaimState
from services.claims.domain.fhir_claim_response import ClaimStatusView, claim_response
from services.claims.domain.fixes import ClaimFix, FixRejected, LineFix
from services.claims.domain.scrubber import BUILT_IN_RULES, RULES_BY_ID
from services.claims.lifecycle import ClaimNotFound
from services.claims.models import idempotency_keys
from services.claims.records import ClaimQuery, FeeEntry
from services.claims.repository import ClaimRepository
from services.claims.schemas import (
    ClaimCancelIn,
    ClaimDetailOut,
    ClaimFixIn,
    ClaimOut,
    FeeScheduleEntryOut,
    FeeScheduleIn,
    FeeScheduleLoaded,
    FollowUpOut,
    HeldClaimOut,
    RejectedClaimOut,
    ScrubRuleIn,
    ScrubRuleOut,
)
from services.claims.service import ClaimNotWorkable, cancel_claim, fix_claim, release_claim
from services.claims.settings import ClaimsSettings
from shared.auth import Principal, require_scope
from shared.http import SessionDep
from shared.idempotency import REPLAYED, IdempotencyKey, answer_request_once
from shared.paging import PRINTABLE, CursorParam, Limit, Page, after_cursor, next_cursor
from shared.phi.access import PhiReaderDep
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1", tags=["claims"])
CanRead = Annotated[Principal, require_scope("claims:read")]
CanWrite = Annotated[Principal, require_scope("claims:write")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such claim for this tenant."}}
NOT_WORKABLE: dict[int | str, dict[str, Any]] = {
    409: {"description": "The claim is neither on hold nor rejected."},
    422: {"description": "The fix is not valid."},
}


WRITER_RULE = ScrubRuleOut(
    id="x12.837",
    description=(
        "The claim can be written as a valid 837 (the writer's own checks; the address rules, such as the billing "
        "provider's ZIP+4, are the ones intake applies when parties are registered or corrected). Always on."
    ),
    severity="error",
    enabled=True,
)
"""Listed so a hold by the 837 writer names a rule the tenant can read; it cannot be disabled."""


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="claim not found")


async def _detail(repository: ClaimRepository, claim_id: uuid.UUID) -> ClaimDetailOut:
    claim = await repository.get(claim_id)
    if claim is None:
        raise _not_found()
    lines = await repository.lines(claim_id)
    history = await repository.history(claim_id)
    return ClaimDetailOut.model_validate(
        {
            **{field.name: getattr(claim, field.name) for field in dataclasses.fields(claim)},
            "diagnosis_codes": (claim.document or {}).get("diagnosis_codes", []),
            "lines": lines,
            "status_history": history,
            "secondary_claim_id": await repository.secondary_of(claim_id),
            "envelope": await repository.envelope_of(claim_id),
            "payments": await repository.payments_of(claim_id),
        },
        from_attributes=True,
    )


@router.get("/claims/{claim_id}", responses=NOT_FOUND)
async def get_claim(
    claim_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> ClaimDetailOut:
    """A claim with its lines, scrub findings and every status change (time and reason)."""
    detail = await _detail(ClaimRepository(session, principal.tenant), claim_id)
    await reader.read("claim", [claim_id])
    return detail


@router.get("/claims")
async def search_claims(
    principal: CanRead,
    session: SessionDep,
    state: Annotated[list[ClaimState] | None, Query(description="One or more states (repeat the parameter).")] = None,
    encounter_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    payer_id: Annotated[str | None, Query(max_length=80, pattern=PRINTABLE)] = None,
    provider_npi: Annotated[str | None, Query(pattern=r"^\d{10}$", description="Billing or rendering NPI.")] = None,
    service_date_from: Annotated[dt.date | None, Query(description="Claims with service on or after.")] = None,
    service_date_to: Annotated[dt.date | None, Query(description="Claims with service on or before.")] = None,
    claim_number: Annotated[
        str | None, Query(max_length=20, pattern=PRINTABLE, description="CLM01 (the 835's CLP01).")
    ] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[ClaimOut]:
    """Find claims by state, encounter, patient, payer, provider, service dates or claim number; every filter
    given must match. Oldest first; pass `next_cursor` as `cursor` for the next page."""
    query = ClaimQuery(
        states=tuple(s.value for s in state or ()),
        encounter_id=encounter_id,
        patient_id=patient_id,
        payer_id=payer_id,
        provider_npi=provider_npi,
        service_date_from=service_date_from,
        service_date_to=service_date_to,
        claim_number=claim_number,
    )
    found = await ClaimRepository(session, principal.tenant).search(query, after=after_cursor(cursor), limit=limit)
    return Page[ClaimOut](
        items=[ClaimOut.model_validate(row, from_attributes=True) for row in found],
        next_cursor=next_cursor([(claim.created_at, claim.id) for claim in found], limit),
    )


@router.post(
    "/claims/{claim_id}/cancel",
    response_model=ClaimDetailOut,
    responses={**NOT_FOUND, **REPLAYED, 409: {"description": "A payer has the claim."}},
)
async def cancel(
    claim_id: uuid.UUID,
    body: ClaimCancelIn,
    principal: CanWrite,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Cancel a claim no payer has seen yet (on hold, ready, or rejected by the clearinghouse), with a reason;
    an original claim's encounter is cancelled with it. A claim batched or sent cannot be cancelled (void it
    after adjudication instead); cancelling a cancelled claim again answers it as it is."""

    async def run() -> tuple[int, object]:
        try:
            await cancel_claim(
                session, runtime.outbox, principal.tenant, claim_id, body.reason, dt.datetime.now(dt.UTC)
            )
        except ClaimNotFound:
            raise _not_found() from None
        except ClaimNotWorkable as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
        return status.HTTP_200_OK, await _detail(ClaimRepository(session, principal.tenant), claim_id)

    return await answer_request_once(session, idempotency_keys, principal.tenant, request, idempotency_key, body, run)


@router.get("/holds")
async def list_holds(
    principal: CanRead,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[HeldClaimOut]:
    """Claims the scrubber held, oldest first, with the reasons."""
    rows = await ClaimRepository(session, principal.tenant).holds(limit=limit, offset=offset)
    return [HeldClaimOut.model_validate(row, from_attributes=True) for row in rows]


@router.get("/rejections")
async def list_rejections(
    principal: CanRead,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[RejectedClaimOut]:
    """Claims the clearinghouse or payer rejected (999, 277CA, 277), oldest first, with the codes.
    Fix them (`/fixes`) and release them: they go out again in the next batch as `resubmitted`."""
    rows = await ClaimRepository(session, principal.tenant).rejections(limit=limit, offset=offset)
    return [RejectedClaimOut.model_validate(row, from_attributes=True) for row in rows]


@router.get("/follow-ups")
async def list_follow_ups(
    principal: CanRead,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[FollowUpOut]:
    """Claims that went quiet past the follow-up age and were asked about with a 276, newest first."""
    rows = await ClaimRepository(session, principal.tenant).follow_ups(limit=limit, offset=offset)
    return [FollowUpOut.model_validate(row, from_attributes=True) for row in rows]


@router.post(
    "/claims/{claim_id}/fixes", response_model=ClaimDetailOut, responses={**NOT_FOUND, **NOT_WORKABLE, **REPLAYED}
)
async def fix(
    claim_id: uuid.UUID,
    body: ClaimFixIn,
    principal: CanWrite,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Apply corrections (codes, modifiers, units, pointers, charges) to a held or rejected claim."""
    claim_changes = body.model_dump(exclude_unset=True, exclude={"lines", "remove_lines"})
    correction = ClaimFix(
        claim_changes=claim_changes,
        lines=tuple(
            LineFix(line.line_number, line.model_dump(exclude_unset=True, exclude={"line_number"}))
            for line in body.lines
        ),
        remove_lines=tuple(body.remove_lines),
    )

    async def run() -> tuple[int, object]:
        try:
            await fix_claim(session, runtime.outbox, principal.tenant, claim_id, correction)
        except ClaimNotFound:
            raise _not_found() from None
        except ClaimNotWorkable as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
        except FixRejected as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
        return status.HTTP_200_OK, await _detail(ClaimRepository(session, principal.tenant), claim_id)

    return await answer_request_once(session, idempotency_keys, principal.tenant, request, idempotency_key, body, run)


@router.post(
    "/claims/{claim_id}/release",
    response_model=ClaimDetailOut,
    responses={**NOT_FOUND, **REPLAYED, 409: NOT_WORKABLE[409]},
)
async def release(
    claim_id: uuid.UUID,
    principal: CanWrite,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Scrub a held (or rejected) claim again: ready when clean, else on hold with the new reasons."""
    settings = runtime.settings_of(ClaimsSettings)
    today = dt.datetime.now(dt.UTC).date()

    async def run() -> tuple[int, object]:
        try:
            await release_claim(session, runtime.outbox, principal.tenant, claim_id, settings, today)
        except ClaimNotFound:
            raise _not_found() from None
        except ClaimNotWorkable as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
        return status.HTTP_200_OK, await _detail(ClaimRepository(session, principal.tenant), claim_id)

    return await answer_request_once(session, idempotency_keys, principal.tenant, request, idempotency_key, {}, run)


@router.get("/fee-schedule")
async def get_fee_schedule(principal: CanRead, session: SessionDep) -> list[FeeScheduleEntryOut]:
    rows = await ClaimRepository(session, principal.tenant).fee_schedule()
    return [FeeScheduleEntryOut.model_validate(row, from_attributes=True) for row in rows]


@router.put("/fee-schedule")
async def load_fee_schedule(body: FeeScheduleIn, principal: CanWrite, session: SessionDep) -> FeeScheduleLoaded:
    """Add or replace entries (charge per unit, by code and optional modifier) of the tenant's fee schedule."""
    entries = {(e.code, e.modifier): FeeEntry(e.code, e.modifier, e.charge_cents, e.currency) for e in body.entries}
    await ClaimRepository(session, principal.tenant).upsert_fees(list(entries.values()))
    return FeeScheduleLoaded(loaded=len(entries))


@router.get("/scrub-rules")
async def list_scrub_rules(principal: CanRead, session: SessionDep) -> list[ScrubRuleOut]:
    disabled = await ClaimRepository(session, principal.tenant).disabled_rules()
    built_in = [
        ScrubRuleOut(id=r.id, description=r.description, severity=r.severity.value, enabled=r.id not in disabled)
        for r in BUILT_IN_RULES
    ]
    return [*built_in, WRITER_RULE]


@router.put("/scrub-rules/{rule_id}", responses={404: {"description": "No such rule."}})
async def set_scrub_rule(rule_id: str, body: ScrubRuleIn, principal: CanWrite, session: SessionDep) -> ScrubRuleOut:
    """Enable or disable a built-in rule for the tenant; it applies to claims scrubbed from now on."""
    rule = RULES_BY_ID.get(rule_id)
    if rule is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such scrub rule")
    await ClaimRepository(session, principal.tenant).set_rule_enabled(rule_id, body.enabled)
    return ScrubRuleOut(id=rule.id, description=rule.description, severity=rule.severity.value, enabled=body.enabled)


fhir_router = APIRouter(prefix="/fhir", tags=["fhir"])
_CODING = {"type": "object", "properties": {"system": {"type": "string"}, "code": {"type": "string"}}}
CLAIM_RESPONSE_SCHEMA: dict[str, Any] = {
    "title": "FHIR R4 ClaimResponse",
    "description": "The claim's status: `outcome` queued (claimflow or the payer is working on it), complete "
    "(adjudicated: paid, partially paid or denied) or error (rejected, the codes in `error`); `disposition` "
    "names the lifecycle state; CLM01 and the payer's claim number as identifiers.",
    "type": "object",
    "required": ["resourceType", "id", "status", "type", "use", "patient", "created", "outcome"],
    "properties": {
        "resourceType": {"const": "ClaimResponse"},
        "id": {"type": "string", "format": "uuid"},
        "identifier": {"type": "array", "items": {"type": "object"}},
        "status": {"const": "active"},
        "type": {"type": "object", "properties": {"coding": {"type": "array", "items": _CODING}}},
        "use": {"const": "claim"},
        "patient": {"type": "object"},
        "created": {"type": "string", "format": "date-time"},
        "insurer": {"type": "object"},
        "request": {"type": "object", "properties": {"reference": {"type": "string"}}},
        "outcome": {"enum": ["queued", "complete", "error", "partial"]},
        "disposition": {"type": "string", "examples": ["claim submitted"]},
        "total": {"type": "array", "items": {"type": "object"}},
        "error": {"type": "array", "items": {"type": "object"}},
    },
}


@fhir_router.get(
    "/ClaimResponse/{claim_id}",
    response_class=JSONResponse,
    responses={200: {"content": {"application/fhir+json": {"schema": CLAIM_RESPONSE_SCHEMA}}}},
)
async def read_claim_response(
    claim_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> JSONResponse:
    """A claim's status as a FHIR R4 ClaimResponse (read by the claim id)."""
    claim = await ClaimRepository(session, principal.tenant).get(claim_id)
    if claim is None:
        raise _not_found()
    await reader.read("claim", [claim_id])
    view = ClaimStatusView(
        id=claim.id,
        encounter_id=claim.encounter_id,
        patient_id=claim.patient_id,
        claim_type=claim.claim_type,
        payer_id=claim.payer_id,
        state=claim.state,
        total_charge_cents=claim.total_charge_cents,
        currency=claim.currency,
        created_at=claim.created_at,
        claim_control_number=claim.claim_control_number,
        payer_claim_number=claim.payer_claim_number,
        rejection_codes=[str(reason.get("code", "")) for reason in claim.rejection_reasons],
    )
    return JSONResponse(jsonable_encoder(claim_response(view)), media_type="application/fhir+json")
