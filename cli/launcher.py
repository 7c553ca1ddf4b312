"""The `claimflow` console entry: `claimflow x12 parse-835 FILE [--json]` runs straight away, every other command
line goes to the typer application in `cli.main`.

Importing typer (which imports pydantic for its parameters) and rich cost a 2,000-claim parse-835 run more than
the parse itself. The direct path takes only the command lines whose meaning is plain (one file name that is
not an option, `--json` or not) and runs the same function as the typer command (`cli.parse_835`), so output
and exit status are the same; anything else (`--help`, a misspelt option, a missing file name, shell
completion) is typer's, with its own messages.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def main() -> Any:
    """`claimflow ...` as the console script runs it (its return value is the process's exit status)."""
    direct = direct_parse_835(sys.argv[1:], os.environ)
    if direct is not None:
        from cli.parse_835 import parse_835_file

        file, as_json = direct
        try:
            return parse_835_file(file, as_json=as_json, hard_exit=True)
        except KeyboardInterrupt:
            return 130  # as typer ends an interrupted command: status 130, no traceback
    from cli.main import app

    return app()


def direct_parse_835(arguments: Sequence[str], environment: Mapping[str, str]) -> tuple[Path, bool] | None:
    """(FILE, --json given) when `arguments` are `x12 parse-835` with one file name and at most `--json`, in
    either order; None for any other command line, which typer parses (help, usage errors, completion)."""
    if len(arguments) not in (3, 4) or arguments[0] != "x12" or arguments[1] != "parse-835":
        return None
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in environment):
        return None  # a shell asks typer for completions
    rest = list(arguments[2:])
    as_json = "--json" in rest
    if as_json:
        rest.remove("--json")
    if len(rest) != 1 or not rest[0] or rest[0].startswith("-"):
        return None
    return Path(rest[0]), as_json
