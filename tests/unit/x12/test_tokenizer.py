"""Tokenizer: delimiters from the ISA, tolerance of BOM/line breaks/indentation, positions, errors."""

from __future__ import annotations

import pytest

from shared.x12 import (
    Delimiters,
    X12SyntaxError,
    decode_x12,
    read_delimiters,
    split_components,
    split_repetitions,
    tokenize,
)
from tests.support.synthetic_835 import MINIMAL_BODY, enveloped, isa
from tests.support.x12_samples import sample


def ids_and_positions(data: bytes | str) -> list[tuple[str, int]]:
    return [(segment.id, segment.position) for segment in tokenize(data)]


MINIMAL = enveloped(MINIMAL_BODY, line_break="")


class TestDelimiters:
    def test_reads_the_four_delimiters_from_the_isa(self) -> None:
        assert read_delimiters(MINIMAL) == Delimiters(element="*", component=":", segment="~", repetition="^")

    def test_isa11_is_a_repetition_separator_only_from_00402(self) -> None:
        assert read_delimiters(isa(version="00501", repetition="!") + "~").repetition == "!"
        assert read_delimiters(isa(version="00401", repetition="!") + "~").repetition is None
        assert read_delimiters(isa(version="00401", repetition="U") + "~").repetition is None

    def test_reads_an_isa_whose_fields_are_not_padded(self) -> None:
        text = "ISA*00**00**ZZ*A*ZZ*B*260101*1200*^*00501*1*0*T*>~GS*HP~"
        delimiters = read_delimiters(text)
        assert (delimiters.component, delimiters.segment) == (">", "~")

    def test_rejects_a_terminator_that_is_a_letter(self) -> None:
        text = isa() + "GS*HP*A*B*20260101*1200*1*X*005010X221A1~"
        with pytest.raises(X12SyntaxError, match=r"segment terminator.*'G'") as caught:
            read_delimiters(text)
        assert (caught.value.segment_id, caught.value.position, caught.value.element_index) == ("ISA", 1, 16)

    def test_rejects_the_same_character_for_two_delimiters(self) -> None:
        text = isa(component="~") + "~"
        with pytest.raises(X12SyntaxError, match="same character for two delimiters"):
            read_delimiters(text)

    def test_rejects_a_truncated_isa(self) -> None:
        with pytest.raises(X12SyntaxError, match="ISA segment is truncated") as caught:
            read_delimiters(isa()[:60])
        assert caught.value.segment_id == "ISA"
        assert caught.value.position == 1

    def test_a_file_without_isa_says_it_has_no_envelope(self) -> None:
        with pytest.raises(X12SyntaxError, match="no X12 envelope") as caught:
            tokenize("ST*835*0001~BPR*I*1*C*CHK~SE*3*0001~")
        assert (caught.value.segment_id, caught.value.position) == ("ST", 1)


class TestLayoutTolerance:
    def test_bom_is_ignored(self) -> None:
        plain = ids_and_positions(MINIMAL.encode())
        assert ids_and_positions(b"\xef\xbb\xbf" + MINIMAL.encode()) == plain
        assert plain[0] == ("ISA", 1)

    @pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r", "\r\n    ", "\n\t\t"])
    def test_line_breaks_and_indentation_between_segments(self, line_break: str) -> None:
        text = enveloped(MINIMAL_BODY, line_break=line_break)
        segments = tokenize(text)
        assert [s.position for s in segments] == list(range(1, 16))
        assert segments[8].elements == ("CLP", "SYN-MIN-1", "1", "120.00", "100.00", "20.00", "12", "PAYERCCN9")

    def test_utf16_without_bom_is_decoded(self) -> None:
        assert ids_and_positions(MINIMAL.encode("utf-16-le")) == ids_and_positions(MINIMAL)

    def test_bytes_that_are_not_utf8_are_reported(self) -> None:
        with pytest.raises(X12SyntaxError, match="not utf-8-sig text: byte 0xff"):
            decode_x12(MINIMAL.encode() + b"\xff")

    def test_empty_file(self) -> None:
        with pytest.raises(X12SyntaxError, match="empty"):
            tokenize(" \r\n ")


