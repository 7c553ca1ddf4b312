"""CPU per message of the consumer's envelope decode (`from_kafka`) over realistic records, in this process.

    .venv/bin/python bench/from_kafka.py [--records 20000] [--rounds 5] [--traced]

The records are `encounter-coded.v1` events as the relay writes them (ce_* headers in the SDK's order, the
payload as its JSON bytes, optionally a traceparent). Prints the best round's µs per record for `from_kafka`
alone and for `from_kafka` then `wire_payload()` (what the notifications feed does with every event).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope, from_kafka, to_kafka
from tests.support.pipeline import coded_encounter


def records(count: int, *, traced: bool) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    template = EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(uuid.uuid4())})
    built = []
    for _ in range(count):
        encounter_id = uuid.uuid4()
        payload = template.model_copy(update={"encounter_id": encounter_id, "external_encounter_id": encounter_id.hex})
        trace_headers = {"traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"} if traced else {}
        envelope = EventEnvelope.new(
            source="/claimflow/intake",
            subject=str(encounter_id),
            tenant="00000000-0000-4000-8000-000000000001",
            payload=payload,
            trace_headers=trace_headers,
        )
        built.append(to_kafka(envelope))
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--traced", action="store_true")
    args = parser.parse_args()
    batch = records(args.records, traced=args.traced)
    print(f"{len(batch)} records, value {len(batch[0][1])} bytes, {len(batch[0][2])} headers; load {os.getloadavg()}")
    for label, touch in (("from_kafka", False), ("from_kafka + wire_payload()", True)):
        best = float("inf")
        for _ in range(args.rounds):
            started = time.process_time()
            for key, value, headers in batch:
                envelope = from_kafka(key, value, headers)
                if touch:
                    envelope.wire_payload()
            best = min(best, time.process_time() - started)
        print(f"{label:32} {best / len(batch) * 1e6:6.2f} µs CPU per record (best of {args.rounds})")


if __name__ == "__main__":
    main()
