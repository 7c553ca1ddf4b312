"""Corrections to a held claim take codes by the shared rules: a fix cannot put on a claim a code that
intake would refuse and the scrubber would hold again."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.claims.schemas import ClaimFixIn


def test_fixes_take_codes_intake_accepts() -> None:
    fix = ClaimFixIn.model_validate(
        {
            "diagnosis_codes": ["Z79.4"],
            "place_of_service": "02",
            "lines": [{"line_number": 1, "procedure_code": "0001M"}],
        }
    )
    assert fix.lines[0].procedure_code == "0001M"


@pytest.mark.parametrize(
    ("body", "where", "words"),
    [
        ({"lines": [{"line_number": 1, "procedure_code": "W1234"}]}, ("lines", 0, "procedure_code"), "neither CPT"),
        ({"lines": [{"line_number": 1, "revenue_code": "9990"}]}, ("lines", 0, "revenue_code"), "no NUBC"),
        ({"lines": [{"line_number": 1, "modifiers": ["25", "q"]}]}, ("lines", 0, "modifiers", 1), "2 capital"),
        ({"place_of_service": "30"}, ("place_of_service",), "place-of-service"),
        ({"diagnosis_codes": ["J06."]}, ("diagnosis_codes", 0), "ICD-10-CM"),
    ],
)
def test_fixes_refuse_codes_intake_refuses(body: dict[str, object], where: tuple[object, ...], words: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ClaimFixIn.model_validate(body)
    (error,) = raised.value.errors()
    assert error["loc"] == where and words in error["msg"]
