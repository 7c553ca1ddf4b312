"""Intake HTTP API for hospital systems: registration (patients, coverage, providers, payers,
facilities, the customer's CPT list) and coded encounters, one at a time, in batches, or as FHIR.

HTTP only: parse, authorise, call `service`, map its errors. The tenant comes from the credential
and scopes every query: another tenant's record is a 404. Every POST honours an `Idempotency-Key`
(`shared/idempotency.py`): the same key and request return the first result (200,
`Idempotent-Replayed: true`) and create nothing; the same key with another request is a 422.
Re-sending a known external id or NPI with the same content answers the first record (200); with other
content a 409 naming the differing fields. Parties are corrected with PATCH (JSON merge patch, `ETag` /
`If-Match`), each change kept in the party's history; lists page with a cursor (`shared/paging.py`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol, TypeVar

import msgspec
from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.intake import request_wire, service
from services.intake.domain.changes import ConflictingResend, Resent
from services.intake.domain.encounter import EncounterRejected, Problem
from services.intake.domain.fhir import FhirRejected, expression, parse
from services.intake.repository import (
    EligibilityCheck,
    Encounter,
    EncounterQuery,
    PartyChange,
    PatientQuery,
    ProviderRecord,
    Registration,
    idempotency_keys_of,
)
from services.intake.schemas import (
    CodeLookupOut,
    CoverageIn,
    CoverageOut,
    CptCodesIn,
    CptCodesOut,
    EligibilityCheckIn,
    EligibilityCheckOut,
    EncounterBatchIn,
    EncounterBatchOut,
    EncounterIn,
    EncounterOut,
    FacilityIn,
    FacilityOut,
    PartyChangeOut,
    PatientIn,
    PatientOut,
    PayerIn,
    PayerOut,
    ProviderIn,
    ProviderOut,
)
from services.intake.settings import EligibilitySettings
from shared import codesets
from shared.auth import Principal, require_scope
from shared.codesets.releases import release_in_force
from shared.http import ModelBodyRoute, OutboxDep, SessionDep
from shared.idempotency import IdempotencyConflict, IdempotencyKey, JsonReady, answer_once, request_fingerprint
from shared.paging import PRINTABLE, CursorParam, Limit, Page, after_cursor, next_cursor
from shared.phi.access import PhiReaderDep
from shared.service import RuntimeDep


class IntakeRoute(ModelBodyRoute):
    """Encounter bodies decoded and validated by their msgspec mirror first (`request_wire`), the model judging
    only what the mirror is not sure of: the endpoint gets the model, or a shell of it carrying the mirror, which the
    service reads as it is (`request_wire.encounters_of`, `encounter_of`)."""

    fast_decoders = request_wire.FAST_DECODERS


router = APIRouter(prefix="/v1", route_class=IntakeRoute)


class _Identified(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


PartyT = TypeVar("PartyT", bound=_Identified)
REPEATED: dict[int | str, dict[str, Any]] = {
    200: {"description": "Already received (same key, or same external id with the same content): the first result."},
    409: {"description": "The external id or NPI was sent before with other content; `differing_fields` names them."},
}
PATCHED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such record for this tenant."},
    409: {"description": "The correction would give the record another record's key."},
    412: {"description": "`If-Match` names an older version; the current ETag is in the response's `ETag`."},
    422: {"description": "The corrected record is not valid (each problem names its field)."},
}
MERGE_PATCH = Body(
    media_type="application/merge-patch+json",
    description="RFC 7396 JSON merge patch: the fields to change; null removes an optional field.",
    openapi_examples={"address": {"value": {"address": {"postal_code": "627010001"}}}},
)
IfMatch = Annotated[
    str | None, Header(description="The ETag read with the record: the change applies only to that version.")
]


PatientsRead = Annotated[Principal, require_scope("patients:read")]
PatientsWrite = Annotated[Principal, require_scope("patients:write")]
ProvidersRead = Annotated[Principal, require_scope("providers:read")]
ProvidersWrite = Annotated[Principal, require_scope("providers:write")]
PayersRead = Annotated[Principal, require_scope("payers:read")]
PayersWrite = Annotated[Principal, require_scope("payers:write")]
FacilitiesRead = Annotated[Principal, require_scope("facilities:read")]
FacilitiesWrite = Annotated[Principal, require_scope("facilities:write")]
CodeSetsWrite = Annotated[Principal, require_scope("codesets:write")]
EncountersRead = Annotated[Principal, require_scope("encounters:read")]
EncountersWrite = Annotated[Principal, require_scope("encounters:write")]
EligibilityRead = Annotated[Principal, require_scope("eligibility:read")]
EligibilityWrite = Annotated[Principal, require_scope("eligibility:write")]


def rejected(problems: list[Problem], where: tuple[str | int, ...] = ("body",)) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": [*where, *p.loc], "msg": p.msg, "type": "value_error"} for p in problems],
    )


@contextlib.contextmanager
def service_errors() -> Iterator[None]:
    """The service's refusals as HTTP: a record the tenant does not have is a 404, a request naming
    something that is not registered a 422 naming the field."""
    try:
        yield
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except service.Refused as exc:
        raise rejected(exc.problems) from None
    except ConflictingResend as exc:
        raise conflicting(exc) from None
    except service.KeyTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    except service.PreconditionFailed as exc:
        raise HTTPException(
            status.HTTP_412_PRECONDITION_FAILED, detail=str(exc), headers={"ETag": exc.current_tag}
        ) from None


def conflicting(exc: ConflictingResend) -> HTTPException:
    """409: the external id or NPI was sent before with other content; each entry names the fields."""
    return HTTPException(
        status.HTTP_409_CONFLICT,
        detail=[
            {
                "loc": ["body", *resent.loc],
                "msg": "sent before with other content: "
                + ", ".join(resent.differing)
                + " differ (PATCH the record to change it)",
                "type": "conflict",
                "existing_id": str(resent.existing_id),
                "differing_fields": resent.differing,
            }
            for resent in exc.resent
        ],
    )


async def idempotent(
    request: Request,
    session: SessionDep,
    tenant: str,
    key: str | None,
    body: BaseModel | msgspec.Struct | Mapping[str, object],
    run: Callable[[], Awaitable[tuple[int, object]]],
) -> JSONResponse:
    """Run the request once per key; replay the stored response for the same request.

    Errors of the service map to HTTP inside `run`, so a refused request stores no key."""

    async def mapped() -> tuple[int, object]:
        with service_errors():
            return await run()

    fingerprint = "" if key is None else request_fingerprint(request.method, request.url.path, body)
    try:
        answer = await answer_once(idempotency_keys_of(session, tenant), key, fingerprint, mapped)
    except IdempotencyConflict as exc:
        raise rejected([Problem(("Idempotency-Key",), str(exc))], where=("header",)) from None
    return answer.response()


def _registered(registration: Registration[PartyT], present: Callable[[PartyT], BaseModel]) -> tuple[int, BaseModel]:
    """201 for a new party, 200 for the same content again, 409 naming the fields for other content."""
    party = present(registration.party)
    if registration.differing:
        raise ConflictingResend([Resent((), registration.party.id, list(registration.differing))])
    code = status.HTTP_201_CREATED if registration.created else status.HTTP_200_OK
    return code, party


def _as_is(party: BaseModel) -> BaseModel:
    return party


# Patients and their coverage ---------------------------------------------------------------------------


@router.post("/patients", tags=["patients"], status_code=201, response_model=PatientOut, responses=REPEATED)
async def register_patient(
    patient: PatientIn,
    principal: PatientsWrite,
    session: SessionDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a patient's demographics; the same external_patient_id returns the first record."""

    async def run() -> tuple[int, object]:
        return _registered(await service.register_patient(session, principal.tenant, patient), _as_is)

    return await idempotent(request, session, principal.tenant, idempotency_key, patient, run)


