"""All SQL of the intake service; every query is scoped to one tenant (the 271 collector's, which
matches answers by trace number across tenants, is the one exception).

Repositories hand typed records to the service: registered parties as the validated models they were
registered with (plus their ids), encounters and eligibility checks as frozen dataclasses.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec
import orjson
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.domain.changes import differing_fields
from services.intake.domain.parties import Registry
from services.intake.models import (
    coverages,
    cpt_codes,
    eligibility_checks,
    eligibility_interchange_numbers,
    encounters,
    facilities,
    idempotency_keys,
    party_changes,
    patients,
    payers,
    phi_keys,
    providers,
)
from services.intake.request_wire import EncounterBody, EncounterW
from services.intake.schemas import (
    CoverageIn,
    CoverageOut,
    FacilityIn,
    FacilityOut,
    PatientIn,
    PatientOut,
    PayerIn,
    PayerOut,
    ProviderIn,
)
from shared.idempotency import IdempotencyKeys
from shared.paging import rows_after
from shared.phi.crypto import Binding, TenantKeys
from shared.phi.fields import merged, split
from shared.phi.keys import tenant_keys
from shared.phi.rotation import PhiAtRest, PlaintextRows, SealedColumn, seal_plaintext_rows

PartyT = TypeVar("PartyT")


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """A registered provider: intake's id and the request it was registered with (tax id included)."""

    id: uuid.UUID
    provider: ProviderIn


@dataclass(frozen=True, slots=True)
class Registration(Generic[PartyT]):
    """A party registered now (`created`), or the one the tenant registered before under the same key;
    `differing` names the fields where the request disagrees with that earlier record."""

    party: PartyT
    created: bool
    differing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredParty(Generic[PartyT]):
    """A registered party with the record (the validated request's JSON) it is stored as."""

    party: PartyT
    record: dict[str, object]


@dataclass(frozen=True, slots=True)
class PartyChange:
    """One change of a registered party, as its history shows it."""

    id: int
    source: str
    changed_fields: list[str]
    before: dict[str, object]
    after: dict[str, object]
    changed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Encounter:
    id: uuid.UUID
    external_encounter_id: str
    claim_type: str
    total_charge_cents: int
    currency: str
    received_at: dt.datetime
    unresolved: list[str]
    patient_id: uuid.UUID | None = None
    status: str = "active"
    cancel_reason: str | None = None
    cancelled_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class EncounterQuery:
    """Filters of the encounter list; None matches any."""

    patient_id: uuid.UUID | None = None
    external_encounter_id: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class PatientQuery:
    """Filters of the patient search; None matches any. Names compare without regard to case."""

    external_patient_id: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    birth_date: dt.date | None = None
    member_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewEncounter:
    """An encounter accepted for storage, with what receiving worked out about it."""

    id: uuid.UUID
    encounter: EncounterBody
    total_charge_cents: int
    unresolved: list[str]
    patient_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class EligibilityCheck:
    id: uuid.UUID
    patient_id: uuid.UUID
    coverage_id: uuid.UUID
    payer_id: str
    provider_npi: str
    service_date: dt.date
    state: str
    trace_number: str
    interchange_control_number: int
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None
    answer: dict[str, object] | None


@dataclass(frozen=True, slots=True)
class NewEligibilityCheck:
    """A 270 about to be handed to the clearinghouse."""

    id: uuid.UUID
    patient_id: uuid.UUID
    coverage_id: uuid.UUID
    payer_id: str
    provider_npi: str
    service_date: dt.date
    trace_number: str
    interchange_control_number: int
    file_name: str
    sent_sha256: str
    sent_at: dt.datetime


@dataclass(frozen=True, slots=True)
class WaitingCheck:
    id: uuid.UUID
    trace_number: str


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """What a 271 said about one check, and which file said it."""

    state: str
    answer: dict[str, object]
    response_file_name: str
    response_sha256: str
    answered_at: dt.datetime


class TenantRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant


@dataclass(frozen=True, slots=True)
class Sealing:
    """How a party table keeps PHI at rest: its whole record sealed in `phi` (`record` left {}), and a blind
    index beside each value searched by equality: bidx column -> the normalised value taken from the record.
    `plain_keys` are key columns whose plaintext the sealed rows leave NULL (their bidx column is named
    `<column>_bidx`). Rows stored before 0006 keep their plaintext until `claimflow phi encrypt-existing`."""

    indexes: Mapping[str, Callable[[Mapping[str, object]], str | None]]
    plain_keys: tuple[str, ...] = ()


def _upper(name: str) -> Callable[[Mapping[str, object]], str | None]:
    return lambda record: None if record.get(name) is None else str(record[name]).upper()


def _exact(name: str) -> Callable[[Mapping[str, object]], str | None]:
    return lambda record: None if record.get(name) is None else str(record[name])


PATIENT_SEALING = Sealing(
    indexes={
        "external_patient_id_bidx": _exact("external_patient_id"),
        "last_name_bidx": _upper("last_name"),
        "first_name_bidx": _upper("first_name"),
        "birth_date_bidx": _exact("birth_date"),
    },
    plain_keys=("external_patient_id",),
)
COVERAGE_SEALING = Sealing(indexes={"member_id_bidx": _exact("member_id")}, plain_keys=("member_id",))
PROVIDER_SEALING = Sealing(indexes={})


