"""The claims service: coded encounters become scrubbed claims, batched into 837s; `claim-submitted` out;
acknowledgments, follow-ups and payments move them on (`claim-status-changed` out)."""

from __future__ import annotations

from pathlib import Path

from services.claims.api import fhir_router, router
from services.claims.api_examples import EXAMPLES
from services.claims.batching import acknowledgments, batching, follow_ups, observe_states, sending
from services.claims.handlers import SUBSCRIPTIONS, handlers
from services.claims.models import messaging, metadata, phi_access
from services.claims.settings import ClaimsSettings
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    openapi_examples=EXAMPLES,
    name="claims",
    description="Claims built from coded encounters, scrubbed, held or batched into X12 837s, and tracked.",
    metadata=metadata,
    messaging=messaging,
    phi_access=phi_access,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, fhir_router],
    subscriptions=SUBSCRIPTIONS,
    handlers=handlers,
    own_settings=ClaimsSettings,
    periodic=[batching, sending, acknowledgments, follow_ups],
    metrics=[observe_states],
)

app = create_service_app(DEFINITION)
