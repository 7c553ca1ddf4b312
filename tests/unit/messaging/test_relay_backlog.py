"""The backlog gauge's value from its bounded query: exact up to the count's cap, the id span beyond it."""

from shared.messaging.relay import backlog_size


def test_a_backlog_within_the_cap_is_its_exact_count() -> None:
    assert backlog_size(0, 0, 0, counted=10) == 0
    # ids 5..40 unpublished but only 7 of them: the span (36) is not the count
    assert backlog_size(7, 5, 40, counted=10) == 7
    assert backlog_size(10, 1, 99, counted=10) == 10


def test_a_backlog_past_the_cap_is_the_span_of_its_ids_never_less_than_counted() -> None:
    assert backlog_size(11, 1_000, 51_000, counted=10) == 50_001
    # a span shorter than what was counted cannot be (ids are unique): the count stands
    assert backlog_size(11, 1, 5, counted=10) == 11
