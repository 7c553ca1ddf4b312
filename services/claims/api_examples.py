"""Curated OpenAPI examples of the claims API: the corrections billing staff send (synthetic data)."""

from __future__ import annotations

from shared.openapi import OperationExamples

EXAMPLES: dict[tuple[str, str], OperationExamples] = {
    ("POST", "/v1/claims/{claim_id}/fixes"): OperationExamples(
        {
            "subscriber_member_id": "SYN000000102",
            "prior_authorization": "AUTH-EX-1",
            "lines": [{"line_number": 2, "procedure_code": "87880", "modifiers": ["QW"], "diagnosis_pointers": [1]}],
        }
    ),
    ("PUT", "/v1/fee-schedule"): OperationExamples(
        {
            "entries": [
                {"code": "99213", "charge_cents": 12500, "currency": "USD"},
                {"code": "87880", "modifier": "QW", "charge_cents": 3000, "currency": "USD"},
            ]
        },
        {"loaded": 2},
    ),
    ("PUT", "/v1/scrub-rules/{rule_id}"): OperationExamples({"enabled": False}),
}
