"""The claims service's logic: claims built and scrubbed from coded encounters, fixes and releases
of held claims, and READY claims batched into stored 837 interchanges with `claim-submitted` out.

Domain decisions are the pure functions of `domain/`; SQL is in `repository.py`; the caller's unit
of work commits (a consumed batch, a request, one batching round).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import logging
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.domain.claim import Claim, ClaimFrequency, Receiver, Submitter
from services.claims.domain.claim_builder import (
    ClaimMappingError,
    CodedEncounter,
    checked_claim,
    claim_from_encounter,
    draft_from_encounter,
    fee_schedule_codes,
    line_control_number,
    price,
    total_charge_cents,
)
from services.claims.domain.claim_checks import ClaimValidationError, validate_claims
from services.claims.domain.claim_state import CANCELLABLE_STATES, ClaimState, IllegalTransition, path, sent_path
from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.fixes import ClaimFix, apply_fix
from services.claims.domain.party_changes import mended
from services.claims.domain.scrubber import DraftClaim, Finding, ScrubContext, Severity, holds, scrub
from services.claims.domain.x12_837 import Batch837, UsageIndicator, write_batches
from services.claims.lifecycle import ClaimNotFound, Route, StateChange, change_states, note, record_new, to
from services.claims.metrics import CLAIMS_BATCHED, CLAIMS_HELD
from services.claims.records import (
    ClaimContents,
    ClaimLine,
    ClaimRecord,
    JsonObject,
    LockedClaim,
    NewClaim,
    ReadyClaim,
    StateColumns,
    StatusChange,
    Submission,
    SubmissionRef,
    SubmissionTransaction,
    Visit,
)
from services.claims.repository import ClaimRepository, StreamWrites
from services.claims.settings import ClaimsSettings
from shared import codesets
from shared.clearinghouse import ClearinghouseAdapter
from shared.db import unit_of_work
from shared.events import wire
from shared.events.catalog import (
    ClaimCancelledV1,
    CoverageCorrectionRequestedV1,
    EncounterCodedV1,
    PartyChangedV1,
)
from shared.events.envelope import EventEnvelope
from shared.messaging.outbox import Outbox, OutgoingEvent
from shared.patient_match import MemberDigest
from shared.telemetry.tracing import trace_headers_continuer

log = logging.getLogger(__name__)
CLAIM_NUMBER_PREFIX = "CF"
DiagnosisProblem = Callable[[str, dt.date], str | None]


class ClaimNotWorkable(ValueError):
    """The claim is not in a state that accepts this action."""


def claim_control_number(sequence: int) -> str:
    """CLM01: unique per tenant, at most 20 characters (the 835 echoes it as CLP01)."""
    return f"{CLAIM_NUMBER_PREFIX}{sequence:010d}"


def _diagnosis_hook() -> DiagnosisProblem | None:
    """The shared ICD-10-CM releases, chosen by date of service: the same intake checked."""
    return codesets.validate_icd10cm


@functools.cache  # the state machine is fixed: the same walk for every new claim that ends in `state`
def _new_claim_steps(state: ClaimState) -> tuple[tuple[ClaimState | None, ClaimState], ...]:
    return ((None, ClaimState.DRAFT), *path(ClaimState.DRAFT, ClaimState.SCRUBBED, state))


def _new_claim_history(
    claim_id: uuid.UUID, tenant: str, state: ClaimState, reasons: Sequence[str]
) -> list[StatusChange]:
    """None → draft → scrubbed → ready or on hold, every step checked by the state machine."""
    steps = _new_claim_steps(state)
    return [
        StatusChange(claim_id, tenant, before, after, reason)
        for (before, after), reason in zip(steps, reasons, strict=True)
    ]


def _verdict(findings: list[Finding]) -> tuple[ClaimState, str]:
    if holds(findings):
        rules = sorted({f.rule_id for f in findings if f.severity is Severity.ERROR})
        for rule_id in rules:
            CLAIMS_HELD.labels(rule_id).inc()
        return ClaimState.ON_HOLD, "held by " + ", ".join(rules)
    warnings = sorted({f.rule_id for f in findings})
    return ClaimState.READY, "clean" + (f" (warnings: {', '.join(warnings)})" if warnings else "")


def _findings_json(findings: list[Finding]) -> list[JsonObject]:
    return [dict(f.as_json()) for f in findings]


def _lines(claim_id: uuid.UUID, tenant: str, encounter: CodedEncounter) -> list[ClaimLine]:
    patient_id, payer_id = encounter.patient_id, encounter.payer_id
    return [
        ClaimLine(
            claim_id,
            line.line_number,
            tenant,
            patient_id,
            payer_id,
            line.procedure_code,
            line.revenue_code,
            list(line.modifiers),
            line.units,
            line.charge_cents,
            list(line.diagnosis_pointers),
            line.service_date,
        )
        for line in encounter.lines
    ]


def _contents(encounter: CodedEncounter, document: JsonObject | None = None) -> ClaimContents:
    """Columns of a claim from its encounter; `document` is the encounter as JSON when already at hand."""
    return ClaimContents(
        claim_type=encounter.claim_type,
        payer_id=encounter.payer_id,
        patient_id=encounter.patient_id,
        frequency_code=encounter.interim_frequency_code or encounter.frequency_code,
        service_date_from=encounter.service_date_from,
        service_date_to=encounter.service_date_to,
        total_charge_cents=total_charge_cents(encounter),
        currency=encounter.currency,
        line_count=len(encounter.lines),
        document=document if document is not None else _document(encounter),
        billing_provider_npi=encounter.billing_provider_npi,
    )


def _document(encounter: CodedEncounter) -> JsonObject:
    """The encounter as JSON, as its model dumps it (the mirror's fields are the model's, in the same order)."""
    if isinstance(encounter, wire.EncounterCodedV1):
        document: JsonObject = msgspec.to_builtins(encounter)
        return document
    return encounter.model_dump(mode="json")


@dataclass
class _Scrubber:
    """Scrub contexts for one unit of work, reference data fetched once per claim type."""

    writes: StreamWrites
    settings: ClaimsSettings
    today: dt.date
    diagnosis_problem: DiagnosisProblem | None = dataclasses.field(default_factory=_diagnosis_hook)
    submitter: Submitter = dataclasses.field(init=False)
    receiver: Receiver = dataclasses.field(init=False)
    procedure_problem: DiagnosisProblem = dataclasses.field(init=False)
    modifier_problem: DiagnosisProblem = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.submitter, self.receiver = self.settings.submitter, self.settings.receiver  # built once, not per claim
        # The code-set answers for this unit of work, remembered per (code, date of service): a batch's claims
        # repeat the same few codes; a new unit of work asks the code sets again (a release may be added).
        if self.diagnosis_problem is not None:
            self.diagnosis_problem = functools.cache(self.diagnosis_problem)
        self.procedure_problem = functools.cache(codesets.validate_procedure)
        self.modifier_problem = functools.cache(codesets.validate_modifier)

    async def contexts(
        self, encounters: Sequence[tuple[str, CodedEncounter]], exclude: tuple[uuid.UUID, ...] = ()
    ) -> dict[tuple[str, str], ScrubContext]:
        """A context per (tenant, claim type) covering these encounters."""
        tenants = {tenant for tenant, _ in encounters}
        disabled = await self.writes.disabled_rules(tenants)
        codes_by_type: dict[str, set[str]] = defaultdict(set)
        visits: set[Visit] = set()  # the (patient, payer, date) of every line the duplicate rule looks up
        for tenant, encounter in encounters:
            for line in encounter.lines:
                if line.procedure_code:
                    codes_by_type[encounter.claim_type].add(line.procedure_code)
                    visits.add(Visit(tenant, encounter.patient_id, encounter.payer_id, line.service_date))
        ptp = {kind: await self.writes.ptp_edits(kind, codes) for kind, codes in codes_by_type.items()}
        mue = {kind: await self.writes.mue_edits(kind, codes) for kind, codes in codes_by_type.items()}
        billed = await self.writes.billed_services(visits, exclude)
        return {
            (tenant, kind): ScrubContext(
                today=self.today,
                disabled_rules=disabled.get(tenant, frozenset()),
                billed_services=billed.setdefault(tenant, set()),  # one per tenant: claims earlier in the batch count
                ptp_edits=ptp.get(kind, {}),
                mue_edits=mue.get(kind, {}),
                diagnosis_problem=self.diagnosis_problem,
                procedure_problem=self.procedure_problem,
                modifier_problem=self.modifier_problem,
            )
            for tenant in tenants
            for kind in ("professional", "institutional")
        }

    def scrub(self, encounter: CodedEncounter, context: ScrubContext) -> tuple[DraftClaim, list[Finding]]:
        draft, findings, _ = self.scrub_claim(encounter, context, "X" * 20)
        return draft, findings

    def scrub_claim(
        self, encounter: CodedEncounter, context: ScrubContext, control_number: str
    ) -> tuple[DraftClaim, list[Finding], Claim | None]:
        """The scrubber's findings with the 837 writer's own, and the writer's claim they were found on."""
        draft = draft_from_encounter(encounter)
        claim, writer = checked_claim(
            encounter,
            submitter=self.submitter,
            receiver=self.receiver,
            control_number=control_number,
            missing=draft.missing,
        )
        return draft, scrub(draft, context) + writer, claim


