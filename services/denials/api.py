"""Denials HTTP API: the work queue for billing staff, the actions they take, contract rates, payer
calendars and denial KPIs. Tenants and scopes as everywhere: `denials:read`, `denials:write`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Response, status

from services.denials import repository as store
from services.denials.domain.classification import Owner, RootCause
from services.denials.domain.deadlines import PayerCalendar, due_flag
from services.denials.domain.denial_case import CaseNotWorkable, DenialCaseStatus
from services.denials.domain.kpis import DEFINITIONS, average_days, rate_basis_points
from services.denials.domain.underpayment import ContractRate
from services.denials.records import CaseRecord, PayerTerms
from services.denials.repository import DenialCaseRepository, DenialCount, QueueFilter
from services.denials.schemas import (
    ActionIn,
    ActionOut,
    AssignmentIn,
    ContractRateIn,
    ContractRatesIn,
    DenialCaseDetail,
    DenialCaseOut,
    DenialKpisOut,
    HistoryOut,
    KpiDefinitionOut,
    KpiRow,
    LetterOut,
    NoteIn,
    PayerTermsIn,
    PayerTermsOut,
)
from services.denials.service import ActionRequest, CaseNotFound, take_action
from shared import codesets
from shared.auth import Principal, require_scope
from shared.codesets import CodeKind
from shared.http import OutboxDep, SessionDep
from shared.phi.access import PhiReaderDep

router = APIRouter(prefix="/v1", tags=["denials"])
CanRead = Annotated[Principal, require_scope("denials:read")]
CanWrite = Annotated[Principal, require_scope("denials:write")]
IdempotencyKey = Annotated[
    str,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, description="The same key never acts twice."),
]
StatusName = DenialCaseStatus


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _out(case: CaseRecord, today: dt.date) -> DenialCaseOut:
    flag = None
    if case.due_date is not None and case.status in (DenialCaseStatus.OPEN, DenialCaseStatus.UPHELD):
        flag = due_flag(case.due_date, today).value
    return DenialCaseOut.model_validate(
        {
            **{name: getattr(case, name) for name in CaseRecord.__slots__},
            "due_flag": flag,
            "age_days": (today - case.opened_at.date()).days,
        }
    )


async def _case(session: SessionDep, tenant: str, case_id: uuid.UUID) -> CaseRecord:
    case = await DenialCaseRepository(session, tenant).get(case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such denial case")
    return case


@router.get("/denial-cases", summary="The work queue: highest expected recovery first, then earliest due date.")
async def denial_queue(
    principal: CanRead,
    session: SessionDep,
    case_status: Annotated[list[StatusName] | None, Query(alias="status", description="Default: open, upheld.")] = None,
    payer_id: str | None = None,
    root_cause: RootCause | None = None,
    carc: Annotated[str | None, Query(max_length=5)] = None,
    provider: Annotated[str | None, Query(pattern=r"^\d{10}$", description="Billing provider NPI.")] = None,
    owner: Owner | None = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[str | None, Query(pattern=r"^(denial|underpayment)$")] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=36500)] = None,
    max_age_days: Annotated[int | None, Query(ge=0, le=36500)] = None,
    due_within_days: Annotated[int | None, Query(ge=0, le=3650, description="Due on or before today + N.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[DenialCaseOut]:
    now = dt.datetime.now(dt.UTC)
    where = QueueFilter(
        statuses=[s.value for s in case_status] if case_status else store.OPEN,
        payer_id=payer_id,
        root_cause=root_cause.value if root_cause else None,
        carc=carc.upper() if carc else None,
        provider_npi=provider,
        owner=owner.value if owner else None,
        assignee=assignee,
        kind=kind,
        opened_before=now - dt.timedelta(days=min_age_days) if min_age_days is not None else None,
        opened_after=now - dt.timedelta(days=max_age_days + 1) if max_age_days is not None else None,
        due_by=now.date() + dt.timedelta(days=due_within_days) if due_within_days is not None else None,
    )
    cases = await DenialCaseRepository(session, principal.tenant).queue(where, limit, offset)
    today = now.date()
    return [_out(case, today) for case in cases]


def _built_in_descriptions(carcs: list[str], rarcs: list[str]) -> dict[str, str]:
    """The shared code sets' descriptions, for codes the denials schema has no loaded list entry for."""
    pairs = [(CodeKind.CARC, code) for code in carcs] + [(CodeKind.RARC, code) for code in rarcs]
    return {f"{kind.value.upper()} {code}": text for kind, code in pairs if (text := codesets.describe(kind, code))}


