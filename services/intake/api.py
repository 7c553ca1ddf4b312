"""Intake HTTP API for hospital systems: registration (patients, coverage, providers, payers,
facilities, the customer's CPT list) and coded encounters, one at a time, in batches, or as FHIR.

The tenant comes from the credential and scopes every query: another tenant's record is a 404.
Every POST honours an `Idempotency-Key`: the same key and request return the first result (200,
`Idempotent-Replayed: true`) and create nothing; the same key with another request is a 422.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from services.intake import eligibility
from services.intake.domain.encounter import EncounterRejected, Problem
from services.intake.domain.fhir import FhirRejected, Origins, expression, parse
from services.intake.receiving import receive_encounters
from services.intake.repository import (
    CptCodeRepository,
    EncounterRepository,
    IdempotencyRepository,
    RecordRepository,
    coverage_out,
    coverage_records,
    facility_out,
    facility_records,
    patient_out,
    patient_records,
    payer_out,
    payer_records,
    provider_records,
)
from services.intake.schemas import (
    BatchResult,
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
    PatientIn,
    PatientOut,
    PayerIn,
    PayerOut,
    ProviderIn,
    ProviderOut,
)
from shared.auth import Principal, require_scope
from shared.clearinghouse import SubmissionConflictError
from shared.http import OutboxDep, SessionDep
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1")
ModelT = TypeVar("ModelT", bound=BaseModel)
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, description="Repeat-safe retries of this request."),
]
REPEATED = {200: {"description": "Already received (same key or external id): the first result, nothing new."}}


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


async def idempotent(
    request: Request,
    session: SessionDep,
    tenant: str,
    key: str | None,
    body: BaseModel | dict[str, Any],
    run: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Run the request once per key; replay the stored response for the same request."""
    if key is None:
        status_code, content = await run()
        return JSONResponse(jsonable_encoder(content), status_code=status_code)
    canonical = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body, sort_keys=True, default=str)
    request_hash = hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()
    keys = IdempotencyRepository(session, tenant)
    earlier = await keys.claim(key, request_hash)
    if earlier is not None:
        if earlier.request_hash != request_hash:
            raise rejected(
                [Problem(("Idempotency-Key",), "this key was used with a different request; send a new key")],
                where=("header",),
            )
        return JSONResponse(
            earlier.response_body, status_code=status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"}
        )
    status_code, content = await run()
    encoded = jsonable_encoder(content)
    await keys.complete(key, status_code, encoded)
    return JSONResponse(encoded, status_code=status_code)


async def _register(
    records: RecordRepository, values: dict[str, Any], present: Callable[[Any], BaseModel]
) -> tuple[int, BaseModel]:
    row, created = await records.add_or_get(values)
    return (status.HTTP_201_CREATED if created else status.HTTP_200_OK), present(row)


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{what} not found")


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
    records = patient_records(session, principal.tenant)
    values = {"external_patient_id": patient.external_patient_id, "record": patient.model_dump(mode="json")}
    return await idempotent(
        request, session, principal.tenant, idempotency_key, patient, lambda: _register(records, values, patient_out)
    )


@router.get("/patients/{patient_id}", tags=["patients"])
async def get_patient(patient_id: uuid.UUID, principal: PatientsRead, session: SessionDep) -> PatientOut:
    row = await patient_records(session, principal.tenant).get(patient_id)
    if row is None:
        raise _not_found("patient")
    return patient_out(row)


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
    if await patient_records(session, principal.tenant).get(patient_id) is None:
        raise _not_found("patient")
    if not await payer_records(session, principal.tenant).find("payer_id", [coverage.payer_id]):
        raise rejected([Problem(("payer_id",), "no payer with this id: register it (POST /v1/payers)")])
    records = coverage_records(session, principal.tenant)
    values = {
        "patient_id": patient_id,
        "payer_id": coverage.payer_id,
        "member_id": coverage.member_id,
        "record": coverage.model_dump(mode="json"),
    }
    return await idempotent(
        request, session, principal.tenant, idempotency_key, coverage, lambda: _register(records, values, coverage_out)
    )


@router.get("/patients/{patient_id}/coverages", tags=["patients"])
async def list_coverages(patient_id: uuid.UUID, principal: PatientsRead, session: SessionDep) -> list[CoverageOut]:
    if await patient_records(session, principal.tenant).get(patient_id) is None:
        raise _not_found("patient")
    return [
        coverage_out(row) for row in await coverage_records(session, principal.tenant).find("patient_id", [patient_id])
    ]


