"""The pyx12 adapter parses each map once per process and still judges every document on its own."""

from __future__ import annotations

from services.claims.domain.x12_837 import write_interchange
from shared.x12 import pyx12_validation
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.support.x12_837_builders import CONTROL, CREATED_AT, professional_claim


def test_a_document_after_a_faulty_one_is_judged_on_its_own() -> None:
    good = write_interchange([professional_claim()], CONTROL, CREATED_AT).text
    faulty = good.replace("CLM*", "CLM*X*", 1)

    first = validate_with_pyx12(faulty)
    assert [issue.segment_id for issue in first] and all(issue.segment_id == "CLM" for issue in first)
    assert validate_with_pyx12(good) == ()
    assert validate_with_pyx12(faulty) == first


def test_each_map_is_parsed_once() -> None:
    good = write_interchange([professional_claim()], CONTROL, CREATED_AT).text
    validate_with_pyx12(good)
    parsed = dict(pyx12_validation._parsed_maps)
    validate_with_pyx12(good)
    assert parsed and pyx12_validation._parsed_maps == parsed
    assert any(map_file.startswith("837.5010.X222") for map_file, _, _ in parsed)
