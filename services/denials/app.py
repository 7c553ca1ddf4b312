"""The denials service: denied and short-paid claims classified, queued and appealed."""

from __future__ import annotations

from pathlib import Path

from services.denials.api import router
from services.denials.handlers import SUBSCRIPTIONS
from services.denials.models import messaging, metadata
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="denials",
    description="Denial cases from `claim-denied`, worked by billing staff.",
    metadata=metadata,
    messaging=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    subscriptions=SUBSCRIPTIONS,
)

app = create_service_app(DEFINITION)