@dataclass(frozen=True, slots=True)
class _BuiltClaim:
    """The 837 writer's claim as a scrub built and checked it, with the little of its encounter the
    `claim-submitted` event needs."""

    claim: Claim
    currency: str
    line_numbers: tuple[int, ...]
    service_date_from: dt.date


def _built(claim: Claim, encounter: CodedEncounter) -> _BuiltClaim:
    numbers = tuple(line.line_number for line in encounter.lines)
    return _BuiltClaim(claim, encounter.currency, numbers, encounter.service_date_from)


class _BuiltClaims:
    """Claims this process built READY, kept until it batches them, so the batcher neither parses the stored
    document nor builds the 837 claim a second time. A kept claim is used only when its row is still the version
    its insert wrote (`ReadyClaim.row_version`: nothing has written the claim since, so its document is the one
    it was built from) and its number, submitter and receiver are the same; otherwise (built by another replica,
    fixed or released since, or this process restarted) the batcher reads its document and builds it from that
    as before. Bounded in count; an entry older than `max_age_s` (its claim held, cancelled or
    batched elsewhere) makes room for a new one, else the new one is not kept (the batcher takes the oldest
    claims first)."""

    def __init__(self, capacity: int, max_age_s: float) -> None:
        self._capacity = capacity
        self._max_age_s = max_age_s
        self._claims: OrderedDict[uuid.UUID, tuple[float, int, _BuiltClaim]] = OrderedDict()

    def keep(self, claim_id: uuid.UUID, row_version: int, built: _BuiltClaim) -> None:
        now = time.monotonic()
        if len(self._claims) >= self._capacity:
            oldest = next(iter(self._claims.values()))[0]
            if now - oldest < self._max_age_s:
                return
            self._claims.popitem(last=False)
        self._claims[claim_id] = (now, row_version, built)

    def take(self, ready: ReadyClaim, submitter: Submitter, receiver: Receiver) -> _BuiltClaim | None:
        """The kept claim for this READY row if it is still what the row holds (it is forgotten either way)."""
        entry = self._claims.pop(ready.id, None)
        if entry is None:
            return None
        _, row_version, built = entry
        if row_version != ready.row_version:
            return None
        claim = built.claim
        if (claim.control_number, claim.submitter, claim.receiver) != (ready.claim_control_number, submitter, receiver):
            return None
        return built


