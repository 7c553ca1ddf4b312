"""The claims service's logic: claims built and scrubbed from coded encounters, fixes and releases
of held claims, and READY claims batched into stored 837 interchanges with `claim-submitted` out.

Domain decisions are the pure functions of `domain/`; SQL is in `repository.py`; the caller's unit
of work commits (a consumed batch, a request, one batching round).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.domain.claim import Claim
from services.claims.domain.claim_builder import (
    ClaimMappingError,
    claim_from_encounter,
    draft_from_encounter,
    fee_schedule_codes,
    line_control_number,
    price,
    total_charge_cents,
    writer_findings,
)
from services.claims.domain.claim_checks import ClaimValidationError, validate_claims
from services.claims.domain.claim_state import ClaimState, path, transition
from services.claims.domain.fixes import ClaimFix, apply_fix
from services.claims.domain.scrubber import DraftClaim, Finding, ScrubContext, Severity, holds, scrub
from services.claims.domain.scrubber.code_sets import packaged_icd10cm
from services.claims.domain.x12_837 import UsageIndicator, write_batches
from services.claims.metrics import CLAIMS_BATCHED, CLAIMS_HELD
from services.claims.repository import ClaimRepository, StreamWrites
from services.claims.settings import ClaimsSettings
from shared.clearinghouse import ClearinghouseAdapter
from shared.db import unit_of_work
from shared.events.catalog import ClaimSubmittedV1, EncounterCodedV1, EventPayload, SubmittedClaimLine
from shared.events.envelope import EventEnvelope
from shared.messaging.outbox import Outbox

log = logging.getLogger(__name__)
S = ClaimState
CLAIM_NUMBER_PREFIX = "CF"


class ClaimNotFound(LookupError):
    pass


class ClaimNotWorkable(ValueError):
    """The claim is not in a state that accepts this action."""


def claim_control_number(sequence: int) -> str:
    """CLM01: unique per tenant, at most 20 characters (the 835 echoes it as CLP01)."""
    return f"{CLAIM_NUMBER_PREFIX}{sequence:010d}"


def _diagnosis_hook() -> Any:
    codes = packaged_icd10cm()
    return codes.problem if codes is not None else None


def _history(claim_id: uuid.UUID, tenant: str, steps: list[tuple[ClaimState | None, ClaimState]], reasons: list[str]):
    return [
        {"claim_id": claim_id, "tenant_id": tenant, "from_state": before, "to_state": after, "reason": reason}
        for (before, after), reason in zip(steps, reasons, strict=True)
    ]


def _verdict(findings: list[Finding]) -> tuple[ClaimState, str]:
    if holds(findings):
        rules = sorted({f.rule_id for f in findings if f.severity is Severity.ERROR})
        for rule_id in rules:
            CLAIMS_HELD.labels(rule_id).inc()
        return S.ON_HOLD, "held by " + ", ".join(rules)
    warnings = sorted({f.rule_id for f in findings})
    return S.READY, "clean" + (f" (warnings: {', '.join(warnings)})" if warnings else "")


def _line_rows(claim_id: uuid.UUID, tenant: str, encounter: EncounterCodedV1) -> list[dict[str, Any]]:
    return [
        {
            "claim_id": claim_id,
            "tenant_id": tenant,
            "patient_id": encounter.patient_id,
            "payer_id": encounter.payer_id,
            "line_number": line.line_number,
            "procedure_code": line.procedure_code,
            "revenue_code": line.revenue_code,
            "modifiers": list(line.modifiers),
            "units": line.units,
            "charge_cents": line.charge_cents,
            "diagnosis_pointers": list(line.diagnosis_pointers),
            "service_date": line.service_date,
        }
        for line in encounter.lines
    ]


def _claim_values(encounter: EncounterCodedV1, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """Columns of a claim from its encounter; `document` is the encounter as JSON when already at hand."""
    return {
        "claim_type": encounter.claim_type,
        "payer_id": encounter.payer_id,
        "patient_id": encounter.patient_id,
        "frequency_code": encounter.frequency_code,
        "service_date_from": encounter.service_date_from,
        "service_date_to": encounter.service_date_to,
        "total_charge_cents": total_charge_cents(encounter),
        "currency": encounter.currency,
        "line_count": len(encounter.lines),
        "document": document if document is not None else encounter.model_dump(mode="json"),
    }


@dataclass
class _Scrubber:
    """Scrub contexts for one unit of work, reference data fetched once per claim type."""

    writes: StreamWrites
    settings: ClaimsSettings
    today: dt.date
    diagnosis_problem: Any = dataclasses.field(default_factory=_diagnosis_hook)

    async def contexts(
        self, encounters: list[tuple[str, EncounterCodedV1]], exclude: tuple[uuid.UUID, ...] = ()
    ) -> dict[tuple[str, str], ScrubContext]:
        """A context per (tenant, claim type) covering these encounters."""
        tenants = {tenant for tenant, _ in encounters}
        disabled = await self.writes.disabled_rules(tenants)
        codes_by_type: dict[str, set[str]] = defaultdict(set)
        patients: dict[str, set[uuid.UUID]] = defaultdict(set)
        dates: dict[str, set[dt.date]] = defaultdict(set)
        for tenant, encounter in encounters:
            patients[tenant].add(encounter.patient_id)
            for line in encounter.lines:
                dates[tenant].add(line.service_date)
                if line.procedure_code:
                    codes_by_type[encounter.claim_type].add(line.procedure_code)
        ptp = {kind: await self.writes.ptp_edits(kind, codes) for kind, codes in codes_by_type.items()}
        mue = {kind: await self.writes.mue_edits(kind, codes) for kind, codes in codes_by_type.items()}
        billed = {
            tenant: await self.writes.billed_services(tenant, patients[tenant], dates[tenant], exclude)
            for tenant in tenants
        }
        return {
            (tenant, kind): ScrubContext(
                today=self.today,
                disabled_rules=disabled.get(tenant, frozenset()),
                billed_services=billed[tenant],  # shared per tenant: claims earlier in the batch count
                ptp_edits=ptp.get(kind, {}),
                mue_edits=mue.get(kind, {}),
                diagnosis_problem=self.diagnosis_problem,
            )
            for tenant in tenants
            for kind in ("professional", "institutional")
        }

    def scrub(self, encounter: EncounterCodedV1, context: ScrubContext) -> tuple[DraftClaim, list[Finding]]:
        draft = draft_from_encounter(encounter)
        findings = scrub(draft, context) + writer_findings(
            encounter, submitter=self.settings.submitter, receiver=self.settings.receiver
        )
        return draft, findings


def _remember_services(context: ScrubContext, draft: DraftClaim) -> None:
    billed = context.billed_services
    if isinstance(billed, set):
        billed.update(
            (draft.patient_id, draft.payer_id, line.service_date, line.procedure_code)
            for line in draft.lines
            if line.procedure_code
        )


async def build_claims(
    session: AsyncSession, envelopes: list[EventEnvelope], settings: ClaimsSettings, today: dt.date
) -> int:
    """One claim per new encounter: priced, numbered, scrubbed, and left ready or on hold."""
    writes = StreamWrites(session)
    events = [(envelope, envelope.payload_as(EncounterCodedV1)) for envelope in envelopes]
    existing = await writes.existing_encounters((e.tenant, p.encounter_id) for e, p in events)
    fresh: list[tuple[EventEnvelope, EncounterCodedV1]] = []
    for envelope, encounter in events:
        key = (envelope.tenant, encounter.encounter_id)
        if key not in existing:
            existing.add(key)
            fresh.append((envelope, encounter))
    if not fresh:
        return 0
    wanted: dict[str, set[str]] = defaultdict(set)
    for envelope, encounter in fresh:
        wanted[envelope.tenant] |= fee_schedule_codes(encounter)
    schedules = await writes.fee_schedules(wanted)
    priced = [(e.tenant, price(p, schedules.get(e.tenant, {}))) for e, p in fresh]
    unchanged = [(p is q) for (_, p), (_, q) in zip(fresh, priced, strict=True)]
    scrubber = _Scrubber(writes, settings, today)
    contexts = await scrubber.contexts(priced)
    counts: dict[str, int] = defaultdict(int)
    for tenant, _ in priced:
        counts[tenant] += 1
    next_number = {tenant: await writes.allocate_claim_numbers(tenant, n) for tenant, n in counts.items()}

    claim_rows, line_rows, history_rows = [], [], []
    for (envelope, _), (tenant, encounter), as_sent in zip(fresh, priced, unchanged, strict=True):
        claim_id = uuid.uuid4()
        context = contexts[(tenant, encounter.claim_type)]
        draft, findings = scrubber.scrub(encounter, context)
        _remember_services(context, draft)
        state, reason = _verdict(findings)
        number = claim_control_number(next_number[tenant])
        next_number[tenant] += 1
        claim_rows.append(
            {
                "id": claim_id,
                "tenant_id": tenant,
                "encounter_id": encounter.encounter_id,
                "claim_control_number": number,
                "state": state,
                "findings": [f.as_json() for f in findings],
                **_claim_values(encounter, envelope.data if as_sent else None),
            }
        )
        line_rows += _line_rows(claim_id, tenant, encounter)
        steps: list[tuple[ClaimState | None, ClaimState]] = [(None, S.DRAFT), *path(S.DRAFT, S.SCRUBBED, state)]
        history_rows += _history(
            claim_id,
            tenant,
            steps,
            [f"built from encounter-coded event {envelope.id}", f"{len(findings)} finding(s)", reason],
        )
    inserted = await writes.insert_claims(claim_rows)
    await writes.insert_lines([row for row in line_rows if row["claim_id"] in inserted])
    await writes.record_transitions([row for row in history_rows if row["claim_id"] in inserted])
    return len(inserted)


# ----------------------------------------------------------------------------- held claims


async def _held_claim(session: AsyncSession, repository: ClaimRepository, claim_id: uuid.UUID, action: str) -> Any:
    """The claim, locked; a rejected claim is taken off the rejection queue onto hold first."""
    row = await repository.get(claim_id, for_update=True)
    if row is None:
        raise ClaimNotFound(claim_id)
    if row.state == S.REJECTED:
        transition(S.REJECTED, S.ON_HOLD)
        await repository.update(claim_id, state=S.ON_HOLD)
        await StreamWrites(session).record_transitions(
            _history(claim_id, row.tenant_id, [(S.REJECTED, S.ON_HOLD)], [f"rejection taken up to be {action}"])
        )
        row = await repository.get(claim_id)
    elif row.state != S.ON_HOLD:
        raise ClaimNotWorkable(f"only a claim on hold or rejected can be {action}; this one is {row.state}")
    return row


async def fix_claim(session: AsyncSession, tenant: str, claim_id: uuid.UUID, fix: ClaimFix) -> None:
    """Applies corrections to a held claim; it stays on hold until released (and re-scrubbed)."""
    repository = ClaimRepository(session, tenant)
    row = await _held_claim(session, repository, claim_id, "fixed")
    encounter = apply_fix(EncounterCodedV1.model_validate(row.document), fix)
    values = _claim_values(encounter)
    await repository.update(claim_id, **values)
    await repository.replace_lines(claim_id, _line_rows(claim_id, tenant, encounter))
    await StreamWrites(session).record_transitions(
        _history(claim_id, tenant, [(S.ON_HOLD, S.ON_HOLD)], [f"fixed: {fix.summary()}"])
    )


async def release_claim(
    session: AsyncSession, tenant: str, claim_id: uuid.UUID, settings: ClaimsSettings, today: dt.date
) -> ClaimState:
    """Re-prices and re-scrubs a held claim: ready when clean, else on hold with the new reasons."""
    repository = ClaimRepository(session, tenant)
    row = await _held_claim(session, repository, claim_id, "released")
    writes = StreamWrites(session)
    encounter = EncounterCodedV1.model_validate(row.document)
    schedules = await writes.fee_schedules({tenant: fee_schedule_codes(encounter)})
    encounter = price(encounter, schedules.get(tenant, {}))
    scrubber = _Scrubber(writes, settings, today)
    contexts = await scrubber.contexts([(tenant, encounter)], exclude=(claim_id,))
    _, findings = scrubber.scrub(encounter, contexts[(tenant, encounter.claim_type)])
    state, reason = _verdict(findings)
    steps = path(S.ON_HOLD, S.SCRUBBED, state)
    await repository.update(claim_id, state=state, findings=[f.as_json() for f in findings], **_claim_values(encounter))
    await repository.replace_lines(claim_id, _line_rows(claim_id, tenant, encounter))
    await writes.record_transitions(_history(claim_id, tenant, steps, ["released for a new scrub", reason]))
    return state


async def build_secondary_claim(
    session: AsyncSession,
    tenant: str,
    primary: Any,
    encounter: EncounterCodedV1,
    settings: ClaimsSettings,
    today: dt.date,
) -> str | None:
    """The secondary claim of `primary`, scrubbed and left ready or on hold like any claim; its CLM01,
    or None when the primary already has its secondary (the UNIQUE on primary_claim_id decides)."""
    writes = StreamWrites(session)
    scrubber = _Scrubber(writes, settings, today)
    context = (await scrubber.contexts([(tenant, encounter)]))[(tenant, encounter.claim_type)]
    _, findings = scrubber.scrub(encounter, context)
    state, reason = _verdict(findings)
    claim_id = uuid.uuid4()
    number = claim_control_number(await writes.allocate_claim_numbers(tenant, 1))
    inserted = await writes.insert_secondary_claims(
        [
            {
                "id": claim_id,
                "tenant_id": tenant,
                "encounter_id": encounter.encounter_id,
                "claim_control_number": number,
                "state": state,
                "findings": [f.as_json() for f in findings],
                "primary_claim_id": primary.id,
                "responsibility": encounter.coverage.responsibility if encounter.coverage else "S",
                **_claim_values(encounter),
            }
        ]
    )
    if not inserted:
        return None
    await writes.insert_lines(_line_rows(claim_id, tenant, encounter))
    steps: list[tuple[ClaimState | None, ClaimState]] = [(None, S.DRAFT), *path(S.DRAFT, S.SCRUBBED, state)]
    await writes.record_transitions(
        _history(
            claim_id,
            tenant,
            steps,
            [f"secondary of {primary.claim_control_number} from its remittance", f"{len(findings)} finding(s)", reason],
        )
    )
    return number


# ----------------------------------------------------------------------------- batching


def _submitted_event(row: Any, claim: Claim, interchange_number: int, at: dt.datetime) -> ClaimSubmittedV1:
    encounter = row.document
    return ClaimSubmittedV1(
        claim_id=row.id,
        encounter_id=row.encounter_id,
        claim_control_number=claim.control_number,
        payer_id=claim.payer.payer_id,
        claim_type="institutional" if claim.institutional else "professional",
        frequency_code=claim.frequency.value,
        total_charge_cents=claim.total_charge_cents,
        currency=encounter.get("currency", "USD"),
        lines=[
            SubmittedClaimLine(
                line_number=source["line_number"],
                line_control_number=line.control_number or line_control_number(claim.control_number, index),
                procedure_code=line.procedure_code or line.revenue_code or "",
                modifiers=list(line.modifiers),
                units=int(line.units),
                charge_cents=line.charge_cents,
            )
            for index, (source, line) in enumerate(zip(encounter["lines"], claim.lines, strict=True), start=1)
        ],
        interchange_control_number=f"{interchange_number:09d}",
        submitted_at=at,
        patient_id=row.patient_id,
        service_date_from=encounter.get("service_date_from"),
        billing_provider_npi=claim.billing_provider.npi,
        billing_provider_name=claim.billing_provider.name,
    )


def _write(pairs: list[tuple[Any, Claim]], control: Any, now: dt.datetime, settings: ClaimsSettings) -> Any:
    return write_batches(
        [claim for _, claim in pairs],
        control,
        now,
        usage=UsageIndicator(settings.usage_indicator),
        max_claims_per_transaction=settings.max_claims_per_transaction,
    )


def _writable(pairs: list[tuple[Any, Claim]]) -> tuple[list[tuple[Any, Claim]], list[tuple[Any, list[Finding]]]]:
    """Claims the writer accepts, and the others with its reasons (field paths, not values)."""
    kept, refused = [], []
    for row, claim in pairs:
        problems = validate_claims([claim])
        if problems:
            findings = [
                Finding(
                    "x12.837", Severity.ERROR, f"{p.field.removeprefix('claims[0].')}: {p.message.split(', got ')[0]}"
                )
                for p in problems
            ]
            refused.append((row, findings))
        else:
            kept.append((row, claim))
    return kept, refused


async def batch_ready_claims(session: AsyncSession, outbox: Outbox, settings: ClaimsSettings, now: dt.datetime) -> int:
    """Takes READY claims (skipping those another batcher holds), writes one 837 interchange per
    tenant, payer and submitter, stores it with its control numbers, marks the claims batched and
    emits `claim-submitted` for each, all in the caller's transaction. Returns the claims batched."""
    writes = StreamWrites(session)
    rows = await writes.take_ready(settings.batch_size)
    if not rows:
        return 0
    by_tenant: dict[str, list[tuple[Any, Claim]]] = defaultdict(list)
    held: list[tuple[Any, list[Finding]]] = []
    for row in rows:
        try:
            claim = claim_from_encounter(
                EncounterCodedV1.model_validate(row.document),
                control_number=row.claim_control_number,
                submitter=settings.submitter,
                receiver=settings.receiver,
            )
        except (ClaimMappingError, ValueError) as exc:
            held.append((row, [Finding("x12.837", Severity.ERROR, f"cannot be written as an 837: {exc}")]))
            continue
        by_tenant[row.tenant_id].append((row, claim))
    submitter_id = settings.submitter.identifier
    control = await writes.lock_control_numbers(submitter_id)
    submission_rows, transaction_rows, updates, history = [], [], [], []
    events: dict[str, list[tuple[str, EventPayload]]] = defaultdict(list)
    for tenant, pairs in by_tenant.items():
        if not pairs:
            continue
        try:
            batch = _write(pairs, control, now, settings)
        except ClaimValidationError:
            pairs, refused = _writable(pairs)
            held += refused
            if not pairs:
                continue
            batch = _write(pairs, control, now, settings)
        by_number = {claim.control_number: (row, claim) for row, claim in pairs}
        control = batch.next_control_numbers
        for interchange in batch.interchanges:
            submission_id = uuid.uuid4()
            submission_rows.append(
                {
                    "id": submission_id,
                    "tenant_id": tenant,
                    "submitter_id": interchange.submitter_id,
                    "receiver_id": interchange.receiver_id,
                    "payer_id": interchange.payer_ids[0],
                    "interchange_control_number": interchange.interchange_control_number,
                    "claim_count": interchange.claim_count,
                    "x12": interchange.text,
                    "status": "stored",
                    "created_at": now,
                }
            )
            for transaction in interchange.transactions:
                transaction_rows.append(
                    {
                        "submission_id": submission_id,
                        "submitter_id": interchange.submitter_id,
                        "group_control_number": transaction.group_control_number,
                        "transaction_control_number": transaction.control_number,
                        "kind": transaction.kind.value,
                        "claim_count": len(transaction.claim_control_numbers),
                    }
                )
                for number in transaction.claim_control_numbers:
                    row, claim = by_number[number]
                    transition(S.READY, S.BATCHED)
                    updates.append(
                        {
                            "claim": row.id,
                            "state": S.BATCHED,
                            "submission": submission_id,
                            "transaction": transaction.control_number,
                        }
                    )
                    history += _history(
                        row.id,
                        tenant,
                        [(S.READY, S.BATCHED)],
                        [f"interchange {interchange.interchange_control_number:09d} ST {transaction.control_number}"],
                    )
                    events[tenant].append(
                        (str(row.id), _submitted_event(row, claim, interchange.interchange_control_number, now))
                    )
    await writes.save_control_numbers(submitter_id, control)
    await writes.insert_submissions(submission_rows, transaction_rows)
    await writes.set_batched(updates)
    for row, findings in held:
        await writes.hold(row.id, [f.as_json() for f in findings])
        history += _history(row.id, row.tenant_id, [(S.READY, transition(S.READY, S.ON_HOLD))], ["held by x12.837"])
    await writes.record_transitions(history)
    for tenant, tenant_events in events.items():
        await outbox.add_many(session, tenant=tenant, events=tenant_events)
    CLAIMS_BATCHED.inc(len(updates))
    return len(updates) + len(held)


