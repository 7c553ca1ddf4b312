"""Patient statements, orchestrated: the statement ledger kept from events, statement runs (periodic and
`POST /v1/statement-runs`), delivery by email (a notice and a signed link, never the balance) or in the
run's print batch, and payments recorded on the statement page, sent to remittance as events."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications.domain.statement_links import StatementLink, sign_link, verify_link
from services.notifications.domain.statements import StatementDraft, StatementPolicy, statement_runs_for
from services.notifications.models import (
    messaging,
    statement_adjudications,
    statement_claims,
    statement_encounters,
    statement_patient_payments,
)
from services.notifications.statement_documents import (
    DOCUMENT,
    Issuer,
    Recipient,
    StatementDocument,
    document_of,
    render_email,
    render_pdf,
    render_text,
)
from services.notifications.statement_repository import (
    Delivery,
    DeliveryStatus,
    NewStatement,
    PatientContact,
    PatientMailing,
    StatementDirectory,
    StatementLedgerWrites,
    StatementRecord,
    StatementRepository,
)
from services.notifications.statement_settings import StatementSettings
from shared.db import unit_of_work
from shared.events import wire
from shared.events.catalog import (
    ClaimSubmittedV1,
    PatientPaymentReceivedV1,
    PatientPaymentSubmittedV1,
    PaymentPlanChangedV1,
    PaymentReceivedV1,
)
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Handler
from shared.messaging.outbox import Outbox
from shared.periodic import Periodic
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
OUTBOX = Outbox(messaging.outbox, source="/claimflow/notifications")
EMAIL_BATCH = 50


# --- the statement ledger, from events -----------------------------------------------------------


def mailing_lines(address: wire.Address | None) -> list[str]:
    if address is None:
        return []
    postal = address.postal_code
    if len(postal) == 9:
        postal = f"{postal[:5]}-{postal[5:]}"
    return [line for line in (address.line1, address.line2) if line] + [f"{address.city}, {address.state} {postal}"]


async def on_encounter_coded(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    encounters: list[wire.EncounterCodedV1] = [envelope.payload_as(wire.EncounterCodedV1) for envelope in envelopes]
    visits: dict[str, list[Any]] = {
        "tenant_id": [envelope.tenant for envelope in envelopes],
        "encounter_id": [encounter.encounter_id for encounter in encounters],
        "patient_id": [encounter.patient_id for encounter in encounters],
        "service_date": [encounter.service_date_from for encounter in encounters],
        "expects_secondary": [expects_secondary(encounter) for encounter in encounters],
    }
    mailings: list[PatientMailing] = []
    for envelope, encounter in zip(envelopes, encounters, strict=True):
        if encounter.phi is not None:
            person = encounter.phi.patient
            name = " ".join(part for part in (person.first_name, person.middle_name, person.last_name) if part)
            mailings.append(
                PatientMailing(envelope.tenant, encounter.patient_id, name, tuple(mailing_lines(person.address)))
            )
    writes = StatementLedgerWrites(session)
    await writes.add_columns(statement_encounters, visits)
    await writes.patient_mailing(mailings)


def expects_secondary(encounter: wire.EncounterCodedV1) -> bool:
    """Billed to its primary payer, with a secondary coverage that has not adjudicated yet."""
    billed = encounter.coverage
    return (
        billed is not None
        and billed.responsibility == "P"
        and not encounter.prior_payer_adjudications
        and any(c.responsibility == "S" for c in encounter.other_coverages)
    )


async def on_claim_submitted(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    rows = []
    for envelope in envelopes:
        claim: ClaimSubmittedV1 = envelope.payload_as(ClaimSubmittedV1)
        if claim.patient_id is None:
            continue
        rows.append(
            {
                "tenant_id": envelope.tenant,
                "claim_id": claim.claim_id,
                "patient_id": claim.patient_id,
                "encounter_id": claim.encounter_id,
                "claim_control_number": claim.claim_control_number,
                "submitted_at": claim.submitted_at,
                "charge_cents": claim.total_charge_cents,
                "currency": claim.currency,
                "procedure_codes": sorted({line.procedure_code for line in claim.lines}),
            }
        )
    await StatementLedgerWrites(session).add(statement_claims, rows)


async def on_payment_received(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    rows = []
    for envelope in envelopes:
        payment: PaymentReceivedV1 = envelope.payload_as(PaymentReceivedV1)
        if payment.claim_id is None:
            continue
        rows.append(
            {
                "payment_id": payment.payment_id,
                "tenant_id": envelope.tenant,
                "claim_id": payment.claim_id,
                "charge_cents": payment.charge_cents,
                "paid_cents": payment.paid_cents,
                "patient_responsibility_cents": payment.patient_responsibility_cents,
                "next_responsible": payment.next_responsible,
                "paid_date": payment.paid_date,
                "reversal_of": payment.reversal_of,
            }
        )
    await StatementLedgerWrites(session).add(statement_adjudications, rows)


async def on_patient_payment_received(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    rows = []
    for envelope in envelopes:
        payment: PatientPaymentReceivedV1 = envelope.payload_as(PatientPaymentReceivedV1)
        rows.append(
            {
                "payment_id": payment.payment_id,
                "tenant_id": envelope.tenant,
                "patient_id": payment.patient_id,
                "amount_cents": payment.amount_cents,
                "currency": payment.currency,
                "received_on": payment.received_on,
            }
        )
    await StatementLedgerWrites(session).add(statement_patient_payments, rows)


async def on_payment_plan_changed(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    rows = []
    for envelope in envelopes:
        plan: PaymentPlanChangedV1 = envelope.payload_as(PaymentPlanChangedV1)
        rows.append(
            {
                "plan_id": plan.plan_id,
                "tenant_id": envelope.tenant,
                "patient_id": plan.patient_id,
                "status": plan.status,
                "installments": [i.model_dump(mode="json") for i in plan.installments],
                "changed_on": plan.changed_on,
            }
        )
    await StatementLedgerWrites(session).payment_plans(rows)


STATEMENT_HANDLERS: dict[str, Handler] = {
    "encounter-coded.v1": on_encounter_coded,
    "claim-submitted.v1": on_claim_submitted,
    "payment-received.v1": on_payment_received,
    "patient-payment-received.v1": on_patient_payment_received,
    "payment-plan-changed.v1": on_payment_plan_changed,
}


# --- statement runs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunResult:
    as_of: dt.date
    statement_ids: list[uuid.UUID]
    stages: dict[str, int]
    deliveries: dict[str, int]
    print_batch_id: uuid.UUID | None
    skipped_existing: int = 0


def delivery_of(contact: PatientContact | None) -> tuple[Delivery, DeliveryStatus]:
    """Email when chosen and an address is known; opted out sends nothing; otherwise paper, when there
    is a mailing address to print."""
    delivery: Delivery = (contact.delivery if contact else None) or "paper"
    if delivery == "none":
        return "none", "opted_out"
    if delivery == "email":
        return "email", "pending" if contact and contact.email else "undeliverable"
    return "paper", "pending" if contact and contact.address_lines else "undeliverable"


def issuer_of(settings: StatementSettings) -> Issuer:
    return Issuer(settings.statement_organization, settings.statement_phone, settings.statement_assistance_notice)


def statement_number(sequence_value: int, statement_date: dt.date) -> str:
    return f"ST-{statement_date:%Y%m}-{sequence_value:08d}"


@dataclass
class _Rendered:
    rows: list[NewStatement] = field(default_factory=list)
    documents: dict[uuid.UUID, StatementDocument] = field(default_factory=dict)


def _render(
    drafts: Sequence[StatementDraft],
    numbers: Sequence[int],
    contacts: dict[uuid.UUID, PatientContact],
    issuer: Issuer,
) -> _Rendered:
    """Number and render every draft (CPU work: run off the event loop)."""
    rendered = _Rendered()
    for draft, sequence_value in zip(drafts, numbers, strict=True):
        contact = contacts.get(draft.patient_id)
        recipient = Recipient(
            name=(contact.name if contact and contact.name else "Patient"),
            address_lines=contact.address_lines if contact else (),
        )
        document = document_of(
            draft, number=statement_number(sequence_value, draft.statement_date), recipient=recipient, issuer=issuer
        )
        delivery, status = delivery_of(contact)
        statement_id = uuid.uuid4()
        rendered.documents[statement_id] = document
        rendered.rows.append(
            NewStatement(
                id=statement_id,
                patient_id=draft.patient_id,
                number=document.number,
                cycle=draft.cycle,
                stage=draft.stage,
                statement_date=draft.statement_date,
                due_date=draft.due_date,
                balance_cents=draft.balance_cents,
                amount_due_cents=draft.amount_due_cents,
                currency=draft.currency,
                document=DOCUMENT.dump_python(document, mode="json"),
                text=render_text(document),
                pdf=render_pdf([document], title=f"Statement {document.number}"),
                delivery=delivery,
                delivery_status=status,
            )
        )
    return rendered


async def run_statements(
    session: AsyncSession, settings: StatementSettings, *, tenant: str, as_of: dt.date
) -> RunResult:
    """One statement run of a tenant, in the caller's transaction: every patient due a statement on
    `as_of` gets exactly one for the cycle (the unique key decides against a concurrent run), rendered,
    numbered and stored; the paper ones go into one print-batch PDF; email ones wait for the sender."""
    repository = StatementRepository(session, tenant)
    await repository.lock_runs()
    policy: StatementPolicy = settings.policy
    drafts = statement_runs_for(await repository.ledgers(), as_of, policy)
    contacts = await repository.contacts([draft.patient_id for draft in drafts])
    numbers = await repository.next_numbers(len(drafts))
    issuer = issuer_of(settings)
    rendered = await asyncio.to_thread(_render, drafts, numbers, contacts, issuer)
    inserted = await repository.add_statements(rendered.rows)
    made = [row for row in rendered.rows if row.id in inserted]
    paper = [row.id for row in made if row.delivery == "paper" and row.delivery_status == "pending"]
    batch_id: uuid.UUID | None = None
    if paper:
        batch_id = uuid.uuid4()
        pdf = await asyncio.to_thread(
            render_pdf, [rendered.documents[i] for i in paper], title=f"Print batch {as_of.isoformat()}"
        )
        await repository.add_print_batch(batch_id, as_of, paper, pdf)
    stages: Counter[str] = Counter(row.stage for row in made)
    deliveries: Counter[str] = Counter("printed" if row.id in paper else row.delivery_status for row in made)
    log.info(
        "statement run",
        extra={"tenant": tenant, "as_of": as_of.isoformat(), "statements": len(made), "stages": dict(stages)},
    )
    return RunResult(
        as_of=as_of,
        statement_ids=[row.id for row in made],
        stages=dict(stages),
        deliveries=dict(deliveries),
        print_batch_id=batch_id,
        skipped_existing=len(rendered.rows) - len(made),
    )


# --- email delivery ------------------------------------------------------------------------------


def link_secret(settings: StatementSettings) -> bytes:
    return settings.statement_link_secret.get_secret_value().encode()


def statement_url(settings: StatementSettings, statement_id: uuid.UUID, now: dt.datetime) -> tuple[str, dt.datetime]:
    expires_at = now + dt.timedelta(days=settings.statement_link_ttl_days)
    token = sign_link(link_secret(settings), statement_id, expires_at)
    return f"{settings.statement_page_base_url.rstrip('/')}/statements/{token}", expires_at


def statement_email(settings: StatementSettings, to: str, link: str, expires_at: dt.datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.statement_email_from
    message["To"] = to
    message["Subject"] = f"Your billing statement from {settings.statement_organization} is ready"
    message.set_content(
        render_email(organization=settings.statement_organization, link=link, expires_on=expires_at.date())
    )
    return message


async def send_pending_emails(
    sessions: async_sessionmaker[AsyncSession], settings: StatementSettings, *, limit: int = EMAIL_BATCH
) -> int:
    """Send email statements not yet sent, one transaction each: the row stays locked while its email goes
    out and is marked sent in the same transaction (a crash in between sends it again: at least once).
    An unreachable SMTP server ends the round; what is left stays pending for the next one."""
    sent = 0
    for _ in range(limit):
        async with unit_of_work(sessions) as session:
            pending = await StatementDirectory(session).pending_emails(1)
            if not pending:
                return sent
            tenant, statement_id = pending[0]
            repository = StatementRepository(session, tenant)
            record = await repository.get(statement_id)
            contact = (await repository.contacts([record.patient_id])).get(record.patient_id) if record else None
            if record is None or contact is None or not contact.email:
                await repository.mark_delivered(statement_id, "undeliverable")
                continue
            link, expires_at = statement_url(settings, statement_id, dt.datetime.now(dt.UTC))
            try:
                await aiosmtplib.send(
                    statement_email(settings, contact.email, link, expires_at),
                    hostname=settings.smtp_host,
                    port=settings.smtp_port,
                    username=settings.smtp_username,
                    password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                    start_tls=settings.smtp_starttls,
                    timeout=30,
                )
            except aiosmtplib.SMTPRecipientsRefused:
                await repository.mark_delivered(statement_id, "undeliverable")
                continue
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                # the server is away: the statement stays pending for the next round (no address in the log)
                log.warning("statement email not sent; will retry", extra={"error": type(exc).__name__})
                return sent
            await repository.mark_delivered(statement_id, "sent")
            sent += 1
    return sent


# --- periodic ------------------------------------------------------------------------------------


def statement_cycle(runtime: ServiceRuntime) -> Periodic | None:
    """The statement cycle as periodic work: every tenant's run for today, then the emails it left."""
    settings = runtime.settings_of(StatementSettings)
    if not settings.run_statements:
        return None
    sessions = runtime.sessions

    async def one_round() -> bool:
        today = dt.date.today()
        async with unit_of_work(sessions) as session:
            tenants = await StatementDirectory(session).tenants()
        for tenant in tenants:
            async with unit_of_work(sessions) as session:
                await run_statements(session, settings, tenant=tenant, as_of=today)
        return await send_pending_emails(sessions, settings) == EMAIL_BATCH

    return Periodic("statement-cycle", settings.statement_interval_s, one_round)


