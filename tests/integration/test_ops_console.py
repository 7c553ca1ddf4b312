"""The ops console in a real headless Chromium, after a small demo through the whole system in real
processes, with the analytics sink landing the events: every page loads without console errors, the
numbers shown are the APIs' numbers (and the KPI SQL's), a dead letter is replayed from the page, and
a request without a valid token is refused."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from analytics import kpi_sql
from cli.analytics import EventSink, ParquetLanding
from cli.demo import run_demo
from cli.demo_summary import DemoSummary
from cli.pipeline import console_process
from cli.services import ServiceProcess
from console.services_api import money
from shared.auth import TokenVerifier
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import CORE_TOPICS, ENCOUNTER_CODED
from tests.support.demo_system import RunningSystem, demo_end_date, running_system
from tests.support.pipeline import (
    Pipeline,
    coded_encounter,
    end_offsets_of,
    eventually,
    free_port,
    metric_total,
    produce,
    rewind_group,
)

pytestmark = pytest.mark.integration
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


@dataclass
class ConsoleUnderTest:
    system: RunningSystem
    summary: DemoSummary
    console: ServiceProcess
    analytics_dir: Path
    letter_encounter_id: str
    letter_event_id: str

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(headers={"Authorization": f"Bearer {self.system.token}"}, timeout=30)


async def _dead_letter(pipeline: Pipeline, tenant: str) -> tuple[str, str]:
    """An encounter-coded event in encounter-coded.dlt, as a consumer leaves it after an outage."""
    encounter_id = uuid.uuid4()
    envelope = EventEnvelope.new(
        source="/tests",
        subject=str(encounter_id),
        tenant=tenant,
        payload=EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(encounter_id)}),
    )
    key, value, headers = to_kafka(envelope)
    headers = headers + [
        ("dlt-original-topic", b"encounter-coded"), ("dlt-original-partition", b"0"),
        ("dlt-original-offset", b"7"), ("dlt-consumer-group", pipeline.group("claims").encode()),
        ("dlt-error", b"OperationalError: simulated outage"), ("dlt-attempts", b"5"),
    ]  # fmt: skip
    await produce(pipeline.kafka, ENCOUNTER_CODED.dead_letter, key=key, value=value, headers=headers)
    return str(encounter_id), envelope.id


@pytest.fixture(scope="module")
async def under_test(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ConsoleUnderTest]:
    folder = tmp_path_factory.mktemp("console")
    # The sink's group starts at the topics' current ends: it lands this module's events (the console reads one
    # tenant's), not every event the session and earlier sessions on the broker left on the topics.
    sink_group = pipeline.group("analytics")
    await rewind_group(pipeline.kafka, sink_group, await end_offsets_of(pipeline.kafka, [t.name for t in CORE_TOPICS]))
    async with running_system(pipeline, folder) as system:
        summary = await run_demo(  # the denials left on the work queue for the console's denials page
            system.urls, system.token, encounters=30, seed=23, end_date=demo_end_date(), work_denials=False
        )
        assert summary.ledger_balanced and summary.claims_unsettled == 0
        letter_encounter, letter_event = await _dead_letter(pipeline, system.tenant)
        analytics_dir = folder / "analytics"
        sink = EventSink(pipeline.kafka, ParquetLanding(analytics_dir), sink_group)
        await sink.start()
        try:

            async def feed_complete() -> bool:
                await sink.drain()
                connection = duckdb.connect()
                landed = connection.execute(
                    "SELECT count(*) FROM read_parquet(?, hive_partitioning = true) "
                    "WHERE tenant = ? AND event_type = 'claim-submitted.v1'",
                    [str(analytics_dir / "event_type=*" / "event_date=*" / "*.parquet"), system.tenant],
                ).fetchone()
                return landed is not None and landed[0] >= summary.claims_submitted

            await eventually(feed_complete, timeout_s=120, what="the sink to land every claim-submitted")
        finally:
            await sink.stop()
        console = console_process(
            system.urls,
            port=free_port(),
            auth_secret=pipeline.secrets.auth_secret,
            kafka=pipeline.kafka,
            analytics_dir=analytics_dir,
            log_path=folder / "console.log",
            metrics_interval_s=1.0,
            extra_env={"CLAIMFLOW_ENVIRONMENT": "test", **pipeline.identity.env()},
        )
        console.start()
        try:
            await console.wait_ready(60)
            yield ConsoleUnderTest(system, summary, console, analytics_dir, letter_encounter, letter_event)
        finally:
            console.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=os.environ.get("CLAIMFLOW_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_FLAGS
        )
        yield chromium
        await chromium.close()


async def signed_in_page(browser: Browser, under_test: ConsoleUnderTest) -> tuple[Page, list[str]]:
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{under_test.console.base_url}/login")
    await page.fill("input[name=token]", under_test.system.token)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/pipeline")
    return page, errors


async def screenshot(page: Page, name: str) -> None:
    """Full-page PNGs for the README when CLAIMFLOW_CONSOLE_SCREENSHOTS names a folder."""
    folder = os.environ.get("CLAIMFLOW_CONSOLE_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def text(page: Page, selector: str) -> str:
    return (await page.locator(selector).first.inner_text()).strip()


def kpis_by_sql(under_test: ConsoleUnderTest) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    glob = str(under_test.analytics_dir / "event_type=*" / "event_date=*" / "*.parquet")
    connection.execute("SET VARIABLE events_glob = ?", [glob])
    connection.execute("SET VARIABLE tenant = ?", [under_test.system.tenant])
    connection.execute("SET VARIABLE as_of = ?", [dt.date.today()])
    connection.execute(kpi_sql())
    return connection


def percent(rate: Any) -> str:
    return f"{float(rate) * 100:.1f}%"


async def test_a_request_without_a_valid_token_is_refused(under_test: ConsoleUnderTest, browser: Browser) -> None:
    base = under_test.console.base_url
    forged = TokenVerifier(
        secret="not-the-secret-of-this-deployment-at-all", issuer="claimflow", audience="claimflow"
    ).mint(subject="intruder", tenant=under_test.system.tenant, scopes=["claims:read"], ttl=dt.timedelta(minutes=5))
    async with httpx.AsyncClient(base_url=base) as client, httpx.AsyncClient(base_url=base) as with_cookie:
        with_cookie.cookies.set("claimflow_console", forged)
        for path in ("/pipeline", "/claims", "/denials", f"/claims/{uuid.uuid4()}"):
            assert (await client.get(path)).status_code == 401, path
            assert (await client.get(path, headers={"Authorization": f"Bearer {forged}"})).status_code == 401
            assert (await with_cookie.get(path)).status_code == 401
        replay = await client.post("/dead-letters/replay", data={"topic": "encounter-coded", "at": "0:0"})
        assert replay.status_code == 401

    page = await (await browser.new_context()).new_page()
    response = await page.goto(f"{base}/claims")
    assert response is not None and response.status == 401
    assert await page.locator("input[name=token]").count() == 1
    await page.fill("input[name=token]", forged)
    await page.click("button[type=submit]")
    assert "not valid" in await text(page, "[data-testid=refused]")
    cookies = await page.context.cookies()
    assert not [c for c in cookies if c["name"] == "claimflow_console"]


async def test_every_page_loads_clean_and_shows_the_apis_numbers(
    under_test: ConsoleUnderTest, browser: Browser
) -> None:
    page, errors = await signed_in_page(browser, under_test)
    (cookie,) = [c for c in await page.context.cookies() if c["name"] == "claimflow_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    urls = under_test.system.urls
    async with under_test.api() as api:
        holds = (await api.get(f"{urls.claims}/v1/holds", params={"limit": 500})).json()
        rejections = (await api.get(f"{urls.claims}/v1/rejections", params={"limit": 500})).json()
        cases = (await api.get(f"{urls.denials}/v1/denial-cases", params={"limit": 500})).json()
    summary = under_test.summary

    # Pipeline: the published counts are the services' own counters, read while the page rendered (a relay may
    # still publish the demo's last claims: the page's figure lies between the counters before and after it).
    async def published() -> int:
        totals = [
            await metric_total(p, "claimflow_events_published_total", topic="claim-submitted")
            for p in under_test.system.processes.values()
        ]
        return int(sum(totals))

    before = await published()
    await page.goto(f"{under_test.console.base_url}/pipeline")
    shown = int(await text(page, "[data-published=claim-submitted]"))
    assert 0 < before <= shown <= await published()
    await screenshot(page, "pipeline")

    # Claims: work queues equal the claims API; states and KPIs equal the demo's API figures and the SQL.
    await page.goto(f"{under_test.console.base_url}/claims")
    assert int(await text(page, "[data-testid=holds-count]")) == len(holds) == summary.claims_on_hold
    assert int(await text(page, "[data-testid=rejections-count]")) == len(rejections)
    shown_states = {
        await row.get_attribute("data-state"): int((await row.inner_text()).strip())
        for row in await page.locator("[data-state]").all()
    }
    assert shown_states.get("paid", 0) + shown_states.get("partially_paid", 0) == summary.claims_paid
    assert shown_states.get("denied", 0) == summary.claims_denied
    assert shown_states.get("not_submitted", 0) == summary.claims_on_hold
    sql = kpis_by_sql(under_test)
    denial = sql.execute("SELECT * FROM kpi_denial_rate").fetchone()
    assert denial is not None and denial[1] == summary.claims_denied
    assert denial[0] == summary.claims_paid + summary.claims_denied  # remitted = adjudicated, per the APIs
    assert await text(page, "[data-kpi=kpi_denial_rate]") == percent(denial[2])
    clean = sql.execute("SELECT clean_claim_rate FROM kpi_clean_claim_rate").fetchone()
    assert clean is not None and await text(page, "[data-kpi=kpi_clean_claim_rate]") == percent(clean[0])
    first_pass = sql.execute("SELECT first_pass_rate FROM kpi_first_pass_rate").fetchone()
    assert first_pass is not None and await text(page, "[data-kpi=kpi_first_pass_rate]") == percent(first_pass[0])
    days = sql.execute("SELECT days_in_ar FROM kpi_days_in_ar").fetchone()
    assert days is not None and await text(page, "[data-kpi=kpi_days_in_ar]") == str(days[0])
    open_by_payer = dict(sql.execute("SELECT payer_id, open_cents FROM kpi_ar_aging_by_payer").fetchall())
    for payer, cents in open_by_payer.items():
        assert await text(page, f"[data-open={payer}]") == money(cents)
    await screenshot(page, "claims")

    # Denials: the work queue is the denials service's.
    await page.goto(f"{under_test.console.base_url}/denials")
    assert int(await text(page, "[data-testid=cases-count]")) == len(cases) > 0
    assert await text(page, "[data-testid=denied-total]") == money(sum(case["denied_cents"] for case in cases))
    await screenshot(page, "denials")

    # One claim's timeline, reached from the denial queue.
    await page.locator("[data-testid=cases] a").first.click()
    await page.wait_for_url("**/claims/*")
    claim_id = page.url.rsplit("/", 1)[-1]
    async with under_test.api() as api:
        claim = (await api.get(f"{urls.claims}/v1/claims/{claim_id}")).json()
    assert await text(page, "[data-testid=claim-state]") == claim["state"]
    assert await text(page, "[data-testid=claim-charge]") == money(claim["total_charge_cents"])
    assert await text(page, "[data-testid=isa13]") != ""
    envelope = claim["envelope"]
    assert await text(page, "[data-testid=gs-st]") == (
        f"{envelope['group_control_number']} / {envelope['transaction_control_number']}"
    )
    assert len(await text(page, "[data-testid=trace-ids]")) >= 32
    assert await page.locator("[data-testid=timeline] tr").count() > len(claim["status_history"])
    await screenshot(page, "claim")

    assert errors == []


async def test_replay_moves_a_dead_letter_back(under_test: ConsoleUnderTest, browser: Browser) -> None:
    page, errors = await signed_in_page(browser, under_test)
    row = page.locator(f"tr[data-event-id='{under_test.letter_event_id}']")
    assert await row.count() == 1
    assert "simulated outage" in await row.inner_text()
    await row.locator("button", has_text="Replay").click()
    await page.wait_for_url("**/pipeline?replayed=*")
    assert "encounter-coded" in await text(page, "[data-testid=replayed]")
    assert await page.locator(f"tr[data-event-id='{under_test.letter_event_id}'] [data-testid=replayed-mark]").count()

    async with under_test.api() as api:

        async def claim_built() -> list[Any]:
            response = await api.get(
                f"{under_test.system.urls.claims}/v1/claims", params={"encounter_id": under_test.letter_encounter_id}
            )
            return list(response.json()["items"])

        (claim,) = await eventually(claim_built, timeout_s=60, what="the replayed encounter to become a claim")
    assert claim["encounter_id"] == under_test.letter_encounter_id
    assert errors == []
