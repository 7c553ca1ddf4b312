"""The `claimflow` entry point lists its commands from a table and imports each command's module only when that
command runs: the table must say what each command says of itself, and the listing must load nothing heavy."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli.main import COMMANDS, app, load_command


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listing_says_what_each_command_says_of_itself(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    own = (command.short_help or command.help or "").strip().splitlines()[0]
    assert COMMANDS[name].short_help == own


def test_help_lists_every_command_without_importing_services_or_drivers() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in ('sqlalchemy', 'aiokafka', 'asyncpg', 'fastapi', 'services', 'pyarrow')"
        " if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    listing = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    for name, entry in COMMANDS.items():
        assert f" {name} " in listing and entry.short_help[:40] in listing


def test_a_deferred_command_runs_with_its_own_options() -> None:
    result = CliRunner().invoke(app, ["token", "--tenant", "acme", "--hours", "99"])
    assert result.exit_code == 2 and "--hours" in result.output
