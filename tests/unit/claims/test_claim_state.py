"""The claim state machine: the documented paths work, everything else is refused."""

from __future__ import annotations

import itertools

import pytest

from services.claims.domain.claim_state import (
    CANCELLABLE_STATES,
    TRANSITIONS,
    ClaimState,
    IllegalTransition,
    can_transition,
    path,
    sent_path,
    state_when_sent,
    transition,
)
from services.claims.domain.payment_outcomes import payment_targets


@pytest.mark.parametrize(
    "walk",
    [
        [
            ClaimState.DRAFT,
            ClaimState.SCRUBBED,
            ClaimState.READY,
            ClaimState.BATCHED,
            ClaimState.SUBMITTED,
            ClaimState.ACCEPTED,
            ClaimState.PAID,
        ],
        [
            ClaimState.DRAFT,
            ClaimState.SCRUBBED,
            ClaimState.ON_HOLD,
            ClaimState.SCRUBBED,
            ClaimState.READY,
            ClaimState.BATCHED,
        ],
        [ClaimState.SUBMITTED, ClaimState.REJECTED, ClaimState.ON_HOLD, ClaimState.SCRUBBED, ClaimState.READY],
        [
            ClaimState.SUBMITTED,
            ClaimState.REJECTED,
            ClaimState.RESUBMITTED,
            ClaimState.ACCEPTED,
            ClaimState.PARTIALLY_PAID,
            ClaimState.PAID,
        ],
        [
            ClaimState.ACCEPTED,
            ClaimState.DENIED,
            ClaimState.RESUBMITTED,
            ClaimState.ACCEPTED,
            ClaimState.PAID,
            ClaimState.ACCEPTED,
        ],
        [ClaimState.READY, ClaimState.ON_HOLD],
    ],
)
def test_documented_paths_are_allowed(walk: list[ClaimState]) -> None:
    steps = path(walk[0], *walk[1:])
    assert [target for _, target in steps] == walk[1:]


def test_every_state_has_an_entry_and_every_target_is_a_state() -> None:
    assert set(TRANSITIONS) == set(ClaimState)
    assert all(target in ClaimState for targets in TRANSITIONS.values() for target in targets)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (ClaimState.DRAFT, ClaimState.READY),
        (ClaimState.DRAFT, ClaimState.SUBMITTED),
        (ClaimState.ON_HOLD, ClaimState.READY),
        (ClaimState.ON_HOLD, ClaimState.BATCHED),
        (ClaimState.SCRUBBED, ClaimState.BATCHED),
        (ClaimState.BATCHED, ClaimState.READY),
        (ClaimState.PAID, ClaimState.DRAFT),
        (ClaimState.SUBMITTED, ClaimState.DRAFT),
        (ClaimState.READY, ClaimState.READY),
    ],
)
def test_illegal_transitions_are_refused_with_the_allowed_ones_named(current: ClaimState, target: ClaimState) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
        transition(current, target)


def test_a_refused_step_in_a_walk_refuses_the_walk() -> None:
    with pytest.raises(IllegalTransition):
        path(ClaimState.DRAFT, ClaimState.SCRUBBED, ClaimState.BATCHED)


def test_no_state_reaches_draft_and_every_state_but_draft_is_reachable() -> None:
    reachable = {target for targets in TRANSITIONS.values() for target in targets}
    assert ClaimState.DRAFT not in reachable
    assert reachable == set(ClaimState) - {ClaimState.DRAFT}


def test_transition_accepts_stored_strings() -> None:
    assert transition("on_hold", "scrubbed") is ClaimState.SCRUBBED
    assert sum(can_transition(a, b) for a, b in itertools.product(ClaimState, repeat=2)) == sum(
        len(t) for t in TRANSITIONS.values()
    )


