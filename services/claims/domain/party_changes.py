"""A held claim mended by a corrected party: the claim's document (the coded encounter as priced and
fixed) takes the party as intake now has it, wherever the claim names it, so that scrubbing it again
sees the correction. Pure: the `party-changed` event in, the mended encounter (or None) out."""

from __future__ import annotations

from services.claims.domain.claim_state import ClaimState
from shared.events.catalog import (
    CoverageDetails,
    EncounterCodedV1,
    EncounterPhi,
    PartyChangedV1,
    Person,
    ProviderDetails,
)

MENDABLE_STATES = frozenset({ClaimState.ON_HOLD})
"""Claims a party correction mends and re-scrubs: those on hold (the others are sent, or cleanly ready)."""
SELF = "18"


def mended(encounter: EncounterCodedV1, change: PartyChangedV1) -> EncounterCodedV1 | None:
    """The encounter with the changed party in every place it names it; None when it names it nowhere
    or already says the same."""
    update: dict[str, object] = {}
    if change.provider is not None:
        update = _provider_update(encounter, change.provider)
    elif change.payer is not None:
        update = _payer_update(encounter, change)
    elif change.facility is not None:
        facility = encounter.service_facility
        if facility is not None and facility.facility_id == change.facility.facility_id:
            update = {"service_facility": change.facility}
    elif change.coverage is not None:
        update = _coverage_update(encounter, change, change.coverage)
    elif change.phi is not None and change.phi.patient is not None and encounter.patient_id == change.patient_id:
        update = _patient_update(encounter, change.phi.patient)
    if not update:
        return None
    after = encounter.model_copy(update=update)
    return None if after == encounter else after


def _provider_update(encounter: EncounterCodedV1, provider: ProviderDetails) -> dict[str, object]:
    update: dict[str, object] = {}
    for field in ("billing_provider", "rendering_provider", "referring_provider"):
        if getattr(encounter, f"{field}_npi") == provider.npi:
            update[field] = provider
    institutional = encounter.institutional
    if institutional is not None and institutional.attending_provider_npi == provider.npi:
        update["institutional"] = institutional.model_copy(update={"attending": provider})
    return update


def _with_payer(coverage: CoverageDetails | None, change: PartyChangedV1) -> CoverageDetails | None:
    payer = change.payer
    if coverage is None or payer is None or coverage.payer.payer_id != payer.payer_id:
        return coverage
    return coverage.model_copy(update={"payer": payer})


def _payer_update(encounter: EncounterCodedV1, change: PartyChangedV1) -> dict[str, object]:
    return {
        "coverage": _with_payer(encounter.coverage, change),
        "other_coverages": [_with_payer(c, change) for c in encounter.other_coverages],
    }


def _coverage_update(
    encounter: EncounterCodedV1, change: PartyChangedV1, coverage: CoverageDetails
) -> dict[str, object]:
    if encounter.patient_id != change.patient_id:
        return {}
    update: dict[str, object] = {}
    billed = encounter.coverage
    if billed is not None and billed.coverage_id == coverage.coverage_id:
        update["coverage"] = coverage
        update["payer_id"] = coverage.payer.payer_id
    others = [coverage if c.coverage_id == coverage.coverage_id else c for c in encounter.other_coverages]
    if others != encounter.other_coverages:
        update["other_coverages"] = others
    subscriber = change.phi.subscriber if change.phi is not None else None
    phi = encounter.phi
    if update and phi is not None and subscriber is not None:
        subscribers = [subscriber if s.coverage_id == subscriber.coverage_id else s for s in phi.subscribers]
        update["phi"] = phi.model_copy(update={"subscribers": subscribers})
    return update


def _patient_update(encounter: EncounterCodedV1, patient: Person) -> dict[str, object]:
    phi = encounter.phi
    if phi is None:
        return {}
    own = {c.coverage_id for c in (encounter.coverage, *encounter.other_coverages) if c and c.relationship == SELF}
    subscribers = [s.model_copy(update={"subscriber": patient}) if s.coverage_id in own else s for s in phi.subscribers]
    return {"phi": EncounterPhi(patient=patient, subscribers=subscribers)}
