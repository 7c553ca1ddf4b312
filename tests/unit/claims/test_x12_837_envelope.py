"""Envelope, hierarchy and batching of the 837 writer: fixed widths, counts, control numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from services.claims.domain.claim import Claim, Subscriber
from services.claims.domain.control_numbers import MAX_CONTROL_NUMBER, ControlNumbers, following, isa13, st02
from services.claims.domain.x12_837 import (
    MAX_CLAIMS_PER_HL,
    ClaimValidationError,
    Interchange837,
    UsageIndicator,
    write_batches,
    write_interchange,
)
from services.claims.domain.x12_numbers import cents_to_x12, quantity_to_x12
from shared.npi import npi_is_valid
from shared.x12.envelope import read_interchanges
from shared.x12.values import format_cents, parse_cents
from tests.support.pyx12_check import pyx12_errors
from tests.support.x12_837_builders import (
    ACME,
    BEACON,
    CLINIC,
    CONTROL,
    CREATED_AT,
    HOSPITAL,
    JANE,
    SUBMITTER,
    dependent_claim,
    institutional_claim,
    professional_claim,
    secondary_claim,
)


def _segments(interchange: Interchange837) -> list[str]:
    return interchange.text.rstrip("~\n").replace("~\n", "~").split("~")


def _hl_problems(segments: list[str]) -> list[str]:
    """HL01 sequential per ST, HL02 points at the right parent level, HL04 says whether children follow."""
    problems = []
    parent_level = {"20": None, "22": "20", "23": "22"}
    levels: dict[str, str] = {}
    hls: list[list[str]] = []
    for segment in segments:
        if segment.startswith("ST*"):
            levels, hls = {}, []
        if not segment.startswith("HL*"):
            continue
        _, hl_id, parent, level, child = segment.split("*")
        hls.append([hl_id, parent, level, child])
        if hl_id != str(len(levels) + 1):
            problems.append(f"{segment}: HL01 out of sequence")
        expected = parent_level[level]
        if (expected is None and parent) or (expected is not None and levels.get(parent) != expected):
            problems.append(f"{segment}: parent {parent!r} is not a level {expected}")
        levels[hl_id] = level
    for hl_id, _, _, child in hls:
        has_children = any(other[1] == hl_id for other in hls)
        if (child == "1") != has_children:
            problems.append(f"HL {hl_id}: HL04={child} but has_children={has_children}")
    return problems


def _se_problems(segments: list[str]) -> list[str]:
    problems = []
    start = None
    for index, segment in enumerate(segments):
        if segment.startswith("ST*"):
            start = index
        elif segment.startswith("SE*"):
            _, count, control = segment.split("*")
            if int(count) != index - start + 1:
                problems.append(f"{segment}: counted {index - start + 1}")
            if control != segments[start].split("*")[2]:
                problems.append(f"{segment}: SE02 differs from ST02")
    return problems


def test_isa_has_fixed_widths() -> None:
    interchange = write_interchange([professional_claim()], CONTROL, CREATED_AT, usage=UsageIndicator.PRODUCTION)

    isa = interchange.text[: interchange.text.index("~") + 1]
    assert len(isa) == 106
    assert [len(e) for e in isa[:-1].split("*")] == [3, 2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1]
    assert isa == (
        "ISA*00*          *00*          *ZZ*CLAIMFLOW01    *ZZ*SANDBOXCH      *250314*0930*^*00501*000001001*0*P*:~"
    )
    assert interchange.text.endswith("IEA*1*000001001~")


def test_many_claims_group_under_shared_provider_and_subscriber_levels() -> None:
    claims = [
        professional_claim(control_number="A1"),
        dependent_claim(control_number="D1"),
        professional_claim(control_number="A2"),
        institutional_claim(control_number="I1"),
        dependent_claim(control_number="D2"),
        professional_claim(control_number="A3", billing_provider=replace(CLINIC)),  # equal value, new object
    ]
    interchange = write_interchange(claims, CONTROL, CREATED_AT)
    segments = _segments(interchange)

    assert pyx12_errors(interchange.text) == []
    assert _hl_problems(segments) == []
    assert _se_problems(segments) == []
    professional = segments[: segments.index("GE*1*2001") + 1]
    assert [s for s in professional if s.startswith("HL*")] == [
        "HL*1**20*1",
        "HL*2*1*22*0",  # Jane as patient: A1, A2, A3
        "HL*3*1*22*1",  # Jane as subscriber of Timmy
        "HL*4*3*23*0",  # Timmy: D1, D2
    ]
    claim_ids = [s.split("*")[1] for s in professional if s.startswith("CLM*")]
    assert claim_ids == ["A1", "A2", "A3", "D1", "D2"]
    assert [t.claim_control_numbers for t in interchange.transactions] == [("A1", "A2", "A3", "D1", "D2"), ("I1",)]


def test_more_claims_than_one_hl_may_hold_open_a_new_hl() -> None:
    claims = [professional_claim(control_number=f"C{n}") for n in range(MAX_CLAIMS_PER_HL + 1)]
    interchange = write_interchange(claims, CONTROL, CREATED_AT)
    segments = _segments(interchange)

    assert [s for s in segments if s.startswith("HL*")] == ["HL*1**20*1", "HL*2*1*22*0", "HL*3*1*22*0"]
    assert _hl_problems(segments) == []
    assert pyx12_errors(interchange.text) == []


def test_transactions_split_at_the_claim_limit_with_consecutive_control_numbers() -> None:
    claims = [professional_claim(control_number=f"C{n}") for n in range(5)] + [institutional_claim()]
    interchange = write_interchange(claims, ControlNumbers(7, 70, 700), CREATED_AT, max_claims_per_transaction=2)
    segments = _segments(interchange)

    headers = [s for s in segments if s.startswith(("GS*", "GE*", "ST*", "IEA*"))]
    assert headers == [
        "GS*HC*CLAIMFLOW01*SANDBOXCH*20250314*0930*70*X*005010X222A1",
        "ST*837*0700*005010X222A1",
        "ST*837*0701*005010X222A1",
        "ST*837*0702*005010X222A1",
        "GE*3*70",
        "GS*HC*CLAIMFLOW01*SANDBOXCH*20250314*0930*71*X*005010X223A2",
        "ST*837*0703*005010X223A2",
        "GE*1*71",
        "IEA*2*000000007",
    ]
    assert [len(t.claim_control_numbers) for t in interchange.transactions] == [2, 2, 1, 1]
    assert interchange.next_control_numbers == ControlNumbers(8, 72, 704)
    assert _se_problems(segments) == []
    assert pyx12_errors(interchange.text) == []
    (parsed,) = read_interchanges(interchange.text)  # the project's own X12 reader agrees on the envelope
    assert [len(g.transactions) for g in parsed.groups] == [3, 1]


def test_batches_write_one_interchange_per_submitter_receiver_and_payer() -> None:
    other_submitter = replace(SUBMITTER, identifier="OTHERSUB01")
    claims = [
        professional_claim(control_number="P-ACME-1"),
        secondary_claim(control_number="P-BEACON-1"),
        institutional_claim(control_number="I-ACME-1"),
        professional_claim(control_number="P-ACME-2", submitter=other_submitter),
        professional_claim(control_number="P-ACME-3"),
    ]
    batch = write_batches(claims, ControlNumbers(41, 410, 4100), CREATED_AT)

    assert [(i.submitter_id, i.payer_ids) for i in batch.interchanges] == [
        ("CLAIMFLOW01", ("ACME01",)),
        ("CLAIMFLOW01", ("BEACON02",)),
        ("OTHERSUB01", ("ACME01",)),
    ]
    assert [i.interchange_control_number for i in batch.interchanges] == [41, 42, 43]
    assert [[t.control_number for t in i.transactions] for i in batch.interchanges] == [[4100, 4101], [4102], [4103]]
    assert [[t.group_control_number for t in i.transactions] for i in batch.interchanges] == [[410, 411], [412], [413]]
    assert batch.next_control_numbers == ControlNumbers(44, 414, 4104)
    written = [c for i in batch.interchanges for t in i.transactions for c in t.claim_control_numbers]
    assert sorted(written) == sorted(c.control_number for c in claims)
    for interchange in batch.interchanges:
        assert pyx12_errors(interchange.text) == []
        assert interchange.text.startswith(f"ISA*00*{'':10}*00*{'':10}*ZZ*{interchange.submitter_id:<15}*")


def test_batch_validates_everything_before_writing_anything() -> None:
    claims = [professional_claim(), professional_claim(control_number="BAD", diagnoses=())]

    with pytest.raises(ClaimValidationError) as raised:
        write_batches(claims, CONTROL, CREATED_AT)

    assert raised.value.problems[0].field == "claims[1].diagnoses"


def test_checked_claims_are_written_as_unchecked_ones_are() -> None:
    claims = [professional_claim(control_number="P-1"), professional_claim(control_number="P-2")]

    checked = write_batches(claims, CONTROL, CREATED_AT, checked=True)

    assert checked == write_batches(claims, CONTROL, CREATED_AT)


def test_checked_claims_still_have_their_submitter_checked_and_every_problem_named() -> None:
    """A claim checked when it was scrubbed gets its submitter, receiver and number later: the first claim of
    each interchange is checked again, and a problem there is named as a full check names it."""
    no_name = replace(SUBMITTER, name="")
    claims = [professional_claim(submitter=no_name), professional_claim(control_number="P-2", submitter=no_name)]

    with pytest.raises(ClaimValidationError) as checked:
        write_batches(claims, CONTROL, CREATED_AT, checked=True)
    with pytest.raises(ClaimValidationError) as unchecked:
        write_batches(claims, CONTROL, CREATED_AT)

    assert "claims[0].submitter.name" in {problem.field for problem in checked.value.problems}
    assert checked.value.problems == unchecked.value.problems


def test_empty_batch_writes_nothing_and_keeps_control_numbers() -> None:
    batch = write_batches([], CONTROL, CREATED_AT)

    assert batch.interchanges == ()
    assert batch.next_control_numbers == CONTROL


def test_line_breaks_put_each_segment_on_its_own_line() -> None:
    interchange = write_interchange([professional_claim()], CONTROL, CREATED_AT, line_breaks=True)

    lines = interchange.text.splitlines()
    assert all(line.endswith("~") for line in lines)
    assert lines[-1] == "IEA*1*000001001~"
    assert pyx12_errors(interchange.text) == []


def test_subscribers_equal_by_value_share_one_hl_even_as_distinct_objects() -> None:
    twin = Subscriber(**{name: getattr(JANE, name) for name in JANE.__slots__})
    claims = [professional_claim(control_number="X1"), professional_claim(control_number="X2", subscriber=twin)]

    segments = _segments(write_interchange(claims, CONTROL, CREATED_AT))

    assert sum(s.startswith("HL*") for s in segments) == 2


def test_same_subscriber_at_two_payers_gets_two_subscriber_levels() -> None:
    claims = [professional_claim(control_number="X1"), professional_claim(control_number="X2", payer=BEACON)]

    interchange = write_interchange(claims, CONTROL, CREATED_AT)

    hls = [s for s in _segments(interchange) if s.startswith("HL*")]
    assert hls == ["HL*1**20*1", "HL*2*1*22*0", "HL*3*1*22*0"]
    assert interchange.payer_ids == ("ACME01", "BEACON02")


def test_control_numbers_wrap_after_nine_digits() -> None:
    interchange = write_interchange(
        [professional_claim()], ControlNumbers(MAX_CONTROL_NUMBER, MAX_CONTROL_NUMBER, MAX_CONTROL_NUMBER), CREATED_AT
    )

    assert "*999999999*0*T*:~" in interchange.text
    assert interchange.next_control_numbers == ControlNumbers(1, 1, 1)
    assert following(41) == 42
    assert isa13(7) == "000000007"
    assert st02(7) == "0007"


@pytest.mark.parametrize("bad", [0, -1, MAX_CONTROL_NUMBER + 1])
def test_control_numbers_refuse_out_of_range_values(bad: int) -> None:
    with pytest.raises(ValueError, match="ISA13"):
        ControlNumbers(bad, 1, 1)


def test_control_numbers_refuse_non_integers() -> None:
    with pytest.raises(TypeError, match="GS06"):
        ControlNumbers(1, "1", 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cents", "text"),
    [(12345, "123.45"), (10000, "100"), (12350, "123.5"), (5, "0.05"), (0, "0"), (-127, "-1.27"), (-5000, "-50")],
)
def test_cents_become_x12_decimals_without_floats(cents: int, text: str) -> None:
    assert cents_to_x12(cents) == text


def test_cents_formatting_agrees_with_the_shared_x12_values_module() -> None:
    for cents in [*range(-1001, 1001), 10**12 + 1, 99999999999999]:
        assert cents_to_x12(cents) == format_cents(cents)
        assert parse_cents(cents_to_x12(cents)) == cents


@pytest.mark.parametrize("bad", [1.5, Decimal("1.5"), True, "100"])
def test_cents_refuse_anything_but_int(bad: object) -> None:
    with pytest.raises(TypeError):
        cents_to_x12(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("quantity", "text"), [(3, "3"), (Decimal("2.500"), "2.5"), (Decimal("1E+2"), "100"), (Decimal("0.25"), "0.25")]
)
def test_quantities_render_without_exponent_or_trailing_zeros(quantity: int | Decimal, text: str) -> None:
    assert quantity_to_x12(quantity) == text


def test_npi_check_digit() -> None:
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("123456789\u0663")  # an Arabic-Indic three is a digit, but not ASCII
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("123456789")
    assert not npi_is_valid("12345678a3")


def test_hospital_and_clinic_fixtures_are_valid_npis() -> None:
    assert npi_is_valid(HOSPITAL.npi) and npi_is_valid(CLINIC.npi)
    assert ACME.payer_id != BEACON.payer_id


def test_created_at_must_be_a_datetime() -> None:
    with pytest.raises(ClaimValidationError, match="created_at"):
        write_interchange([professional_claim()], CONTROL, datetime(2025, 3, 14).date())  # type: ignore[arg-type]


def _claims_with_submitters(*identifiers: str) -> list[Claim]:
    return [
        professional_claim(control_number=f"S{n}", submitter=replace(SUBMITTER, identifier=identifier))
        for n, identifier in enumerate(identifiers)
    ]


def test_one_interchange_cannot_mix_submitters() -> None:
    with pytest.raises(ClaimValidationError) as raised:
        write_interchange(_claims_with_submitters("SUBA", "SUBB"), CONTROL, CREATED_AT)

    assert [p.field for p in raised.value.problems] == ["claims[1].submitter"]
