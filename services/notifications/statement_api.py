"""Patient statements over HTTP: delivery preferences and statement runs for the hospital system
(bearer credentials), and the statement page a patient opens from the signed link in their email
(the link is the credential; server-rendered, no JavaScript)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from services.notifications import statements as service
from services.notifications.domain.statement_links import LinkRefused
from services.notifications.models import idempotency_keys
from services.notifications.statement_documents import DOCUMENT, render_page, render_refusal
from services.notifications.statement_repository import StatementRecord, StatementRepository
from services.notifications.statement_schemas import (
    PaymentLineOut,
    StatementLineOut,
    StatementOut,
    StatementPreferencesIn,
    StatementPreferencesOut,
    StatementRunIn,
    StatementRunOut,
)
from services.notifications.statement_settings import StatementSettings
from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.http import SessionDep
from shared.idempotency import (
    REPLAYED,
    IdempotencyConflict,
    IdempotencyKey,
    IdempotencyKeys,
    answer_once,
    key_reused,
    request_fingerprint,
)
from shared.money import parse_cents
from shared.phi.access import PhiReaderDep, link_reader
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1", tags=["statements"])
page_router = APIRouter(tags=["statement page"])
CanRead = Annotated[Principal, require_scope("notifications:read")]
CanWrite = Annotated[Principal, require_scope("notifications:write")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid credential."},
    403: {"description": "Missing scope."},
    404: {"description": "Not found for this tenant."},
}
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}


def statement_settings(runtime: RuntimeDep) -> StatementSettings:
    return runtime.settings_of(StatementSettings)


SettingsDep = Annotated[StatementSettings, Depends(statement_settings)]


@router.put("/patients/{patient_id}/statement-preferences", responses=_ERRORS)
async def put_statement_preferences(
    patient_id: uuid.UUID, preferences: StatementPreferencesIn, principal: CanWrite, session: SessionDep
) -> StatementPreferencesOut:
    """How the patient gets statements: `email` (a notice with a signed link), `paper` (the print batch) or
    `none` (opted out: statements are kept, nothing is sent)."""
    repository = StatementRepository(session, principal.tenant)
    await repository.set_preference(patient_id, preferences.delivery, preferences.email)
    return await _preferences(repository, patient_id)


@router.get("/patients/{patient_id}/statement-preferences", responses=_ERRORS)
async def get_statement_preferences(
    patient_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> StatementPreferencesOut:
    preferences = await _preferences(StatementRepository(session, principal.tenant), patient_id)
    await reader.read("statement-contact", [patient_id])
    return preferences


async def _preferences(repository: StatementRepository, patient_id: uuid.UUID) -> StatementPreferencesOut:
    contact = (await repository.contacts([patient_id])).get(patient_id)
    if contact is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no statement preferences or mailing address known")
    return StatementPreferencesOut(
        patient_id=patient_id,
        delivery=contact.delivery or "paper",
        email=contact.email,
        has_mailing_address=bool(contact.address_lines),
    )


@router.post(
    "/statement-runs",
    status_code=status.HTTP_201_CREATED,
    response_model=StatementRunOut,
    responses={**_ERRORS, **REPLAYED},
)
async def create_statement_run(
    run: StatementRunIn,
    principal: CanWrite,
    runtime: RuntimeDep,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Run the statement cycle for this tenant as of a date: at most one statement per patient and cycle
    (a second run in the same cycle makes none), the paper ones in one print batch, then the emails sent.
    The same `Idempotency-Key` and request answer the first run (its `emails_sent` as stored once its
    emails went out) and run nothing again."""
    as_of = run.as_of or dt.date.today()
    fingerprint = "" if idempotency_key is None else request_fingerprint(request.method, request.url.path, run)

    async def statements_run() -> tuple[int, object]:
        result = await service.run_statements(session, settings, tenant=principal.tenant, as_of=as_of)
        made = StatementRunOut(
            as_of=result.as_of,
            statement_ids=result.statement_ids,
            stages=result.stages,
            deliveries=result.deliveries,
            print_batch_id=result.print_batch_id,
            emails_sent=0,
        )
        return status.HTTP_201_CREATED, made

    async with unit_of_work(runtime.sessions) as session:
        try:
            answer = await answer_once(
                IdempotencyKeys(session, idempotency_keys, principal.tenant),
                idempotency_key,
                fingerprint,
                statements_run,
            )
        except IdempotencyConflict as exc:
            raise key_reused(exc) from None
    if answer.replayed:
        return answer.response()
    emails_sent = await service.send_pending_emails(runtime.sessions, settings)
    body = {**answer.body, "emails_sent": emails_sent} if isinstance(answer.body, dict) else answer.body
    if idempotency_key is not None:
        async with unit_of_work(runtime.sessions) as session:
            await IdempotencyKeys(session, idempotency_keys, principal.tenant).complete(
                idempotency_key, answer.status_code, body
            )
    return JSONResponse(body, status_code=answer.status_code)


