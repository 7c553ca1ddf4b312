"""`claimflow token`: a development bearer token signed with the local stack's secret."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from cli.pipeline import ALL_SCOPES
from cli.services import ServiceSecrets
from cli.stack.local_stack import LocalStack
from shared.auth import TokenVerifier


def token(
    tenant: Annotated[str, typer.Option(help="Tenant the token acts for.")] = "demo",
    scope: Annotated[list[str] | None, typer.Option(help="Scope to grant; repeat. Default: every scope.")] = None,
    hours: Annotated[int, typer.Option(min=1, max=24)] = 12,
) -> None:
    """Print a development token for the running local services (never for production)."""
    stack = LocalStack()
    secrets_file = stack.paths.stack_dir / "service-secrets.json"
    if not secrets_file.exists():
        raise typer.BadParameter("no local secrets yet: run `claimflow up` first")
    secret = ServiceSecrets.load_or_create(secrets_file).auth_secret
    verifier = TokenVerifier(secret=secret, issuer="claimflow", audience="claimflow")
    typer.echo(
        verifier.mint(subject="claimflow-cli", tenant=tenant, scopes=scope or ALL_SCOPES, ttl=dt.timedelta(hours=hours))
    )
