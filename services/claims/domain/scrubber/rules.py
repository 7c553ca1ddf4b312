"""The built-in edits. Each is a pure function of the draft claim and the scrub context.

A rule returns (message, line number) pairs; the engine stamps them with the rule's id and severity
and leaves out rules the tenant disabled. Messages name codes, fields and lines, never a person.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable

from services.claims.domain.scrubber.code_sets import (
    FACILITY_PLACES_OF_SERVICE,
    NCCI_ASSOCIATED_MODIFIERS,
    age_conflict,
    sex_conflict,
)
from services.claims.domain.scrubber.model import DraftClaim, MissingPart, Rule, ScrubContext, Severity
from services.claims.domain.scrubber.ncci import ModifierIndicator
from shared import codesets
from shared.codesets.formats import ICD10CM, MAX_MODIFIERS
from shared.npi import npi_is_valid

Problems = list[tuple[str, int | None]]
BUILT_IN_RULES: list[Rule] = []

MAX_LINES = {"professional": 50, "institutional": 999}
MAX_DIAGNOSES = {"professional": 12, "institutional": 25}
MAX_CLAIM_SPAN_DAYS = 366
MAX_UNITS = 9999


Check = Callable[[DraftClaim, ScrubContext], Problems]


def rule(rule_id: str, description: str, severity: Severity = Severity.ERROR) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        BUILT_IN_RULES.append(Rule(rule_id, description, severity, check))
        return check

    return register


def _missing(part: MissingPart, message: str) -> Check:
    def check(claim: DraftClaim, _: ScrubContext) -> Problems:
        return [(message, None)] if part in claim.missing else []

    return check


# ----------------------------------------------------------------------------- required fields

rule("required.coverage", "The billed coverage and its payer (name, claim filing indicator) are known.")(
    _missing(MissingPart.COVERAGE, "no coverage details for the billed payer")
)
rule("required.subscriber", "The subscriber's member id and name are known for the billed coverage.")(
    _missing(MissingPart.SUBSCRIBER, "no subscriber (member id, name) for the billed coverage")
)
rule("required.patient_demographics", "The patient's name, birth date, sex and address are known.")(
    _missing(MissingPart.PATIENT_DEMOGRAPHICS, "patient demographics (name, birth date, sex, address) missing")
)
rule("required.billing_provider", "The billing provider's name, address and tax id are known.")(
    _missing(MissingPart.BILLING_PROVIDER, "billing provider details (name, address, tax id) missing")
)
rule("required.institutional_details", "Institutional claims carry type of bill and patient status.")(
    _missing(MissingPart.INSTITUTIONAL_DETAILS, "institutional details (facility type, patient status) missing")
)
rule("required.attending_provider", "Institutional claims name a known attending provider.")(
    _missing(MissingPart.ATTENDING_PROVIDER, "attending provider details missing")
)


@rule("required.unresolved_parties", "Every party the encounter names is registered with intake.")
def _unresolved(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [(f"intake has no record of {field}", None) for field in claim.unresolved]


@rule("required.diagnosis", "At least one diagnosis code.")
def _diagnosis_required(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [] if claim.diagnoses else [("no diagnosis code", None)]


@rule("required.procedure_code", "Professional lines carry a CPT/HCPCS code; institutional lines a revenue code.")
def _line_codes_required(claim: DraftClaim, _: ScrubContext) -> Problems:
    problems: Problems = []
    for line in claim.lines:
        if claim.claim_type == "professional" and not line.procedure_code:
            problems.append(("professional line without a procedure code", line.line_number))
        if claim.claim_type == "institutional" and not line.revenue_code:
            problems.append(("institutional line without a revenue code", line.line_number))
    return problems


@rule("required.billing_npi", "The billing provider NPI is present.")
def _billing_npi(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [] if claim.billing_provider_npi else [("no billing provider NPI", None)]


# ----------------------------------------------------------------------------- codes


@rule("code.icd10_format", "Diagnosis codes are shaped like ICD-10-CM codes.")
def _icd10_format(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        (f"diagnosis {index} {code!r} is not shaped like an ICD-10-CM code", None)
        for index, code in enumerate(claim.diagnoses, start=1)
        if not ICD10CM.match(code.replace(".", "").upper()) or not code.isascii()
    ]


@rule("code.icd10_valid", "Diagnosis codes exist and are billable (leaf codes) in the ICD-10-CM release.")
def _icd10_valid(claim: DraftClaim, context: ScrubContext) -> Problems:
    if context.diagnosis_problem is None:
        return []
    problems: Problems = []
    for code in claim.diagnoses:
        if ICD10CM.match(code.replace(".", "").upper()) and (
            problem := context.diagnosis_problem(code, claim.service_date_from)
        ):
            problems.append((problem, None))
    return problems


@rule("code.sex_specific", "Diagnoses the code set limits to one sex match the patient's sex.")
def _sex_specific(claim: DraftClaim, _: ScrubContext) -> Problems:
    if claim.patient_sex not in {"F", "M"}:
        return []
    return [(conflict, None) for code in claim.diagnoses if (conflict := sex_conflict(code, claim.patient_sex))]


@rule("code.age_specific", "Diagnoses the code set limits to an age range match the patient's age.")
def _age_specific(claim: DraftClaim, _: ScrubContext) -> Problems:
    age = claim.patient_age_on(claim.service_date_from)
    if age is None:
        return []
    return [(conflict, None) for code in claim.diagnoses if (conflict := age_conflict(code, age))]


@rule("code.diagnosis_duplicate", "No diagnosis code is listed twice.")
def _diagnosis_duplicate(claim: DraftClaim, _: ScrubContext) -> Problems:
    seen: set[str] = set()
    problems: Problems = []
    for code in claim.diagnoses:
        key = code.replace(".", "").upper()
        if key in seen:
            problems.append((f"diagnosis {code} is listed twice", None))
        seen.add(key)
    return problems


@rule(
    "code.procedure_format",
    "Procedure codes are CPT (5 digits, or 4 + F/T/U/M) or HCPCS Level II, in force on the date of service.",
)
def _procedure_format(claim: DraftClaim, context: ScrubContext) -> Problems:
    return [
        (problem, line.line_number)
        for line in claim.lines
        if line.procedure_code and (problem := context.procedure_problem(line.procedure_code, line.service_date))
    ]


@rule("code.revenue_format", "Revenue codes are four digits in a NUBC revenue category.")
def _revenue_format(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        (problem, line.line_number)
        for line in claim.lines
        if line.revenue_code and (problem := codesets.validate_revenue_code(line.revenue_code, line.service_date))
    ]


@rule("modifier.format", f"Modifiers are two letters or digits (known HCPCS modifiers); at most {MAX_MODIFIERS}.")
def _modifier_format(claim: DraftClaim, context: ScrubContext) -> Problems:
    problems: Problems = []
    for line in claim.lines:
        if len(line.modifiers) > MAX_MODIFIERS:
            problems.append((f"{len(line.modifiers)} modifiers; at most {MAX_MODIFIERS}", line.line_number))
        problems.extend(
            (problem, line.line_number)
            for modifier in line.modifiers
            if (problem := context.modifier_problem(modifier, line.service_date))
        )
    return problems


@rule("modifier.duplicate", "No modifier repeats on a line.")
def _modifier_duplicate(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        ("a modifier repeats on the line", line.line_number)
        for line in claim.lines
        if len(set(line.modifiers)) != len(line.modifiers)
    ]


@rule("modifier.laterality", "A line is not both left (LT) and right (RT); bilateral is modifier 50.")
def _laterality(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        ("LT and RT on one line; bill bilateral services with 50 or as two lines", line.line_number)
        for line in claim.lines
        if {"LT", "RT"} <= set(line.modifiers)
    ]


@rule("modifier.without_procedure", "Modifiers only accompany a procedure code.")
def _modifier_without_procedure(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        ("modifiers without a procedure code", line.line_number)
        for line in claim.lines
        if line.modifiers and not line.procedure_code
    ]


# ----------------------------------------------------------------------------- place of service


@rule("pos.valid", "The place of service is a CMS place-of-service code.")
def _pos_valid(claim: DraftClaim, _: ScrubContext) -> Problems:
    problems: Problems = []
    if claim.claim_type == "professional" and (problem := codesets.validate_place_of_service(claim.place_of_service)):
        problems.append((problem, None))
    problems.extend(
        (problem, line.line_number)
        for line in claim.lines
        if line.place_of_service and (problem := codesets.validate_place_of_service(line.place_of_service))
    )
    return problems


@rule("pos.claim_type", "Institutional claims come from a facility setting, not an office.")
def _pos_claim_type(claim: DraftClaim, _: ScrubContext) -> Problems:
    if claim.claim_type != "institutional" or claim.place_of_service in FACILITY_PLACES_OF_SERVICE:
        return []
    return [(f"place of service {claim.place_of_service} is not a facility setting for an institutional claim", None)]


# ----------------------------------------------------------------------------- dates


@rule("date.future", "No date of service is in the future.")
def _future(claim: DraftClaim, context: ScrubContext) -> Problems:
    problems: Problems = []
    if claim.service_date_to > context.today:
        problems.append((f"claim ends {claim.service_date_to}, after today", None))
    for line in claim.lines:
        if max(line.service_date, line.service_date_end or line.service_date) > context.today:
            problems.append(("line date of service is in the future", line.line_number))
    return problems


@rule("date.order", "Every period starts on or before its end.")
def _order(claim: DraftClaim, _: ScrubContext) -> Problems:
    problems: Problems = []
    if claim.service_date_from > claim.service_date_to:
        problems.append(("claim period ends before it starts", None))
    problems.extend(
        ("line period ends before it starts", line.line_number)
        for line in claim.lines
        if line.service_date_end and line.service_date_end < line.service_date
    )
    return problems


@rule("date.within_claim", "Every line's dates fall within the claim's period.")
def _within_claim(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        ("line dates fall outside the claim's period", line.line_number)
        for line in claim.lines
        if line.service_date < claim.service_date_from
        or (line.service_date_end or line.service_date) > claim.service_date_to
    ]


@rule("date.span", f"A claim covers at most {MAX_CLAIM_SPAN_DAYS} days.")
def _span(claim: DraftClaim, _: ScrubContext) -> Problems:
    days = (claim.service_date_to - claim.service_date_from).days + 1
    return [(f"claim spans {days} days; at most {MAX_CLAIM_SPAN_DAYS}", None)] if days > MAX_CLAIM_SPAN_DAYS else []


@rule("date.before_birth", "No service is dated before the patient's birth.")
def _before_birth(claim: DraftClaim, _: ScrubContext) -> Problems:
    born = claim.patient_birth_date
    if born is None or claim.service_date_from >= born:
        return []
    return [("service dated before the patient's birth date", None)]


@rule("timely_filing.expired", "The claim is sent within the payer's timely-filing window.")
def _timely_filing(claim: DraftClaim, context: ScrubContext) -> Problems:
    if claim.timely_filing_days is None:
        return []
    deadline = claim.service_date_to + dt.timedelta(days=claim.timely_filing_days)
    if context.today > deadline:
        return [(f"timely-filing window of {claim.timely_filing_days} days closed on {deadline}", None)]
    return []


@rule("timely_filing.closing", "Warns when the timely-filing window closes within two weeks.", Severity.WARNING)
def _timely_filing_closing(claim: DraftClaim, context: ScrubContext) -> Problems:
    if claim.timely_filing_days is None:
        return []
    deadline = claim.service_date_to + dt.timedelta(days=claim.timely_filing_days)
    days_left = (deadline - context.today).days
    if 0 <= days_left <= context.timely_filing_warning_days:
        return [(f"timely-filing window closes on {deadline} ({days_left} days left)", None)]
    return []


# ----------------------------------------------------------------------------- diagnosis pointers


@rule("pointer.required", "Professional lines point to at least one diagnosis.")
def _pointer_required(claim: DraftClaim, _: ScrubContext) -> Problems:
    if claim.claim_type != "professional":
        return []
    return [("line points to no diagnosis", line.line_number) for line in claim.lines if not line.diagnosis_pointers]


@rule("pointer.range", "Diagnosis pointers point to a listed diagnosis (at most 4 per line).")
def _pointer_range(claim: DraftClaim, _: ScrubContext) -> Problems:
    problems: Problems = []
    for line in claim.lines:
        if len(line.diagnosis_pointers) > 4:
            problems.append((f"{len(line.diagnosis_pointers)} diagnosis pointers; at most 4", line.line_number))
        problems.extend(
            (f"diagnosis pointer {pointer} but the claim lists {len(claim.diagnoses)} diagnoses", line.line_number)
            for pointer in line.diagnosis_pointers
            if not 1 <= pointer <= len(claim.diagnoses)
        )
    return problems


@rule("pointer.duplicate", "A line points to each diagnosis once.")
def _pointer_duplicate(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        ("a diagnosis pointer repeats on the line", line.line_number)
        for line in claim.lines
        if len(set(line.diagnosis_pointers)) != len(line.diagnosis_pointers)
    ]


@rule("pointer.primary_used", "The principal diagnosis is pointed to by some line.", Severity.WARNING)
def _primary_used(claim: DraftClaim, _: ScrubContext) -> Problems:
    if claim.claim_type != "professional" or not claim.lines:
        return []
    if any(1 in line.diagnosis_pointers for line in claim.lines):
        return []
    return [("no line points to the principal (first) diagnosis", None)]


# ----------------------------------------------------------------------------- providers


@rule("npi.check_digit", "Every NPI has ten digits and a valid Luhn check digit (prefix 80840).")
def _npi(claim: DraftClaim, _: ScrubContext) -> Problems:
    named = ([("billing", claim.billing_provider_npi)] if claim.billing_provider_npi else []) + list(claim.other_npis)
    return [(f"{role} provider NPI fails the check digit", None) for role, npi in named if not npi_is_valid(npi)]


# ----------------------------------------------------------------------------- units and charges


@rule("units.positive", f"Every line has between 1 and {MAX_UNITS} units.")
def _units(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        (f"{line.units} units; between 1 and {MAX_UNITS}", line.line_number)
        for line in claim.lines
        if not 1 <= line.units <= MAX_UNITS
    ]


@rule("charge.priced", "Every line has a charge, from the encounter or the tenant's fee schedule.")
def _priced(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        (f"no charge and no fee-schedule entry for {line.procedure_code or line.revenue_code}", line.line_number)
        for line in claim.lines
        if line.charge_cents is None
    ]


NO_CHARGE_CODES = frozenset({"99024"})
"""Codes billed at $0.00 to report a service, e.g. 99024, a post-operative visit inside a global period."""
_CATEGORY_II = re.compile(r"\d{4}F")
"""CPT Category II (performance measurement) codes are reported at $0.00 too."""


def _no_charge_code(code: str | None) -> bool:
    return code is not None and (code in NO_CHARGE_CODES or _CATEGORY_II.fullmatch(code) is not None)


@rule(
    "charge.positive",
    "Every line charge is greater than zero, except $0.00 reporting lines (99024 post-operative visits, "
    "CPT Category II codes).",
)
def _charge_positive(claim: DraftClaim, _: ScrubContext) -> Problems:
    return [
        ("line charge is not greater than zero", line.line_number)
        for line in claim.lines
        if line.charge_cents is not None
        and (line.charge_cents < 0 or (line.charge_cents == 0 and not _no_charge_code(line.procedure_code)))
    ]


# ----------------------------------------------------------------------------- claim shape


@rule("claim.line_count", "At least one line, at most 50 (837P) or 999 (837I).")
def _line_count(claim: DraftClaim, _: ScrubContext) -> Problems:
    limit = MAX_LINES[claim.claim_type]
    if not claim.lines:
        return [("the claim has no lines", None)]
    return [(f"{len(claim.lines)} lines; at most {limit}", None)] if len(claim.lines) > limit else []


@rule("claim.diagnosis_count", "At most 12 diagnoses (837P) or 25 (837I).")
def _diagnosis_count(claim: DraftClaim, _: ScrubContext) -> Problems:
    limit = MAX_DIAGNOSES[claim.claim_type]
    return [(f"{len(claim.diagnoses)} diagnoses; at most {limit}", None)] if len(claim.diagnoses) > limit else []


@rule("claim.frequency_reference", "Corrected and void claims (7, 8) name the original claim; originals do not.")
def _frequency_reference(claim: DraftClaim, _: ScrubContext) -> Problems:
    if claim.frequency_code in {"7", "8"} and not claim.original_claim_number:
        return [(f"frequency {claim.frequency_code} needs the payer's original claim number", None)]
    if claim.frequency_code == "1" and claim.original_claim_number:
        return [("an original claim (frequency 1) names an original claim number", None)]
    return []


@rule(
    "duplicate.claim",
    "No service repeats one already billed for the patient, payer, date and procedure (claims on hold or cancelled"
    " bill nothing and do not count).",
)
def _duplicate_claim(claim: DraftClaim, context: ScrubContext) -> Problems:
    if claim.frequency_code != "1" or not context.billed_services:
        return []
    return [
        (f"{line.procedure_code} on {line.service_date} is already billed to this payer", line.line_number)
        for line in claim.lines
        if line.procedure_code
        and (claim.patient_id, claim.payer_id, line.service_date, line.procedure_code) in context.billed_services
    ]


@rule("duplicate.line", "No line repeats another's procedure, modifiers and date.", Severity.WARNING)
def _duplicate_line(claim: DraftClaim, _: ScrubContext) -> Problems:
    seen: dict[tuple[object, ...], int] = {}
    problems: Problems = []
    for line in claim.lines:
        if not line.procedure_code:
            continue
        key = (line.procedure_code, tuple(sorted(line.modifiers)), line.service_date)
        if key in seen:
            problems.append((f"repeats line {seen[key]}; combine the units", line.line_number))
        else:
            seen[key] = line.line_number
    return problems


# ----------------------------------------------------------------------------- NCCI


@rule("ncci.ptp", "NCCI procedure-to-procedure edits: column 2 codes billed with their column 1 code.")
def _ncci_ptp(claim: DraftClaim, context: ScrubContext) -> Problems:
    if not context.ptp_edits:
        return []
    problems: Problems = []
    coded = [line for line in claim.lines if line.procedure_code]
    for first in coded:
        for second in coded:
            if first is second or first.service_date != second.service_date:
                continue
            for edit in context.ptp_edits.get((first.procedure_code or "", second.procedure_code or ""), ()):
                if not edit.in_force_on(first.service_date):
                    continue
                bypassed = edit.modifier_indicator is ModifierIndicator.ALLOWED and (
                    NCCI_ASSOCIATED_MODIFIERS.intersection(second.modifiers)
                    or NCCI_ASSOCIATED_MODIFIERS.intersection(first.modifiers)
                )
                if bypassed:
                    continue
                how = (
                    "no modifier allows it"
                    if edit.modifier_indicator is ModifierIndicator.NOT_ALLOWED
                    else "add an NCCI-associated modifier (e.g. 59, XS) if distinct"
                )
                problems.append(
                    (
                        f"{edit.column2} is bundled into {edit.column1} (line {first.line_number}); {how}",
                        second.line_number,
                    )
                )
                break
    return problems


@rule("ncci.mue", "NCCI medically unlikely edits: units per line (MAI 1) or per date of service (MAI 2, 3).")
def _ncci_mue(claim: DraftClaim, context: ScrubContext) -> Problems:
    if not context.mue_edits:
        return []
    problems: Problems = []
    per_day: dict[tuple[str, dt.date], list[int]] = defaultdict(list)
    for line in claim.lines:
        edit = context.mue_edits.get(line.procedure_code or "")
        if edit is None:
            continue
        if edit.per_date_of_service:
            per_day[(edit.code, line.service_date)].append(line.line_number)
        elif line.units > edit.max_units:
            message = f"{line.units} units of {edit.code}; the MUE allows {edit.max_units} per line"
            problems.append((message, line.line_number))
    units_by_line = {line.line_number: line.units for line in claim.lines}
    for (code, day), numbers in per_day.items():
        total = sum(units_by_line[n] for n in numbers)
        limit = context.mue_edits[code].max_units
        if total > limit:
            problems.append((f"{total} units of {code} on {day}; the MUE allows {limit} per day", numbers[-1]))
    return problems
