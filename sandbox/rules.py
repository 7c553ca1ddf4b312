"""Deterministic adjudication rules of the sandbox payer.

Each service line is priced by the first rule whose ``match`` fits it; everything a rule
does is integer arithmetic on cents, so the same 837 always gets the same 835.

Default table (``DEFAULT_RULES``), in order. A client picks an outcome through the API with a
**scenario value**: the coverage's member id starting with ``SBX`` + the code (``SBXDED0001``: member
ids stay 6-20 letters and digits, so the front-end edits pass), or, in tests that write their own
837s, a CLM01 ending ``-<code>``. ``SCENARIOS`` lists them with their outcomes (the README's table).

| rule | matches | outcome (CAS group-CARC, RARC) |
|---|---|---|
| prior-auth-absent | procedure 70553, 27447 or 93458 and no REF*G1 | denied CO-197, M62 |
| timely-filing | service date more than 365 days before receipt | denied CO-29 (a corrected claim too: upheld) |
| corrected-claim-paid | frequency 7 (replacement, REF*F8) | allowed 80% (CO-45): information supplied, paid |
| denied-medical-necessity | scenario D50 | denied CO-50, N115 |
| denied-bundled | scenario D97 | denied CO-97, M15 |
| denied-missing-information | scenario D16 | denied CO-16, claim remark MA130 |
| denied-not-covered | scenario D204 | patient owes all: PR-204, N130 |
| paid-in-full | scenario PAID | allowed = charge, paid = charge |
| deductible | scenario DED | allowed 80% (CO-45), first 50.00 of the claim PR-1 |
| coinsurance | scenario COINS | allowed 80% (CO-45), PR-2 20% of allowed |
| copay | scenario COPAY | allowed 80% (CO-45), PR-3 25.00 once per claim |
| partial | scenario PART | allowed 60% (CO-45), PR-1 10.00, PR-2 20% |
| high-charge-cap | line charge >= 5,000.00 | allowed capped at 2,500.00 (CO-45) |
| contracted (default) | anything else | allowed 80%, the rest CO-45 |

The scenario REJECT (member id ``SBXREJECT…``) never reaches these rules: the payer's front end rejects
the claim in its 277CA (A3:33:IL, subscriber not found), see ``sandbox.clearinghouse``.

Percentages are basis points (8000 = 80%) and round down to the cent. Deductible and
copay are per claim: they are taken from the first lines that have allowed money left.

``frequency_codes`` restricts a rule to originals (``{"1"}``) or replacements (``{"7"}``): a test
rule that denies an original lets its corrected claim through to ``corrected-claim-paid``.

A JSON file (``--rules FILE``) replaces the table: a list of objects with ``name``,
``description``, ``match`` (the ``Match`` fields) and ``outcome`` (the ``Outcome`` fields,
denial as ``["CO", "50"]``). See ``load_rules``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from sandbox.claims_837 import ReceivedClaim, ReceivedLine

SCENARIO_PREFIX = "SBX"
"""A member id starting with this, then a scenario code, asks the sandbox payer for that scenario."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """An outcome a client can ask the sandbox for through the API, by the member id it registers."""

    code: str
    rule: str
    outcome: str

    @property
    def member_id_prefix(self) -> str:
        return SCENARIO_PREFIX + self.code


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("PAID", "paid-in-full", "paid as billed: paid = charge"),
    Scenario("DED", "deductible", "allowed 80% (CO-45); the first 50.00 is deductible (PR-1); claim partially paid"),
    Scenario("COINS", "coinsurance", "allowed 80% (CO-45); 20% of allowed is coinsurance (PR-2)"),
    Scenario("COPAY", "copay", "allowed 80% (CO-45); a 25.00 copay once per claim (PR-3)"),
    Scenario("PART", "partial", "allowed 60% (CO-45), deductible 10.00 (PR-1), coinsurance 20% (PR-2)"),
    Scenario("D50", "denied-medical-necessity", "denied CO-50 (not medically necessary), RARC N115"),
    Scenario("D97", "denied-bundled", "denied CO-97 (included in another service), RARC M15"),
    Scenario("D16", "denied-missing-information", "denied CO-16 (lacks information), claim remark MA130"),
    Scenario("D204", "denied-not-covered", "not covered: the patient owes all (PR-204), RARC N130"),
    Scenario("REJECT", "front-end-rejection", "rejected in the 277CA (A3:33:IL, subscriber not found); no 835"),
)
SCENARIOS_BY_CODE = {scenario.code: scenario for scenario in SCENARIOS}


def scenario_of(member_id: str, control_number: str = "") -> str | None:
    """The scenario code a claim asks for: by its member id's prefix, else by its CLM01's suffix."""
    member = member_id.upper()
    if member.startswith(SCENARIO_PREFIX):
        for code in sorted(SCENARIOS_BY_CODE, key=len, reverse=True):
            if member.startswith(SCENARIO_PREFIX + code):
                return code
    number = control_number.upper()
    return next((code for code in SCENARIOS_BY_CODE if number.endswith("-" + code)), None)


@dataclass(frozen=True, slots=True)
class Match:
    """Every condition set must hold; an empty ``Match`` matches any line."""

    procedure_codes: frozenset[str] = frozenset()
    claim_suffix: str | None = None
    scenario: str | None = None
    """A code of ``SCENARIOS``, asked for by the member id (``SBX<code>…``) or CLM01 (``…-<code>``)."""
    min_line_charge_cents: int | None = None
    missing_prior_authorization: bool = False
    service_older_than_days: int | None = None
    frequency_codes: frozenset[str] = frozenset()
    """CLM05-3 values the rule applies to; empty: any."""

    def fits(self, claim: ReceivedClaim, line: ReceivedLine, received_on: date) -> bool:
        if self.procedure_codes and line.procedure_code not in self.procedure_codes:
            return False
        if self.frequency_codes and (claim.frequency or "1") not in self.frequency_codes:
            return False
        if self.claim_suffix is not None and not claim.control_number.upper().endswith(self.claim_suffix.upper()):
            return False
        if self.scenario is not None and scenario_of(claim.member_id, claim.control_number) != self.scenario:
            return False
        if self.min_line_charge_cents is not None and line.charge_cents < self.min_line_charge_cents:
            return False
        if self.missing_prior_authorization and claim.prior_authorization:
            return False
        if self.service_older_than_days is not None:
            served = line.service_date or claim.service_period()[0]
            if served is None or (received_on - served).days <= self.service_older_than_days:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a matched line is priced. ``denial`` (group, CARC) pays nothing and adjusts the whole charge."""

    allowed_basis_points: int = 10_000
    max_allowed_cents: int | None = None
    deductible_cents: int = 0
    coinsurance_basis_points: int = 0
    copay_cents: int = 0
    denial: tuple[str, str] | None = None
    remarks: tuple[str, ...] = ()
    """RARCs on the line (LQ*HE)."""
    claim_remarks: tuple[str, ...] = ()
    """RARCs on the claim (MOA)."""


