"""The notifications service: statements, webhooks and alerts built from every domain event."""

from __future__ import annotations

from pathlib import Path

from services.notifications.api import router
from services.notifications.handlers import SUBSCRIPTIONS
from services.notifications.models import messaging, metadata
from services.notifications.statement_api import page_router
from services.notifications.statement_api import router as statement_router
from services.notifications.statement_settings import StatementSettings
from services.notifications.statements import statement_cycle
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="notifications",
    description=(
        "The tenant's activity feed from every topic; patient statements and dunning (email with signed links, "
        "print batches, the statement page)."
    ),
    metadata=metadata,
    messaging=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, statement_router, page_router],
    subscriptions=SUBSCRIPTIONS,
    own_settings=StatementSettings,
    periodic=[statement_cycle],
)

app = create_service_app(DEFINITION)
