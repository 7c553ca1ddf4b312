"""Benchmark: parse a large synthetic 835 with our parser and with pyx12, on the same bytes, in one run.

Usage: .venv/bin/python bench/x12_835.py [--claims 20000] [--repeat 3] [--full-validation-claims N]

Builds one interchange in memory (not timed): 2,000 claims per transaction set (one check
each), 1-4 service lines per claim, claim- and line-level CAS, denials, reversals, remark
codes and PLB provider adjustments. The file is checked first (not timed): it balances, and a
small slice of the same generator validates clean in pyx12, so both parsers read valid input.

Timed, best of --repeat:
- ours: `parse_835` (bytes in: decoding, tokenizing, envelope checks, the full 835 model), the
  same plus `balance_report`, and `read_interchanges` alone (segments and envelope checks);
- pyx12 reader: iterating `pyx12.x12file.X12Reader` over the text (its tokenizer and envelope
  checks only, no 835 model: the cheapest thing pyx12 does to read a file);
- pyx12 full validation: `x12n_document` (the TR3 map walk, which is how pyx12 parses an 835
  into its loops), one run on the same file. It takes minutes at 20,000 claims; for a quick
  look, --full-validation-claims N runs it on an N-claim file from the same generator instead.

Whole process (what a user waits for), on the same file written to a temporary directory:
`claimflow x12 parse-835 FILE --json` and the table output (`claimflow x12 parse-835 FILE`), wall and CPU
seconds (the child's user + system time), against pyx12's full validation of the same file.

oxedi (Rust, on PyPI): `oxedi.parse` on the same bytes (its segment index, loop engine, SNIP 1-3 checks and
projected tables, not our 835 model, positioned warnings nor balancing), to show what a native parse engine
reaches on this machine.

CLI start: `claimflow --help` and `claimflow x12 parse-835 --help`, wall and CPU seconds of the whole process.

Prints claims/s for each, the ratios, os.cpu_count() and the load average (at the start and at the end).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import oxedi
import pyx12.params
import pyx12.x12file
import pyx12.x12n_document

from services.remittance.domain.balancing import balance_report
from services.remittance.domain.x12_835 import parse_835
from shared.x12 import format_cents, read_interchanges
from shared.x12.pyx12_validation import validate_with_pyx12

CLAIMS_PER_TRANSACTION = 2000
PROCEDURES = ["99213", "99214", "93000", "85025", "80053", "71046", "97110", "36415", "G0439", "J1885"]
CHARGES = [12500, 18075, 4500, 2630, 3899, 14200, 6550, 1500, 22000, 950]


def build_835(claims: int) -> str:
    """A valid 005010X221A1 interchange with `claims` claims (synthetic parties and amounts)."""
    segments: list[str] = [
        "ISA*00*          *00*          *ZZ*BENCHPAYER     *ZZ*BENCHPROV      *260101*1200*^*00501*000000777*0*T*:",
        "GS*HP*BENCHPAYER*BENCHPROV*20260101*1200*777*X*005010X221A1",
    ]
    transactions = 0
    for first in range(0, claims, CLAIMS_PER_TRANSACTION):
        transactions += 1
        segments += _transaction(transactions, first, min(claims, first + CLAIMS_PER_TRANSACTION))
    segments += [f"GE*{transactions}*777", "IEA*1*000000777"]
    return "~\n".join(segments) + "~\n"


def _transaction(number: int, first: int, end: int) -> list[str]:
    body: list[str] = []
    paid_total = 0
    for index in range(first, end):
        if index % 500 == 0:
            body.append(f"LX*{index // 500 + 1}")
        claim, paid = _claim(index)
        body += claim
        paid_total += paid
    plb_amount = -((number * 137) % 5000) - 100  # negative: money added to the payment
    body.append(f"PLB*1234567893*20261231*L6:INT{number}*{format_cents(plb_amount)}*WO:REC{number}*1.00")
    plb_total = plb_amount + 100
    header = [
        f"BPR*I*{format_cents(paid_total - plb_total)}*C*ACH*CCP*01*999999999*DA*123456*1999999999**"
        "01*888888888*DA*654321*20260105",
        f"TRN*1*BENCH{number:06d}*1999999999",
        "REF*EV*BENCHRECEIVER",
        "DTM*405*20260102",
        "N1*PR*BENCH HEALTH PLAN",
        "N3*1 TEST WAY",
        "N4*TESTVILLE*CA*90000",
        "PER*BL*EDI DESK*TE*5550000000",
        "N1*PE*BENCH CLINIC*XX*1234567893",
    ]
    control = f"{number:04d}"
    return [f"ST*835*{control}", *header, *body, f"SE*{len(header) + len(body) + 2}*{control}"]


def _claim(index: int) -> tuple[list[str], int]:
    kind = index % 20
    line_count = 1 + index % 4
    lines: list[str] = []
    charge_total = paid_total = line_patient = 0
    for line_number in range(line_count):
        code = (index + line_number) % len(PROCEDURES)
        charge = CHARGES[code] * (1 + line_number % 2) + index % 97  # varied cents, as in real remits
        if kind == 7:  # denied
            paid, adjustments = 0, [("CO", "16", charge)]
        else:
            allowed = charge * 80 // 100
            patient = allowed // 5 if index % 3 == 0 else 0
            paid = allowed - patient
            adjustments = [("CO", "45", charge - allowed)]
            if patient:
                adjustments.append(("PR", "2", patient))
                line_patient += patient
        if kind == 13:  # reversal of an earlier payment
            charge, paid = -charge, -paid
            adjustments = [(group, reason, -amount) for group, reason, amount in adjustments]
        charge_total += charge
        paid_total += paid
        modifier = ":25" if line_number == 1 else ""
        lines.append(f"SVC*HC:{PROCEDURES[code]}{modifier}*{format_cents(charge)}*{format_cents(paid)}**1")
        lines.append("DTM*472*20251201")
        for group, reason, amount in adjustments:
            lines.append(f"CAS*{group}*{reason}*{format_cents(amount)}")
        lines.append(f"REF*6R*L{index}-{line_number + 1}")
        if paid:
            lines.append(f"AMT*B6*{format_cents(paid + sum(a for g, _, a in adjustments if g == 'PR'))}")
        if kind == 7:
            lines.append("LQ*HE*N130")
    status = "4" if kind == 7 else ("22" if kind == 13 else "1")
    if kind == 13:
        line_patient = -line_patient
    clp = (
        f"CLP*BENCH-{index:07d}*{status}*{format_cents(charge_total)}*{format_cents(paid_total)}*"
        f"{format_cents(line_patient) if line_patient else ''}*12*PCN{index:09d}*11*{'7' if kind == 13 else '1'}"
    )
    claim = [
        clp,
        f"NM1*QC*1*SYNTHETIC*PATIENT{index % 997}****MI*SYN{index:09d}",
        "NM1*82*1*SYNTHETIC*DOCTOR****XX*1234567893",
        "DTM*232*20251201",
        *lines,
    ]
    return claim, paid_total


def best_of(repeat: int, action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def whole_process(arguments: list[str], repeat: int) -> tuple[float, float]:
    """Best wall and CPU seconds (user + system of the child) of running `claimflow ARGUMENTS`, output discarded."""
    claimflow = str(Path(sys.executable).with_name("claimflow"))
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([claimflow, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return best_wall, best_cpu


def pyx12_read(text: str) -> int:
    count = 0
    for _ in pyx12.x12file.X12Reader(io.StringIO(text)):
        count += 1
    return count


def pyx12_validate(text: str) -> bool:
    return bool(pyx12.x12n_document.x12n_document(pyx12.params.ParamsBase(), io.StringIO(text), None, None, None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full-validation-claims", type=int, default=None)
    args = parser.parse_args()
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)

    text = build_835(args.claims)
    data = text.encode()
    advices = parse_835(data)
    assert sum(len(advice.claims) for advice in advices) == args.claims
    assert balance_report(advices) == [], "the synthetic file must balance"
    assert validate_with_pyx12(build_835(60)) == (), "the generator must write what pyx12 accepts"
    size = f"{text.count('~')} segments, {len(data) / 1e6:.1f} MB"
    print(f"synthetic 835: {args.claims} claims in {len(advices)} transaction sets, {size}")
    print(
        f"machine: {platform.python_implementation()} {platform.python_version()}, os.cpu_count() = {os.cpu_count()}, "
        f"load average at the start {os.getloadavg()[0]:.2f}"
    )

    ours = args.claims / best_of(args.repeat, lambda: parse_835(data))
    ours_reader = args.claims / best_of(args.repeat, lambda: read_interchanges(data))
    ours_balanced = args.claims / best_of(args.repeat, lambda: balance_report(parse_835(data)))
    native = args.claims / best_of(args.repeat, lambda: oxedi.parse(data))
    reader = args.claims / best_of(args.repeat, lambda: pyx12_read(text))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.835"
        path.write_bytes(data)
        json_wall, json_cpu = whole_process(["x12", "parse-835", str(path), "--json"], args.repeat)
        table_wall, table_cpu = whole_process(["x12", "parse-835", str(path)], args.repeat)
    help_wall, help_cpu = whole_process(["--help"], args.repeat)
    command_help_wall, command_help_cpu = whole_process(["x12", "parse-835", "--help"], args.repeat)
    validation_claims = min(args.full_validation_claims or args.claims, args.claims)
    validation_text = text if validation_claims == args.claims else build_835(validation_claims)
    started, cpu_started = time.perf_counter(), time.process_time()
    assert pyx12_validate(validation_text), "pyx12 must validate the file clean"
    validation_wall = time.perf_counter() - started
    validation_cpu = time.process_time() - cpu_started
    validation = validation_claims / validation_wall
    # pyx12's time for the whole file (scaled from the smaller file when --full-validation-claims is given)
    pyx12_wall = validation_wall * args.claims / validation_claims
    pyx12_cpu = validation_cpu * args.claims / validation_claims

    same_file = "same file" if validation_claims == args.claims else f"{validation_claims}-claim file"
    rows = [
        ("ours: parse_835 (bytes -> 835 model)", ours),
        ("ours: parse_835 + balance_report", ours_balanced),
        ("ours: read_interchanges (segments + envelope checks only)", ours_reader),
        ("oxedi: parse (native segment index, loops, SNIP checks, tables)", native),
        ("ours: claimflow x12 parse-835 --json, whole process (wall)", args.claims / json_wall),
        ("ours: claimflow x12 parse-835 (table), whole process (wall)", args.claims / table_wall),
        ("pyx12: X12Reader (segments + envelope checks only)", reader),
        (f"pyx12: x12n_document full validation, 1 run, {same_file}", validation),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"claims per second, best of {args.repeat} (load average now {os.getloadavg()[0]:.2f}):")
    for name, rate in rows:
        print(f"  {name:<{width}}  {rate:>10,.0f}")
    print(
        f"whole process, {args.claims} claims: --json {json_wall:.2f} s wall / {json_cpu:.2f} s CPU; "
        f"table {table_wall:.2f} s wall / {table_cpu:.2f} s CPU; pyx12 validation {pyx12_wall:.1f} s wall / "
        f"{pyx12_cpu:.1f} s CPU"
    )
    print(
        f"ratio parse-835 --json whole process / pyx12 full validation: {pyx12_wall / json_wall:6.1f}x wall, "
        f"{pyx12_cpu / json_cpu:6.1f}x CPU  (target >= 20x, goal 100x)"
    )
    print(f"ratio table output / --json:        {table_cpu / json_cpu:6.2f}x CPU  (target: as fast, <= 1x)")
    print(
        f"CLI start: claimflow --help {help_wall:.2f} s wall / {help_cpu:.2f} s CPU (target < 0.5 s); "
        f"claimflow x12 parse-835 --help {command_help_wall:.2f} s wall / {command_help_cpu:.2f} s CPU"
    )
    print(f"ratio ours / pyx12 full validation: {ours / validation:6.1f}x  (parse_835 in process)")
    print(f"ratio oxedi / ours parse_835:       {native / ours:6.1f}x  (a native engine's headroom)")
    print(f"ratio ours / pyx12 X12Reader:       {ours / reader:6.1f}x  (X12Reader builds no 835 loops)")
    print(f"ratio reader to reader:             {ours_reader / reader:6.1f}x  (read_interchanges / X12Reader)")


if __name__ == "__main__":
    main()
