"""`claimflow codes load icd10cm|icd10pcs|hcpcs` reads the publishers' layouts into the code-set
directory; `claimflow codes describe` reads it back by date of service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from shared import codesets

FIXTURES = Path(__file__).parents[1] / "codesets" / "fixtures"


@pytest.fixture(autouse=True)
def packaged_only() -> Iterator[None]:
    yield
    codesets.use_directory(None)


def test_loaded_releases_answer_by_date_of_service(tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for kind, name in (
        ("icd10cm", "icd10cm-order-2027.txt"),
        ("icd10pcs", "icd10pcs_order_2027.txt"),
        ("hcpcs", "HCPC2027_JAN_ANWEB.txt"),
    ):
        result = runner.invoke(app, ["codes", "load", kind, str(FIXTURES / name), "--into", str(tmp_path)])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "icd10cm FY2027: 6 billable of 9 codes, in force from 2026-10-01" in outputs[0]
    assert "hcpcs 2027 January: 6 billable of 6 codes, in force from 2027-01-01" in outputs[2]
    assert sorted(p.name for p in (tmp_path / "icd10cm").iterdir()) == ["2026-10-01.tsv"]

    described = runner.invoke(
        app, ["codes", "describe", "icd10pcs", "0DTJ4ZZ", "--on", "2026-12-01", "--into", str(tmp_path)]
    )
    assert described.exit_code == 0 and "Resection of Appendix" in described.output
    ended = runner.invoke(
        app, ["codes", "describe", "procedure", "K0001", "--on", "2027-08-01", "--into", str(tmp_path)]
    )
    assert ended.exit_code == 1 and "discontinued on 2027-06-30" in ended.output


def test_a_file_of_another_layout_is_refused_naming_the_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["codes", "load", "hcpcs", str(FIXTURES / "icd10cm-order-2027.txt"), "--into", str(tmp_path)]
    )
    assert result.exit_code == 1 and "icd10cm-order-2027.txt line 1: not a HCPCS record" in result.output
    assert not (tmp_path / "hcpcs").exists()