def sealed_columns(
    keys: TenantKeys, table: sa.Table, row_id: uuid.UUID, record: Mapping[str, object], sealing: Sealing
) -> dict[str, object]:
    """The columns of a party row holding `record` sealed: `phi`, the blind indexes, `record` {} and the
    plaintext key columns NULL."""
    columns: dict[str, object] = {
        "record": {},
        "phi": keys.seal_json(record, Binding(keys.tenant, table.name, "phi", str(row_id))),
    }
    for bidx, value_of in sealing.indexes.items():
        value = value_of(record)
        columns[bidx] = None if value is None else keys.blind_index(bidx, value)
    columns.update(dict.fromkeys(sealing.plain_keys))
    return columns


def opened_record(keys: TenantKeys, table: sa.Table, row: sa.RowMapping) -> dict[str, object]:
    """A party row's record: opened when sealed, else the plaintext of a row stored before 0006."""
    sealed: bytes | None = row["phi"]
    if sealed is None:
        return dict(row["record"])
    return keys.open_json(sealed, Binding(keys.tenant, table.name, "phi", str(row["id"])))


class PartyRepository(TenantRepository, Generic[PartyT]):
    """A table of registered parties (patients, providers, payers, ...), unique per tenant by `key`.

    Each row keeps the validated request (its record) beside the columns it is looked up by: sealed in `phi`
    for tables holding PHI (`sealing`), else in `record` (JSONB). `present` turns a row and its record back
    into the typed party.
    """

    def __init__(
        self,
        session: AsyncSession,
        tenant: str,
        table: sa.Table,
        key: tuple[str, ...],
        present: Callable[[sa.RowMapping, Mapping[str, object]], PartyT],
        sealing: Sealing | None = None,
    ) -> None:
        super().__init__(session, tenant)
        self._table = table
        self._key = key
        self._present = present
        self._sealing = sealing

    async def _keys(self, rows: Iterable[sa.RowMapping] = ()) -> TenantKeys:
        return await tenant_keys(self._session, phi_keys, self._tenant, opening=[row["phi"] for row in rows])

    async def _presented(self, rows: Iterable[sa.RowMapping]) -> list[tuple[PartyT, dict[str, object], sa.RowMapping]]:
        rows = list(rows)
        if self._sealing is None:
            return [(self._present(row, row["record"]), dict(row["record"]), row) for row in rows]
        if not rows:
            return []
        keys = await self._keys(rows)
        presented = []
        for row in rows:
            record = opened_record(keys, self._table, row)
            presented.append((self._present(row, record), record, row))
        return presented

    async def _one(self, row: sa.RowMapping | None) -> PartyT | None:
        if row is None:
            return None
        return (await self._presented([row]))[0][0]

    def _equal(self, keys: TenantKeys | None, column: str, values: list[object]) -> sa.ColumnElement[bool]:
        """Rows whose `column` is among `values`: by blind index for a sealed key column (or its plaintext
        on a row stored before 0006)."""
        plain = self._table.c[column].in_(values)
        if keys is None or self._sealing is None or column not in self._sealing.plain_keys:
            return plain
        bidx = f"{column}_bidx"
        return sa.or_(self._table.c[bidx].in_([keys.blind_index(bidx, str(value)) for value in values]), plain)

    async def _add_or_get(self, columns: Mapping[str, object], record: BaseModel) -> Registration[PartyT]:
        """Insert unless the tenant has a party with the same key (the `columns` named by it)."""
        as_json = record.model_dump(mode="json")
        keys = await self._keys() if self._sealing is not None else None
        where = [self._equal(keys, column, [columns[column]]) for column in self._key]
        lookup = sa.select(self._table).where(self._table.c.tenant_id == self._tenant, *where)
        existing = (await self._session.execute(lookup)).mappings().first()
        if existing is None:
            party_id = uuid.uuid4()
            values: dict[str, object] = {"id": party_id, "tenant_id": self._tenant, "record": as_json, **columns}
            conflict = list(self._key)
            if keys is not None and self._sealing is not None:
                values.update(sealed_columns(keys, self._table, party_id, as_json, self._sealing))
                conflict = [f"{c}_bidx" if c in self._sealing.plain_keys else c for c in self._key]
            statement = (
                insert(self._table)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["tenant_id", *conflict])
                .returning(self._table)
            )
            row = (await self._session.execute(statement)).mappings().one_or_none()
            if row is not None:
                party, _, _ = (await self._presented([row]))[0]
                return Registration(party, True)
            existing = (await self._session.execute(lookup)).mappings().one()
        party, stored_record, _ = (await self._presented([existing]))[0]
        stored = type(record).model_validate(stored_record).model_dump(mode="json")
        differing = differing_fields(stored, as_json)
        return Registration(party, False, tuple(differing))

    async def stored(self, party_id: uuid.UUID, *where: sa.ColumnElement[bool]) -> StoredParty[PartyT] | None:
        """The party and its record, locked until the transaction ends (for a change)."""
        row = (
            (
                await self._session.execute(
                    sa.select(self._table)
                    .where(self._table.c.tenant_id == self._tenant, self._table.c.id == party_id, *where)
                    .with_for_update()
                )
            )
            .mappings()
            .one_or_none()
        )
        if row is None:
            return None
        party, record, _ = (await self._presented([row]))[0]
        return StoredParty(party, record)

    async def change(
        self,
        party_id: uuid.UUID,
        kind: str,
        before: dict[str, object],
        after: BaseModel,
        *,
        source: str,
        columns: Mapping[str, object] | None = None,
    ) -> tuple[PartyT, list[str]]:
        """Store the party's new record (and key columns) with a history row naming the fields changed;
        nothing is written when nothing changed. The party as stored, and the fields changed."""
        record = after.model_dump(mode="json")
        changed = differing_fields(before, record)
        if changed:
            values: dict[str, object] = {"record": record, **(columns or {})}
            keys = await self._keys() if self._sealing is not None else None
            if keys is not None and self._sealing is not None:
                values.update(sealed_columns(keys, self._table, party_id, record, self._sealing))
            await self._session.execute(
                sa.update(self._table)
                .where(self._table.c.tenant_id == self._tenant, self._table.c.id == party_id)
                .values(**values)
            )
            change_id = (
                await self._session.execute(
                    sa.insert(party_changes)
                    .values(
                        tenant_id=self._tenant,
                        party_kind=kind,
                        party_id=party_id,
                        source=source,
                        changed_fields=changed,
                        before={} if keys is not None else before,
                        after={} if keys is not None else record,
                    )
                    .returning(party_changes.c.id)
                )
            ).scalar_one()
            if keys is not None:
                sealed = keys.seal_json(
                    {"before": before, "after": record}, Binding(self._tenant, "party_changes", "phi", str(change_id))
                )
                await self._session.execute(
                    sa.update(party_changes).where(party_changes.c.id == change_id).values(phi=sealed)
                )
        party = await self._get(party_id)
        assert party is not None
        return party, changed

    async def history(self, party_id: uuid.UUID) -> list[PartyChange]:
        """The party's changes, oldest first."""
        rows = (
            (
                await self._session.execute(
                    sa.select(
                        party_changes.c.id,
                        party_changes.c.source,
                        party_changes.c.changed_fields,
                        party_changes.c.before,
                        party_changes.c.after,
                        party_changes.c.changed_at,
                        party_changes.c.phi,
                    )
                    .where(party_changes.c.tenant_id == self._tenant, party_changes.c.party_id == party_id)
                    .order_by(party_changes.c.id)
                )
            )
            .mappings()
            .all()
        )
        keys = await self._keys(rows) if any(row["phi"] is not None for row in rows) else None
        changes = []
        for row in rows:
            before, after = row["before"], row["after"]
            if row["phi"] is not None and keys is not None:
                opened = keys.open_json(row["phi"], Binding(self._tenant, "party_changes", "phi", str(row["id"])))
                before, after = opened["before"], opened["after"]
            changes.append(
                PartyChange(
                    id=row["id"],
                    source=row["source"],
                    changed_fields=row["changed_fields"],
                    before=dict(before) if isinstance(before, dict) else {},
                    after=dict(after) if isinstance(after, dict) else {},
                    changed_at=row["changed_at"],
                )
            )
        return changes

    async def get(self, party_id: uuid.UUID) -> PartyT | None:
        return await self._get(party_id)

    async def _get(self, party_id: uuid.UUID, *where: sa.ColumnElement[bool]) -> PartyT | None:
        row = (
            (
                await self._session.execute(
                    sa.select(self._table).where(
                        self._table.c.tenant_id == self._tenant, self._table.c.id == party_id, *where
                    )
                )
            )
            .mappings()
            .one_or_none()
        )
        return await self._one(row)

    async def _find(self, column: str, values: Iterable[object]) -> list[PartyT]:
        wanted = list(set(values))
        if not wanted:
            return []
        keys = await self._keys() if self._sealing is not None and column in self._sealing.plain_keys else None
        rows = (
            await self._session.execute(
                sa.select(self._table).where(self._table.c.tenant_id == self._tenant, self._equal(keys, column, wanted))
            )
        ).mappings()
        return [party for party, _, _ in await self._presented(rows)]

    async def find_by_ids(self, party_ids: Iterable[uuid.UUID]) -> list[PartyT]:
        return await self._find("id", party_ids)


