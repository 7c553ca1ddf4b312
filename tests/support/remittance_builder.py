"""Build synthetic 835 files for given claims (invented payer, provider and patients only)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LineSpec:
    procedure: str
    charge_cents: int
    paid_cents: int
    adjustments: tuple[tuple[str, str, int], ...] = ()
    """(group, CARC, cents); they must add up to charge - paid."""
    control_number: str | None = None
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClaimSpec:
    control_number: str
    lines: tuple[LineSpec, ...]
    status: str = "1"
    payer_claim_number: str = ""
    claim_adjustments: tuple[tuple[str, str, int], ...] = field(default=())
    member_id: str = ""
    """The patient's member id in NM1*QC (synthetic), when the payer names it."""

    @property
    def charge_cents(self) -> int:
        return sum(line.charge_cents for line in self.lines)

    @property
    def paid_cents(self) -> int:
        return sum(line.paid_cents for line in self.lines)


def amount(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def remittance_file(
    claims: list[ClaimSpec],
    *,
    trace: str = "SYNTRACE1",
    interchange_control: str = "000000901",
    provider_adjustments: tuple[tuple[str, int], ...] = (),
) -> str:
    """One interchange, one 835 paying `claims` (BPR02 = payments - PLB), with correct counts."""
    body: list[str] = []
    for claim in claims:
        body.append(
            f"CLP*{claim.control_number}*{claim.status}*{amount(claim.charge_cents)}*{amount(claim.paid_cents)}"
            f"**12*{claim.payer_claim_number or 'P' + claim.control_number}"
        )
        body += [f"CAS*{g}*{c}*{amount(a)}" for g, c, a in claim.claim_adjustments]
        if claim.member_id:
            body.append(f"NM1*QC*1*SYNTHETIC*PATIENT****MI*{claim.member_id}")
        for line in claim.lines:
            procedure = ":".join(("HC", line.procedure, *line.modifiers))
            body.append(f"SVC*{procedure}*{amount(line.charge_cents)}*{amount(line.paid_cents)}**1")
            body += [f"CAS*{g}*{c}*{amount(a)}" for g, c, a in line.adjustments]
            if line.control_number:
                body.append(f"REF*6R*{line.control_number}")
    plb_total = sum(cents for _, cents in provider_adjustments)
    total = sum(claim.paid_cents for claim in claims) - plb_total
    head = [
        f"BPR*I*{amount(total)}*C*ACH*CCP*01*999999999*DA*123456*1999999999**01*888888888*DA*654321*20260105",
        f"TRN*1*{trace}*1999999999",
        "DTM*405*20260102",
        "N1*PR*SYNTHETIC HEALTH PLAN",
        "N1*PE*SYNTHETIC CLINIC*XX*1234567893",
        "LX*1",
    ]
    tail = []
    if provider_adjustments:
        pairs = "*".join(f"{reason}*{amount(cents)}" for reason, cents in provider_adjustments)
        tail.append(f"PLB*1234567893*20261231*{pairs}")
    transaction = ["ST*835*0001", *head, *body, *tail]
    transaction.append(f"SE*{len(transaction) + 1}*0001")
    segments = [
        "ISA*00*          *00*          *ZZ*SYNTHPAYER     *ZZ*SYNTHPROV      *260101*1200*^*00501*"
        f"{interchange_control}*0*T*:",
        "GS*HP*SYNTHPAYER*SYNTHPROV*20260101*1200*901*X*005010X221A1",
        *transaction,
        "GE*1*901",
        f"IEA*1*{interchange_control}",
    ]
    return "~\n".join(segments) + "~\n"


def paid_claim(control_number: str, *, charge_cents: int = 15500, coinsurance_cents: int = 2000) -> ClaimSpec:
    """Two lines: an office visit paid less contractual and coinsurance, a lab test paid in full."""
    visit_charge, lab_charge = charge_cents - 3000, 3000
    visit_paid = visit_charge - 1500 - coinsurance_cents
    return ClaimSpec(
        control_number,
        (
            LineSpec(
                "99213",
                visit_charge,
                visit_paid,
                (("CO", "45", 1500), ("PR", "2", coinsurance_cents)),
                f"{control_number}-1",
            ),
            LineSpec("87880", lab_charge, lab_charge, (), f"{control_number}-2", ("QW",)),
        ),
    )
