"""A seeded mutator of 835 files, for fuzzing the parser and the upload: same seed, same bytes.

Each mutant is a valid synthetic 835 changed one to four times, the way damaged or careless files are:
bytes flipped, control characters and odd Unicode inserted, segments dropped, doubled, swapped or moved,
elements replaced by awkward values (non-numbers, huge amounts, NaN, non-ASCII digits, very long text,
foreign component separators), elements added or removed, envelope counts and versions changed, the
file cut short. Whatever the mutant, reading it must end in a value or a typed, positioned refusal.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from tests.support.remittance_builder import ClaimSpec, LineSpec, paid_claim, remittance_file
from tests.support.synthetic_835 import FULL_BODY, MINIMAL_BODY, enveloped

AWKWARD_VALUES = (
    "",
    "-",
    ".",
    "-.",
    "0",
    "-0",
    "0.001",
    "1e5",
    "NaN",
    "Infinity",
    "-Infinity",
    "99999999999999999999",
    "999999999999.99",
    "-999999999999.99",
    "1" * 400,
    "١٢٣",
    "\uff11\uff12\uff13",
    "12.3.4",
    "+5",
    " 5",
    "HC",
    "HC>99213",
    "HC:99213:25:59:XE:XS:XU:DESCRIPTION:EXTRA",
    ":",
    "::::",
    "ZZ:",
    "CR",
    "22",
    "José Núñez",
    "O\u2019Brien",
    "\U0001f600",
    "\u202e",
    "X" * 3000,
    "\x00",
    "A\x00B",
    "\x1f",
    "\x7f",
    "\u0085",
    "\ufeff",
    "\ud800",
)
"""Element values that have broken parsers and databases elsewhere."""

INSERTED_CHARACTERS = (
    "\x00",
    "\x01",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x1f",
    "\x7f",
    "\u0085",
    "\r",
    "\n",
    "\t",
    "é",
    "\ufffd",
    "*",
    ":",
    "~",
    "^",
    ">",
)


def base_files() -> tuple[str, ...]:
    """Valid, balanced 835s the mutants start from: every loop, a minimal one, and a builder file."""
    claims = [
        paid_claim("FUZZ-1"),
        ClaimSpec("FUZZ-2", (LineSpec("99214", 20000, 0, (("CO", "197", 20000),), "FUZZ-2-1"),)),
        ClaimSpec(
            "FUZZ-3",
            (
                LineSpec("99213", 15500, 10000, (("CO", "45", 3000), ("PR", "2", 2500)), "FUZZ-3-1", ("25",)),
                LineSpec("81002", 5000, 5000, (), "FUZZ-3-2"),
            ),
        ),
    ]
    built = remittance_file(claims, trace="FUZZTRACE", provider_adjustments=(("L6", -321), ("WO", 1000)))
    return (enveloped(FULL_BODY), enveloped(MINIMAL_BODY), built)


def mutants(seed: int, count: int) -> Iterator[bytes]:
    """`count` mutants drawn with `random.Random(seed)`; the same arguments give the same files."""
    rng = random.Random(seed)
    bases = base_files()
    for _ in range(count):
        text = rng.choice(bases)
        for _ in range(rng.randint(1, 4)):
            text = rng.choice(_MUTATIONS)(rng, text)
        if rng.random() < 0.7:  # most mutants get their SE01 right, so that they reach the 835 loops
            text = _recounted(text)
        yield _encoded(rng, text)


def _recounted(text: str) -> str:
    """SE01 set to the number of segments from its ST, as a careful sender would."""
    segments = _segments(text)
    start: int | None = None
    for index, segment in enumerate(segments):
        segment_id = segment.lstrip().split("*", 1)[0]
        if segment_id == "ST":
            start = index
        elif segment_id == "SE" and start is not None:
            elements = segment.split("*")
            if len(elements) > 1:
                elements[1] = str(index - start + 1)
                segments[index] = "*".join(elements)
            start = None
    return _joined(segments)


def _encoded(rng: random.Random, text: str) -> bytes:
    choice = rng.random()
    if choice < 0.03:
        return text.encode("utf-16", "surrogatepass")
    if choice < 0.06:
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    if choice < 0.09:
        raw = bytearray(text.encode("utf-8", "surrogatepass"))
        if raw:
            raw[rng.randrange(len(raw))] = rng.choice((0x00, 0x80, 0xC3, 0xFF, 0xFE))
        return bytes(raw)
    return text.encode("utf-8", "surrogatepass")


def _segments(text: str) -> list[str]:
    return text.split("~")


def _joined(segments: list[str]) -> str:
    return "~".join(segments)


def _flip_character(rng: random.Random, text: str) -> str:
    if not text:
        return text
    at = rng.randrange(len(text))
    return text[:at] + rng.choice(INSERTED_CHARACTERS) + text[at + 1 :]


def _insert_character(rng: random.Random, text: str) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(INSERTED_CHARACTERS) + text[at:]


def _delete_span(rng: random.Random, text: str) -> str:
    if not text:
        return text
    at = rng.randrange(len(text))
    return text[:at] + text[at + rng.randint(1, 12) :]


def _truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def _drop_segment(rng: random.Random, text: str) -> str:
    segments = _segments(text)
    del segments[rng.randrange(len(segments))]
    return _joined(segments)


def _duplicate_segment(rng: random.Random, text: str) -> str:
    segments = _segments(text)
    at = rng.randrange(len(segments))
    segments.insert(at, segments[at])
    return _joined(segments)


def _move_segment(rng: random.Random, text: str) -> str:
    segments = _segments(text)
    moved = segments.pop(rng.randrange(len(segments)))
    segments.insert(rng.randrange(len(segments) + 1), moved)
    return _joined(segments)


def _replace_element(rng: random.Random, text: str) -> str:
    segments = _segments(text)
    at = rng.randrange(len(segments))
    elements = segments[at].split("*")
    if len(elements) > 1:
        elements[rng.randrange(1, len(elements))] = rng.choice(AWKWARD_VALUES)
    segments[at] = "*".join(elements)
    return _joined(segments)


def _money_element(rng: random.Random, text: str) -> str:
    """An amount of a money segment (BPR02, CLP03/04, SVC02/03, CAS03, PLB04) replaced."""
    segments = _segments(text)
    money = [i for i, s in enumerate(segments) if s.lstrip().split("*")[0] in {"BPR", "CLP", "SVC", "CAS", "PLB"}]
    if not money:
        return text
    at = rng.choice(money)
    elements = segments[at].split("*")
    index = {"BPR": 2, "CLP": rng.choice((3, 4, 5)), "SVC": rng.choice((2, 3)), "CAS": 3, "PLB": 4}
    position = index.get(elements[0].strip(), 2)
    if position < len(elements):
        elements[position] = rng.choice(AWKWARD_VALUES[:20])
    segments[at] = "*".join(elements)
    return _joined(segments)


def _add_or_remove_elements(rng: random.Random, text: str) -> str:
    segments = _segments(text)
    at = rng.randrange(len(segments))
    elements = segments[at].split("*")
    if rng.random() < 0.5 and len(elements) > 1:
        del elements[rng.randrange(1, len(elements)) :]
    else:
        elements += [rng.choice(AWKWARD_VALUES) for _ in range(rng.randint(1, 30))]
    segments[at] = "*".join(elements)
    return _joined(segments)


def _composite_separator(rng: random.Random, text: str) -> str:
    """The component separator inside SVC/PLB composites swapped for another character, or removed."""
    return text.replace(":", rng.choice((">", "^", "|", "", "*", "::")), rng.randint(1, 5))


def _envelope(rng: random.Random, text: str) -> str:
    segments = _segments(text)
    envelope = [i for i, s in enumerate(segments) if s.lstrip()[:2] in {"SE", "GE", "IE", "GS", "ST", "IS"}]
    if not envelope:
        return text
    at = rng.choice(envelope)
    elements = segments[at].split("*")
    position = rng.randrange(1, len(elements)) if len(elements) > 1 else 0
    elements[position] = rng.choice(("0", "99", "-1", "", "004010X091A1", "005010X222A1", "837", "HC", "X" * 20))
    segments[at] = "*".join(elements)
    return _joined(segments)


def _delimiter(rng: random.Random, text: str) -> str:
    """A delimiter declared in the ISA swapped, so the body no longer agrees with it."""
    isa_end = text.find("~")
    if isa_end < 2:
        return text
    position = rng.choice((3, isa_end - 1, isa_end))
    return text[:position] + rng.choice(("|", ">", "^", "~", "*", ":", "\x1d", "A", " ")) + text[position + 1 :]


def _repeat_claims(rng: random.Random, text: str) -> str:
    """A claim loop repeated many times (a large, still plausible file of at most about 2 MB)."""
    start = text.find("CLP*")
    end = text.find("PLB*", start)
    end = text.find("SE*", start) if end < 0 else end
    if start < 0 or end < 0 or len(text) > 50_000:
        return text
    return text[:start] + text[start:end] * rng.randint(2, 40) + text[end:]


_MUTATIONS: tuple[Callable[[random.Random, str], str], ...] = (
    _flip_character,
    _insert_character,
    _delete_span,
    _truncate,
    _drop_segment,
    _duplicate_segment,
    _move_segment,
    _replace_element,
    _replace_element,
    _money_element,
    _add_or_remove_elements,
    _composite_separator,
    _envelope,
    _delimiter,
    _repeat_claims,
)
