"""Follow-up of claims that went quiet: what a 276 asks about one claim. Pure.

A claim is quiet when it sits in `submitted`, `resubmitted` or `accepted` — no payment, no
rejection — longer than the configured age since its last change, and has not been asked about
since that change. Each inquiry gets a trace number (TRN02) unique across every 276 we send:
the interchange control number and the inquiry's place in it.
"""

from __future__ import annotations

import datetime as dt

from services.claims.domain.claim import Claim
from services.claims.domain.claim_state import ClaimState
from services.claims.domain.claim_status_request import ClaimStatusInquiry

QUIET_STATES = frozenset({ClaimState.SUBMITTED, ClaimState.RESUBMITTED, ClaimState.ACCEPTED})


def trace_number(interchange_control_number: int, index: int) -> str:
    return f"CF{interchange_control_number:09d}{index:05d}"


def is_quiet(state: str, last_change: dt.datetime, now: dt.datetime, age: dt.timedelta) -> bool:
    return state in QUIET_STATES and now - last_change >= age


def inquiry_for(
    claim: Claim,
    *,
    trace: str,
    service_from: dt.date,
    service_to: dt.date | None,
    payer_claim_number: str | None,
) -> ClaimStatusInquiry:
    billing = claim.billing_provider
    bill_type = None
    if claim.institutional is not None:
        bill_type = f"{claim.institutional.facility_type_code}{claim.frequency.value}"
    return ClaimStatusInquiry(
        trace_number=trace,
        claim_control_number=claim.control_number,
        payer=claim.payer,
        provider_name=billing.name,
        provider_npi=billing.npi,
        subscriber=claim.subscriber,
        total_charge_cents=claim.total_charge_cents,
        service_from=service_from,
        service_to=service_to,
        patient=claim.patient,
        payer_claim_number=payer_claim_number,
        bill_type=bill_type,
    )