@router.get("/denial-cases/{case_id}", summary="A case with its code descriptions, history, actions and letters.")
async def denial_case(
    principal: CanRead, session: SessionDep, case_id: uuid.UUID, reader: PhiReaderDep
) -> DenialCaseDetail:
    case = await _case(session, principal.tenant, case_id)
    await reader.read("denial-case", [case_id])
    repository = DenialCaseRepository(session, principal.tenant)
    base = _out(case, _today())
    letters = await repository.letters(case_id)
    return DenialCaseDetail(
        **base.model_dump(),
        code_descriptions=_built_in_descriptions(case.carcs, case.rarcs)
        | await store.descriptions(session, case.carcs, case.rarcs),
        history=[
            HistoryOut(entry=h.entry, actor=h.actor, text=h.text, at=h.at) for h in await repository.history(case_id)
        ],
        actions=[ActionOut(**{k: getattr(a, k) for k in a.__slots__}) for a in await repository.actions(case_id)],
        appeal_letters=[
            LetterOut(
                action_id=letter.action_id,
                appeal_level=letter.appeal_level,
                file_name=letter.file_name,
                sent=letter.sent_at is not None,
                answer=letter.answer,
                pdf_url=f"/v1/denial-cases/{case_id}/appeals/{letter.action_id}/letter.pdf",
                text_url=f"/v1/denial-cases/{case_id}/appeals/{letter.action_id}/letter.txt",
            )
            for letter in letters
        ],
    )


@router.get("/denial-cases/{case_id}/history", summary="Everything that happened to a case, oldest first.")
async def denial_case_history(principal: CanRead, session: SessionDep, case_id: uuid.UUID) -> list[HistoryOut]:
    await _case(session, principal.tenant, case_id)
    entries = await DenialCaseRepository(session, principal.tenant).history(case_id)
    return [HistoryOut(entry=h.entry, actor=h.actor, text=h.text, at=h.at) for h in entries]


@router.put("/denial-cases/{case_id}/assignment", summary="Assign the case to a biller (or unassign).")
async def assign_case(
    principal: CanWrite, session: SessionDep, case_id: uuid.UUID, body: AssignmentIn
) -> DenialCaseOut:
    case = await _case(session, principal.tenant, case_id)
    repository = DenialCaseRepository(session, principal.tenant)
    if case.assignee != body.assignee:
        await repository.update(case_id, assignee=body.assignee)
        await repository.add_history(case_id, "assigned", principal.subject, f"assigned to {body.assignee or 'nobody'}")
    return _out(await _case(session, principal.tenant, case_id), _today())


@router.post("/denial-cases/{case_id}/notes", status_code=201, summary="Add a note to the case's history.")
async def add_note(principal: CanWrite, session: SessionDep, case_id: uuid.UUID, body: NoteIn) -> HistoryOut:
    await _case(session, principal.tenant, case_id)
    repository = DenialCaseRepository(session, principal.tenant)
    await repository.add_history(case_id, "note", principal.subject, body.text)
    entry = (await repository.history(case_id))[-1]
    return HistoryOut(entry=entry.entry, actor=entry.actor, text=entry.text, at=entry.at)


@router.post(
    "/denial-cases/{case_id}/actions",
    status_code=201,
    summary="Corrected claim, void, appeal, write-off or transfer to the patient; the same Idempotency-Key "
    "returns the first action (200) and does nothing again.",
)
async def act_on_case(
    principal: CanWrite,
    session: SessionDep,
    outbox: OutboxDep,
    response: Response,
    case_id: uuid.UUID,
    body: ActionIn,
    idempotency_key: IdempotencyKey,
) -> ActionOut:
    request = ActionRequest(
        kind=body.kind,
        idempotency_key=idempotency_key,
        actor=principal.subject,
        amount_cents=body.amount_cents,
        reason_code=body.reason_code.upper() if body.reason_code else None,
        prior_authorization=body.prior_authorization,
    )
    try:
        result = await take_action(session, outbox, principal.tenant, case_id, request, _today())
    except CaseNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such denial case") from None
    except CaseNotWorkable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    if not result.created:
        response.status_code = status.HTTP_200_OK
    action = result.action
    return ActionOut(**{k: getattr(action, k) for k in action.__slots__})


@router.get("/denial-cases/{case_id}/appeals/{action_id}/letter.pdf", response_class=Response)
async def appeal_pdf(principal: CanRead, session: SessionDep, case_id: uuid.UUID, action_id: uuid.UUID) -> Response:
    letter = await DenialCaseRepository(session, principal.tenant).letter(case_id, action_id)
    if letter is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such appeal letter")
    return Response(letter.pdf, media_type="application/pdf")