@dataclass(frozen=True, slots=True)
class AdjudicationRule:
    name: str
    match: Match
    outcome: Outcome
    description: str = ""


def _suffix(name: str, suffix: str, outcome: Outcome, description: str) -> AdjudicationRule:
    return AdjudicationRule(name, Match(scenario=suffix.removeprefix("-")), outcome, description)


DEFAULT_RULES: tuple[AdjudicationRule, ...] = (
    AdjudicationRule(
        "prior-auth-absent",
        Match(procedure_codes=frozenset({"70553", "27447", "93458"}), missing_prior_authorization=True),
        Outcome(denial=("CO", "197"), remarks=("M62",)),
        "Precertification/authorization absent",
    ),
    AdjudicationRule(
        "timely-filing",
        Match(service_older_than_days=365),
        Outcome(denial=("CO", "29")),
        "The time limit for filing has expired",
    ),
    AdjudicationRule(
        "corrected-claim-paid",
        Match(frequency_codes=frozenset({"7"})),
        Outcome(allowed_basis_points=8000),
        "A replacement claim with the missing information supplied: contracted rate, 80% of charge",
    ),
    _suffix(
        "denied-medical-necessity", "-D50", Outcome(denial=("CO", "50"), remarks=("N115",)), "Not medically necessary"
    ),
    _suffix("denied-bundled", "-D97", Outcome(denial=("CO", "97"), remarks=("M15",)), "Included in another service"),
    _suffix(
        "denied-missing-information",
        "-D16",
        Outcome(denial=("CO", "16"), claim_remarks=("MA130",)),
        "Claim lacks information needed for adjudication",
    ),
    _suffix("denied-not-covered", "-D204", Outcome(denial=("PR", "204"), remarks=("N130",)), "Not covered by the plan"),
    _suffix("paid-in-full", "-PAID", Outcome(), "Paid as billed"),
    _suffix("deductible", "-DED", Outcome(allowed_basis_points=8000, deductible_cents=5000), "Deductible applies"),
    _suffix("coinsurance", "-COINS", Outcome(allowed_basis_points=8000, coinsurance_basis_points=2000), "Coinsurance"),
    _suffix("copay", "-COPAY", Outcome(allowed_basis_points=8000, copay_cents=2500), "Copay once per claim"),
    _suffix(
        "partial",
        "-PART",
        Outcome(allowed_basis_points=6000, deductible_cents=1000, coinsurance_basis_points=2000),
        "Partial payment: contractual, deductible and coinsurance",
    ),
    AdjudicationRule(
        "high-charge-cap",
        Match(min_line_charge_cents=500_000),
        Outcome(max_allowed_cents=250_000),
        "Allowed amount capped by the fee schedule",
    ),
    AdjudicationRule("contracted", Match(), Outcome(allowed_basis_points=8000), "Contracted rate: 80% of charge"),
)


