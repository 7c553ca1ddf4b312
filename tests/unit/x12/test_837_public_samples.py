"""Every public 837P/837I sample under ../shared/x12/ through the project's own readers.

`shared.x12.read_interchanges` checks envelopes (counts, control numbers) and gives the segments;
the sandbox's `read_837` reads claims from the implementation guides it supports (005010X222A1,
005010X223A2) and flags anything else as not supported (IK502 "1") without reading its claims.
The facts asserted (CLM01, charges in cents, claim counts, where a file is broken) were checked
by reading each file. Samples stay where they are: the tests skip when ../shared/x12 is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from sandbox.claims_837 import ReceivedTransaction, UnreadableFileError, read_837
from shared.x12 import (
    Interchange,
    Segment,
    X12EnvelopeError,
    X12SyntaxError,
    X12VersionError,
    parse_cents,
    read_interchanges,
)
from tests.support.x12_samples import sample


def claims_in(interchanges: tuple[Interchange, ...]) -> list[list[tuple[str, int]]]:
    """(CLM01, CLM02 in cents) per transaction set, in file order, from the envelope reader's segments."""
    return [
        [(s.element(1), parse_cents(s.element(2))) for s in transaction.segments if s.id == "CLM"]
        for interchange in interchanges
        for group in interchange.groups
        for transaction in group.transactions
    ]


def transactions(data: bytes) -> list[ReceivedTransaction]:
    return [t for interchange in read_837(data) for group in interchange.groups for t in group.transactions]


@dataclass(frozen=True)
class Clean:
    """A sample whose envelopes are sound."""

    path: str
    implementation: str
    claims: list[list[tuple[str, int]]]
    """(CLM01, charge cents) per transaction set."""


CLEAN = [
    Clean("linuxforhealth_x12/demo.example1.837", "005010X222A2", [[("26463774", 10000)]]),
    Clean("linuxforhealth_x12/demo.cob.example3.A.837", "005010X222A2", [[("26407789", 7904)]]),
    Clean("linuxforhealth_x12/demo.ambulance.example5.837", "005010X222A2", [[("051068", 76650)]]),
    Clean("linuxforhealth_x12/demo.drug.example10.1.837", "005010X222A2", [[("CLMNO12345", 10337)]]),
    Clean("linuxforhealth_x12/demo.autoaccident.837", "005010X222A2", [[("900000032", 18500)]]),
    Clean("linuxforhealth_x12/institutional-claim.837i", "005010X223A3", [[("756048Q", 8993)]]),
    Clean("linuxforhealth_x12/ppo-repriced-claim.837i", "005010X223A3", [[("456DFH43", 23750)]]),
    Clean(
        "linuxforhealth_x12/two-claims-single-provider.837i",
        "005010X223A3",
        [[("756048Q", 8995), ("756049Q", 5000)]],
    ),
    Clean(
        "oopfactory_x12parser/837P_5010_Example1_2_And_3_Combined.txt",
        "005010X222",
        [[("26463774", 10000), ("26407789", 7904)], [("26462967", 10000)]],
    ),
    Clean(
        "oopfactory_x12parser/837I_5010_Spec_3.1.2_TwoClaimsForTheSameProvider.txt",
        "005010X223",
        [[("756048Q", 8995), ("756049Q", 5000)]],
    ),
    Clean("oopfactory_x12parser/837P_5010_MedicaidExample.txt", "005010X222A1", [[("9999", 9999)] * 5]),
    Clean(
        "badx12/X222-COB-claim-from-payer-a-to-payer-b-in-payer-to-payer.edi", "005010X222A1", [[("26407789", 7904)]]
    ),
]


@pytest.mark.parametrize("case", CLEAN, ids=[c.path.split("/")[-1] for c in CLEAN])
def test_clean_samples_read_with_their_claims(case: Clean) -> None:
    data = sample(case.path)
    interchanges = read_interchanges(data)
    assert [t.implementation for i in interchanges for g in i.groups for t in g.transactions] == [
        case.implementation
    ] * len(case.claims)
    assert all(t.id == "837" for i in interchanges for g in i.groups for t in g.transactions)
    assert claims_in(interchanges) == case.claims
    read = transactions(data)
    assert len(read) == len(case.claims)
    if case.implementation in ("005010X222A1", "005010X223A2"):
        assert all(t.accepted for t in read)
        assert [[(c.control_number, c.charge_cents) for c in t.claims] for t in read] == case.claims
    else:
        # A2/A3 errata and the bare 005010X222/X223 are not guides the sandbox accepts: IK502 "1", no claims.
        assert [(t.transaction_errors, t.claims) for t in read] == [(["1"], [])] * len(case.claims)


