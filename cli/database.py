"""`claimflow db provision`: one role and one schema per service, for deployments (compose, Kubernetes)."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from cli.services import DATABASE, SERVICE_NAMES, ServiceSecrets, provision_all

db_app = typer.Typer(no_args_is_help=True, help="Database roles and schemas.", rich_markup_mode=None)


@db_app.command()
def provision(
    admin_url: Annotated[
        str, typer.Option(envvar="CLAIMFLOW_ADMIN_DATABASE_URL", help="libpq URL of a superuser (postgresql://...).")
    ],
    database: Annotated[str, typer.Option(envvar="CLAIMFLOW_DATABASE_NAME")] = DATABASE,
) -> None:
    """Create the database and each service's role and schema; passwords from CLAIMFLOW_<SERVICE>_DB_PASSWORD."""
    missing = [
        f"CLAIMFLOW_{name.upper()}_DB_PASSWORD"
        for name in SERVICE_NAMES
        if not os.environ.get(f"CLAIMFLOW_{name.upper()}_DB_PASSWORD")
    ]
    if missing:
        raise typer.BadParameter(f"set {', '.join(missing)}")
    service_secrets = ServiceSecrets(
        database_passwords={name: os.environ[f"CLAIMFLOW_{name.upper()}_DB_PASSWORD"] for name in SERVICE_NAMES},
        auth_secret="",
    )
    asyncio.run(provision_all(admin_url, service_secrets, database))
    typer.echo(f"provisioned {', '.join(SERVICE_NAMES)} in database {database}")
