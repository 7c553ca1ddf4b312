"""Typed X12 errors that say where in the file the problem is."""

from __future__ import annotations


class X12Error(Exception):
    """A file that cannot be accepted, located by segment.

    `position` is the 1-based index of the segment in the file (ISA is 1), counted across
    interchanges; `element_index` is the X12 element number (CLP01 is 1) when one element is at fault.
    """

    def __init__(
        self,
        message: str,
        *,
        segment_id: str | None = None,
        position: int | None = None,
        element_index: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.segment_id = segment_id
        self.position = position
        self.element_index = element_index

    def location(self) -> str:
        parts: list[str] = []
        if self.position is not None:
            parts.append(f"segment {self.position}")
        if self.segment_id:
            parts.append(f"({self.segment_id})" if parts else self.segment_id)
        where = " ".join(parts)
        if self.element_index is not None:
            where = f"{where}, element {self.element_index}" if where else f"element {self.element_index}"
        return where

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class X12SyntaxError(X12Error):
    """Delimiters, segment syntax, element values or loop structure are malformed."""


class X12EnvelopeError(X12Error):
    """ISA/GS/ST envelopes do not nest, or their trailer counts and control numbers disagree."""


class X12VersionError(X12Error):
    """The functional group or transaction set is not the version/type the caller accepts."""