def test_the_cob_claim_has_its_lines_payer_and_member() -> None:
    (transaction,) = transactions(sample("badx12/X222-COB-claim-from-payer-a-to-payer-b-in-payer-to-payer.edi"))
    (claim,) = transaction.claims
    assert (claim.kind, claim.frequency, claim.facility_code) == ("837P", "1", "11")
    assert (claim.payer_id, claim.member_id) == ("567890", "22233444")
    assert len(claim.lines) == 3 and sum(line.charge_cents for line in claim.lines) == claim.charge_cents == 7904


def test_the_medicaid_sample_has_five_claims_whose_lines_do_not_add_up_to_clm02() -> None:
    """The sample's placeholder data: CLM02 99.99, its two lines 109.98; the reader keeps both as sent."""
    (transaction,) = transactions(sample("oopfactory_x12parser/837P_5010_MedicaidExample.txt"))
    assert transaction.accepted and transaction.kind == "837P"
    assert len(transaction.claims) == 5
    for claim in transaction.claims:
        assert (claim.control_number, claim.charge_cents, claim.member_id) == ("9999", 9999, "999999999")
        assert [len(claim.lines), sum(line.charge_cents for line in claim.lines)] == [2, 10998]


@dataclass(frozen=True)
class WrongCount:
    """imsweb's 837s all say SE01 = 25 whatever the transaction set holds."""

    path: str
    se_position: int
    counted: int
    claims_per_set: list[list[tuple[str, int]]]


WRONG_COUNTS = [
    WrongCount(
        "imsweb_x12-parser/x12_complex.txt",
        149,
        147,
        [[("A37YH556", 50000), ("A37YH667", 50000), ("A37YH668", 50000)]] * 2,
    ),
    WrongCount("imsweb_x12-parser/x12_many_claims.txt", 11488, 11486, []),
    WrongCount("imsweb_x12-parser/x12_multiple_gs.txt", 36, 34, [[("A37YH556", 50000), ("A37YH667", 50000)]] * 3),
    WrongCount(
        "imsweb_x12-parser/x12_multiple_isa.txt",
        36,
        34,
        [[("A37YH556", 50000), ("A37YH667", 50000)], [("A37YH5561", 50000), ("A37YH6672", 50000)]],
    ),
    WrongCount("imsweb_x12-parser/x12_multiple_st.txt", 36, 34, [[("A37YH556", 50000), ("A37YH667", 50000)]] * 2),
    WrongCount("imsweb_x12-parser/x12_segments_out_of_order.txt", 36, 34, [[("A37YH556", 50000), ("A37YH667", 50000)]]),
    WrongCount(
        "imsweb_x12-parser/x12_valid_different_separators.txt", 36, 34, [[("A37YH556", 50000), ("A37YH667", 50000)]]
    ),
    WrongCount("imsweb_x12-parser/x223-test.txt", 50, 48, [[("A37YH556", 50000)]]),
]


@pytest.mark.parametrize("case", WRONG_COUNTS, ids=[c.path.split("/")[-1] for c in WRONG_COUNTS])
def test_wrong_se_counts_are_envelope_errors_at_the_se(case: WrongCount) -> None:
    data = sample(case.path)
    with pytest.raises(X12EnvelopeError) as raised:
        read_interchanges(data)
    error = raised.value
    assert (error.segment_id, error.position, error.element_index) == ("SE", case.se_position, 1)
    assert f"SE01 says 25 segments but transaction set '987654' has {case.counted}" in str(error)
    assert str(error).startswith(f"segment {case.se_position} (SE)")
    # The sandbox still reads the claims and answers each set with IK502 "4" (segment count wrong).
    read = transactions(data)
    assert all(t.transaction_errors[:1] == ["4"] and not t.problems for t in read)
    if case.claims_per_set:
        assert [[(c.control_number, c.charge_cents) for c in t.claims] for t in read] == case.claims_per_set


