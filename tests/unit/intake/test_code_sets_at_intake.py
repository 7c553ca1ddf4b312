"""Intake applies the shared code sets where a code enters: a 422 names the field, a labeled NDC is
converted to the 11 digits the 837 carries."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.intake.schemas import DrugIn, ServiceLineIn
from tests.support.intake_builders import DAY


def line(**changes: object) -> ServiceLineIn:
    values: dict[str, object] = {
        "line_number": 1,
        "procedure_code": "99213",
        "units": 1,
        "diagnosis_pointers": [1],
        "service_date": DAY.isoformat(),
    }
    return ServiceLineIn.model_validate(values | changes)


@pytest.mark.parametrize(
    ("labeled", "eleven"),
    [("0002-1433-80", "00002143380"), ("12345-678-90", "12345067890"), ("00002143380", "00002143380")],
)
def test_a_labeled_ndc_becomes_eleven_digits(labeled: str, eleven: str) -> None:
    assert DrugIn.model_validate({"ndc": labeled, "quantity": "1", "unit": "UN"}).ndc == eleven


def test_an_ambiguous_ndc_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        DrugIn.model_validate({"ndc": "0002143380", "quantity": "1", "unit": "UN"})
    (error,) = raised.value.errors()
    assert error["loc"] == ("ndc",) and "11 digits" in error["msg"]


def test_procedure_codes_and_modifiers_follow_the_shared_rules() -> None:
    assert line(procedure_code="0001M").procedure_code == "0001M"
    with pytest.raises(ValidationError) as raised:
        line(procedure_code="W1234")
    assert raised.value.errors()[0]["loc"] == ("procedure_code",)
    with pytest.raises(ValidationError) as raised:
        line(revenue_code="9990")
    assert "no NUBC revenue category" in raised.value.errors()[0]["msg"]
