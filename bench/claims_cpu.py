"""The claims service's own CPU per claim, without servers: what one process does for each claim between
consuming its `encounter-coded` event and handing its `claim-submitted` event to the outbox.

    .venv/bin/python bench/claims_cpu.py [--claims 2000] [--rounds 5]

Build (as a consumed batch does): the typed payload, pricing, the scrubber's draft and rules, the 837
writer's claim and its check, the stored document's columns, and the claim kept for the batcher.
Batch (as a batching round does): each READY claim as the 837 writer sees it (the kept claim while its
row is the version its insert wrote, else built again from the document), the 837 interchange, and each claim's
`claim-submitted` event with its envelope. No SQL, no Kafka: the figure is the Python cost the database and
the broker do not see, in thread CPU time (the same on a busy machine as on an idle one, within noise), best
of `--rounds`, with the service's garbage-collector settings (`shared.service.settle_heap`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.claims import service
from services.claims.domain.claim_builder import checked_claim, draft_from_encounter, price
from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.scrubber import ScrubContext, scrub
from services.claims.records import ReadyClaim
from services.claims.settings import ClaimsSettings
from shared import codesets
from shared.events import wire
from shared.events.envelope import EventEnvelope
from shared.patient_match import MemberDigest
from shared.service import settle_heap
from tests.support.encounters import example

TENANT = "bench"


def consumed(count: int) -> list[EventEnvelope]:
    """`encounter-coded` envelopes of the professional example, one new encounter and patient each."""
    base = example("professional")
    out = []
    for _ in range(count):
        event = base.model_copy(update={"encounter_id": uuid.uuid4(), "patient_id": uuid.uuid4()})
        out.append(EventEnvelope.new(source="bench", subject=str(event.encounter_id), tenant=TENANT, payload=event))
    return out


def build(envelopes: list[EventEnvelope], settings: ClaimsSettings) -> list[ReadyClaim]:
    submitter, receiver = settings.submitter, settings.receiver
    today = dt.date.today()
    # the code-set hooks of a consumed batch, as the service's scrubber hands them to the rules (memoised per
    # unit of work where the service does that)
    scrubber = service._Scrubber(writes=None, settings=settings, today=today)  # type: ignore[arg-type]  # no SQL here
    context = ScrubContext(
        today=today,
        diagnosis_problem=scrubber.diagnosis_problem,
        procedure_problem=getattr(scrubber, "procedure_problem", codesets.validate_procedure),
        modifier_problem=getattr(scrubber, "modifier_problem", codesets.validate_modifier),
    )
    ready = []
    for number, envelope in enumerate(envelopes, start=1):
        envelope = envelope.replace()  # as consumed: no typed payload cached, decoded from the bytes
        encounter = price(envelope.payload_as(wire.EncounterCodedV1), {})  # the mirror, as the consumer reads it
        control_number = service.claim_control_number(number)
        draft = draft_from_encounter(encounter)
        claim, writer = checked_claim(encounter, submitter=submitter, receiver=receiver, control_number=control_number)
        findings = scrub(draft, context) + writer
        assert not findings and claim is not None, findings
        service._contents(encounter, envelope.data)
        claim_id = uuid.uuid4()
        service._BUILT_CLAIMS.keep(claim_id, number, service._built(claim, encounter))
        ready.append(
            ReadyClaim(
                claim_id, TENANT, encounter.encounter_id, encounter.patient_id, control_number, None, "P1", number
            )
        )
    return ready


def batch(ready: list[ReadyClaim], settings: ClaimsSettings) -> None:
    kept = service._kept_claims(ready, settings)
    assert len(kept) == len(ready)  # as the batcher finds them: this process built them, nothing wrote them since
    by_tenant, held = service._by_tenant(ready, kept, {}, settings)
    assert not held
    now = dt.datetime.now(dt.UTC)
    batch_round = service._BatchRound(now, MemberDigest(b"bench-member-digest-key-32-bytes"))
    for tenant, items in by_tenant.items():
        batch_round.add(tenant, service._write(items, ControlNumbers(1, 1, 1), now, settings), items)
    for tenant, events in batch_round.events.items():
        for event in events:
            trace = event[2] if len(event) == 3 else None
            EventEnvelope.new(
                source="bench", subject=event[0], tenant=tenant, payload=event[1], trace_headers=dict(trace or {})
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    settings = ClaimsSettings()
    envelopes = consumed(arguments.claims)
    settle_heap()
    best_build = best_batch = float("inf")
    for _ in range(arguments.rounds):
        started = time.thread_time()
        ready = build(envelopes, settings)
        built = time.thread_time()
        batch(ready, settings)
        best_build = min(best_build, built - started)
        best_batch = min(best_batch, time.thread_time() - built)
    per = 1e6 / arguments.claims
    print(
        f"claims CPU per claim (cores: {os.cpu_count()}; load {os.getloadavg()[0]:.1f}): "
        f"build {best_build * per:.0f} us, "
        f"batch {best_batch * per:.0f} us, together {(best_build + best_batch) * per:.0f} us "
        f"(thread CPU, best of {arguments.rounds}, {arguments.claims:,} claims)"
    )


if __name__ == "__main__":
    main()