@dataclass(frozen=True, slots=True)
class LineAdjustment:
    group: str
    reason: str
    amount_cents: int


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    line: ReceivedLine
    rule: str
    allowed_cents: int
    paid_cents: int
    adjustments: tuple[LineAdjustment, ...]
    remarks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClaimAdjudication:
    claim: ReceivedClaim
    lines: tuple[LineAdjudication, ...]
    claim_remarks: tuple[str, ...] = field(default=())
    reverses: str | None = None
    """The payer claim number of the payment this adjudication takes back (CLP02 22, every amount negated):
    set on the reversal a void (frequency 8) of an adjudicated claim gets (see `reversal_of`)."""

    @property
    def sign(self) -> int:
        """-1 for a reversal, whose amounts are written negated; else 1."""
        return -1 if self.reverses else 1

    @property
    def paid_cents(self) -> int:
        return self.sign * sum(line.paid_cents for line in self.lines)

    @property
    def patient_responsibility_cents(self) -> int:
        return self.sign * sum(a.amount_cents for line in self.lines for a in line.adjustments if a.group == "PR")

    @property
    def status_code(self) -> str:
        """CLP02: 22 a reversal; 4 denied (nothing paid, nothing owed by the patient), else processed as
        1/2/3 by SBR01."""
        if self.reverses:
            return "22"
        if self.paid_cents == 0 and self.patient_responsibility_cents == 0:
            return "4"
        return {"S": "2", "T": "3"}.get(self.claim.responsibility, "1")


def reversal_of(original: ClaimAdjudication, payer_claim_number: str) -> ClaimAdjudication:
    """The payer's answer to a void of an adjudicated claim: its payment taken back, line for line (CLP01 the
    original's claim number, CLP07 its payer claim number, every amount negated)."""
    return replace(original, reverses=payer_claim_number)