# --- the statement page ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenedStatement:
    link: StatementLink
    record: StatementRecord
    document: StatementDocument


async def open_statement(
    session: AsyncSession, settings: StatementSettings, token: str, now: dt.datetime
) -> OpenedStatement | None:
    """The statement a link names; raises LinkRefused for a tampered or expired link."""
    link = verify_link(link_secret(settings), token, now)
    record = await StatementDirectory(session).statement(link.statement_id)
    if record is None:
        return None
    return OpenedStatement(link, record, DOCUMENT.validate_python(record.document))


async def record_page_payment(
    session: AsyncSession,
    opened: OpenedStatement,
    *,
    payment_id: uuid.UUID,
    amount_cents: int,
    method: str,
    today: dt.date,
) -> bool:
    """Record a payment made on the statement page once per `payment_id` and tell remittance, in one
    transaction; False when this payment id was already recorded (a resubmitted form)."""
    record = opened.record
    repository = StatementRepository(session, record.tenant_id)
    created = await repository.add_page_payment(
        payment_id=payment_id,
        statement_id=record.id,
        patient_id=record.patient_id,
        amount_cents=amount_cents,
        currency=record.currency,
        method=method,
    )
    if created:
        await OUTBOX.add(
            session,
            tenant=record.tenant_id,
            subject=str(record.patient_id),
            payload=PatientPaymentSubmittedV1(
                payment_id=payment_id,
                patient_id=record.patient_id,
                statement_id=record.id,
                amount_cents=amount_cents,
                currency=record.currency,
                method="ach" if method == "ach" else "card",
                submitted_on=today,
            ),
        )
    return created
