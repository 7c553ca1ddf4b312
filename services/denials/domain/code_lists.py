"""Read the CARC and RARC lists in the publisher's layout (X12 / WPC code-list pages, saved as text).

Each entry is a code, a tab or spaces, and its description; the description may run over the next
lines; a line ``Start: MM/DD/YYYY | Last Modified: MM/DD/YYYY | Stop: MM/DD/YYYY`` closes the entry,
and ``Notes:`` lines belong to it. Headings and blank lines are skipped. Only codes of the list's
own shape start an entry, so a wrapped description that happens to start with a number is kept.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum


class CodeListKind(StrEnum):
    CARC = "carc"
    RARC = "rarc"


CODE_PATTERNS = {
    CodeListKind.CARC: re.compile(r"^(?P<code>(?:[A-Z]\d{1,2}|\d{1,3}))(?:\t+|\s{1,})(?P<text>\S.*)$"),
    CodeListKind.RARC: re.compile(r"^(?P<code>(?:MA|M|N)\d{1,3})(?:\t+|\s{1,})(?P<text>\S.*)$"),
}
_DATES = re.compile(r"^Start:\s*(?P<start>\d{2}/\d{2}/\d{4})(?P<rest>.*)$", re.IGNORECASE)
_STOP = re.compile(r"Stop:\s*(?P<stop>\d{2}/\d{2}/\d{4})", re.IGNORECASE)
_HEADINGS = {"code", "description", "code\tdescription", "code description"}


class CodeListError(ValueError):
    """The file is not a code list of the expected kind; the message names the line."""


@dataclass(frozen=True, slots=True)
class CodeDescription:
    code: str
    description: str
    start: dt.date | None = None
    stop: dt.date | None = None
    notes: str = ""

    def active_on(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.stop is None or day <= self.stop)


def _date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%m/%d/%Y").date()


def parse_code_list(text: str, kind: CodeListKind) -> list[CodeDescription]:
    """Every code of the list, in file order; a code listed twice keeps its last entry."""
    pattern = CODE_PATTERNS[kind]
    entries: dict[str, CodeDescription] = {}
    code: str | None = None
    description: list[str] = []
    notes: list[str] = []
    start: dt.date | None = None
    stop: dt.date | None = None

    def close() -> None:
        if code is not None:
            entries[code] = CodeDescription(code, " ".join(description).strip(), start, stop, " ".join(notes).strip())

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().strip('"')
        if not line or line.lower() in _HEADINGS:
            continue
        found = pattern.match(line)
        if found:
            close()
            code, description, notes, start, stop = found["code"], [found["text"].strip()], [], None, None
            continue
        if code is None:
            if any(ch.isdigit() for ch in line[:4]):
                raise CodeListError(f"line {number}: {line[:30]!r} is not a {kind.value.upper()} entry")
            continue
        dates = _DATES.match(line)
        if dates:
            try:
                start = _date(dates["start"])
                stopped = _STOP.search(dates["rest"])
                stop = _date(stopped["stop"]) if stopped else None
            except ValueError as exc:
                raise CodeListError(f"line {number}: {exc}") from None
        elif line.lower().startswith(("notes:", "note:")):
            notes.append(line.split(":", 1)[1].strip())
        elif notes:
            notes.append(line)
        else:
            description.append(line)
    close()
    if not entries:
        raise CodeListError(f"no {kind.value.upper()} entries found")
    return list(entries.values())
