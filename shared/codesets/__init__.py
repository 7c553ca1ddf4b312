"""One code-set module for every service: is a code billable on a date, and what does it mean.

Intake refuses with these rules, the claims scrubber holds with them, the 837 writer's own limits
are their shapes (`formats`), so whatever intake accepts the 837 can carry. The API is two calls
per kind: `validate_<kind>(code, date) -> problem | None` and `describe(kind, code) -> text | None`.
ICD-10-CM/PCS and HCPCS releases are chosen by the date of service (see `releases`); the loaded
files live in `$CLAIMFLOW_CODESETS_DIR` (see `store`).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path

from shared.codesets import formats, tables
from shared.codesets.formats import ndc_hyphenated, ndc_to_11
from shared.codesets.releases import CodeSetName, Release, fiscal_year_of, fiscal_year_start, release_in_force
from shared.codesets.store import CodeSetStore, configured_directory

__all__ = [
    "CodeKind",
    "CodeSetName",
    "CodeSetStore",
    "Release",
    "current_store",
    "describe",
    "describe_acknowledgment_reason",
    "describe_claim_status_composite",
    "fiscal_year_of",
    "fiscal_year_start",
    "icd10cm_release",
    "icd10pcs_release",
    "ndc_hyphenated",
    "ndc_to_11",
    "use_directory",
    "validate_condition_code",
    "validate_icd10cm",
    "validate_icd10pcs",
    "validate_modifier",
    "validate_ndc",
    "validate_occurrence_code",
    "validate_occurrence_span_code",
    "validate_place_of_service",
    "validate_procedure",
    "validate_revenue_code",
    "validate_tax_id",
    "validate_taxonomy",
    "validate_value_code",
]


class CodeKind(StrEnum):
    ICD10CM = "icd10cm"
    ICD10PCS = "icd10pcs"
    PROCEDURE = "procedure"
    MODIFIER = "modifier"
    PLACE_OF_SERVICE = "place_of_service"
    REVENUE = "revenue"
    OCCURRENCE = "occurrence"
    OCCURRENCE_SPAN = "occurrence_span"
    VALUE = "value"
    CONDITION = "condition"
    CARC = "carc"
    RARC = "rarc"
    CLAIM_STATUS_CATEGORY = "claim_status_category"
    CLAIM_STATUS_CODE = "claim_status_code"
    ENTITY = "entity"
    CLAIM_STATUS = "claim_status"
    """835 CLP02."""
    ADJUSTMENT_GROUP = "adjustment_group"
    """CAS01: CO, CR, OA, PI, PR."""


_store: CodeSetStore | None = None


def current_store() -> CodeSetStore:
    """The process's store: `$CLAIMFLOW_CODESETS_DIR` (default `.local/codesets`) and packaged data."""
    global _store
    if _store is None:
        _store = CodeSetStore(configured_directory())
    return _store


def use_directory(directory: Path | None, *, packaged: bool = True) -> CodeSetStore:
    """Read code sets from `directory` from now on (tools and tests); returns the new store."""
    global _store
    _store = CodeSetStore(directory, packaged=packaged)
    return _store


def _release(code_set: CodeSetName, day: dt.date | None) -> Release | None:
    releases = current_store().releases(code_set)
    if not releases:
        return None
    return release_in_force(releases, day) if day is not None else releases[-1]


def icd10cm_release(day: dt.date) -> Release | None:
    return _release(CodeSetName.ICD10CM, day)


def icd10pcs_release(day: dt.date) -> Release | None:
    return _release(CodeSetName.ICD10PCS, day)


def validate_icd10cm(code: str, date: dt.date | None = None) -> str | None:
    """A diagnosis code billable on `date` (a leaf of the release in force), dot optional."""
    release = _release(CodeSetName.ICD10CM, date)
    return release.problem(code) if release is not None else formats.icd10cm_shape_problem(code)


def validate_icd10pcs(code: str, date: dt.date | None = None) -> str | None:
    """An inpatient procedure code: 7 characters; on the release in force when one is loaded."""
    release = _release(CodeSetName.ICD10PCS, date)
    return release.problem(code) if release is not None else formats.icd10pcs_shape_problem(code)


def validate_procedure(code: str, date: dt.date | None = None) -> str | None:
    """CPT (shape: the AMA's list is licensed per customer) or HCPCS Level II (on the loaded
    release in force on `date`, not discontinued, when one is loaded)."""
    if (problem := formats.procedure_shape_problem(code)) is not None:
        return problem
    if formats.is_hcpcs_level_ii(code) and (release := _release(CodeSetName.HCPCS, date)) is not None:
        return release.problem(code, date)
    return None


def validate_modifier(code: str, date: dt.date | None = None) -> str | None:
    """Two characters; a HCPCS Level II modifier (any letter in it, except the CPT anesthesia physical
    status modifiers P1-P6) must be on the loaded HCPCS release when one is loaded."""
    if (problem := formats.modifier_shape_problem(code)) is not None:
        return problem
    if code.isdigit() or (code[0] == "P" and code[1] in "123456"):
        return None
    release = _release(CodeSetName.HCPCS, date)
    if release is None or not release.modifiers:
        return None
    return release.modifier_problem(code, date)


def validate_place_of_service(code: str, date: dt.date | None = None) -> str | None:
    if code in tables.PLACES_OF_SERVICE:
        return None
    return f"{code!r} is not a CMS place-of-service code"


