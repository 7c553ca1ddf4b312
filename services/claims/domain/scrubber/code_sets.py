"""Code-set facts only the scrubber relies on: facility settings, NCCI-associated modifiers, and which
diagnoses the ICD-10-CM code set limits to one sex or an age range. Code shapes, releases and
place-of-service codes are the shared ones (`shared.codesets`), the same intake applies.

The sex and age lists follow the ICD-10-CM chapter and block notes (and CMS's Medicare Code Editor,
which applies them): pregnancy, childbirth and the female pelvic and genital organs are female only,
the male genital organs male only, perinatal and liveborn codes newborn only, pregnancy codes
maternity age only. They are ranges of categories, so a whole block is covered by one entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

FACILITY_PLACES_OF_SERVICE = frozenset(
    "12 13 19 21 22 23 24 26 31 32 33 34 41 42 51 52 53 54 55 56 57 61 62 65 81".split()
)
"""Settings an institutional (UB-04 / 837I) claim can come from: facilities, and home for home health."""

NCCI_ASSOCIATED_MODIFIERS = frozenset(
    "E1 E2 E3 E4 FA F1 F2 F3 F4 F5 F6 F7 F8 F9 LC LD LM LT RC RI RT TA T1 T2 T3 T4 T5 T6 T7 T8 T9 "
    "24 25 27 57 58 59 78 79 91 XE XP XS XU".split()
)
"""Modifiers that may bypass an NCCI PTP edit whose modifier indicator is 1."""


@dataclass(frozen=True, slots=True)
class CategoryRange:
    first: str
    last: str
    """Inclusive, compared on the first three characters."""
    label: str

    def covers(self, code: str) -> bool:
        category = code[:3]
        return self.first <= category <= self.last


FEMALE_ONLY = (
    CategoryRange("O00", "O9A", "pregnancy, childbirth and the puerperium"),
    CategoryRange("Z33", "Z34", "pregnancy state and supervision of pregnancy"),
    CategoryRange("Z36", "Z3A", "antenatal screening and weeks of gestation"),
    CategoryRange("N70", "N98", "diseases of the female genital organs"),
    CategoryRange("C51", "C58", "malignant neoplasms of the female genital organs"),
    CategoryRange("D25", "D28", "benign neoplasms of the female genital organs"),
)
MALE_ONLY = (
    CategoryRange("N40", "N53", "diseases of the male genital organs"),
    CategoryRange("C60", "C63", "malignant neoplasms of the male genital organs"),
    CategoryRange("D29", "D29", "benign neoplasms of the male genital organs"),
)


@dataclass(frozen=True, slots=True)
class AgeRange:
    categories: CategoryRange
    youngest: int
    oldest: int


AGE_LIMITED = (
    AgeRange(CategoryRange("P00", "P96", "perinatal conditions (newborn)"), 0, 0),
    AgeRange(CategoryRange("Z38", "Z38", "liveborn infants (newborn)"), 0, 0),
    AgeRange(CategoryRange("O00", "O9A", "pregnancy (maternity age)"), 9, 64),
    AgeRange(CategoryRange("Z33", "Z3A", "pregnancy (maternity age)"), 9, 64),
)


def bare(code: str) -> str:
    return code.replace(".", "").upper()


@lru_cache(maxsize=8192)  # pure over this module's constant lists; the same codes come back on every claim
def sex_conflict(code: str, sex: str) -> str | None:
    """Why `code` cannot be billed for a patient of `sex` (F/M), or None."""
    category = bare(code)
    if sex == "M":
        for block in FEMALE_ONLY:
            if block.covers(category):
                return f"{code} ({block.label}) is a female-only diagnosis"
    elif sex == "F":
        for block in MALE_ONLY:
            if block.covers(category):
                return f"{code} ({block.label}) is a male-only diagnosis"
    return None


@lru_cache(maxsize=8192)  # pure over this module's constant lists
def age_conflict(code: str, age: int) -> str | None:
    category = bare(code)
    for limit in AGE_LIMITED:
        if limit.categories.covers(category) and not limit.youngest <= age <= limit.oldest:
            return f"{code} ({limit.categories.label}) applies to ages {limit.youngest}-{limit.oldest}"
    return None