def test_the_many_claims_sample_holds_820_claims_of_500_dollars() -> None:
    (transaction,) = transactions(sample("imsweb_x12-parser/x12_many_claims.txt"))
    assert transaction.kind == "837P" and len(transaction.claims) == 820
    assert {c.control_number for c in transaction.claims} == {"A37YH556", "A37YH667"}
    assert sum(c.charge_cents for c in transaction.claims) == 820 * 50000


def test_the_x223_sample_is_an_institutional_claim() -> None:
    (transaction,) = transactions(sample("imsweb_x12-parser/x223-test.txt"))
    (claim,) = transaction.claims
    assert (transaction.kind, claim.kind, claim.control_number, claim.charge_cents) == (
        "837I",
        "837I",
        "A37YH556",
        50000,
    )
    assert (claim.bill_type, len(claim.lines), claim.lines[0].charge_cents) == ("111", 1, 7342)


def test_the_utf16_sample_cut_short_is_a_syntax_error_at_its_stray_character() -> None:
    """UTF-16 text, cut off after five segments (no SE/GE/IEA), ending in a no-break space."""
    data = sample("oopfactory_x12parser/837P_5010_UnicodeExample.txt")
    with pytest.raises(X12SyntaxError) as raised:
        read_interchanges(data)
    assert raised.value.position == 6
    assert "unexpected text '\\xa0' after the last segment terminator '~'" in str(raised.value)
    with pytest.raises(UnreadableFileError, match=r"segment 6: unexpected text"):
        read_837(data)


TIGERSHARK = "tigershark/837I-Examples.txt"


def test_tigershark_4010_examples_run_into_each_other() -> None:
    """Two 4010 837Is pasted together: the first stops at a DTP, with no SE, GE or IEA, before the next ISA."""
    data = sample(TIGERSHARK)
    with pytest.raises(X12EnvelopeError) as raised:
        read_interchanges(data)
    assert (raised.value.segment_id, raised.value.position) == ("ISA", 54)
    assert "ISA before the SE that closes transaction set '30001' (ST at segment 3)" in str(raised.value)
    first, second = transactions(data)
    assert (first.implementation, first.transaction_errors, first.claims) == ("004010X096A1", ["1", "2"], [])
    assert (second.control_number, second.transaction_errors, second.claims) == ("0001", ["1", "4"], [])


def only_5010_837(segment: Segment) -> None:
    version = segment.element(8) if segment.id == "GS" else segment.element(3)
    if segment.id == "ST" and segment.element(1) != "837":
        raise X12VersionError(f"not an 837: {segment.element(1)}", segment_id="ST", position=segment.position)
    if version and not version.startswith("00501"):
        raise X12VersionError(f"not 5010: {version}", segment_id=segment.id, position=segment.position)


@pytest.mark.parametrize(
    ("path", "check", "expected"),
    [
        (TIGERSHARK, only_5010_837, ("GS", 2)),
        ("imsweb_x12-parser/x12_999_rejected.txt", only_5010_837, ("ST", 3)),
    ],
)
def test_a_caller_that_wants_5010_837s_stops_at_the_first_wrong_header(
    path: str, check: Callable[[Segment], None], expected: tuple[str, int]
) -> None:
    with pytest.raises(X12VersionError) as raised:
        read_interchanges(sample(path), check)
    assert (raised.value.segment_id, raised.value.position) == expected


def test_odd_separators_and_swapped_n3_n4_read_the_same_claims() -> None:
    """imsweb's variants of one 837P: `~` between elements and `_` ending segments; N4 before N3 (the
    sandbox is not a loop-order validator, so it reads the same two claims without a problem)."""
    (separators,) = read_837(sample("imsweb_x12-parser/x12_valid_different_separators.txt"))
    assert (separators.delimiters.element, separators.delimiters.segment, separators.delimiters.component) == (
        "~",
        "_",
        "^",
    )
    (swapped,) = read_837(sample("imsweb_x12-parser/x12_segments_out_of_order.txt"))
    for interchange in (separators, swapped):
        (transaction,) = interchange.groups[0].transactions
        assert not transaction.problems
        assert [(c.control_number, c.charge_cents, c.lines[0].procedure_code) for c in transaction.claims] == [
            ("A37YH556", 50000, "99211"),
            ("A37YH667", 50000, "478331"),
        ]