_BUILT_CLAIMS = _BuiltClaims(capacity=20_000, max_age_s=300.0)


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
    """One claim per new encounter: priced, numbered, scrubbed, and left ready or on hold. The claim numbers are
    allocated in a short transaction of their own (`StreamWrites.allocate_claim_numbers`): another batch of the
    same tenant, in this process or another replica, is not held up by this one; a batch rolled back leaves a gap."""
    writes = StreamWrites(session)
    events = [(e, e.payload_as(wire.EncounterCodedV1)) for e in envelopes]  # the mirror: no pydantic per event
    existing = await writes.existing_encounters((e.tenant, p.encounter_id) for e, p in events)
    fresh: list[tuple[EventEnvelope, wire.EncounterCodedV1]] = []
    for envelope, encounter in events:
        key = (envelope.tenant, encounter.encounter_id)
        if key not in existing:
            existing.add(key)
            fresh.append((envelope, encounter))
    if not fresh:
        return 0
    counts: dict[str, int] = defaultdict(int)
    for envelope, _ in fresh:
        counts[envelope.tenant] += 1
    # committed apart, no lock held while we scrub; on its own connection, so its round trip and commit run while
    # this session reads the fee schedules and the scrubber's reference data
    allocation = asyncio.create_task(writes.allocate_claim_numbers(counts))
    try:
        wanted: dict[str, set[str]] = defaultdict(set)
        for envelope, encounter in fresh:
            wanted[envelope.tenant] |= fee_schedule_codes(encounter)
        schedules = await writes.fee_schedules(wanted)
        priced = [(e.tenant, price(p, schedules.get(e.tenant, {}))) for e, p in fresh]
        scrubber = _Scrubber(writes, settings, today)
        contexts = await scrubber.contexts(priced)
    except BaseException:
        allocation.cancel()  # a rolled-back batch's numbers are a gap either way
        await asyncio.gather(allocation, return_exceptions=True)
        raise
    next_number = await allocation
    unchanged = [(p is q) for (_, p), (_, q) in zip(fresh, priced, strict=True)]

    new_claims: list[NewClaim] = []
    lines: list[ClaimLine] = []
    history: list[StatusChange] = []
    ready: dict[uuid.UUID, _BuiltClaim] = {}
    continued_trace_headers = trace_headers_continuer()  # one current span for the whole batch
    for (envelope, _), (tenant, encounter), as_sent in zip(fresh, priced, unchanged, strict=True):
        claim_id = uuid.uuid4()
        context = contexts[(tenant, encounter.claim_type)]
        number = claim_control_number(next_number[tenant])
        draft, findings, claim = scrubber.scrub_claim(encounter, context, number)
        state, reason = _verdict(findings)
        contents = _contents(encounter, envelope.data if as_sent else None)
        if state is ClaimState.READY:  # a held claim bills nothing, so it duplicates nothing
            _remember_services(context, draft)
            if claim is not None:
                ready[claim_id] = _built(claim, encounter)
        new_claims.append(
            NewClaim(
                id=claim_id,
                tenant_id=tenant,
                encounter_id=encounter.encounter_id,
                claim_control_number=number,
                state=state,
                findings=_findings_json(findings),
                contents=contents,
                trace_context=continued_trace_headers(envelope.trace_headers),
            )
        )
        next_number[tenant] += 1
        lines += _lines(claim_id, tenant, encounter)
        history += _new_claim_history(
            claim_id,
            tenant,
            state,
            [f"built from encounter-coded event {envelope.id}", f"{len(findings)} finding(s)", reason],
        )
    inserted = await writes.insert_claims(new_claims)
    await writes.insert_lines([line for line in lines if line.claim_id in inserted])
    await record_new(session, [change for change in history if change.claim_id in inserted])
    for claim_id, built in ready.items():
        row_version = inserted.get(claim_id)
        if row_version is not None:  # kept before the commit: a rolled-back claim's id is never batched, ages out
            _BUILT_CLAIMS.keep(claim_id, row_version, built)
    return len(inserted)