class TestSegments:
    def test_elements_are_indexed_like_x12(self) -> None:
        clp = next(segment for segment in tokenize(MINIMAL) if segment.id == "CLP")
        assert clp.element(1) == "SYN-MIN-1"
        assert clp.element(4) == "100.00"
        assert clp.element(40) == ""
        assert clp.position == 9

    def test_components_and_repetitions(self) -> None:
        delimiters = Delimiters(element="*", component=">", segment="~", repetition="^")
        assert split_components("HC>99213>25", delimiters) == ("HC", "99213", "25")
        assert split_repetitions("30^1^35", delimiters) == ("30", "1", "35")
        assert split_repetitions("30^1", Delimiters(repetition=None)) == ("30^1",)

    def test_positions_continue_across_interchanges(self) -> None:
        two = MINIMAL + "\n" + MINIMAL
        segments = tokenize(two)
        assert [s.position for s in segments if s.id == "ISA"] == [1, 16]
        assert segments[-1].position == 30

    def test_each_interchange_uses_its_own_delimiters(self) -> None:
        table = str.maketrans({"*": "|", ":": "<", "~": "\x1d", "^": "!"})
        second = MINIMAL.translate(table)
        segments = tokenize(MINIMAL + second)
        assert len(segments) == 30
        second_svc = [s for s in segments if s.id == "SVC"][1]
        assert second_svc.position == 26
        assert second_svc.elements == ("SVC", "HC<99212", "120.00", "100.00", "", "1")

    def test_a_later_interchange_whose_terminator_never_appears_before(self) -> None:
        second = MINIMAL.translate(str.maketrans({"~": "\n"}))
        segments = tokenize(MINIMAL + "\r\n  " + second)
        assert [(s.id, s.position) for s in segments if s.id in ("ISA", "IEA")] == [
            ("ISA", 1),
            ("IEA", 15),
            ("ISA", 16),
            ("IEA", 30),
        ]
        assert segments[-2].elements == ("GE", "1", "101")

    def test_truncated_file_names_the_unterminated_segment(self) -> None:
        cut = MINIMAL[: MINIMAL.index("CAS*PR") + 9]
        with pytest.raises(
            X12SyntaxError, match=r"CAS has no segment terminator '~'.*: the file is truncated"
        ) as caught:
            tokenize(cut)
        assert (caught.value.segment_id, caught.value.position) == ("CAS", 12)

    def test_invalid_segment_id(self) -> None:
        broken = MINIMAL.replace("NM1*QC", "nm1*QC")
        with pytest.raises(X12SyntaxError, match="invalid segment id 'nm1'") as caught:
            tokenize(broken)
        assert caught.value.position == 10


class TestPublicSamples:
    def test_bom_crlf_and_indentation(self) -> None:
        segments = tokenize(sample("oopfactory_x12parser/835_5010_WithMultipleInterchanges.txt"))
        isas = [s for s in segments if s.id == "ISA"]
        assert [s.position for s in isas] == [1, 292, 561]
        assert segments[3].id == "BPR"
        assert segments[3].element(2) == "999.99"

    def test_0x1d_segment_terminator(self) -> None:
        data = sample("oopfactory_x12parser/270_5010_Example1_IG_0x1D.txt")
        assert read_delimiters(decode_x12(data)).segment == "\x1d"
        segments = tokenize(data)
        assert segments[2].elements[:3] == ("ST", "270", "1234")
        assert segments[-1].id == "IEA"

    def test_non_default_separators(self) -> None:
        data = sample("imsweb_x12-parser/x12_valid_different_separators.txt")
        assert read_delimiters(decode_x12(data)) == Delimiters(element="~", component="^", segment="_", repetition=None)
        assert tokenize(data)[4].elements[:3] == ("NM1", "41", "2")

    def test_utf16_sample_ends_with_stray_text(self) -> None:
        with pytest.raises(X12SyntaxError, match="unexpected text '\\\\xa0' after the last segment terminator"):
            tokenize(sample("oopfactory_x12parser/837P_5010_UnicodeExample.txt"))

    def test_terminator_mismatch_is_explained(self) -> None:
        with pytest.raises(X12SyntaxError, match=r"invalid segment id '~GS'.*'\\n' as segment terminator") as caught:
            tokenize(sample("tigershark/835-example.txt"))
        assert caught.value.position == 2
