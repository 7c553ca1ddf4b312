"""Balancing: line, claim and transaction arithmetic, with the claim and segment that break it."""

from __future__ import annotations

from services.remittance.domain.balancing import balance_findings, balance_report
from services.remittance.domain.x12_835 import parse_835
from tests.support.synthetic_835 import FULL_BODY, MINIMAL_BODY, enveloped


def findings_for(body: str) -> list[tuple[str, str | None, int, int, int]]:
    (advice,) = parse_835(enveloped(body))
    return [(f.rule, f.clp01, f.position, f.expected_cents, f.actual_cents) for f in balance_findings(advice)]


def test_balanced_remittance_has_no_findings() -> None:
    assert findings_for(FULL_BODY) == []
    assert findings_for(MINIMAL_BODY) == []


def test_line_adjustment_short_breaks_line_and_claim() -> None:
    body = MINIMAL_BODY.replace("CAS*PR*2*20.00", "CAS*PR*2*19.99")
    assert findings_for(body) == [
        ("service_line", "SYN-MIN-1", 11, 2000, 1999),
        ("claim", "SYN-MIN-1", 9, 2000, 1999),
    ]


def test_line_paid_uses_svc03() -> None:
    """Raising SVC03 alone unbalances the line; the claim (CLP03 - CLP04) still adds up."""
    body = MINIMAL_BODY.replace("SVC*HC:99212*120.00*100.00", "SVC*HC:99212*120.00*110.00")
    assert findings_for(body) == [("service_line", "SYN-MIN-1", 11, 1000, 2000)]


def test_claim_level_adjustment_counts_with_line_level() -> None:
    body = FULL_BODY.replace("CAS*CO*45*50.00", "CAS*CO*45*49.00")
    assert findings_for(body) == [("claim", "SYN-CLAIM-1", 23, 35000, 34900)]


def test_transaction_total_includes_provider_adjustments() -> None:
    assert findings_for(FULL_BODY.replace("BPR*I*570.00", "BPR*I*550.00")) == [("transaction", None, 4, 55000, 57000)]
    # A positive PLB amount is withheld from the payment.
    positive = FULL_BODY.replace("WO:REF1*-25.00", "WO:REF1*25.00")
    assert findings_for(positive) == [("transaction", None, 4, 57000, 52000)]


def test_report_covers_every_transaction_in_order() -> None:
    unbalanced = MINIMAL_BODY.replace("BPR*I*100.00", "BPR*I*100.01")
    advices = parse_835(enveloped(MINIMAL_BODY, unbalanced, unbalanced))
    report = balance_report(advices)
    assert [(f.rule, f.position) for f in report] == [("transaction", 15), ("transaction", 26)]
    assert "BPR02 is 100.01" in report[0].message