# ----------------------------------------------------------------------------- held claims


async def _held_claim(
    session: AsyncSession, outbox: Outbox, repository: ClaimRepository, claim_id: uuid.UUID, action: str
) -> ClaimRecord:
    """The claim, locked; a rejected claim is taken off the rejection queue onto hold first."""
    claim = await repository.get(claim_id, for_update=True)
    if claim is None:
        raise ClaimNotFound(claim_id)
    if claim.state is ClaimState.REJECTED:
        await change_states(
            session, outbox, [StateChange(claim_id, to(ClaimState.ON_HOLD), f"rejection taken up to be {action}")]
        )
        return dataclasses.replace(claim, state=ClaimState.ON_HOLD)
    if claim.state is not ClaimState.ON_HOLD:
        raise ClaimNotWorkable(f"only a claim on hold or rejected can be {action}; this one is {claim.state}")
    return claim


async def fix_claim(session: AsyncSession, outbox: Outbox, tenant: str, claim_id: uuid.UUID, fix: ClaimFix) -> None:
    """Applies corrections to a held claim; it stays on hold until released (and re-scrubbed)."""
    repository = ClaimRepository(session, tenant)
    claim = await _held_claim(session, outbox, repository, claim_id, "fixed")
    encounter = apply_fix(EncounterCodedV1.model_validate(claim.document), fix)
    await repository.update_contents(claim_id, _contents(encounter))
    await repository.replace_lines(claim_id, _lines(claim_id, tenant, encounter))
    await note(session, claim_id, tenant, ClaimState.ON_HOLD, f"fixed: {fix.summary()}")
    member_id = fix.claim_changes.get("subscriber_member_id")
    if isinstance(member_id, str) and encounter.coverage is not None:  # the coverage takes the correction
        correction = CoverageCorrectionRequestedV1(
            claim_id=claim_id,
            coverage_id=encounter.coverage.coverage_id,
            patient_id=encounter.patient_id,
            member_id=member_id,
        )
        await outbox.add(session, tenant=tenant, subject=str(encounter.coverage.coverage_id), payload=correction)


async def release_claim(
    session: AsyncSession, outbox: Outbox, tenant: str, claim_id: uuid.UUID, settings: ClaimsSettings, today: dt.date
) -> ClaimState:
    """Re-prices and re-scrubs a held claim: ready when clean, else on hold with the new reasons."""
    repository = ClaimRepository(session, tenant)
    claim = await _held_claim(session, outbox, repository, claim_id, "released")
    writes = StreamWrites(session)
    encounter = EncounterCodedV1.model_validate(claim.document)
    schedules = await writes.fee_schedules({tenant: fee_schedule_codes(encounter)})
    encounter = price(encounter, schedules.get(tenant, {}))
    scrubber = _Scrubber(writes, settings, today)
    contexts = await scrubber.contexts([(tenant, encounter)], exclude=(claim_id,))
    _, findings = scrubber.scrub(encounter, contexts[(tenant, encounter.claim_type)])
    state, reason = _verdict(findings)
    await repository.update_contents(claim_id, _contents(encounter))
    await repository.replace_lines(claim_id, _lines(claim_id, tenant, encounter))
    await change_states(
        session,
        outbox,
        [
            StateChange(
                claim_id,
                to(ClaimState.SCRUBBED, state),
                ["released for a new scrub", reason],
                StateColumns(findings=_findings_json(findings)),
            )
        ],
    )
    return state


