"""`claimflow demo --json` against the whole system in real processes: a small month goes round the loop,
the summary adds up to the cent from the services' APIs, and a rerun with the same seed creates nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.demo_denials import ALL_STATUSES
from cli.main import app
from tests.support.demo_system import RunningSystem, demo_end_date, running_system
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration

REQUIRED_KEYS = {
    "encounters", "claims_submitted", "claims_accepted", "claims_rejected", "claims_paid", "claims_denied",
    "charged_cents", "paid_cents", "adjusted_cents", "patient_responsibility_cents", "open_cents", "elapsed_s",
    "encounters_per_s", "ledger_balanced",
}  # fmt: skip


def demo_args(system: RunningSystem, encounters: int, seed: int) -> list[str]:
    args = ["demo", "--json", "--encounters", str(encounters), "--seed", str(seed), "--timeout", "240"]
    args += ["--end-date", demo_end_date().isoformat(), "--token", system.token]
    for name, url in system.urls.as_dict().items():
        args += [f"--{name}", url]
    return args


async def invoke(args: list[str]) -> dict[str, Any]:
    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.strip()]
    parsed = json.loads(line)
    print(line)  # the figures, for the log (no PHI: counts and cents only)
    assert isinstance(parsed, dict)
    return parsed


async def test_demo_month_goes_round_the_loop_balanced_and_a_rerun_creates_nothing(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    async with running_system(pipeline, tmp_path) as system:
        first = await invoke(demo_args(system, 40, 7))

        assert REQUIRED_KEYS <= set(first)
        assert first["encounters"] == 40 and first["encounters_created"] == 40
        assert first["ledger_balanced"] is True and first["unbalanced_claims"] == []
        assert first["claims_unsettled"] == 0
        assert first["claims_paid"] > 0 and first["claims_denied"] > 0  # the MRIs without prior authorization
        assert first["claims_submitted"] >= first["claims_accepted"] > 0
        assert first["patient_responsibility_cents"] > 0 and first["adjusted_cents"] > 0
        cents = ("paid_cents", "adjusted_cents", "patient_responsibility_cents", "open_cents")
        assert first["charged_cents"] == sum(first[key] for key in cents)
        assert all(isinstance(first[key], int) for key in (*cents, "charged_cents"))

        # Denials worked: the MRIs' corrected claims (with a prior authorization) paid, the rest appealed or
        # written off, the write-offs on the ledgers (still balanced above).
        assert first["denial_cases"] >= first["claims_denied"] > 0
        assert first["denial_actions"] >= first["denial_cases"]
        assert first["cases_overturned"] > 0 and first["recovered_cents"] > 0
        assert first["cases_open"] == 0
        assert first["corrected_claims"] > 0  # the MRIs' replacements, read back with every other claim
        assert first["claims"] == first["encounters"] + first["secondary_claims"] + first["corrected_claims"]
        # The statement cycle as of the month's end: statements for the patients who owe.
        assert first["statements"] > 0 and first["statement_balance_cents"] > 0
        # Webhooks (notifications runs in development: a loopback receiver is allowed), signatures checked.
        assert first["webhook_deliveries"] > 0 and first["webhooks_verified"] == first["webhook_deliveries"]

        # The numbers are the services' own: every claim's ledger, read back independently.
        headers = {"Authorization": f"Bearer {system.token}"}
        async with httpx.AsyncClient(headers=headers) as client:
            params = httpx.QueryParams({"status": list(ALL_STATUSES), "limit": 500})
            denial_cases = (await client.get(f"{system.urls.denials}/v1/denial-cases", params=params)).json()
            queue = (await client.get(f"{system.urls.denials}/v1/denial-cases", params={"limit": 500})).json()
        assert len(denial_cases) == first["denial_cases"] and queue == []
        assert sum(case["recovered_cents"] for case in denial_cases) == first["recovered_cents"]
        assert sum(case["written_off_cents"] for case in denial_cases) == first["written_off_cents"]

        again = await invoke(demo_args(system, 40, 7))
        assert again["encounters_created"] == 0 and again["denial_actions"] == 0 and again["webhooks_verified"] == 0
        for key in (
            "claims_submitted", "claims_paid", "claims_denied", "charged_cents", "paid_cents", "denial_cases",
            "corrected_claims", "cases_overturned", "recovered_cents", "written_off_cents", "statements",
            "statement_balance_cents", "webhook_deliveries",
        ):  # fmt: skip
            assert again[key] == first[key], key