def _patient(row: sa.RowMapping, record: Mapping[str, object]) -> PatientOut:
    return PatientOut.model_validate({**record, "id": row["id"]})


def _coverage(row: sa.RowMapping, record: Mapping[str, object]) -> CoverageOut:
    return CoverageOut.model_validate({**record, "id": row["id"], "patient_id": row["patient_id"]})


def _provider(row: sa.RowMapping, record: Mapping[str, object]) -> ProviderRecord:
    return ProviderRecord(row["id"], ProviderIn.model_validate(record))


def _payer(row: sa.RowMapping, record: Mapping[str, object]) -> PayerOut:
    return PayerOut.model_validate({**record, "id": row["id"]})


def _facility(row: sa.RowMapping, record: Mapping[str, object]) -> FacilityOut:
    return FacilityOut.model_validate({**record, "id": row["id"]})


class PatientRepository(PartyRepository[PatientOut]):
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        super().__init__(session, tenant, patients, ("external_patient_id",), _patient, PATIENT_SEALING)

    async def register(self, patient: PatientIn) -> Registration[PatientOut]:
        return await self._add_or_get({"external_patient_id": patient.external_patient_id}, patient)

    async def find_by_external_ids(self, external_ids: Iterable[str]) -> list[PatientOut]:
        return await self._find("external_patient_id", external_ids)

    async def search(
        self, query: PatientQuery, *, after: tuple[dt.datetime, uuid.UUID] | None, limit: int
    ) -> list[tuple[PatientOut, dt.datetime]]:
        """The tenant's patients matching every filter given, oldest registration first, after `after`.

        Sealed rows match by blind index; rows stored before 0006 by their plaintext record."""
        keys = await self._keys()
        record = patients.c.record
        statement = sa.select(patients).where(patients.c.tenant_id == self._tenant)

        def indexed(bidx: str, value: str, legacy: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
            return sa.or_(patients.c[bidx] == keys.blind_index(bidx, value), sa.and_(patients.c.phi.is_(None), legacy))

        if query.external_patient_id is not None:
            statement = statement.where(self._equal(keys, "external_patient_id", [query.external_patient_id]))
        if query.last_name is not None:
            upper = query.last_name.upper()
            statement = statement.where(
                indexed("last_name_bidx", upper, sa.func.upper(record["last_name"].astext) == upper)
            )
        if query.first_name is not None:
            upper = query.first_name.upper()
            statement = statement.where(
                indexed("first_name_bidx", upper, sa.func.upper(record["first_name"].astext) == upper)
            )
        if query.birth_date is not None:
            day = query.birth_date.isoformat()
            statement = statement.where(indexed("birth_date_bidx", day, record["birth_date"].astext == day))
        if query.member_id is not None:
            statement = statement.where(
                sa.exists().where(
                    coverages.c.tenant_id == self._tenant,
                    coverages.c.patient_id == patients.c.id,
                    sa.or_(
                        coverages.c.member_id_bidx == keys.blind_index("member_id_bidx", query.member_id),
                        coverages.c.member_id == query.member_id,
                    ),
                )
            )
        if after is not None:
            statement = statement.where(rows_after(patients.c.created_at, patients.c.id, after))
        statement = statement.order_by(patients.c.created_at, patients.c.id).limit(limit)
        rows = (await self._session.execute(statement)).mappings().all()
        return [(party, row["created_at"]) for party, _, row in await self._presented(rows)]


class CoverageRepository(PartyRepository[CoverageOut]):
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        super().__init__(
            session, tenant, coverages, ("patient_id", "payer_id", "member_id"), _coverage, COVERAGE_SEALING
        )

    async def register(self, patient_id: uuid.UUID, coverage: CoverageIn) -> Registration[CoverageOut]:
        return await self._add_or_get(
            {"patient_id": patient_id, "payer_id": coverage.payer_id, "member_id": coverage.member_id}, coverage
        )

    async def of_patient(self, patient_id: uuid.UUID, coverage_id: uuid.UUID) -> CoverageOut | None:
        return await self._get(coverage_id, coverages.c.patient_id == patient_id)

    async def find_by_patients(self, patient_ids: Iterable[uuid.UUID]) -> list[CoverageOut]:
        return await self._find("patient_id", patient_ids)


class ProviderRepository(PartyRepository[ProviderRecord]):
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        super().__init__(session, tenant, providers, ("npi",), _provider, PROVIDER_SEALING)

    async def register(self, provider: ProviderIn) -> Registration[ProviderRecord]:
        return await self._add_or_get({"npi": provider.npi}, provider)

    async def find_by_npis(self, npis: Iterable[str]) -> list[ProviderRecord]:
        return await self._find("npi", npis)


class PayerRepository(PartyRepository[PayerOut]):
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        super().__init__(session, tenant, payers, ("payer_id",), _payer)

    async def register(self, payer: PayerIn) -> Registration[PayerOut]:
        return await self._add_or_get({"payer_id": payer.payer_id}, payer)

    async def find_by_payer_ids(self, payer_ids: Iterable[str]) -> list[PayerOut]:
        return await self._find("payer_id", payer_ids)


class FacilityRepository(PartyRepository[FacilityOut]):
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        super().__init__(session, tenant, facilities, ("external_facility_id",), _facility)

    async def register(self, facility: FacilityIn) -> Registration[FacilityOut]:
        return await self._add_or_get({"external_facility_id": facility.external_facility_id}, facility)

    async def find_by_external_ids(self, external_ids: Iterable[str]) -> list[FacilityOut]:
        return await self._find("external_facility_id", external_ids)


class RegistryRepository(TenantRepository):
    """Everything a batch of encounters names, in one query per kind of record."""

    async def load(
        self,
        *,
        patient_ids: set[uuid.UUID],
        patient_external_ids: set[str],
        payer_ids: set[str],
        npis: set[str],
        facility_ids: set[uuid.UUID],
        facility_external_ids: set[str],
    ) -> Registry:
        session, tenant = self._session, self._tenant
        patient_records = PatientRepository(session, tenant)
        found_patients = await patient_records.find_by_ids(patient_ids)
        found_patients += await patient_records.find_by_external_ids(patient_external_ids)
        found_coverages = await CoverageRepository(session, tenant).find_by_patients({p.id for p in found_patients})
        found_payers = await PayerRepository(session, tenant).find_by_payer_ids(
            payer_ids | {c.payer_id for c in found_coverages}
        )
        found_providers = await ProviderRepository(session, tenant).find_by_npis(npis)
        facility_records = FacilityRepository(session, tenant)
        found_facilities = await facility_records.find_by_ids(facility_ids)
        found_facilities += await facility_records.find_by_external_ids(facility_external_ids)
        by_patient: dict[uuid.UUID, list[CoverageOut]] = {}
        for coverage in found_coverages:
            by_patient.setdefault(coverage.patient_id, []).append(coverage)
        return Registry(
            patients={p.id: p for p in found_patients},
            patients_by_external_id={p.external_patient_id: p for p in found_patients},
            coverages=by_patient,
            payers={p.payer_id: p for p in found_payers},
            providers={p.provider.npi: p.provider for p in found_providers},
            facilities={f.id: f for f in found_facilities},
            facilities_by_external_id={f.external_facility_id: f for f in found_facilities},
        )


_ENCOUNTER_COLUMNS = (
    encounters.c.id,
    encounters.c.external_encounter_id,
    encounters.c.claim_type,
    encounters.c.total_charge_cents,
    encounters.c.currency,
    encounters.c.received_at,
    encounters.c.unresolved,
    encounters.c.patient_id,
    encounters.c.status,
    encounters.c.cancel_reason,
    encounters.c.cancelled_at,
)


def _encounter(row: sa.RowMapping) -> Encounter:
    return Encounter(
        id=row["id"],
        external_encounter_id=row["external_encounter_id"],
        claim_type=row["claim_type"],
        total_charge_cents=row["total_charge_cents"],
        currency=row["currency"],
        received_at=row["received_at"],
        unresolved=list(row["unresolved"]),
        patient_id=row["patient_id"],
        status=row["status"],
        cancel_reason=row["cancel_reason"],
        cancelled_at=row["cancelled_at"],
    )


ENCOUNTER_PHI = {"patient_external_id", "ambulance"}
"""Members of an encounter as received that hold PHI (the MRN; the ambulance's pick-up, often the patient's home,
and the patient's weight), sealed in `encounters.phi`; the rest of `coding` stays plain JSONB."""


def opened_coding(
    keys: TenantKeys | None, encounter_id: uuid.UUID, coding: Mapping[str, object], sealed: bytes | None
) -> dict[str, object]:
    """The encounter as received: `coding` with its sealed members put back (a row stored before 0007: as is)."""
    if sealed is None or keys is None:
        return dict(coding)
    opened = orjson.loads(keys.open(sealed, Binding(keys.tenant, encounters.name, "phi", str(encounter_id))))
    return merged(coding, opened)


def _sealed_coding(keys: TenantKeys, row: sa.RowMapping) -> dict[str, object]:
    plain, taken = split(row["coding"], sorted(ENCOUNTER_PHI))
    binding = Binding(keys.tenant, encounters.name, "phi", str(row["id"]))
    return {"coding": plain, "phi": keys.seal(orjson.dumps(taken), binding)}


class EncounterRepository(TenantRepository):
    async def get(self, encounter_id: uuid.UUID) -> Encounter | None:
        row = (
            (
                await self._session.execute(
                    sa.select(*_ENCOUNTER_COLUMNS).where(
                        encounters.c.tenant_id == self._tenant, encounters.c.id == encounter_id
                    )
                )
            )
            .mappings()
            .one_or_none()
        )
        return None if row is None else _encounter(row)

    async def find_by_external_ids(self, external_ids: Iterable[str]) -> dict[str, Encounter]:
        wanted = list(set(external_ids))
        rows = (
            await self._session.execute(
                sa.select(*_ENCOUNTER_COLUMNS).where(
                    encounters.c.tenant_id == self._tenant,
                    encounters.c.external_encounter_id == sa.func.any(sa.bindparam("wanted", type_=ARRAY(sa.Text))),
                ),
                {"wanted": wanted},
            )
        ).mappings()  # one array parameter, not a thousand: the statement is the same for every batch
        return {row["external_encounter_id"]: _encounter(row) for row in rows}

    async def codings(self, external_ids: Iterable[str]) -> dict[str, dict[str, object]]:
        """The encounters as received (the validated request's JSON), by external id."""
        wanted = list(set(external_ids))
        if not wanted:
            return {}
        rows = (
            await self._session.execute(
                sa.select(
                    encounters.c.id, encounters.c.external_encounter_id, encounters.c.coding, encounters.c.phi
                ).where(encounters.c.tenant_id == self._tenant, encounters.c.external_encounter_id.in_(wanted))
            )
        ).all()
        sealed = [row.phi for row in rows if row.phi is not None]
        keys = await tenant_keys(self._session, phi_keys, self._tenant, opening=sealed) if sealed else None
        return {row.external_encounter_id: opened_coding(keys, row.id, row.coding, row.phi) for row in rows}

    async def search(
        self, query: EncounterQuery, *, after: tuple[dt.datetime, uuid.UUID] | None, limit: int
    ) -> list[Encounter]:
        """The tenant's encounters matching every filter given, oldest first, after `after`."""
        statement = sa.select(*_ENCOUNTER_COLUMNS).where(encounters.c.tenant_id == self._tenant)
        if query.patient_id is not None:
            statement = statement.where(encounters.c.patient_id == query.patient_id)
        if query.external_encounter_id is not None:
            statement = statement.where(encounters.c.external_encounter_id == query.external_encounter_id)
        if query.status is not None:
            statement = statement.where(encounters.c.status == query.status)
        if after is not None:
            statement = statement.where(rows_after(encounters.c.received_at, encounters.c.id, after))
        statement = statement.order_by(encounters.c.received_at, encounters.c.id).limit(limit)
        return [_encounter(row) for row in (await self._session.execute(statement)).mappings()]

    async def cancel(self, encounter_id: uuid.UUID, reason: str, at: dt.datetime) -> bool:
        """Mark an active encounter cancelled (its claim was); False when it is unknown or cancelled already."""
        done = await self._session.execute(
            sa.update(encounters)
            .where(
                encounters.c.tenant_id == self._tenant,
                encounters.c.id == encounter_id,
                encounters.c.status == "active",
            )
            .values(status="cancelled", cancel_reason=reason, cancelled_at=at)
            .returning(encounters.c.id)
        )
        return done.first() is not None

    async def add_many(self, new: list[NewEncounter]) -> dict[str, Encounter]:
        """Insert in one statement, skipping external ids the tenant already sent; the encounters inserted,
        by external id.

        One array per column, unnested by Postgres: a single prepared statement whatever the batch size,
        and each encounter's JSON written by pydantic's serializer, not built as a dict and dumped again. Only
        what Postgres decides comes back (which rows went in, their `received_at`): the rest is what was sent."""
        if not new:
            return {}
        keys = await tenant_keys(self._session, phi_keys, self._tenant)
        tenant = self._tenant
        rows = await self._session.execute(
            _ADD_ENCOUNTERS,
            {
                "ids": [item.id for item in new],
                "tenant": tenant,
                "external_ids": [item.encounter.external_encounter_id for item in new],
                "claim_types": [item.encounter.claim_type for item in new],
                "totals": [item.total_charge_cents for item in new],
                "currencies": [item.encounter.currency for item in new],
                "codings": [encounter_coding_json(item.encounter) for item in new],
                "phis": [
                    keys.seal(encounter_phi_json(item.encounter), Binding(tenant, encounters.name, "phi", str(item.id)))
                    for item in new
                ],
                "unresolved": [orjson.dumps(item.unresolved).decode() for item in new],
                "patient_ids": [item.patient_id for item in new],
            },
        )
        sent = {item.id: item for item in new}
        inserted = {}
        for encounter_id, received_at in rows.tuples():
            item = sent[encounter_id]
            inserted[item.encounter.external_encounter_id] = Encounter(
                id=item.id,
                external_encounter_id=item.encounter.external_encounter_id,
                claim_type=item.encounter.claim_type,
                total_charge_cents=item.total_charge_cents,
                currency=item.encounter.currency,
                received_at=received_at,
                unresolved=list(item.unresolved),
                patient_id=item.patient_id,
            )
        return inserted


def encounter_coding_json(encounter: EncounterBody) -> str:
    """The encounter without its PHI members (ENCOUNTER_PHI), the JSON stored in `encounters.coding`: the model's dump,
    or its mirror's encoded to the same text (the same members in the same order, the same values)."""
    if isinstance(encounter, EncounterW):
        members = msgspec.structs.asdict(encounter)
        for name in ENCOUNTER_PHI:
            del members[name]
        return _CODING_ENCODER.encode(members).decode()
    return encounter.model_dump_json(exclude=ENCOUNTER_PHI)


_CODING_ENCODER = msgspec.json.Encoder()


def encounter_phi_json(encounter: EncounterBody) -> bytes:
    """The encounter's PHI members (ENCOUNTER_PHI) as the JSON sealed in `encounters.phi`: an encounter without an
    ambulance trip (nearly all, and every mirror) holds only its MRN, dumped directly."""
    if isinstance(encounter, EncounterW) or encounter.ambulance is None:
        return orjson.dumps({"patient_external_id": encounter.patient_external_id, "ambulance": None})
    return encounter.model_dump_json(include=ENCOUNTER_PHI).encode()


_ADD_ENCOUNTERS = (
    sa.text(
        f"INSERT INTO {encounters.fullname} (id, tenant_id, external_encounter_id, claim_type, total_charge_cents, "  # noqa: S608 - names from the model, values bound
        "currency, coding, phi, unresolved, patient_id) "
        "SELECT id, :tenant, external_id, claim_type, total, currency, coding::json, phi, unresolved::jsonb, "
        "patient_id FROM unnest(:ids, :external_ids, :claim_types, :totals, :currencies, :codings, :phis, "
        ":unresolved, :patient_ids) AS new (id, external_id, claim_type, total, currency, coding, phi, unresolved, "
        "patient_id) "
        "ON CONFLICT (tenant_id, external_encounter_id) DO NOTHING "
        "RETURNING id, received_at"
    )
    .bindparams(
        sa.bindparam("ids", type_=ARRAY(sa.Uuid)),
        sa.bindparam("tenant", type_=sa.Text),
        sa.bindparam("external_ids", type_=ARRAY(sa.Text)),
        sa.bindparam("claim_types", type_=ARRAY(sa.Text)),
        sa.bindparam("totals", type_=ARRAY(sa.BigInteger)),
        sa.bindparam("currencies", type_=ARRAY(sa.Text)),
        sa.bindparam("codings", type_=ARRAY(sa.Text)),
        sa.bindparam("phis", type_=ARRAY(sa.LargeBinary)),
        sa.bindparam("unresolved", type_=ARRAY(sa.Text)),
        sa.bindparam("patient_ids", type_=ARRAY(sa.Uuid)),
    )
    .columns(encounters.c.id, encounters.c.received_at)
)


class CptCodeRepository(TenantRepository):
    async def load(self, codes: list[tuple[str, str | None]], *, replace: bool) -> None:
        if replace:
            await self._session.execute(sa.delete(cpt_codes).where(cpt_codes.c.tenant_id == self._tenant))
        statement = insert(cpt_codes).values(
            [{"tenant_id": self._tenant, "code": code, "description": description} for code, description in codes]
        )
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id", "code"], set_={"description": statement.excluded.description}
        )
        await self._session.execute(statement)

    async def codes(self, among: Iterable[str]) -> frozenset[str] | None:
        """Which of `among` are on the tenant's list; None when it loaded no list at all (then `among`, a batch's
        every procedure code, is not even read)."""
        loaded_any = await self._session.scalar(sa.select(sa.exists().where(cpt_codes.c.tenant_id == self._tenant)))
        if not loaded_any:
            return None
        wanted = list(set(among))
        found = await self._session.scalars(
            sa.select(cpt_codes.c.code).where(cpt_codes.c.tenant_id == self._tenant, cpt_codes.c.code.in_(wanted))
        )
        return frozenset(found)

    async def count(self) -> int:
        return int(
            await self._session.scalar(
                sa.select(sa.func.count()).select_from(cpt_codes).where(cpt_codes.c.tenant_id == self._tenant)
            )
            or 0
        )


