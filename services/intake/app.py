"""The intake service: patients, coverage, providers and coded encounters in; `encounter-coded` out."""

from __future__ import annotations

from pathlib import Path

from services.intake.api import fhir_router, router
from services.intake.api_examples import EXAMPLES
from services.intake.eligibility import collecting
from services.intake.handlers import SUBSCRIPTIONS, handlers
from services.intake.models import messaging, metadata, phi_access
from services.intake.settings import EligibilitySettings
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="intake",
    description=(
        "Patients, coverage, providers, payers, coded encounters (JSON or FHIR R4) in; `encounter-coded` out; "
        "eligibility checked with X12 270/271 through the clearinghouse."
    ),
    metadata=metadata,
    messaging=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, fhir_router],
    subscriptions=SUBSCRIPTIONS,
    handlers=handlers,
    own_settings=EligibilitySettings,
    periodic=[collecting],
    openapi_examples=EXAMPLES,
    phi_access=phi_access,
)

app = create_service_app(DEFINITION)
