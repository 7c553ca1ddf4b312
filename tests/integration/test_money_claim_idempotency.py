"""The whole system in real processes for one tenant (`running_system`): the sandbox payer driven by the
documented scenario values (member ids `SBXD50…` and `SBXDED…`, docs/sandbox.md), and `Idempotency-Key` on
every POST that changes money or claims in claims, remittance and notifications: the same key and request
replay the first answer (`Idempotent-Replayed: true`) and act once; the same key with another request is a
422 naming the header; a request without a key acts as before."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cli.demo import DemoProgress, DemoRun
from cli.demo_practice import build_practice
from tests.support.demo_system import RunningSystem, demo_end_date, running_system
from tests.support.pipeline import Pipeline, eventually
from tests.support.remittance_builder import ClaimSpec, LineSpec, remittance_file

pytestmark = pytest.mark.integration
SETTLED = ("paid", "partially_paid", "denied")
X12 = {"Content-Type": "application/edi-x12"}


@dataclasses.dataclass(frozen=True)
class Scenarios:
    """The running system with one claim per scenario, and two the scrubber held."""

    system: RunningSystem
    client: httpx.AsyncClient
    denied: dict[str, Any]
    deductible: dict[str, Any]
    deductible_patient: str
    held: tuple[str, str]


def office_visit(
    external_id: str, patient: str, day: dt.date, template: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    """An office visit (99213) for `patient`, billed by the practice's providers."""
    return {
        **{key: template[key] for key in ("claim_type", "payer_id", "billing_provider_npi", "rendering_provider_npi")},
        "external_encounter_id": external_id,
        "patient_external_id": patient,
        "place_of_service": "11",
        "service_date_from": day.isoformat(),
        "service_date_to": day.isoformat(),
        "diagnosis_codes": ["I10"],
        "lines": [
            {"line_number": 1, "procedure_code": "99213", "modifiers": [], "units": 1, "charge_cents": 15000,
             "diagnosis_pointers": [1], "service_date": day.isoformat()},
        ],
        **overrides,
    }  # fmt: skip