_CHECK_COLUMNS = (
    eligibility_checks.c.id,
    eligibility_checks.c.patient_id,
    eligibility_checks.c.coverage_id,
    eligibility_checks.c.payer_id,
    eligibility_checks.c.provider_npi,
    eligibility_checks.c.service_date,
    eligibility_checks.c.state,
    eligibility_checks.c.trace_number,
    eligibility_checks.c.interchange_control_number,
    eligibility_checks.c.sent_at,
    eligibility_checks.c.answered_at,
    eligibility_checks.c.answer,
)


def _check(row: sa.RowMapping) -> EligibilityCheck:
    return EligibilityCheck(**{column.name: row[column.name] for column in _CHECK_COLUMNS})


class EligibilityCheckRepository(TenantRepository):
    async def next_interchange_control_number(self) -> int:
        """ISA13 of the next 270, from a sequence: unique and persisted, never reused until it cycles."""
        return int((await self._session.execute(sa.select(eligibility_interchange_numbers.next_value()))).scalar_one())

    async def add(self, check: NewEligibilityCheck) -> EligibilityCheck:
        """Store a check as `sent` (flushed, so a failing submit after it still rolls it back)."""
        row = (
            (
                await self._session.execute(
                    sa.insert(eligibility_checks)
                    .values(
                        id=check.id,
                        tenant_id=self._tenant,
                        patient_id=check.patient_id,
                        coverage_id=check.coverage_id,
                        payer_id=check.payer_id,
                        provider_npi=check.provider_npi,
                        service_date=check.service_date,
                        trace_number=check.trace_number,
                        interchange_control_number=check.interchange_control_number,
                        file_name=check.file_name,
                        sent_sha256=check.sent_sha256,
                        state="sent",
                        sent_at=check.sent_at,
                    )
                    .returning(*_CHECK_COLUMNS)
                )
            )
            .mappings()
            .one()
        )
        await self._session.flush()
        return _check(row)

    async def get(self, check_id: uuid.UUID) -> EligibilityCheck | None:
        row = (
            (
                await self._session.execute(
                    sa.select(*_CHECK_COLUMNS).where(
                        eligibility_checks.c.tenant_id == self._tenant, eligibility_checks.c.id == check_id
                    )
                )
            )
            .mappings()
            .one_or_none()
        )
        return None if row is None else _check(row)


