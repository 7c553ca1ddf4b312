"""Curated OpenAPI examples of the notifications API: statement preferences and runs, webhook
subscriptions (synthetic data)."""

from __future__ import annotations

from shared.openapi import OperationExamples

SUBSCRIPTION = {
    "url": "https://hooks.example.org/claimflow",
    "event_types": ["claim-submitted", "payment-received", "claim-denied"],
    "description": "EHR billing inbox",
}

EXAMPLES: dict[tuple[str, str], OperationExamples] = {
    ("PUT", "/v1/patients/{patient_id}/statement-preferences"): OperationExamples(
        {"delivery": "email", "email": "patient@example.org"}
    ),
    ("POST", "/v1/statement-runs"): OperationExamples({"as_of": "2026-04-30"}),
    ("POST", "/v1/webhook-subscriptions"): OperationExamples(SUBSCRIPTION),
    ("PATCH", "/v1/webhook-subscriptions/{subscription_id}"): OperationExamples(
        {"event_types": ["payment-received", "claim-denied"]}
    ),
}
