"""The claims service: coded encounters become scrubbed claims, batched into 837s; `claim-submitted` out;
acknowledgments, follow-ups and payments move them on (`claim-status-changed` out)."""

from __future__ import annotations

from pathlib import Path

from services.claims.api import router
from services.claims.batching import acknowledgment_loop, batching_loop, follow_up_loop, sending_loop
from services.claims.handlers import SUBSCRIPTIONS
from services.claims.models import messaging, metadata
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="claims",
    description="Claims built from coded encounters, scrubbed, held or batched into X12 837s, and tracked.",
    metadata=metadata,
    messaging=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    subscriptions=SUBSCRIPTIONS,
    background=[batching_loop, sending_loop, acknowledgment_loop, follow_up_loop],
)

app = create_service_app(DEFINITION)
