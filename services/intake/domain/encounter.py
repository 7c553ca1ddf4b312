"""Pure rules of a coded encounter: what makes it billable, checked without I/O.

Every rule answers with `Problem`s whose `loc` names the request field the way pydantic does, so
the API can return them all in one 422.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from services.intake.request_wire import (
    EncounterBody,
    PriorPayerLineW,
    ProcedureBody,
    ServiceLineBody,
    lines_of,
    other_procedures_of,
    prior_payers_of,
)
from services.intake.schemas import PriorPayerLineIn
from shared import codesets
from shared.codesets.formats import is_cpt
from shared.codesets.releases import Release

Location = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    loc: Location
    msg: str


class EncounterRejected(ValueError):
    """The encounter breaks rules; each problem names its field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = problems


def diagnosis_release(day: dt.date) -> Release:
    """The ICD-10-CM release in force on `day` (the shared code sets: the same the scrubber reads)."""
    release = codesets.icd10cm_release(day)
    if release is None:
        raise RuntimeError("no ICD-10-CM release: install simple-icd-10-cm or run `claimflow codes load icd10cm`")
    return release


def total_charge_cents(lines: Sequence[ServiceLineBody]) -> int:
    """Sum of the line charges; lines without a charge are priced later from the fee schedule."""
    return sum(line.charge_cents or 0 for line in lines)


@dataclass(slots=True)
class CodeVerdicts:
    """The code-set verdicts of one batch: each code judged once per release or date of service (a batch names the
    same few codes again and again). Pure: the same code on the same day always gets the same verdict."""

    diagnoses: dict[tuple[str, str], str | None] = dataclasses.field(default_factory=dict)
    procedures: dict[tuple[str, dt.date], str | None] = dataclasses.field(default_factory=dict)
    modifiers: dict[tuple[str, dt.date], str | None] = dataclasses.field(default_factory=dict)

    def diagnosis(self, release: Release, code: str) -> str | None:
        key = (release.name, code)
        if key not in self.diagnoses:
            self.diagnoses[key] = release.problem(code)
        return self.diagnoses[key]

    def procedure(self, code: str, day: dt.date) -> str | None:
        key = (code, day)
        if key not in self.procedures:
            self.procedures[key] = codesets.validate_procedure(code, day)
        return self.procedures[key]

    def modifier(self, code: str, day: dt.date) -> str | None:
        key = (code, day)
        if key not in self.modifiers:
            self.modifiers[key] = codesets.validate_modifier(code, day)
        return self.modifiers[key]


def check_encounter(
    encounter: EncounterBody,
    *,
    today: dt.date,
    release: Release,
    cpt_codes: frozenset[str] | None = None,
    verdicts: CodeVerdicts | None = None,
) -> list[Problem]:
    """Every rule the encounter breaks; `cpt_codes` is the tenant's licensed list (None: none loaded); `verdicts`
    the code verdicts shared by a batch's encounters."""
    verdicts = CodeVerdicts() if verdicts is None else verdicts
    return [
        *check_dates(encounter, today),
        *check_diagnoses(encounter, release, verdicts),
        *check_lines(encounter, cpt_codes, verdicts),
        *check_claim_frequency(encounter),
        *check_institutional(encounter, release),
        *check_prior_payers(encounter),
        *check_claim_kind_limits(encounter),
        *check_accident(encounter),
    ]


PROFESSIONAL_MAX_DIAGNOSES = 12
PROFESSIONAL_MAX_LINES = 50
INSTITUTIONAL_ONLY_FREQUENCIES = frozenset({"2", "3", "4", "5"})


def check_claim_kind_limits(encounter: EncounterBody) -> list[Problem]:
    """What one claim kind carries and the other does not: an 837P has 12 diagnoses, 50 lines, no interim bills;
    anesthesia minutes, ambulance trips, DME certificates and ordering/supervising providers are 837P only."""
    problems = []
    if encounter.claim_type == "professional":
        if len(encounter.diagnosis_codes) > PROFESSIONAL_MAX_DIAGNOSES:
            problems.append(Problem(("diagnosis_codes",), f"an 837P carries at most {PROFESSIONAL_MAX_DIAGNOSES}"))
        if len(encounter.lines) > PROFESSIONAL_MAX_LINES:
            problems.append(Problem(("lines",), f"an 837P carries at most {PROFESSIONAL_MAX_LINES} lines"))
        if encounter.frequency_code in INSTITUTIONAL_ONLY_FREQUENCIES:
            problems.append(
                Problem(("frequency_code",), "interim bills (2, 3, 4) and late charges (5) are institutional claims")
            )
        return problems
    for name in ("accident", "onset_date", "ambulance", "supervising_provider_npi"):
        if getattr(encounter, name) is not None:
            problems.append(Problem((name,), "is only sent on a professional claim (837P)"))
    if not encounter.claim_options.provider_signature_on_file:
        problems.append(Problem(("claim_options", "provider_signature_on_file"), "is only sent on an 837P"))
    for index, line in enumerate(lines_of(encounter)):
        if line.unit_basis != "UN":
            problems.append(Problem(("lines", index, "unit_basis"), "anesthesia minutes (MJ) are billed on an 837P"))
        for name in ("ordering_provider_npi", "supervising_provider_npi", "dme_certificate"):
            if getattr(line, name) is not None:
                problems.append(Problem(("lines", index, name), "is only sent on a professional claim (837P)"))
    return problems


