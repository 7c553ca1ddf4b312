"""All SQL of the intake service; every query is scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.domain.parties import Registry
from services.intake.models import (
    coverages,
    cpt_codes,
    encounters,
    facilities,
    idempotency_keys,
    patients,
    payers,
    providers,
)
from services.intake.schemas import CoverageOut, FacilityOut, PatientOut, PayerOut, ProviderIn


class TenantRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant


class RecordRepository(TenantRepository):
    """A table of registered records (patients, providers, payers, ...) keyed per tenant."""

    def __init__(self, session: AsyncSession, tenant: str, table: sa.Table, key: tuple[str, ...]) -> None:
        super().__init__(session, tenant)
        self._table = table
        self._key = key

    async def add_or_get(self, values: dict[str, Any]) -> tuple[sa.Row[Any], bool]:
        """Insert unless the tenant has a record with the same key; (row, created)."""
        statement = (
            insert(self._table)
            .values(id=uuid.uuid4(), tenant_id=self._tenant, **values)
            .on_conflict_do_nothing(index_elements=["tenant_id", *self._key])
            .returning(self._table)
        )
        row = (await self._session.execute(statement)).one_or_none()
        if row is not None:
            return row, True
        where = [self._table.c[column] == values[column] for column in self._key]
        existing = (
            await self._session.execute(sa.select(self._table).where(self._table.c.tenant_id == self._tenant, *where))
        ).one()
        return existing, False

    async def get(self, record_id: uuid.UUID, **filters: object) -> sa.Row[Any] | None:
        where = [self._table.c[column] == value for column, value in filters.items()]
        return (
            await self._session.execute(
                sa.select(self._table).where(
                    self._table.c.tenant_id == self._tenant, self._table.c.id == record_id, *where
                )
            )
        ).one_or_none()

    async def find(self, column: str, values: Iterable[object]) -> list[sa.Row[Any]]:
        wanted = list(set(values))
        if not wanted:
            return []
        return list(
            (
                await self._session.execute(
                    sa.select(self._table).where(
                        self._table.c.tenant_id == self._tenant, self._table.c[column].in_(wanted)
                    )
                )
            ).all()
        )


def patient_records(session: AsyncSession, tenant: str) -> RecordRepository:
    return RecordRepository(session, tenant, patients, ("external_patient_id",))


def coverage_records(session: AsyncSession, tenant: str) -> RecordRepository:
    return RecordRepository(session, tenant, coverages, ("patient_id", "payer_id", "member_id"))


def provider_records(session: AsyncSession, tenant: str) -> RecordRepository:
    return RecordRepository(session, tenant, providers, ("npi",))


def payer_records(session: AsyncSession, tenant: str) -> RecordRepository:
    return RecordRepository(session, tenant, payers, ("payer_id",))


def facility_records(session: AsyncSession, tenant: str) -> RecordRepository:
    return RecordRepository(session, tenant, facilities, ("external_facility_id",))


def patient_out(row: sa.Row[Any]) -> PatientOut:
    return PatientOut.model_validate({**row.record, "id": row.id})


def coverage_out(row: sa.Row[Any]) -> CoverageOut:
    return CoverageOut.model_validate({**row.record, "id": row.id, "patient_id": row.patient_id})


def payer_out(row: sa.Row[Any]) -> PayerOut:
    return PayerOut.model_validate({**row.record, "id": row.id})


def facility_out(row: sa.Row[Any]) -> FacilityOut:
    return FacilityOut.model_validate({**row.record, "id": row.id})


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
        patient_rows = await patient_records(session, tenant).find("id", patient_ids)
        patient_rows += await patient_records(session, tenant).find("external_patient_id", patient_external_ids)
        found_patients = [patient_out(row) for row in patient_rows]
        coverage_rows = await coverage_records(session, tenant).find("patient_id", {p.id for p in found_patients})
        found_coverages = [coverage_out(row) for row in coverage_rows]
        payer_rows = await payer_records(session, tenant).find(
            "payer_id", payer_ids | {c.payer_id for c in found_coverages}
        )
        provider_rows = await provider_records(session, tenant).find("npi", npis)
        facility_rows = await facility_records(session, tenant).find("id", facility_ids)
        facility_rows += await facility_records(session, tenant).find("external_facility_id", facility_external_ids)
        by_patient: dict[uuid.UUID, list[CoverageOut]] = {}
        for coverage in found_coverages:
            by_patient.setdefault(coverage.patient_id, []).append(coverage)
        found_facilities = [facility_out(row) for row in facility_rows]
        return Registry(
            patients={p.id: p for p in found_patients},
            patients_by_external_id={p.external_patient_id: p for p in found_patients},
            coverages=by_patient,
            payers={row.payer_id: payer_out(row) for row in payer_rows},
            providers={row.npi: ProviderIn.model_validate(row.record) for row in provider_rows},
            facilities={f.id: f for f in found_facilities},
            facilities_by_external_id={f.external_facility_id: f for f in found_facilities},
        )


class EncounterRepository(TenantRepository):
    async def get(self, encounter_id: uuid.UUID) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(encounters).where(encounters.c.tenant_id == self._tenant, encounters.c.id == encounter_id)
            )
        ).one_or_none()

    async def find_by_external_ids(self, external_ids: Iterable[str]) -> dict[str, sa.Row[Any]]:
        wanted = list(set(external_ids))
        rows = (
            await self._session.execute(
                sa.select(encounters).where(
                    encounters.c.tenant_id == self._tenant, encounters.c.external_encounter_id.in_(wanted)
                )
            )
        ).all()
        return {row.external_encounter_id: row for row in rows}

    async def add_many(self, values: list[dict[str, Any]]) -> dict[str, sa.Row[Any]]:
        """Insert in one statement, skipping external ids the tenant already sent; the rows inserted, by external id."""
        if not values:
            return {}
        statement = (
            insert(encounters)
            .values([{"tenant_id": self._tenant, **v} for v in values])
            .on_conflict_do_nothing(index_elements=["tenant_id", "external_encounter_id"])
            .returning(encounters)
        )
        return {row.external_encounter_id: row for row in (await self._session.execute(statement)).all()}


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
        """Which of `among` are on the tenant's list; None when it loaded no list at all."""
        wanted = list(set(among))
        loaded_any = await self._session.scalar(sa.select(sa.exists().where(cpt_codes.c.tenant_id == self._tenant)))
        if not loaded_any:
            return None
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


class IdempotencyRepository(TenantRepository):
    async def claim(self, key: str, request_hash: str) -> sa.Row[Any] | None:
        """Take the key for this request; None when it is new, else the earlier request's row.

        A concurrent request with the same key waits on the primary key until the first commits.
        """
        inserted = (
            await self._session.execute(
                insert(idempotency_keys)
                .values(tenant_id=self._tenant, key=key, request_hash=request_hash)
                .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
                .returning(idempotency_keys.c.key)
            )
        ).one_or_none()
        if inserted is not None:
            return None
        return (
            await self._session.execute(
                sa.select(idempotency_keys).where(
                    idempotency_keys.c.tenant_id == self._tenant, idempotency_keys.c.key == key
                )
            )
        ).one()

    async def complete(self, key: str, status: int, body: object) -> None:
        await self._session.execute(
            sa.update(idempotency_keys)
            .where(idempotency_keys.c.tenant_id == self._tenant, idempotency_keys.c.key == key)
            .values(response_status=status, response_body=body)
        )
