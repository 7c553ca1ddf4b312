"""Benchmark: patient statements rendered per second, as plain text (Jinja2) and as PDF (ReportLab).

Usage: .venv/bin/python bench/statements.py [--statements 2000] [--repeat 3]

Builds synthetic patient ledgers first (not timed): 1-6 visits each, coinsurance left to the patient,
a third with a payment received. Then times, separately and best of ``--repeat``: the statement
decision (`next_statement`: settle, dunning stage), the text rendering, the one-statement PDF and a
print batch (every statement in one PDF). No servers; a single process. Prints the machine's core
count and load: the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import time
import uuid
from collections.abc import Callable

from services.notifications.domain.statements import (
    Adjudication,
    ClaimCharge,
    PatientLedger,
    PatientPayment,
    StatementDraft,
    StatementPolicy,
    Visit,
    next_statement,
)
from services.notifications.statement_documents import (
    Issuer,
    Recipient,
    StatementDocument,
    document_of,
    render_pdf,
    render_text,
)

CPT = ("99213", "99214", "99203", "81002", "85025", "80053", "93000", "71046", "36415", "90471")
AS_OF = dt.date(2026, 12, 1)
ISSUER = Issuer("SYNTHETIC CLINIC", "555-0100", "Financial assistance is available to eligible patients.")


def build_ledgers(count: int, rng: random.Random) -> list[PatientLedger]:
    ledgers = []
    for _ in range(count):
        visits, claims, adjudications = [], [], []
        for _ in range(rng.randint(1, 6)):
            encounter_id, claim_id = uuid.uuid4(), uuid.uuid4()
            day = AS_OF - dt.timedelta(days=rng.randint(20, 200))
            charge = rng.randint(5_000, 250_000)
            paid = charge * rng.randint(50, 80) // 100
            owes = (charge - paid) * rng.randint(10, 60) // 100
            visits.append(Visit(encounter_id, day, False))
            claims.append(
                ClaimCharge(
                    claim_id, encounter_id, f"CLM{rng.randrange(10**9):09d}", charge, "USD",
                    tuple(rng.sample(CPT, rng.randint(1, 3))),
                    dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(days=1),
                )
            )  # fmt: skip
            adjudications.append(
                Adjudication(uuid.uuid4(), claim_id, charge, paid, owes, "patient", day + dt.timedelta(days=14))
            )
        payments: tuple[PatientPayment, ...] = ()
        if rng.random() < 0.33:
            payments = (PatientPayment(uuid.uuid4(), rng.randint(100, 2_000), AS_OF - dt.timedelta(days=5)),)
        ledgers.append(
            PatientLedger(
                uuid.uuid4(),
                visits=tuple(visits),
                claims=tuple(claims),
                adjudications=tuple(adjudications),
                payments=payments,
            )
        )
    return ledgers


def best_of(repeat: int, work: Callable[[], object]) -> tuple[float, float]:
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(8)
    policy = StatementPolicy()

    started = time.perf_counter()
    ledgers = build_ledgers(args.statements, rng)
    print(f"built {len(ledgers):,} synthetic patient ledgers in {time.perf_counter() - started:.1f}s (not timed)")

    drafts: list[StatementDraft] = []

    def decide() -> None:
        drafts.clear()
        drafts.extend(d for ledger in ledgers if (d := next_statement(ledger, AS_OF, policy)) is not None)

    load_before = os.getloadavg()[0]
    decide_wall, decide_cpu = best_of(args.repeat, decide)
    documents: list[StatementDocument] = [
        document_of(
            draft,
            number=f"ST-202612-{index:08d}",
            recipient=Recipient("SAM DOE", ("1 SYNTHETIC WAY", "SPRINGFIELD, IL 62701")),
            issuer=ISSUER,
        )
        for index, draft in enumerate(drafts, start=1)
    ]
    n = len(documents)
    lines = sum(len(d.lines) for d in documents)
    text_wall, text_cpu = best_of(args.repeat, lambda: [render_text(d) for d in documents])
    pdf_wall, pdf_cpu = best_of(args.repeat, lambda: [render_pdf([d], title=d.number) for d in documents])
    pdf_bytes = sum(len(render_pdf([d], title=d.number)) for d in documents[:100]) / min(n, 100)
    batch_wall, batch_cpu = best_of(args.repeat, lambda: render_pdf(documents, title="print batch"))

    print(f"statements: {n:,} ({lines:,} visit lines, {lines / n:.1f} per statement); best of {args.repeat}")
    for label, wall, cpu in (
        ("decide (settle + dunning stage)", decide_wall, decide_cpu),
        ("plain text (Jinja2)", text_wall, text_cpu),
        ("PDF, one per statement (ReportLab)", pdf_wall, pdf_cpu),
        ("PDF print batch, all in one file", batch_wall, batch_cpu),
    ):
        print(f"  {label:<36} {n / wall:>9,.0f} statements/s wall  {n / cpu:>9,.0f}/s CPU  ({wall:.2f}s)")
    print(f"  average single-statement PDF: {pdf_bytes / 1024:.1f} KiB")
    print(
        f"machine: os.cpu_count()={os.cpu_count()}  load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}  "
        f"python {platform.python_version()}  (single process; no peer figure)"
    )


if __name__ == "__main__":
    main()
