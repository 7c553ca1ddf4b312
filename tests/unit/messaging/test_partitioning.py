from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from shared.messaging.partitioning import murmur2, murmur2_many, partition_of, partitions_of


def test_hash_equals_the_clients_for_every_tail_length() -> None:
    rng = random.Random(7)
    for length in range(70):
        for _ in range(20):
            key = rng.randbytes(length)
            assert murmur2(key) == aiokafka_murmur2(key)


def test_partition_equals_aiokafkas_default_partitioner() -> None:
    partitions = list(range(6))
    for n in range(500):
        key = f"3f2b8c1e-0000-4000-8000-{n:012d}".encode()
        assert partition_of(key, 6) == DefaultPartitioner()(key, partitions, partitions)


def test_hashes_of_a_batch_equal_the_hash_of_each_key_whatever_their_lengths() -> None:
    rng = random.Random(11)
    keys = [rng.randbytes(rng.randrange(70)) for _ in range(2000)]
    keys += [f"3f2b8c1e-0000-4000-8000-{n:012d}".encode() for n in range(300)]
    rng.shuffle(keys)
    assert murmur2_many(keys) == [aiokafka_murmur2(key) for key in keys]
    assert murmur2_many([]) == []


def test_partitions_of_a_batch_equal_each_keys_partition() -> None:
    keys = [f"3f2b8c1e-0000-4000-8000-{n:012d}".encode() for n in range(500)] + [b"", b"a", b"ab", b"abc"]
    for partitions in (1, 6, 7):
        assert partitions_of(keys, partitions) == [partition_of(key, partitions) for key in keys]
