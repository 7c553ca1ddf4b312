from __future__ import annotations

import datetime as dt

import pytest

from services.intake.domain.encounter import EncounterRejected, check_diagnosis_pointers, total_charge_cents
from shared.events.catalog import CodedServiceLine

DAY = dt.date(2026, 11, 2)


def _line(number: int, charge: int | None, pointers: list[int]) -> CodedServiceLine:
    return CodedServiceLine(
        line_number=number,
        procedure_code="99213",
        units=1,
        charge_cents=charge,
        diagnosis_pointers=pointers,
        service_date=DAY,
    )


def test_total_charge_counts_priced_lines_only() -> None:
    assert total_charge_cents([_line(1, 12500, [1]), _line(2, None, [1]), _line(3, 1, [1])]) == 12501


def test_pointer_beyond_the_diagnoses_names_the_line_and_field() -> None:
    with pytest.raises(EncounterRejected) as rejected:
        check_diagnosis_pointers([_line(1, 100, [1]), _line(2, 100, [2, 5])], diagnosis_count=2)
    assert rejected.value.location == ("lines", 1, "diagnosis_pointers")
    assert "pointer 5" in rejected.value.message
