"""The denials service: denied and short-paid claims classified, queued by expected recovery and due
date, worked (corrected claims, voids, appeals, write-offs, transfers) and closed by the payer's answer."""

from __future__ import annotations

from pathlib import Path

from services.denials.api import router
from services.denials.api_examples import EXAMPLES
from services.denials.handlers import SUBSCRIPTIONS
from services.denials.models import messaging, metadata, phi_access
from services.denials.periodic import appeal_sending
from services.denials.settings import DenialsSettings
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    openapi_examples=EXAMPLES,
    name="denials",
    description="Denial and underpayment cases from `claim-denied` and `payment-received`: classified, "
    "queued by expected recovery and due date, worked through corrected claims, appeals and adjustments.",
    metadata=metadata,
    messaging=messaging,
    phi_access=phi_access,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    subscriptions=SUBSCRIPTIONS,
    own_settings=DenialsSettings,
    periodic=[appeal_sending],
)

app = create_service_app(DEFINITION)