@router.get("/denial-cases/{case_id}/appeals/{action_id}/letter.txt", response_class=Response)
async def appeal_text(principal: CanRead, session: SessionDep, case_id: uuid.UUID, action_id: uuid.UUID) -> Response:
    letter = await DenialCaseRepository(session, principal.tenant).letter(case_id, action_id)
    if letter is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such appeal letter")
    return Response(letter.text, media_type="text/plain; charset=utf-8")


@router.put("/contract-rates", summary="Contracted allowed amounts per payer, procedure and modifier.")
async def put_contract_rates(principal: CanWrite, session: SessionDep, body: ContractRatesIn) -> dict[str, int]:
    rates = [ContractRate(r.payer_id, r.procedure_code, r.modifier, r.allowed_cents, r.currency) for r in body.rates]
    count = await DenialCaseRepository(session, principal.tenant).replace_contract_rates(body.replace_payer, rates)
    return {"loaded": count}


@router.get("/contract-rates")
async def get_contract_rates(
    principal: CanRead, session: SessionDep, payer_id: str | None = None
) -> list[ContractRateIn]:
    rates = await DenialCaseRepository(session, principal.tenant).contract_rates(payer_id)
    return [
        ContractRateIn(
            payer_id=r.payer_id,
            procedure_code=r.procedure_code,
            modifier=r.modifier,
            allowed_cents=r.allowed_cents,
            currency=r.currency,
        )
        for r in rates
    ]


@router.put("/denial-payers/{payer_id}", summary="A payer's appeal windows, timely filing and tolerances.")
async def put_payer_terms(principal: CanWrite, session: SessionDep, payer_id: str, body: PayerTermsIn) -> PayerTermsOut:
    terms = PayerTerms(
        PayerCalendar(
            appeal_days=tuple(body.appeal_days),
            timely_filing_days=body.timely_filing_days,
            near_days=body.near_days,
            underpayment_tolerance_cents=body.underpayment_tolerance_cents,
        ),
        body.cost_to_work_cents,
    )
    await DenialCaseRepository(session, principal.tenant).set_payer_terms(payer_id, terms)
    return PayerTermsOut(payer_id=payer_id, default=False, **body.model_dump())


@router.get("/denial-payers/{payer_id}", summary="A payer's calendar, or the documented defaults.")
async def get_payer_terms(principal: CanRead, session: SessionDep, payer_id: str) -> PayerTermsOut:
    found = (await store.payer_terms(session, [(principal.tenant, payer_id)])).get((principal.tenant, payer_id))
    terms = found or PayerTerms()
    return PayerTermsOut(
        payer_id=payer_id,
        default=found is None,
        appeal_days=list(terms.calendar.appeal_days),
        timely_filing_days=terms.calendar.timely_filing_days,
        near_days=terms.calendar.near_days,
        underpayment_tolerance_cents=terms.calendar.underpayment_tolerance_cents,
        cost_to_work_cents=terms.cost_to_work_cents,
    )


def _rows(counts: list[DenialCount]) -> list[KpiRow]:
    return [
        KpiRow(
            key=c.key,
            denied_claims=c.denied_claims,
            remitted_claims=c.remitted_claims,
            initial_denial_rate_bp=rate_basis_points(c.denied_claims, c.remitted_claims),
            denied_cents=c.denied_cents,
        )
        for c in counts
    ]


@router.get("/denial-kpis", summary="Denial KPIs for a date range (HFMA MAP Keys / Claim Integrity Task Force).")
async def denial_kpis(
    principal: CanRead,
    session: SessionDep,
    start: Annotated[dt.date | None, Query(description="Default: 30 days before `end`.")] = None,
    end: Annotated[dt.date | None, Query(description="Default: today.")] = None,
) -> DenialKpisOut:
    end = end or _today()
    start = start or end - dt.timedelta(days=30)
    if start > end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="start must not be after end")
    figures = await store.kpi_figures(session, principal.tenant, start, end)
    return DenialKpisOut(
        start=start,
        end=end,
        initial_denial_rate_bp=rate_basis_points(figures.total.denied_claims, figures.total.remitted_claims),
        by_payer=_rows(figures.by_payer),
        by_carc=_rows(figures.by_carc),
        by_root_cause=_rows(figures.by_root_cause),
        by_provider=_rows(figures.by_provider),
        overturn_rate_bp=rate_basis_points(figures.overturned, figures.resolved),
        cases_resolved=figures.resolved,
        denied_cents=figures.denied_cents,
        recovered_cents=figures.recovered_cents,
        written_off_cents=figures.written_off_cents,
        average_days_to_resolution=average_days(figures.resolution_days_total, figures.resolved),
        definitions=[KpiDefinitionOut(key=d.key, formula=d.formula, source=d.source) for d in DEFINITIONS],
    )
