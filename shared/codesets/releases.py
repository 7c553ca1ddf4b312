"""Releases of the big code sets (ICD-10-CM, ICD-10-PCS, HCPCS Level II) and the one in force on a date.

ICD-10-CM and ICD-10-PCS are released per CMS fiscal year (FY N starts 1 October of year N-1; an
April update may follow); HCPCS Level II yearly on 1 January with quarterly updates. A date of
service is checked against the newest release in force on it; a date before every known release is
checked against the oldest, and every answer names the release it used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shared.codesets import formats


class CodeSetName(StrEnum):
    ICD10CM = "icd10cm"
    ICD10PCS = "icd10pcs"
    HCPCS = "hcpcs"


def fiscal_year_start(fiscal_year: int) -> dt.date:
    """CMS fiscal year N runs from 1 October of N-1 to 30 September of N."""
    return dt.date(fiscal_year - 1, 10, 1)


def fiscal_year_of(day: dt.date) -> int:
    return day.year + 1 if day.month >= 10 else day.year


@dataclass(frozen=True, slots=True)
class Release:
    code_set: CodeSetName
    name: str
    effective_from: dt.date
    codes: frozenset[str]
    """Every code of the release, without dots; categories and headers included."""
    billable: frozenset[str]
    """Codes valid on a claim (ICD: the leaves; HCPCS: procedure codes)."""
    descriptions: Mapping[str, str] = field(default_factory=dict)
    added: Mapping[str, dt.date] = field(default_factory=dict)
    """HCPCS: the date a code took effect, when later than the release."""
    terminated: Mapping[str, dt.date] = field(default_factory=dict)
    """HCPCS: the last date a code may be billed."""
    modifiers: frozenset[str] = frozenset()
    """HCPCS Level II modifiers listed in the release."""

    def problem(self, code: str, day: dt.date | None = None) -> str | None:
        """Why `code` cannot be billed under this release (on `day`), or None when it can."""
        if self.code_set is CodeSetName.HCPCS:
            return self._hcpcs_problem(code, day)
        shape = (
            formats.icd10cm_shape_problem(code)
            if self.code_set is CodeSetName.ICD10CM
            else formats.icd10pcs_shape_problem(code)
        )
        if shape is not None:
            return shape
        bare = code.replace(".", "")
        label = "ICD-10-CM" if self.code_set is CodeSetName.ICD10CM else "ICD-10-PCS"
        if bare not in self.codes:
            return f"{code} is not an {label} code in the {self.name} release"
        if bare not in self.billable:
            return f"{code} is a category, not billable: code to the highest specificity ({self.name} release)"
        return None

    def _hcpcs_problem(self, code: str, day: dt.date | None) -> str | None:
        if code not in self.billable:
            return f"{code} is not a HCPCS Level II code in the {self.name} release"
        if day is not None:
            if (start := self.added.get(code)) is not None and day < start:
                return f"{code} takes effect on {start}, after the date of service {day} ({self.name} release)"
            if (end := self.terminated.get(code)) is not None and day > end:
                return f"{code} was discontinued on {end}, before the date of service {day} ({self.name} release)"
        return None

    def modifier_problem(self, modifier: str, day: dt.date | None = None) -> str | None:
        if modifier not in self.modifiers:
            return f"modifier {modifier} is not a HCPCS Level II modifier in the {self.name} release"
        if day is not None and (end := self.terminated.get(f"mod:{modifier}")) is not None and day > end:
            return f"modifier {modifier} was discontinued on {end} ({self.name} release)"
        return None


def leaves(codes: list[str]) -> frozenset[str]:
    """Codes no longer code extends: the billable ones of an ICD code list (sorted, dotless)."""
    ordered = sorted(set(codes))
    return frozenset(
        code for code, following in zip(ordered, [*ordered[1:], ""], strict=True) if not following.startswith(code)
    )


def release_in_force(releases: tuple[Release, ...], day: dt.date) -> Release | None:
    """The newest release in force on `day`; the oldest one for earlier dates; None when none."""
    if not releases:
        return None
    in_force = [release for release in releases if release.effective_from <= day]
    return in_force[-1] if in_force else releases[0]
