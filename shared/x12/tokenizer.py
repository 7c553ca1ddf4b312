"""X12 tokenizer: delimiters from the ISA, then segments with their position in the file.

Pure: takes the file's bytes or text, returns values; reading the file is the caller's job.
"""

from __future__ import annotations

import codecs
import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

from shared.x12.errors import X12SyntaxError

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_LEADING_ID = re.compile(r"[A-Za-z0-9]*")
# Whitespace allowed between segments. Not str.strip()'s default set: that also removes
# the 0x1C-0x1F information separators, which some senders use as delimiters.
_BETWEEN_SEGMENTS = " \t\r\n\f\v"
# A fixed-width ISA is 106 characters; a sender that does not pad its fields is shorter.
_ISA_SCAN = 200


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four separators an interchange declares in its ISA header."""

    element: str = "*"
    component: str = ":"
    segment: str = "~"
    repetition: str | None = "^"


class Segment(NamedTuple):
    """One segment. `elements[0]` is the segment id, so `elements[n]` is element n (CLP01 is `elements[1]`).

    `position` is the 1-based index of the segment in the file, across interchanges. An
    immutable record built as a tuple, because a large remittance has hundreds of
    thousands of them.
    """

    id: str
    elements: tuple[str, ...]
    position: int

    def element(self, index: int) -> str:
        """Element `index` as written, or "" when the segment stops before it."""
        elements = self.elements
        return elements[index] if index < len(elements) else ""


def decode_x12(data: bytes | str) -> str:
    """Text of an X12 file: UTF-8 (BOM tolerated) or UTF-16 with or without BOM."""
    if isinstance(data, str):
        text = data
    else:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        elif len(data) >= 2 and data[0] != 0 and data[1] == 0:
            encoding = "utf-16-le"
        elif len(data) >= 2 and data[0] == 0 and data[1] != 0:
            encoding = "utf-16-be"
        else:
            encoding = "utf-8-sig"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise X12SyntaxError(
                f"the file is not {encoding} text: byte {data[exc.start]:#04x} at offset {exc.start}"
            ) from exc
    return text.lstrip("\ufeff")


def read_delimiters(text: str, offset: int = 0, position: int = 1) -> Delimiters:
    """Delimiters declared by the ISA that starts at `text[offset]`.

    The element separator is the byte after "ISA", the component separator is ISA16, the
    segment terminator is the character right after ISA16, and ISA11 is the repetition
    separator from version 00402 on. Fields are located by splitting rather than by fixed
    offsets so that an ISA whose fields are not padded is still read.
    """
    head = text[offset : offset + _ISA_SCAN]
    if not head.startswith("ISA"):
        leading = _LEADING_ID.match(head)
        found = (leading.group() if leading else "") or head[:3]
        raise X12SyntaxError(
            f"expected an ISA interchange header, found {found!r}: the file has no X12 envelope",
            segment_id=found or None,
            position=position,
        )
    if len(head) < 4:
        raise X12SyntaxError("the ISA segment is truncated", segment_id="ISA", position=position)
    element = head[3]
    fields = head.split(element, 16)
    if len(fields) < 17 or len(fields[16]) < 2:
        raise X12SyntaxError(
            "the ISA segment is truncated: it needs 16 elements and a segment terminator after ISA16",
            segment_id="ISA",
            position=position,
            element_index=min(len(fields) - 1, 16),
        )
    component, terminator = fields[16][0], fields[16][1]
    version = fields[12]
    candidate = fields[11]
    repetition = candidate if version >= "00402" and len(candidate) == 1 and not candidate.isalnum() else None
    checks: list[tuple[str, str, int | None]] = [
        ("element separator (byte 4 of the ISA)", element, None),
        ("component separator (ISA16)", component, 16),
        ("segment terminator (the character after ISA16)", terminator, 16),
    ]
    if repetition is not None:
        checks.append(("repetition separator (ISA11)", repetition, 11))
    for name, value, index in checks:
        if value.isalnum() or value == " ":
            raise X12SyntaxError(
                f"the {name} is {value!r}; delimiters cannot be letters, digits or spaces",
                segment_id="ISA",
                position=position,
                element_index=index,
            )
    declared = [value for _, value, _ in checks]
    if len(set(declared)) != len(declared):
        raise X12SyntaxError(
            "the ISA declares the same character for two delimiters: "
            + ", ".join(f"{name} {value!r}" for name, value, _ in checks),
            segment_id="ISA",
            position=position,
        )
    return Delimiters(element=element, component=component, segment=terminator, repetition=repetition)


@dataclass(frozen=True, slots=True)
class TokenizedFile:
    """Segments of a file and the delimiters in force at each ISA (keyed by the ISA's position)."""

    segments: tuple[Segment, ...]
    delimiters: dict[int, Delimiters]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is turned into many small acyclic records.

    Reading a large X12 file allocates hundreds of thousands of tuples and records that
    reference counting frees on its own; letting the cyclic collector traverse them over and
    over more than doubles the parse time. The collector is re-enabled on exit if it was on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_new_segment = partial(tuple.__new__, Segment)


def tokenize_file(data: bytes | str, *, check_characters: bool = True) -> TokenizedFile:
    """Split a whole X12 file into segments; each interchange is read with its own delimiters.

    A control character inside a segment is refused unless `check_characters` is False (for a reader
    that only sniffs the envelope, such as the inbound box's classifier)."""
    text = decode_x12(data)
    segments: list[Segment] = []
    delimiters_at: dict[int, Delimiters] = {}
    offset = len(text) - len(text.lstrip(_BETWEEN_SEGMENTS))
    if offset == len(text):
        raise X12SyntaxError("the file is empty: no X12 segments")
    known_ids: set[str] = {"ISA"}
    with paused_gc():
        while offset < len(text):
            base = len(segments)
            delimiters = read_delimiters(text, offset, base + 1)
            pieces = (text[offset:] if offset else text).split(delimiters.segment)
            last = pieces.pop()
            tail = last.strip(_BETWEEN_SEGMENTS)
            # map() over str methods keeps the per-segment work in C: these lists can be 10^6 long.
            raws = list(map(str.strip, pieces, repeat(_BETWEEN_SEGMENTS)))
            # a later interchange starts with "ISA": when the text holds no other, neither scan is needed
            single = text.count("ISA", offset) == 1
            restart = None if single else _next_interchange(text, offset, pieces, raws, delimiters, base)
            if single:  # then no later piece starts an interchange: the pieces' memory goes to the segments
                pieces = []
            if restart is not None:
                del raws[restart[1] :]
                tail = ""
            if check_characters:
                _check_characters(raws, delimiters, base)
            element = delimiters.element
            rows = list(map(tuple, map(str.split, filter(None, raws), repeat(element))))
            raw_count = len(raws)
            del raws  # freed before the segments are built, which reuse its memory (fewer pages touched)
            ids = list(map(itemgetter(0), rows))
            unknown = set(ids) - known_ids
            if unknown:
                _check_ids(ids, unknown, delimiters, base)
                known_ids |= unknown
            segments.extend(map(_new_segment, zip(ids, rows, range(base + 1, base + 1 + len(rows)), strict=True)))
            for index in [0] if single else _indices(ids, "ISA"):
                delimiters_at[base + 1 + index] = delimiters
            if restart is None and tail:
                if tail.startswith("ISA") and pieces:
                    restart = (_offset_of([*pieces, last], len(pieces), offset), raw_count)
                else:
                    raise _unterminated(tail, element, delimiters.segment, len(segments) + 1)
            if restart is None:
                break
            offset = restart[0]
    return TokenizedFile(tuple(segments), delimiters_at)


def _next_interchange(
    text: str, offset: int, pieces: list[str], raws: list[str], delimiters: Delimiters, base: int
) -> tuple[int, int] | None:
    """(text offset, piece index) of a later ISA that declares other delimiters, if any."""
    for index in _indices(list(map(_HEAD, raws)), "ISA"):
        if index == 0:
            continue
        start = _offset_of(pieces, index, offset)
        position = base + 1 + sum(1 for raw in raws[:index] if raw)
        if read_delimiters(text, start, position) != delimiters:
            return start, index
    return None


_HEAD = itemgetter(slice(0, 3))


def _indices(values: list[str], wanted: str) -> list[int]:
    """Indices of `wanted` in `values`, scanning in C (list.index) rather than element by element."""
    found: list[int] = []
    start = 0
    try:
        while True:
            start = values.index(wanted, start) + 1
            found.append(start - 1)
    except ValueError:
        return found


def _check_ids(ids: list[str], unknown: set[str], delimiters: Delimiters, base: int) -> None:
    invalid = {segment_id for segment_id in unknown if not _SEGMENT_ID.fullmatch(segment_id)}
    if invalid:
        index = next(index for index, segment_id in enumerate(ids) if segment_id in invalid)
        segment_id = ids[index]
        raise X12SyntaxError(
            f"invalid segment id {segment_id[:20]!r}" + _terminator_hint(segment_id, delimiters),
            segment_id=segment_id[:3] or None,
            position=base + 1 + index,
        )


_CONTROL_NAMES = {0x00: "NUL", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x7F: "DEL"}


@lru_cache(maxsize=16)
def _control_characters(delimiters: Delimiters) -> tuple[str, re.Pattern[str]]:
    """C0, DEL and C1 control characters, except those this interchange declares as delimiters: as one
    string (a `in` scan per character is several times faster than a regex over a large file) and as a
    pattern to locate the first one."""
    declared = {delimiters.element, delimiters.component, delimiters.repetition}
    controls = "".join(chr(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(code) not in declared)
    return controls, re.compile(f"[{re.escape(controls)}]")


def _check_characters(raws: list[str], delimiters: Delimiters, base: int) -> None:
    """Refuse a control character inside a segment (a NUL in CLP01 cannot be stored, a CR mid-segment is a
    damaged file), naming the segment, its position and the element."""
    controls, pattern = _control_characters(delimiters)
    joined = "".join(raws)
    if not any(map(joined.__contains__, controls)):
        return
    position = base
    for raw in raws:
        if not raw:
            continue
        position += 1
        found = pattern.search(raw)
        if found is None:
            continue
        elements = raw.split(delimiters.element)
        element_index = next(index for index, value in enumerate(elements) if pattern.search(value))
        code = ord(found.group())
        name = _CONTROL_NAMES.get(code, "")
        segment_id = elements[0][:3] if _SEGMENT_ID.fullmatch(elements[0]) else None
        where = f"{elements[0]}{element_index:02d}" if segment_id and element_index else "the segment"
        raise X12SyntaxError(
            f"{where} contains the control character U+{code:04X}{f' ({name})' if name else ''}: X12 elements "
            "hold printable characters only",
            segment_id=segment_id,
            position=position,
            element_index=element_index or None,
        )


def tokenize(data: bytes | str, *, check_characters: bool = True) -> tuple[Segment, ...]:
    """Segments of an X12 file, each with its 1-based position in the file."""
    return tokenize_file(data, check_characters=check_characters).segments


def split_components(value: str, delimiters: Delimiters) -> tuple[str, ...]:
    """Components of a composite element (SVC01 "HC:99213:25" -> ("HC", "99213", "25"))."""
    return tuple(value.split(delimiters.component))


def split_repetitions(value: str, delimiters: Delimiters) -> tuple[str, ...]:
    """Repeats of a repeatable element; a single value when the interchange declares no repetition separator."""
    if delimiters.repetition is None:
        return (value,)
    return tuple(value.split(delimiters.repetition))


def encode_segment(elements: Sequence[str], delimiters: Delimiters) -> str:
    """One segment as text, terminator included; elements[0] is the segment id."""
    return delimiters.element.join(elements) + delimiters.segment


def encode_segments(segments: Iterable[Sequence[str]], delimiters: Delimiters, line_break: str = "") -> str:
    """Segments as text; `line_break` (e.g. "\\n") is written after each terminator for readability."""
    return "".join(encode_segment(elements, delimiters) + line_break for elements in segments)


def _offset_of(pieces: list[str], index: int, offset: int) -> int:
    """Offset in the text of the first non-blank character of `pieces[index]`."""
    piece = pieces[index]
    leading = len(piece) - len(piece.lstrip(_BETWEEN_SEGMENTS))
    return offset + sum(len(earlier) + 1 for earlier in pieces[:index]) + leading


def _unterminated(tail: str, element: str, terminator: str, position: int) -> X12SyntaxError:
    segment_id = tail.split(element, 1)[0]
    if _SEGMENT_ID.fullmatch(segment_id):
        return X12SyntaxError(
            f"segment {segment_id} has no segment terminator {terminator!r} (the character after ISA16): "
            "the file is truncated or uses another terminator",
            segment_id=segment_id,
            position=position,
        )
    return X12SyntaxError(
        f"unexpected text {tail[:20]!r} after the last segment terminator {terminator!r}",
        position=position,
    )


def _terminator_hint(segment_id: str, delimiters: Delimiters) -> str:
    if segment_id and not segment_id[0].isalnum():
        return (
            f" (the ISA declares {delimiters.segment!r} as segment terminator; "
            f"{segment_id[0]!r} before the id suggests the file uses another one)"
        )
    return ""
