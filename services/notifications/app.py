"""The notifications service: statements, webhooks and alerts built from every domain event."""

from __future__ import annotations

from pathlib import Path

from services.notifications.alerts import ops_alerts
from services.notifications.api import router
from services.notifications.handlers import SUBSCRIPTIONS
from services.notifications.models import messaging, metadata
from services.notifications.settings import NotificationsSettings
from services.notifications.webhook_api import router as webhook_router
from services.notifications.webhooks import webhook_sender
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="notifications",
    description="The tenant's activity feed from every topic; webhooks, statements and alerts build on it.",
    metadata=metadata,
    messaging=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, webhook_router],
    subscriptions=SUBSCRIPTIONS,
    own_settings=NotificationsSettings,
    periodic=[webhook_sender, ops_alerts],
)

app = create_service_app(DEFINITION)
