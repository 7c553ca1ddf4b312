"""The consumer's round batches in flight (`InFlight`): the scheduling rules, with batches that finish when told."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaConnectionError
from aiokafka.structs import ConsumerRecord

from shared.messaging.consumer import InFlight, OffsetCommits, Part, full_lanes, lane_of, round_batches

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


def test_a_round_larger_than_a_batch_is_cut_by_lane_into_batches_with_no_partition_in_common() -> None:
    partitions = [TopicPartition("encounter-coded", n) for n in range(6)]
    chunks = round_batches({tp: records(tp, 0, 100) for tp in partitions}, 400, lanes=2)
    lanes = [{lane_of(tp, 2) for tp, _ in chunk} for chunk in chunks]
    assert all(len(lane) == 1 for lane in lanes), "a batch holds the partitions of one lane"
    assert len(chunks) == 2 and lanes[0] != lanes[1], "the lanes' batches side by side"
    assert sorted(tp.partition for chunk in chunks for tp, _ in chunk) == list(range(6))
    assert {lane_of(tp, 2) for tp in partitions[0::2]} != {lane_of(tp, 2) for tp in partitions[1::2]}


def test_a_round_that_fits_a_batch_stays_one_batch_and_a_partitions_parts_stay_in_order() -> None:
    assert len(round_batches({P0: records(P0, 0, 2), P1: records(P1, 0, 2)}, 5, lanes=2)) == 1
    chunks = round_batches({P0: records(P0, 0, 12), P1: records(P1, 0, 3)}, 5, lanes=2)
    firsts = [part[0].offset for chunk in chunks for tp, part in chunk if tp == P0]
    assert firsts == [0, 5, 10]
    assert all(len({lane_of(tp, 2) for tp, _ in chunk}) == 1 for chunk in chunks)


async def test_wait_any_returns_when_the_fetch_is_done_before_any_batch() -> None:
    batches = Batches()
    in_flight = InFlight(2, batches.apply)
    in_flight.submit([(P0, records(P0, 0, 5))])
    fetch = asyncio.get_running_loop().create_future()
    fetch.set_result({})
    await asyncio.wait_for(in_flight.wait_any(fetch), 1)
    assert in_flight.running == 1
    await in_flight.cancel()


class Broker:
    """Offset commits that wait until the test answers them, in the order sent."""

    def __init__(self) -> None:
        self.sent: list[dict[TopicPartition, int]] = []
        self.answers: list[asyncio.Future[None]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.sent.append(dict(offsets))
        answer = asyncio.get_running_loop().create_future()
        self.answers.append(answer)
        await answer

    def answer(self, error: BaseException | None = None) -> None:
        answer = next(answer for answer in self.answers if not answer.done())
        if error is None:
            answer.set_result(None)
        else:
            answer.set_exception(error)


async def test_offsets_handed_over_meanwhile_go_in_one_commit_after_the_one_being_sent() -> None:
    broker = Broker()
    commits = OffsetCommits(broker.commit, "g")
    commits.add({P0: 5})
    await settle()
    commits.add({P0: 10, P1: 3})
    commits.add({P0: 15})
    await settle()
    assert broker.sent == [{P0: 5}], "one commit at a time"
    broker.answer()
    await settle()
    assert broker.sent == [{P0: 5}, {P0: 15, P1: 3}], "the latest offset of each partition, once"
    broker.answer()
    await commits.close(1)


async def test_a_rebalance_takes_the_offsets_not_yet_sent_of_its_partitions() -> None:
    broker = Broker()
    commits = OffsetCommits(broker.commit, "g")
    commits.add({P0: 5})
    await settle()
    commits.add({P0: 10, P1: 3})
    assert commits.take({P0}) == {P0: 10}
    sent = asyncio.create_task(commits.sent(1))
    await settle()
    assert not sent.done(), "waits for the commit being sent"
    broker.answer()
    await sent
    await settle()
    assert broker.sent == [{P0: 5}, {P1: 3}]
    broker.answer()
    await commits.close(1)


async def test_a_refused_commit_is_passed_over_and_another_kafka_error_reaches_the_poll_loop() -> None:
    broker = Broker()
    commits = OffsetCommits(broker.commit, "g")
    commits.add({P0: 5})
    await settle()
    broker.answer(CommitFailedError("rebalanced"))
    await settle()
    commits.add({P0: 10})
    await settle()
    broker.answer(KafkaConnectionError("broker gone"))
    await settle()
    with pytest.raises(KafkaConnectionError):
        commits.add({P0: 15})
    await commits.close(1)


async def test_a_rebalance_forgets_the_waiting_records_of_the_partitions_it_takes() -> None:
    batches = Batches()
    in_flight = InFlight(1, batches.apply)
    in_flight.submit([(P0, records(P0, 0, 5))])
    in_flight.submit([(P0, records(P0, 5, 5)), (P1, records(P1, 0, 3))])
    in_flight.submit([(P1, records(P1, 3, 2))])
    in_flight.forget({P1})
    assert in_flight.waiting == 1 and in_flight.waiting_records == 5
    batches.finish(P0, 0)
    await in_flight.wait_any()
    await settle()
    assert batches.started == [(P0, 0), (P0, 5)], "P1's records are not applied after it was taken away"
    await in_flight.cancel()


def test_a_lane_goes_once_its_gathered_records_fill_a_batch_and_the_others_keep_gathering() -> None:
    lane = lane_of(P0, 2)
    same, other = (P2, P1) if lane_of(P2, 2) == lane else (P1, P2)
    assert lane_of(same, 2) == lane != lane_of(other, 2)
    gathered = {P0: records(P0, 0, 3), same: records(same, 0, 3), other: records(other, 0, 4)}
    chunks = full_lanes(gathered, 5, 2)
    assert [[(tp, len(part)) for tp, part in chunk] for chunk in chunks] == [[(P0, 3)], [(same, 3)]]
    assert list(gathered) == [other], "the lane short of a batch keeps its records"
    assert full_lanes(gathered, 5, 2) == [] and list(gathered) == [other]
