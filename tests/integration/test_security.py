"""Credentials, scopes, tenants and database roles, against real service processes and Postgres."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.support.pipeline import Pipeline, coded_encounter, new_tenant

pytestmark = pytest.mark.integration


async def test_business_endpoints_answer_401_403_and_404_across_tenants(services: Pipeline) -> None:
    intake = await services.start("intake", CLAIMFLOW_RUN_RELAY="false")
    tenant_a, tenant_b = new_tenant(), new_tenant()
    async with httpx.AsyncClient(base_url=intake.base_url) as client:
        missing = await client.post("/v1/encounters", json=coded_encounter())
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"

        forged = await client.post(
            "/v1/encounters", json=coded_encounter(), headers={"Authorization": "Bearer not-a-jwt"}
        )
        assert forged.status_code == 401

        read_only = await client.post(
            "/v1/encounters", json=coded_encounter(), headers=services.auth(tenant_a, "encounters:read")
        )
        assert read_only.status_code == 403
        assert read_only.json()["detail"] == "missing scope encounters:write"

        created = await client.post(
            "/v1/encounters", json=coded_encounter(), headers=services.auth(tenant_a, "encounters:write")
        )
        assert created.status_code == 201
        encounter_id = created.json()["id"]

        own = await client.get(f"/v1/encounters/{encounter_id}", headers=services.auth(tenant_a, "encounters:read"))
        assert own.status_code == 200
        assert own.json()["total_charge_cents"] == 15500

        other = await client.get(f"/v1/encounters/{encounter_id}", headers=services.auth(tenant_b, "encounters:read"))
        assert other.status_code == 404

        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.json()["checks"]["migrations"]["ok"] is True


async def test_repeated_encounter_returns_the_first_result_and_creates_nothing(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    intake = await services.start("intake", CLAIMFLOW_RUN_RELAY="false")
    tenant = new_tenant()
    encounter = coded_encounter()
    headers = services.auth(tenant, "encounters:write")
    async with httpx.AsyncClient(base_url=intake.base_url, headers=headers) as client:
        first = await client.post("/v1/encounters", json=encounter)
        again = await client.post("/v1/encounters", json=encounter)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert await admin_db.fetchval("SELECT count(*) FROM intake.encounters WHERE tenant_id = $1", tenant) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM intake.outbox WHERE tenant_id = $1", tenant) == 1


async def test_bad_diagnosis_pointer_is_a_422_naming_the_field(services: Pipeline) -> None:
    intake = await services.start("intake", CLAIMFLOW_RUN_RELAY="false")
    encounter = coded_encounter()
    encounter["lines"][1]["diagnosis_pointers"] = [3]
    async with httpx.AsyncClient(base_url=intake.base_url) as client:
        response = await client.post(
            "/v1/encounters", json=encounter, headers=services.auth(new_tenant(), "encounters:write")
        )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "lines", 1, "diagnosis_pointers"]


@pytest.mark.parametrize(
    ("role", "foreign_table"),
    [
        ("intake", "claims.claims"),
        ("claims", "intake.encounters"),
        ("remittance", "denials.denial_cases"),
        ("notifications", "remittance.outbox"),
    ],
)
async def test_a_service_role_cannot_read_another_services_schema(
    pipeline: Pipeline, role: str, foreign_table: str
) -> None:
    connection = await asyncpg.connect(pipeline.role_url(role).replace("postgresql+asyncpg", "postgresql"))
    try:
        assert await connection.fetchval(f"SELECT count(*) FROM {role}.outbox") >= 0  # noqa: S608
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.fetch(f"SELECT * FROM {foreign_table} LIMIT 1")  # noqa: S608
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CREATE TABLE public.smuggled (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CREATE TEMPORARY TABLE smuggled (id int)")
    finally:
        await connection.close()
    maintenance = (
        pipeline.role_url(role)
        .replace("postgresql+asyncpg", "postgresql")
        .replace(f"/{pipeline.database}", "/postgres")
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(maintenance)
