"""`fast_init`: the faster constructor of frozen slotted dataclasses behaves as the dataclass's own."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass

import pytest

from services.remittance.domain.remittance_advice import ClaimAdjustment, ServiceLine
from shared.fast_init import fast_init


@dataclass(frozen=True, slots=True)
class _Plain:
    group: str
    amount_cents: int
    quantity: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class _Fast:
    group: str
    amount_cents: int
    quantity: int | None = None


def test_same_values_positional_keyword_and_defaults() -> None:
    assert dataclasses.astuple(_Fast("CO", 125)) == dataclasses.astuple(_Plain("CO", 125)) == ("CO", 125, None)
    assert _Fast(amount_cents=-5, group="PR", quantity=2) == _Fast("PR", -5, 2)
    assert hash(_Fast("PR", -5, 2)) == hash(_Fast("PR", -5, 2))
    assert repr(_Fast("OA", 1)) == "_Fast(group='OA', amount_cents=1, quantity=None)"
    assert dataclasses.replace(_Fast("CO", 1), quantity=3) == _Fast("CO", 1, 3)


def test_signature_errors_as_before() -> None:
    with pytest.raises(TypeError):
        _Fast("CO")  # type: ignore[call-arg]  # a required field missing must still fail
    with pytest.raises(TypeError):
        _Fast("CO", 1, 2, 3)  # type: ignore[call-arg]  # one positional too many must still fail


def test_still_frozen() -> None:
    adjustment = ClaimAdjustment("CO", "45", 100, None, 7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        adjustment.amount_cents = 0  # type: ignore[misc]  # assigning a field must raise
    assert ServiceLine.__init__.__qualname__ == "ServiceLine.__init__"


def test_refuses_what_it_cannot_reproduce() -> None:
    @dataclass(frozen=True, slots=True)
    class WithFactory:
        items: list[int] = dataclasses.field(default_factory=list)

    @dataclass(slots=True)
    class NotFrozen:
        value: int

    for cls in (WithFactory, NotFrozen):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_instances_keep_their_class_and_a_subclass_is_filled_too() -> None:
    fast = _Fast("CO", 125, 2)
    assert type(fast) is _Fast
    assert (fast.group, fast.amount_cents, fast.quantity) == ("CO", 125, 2)

    class _Sub(_Fast):
        __slots__ = ("extra",)

    sub = _Sub("PR", 3)
    assert type(sub) is _Sub
    assert (sub.group, sub.amount_cents, sub.quantity) == ("PR", 3, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sub.group = "CO"  # type: ignore[misc]  # a subclass instance stays frozen as well


def test_copies_and_pickles_as_the_dataclass() -> None:
    fast = _Fast("OA", 7, 1)
    unpickled = pickle.loads(pickle.dumps(fast))  # noqa: S301 - our own bytes, made on the line itself
    assert copy.copy(fast) == copy.deepcopy(fast) == unpickled == fast
    assert type(unpickled) is _Fast
