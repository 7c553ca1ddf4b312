"""X12 envelopes: interchanges (ISA/IEA) holding functional groups (GS/GE) holding transaction sets (ST/SE).

Nesting, trailer counts and control numbers are checked here so that transaction parsers
only ever see complete, consistent transaction sets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.x12.errors import X12EnvelopeError, X12SyntaxError
from shared.x12.tokenizer import Delimiters, Segment, tokenize_file

_ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """One ST..SE transaction set; `segments` are the ones between ST and SE."""

    header: Segment
    segments: tuple[Segment, ...]
    trailer: Segment
    implementation: str
    """ST03 when present, else the group's GS08 (e.g. "005010X221A1")."""

    @property
    def id(self) -> str:
        return self.header.element(1)

    @property
    def control_number(self) -> str:
        return self.header.element(2)


@dataclass(frozen=True, slots=True)
class FunctionalGroup:
    header: Segment
    transactions: tuple[TransactionSet, ...]
    trailer: Segment

    @property
    def functional_id(self) -> str:
        """GS01, e.g. "HP" for health care claim payment/advice (835)."""
        return self.header.element(1)

    @property
    def control_number(self) -> str:
        return self.header.element(6)

    @property
    def version(self) -> str:
        """GS08, the version/release/industry identifier, e.g. "005010X221A1"."""
        return self.header.element(8)


@dataclass(frozen=True, slots=True)
class Interchange:
    header: Segment
    delimiters: Delimiters
    groups: tuple[FunctionalGroup, ...]
    trailer: Segment

    @property
    def control_number(self) -> str:
        return self.header.element(13)

    @property
    def version(self) -> str:
        """ISA12, e.g. "00501"."""
        return self.header.element(12)

    @property
    def sender_id(self) -> str:
        return self.header.element(6).strip()

    @property
    def receiver_id(self) -> str:
        return self.header.element(8).strip()

    @property
    def usage(self) -> str:
        """ISA15: "P" production, "T" test."""
        return self.header.element(15)


def read_interchanges(
    data: bytes | str, check_header: Callable[[Segment], None] | None = None
) -> tuple[Interchange, ...]:
    """Every interchange of an X12 file, with envelope counts and control numbers checked.

    `check_header` is called with each GS and ST segment as it opens, so a caller that only
    accepts one transaction type or version can reject the file at its first wrong header,
    before problems further down are reported.
    """
    tokenized = tokenize_file(data)
    return _Envelopes(tokenized.segments, tokenized.delimiters, check_header).read()


