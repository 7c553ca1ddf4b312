"""The remittance service: 835s posted to claims and patient accounts."""

from __future__ import annotations

from pathlib import Path

from services.remittance.api import MAX_FILE_BYTES, router
from services.remittance.api_examples import EXAMPLES
from services.remittance.handlers import SUBSCRIPTIONS
from services.remittance.inbound import collecting
from services.remittance.models import messaging, metadata, phi_access
from services.remittance.search_api import router as search_router
from services.remittance.settings import RemittanceSettings
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    openapi_examples=EXAMPLES,
    name="remittance",
    description=(
        "835 remittances (uploaded, or collected from the clearinghouse inbound box) posted to claims and patient "
        "accounts; `payment-received` and `claim-denied` out."
    ),
    metadata=metadata,
    messaging=messaging,
    phi_access=phi_access,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, search_router],  # after `router`: /payment-plans/overdue before /payment-plans/{id}
    body_limits={"/v1/remittances": MAX_FILE_BYTES},
    subscriptions=SUBSCRIPTIONS,
    own_settings=RemittanceSettings,
    periodic=[collecting],
)

app = create_service_app(DEFINITION)
