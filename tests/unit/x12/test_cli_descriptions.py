"""`claimflow x12 parse-835` explains its codes: claim status, adjustment groups, CARCs and RARCs
beside the raw values (the raw keys stay as they were)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.x12 import x12_app
from tests.support.synthetic_835 import FULL_BODY, enveloped

runner = CliRunner()


def test_json_describes_status_groups_and_carcs(tmp_path: Path) -> None:
    path = tmp_path / "remit.835"
    path.write_text(enveloped(FULL_BODY))
    result = runner.invoke(x12_app, ["parse-835", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    first = json.loads(result.stdout)["transactions"][0]["claims"][0]
    assert (first["status"], first["status_description"]) == ("1", "Processed as primary")
    described = {(a["group"], a["group_description"], a["carc"], a["carc_description"]) for a in first["adjustments"]}
    assert ("PR", "Patient responsibility", "1", "Deductible amount") in described
    assert ("CO", "Contractual obligation", "253", "Sequestration - reduction in federal payment") in described
    for line in first["lines"]:
        assert [remark["code"] for remark in line["remark_descriptions"]] == line["remarks"]


def test_the_summary_names_the_status(tmp_path: Path) -> None:
    path = tmp_path / "remit.835"
    path.write_text(enveloped(FULL_BODY))
    result = runner.invoke(x12_app, ["parse-835", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "1 Processed as primary" in result.stdout
