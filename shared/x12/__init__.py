"""X12 EDI reading shared by the services: tokenizer, envelopes, typed errors, amounts."""

from shared.x12.envelope import FunctionalGroup, Interchange, TransactionSet, read_interchanges
from shared.x12.errors import X12EnvelopeError, X12Error, X12SyntaxError, X12VersionError
from shared.x12.tokenizer import (
    Delimiters,
    Segment,
    decode_x12,
    encode_segment,
    encode_segments,
    read_delimiters,
    split_components,
    split_repetitions,
    tokenize,
)
from shared.x12.values import format_cents, parse_cents, parse_decimal

__all__ = [
    "Delimiters",
    "FunctionalGroup",
    "Interchange",
    "Segment",
    "TransactionSet",
    "X12EnvelopeError",
    "X12Error",
    "X12SyntaxError",
    "X12VersionError",
    "decode_x12",
    "encode_segment",
    "encode_segments",
    "format_cents",
    "parse_cents",
    "parse_decimal",
    "read_delimiters",
    "read_interchanges",
    "split_components",
    "split_repetitions",
    "tokenize",
]