def check_accident(encounter: EncounterBody) -> list[Problem]:
    accident = encounter.accident
    if accident is None:
        return []
    problems = []
    if "AA" in accident.causes and accident.state is None:
        problems.append(Problem(("accident", "state"), "an auto accident (AA) names the state it happened in"))
    if "AA" not in accident.causes and accident.state is not None:
        problems.append(Problem(("accident", "state"), "only an auto accident (AA) names a state"))
    if accident.occurred_on is None and {"AA", "OA"} & set(accident.causes):
        problems.append(Problem(("accident", "occurred_on"), "an accident needs its date"))
    if len(set(accident.causes)) != len(accident.causes):
        problems.append(Problem(("accident", "causes"), "a cause is repeated"))
    return problems


def check_dates(encounter: EncounterBody, today: dt.date) -> list[Problem]:
    problems = []
    start, end = encounter.service_date_from, encounter.service_date_to
    if end < start:
        problems.append(Problem(("service_date_to",), f"{end} is before service_date_from {start}"))
    for field, day in (("service_date_from", start), ("service_date_to", end)):
        if day > today:
            problems.append(Problem((field,), f"{day} is in the future; bill services already rendered"))
    for index, line in enumerate(lines_of(encounter)):
        if not start <= line.service_date <= end:
            problems.append(
                Problem(
                    ("lines", index, "service_date"), f"{line.service_date} is outside the encounter {start}..{end}"
                )
            )
        if line.service_date_end is not None and not line.service_date <= line.service_date_end <= end:
            problems.append(
                Problem(
                    ("lines", index, "service_date_end"), "must be on or after service_date and within the encounter"
                )
            )
    return problems


def check_diagnoses(encounter: EncounterBody, release: Release, verdicts: CodeVerdicts) -> list[Problem]:
    problems = []
    for index, code in enumerate(encounter.diagnosis_codes):
        reason = verdicts.diagnosis(release, code.upper())
        if reason is not None:
            problems.append(Problem(("diagnosis_codes", index), reason))
    bare = [code.upper().replace(".", "") for code in encounter.diagnosis_codes]
    if len(set(bare)) == len(bare):
        return problems
    seen = Counter(bare)
    for index, code in enumerate(encounter.diagnosis_codes):
        if seen[bare[index]] > 1:
            problems.append(Problem(("diagnosis_codes", index), f"{code} is listed more than once"))
    return problems


def check_lines(encounter: EncounterBody, cpt_codes: frozenset[str] | None, verdicts: CodeVerdicts) -> list[Problem]:
    problems = []
    numbers = [line.line_number for line in encounter.lines]
    repeated = Counter(numbers) if len(set(numbers)) != len(numbers) else None
    diagnosis_count = len(encounter.diagnosis_codes)
    professional = encounter.claim_type == "professional"
    for index, line in enumerate(lines_of(encounter)):
        where: Location = ("lines", index)
        if repeated is not None and repeated[line.line_number] > 1:
            problems.append(Problem((*where, "line_number"), f"line number {line.line_number} is used more than once"))
        problems.extend(_check_pointers(line, where, diagnosis_count, required=professional))
        if professional and line.procedure_code is None:
            problems.append(Problem((*where, "procedure_code"), "a professional line needs a CPT/HCPCS code"))
        if not professional and line.revenue_code is None:
            problems.append(Problem((*where, "revenue_code"), "an institutional line needs a revenue code"))
        code = line.procedure_code
        if code is not None and cpt_codes is not None and is_cpt(code) and code not in cpt_codes:
            problems.append(Problem((*where, "procedure_code"), f"{code} is not in the CPT codes loaded for you"))
        elif code is not None and (reason := verdicts.procedure(code, line.service_date)) is not None:
            problems.append(Problem((*where, "procedure_code"), reason))
        for position, modifier in enumerate(line.modifiers):
            if (reason := verdicts.modifier(modifier, line.service_date)) is not None:
                problems.append(Problem((*where, "modifiers", position), reason))
        if len(set(line.modifiers)) != len(line.modifiers):
            problems.append(Problem((*where, "modifiers"), "a modifier is repeated"))
    return problems


