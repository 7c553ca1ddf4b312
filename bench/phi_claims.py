"""Benchmark: what PHI at rest adds to a claim on the claims service's hot path, in memory (no database).

Usage: .venv/bin/python bench/phi_claims.py [--claims 20000] [--repeat 3]

Per claim, as the repository does it: on insert, the document's PHI members split out (every field
EncounterCodedV1 marks x-phi), dumped and sealed with the tenant's cached AES-GCM key; when the 837 batcher
takes READY claims, the sealed part opened and appended to the document's JSON text (never parsed there). For
scale, the same documents parsed by pydantic from JSON text, which the batcher does once per claim anyway.
Prints the best of `--repeat` runs: wall and CPU time per claim, load average before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.events.catalog import EncounterCodedV1
from shared.phi.crypto import Binding, TenantKeys
from shared.phi.fields import marked_paths, merged_text, split
from tests.support.encounters import EXAMPLES, example


def best(run: Callable[[], None], repeat: int) -> tuple[float, float]:
    wall = cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        wall, cpu = min(wall, time.perf_counter() - started), min(cpu, time.process_time() - started_cpu)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = sorted(path.stem for path in EXAMPLES.glob("*.json"))
    documents = [example(names[n % len(names)]).model_dump(mode="json") for n in range(args.claims)]
    ids = [str(uuid.uuid4()) for _ in documents]
    keys = TenantKeys("bench", 1, {1: AESGCM(AESGCM.generate_key(bit_length=256))}, os.urandom(32))
    paths = marked_paths(EncounterCodedV1)
    stored: list[tuple[dict[str, object], bytes]] = []

    def seal() -> None:  # the plain part is written as the whole document was before: not timed
        stored.clear()
        for claim_id, document in zip(ids, documents, strict=True):
            plain, taken = split(document, paths)
            stored.append((plain, keys.seal(orjson.dumps(taken), Binding("bench", "claims", "phi", claim_id))))

    texts: list[str] = []

    def open_all() -> None:
        texts.clear()
        for claim_id, (plain, sealed) in zip(ids, read, strict=True):
            texts.append(merged_text(plain, keys.open(sealed, Binding("bench", "claims", "phi", claim_id))))

    def parse() -> None:
        for text in texts:
            EncounterCodedV1.model_validate_json(text)

    load_before = os.getloadavg()[0]
    sealing = best(seal, args.repeat)
    read = [(orjson.dumps(plain).decode(), sealed) for plain, sealed in stored]  # as Postgres hands the text back
    opening = best(open_all, args.repeat)
    parsing = best(parse, args.repeat)
    assert EncounterCodedV1.model_validate_json(texts[0]).model_dump(mode="json") == documents[0]
    size = sum(len(sealed) for _, sealed in stored) / len(stored)
    print(f"{args.claims:,} claims of {len(names)} example shapes; sealed part {size:,.0f} bytes a claim on average")
    for label, (wall, cpu) in (
        ("seal on insert (split + dump + AES-GCM)", sealing),
        ("open for the 837 batcher (AES-GCM + splice)", opening),
        ("for scale: pydantic parse of the document", parsing),
    ):
        print(f"  {label:<46} {wall / args.claims * 1e6:6.1f} us wall  {cpu / args.claims * 1e6:6.1f} us CPU a claim")
    print(
        f"machine: os.cpu_count()={os.cpu_count()}  load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}  "
        f"python {platform.python_version()}  (single process)"
    )


if __name__ == "__main__":
    main()