class EligibilityAnswerRepository:
    """Answers to checks, matched by trace number whatever their tenant (a 271 names no tenant of ours)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def waiting(self, trace_numbers: Iterable[str]) -> list[WaitingCheck]:
        """The checks still `sent` among these trace numbers, locked until the transaction ends."""
        rows = await self._session.execute(
            sa.select(eligibility_checks.c.id, eligibility_checks.c.trace_number)
            .where(eligibility_checks.c.trace_number.in_(list(trace_numbers)), eligibility_checks.c.state == "sent")
            .with_for_update()
        )
        return [WaitingCheck(check_id, trace_number) for check_id, trace_number in rows]

    async def answer(self, check_id: uuid.UUID, answer: StoredAnswer) -> None:
        """Store the answer on a check still `sent`; an answered check is never changed again."""
        await self._session.execute(
            sa.update(eligibility_checks)
            .where(eligibility_checks.c.id == check_id, eligibility_checks.c.state == "sent")
            .values(
                state=answer.state,
                answer=answer.answer,
                response_file_name=answer.response_file_name,
                response_sha256=answer.response_sha256,
                answered_at=answer.answered_at,
            )
        )


def _answer_binding(tenant: str, key: str) -> Binding:
    return Binding(tenant, idempotency_keys.name, "response_sealed", key)


class _SealedAnswers:
    """Intake's stored answers name patients (a registration answers with the patient): sealed with the
    tenant's data key, each bound to its key."""

    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    def _binding(self, key: str) -> Binding:
        return _answer_binding(self._tenant, key)

    async def seal(self, key: str, body: object) -> bytes:
        keys = await tenant_keys(self._session, phi_keys, self._tenant)
        return keys.seal(orjson.dumps(body), self._binding(key))

    async def open(self, key: str, sealed: bytes) -> object:
        keys = await tenant_keys(self._session, phi_keys, self._tenant, opening=[sealed])
        return orjson.loads(keys.open(sealed, self._binding(key)))


