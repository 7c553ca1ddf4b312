"""How fast the shared code sets answer, and how fast a publisher's file loads.

    .venv/bin/python bench/codesets.py [--codes 200000]

Prints, with the machine's core count: the packaged ICD-10-CM list read (once per process), checks
per second of `validate_icd10cm` / `validate_procedure` / `validate_modifier` (what intake and the
scrubber call per code), and the read + store of a synthetic ICD-10-CM order file of 75,000 codes
(the size of a real release) and its read back.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared import codesets
from shared.codesets.loaders import read_icd10
from shared.codesets.releases import CodeSetName
from shared.codesets.store import packaged_icd10cm, read_release, write_release

DAY = dt.date(2026, 5, 1)


def _rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<48} {count / seconds:>12,.0f}/s  ({count:,} in {seconds:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=int, default=200_000)
    count = parser.parse_args().codes
    print(f"cores: {os.cpu_count()}")
    codesets.use_directory(None)
    started = time.perf_counter()
    release = packaged_icd10cm()
    assert release is not None
    print(f"packaged ICD-10-CM read: {len(release.codes):,} codes in {time.perf_counter() - started:.2f} s")
    codesets.icd10cm_release(DAY)  # the process's one read

    diagnoses = random.Random(1).choices(sorted(release.billable), k=count)
    started = time.perf_counter()
    assert all(codesets.validate_icd10cm(code, DAY) is None for code in diagnoses)
    _rate("validate_icd10cm (billable codes)", count, time.perf_counter() - started)
    procedures = random.Random(2).choices(["99213", "0001M", "J3420", "G0008", "87880"], k=count)
    started = time.perf_counter()
    assert all(codesets.validate_procedure(code, DAY) is None for code in procedures)
    _rate("validate_procedure (no HCPCS file loaded)", count, time.perf_counter() - started)
    started = time.perf_counter()
    assert all(codesets.validate_modifier(code, DAY) is None for code in ("25", "LT", "QW", "59") * (count // 4))
    _rate("validate_modifier", count, time.perf_counter() - started)

    codes = sorted(release.codes)[:75_000]
    lines = [
        f"{n:05d} {code:<7} {int(code in release.billable)} {'SYNTHETIC':<60} SYNTHETIC {code}"
        for n, code in enumerate(codes)
    ]
    text = "\n".join(lines)
    started = time.perf_counter()
    loaded = read_icd10(CodeSetName.ICD10CM, "icd10cm-order-2027.txt", text, "FY2027", dt.date(2026, 10, 1))
    parsed = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        path = write_release(Path(directory), loaded)
        stored = time.perf_counter() - started
        started = time.perf_counter()
        read_release(path)
        back = time.perf_counter() - started
    print(f"order file of {len(codes):,} codes: read {parsed:.2f} s, stored {stored:.2f} s, read back {back:.2f} s")


if __name__ == "__main__":
    main()
