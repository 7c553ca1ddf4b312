"""Where loaded code sets live, and the one object every service asks about codes.

`claimflow codes load icd10cm|icd10pcs|hcpcs|carc|rarc FILE` reads the publisher's file and writes
it here as a small tab-separated file per release (`$CLAIMFLOW_CODESETS_DIR`, default
`.local/codesets`); intake, the claims scrubber and the 837 tools read the same directory, so they
agree on every code. Services read it when they first need a code set: restart them after a load.
Without any loaded file, ICD-10-CM comes from the `simple-icd-10-cm` package's code list and the
other sets are checked by shape only.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import os
from pathlib import Path

from shared.codesets.formats import ICD10CM
from shared.codesets.releases import CodeSetName, Release, leaves

DIRECTORY_VARIABLE = "CLAIMFLOW_CODESETS_DIR"
DEFAULT_DIRECTORY = Path(".local/codesets")
HEADER = "# claimflow code set"
PACKAGE = "simple_icd_10_cm"
PACKAGED_ICD10CM = ("code-list-April-2026.txt", "FY2026 April update", dt.date(2026, 4, 1))
DESCRIBED_LISTS = ("carc", "rarc")


def configured_directory() -> Path:
    return Path(os.environ.get(DIRECTORY_VARIABLE) or DEFAULT_DIRECTORY)


def _escape(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")


def write_release(directory: Path, release: Release) -> Path:
    """One release as `<dir>/<code set>/<effective date>.tsv`; a release of the same date is replaced."""
    folder = directory / release.code_set.value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{release.effective_from.isoformat()}.tsv"
    rows = [f"{HEADER}\t{release.code_set.value}\t{_escape(release.name)}\t{release.effective_from.isoformat()}"]
    for code in sorted(release.codes):
        flag = "B" if code in release.billable else "C"
        rows.append(_row(code, flag, release))
    rows.extend(_row(modifier, "M", release, f"mod:{modifier}") for modifier in sorted(release.modifiers))
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(rows) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def _row(code: str, flag: str, release: Release, key: str | None = None) -> str:
    key = key or code
    added = release.added.get(key)
    ended = release.terminated.get(key)
    return "\t".join(
        (
            code,
            flag,
            added.isoformat() if added else "",
            ended.isoformat() if ended else "",
            _escape(release.descriptions.get(key, "")),
        )
    )


def read_release(path: Path, *, with_descriptions: bool = False) -> Release:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    if header[0] != HEADER or len(header) != 4:
        raise ValueError(f"{path} is not a claimflow code-set file")
    codes: set[str] = set()
    billable: set[str] = set()
    modifiers: set[str] = set()
    added: dict[str, dt.date] = {}
    terminated: dict[str, dt.date] = {}
    descriptions: dict[str, str] = {}
    for line in lines[1:]:
        code, flag, start, end, description = line.split("\t", 4)
        key = f"mod:{code}" if flag == "M" else code
        if flag == "M":
            modifiers.add(code)
        else:
            codes.add(code)
            if flag == "B":
                billable.add(code)
        if start:
            added[key] = dt.date.fromisoformat(start)
        if end:
            terminated[key] = dt.date.fromisoformat(end)
        if with_descriptions and description:
            descriptions[key] = description
    return Release(
        CodeSetName(header[1]),
        header[2],
        dt.date.fromisoformat(header[3]),
        frozenset(codes),
        frozenset(billable),
        descriptions,
        added,
        terminated,
        frozenset(modifiers),
    )


def write_code_list(directory: Path, kind: str, entries: list[tuple[str, str]]) -> Path:
    """A described list (CARC, RARC) as `<dir>/<kind>.tsv`, replacing the previous one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{kind}.tsv"
    temporary = path.with_suffix(".tmp")
    temporary.write_text("".join(f"{code}\t{_escape(text)}\n" for code, text in entries), encoding="utf-8")
    temporary.replace(path)
    return path


def read_code_list(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    entries = (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line)
    return {code: text for code, text in entries}


def packaged_icd10cm() -> Release | None:
    """The ICD-10-CM code list shipped with `simple-icd-10-cm`, or None without the package.

    The package is located, not imported: its import parses the whole classification XML (seconds
    of CPU and ~150 MB), which is exactly what this avoids. A code is billable when it is a leaf."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return None
    file_name, name, effective_from = PACKAGED_ICD10CM
    path = Path(spec.origin).parent / "data" / file_name
    if not path.is_file():
        return None
    return icd10cm_from_code_list(name, effective_from, path.read_text(encoding="utf-8").splitlines())


def icd10cm_from_code_list(name: str, effective_from: dt.date, lines: list[str]) -> Release:
    """A release from a bare code list: one code per line (dots optional, text after a space ignored),
    chapters (numbers), blocks (A00-A09) and anything not shaped like a code (the package's QA test
    entries) skipped."""
    codes = [
        code
        for line in lines
        if (token := line.strip().split(" ", 1)[0])
        and "-" not in token
        and ICD10CM.match(code := token.replace(".", "").upper())
    ]
    return Release(CodeSetName.ICD10CM, name, effective_from, frozenset(codes), leaves(codes))


class CodeSetStore:
    """The releases of a directory (plus the packaged ICD-10-CM list), read once and kept."""

    def __init__(self, directory: Path | None, *, packaged: bool = True) -> None:
        self.directory = directory
        self._packaged = packaged

    def files(self, code_set: CodeSetName) -> list[Path]:
        if self.directory is None:
            return []
        return sorted((self.directory / code_set.value).glob("*.tsv"))

    @functools.cache  # noqa: B019 - one store per directory, kept for the process's life
    def releases(self, code_set: CodeSetName) -> tuple[Release, ...]:
        """Oldest first."""
        found = [read_release(path) for path in self.files(code_set)]
        if code_set is CodeSetName.ICD10CM and self._packaged and (packaged := packaged_icd10cm()) is not None:
            if all(release.effective_from != packaged.effective_from for release in found):
                found.append(packaged)
        return tuple(sorted(found, key=lambda release: release.effective_from))

    @functools.cache  # noqa: B019
    def descriptions(self, code_set: CodeSetName, release_name: str) -> dict[str, str]:
        for path in self.files(code_set):
            release = read_release(path, with_descriptions=True)
            if release.name == release_name:
                return dict(release.descriptions)
        return {}

    @functools.cache  # noqa: B019
    def code_list(self, kind: str) -> dict[str, str]:
        return {} if self.directory is None else read_code_list(self.directory / f"{kind}.tsv")
