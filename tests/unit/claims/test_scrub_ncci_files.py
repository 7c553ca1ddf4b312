"""CMS NCCI PTP and MUE files read in their published layouts (synthetic fixtures)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.claims.domain.scrubber.ncci import (
    ModifierIndicator,
    MueAdjudication,
    NcciFileError,
    index_ptp,
    parse_mue,
    parse_ptp,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_ptp_text_file_skips_notice_and_header_and_reads_every_edit() -> None:
    edits = list(parse_ptp((FIXTURES / "ncci_ptp_practitioner.txt").read_text()))
    assert [(e.column1, e.column2) for e in edits] == [
        ("10060", "11900"),
        ("20610", "76942"),
        ("29881", "29877"),
        ("93000", "93010"),
        ("99213", "99211"),
    ]
    first, _, old, deleted, not_applicable = edits
    assert first.effective_date == dt.date(2021, 1, 1) and first.deletion_date is None
    assert first.modifier_indicator is ModifierIndicator.ALLOWED
    assert first.rationale == "Misuse of column two code with column one code"
    assert old.prior_to_1996 and not first.prior_to_1996
    assert deleted.deletion_date == dt.date(2023, 1, 1)
    assert deleted.in_force_on(dt.date(2022, 12, 31)) and not deleted.in_force_on(dt.date(2023, 1, 1))
    assert not first.in_force_on(dt.date(2020, 12, 31))
    assert not not_applicable.in_force_on(dt.date(2026, 1, 1))


def test_ptp_csv_export_reads_the_same() -> None:
    text = (FIXTURES / "ncci_ptp_practitioner.txt").read_text()
    csv_text = "\n".join(",".join(f'"{cell}"' for cell in row.split("\t")) for row in text.splitlines())
    assert list(parse_ptp(csv_text)) == list(parse_ptp(text))
    assert len(index_ptp(parse_ptp(text))[("20610", "76942")]) == 1


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("10060\t11900\t\t2021-01-01\t*\t1\tx", "effective date"),
        ("10060\t11900\t\t20210101\t*\t2\tx", "modifier indicator"),
        ("10060\t11900\t\t\t*\t1\tx", "effective date is missing"),
    ],
)
def test_ptp_malformed_edit_rows_name_their_line(row: str, error: str) -> None:
    with pytest.raises(NcciFileError, match=f"line 2: .*{error}"):
        list(parse_ptp("header\n" + row))


def test_mue_csv_reads_values_indicators_and_service_type() -> None:
    edits = {e.code: e for e in parse_mue((FIXTURES / "mue_practitioner.csv").read_text())}
    assert set(edits) == {"11900", "36415", "87880", "J1100"}
    assert edits["87880"].adjudication is MueAdjudication.LINE and not edits["87880"].per_date_of_service
    assert edits["36415"].max_units == 2 and edits["36415"].per_date_of_service
    assert edits["11900"].adjudication is MueAdjudication.DATE_OF_SERVICE_POLICY
    assert edits["J1100"].rationale == "Prescribing Information"
    assert {e.service_type for e in edits.values()} == {"practitioner"}


def test_mue_service_type_from_an_outpatient_header() -> None:
    text = '"HCPCS/CPT Code","Outpatient Hospital Services MUE Values","MUE Adjudication Indicator","MUE Rationale"\n'
    text += '"36415","2","3 Date of Service Edit: Clinical","Clinical: Data"\n'
    assert next(parse_mue(text)).service_type == "outpatient_hospital"


@pytest.mark.parametrize(
    ("cells", "error"), [('"36415","two","3 x"', "whole number"), ('"36415","2","7 x"', "1, 2 or 3")]
)
def test_mue_malformed_rows_name_their_line(cells: str, error: str) -> None:
    with pytest.raises(NcciFileError, match=f"line 1: .*{error}"):
        list(parse_mue(cells))
