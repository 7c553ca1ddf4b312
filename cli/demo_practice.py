"""A synthetic practice's month, drawn from a seed: payers, providers, patients, coverages, encounters.

Everything is made up (no real person, payer or identifier) and reproducible: the same seed, size
and end date give the same documents byte for byte, and the external ids are derived from the seed,
so sending them again creates nothing new in intake.

The mix is chosen against the sandbox payer's rules (`DEMO_SANDBOX_RULES`): visits are paid at the
contracted rate, with a copay, coinsurance or deductible for the patient depending on the procedure
(patients with a secondary coverage get a secondary claim for it); about 11.5% are brain MRIs
sent without a prior authorization, which the payer denies (CO-197); venipuncture billed beside a
lab panel is denied as bundled (CO-97) on its line; a few patients carry a malformed member id the
clearinghouse rejects (277CA A7:164), and a few encounters carry a male-only diagnosis on a female
patient, which the scrubber holds. Patients are drawn at random, so now and then one has the same
visit twice on a day: the scrubber holds the second as a duplicate, as it should.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from shared.npi import NPI_PREFIX, luhn_check_digit

DENIED_WITHOUT_AUTHORIZATION_SHARE = 0.115
"""Initial denial rates run about 10-12% of claims (PRODUCT.md field notes): MRIs without prior auth."""
MRI_WITH_AUTHORIZATION_SHARE = 0.02
HELD_CODING_ERROR_SHARE = 0.015
REJECTED_MEMBER_ID_SHARE = 0.015
SECONDARY_COVERAGE_SHARE = 0.2
DAYS_IN_MONTH = 30

FIRST_NAMES = ("ALEX", "ROBIN", "JORDAN", "CASEY", "MORGAN", "TAYLOR", "JAMIE", "RILEY", "AVERY", "QUINN")
LAST_NAMES = ("ALDERWOOD", "BRIARSON", "COPPERFIELD", "DUNMORE", "ELMSWORTH", "FERNDALE", "GLENHOLLOW",
              "HARROWGATE", "IVYBRIDGE", "JUNIPERO", "KESTREL", "LINDENVALE")  # fmt: skip
CITIES = (("SPRINGFIELD", "IL", "62701"), ("RIVERTON", "WY", "82501"), ("FAIRVIEW", "OR", "97024"))


@dataclass(frozen=True, slots=True)
class DemoPayer:
    payer_id: str
    name: str
    claim_filing_indicator: str
    appeal_days: int
    weight: int

    def document(self) -> dict[str, Any]:
        return {
            "payer_id": self.payer_id,
            "name": self.name,
            "claim_filing_indicator": self.claim_filing_indicator,
            "timely_filing_days": 365,
            "appeal_days": self.appeal_days,
            "address": {"line1": "1 PAYER PLAZA", "city": "SPRINGFIELD", "state": "IL", "postal_code": "62702"},
        }


PAYERS = (
    DemoPayer("NWHEALTH", "NORTHWIND HEALTH PLAN", "CI", 180, 40),
    DemoPayer("CONTOSO", "CONTOSO CARE", "CI", 180, 25),
    DemoPayer("FABMCR", "FABRIKAM MEDICARE ADVANTAGE", "MB", 120, 25),
    DemoPayer("TAILMCD", "TAILSPIN MEDICAID", "MC", 90, 10),
)
SECONDARY_PAYER = "TAILMCD"


@dataclass(frozen=True, slots=True)
class LineTemplate:
    procedure_code: str
    charge_cents: int
    modifiers: tuple[str, ...] = ()
    units: int = 1
    pointers: tuple[int, ...] = (1,)


@dataclass(frozen=True, slots=True)
class VisitTemplate:
    """A realistic ICD-10-CM / CPT combination for one kind of visit."""

    name: str
    diagnoses: tuple[str, ...]
    lines: tuple[LineTemplate, ...]
    places_of_service: tuple[str, ...]
    weight: int


VISITS = (
    VisitTemplate(
        "acute upper respiratory infection",
        ("J06.9", "R05.9"),
        (LineTemplate("99213", 12500, pointers=(1, 2)), LineTemplate("87880", 3000, ("QW",))),
        ("11", "20"),
        16,
    ),
    VisitTemplate(
        "hypertension follow-up", ("I10",), (LineTemplate("99214", 18500), LineTemplate("93000", 6000)), ("11",), 14
    ),
    VisitTemplate(
        "type 2 diabetes follow-up",
        ("E11.9", "I10"),
        (LineTemplate("99214", 18500, pointers=(1, 2)), LineTemplate("83036", 4000)),
        ("11",),
        12,
    ),
    VisitTemplate(
        "hyperlipidemia labs",
        ("E78.5",),
        (
            LineTemplate("99213", 12500),
            LineTemplate("80053", 4500),
            LineTemplate("80061", 5000),
            LineTemplate("36415", 1000),
        ),
        ("11",),
        9,
    ),
    VisitTemplate(
        "low back pain with therapy",
        ("M54.50",),
        (LineTemplate("99213", 12500), LineTemplate("97110", 5500, units=2)),
        ("11",),
        9,
    ),
    VisitTemplate(
        "knee osteoarthritis injection",
        ("M17.11",),
        (LineTemplate("99213", 12500), LineTemplate("20610", 15000, ("RT",))),
        ("11",),
        7,
    ),
    VisitTemplate(
        "anxiety telehealth follow-up", ("F41.1",), (LineTemplate("99213", 12500, ("95",)),), ("02", "10"), 9
    ),
    VisitTemplate(
        "pneumonia with chest x-ray",
        ("J18.9", "R05.9"),
        (LineTemplate("99214", 18500, pointers=(1, 2)), LineTemplate("71046", 9500)),
        ("11", "20"),
        6,
    ),
    VisitTemplate(
        "hand laceration repair",
        ("S61.411A",),
        (LineTemplate("99203", 16000), LineTemplate("12002", 21000, ("RT",))),
        ("20",),
        4,
    ),
    VisitTemplate(
        "fatigue work-up, new patient",
        ("R53.83", "E66.9"),
        (LineTemplate("99204", 25000, pointers=(1, 2)), LineTemplate("85025", 2500)),
        ("11",),
        6,
    ),
)
MRI = VisitTemplate("brain MRI for headache", ("R51.9",), (LineTemplate("70553", 240000),), ("22",), 0)
PROSTATE = VisitTemplate("enlarged prostate follow-up", ("N40.0",), (LineTemplate("99213", 12500),), ("11",), 0)


def npi(rng: random.Random) -> str:
    """A made-up NPI that passes the check digit (Luhn over 80840 + nine digits)."""
    base = f"{rng.randrange(100_000_000, 200_000_000):09d}"
    return base + str(luhn_check_digit(NPI_PREFIX + base))


@dataclass(frozen=True, slots=True)
class DemoPatient:
    external_id: str
    sex: str
    document: dict[str, Any]
    coverages: tuple[dict[str, Any], ...]

    @property
    def primary_payer(self) -> str:
        return str(self.coverages[0]["payer_id"])


@dataclass(frozen=True, slots=True)
class DemoPractice:
    """Everything one demo run sends to intake, in the order it is sent."""

    seed: int
    payers: tuple[dict[str, Any], ...]
    providers: tuple[dict[str, Any], ...]
    patients: tuple[DemoPatient, ...]
    encounters: tuple[dict[str, Any], ...]
    visit_kinds: dict[str, int] = field(default_factory=dict)


def _patient(rng: random.Random, prefix: str, index: int, rejected_member_id: bool) -> DemoPatient:
    sex = rng.choice("FM")
    external_id = f"{prefix}-P{index:05d}"
    city, state, postal = rng.choice(CITIES)
    birth = dt.date(1945, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 60))
    document = {
        "external_patient_id": external_id,
        "last_name": rng.choice(LAST_NAMES),
        "first_name": rng.choice(FIRST_NAMES),
        "birth_date": birth.isoformat(),
        "sex": sex,
        "address": {"line1": f"{rng.randrange(1, 999)} SYNTHETIC WAY", "city": city, "state": state,
                    "postal_code": postal},
    }  # fmt: skip
    payer = rng.choices(PAYERS, weights=[p.weight for p in PAYERS])[0]
    member_id = f"SYN{rng.randrange(10**8, 10**9)}"
    if rejected_member_id:
        member_id = f"SY-{index:04d}"  # hyphenated: the clearinghouse's 277CA rejects it (A7:164)
    coverages: list[dict[str, Any]] = [{"payer_id": payer.payer_id, "priority": "primary", "member_id": member_id}]
    if payer.payer_id != SECONDARY_PAYER and rng.random() < SECONDARY_COVERAGE_SHARE:
        coverages.append(
            {"payer_id": SECONDARY_PAYER, "priority": "secondary", "member_id": f"SYM{rng.randrange(10**8, 10**9)}"}
        )
    return DemoPatient(external_id, sex, document, tuple(coverages))


def build_practice(seed: int, encounters: int, end_date: dt.date) -> DemoPractice:
    """The practice and its month of encounters ending `end_date`, all drawn from `seed`."""
    rng = random.Random(seed)
    prefix = f"DEMO{seed}"
    billing = {
        "npi": npi(rng), "entity": "organization", "name": "SYNTHETIC FAMILY MEDICINE", "taxonomy": "207Q00000X",
        "tax_id": "990000001", "tax_id_type": "EIN",
        "address": {"line1": "200 EXAMPLE BLVD", "city": "SPRINGFIELD", "state": "IL", "postal_code": "627041234"},
    }  # fmt: skip
    clinicians = [
        {"npi": npi(rng), "entity": "individual", "name": last, "first_name": first, "taxonomy": "207Q00000X"}
        for last, first in (("KESTREL", "ROBIN"), ("FERNDALE", "AVERY"), ("DUNMORE", "QUINN"), ("LINDENVALE", "SAM"))
    ]
    patient_count = max(8, encounters // 3)
    rejected_every = max(2, round(1 / REJECTED_MEMBER_ID_SHARE))
    patients = tuple(
        _patient(rng, prefix, index, rejected_member_id=index % rejected_every == rejected_every - 1)
        for index in range(patient_count)
    )
    kinds: dict[str, int] = {}
    documents = []
    for index in range(encounters):
        draw = rng.random()
        patient = rng.choice(patients)
        authorization: str | None = None
        if draw < DENIED_WITHOUT_AUTHORIZATION_SHARE:
            visit = MRI
        elif draw < DENIED_WITHOUT_AUTHORIZATION_SHARE + MRI_WITH_AUTHORIZATION_SHARE:
            visit, authorization = MRI, f"PA{rng.randrange(10**6, 10**7)}"
        elif draw < DENIED_WITHOUT_AUTHORIZATION_SHARE + MRI_WITH_AUTHORIZATION_SHARE + HELD_CODING_ERROR_SHARE:
            visit = PROSTATE
            patient = next((p for p in patients if p.sex == "F"), patient)  # a coding error the scrubber holds
        else:
            visit = rng.choices(VISITS, weights=[v.weight for v in VISITS])[0]
        kinds[visit.name] = kinds.get(visit.name, 0) + 1
        day = end_date - dt.timedelta(days=rng.randrange(0, DAYS_IN_MONTH))
        encounter: dict[str, Any] = {
            "external_encounter_id": f"{prefix}-E{index:06d}",
            "claim_type": "professional",
            "patient_external_id": patient.external_id,
            "payer_id": patient.primary_payer,
            "billing_provider_npi": billing["npi"],
            "rendering_provider_npi": rng.choice(clinicians)["npi"],
            "place_of_service": rng.choice(visit.places_of_service),
            "service_date_from": day.isoformat(),
            "service_date_to": day.isoformat(),
            "diagnosis_codes": list(visit.diagnoses),
            "lines": [
                {
                    "line_number": number,
                    "procedure_code": line.procedure_code,
                    "modifiers": list(line.modifiers),
                    "units": line.units,
                    "charge_cents": line.charge_cents * line.units,
                    "diagnosis_pointers": list(line.pointers),
                    "service_date": day.isoformat(),
                }
                for number, line in enumerate(visit.lines, start=1)
            ],
        }
        if authorization:
            encounter["prior_authorization"] = authorization
        documents.append(encounter)
    return DemoPractice(
        seed=seed,
        payers=tuple(p.document() for p in PAYERS),
        providers=(billing, *clinicians),
        patients=patients,
        encounters=tuple(documents),
        visit_kinds=kinds,
    )


def _by_code(name: str, codes: tuple[str, ...], outcome: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "description": description, "match": {"procedure_codes": list(codes)}, "outcome": outcome}


SCENARIO_RULES: list[dict[str, Any]] = [
    {"name": "denied-medical-necessity", "description": "Not medically necessary",
     "match": {"scenario": "D50"}, "outcome": {"denial": ["CO", "50"], "remarks": ["N115"]}},
    {"name": "denied-bundled", "description": "Included in another service",
     "match": {"scenario": "D97"}, "outcome": {"denial": ["CO", "97"], "remarks": ["M15"]}},
    {"name": "denied-missing-information", "description": "Claim lacks information needed for adjudication",
     "match": {"scenario": "D16"}, "outcome": {"denial": ["CO", "16"], "claim_remarks": ["MA130"]}},
    {"name": "denied-not-covered", "description": "Not covered by the plan",
     "match": {"scenario": "D204"}, "outcome": {"denial": ["PR", "204"], "remarks": ["N130"]}},
    {"name": "paid-in-full", "description": "Paid as billed", "match": {"scenario": "PAID"}, "outcome": {}},
    {"name": "deductible", "description": "Deductible applies", "match": {"scenario": "DED"},
     "outcome": {"allowed_basis_points": 8000, "deductible_cents": 5000}},
    {"name": "coinsurance", "description": "Coinsurance", "match": {"scenario": "COINS"},
     "outcome": {"allowed_basis_points": 8000, "coinsurance_basis_points": 2000}},
    {"name": "copay", "description": "Copay once per claim", "match": {"scenario": "COPAY"},
     "outcome": {"allowed_basis_points": 8000, "copay_cents": 2500}},
    {"name": "partial", "description": "Partial payment: contractual, deductible and coinsurance",
     "match": {"scenario": "PART"},
     "outcome": {"allowed_basis_points": 6000, "deductible_cents": 1000, "coinsurance_basis_points": 2000}},
]  # fmt: skip
"""The sandbox's documented scenarios (`sandbox.rules.SCENARIOS`: a member id `SBX<code>…`), in the demo's
table too (after prior authorization and timely filing, as in the default table), so a client of
`claimflow up` can ask for each outcome through the API."""

DEMO_SANDBOX_RULES: list[dict[str, Any]] = [
    {"name": "prior-auth-absent", "description": "Precertification/authorization absent",
     "match": {"procedure_codes": ["70553", "27447", "93458"], "missing_prior_authorization": True},
     "outcome": {"denial": ["CO", "197"], "remarks": ["M62"]}},
    {"name": "timely-filing", "description": "The time limit for filing has expired",
     "match": {"service_older_than_days": 365}, "outcome": {"denial": ["CO", "29"]}},
    *SCENARIO_RULES,
    _by_code("bundled-venipuncture", ("36415",), {"denial": ["CO", "97"], "remarks": ["M15"]},
             "Venipuncture is included in the lab panel"),
    _by_code("office-visit-copay", ("99212", "99213"), {"allowed_basis_points": 8000, "copay_cents": 2500},
             "Established office visit: 80% allowed, 25.00 copay"),
    _by_code("visit-coinsurance", ("99203", "99204", "99215"),
             {"allowed_basis_points": 8000, "coinsurance_basis_points": 2000},
             "New-patient and long visits: 80% allowed, 20% coinsurance"),
    _by_code("procedure-deductible", ("20610", "12002", "70553"),
             {"allowed_basis_points": 7000, "deductible_cents": 5000},
             "Procedures and imaging: 70% allowed, 50.00 deductible"),
    {"name": "contracted", "description": "Contracted rate: 80% of charge", "match": {},
     "outcome": {"allowed_basis_points": 8000}},
]  # fmt: skip
"""The sandbox payer's table for the demo (`python -m sandbox.clearinghouse --rules`): the default
table's denials, plus procedure-based patient responsibility (the default table keys those on CLM01
suffixes, which real claim numbers never carry)."""
