"""`claimflow x12 render-837`: intake documents to 837s offline, through the claims mapper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.support.pyx12_check import pyx12_errors

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "encounters"
runner = CliRunner()


@pytest.mark.parametrize("name", ["professional", "dependent", "drug-ndc"])
def test_an_example_renders_to_an_837_pyx12_accepts(name: str) -> None:
    result = runner.invoke(app, ["x12", "render-837", str(EXAMPLES / f"{name}.json"), "--control-number", "CF1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ISA*") and "CLM*CF1*" in result.stdout
    assert pyx12_errors(result.stdout) == []


def test_an_encounter_coded_payload_renders_too(tmp_path: Path) -> None:
    from tests.support.encounters import event_of

    payload = tmp_path / "event.json"
    payload.write_text(event_of("secondary").model_dump_json())
    result = runner.invoke(app, ["x12", "render-837", str(payload)])
    assert result.exit_code == 0, result.output
    assert "SBR*S*" in result.stdout


def test_a_document_the_837_cannot_carry_names_the_field(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "institutional.json").read_text())
    billing = next(p for p in document["providers"] if p.get("tax_id"))
    billing["address"]["postal_code"] = "62703"
    five_digits = tmp_path / "five-digit-zip.json"
    five_digits.write_text(json.dumps(document))
    result = runner.invoke(app, ["x12", "render-837", str(five_digits)])
    assert result.exit_code == 1
    assert "address" in result.stderr and "postal_code: must be 9 digits" in result.stderr


def test_an_invalid_document_names_its_fields(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "professional.json").read_text())
    del document["encounter"]["lines"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    result = runner.invoke(app, ["x12", "render-837", str(bad)])
    assert result.exit_code == 1 and "encounter.lines" in result.stderr
