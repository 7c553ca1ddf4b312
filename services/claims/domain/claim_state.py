"""The claim lifecycle: which state may follow which, and nothing else.

```
draft ──► scrubbed ──► ready ──► batched ──► submitted ──► accepted ──► paid / partially_paid / denied
              │          ▲  │                   │  ▲           │                        │
              ▼          │  │ (scrubbed again)  ▼  │           ▼                        ▼
           on_hold ◄─────┘◄─┘                rejected ──► on_hold (fix) ──► … ──► resubmitted
```

- `draft`: built from a coded encounter, not yet checked.
- `scrubbed`: the scrubber ran; it goes straight on to `ready` (clean) or `on_hold` (an error edit).
- `on_hold`: waits for billing staff; fixes are applied here, a release re-scrubs (back to `scrubbed`).
- `ready`: waits for the batching loop; `batched` once it is in a stored 837 interchange.
- `submitted`: the clearinghouse adapter took the file; `accepted`/`rejected` from its 999/277CA.
- `rejected` claims are corrected (`on_hold`), released and batched again; the second time the
  adapter takes them they are `resubmitted`, which is acknowledged like `submitted`.
- `paid`, `partially_paid`, `denied` come from the payer's 835; a denied or short-paid claim may be
  corrected and resubmitted (frequency 7), a paid one may be reopened by a reversal (back to `accepted`).

Every transition is recorded with its time and reason in the claim's status history.
"""

from __future__ import annotations

from enum import StrEnum


class ClaimState(StrEnum):
    DRAFT = "draft"
    SCRUBBED = "scrubbed"
    ON_HOLD = "on_hold"
    READY = "ready"
    BATCHED = "batched"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RESUBMITTED = "resubmitted"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"


S = ClaimState
TRANSITIONS: dict[ClaimState, frozenset[ClaimState]] = {
    S.DRAFT: frozenset({S.SCRUBBED}),
    S.SCRUBBED: frozenset({S.READY, S.ON_HOLD}),
    S.ON_HOLD: frozenset({S.SCRUBBED}),
    S.READY: frozenset({S.BATCHED, S.ON_HOLD, S.SCRUBBED}),
    S.BATCHED: frozenset({S.SUBMITTED, S.RESUBMITTED, S.ON_HOLD}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.PAID, S.PARTIALLY_PAID, S.DENIED}),
    S.RESUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.PAID, S.PARTIALLY_PAID, S.DENIED}),
    S.ACCEPTED: frozenset({S.REJECTED, S.PAID, S.PARTIALLY_PAID, S.DENIED}),
    S.REJECTED: frozenset({S.ON_HOLD, S.RESUBMITTED}),
    S.PAID: frozenset({S.ACCEPTED}),
    S.PARTIALLY_PAID: frozenset({S.PAID, S.ACCEPTED, S.ON_HOLD, S.RESUBMITTED}),
    S.DENIED: frozenset({S.PAID, S.PARTIALLY_PAID, S.ACCEPTED, S.ON_HOLD, S.RESUBMITTED}),
}
"""Allowed next states. A payer may answer with an 835 before (or instead of) a 277CA."""

FINAL_STATES = frozenset({S.PAID})
WORKABLE_STATES = frozenset({S.ON_HOLD, S.REJECTED, S.DENIED, S.PARTIALLY_PAID})
"""States that wait for a person."""


class IllegalTransition(ValueError):
    def __init__(self, current: ClaimState, target: ClaimState) -> None:
        self.current, self.target = current, target
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        super().__init__(f"a claim cannot go from {current} to {target} (allowed next: {allowed})")


def can_transition(current: ClaimState, target: ClaimState) -> bool:
    return target in TRANSITIONS[current]


def transition(current: ClaimState | str, target: ClaimState | str) -> ClaimState:
    """The target state when the move is allowed; `IllegalTransition` otherwise."""
    current, target = ClaimState(current), ClaimState(target)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target


def path(current: ClaimState | str, *targets: ClaimState | str) -> list[tuple[ClaimState, ClaimState]]:
    """Each step of a walk through several states, every step checked; e.g. draft → scrubbed → ready."""
    steps = []
    state = ClaimState(current)
    for target in targets:
        following = transition(state, target)
        steps.append((state, following))
        state = following
    return steps
