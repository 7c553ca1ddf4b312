"""Eligibility checks: a 270 is written and handed to the clearinghouse adapter when a check is asked
for; a background loop collects 271s, stores each answer on the check it traces back to and
acknowledges the file.

A check's TRN02 (the trace number) is its id without dashes; the 271 echoes it, so answers are
matched by it. Answers are stored once: a check that is no longer ``sent`` is never changed again,
so reading the same 271 twice changes nothing. Logs carry file names, counts and check ids, never
names, birth dates or member ids.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import sqlalchemy as sa
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.domain.eligibility import (
    EligibilityInquiry,
    InquiryPerson,
    Submission,
    answer_for,
    build_270,
    parse_271,
)
from services.intake.models import eligibility_checks, eligibility_interchange_numbers
from shared.clearinghouse import ClearinghouseAdapter, InboundFile, InboundKind
from shared.clearinghouse.base import sha256_hex
from shared.db import unit_of_work
from shared.periodic import Periodic
from shared.service import ServiceRuntime
from shared.x12 import X12Error

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 60.0


class EligibilitySettings(BaseSettings):
    """``CLAIMFLOW_ELIGIBILITY_*``: the 270's envelope identities and the 271 collector's pace."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_ELIGIBILITY_", env_file=".env", extra="ignore")

    sender_id: str = "CLAIMFLOW"
    receiver_id: str = "SANDBOXCH"
    originator_id: str = "1999999999"
    """TRN03: "1" and the submitter's EIN."""
    usage: str = "T"
    run_collecting: bool = True
    collect_interval_s: float = 2.0


def trace_number_of(check_id: uuid.UUID) -> str:
    return check_id.hex.upper()


def file_name_of(check_id: uuid.UUID) -> str:
    return f"270-{check_id.hex}.x12"


def _person(record: dict[str, Any]) -> InquiryPerson:
    return InquiryPerson(
        last_name=record["last_name"],
        first_name=record["first_name"],
        birth_date=dt.date.fromisoformat(record["birth_date"]),
        sex=record.get("sex") if record.get("sex") in ("M", "F") else None,
    )


async def send_check(
    session: AsyncSession,
    adapter: ClearinghouseAdapter,
    settings: EligibilitySettings,
    *,
    tenant: str,
    patient: Any,
    coverage: Any,
    payer: Any,
    provider: Any,
    service_date: dt.date,
    now: dt.datetime,
) -> sa.Row[Any]:
    """Store the check with its 270's control number, then hand the 270 to the adapter (in the caller's
    transaction: a failed submit rolls the check back; a 271 for a check that never committed is
    acknowledged and ignored)."""
    check_id = uuid.uuid4()
    control = int((await session.execute(sa.select(eligibility_interchange_numbers.next_value()))).scalar_one())
    coverage_record = coverage.record
    dependent = coverage_record.get("relationship", "18") != "18"
    subscriber = _person(coverage_record["subscriber"]) if dependent else _person(patient.record)
    provider_record = provider.record
    provider_name = provider_record["name"]
    if provider_record.get("entity") == "individual" and provider_record.get("first_name"):
        provider_name = f"{provider_record['name']} {provider_record['first_name']}"
    inquiry = EligibilityInquiry(
        trace_number=trace_number_of(check_id),
        payer_name=payer.record["name"],
        payer_id=payer.payer_id,
        provider_name=provider_name,
        provider_npi=provider.npi,
        member_id=coverage.member_id,
        subscriber=subscriber,
        service_date=service_date,
        dependent=_person(patient.record) if dependent else None,
    )
    submission = Submission(
        settings.sender_id, settings.receiver_id, settings.originator_id, control, now, settings.usage
    )
    content = build_270(inquiry, submission).encode()
    file_name = file_name_of(check_id)
    row = (
        await session.execute(
            sa.insert(eligibility_checks)
            .values(
                id=check_id,
                tenant_id=tenant,
                patient_id=patient.id,
                coverage_id=coverage.id,
                payer_id=payer.payer_id,
                provider_npi=provider.npi,
                service_date=service_date,
                trace_number=inquiry.trace_number,
                interchange_control_number=control,
                file_name=file_name,
                sent_sha256=sha256_hex(content),
                state="sent",
                sent_at=now,
            )
            .returning(eligibility_checks)
        )
    ).one()
    await session.flush()
    await adapter.submit(file_name, content)
    log.info("eligibility 270 sent", extra={"check_id": str(check_id), "file_name": file_name})
    return row


async def get_check(session: AsyncSession, tenant: str, check_id: uuid.UUID) -> sa.Row[Any] | None:
    return (
        await session.execute(
            sa.select(eligibility_checks).where(
                eligibility_checks.c.tenant_id == tenant, eligibility_checks.c.id == check_id
            )
        )
    ).one_or_none()


async def apply_271(session: AsyncSession, inbound: InboundFile, now: dt.datetime) -> int:
    """Store what the 271 says on every waiting check it answers; returns the checks answered (0 when
    the file was read before, answers nothing of ours or is unreadable)."""
    try:
        responses = parse_271(inbound.content)
    except X12Error as exc:
        log.warning("eligibility 271 unreadable", extra={"file_name": inbound.file_name, "error": type(exc).__name__})
        return 0
    traces = {trace for response in responses for answer in response.answers for trace in answer.trace_numbers}
    if not traces:
        return 0
    waiting = (
        await session.execute(
            sa.select(eligibility_checks.c.id, eligibility_checks.c.trace_number)
            .where(eligibility_checks.c.trace_number.in_(traces), eligibility_checks.c.state == "sent")
            .with_for_update()
        )
    ).all()
    for check in waiting:
        answer = answer_for(responses, check.trace_number)
        if answer is None:
            continue
        await session.execute(
            sa.update(eligibility_checks)
            .where(eligibility_checks.c.id == check.id, eligibility_checks.c.state == "sent")
            .values(
                state=answer["status"],
                answer=answer,
                response_file_name=inbound.file_name,
                response_sha256=inbound.sha256,
                answered_at=now,
            )
        )
        log.info("eligibility answered", extra={"check_id": str(check.id), "state": answer["status"]})
    return len(waiting)


async def collect_answers(sessions: async_sessionmaker[AsyncSession], adapter: ClearinghouseAdapter) -> int:
    """One pass over the waiting 271s: store, then acknowledge each. Returns the files handled."""
    files = await adapter.fetch_inbound_of({InboundKind.ELIGIBILITY_271})
    for inbound in files:
        async with unit_of_work(sessions) as session:
            answered = await apply_271(session, inbound, dt.datetime.now(dt.UTC))
        await adapter.acknowledge(inbound)
        log.info("eligibility 271 read", extra={"file_name": inbound.file_name, "checks_answered": answered})
    return len(files)


def collecting(runtime: ServiceRuntime) -> Periodic | None:
    """Collect 271s from the clearinghouse for as long as the service runs."""
    settings = runtime.settings_of(EligibilitySettings)
    if not settings.run_collecting:
        return None

    async def collect_round() -> None:
        await collect_answers(runtime.sessions, runtime.clearinghouse)

    return Periodic("eligibility-collecting", settings.collect_interval_s, collect_round, MAX_BACKOFF_S)