# ----------------------------------------------------------------------------- sending


def submission_file_name(submitter_id: str, interchange_control_number: int, submission_id: uuid.UUID) -> str:
    """Unique per submission and stable, so a re-sent file is recognised by the adapter as the same."""
    safe = "".join(c if c.isalnum() else "-" for c in submitter_id)[:30]
    return f"837-{safe}-{interchange_control_number:09d}-{submission_id.hex[:12]}.x12"


async def send_stored_submissions(sessions: Any, adapter: ClearinghouseAdapter, *, limit: int, now: Any = None) -> int:
    """Hands stored 837 files to the clearinghouse adapter, then marks them sent and their claims
    submitted. The adapter's submit is idempotent by file name, so a crash between sending and
    marking only sends the same file again. Returns the claims submitted."""
    async with unit_of_work(sessions) as session:
        pending = await StreamWrites(session).stored_submissions(limit)
    submitted = 0
    for submission in pending:
        name = submission_file_name(submission.submitter_id, submission.interchange_control_number, submission.id)
        receipt = await adapter.submit(name, submission.x12.encode("ascii"))
        async with unit_of_work(sessions) as session:
            writes = StreamWrites(session)
            claims_sent = await writes.mark_sent(submission.id, receipt.submitted_at)
            await writes.record_transitions(
                [
                    {
                        "claim_id": row.id,
                        "tenant_id": row.tenant_id,
                        "from_state": S.BATCHED,
                        "to_state": transition(S.BATCHED, row.state),
                        "reason": f"sent as {receipt.file_name} (sha256 {receipt.sha256[:12]})",
                    }
                    for row in claims_sent
                ]
            )
        submitted += len(claims_sent)
    return submitted
