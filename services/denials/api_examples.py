"""Curated OpenAPI examples of the denials API: what billing staff send while working the queue
(synthetic data)."""

from __future__ import annotations

from shared.openapi import OperationExamples

EXAMPLES: dict[tuple[str, str], OperationExamples] = {
    ("PUT", "/v1/denial-cases/{case_id}/assignment"): OperationExamples({"assignee": "biller-7"}),
    ("POST", "/v1/denial-cases/{case_id}/notes"): OperationExamples(
        {"text": "Called the payer: the authorization was on file; sending a corrected claim."}
    ),
    ("POST", "/v1/denial-cases/{case_id}/actions"): OperationExamples(
        {"kind": "corrected_claim", "prior_authorization": "AUTH-EX-1"}
    ),
    ("PUT", "/v1/contract-rates"): OperationExamples(
        {
            "rates": [
                {"payer_id": "SANDBOX", "procedure_code": "99213", "allowed_cents": 10000, "currency": "USD"},
                {
                    "payer_id": "SANDBOX",
                    "procedure_code": "87880",
                    "modifier": "QW",
                    "allowed_cents": 2400,
                    "currency": "USD",
                },
            ],
            "replace_payer": "SANDBOX",
        },
        {"loaded": 2},
    ),
    ("PUT", "/v1/denial-payers/{payer_id}"): OperationExamples(
        {
            "appeal_days": [120, 180, 60],
            "timely_filing_days": 365,
            "near_days": 14,
            "underpayment_tolerance_cents": 100,
            "cost_to_work_cents": 2500,
        }
    ),
}