@router.get("/patients/{patient_id}", tags=["patients"])
async def get_patient(
    patient_id: uuid.UUID, principal: PatientsRead, session: SessionDep, response: Response, reader: PhiReaderDep
) -> PatientOut:
    """A patient; `ETag` is the version to name in `If-Match` when correcting it."""
    with service_errors():
        found = await service.patient(session, principal.tenant, patient_id)
    await reader.read("patient", [found.id])
    _with_tag(response, service.tag_of(found, PatientIn))
    return found


@router.post(
    "/patients/{patient_id}/coverages",
    tags=["patients"],
    status_code=201,
    response_model=CoverageOut,
    responses=REPEATED,
)
async def register_coverage(
    patient_id: uuid.UUID,
    coverage: CoverageIn,
    principal: PatientsWrite,
    session: SessionDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Add a coverage (primary, secondary or tertiary) to a patient; its payer must be registered."""

    async def run() -> tuple[int, object]:
        return _registered(await service.register_coverage(session, principal.tenant, patient_id, coverage), _as_is)

    return await idempotent(request, session, principal.tenant, idempotency_key, coverage, run)


@router.get("/patients/{patient_id}/coverages/{coverage_id}", tags=["patients"])
async def get_coverage(
    patient_id: uuid.UUID,
    coverage_id: uuid.UUID,
    principal: PatientsRead,
    session: SessionDep,
    response: Response,
    reader: PhiReaderDep,
) -> CoverageOut:
    with service_errors():
        found = await service.coverage(session, principal.tenant, patient_id, coverage_id)
    await reader.read("coverage", [found.id])
    _with_tag(response, service.tag_of(found, CoverageIn))
    return found


@router.get("/patients/{patient_id}/coverages", tags=["patients"])
async def list_coverages(
    patient_id: uuid.UUID, principal: PatientsRead, session: SessionDep, reader: PhiReaderDep
) -> list[CoverageOut]:
    with service_errors():
        found = await service.coverages_of(session, principal.tenant, patient_id)
    await reader.read("coverage", [coverage.id for coverage in found])
    return found


# Eligibility -------------------------------------------------------------------------------------------


def _check_out(check: EligibilityCheck) -> EligibilityCheckOut:
    return EligibilityCheckOut.model_validate(check, from_attributes=True)


@router.post(
    "/patients/{patient_id}/coverages/{coverage_id}/eligibility-checks",
    tags=["eligibility"],
    status_code=status.HTTP_202_ACCEPTED,
    responses={503: {"description": "The clearinghouse did not take the 270; nothing was stored."}},
)
async def check_eligibility(
    patient_id: uuid.UUID,
    coverage_id: uuid.UUID,
    body: EligibilityCheckIn,
    principal: EligibilityWrite,
    session: SessionDep,
    runtime: RuntimeDep,
) -> EligibilityCheckOut:
    """Ask the coverage's payer (an X12 270 through the clearinghouse) whether the patient is covered;
    the answer (271) is collected in the background: follow `GET /v1/eligibility-checks/{id}`."""
    with service_errors():
        try:
            check = await service.check_eligibility(
                session, runtime.clearinghouse, runtime.settings_of(EligibilitySettings),
                tenant=principal.tenant, patient_id=patient_id, coverage_id=coverage_id,
                provider_npi=body.provider_npi, service_date=body.service_date, now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        except service.ClearinghouseUnavailable as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    return _check_out(check)


@router.get("/eligibility-checks/{check_id}", tags=["eligibility"])
async def get_eligibility_check(
    check_id: uuid.UUID, principal: EligibilityRead, session: SessionDep, reader: PhiReaderDep
) -> EligibilityCheckOut:
    with service_errors():
        found = await service.eligibility_check(session, principal.tenant, check_id)
    await reader.read("eligibility-check", [found.id])
    return _check_out(found)


# Providers, payers, facilities -------------------------------------------------------------------------


def _provider_out(record: ProviderRecord) -> ProviderOut:
    provider = record.provider
    return ProviderOut(
        id=record.id,
        npi=provider.npi,
        entity=provider.entity,
        name=provider.name,
        first_name=provider.first_name,
        taxonomy=provider.taxonomy,
        tax_id_type=provider.tax_id_type,
        tax_id_last4=None if provider.tax_id is None else provider.tax_id[-4:],
    )


@router.post("/providers", tags=["providers"], status_code=201, response_model=ProviderOut, responses=REPEATED)
async def register_provider(
    provider: ProviderIn,
    principal: ProvidersWrite,
    session: SessionDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a billing, rendering, referring or attending provider by NPI; the same NPI returns the first."""

    async def run() -> tuple[int, object]:
        return _registered(await service.register_provider(session, principal.tenant, provider), _provider_out)

    return await idempotent(request, session, principal.tenant, idempotency_key, provider, run)


@router.get("/providers/{provider_id}", tags=["providers"])
async def get_provider(
    provider_id: uuid.UUID, principal: ProvidersRead, session: SessionDep, response: Response
) -> ProviderOut:
    with service_errors():
        found = await service.provider(session, principal.tenant, provider_id)
    _with_tag(response, service.tag_of(found.provider, ProviderIn))
    return _provider_out(found)


@router.post("/payers", tags=["payers"], status_code=201, response_model=PayerOut, responses=REPEATED)
async def register_payer(
    payer: PayerIn,
    principal: PayersWrite,
    session: SessionDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a payer with its claim filing indicator and timely-filing and appeal windows."""

    async def run() -> tuple[int, object]:
        return _registered(await service.register_payer(session, principal.tenant, payer), _as_is)

    return await idempotent(request, session, principal.tenant, idempotency_key, payer, run)


@router.get("/payers/{payer_record_id}", tags=["payers"])
async def get_payer(
    payer_record_id: uuid.UUID, principal: PayersRead, session: SessionDep, response: Response
) -> PayerOut:
    with service_errors():
        found = await service.payer(session, principal.tenant, payer_record_id)
    _with_tag(response, service.tag_of(found, PayerIn))
    return found


@router.post("/facilities", tags=["facilities"], status_code=201, response_model=FacilityOut, responses=REPEATED)
async def register_facility(
    facility: FacilityIn,
    principal: FacilitiesWrite,
    session: SessionDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a service facility (where care was given, when not at the billing provider's address)."""

    async def run() -> tuple[int, object]:
        return _registered(await service.register_facility(session, principal.tenant, facility), _as_is)

    return await idempotent(request, session, principal.tenant, idempotency_key, facility, run)


@router.get("/facilities/{facility_id}", tags=["facilities"])
async def get_facility(
    facility_id: uuid.UUID, principal: FacilitiesRead, session: SessionDep, response: Response
) -> FacilityOut:
    with service_errors():
        found = await service.facility(session, principal.tenant, facility_id)
    _with_tag(response, service.tag_of(found, FacilityIn))
    return found


@router.post("/cpt-codes", tags=["code sets"])
async def load_cpt_codes(codes: CptCodesIn, principal: CodeSetsWrite, session: SessionDep) -> CptCodesOut:
    """Load the customer's licensed CPT codes; once any are loaded, CPT codes on encounters must be on the list."""
    unique = {code.code: code.description for code in codes.codes}
    loaded, total = await service.load_cpt_codes(session, principal.tenant, unique, replace=codes.replace)
    return CptCodesOut(loaded=loaded, total=total)


_VALIDATORS: dict[codesets.CodeKind, Callable[[str, dt.date], str | None]] = {
    codesets.CodeKind.ICD10CM: codesets.validate_icd10cm,
    codesets.CodeKind.ICD10PCS: codesets.validate_icd10pcs,
    codesets.CodeKind.PROCEDURE: codesets.validate_procedure,
    codesets.CodeKind.MODIFIER: codesets.validate_modifier,
    codesets.CodeKind.PLACE_OF_SERVICE: codesets.validate_place_of_service,
    codesets.CodeKind.REVENUE: codesets.validate_revenue_code,
    codesets.CodeKind.OCCURRENCE: codesets.validate_occurrence_code,
    codesets.CodeKind.OCCURRENCE_SPAN: codesets.validate_occurrence_span_code,
    codesets.CodeKind.VALUE: codesets.validate_value_code,
    codesets.CodeKind.CONDITION: codesets.validate_condition_code,
}
_RELEASES: dict[codesets.CodeKind, codesets.CodeSetName] = {
    codesets.CodeKind.ICD10CM: codesets.CodeSetName.ICD10CM,
    codesets.CodeKind.ICD10PCS: codesets.CodeSetName.ICD10PCS,
    codesets.CodeKind.PROCEDURE: codesets.CodeSetName.HCPCS,
    codesets.CodeKind.MODIFIER: codesets.CodeSetName.HCPCS,
}


@router.get("/code-sets/{kind}/{code}", tags=["code sets"])
async def look_up_code(
    kind: codesets.CodeKind,
    code: Annotated[str, Path(min_length=1, max_length=20)],
    _: EncountersRead,
    service_date: Annotated[dt.date | None, Query(description="Date of service; default today.")] = None,
) -> CodeLookupOut:
    """What a code means and whether intake accepts it on a date of service: the same code sets intake,
    the claims scrubber and the 837 writer apply (claim status, CARC and RARC codes are described only)."""
    day = service_date or dt.date.today()
    if kind is codesets.CodeKind.CLAIM_STATUS_CATEGORY and ":" in code:
        description = codesets.describe_claim_status_composite(code)
    else:
        description = codesets.describe(kind, code, day)
    validate = _VALIDATORS.get(kind)
    problem = None if validate is None else validate(code, day)
    code_set = _RELEASES.get(kind)
    release = None if code_set is None else codesets.current_store().releases(code_set)
    in_force = release_in_force(release, day) if release else None
    return CodeLookupOut(
        kind=kind,
        code=code,
        description=description,
        service_date=day,
        billable=None if validate is None else problem is None,
        problem=problem,
        release=None if in_force is None else in_force.name,
    )


# Encounters ---------------------------------------------------------------------------------------------


def encounter_out(encounter: Encounter) -> EncounterOut:
    return EncounterOut.model_validate(encounter, from_attributes=True)


def _received(received: service.Received) -> tuple[int, EncounterOut]:
    code = status.HTTP_201_CREATED if received.created else status.HTTP_200_OK
    return code, encounter_out(received.encounter)


@router.post("/encounters", tags=["encounters"], status_code=201, response_model=EncounterOut, responses=REPEATED)
async def receive_encounter(
    encounter: EncounterIn,
    principal: EncountersWrite,
    session: SessionDep,
    outbox: OutboxDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Accept a coded encounter; repeating the same external id returns the first result."""
    sent = request_wire.encounter_of(encounter)

    async def run() -> tuple[int, object]:
        try:
            (received,) = await service.receive_encounters(session, outbox, principal.tenant, [sent])
        except EncounterRejected as exc:
            raise rejected(exc.problems) from None
        return _received(received)

    return await idempotent(request, session, principal.tenant, idempotency_key, sent, run)


def batch_answer(received: list[service.Received]) -> JsonReady:
    """`EncounterBatchOut` as JSON values, built directly (a model per result, dumped, cost more than the insert)."""
    results: list[object] = [
        {
            "index": index,
            "id": str(item.encounter.id),
            "external_encounter_id": item.encounter.external_encounter_id,
            "status": "created" if item.created else "existing",
        }
        for index, item in enumerate(received)
    ]
    created = sum(1 for item in received if item.created)
    return JsonReady({"created": created, "existing": len(received) - created, "results": results})


@router.post("/encounters:batch", tags=["encounters"], response_model=EncounterBatchOut)
async def receive_encounter_batch(
    batch: EncounterBatchIn,
    principal: EncountersWrite,
    session: SessionDep,
    outbox: OutboxDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Up to 1,000 encounters in one transaction: all are accepted, or none (a 422 naming each problem)."""

    async def run() -> tuple[int, object]:
        try:
            received = await service.receive_encounters(
                session, outbox, principal.tenant, request_wire.encounters_of(batch), where=("encounters",)
            )
        except EncounterRejected as exc:
            raise rejected(exc.problems) from None
        return status.HTTP_200_OK, batch_answer(received)

    return await idempotent(request, session, principal.tenant, idempotency_key, request_wire.batch_body(batch), run)


@router.get("/encounters/{encounter_id}", tags=["encounters"])
async def get_encounter(
    encounter_id: uuid.UUID, principal: EncountersRead, session: SessionDep, reader: PhiReaderDep
) -> EncounterOut:
    with service_errors():
        found = await service.encounter(session, principal.tenant, encounter_id)
    await reader.read("encounter", [found.id])
    return encounter_out(found)


# Corrections and their history -------------------------------------------------------------------------


def _with_tag(response: Response, tag: str) -> None:
    response.headers["ETag"] = tag


def _changes_out(
    changes: list[PartyChange], present: Callable[[dict[str, object]], dict[str, object]] | None = None
) -> list[PartyChangeOut]:
    shown = present or (lambda record: record)
    return [
        PartyChangeOut(
            id=change.id,
            source="claim-fix" if change.source == "claim-fix" else "api",
            changed_fields=change.changed_fields,
            before=shown(change.before),
            after=shown(change.after),
            changed_at=change.changed_at,
        )
        for change in changes
    ]


def _provider_record_shown(record: dict[str, object]) -> dict[str, object]:
    """A provider's record as history shows it: the tax id never whole."""
    tax_id = record.get("tax_id")
    shown = {name: value for name, value in record.items() if name != "tax_id"}
    shown["tax_id_last4"] = tax_id[-4:] if isinstance(tax_id, str) else None
    return shown


@router.patch("/patients/{patient_id}", tags=["patients"], responses=PATCHED)
async def correct_patient(
    patient_id: uuid.UUID,
    principal: PatientsWrite,
    session: SessionDep,
    outbox: OutboxDep,
    response: Response,
    patch: Annotated[dict[str, Any], MERGE_PATCH],
    if_match: IfMatch = None,
) -> PatientOut:
    """Correct a patient's demographics (JSON merge patch); validated as a registration is, recorded in the
    patient's history, and the claims on hold that name the patient are scrubbed again."""
    with service_errors():
        corrected = await service.correct_patient(session, outbox, principal.tenant, patient_id, patch, if_match)
    _with_tag(response, corrected.tag)
    return corrected.party


@router.get("/patients/{patient_id}/history", tags=["patients"])
async def patient_history(
    patient_id: uuid.UUID, principal: PatientsRead, session: SessionDep, reader: PhiReaderDep
) -> list[PartyChangeOut]:
    """Every correction of the patient, oldest first."""
    with service_errors():
        changes = await service.history_of(session, principal.tenant, "patient", patient_id)
    await reader.read("patient", [patient_id])
    return _changes_out(changes)


@router.patch("/patients/{patient_id}/coverages/{coverage_id}", tags=["patients"], responses=PATCHED)
async def correct_coverage(
    patient_id: uuid.UUID,
    coverage_id: uuid.UUID,
    principal: PatientsWrite,
    session: SessionDep,
    outbox: OutboxDep,
    response: Response,
    patch: Annotated[dict[str, Any], MERGE_PATCH],
    if_match: IfMatch = None,
) -> CoverageOut:
    """Correct a coverage (member id, group, subscriber, dates, ...); held claims billed under it are
    mended and scrubbed again."""
    with service_errors():
        corrected = await service.correct_coverage(
            session, outbox, principal.tenant, patient_id, coverage_id, patch, if_match
        )
    _with_tag(response, corrected.tag)
    return corrected.party


@router.get("/patients/{patient_id}/coverages/{coverage_id}/history", tags=["patients"])
async def coverage_history(
    patient_id: uuid.UUID, coverage_id: uuid.UUID, principal: PatientsRead, session: SessionDep, reader: PhiReaderDep
) -> list[PartyChangeOut]:
    """Every correction of the coverage, oldest first (source `claim-fix`: a member id fixed on a claim)."""
    with service_errors():
        await service.patient(session, principal.tenant, patient_id)
        changes = await service.history_of(session, principal.tenant, "coverage", coverage_id)
    await reader.read("coverage", [coverage_id])
    return _changes_out(changes)


@router.patch("/providers/{provider_id}", tags=["providers"], responses=PATCHED)
async def correct_provider(
    provider_id: uuid.UUID,
    principal: ProvidersWrite,
    session: SessionDep,
    outbox: OutboxDep,
    response: Response,
    patch: Annotated[dict[str, Any], MERGE_PATCH],
    if_match: IfMatch = None,
) -> ProviderOut:
    """Correct a provider (address, taxonomy, tax id, names; never its NPI); a billing provider's address
    needs the ZIP+4 the 837 needs. Claims on hold that name the NPI are mended and scrubbed again."""
    with service_errors():
        corrected = await service.correct_provider(session, outbox, principal.tenant, provider_id, patch, if_match)
    _with_tag(response, corrected.tag)
    return _provider_out(corrected.party)


@router.get("/providers/{provider_id}/history", tags=["providers"])
async def provider_history(
    provider_id: uuid.UUID, principal: ProvidersRead, session: SessionDep
) -> list[PartyChangeOut]:
    """Every correction of the provider, oldest first (the tax id shown by its last four digits only)."""
    with service_errors():
        changes = await service.history_of(session, principal.tenant, "provider", provider_id)
    return _changes_out(changes, _provider_record_shown)


@router.patch("/payers/{payer_record_id}", tags=["payers"], responses=PATCHED)
async def correct_payer(
    payer_record_id: uuid.UUID,
    principal: PayersWrite,
    session: SessionDep,
    outbox: OutboxDep,
    response: Response,
    patch: Annotated[dict[str, Any], MERGE_PATCH],
    if_match: IfMatch = None,
) -> PayerOut:
    """Correct a payer (name, address, filing indicator, windows; never its payer id)."""
    with service_errors():
        corrected = await service.correct_payer(session, outbox, principal.tenant, payer_record_id, patch, if_match)
    _with_tag(response, corrected.tag)
    return corrected.party


@router.get("/payers/{payer_record_id}/history", tags=["payers"])
async def payer_history(payer_record_id: uuid.UUID, principal: PayersRead, session: SessionDep) -> list[PartyChangeOut]:
    with service_errors():
        return _changes_out(await service.history_of(session, principal.tenant, "payer", payer_record_id))


@router.patch("/facilities/{facility_id}", tags=["facilities"], responses=PATCHED)
async def correct_facility(
    facility_id: uuid.UUID,
    principal: FacilitiesWrite,
    session: SessionDep,
    outbox: OutboxDep,
    response: Response,
    patch: Annotated[dict[str, Any], MERGE_PATCH],
    if_match: IfMatch = None,
) -> FacilityOut:
    """Correct a service facility (name, NPI, address; never its external id)."""
    with service_errors():
        corrected = await service.correct_facility(session, outbox, principal.tenant, facility_id, patch, if_match)
    _with_tag(response, corrected.tag)
    return corrected.party


@router.get("/facilities/{facility_id}/history", tags=["facilities"])
async def facility_history(
    facility_id: uuid.UUID, principal: FacilitiesRead, session: SessionDep
) -> list[PartyChangeOut]:
    with service_errors():
        return _changes_out(await service.history_of(session, principal.tenant, "facility", facility_id))


# Search ------------------------------------------------------------------------------------------------


@router.get("/patients", tags=["patients"])
async def search_patients(
    principal: PatientsRead,
    session: SessionDep,
    reader: PhiReaderDep,
    external_patient_id: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, description="The sender's id (MRN).")
    ] = None,
    mrn: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, description="Same as external_patient_id.")
    ] = None,
    last_name: Annotated[
        str | None, Query(max_length=60, pattern=PRINTABLE, description="Any case; with birth_date.")
    ] = None,
    first_name: Annotated[str | None, Query(max_length=60, pattern=PRINTABLE)] = None,
    birth_date: dt.date | None = None,
    member_id: Annotated[
        str | None, Query(max_length=80, pattern=PRINTABLE, description="A coverage's member id.")
    ] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[PatientOut]:
    """Find patients by MRN (`external_patient_id`), by name and birth date, or by a coverage's member id;
    every filter given must match. Oldest registration first, `next_cursor` to page on."""
    if external_patient_id is not None and mrn is not None and external_patient_id != mrn:
        raise rejected([Problem(("mrn",), "mrn and external_patient_id name the same field: give one")], ("query",))
    query = PatientQuery(
        external_patient_id=external_patient_id or mrn,
        last_name=last_name,
        first_name=first_name,
        birth_date=birth_date,
        member_id=member_id,
    )
    found = await service.search_patients(session, principal.tenant, query, after=after_cursor(cursor), limit=limit)
    await reader.read("patient", [patient.id for patient, _ in found])
    return Page[PatientOut](
        items=[patient for patient, _ in found],
        next_cursor=next_cursor([(created, patient.id) for patient, created in found], limit),
    )


