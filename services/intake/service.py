"""The intake service's logic: parties registered, coded encounters received (JSON, batches or FHIR)
with their `encounter-coded` events, and eligibility asked (270) and answered (271).

Domain decisions are the pure functions of `domain/`; SQL is in `repository.py`; the caller's unit
of work commits (a request, or one 271 file). Errors are the service's own exceptions; the API maps
them to HTTP. Logs carry ids, file names and counts, never names, birth dates or member ids.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import msgspec
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.domain.changes import (
    ConflictingResend,
    Resent,
    differing_fields,
    entity_tag,
    merge_patch,
    tag_matches,
)
from services.intake.domain.eligibility import Submission, answer_for, build_270, file_name_of, inquiry_about, parse_271
from services.intake.domain.encounter import (
    CodeVerdicts,
    EncounterRejected,
    Location,
    Problem,
    check_encounter,
    diagnosis_release,
    total_charge_cents,
)
from services.intake.domain.fhir import FhirRejected, MappedClaim, Origins
from services.intake.domain.parties import (
    ChangeSource,
    coded_event,
    coverage_changed,
    facility_changed,
    patient_changed,
    payer_changed,
    provider_changed,
    resolve,
)
from services.intake.models import coverages as coverages_table
from services.intake.repository import (
    CoverageRepository,
    CptCodeRepository,
    EligibilityAnswerRepository,
    EligibilityCheck,
    EligibilityCheckRepository,
    Encounter,
    EncounterQuery,
    EncounterRepository,
    FacilityRepository,
    NewEligibilityCheck,
    NewEncounter,
    PartyChange,
    PartyRepository,
    PatientQuery,
    PatientRepository,
    PayerRepository,
    ProviderRecord,
    ProviderRepository,
    Registration,
    RegistryRepository,
    StoredAnswer,
    StoredParty,
)
from services.intake.request_wire import EncounterBody
from services.intake.schemas import (
    CoverageIn,
    CoverageOut,
    EncounterIn,
    FacilityIn,
    FacilityOut,
    PatientIn,
    PatientOut,
    PayerIn,
    PayerOut,
    ProviderIn,
)
from services.intake.settings import EligibilitySettings
from shared.clearinghouse import ClearinghouseAdapter, InboundFile, InboundKind, SubmissionConflictError
from shared.clearinghouse.base import sha256_hex
from shared.db import unit_of_work
from shared.events import wire
from shared.events.catalog import ClaimCancelledV1, CoverageCorrectionRequestedV1
from shared.events.envelope import EventEnvelope
from shared.ids import time_ordered_id
from shared.messaging.outbox import Outbox
from shared.x12 import X12Error

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)
RecordT = TypeVar("RecordT")


def _found(record: RecordT | None, kind: str) -> RecordT:
    """The record a tenant asked for by id, or NotFound (another tenant's record is not found either)."""
    if record is None:
        raise NotFound(kind)
    return record


class NotFound(LookupError):
    """No such record for this tenant (another tenant's record is not found either)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class Refused(ValueError):
    """The request names something that is not there; each problem names the request field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(problem.msg for problem in problems))
        self.problems = problems


class ClearinghouseUnavailable(Exception):
    """The clearinghouse did not take the file; nothing was stored."""


@dataclass(frozen=True, slots=True)
class Received:
    encounter: Encounter
    created: bool


# Parties ------------------------------------------------------------------------------------------------


async def register_patient(session: AsyncSession, tenant: str, patient: PatientIn) -> Registration[PatientOut]:
    return await PatientRepository(session, tenant).register(patient)


async def patient(session: AsyncSession, tenant: str, patient_id: uuid.UUID) -> PatientOut:
    return _found(await PatientRepository(session, tenant).get(patient_id), "patient")


async def register_coverage(
    session: AsyncSession, tenant: str, patient_id: uuid.UUID, coverage: CoverageIn
) -> Registration[CoverageOut]:
    """A coverage of a registered patient, with a registered payer."""
    await patient(session, tenant, patient_id)
    if not await PayerRepository(session, tenant).find_by_payer_ids([coverage.payer_id]):
        raise Refused([Problem(("payer_id",), "no payer with this id: register it (POST /v1/payers)")])
    return await CoverageRepository(session, tenant).register(patient_id, coverage)


async def coverage(session: AsyncSession, tenant: str, patient_id: uuid.UUID, coverage_id: uuid.UUID) -> CoverageOut:
    return _found(await CoverageRepository(session, tenant).of_patient(patient_id, coverage_id), "coverage")


