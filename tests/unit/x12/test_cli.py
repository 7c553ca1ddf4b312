"""`claimflow x12 parse-835` and `claimflow x12 validate`, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.x12 import EXIT_REJECTED, EXIT_UNBALANCED, x12_app
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.support.synthetic_835 import FULL_BODY, MINIMAL_BODY, enveloped
from tests.support.x12_samples import sample_path as sample

runner = CliRunner()


def write(tmp_path: Path, text: str | bytes, name: str = "remit.835") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


class TestParse835Json:
    def test_shape_and_figures(self, tmp_path: Path) -> None:
        result = runner.invoke(x12_app, ["parse-835", str(write(tmp_path, enveloped(FULL_BODY))), "--json"])
        assert result.exit_code == 0, result.stderr
        document = json.loads(result.stdout)
        (transaction,) = document["transactions"]
        assert transaction["trace_number"] == "EFT0001"
        assert (transaction["bpr_total_cents"], transaction["plb_total_cents"]) == (57000, -2000)
        assert [claim["clp01"] for claim in transaction["claims"]] == ["SYN-CLAIM-1", "SYN-CLAIM-2", "SYN-CLAIM-3"]
        first = transaction["claims"][0]
        required = {"clp01", "status", "charge_cents", "paid_cents", "patient_responsibility_cents", "adjustments"}
        assert required <= first.keys()
        assert (first["status"], first["charge_cents"], first["paid_cents"], first["patient_responsibility_cents"]) == (
            "1",
            105000,
            70000,
            15000,
        )
        assert [(a["group"], a["carc"], a["amount_cents"]) for a in first["adjustments"]] == [
            ("CO", "45", 5000),
            ("PR", "1", 10000),
            ("PR", "2", 3000),
            ("PR", "3", 2000),
            ("CO", "45", 3000),
            ("CO", "45", 10000),
            ("CO", "253", 2000),
        ]
        assert [a["level"] for a in first["adjustments"]] == ["claim"] + ["line"] * 6
        assert transaction["claims"][1]["patient_responsibility_cents"] == 0
        assert transaction["claims"][2]["charge_cents"] == -20000
        assert transaction["balance_findings"] == []
        for claim in transaction["claims"]:
            assert all(isinstance(claim[key], int) for key in required - {"clp01", "status", "adjustments"})

    def test_public_sample(self) -> None:
        result = runner.invoke(x12_app, ["parse-835", str(sample("linuxforhealth_x12/medicare-part-a.835")), "--json"])
        assert result.exit_code == 0
        (transaction,) = json.loads(result.stdout)["transactions"]
        assert (transaction["trace_number"], transaction["bpr_total_cents"], transaction["plb_total_cents"]) == (
            "12345",
            15000000,
            -127,
        )
        assert [(c["clp01"], c["paid_cents"]) for c in transaction["claims"]] == [
            ("666123", 13801840),
            ("777777", 1198033),
        ]

    def test_unbalanced_file_prints_the_parse_and_exits_3(self, tmp_path: Path) -> None:
        path = write(tmp_path, enveloped(MINIMAL_BODY.replace("CAS*PR*2*20.00", "CAS*PR*2*15.00")))
        result = runner.invoke(x12_app, ["parse-835", str(path), "--json"])
        assert result.exit_code == EXIT_UNBALANCED
        findings = json.loads(result.stdout)["transactions"][0]["balance_findings"]
        assert [(f["rule"], f["position"]) for f in findings] == [("service_line", 11), ("claim", 9)]
        assert "unbalanced: segment 11: service line 99212 of claim SYN-MIN-1" in result.stderr


class TestParse835Warnings:
    def test_faulty_composite_is_a_positioned_warning_and_exit_0(self, tmp_path: Path) -> None:
        path = write(tmp_path, enveloped(MINIMAL_BODY.replace("SVC*HC:99212", "SVC*HC>99212")))
        result = runner.invoke(x12_app, ["parse-835", str(path), "--json"])
        assert result.exit_code == 0, result.stderr
        (transaction,) = json.loads(result.stdout)["transactions"]
        (warning,) = transaction["warnings"]
        assert (warning["segment_id"], warning["position"], warning["element"]) == ("SVC", 11, 1)
        assert "separates its components with '>' but ISA16 declares ':'" in warning["message"]
        assert transaction["claims"][0]["lines"][0]["procedure"] == "HC:99212"
        assert f"{path}: warning: segment 11 (SVC), element 1: SVC01 'HC>99212'" in result.stderr

    def test_public_sample_with_a_missing_procedure_code(self) -> None:
        result = runner.invoke(x12_app, ["parse-835", str(sample("linuxforhealth_x12/tertiary-payment.835"))])
        assert result.exit_code == 0, result.stderr
        assert "Balanced" in result.stdout
        assert "warning: segment 20 (SVC), element 1: SVC01 'HC' has no procedure code" in result.stderr

    def test_clean_file_has_no_warnings(self, tmp_path: Path) -> None:
        result = runner.invoke(x12_app, ["parse-835", str(write(tmp_path, enveloped(FULL_BODY))), "--json"])
        assert json.loads(result.stdout)["transactions"][0]["warnings"] == []
        assert "warning" not in result.stderr


class TestParse835Refusals:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (enveloped(MINIMAL_BODY, se_counts={1: 12}), "segment 13 (SE), element 1: SE01 says 12 segments"),
            (enveloped(MINIMAL_BODY, version="004010X091A1"), "segment 2 (GS), element 8: GS08 '004010X091A1'"),
            (enveloped(MINIMAL_BODY)[:300], "the file is truncated"),
            ("ST*835*0001~SE*2*0001~", "segment 1 (ST): expected an ISA interchange header"),
            (
                enveloped(MINIMAL_BODY.replace("CLP*SYN", "CLP*\x00SYN")),
                "segment 9 (CLP), element 1: CLP01 contains the control character U+0000 (NUL)",
            ),
        ],
    )
    def test_reason_and_position_on_stderr_without_traceback(self, tmp_path: Path, text: str, expected: str) -> None:
        result = runner.invoke(x12_app, ["parse-835", str(write(tmp_path, text)), "--json"])
        assert result.exit_code == EXIT_REJECTED
        assert expected in result.stderr
        assert result.stderr.startswith("error: ")
        assert "Traceback" not in result.stderr
        assert result.stdout == ""

    def test_missing_file(self, tmp_path: Path) -> None:
        result = runner.invoke(x12_app, ["parse-835", str(tmp_path / "absent.835")])
        assert result.exit_code == EXIT_REJECTED
        assert "cannot read: No such file or directory" in result.stderr


def test_human_summary(tmp_path: Path) -> None:
    result = runner.invoke(x12_app, ["parse-835", str(write(tmp_path, enveloped(FULL_BODY)))], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "Trace EFT0001 from SYNTHETIC HEALTH PLAN to SYNTHETIC CLINIC: ACH $570.00" in result.stdout
    assert "SYN-CLAIM-2" in result.stdout
    assert "Balanced" in result.stdout
    assert "TESTPATIENT" not in result.stdout, "patient names stay out of the summary"


class TestValidate:
    def test_clean_file(self, tmp_path: Path) -> None:
        result = runner.invoke(x12_app, ["validate", str(write(tmp_path, enveloped(FULL_BODY)))])
        assert result.exit_code == 0
        assert "valid: pyx12 found no errors" in result.stdout

    def test_errors_with_positions(self) -> None:
        result = runner.invoke(x12_app, ["validate", str(sample("linuxforhealth_x12/managed-care.835"))])
        assert result.exit_code == EXIT_REJECTED
        assert "segment 4 (BPR), element 16: " in result.stdout
        assert "contains an invalid date (20002316)" in result.stdout
        assert "segment 10 (PER): Mandatory segment" in result.stdout
        assert "2 error(s) reported by pyx12" in result.stderr

    def test_bom_does_not_crash_pyx12(self, tmp_path: Path) -> None:
        path = write(tmp_path, b"\xef\xbb\xbf" + enveloped(FULL_BODY, line_break="").encode())
        result = runner.invoke(x12_app, ["validate", str(path)])
        assert result.exit_code == 0, result.stdout
        assert "valid" in result.stdout

    def test_not_x12(self, tmp_path: Path) -> None:
        result = runner.invoke(x12_app, ["validate", str(write(tmp_path, "ST*835*0001~SE*2*0001~"))])
        assert result.exit_code == EXIT_REJECTED
        assert "does not look like an X12 data file" in result.stdout
        assert "StringIO" not in result.stdout


def test_minimal_synthetic_lacks_only_what_the_parser_tolerates() -> None:
    """The parser accepts what posting needs; pyx12 still reports the TR3's informational segments."""
    issues = validate_with_pyx12(enveloped(MINIMAL_BODY))
    assert sorted(issue.segment_id or "" for issue in issues) == ["N3", "N4", "PER"]
    assert validate_with_pyx12(enveloped(FULL_BODY)) == ()