def _sealed_answer(keys: TenantKeys, row: sa.RowMapping) -> dict[str, object]:
    binding = _answer_binding(keys.tenant, row["key"])
    return {"response_sealed": keys.seal(orjson.dumps(row["response_body"]), binding), "response_body": sa.null()}


def idempotency_keys_of(session: AsyncSession, tenant: str) -> IdempotencyKeys:
    """The tenant's Idempotency-Keys in intake's own table, their answers sealed."""
    return IdempotencyKeys(session, idempotency_keys, tenant, _SealedAnswers(session, tenant))


_SEALED_PARTIES = ((patients, PATIENT_SEALING), (coverages, COVERAGE_SEALING), (providers, PROVIDER_SEALING))
_SEALED_CHANGES = ("patient", "coverage", "provider")


def _sealed_party(table: sa.Table, sealing: Sealing) -> Callable[[TenantKeys, sa.RowMapping], dict[str, object]]:
    return lambda keys, row: sealed_columns(keys, table, row["id"], dict(row["record"]), sealing)


def _sealed_change(keys: TenantKeys, row: sa.RowMapping) -> dict[str, object]:
    binding = Binding(keys.tenant, party_changes.name, "phi", str(row["id"]))
    return {"phi": keys.seal_json({"before": row["before"], "after": row["after"]}, binding), "before": {}, "after": {}}


