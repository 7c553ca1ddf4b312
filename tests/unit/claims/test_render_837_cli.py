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


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
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


def test_every_example_renders_without_a_scrub_error_on_any_date() -> None:
    """Each example carries its own as_of: far in the future its timely-filing window is still open."""
    for path in sorted(EXAMPLES.glob("*.json")):
        result = runner.invoke(app, ["x12", "render-837", str(path)])
        assert result.exit_code == 0, result.output
        assert "scrub error" not in result.stderr, result.stderr
    late = runner.invoke(app, ["x12", "render-837", str(EXAMPLES / "secondary.json"), "--as-of", "2030-01-01"])
    assert late.exit_code == 0 and "timely_filing.expired" in late.stderr


def test_a_dangling_reference_is_refused_at_the_documents_own_path(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "professional.json").read_text())
    document["encounter"]["rendering_provider_npi"] = "1245319599"  # valid, but defined nowhere in the document
    document["encounter"]["lines"][0]["ordering_provider_npi"] = "1245319599"
    dangling = tmp_path / "dangling.json"
    dangling.write_text(json.dumps(document))
    result = runner.invoke(app, ["x12", "render-837", str(dangling)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "encounter.rendering_provider_npi: names a party" in result.stderr
    assert "encounter.lines.0.ordering_provider_npi: names a party" in result.stderr


def test_what_the_writer_refuses_is_named_by_the_documents_path(tmp_path: Path) -> None:
    from cli.render_837 import Source, document_path
    from services.intake.schemas import EncounterDocument
    from tests.support.encounters import event_of

    document = EncounterDocument.model_validate_json((EXAMPLES / "dependent.json").read_text())
    source = Source(event_of("dependent"), document.as_of or document.encounter.service_date_to, document)
    assert document_path("claims[0].patient.first_name", source) == "patient.first_name"
    assert document_path("claims[0].subscriber.first_name", source) == "coverages[0].subscriber.first_name"
    assert document_path("claims[0].subscriber.member_id", source) == "coverages[0].member_id"
    assert document_path("claims[0].billing_provider.address.postal_code", source) == "providers[0].address.postal_code"
    assert document_path("claims[0].lines[0].units", source) == "encounter.lines[0].units"


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