def _check_pointers(line: ServiceLineBody, where: Location, diagnosis_count: int, *, required: bool) -> list[Problem]:
    problems = []
    if required and not line.diagnosis_pointers:
        problems.append(Problem((*where, "diagnosis_pointers"), "a professional line points at 1 to 4 diagnoses"))
    for pointer in line.diagnosis_pointers:
        if pointer > diagnosis_count:
            problems.append(
                Problem(
                    (*where, "diagnosis_pointers"),
                    f"pointer {pointer} names no diagnosis (the encounter has {diagnosis_count})",
                )
            )
    if len(set(line.diagnosis_pointers)) != len(line.diagnosis_pointers):
        problems.append(Problem((*where, "diagnosis_pointers"), "a pointer is repeated"))
    return problems


def check_claim_frequency(encounter: EncounterBody) -> list[Problem]:
    if encounter.frequency_code in ("7", "8") and encounter.original_claim_number is None:
        return [Problem(("original_claim_number",), "a replacement (7) or void (8) names the payer's original claim")]
    if encounter.frequency_code == "1" and encounter.original_claim_number is not None:
        return [Problem(("original_claim_number",), "only a replacement (7) or void (8) names an original claim")]
    return []


def check_institutional(encounter: EncounterBody, release: Release) -> list[Problem]:
    details = encounter.institutional
    if encounter.claim_type == "professional":
        return [Problem(("institutional",), "only an institutional claim has these")] if details else []
    if details is None:
        return [Problem(("institutional",), "an institutional claim needs facility type, status and attending")]
    problems = []
    if details.present_on_admission and len(details.present_on_admission) != len(encounter.diagnosis_codes):
        problems.append(
            Problem(("institutional", "present_on_admission"), "give one indicator per diagnosis code, or none")
        )
    if details.admitting_diagnosis is not None:
        reason = release.problem(details.admitting_diagnosis.upper())
        if reason is not None:
            problems.append(Problem(("institutional", "admitting_diagnosis"), reason))
    if details.admission is not None and details.admission.admitted_on > encounter.service_date_from:
        problems.append(Problem(("institutional", "admission", "admitted_on"), "admission is after the first service"))
    for index, code in enumerate(details.patient_reasons_for_visit):
        reason = release.problem(code.upper())
        if reason is not None:
            problems.append(Problem(("institutional", "patient_reasons_for_visit", index), reason))
    if details.other_procedures and details.principal_procedure is None:
        problems.append(
            Problem(("institutional", "principal_procedure"), "other procedures need the principal procedure first")
        )
    procedures: list[tuple[Location, ProcedureBody]] = [
        (("other_procedures", index), procedure) for index, procedure in enumerate(other_procedures_of(details))
    ]
    if details.principal_procedure is not None:
        procedures.insert(0, (("principal_procedure",), details.principal_procedure))
    for where, procedure in procedures:
        if procedure.date > encounter.service_date_to:
            problems.append(Problem(("institutional", *where, "date"), "is after the end of the stay"))
    if details.discharge_hour is not None and details.patient_status_code == "30":
        problems.append(Problem(("institutional", "discharge_hour"), "a patient still in (status 30) has no discharge"))
    return problems


def check_prior_payers(encounter: EncounterBody) -> list[Problem]:
    """An earlier payer's adjudication must balance: charge - adjustments = paid, per line and per claim."""
    problems = []
    charges = {line.line_number: line.charge_cents for line in encounter.lines}
    for index, prior in enumerate(prior_payers_of(encounter)):
        where: Location = ("prior_payer_adjudications", index)
        if prior.payer_id == encounter.payer_id:
            problems.append(Problem((*where, "payer_id"), "the payer billed now cannot also be an earlier payer"))
        line_adjustments = 0
        adjudicated_lines: Sequence[PriorPayerLineIn | PriorPayerLineW] = prior.lines
        for line_index, adjudicated in enumerate(adjudicated_lines):
            line_where: Location = (*where, "lines", line_index)
            if adjudicated.line_number not in charges:
                problems.append(Problem((*line_where, "line_number"), f"no line {adjudicated.line_number}"))
                continue
            adjusted = sum(a.amount_cents for a in adjudicated.adjustments)
            line_adjustments += adjusted
            charge = charges[adjudicated.line_number]
            if charge is not None and charge - adjusted != adjudicated.paid_cents:
                problems.append(
                    Problem((*line_where, "paid_cents"), f"charge {charge} - adjustments {adjusted} is not the paid")
                )
        if all(c is not None for c in charges.values()):
            total = sum(c or 0 for c in charges.values())
            adjusted = line_adjustments + sum(a.amount_cents for a in prior.claim_adjustments)
            if total - adjusted != prior.paid_cents:
                problems.append(
                    Problem((*where, "paid_cents"), f"charges {total} - adjustments {adjusted} is not the paid amount")
                )
    return problems