async def coverages_of(session: AsyncSession, tenant: str, patient_id: uuid.UUID) -> list[CoverageOut]:
    await patient(session, tenant, patient_id)
    return await CoverageRepository(session, tenant).find_by_patients([patient_id])


async def register_provider(session: AsyncSession, tenant: str, provider: ProviderIn) -> Registration[ProviderRecord]:
    return await ProviderRepository(session, tenant).register(provider)


async def provider(session: AsyncSession, tenant: str, provider_id: uuid.UUID) -> ProviderRecord:
    return _found(await ProviderRepository(session, tenant).get(provider_id), "provider")


async def register_payer(session: AsyncSession, tenant: str, payer: PayerIn) -> Registration[PayerOut]:
    return await PayerRepository(session, tenant).register(payer)


async def payer(session: AsyncSession, tenant: str, payer_record_id: uuid.UUID) -> PayerOut:
    return _found(await PayerRepository(session, tenant).get(payer_record_id), "payer")


async def register_facility(session: AsyncSession, tenant: str, facility: FacilityIn) -> Registration[FacilityOut]:
    return await FacilityRepository(session, tenant).register(facility)


async def facility(session: AsyncSession, tenant: str, facility_id: uuid.UUID) -> FacilityOut:
    return _found(await FacilityRepository(session, tenant).get(facility_id), "facility")


async def load_cpt_codes(
    session: AsyncSession, tenant: str, codes: dict[str, str | None], *, replace: bool
) -> tuple[int, int]:
    """Load the customer's licensed CPT codes (code -> description): (loaded, total on the list)."""
    repository = CptCodeRepository(session, tenant)
    await repository.load(list(codes.items()), replace=replace)
    return len(codes), await repository.count()


# Encounters ----------------------------------------------------------------------------------------------


async def encounter(session: AsyncSession, tenant: str, encounter_id: uuid.UUID) -> Encounter:
    return _found(await EncounterRepository(session, tenant).get(encounter_id), "encounter")


async def receive_encounters(
    session: AsyncSession,
    outbox: Outbox,
    tenant: str,
    encounters: Sequence[EncounterBody],
    *,
    where: Location = (),
    today: dt.date | None = None,
) -> list[Received]:
    """Store the new encounters and their `encounter-coded` events; repeats of an external id return the first.
    Each encounter is its request mirror or its model (`request_wire.EncounterBody`): no model is built for a mirror.

    Raises EncounterRejected naming every problem (locations under `where`, plus the index for batches).
    """
    today = today or dt.date.today()
    batch = len(encounters) > 1 or where != ()

    def at(index: int, loc: Location) -> Location:
        return (*where, index, *loc) if batch else loc

    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(encounters):
        if item.external_encounter_id in first_index:
            problems.append(Problem(at(index, ("external_encounter_id",)), "repeated within this batch"))
        first_index.setdefault(item.external_encounter_id, index)
    repository = EncounterRepository(session, tenant)
    existing = await repository.find_by_external_ids(first_index)
    await _refuse_conflicting_resends(repository, encounters, existing, at)
    new = [(i, e) for i, e in enumerate(encounters) if e.external_encounter_id not in existing]
    registry = await RegistryRepository(session, tenant).load(
        patient_ids={e.patient_id for _, e in new if e.patient_id is not None},
        patient_external_ids={e.patient_external_id for _, e in new if e.patient_external_id is not None},
        payer_ids={e.payer_id for _, e in new},
        npis={npi for _, e in new for npi in _npis(e)},
        facility_ids={e.facility_id for _, e in new if e.facility_id is not None},
        facility_external_ids={e.facility_external_id for _, e in new if e.facility_external_id is not None},
    )
    cpt_codes = await CptCodeRepository(session, tenant).codes(
        line.procedure_code for _, e in new for line in e.lines if line.procedure_code is not None
    )
    accepted: list[tuple[NewEncounter, wire.EncounterCodedV1]] = []
    verdicts = CodeVerdicts()
    for index, item in new:
        release = diagnosis_release(item.service_date_from)
        found = check_encounter(item, today=today, release=release, cpt_codes=cpt_codes, verdicts=verdicts)
        resolved, unresolvable = resolve(item, registry)
        found += unresolvable
        problems.extend(Problem(at(index, p.loc), p.msg) for p in found)
        if found or resolved is None:
            continue
        stored = NewEncounter(
            time_ordered_id(), item, total_charge_cents(item.lines), resolved.unresolved, resolved.patient_id
        )
        accepted.append((stored, coded_event(stored.id, item, resolved, registry, release.name)))
    if problems:
        raise EncounterRejected(problems)
    inserted = await repository.add_many([stored for stored, _ in accepted])
    await outbox.add_many(
        session,
        tenant=tenant,
        events=[(str(stored.id), event) for stored, event in accepted if _inserted(stored, inserted)],
    )
    racing = [e.external_encounter_id for _, e in new if e.external_encounter_id not in inserted]
    if racing:  # committed by a concurrent request between our read and our insert
        existing.update(await repository.find_by_external_ids(racing))
    results = []
    for item in encounters:
        external_id = item.external_encounter_id
        row = inserted.get(external_id)
        results.append(Received(row, True) if row is not None else Received(existing[external_id], False))
    return results


