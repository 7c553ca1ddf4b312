"""Read the yearly code-set files in their publishers' layouts into releases.

- ICD-10-CM (CDC/CMS) and ICD-10-PCS (CMS): the "order" file (`icd10cm-order-2026.txt`,
  `icd10pcs_order_2026.txt`): order number (5), code (7, left-justified), a 0/1 billable flag, a
  60-character short description and the long description, space-separated in fixed columns; or the
  "codes" file (`icd10cm-codes-2026.txt`): every billable code, spaces, its description. The zip CMS
  publishes is read directly (its order file preferred).
- HCPCS Level II (CMS "Alpha-Numeric HCPCS File", `HCPC2026_JAN_ANWEB.txt`): fixed-width 320-byte
  records: HCPCS code (1-5), sequence (6-10), record id (11: 3 procedure, 4 its continuation,
  7 modifier, 8 its continuation), long description (12-91), short description (92-119), ...
  add date (256-263), action effective date (264-271), termination date (272-279), YYYYMMDD.

Every reader refuses a file that is not of its layout and names the first line that is not.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from shared.codesets import formats
from shared.codesets.releases import CodeSetName, Release, fiscal_year_start

_ORDER_LINE = re.compile(r"^(\d{5}) ([0-9A-Z]{3,7})\s*([01]) (.*)$")
_CODES_LINE = re.compile(r"^([0-9A-Z]{3,7})\s+(\S.*)$")
_YEAR = re.compile(r"(20\d\d)")
_MONTHS = {"JAN": 1, "APR": 4, "JUL": 7, "OCT": 10}
_SHORT_WIDTH = 60
_PCS_HEADER_OR_CODE = re.compile(r"^[0-9A-HJ-NP-Z]{3,7}$")
"""The PCS order file lists its tables (3 characters, not billable) before their 7-character codes."""


class CodeSetFileError(ValueError):
    """The file is not in the publisher's layout; the message names the file and line."""


def read_text(path: Path, member_hint: str) -> tuple[str, str]:
    """The file's text, or the best member of a zip: (name, text). `member_hint` orders candidates."""
    if path.suffix.lower() != ".zip":
        return path.name, path.read_bytes().decode("latin-1")
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith(".txt") and "/__macosx" not in n.lower()]
        ranked = sorted(names, key=lambda n: (member_hint not in n.lower(), "addenda" in n.lower(), n))
        if not ranked:
            raise CodeSetFileError(f"{path.name}: no .txt member in the zip")
        with archive.open(ranked[0]) as member:
            return ranked[0], io.TextIOWrapper(member, encoding="latin-1").read()


def default_icd_effective_from(file_name: str, fiscal_year: int | None) -> tuple[int, dt.date]:
    """(fiscal year, effective date) from `--fiscal-year` or the file's name (`...-2026...`, `April`)."""
    if fiscal_year is None:
        found = _YEAR.search(file_name)
        if found is None:
            raise CodeSetFileError(f"{file_name}: no fiscal year in the name; give --fiscal-year")
        fiscal_year = int(found.group(1))
    if "april" in file_name.lower():
        return fiscal_year, dt.date(fiscal_year, 4, 1)
    return fiscal_year, fiscal_year_start(fiscal_year)


def default_hcpcs_effective_from(file_name: str) -> dt.date:
    """`HCPC2026_APR_ANWEB.txt` -> 2026-04-01; January when the name has no quarter month."""
    found = _YEAR.search(file_name)
    if found is None:
        raise CodeSetFileError(f"{file_name}: no year in the name; give --effective-from")
    month = next((number for key, number in _MONTHS.items() if key in file_name.upper()), 1)
    return dt.date(int(found.group(1)), month, 1)


def read_icd10(code_set: CodeSetName, file_name: str, text: str, name: str, effective_from: dt.date) -> Release:
    """An ICD-10-CM or ICD-10-PCS release from its order file or codes file."""
    shape = formats.ICD10CM if code_set is CodeSetName.ICD10CM else _PCS_HEADER_OR_CODE
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CodeSetFileError(f"{file_name}: empty file")
    order_layout = _ORDER_LINE.match(lines[0]) is not None
    codes: set[str] = set()
    billable: set[str] = set()
    descriptions: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if order_layout:
            found = _ORDER_LINE.match(line)
            if found is None:
                raise CodeSetFileError(f"{file_name} line {number}: not an order-file line: {line[:40]!r}")
            code, flag, rest = found.group(2), found.group(3), found.group(4)
            description = rest[_SHORT_WIDTH:].strip() or rest.strip()
            if flag == "1":
                billable.add(code)
        else:
            found = _CODES_LINE.match(line)
            if found is None:
                raise CodeSetFileError(f"{file_name} line {number}: not a code and description: {line[:40]!r}")
            code, description = found.group(1), found.group(2).strip()
            billable.add(code)
        if not shape.match(code) or (code in billable and code_set is CodeSetName.ICD10PCS and len(code) != 7):
            raise CodeSetFileError(f"{file_name} line {number}: {code!r} is not a {code_set.value} code")
        codes.add(code)
        descriptions[code] = description
    if not order_layout:
        if code_set is CodeSetName.ICD10CM:
            # the codes file lists leaves only: their categories are codes too, not billable
            codes.update(code[:length] for code in billable for length in range(3, len(code)))
    return Release(code_set, name, effective_from, frozenset(codes), frozenset(billable), descriptions)


def _date(text: str, file_name: str, number: int, label: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise CodeSetFileError(f"{file_name} line {number}: {label} {text!r} is not YYYYMMDD") from None


def _hcpcs_records(file_name: str, text: str) -> Iterator[tuple[int, str, str, str, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) < 119 or line[10] not in "3478" or not line[5:10].isdigit():
            raise CodeSetFileError(f"{file_name} line {number}: not a HCPCS record (code, sequence, record id)")
        yield number, line[:5].strip(), line[10], line[11:91].rstrip(), line.ljust(280)


def read_hcpcs(file_name: str, text: str, name: str, effective_from: dt.date) -> Release:
    """A HCPCS Level II release (procedure codes and modifiers) from the CMS fixed-width file."""
    billable: set[str] = set()
    modifiers: set[str] = set()
    descriptions: dict[str, str] = {}
    added: dict[str, dt.date] = {}
    terminated: dict[str, dt.date] = {}
    for number, code, record_id, long_text, padded in _hcpcs_records(file_name, text):
        modifier = record_id in "78"
        key = f"mod:{code}" if modifier else code
        if record_id in "48":
            descriptions[key] = f"{descriptions.get(key, '')} {long_text.strip()}".strip()
            continue
        if modifier:
            if formats.modifier_shape_problem(code) is not None:
                raise CodeSetFileError(f"{file_name} line {number}: {code!r} is not a modifier")
            modifiers.add(code)
        else:
            if not formats.HCPCS_LEVEL_II.match(code):
                raise CodeSetFileError(f"{file_name} line {number}: {code!r} is not a HCPCS Level II code")
            billable.add(code)
        descriptions[key] = long_text.strip()
        start = _date(padded[255:263], file_name, number, "add date")
        if start is not None and start > effective_from:
            added[key] = start
        end = _date(padded[271:279], file_name, number, "termination date")
        if end is not None:
            terminated[key] = end
    if not billable:
        raise CodeSetFileError(f"{file_name}: no HCPCS procedure records")
    return Release(
        CodeSetName.HCPCS,
        name,
        effective_from,
        frozenset(billable),
        frozenset(billable),
        descriptions,
        added,
        terminated,
        frozenset(modifiers),
    )