ALLOWED = {
    (ClaimState.DRAFT, ClaimState.SCRUBBED),
    (ClaimState.SCRUBBED, ClaimState.READY),
    (ClaimState.SCRUBBED, ClaimState.ON_HOLD),
    (ClaimState.ON_HOLD, ClaimState.SCRUBBED),
    (ClaimState.READY, ClaimState.BATCHED),
    (ClaimState.READY, ClaimState.ON_HOLD),
    (ClaimState.READY, ClaimState.SCRUBBED),
    (ClaimState.BATCHED, ClaimState.SUBMITTED),
    (ClaimState.BATCHED, ClaimState.RESUBMITTED),
    (ClaimState.BATCHED, ClaimState.ON_HOLD),
    *(
        (sent, answer)
        for sent in (ClaimState.SUBMITTED, ClaimState.RESUBMITTED)
        for answer in (
            ClaimState.ACCEPTED,
            ClaimState.REJECTED,
            ClaimState.PAID,
            ClaimState.PARTIALLY_PAID,
            ClaimState.DENIED,
        )
    ),
    (ClaimState.ACCEPTED, ClaimState.REJECTED),
    (ClaimState.ACCEPTED, ClaimState.PAID),
    (ClaimState.ACCEPTED, ClaimState.PARTIALLY_PAID),
    (ClaimState.ACCEPTED, ClaimState.DENIED),
    (ClaimState.REJECTED, ClaimState.ON_HOLD),
    (ClaimState.REJECTED, ClaimState.RESUBMITTED),
    (ClaimState.PAID, ClaimState.ACCEPTED),
    (ClaimState.PARTIALLY_PAID, ClaimState.PAID),
    (ClaimState.PARTIALLY_PAID, ClaimState.ACCEPTED),
    (ClaimState.PARTIALLY_PAID, ClaimState.ON_HOLD),
    (ClaimState.PARTIALLY_PAID, ClaimState.RESUBMITTED),
    (ClaimState.DENIED, ClaimState.PAID),
    (ClaimState.DENIED, ClaimState.PARTIALLY_PAID),
    (ClaimState.DENIED, ClaimState.ACCEPTED),
    (ClaimState.DENIED, ClaimState.ON_HOLD),
    (ClaimState.DENIED, ClaimState.RESUBMITTED),
    (ClaimState.ON_HOLD, ClaimState.CANCELLED),
    (ClaimState.READY, ClaimState.CANCELLED),
    (ClaimState.REJECTED, ClaimState.CANCELLED),
}
"""The lifecycle of the module docstring, written out pair by pair, independently of `TRANSITIONS`."""


@pytest.mark.parametrize(("current", "target"), list(itertools.product(ClaimState, repeat=2)))
def test_every_pair_of_states_is_allowed_or_refused_as_documented(current: ClaimState, target: ClaimState) -> None:
    if (current, target) in ALLOWED:
        assert transition(current, target) is target
        assert path(current, target) == [(current, target)]
    else:
        with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
            transition(current, target)
        with pytest.raises(IllegalTransition):
            path(current, target)


def test_only_a_cancelled_claim_is_final_a_reversal_reopens_a_paid_claim() -> None:
    assert [state for state in ClaimState if not TRANSITIONS[state]] == [ClaimState.CANCELLED]
    assert transition(ClaimState.PAID, ClaimState.ACCEPTED) is ClaimState.ACCEPTED
    assert payment_targets(ClaimState.PAID, ClaimState.ACCEPTED) == [ClaimState.ACCEPTED]


def test_a_sent_claim_is_submitted_the_first_time_and_resubmitted_after() -> None:
    assert state_when_sent(1) is ClaimState.SUBMITTED
    assert state_when_sent(2) is ClaimState.RESUBMITTED
    assert sent_path(ClaimState.BATCHED, 1) == [ClaimState.SUBMITTED]
    assert sent_path(ClaimState.ACCEPTED, 1) == [], "a 277CA that came before the send was marked already moved it"


def test_a_payment_walks_a_batched_claim_through_submitted_and_leaves_refused_moves_alone() -> None:
    assert payment_targets(ClaimState.BATCHED, ClaimState.PAID) == [ClaimState.SUBMITTED, ClaimState.PAID]
    assert payment_targets(ClaimState.ACCEPTED, ClaimState.DENIED) == [ClaimState.DENIED]
    assert payment_targets(ClaimState.PAID, ClaimState.PAID) == []
    assert payment_targets(ClaimState.ON_HOLD, ClaimState.PAID) == []


def test_only_a_claim_no_payer_has_seen_can_be_cancelled() -> None:
    assert CANCELLABLE_STATES == {ClaimState.ON_HOLD, ClaimState.READY, ClaimState.REJECTED}
