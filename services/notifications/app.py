"""The notifications service: statements, webhooks and alerts built from every domain event."""

from __future__ import annotations

from pathlib import Path

from services.notifications.alerts import ops_alerts
from services.notifications.api import router
from services.notifications.api_examples import EXAMPLES
from services.notifications.handlers import SUBSCRIPTIONS
from services.notifications.models import messaging, metadata, phi_access
from services.notifications.settings import NotificationsSettings
from services.notifications.statement_api import page_router
from services.notifications.statement_api import router as statement_router
from services.notifications.statements import statement_cycle
from services.notifications.webhook_api import router as webhook_router
from services.notifications.webhooks import webhook_sender
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    openapi_examples=EXAMPLES,
    name="notifications",
    description=(
        "The tenant's activity feed from every topic; patient statements and dunning (email with signed links, "
        "print batches, the statement page)."
    ),
    metadata=metadata,
    messaging=messaging,
    phi_access=phi_access,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, statement_router, page_router, webhook_router],
    subscriptions=SUBSCRIPTIONS,
    own_settings=NotificationsSettings,
    periodic=[statement_cycle, webhook_sender, ops_alerts],
)

app = create_service_app(DEFINITION)
