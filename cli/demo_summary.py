"""What a demo run came to, from what the services' APIs answered: claim counts, money, the ledger check.

Pure: the demo command gathers `ClaimOutcome`s over HTTP and this module adds them up, so the
arithmetic (and what `ledger_balanced` means) is tested without servers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cli.demo_denials import DenialTotals, denial_totals

SETTLED_STATES = frozenset({"paid", "partially_paid", "denied", "rejected", "on_hold"})
"""States a demo claim can rest in: adjudicated, or waiting for a person (rejected, on hold)."""
PAID_STATES = frozenset({"paid", "partially_paid"})


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """One claim's ledger as remittance reports it (`GET /v1/claims/{id}/ledger`), in cents."""

    charge_cents: int
    paid_cents: int
    adjustment_cents: int
    patient_responsibility_cents: int
    open_cents: int


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    claim_id: str
    state: str
    total_charge_cents: int
    """The claim's charge as the claims service billed it."""
    states_seen: frozenset[str]
    """Every state in the claim's status history."""
    is_secondary: bool
    ledger: LedgerTotals | None
    """None: remittance has posted nothing for the claim (held, or never submitted)."""

    @property
    def balanced(self) -> bool:
        """charge = paid + adjustments + patient responsibility + open, to the cent, with the charge taken
        from the claims service and the rest from remittance's ledger entries, and no negative open balance
        (a claim paid beyond what it was owed has a credit balance, not a balanced ledger)."""
        if self.ledger is None:
            return True  # nothing posted: the whole charge is open
        ledger = self.ledger
        if ledger.charge_cents != self.total_charge_cents:
            return False
        return ledger.open_cents >= 0 and ledger.charge_cents == (
            ledger.paid_cents + ledger.adjustment_cents + ledger.patient_responsibility_cents + ledger.open_cents
        )


@dataclass(frozen=True, slots=True)
class DemoSummary:
    encounters: int
    encounters_created: int
    claims: int
    secondary_claims: int
    claims_submitted: int
    claims_accepted: int
    claims_rejected: int
    claims_on_hold: int
    claims_paid: int
    claims_denied: int
    claims_unsettled: int
    suspense_matched: int
    charged_cents: int
    paid_cents: int
    adjusted_cents: int
    patient_responsibility_cents: int
    open_cents: int
    elapsed_s: float
    encounters_per_s: float
    ledger_balanced: bool
    unbalanced_claims: tuple[str, ...]
    seed: int
    denials: DenialTotals = field(default_factory=lambda: denial_totals(()))
    """The demo's denial cases after working them (corrected claims, appeals, write-offs)."""
    corrected_claims: int = 0
    """Replacement claims built for the demo's corrected-claim actions (counted in `claims` too)."""
    denial_actions: int = 0
    """Actions this run sent (a rerun sends none: every action's Idempotency-Key repeats)."""
    statements: int = 0
    """Statements of the demo's patients dated the demo's end date (the statement run's `as_of`)."""
    statement_balance_cents: int = 0
    webhook_deliveries: int | None = None
    """Deliveries the notifications service logged as delivered on the demo's subscription (one per tenant,
    shared by every demo run in it); None: webhooks skipped (the service refuses a loopback target outside
    development, or the token has no webhooks scope)."""
    webhooks_verified: int = 0
    """Deliveries this run's receiver took whose Standard Webhooks signature checked out."""

    def as_json(self) -> dict[str, object]:
        result: dict[str, object] = {
            name: getattr(self, name) for name in self.__dataclass_fields__ if name != "denials"
        }
        result.update(self.denials.as_json())
        result["unbalanced_claims"] = list(self.unbalanced_claims)
        # HFMA MAP Key AR-5: claims denied / claims remitted (as analytics/kpis.sql's kpi_denial_rate).
        remitted = self.claims_paid + self.claims_denied
        result["denial_rate"] = round(self.claims_denied / remitted, 4) if remitted else 0.0
        return result


def summarize(
    outcomes: Iterable[ClaimOutcome],
    *,
    encounters: int,
    encounters_created: int,
    suspense_matched: int,
    elapsed_s: float,
    seed: int,
) -> DemoSummary:
    """Counts over every claim (primaries and the secondaries built from them); money over every claim's
    ledger, a claim with nothing posted counting its whole charge as open, so the totals keep the identity
    charged = paid + adjusted + patient responsibility + open."""
    claims = list(outcomes)
    charged = paid = adjusted = patient = open_ = 0
    for claim in claims:
        charged += claim.total_charge_cents
        if claim.ledger is None:
            open_ += claim.total_charge_cents
            continue
        paid += claim.ledger.paid_cents
        adjusted += claim.ledger.adjustment_cents
        patient += claim.ledger.patient_responsibility_cents
        open_ += claim.ledger.open_cents
    unbalanced = tuple(sorted(claim.claim_id for claim in claims if not claim.balanced))
    return DemoSummary(
        encounters=encounters,
        encounters_created=encounters_created,
        claims=len(claims),
        secondary_claims=sum(1 for c in claims if c.is_secondary),
        claims_submitted=sum(1 for c in claims if c.states_seen & {"submitted", "resubmitted"}),
        claims_accepted=sum(1 for c in claims if "accepted" in c.states_seen),
        claims_rejected=sum(1 for c in claims if "rejected" in c.states_seen),
        claims_on_hold=sum(1 for c in claims if c.state == "on_hold"),
        claims_paid=sum(1 for c in claims if c.state in PAID_STATES),
        claims_denied=sum(1 for c in claims if c.state == "denied"),
        claims_unsettled=sum(1 for c in claims if c.state not in SETTLED_STATES),
        suspense_matched=suspense_matched,
        charged_cents=charged,
        paid_cents=paid,
        adjusted_cents=adjusted,
        patient_responsibility_cents=patient,
        open_cents=open_,
        elapsed_s=round(elapsed_s, 3),
        encounters_per_s=round(encounters / elapsed_s, 2) if elapsed_s > 0 else 0.0,
        ledger_balanced=not unbalanced and bool(claims),
        unbalanced_claims=unbalanced,
        seed=seed,
    )
