"""Pydantic field types for codes, one per kind: an API that takes a code refuses it with the same
words intake, the scrubber and the 837 writer would use (a 422 whose `loc` names the field)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field

from shared import codesets
from shared.codesets.formats import ndc_problem, ndc_to_11


def rule(problem: Callable[[str], str | None]) -> AfterValidator:
    """A validator that refuses a value with `problem`'s own message."""

    def check(value: str) -> str:
        reason = problem(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    return AfterValidator(check)


def _ndc_11(value: str) -> str:
    converted = ndc_to_11(value)
    if converted is None:
        raise ValueError(ndc_problem(value))
    return converted


ProcedureCode = Annotated[
    str,
    Field(examples=["99213"], description="CPT (5 digits, or 4 + F/T/U/M) or HCPCS Level II (letter + 4 digits)."),
    rule(codesets.validate_procedure),
]
Modifier = Annotated[str, Field(examples=["25"]), rule(codesets.validate_modifier)]
PlaceOfService = Annotated[str, Field(examples=["11"]), rule(codesets.validate_place_of_service)]
RevenueCode = Annotated[str, Field(examples=["0450"]), rule(codesets.validate_revenue_code)]
Ndc = Annotated[
    str,
    Field(
        examples=["00002143380"],
        description="11 digits (5-4-2); a hyphenated 10-digit NDC (4-4-2, 5-3-2, 5-4-1) is converted to 11 digits.",
    ),
    AfterValidator(_ndc_11),
]
DiagnosisCodeShape = Annotated[str, Field(examples=["J06.9"]), rule(codesets.formats.icd10cm_shape_problem)]
"""ICD-10-CM by shape; whether it is billable depends on the date of service (`validate_icd10cm`)."""
Icd10PcsCode = Annotated[str, Field(examples=["0DTJ4ZZ"]), rule(codesets.formats.icd10pcs_shape_problem)]
OccurrenceCode = Annotated[str, Field(examples=["11"]), rule(codesets.validate_occurrence_code)]
OccurrenceSpanCode = Annotated[str, Field(examples=["74"]), rule(codesets.validate_occurrence_span_code)]
ValueCode = Annotated[str, Field(examples=["80"]), rule(codesets.validate_value_code)]
ConditionCode = Annotated[str, Field(examples=["D9"]), rule(codesets.validate_condition_code)]
Taxonomy = Annotated[str, Field(examples=["207Q00000X"]), rule(codesets.validate_taxonomy)]
TaxId = Annotated[str, rule(codesets.validate_tax_id)]
