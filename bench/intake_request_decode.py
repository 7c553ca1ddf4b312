"""intake's request body, decoded and validated: the pydantic model (`EncounterBatchIn.model_validate_json`) against
its msgspec mirror (`services/intake/request_wire.py`: decode and the Python rules; the service reads the mirror
itself, the models built from it are shown for comparison), and what the request guard's JSON check
(`shared.http_guard.json_problem`, skipped for a body the mirror decoded) and writing the encounter's `coding` JSON
cost, on the batch `bench/intake_to_submitted.py` posts. No servers: CPU microseconds per encounter, in one process.

    .venv/bin/python bench/intake_request_decode.py [--encounters 1000] [--rounds 7]

Each figure is the best of `--rounds` (process CPU time), beside the load average and the core count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.intake_to_submitted import encounter
from services.intake import request_wire
from services.intake.repository import ENCOUNTER_PHI, encounter_coding_json
from services.intake.schemas import EncounterBatchIn
from shared.http_guard import json_problem


def best_cpu(run: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encounters", type=int, default=1000, help="Encounters in the batch (at most 1,000).")
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    visits = [encounter(f"DECODE-{i:07d}", f"MRN-{i % 40:05d}", "2026-11-02") for i in range(arguments.encounters)]
    body = json.dumps({"encounters": visits}).encode()
    built = request_wire.encounter_batch(body)
    model = EncounterBatchIn.model_validate_json(body)
    if built is None or built != model:
        raise SystemExit("the mirror did not build the model's batch")
    mirror = request_wire.mirrored_batch(body)
    assert mirror is not None
    n = arguments.encounters
    print(
        f"intake request decode: a batch of {n:,} encounters, {len(body) / n:,.0f} bytes each; cores: {os.cpu_count()}"
    )
    print(f"  load average before {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    rounds = arguments.rounds
    figures = {
        "pydantic model_validate_json": best_cpu(lambda: EncounterBatchIn.model_validate_json(body), rounds),
        "msgspec mirror + models built": best_cpu(lambda: request_wire.encounter_batch(body), rounds),
        "msgspec mirror (what intake reads)": best_cpu(lambda: request_wire.mirrored_batch(body), rounds),
        "  decode only": best_cpu(lambda: request_wire.BATCH_DECODER.decode(body), rounds),
        "guard's JSON check (json_problem)": best_cpu(lambda: json_problem(body), rounds),
        "coding JSON from the models": best_cpu(
            lambda: [e.model_dump_json(exclude=ENCOUNTER_PHI) for e in model.encounters], rounds
        ),
        "coding JSON from the mirrors": best_cpu(lambda: [encounter_coding_json(e) for e in mirror.encounters], rounds),
    }
    for name, seconds in figures.items():
        print(f"  {name:36s} {seconds * 1e6 / n:7.1f} us per encounter")
    print(f"  load average after {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
