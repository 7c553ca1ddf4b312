"""The shared code sets: shapes, releases chosen by date of service, the publishers' files, descriptions."""

from __future__ import annotations

import datetime as dt
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import codesets
from shared.codesets import CodeKind, CodeSetName
from shared.codesets.loaders import (
    CodeSetFileError,
    default_hcpcs_effective_from,
    default_icd_effective_from,
    read_hcpcs,
    read_icd10,
    read_text,
)
from shared.codesets.store import icd10cm_from_code_list, packaged_icd10cm, read_release, write_release

FIXTURES = Path(__file__).parent / "fixtures"
FY2027 = dt.date(2026, 10, 15)
FY2026 = dt.date(2026, 5, 1)


def load_fixtures(directory: Path) -> None:
    """The synthetic FY2027 ICD-10-CM/PCS and 2027 HCPCS releases, written as the CLI writes them."""
    for code_set, file_name in (
        (CodeSetName.ICD10CM, "icd10cm-order-2027.txt"),
        (CodeSetName.ICD10PCS, "icd10pcs_order_2027.txt"),
    ):
        name, text = read_text(FIXTURES / file_name, "order")
        year, start = default_icd_effective_from(name, None)
        write_release(directory, read_icd10(code_set, name, text, f"FY{year}", start))
    name, text = read_text(FIXTURES / "HCPC2027_JAN_ANWEB.txt", "anweb")
    write_release(directory, read_hcpcs(name, text, "2027 January", default_hcpcs_effective_from(name)))


@pytest.fixture(autouse=True)
def packaged_only() -> Iterator[None]:
    codesets.use_directory(None)
    yield
    codesets.use_directory(None)


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    load_fixtures(tmp_path)
    codesets.use_directory(tmp_path)
    return tmp_path


@pytest.mark.parametrize("code", ["99213", "0001F", "0042T", "0001U", "0001M", "J3420", "G0008", "A0428", "D0120"])
def test_cpt_and_hcpcs_shapes_pass(code: str) -> None:
    assert codesets.validate_procedure(code) is None


@pytest.mark.parametrize("code", ["9921", "992130", "0001X", "JJ342", "j3420", "99 13", "", "W1234", "F1234", "I0001"])
def test_other_shapes_fail(code: str) -> None:
    assert "neither CPT" in (codesets.validate_procedure(code) or "")


@pytest.mark.parametrize(("modifier", "ok"), [("25", True), ("QW", True), ("G0", True), ("q", False), ("ABC", False)])
def test_modifiers_are_two_capitals_or_digits(modifier: str, ok: bool) -> None:
    assert (codesets.validate_modifier(modifier) is None) is ok


@pytest.mark.parametrize(("code", "ok"), [("11", True), ("22", True), ("99", True), ("00", False), ("30", False)])
def test_place_of_service_from_the_cms_list(code: str, ok: bool) -> None:
    assert (codesets.validate_place_of_service(code) is None) is ok


def test_revenue_codes_fall_in_a_nubc_category() -> None:
    assert codesets.validate_revenue_code("0450") is None and codesets.validate_revenue_code("0300") is None
    assert "4 digits" in (codesets.validate_revenue_code("450") or "")
    assert "no NUBC revenue category" in (codesets.validate_revenue_code("0001") or "")
    assert "no NUBC revenue category" in (codesets.validate_revenue_code("9990") or "")


def test_nubc_and_provider_code_shapes() -> None:
    for check in (
        codesets.validate_occurrence_code,
        codesets.validate_occurrence_span_code,
        codesets.validate_value_code,
        codesets.validate_condition_code,
    ):
        assert check("11") is None and check("A1") is None
        assert check("1") is not None and check("a1") is not None and check("123") is not None
    assert codesets.validate_taxonomy("207Q00000X") is None and codesets.validate_taxonomy("207Q00000") is not None
    assert codesets.validate_tax_id("123456789") is None and codesets.validate_tax_id("12-3456789") is not None