async def build_secondary_claim(
    session: AsyncSession,
    tenant: str,
    primary_id: uuid.UUID,
    primary_number: str,
    encounter: EncounterCodedV1,
    settings: ClaimsSettings,
    today: dt.date,
) -> str | None:
    """The secondary claim of the primary, scrubbed and left ready or on hold like any claim; its CLM01,
    or None when the primary already has its secondary (the UNIQUE on primary_claim_id decides)."""
    writes = StreamWrites(session)
    scrubber = _Scrubber(writes, settings, today)
    context = (await scrubber.contexts([(tenant, encounter)]))[(tenant, encounter.claim_type)]
    _, findings = scrubber.scrub(encounter, context)
    state, reason = _verdict(findings)
    claim_id = uuid.uuid4()
    number = claim_control_number((await writes.allocate_claim_numbers({tenant: 1}))[tenant])
    secondary = NewClaim(
        id=claim_id,
        tenant_id=tenant,
        encounter_id=encounter.encounter_id,
        claim_control_number=number,
        state=state,
        findings=_findings_json(findings),
        contents=_contents(encounter),
        primary_claim_id=primary_id,
        responsibility=encounter.coverage.responsibility if encounter.coverage else "S",
    )
    if not await writes.insert_secondary_claims([secondary]):
        return None
    await writes.insert_lines(_lines(claim_id, tenant, encounter))
    reasons = [f"secondary of {primary_number} from its remittance", f"{len(findings)} finding(s)", reason]
    await record_new(session, _new_claim_history(claim_id, tenant, state, reasons))
    return number


async def build_corrected_claim(
    session: AsyncSession,
    original: ClaimRecord,
    encounter: EncounterCodedV1,
    *,
    claim_id: uuid.UUID,
    encounter_id: uuid.UUID,
    settings: ClaimsSettings,
    today: dt.date,
    why: str,
) -> str:
    """A replacement (frequency 7) or void (frequency 8) of `original`, scrubbed and left ready or on
    hold like any claim (the original is not counted as billed twice); its CLM01."""
    tenant = original.tenant_id
    writes = StreamWrites(session)
    scrubber = _Scrubber(writes, settings, today)
    context = (await scrubber.contexts([(tenant, encounter)], exclude=(original.id,)))[(tenant, encounter.claim_type)]
    _, findings = scrubber.scrub(encounter, context)
    state, reason = _verdict(findings)
    number = claim_control_number((await writes.allocate_claim_numbers({tenant: 1}))[tenant])
    corrected = NewClaim(
        id=claim_id,
        tenant_id=tenant,
        encounter_id=encounter_id,
        claim_control_number=number,
        state=state,
        findings=_findings_json(findings),
        contents=_contents(encounter),
        responsibility=original.responsibility,
    )
    await writes.insert_claims([corrected])
    await writes.insert_lines(_lines(claim_id, tenant, encounter))
    await record_new(session, _new_claim_history(claim_id, tenant, state, [why, f"{len(findings)} finding(s)", reason]))
    return number


# ----------------------------------------------------------------------------- batching


@dataclass(frozen=True, slots=True)
class _Writable:
    """A READY claim as the 837 writer sees it, with the little of its encounter the event needs (the
    parsed encounter is not kept: a round holds thousands)."""

    ready: ReadyClaim
    claim: Claim
    currency: str
    line_numbers: tuple[int, ...]
    service_date_from: dt.date


_STORED_ENCOUNTER = msgspec.json.Decoder(wire.EncounterCodedV1)


def _stored_encounter(document: str) -> CodedEncounter:
    """A stored claim document as the encounter's msgspec mirror (same fields, same rules, several times faster than
    the model: with two replicas the batching one builds about half its claims from their documents, those the
    other replica built); a document the mirror refuses is judged by the model, as an event's payload is."""
    try:
        encounter: wire.EncounterCodedV1 = _STORED_ENCOUNTER.decode(document)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return EncounterCodedV1.model_validate_json(document)
    return encounter


def _writable_claim(ready: ReadyClaim, document: str, submitter: Submitter, receiver: Receiver) -> _Writable:
    """A READY claim the batcher did not keep, built from its stored document."""
    encounter = _stored_encounter(document)
    claim = claim_from_encounter(
        encounter, control_number=ready.claim_control_number, submitter=submitter, receiver=receiver
    )
    numbers = tuple(line.line_number for line in encounter.lines)
    return _Writable(ready, claim, encounter.currency, numbers, encounter.service_date_from)


_FREQUENCY_CODES: dict[ClaimFrequency, tuple[Literal["1", "7", "8"], Literal["2", "3", "4", "5"] | None]] = {
    ClaimFrequency.ORIGINAL: ("1", None),
    ClaimFrequency.REPLACEMENT: ("7", None),
    ClaimFrequency.VOID: ("8", None),
    ClaimFrequency.INTERIM_FIRST: ("1", "2"),
    ClaimFrequency.INTERIM_CONTINUING: ("1", "3"),
    ClaimFrequency.INTERIM_LAST: ("1", "4"),
    ClaimFrequency.LATE_CHARGES: ("1", "5"),
}
"""`claim-submitted`'s frequency_code and interim_frequency_code of each CLM05-3."""


