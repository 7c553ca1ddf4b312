"""The consumer's round batches in flight (`InFlight`): the scheduling rules, with batches that finish when told."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from shared.messaging.consumer import InFlight, Part, round_batches

P0, P1, P2 = (TopicPartition("encounter-coded", n) for n in range(3))


def records(tp: TopicPartition, first: int, count: int) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, b"k", b"v", None, 1, 1, [])
        for offset in range(first, first + count)
    ]


class Batches:
    """Applies nothing: each batch waits until the test finishes it, and records which partitions run together."""

    def __init__(self) -> None:
        self.gates: dict[tuple[TopicPartition, int], asyncio.Event] = {}
        self.started: list[tuple[TopicPartition, int]] = []
        self.running: set[tuple[TopicPartition, int]] = set()
        self.failing: set[tuple[TopicPartition, int]] = set()

    async def apply(self, parts: list[Part]) -> None:
        keys = [(tp, records[0].offset) for tp, records in parts]
        for key in keys:
            running_partitions = [tp for tp, _ in self.running]
            assert key[0] not in running_partitions, "two batches of one partition at once"
            self.started.append(key)
            self.running.add(key)
        try:
            for key in keys:
                await self.gates.setdefault(key, asyncio.Event()).wait()
            if any(key in self.failing for key in keys):
                raise RuntimeError("a bug in a batch")
        finally:
            self.running.difference_update(keys)

    def finish(self, tp: TopicPartition, first: int) -> None:
        self.gates.setdefault((tp, first), asyncio.Event()).set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_partitions_next_batch_waits_while_another_partition_goes_past_it() -> None:
    batches = Batches()
    in_flight = InFlight(2, batches.apply)
    in_flight.submit([(P0, records(P0, 0, 5))])
    in_flight.submit([(P0, records(P0, 5, 5))])  # behind the first of P0
    in_flight.submit([(P1, records(P1, 0, 5))])  # goes past it: a slot is free and P1 is not busy
    await settle()
    assert batches.started == [(P0, 0), (P1, 0)]
    assert in_flight.waiting_records == 5

    batches.finish(P1, 0)
    await in_flight.wait_any()
    assert in_flight.applied() == {P1: 5}
    await settle()
    assert batches.started == [(P0, 0), (P1, 0)], "P0's second batch waits for its first"

    batches.finish(P0, 0)
    await in_flight.wait_any()
    await settle()
    assert batches.started[-1] == (P0, 5)
    assert in_flight.applied() == {P0: 5}, "the offset reached by the batch done, not the one running"
    batches.finish(P0, 5)
    await in_flight.wait_any()
    assert in_flight.applied() == {P0: 10}
    assert in_flight.running == 0 and in_flight.waiting_records == 0


async def test_a_batch_waits_behind_an_earlier_waiting_batch_of_its_partition() -> None:
    batches = Batches()
    in_flight = InFlight(2, batches.apply)
    in_flight.submit([(P0, records(P0, 0, 5))])
    in_flight.submit([(P1, records(P1, 0, 5))])
    in_flight.submit([(P1, records(P1, 5, 5)), (P2, records(P2, 0, 5))])  # P1 busy: waits
    in_flight.submit([(P2, records(P2, 5, 5))])  # P2 held by the waiting batch before it
    batches.finish(P0, 0)
    await in_flight.wait_any()
    await settle()
    assert batches.started == [(P0, 0), (P1, 0)], "the free slot is not taken out of P2's order"
    await in_flight.cancel()  # no task left pending past the test


async def test_a_batch_that_raises_stops_its_partition_and_moves_no_offset() -> None:
    batches = Batches()
    batches.failing.add((P0, 0))
    in_flight = InFlight(2, batches.apply)
    in_flight.submit([(P0, records(P0, 0, 5))])
    in_flight.submit([(P0, records(P0, 5, 5))])
    batches.finish(P0, 0)
    with pytest.raises(RuntimeError):
        await in_flight.wait_any()
    assert in_flight.applied() == {}
    assert batches.started == [(P0, 0)]
    await in_flight.cancel()


async def test_cancel_stops_the_batches_running_and_forgets_the_waiting() -> None:
    batches = Batches()
    in_flight = InFlight(1, batches.apply)
    in_flight.submit([(P0, records(P0, 0, 5))])
    in_flight.submit([(P1, records(P1, 0, 5))])
    await settle()
    await in_flight.cancel()
    assert in_flight.running == 0 and in_flight.waiting_records == 0 and in_flight.applied() == {}
    assert batches.running == set()


def test_round_batches_cut_partitions_and_pack_small_ones() -> None:
    chunks = round_batches({P0: records(P0, 0, 7), P1: records(P1, 0, 2), P2: records(P2, 0, 1)}, 5)
    shapes = [[(tp.partition, len(part)) for tp, part in chunk] for chunk in chunks]
    assert shapes == [[(0, 5)], [(0, 2), (1, 2), (2, 1)]]
