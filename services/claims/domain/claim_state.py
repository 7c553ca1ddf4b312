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
- `cancelled`: billing staff cancelled a claim that never reached a payer (on hold, ready, or rejected
  by the clearinghouse), with a reason; its encounter is cancelled with it. Nothing follows it.
- `paid`, `partially_paid`, `denied` come from the payer's 835; a denied or short-paid claim may be
  corrected and resubmitted (frequency 7), a paid one may be reopened by a reversal (back to `accepted`).
- `cancelled`: withdrawn before any payer has it (on hold, ready, or rejected), e.g. a secondary claim
  whose primary's payment was reversed. The one final state; a claim a payer has is voided instead
  (a frequency-8 claim of its own).

Every transition is recorded with its time and reason in the claim's status history.
"""

from __future__ import annotations

import functools
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
    CANCELLED = "cancelled"


TRANSITIONS: dict[ClaimState, frozenset[ClaimState]] = {
    ClaimState.DRAFT: frozenset({ClaimState.SCRUBBED}),
    ClaimState.SCRUBBED: frozenset({ClaimState.READY, ClaimState.ON_HOLD}),
    ClaimState.ON_HOLD: frozenset({ClaimState.SCRUBBED, ClaimState.CANCELLED}),
    ClaimState.READY: frozenset({ClaimState.BATCHED, ClaimState.ON_HOLD, ClaimState.SCRUBBED, ClaimState.CANCELLED}),
    ClaimState.BATCHED: frozenset({ClaimState.SUBMITTED, ClaimState.RESUBMITTED, ClaimState.ON_HOLD}),
    ClaimState.SUBMITTED: frozenset(
        {ClaimState.ACCEPTED, ClaimState.REJECTED, ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.DENIED}
    ),
    ClaimState.RESUBMITTED: frozenset(
        {ClaimState.ACCEPTED, ClaimState.REJECTED, ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.DENIED}
    ),
    ClaimState.ACCEPTED: frozenset(
        {ClaimState.REJECTED, ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.DENIED}
    ),
    ClaimState.REJECTED: frozenset({ClaimState.ON_HOLD, ClaimState.RESUBMITTED, ClaimState.CANCELLED}),
    ClaimState.PAID: frozenset({ClaimState.ACCEPTED}),
    ClaimState.PARTIALLY_PAID: frozenset(
        {ClaimState.PAID, ClaimState.ACCEPTED, ClaimState.ON_HOLD, ClaimState.RESUBMITTED}
    ),
    ClaimState.DENIED: frozenset(
        {ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.ACCEPTED, ClaimState.ON_HOLD, ClaimState.RESUBMITTED}
    ),
    ClaimState.CANCELLED: frozenset(),
}
"""Allowed next states. A payer may answer with an 835 before (or instead of) a 277CA.

Only `cancelled` is final (the claim never reached a payer); a paid claim is reopened (back to
`accepted`) by a reversal in a later 835 (CLP02 22), which `payment_outcomes.payment_outcome` reads."""

CANCELLABLE_STATES = frozenset(state for state, following in TRANSITIONS.items() if ClaimState.CANCELLED in following)
"""States of a claim not yet with a payer, which billing staff may cancel."""

NOT_BILLED_STATES = frozenset({ClaimState.DRAFT, ClaimState.SCRUBBED, ClaimState.ON_HOLD, ClaimState.CANCELLED})
"""A claim in these states bills nothing: the duplicate-claim edit does not count its services."""

WORKABLE_STATES = frozenset({ClaimState.ON_HOLD, ClaimState.REJECTED, ClaimState.DENIED, ClaimState.PARTIALLY_PAID})
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
    return list(_walk(current, targets))


@functools.cache
def _walk(
    current: ClaimState | str, targets: tuple[ClaimState | str, ...]
) -> tuple[tuple[ClaimState, ClaimState], ...]:
    """`path`'s steps, remembered: the machine is fixed, so thousands of claims taking the same walk share it (a
    refused step raises `IllegalTransition` again each time: an exception is never remembered)."""
    steps = []
    state = ClaimState(current)
    for target in targets:
        following = transition(state, target)
        steps.append((state, following))
        state = following
    return tuple(steps)


def state_when_sent(submission_count: int) -> ClaimState:
    """A batched claim the clearinghouse took: `resubmitted` when it went out before."""
    return ClaimState.RESUBMITTED if submission_count > 1 else ClaimState.SUBMITTED


def sent_path(current: ClaimState, submission_count: int) -> list[ClaimState]:
    """Targets for a claim whose file was just sent; none when an answer already moved it on."""
    return [state_when_sent(submission_count)] if current is ClaimState.BATCHED else []
