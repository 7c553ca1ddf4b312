"""The one path by which a claim changes state: `change_states` locks the claims' rows, reads their real
states, walks each through the state machine of `domain/claim_state.py`, and writes the new states, the
history rows and (for changes a payer or clearinghouse reported) `claim-status-changed.v1` through the
outbox, all in the caller's transaction. A refused move raises `IllegalTransition` and rolls it back.

One claim or thousands (a batching round) take the same path: one locking read, one write per shape
of change, one COPY of history, one outbox insert per tenant.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.domain.claim_state import ClaimState, path
from services.claims.records import LockedClaim, StateColumns, StateWrite, StatusChange
from services.claims.repository import ClaimStates
from shared.events.catalog import ClaimStatusChangedV1, EventPayload
from shared.messaging.outbox import Outbox

StatusSource = Literal["999", "277CA", "277", "835"]
Route = Callable[[ClaimState], Sequence[ClaimState]]
"""From the claim's real state, the states it goes through (none: the change no longer applies)."""


def to(*targets: ClaimState) -> Route:
    """A route that is the same whatever the claim's state (the machine still checks it)."""
    return lambda _current: targets


@dataclass(frozen=True, slots=True)
class StatusNotice:
    """What `claim-status-changed.v1` says besides the states: who said so, with which codes."""

    source: StatusSource
    at: dt.datetime
    codes: tuple[str, ...] = ()
    payer_claim_number: str | None = None


@dataclass(frozen=True, slots=True)
class StateChange:
    claim_id: uuid.UUID
    route: Route
    reasons: str | Sequence[str]
    """One reason for every step, or one for all of them."""
    columns: StateColumns = field(default_factory=StateColumns)
    notice: StatusNotice | None = None


@dataclass(frozen=True, slots=True)
class ChangedClaim:
    claim: LockedClaim
    steps: list[tuple[ClaimState, ClaimState]]

    @property
    def state(self) -> ClaimState:
        return self.steps[-1][1]


class ClaimNotFound(LookupError):
    pass


def _event(changed: ChangedClaim, notice: StatusNotice) -> ClaimStatusChangedV1:
    claim = changed.claim
    return ClaimStatusChangedV1(
        claim_id=claim.id,
        claim_control_number=claim.claim_control_number,
        payer_id=claim.payer_id,
        from_state=changed.steps[0][0],
        to_state=changed.state,
        reason_codes=list(notice.codes),
        source=notice.source,
        changed_at=notice.at,
        payer_claim_number=notice.payer_claim_number,
    )


async def change_states(
    session: AsyncSession,
    outbox: Outbox,
    changes: Sequence[StateChange],
    *,
    locked: Mapping[uuid.UUID, LockedClaim] | None = None,
) -> list[ChangedClaim]:
    """Applies each change to its claim's real state; returns the claims that moved (a route may
    decline). Raises `ClaimNotFound` for an unknown claim and `IllegalTransition` for a refused step.
    `locked`: the claims as the caller read them FOR UPDATE in this transaction (a batching round's READY
    claims), so they are not read a second time; without it every claim is locked and read here."""
    states = ClaimStates(session)
    if locked is None:
        locked = await states.lock(change.claim_id for change in changes)
    else:
        locked = dict(locked)
    # a claim changed twice in one call walks on from its first change's state (a batching round's claims: once)
    repeated = len({change.claim_id for change in changes}) != len(changes)
    writes: list[StateWrite] = []
    history: list[StatusChange] = []
    events: dict[str, list[tuple[str, EventPayload]]] = defaultdict(list)
    moved: list[ChangedClaim] = []
    for change in changes:
        claim = locked.get(change.claim_id)
        if claim is None:
            raise ClaimNotFound(change.claim_id)
        steps = path(claim.state, *change.route(claim.state))
        if not steps:
            continue
        changed = ChangedClaim(claim, steps)
        state = steps[-1][1]
        if repeated:
            locked[claim.id] = LockedClaim(claim.id, claim.tenant_id, state, claim.claim_control_number, claim.payer_id)
        moved.append(changed)
        writes.append(StateWrite(claim.id, state, change.columns))
        reasons = change.reasons
        if isinstance(reasons, str):
            history += [StatusChange(claim.id, claim.tenant_id, before, after, reasons) for before, after in steps]
        else:
            history += [
                StatusChange(claim.id, claim.tenant_id, before, after, reason)
                for (before, after), reason in zip(steps, reasons, strict=True)
            ]
        if change.notice is not None:
            events[claim.tenant_id].append((str(claim.id), _event(changed, change.notice)))
    await states.write(writes)
    await states.record(history)
    for tenant, tenant_events in events.items():
        await outbox.add_many(session, tenant=tenant, events=tenant_events)
    return moved


async def note(session: AsyncSession, claim_id: uuid.UUID, tenant: str, state: ClaimState, reason: str) -> None:
    """A history row that is not a move (a fix on hold, a secondary claim built): from = to = `state`."""
    await ClaimStates(session).record([StatusChange(claim_id, tenant, state, state, reason)])


async def record_new(session: AsyncSession, changes: Sequence[StatusChange]) -> None:
    """History of claims just inserted (None → draft → scrubbed → …): their walk was checked by `path`."""
    await ClaimStates(session).record(changes)
