"""Properties: whatever delimiters and layout a sender picks, reading gives back what was written."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.x12 import Delimiters, encode_segment, format_cents, parse_cents, read_interchanges

# Delimiter candidates and element characters are disjoint, as X12 requires.
DELIMITER_POOL = "*|~^:>!`+{}\x1c\x1d\x1e\x1f"
CONTENT = string.ascii_letters + string.digits + ".-/()#&@,'"
BODY_IDS = ["BPR", "TRN", "N1", "CLP", "CAS", "SVC", "DTM", "REF", "AMT", "LQ", "PLB", "NM1"]


@st.composite
def delimiters(draw: st.DrawFn) -> Delimiters:
    element, component, repetition, segment = draw(
        st.lists(st.sampled_from(DELIMITER_POOL), min_size=4, max_size=4, unique=True)
    )
    if draw(st.booleans()):
        segment = "\n"
    return Delimiters(element=element, component=component, segment=segment, repetition=repetition)


element_values = st.text(alphabet=CONTENT, max_size=6)
body_segments = st.lists(
    st.tuples(st.sampled_from(BODY_IDS), st.lists(element_values, min_size=1, max_size=8)).map(
        lambda pair: (pair[0], *pair[1])
    ),
    min_size=1,
    max_size=25,
)
layouts = st.sampled_from(["", "\n", "\r\n", "\r\n   ", "\n\t"])


def interchange(body: list[tuple[str, ...]], d: Delimiters, layout: str) -> str:
    isa = (
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        "SENDER".ljust(15),
        "ZZ",
        "RECEIVER".ljust(15),
        "260101",
        "1200",
        d.repetition or "^",
        "00501",
        "000000001",
        "0",
        "T",
        d.component,
    )
    segments = [
        isa,
        ("GS", "HP", "SENDER", "RECEIVER", "20260101", "1200", "1", "X", "005010X221A1"),
        ("ST", "835", "0001"),
        *body,
        ("SE", str(len(body) + 2), "0001"),
        ("GE", "1", "1"),
        ("IEA", "1", "000000001"),
    ]
    return "".join(encode_segment(segment, d) + layout for segment in segments)


@settings(max_examples=300, deadline=None)
@given(body=body_segments, chosen=delimiters(), layout=layouts)
def test_round_trip_with_random_delimiters_and_layout(
    body: list[tuple[str, ...]], chosen: Delimiters, layout: str
) -> None:
    text = interchange(body, chosen, layout)
    (read,) = read_interchanges(text)
    assert read.delimiters == chosen
    (transaction,) = read.groups[0].transactions
    assert [segment.elements for segment in transaction.segments] == body
    assert [segment.position for segment in transaction.segments] == list(range(4, 4 + len(body)))


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_cents_round_trip(cents: int) -> None:
    assert parse_cents(format_cents(cents)) == cents