async def _refuse_conflicting_resends(
    repository: EncounterRepository,
    encounters: Sequence[EncounterBody],
    existing: dict[str, Encounter],
    at: Callable[[int, Location], Location],
) -> None:
    """A known external id sent with other content is refused (ConflictingResend naming the fields);
    the same content is a plain repeat."""
    if not existing:
        return
    codings = await repository.codings(existing)
    resent: list[Resent] = []
    for index, item in enumerate(encounters):
        stored = codings.get(item.external_encounter_id)
        if stored is None:
            continue
        before = EncounterIn.model_validate(stored).model_dump(mode="json")
        after = item.model_dump(mode="json") if isinstance(item, EncounterIn) else msgspec.to_builtins(item)
        differing = differing_fields(before, after)
        if differing:
            resent.append(Resent(at(index, ()), existing[item.external_encounter_id].id, differing))
    if resent:
        raise ConflictingResend(resent)


def _inserted(stored: NewEncounter, inserted: dict[str, Encounter]) -> bool:
    row = inserted.get(stored.encounter.external_encounter_id)
    return row is not None and row.id == stored.id


def _npis(encounter: EncounterBody) -> list[str]:
    npis = [encounter.billing_provider_npi, encounter.rendering_provider_npi, encounter.referring_provider_npi]
    if encounter.institutional is not None:
        npis.append(encounter.institutional.attending_provider_npi)
    return [npi for npi in npis if npi is not None]


# FHIR R4 --------------------------------------------------------------------------------------------------