@pytest.mark.parametrize(
    ("labeled", "eleven"),
    [
        ("00002143380", "00002143380"),
        ("0002-1433-80", "00002143380"),  # 4-4-2
        ("12345-678-90", "12345067890"),  # 5-3-2
        ("12345-6789-1", "12345678901"),  # 5-4-1
        ("12345-6789-01", "12345678901"),  # already 5-4-2 with hyphens
        ("0002143380", None),  # bare 10 digits: which segment is short?
        ("0002-143-80", None),  # 4-3-2: nine digits
        ("abcde-1234-12", None),
    ],
)
def test_ndc_converts_to_eleven_digits(labeled: str, eleven: str | None) -> None:
    assert codesets.ndc_to_11(labeled) == eleven
    if eleven is not None:
        assert codesets.validate_ndc(eleven) is None
        assert codesets.ndc_hyphenated(eleven).replace("-", "") == eleven
    assert codesets.validate_ndc("0002-1433-80") is not None, "the 837 carries 11 digits only"


@pytest.mark.parametrize("code", ["J06.9", "J069", "R05.9", "S12.000A", "T36.0X1A", "Z99.89"])
def test_packaged_icd10cm_billable_codes_pass(code: str) -> None:
    assert codesets.validate_icd10cm(code, FY2026) is None


@pytest.mark.parametrize("code", ["J06", "R05", "S12.000", "E11"])
def test_categories_are_not_billable(code: str) -> None:
    assert "not billable" in (codesets.validate_icd10cm(code, FY2026) or "")


@pytest.mark.parametrize("code", ["J06.99", "U99.9", "A00.5"])
def test_unknown_codes_name_the_release(code: str) -> None:
    assert "FY2026" in (codesets.validate_icd10cm(code, FY2026) or "")


@pytest.mark.parametrize("code", ["", "99213", "J0", "j06.9x", "J06.9-"])
def test_malformed_diagnoses_say_so(code: str) -> None:
    assert "not shaped like" in (codesets.validate_icd10cm(code, FY2026) or "")


def test_packaged_leaves_agree_with_the_package_on_a_sample() -> None:
    """Our reading of the package's code list (leaf = billable) matches simple-icd-10-cm's own API."""
    import simple_icd_10_cm as cm

    release = packaged_icd10cm()
    assert release is not None
    for code in random.Random(7).sample(sorted(release.codes), 300):
        assert cm.is_valid_item(code), code
        assert cm.is_leaf(code) == (code in release.billable), code


def test_a_bare_code_list_skips_chapters_and_blocks() -> None:
    release = icd10cm_from_code_list("test", dt.date(2025, 10, 1), ["1", "A00-A09", "A00", "A000 text", "A001"])
    assert release.codes == {"A00", "A000", "A001"}
    assert release.billable == {"A000", "A001"}


def test_fiscal_years_start_on_the_first_of_october() -> None:
    assert codesets.fiscal_year_start(2027) == dt.date(2026, 10, 1)
    assert codesets.fiscal_year_of(dt.date(2026, 9, 30)) == 2026
    assert codesets.fiscal_year_of(dt.date(2026, 10, 1)) == 2027


def test_the_release_is_chosen_by_date_of_service(loaded: Path) -> None:
    """The synthetic FY2027 file knows only a few codes; the packaged FY2026 list knows the rest:
    each date of service is judged by the release in force on it."""
    fy2027, fy2026 = codesets.icd10cm_release(FY2027), codesets.icd10cm_release(FY2026)
    assert fy2027 is not None and fy2027.name == "FY2027"
    assert fy2026 is not None and fy2026.name == "FY2026 April update"
    assert codesets.validate_icd10cm("Z79.4", FY2027) is None
    assert "FY2027" in (codesets.validate_icd10cm("T36.0X1A", FY2027) or "")
    assert codesets.validate_icd10cm("T36.0X1A", FY2026) is None
    assert "not billable" in (codesets.validate_icd10cm("Z3A", FY2027) or "")
    assert codesets.describe(CodeKind.ICD10CM, "J06.9", FY2027) == "Acute upper respiratory infection, unspecified"


def test_icd10pcs_from_the_order_file(loaded: Path) -> None:
    assert codesets.validate_icd10pcs("0DTJ4ZZ", FY2027) is None
    assert "7 letters or digits" in (codesets.validate_icd10pcs("001", FY2027) or ""), "a table is not a code"
    assert "not an ICD-10-PCS code in the FY2027" in (codesets.validate_icd10pcs("0DTJ0ZZ", FY2027) or "")
    assert "no I or O" in (codesets.validate_icd10pcs("0DTI4ZZ", FY2027) or "")
    assert codesets.describe("icd10pcs", "0DTJ4ZZ", FY2027) == "Resection of Appendix, Percutaneous Endoscopic Approach"


