"""Names to the X12 basic character set: deterministic, and refused when there is no faithful form."""

from __future__ import annotations

import pytest

from shared.x12.transliteration import name_problem, transliterate


@pytest.mark.parametrize(
    ("spelled", "sent"),
    [
        ("José Núñez", "JOSE NUNEZ"),
        ("O\u2019Brien", "OBRIEN"),
        ("O'Brien", "OBRIEN"),
        ("Siobhán", "SIOBHAN"),
        ("Straße", "STRASSE"),
        ("Łukasz Ærøe", "LUKASZ AEROE"),
        ("Jean\u2013Luc", "JEAN-LUC"),
        ("  Mary   Ann ", "MARY ANN"),
        ("Apt #4", "APT #4"),
    ],
)
def test_names_are_transliterated_the_same_way_every_time(spelled: str, sent: str) -> None:
    assert transliterate(spelled) == sent == transliterate(spelled)


@pytest.mark.parametrize("name", ["A*B", "A~B", "A:B", "A^B", "A\tB", "\u202eAB", "AB\u200b", "\U0001f600", "Ωmega"])
def test_what_has_no_x12_form_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        transliterate(name)
    assert name_problem(name, 35) is not None


def test_the_length_limit_applies_to_what_is_sent() -> None:
    assert name_problem("Ñ" * 35, 35) is None
    assert "36 characters" in (name_problem("ß" * 18, 35) or "")
