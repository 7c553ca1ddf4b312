"""`claimflow api-reference`: one API reference page for the five services, built offline from their own
OpenAPI documents (no service needs to run), each operation naming the server that answers it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer

from cli.endpoints import SERVICE_KEYS, ServiceUrls, load_service_urls
from cli.services import FIRST_PORT
from shared.openapi import ServiceDocument, assets_directory, merge_documents, reference_page
from shared.settings import ServiceSettings

REFERENCE_ASSETS = ("redoc.standalone.js", "favicon.png")


def service_documents(urls: ServiceUrls) -> list[ServiceDocument]:
    """Each service's finished OpenAPI document, from its definition (the app is built, never started)."""
    from services.claims.app import DEFINITION as CLAIMS
    from services.denials.app import DEFINITION as DENIALS
    from services.intake.app import DEFINITION as INTAKE
    from services.notifications.app import DEFINITION as NOTIFICATIONS
    from services.remittance.app import DEFINITION as REMITTANCE
    from shared.service import create_service_app

    settings = ServiceSettings(environment="development")
    base = urls.as_dict()
    return [
        ServiceDocument(definition.name, base[definition.name], create_service_app(definition, settings).openapi())
        for definition in (INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS)
    ]


def write_reference(out: Path, urls: ServiceUrls) -> Path:
    """`out/index.html` (ReDoc), `out/openapi.json` (the merged document) and `out/assets/`: a site that
    works from the file system or any static server, offline."""
    document = merge_documents(service_documents(urls))
    (out / "assets").mkdir(parents=True, exist_ok=True)
    for name in REFERENCE_ASSETS:
        shutil.copyfile(assets_directory() / name, out / "assets" / name)
    (out / "openapi.json").write_text(json.dumps(document, indent=2))
    (out / "index.html").write_text(reference_page(document))
    return out / "index.html"


def default_urls() -> ServiceUrls:
    """The URLs `claimflow up` recorded, else its usual ports (8001-8005)."""
    recorded = load_service_urls()
    if recorded is not None:
        return recorded
    return ServiceUrls(**{name: f"http://127.0.0.1:{FIRST_PORT + i}" for i, name in enumerate(SERVICE_KEYS)})


def api_reference(
    out: Annotated[Path, typer.Option(help="Folder to write the page into.")] = Path(".local/api-reference"),
    serve: Annotated[bool, typer.Option("--serve", help="Then serve it on 127.0.0.1 until Ctrl-C.")] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8090,
) -> None:
    """Write one offline API reference page for the five services (ReDoc, its assets included).

    It covers intake, claims, remittance, denials and notifications; with --serve, it is served too."""
    page = write_reference(out, default_urls())
    typer.echo(f"API reference: {page}")
    if serve:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.staticfiles import StaticFiles

        site = Starlette()
        site.mount("/", StaticFiles(directory=out, html=True))
        typer.echo(f"serving http://127.0.0.1:{port}/")
        uvicorn.run(site, host="127.0.0.1", port=port, log_level="warning")
