from __future__ import annotations

import datetime as dt
import random

import pytest

from services.intake.domain.icd10cm import packaged_releases, release_for, release_from_code_list

RELEASE = packaged_releases()[-1]


@pytest.mark.parametrize("code", ["J06.9", "J069", "R05.9", "S12.000A", "T36.0X1A", "Z99.89"])
def test_billable_codes_pass(code: str) -> None:
    assert RELEASE.problem(code) is None


@pytest.mark.parametrize("code", ["J06", "R05", "S12.000", "E11"])
def test_categories_are_not_billable(code: str) -> None:
    assert "not billable" in (RELEASE.problem(code) or "")


@pytest.mark.parametrize("code", ["J06.99", "U99.9", "A00.5"])
def test_unknown_codes_name_the_release(code: str) -> None:
    assert "FY2026" in (RELEASE.problem(code) or "")


@pytest.mark.parametrize("code", ["", "99213", "J0", "j06.9x", "J06.9-"])
def test_malformed_codes_say_so(code: str) -> None:
    assert "not shaped like" in (RELEASE.problem(code) or "")


def test_leaves_agree_with_the_package_on_a_sample() -> None:
    """Our reading of the code list (leaf = billable) matches simple-icd-10-cm's own API."""
    import simple_icd_10_cm as cm

    sample = random.Random(7).sample(sorted(RELEASE.codes), 400)
    for code in sample:
        assert cm.is_valid_item(code), code
        assert cm.is_leaf(code) == (code in RELEASE.billable), code


def test_a_code_list_reader_skips_chapters_and_blocks() -> None:
    release = release_from_code_list("test", 2026, dt.date(2025, 10, 1), ["1", "A00-A09", "A00", "A000 text", "A001"])
    assert release.codes == {"A00", "A000", "A001"}
    assert release.billable == {"A000", "A001"}


def test_release_for_a_date_picks_the_newest_in_force() -> None:
    older = release_from_code_list("FY2025", 2025, dt.date(2024, 10, 1), ["A00"])
    newer = release_from_code_list("FY2026", 2026, dt.date(2025, 10, 1), ["A00"])
    assert release_for(dt.date(2025, 3, 1), (older, newer)) is older
    assert release_for(dt.date(2026, 3, 1), (older, newer)) is newer
    assert release_for(dt.date(2020, 1, 1), (older, newer)) is older