class _Envelopes:
    def __init__(
        self,
        segments: tuple[Segment, ...],
        delimiters: dict[int, Delimiters],
        check_header: Callable[[Segment], None] | None,
    ) -> None:
        self.segments = segments
        self.delimiters = delimiters
        self.check_header = check_header

    def read(self) -> tuple[Interchange, ...]:
        segments = self.segments
        interchanges: list[Interchange] = []
        isa: Segment | None = None
        gs: Segment | None = None
        st_index: int | None = None
        groups: list[FunctionalGroup] = []
        transactions: list[TransactionSet] = []
        for index, segment in enumerate(segments):
            segment_id = segment.id
            if segment_id not in _ENVELOPE_IDS:
                if st_index is None:
                    raise X12EnvelopeError(
                        f"segment {segment_id} is outside a transaction set (no open ST)",
                        segment_id=segment_id,
                        position=segment.position,
                    )
                continue
            if st_index is not None:
                if segment_id != "SE":
                    st = segments[st_index]
                    raise X12EnvelopeError(
                        f"{segment_id} before the SE that closes transaction set {st.element(2)!r} "
                        f"(ST at segment {st.position})",
                        segment_id=segment_id,
                        position=segment.position,
                    )
                assert gs is not None
                transactions.append(self._transaction(st_index, index, gs))
                st_index = None
            elif segment_id == "ST":
                if gs is None:
                    raise X12EnvelopeError(
                        "ST outside a functional group (no open GS)", segment_id="ST", position=segment.position
                    )
                _require(segment, 2, "transaction set identifier and control number")
                if self.check_header is not None:
                    self.check_header(segment)
                st_index = index
            elif segment_id == "GS":
                _check_open(segment, isa, gs)
                _require(segment, 8, "functional group header")
                if self.check_header is not None:
                    self.check_header(segment)
                gs = segment
            elif segment_id == "GE":
                if gs is None:
                    raise X12EnvelopeError("GE without an open GS", segment_id="GE", position=segment.position)
                self._check_trailer(segment, len(transactions), "transaction sets", gs, 6)
                groups.append(FunctionalGroup(gs, tuple(transactions), segment))
                gs, transactions = None, []
            elif segment_id == "ISA":
                if isa is not None:
                    raise X12EnvelopeError(
                        f"ISA while the interchange opened at segment {isa.position} has no IEA",
                        segment_id="ISA",
                        position=segment.position,
                    )
                _require(segment, 16, "interchange header")
                isa = segment
            elif segment_id == "IEA":
                _check_open(segment, isa, gs)
                assert isa is not None
                self._check_trailer(segment, len(groups), "functional groups", isa, 13)
                interchanges.append(Interchange(isa, self.delimiters[isa.position], tuple(groups), segment))
                isa, groups = None, []
            else:  # SE without ST
                raise X12EnvelopeError("SE without an open ST", segment_id="SE", position=segment.position)
        if isa is not None or st_index is not None:
            last = segments[-1].position
            if st_index is not None:
                st = segments[st_index]
                missing, opened = "SE", f"transaction set {st.element(2)!r} (ST at segment {st.position})"
            elif gs is not None:
                missing, opened = "GE", f"functional group {gs.element(6)!r} (GS at segment {gs.position})"
            else:
                assert isa is not None
                missing, opened = "IEA", f"interchange {isa.element(13)!r} (ISA at segment {isa.position})"
            raise X12EnvelopeError(
                f"the file ends after segment {last} without the {missing} that closes {opened}: the file is truncated",
                segment_id=missing,
                position=last + 1,
            )
        return tuple(interchanges)

    def _transaction(self, st_index: int, se_index: int, gs: Segment) -> TransactionSet:
        st, se = self.segments[st_index], self.segments[se_index]
        counted = se_index - st_index + 1
        declared = _count(se, 1)
        if declared != counted:
            raise X12EnvelopeError(
                f"SE01 says {declared} segments but transaction set {st.element(2)!r} has {counted} "
                f"(ST at segment {st.position} through SE at segment {se.position})",
                segment_id="SE",
                position=se.position,
                element_index=1,
            )
        if not _same_control_number(se.element(2), st.element(2)):
            raise X12EnvelopeError(
                f"SE02 {se.element(2)!r} does not match ST02 {st.element(2)!r} (ST at segment {st.position})",
                segment_id="SE",
                position=se.position,
                element_index=2,
            )
        implementation = st.element(3) or gs.element(8)
        return TransactionSet(st, self.segments[st_index + 1 : se_index], se, implementation)

    @staticmethod
    def _check_trailer(trailer: Segment, counted: int, what: str, header: Segment, control_index: int) -> None:
        declared = _count(trailer, 1)
        if declared != counted:
            raise X12EnvelopeError(
                f"{trailer.id}01 says {declared} {what} but {counted} were found "
                f"({header.id} at segment {header.position})",
                segment_id=trailer.id,
                position=trailer.position,
                element_index=1,
            )
        control = header.element(control_index)
        if not _same_control_number(trailer.element(2), control):
            raise X12EnvelopeError(
                f"{trailer.id}02 {trailer.element(2)!r} does not match {header.id}{control_index:02d} "
                f"{control!r} ({header.id} at segment {header.position})",
                segment_id=trailer.id,
                position=trailer.position,
                element_index=2,
            )


def _check_open(segment: Segment, isa: Segment | None, gs: Segment | None) -> None:
    """GS and IEA both need an open interchange and no open functional group."""
    if isa is None:
        raise X12EnvelopeError(f"{segment.id} without an open ISA", segment_id=segment.id, position=segment.position)
    if gs is not None:
        raise X12EnvelopeError(
            f"{segment.id} while the functional group opened at segment {gs.position} has no GE",
            segment_id=segment.id,
            position=segment.position,
        )


def _require(segment: Segment, last_index: int, what: str) -> None:
    if len(segment.elements) <= last_index:
        raise X12SyntaxError(
            f"{what} needs {last_index} elements, found {len(segment.elements) - 1}",
            segment_id=segment.id,
            position=segment.position,
            element_index=len(segment.elements),
        )


def _count(segment: Segment, index: int) -> int:
    value = segment.element(index)
    if not value.isdigit() or not value.isascii():
        raise X12SyntaxError(
            f"{segment.id}{index:02d} must be a count, found {value!r}",
            segment_id=segment.id,
            position=segment.position,
            element_index=index,
        )
    return int(value)


def _same_control_number(trailer_value: str, header_value: str) -> bool:
    """Control numbers compare as numbers when both are numeric ("000000907" == "907")."""
    left, right = trailer_value.strip(), header_value.strip()
    if left.isdigit() and right.isdigit():
        return int(left) == int(right)
    return left == right
