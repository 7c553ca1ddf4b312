"""Shapes of the codes a claim carries; each check says what is wrong, or None when the code is fine.

CPT is the AMA's: none ships here. Its shape is checked (Category I: five digits; Category II,
III and PLA: four digits and F, T or U) and, when the customer has loaded its licensed list, the
code must be on it. HCPCS Level II codes are a letter and four digits.
"""

from __future__ import annotations

import re

from services.intake.domain.place_of_service import PLACES_OF_SERVICE

CPT = re.compile(r"^(\d{5}|\d{4}[FTU])$")
HCPCS_LEVEL_II = re.compile(r"^[A-Z]\d{4}$")
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
REVENUE_CODE = re.compile(r"^\d{4}$")
NDC_11 = re.compile(r"^\d{11}$")
TAXONOMY = re.compile(r"^\d{3}[0-9A-Z]{6}X$")
TAX_ID = re.compile(r"^\d{9}$")
MAX_MODIFIERS = 4


def is_cpt(code: str) -> bool:
    return CPT.match(code) is not None


def procedure_code_problem(code: str) -> str | None:
    if CPT.match(code) or HCPCS_LEVEL_II.match(code):
        return None
    return f"{code!r} is neither CPT (5 digits, or 4 digits and F/T/U) nor HCPCS Level II (a letter and 4 digits)"


def modifier_problem(modifier: str) -> str | None:
    return None if MODIFIER.match(modifier) else f"modifier {modifier!r} must be 2 letters or digits"


def place_of_service_problem(code: str) -> str | None:
    if code in PLACES_OF_SERVICE:
        return None
    return f"{code!r} is not a CMS place-of-service code"


def revenue_code_problem(code: str) -> str | None:
    return None if REVENUE_CODE.match(code) else f"revenue code {code!r} must be 4 digits (e.g. 0450)"


def ndc_problem(code: str) -> str | None:
    return None if NDC_11.match(code) else f"NDC {code!r} must be 11 digits in 5-4-2 form without hyphens"


def taxonomy_problem(code: str) -> str | None:
    return None if TAXONOMY.match(code) else f"taxonomy {code!r} must be 10 characters like 207Q00000X"


def tax_id_problem(tax_id: str) -> str | None:
    return None if TAX_ID.match(tax_id) else "a tax id (EIN or SSN) is 9 digits without hyphens"