def test_icd10pcs_without_a_loaded_release_checks_the_shape() -> None:
    assert codesets.validate_icd10pcs("0DTJ4ZZ", FY2027) is None
    assert codesets.validate_icd10pcs("0DTJ4Z", FY2027) is not None


def test_the_icd10cm_codes_file_layout_derives_categories() -> None:
    name, text = read_text(FIXTURES / "icd10cm-codes-2026.txt", "order")
    year, start = default_icd_effective_from(name, None)
    release = read_icd10(CodeSetName.ICD10CM, name, text, f"FY{year}", start)
    assert (year, start) == (2026, dt.date(2025, 10, 1))
    assert release.problem("J06.9") is None
    assert "not billable" in (release.problem("J06") or "")


def test_hcpcs_release_validity_by_date(loaded: Path) -> None:
    assert codesets.validate_procedure("J3420", FY2027) is None
    assert "not a HCPCS Level II code in the 2027 January" in (codesets.validate_procedure("J9999", FY2027) or "")
    assert "discontinued on 2027-06-30" in (codesets.validate_procedure("K0001", dt.date(2027, 7, 1)) or "")
    assert codesets.validate_procedure("K0001", dt.date(2027, 6, 30)) is None
    assert "takes effect on 2027-04-01" in (codesets.validate_procedure("G0999", dt.date(2027, 3, 1)) or "")
    assert codesets.validate_procedure("99213", FY2027) is None, "CPT is checked against the tenant's list, not here"
    assert codesets.validate_modifier("LT", FY2027) is None and codesets.validate_modifier("25", FY2027) is None
    assert "not a HCPCS Level II modifier" in (codesets.validate_modifier("ZZ", FY2027) or "")
    described = codesets.describe("procedure", "Q0035") or ""
    assert described.endswith("long enough to need a second record to finish it")
    left = "Left side (procedures performed on the left side of the body)"
    assert codesets.describe("modifier", "LT", FY2027) == left


def test_a_release_survives_the_store_and_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "2027-code-descriptions.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(FIXTURES / "icd10cm-codes-2026.txt", "icd10cm-codes-2027.txt")
        zipped.write(FIXTURES / "icd10cm-order-2027.txt", "icd10cm-order-2027.txt")
    name, text = read_text(archive, "order")
    assert name == "icd10cm-order-2027.txt"
    release = read_icd10(CodeSetName.ICD10CM, name, text, "FY2027", dt.date(2026, 10, 1))
    path = write_release(tmp_path / "sets", release)
    back = read_release(path, with_descriptions=True)
    assert (back.codes, back.billable, back.descriptions) == (release.codes, release.billable, release.descriptions)


def test_files_of_another_layout_are_refused_with_the_line() -> None:
    with pytest.raises(CodeSetFileError, match="line 1"):
        read_hcpcs("x.txt", (FIXTURES / "icd10cm-order-2027.txt").read_text(), "x", FY2027)
    with pytest.raises(CodeSetFileError, match="line 2"):
        read_icd10(CodeSetName.ICD10PCS, "x.txt", "00001 0016070 1 Bypass\nnot a line\n", "x", FY2027)
    with pytest.raises(CodeSetFileError, match="not a icd10pcs code"):
        read_icd10(CodeSetName.ICD10PCS, "x.txt", "00001 J069    1 Cough\n", "x", FY2027)
    with pytest.raises(CodeSetFileError, match="fiscal year"):
        default_icd_effective_from("codes.txt", None)


def test_descriptions_of_the_small_lists() -> None:
    assert codesets.describe("place_of_service", "11") == "Office"
    assert codesets.describe("revenue", "0450") == "Emergency room"
    assert codesets.describe("carc", "197") == "Precertification/authorization/notification/pre-treatment absent"
    assert codesets.describe("rarc", "M62") == "Missing/incomplete/invalid treatment authorization code"
    assert codesets.describe("claim_status", "1") == "Processed as primary"
    assert codesets.describe("condition", "D9") == "Any other change"
    assert codesets.describe("carc", "ZZZ") is None
    assert codesets.describe_claim_status_composite("A7:164:IL") == (
        "Acknowledgement/rejected for invalid information: Entity's contract/member number (insured or subscriber)"
    )
    assert codesets.describe_claim_status_composite("A3:21") == (
        "Acknowledgement/returned as unprocessable claim: Missing or invalid information"
    )
    assert codesets.describe_claim_status_composite("Q9:1") is None
