"""`claimflow codes load carc|rarc|contract` refuses a wrong file before touching any database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

NO_DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:9/none"


def test_a_rarc_list_given_as_carc_and_a_bad_contract_are_refused_naming_the_line(tmp_path: Path) -> None:
    runner = CliRunner()
    rarc = tmp_path / "rarc.txt"
    rarc.write_text("Code\tDescription\nMA130\tNo appeal rights.\n")
    result = runner.invoke(app, ["codes", "load", "carc", str(rarc), "--database-url", NO_DATABASE])
    assert result.exit_code == 1 and "rarc.txt: line 2" in result.output
    contract = tmp_path / "contract.csv"
    contract.write_text("payer_id,procedure_code,modifier,allowed_amount\nSANDBOX,99213,,-5.00\n")
    result = runner.invoke(
        app, ["codes", "load", "contract", str(contract), "--database-url", NO_DATABASE, "--tenant", "t"]
    )
    assert result.exit_code == 1 and "line 2: allowed_amount must be positive" in result.output