def adjudicate(
    claim: ReceivedClaim, received_on: date, rules: tuple[AdjudicationRule, ...] = DEFAULT_RULES
) -> ClaimAdjudication:
    """Price every line of ``claim`` by the first matching rule; charge - paid always equals the adjustments."""
    deductible_taken: dict[str, int] = {}
    copay_taken: set[str] = set()
    results = []
    claim_remarks: list[str] = []
    for line in claim.lines:
        rule = next((r for r in rules if r.match.fits(claim, line, received_on)), None)
        if rule is None:
            raise ValueError(f"no adjudication rule matches line {line.number} of claim {claim.control_number}")
        outcome = rule.outcome
        for remark in outcome.claim_remarks:
            if remark not in claim_remarks:
                claim_remarks.append(remark)
        charge = line.charge_cents
        if outcome.denial is not None:
            group, reason = outcome.denial
            adjustments: tuple[LineAdjustment, ...] = (LineAdjustment(group, reason, charge),) if charge else ()
            results.append(LineAdjudication(line, rule.name, 0, 0, adjustments, outcome.remarks))
            continue
        allowed = charge * outcome.allowed_basis_points // 10_000
        if outcome.max_allowed_cents is not None:
            allowed = min(allowed, outcome.max_allowed_cents)
        allowed = max(0, min(allowed, charge))
        remaining = allowed
        deductible = min(remaining, max(0, outcome.deductible_cents - deductible_taken.get(rule.name, 0)))
        deductible_taken[rule.name] = deductible_taken.get(rule.name, 0) + deductible
        remaining -= deductible
        copay = 0
        if outcome.copay_cents and rule.name not in copay_taken and remaining > 0:
            copay = min(remaining, outcome.copay_cents)
            copay_taken.add(rule.name)
            remaining -= copay
        coinsurance = remaining * outcome.coinsurance_basis_points // 10_000
        remaining -= coinsurance
        adjustments = tuple(
            LineAdjustment(group, reason, amount)
            for group, reason, amount in (
                ("CO", "45", charge - allowed),
                ("PR", "1", deductible),
                ("PR", "2", coinsurance),
                ("PR", "3", copay),
            )
            if amount
        )
        results.append(LineAdjudication(line, rule.name, allowed, remaining, adjustments, outcome.remarks))
    return ClaimAdjudication(claim, tuple(results), tuple(claim_remarks))


def load_rules(path: Path | str) -> tuple[AdjudicationRule, ...]:
    """Rules from a JSON list; unknown keys are refused so a typo does not silently change prices."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{path}: expected a non-empty JSON list of rules")
    return tuple(_rule(entry, f"{path}[{index}]") for index, entry in enumerate(raw))


def _rule(entry: dict[str, Any], where: str) -> AdjudicationRule:
    _only(entry, {"name", "description", "match", "outcome"}, where)
    match_fields = dict(entry.get("match", {}))
    _only(match_fields, {f.name for f in fields(Match)}, f"{where}.match")
    for name in ("procedure_codes", "frequency_codes"):
        if name in match_fields:
            match_fields[name] = frozenset(match_fields[name])
    outcome_fields = dict(entry.get("outcome", {}))
    _only(outcome_fields, {f.name for f in fields(Outcome)}, f"{where}.outcome")
    for name in ("remarks", "claim_remarks"):
        if name in outcome_fields:
            outcome_fields[name] = tuple(outcome_fields[name])
    if outcome_fields.get("denial") is not None:
        group, reason = outcome_fields["denial"]
        outcome_fields["denial"] = (str(group), str(reason))
    for name, value in outcome_fields.items():
        if name.endswith(("_cents", "_points")) and value is not None and type(value) is not int:
            raise ValueError(f"{where}.outcome.{name} must be an integer (cents or basis points), got {value!r}")
    return AdjudicationRule(
        name=str(entry["name"]),
        match=Match(**match_fields),
        outcome=Outcome(**outcome_fields),
        description=str(entry.get("description", "")),
    )


def _only(values: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
