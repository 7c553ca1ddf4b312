"""`claimflow api-reference`: one page for the five services that a headless Chromium renders from the file
system with every network request refused (offline: its script and the document travel with it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.async_api import Route, async_playwright
from typer.testing import CliRunner

from cli.main import app

pytestmark = pytest.mark.integration
CHROMIUM = os.environ.get("CLAIMFLOW_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def test_the_combined_reference_renders_offline(tmp_path: Path) -> None:
    out = tmp_path / "reference"
    result = CliRunner().invoke(app, ["api-reference", "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "openapi.json").read_text())
    assert [group["name"] for group in document["x-tagGroups"]] == [
        "intake",
        "claims",
        "remittance",
        "denials",
        "notifications",
    ]
    register = document["paths"]["/v1/patients"]["post"]
    assert register["servers"][0]["description"] == "intake" and register["servers"][0]["url"].startswith("http")

    refused: list[str] = []

    async def offline(route: Route) -> None:
        refused.append(route.request.url)
        await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = await browser.new_page()
            await page.route("http://**/*", offline)
            await page.route("https://**/*", offline)
            await page.goto((out / "index.html").as_uri())
            await page.get_by_text("Register Patient").first.wait_for(state="attached", timeout=60_000)
            body = await page.text_content("body") or ""
            for service in ("intake", "claims", "remittance", "denials", "notifications"):
                assert service in body
        finally:
            await browser.close()
    # Nothing the page needs came from the network; ReDoc only tries its vendor's badge, and hides it on error.
    assert set(refused) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
