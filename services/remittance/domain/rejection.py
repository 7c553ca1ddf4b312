"""Why an 835 is not posted: the reason, the segment and its position, never the file's content.

The same shape answers an upload (422), and is kept with an inbound file that was refused."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class BalanceFindingDetail(TypedDict):
    rule: str
    clp01: str | None
    segment_id: str
    position: int | None
    expected_cents: int
    actual_cents: int


class Rejection(TypedDict):
    reason: str
    segment_id: NotRequired[str | None]
    position: NotRequired[int | None]
    element: NotRequired[int | None]
    findings: NotRequired[list[BalanceFindingDetail]]
