"""Time-ordered ids: version 7 UUIDs that sort by the millisecond they were made in."""

from __future__ import annotations

import time
import uuid

from shared.ids import time_ordered_id


def test_a_time_ordered_id_is_a_version_7_uuid() -> None:
    made = time_ordered_id()
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert abs((made.int >> 80) - time.time_ns() // 1_000_000) < 60_000  # its first 48 bits: now, in milliseconds


def test_later_ids_sort_after_as_uuids_and_as_text() -> None:
    first = time_ordered_id()
    deadline = time.monotonic() + 1
    later = time_ordered_id()
    while later.int >> 80 == first.int >> 80 and time.monotonic() < deadline:  # the next millisecond
        later = time_ordered_id()
    assert first < later
    assert str(first) < str(later)


def test_ids_made_in_the_same_millisecond_differ() -> None:
    made = [time_ordered_id() for _ in range(10_000)]
    assert len(set(made)) == len(made)