@router.get("/encounters", tags=["encounters"])
async def search_encounters(
    principal: EncountersRead,
    session: SessionDep,
    patient_id: uuid.UUID | None = None,
    external_encounter_id: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    status_: Annotated[Literal["active", "cancelled"] | None, Query(alias="status")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[EncounterOut]:
    """The tenant's encounters, oldest first, by patient, external id or status; `next_cursor` to page on."""
    query = EncounterQuery(patient_id=patient_id, external_encounter_id=external_encounter_id, status=status_)
    found = await service.search_encounters(session, principal.tenant, query, after=after_cursor(cursor), limit=limit)
    return Page[EncounterOut](
        items=[encounter_out(e) for e in found],
        next_cursor=next_cursor([(e.received_at, e.id) for e in found], limit),
    )


# FHIR R4 -------------------------------------------------------------------------------------------------

fhir_router = APIRouter(prefix="/fhir", tags=["fhir"])
_REFERENCE = {"type": "object", "properties": {"reference": {"type": "string"}, "identifier": {"type": "object"}}}
FHIR_CLAIM_SCHEMA = {
    "title": "FHIR R4 Claim or Bundle",
    "description": "A FHIR R4 `Claim` (patient as `Patient/<intake id>`), or a `Bundle` of type collection with "
    "a Patient, its Coverage (and RelatedPerson subscriber) and the Claim. Other elements are ignored.",
    "type": "object",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {"enum": ["Claim", "Bundle"]},
        "identifier": {"type": "array", "items": {"type": "object"}, "description": "The claim's external id."},
        "status": {"type": "string"},
        "type": {
            "anyOf": [{"type": "object"}, {"type": "string"}],
            "description": "Claim: the claim-type CodeableConcept (professional, institutional); Bundle: collection.",
        },
        "use": {"type": "string"},
        "patient": _REFERENCE,
        "created": {"type": "string"},
        "insurer": _REFERENCE,
        "provider": _REFERENCE,
        "careTeam": {"type": "array", "items": {"type": "object"}},
        "diagnosis": {"type": "array", "items": {"type": "object"}},
        "insurance": {"type": "array", "items": {"type": "object"}},
        "billablePeriod": {"type": "object"},
        "item": {"type": "array", "items": {"type": "object"}},
        "entry": {"type": "array", "items": {"type": "object"}, "description": "Bundle entries (resource)."},
    },
}
FHIR_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {"schema": FHIR_CLAIM_SCHEMA},
            "application/json": {"schema": FHIR_CLAIM_SCHEMA},
        },
    }
}