# Eligibility -------------------------------------------------------------------------------------------


def _check_out(row: Any) -> EligibilityCheckOut:
    return EligibilityCheckOut.model_validate(row, from_attributes=True)


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
    tenant = principal.tenant
    patient = await patient_records(session, tenant).get(patient_id)
    if patient is None:
        raise _not_found("patient")
    coverage = await coverage_records(session, tenant).get(coverage_id, patient_id=patient_id)
    if coverage is None:
        raise _not_found("coverage")
    payers = await payer_records(session, tenant).find("payer_id", [coverage.payer_id])
    providers = await provider_records(session, tenant).find("npi", [body.provider_npi])
    if not providers:
        raise rejected([Problem(("provider_npi",), "no provider with this NPI: register it (POST /v1/providers)")])
    if not payers:
        raise rejected([Problem(("coverage_id",), "the coverage's payer is not registered")])
    now = dt.datetime.now(dt.UTC)
    try:
        row = await eligibility.send_check(
            session, runtime.clearinghouse, runtime.settings_of(eligibility.EligibilitySettings),
            tenant=tenant, patient=patient, coverage=coverage, payer=payers[0], provider=providers[0],
            service_date=body.service_date or now.date(), now=now,
        )  # fmt: skip
    except (OSError, SubmissionConflictError) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail="the clearinghouse did not take the 270"
        ) from exc
    return _check_out(row)


@router.get("/eligibility-checks/{check_id}", tags=["eligibility"])
async def get_eligibility_check(
    check_id: uuid.UUID, principal: EligibilityRead, session: SessionDep
) -> EligibilityCheckOut:
    row = await eligibility.get_check(session, principal.tenant, check_id)
    if row is None:
        raise _not_found("eligibility check")
    return _check_out(row)


# Providers, payers, facilities -------------------------------------------------------------------------


