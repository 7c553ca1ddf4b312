"""schemathesis over every service's OpenAPI document, against the real services (real Postgres and Kafka
behind them): bounded examples per operation, valid and invalid, each answered without a 5xx, with a
status, media type and body the document declares."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.pipeline import Pipeline, new_tenant

pytestmark = pytest.mark.integration
SERVICES = ("intake", "claims", "remittance", "denials", "notifications")
SCOPE = re.compile(r'require_scope\("([^"]+)"\)')
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
POSITIVE_EXAMPLES = 3
NEGATIVE_EXAMPLES = 2
EXCLUDED = {
    # Sends a 270 to the clearinghouse and waits on nothing: covered by test_intake_eligibility.
    ("POST", "/v1/patients/{patient_id}/coverages/{coverage_id}/eligibility-checks"),
}


def every_scope() -> list[str]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "services"
    return sorted({scope for path in root.rglob("*.py") for scope in SCOPE.findall(path.read_text())})


def fuzz(base_url: str, document: dict[str, Any], headers: dict[str, str]) -> list[str]:
    """Run every operation's bounded examples; the failures found, one line each (never the bodies)."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        for mode, examples in (
            (schemathesis.GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (schemathesis.GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):
            run = _runner(operation, mode, examples, base_url, headers)
            try:
                run()
            except Unsatisfiable:  # nothing to negate: an operation without parameters or body
                continue
            except Exception as exc:  # schemathesis raises one grouped failure per operation
                first = str(exc).strip().splitlines()[:6]
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: " + " | ".join(first))
    return failures


def _runner(
    operation: Any, mode: schemathesis.GenerationMode, examples: int, base_url: str, headers: dict[str, str]
) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=30)

    return run


@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_answers_without_a_5xx_and_as_documented(services: Pipeline, service: str) -> None:
    process = await services.start(service)
    async with httpx.AsyncClient(base_url=process.base_url) as client:
        document = (await client.get("/openapi.json")).json()
    headers = services.auth(new_tenant(), *every_scope())
    failures = await asyncio.to_thread(fuzz, process.base_url, document, headers)
    assert failures == [], "\n".join(failures)