def _submitted_event(
    tenant: str, item: _Writable, interchange_number: int, at: dt.datetime, member_digest: MemberDigest
) -> wire.ClaimSubmittedV1:
    """`claim-submitted` as its msgspec mirror: the outbox encodes it as the model would, without pydantic building
    and validating an event per claim (every value comes from a claim the 837 writer's checks passed)."""
    claim = item.claim
    return wire.ClaimSubmittedV1(
        claim_id=item.ready.id,
        encounter_id=item.ready.encounter_id,
        claim_control_number=claim.control_number,
        payer_id=claim.payer.payer_id,
        claim_type="institutional" if claim.institutional else "professional",
        frequency_code=_FREQUENCY_CODES[claim.frequency][0],
        interim_frequency_code=_FREQUENCY_CODES[claim.frequency][1],
        total_charge_cents=claim.total_charge_cents,
        currency=item.currency,
        lines=[
            wire.SubmittedClaimLine(
                line_number=number,
                line_control_number=line.control_number or line_control_number(claim.control_number, index),
                procedure_code=line.procedure_code or line.revenue_code or "",
                modifiers=list(line.modifiers),
                units=int(line.units),
                charge_cents=line.charge_cents,
            )
            for index, (number, line) in enumerate(zip(item.line_numbers, claim.lines, strict=True), start=1)
        ],
        interchange_control_number=f"{interchange_number:09d}",
        submitted_at=at,
        patient_id=item.ready.patient_id,
        service_date_from=item.service_date_from,
        billing_provider_npi=claim.billing_provider.npi,
        billing_provider_name=claim.billing_provider.name,
        member_digest=member_digest.of(tenant, claim.subscriber.member_id),
    )


def _write(items: list[_Writable], control: ControlNumbers, now: dt.datetime, settings: ClaimsSettings) -> Batch837:
    return write_batches(
        [item.claim for item in items],
        control,
        now,
        usage=UsageIndicator(settings.usage_indicator),
        max_claims_per_transaction=settings.max_claims_per_transaction,
        checked=True,  # READY: the writer's checks passed when it was scrubbed, on the same document
    )


def _hold(ready: ReadyClaim, findings: list[Finding]) -> StateChange:
    return StateChange(
        ready.id, to(ClaimState.ON_HOLD), "held by x12.837", StateColumns(findings=_findings_json(findings))
    )


def _writable(items: list[_Writable]) -> tuple[list[_Writable], list[StateChange]]:
    """Claims the writer accepts, and holds for the others with its reasons (field paths, not values)."""
    kept, refused = [], []
    for item in items:
        problems = validate_claims([item.claim])
        if problems:
            findings = [
                Finding(
                    "x12.837", Severity.ERROR, f"{p.field.removeprefix('claims[0].')}: {p.message.split(', got ')[0]}"
                )
                for p in problems
            ]
            refused.append(_hold(item.ready, findings))
        else:
            kept.append(item)
    return kept, refused


def _kept_claims(ready: list[ReadyClaim], settings: ClaimsSettings) -> dict[uuid.UUID, _BuiltClaim]:
    """The READY claims this process kept from their build and may write as they are."""
    submitter, receiver = settings.submitter, settings.receiver
    kept = {}
    for row in ready:
        built = _BUILT_CLAIMS.take(row, submitter, receiver)
        if built is not None:
            kept[row.id] = built
    return kept


def _by_tenant(
    ready: list[ReadyClaim],
    kept: Mapping[uuid.UUID, _BuiltClaim],
    documents: Mapping[uuid.UUID, str],
    settings: ClaimsSettings,
) -> tuple[dict[str, list[_Writable]], list[StateChange]]:
    """The 837 writer's claims by tenant (a kept claim as it is, the others built from their `documents`), and
    holds for those that cannot be written at all."""
    by_tenant: dict[str, list[_Writable]] = defaultdict(list)
    held: list[StateChange] = []
    submitter, receiver = settings.submitter, settings.receiver
    for row in ready:
        built = kept.get(row.id)
        if built is not None:
            by_tenant[row.tenant_id].append(
                _Writable(row, built.claim, built.currency, built.line_numbers, built.service_date_from)
            )
            continue
        try:
            writable = _writable_claim(row, documents[row.id], submitter, receiver)
        except (ClaimMappingError, ValueError) as exc:
            held.append(_hold(row, [Finding("x12.837", Severity.ERROR, f"cannot be written as an 837: {exc}")]))
            continue
        by_tenant[row.tenant_id].append(writable)
    return by_tenant, held