PLAINTEXT_ROWS = (
    *(PlaintextRows(table, table.c.phi.is_(None), _sealed_party(table, sealing)) for table, sealing in _SEALED_PARTIES),
    PlaintextRows(
        party_changes,
        sa.and_(party_changes.c.phi.is_(None), party_changes.c.party_kind.in_(_SEALED_CHANGES)),
        _sealed_change,
    ),
    PlaintextRows(encounters, encounters.c.phi.is_(None), _sealed_coding),
    PlaintextRows(
        idempotency_keys,
        sa.and_(idempotency_keys.c.response_sealed.is_(None), idempotency_keys.c.response_body.is_not(None)),
        _sealed_answer,
        row_id="key",
    ),
)
"""Rows stored in plaintext before 0006 (parties, their history), 0007 (encounters) and 0008 (answers)."""


async def seal_legacy_rows(session: AsyncSession, limit: int) -> int:
    """Seal up to `limit` rows stored in plaintext (`claimflow phi encrypt-existing`); how many."""
    return await seal_plaintext_rows(session, phi_keys, PLAINTEXT_ROWS, limit)


PHI_AT_REST = PhiAtRest(
    keys=phi_keys,
    sealed=[
        SealedColumn(patients),
        SealedColumn(coverages),
        SealedColumn(providers),
        SealedColumn(party_changes),
        SealedColumn(encounters),
        SealedColumn(idempotency_keys, "response_sealed", row_id="key"),
    ],
    seal_legacy=seal_legacy_rows,
)
