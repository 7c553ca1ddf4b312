"""Envelopes: nesting, trailer counts, control numbers, versions; errors carry the segment position."""

from __future__ import annotations

import pytest

from shared.x12 import X12EnvelopeError, X12SyntaxError, read_interchanges
from tests.support.synthetic_835 import MINIMAL_BODY, enveloped
from tests.support.x12_samples import sample

TWO_TRANSACTIONS = enveloped(MINIMAL_BODY, MINIMAL_BODY)
# ISA 1, GS 2, ST 3 .. SE 13, ST 14 .. SE 24, GE 25, IEA 26


class TestStructure:
    def test_groups_transactions_and_versions(self) -> None:
        (interchange,) = read_interchanges(TWO_TRANSACTIONS)
        assert interchange.control_number == "000000101"
        assert interchange.version == "00501"
        assert (interchange.sender_id, interchange.receiver_id, interchange.usage) == ("SYNTHPAYER", "SYNTHPROV", "T")
        (group,) = interchange.groups
        assert (group.functional_id, group.version, group.control_number) == ("HP", "005010X221A1", "101")
        assert [t.control_number for t in group.transactions] == ["0001", "0002"]
        first = group.transactions[0]
        assert first.id == "835"
        assert first.implementation == "005010X221A1"
        assert [s.id for s in first.segments][:2] == ["BPR", "TRN"]
        assert (first.header.position, first.trailer.position) == (3, 13)
        assert group.transactions[1].segments[0].position == 15

    def test_st03_overrides_gs08_as_implementation(self) -> None:
        text = TWO_TRANSACTIONS.replace("ST*835*0002", "ST*835*0002*005010X221")
        group = read_interchanges(text)[0].groups[0]
        assert [t.implementation for t in group.transactions] == ["005010X221A1", "005010X221"]

    def test_control_numbers_compare_as_numbers(self) -> None:
        text = TWO_TRANSACTIONS.replace("IEA*1*000000101", "IEA*1*101")
        assert read_interchanges(text)[0].trailer.element(2) == "101"

    def test_several_interchanges_in_one_file(self) -> None:
        interchanges = read_interchanges(TWO_TRANSACTIONS + TWO_TRANSACTIONS)
        assert len(interchanges) == 2
        assert interchanges[1].header.position == 27
        assert interchanges[1].groups[0].transactions[1].trailer.position == 50

    def test_check_header_sees_each_gs_and_st_before_later_problems(self) -> None:
        seen: list[tuple[str, int]] = []
        broken_later = TWO_TRANSACTIONS.replace("SE*11*0002", "SE*99*0002")
        with pytest.raises(X12EnvelopeError):
            read_interchanges(broken_later, check_header=lambda s: seen.append((s.id, s.position)))
        assert seen == [("GS", 2), ("ST", 3), ("ST", 14)]


class TestCountsAndControlNumbers:
    @pytest.mark.parametrize(
        ("old", "new", "segment_id", "position", "element", "message"),
        [
            ("SE*11*0001", "SE*12*0001", "SE", 13, 1, "SE01 says 12 segments but transaction set '0001' has 11"),
            ("SE*11*0002", "SE*11*0003", "SE", 24, 2, "SE02 '0003' does not match ST02 '0002'"),
            ("GE*2*101", "GE*3*101", "GE", 25, 1, "GE01 says 3 transaction sets but 2 were found"),
            ("GE*2*101", "GE*2*102", "GE", 25, 2, "GE02 '102' does not match GS06 '101'"),
            ("IEA*1*000000101", "IEA*2*000000101", "IEA", 26, 1, "IEA01 says 2 functional groups but 1 were found"),
            ("IEA*1*000000101", "IEA*1*000000102", "IEA", 26, 2, "IEA02 '000000102' does not match ISA13"),
            ("SE*11*0001", "SE*X*0001", "SE", 13, 1, "SE01 must be a count, found 'X'"),
        ],
    )
    def test_mismatch_names_the_trailer(
        self, old: str, new: str, segment_id: str, position: int, element: int, message: str
    ) -> None:
        assert old in TWO_TRANSACTIONS
        with pytest.raises((X12EnvelopeError, X12SyntaxError)) as caught:
            read_interchanges(TWO_TRANSACTIONS.replace(old, new))
        error = caught.value
        assert (error.segment_id, error.position, error.element_index) == (segment_id, position, element)
        assert message in error.message
        assert str(error).startswith(f"segment {position} ({segment_id}), element {element}: ")