_TO_BATCHED = to(ClaimState.BATCHED)


@dataclass
class _BatchRound:
    """What one batching round writes: submissions, their transaction sets, moves and events."""

    now: dt.datetime
    member_digest: MemberDigest
    submissions: list[Submission] = dataclasses.field(default_factory=list)
    transactions: list[SubmissionTransaction] = dataclasses.field(default_factory=list)
    batched: list[StateChange] = dataclasses.field(default_factory=list)
    events: dict[str, list[OutgoingEvent]] = dataclasses.field(default_factory=lambda: defaultdict(list))

    def add(self, tenant: str, batch: Batch837, items: list[_Writable]) -> None:
        by_number = {item.claim.control_number: item for item in items}
        for interchange in batch.interchanges:
            submission_id = uuid.uuid4()
            self.submissions.append(
                Submission(
                    id=submission_id,
                    tenant_id=tenant,
                    submitter_id=interchange.submitter_id,
                    receiver_id=interchange.receiver_id,
                    payer_id=interchange.payer_ids[0],
                    interchange_control_number=interchange.interchange_control_number,
                    claim_count=interchange.claim_count,
                    x12=interchange.text,
                    status="stored",
                    created_at=self.now,
                )
            )
            for transaction in interchange.transactions:
                self.transactions.append(
                    SubmissionTransaction(
                        submission_id=submission_id,
                        submitter_id=interchange.submitter_id,
                        group_control_number=transaction.group_control_number,
                        transaction_control_number=transaction.control_number,
                        kind=transaction.kind.value,
                        claim_count=len(transaction.claim_control_numbers),
                    )
                )
                reason = f"interchange {interchange.interchange_control_number:09d} ST {transaction.control_number}"
                # one (frozen) columns value for the transaction set's claims, not one per claim
                sent_in = StateColumns(submission=SubmissionRef(submission_id, transaction.control_number))
                for number in transaction.claim_control_numbers:
                    item = by_number[number]
                    self.batched.append(StateChange(item.ready.id, _TO_BATCHED, reason, sent_in))
                    self.events[tenant].append(
                        (
                            str(item.ready.id),
                            _submitted_event(
                                tenant, item, interchange.interchange_control_number, self.now, self.member_digest
                            ),
                            item.ready.trace_context,  # the claim's trace goes on, not this round's
                        )
                    )


async def batch_ready_claims(
    session: AsyncSession, outbox: Outbox, settings: ClaimsSettings, now: dt.datetime, member_digest: MemberDigest
) -> int:
    """Holds the tenant+payer windows of the oldest READY claims that no other batcher holds (an advisory
    lock per window, so replicas never split one window's claims between two 837s at once), takes their
    READY claims (locked), writes one 837 interchange per tenant, payer and submitter, stores it with its
    control numbers (a locked counter per submitter: unique across replicas), marks the claims batched
    and emits `claim-submitted` for each, all in the caller's transaction. Returns the claims batched."""
    writes = StreamWrites(session)
    windows = await writes.hold_windows(await writes.ready_windows(settings.batch_size))
    if not windows:
        return 0
    ready = await writes.take_ready(settings.batch_size, windows)
    if not ready:
        return 0
    kept = _kept_claims(ready, settings)
    documents = await writes.ready_documents([row.id for row in ready if row.id not in kept])
    by_tenant, held = _by_tenant(ready, kept, documents, settings)
    submitter_id = settings.submitter.identifier
    control = await writes.lock_control_numbers(submitter_id)
    batch_round = _BatchRound(now, member_digest)
    for tenant, items in by_tenant.items():
        try:
            batch = _write(items, control, now, settings)
        except ClaimValidationError:
            items, refused = _writable(items)
            held += refused
            if not items:
                continue
            batch = _write(items, control, now, settings)
        control = batch.next_control_numbers
        batch_round.add(tenant, batch, items)
    await writes.save_control_numbers(submitter_id, control)
    await writes.insert_submissions(batch_round.submissions, batch_round.transactions)
    taken = {row.id: LockedClaim(row.id, row.tenant_id, ClaimState.READY, row.claim_control_number, row.payer_id)
             for row in ready}  # fmt: skip
    await change_states(session, outbox, [*batch_round.batched, *held], locked=taken)
    for tenant, events in batch_round.events.items():
        await outbox.add_many(session, tenant=tenant, events=events)
    CLAIMS_BATCHED.inc(len(batch_round.batched))
    return len(batch_round.batched) + len(held)


# ----------------------------------------------------------------------------- sending


def submission_file_name(submitter_id: str, interchange_control_number: int, submission_id: uuid.UUID) -> str:
    """Unique per submission and stable, so a re-sent file is recognised by the adapter as the same."""
    safe = "".join(c if c.isalnum() else "-" for c in submitter_id)[:30]
    return f"837-{safe}-{interchange_control_number:09d}-{submission_id.hex[:12]}.x12"


