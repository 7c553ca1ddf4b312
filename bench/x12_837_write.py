"""Benchmark: write synthetic claims into X12 837 files in memory.

Usage: .venv/bin/python bench/x12_837_write.py [--claims 100000] [--repeat 3]

Builds a realistic mix first (not timed): 40 billing providers, 6 payers, one
subscriber per two claims, 2-4 lines per claim; 15% dependents, 15% institutional,
10% secondary claims carrying the primary's line-level adjudication, 5% corrections,
5% drug lines with an NDC. Then times ``write_batches`` (validation included), which
writes one interchange per payer. Prints the best of ``--repeat`` runs with the
machine's core count. There is no peer figure: pyx12 validates 837s but does not write them.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from datetime import date, datetime, timedelta

from services.claims.domain.claim import (
    Address,
    Adjustment,
    AdjustmentGroup,
    Admission,
    BillingProvider,
    Claim,
    ClaimFilingIndicator,
    ClaimFrequency,
    DrugIdentification,
    DrugUnit,
    InstitutionalDetails,
    LineAdjudication,
    OtherPayer,
    Patient,
    Payer,
    PayerResponsibility,
    Provider,
    Receiver,
    Relationship,
    ServiceLine,
    Sex,
    Submitter,
    Subscriber,
    TaxIdQualifier,
)
from services.claims.domain.claim_checks import npi_is_valid
from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.x12_837 import write_batches

CPT = ("99213", "99214", "99203", "81002", "85025", "80053", "93000", "71046", "36415", "90471")
ICD = ("E11.9", "I10", "J06.9", "M54.50", "R07.9", "Z00.00", "K21.9", "F41.1", "N39.0", "E78.5")
REVENUE = ("0120", "0250", "0300", "0320", "0450", "0636", "0730")


def _npi(rng: random.Random) -> str:
    while True:
        stem = f"1{rng.randrange(10**8):08d}"
        for check in "0123456789":
            if npi_is_valid(stem + check):
                return stem + check


def _address(rng: random.Random, nine: bool = False) -> Address:
    zip_code = f"{rng.randrange(10000, 99999)}{rng.randrange(10000):04d}" if nine else f"{rng.randrange(10000, 99999)}"
    return Address(f"{rng.randrange(1, 9999)} OAK ST", "SPRINGFIELD", rng.choice(("IL", "MO", "IN", "WI")), zip_code)


def build_claims(count: int, seed: int = 837) -> list[Claim]:
    rng = random.Random(seed)
    submitter = Submitter("CLAIMFLOW BILLING", "CLAIMFLOW01", "EDI DESK", "5555550100")
    receiver = Receiver("SANDBOX CLEARINGHOUSE", "SANDBOXCH")
    clinics = [
        BillingProvider(
            npi=_npi(rng),
            name=f"CLINIC {i}",
            taxonomy="207Q00000X",
            tax_id=f"{rng.randrange(10**9):09d}",
            tax_id_qualifier=TaxIdQualifier.EIN,
            address=_address(rng, nine=True),
        )
        for i in range(40)
    ]
    payers = [
        Payer(f"PAYER {i}", f"PAYER{i:02d}", rng.choice(list(ClaimFilingIndicator)[:12]), _address(rng))
        for i in range(6)
    ]
    clinicians = [Provider(_npi(rng), f"DOC{i}", "PAT", taxonomy="207Q00000X") for i in range(200)]
    base_day = date(2025, 1, 1)
    claims: list[Claim] = []
    subscriber = patient = None
    for n in range(count):
        if n % 2 == 0:
            subscriber = Subscriber(
                member_id=f"M{n:011d}",
                last_name=f"SUB{n}",
                first_name="ALEX",
                birth_date=date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
                sex=Sex.FEMALE if n % 3 else Sex.MALE,
                address=_address(rng),
                group_number=f"G{n % 500}",
            )
            patient = Patient(
                f"SUB{n}", "KID", date(2012, 1 + n % 12, 1 + n % 28), Sex.MALE, subscriber.address, Relationship.CHILD
            )
        day = base_day + timedelta(days=n % 60)
        payer = payers[n % len(payers)]
        roll = rng.random()
        institutional = roll < 0.15
        diagnoses = tuple(rng.sample(ICD, rng.randint(1, 4)))
        lines = []
        for _ in range(rng.randint(2, 4)):
            charge = rng.randrange(1500, 40000)
            if institutional:
                lines.append(
                    ServiceLine(
                        charge,
                        rng.randint(1, 3),
                        procedure_code=rng.choice(CPT),
                        revenue_code=rng.choice(REVENUE),
                        service_date=day,
                    )
                )
            else:
                pointers = tuple(range(1, min(len(diagnoses), 4) + 1))
                lines.append(
                    ServiceLine(
                        charge,
                        1,
                        procedure_code=rng.choice(CPT),
                        diagnosis_pointers=pointers,
                        service_date=day,
                        control_number=f"L{n}-{len(lines)}",
                    )
                )
        if not institutional and rng.random() < 0.05:
            lines.append(
                ServiceLine(
                    5337,
                    1,
                    procedure_code="J1100",
                    diagnosis_pointers=(1,),
                    service_date=day,
                    drug=DrugIdentification("00009047301", 1, DrugUnit.MILLILITER),
                )
            )
        total = sum(line.charge_cents for line in lines)
        fields: dict = {
            "control_number": f"PCN{n:09d}",
            "submitter": submitter,
            "receiver": receiver,
            "billing_provider": clinics[n % len(clinics)],
            "subscriber": subscriber,
            "payer": payer,
            "total_charge_cents": total,
            "diagnoses": diagnoses,
            "lines": tuple(lines),
            "rendering_provider": clinicians[n % len(clinicians)],
        }
        if rng.random() < 0.15:
            fields["patient"] = patient
        if institutional:
            fields["rendering_provider"] = None
            fields["institutional"] = InstitutionalDetails(
                facility_type_code="11" if roll < 0.05 else "13",
                statement_from=day,
                statement_to=day,
                patient_status_code="01",
                attending=clinicians[n % len(clinicians)],
                admission=Admission(day, "1", "7") if roll < 0.05 else None,
            )
        elif 0.15 <= roll < 0.25:
            primary = payers[(n + 1) % len(payers)]
            adjudications = []
            paid_total = 0
            for number, line in enumerate(lines, 1):
                contractual = line.charge_cents // 4
                coinsurance = line.charge_cents // 10
                paid = line.charge_cents - contractual - coinsurance
                paid_total += paid
                adjudications.append(
                    LineAdjudication(
                        number,
                        paid,
                        day + timedelta(days=20),
                        1,
                        adjustments=(
                            Adjustment(AdjustmentGroup.CONTRACTUAL_OBLIGATION, "45", contractual),
                            Adjustment(AdjustmentGroup.PATIENT_RESPONSIBILITY, "2", coinsurance),
                        ),
                    )
                )
            relationship = Relationship.SELF if "patient" not in fields else Relationship.CHILD
            fields["payer_responsibility"] = PayerResponsibility.SECONDARY
            fields["other_payers"] = (
                OtherPayer(
                    primary,
                    PayerResponsibility.PRIMARY,
                    subscriber,
                    relationship,
                    paid_total,
                    day + timedelta(days=20),
                    line_adjudications=tuple(adjudications),
                ),
            )
        elif 0.25 <= roll < 0.30:
            fields["frequency"] = ClaimFrequency.REPLACEMENT
            fields["original_claim_number"] = f"ICN{n:012d}"
        claims.append(Claim(**fields))
    return claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    claims = build_claims(args.claims)
    print(f"built {len(claims):,} synthetic claims in {time.perf_counter() - started:.1f}s (not timed)")

    load_before = os.getloadavg()[0]
    best_wall = best_cpu = float("inf")
    batch = None
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        batch = write_batches(claims, ControlNumbers(1, 1, 1), datetime(2025, 3, 14, 9, 30))
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    assert batch is not None
    written = sum(i.claim_count for i in batch.interchanges)
    size = sum(len(i.text) for i in batch.interchanges)
    segments = sum(i.text.count("~") for i in batch.interchanges)
    assert written == len(claims)
    transaction_sets = sum(len(i.transactions) for i in batch.interchanges)
    print(f"interchanges: {len(batch.interchanges)}  transaction sets: {transaction_sets}")
    print(f"output: {size / 1e6:.1f} MB, {segments:,} segments")
    print(
        f"837 write (validation included): {written / best_wall:,.0f} claims/s wall-clock "
        f"({segments / best_wall:,.0f} segments/s), best of {args.repeat}: {best_wall:.2f}s for {written:,} claims; "
        f"target >= 20,000 claims/s"
    )
    print(f"  CPU time of this process: {written / best_cpu:,.0f} claims/s (less sensitive to other load)")
    print(
        f"machine: os.cpu_count()={os.cpu_count()}  load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}  "
        f"python {platform.python_version()}  (single process)"
    )


if __name__ == "__main__":
    main()