class TestNesting:
    def test_truncated_after_a_transaction(self) -> None:
        cut = TWO_TRANSACTIONS[: TWO_TRANSACTIONS.index("GE*2")]
        with pytest.raises(X12EnvelopeError, match="ends after segment 24 without the GE") as caught:
            read_interchanges(cut)
        assert (caught.value.segment_id, caught.value.position) == ("GE", 25)

    def test_truncated_inside_a_transaction(self) -> None:
        cut = TWO_TRANSACTIONS[: TWO_TRANSACTIONS.index("SE*11*0001")]
        with pytest.raises(X12EnvelopeError, match="without the SE that closes transaction set '0001'") as caught:
            read_interchanges(cut)
        assert caught.value.position == 13

    def test_segment_outside_a_transaction_set(self) -> None:
        text = TWO_TRANSACTIONS.replace("GE*2*101~", "LX*1~GE*2*101~")
        with pytest.raises(X12EnvelopeError, match="LX is outside a transaction set") as caught:
            read_interchanges(text)
        assert caught.value.position == 25

    def test_envelope_segment_inside_a_transaction_set(self) -> None:
        text = TWO_TRANSACTIONS.replace("SE*11*0001~", "")
        with pytest.raises(X12EnvelopeError, match="ST before the SE that closes transaction set '0001'") as caught:
            read_interchanges(text)
        assert caught.value.position == 13

    def test_st_outside_a_group(self) -> None:
        text = TWO_TRANSACTIONS.replace("GS*HP*SYNTHPAYER*SYNTHPROV*20260101*1200*101*X*005010X221A1~", "")
        with pytest.raises(X12EnvelopeError, match="ST outside a functional group") as caught:
            read_interchanges(text)
        assert caught.value.position == 2

    def test_isa_inside_an_open_interchange(self) -> None:
        without_iea = TWO_TRANSACTIONS.replace("IEA*1*000000101~", "")
        with pytest.raises(X12EnvelopeError, match="ISA while the interchange opened at segment 1 has no IEA"):
            read_interchanges(without_iea + TWO_TRANSACTIONS)


class TestPublicSamples:
    def test_two_groups_of_two_transactions(self) -> None:
        (interchange,) = read_interchanges(sample("pyx12/834_lui_id_5010.999.txt"))
        assert [len(group.transactions) for group in interchange.groups] == [2, 2]
        assert {group.version for group in interchange.groups} == {"005010X231"}

    def test_three_interchanges_with_bom_and_indentation(self) -> None:
        interchanges = read_interchanges(sample("oopfactory_x12parser/835_5010_WithMultipleInterchanges.txt"))
        assert [i.control_number for i in interchanges] == ["000000031", "000000032", "000000033"]

    def test_wrong_se01_in_a_multi_isa_sample(self) -> None:
        with pytest.raises(
            X12EnvelopeError, match="SE01 says 25 segments but transaction set '987654' has 34"
        ) as caught:
            read_interchanges(sample("imsweb_x12-parser/x12_multiple_isa.txt"))
        assert caught.value.position == 36

    def test_interchange_without_trailers(self) -> None:
        with pytest.raises(X12EnvelopeError, match="without the GE that closes functional group") as caught:
            read_interchanges(sample("node-x12/271.edi"))
        assert caught.value.position == 41

    def test_unpadded_isa_then_missing_trailers(self) -> None:
        with pytest.raises(X12EnvelopeError, match="ISA before the SE") as caught:
            read_interchanges(sample("tigershark/837I-Examples.txt"))
        assert caught.value.position == 54
