"""The claim state machine: the documented paths work, everything else is refused."""

from __future__ import annotations

import itertools

import pytest

from services.claims.domain.claim_state import (
    TRANSITIONS,
    ClaimState,
    IllegalTransition,
    can_transition,
    path,
    transition,
)

S = ClaimState


@pytest.mark.parametrize(
    "walk",
    [
        [S.DRAFT, S.SCRUBBED, S.READY, S.BATCHED, S.SUBMITTED, S.ACCEPTED, S.PAID],
        [S.DRAFT, S.SCRUBBED, S.ON_HOLD, S.SCRUBBED, S.READY, S.BATCHED],
        [S.SUBMITTED, S.REJECTED, S.ON_HOLD, S.SCRUBBED, S.READY],
        [S.SUBMITTED, S.REJECTED, S.RESUBMITTED, S.ACCEPTED, S.PARTIALLY_PAID, S.PAID],
        [S.ACCEPTED, S.DENIED, S.RESUBMITTED, S.ACCEPTED, S.PAID, S.ACCEPTED],
        [S.READY, S.ON_HOLD],
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
        (S.DRAFT, S.READY),
        (S.DRAFT, S.SUBMITTED),
        (S.ON_HOLD, S.READY),
        (S.ON_HOLD, S.BATCHED),
        (S.SCRUBBED, S.BATCHED),
        (S.BATCHED, S.READY),
        (S.PAID, S.DRAFT),
        (S.SUBMITTED, S.DRAFT),
        (S.READY, S.READY),
    ],
)
def test_illegal_transitions_are_refused_with_the_allowed_ones_named(current: ClaimState, target: ClaimState) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
        transition(current, target)


def test_a_refused_step_in_a_walk_refuses_the_walk() -> None:
    with pytest.raises(IllegalTransition):
        path(S.DRAFT, S.SCRUBBED, S.BATCHED)


def test_no_state_reaches_draft_and_every_state_but_draft_is_reachable() -> None:
    reachable = {target for targets in TRANSITIONS.values() for target in targets}
    assert S.DRAFT not in reachable
    assert reachable == set(ClaimState) - {S.DRAFT}


def test_transition_accepts_stored_strings() -> None:
    assert transition("on_hold", "scrubbed") is S.SCRUBBED
    assert sum(can_transition(a, b) for a, b in itertools.product(ClaimState, repeat=2)) == sum(
        len(t) for t in TRANSITIONS.values()
    )