@functools.cache
def _sent_route(submission_count: int) -> Route:
    """The route of a claim whose file was just sent, one per submission count (not one per claim)."""
    return functools.partial(sent_path, submission_count=submission_count)


async def send_stored_submissions(
    sessions: async_sessionmaker[AsyncSession], adapter: ClearinghouseAdapter, outbox: Outbox, *, limit: int
) -> int:
    """Hands stored 837 files to the clearinghouse adapter, one transaction per file holding its row lock
    (`FOR UPDATE SKIP LOCKED`: each file is sent by one replica), then marks it sent and its claims
    submitted. The adapter's submit is idempotent by file name, so a crash between sending and committing
    only sends the same file again. Returns the claims submitted."""
    submitted = 0
    for _ in range(limit):
        async with unit_of_work(sessions) as session:
            writes = StreamWrites(session)
            submission = await writes.take_stored_submission()
            if submission is None:
                break
            name = submission_file_name(submission.submitter_id, submission.interchange_control_number, submission.id)
            receipt = await adapter.submit(name, submission.x12.encode("ascii"))
            reason = f"sent as {receipt.file_name} (sha256 {receipt.sha256[:12]})"
            sent = await writes.mark_sent(submission.id, receipt.submitted_at)
            moved = await change_states(
                session,
                outbox,
                [StateChange(claim.id, _sent_route(claim.submission_count), reason) for claim in sent],
                locked={claim.id: claim.locked() for claim in sent},  # read FOR UPDATE by mark_sent
            )
        submitted += len(moved)
    return submitted


# ----------------------------------------------------------------------------- cancel, party corrections


async def cancel_claim(
    session: AsyncSession, outbox: Outbox, tenant: str, claim_id: uuid.UUID, reason: str, now: dt.datetime
) -> None:
    """Cancels a claim no payer has seen (on hold, ready, or rejected by the clearinghouse) through the
    state machine, and tells intake (`claim-cancelled`) so an original claim's encounter is cancelled too.
    Cancelling a cancelled claim again changes nothing."""
    claim = await ClaimRepository(session, tenant).get(claim_id)
    if claim is None:
        raise ClaimNotFound(claim_id)
    if claim.state is ClaimState.CANCELLED:
        return
    if claim.state not in CANCELLABLE_STATES:
        raise ClaimNotWorkable(
            "only a claim not yet with a payer (on hold, ready or rejected) can be cancelled; "
            f"this one is {claim.state}"
        )
    try:
        (moved,) = await change_states(
            session, outbox, [StateChange(claim_id, to(ClaimState.CANCELLED), f"cancelled: {reason}")]
        )
    except IllegalTransition as exc:  # it moved on (batched) between the read and the lock
        raise ClaimNotWorkable(str(exc)) from None
    original = claim.primary_claim_id is None and claim.frequency_code == "1"
    event = ClaimCancelledV1(
        claim_id=claim_id,
        encounter_id=claim.encounter_id,
        claim_control_number=claim.claim_control_number,
        from_state=moved.steps[0][0],
        reason=reason,
        cancelled_at=now,
        encounter_cancelled=original,
    )
    await outbox.add(session, tenant=tenant, subject=str(claim.encounter_id), payload=event)
    log.info("claim cancelled", extra={"claim_id": str(claim_id), "from_state": moved.steps[0][0]})


async def mend_held_claims(
    session: AsyncSession,
    outbox: Outbox,
    envelopes: list[EventEnvelope],
    settings: ClaimsSettings,
    today: dt.date,
) -> int:
    """Each corrected party (`party-changed`) goes into the held claims that name it, which are then
    scrubbed again (ready when clean). Returns the claims mended; a repeat mends nothing."""
    mended_count = 0
    for envelope in envelopes:
        change = envelope.payload_as(PartyChangedV1)
        repository = ClaimRepository(session, envelope.tenant)
        for held in await repository.held(patient_id=change.patient_id):
            claim = await repository.get(held.id, for_update=True)
            if claim is None or claim.state is not ClaimState.ON_HOLD or claim.document is None:
                continue  # released, fixed or cancelled meanwhile
            after = mended(EncounterCodedV1.model_validate(claim.document), change)
            if after is None:
                continue
            await repository.update_contents(claim.id, _contents(after))
            await repository.replace_lines(claim.id, _lines(claim.id, envelope.tenant, after))
            fields = ", ".join(change.changed_fields) or "nothing"
            await note(
                session, claim.id, envelope.tenant, ClaimState.ON_HOLD,
                f"{change.party_kind} {change.party_id} corrected ({fields})",
            )  # fmt: skip
            await release_claim(session, outbox, envelope.tenant, claim.id, settings, today)
            mended_count += 1
    return mended_count
