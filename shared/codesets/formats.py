"""Shapes of the codes a claim carries, and the 837 writer's own limits on them.

One definition for intake (which refuses a bad code with a 422), the claims scrubber (which holds a
claim that carries one) and the 837 writer (which refuses to write one): whatever passes here fits
the element the writer puts it in. Each `*_problem` function says what is wrong, or None.
"""

from __future__ import annotations

import re

ICD10CM = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
"""Letter, digit, digit or letter (O9A, Z3A), then up to four more after an optional dot (HI01-2)."""
ICD10PCS = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
"""Seven characters, digits and letters except I and O (which PCS never uses)."""
CPT = re.compile(r"^(?:\d{5}|\d{4}[FTUM])$")
"""Category I (5 digits), II (F), III (T), PLA (U) and MAAA (M)."""
HCPCS_LEVEL_II_LETTERS = "ABCDEGHJKLMPQRSTUV"
HCPCS_LEVEL_II = re.compile(rf"^[{HCPCS_LEVEL_II_LETTERS}]\d{{4}}$")
"""A section letter CMS uses (I, N, O, W-Z are unassigned; F never starts a Level II code) and 4 digits."""
PROCEDURE = re.compile(rf"^(?:\d{{5}}|\d{{4}}[FTUM]|[{HCPCS_LEVEL_II_LETTERS}]\d{{4}})$")
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
REVENUE_CODE = re.compile(r"^\d{4}$")
"""NUBC revenue code, leading zero included (0450), as SV201 and the UB-04 form locator 42 carry it."""
NDC_11 = re.compile(r"^\d{11}$")
NDC_HYPHENATED = re.compile(r"^(\d{4,5})-(\d{3,4})-(\d{1,2})$")
PLACE_OF_SERVICE = re.compile(r"^\d{2}$")
NUBC_TWO_CHARACTER = re.compile(r"^[0-9A-Z]{2}$")
"""Occurrence, occurrence span, value and condition codes (HI segments: BH, BI, BE, BG)."""
TAXONOMY = re.compile(r"^\d{3}[0-9A-Z]{6}X$")
TAX_ID = re.compile(r"^\d{9}$")

MAX_MODIFIERS = 4
"""SV101-3..6 and SV202-3..6: four modifier slots."""
MAX_DIAGNOSIS_POINTERS = 4
"""SV107-1..4."""
NDC_DIGITS = 11
"""LIN03 with qualifier N4: the 11-digit 5-4-2 form, no hyphens."""


def icd10cm_shape_problem(code: str) -> str | None:
    if ICD10CM.match(code):
        return None
    return f"{code!r} is not shaped like an ICD-10-CM code (letter, digit, character, optional dot, up to 4)"


def icd10pcs_shape_problem(code: str) -> str | None:
    if ICD10PCS.match(code):
        return None
    return f"{code!r} is not an ICD-10-PCS code (7 letters or digits, no I or O)"


def is_cpt(code: str) -> bool:
    return CPT.match(code) is not None


def is_hcpcs_level_ii(code: str) -> bool:
    return HCPCS_LEVEL_II.match(code) is not None


def procedure_shape_problem(code: str) -> str | None:
    if PROCEDURE.match(code):
        return None
    return (
        f"{code!r} is neither CPT (5 digits, or 4 digits and F/T/U/M) nor HCPCS Level II "
        f"(one of the letters {HCPCS_LEVEL_II_LETTERS} and 4 digits)"
    )


def modifier_shape_problem(modifier: str) -> str | None:
    return None if MODIFIER.match(modifier) else f"modifier {modifier!r} must be 2 capital letters or digits"


def revenue_code_shape_problem(code: str) -> str | None:
    return None if REVENUE_CODE.match(code) else f"revenue code {code!r} must be 4 digits (e.g. 0450)"


def ndc_problem(code: str) -> str | None:
    if NDC_11.match(code):
        return None
    return f"NDC {code!r} must be 11 digits in 5-4-2 form without hyphens (10-digit 4-4-2, 5-3-2, 5-4-1 are converted)"


def ndc_to_11(code: str) -> str | None:
    """The 11-digit 5-4-2 NDC of a labeled NDC: `0002-1433-80` (4-4-2) -> `00002143380`, `12345-678-90`
    (5-3-2) -> `12345067890`, `12345-6789-1` (5-4-1) -> `12345678901`; an 11-digit code as it is.

    None when the text is neither; a bare 10-digit code is ambiguous (which segment is short?) and
    is refused rather than guessed."""
    if NDC_11.match(code):
        return code
    parts = NDC_HYPHENATED.match(code)
    if parts is None:
        return None
    labeler, product, package = parts.groups()
    if len(labeler) + len(product) + len(package) not in (10, 11):
        return None
    return labeler.zfill(5) + product.zfill(4) + package.zfill(2)


def ndc_hyphenated(code: str) -> str:
    """The 11-digit NDC with hyphens (5-4-2), as printed on paper claims and statements."""
    return f"{code[:5]}-{code[5:9]}-{code[9:]}"


def nubc_code_shape_problem(kind: str, code: str) -> str | None:
    return None if NUBC_TWO_CHARACTER.match(code) else f"{kind} code {code!r} must be 2 capital letters or digits"


def taxonomy_problem(code: str) -> str | None:
    return None if TAXONOMY.match(code) else f"taxonomy {code!r} must be 10 characters like 207Q00000X"


def tax_id_problem(tax_id: str) -> str | None:
    return None if TAX_ID.match(tax_id) else "a tax id (EIN or SSN) is 9 digits without hyphens"
