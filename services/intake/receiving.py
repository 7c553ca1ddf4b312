"""Receiving coded encounters: validate, resolve the parties, store, and add the events, in one unit of work."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.domain.encounter import EncounterRejected, Location, Problem, check_encounter, total_charge_cents
from services.intake.domain.icd10cm import release_for
from services.intake.domain.parties import coded_event, resolve
from services.intake.repository import CptCodeRepository, EncounterRepository, RegistryRepository
from services.intake.schemas import EncounterIn
from shared.events.catalog import EventPayload
from shared.messaging.outbox import Outbox


@dataclass(frozen=True, slots=True)
class Received:
    row: sa.Row[Any]
    created: bool


async def receive_encounters(
    session: AsyncSession,
    outbox: Outbox,
    tenant: str,
    encounters: list[EncounterIn],
    *,
    where: Location = (),
    today: dt.date | None = None,
) -> list[Received]:
    """Store the new encounters and their `encounter-coded` events; repeats of an external id return the first.

    Raises EncounterRejected naming every problem (locations under `where`, plus the index for batches).
    """
    today = today or dt.date.today()
    batch = len(encounters) > 1 or where != ()

    def at(index: int, loc: Location) -> Location:
        return (*where, index, *loc) if batch else loc

    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    for index, encounter in enumerate(encounters):
        if encounter.external_encounter_id in first_index:
            problems.append(Problem(at(index, ("external_encounter_id",)), "repeated within this batch"))
        first_index.setdefault(encounter.external_encounter_id, index)
    repository = EncounterRepository(session, tenant)
    existing = await repository.find_by_external_ids(first_index)
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
    rows: list[dict[str, Any]] = []
    events: list[tuple[str, EventPayload]] = []
    for index, encounter in new:
        release = release_for(encounter.service_date_from)
        found = check_encounter(encounter, today=today, release=release, cpt_codes=cpt_codes)
        resolved, unresolvable = resolve(encounter, registry)
        found += unresolvable
        problems.extend(Problem(at(index, p.loc), p.msg) for p in found)
        if found or resolved is None:
            continue
        encounter_id = uuid.uuid4()
        rows.append(
            {
                "id": encounter_id,
                "external_encounter_id": encounter.external_encounter_id,
                "claim_type": encounter.claim_type,
                "total_charge_cents": total_charge_cents(encounter.lines),
                "currency": encounter.currency,
                "coding": encounter.model_dump(mode="json"),
                "unresolved": resolved.unresolved,
            }
        )
        events.append((str(encounter_id), coded_event(encounter_id, encounter, resolved, registry, release.name)))
    if problems:
        raise EncounterRejected(problems)
    inserted = await repository.add_many(rows)
    await outbox.add_many(
        session,
        tenant=tenant,
        events=[(subject, payload) for subject, payload in events if _inserted(payload, inserted)],
    )
    racing = [e.external_encounter_id for _, e in new if e.external_encounter_id not in inserted]
    if racing:  # committed by a concurrent request between our read and our insert
        existing.update(await repository.find_by_external_ids(racing))
    results = []
    for encounter in encounters:
        external_id = encounter.external_encounter_id
        row = inserted.get(external_id)
        results.append(Received(row, True) if row is not None else Received(existing[external_id], False))
    return results


def _inserted(payload: EventPayload, inserted: dict[str, sa.Row[Any]]) -> bool:
    row = inserted.get(getattr(payload, "external_encounter_id", ""))
    return row is not None and row.id == payload.encounter_id  # type: ignore[attr-defined]


def _npis(encounter: EncounterIn) -> list[str]:
    npis = [encounter.billing_provider_npi, encounter.rendering_provider_npi, encounter.referring_provider_npi]
    if encounter.institutional is not None:
        npis.append(encounter.institutional.attending_provider_npi)
    return [npi for npi in npis if npi is not None]