def _from_fhir(model: type[ModelT], mapped: dict[str, object], origins: Origins) -> ModelT:
    """Validate what was mapped from FHIR; problems name the FHIR element each field came from."""
    try:
        return model.model_validate(mapped)
    except ValidationError as exc:
        raise FhirRejected(
            [
                Problem(origins.fhir_path(tuple(e["loc"])), f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
                for e in exc.errors(include_url=False, include_input=False)
            ]
        ) from None


async def receive_fhir_claim(session: AsyncSession, outbox: Outbox, tenant: str, mapped: MappedClaim) -> Received:
    """Register the Bundle's Patient and Coverages (or match them by MRN and member id), then receive the
    Claim as an encounter. Raises FhirRejected naming FHIR elements."""
    if mapped.patient is not None:
        registered = await PatientRepository(session, tenant).register(
            _from_fhir(PatientIn, mapped.patient, mapped.patient_origins)
        )
        for coverage_body, origins in mapped.coverages:
            coverage = _from_fhir(CoverageIn, coverage_body, origins)
            if not await PayerRepository(session, tenant).find_by_payer_ids([coverage.payer_id]):
                raise FhirRejected([Problem(origins.fhir_path(("payer_id",)), "no payer with this id is registered")])
            await CoverageRepository(session, tenant).register(registered.party.id, coverage)
    origins = mapped.encounter_origins
    claim = _from_fhir(EncounterIn, mapped.encounter, origins)
    try:
        (received,) = await receive_encounters(session, outbox, tenant, [claim])
    except EncounterRejected as exc:
        raise FhirRejected(
            [Problem(origins.fhir_path(p.loc), f"{'.'.join(map(str, p.loc))}: {p.msg}") for p in exc.problems]
        ) from None
    return received


# Eligibility ------------------------------------------------------------------------------------------------


async def check_eligibility(
    session: AsyncSession,
    adapter: ClearinghouseAdapter,
    settings: EligibilitySettings,
    *,
    tenant: str,
    patient_id: uuid.UUID,
    coverage_id: uuid.UUID,
    provider_npi: str,
    service_date: dt.date | None,
    now: dt.datetime,
) -> EligibilityCheck:
    """Store the check with its 270's control number, then hand the 270 to the clearinghouse, in the
    caller's transaction: a failed submit rolls the check back (ClearinghouseUnavailable); a 271 for a
    check that never committed is acknowledged and ignored. The 271 is collected in the background."""
    asked = await patient(session, tenant, patient_id)
    coverage = await CoverageRepository(session, tenant).of_patient(patient_id, coverage_id)
    if coverage is None:
        raise NotFound("coverage")
    payers = await PayerRepository(session, tenant).find_by_payer_ids([coverage.payer_id])
    providers = await ProviderRepository(session, tenant).find_by_npis([provider_npi])
    if not providers:
        raise Refused([Problem(("provider_npi",), "no provider with this NPI: register it (POST /v1/providers)")])
    if not payers:
        raise Refused([Problem(("coverage_id",), "the coverage's payer is not registered")])
    checks = EligibilityCheckRepository(session, tenant)
    check_id = uuid.uuid4()
    day = service_date or now.date()
    inquiry = inquiry_about(
        check_id, patient=asked, coverage=coverage, payer=payers[0], provider=providers[0].provider, service_date=day
    )
    control = await checks.next_interchange_control_number()
    submission = Submission(
        settings.sender_id, settings.receiver_id, settings.originator_id, control, now, settings.usage
    )
    content = build_270(inquiry, submission).encode()
    file_name = file_name_of(check_id)
    check = await checks.add(
        NewEligibilityCheck(
            id=check_id,
            patient_id=asked.id,
            coverage_id=coverage.id,
            payer_id=payers[0].payer_id,
            provider_npi=provider_npi,
            service_date=day,
            trace_number=inquiry.trace_number,
            interchange_control_number=control,
            file_name=file_name,
            sent_sha256=sha256_hex(content),
            sent_at=now,
        )
    )
    try:
        await adapter.submit(file_name, content)
    except (OSError, SubmissionConflictError) as exc:
        raise ClearinghouseUnavailable("the clearinghouse did not take the 270") from exc
    log.info("eligibility 270 sent", extra={"check_id": str(check_id), "file_name": file_name})
    return check


async def eligibility_check(session: AsyncSession, tenant: str, check_id: uuid.UUID) -> EligibilityCheck:
    return _found(await EligibilityCheckRepository(session, tenant).get(check_id), "eligibility check")


async def apply_271(session: AsyncSession, inbound: InboundFile, now: dt.datetime) -> int:
    """Store what the 271 says on every waiting check it answers; returns the checks answered (0 when
    the file was read before, answers nothing of ours or is unreadable).

    Answers are stored once: a check that is no longer ``sent`` is never changed again, so reading
    the same 271 twice changes nothing."""
    try:
        responses = parse_271(inbound.content)
    except X12Error as exc:
        log.warning("eligibility 271 unreadable", extra={"file_name": inbound.file_name, "error": type(exc).__name__})
        return 0
    traces = {trace for response in responses for answer in response.answers for trace in answer.trace_numbers}
    if not traces:
        return 0
    answers = EligibilityAnswerRepository(session)
    waiting = await answers.waiting(traces)
    for check in waiting:
        answer = answer_for(responses, check.trace_number)
        if answer is None:
            continue
        state = str(answer["status"])
        await answers.answer(check.id, StoredAnswer(state, answer, inbound.file_name, inbound.sha256, now))
        log.info("eligibility answered", extra={"check_id": str(check.id), "state": state})
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


# Corrections of registered parties -------------------------------------------------------------------------


class PreconditionFailed(Exception):
    """`If-Match` names a version of the record that is no longer the current one."""

    def __init__(self, current_tag: str) -> None:
        super().__init__("the record changed since it was read: read it again (its ETag) and re-apply the change")
        self.current_tag = current_tag


class KeyTaken(Exception):
    """A correction would give the record the key of another record of the tenant."""


@dataclass(frozen=True, slots=True)
class Corrected(Generic[RecordT]):
    """A party after a correction, its new ETag, and the fields that changed (none: nothing was written)."""

    party: RecordT
    tag: str
    changed: list[str]


PartyKind = Literal["patient", "coverage", "provider", "payer", "facility"]
IMMUTABLE_KEYS: dict[PartyKind, tuple[str, ...]] = {
    "patient": ("external_patient_id",),
    "coverage": (),
    "provider": ("npi",),
    "payer": ("payer_id",),
    "facility": ("external_facility_id",),
}
"""The key a party is registered under; a different key is a different party (register it)."""


def tag_of(party: BaseModel, model: type[BaseModel]) -> str:
    """The ETag of a party as stored: the JSON of its registration model (ids left out)."""
    fields = set(model.model_fields)
    return entity_tag(model.model_validate(party.model_dump(include=fields)).model_dump(mode="json"))


def _patched(
    kind: PartyKind, stored: StoredParty[RecordT], patch: dict[str, object], if_match: str | None, model: type[ModelT]
) -> ModelT:
    """The stored record with the merge patch applied, validated like a registration (Refused naming the
    fields); PreconditionFailed when `If-Match` is stale."""
    current = entity_tag(stored.record)
    if if_match is not None and not tag_matches(if_match, current):
        raise PreconditionFailed(current)
    merged = merge_patch(stored.record, patch)
    assert isinstance(merged, dict)
    problems = [
        Problem((key,), f"{key} cannot be changed: it names another {kind}; register that one instead")
        for key in IMMUTABLE_KEYS[kind]
        if merged.get(key) != stored.record.get(key)
    ]
    try:
        after = model.model_validate(merged)
    except ValidationError as exc:
        problems += [
            Problem(tuple(e["loc"]), e["msg"].removeprefix("Value error, "))
            for e in exc.errors(include_url=False, include_input=False)
        ]
    if problems:
        raise Refused(problems)
    return after


async def _announce(session: AsyncSession, outbox: Outbox, tenant: str, event: wire.PartyChangedV1) -> None:
    await outbox.add(session, tenant=tenant, subject=str(event.party_id), payload=event)
    log.info(
        "party corrected",
        extra={"party_kind": event.party_kind, "party_id": str(event.party_id), "fields": event.changed_fields},
    )


async def correct_patient(
    session: AsyncSession, outbox: Outbox, tenant: str, patient_id: uuid.UUID, patch: dict[str, object],
    if_match: str | None,
) -> Corrected[PatientOut]:  # fmt: skip
    repository = PatientRepository(session, tenant)
    stored = _found(await repository.stored(patient_id), "patient")
    after = _patched("patient", stored, patch, if_match, PatientIn)
    party, changed = await repository.change(patient_id, "patient", stored.record, after, source="api")
    if changed:
        await _announce(session, outbox, tenant, patient_changed(party, changed))
    return Corrected(party, entity_tag(after.model_dump(mode="json")), changed)


async def correct_coverage(
    session: AsyncSession, outbox: Outbox, tenant: str, patient_id: uuid.UUID, coverage_id: uuid.UUID,
    patch: dict[str, object], if_match: str | None, *, source: ChangeSource = "api",
) -> Corrected[CoverageOut]:  # fmt: skip
    asked = await patient(session, tenant, patient_id)
    repository = CoverageRepository(session, tenant)
    stored = _found(await repository.stored(coverage_id, coverages_table.c.patient_id == patient_id), "coverage")
    after = _patched("coverage", stored, patch, if_match, CoverageIn)
    payers = await PayerRepository(session, tenant).find_by_payer_ids([after.payer_id])
    if not payers:
        raise Refused([Problem(("payer_id",), "no payer with this id: register it (POST /v1/payers)")])
    columns = {"payer_id": after.payer_id, "member_id": after.member_id}
    try:
        async with session.begin_nested():
            party, changed = await repository.change(
                coverage_id, "coverage", stored.record, after, source=source, columns=columns
            )
    except IntegrityError:
        raise KeyTaken("the patient already has a coverage with this payer and member id") from None
    if changed:
        await _announce(session, outbox, tenant, coverage_changed(party, payers[0], asked, changed, source))
    return Corrected(party, entity_tag(after.model_dump(mode="json")), changed)


async def correct_provider(
    session: AsyncSession, outbox: Outbox, tenant: str, provider_id: uuid.UUID, patch: dict[str, object],
    if_match: str | None,
) -> Corrected[ProviderRecord]:  # fmt: skip
    repository = ProviderRepository(session, tenant)
    stored = _found(await repository.stored(provider_id), "provider")
    after = _patched("provider", stored, patch, if_match, ProviderIn)
    party, changed = await repository.change(provider_id, "provider", stored.record, after, source="api")
    if changed:
        await _announce(session, outbox, tenant, provider_changed(party.id, party.provider, changed))
    return Corrected(party, entity_tag(after.model_dump(mode="json")), changed)


async def correct_payer(
    session: AsyncSession, outbox: Outbox, tenant: str, payer_record_id: uuid.UUID, patch: dict[str, object],
    if_match: str | None,
) -> Corrected[PayerOut]:  # fmt: skip
    repository = PayerRepository(session, tenant)
    stored = _found(await repository.stored(payer_record_id), "payer")
    after = _patched("payer", stored, patch, if_match, PayerIn)
    party, changed = await repository.change(payer_record_id, "payer", stored.record, after, source="api")
    if changed:
        await _announce(session, outbox, tenant, payer_changed(party, changed))
    return Corrected(party, entity_tag(after.model_dump(mode="json")), changed)


async def correct_facility(
    session: AsyncSession, outbox: Outbox, tenant: str, facility_id: uuid.UUID, patch: dict[str, object],
    if_match: str | None,
) -> Corrected[FacilityOut]:  # fmt: skip
    repository = FacilityRepository(session, tenant)
    stored = _found(await repository.stored(facility_id), "facility")
    after = _patched("facility", stored, patch, if_match, FacilityIn)
    party, changed = await repository.change(facility_id, "facility", stored.record, after, source="api")
    if changed:
        await _announce(session, outbox, tenant, facility_changed(party, changed))
    return Corrected(party, entity_tag(after.model_dump(mode="json")), changed)


_HISTORY_REPOSITORIES: dict[PartyKind, Callable[[AsyncSession, str], PartyRepository[Any]]] = {
    "patient": PatientRepository,
    "coverage": CoverageRepository,
    "provider": ProviderRepository,
    "payer": PayerRepository,
    "facility": FacilityRepository,
}


async def history_of(session: AsyncSession, tenant: str, kind: PartyKind, party_id: uuid.UUID) -> list[PartyChange]:
    """Every correction of a party, oldest first (NotFound when the tenant has no such party)."""
    repository = _HISTORY_REPOSITORIES[kind](session, tenant)
    _found(await repository.get(party_id), kind)
    return await repository.history(party_id)


# Search -----------------------------------------------------------------------------------------------------


async def search_patients(
    session: AsyncSession, tenant: str, query: PatientQuery, *, after: tuple[dt.datetime, uuid.UUID] | None, limit: int
) -> list[tuple[PatientOut, dt.datetime]]:
    return await PatientRepository(session, tenant).search(query, after=after, limit=limit)


async def search_encounters(
    session: AsyncSession,
    tenant: str,
    query: EncounterQuery,
    *,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[Encounter]:
    return await EncounterRepository(session, tenant).search(query, after=after, limit=limit)


# What claims tells intake ------------------------------------------------------------------------------------


async def apply_claim_changes(session: AsyncSession, outbox: Outbox, envelopes: list[EventEnvelope]) -> None:
    """A member id corrected on a claim goes to its coverage (with history and `party-changed`); a claim
    cancelled before submission cancels its encounter. Repeats change nothing."""
    for envelope in envelopes:
        if envelope.type == "coverage-correction-requested.v1":
            asked = envelope.payload_as(CoverageCorrectionRequestedV1)
            try:
                await correct_coverage(
                    session, outbox, envelope.tenant, asked.patient_id, asked.coverage_id,
                    {"member_id": asked.member_id}, None, source="claim-fix",
                )  # fmt: skip
            except (NotFound, Refused, KeyTaken) as exc:
                log.warning(
                    "coverage correction not applied",
                    extra={
                        "coverage_id": str(asked.coverage_id),
                        "claim_id": str(asked.claim_id),
                        "why": type(exc).__name__,
                    },
                )
        elif envelope.type == "claim-cancelled.v1":
            cancelled = envelope.payload_as(ClaimCancelledV1)
            if not cancelled.encounter_cancelled:
                continue
            done = await EncounterRepository(session, envelope.tenant).cancel(
                cancelled.encounter_id, cancelled.reason, cancelled.cancelled_at
            )
            log.info(
                "encounter cancelled with its claim",
                extra={
                    "encounter_id": str(cancelled.encounter_id),
                    "claim_id": str(cancelled.claim_id),
                    "changed": done,
                },
            )