@router.get("/statements", responses=_ERRORS)
async def list_statements(
    patient_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> list[StatementOut]:
    """A patient's statements, oldest first."""
    records = await StatementRepository(session, principal.tenant).of_patient(patient_id)
    await reader.read("statement", [record.id for record in records])
    return [_statement_out(record) for record in records]


@router.get("/statements/{statement_id}", responses=_ERRORS)
async def get_statement(
    statement_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> StatementOut:
    record = await StatementRepository(session, principal.tenant).get(statement_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="statement not found")
    await reader.read("statement", [statement_id])
    return _statement_out(record)


@router.get(
    "/statements/{statement_id}/pdf",
    responses={**_ERRORS, 200: {"content": {"application/pdf": {}}}},
    response_class=Response,
)
async def get_statement_pdf(
    statement_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> Response:
    pdf = await StatementRepository(session, principal.tenant).rendering(statement_id, "pdf")
    if not isinstance(pdf, bytes):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="statement not found")
    await reader.read("statement", [statement_id])
    return Response(pdf, media_type="application/pdf", headers={"Cache-Control": "no-store"})


@router.get(
    "/statements/{statement_id}/text",
    responses={**_ERRORS, 200: {"content": {"text/plain": {}}}},
    response_class=Response,
)
async def get_statement_text(
    statement_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> Response:
    text = await StatementRepository(session, principal.tenant).rendering(statement_id, "text")
    if not isinstance(text, str):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="statement not found")
    await reader.read("statement", [statement_id])
    return Response(text, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"})


@router.post("/statements/{statement_id}/links", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
async def create_statement_link(
    statement_id: uuid.UUID, principal: CanWrite, session: SessionDep, settings: SettingsDep
) -> dict[str, str]:
    """A fresh signed link to the statement page, e.g. to send again when the emailed one expired."""
    if await StatementRepository(session, principal.tenant).get(statement_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="statement not found")
    url, expires_at = service.statement_url(settings, statement_id, dt.datetime.now(dt.UTC))
    return {"url": url, "expires_at": expires_at.isoformat()}


@router.get(
    "/print-batches/{batch_id}/pdf",
    responses={**_ERRORS, 200: {"content": {"application/pdf": {}}}},
    response_class=Response,
)
async def get_print_batch_pdf(
    batch_id: uuid.UUID, principal: CanRead, session: SessionDep, reader: PhiReaderDep
) -> Response:
    """One PDF per mailing run: every paper statement of the run, each starting on a new page."""
    pdf = await StatementRepository(session, principal.tenant).print_batch_pdf(batch_id)
    if pdf is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="print batch not found")
    await reader.read("print-batch", [batch_id])
    return Response(pdf, media_type="application/pdf", headers={"Cache-Control": "no-store"})


def _statement_out(record: StatementRecord) -> StatementOut:
    document = DOCUMENT.validate_python(record.document)
    return StatementOut(
        id=record.id,
        patient_id=record.patient_id,
        number=record.number,
        stage=record.stage,
        cycle=record.cycle,
        statement_date=record.statement_date,
        due_date=record.due_date,
        currency=record.currency,
        charges_cents=document.charges_cents,
        insurance_paid_cents=document.insurance_paid_cents,
        insurance_adjusted_cents=document.insurance_adjusted_cents,
        patient_owes_cents=document.patient_owes_cents,
        payments_cents=document.payments_cents,
        balance_cents=record.balance_cents,
        amount_due_cents=record.amount_due_cents,
        lines=[StatementLineOut.model_validate(line, from_attributes=True) for line in document.lines],
        payments=[PaymentLineOut.model_validate(payment, from_attributes=True) for payment in document.payments],
        delivery=record.delivery,
        delivery_status=record.delivery_status,
        delivered_at=record.delivered_at,
        print_batch_id=record.print_batch_id,
    )


# --- the statement page ---------------------------------------------------------------------------

STATEMENT_LINK_SUBJECT = "statement-link"
"""Who the PHI access log names for a statement page read: the holder of the signed link (the patient)."""


def _refused(exc: LinkRefused) -> HTMLResponse:
    expired = "expired" in str(exc)
    reason = "This link has expired." if expired else "This link is not valid."
    code = status.HTTP_410_GONE if expired else status.HTTP_403_FORBIDDEN
    return HTMLResponse(render_refusal(reason), status_code=code, headers=PAGE_HEADERS)


def _not_found() -> HTMLResponse:
    return HTMLResponse(render_refusal("This statement is no longer available."), status_code=404, headers=PAGE_HEADERS)


async def _page(
    request: Request,
    session: SessionDep,
    opened: service.OpenedStatement,
    token: str,
    *,
    paid: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    repository = StatementRepository(session, opened.record.tenant_id)
    reader = link_reader(
        request, session, tenant=opened.record.tenant_id, subject=STATEMENT_LINK_SUBJECT, purpose="patient access"
    )
    await reader.read("statement", [opened.record.id])
    html = render_page(
        opened.document,
        action=f"/statements/{token}/payments",
        payment_id=uuid.uuid4(),
        paid=paid,
        error=error,
        submitted_cents=await repository.submitted_on_page(opened.record.id),
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


@page_router.get("/statements/{token}", response_class=HTMLResponse, include_in_schema=False)
async def statement_page(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, paid: uuid.UUID | None = None
) -> HTMLResponse:
    """The statement a signed link names, with its ledger lines and a payment form."""
    try:
        opened = await service.open_statement(session, settings, token, dt.datetime.now(dt.UTC))
    except LinkRefused as exc:
        return _refused(exc)
    if opened is None:
        return _not_found()
    shown = None
    if paid is not None:
        recorded = await StatementRepository(session, opened.record.tenant_id).page_payment(paid)
        if recorded is not None and recorded[0] == opened.record.id:
            shown = {"payment_id": paid, "amount_cents": recorded[1]}
    return await _page(request, session, opened, token, paid=shown)


@page_router.post("/statements/{token}/payments", response_class=HTMLResponse, include_in_schema=False)
async def statement_page_payment(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    payment_id: Annotated[str, Form()],
    amount: Annotated[str, Form(max_length=20)],
    method: Annotated[str, Form(max_length=10)] = "card",
) -> Response:
    """Record a payment from the page, once per the form's payment id; then back to the page (303)."""
    try:
        opened = await service.open_statement(session, settings, token, dt.datetime.now(dt.UTC))
    except LinkRefused as exc:
        return _refused(exc)
    if opened is None:
        return _not_found()
    try:
        chosen_id = uuid.UUID(payment_id)
        cents = parse_cents(amount.strip().lstrip("$").replace(",", ""))
    except ValueError:
        return await _page(
            request, session, opened, token, error="Please enter an amount such as 25.00.", status_code=422
        )
    if method not in ("card", "ach"):
        return await _page(
            request, session, opened, token, error="Please choose card or bank account.", status_code=422
        )
    if not 0 < cents <= opened.record.balance_cents:
        return await _page(
            request,
            session,
            opened,
            token,
            error="The amount must be more than zero and at most the balance.",
            status_code=422,
        )
    await service.record_page_payment(
        session, opened, payment_id=chosen_id, amount_cents=cents, method=method, today=dt.date.today()
    )
    return RedirectResponse(f"/statements/{token}?paid={chosen_id}", status_code=status.HTTP_303_SEE_OTHER)
