"""`claimflow phi rotate-kek|rotate-data-key|encrypt-existing`: PHI at rest, per service schema.

Each command connects as the service's own role (`--database-url`, or CLAIMFLOW_DATABASE_URL, or the local
stack's) with the service's KEKs (CLAIMFLOW_PHI_KEKS / CLAIMFLOW_PHI_ACTIVE_KEK, or the local stack's key).
"""

from __future__ import annotations

import asyncio
import importlib
import os
from typing import Annotated

import typer

from cli.services import ServiceSecrets, role_url
from cli.stack.local_stack import LocalStack
from shared.db import create_engine
from shared.phi.crypto import PhiKeyError
from shared.phi.keys import PhiKeyring, PhiSettings, configure_keyring
from shared.phi.rotation import PhiAtRest, encrypt_existing, rotate_data_key, rotate_kek

phi_app = typer.Typer(
    no_args_is_help=True, help="PHI at rest: rotate keys, seal rows stored before encryption.", rich_markup_mode=None
)
PHI_SERVICES = {
    "intake": "services.intake.repository",
    "claims": "services.claims.repository",
    "notifications": "services.notifications.statement_repository",
}
"""Services keeping PHI sealed, and the module naming their `PHI_AT_REST`."""

Service = Annotated[str, typer.Option(help=f"The service whose schema to work on: {', '.join(PHI_SERVICES)}.")]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(envvar="CLAIMFLOW_DATABASE_URL", help="The service role's URL (default: the local stack's)."),
]
BatchSize = Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")]


def _at_rest(service: str) -> PhiAtRest:
    if service not in PHI_SERVICES:
        raise typer.BadParameter(f"{service} keeps no sealed PHI; one of {', '.join(PHI_SERVICES)}")
    at_rest: PhiAtRest = importlib.import_module(PHI_SERVICES[service]).PHI_AT_REST
    return at_rest


def _connection(service: str, database_url: str | None) -> tuple[str, PhiSettings]:
    """The role URL and the key settings: the environment's, else the local stack's."""
    settings = PhiSettings()
    if database_url is not None and (settings.phi_keks or settings.phi_kek or settings.environment == "development"):
        return database_url, settings
    stack = LocalStack.from_env()
    endpoints = stack.endpoints()
    secrets_file = stack.paths.stack_dir / "service-secrets.json"
    if endpoints is None or not secrets_file.exists():
        raise typer.BadParameter("give --database-url and CLAIMFLOW_PHI_KEKS, or start the local stack (claimflow up)")
    secrets = ServiceSecrets.load_or_create(secrets_file)
    url = database_url or role_url(
        endpoints.database_url, role=service, password=secrets.database_passwords[service], database="claimflow"
    )
    keks = os.environ.get("CLAIMFLOW_PHI_KEKS") or f"local:{secrets.phi_kek}"
    return url, PhiSettings(environment="development", phi_keks=keks)


def _keyring(settings: PhiSettings) -> PhiKeyring:
    try:
        return PhiKeyring(settings.key_provider(), settings.phi_key_cache_s)
    except PhiKeyError as exc:
        raise typer.BadParameter(str(exc)) from None


@phi_app.command("rotate-kek")
def rotate_kek_command(
    service: Service = "intake",
    database_url: DatabaseUrl = None,
    tenant: Annotated[
        list[str] | None, typer.Option(help="Only this tenant's keys; repeat. Default: every tenant.")
    ] = None,
) -> None:
    """Re-wrap every tenant key under the active KEK (CLAIMFLOW_PHI_ACTIVE_KEK); no data is rewritten.

    List the old KEK in CLAIMFLOW_PHI_KEKS until this has run; afterwards it can be dropped."""
    url, settings = _connection(service, database_url)
    keyring = _keyring(settings)

    async def run() -> int:
        engine = create_engine(url, pool_size=2)
        try:
            return await rotate_kek(engine, _at_rest(service).keys, keyring.kek, tenants=tenant or None)
        finally:
            await engine.dispose()

    typer.echo(f"{service}: {asyncio.run(run())} keys re-wrapped under KEK {keyring.kek.active}")


@phi_app.command("rotate-data-key")
def rotate_data_key_command(
    tenant: Annotated[str, typer.Option(help="The tenant whose data key to rotate.")],
    service: Service = "intake",
    database_url: DatabaseUrl = None,
    batch_size: BatchSize = 500,
) -> None:
    """A new data key for the tenant; its rows re-sealed in batches (run again to resume or to retire the old key)."""
    url, settings = _connection(service, database_url)
    keyring = _keyring(settings)
    at_rest = _at_rest(service)

    async def run() -> None:
        engine = create_engine(url, pool_size=2)
        try:
            rotation = await rotate_data_key(
                engine, at_rest, keyring, tenant, batch_size=batch_size, cache_s=settings.phi_key_cache_s,
                progress=typer.echo,
            )  # fmt: skip
        finally:
            await engine.dispose()
        typer.echo(f"{service}/{tenant}: data key version {rotation.version}, {rotation.resealed} values re-sealed")
        if rotation.kept_until is not None:
            typer.echo(f"old versions kept (services may cache them) until {rotation.kept_until:%H:%M:%S}: run again")
        elif rotation.retired:
            typer.echo(f"retired versions {', '.join(map(str, rotation.retired))}: only the new key is needed")

    asyncio.run(run())


@phi_app.command("encrypt-existing")
def encrypt_existing_command(
    service: Service = "intake", database_url: DatabaseUrl = None, batch_size: BatchSize = 500
) -> None:
    """Seal the rows stored in plaintext before PHI encryption (a migration has no key); safe to run again."""
    url, settings = _connection(service, database_url)
    at_rest = _at_rest(service)

    async def run() -> int:
        configure_keyring(settings)
        engine = create_engine(url, pool_size=2)
        try:
            return await encrypt_existing(engine, at_rest, batch_size=batch_size, progress=typer.echo)
        finally:
            await engine.dispose()

    typer.echo(f"{service}: {asyncio.run(run())} rows sealed")
