"""CMS National Correct Coding Initiative edits: procedure-to-procedure (PTP) pairs and medically
unlikely edits (MUE), read from the files CMS publishes each quarter.

PTP ("Practitioner PTP Edits" / "Hospital PTP Edits"): CMS ships each table as tab-delimited text
and as a spreadsheet, after a few lines of copyright notice and a header. One row per edit:

    Column 1 | Column 2 | * = in existence prior to 1996 | Effective Date (YYYYMMDD) |
    Deletion Date (YYYYMMDD, * = no data) | Modifier (0 not allowed, 1 allowed, 9 not applicable) |
    PTP Edit Rationale

MUE ("MCR_MUE_PractitionerServices_Eff_<date>.csv", also OutpatientHospital and DME): CSV with
copyright lines, then a header naming the service type:

    HCPCS/CPT Code | <Practitioner|Outpatient Hospital|DME Supplier> Services MUE Values |
    MUE Adjudication Indicator (e.g. "2 Date of Service Edit: Policy") | MUE Rationale

Spreadsheets saved as CSV or tab-delimited text read the same way. Rows that do not look like
edits (notices, headers, blank lines) are skipped; a row that looks like an edit but is malformed
raises `NcciFileError` naming its line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

_CODE = re.compile(r"^[A-Z0-9]{5}$")


class NcciFileError(ValueError):
    pass


class ModifierIndicator(StrEnum):
    NOT_ALLOWED = "0"
    ALLOWED = "1"
    NOT_APPLICABLE = "9"


@dataclass(frozen=True, slots=True)
class PtpEdit:
    column1: str
    column2: str
    effective_date: dt.date
    deletion_date: dt.date | None
    modifier_indicator: ModifierIndicator
    rationale: str = ""
    prior_to_1996: bool = False

    def in_force_on(self, day: dt.date) -> bool:
        """In force from its effective date up to the day before its deletion date."""
        if self.modifier_indicator is ModifierIndicator.NOT_APPLICABLE:
            return False
        return self.effective_date <= day and (self.deletion_date is None or day < self.deletion_date)


class MueAdjudication(StrEnum):
    """MAI: 1 judges each claim line; 2 (policy) and 3 (clinical) judge all units of a date of service."""

    LINE = "1"
    DATE_OF_SERVICE_POLICY = "2"
    DATE_OF_SERVICE_CLINICAL = "3"


@dataclass(frozen=True, slots=True)
class MueEdit:
    code: str
    max_units: int
    adjudication: MueAdjudication
    rationale: str = ""
    service_type: str = "practitioner"

    @property
    def per_date_of_service(self) -> bool:
        return self.adjudication is not MueAdjudication.LINE


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every line, tab- or comma-delimited."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "\t" in line:
            cells = line.split("\t")
        else:
            cells = next(csv.reader(io.StringIO(line)))
        yield number, [cell.strip().strip('"').strip() for cell in cells]


def _date(value: str, line: int, what: str) -> dt.date | None:
    if value in {"", "*"}:
        return None
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise NcciFileError(f"line {line}: {what} {value!r} is not a YYYYMMDD date") from None


def parse_ptp(text: str) -> Iterator[PtpEdit]:
    """Edits of a CMS PTP table (practitioner or hospital) in its tab-delimited or CSV form."""
    for line, cells in _rows(text):
        if len(cells) < 6 or not _CODE.match(cells[0]) or not _CODE.match(cells[1]):
            continue
        effective = _date(cells[3], line, "effective date")
        if effective is None:
            raise NcciFileError(f"line {line}: the effective date is missing")
        indicator = cells[5]
        try:
            modifier = ModifierIndicator(indicator)
        except ValueError:
            raise NcciFileError(f"line {line}: modifier indicator {indicator!r} is not 0, 1 or 9") from None
        yield PtpEdit(
            column1=cells[0],
            column2=cells[1],
            prior_to_1996=cells[2] == "*",
            effective_date=effective,
            deletion_date=_date(cells[4], line, "deletion date"),
            modifier_indicator=modifier,
            rationale=cells[6] if len(cells) > 6 else "",
        )


_SERVICE_TYPES = {"practitioner": "practitioner", "outpatient hospital": "outpatient_hospital", "dme": "dme"}


def parse_mue(text: str, service_type: str | None = None) -> Iterator[MueEdit]:
    """Edits of a CMS MUE table; the service type comes from its header unless given."""
    kind = service_type
    for line, cells in _rows(text):
        if len(cells) >= 3 and "MUE" in cells[1] and not _CODE.match(cells[0]):
            header = cells[1].lower()
            kind = kind or next((v for k, v in _SERVICE_TYPES.items() if header.startswith(k)), None)
            continue
        if len(cells) < 3 or not _CODE.match(cells[0]):
            continue
        try:
            max_units = int(cells[1])
        except ValueError:
            raise NcciFileError(f"line {line}: MUE value {cells[1]!r} is not a whole number") from None
        if max_units < 0:
            raise NcciFileError(f"line {line}: MUE value {max_units} is negative")
        try:
            adjudication = MueAdjudication(cells[2][:1])
        except ValueError:
            message = f"line {line}: adjudication indicator {cells[2]!r} does not start with 1, 2 or 3"
            raise NcciFileError(message) from None
        yield MueEdit(
            code=cells[0],
            max_units=max_units,
            adjudication=adjudication,
            rationale=cells[3] if len(cells) > 3 else "",
            service_type=kind or "practitioner",
        )


def index_ptp(edits: Iterable[PtpEdit]) -> dict[tuple[str, str], list[PtpEdit]]:
    index: dict[tuple[str, str], list[PtpEdit]] = {}
    for edit in edits:
        index.setdefault((edit.column1, edit.column2), []).append(edit)
    return index
