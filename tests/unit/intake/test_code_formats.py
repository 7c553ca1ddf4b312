from __future__ import annotations

import pytest

from services.intake.domain.code_formats import (
    is_cpt,
    modifier_problem,
    ndc_problem,
    place_of_service_problem,
    procedure_code_problem,
    revenue_code_problem,
    taxonomy_problem,
)


@pytest.mark.parametrize("code", ["99213", "0001F", "0042T", "0001U", "J3420", "G0008"])
def test_cpt_and_hcpcs_shapes_pass(code: str) -> None:
    assert procedure_code_problem(code) is None


@pytest.mark.parametrize("code", ["9921", "992130", "0001X", "JJ342", "j3420", "99 13", ""])
def test_other_shapes_fail(code: str) -> None:
    assert "neither CPT" in (procedure_code_problem(code) or "")


def test_only_cpt_shapes_are_checked_against_the_customer_list() -> None:
    assert is_cpt("99213") and is_cpt("0001F")
    assert not is_cpt("J3420")


@pytest.mark.parametrize(("modifier", "ok"), [("25", True), ("QW", True), ("G0", True), ("q", False), ("ABC", False)])
def test_modifiers_are_two_alphanumerics(modifier: str, ok: bool) -> None:
    assert (modifier_problem(modifier) is None) is ok


@pytest.mark.parametrize(("code", "ok"), [("11", True), ("22", True), ("99", True), ("00", False), ("30", False)])
def test_place_of_service_from_the_cms_list(code: str, ok: bool) -> None:
    assert (place_of_service_problem(code) is None) is ok


def test_other_code_shapes() -> None:
    assert revenue_code_problem("0450") is None and revenue_code_problem("450") is not None
    assert ndc_problem("00002143380") is None and ndc_problem("0002-1433-80") is not None
    assert taxonomy_problem("207Q00000X") is None and taxonomy_problem("207Q00000") is not None