def fhir_rejected(problems: list[Problem]) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[
            {"loc": ["body", *p.loc], "msg": p.msg, "type": "value_error", "expression": expression(p.loc)}
            for p in problems
        ],
    )


@fhir_router.post("/Claim", status_code=201, response_model=EncounterOut, responses=REPEATED, openapi_extra=FHIR_BODY)
async def receive_fhir_claim(
    principal: EncountersWrite,
    session: SessionDep,
    outbox: OutboxDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A FHIR R4 Claim (patient by `Patient/<intake id>`), or a Bundle with Patient, Coverage and Claim.

    The Bundle's Patient and Coverage are registered (or matched by MRN and member id) and the Claim
    goes down the same path as `POST /v1/encounters`; 422s name the FHIR element.
    """
    try:
        body = json.loads(await request.body(), parse_float=Decimal)
    except ValueError:
        raise fhir_rejected([Problem((), "the body is not JSON")]) from None
    if not isinstance(body, dict):
        raise fhir_rejected([Problem((), "the body is not a FHIR resource")])
    try:
        mapped = parse(body)
    except FhirRejected as exc:
        raise fhir_rejected(exc.problems) from None
    if mapped.patient is not None and "patients:write" not in principal.scopes:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="missing scope patients:write (the Bundle registers)")

    async def run() -> tuple[int, object]:
        try:
            received = await service.receive_fhir_claim(session, outbox, principal.tenant, mapped)
        except FhirRejected as exc:
            raise fhir_rejected(exc.problems) from None
        return _received(received)

    return await idempotent(request, session, principal.tenant, idempotency_key, body, run)