async def claim_of(client: httpx.AsyncClient, system: RunningSystem, encounter_id: str, *states: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        response = await client.get(f"{system.urls.claims}/v1/claims", params={"encounter_id": encounter_id})
        response.raise_for_status()
        items = [claim for claim in response.json()["items"] if claim["state"] in states]
        return items[0] if items else None

    claim: dict[str, Any] = await eventually(found, timeout_s=120, what=f"the encounter's claim in {states}")
    return claim


@pytest.fixture(scope="module")
async def scenarios(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Scenarios]:
    end = demo_end_date()
    practice = build_practice(53, 1, end)
    suffix = uuid.uuid4().hex[:6].upper()
    payer = practice.patients[0].primary_payer
    member_ids = {"D50": f"SBXD50{suffix}", "DED": f"SBXDED{suffix}", "PLAIN": f"SYN{suffix}"}
    patients = tuple(
        dataclasses.replace(
            patient,
            document={**patient.document, "sex": "F"} if name == "PLAIN" else patient.document,
            coverages=({"payer_id": payer, "priority": "primary", "member_id": member_ids[name]},),
        )
        for name, patient in zip(member_ids, practice.patients, strict=False)
    )
    practice = dataclasses.replace(practice, patients=patients)
    template = {**practice.encounters[0], "payer_id": payer}
    d50, ded, plain = (patient.external_id for patient in patients)
    encounters = {
        "denied": office_visit(f"SBX-{suffix}-D50", d50, end, template),
        "deductible": office_visit(f"SBX-{suffix}-DED", ded, end, template),
        # A prostate diagnosis for a female patient: the scrubber holds both.
        "held-fix": office_visit(f"SBX-{suffix}-H1", plain, end, template, diagnosis_codes=["N40.0"]),
        "held-cancel": office_visit(
            f"SBX-{suffix}-H2", plain, end - dt.timedelta(days=1), template, diagnosis_codes=["N40.0"]
        ),
    }
    folder = tmp_path_factory.mktemp("idempotency")
    async with running_system(pipeline, folder) as system:
        headers = {"Authorization": f"Bearer {system.token}"}
        async with httpx.AsyncClient(headers=headers, timeout=60) as client:
            patient_ids = await DemoRun(client, system.urls).register(practice, DemoProgress(None))
            encounter_ids = {}
            for name, body in encounters.items():
                response = await client.post(f"{system.urls.intake}/v1/encounters", json=body)
                assert response.status_code == 201, response.text
                encounter_ids[name] = response.json()["id"]
            to_fix = await claim_of(client, system, encounter_ids["held-fix"], "on_hold")
            to_cancel = await claim_of(client, system, encounter_ids["held-cancel"], "on_hold")
            yield Scenarios(
                system=system,
                client=client,
                denied=await claim_of(client, system, encounter_ids["denied"], *SETTLED),
                deductible=await claim_of(client, system, encounter_ids["deductible"], *SETTLED),
                deductible_patient=patient_ids[1],
                held=(to_fix["id"], to_cancel["id"]),
            )


def replayed(response: httpx.Response) -> bool:
    return bool(response.headers.get("Idempotent-Replayed") == "true")


def refused_key(response: httpx.Response) -> bool:
    """A 422 problem (RFC 9457) whose `errors` name the Idempotency-Key header."""
    if response.status_code != 422:
        return False
    errors = response.json().get("errors", [])
    return any(problem["loc"] == ["header", "Idempotency-Key"] for problem in errors)


async def test_sandbox_scenarios_set_by_member_id_deny_co50_and_take_a_pr1_deductible(scenarios: Scenarios) -> None:
    client, urls = scenarios.client, scenarios.system.urls
    assert scenarios.denied["state"] == "denied"
    assert scenarios.deductible["state"] == "partially_paid"

    async def ledger(claim: dict[str, Any]) -> dict[str, Any]:
        response = await client.get(f"{urls.remittance}/v1/claims/{claim['id']}/ledger")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    denied = await ledger(scenarios.denied)
    assert ("CO", "50") in {(entry["group_code"], entry["carc"]) for entry in denied["entries"]}
    assert denied["paid_cents"] == 0 and denied["balanced"] is True

    deductible = await ledger(scenarios.deductible)
    pr1 = [entry for entry in deductible["entries"] if (entry["group_code"], entry["carc"]) == ("PR", "1")]
    # Allowed 80% of 150.00 = 120.00; the first 50.00 of it is deductible, 70.00 paid, 30.00 CO-45.
    assert sum(abs(entry["amount_cents"]) for entry in pr1) == 5000
    assert deductible["patient_responsibility_cents"] == 5000
    assert (deductible["charge_cents"], deductible["paid_cents"]) == (15000, 7000)
    assert deductible["balanced"] is True


async def test_claim_fix_release_and_cancel_replay_under_their_key(scenarios: Scenarios) -> None:
    client, claims = scenarios.client, scenarios.system.urls.claims
    to_fix, to_cancel = scenarios.held

    fix = {"diagnosis_codes": ["I10"]}
    first = await client.post(f"{claims}/v1/claims/{to_fix}/fixes", json=fix, headers={"Idempotency-Key": "fix-1"})
    again = await client.post(f"{claims}/v1/claims/{to_fix}/fixes", json=fix, headers={"Idempotency-Key": "fix-1"})
    assert first.status_code == 200, first.text
    assert (again.status_code, replayed(again), replayed(first)) == (200, True, False)
    assert again.json() == first.json()
    other = await client.post(
        f"{claims}/v1/claims/{to_fix}/fixes", json={"diagnosis_codes": ["E11.9"]}, headers={"Idempotency-Key": "fix-1"}
    )
    assert refused_key(other), other.text
    assert (await client.get(f"{claims}/v1/claims/{to_fix}")).json()["diagnosis_codes"] == ["I10"]

    released = await client.post(f"{claims}/v1/claims/{to_fix}/release", headers={"Idempotency-Key": "release-1"})
    assert released.status_code == 200, released.text
    assert released.json()["state"] in ("ready", "batched", "submitted", "accepted", *SETTLED)
    again = await client.post(f"{claims}/v1/claims/{to_fix}/release", headers={"Idempotency-Key": "release-1"})
    assert (again.status_code, replayed(again), again.json()) == (200, True, released.json())
    # The same key on another claim (another path) is another request.
    assert refused_key(
        await client.post(f"{claims}/v1/claims/{to_cancel}/release", headers={"Idempotency-Key": "release-1"})
    )
    # Without a key a second release acts: the claim left the hold queue, so it is refused.
    assert (await client.post(f"{claims}/v1/claims/{to_fix}/release")).status_code == 409

    reason = {"reason": "entered in error"}
    cancelled = await client.post(
        f"{claims}/v1/claims/{to_cancel}/cancel", json=reason, headers={"Idempotency-Key": "cancel-1"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled", cancelled.text
    again = await client.post(
        f"{claims}/v1/claims/{to_cancel}/cancel", json=reason, headers={"Idempotency-Key": "cancel-1"}
    )
    assert (again.status_code, replayed(again), again.json()) == (200, True, cancelled.json())
    other = await client.post(
        f"{claims}/v1/claims/{to_cancel}/cancel", json={"reason": "duplicate"}, headers={"Idempotency-Key": "cancel-1"}
    )
    assert refused_key(other), other.text
    history = (await client.get(f"{claims}/v1/claims/{to_cancel}")).json()["status_history"]
    assert sum(1 for change in history if change["to_state"] == "cancelled") == 1


async def test_remittance_upload_and_suspense_match_replay_under_their_key(scenarios: Scenarios) -> None:
    client, remittance = scenarios.client, scenarios.system.urls.remittance
    denied = scenarios.denied
    unknown = f"CFX{uuid.uuid4().hex[:9].upper()}"
    # A second denial of the D50 claim under a claim number the tenant never sent: it waits in suspense.
    line = LineSpec("99213", 15000, 0, (("CO", "50", 15000),))
    file = remittance_file([ClaimSpec(unknown, (line,), status="4")], trace=f"IDEM{unknown}")
    key = {"Idempotency-Key": f"upload-{unknown}", **X12}
    posted = await client.post(f"{remittance}/v1/remittances", content=file, headers=key)
    assert posted.status_code == 201, posted.text
    again = await client.post(f"{remittance}/v1/remittances", content=file, headers=key)
    assert (again.status_code, replayed(again), again.json()) == (200, True, posted.json())
    other_file = remittance_file([ClaimSpec(unknown, (line,), status="4")], trace=f"IDEM2{unknown}")
    assert refused_key(await client.post(f"{remittance}/v1/remittances", content=other_file, headers=key))

    suspense = (await client.get(f"{remittance}/v1/suspense")).json()
    (waiting,) = [item for item in suspense if item["claim_control_number"] == unknown]
    match = {"claim_control_number": denied["claim_control_number"]}
    url = f"{remittance}/v1/suspense/{waiting['id']}/match"
    matched = await client.post(url, json=match, headers={"Idempotency-Key": "match-1"})
    assert matched.status_code == 200, matched.text
    assert matched.json()["claim_id"] == denied["id"]
    again = await client.post(url, json=match, headers={"Idempotency-Key": "match-1"})
    assert (again.status_code, replayed(again), again.json()) == (200, True, matched.json())
    assert refused_key(
        await client.post(url, json={"claim_control_number": "CF0"}, headers={"Idempotency-Key": "match-1"})
    )
    # Without a key the match acts again and is refused: the payment is posted.
    assert (await client.post(url, json=match)).status_code == 409


async def test_patient_money_and_statement_runs_replay_under_their_key(scenarios: Scenarios) -> None:
    client, urls = scenarios.client, scenarios.system.urls
    patient = scenarios.deductible_patient
    await eventually(
        lambda: _owes(client, urls.remittance, patient), timeout_s=60, what="the deductible on the patient's account"
    )

    payment = {"amount_cents": 1000, "method": "card"}
    paid = await client.post(
        f"{urls.remittance}/v1/accounts/{patient}/payments", json=payment, headers={"Idempotency-Key": "pay-1"}
    )
    again = await client.post(
        f"{urls.remittance}/v1/accounts/{patient}/payments", json=payment, headers={"Idempotency-Key": "pay-1"}
    )
    assert (paid.status_code, again.status_code, again.json()) == (201, 200, paid.json())
    other = await client.post(
        f"{urls.remittance}/v1/accounts/{patient}/payments",
        json={"amount_cents": 5},
        headers={"Idempotency-Key": "pay-1"},
    )
    assert other.status_code == 409
    assert (await client.get(f"{urls.remittance}/v1/accounts/{patient}")).json()["balance_cents"] == 4000

    plans = f"{urls.remittance}/v1/accounts/{patient}/payment-plans"
    plan = {"installments": 2, "first_due": (dt.date.today() + dt.timedelta(days=30)).isoformat()}
    # Twins sent at once: one creates the plan, the other waits for it to commit and replays it.
    twins = await asyncio.gather(*(client.post(plans, json=plan, headers={"Idempotency-Key": "plan-1"}) for _ in "ab"))
    (created,) = [twin for twin in twins if twin.status_code == 201]
    assert [i["amount_cents"] for i in created.json()["installments"]] == [2000, 2000]
    (twin,) = [twin for twin in twins if twin is not created]
    assert (twin.status_code, replayed(twin), twin.json()) == (200, True, created.json())
    again = await client.post(plans, json=plan, headers={"Idempotency-Key": "plan-1"})
    assert (again.status_code, replayed(again), again.json()) == (200, True, created.json())
    assert refused_key(
        await client.post(plans, json={**plan, "installments": 4}, headers={"Idempotency-Key": "plan-1"})
    )

    runs = f"{urls.notifications}/v1/statement-runs"
    body = {"as_of": dt.date.today().isoformat()}
    run = await client.post(runs, json=body, headers={"Idempotency-Key": "run-1"})
    assert run.status_code == 201, run.text
    again = await client.post(runs, json=body, headers={"Idempotency-Key": "run-1"})
    assert (again.status_code, replayed(again), again.json()) == (200, True, run.json())
    other_day = {"as_of": (dt.date.today() + dt.timedelta(days=1)).isoformat()}
    assert refused_key(await client.post(runs, json=other_day, headers={"Idempotency-Key": "run-1"}))


async def _owes(client: httpx.AsyncClient, remittance: str, patient: str) -> bool:
    balance: int = (await client.get(f"{remittance}/v1/accounts/{patient}")).json()["balance_cents"]
    return balance == 5000


async def test_every_money_or_claim_post_documents_the_idempotency_key(scenarios: Scenarios) -> None:
    urls = scenarios.system.urls
    expected = {
        urls.claims: ["/v1/claims/{claim_id}/fixes", "/v1/claims/{claim_id}/release", "/v1/claims/{claim_id}/cancel"],
        urls.remittance: [
            "/v1/remittances",
            "/v1/suspense/{payment_id}/match",
            "/v1/accounts/{patient_id}/payments",
            "/v1/accounts/{patient_id}/payment-plans",
        ],
        urls.notifications: ["/v1/statement-runs"],
    }
    for base, paths in expected.items():
        document = (await scenarios.client.get(f"{base}/openapi.json")).json()
        for path in paths:
            parameters = document["paths"][path]["post"].get("parameters", [])
            headers = {p["name"] for p in parameters if p["in"] == "header"}
            assert "Idempotency-Key" in headers, path
