"""The services' HTTP APIs as the console reads them, with the signed-in user's own token."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx

from console.metrics import Sample, parse_metrics


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A claim waiting for a person: on hold (scrubber findings) or rejected (999/277CA/277 codes)."""

    claim_id: str
    claim_control_number: str
    payer_id: str
    state: str
    total_charge_cents: int
    reasons: tuple[str, ...]
    since: str

    @classmethod
    def hold(cls, body: dict[str, Any]) -> WorkItem:
        return cls(str(body["id"]), str(body.get("claim_control_number") or ""), str(body["payer_id"]),
                   str(body["state"]), int(body["total_charge_cents"]),
                   tuple(f"{f['rule_id']}" for f in body.get("findings", []) if f.get("severity") == "error"),
                   str(body["created_at"]))  # fmt: skip

    @classmethod
    def rejection(cls, body: dict[str, Any]) -> WorkItem:
        return cls(str(body["id"]), str(body.get("claim_control_number") or ""), str(body["payer_id"]),
                   str(body["state"]), int(body["total_charge_cents"]),
                   tuple(f"{r['source']} {r['code']}" for r in body.get("rejection_reasons", [])),
                   str(body["updated_at"]))  # fmt: skip


@dataclass(frozen=True, slots=True)
class DenialCase:
    case_id: str
    claim_control_number: str
    payer_id: str
    trace_number: str
    denial: str
    denied_cents: int
    carcs: tuple[str, ...]
    rarcs: tuple[str, ...]
    status: str
    opened_at: str

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> DenialCase:
        return cls(str(body["id"]), str(body["claim_control_number"]), str(body["payer_id"]),
                   str(body["trace_number"]), str(body["denial"]), int(body["denied_cents"]),
                   tuple(body.get("carcs", [])), tuple(body.get("rarcs", [])), str(body["status"]),
                   str(body["opened_at"]))  # fmt: skip


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: str
    what: str
    detail: str
    amount_cents: int | None = None


class ServicesApi:
    def __init__(self, client: httpx.AsyncClient, urls: dict[str, str], token: str) -> None:
        self._client, self.urls = client, urls
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _get(self, service: str, path: str, **params: Any) -> Any:
        response = await self._client.get(f"{self.urls[service]}{path}", params=params, headers=self._headers)
        response.raise_for_status()
        return response.json()

    async def _get_or_none(self, service: str, path: str) -> Any:
        response = await self._client.get(f"{self.urls[service]}{path}", headers=self._headers)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    async def holds(self) -> list[WorkItem]:
        return [WorkItem.hold(body) for body in await self._get("claims", "/v1/holds", limit=500)]

    async def rejections(self) -> list[WorkItem]:
        return [WorkItem.rejection(body) for body in await self._get("claims", "/v1/rejections", limit=500)]

    async def denial_cases(self) -> list[DenialCase]:
        return [DenialCase.from_api(body) for body in await self._get("denials", "/v1/denial-cases", limit=500)]

    async def claim(self, claim_id: str) -> dict[str, Any] | None:
        body = await self._get_or_none("claims", f"/v1/claims/{claim_id}")
        return dict(body) if body is not None else None

    async def ledger(self, claim_id: str) -> dict[str, Any] | None:
        body = await self._get_or_none("remittance", f"/v1/claims/{claim_id}/ledger")
        return dict(body) if body is not None else None

    async def activity(self, subject: str) -> list[dict[str, Any]]:
        body = await self._get_or_none("notifications", f"/v1/activity/{subject}")
        return list(body or [])

    async def claim_id_of(self, claim_control_number: str) -> str | None:
        body = await self._get_or_none("remittance", f"/v1/submitted-claims/{claim_control_number}")
        return str(body["claim_id"]) if body else None


async def scrape_all(client: httpx.AsyncClient, urls: dict[str, str]) -> tuple[list[Sample], dict[str, str]]:
    """Every service's /metrics (no credential needed); the samples, and the services that did not answer."""

    async def one(name: str, url: str) -> tuple[str, list[Sample] | str]:
        try:
            response = await client.get(f"{url}/metrics", timeout=5)
            response.raise_for_status()
            return name, parse_metrics(response.text)
        except httpx.HTTPError as exc:
            return name, type(exc).__name__

    samples: list[Sample] = []
    down: dict[str, str] = {}
    for name, answer in await asyncio.gather(*(one(name, url) for name, url in urls.items())):
        if isinstance(answer, str):
            down[name] = answer
        else:
            samples.extend(answer)
    return samples, down


def money(cents: int | None) -> str:
    """Integer cents as dollars for display, without floating point."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}${whole:,}.{part:02d}"


def when(value: str | dt.datetime | None) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return text.replace("T", " ")[:19]