def validate_revenue_code(code: str, date: dt.date | None = None) -> str | None:
    """Four digits in a NUBC revenue category (0450 emergency room); 0001, the total line, is not a service."""
    if (problem := formats.revenue_code_shape_problem(code)) is not None:
        return problem
    if code[:3] not in tables.REVENUE_CATEGORIES:
        return f"revenue code {code} is in no NUBC revenue category"
    return None


def validate_ndc(code: str, date: dt.date | None = None) -> str | None:
    return formats.ndc_problem(code)


def validate_occurrence_code(code: str, date: dt.date | None = None) -> str | None:
    return formats.nubc_code_shape_problem("occurrence", code)


def validate_occurrence_span_code(code: str, date: dt.date | None = None) -> str | None:
    return formats.nubc_code_shape_problem("occurrence span", code)


def validate_value_code(code: str, date: dt.date | None = None) -> str | None:
    return formats.nubc_code_shape_problem("value", code)


def validate_condition_code(code: str, date: dt.date | None = None) -> str | None:
    return formats.nubc_code_shape_problem("condition", code)


def validate_taxonomy(code: str, date: dt.date | None = None) -> str | None:
    return formats.taxonomy_problem(code)


def validate_tax_id(code: str, date: dt.date | None = None) -> str | None:
    return formats.tax_id_problem(code)


_TABLES: dict[CodeKind, dict[str, str]] = {
    CodeKind.PLACE_OF_SERVICE: tables.PLACES_OF_SERVICE,
    CodeKind.OCCURRENCE: tables.OCCURRENCE_CODES,
    CodeKind.OCCURRENCE_SPAN: tables.OCCURRENCE_SPAN_CODES,
    CodeKind.VALUE: tables.VALUE_CODES,
    CodeKind.CONDITION: tables.CONDITION_CODES,
    CodeKind.CLAIM_STATUS_CATEGORY: tables.CLAIM_STATUS_CATEGORIES,
    CodeKind.CLAIM_STATUS_CODE: tables.CLAIM_STATUS_CODES,
    CodeKind.ENTITY: tables.ENTITY_IDENTIFIERS,
    CodeKind.CLAIM_STATUS: tables.CLAIM_STATUSES,
    CodeKind.ADJUSTMENT_GROUP: tables.ADJUSTMENT_GROUPS,
}


def describe(kind: CodeKind | str, code: str, date: dt.date | None = None) -> str | None:
    """What `code` means, from the loaded lists or the built-in ones; None when neither knows it."""
    kind = CodeKind(kind)
    store = current_store()
    if kind in (CodeKind.CARC, CodeKind.RARC):
        loaded = store.code_list(kind.value).get(code)
        return loaded or (tables.CARCS if kind is CodeKind.CARC else tables.RARCS).get(code)
    if kind is CodeKind.REVENUE:
        return tables.REVENUE_CATEGORIES.get(code[:3]) if formats.REVENUE_CODE.match(code) else None
    if kind in (CodeKind.ICD10CM, CodeKind.ICD10PCS):
        code_set = CodeSetName(kind.value)
        release = _release(code_set, date)
        return None if release is None else store.descriptions(code_set, release.name).get(code.replace(".", ""))
    if kind is CodeKind.PROCEDURE:
        release = _release(CodeSetName.HCPCS, date)
        return None if release is None else store.descriptions(CodeSetName.HCPCS, release.name).get(code)
    if kind is CodeKind.MODIFIER:
        release = _release(CodeSetName.HCPCS, date)
        return None if release is None else store.descriptions(CodeSetName.HCPCS, release.name).get(f"mod:{code}")
    return _TABLES[kind].get(code)


def describe_claim_status_composite(composite: str) -> str | None:
    """An STC composite such as `A7:164:IL`: category, status and entity in words; None when the
    category is unknown."""
    category, _, rest = composite.partition(":")
    status, _, entity = rest.partition(":")
    words = describe(CodeKind.CLAIM_STATUS_CATEGORY, category)
    if words is None:
        return None
    if status and (status_words := describe(CodeKind.CLAIM_STATUS_CODE, status)):
        words = f"{words}: {status_words}"
    if entity and (entity_words := describe(CodeKind.ENTITY, entity)):
        words = f"{words} ({entity_words})"
    return words


def describe_acknowledgment_reason(reason: str) -> str | None:
    """A 999 rejection reason as claims records it (`999 IK5 R`, `IK5 5`, `IK3 NM1 at 12 code 8`,
    `IK4 NM109 code 7`, `999 AK9 R`, `AK9 5`) in words; None when it is not one of those."""
    words = reason.removeprefix("999 ").split()
    if len(words) < 2:
        return None
    segment, code = words[0], words[-1]
    verdict = len(words) == 2 and reason.startswith("999 ")
    table = {
        "IK5": tables.ACKNOWLEDGMENT_VERDICTS if verdict else tables.TRANSACTION_SET_ERRORS,
        "AK9": tables.ACKNOWLEDGMENT_VERDICTS if verdict else tables.GROUP_ERRORS,
        "IK3": tables.SEGMENT_ERRORS,
        "IK4": tables.ELEMENT_ERRORS,
    }.get(segment)
    if table is None or (segment in ("IK3", "IK4") and words[-2] != "code"):
        return None
    return table.get(code)
