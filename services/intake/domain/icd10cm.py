"""ICD-10-CM diagnosis codes: which are valid and billable on a date of service.

The code set comes from the maintained `simple-icd-10-cm` package, read from its own data file
(the CDC code list of its release: chapters, blocks, categories and every code, seven-character
extensions included). Only that list is read, not the package's 10 MB classification tree, so a
service holds about 75,000 short strings instead of ~150 MB of XML objects. A code is billable
when it is a leaf: no longer code extends it. `tests/unit/intake` checks this reading against the
package's own `is_leaf` / `is_valid_item`.

Releases are per fiscal year (1 October - 30 September, with an April update). A date of service
is checked against the newest release in force on it; a date after the newest release's fiscal
year is still checked against it, and the event names the release that was used.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "simple_icd_10_cm"
PACKAGE_CODE_LIST = "code-list-April-2026.txt"
ICD10CM_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


@dataclass(frozen=True, slots=True)
class Icd10CmRelease:
    name: str
    fiscal_year: int
    effective_from: dt.date
    codes: frozenset[str]
    """Every category and code, without dots."""
    billable: frozenset[str]

    @property
    def fiscal_year_end(self) -> dt.date:
        return dt.date(self.fiscal_year, 9, 30)

    def problem(self, code: str) -> str | None:
        """Why `code` cannot be billed under this release, or None when it can."""
        if not ICD10CM_SHAPE.match(code):
            return f"{code!r} is not shaped like an ICD-10-CM code (letter, digit, character, optional dot, up to 4)"
        bare = code.replace(".", "")
        if bare not in self.codes:
            return f"{code} is not an ICD-10-CM code in the {self.name} release"
        if bare not in self.billable:
            return f"{code} is a category, not billable: code to the highest specificity ({self.name} release)"
        return None


def release_from_code_list(name: str, fiscal_year: int, effective_from: dt.date, lines: list[str]) -> Icd10CmRelease:
    """A release from a code list: one code per line (dots optional, text after a space ignored)."""
    codes = sorted(
        {
            token.replace(".", "").upper()
            for line in lines
            if (token := line.strip().split(" ", 1)[0])
            and "-" not in token  # blocks such as A00-A09
            and not token.isdigit()  # chapters
        }
    )
    billable = {code for code, following in zip(codes, [*codes[1:], ""], strict=True) if not following.startswith(code)}
    return Icd10CmRelease(name, fiscal_year, effective_from, frozenset(codes), frozenset(billable))


@functools.cache
def packaged_releases() -> tuple[Icd10CmRelease, ...]:
    """Releases known to this build, oldest first."""
    text = _package_code_list().read_text(encoding="utf-8")
    return (release_from_code_list("FY2026 April update", 2026, dt.date(2026, 4, 1), text.splitlines()),)


def _package_code_list() -> Path:
    """The package's code list, found without importing the package: its import parses the whole
    classification XML (seconds of CPU and ~150 MB), which is exactly what this module avoids."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"{PACKAGE} is not installed")
    return Path(spec.origin).parent / "data" / PACKAGE_CODE_LIST


def release_for(service_date: dt.date, releases: tuple[Icd10CmRelease, ...] | None = None) -> Icd10CmRelease:
    """The newest release in force on `service_date`; the oldest one for earlier dates."""
    known = releases or packaged_releases()
    in_force = [release for release in known if release.effective_from <= service_date]
    return in_force[-1] if in_force else known[0]