def _provider_out(row: Any) -> ProviderOut:
    provider = ProviderIn.model_validate(row.record)
    return ProviderOut(
        id=row.id,
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
    records = provider_records(session, principal.tenant)
    values = {"npi": provider.npi, "record": provider.model_dump(mode="json")}
    return await idempotent(
        request, session, principal.tenant, idempotency_key, provider, lambda: _register(records, values, _provider_out)
    )


@router.get("/providers/{provider_id}", tags=["providers"])
async def get_provider(provider_id: uuid.UUID, principal: ProvidersRead, session: SessionDep) -> ProviderOut:
    row = await provider_records(session, principal.tenant).get(provider_id)
    if row is None:
        raise _not_found("provider")
    return _provider_out(row)


@router.post("/payers", tags=["payers"], status_code=201, response_model=PayerOut, responses=REPEATED)
async def register_payer(
    payer: PayerIn,
    principal: PayersWrite,
    session: SessionDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a payer with its claim filing indicator and timely-filing and appeal windows."""
    records = payer_records(session, principal.tenant)
    values = {"payer_id": payer.payer_id, "record": payer.model_dump(mode="json")}
    return await idempotent(
        request, session, principal.tenant, idempotency_key, payer, lambda: _register(records, values, payer_out)
    )


@router.get("/payers/{payer_record_id}", tags=["payers"])
async def get_payer(payer_record_id: uuid.UUID, principal: PayersRead, session: SessionDep) -> PayerOut:
    row = await payer_records(session, principal.tenant).get(payer_record_id)
    if row is None:
        raise _not_found("payer")
    return payer_out(row)


@router.post("/facilities", tags=["facilities"], status_code=201, response_model=FacilityOut, responses=REPEATED)
async def register_facility(
    facility: FacilityIn,
    principal: FacilitiesWrite,
    session: SessionDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a service facility (where care was given, when not at the billing provider's address)."""
    records = facility_records(session, principal.tenant)
    values = {"external_facility_id": facility.external_facility_id, "record": facility.model_dump(mode="json")}
    return await idempotent(
        request, session, principal.tenant, idempotency_key, facility, lambda: _register(records, values, facility_out)
    )


@router.get("/facilities/{facility_id}", tags=["facilities"])
async def get_facility(facility_id: uuid.UUID, principal: FacilitiesRead, session: SessionDep) -> FacilityOut:
    row = await facility_records(session, principal.tenant).get(facility_id)
    if row is None:
        raise _not_found("facility")
    return facility_out(row)


@router.post("/cpt-codes", tags=["code sets"])
async def load_cpt_codes(codes: CptCodesIn, principal: CodeSetsWrite, session: SessionDep) -> CptCodesOut:
    """Load the customer's licensed CPT codes; once any are loaded, CPT codes on encounters must be on the list."""
    repository = CptCodeRepository(session, principal.tenant)
    unique = {code.code: code.description for code in codes.codes}
    await repository.load(list(unique.items()), replace=codes.replace)
    return CptCodesOut(loaded=len(unique), total=await repository.count())


# Encounters ---------------------------------------------------------------------------------------------


def encounter_out(row: Any) -> EncounterOut:
    return EncounterOut.model_validate(row, from_attributes=True)


async def receive_one(
    session: SessionDep, outbox: OutboxDep, tenant: str, encounter: EncounterIn, where: tuple[str | int, ...]
) -> tuple[int, EncounterOut]:
    try:
        (received,) = await receive_encounters(session, outbox, tenant, [encounter])
    except EncounterRejected as exc:
        raise rejected(exc.problems, where) from None
    return (status.HTTP_201_CREATED if received.created else status.HTTP_200_OK), encounter_out(received.row)


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
    return await idempotent(
        request,
        session,
        principal.tenant,
        idempotency_key,
        encounter,
        lambda: receive_one(session, outbox, principal.tenant, encounter, ("body",)),
    )


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

    async def run() -> tuple[int, EncounterBatchOut]:
        try:
            received = await receive_encounters(
                session, outbox, principal.tenant, batch.encounters, where=("encounters",)
            )
        except EncounterRejected as exc:
            raise rejected(exc.problems) from None
        results = [
            BatchResult(
                index=index,
                id=item.row.id,
                external_encounter_id=item.row.external_encounter_id,
                status="created" if item.created else "existing",
            )
            for index, item in enumerate(received)
        ]
        created = sum(1 for item in received if item.created)
        return status.HTTP_200_OK, EncounterBatchOut(created=created, existing=len(received) - created, results=results)

    return await idempotent(request, session, principal.tenant, idempotency_key, batch, run)


@router.get("/encounters/{encounter_id}", tags=["encounters"])
async def get_encounter(encounter_id: uuid.UUID, principal: EncountersRead, session: SessionDep) -> EncounterOut:
    row = await EncounterRepository(session, principal.tenant).get(encounter_id)
    if row is None:
        raise _not_found("encounter")
    return encounter_out(row)


# FHIR R4 -------------------------------------------------------------------------------------------------

fhir_router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
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


def _from_fhir(model: type[ModelT], data: dict[str, Any], origins: Origins) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise fhir_rejected(
            [
                Problem(origins.fhir_path(tuple(e["loc"])), f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
                for e in exc.errors(include_url=False, include_input=False)
            ]
        ) from None


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

    async def run() -> tuple[int, EncounterOut]:
        tenant = principal.tenant
        if mapped.patient is not None:
            patient = _from_fhir(PatientIn, mapped.patient, mapped.patient_origins)
            patient_row, _ = await patient_records(session, tenant).add_or_get(
                {"external_patient_id": patient.external_patient_id, "record": patient.model_dump(mode="json")}
            )
            for coverage_body, origins in mapped.coverages:
                coverage = _from_fhir(CoverageIn, coverage_body, origins)
                if not await payer_records(session, tenant).find("payer_id", [coverage.payer_id]):
                    raise fhir_rejected(
                        [Problem(origins.fhir_path(("payer_id",)), "no payer with this id is registered")]
                    )
                await coverage_records(session, tenant).add_or_get(
                    {
                        "patient_id": patient_row.id,
                        "payer_id": coverage.payer_id,
                        "member_id": coverage.member_id,
                        "record": coverage.model_dump(mode="json"),
                    }
                )
        origins = mapped.encounter_origins
        encounter = _from_fhir(EncounterIn, mapped.encounter, origins)
        try:
            (received,) = await receive_encounters(session, outbox, tenant, [encounter])
        except EncounterRejected as exc:
            raise fhir_rejected(
                [Problem(origins.fhir_path(p.loc), f"{'.'.join(map(str, p.loc))}: {p.msg}") for p in exc.problems]
            ) from None
        return (status.HTTP_201_CREATED if received.created else status.HTTP_200_OK), encounter_out(received.row)

    return await idempotent(request, session, principal.tenant, idempotency_key, body, run)
