"""`claimflow x12 parse-835 FILE [--json]` runs without typer or pydantic (the console entry's direct path) and
prints what the typer command prints: the same bytes on stdout and stderr and the same exit status, positioned
errors included. The direct path runs as users run it, through the installed console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.launcher import direct_parse_835
from cli.main import app
from tests.support.synthetic_835 import FULL_BODY, MINIMAL_BODY, enveloped

CLAIMFLOW = Path(sys.executable).with_name("claimflow")
FRAMEWORKS = ("typer", "pydantic", "rich", "click")

CASES = {
    "clean --json": (enveloped(FULL_BODY), ["--json"]),
    "clean table": (enveloped(FULL_BODY), []),
    "unbalanced table": (enveloped(MINIMAL_BODY.replace("CAS*PR*2*20.00", "CAS*PR*2*15.00")), []),
    "warning, --json first": (enveloped(MINIMAL_BODY.replace("SVC*HC:99212", "SVC*HC>99212")), ["--json", "FIRST"]),
    "broken: SE count": (enveloped(MINIMAL_BODY, se_counts={1: 12}), ["--json"]),
    "broken: control character": (enveloped(MINIMAL_BODY.replace("CLP*SYN", "CLP*\x00SYN")), []),
    "missing file": (None, ["--json"]),
}


def command_line(file: Path, flags: list[str]) -> list[str]:
    if flags[-1:] == ["FIRST"]:
        return ["x12", "parse-835", *flags[:-1], str(file)]
    return ["x12", "parse-835", str(file), *flags]


def run_direct(arguments: list[str]) -> tuple[int, bytes, bytes, set[str]]:
    """Exit status, stdout, stderr and the top-level packages imported, of the real console script."""
    environment = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "COLUMNS": "120"}
    done = subprocess.run([str(CLAIMFLOW), *arguments], capture_output=True, env=environment, timeout=60, check=False)
    lines = done.stderr.splitlines(keepends=True)
    timings = [line for line in lines if line.startswith(b"import time:")]
    imported = {line.split(b"|")[2].strip().split(b".")[0].decode() for line in timings}
    stderr = b"".join(line for line in lines if line not in timings)
    return done.returncode, done.stdout, stderr, imported


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_direct_path_prints_what_the_typer_command_prints(tmp_path: Path, case: str) -> None:
    text, flags = CASES[case]
    file = tmp_path / "remit.835"
    if text is not None:
        file.write_bytes(text.encode())
    arguments = command_line(file, flags)

    status, stdout, stderr, imported = run_direct(arguments)
    through_typer = CliRunner().invoke(app, arguments, env={"COLUMNS": "120"})

    assert (status, stdout, stderr) == (through_typer.exit_code, through_typer.stdout_bytes, through_typer.stderr_bytes)
    assert "cli" in imported and not imported & set(FRAMEWORKS), sorted(imported & set(FRAMEWORKS))


def test_the_cases_cover_every_exit_status_and_a_positioned_error(tmp_path: Path) -> None:
    """The comparison above is only worth something if the cases reach each outcome."""
    outcomes: dict[str, Result] = {}
    for case, (text, flags) in CASES.items():
        file = tmp_path / f"{len(outcomes)}.835"
        if text is not None:
            file.write_bytes(text.encode())
        outcomes[case] = CliRunner().invoke(app, command_line(file, flags))
    assert {result.exit_code for result in outcomes.values()} == {0, 1, 3}
    assert "segment 13 (SE), element 1: SE01 says 12 segments" in outcomes["broken: SE count"].stderr
    assert "segment 11 (SVC), element 1:" in outcomes["warning, --json first"].stderr
    assert "cannot read: No such file or directory" in outcomes["missing file"].stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["x12", "parse-835", "remit.835"], (Path("remit.835"), False)),
        (["x12", "parse-835", "remit.835", "--json"], (Path("remit.835"), True)),
        (["x12", "parse-835", "--json", "remit.835"], (Path("remit.835"), True)),
        (["x12", "parse-835", "--help"], None),
        (["x12", "parse-835", "remit.835", "--help"], None),
        (["x12", "parse-835", "--json"], None),
        (["x12", "parse-835"], None),
        (["x12", "parse-835", "remit.835", "--jsn"], None),
        (["x12", "parse-835", "remit.835", "--json", "--json"], None),
        (["x12", "parse-835", "a.835", "b.835"], None),
        (["x12", "parse-835", "--", "-odd.835"], None),
        (["x12", "parse-835", ""], None),
        (["x12", "validate", "remit.835"], None),
        (["--help"], None),
        ([], None),
    ],
)
def test_only_plain_command_lines_take_the_direct_path(arguments: list[str], expected: object) -> None:
    assert direct_parse_835(arguments, {}) == expected


def test_shell_completion_is_left_to_typer() -> None:
    assert direct_parse_835(["x12", "parse-835", "remit.835"], {"_CLAIMFLOW_COMPLETE": "bash_complete"}) is None
