"""Every built-in scrub rule: silent on a clean claim, and fires on a claim built to break it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from services.claims.domain.scrubber import (
    BUILT_IN_RULES,
    RULES_BY_ID,
    DraftClaim,
    DraftLine,
    MissingPart,
    ScrubContext,
    Severity,
    holds,
    scrub,
)
from services.claims.domain.scrubber.ncci import index_ptp, parse_mue, parse_ptp
from shared.codesets.store import icd10cm_from_code_list, packaged_icd10cm

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = dt.date(2026, 11, 27)
DAY = dt.date(2026, 11, 2)
GOOD_NPI, OTHER_GOOD_NPI, BAD_NPI = "1234567893", "1245319599", "1234567890"


def clean_claim() -> DraftClaim:
    return DraftClaim(
        claim_type="professional",
        patient_id="patient-1",
        payer_id="PAYER1",
        place_of_service="11",
        service_date_from=DAY,
        service_date_to=DAY,
        diagnoses=("J06.9", "R05.9"),
        lines=(
            DraftLine(1, DAY, 1, procedure_code="99213", charge_cents=12500, diagnosis_pointers=(1, 2)),
            DraftLine(2, DAY, 1, procedure_code="87880", modifiers=("QW",), charge_cents=3000, diagnosis_pointers=(1,)),
        ),
        billing_provider_npi=GOOD_NPI,
        other_npis=(("rendering", OTHER_GOOD_NPI),),
        patient_sex="F",
        patient_birth_date=dt.date(1980, 5, 17),
        timely_filing_days=365,
    )


def context(**changes: object) -> ScrubContext:
    ptp = index_ptp(parse_ptp((FIXTURES / "ncci_ptp_practitioner.txt").read_text()))
    mue = {edit.code: edit for edit in parse_mue((FIXTURES / "mue_practitioner.csv").read_text())}
    codes = icd10cm_from_code_list(
        "test",
        dt.date(2025, 10, 1),
        [
            "J06 Acute upper respiratory infections",
            "J069 Acute URI",
            "R05 Cough",
            "R059 Cough, unspecified",
            "O80 Delivery",
            "N40 Prostate",
            "N400 BPH",
            "P070 Low birth weight",
            "P0700 LBW",
        ],
    )
    base = ScrubContext(today=TODAY, ptp_edits=ptp, mue_edits=mue, diagnosis_problem=codes.problem)
    return dataclasses.replace(base, **changes)


def line(claim: DraftClaim, index: int, **changes: object) -> DraftClaim:
    lines = list(claim.lines)
    lines[index] = dataclasses.replace(lines[index], **changes)
    return dataclasses.replace(claim, lines=tuple(lines))


def claim_with(**changes: object) -> Callable[[], DraftClaim]:
    return lambda: dataclasses.replace(clean_claim(), **changes)


def line_with(index: int = 0, **changes: object) -> Callable[[], DraftClaim]:
    return lambda: line(clean_claim(), index, **changes)


def extra_line(**fields: object) -> Callable[[], DraftClaim]:
    def build() -> DraftClaim:
        claim = clean_claim()
        values: dict[str, object] = {"charge_cents": 5000, "diagnosis_pointers": (1,)} | fields
        day = values.pop("service_date", DAY)
        new = DraftLine(len(claim.lines) + 1, day, int(values.pop("units", 1)), **values)  # type: ignore[arg-type]
        return dataclasses.replace(claim, lines=(*claim.lines, new))

    return build


def institutional(**changes: object) -> DraftClaim:
    claim = clean_claim()
    lines = tuple(dataclasses.replace(x, revenue_code="0450", diagnosis_pointers=()) for x in claim.lines)
    values: dict[str, object] = {"place_of_service": "22", "facility_type_code": "13"} | changes
    return dataclasses.replace(claim, claim_type="institutional", lines=lines, **values)  # type: ignore[arg-type]


NO_CONTEXT_CHANGE: dict[str, object] = {}
# rule id -> (a claim that breaks it, changes to the context)
BREAKERS: dict[str, tuple[Callable[[], DraftClaim], dict[str, object]]] = {
    "required.coverage": (claim_with(missing=frozenset({MissingPart.COVERAGE})), {}),
    "required.subscriber": (claim_with(missing=frozenset({MissingPart.SUBSCRIBER})), {}),
    "required.patient_demographics": (claim_with(missing=frozenset({MissingPart.PATIENT_DEMOGRAPHICS})), {}),
    "required.billing_provider": (claim_with(missing=frozenset({MissingPart.BILLING_PROVIDER})), {}),
    "required.institutional_details": (claim_with(missing=frozenset({MissingPart.INSTITUTIONAL_DETAILS})), {}),
    "required.attending_provider": (claim_with(missing=frozenset({MissingPart.ATTENDING_PROVIDER})), {}),
    "required.unresolved_parties": (claim_with(unresolved=("payer_id",)), {}),
    "required.diagnosis": (claim_with(diagnoses=()), {}),
    "required.procedure_code": (line_with(procedure_code=None, modifiers=()), {}),
    "required.billing_npi": (claim_with(billing_provider_npi=None), {}),
    "code.icd10_format": (claim_with(diagnoses=("J06.9", "123")), {}),
    "code.icd10_valid": (claim_with(diagnoses=("J06.9", "J06")), {}),
    "code.sex_specific": (claim_with(diagnoses=("J06.9", "N40.0")), {}),
    "code.age_specific": (claim_with(diagnoses=("J06.9", "P07.00")), {}),
    "code.diagnosis_duplicate": (claim_with(diagnoses=("J06.9", "J069")), {}),
    "code.procedure_format": (line_with(procedure_code="9921"), {}),
    "code.revenue_format": (line_with(revenue_code="45"), {}),
    "modifier.format": (line_with(1, modifiers=("Q",)), {}),
    "modifier.duplicate": (line_with(1, modifiers=("QW", "QW")), {}),
    "modifier.laterality": (line_with(1, modifiers=("LT", "RT")), {}),
    "modifier.without_procedure": (line_with(1, procedure_code=None, revenue_code="0300"), {}),
    "pos.valid": (claim_with(place_of_service="30"), {}),
    "pos.claim_type": (lambda: institutional(place_of_service="11"), {}),
    "date.future": (claim_with(service_date_to=TODAY + dt.timedelta(days=3)), {}),
    "date.order": (line_with(service_date_end=DAY - dt.timedelta(days=1)), {}),
    "date.within_claim": (line_with(service_date=DAY - dt.timedelta(days=1)), {}),
    "date.span": (
        lambda: dataclasses.replace(
            institutional(), service_date_from=DAY - dt.timedelta(days=400), service_date_to=DAY
        ),
        {},
    ),
    "date.before_birth": (claim_with(patient_birth_date=DAY + dt.timedelta(days=1)), {}),
    "timely_filing.expired": (claim_with(timely_filing_days=20), {}),
    "timely_filing.closing": (claim_with(timely_filing_days=30), {}),
    "pointer.required": (line_with(diagnosis_pointers=()), {}),
    "pointer.range": (line_with(diagnosis_pointers=(1, 3)), {}),
    "pointer.duplicate": (line_with(diagnosis_pointers=(1, 1)), {}),
    "pointer.primary_used": (
        lambda: line(line(clean_claim(), 0, diagnosis_pointers=(2,)), 1, diagnosis_pointers=(2,)),
        {},
    ),
    "npi.check_digit": (claim_with(other_npis=(("referring", BAD_NPI),)), {}),
    "units.positive": (line_with(units=0), {}),
    "charge.priced": (line_with(charge_cents=None), {}),
    "charge.positive": (line_with(charge_cents=0), {}),
    "claim.line_count": (claim_with(lines=()), {}),
    "claim.diagnosis_count": (claim_with(diagnoses=tuple(f"J0{i}.9" for i in range(13))), {}),
    "claim.frequency_reference": (claim_with(frequency_code="7"), {}),
    "duplicate.claim": (
        claim_with(),
        {"billed_services": frozenset({("patient-1", "PAYER1", DAY, "87880")})},
    ),
    "duplicate.line": (extra_line(procedure_code="87880", modifiers=("QW",)), {}),
    "ncci.ptp": (lambda: line(extra_line(procedure_code="76942")(), 0, procedure_code="20610"), {}),
    "ncci.mue": (extra_line(procedure_code="36415", units=3), {}),
}
# Rules a clean claim needs something extra to stay silent on.
EXTRA_BREAKERS: list[tuple[str, Callable[[], DraftClaim], dict[str, object]]] = [
    ("ncci.ptp", lambda: line(extra_line(procedure_code="11900")(), 0, procedure_code="10060"), {}),
    ("ncci.mue", extra_line(procedure_code="87880", units=3), {}),
    ("ncci.mue", lambda: line(extra_line(procedure_code="36415", units=2)(), 0, procedure_code="36415"), {}),
    ("code.sex_specific", claim_with(patient_sex="M", diagnoses=("J06.9", "O80")), {}),
    ("required.procedure_code", lambda: line(institutional(), 0, revenue_code=None), {}),
    ("date.future", line_with(1, service_date_end=TODAY + dt.timedelta(days=1)), {}),
]


def test_every_built_in_rule_has_a_case_and_there_are_at_least_25() -> None:
    assert len(BUILT_IN_RULES) >= 25
    assert set(BREAKERS) == set(RULES_BY_ID)
    assert len({r.id for r in BUILT_IN_RULES}) == len(BUILT_IN_RULES), "rule ids are unique"
    assert all(r.description and r.severity in Severity for r in BUILT_IN_RULES)


def test_a_clean_claim_passes_every_rule() -> None:
    assert scrub(clean_claim(), context()) == []
    assert scrub(institutional(), context()) == []


@pytest.mark.parametrize("rule_id", sorted(BREAKERS))
def test_rule_fires_on_the_claim_that_breaks_it_and_only_that_rule_is_needed(rule_id: str) -> None:
    build, changes = BREAKERS[rule_id]
    findings = scrub(build(), context(**changes))
    assert rule_id in {f.rule_id for f in findings}, findings
    fired = [f for f in findings if f.rule_id == rule_id]
    assert all(f.severity is RULES_BY_ID[rule_id].severity for f in fired)
    assert all(f.message for f in fired)


@pytest.mark.parametrize("rule_id", sorted(BREAKERS))
def test_rule_is_silent_when_the_tenant_disables_it(rule_id: str) -> None:
    build, changes = BREAKERS[rule_id]
    findings = scrub(build(), context(disabled_rules=frozenset({rule_id}), **changes))
    assert rule_id not in {f.rule_id for f in findings}


@pytest.mark.parametrize(("rule_id", "build", "changes"), EXTRA_BREAKERS)
def test_more_ways_to_break_a_rule(rule_id: str, build: Callable[[], DraftClaim], changes: dict[str, object]) -> None:
    assert rule_id in {f.rule_id for f in scrub(build(), context(**changes))}


def test_ptp_indicator_1_is_bypassed_by_an_ncci_modifier_but_0_is_not() -> None:
    bypassed = line(extra_line(procedure_code="11900", modifiers=("59",))(), 0, procedure_code="10060")
    assert "ncci.ptp" not in {f.rule_id for f in scrub(bypassed, context())}
    never = extra_line(procedure_code="76942", modifiers=("XS",))
    claim = line(never(), 0, procedure_code="20610")
    assert "ncci.ptp" in {f.rule_id for f in scrub(claim, context())}


def test_ptp_edits_apply_only_while_in_force_and_never_with_indicator_9() -> None:
    deleted = line(extra_line(procedure_code="93010")(), 0, procedure_code="93000")  # deleted 2023-01-01
    assert "ncci.ptp" not in {f.rule_id for f in scrub(deleted, context())}
    old = dataclasses.replace(
        deleted,
        service_date_from=dt.date(2022, 6, 1),
        service_date_to=dt.date(2022, 6, 1),
        lines=tuple(dataclasses.replace(x, service_date=dt.date(2022, 6, 1)) for x in deleted.lines),
        timely_filing_days=None,
    )
    assert "ncci.ptp" in {f.rule_id for f in scrub(old, context())}
    not_applicable = line(extra_line(procedure_code="99211")(), 1, procedure_code="87880")
    assert "ncci.ptp" not in {f.rule_id for f in scrub(not_applicable, context())}


def test_ptp_pairs_on_different_dates_do_not_conflict() -> None:
    later = DAY + dt.timedelta(days=1)
    claim = line(extra_line(procedure_code="76942", service_date=later)(), 0, procedure_code="20610")
    claim = dataclasses.replace(claim, service_date_to=later)
    assert "ncci.ptp" not in {f.rule_id for f in scrub(claim, context())}


def test_mue_line_edit_judges_each_line_and_date_edits_add_units_up() -> None:
    two_lines_of_two = line(extra_line(procedure_code="87880", units=2)(), 1, units=2)
    assert "ncci.mue" not in {f.rule_id for f in scrub(two_lines_of_two, context())}, "MAI 1 is per line"
    per_day = line(extra_line(procedure_code="36415", units=1)(), 0, procedure_code="36415", units=1)
    assert "ncci.mue" not in {f.rule_id for f in scrub(per_day, context())}


def test_findings_decide_the_hold() -> None:
    warning_only = scrub(claim_with(timely_filing_days=30)(), context())
    assert warning_only and not holds(warning_only)
    assert holds(scrub(claim_with(diagnoses=())(), context()))


def test_packaged_icd10cm_code_list_knows_billable_codes() -> None:
    codes = packaged_icd10cm()
    if codes is None:
        pytest.skip("simple-icd-10-cm has no code list")
    assert codes.problem("J06.9") is None
    assert codes.problem("J06") is not None, "a category is not billable"
    assert codes.problem("J06.99") is not None
